/* kt_data.c — the kernel tests' data: inputs drawn from a fixed-seed PRNG
 * (random values and the edge values of each KtFill), and the comparison of
 * an artifact's output with the interpreter's under kt.h's tolerances. */
#include <math.h>
#include <stdio.h>

#include "kt.h"

uint64_t kt_rand(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static double uniform(uint64_t *s) { return (double)(kt_rand(s) >> 11) * 0x1.0p-53; }

/* ---- input data --------------------------------------------------------- */

static const double float_specials[] = {
    NAN, INFINITY, -INFINITY, 0.0, -0.0, 1.17549435e-38, -1.17549435e-38, 1e-40, -1e-40, 1e-30, -1e-30, 1e-7,
    -1e-7, 0.625, -0.625, 87.5, -87.5, 88.5, -88.5, 100, -100, 1e4, -1e4, 3e38, -3e38, 65504, 70000, 6e-8,
    0.5, -0.5, 20, -20, 9, -9};

static const double cast_floats[] = {
    NAN, INFINITY, -INFINITY, 0.0, -0.0, 0.4999, 0.5, -0.5, 0.9999, -0.9999, 1.5, -1.5, 2.5, -2.5, 127, 127.5,
    127.9, 128, 128.5, -128, -128.5, -128.9, -129, 255, 255.5, 255.9, 256, 256.5, -1, -1.5, 32767.5, 32768,
    -32769, 65504, 65519.99, 65520, 65536, 1e5, 2147483520.0, 2147483648.0, -2147483648.0, -2147483904.0,
    4294967040.0, 4294967296.0, 9.2233715e18, 9223372036854775808.0, -9223372036854775808.0, 1e20, -1e20, 3.4e38,
    -3.4e38, 0x1p-24, 0x1p-25, 0x1.8p-25, 0x1.8p-24, 0x1p-14, 0x1.ff8p-15, 1e-40, -1e-40,
    1 + 0x1p-11, 1 + 0x3p-11, 1 + 0x1p-8, 1 + 0x3p-8, 1 + 0x1p-11 + 0x1p-40, -(1 + 0x1p-8 + 0x1p-40),
    16777217.0, 0.1, -0.1, 1.0 / 3, 3.0e-39};

static const int64_t cast_ints[] = {0, 1, -1, 127, 128, -128, -129, 255, 256, -256, 32767, 32768, 65535, 65536,
                                    16777217, 16777216, 2147483647, -2147483647 - 1, 4294967295, 9007199254740993,
                                    INT64_MAX, INT64_MIN, 65504, 65520, 65519, 2049, -2049};

static void int_range(DType t, int64_t *lo, int64_t *hi, uint64_t *umax)
{
    int bits = 8 * dtype_size(t);
    *umax = bits == 64 ? UINT64_MAX : (1ull << bits) - 1;
    if (dtype_is_signed_int(t)) {
        *hi = bits == 64 ? INT64_MAX : (int64_t)((1ull << (bits - 1)) - 1);
        *lo = -*hi - 1;
    } else {
        *lo = 0;
        *hi = bits == 64 ? INT64_MAX : (int64_t)*umax;
    }
}

static void store_f(Tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case DT_F32: ((float *)t->data)[i] = (float)v; break;
    case DT_F64: ((double *)t->data)[i] = v; break;
    case DT_F16: ((uint16_t *)t->data)[i] = f32_to_f16((float)v); break;
    case DT_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16((float)v); break;
    default: break;
    }
}

/* the low bits of v (wrap-around), as Cast from int64 does */
static void store_i(Tensor *t, int64_t i, uint64_t v)
{
    switch (dtype_size(t->dtype)) {
    case 1: ((uint8_t *)t->data)[i] = (uint8_t)(t->dtype == DT_BOOL ? v & 1 : v); break;
    case 2: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case 4: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    default: ((uint64_t *)t->data)[i] = v; break;
    }
}

void kt_fill(Tensor *t, KtFill f, double scale, const KtValues *vals, uint64_t seed)
{
    if (f == KT_VALUES && vals->n > 0) {
        for (int64_t i = 0, n = tensor_numel(t); i < n; i++) {
            double v = vals->v[i % vals->n];
            if (dtype_is_float(t->dtype))
                store_f(t, i, v);
            else
                store_i(t, i, (uint64_t)(int64_t)v);
        }
        return;
    }
    uint64_t s = seed;
    int64_t n = tensor_numel(t);
    size_t nsp = sizeof float_specials / sizeof float_specials[0];
    size_t ncf = sizeof cast_floats / sizeof cast_floats[0], nci = sizeof cast_ints / sizeof cast_ints[0];
    if (scale <= 0)
        scale = 2;
    size_t off = (size_t)(kt_rand(&s) % 64);
    if (dtype_is_float(t->dtype)) {
        for (int64_t i = 0; i < n; i++) {
            double u = uniform(&s), v;
            switch (f) {
            case KT_WIDE: /* every special once (from a per-input offset), then at random */
                if (i < (int64_t)nsp)
                    v = float_specials[(i + off) % nsp];
                else if (kt_rand(&s) % 3 == 0)
                    v = float_specials[kt_rand(&s) % nsp];
                else
                    v = (kt_rand(&s) & 1 ? -1 : 1) * pow(10, -6 + 10 * u);
                break;
            case KT_POS: v = 0.25 + (scale - 0.25) * u; break;
            case KT_CAST:
                if (i < (int64_t)ncf)
                    v = cast_floats[i]; /* every edge value once, then at random */
                else
                    v = kt_rand(&s) % 2 ? cast_floats[kt_rand(&s) % ncf] : 600 * u - 300;
                break;
            case KT_DIVISOR: v = i % 4 == 1 ? (i % 8 == 1 ? 0.0 : -0.0) : scale * (2 * u - 1); break;
            case KT_SMALL: /* small integers: ties, and zeros of both signs */
                v = (double)((int)(kt_rand(&s) % 7) - 3);
                v = v == 0 && kt_rand(&s) % 2 ? -0.0 : v;
                break;
            default: v = scale * (2 * u - 1); break;
            }
            store_f(t, i, v);
        }
        return;
    }
    if (t->dtype == DT_BOOL) {
        for (int64_t i = 0; i < n; i++)
            store_i(t, i, kt_rand(&s) & 1);
        return;
    }
    int64_t lo, hi;
    uint64_t umax;
    int_range(t->dtype, &lo, &hi, &umax);
    bool sg = dtype_is_signed_int(t->dtype), wide = dtype_size(t->dtype) >= 4;
    for (int64_t i = 0; i < n; i++) {
        uint64_t r = kt_rand(&s), v;
        uint64_t small = sg ? (uint64_t)((int64_t)(r % 2001) - 1000) : r % 1001;
        uint64_t any = r & umax;
        switch (f) {
        case KT_WIDE: {
            uint64_t ext[] = {(uint64_t)lo, (uint64_t)hi, 0, 1, (uint64_t)-1 & umax, (uint64_t)lo + 1,
                              (uint64_t)hi - 1};
            if (i < 7) /* every extreme once, then at random */
                v = ext[(i + (int64_t)off) % 7];
            else
                v = r % 3 == 0 ? ext[kt_rand(&s) % 7] : wide && r % 3 == 1 ? small : any;
            break;
        }
        case KT_POS: v = 1 + r % 100; break;
        case KT_CAST: /* wrapped into the type: every value once, then at random */
            v = i < (int64_t)nci ? (uint64_t)cast_ints[i] : r % 2 ? (uint64_t)cast_ints[r / 2 % nci] : any;
            break;
        case KT_DIVIDEND: v = i % 4 == 0 ? (uint64_t)lo : i % 4 == 2 ? (uint64_t)hi : wide ? small : any; break;
        case KT_DIVISOR: {
            uint64_t nz = (sg ? (uint64_t)((int64_t)(r % 19) - 9) : r % 10) | 1;
            v = i % 4 == 0 ? (sg ? (uint64_t)-1 : umax) : i % 4 == 1 ? 0 : i % 4 == 2 ? nz : any;
            break;
        }
        case KT_SMALL: v = sg ? (uint64_t)((int64_t)(r % 7) - 3) : r % 7; break;
        default: v = wide && r % 2 ? small : any; break;
        }
        store_i(t, i, v);
    }
}

/* ---- comparison --------------------------------------------------------- */

static double ldf(const Tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_F32: return ((const float *)t->data)[i];
    case DT_F64: return ((const double *)t->data)[i];
    case DT_F16: return f16_to_f32(((const uint16_t *)t->data)[i]);
    case DT_BF16: return bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return 0;
    }
}

static uint64_t bits(const Tensor *t, int64_t i)
{
    switch (dtype_size(t->dtype)) {
    case 1: return ((const uint8_t *)t->data)[i];
    case 2: return ((const uint16_t *)t->data)[i];
    case 4: return ((const uint32_t *)t->data)[i];
    default: return ((const uint64_t *)t->data)[i];
    }
}

/* the element as text: value, and its bits for floats */
static void elem_str(const Tensor *t, int64_t i, char *buf, size_t n)
{
    int w = dtype_size(t->dtype) * 2;
    if (dtype_is_float(t->dtype))
        snprintf(buf, n, "%.9g (0x%0*llx)", ldf(t, i), w, (unsigned long long)bits(t, i));
    else if (dtype_is_signed_int(t->dtype)) {
        int sh = 64 - 8 * dtype_size(t->dtype);
        snprintf(buf, n, "%lld", (long long)((int64_t)(bits(t, i) << sh) >> sh));
    } else
        snprintf(buf, n, "%llu", (unsigned long long)bits(t, i));
}

/* 16-bit float bits in an order where neighbours differ by 1 */
static int32_t ordered16(uint16_t h) { return h & 0x8000 ? -(int32_t)(h & 0x7fff) : (int32_t)h; }

/* Whether got matches ref; on a mismatch `why` names the first element and
 * how many differ. */
bool kt_compare(const Tensor *got, const Tensor *ref, bool exact, bool ulp16, char *why, size_t n)
{
    char a[96], b[96];
    if (got->dtype != ref->dtype || !shape_eq(&got->shape, &ref->shape)) {
        snprintf(why, n, "output is %s%s, the interpreter's %s%s", dtype_name(got->dtype),
                 shape_str(&got->shape, a, sizeof a), dtype_name(ref->dtype), shape_str(&ref->shape, b, sizeof b));
        return false;
    }
    int64_t cnt = tensor_numel(ref), first = -1, bad = 0;
    DType t = ref->dtype;
    bool fl = dtype_is_float(t), h16 = t == DT_F16 || t == DT_BF16;
    double mx = 0;
    for (int64_t i = 0; fl && i < cnt; i++)
        if (isfinite(ldf(ref, i)) && fabs(ldf(ref, i)) > mx)
            mx = fabs(ldf(ref, i));
    for (int64_t i = 0; i < cnt; i++) {
        bool ok;
        if (!fl) {
            ok = bits(got, i) == bits(ref, i);
        } else {
            double g = ldf(got, i), w = ldf(ref, i);
            int32_t ud = h16 ? ordered16((uint16_t)bits(got, i)) - ordered16((uint16_t)bits(ref, i)) : 0;
            if (isnan(g) || isnan(w))
                ok = isnan(g) && isnan(w);
            else if (exact && !(h16 && ulp16))
                ok = bits(got, i) == bits(ref, i);
            else if (h16 && (ud <= 1 && ud >= -1))
                ok = true;
            else if (isinf(g) || isinf(w) || (exact && h16))
                ok = g == w;
            else
                ok = fabs(g - w) <= 1e-5 * (fabs(w) + mx);
        }
        if (!ok) {
            bad++;
            if (first < 0)
                first = i;
        }
    }
    if (!bad)
        return true;
    /* the first bad element's multi-index */
    int64_t idx[QK_MAX_RANK], rest = first;
    for (int k = ref->shape.rank - 1; k >= 0; k--) {
        idx[k] = ref->shape.d[k] ? rest % ref->shape.d[k] : 0;
        rest = ref->shape.d[k] ? rest / ref->shape.d[k] : 0;
    }
    char at[128], shp[96];
    kt_dims(at, sizeof at, ref->shape.rank, idx);
    elem_str(got, first, a, sizeof a);
    elem_str(ref, first, b, sizeof b);
    snprintf(why, n, "%s%s: element %lld %s: got %s, interpreter %s (%s); %lld of %lld elements differ",
             dtype_name(t), shape_str(&ref->shape, shp, sizeof shp), (long long)first, at, a, b,
             !fl ? "exact" : exact && !(h16 && ulp16) ? "bit-exact" : h16 ? "1 ulp" : "1e-5 rel.", (long long)bad,
             (long long)cnt);
    return false;
}


/* interp_ops.c — reference semantics of the elementwise and data-movement
 * ops, the element access shared with interp_nn.c and interp_quant.c, and
 * interp_node's dispatch over OpKind.
 *
 * Plain loops over flat indices; obviously correct before fast. Floats are
 * computed in double and rounded per element to the output dtype (for
 * f16/bf16 through f32, as numpy does: what the ONNX node tests expect).
 * Integers are loaded sign- or zero-extended into 64 bits and computed in
 * uint64_t, so wrap-around is modulo 2^bits and never signed-overflow UB. */
#include "interp_impl.h"

#include <math.h>
#include <string.h>

/* ---- element access ----------------------------------------------------- */

double interp_ldf(const Tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_F32: return ((const float *)t->data)[i];
    case DT_F64: return ((const double *)t->data)[i];
    case DT_F16: return f16_to_f32(((const uint16_t *)t->data)[i]);
    case DT_BF16: return bf16_to_f32(((const uint16_t *)t->data)[i]);
    default: return 0; /* callers check the dtype first */
    }
}

/* The nearest f32 in round-to-odd: truncate, and set the last bit when
 * inexact. Rounding that to f16/bf16 (nearest even) gives the correctly
 * rounded f16/bf16 of d, since f32 keeps more than 2 extra bits. */
static float f32_round_odd(double d)
{
    float f = (float)d;
    if (isnan(f) || isinf(f) || (double)f == d)
        return f;
    uint32_t u;
    memcpy(&u, &f, 4);
    if (!(u & 1)) /* f is the even neighbour of d: take the other one */
        f = nextafterf(f, d > (double)f ? INFINITY : -INFINITY);
    return f;
}

void interp_stf(Tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case DT_F32: ((float *)t->data)[i] = (float)v; break;
    case DT_F64: ((double *)t->data)[i] = v; break;
    case DT_F16: ((uint16_t *)t->data)[i] = f32_to_f16((float)v); break;
    case DT_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16((float)v); break;
    default: break;
    }
}

void interp_stf_once(Tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case DT_F16: ((uint16_t *)t->data)[i] = f32_to_f16(f32_round_odd(v)); break;
    case DT_BF16: ((uint16_t *)t->data)[i] = f32_to_bf16(f32_round_odd(v)); break;
    default: interp_stf(t, i, v); break; /* f32: (float)v is already one rounding */
    }
}

int64_t interp_ldi(const Tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_I8: return ((const int8_t *)t->data)[i];
    case DT_I16: return ((const int16_t *)t->data)[i];
    case DT_I32: return ((const int32_t *)t->data)[i];
    case DT_I64: return ((const int64_t *)t->data)[i];
    case DT_U8: return ((const uint8_t *)t->data)[i];
    case DT_BOOL: return ((const uint8_t *)t->data)[i] != 0;
    case DT_U16: return ((const uint16_t *)t->data)[i];
    case DT_U32: return ((const uint32_t *)t->data)[i];
    default: return 0;
    }
}

uint64_t interp_ldu(const Tensor *t, int64_t i)
{
    return t->dtype == DT_U64 ? ((const uint64_t *)t->data)[i] : (uint64_t)interp_ldi(t, i);
}

/* Store the low bits of v (wrap-around). */
void interp_stu(Tensor *t, int64_t i, uint64_t v)
{
    switch (dtype_size(t->dtype)) {
    case 1: ((uint8_t *)t->data)[i] = (uint8_t)(t->dtype == DT_BOOL ? v != 0 : v); break;
    case 2: ((uint16_t *)t->data)[i] = (uint16_t)v; break;
    case 4: ((uint32_t *)t->data)[i] = (uint32_t)v; break;
    case 8: ((uint64_t *)t->data)[i] = v; break;
    }
}

static bool is_int(DType t) { return dtype_is_signed_int(t) || (dtype_is_unsigned_int(t) && t != DT_BOOL); }

/* ---- broadcasting ------------------------------------------------------- */

void interp_bcast_strides(const Shape *in, const Shape *out, int64_t *st)
{
    int64_t s[QK_MAX_RANK];
    shape_strides(in, s);
    for (int k = 0; k < out->rank; k++) {
        int j = k - (out->rank - in->rank);
        st[k] = (j < 0 || in->d[j] == 1) ? 0 : s[j];
    }
}

int64_t interp_bcast_index(int64_t flat, const Shape *out, const int64_t *st)
{
    int64_t off = 0;
    for (int k = out->rank - 1; k >= 0; k--) {
        off += flat % out->d[k] * st[k];
        flat /= out->d[k];
    }
    return off;
}

/* ---- checks shared by the ops ------------------------------------------- */

static bool same_dtype(const Node *n, const Tensor *a, const Tensor *y, Diag *d)
{
    if (a->dtype != y->dtype)
        return diag_error(d, n->loc, "%s: input is %s, output %s", op_info[n->op].name, dtype_name(a->dtype),
                          dtype_name(y->dtype));
    return true;
}

static bool same_shape(const Node *n, const Tensor *a, const Tensor *y, Diag *d)
{
    char sa[96], sy[96];
    if (!shape_eq(&a->shape, &y->shape))
        return diag_error(d, n->loc, "%s: input shape %s, output %s", op_info[n->op].name,
                          shape_str(&a->shape, sa, sizeof sa), shape_str(&y->shape, sy, sizeof sy));
    return true;
}

#define UNSUPPORTED(n, t, d) diag_error(d, (n)->loc, "%s: dtype %s not supported", op_info[(n)->op].name, dtype_name(t))

/* ---- binary: Add Sub Mul Div Max Min ------------------------------------ */

static double bin_f(OpKind op, double a, double b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return a / b;
    /* NaN wins; on ties the first operand, as numpy.maximum/minimum */
    case OP_MAX: return isnan(a) || isnan(b) ? NAN : a >= b ? a : b;
    case OP_MIN: return isnan(a) || isnan(b) ? NAN : a <= b ? a : b;
    default: return 0;
    }
}

static uint64_t bin_s(OpKind op, int64_t a, int64_t b)
{
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case OP_ADD: return ua + ub;
    case OP_SUB: return ua - ub;
    case OP_MUL: return ua * ub;
    case OP_DIV:
        if (b == 0)
            return 0;
        if (b == -1) /* -a wraps: INT_MIN / -1 = INT_MIN */
            return 0 - ua;
        return (uint64_t)(a / b); /* C truncates toward zero */
    case OP_MAX: return a >= b ? ua : ub;
    case OP_MIN: return a <= b ? ua : ub;
    default: return 0;
    }
}

static uint64_t bin_u(OpKind op, uint64_t a, uint64_t b)
{
    switch (op) {
    case OP_ADD: return a + b;
    case OP_SUB: return a - b;
    case OP_MUL: return a * b;
    case OP_DIV: return b == 0 ? 0 : a / b;
    case OP_MAX: return a >= b ? a : b;
    case OP_MIN: return a <= b ? a : b;
    default: return 0;
    }
}

static bool binary(const Node *n, const Tensor *a, const Tensor *b, Tensor *y, Diag *d)
{
    DType t = y->dtype;
    char sa[96], sb[96], sy[96];
    if (!same_dtype(n, a, y, d) || !same_dtype(n, b, y, d))
        return false;
    if (!dtype_is_float(t) && !is_int(t))
        return UNSUPPORTED(n, t, d);
    Shape s;
    if (!shape_broadcast(&a->shape, &b->shape, &s) || !shape_eq(&s, &y->shape))
        return diag_error(d, n->loc, "%s: shapes %s and %s do not broadcast to %s", op_info[n->op].name,
                          shape_str(&a->shape, sa, sizeof sa), shape_str(&b->shape, sb, sizeof sb),
                          shape_str(&y->shape, sy, sizeof sy));
    int64_t sta[QK_MAX_RANK], stb[QK_MAX_RANK];
    interp_bcast_strides(&a->shape, &y->shape, sta);
    interp_bcast_strides(&b->shape, &y->shape, stb);
    for (int64_t i = 0, ne = tensor_numel(y); i < ne; i++) {
        int64_t ia = interp_bcast_index(i, &y->shape, sta), ib = interp_bcast_index(i, &y->shape, stb);
        if (dtype_is_float(t))
            interp_stf(y, i, bin_f(n->op, interp_ldf(a, ia), interp_ldf(b, ib)));
        else if (dtype_is_signed_int(t))
            interp_stu(y, i, bin_s(n->op, interp_ldi(a, ia), interp_ldi(b, ib)));
        else
            interp_stu(y, i, bin_u(n->op, interp_ldu(a, ia), interp_ldu(b, ib)));
    }
    return true;
}

/* ---- unary: Relu LeakyRelu Sigmoid Tanh Clip ---------------------------- */

double interp_act(Act act, double alpha, double beta, double x)
{
    switch (act) {
    case ACT_NONE: return x;
    case ACT_RELU: return x < 0 ? 0 : x; /* NaN stays NaN */
    case ACT_LEAKY_RELU: return x >= 0 ? x : alpha * x;
    case ACT_CLIP: x = x < alpha ? alpha : x; return x > beta ? beta : x;
    case ACT_SIGMOID: {
        if (x >= 0)
            return 1 / (1 + exp(-x));
        double e = exp(x); /* never overflows here; NaN takes this path too */
        return e / (1 + e);
    }
    case ACT_TANH: return tanh(x);
    default: return x;
    }
}

/* v rounded to float dtype t as an elementwise result is. */
static double round_to(DType t, double v)
{
    double scratch = 0;
    Tensor s = {t, {0}, &scratch};
    interp_stf(&s, 0, v);
    return interp_ldf(&s, 0);
}

/* Float to integer: truncate toward zero, NaN gives 0, saturate at the
 * dtype's range (the bounds below are exact doubles: powers of two, or
 * integers narrower than 53 bits). */
static int64_t f2s(DType t, double v)
{
    int bits = 8 * dtype_size(t);
    if (isnan(v))
        return 0;
    v = trunc(v);
    if (v >= ldexp(1, bits - 1))
        return bits == 64 ? INT64_MAX : (int64_t)ldexp(1, bits - 1) - 1;
    if (v <= -ldexp(1, bits - 1))
        return bits == 64 ? INT64_MIN : -(int64_t)ldexp(1, bits - 1);
    return (int64_t)v;
}

static uint64_t f2u(DType t, double v)
{
    int bits = 8 * dtype_size(t);
    if (isnan(v) || v <= 0)
        return 0;
    v = trunc(v);
    if (v >= ldexp(1, bits))
        return bits == 64 ? UINT64_MAX : (uint64_t)ldexp(1, bits) - 1;
    return (uint64_t)v;
}

/* Clip, for every numeric dtype: the float bounds are first converted to
 * the dtype (rounded for floats; truncated and saturated, as by Cast, for
 * integers), then y = min(max(x, lo), hi). NaN stays NaN; lo > hi gives hi. */
static bool clip(const Node *n, const Tensor *x, Tensor *y, Diag *d)
{
    DType t = x->dtype;
    int64_t ne = tensor_numel(x);
    if (dtype_is_float(t)) {
        double lo = round_to(t, n->a.lo), hi = round_to(t, n->a.hi);
        for (int64_t i = 0; i < ne; i++)
            interp_stf(y, i, interp_act(ACT_CLIP, lo, hi, interp_ldf(x, i)));
    } else if (dtype_is_signed_int(t)) {
        int64_t lo = f2s(t, n->a.lo), hi = f2s(t, n->a.hi);
        for (int64_t i = 0; i < ne; i++) {
            int64_t v = interp_ldi(x, i);
            v = v < lo ? lo : v;
            interp_stu(y, i, (uint64_t)(v > hi ? hi : v));
        }
    } else if (is_int(t)) {
        uint64_t lo = f2u(t, n->a.lo), hi = f2u(t, n->a.hi);
        for (int64_t i = 0; i < ne; i++) {
            uint64_t v = interp_ldu(x, i);
            v = v < lo ? lo : v;
            interp_stu(y, i, v > hi ? hi : v);
        }
    } else {
        return UNSUPPORTED(n, t, d);
    }
    return true;
}

/* Relu (floats and signed integers), LeakyRelu, Sigmoid, Tanh (floats). */
static bool unary(const Node *n, const Tensor *x, Tensor *y, Diag *d)
{
    DType t = x->dtype;
    if (!same_dtype(n, x, y, d) || !same_shape(n, x, y, d))
        return false;
    if (n->op == OP_CLIP)
        return clip(n, x, y, d);
    int64_t ne = tensor_numel(x);
    if (n->op == OP_RELU && dtype_is_signed_int(t)) {
        for (int64_t i = 0; i < ne; i++) {
            int64_t v = interp_ldi(x, i);
            interp_stu(y, i, (uint64_t)(v < 0 ? 0 : v));
        }
        return true;
    }
    if (!dtype_is_float(t))
        return UNSUPPORTED(n, t, d);
    Act act = n->op == OP_RELU         ? ACT_RELU
              : n->op == OP_LEAKY_RELU ? ACT_LEAKY_RELU
              : n->op == OP_SIGMOID    ? ACT_SIGMOID
                                       : ACT_TANH;
    for (int64_t i = 0; i < ne; i++)
        interp_stf(y, i, interp_act(act, n->a.alpha, 0, interp_ldf(x, i)));
    return true;
}

/* ---- Cast ---------------------------------------------------------------
 * float -> float: nearest even, in one rounding from the source value;
 *   (to bf16 too: nearest even, as ONNX specifies from opset 19 and
 *   onnx.reference does; ONNX 1.12's own test_cast_FLOAT_to_BFLOAT16
 *   expects truncation, within one bf16 ulp of this);
 * float -> int: truncate toward zero, NaN -> 0, saturate (f2s, f2u);
 * int -> float: nearest even; int -> int: wrap-around (low bits);
 * to bool: nonzero (NaN included) -> 1; from bool: 0 or 1. */


static void cast_from_f(Tensor *y, int64_t i, double v)
{
    DType t = y->dtype;
    switch (t) {
    case DT_F32: case DT_F64: case DT_F16: case DT_BF16: interp_stf_once(y, i, v); return; /* one rounding */
    case DT_BOOL: interp_stu(y, i, v != 0); return; /* NaN is nonzero */
    default: interp_stu(y, i, dtype_is_signed_int(t) ? (uint64_t)f2s(t, v) : f2u(t, v)); return;
    }
}

static void cast_from_i(Tensor *y, int64_t i, int64_t v)
{
    switch (y->dtype) {
    case DT_F32: ((float *)y->data)[i] = (float)v; return; /* one rounding, nearest even */
    case DT_F64: ((double *)y->data)[i] = (double)v; return;
    /* (float)v is exact below 2^24, and anything past 65520 is inf anyway */
    case DT_F16: ((uint16_t *)y->data)[i] = f32_to_f16((float)v); return;
    case DT_BF16: interp_stf_once(y, i, (double)v); return; /* exact below 2^53, then one rounding */
    default: interp_stu(y, i, (uint64_t)v); return; /* wraps; bool: nonzero is 1 */
    }
}

static void cast_from_u(Tensor *y, int64_t i, uint64_t v)
{
    switch (y->dtype) {
    case DT_F32: ((float *)y->data)[i] = (float)v; return;
    case DT_F64: ((double *)y->data)[i] = (double)v; return;
    case DT_F16: ((uint16_t *)y->data)[i] = f32_to_f16((float)v); return;
    case DT_BF16: interp_stf_once(y, i, (double)v); return;
    default: interp_stu(y, i, v); return;
    }
}

static bool cast(const Node *n, const Tensor *x, Tensor *y, Diag *d)
{
    if (!same_shape(n, x, y, d))
        return false;
    if (y->dtype != n->a.to)
        return diag_error(d, n->loc, "Cast: output is %s, attribute to is %s", dtype_name(y->dtype),
                          dtype_name(n->a.to));
    if (dtype_size(x->dtype) == 0 || dtype_size(y->dtype) == 0)
        return UNSUPPORTED(n, dtype_size(x->dtype) ? y->dtype : x->dtype, d);
    for (int64_t i = 0, ne = tensor_numel(x); i < ne; i++) {
        if (dtype_is_float(x->dtype))
            cast_from_f(y, i, interp_ldf(x, i));
        else if (dtype_is_signed_int(x->dtype))
            cast_from_i(y, i, interp_ldi(x, i));
        else
            cast_from_u(y, i, interp_ldu(x, i)); /* unsigned and bool (0/1) */
    }
    return true;
}

/* ---- data movement ------------------------------------------------------ */

/* Identity Reshape Flatten Squeeze Unsqueeze: the bytes, another shape. */
static bool view(const Node *n, const Tensor *x, Tensor *y, Diag *d)
{
    if (!same_dtype(n, x, y, d))
        return false;
    if (tensor_numel(x) != tensor_numel(y)) {
        char sx[96], sy[96];
        return diag_error(d, n->loc, "%s: %s and %s have different sizes", op_info[n->op].name,
                          shape_str(&x->shape, sx, sizeof sx), shape_str(&y->shape, sy, sizeof sy));
    }
    memcpy(y->data, x->data, (size_t)(tensor_numel(x) * dtype_size(x->dtype)));
    return true;
}

static bool transpose(const Node *n, const Tensor *x, Tensor *y, Diag *d)
{
    int r = x->shape.rank;
    const int64_t *perm = n->a.ints;
    bool seen[QK_MAX_RANK] = {0};
    if (!same_dtype(n, x, y, d))
        return false;
    if (n->a.nints != r || y->shape.rank != r)
        return diag_error(d, n->loc, "Transpose: perm has %d entries for rank %d", n->a.nints, r);
    for (int k = 0; k < r; k++) {
        if (perm[k] < 0 || perm[k] >= r || seen[perm[k]] || y->shape.d[k] != x->shape.d[perm[k]])
            return diag_error(d, n->loc, "Transpose: perm[%d] = %lld is not a permutation of the input dims", k,
                              (long long)perm[k]);
        seen[perm[k]] = true;
    }
    int64_t xs[QK_MAX_RANK], st[QK_MAX_RANK];
    shape_strides(&x->shape, xs);
    for (int k = 0; k < r; k++)
        st[k] = xs[perm[k]]; /* y's index k walks x's dim perm[k] */
    size_t es = (size_t)dtype_size(x->dtype);
    for (int64_t i = 0, ne = tensor_numel(y); i < ne; i++) {
        int64_t j = interp_bcast_index(i, &y->shape, st);
        memcpy((char *)y->data + (size_t)i * es, (const char *)x->data + (size_t)j * es, es);
    }
    return true;
}

static bool concat(const Node *n, const Tensor *const *in, Tensor *y, Diag *d)
{
    int r = y->shape.rank;
    int64_t ax = n->a.axis, total = 0;
    if (ax < 0 || ax >= r)
        return diag_error(d, n->loc, "Concat: axis %lld out of range for rank %d", (long long)ax, r);
    for (int k = 0; k < n->nin; k++) {
        const Tensor *x = in[k];
        if (!same_dtype(n, x, y, d))
            return false;
        bool ok = x->shape.rank == r;
        for (int j = 0; ok && j < r; j++)
            ok = j == ax || x->shape.d[j] == y->shape.d[j];
        if (!ok) {
            char sx[96], sy[96];
            return diag_error(d, n->loc, "Concat: input %d shape %s does not fit output %s on axis %lld", k,
                              shape_str(&x->shape, sx, sizeof sx), shape_str(&y->shape, sy, sizeof sy),
                              (long long)ax);
        }
        total += x->shape.d[ax];
    }
    if (total != y->shape.d[ax])
        return diag_error(d, n->loc, "Concat: inputs sum to %lld along axis %lld, output has %lld", (long long)total,
                          (long long)ax, (long long)y->shape.d[ax]);
    int64_t outer = 1, inner = 1;
    for (int j = 0; j < ax; j++)
        outer *= y->shape.d[j];
    for (int j = (int)ax + 1; j < r; j++)
        inner *= y->shape.d[j];
    size_t es = (size_t)dtype_size(y->dtype);
    char *dst = y->data;
    for (int64_t o = 0; o < outer; o++)
        for (int k = 0; k < n->nin; k++) {
            size_t chunk = (size_t)(in[k]->shape.d[ax] * inner) * es;
            memcpy(dst, (const char *)in[k]->data + (size_t)o * chunk, chunk);
            dst += chunk;
        }
    return true;
}

/* ---- dispatch ----------------------------------------------------------- */

/* Inputs that may be omitted: biases, and the zero points of the quantized
 * ops (absent: 0). */
static bool optional_input(OpKind op, int k)
{
    switch (op) {
    case OP_MATMUL: case OP_GEMM: case OP_CONV: return k == 2;
    case OP_QUANTIZE: case OP_DEQUANTIZE: return k == 2;
    case OP_MATMUL_INTEGER: case OP_CONV_INTEGER: return k >= 2; /* zero points; bias, scale */
    case OP_QLINEAR_MATMUL: case OP_QLINEAR_CONV: return k == 2 || k == 5 || k == 7 || k == 8;
    case OP_QLINEAR_ADD: return k == 2 || k == 5 || k == 7;
    case OP_QLINEAR_GAP: return k == 2 || k == 4;
    default: return false;
    }
}

bool interp_node(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    if ((unsigned)n->op >= OP_COUNT)
        return diag_error(d, n->loc, "unknown op %d", (int)n->op);
    const OpInfo *oi = &op_info[n->op];
    if (n->nin < oi->min_in || (oi->max_in >= 0 && n->nin > oi->max_in) || n->nout < oi->min_out ||
        n->nout > oi->max_out)
        return diag_error(d, n->loc, "%s: %d inputs and %d outputs", oi->name, n->nin, n->nout);
    /* Required inputs and output 0 must be present; tensors must have data
     * unless empty. Optional operands are NULL (or a NULL-data tensor). */
    for (int k = 0; k < n->nin; k++)
        if ((!in[k] || !in[k]->data) && !optional_input(n->op, k))
            return diag_error(d, n->loc, "%s: input %d is missing", oi->name, k);
    if (!out[0] || !out[0]->data)
        return diag_error(d, n->loc, "%s: output 0 is missing", oi->name);
    /* "omitted" as a NULL pointer for the op code (Concat reads `in`) */
    const Tensor *tin[9] = {0};
    Tensor *tout[3] = {0};
    for (int k = 0; k < n->nin && k < 9; k++)
        tin[k] = in[k] && in[k]->data ? in[k] : NULL;
    for (int k = 0; k < n->nout && k < 3; k++)
        tout[k] = out[k] && out[k]->data ? out[k] : NULL;

    switch (n->op) {
    case OP_IDENTITY: case OP_RESHAPE: case OP_FLATTEN: case OP_SQUEEZE: case OP_UNSQUEEZE:
        return view(n, tin[0], tout[0], d);
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MAX: case OP_MIN:
        return binary(n, tin[0], tin[1], tout[0], d);
    case OP_RELU: case OP_LEAKY_RELU: case OP_CLIP: case OP_SIGMOID: case OP_TANH:
        return unary(n, tin[0], tout[0], d);
    case OP_CAST: return cast(n, tin[0], tout[0], d);
    case OP_TRANSPOSE: return transpose(n, tin[0], tout[0], d);
    case OP_CONCAT: return concat(n, in, tout[0], d);
    case OP_MATMUL: return interp_matmul(n, tin, tout, d);
    case OP_GEMM: return interp_gemm(n, tin, tout, d);
    case OP_CONV: return interp_conv(n, tin, tout, d);
    case OP_MAXPOOL: case OP_AVGPOOL: return interp_pool(n, tin, tout, d);
    case OP_GLOBAL_AVGPOOL: return interp_global_avgpool(n, tin, tout, d);
    case OP_SOFTMAX: return interp_softmax(n, tin, tout, d);
    case OP_BATCHNORM: return interp_batchnorm(n, tin, tout, d);
    case OP_QUANTIZE: case OP_DEQUANTIZE: return interp_quant_linear(n, tin, tout, d);
    case OP_MATMUL_INTEGER: case OP_QLINEAR_MATMUL: return interp_qmatmul(n, tin, tout, d);
    case OP_CONV_INTEGER: case OP_QLINEAR_CONV: return interp_qconv(n, tin, tout, d);
    case OP_QLINEAR_ADD: return interp_qadd(n, tin, tout, d);
    case OP_QLINEAR_GAP: return interp_qgap(n, tin, tout, d);
    default: return diag_error(d, n->loc, "%s: no reference semantics", oi->name);
    }
}

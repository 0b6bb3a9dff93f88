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
#include "oprules.h"

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

void tensor_store_f(Tensor *t, int64_t i, double v) { interp_stf(t, i, v); }
double tensor_load_f(const Tensor *t, int64_t i) { return interp_ldf(t, i); }
int64_t tensor_load_i(const Tensor *t, int64_t i) { return (int64_t)interp_ldu(t, i); }

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

/* ---- the fused activation ----------------------------------------------- */

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

/* Float to integer: truncate toward zero, NaN gives 0, saturate at the
 * dtype's range (the bounds below are exact doubles: powers of two, or
 * integers narrower than 53 bits). */
int64_t interp_f2s(DType t, double v)
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

uint64_t interp_f2u(DType t, double v)
{
    int bits = 8 * dtype_size(t);
    if (isnan(v) || v <= 0)
        return 0;
    v = trunc(v);
    if (v >= ldexp(1, bits))
        return bits == 64 ? UINT64_MAX : (uint64_t)ldexp(1, bits) - 1;
    return (uint64_t)v;
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
    default: interp_stu(y, i, dtype_is_signed_int(t) ? (uint64_t)interp_f2s(t, v) : interp_f2u(t, v)); return;
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

bool interp_cast(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
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
bool interp_view(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
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

bool interp_transpose(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
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

bool interp_concat(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    Tensor *y = out[0];
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

bool interp_node(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    if ((unsigned)n->op >= OP_COUNT)
        return diag_error(d, n->loc, "unknown op %d", (int)n->op);
    const OpInfo *oi = &op_info[n->op];
    if (n->nin < oi->min_in || (oi->max_in >= 0 && n->nin > oi->max_in) || n->nout < oi->min_out ||
        n->nout > oi->max_out)
        return diag_error(d, n->loc, "%s: %d inputs and %d outputs", oi->name, n->nin, n->nout);
    /* Required inputs and output 0 must be present; tensors must have data
     * unless empty. Optional operands are NULL (or a NULL-data tensor);
     * constant operands ('!') were read into the attributes. */
    for (int k = 0; k < n->nin; k++) {
        OpRole r;
        bool opt = op_role(n->op, k, &r) && (r.optional || r.constant);
        if ((!in[k] || !in[k]->data) && !opt)
            return diag_error(d, n->loc, "%s: input %d is missing", oi->name, k);
    }
    if (!out[0] || !out[0]->data)
        return diag_error(d, n->loc, "%s: output 0 is missing", oi->name);
    /* "omitted" as a NULL pointer for the rule */
    enum { MAXIO = 72 };
    const Tensor *tin[MAXIO] = {0};
    Tensor *tout[MAXIO] = {0};
    if (n->nin > MAXIO || n->nout > MAXIO)
        return diag_error(d, n->loc, "%s: too many operands", oi->name);
    for (int k = 0; k < n->nin; k++)
        tin[k] = in[k] && in[k]->data ? in[k] : NULL;
    for (int k = 0; k < n->nout; k++)
        tout[k] = out[k] && out[k]->data ? out[k] : NULL;
    return op_rules[n->op].interp(n, tin, tout, d);
}

/* The rules of the quantized ops (interp_quant.c), by op. */
bool interp_quant(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    switch (n->op) {
    case OP_QUANTIZE: case OP_DEQUANTIZE: return interp_quant_linear(n, in, out, d);
    case OP_MATMUL_INTEGER: case OP_QLINEAR_MATMUL: return interp_qmatmul(n, in, out, d);
    case OP_CONV_INTEGER: case OP_QLINEAR_CONV: return interp_qconv(n, in, out, d);
    case OP_QLINEAR_ADD: return interp_qadd(n, in, out, d);
    case OP_QLINEAR_GAP: return interp_qgap(n, in, out, d);
    default: return diag_error(d, n->loc, "%s: no reference semantics", op_info[n->op].name);
    }
}

/* norm.c — the fused normalizations: LayerNormalization,
 * InstanceNormalization and GroupNormalization (BatchNormalization is in
 * interp_nn.c). Shape rules and reference semantics.
 *
 * Each normalizes groups of elements by their own statistics, as ONNX's
 * function bodies define them:
 *   mean = sum(x) / n, d = x - mean, var = sum(d * d) / n,
 *   y = d / sqrt(var + eps) * scale + bias
 * with the statistics in double here (f32 in the kernels). The groups:
 *   LayerNormalization: each index of the dims before `axis` (scale and
 *     bias broadcast over the dims from axis; outputs 1, 2: mean and
 *     1/sqrt(var + eps), with the normalized dims kept as 1);
 *   InstanceNormalization: each (n, c) over the spatial dims; scale, bias
 *     per channel;
 *   GroupNormalization: each (n, group) over its C/G channels and the
 *     spatial dims; scale, bias per channel (opset 21), or per group
 *     (opset 18: mode 1). */
#include "interp_impl.h"
#include "oprules.h"

#include <math.h>
#include <string.h>

static bool float_param(const Node *n, int k, Diag *d)
{
    if (ir_has_in(n, k) && !dtype_is_float(n->in[k]->dtype))
        return IERR("input %d must be a float tensor, not %s", k, dtype_name(n->in[k]->dtype));
    if (ir_has_in(n, k) && shape_has_batch(&n->in[k]->shape))
        return IERR("input %d cannot have a batch dim", k);
    return true;
}

bool infer_layernorm(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    const Shape *xs = &n->in[0]->shape;
    if (!dtype_is_float(dt[0]))
        return IERR("LayerNormalization needs a float input, not %s", dtype_name(dt[0]));
    if (xs->rank == 0)
        return IERR("LayerNormalization of a scalar");
    if (!ir_norm_axis(n, &a->axis, xs->rank, false, "axis", d))
        return false;
    for (int i = (int)a->axis; i < xs->rank; i++)
        if (xs->d[i] == DIM_BATCH)
            return IERR("normalizing over the batch dim; compile with a fixed batch (--batch N)");
    Shape inner = {.rank = xs->rank - (int)a->axis};
    memcpy(inner.d, xs->d + a->axis, sizeof(int64_t) * (size_t)inner.rank);
    for (int k = 1; k <= 2; k++) {
        if (!float_param(n, k, d))
            return false;
        Shape s;
        if (ir_has_in(n, k) && (!shape_broadcast(&n->in[k]->shape, &inner, &s) || !shape_eq(&s, &inner)))
            return IERR("%s %s does not broadcast to the normalized dims %s", k == 1 ? "scale" : "bias",
                        ir_sh(&n->in[k]->shape, b1), ir_sh(&inner, b2));
    }
    for (int k = 1; k < n->nout; k++) {
        dt[k] = DT_F32;
        y[k] = *xs;
        for (int i = (int)a->axis; i < xs->rank; i++)
            y[k].d[i] = 1;
    }
    return true;
}

/* The offset into a parameter of shape ps broadcast over the normalized
 * dims `inner` (right-aligned) of element j of them. */
static int64_t param_off(const Shape *ps, const Shape *inner, int64_t j)
{
    int64_t st[QK_MAX_RANK];
    interp_bcast_strides(ps, inner, st);
    return interp_bcast_index(j, inner, st);
}

bool interp_layernorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *sc = in[1], *bi = n->nin > 2 ? in[2] : NULL;
    (void)d;
    int64_t ax = n->a.axis, outer = 1, len = 1;
    for (int i = 0; i < x->shape.rank; i++)
        *(i < ax ? &outer : &len) *= x->shape.d[i];
    Shape inner = {.rank = x->shape.rank - (int)ax};
    memcpy(inner.d, x->shape.d + ax, sizeof(int64_t) * (size_t)inner.rank);
    double eps = n->a.eps;
    for (int64_t o = 0; o < outer; o++) {
        int64_t base = o * len;
        double mean = 0, var = 0;
        for (int64_t j = 0; j < len; j++)
            mean += interp_ldf(x, base + j);
        mean /= (double)len;
        for (int64_t j = 0; j < len; j++) {
            double dv = interp_ldf(x, base + j) - mean;
            var += dv * dv;
        }
        var /= (double)len;
        double inv = 1 / sqrt(var + eps);
        for (int64_t j = 0; j < len; j++) {
            double v = (interp_ldf(x, base + j) - mean) * inv;
            if (sc)
                v *= interp_ldf(sc, param_off(&sc->shape, &inner, j));
            if (bi)
                v += interp_ldf(bi, param_off(&bi->shape, &inner, j));
            interp_stf_once(out[0], base + j, v);
        }
        if (n->nout > 1 && out[1])
            interp_stf_once(out[1], o, mean);
        if (n->nout > 2 && out[2])
            interp_stf_once(out[2], o, inv);
    }
    return true;
}

static bool per_channel(const Node *n, int k, int64_t want, const char *what, Diag *d)
{
    char b[96];
    if (!float_param(n, k, d))
        return false;
    const Shape *s = &n->in[k]->shape;
    if (s->rank != 1 || s->d[0] != want)
        return IERR("%s must hold %lld values, not %s", what, (long long)want, ir_sh(s, b));
    return true;
}

bool infer_instnorm(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)a, (void)y;
    char b[96];
    const Shape *xs = &n->in[0]->shape;
    if (!dtype_is_float(dt[0]) || xs->rank < 3)
        return IERR("needs a float input of rank >= 3, got %s%s", dtype_name(dt[0]), ir_sh(xs, b));
    for (int i = 1; i < xs->rank; i++)
        if (xs->d[i] == DIM_BATCH)
            return IERR("only the leading dim may be the batch");
    return per_channel(n, LN_SCALE, xs->d[1], "scale", d) && per_channel(n, LN_B, xs->d[1], "B", d);
}

bool infer_groupnorm(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    (void)y;
    char b[96];
    const Shape *xs = &n->in[0]->shape;
    if (!dtype_is_float(dt[0]) || xs->rank < 2)
        return IERR("needs a float input of rank >= 2, got %s%s", dtype_name(dt[0]), ir_sh(xs, b));
    for (int i = 1; i < xs->rank; i++)
        if (xs->d[i] == DIM_BATCH)
            return IERR("only the leading dim may be the batch");
    int64_t C = xs->d[1], G = a->group;
    if (G < 1 || C % G)
        return IERR("%lld channels do not divide into %lld groups", (long long)C, (long long)G);
    /* opset 18 gives scale and bias per group, 21 per channel */
    const Shape *ss = &n->in[LN_SCALE]->shape;
    a->mode = ss->rank == 1 && ss->d[0] == G && G != C;
    int64_t want = a->mode ? G : C;
    return per_channel(n, LN_SCALE, want, "scale", d) && per_channel(n, LN_B, want, "bias", d);
}

/* Instance and group normalization: groups of `glen` consecutive elements
 * (per n: C/G channels times the spatial size), channel c of element j of
 * group g being g * cpg + j / spatial. */
static bool norm_groups(const Node *n, const Tensor *const *in, Tensor *const *out, int64_t G)
{
    const Tensor *x = in[0], *sc = in[LN_SCALE], *bi = in[LN_B];
    int64_t N = x->shape.d[0], C = x->shape.d[1], S = 1;
    for (int i = 2; i < x->shape.rank; i++)
        S *= x->shape.d[i];
    int64_t cpg = C / G, glen = cpg * S;
    double eps = n->a.eps;
    bool per_group = n->op == OP_GROUP_NORM && n->a.mode;
    for (int64_t b = 0; b < N; b++)
        for (int64_t g = 0; g < G; g++) {
            int64_t base = (b * G + g) * glen;
            double mean = 0, var = 0;
            for (int64_t j = 0; j < glen; j++)
                mean += interp_ldf(x, base + j);
            mean /= (double)(glen ? glen : 1);
            for (int64_t j = 0; j < glen; j++) {
                double dv = interp_ldf(x, base + j) - mean;
                var += dv * dv;
            }
            var /= (double)(glen ? glen : 1);
            double inv = 1 / sqrt(var + eps);
            for (int64_t j = 0; j < glen; j++) {
                int64_t c = per_group ? g : g * cpg + j / S;
                double v = (interp_ldf(x, base + j) - mean) * inv * interp_ldf(sc, c) + interp_ldf(bi, c);
                interp_stf_once(out[0], base + j, v);
            }
        }
    return true;
}

bool interp_instnorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)d;
    return norm_groups(n, in, out, in[0]->shape.d[1]);
}

bool interp_groupnorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    (void)d;
    return norm_groups(n, in, out, n->a.group);
}

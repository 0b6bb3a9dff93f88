/* quantize.c — pass "quantize": post-training int8 quantization as a
 * QDQ rewrite (the math of ranges lives in calib.c; this file only places
 * QuantizeLinear/DequantizeLinear nodes and quantizes weights).
 * requires: shapes; fuse done; a QuantOptions with precision int8 and a
 *           range for every activation it quantizes (the profile)
 * gives: for every compute node to quantize (Conv, Gemm, MatMul with
 *        constant weights; Add; GlobalAveragePool — minus --keep-float):
 *   - its float activation inputs pass through Q -> DQ with the range of
 *     the profile (u8 asymmetric or i8 symmetric, optionally power-of-two
 *     scales);
 *   - its weight becomes an int8 constant (per output channel or per
 *     tensor, symmetric [-127, 127] (--weight-bits 7: adjacent pairs
 *     along the reduction axis within [-128, 128] too), or signed powers
 *     of two) behind a DQ;
 *     with channel means of its input (QuantOptions.means), its bias is
 *     corrected for the mean error the rounded weights add (empirical bias
 *     correction: b -= sum_k (W_q - W)[c,k] * E[x_k]);
 *   - its output passes through Q -> DQ when another quantized node reads
 *     it (an Add read only by a Relu: the Relu's output, with the Relu's
 *     range, so qdq-fold makes one QLinearAdd {relu}); MaxPool, Relu,
 *     Transpose and views between quantized nodes keep their input's
 *     parameters, so they run on the integers.
 * With QuantOptions.smooth (SmoothQuant, see "SmoothQuant" below) the
 * products' inputs enter int8 divided per channel and their weights are
 * multiplied to match.
 * Nothing changes numerically until qdq-fold turns the patterns into
 * integer kernels. With precision int8-dynamic instead (no profile): every
 * MatMul/Gemm with a constant 2-D weight reads its input through
 * DynamicQuantizeLinear -> DequantizeLinear (one per input value) and gets
 * the int8 weight as above, without bias correction (quantize_dynamic).
 * Does nothing for other precisions. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct QPar {
    float scale;
    int32_t zp;
    DType t;
} QPar;

typedef struct Q {
    Graph *g;
    PassCtx *pc;
    const QuantOptions *o;
    QPar *par;  /* by value id: the parameters given to the value */
    bool *has;  /* by value id: the value already has its Q/DQ */
    /* SmoothQuant, by value id of a smoothed activation x: its channel
     * divisors s[K], the range of x / s, and the DQ value its products read */
    float **smooth;
    double *slo, *shi;
    Value **sdq;
    Node **snodes; /* the products whose weights were smoothed [g->nnodes] */
    int nsnodes;
} Q;

static bool kept(const QuantOptions *o, const Node *n)
{
    for (int i = 0; i < o->nkeep; i++)
        if (strcmp(o->keep[i], n->name) == 0 || strcmp(o->keep[i], op_info[n->op].name) == 0)
            return true;
    return false;
}

static bool f32_act(const Value *v) { return v && v->kind != VAL_CONST && v->dtype == DT_F32; }

/* Compute nodes: the ones with integer kernels. */
static bool compute(const QuantOptions *o, const Node *n)
{
    if (kept(o, n) || !n->out[0] || n->out[0]->dtype != DT_F32)
        return false;
    switch (n->op) {
    case OP_CONV:
        return f32_act(n->in[0]) && n->in[1]->kind == VAL_CONST;
    case OP_GEMM:
        return f32_act(n->in[0]) && n->in[1]->kind == VAL_CONST && !n->a.trans_a &&
               (n->nin < 3 || !n->in[2] || n->in[2]->kind == VAL_CONST);
    case OP_MATMUL:
        return f32_act(n->in[0]) && n->in[1]->kind == VAL_CONST && n->in[1]->shape.rank == 2;
    case OP_ADD:
        return f32_act(n->in[0]) && f32_act(n->in[1]);
    case OP_GLOBAL_AVGPOOL:
        return f32_act(n->in[0]);
    default:
        return false;
    }
}

/* Ops that commute with (monotonic, per-tensor) dequantization. */
static bool passthrough(const Node *n)
{
    return (op_info[n->op].flags & OPF_VIEW) || n->op == OP_TRANSPOSE || n->op == OP_RELU ||
           (n->op == OP_MAXPOOL && (n->nout < 2 || !n->out[1]));
}

static float pow2_up(float s) { return s > 0 ? (float)ldexp(1.0, (int)ceil(log2((double)s))) : s; }

/* Activation parameters from a range. */
static QPar act_params(const QuantOptions *o, double lo, double hi)
{
    QPar p;
    lo = fmin(lo, 0), hi = fmax(hi, 0); /* real 0 is exactly representable */
    if (!isfinite(lo) || !isfinite(hi))
        lo = isfinite(lo) ? lo : -1, hi = isfinite(hi) ? hi : 1;
    if (o->act_s8) {
        double amax = fmax(-lo, hi);
        p.t = DT_I8, p.zp = 0;
        p.scale = amax > 0 ? (float)(amax / 127) : 1.0f;
        if (o->pow2)
            p.scale = pow2_up(p.scale);
        return p;
    }
    p.t = DT_U8;
    p.scale = hi > lo ? (float)((hi - lo) / 255) : 1.0f;
    if (o->pow2)
        p.scale = pow2_up(p.scale);
    double z = nearbyint(-lo / p.scale);
    p.zp = z < 0 ? 0 : z > 255 ? 255 : (int32_t)z;
    return p;
}

static Value *scalar_const(Graph *g, const char *base, DType t, double v)
{
    Shape s = {.rank = 0};
    Value *c = ir_const_new(g, ir_unique_name(g, base), t, &s, NULL);
    switch (t) {
    case DT_F32: *(float *)c->data = (float)v; break;
    case DT_U8: *(uint8_t *)c->data = (uint8_t)v; break;
    case DT_I8: *(int8_t *)c->data = (int8_t)v; break;
    default: break;
    }
    return c;
}

/* Make node inputs read `to` instead of `from`, except node `skip` (and
 * not graph outputs: a graph output stays the float value). */
static void redirect(Graph *g, Value *from, Value *to, const Node *skip)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (n == skip)
            continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
}

/* Where to insert nodes for value v: before the node after its producer
 * (or the first node for inputs). */
static Node *after_def(Graph *g, const Value *v)
{
    if (!v->def)
        return g->nnodes ? g->nodes[0] : NULL;
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == v->def)
            return i + 1 < g->nnodes ? g->nodes[i + 1] : NULL;
    return NULL;
}

/* Place the quantizing pair qn, dn (just made with ir_node_new, so last in
 * the order) right after the producer of v, at v's place in the source.
 * When v's producer was the last node, they already follow it. */
static void place_after_def(Graph *g, const Value *v, Node *qn, Node *dn)
{
    Node *before = after_def(g, v);
    qn->loc = dn->loc = v->loc;
    if (before && before != qn) {
        ir_node_move_before(g, qn, before);
        ir_node_move_before(g, dn, before);
    }
}

/* v -> Q -> DQ -> (every reader of v) */
static void insert_qdq(Q *q, Value *v, QPar p)
{
    Graph *g = q->g;
    Value *s = scalar_const(g, "scale", DT_F32, p.scale), *z = scalar_const(g, "zero_point", p.t, p.zp);
    Value *qv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_q", v->name)), p.t, &v->shape, VAL_TEMP);
    Value *dv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_dq", v->name)), DT_F32, &v->shape, VAL_TEMP);
    Value *qin[3] = {v, s, z}, *din[3] = {qv, s, z};
    Node *qn = ir_node_new(g, OP_QUANTIZE, arena_printf(g->arena, "%s_quant", v->name), qin, 3, &qv, 1);
    Node *dn = ir_node_new(g, OP_DEQUANTIZE, arena_printf(g->arena, "%s_dequant", v->name), din, 3, &dv, 1);
    place_after_def(g, v, qn, dn);
    redirect(g, v, dv, qn);
    if (v->is_output && q->o->io_int8) /* the output is the Q -> DQ value: pass "io" strips the DQ */
        ir_replace_output(g, v, dv);
    q->par[v->id] = q->par[dv->id] = p;
    q->has[v->id] = q->has[dv->id] = true;
}

/* The activation v with parameters from the profile, once. */
static bool quantize_act(Q *q, Value *v)
{
    if (v->id < 0 || q->has[v->id])
        return true;
    double lo, hi;
    if (!q->o->range(q->o->range_ctx, v->name, &lo, &hi))
        return diag_error(q->pc->d, v->loc, "the calibration profile has no range for '%s' (a profile from "
                                            "another model, or another version of it?)", v->name);
    insert_qdq(q, v, act_params(q->o, lo, hi));
    return true;
}

/* Empirical bias correction of node n (weights w, quantized q with scales
 * s): the bias becomes b - sum_k (q*s - w)[m,k] * E[x_k], E[x] per input
 * channel, so the rounding of the weights adds no mean shift. */
static void correct_bias(Q *q, Node *n, const Value *x, const float *w, const int8_t *wq, const float *s, int64_t C,
                         int axis, int64_t inner, const float *xdiv)
{
    const QuantOptions *o = q->o;
    Value *wv = n->in[1];
    if (!o->means || (n->op == OP_GEMM && (n->a.alpha != 1.0f || n->a.beta != 1.0f)))
        return;
    const Shape *ws = &wv->shape;
    bool conv = n->op == OP_CONV;
    int64_t M = conv ? ws->d[0] : ws->d[axis], K = conv ? ws->d[1] : ws->d[1 - axis];
    int64_t xc = conv ? x->shape.d[1] : K; /* input channels */
    if (conv && n->a.group != 1)
        return;
    double *mean = calloc((size_t)xc + 1, sizeof(double)), *delta = calloc((size_t)M + 1, sizeof(double));
    bool ok = mean && delta && o->means(o->means_ctx, x->name, xc, mean);
    for (int64_t k = 0; ok && xdiv && k < xc; k++) /* a smoothed input: the means of x / s */
        mean[k] /= xdiv[k];
    int64_t total = shape_numel(ws), taps = conv ? total / (M * K) : 1;
    for (int64_t i = 0; ok && i < total; i++) {
        int64_t c = C == 1 ? 0 : (i / inner) % ws->d[axis];
        double err = (double)wq[i] * s[c] - (double)w[i];
        int64_t m, k;
        if (conv)
            m = i / (K * taps), k = (i / taps) % K;
        else if (axis == 0) /* [N, K] */
            m = i / K, k = i % K;
        else /* [K, N] */
            k = i / M, m = i % M;
        delta[m] += err * mean[k];
    }
    if (ok) {
        Graph *g = q->g;
        Shape bs = {.rank = 1, .d = {M}};
        Value *ob = n->nin > 2 ? n->in[2] : NULL;
        if (ob && (ob->kind != VAL_CONST || ob->dtype != DT_F32 || shape_numel(&ob->shape) != M ||
                   (ob->shape.rank == 2 && ob->shape.d[0] != 1)))
            ok = false;
        if (ok) {
            Value *nb = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_bc", n->name)), DT_F32, &bs, NULL);
            for (int64_t m = 0; m < M; m++)
                ((float *)nb->data)[m] = (float)((ob ? ((const float *)ob->data)[m] : 0.0) - delta[m]);
            if (n->nin < 3) {
                Value **in = arena_alloc(g->arena, sizeof(Value *) * 3);
                in[0] = n->in[0], in[1] = n->in[1];
                n->in = in;
                n->nin = 3;
            }
            n->in[2] = nb;
        }
    }
    free(mean);
    free(delta);
}

/* The weight of node n: int8 constant + scale (+ DQ), symmetric; x is the
 * float input it multiplies (for bias correction), divided by xdiv per
 * channel when smoothed (else NULL). */
static void quantize_weight(Q *q, Node *n, const Value *x, const float *xdiv)
{
    Graph *g = q->g;
    const QuantOptions *o = q->o;
    Value *w = n->in[1];
    const Shape *ws = &w->shape;
    int axis = n->op == OP_CONV ? 0 : n->op == OP_GEMM && n->a.trans_b ? 0 : 1;
    int64_t C = o->weights_per_tensor ? 1 : ws->d[axis], total = shape_numel(ws);
    int64_t inner = 1;
    for (int i = axis + 1; i < ws->rank; i++)
        inner *= ws->d[i];
    const float *wd = w->data;
    double *amax = calloc((size_t)C, sizeof(double));
    for (int64_t i = 0; i < total; i++) {
        int64_t c = C == 1 ? 0 : (i / inner) % ws->d[axis];
        amax[c] = fmax(amax[c], fabs((double)wd[i]));
    }
    /* 7 bits: adjacent weights along the reduction axis (a Conv's input
     * channels, a MatMul's rows, a transposed Gemm's columns) pair up as
     * x86's pmaddubsw adds them; each pair's same-signed part must map
     * within [-128, 128] (then 255 * the pair fits int16: exact without
     * VNNI), each weight within [-127, 127]. The scale is the smallest
     * with both; a channel's largest weight usually pairs with a smaller
     * one, so this keeps more than a plain 7-bit range [-64, 64]. */
    bool pairs = o->weight_bits == 7 && !o->weights_log2;
    int pax = n->op == OP_CONV ? 1 : n->op == OP_GEMM && n->a.trans_b ? 1 : 0; /* the reduction axis */
    int64_t pstride = 1; /* elements between neighbors along it */
    for (int i = pax + 1; i < ws->rank; i++)
        pstride *= ws->d[i];
    double *pmax = pairs ? calloc((size_t)C, sizeof(double)) : NULL;
    for (int64_t i = 0; pmax && i < total; i++) {
        if ((i / pstride) % ws->d[pax] % 2)
            continue; /* the pair's second */
        int64_t c = C == 1 ? 0 : (i / inner) % ws->d[axis];
        double a = wd[i], b = (i / pstride) % ws->d[pax] + 1 < ws->d[pax] ? wd[i + pstride] : 0;
        double pos = fmax(a, 0) + fmax(b, 0), neg = fmin(a, 0) + fmin(b, 0);
        pmax[c] = fmax(pmax[c], fmax(pos, -neg));
    }
    Shape ss = {.rank = C == 1 ? 0 : 1, .d = {C}};
    Value *scale = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_scale", w->name)), DT_F32, &ss, NULL);
    float *sd = scale->data;
    for (int64_t c = 0; c < C; c++) {
        double top = o->weights_log2 ? 64.0 : 127.0; /* log2: the largest weight maps to 2^6 */
        double need = pmax ? fmax(amax[c] / top, pmax[c] / 128) : amax[c] / top;
        sd[c] = need > 0 ? (float)need : 1.0f;
        if (o->pow2)
            sd[c] = pow2_up(sd[c]);
    }
    Value *wq = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_q", w->name)), DT_I8, ws, NULL);
    int8_t *qd = wq->data;
    for (int64_t i = 0; i < total; i++) {
        int64_t c = C == 1 ? 0 : (i / inner) % ws->d[axis];
        double r = (double)wd[i] / sd[c], v;
        if (o->weights_log2) /* sgn(r) * 2^floor(log2 |r|), 0 below 1 */
            v = fabs(r) >= 1 ? copysign(ldexp(1.0, (int)floor(log2(fabs(r)))), r) : 0;
        else
            v = nearbyint(r);
        qd[i] = (int8_t)(v > 127 ? 127 : v < -127 ? -127 : v);
    }
    /* 7 bits: a pair whose two roundings pushed it past 128 (by 1 at most)
     * gives back the one rounded further from its value */
    for (int64_t i = 0; pmax && i < total; i++) {
        if ((i / pstride) % ws->d[pax] % 2 || (i / pstride) % ws->d[pax] + 1 >= ws->d[pax])
            continue;
        int64_t j = i + pstride, c = C == 1 ? 0 : (i / inner) % ws->d[axis];
        int sum = qd[i] + qd[j];
        if ((qd[i] > 0) == (qd[j] > 0) && qd[i] != 0 && qd[j] != 0 && (sum > 128 || sum < -128)) {
            double ei = abs(qd[i]) - fabs(wd[i] / sd[c]), ej = abs(qd[j]) - fabs(wd[j] / sd[c]);
            int64_t k = ei >= ej ? i : j;
            qd[k] = (int8_t)(qd[k] - (qd[k] > 0 ? 1 : -1));
        }
    }
    free(pmax);
    free(amax);
    correct_bias(q, n, x, wd, qd, sd, C, axis, inner, xdiv);
    Value *dv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_dq", w->name)), DT_F32, ws, VAL_TEMP);
    Value *din[2] = {wq, scale};
    Node *dn = ir_node_new(g, OP_DEQUANTIZE, arena_printf(g->arena, "%s_dequant", w->name), din, 2, &dv, 1);
    dn->a.axis = axis;
    dn->loc = n->loc;
    ir_node_move_before(g, dn, n);
    n->in[1] = dv;
}

/* ---- SmoothQuant (--smooth ALPHA) -----------------------------------------
 * For an activation x read by MatMul/Gemm nodes with constant weights, and
 * the per-channel extremes of x from the profile: s[j] = max|x_j|^a /
 * max|w_j|^(1-a) over channel j of x (the k dim) and the rows j of every
 * such weight (1 where either is 0; clamped to [1e-5, 1e5]). Each weight's
 * row j is multiplied by s[j] (a new constant; then quantized per output
 * channel as usual), and those products read x / s quantized per tensor:
 * QuantizeLinear along x's last axis with scales delta * s[j] (one f32
 * product each) and zero point z, then DequantizeLinear(delta, z), where
 * delta, z come from the range of x / s, exact from the channel extremes
 * (min_j lo_j / s_j, max_j hi_j / s_j; the calibration method's clipping
 * does not apply). Integer products are then as without smoothing:
 * x_q W_q' with W' = diag(s) W. Other readers of x are left as they are. */

/* Node n reads x as its A and may be smoothed: MatMul/Gemm with a constant
 * weight whose k dim is x's last. */
static bool smooth_reader(const Node *n, const Value *x)
{
    if ((n->op != OP_MATMUL && n->op != OP_GEMM) || n->in[0] != x || x->shape.rank < 1)
        return false;
    const Value *w = n->in[1];
    if (!w || w->kind != VAL_CONST || w->dtype != DT_F32 || w->shape.rank != 2)
        return false;
    int64_t K = x->shape.d[x->shape.rank - 1];
    bool tb = n->op == OP_GEMM && n->a.trans_b;
    return K > 0 && w->shape.d[tb ? 1 : 0] == K;
}

/* Plan the smoothing of every activation the products read (before any
 * Q/DQ: the nodes read the float values). */
static void plan_smoothing(Q *q, int cap)
{
    const QuantOptions *o = q->o;
    Graph *g = q->g;
    int nnodes = g->nnodes, missing = 0;
    const char *first = NULL;
    for (int i = 0; i < nnodes; i++) {
        Node *n = g->nodes[i];
        Value *x = n->nin ? n->in[0] : NULL;
        if (!x || !compute(o, n) || !smooth_reader(n, x) || x->id < 0 || x->id >= cap || q->smooth[x->id])
            continue;
        int64_t K = x->shape.d[x->shape.rank - 1];
        double *lo = calloc((size_t)K, sizeof(double)), *hi = calloc((size_t)K, sizeof(double));
        double *wmax = calloc((size_t)K, sizeof(double));
        if (!lo || !hi || !wmax || !o->chan_range(o->chan_range_ctx, x->name, K, lo, hi)) {
            missing++;
            first = first ? first : x->name;
            free(lo), free(hi), free(wmax);
            continue;
        }
        /* every product reading x: the rows' extremes of all their weights */
        for (int r = i; r < nnodes; r++) {
            const Node *m = g->nodes[r];
            if (!compute(o, m) || !smooth_reader(m, x))
                continue;
            const Value *w = m->in[1];
            bool tb = m->op == OP_GEMM && m->a.trans_b;
            int64_t N = w->shape.d[tb ? 0 : 1];
            const float *wd = w->data;
            for (int64_t j = 0; j < K; j++)
                for (int64_t c = 0; c < N; c++)
                    wmax[j] = fmax(wmax[j], fabs((double)wd[tb ? c * K + j : j * N + c]));
        }
        float *s = arena_alloc(g->arena, sizeof(float) * (size_t)K);
        double slo = 0, shi = 0;
        for (int64_t j = 0; j < K; j++) {
            double xm = fmax(fabs(lo[j]), fabs(hi[j])), v = 1.0;
            if (xm > 0 && wmax[j] > 0)
                v = pow(xm, o->smooth) / pow(wmax[j], 1.0 - o->smooth);
            v = !isfinite(v) ? 1.0 : v < 1e-5 ? 1e-5 : v > 1e5 ? 1e5 : v;
            s[j] = (float)v;
            slo = fmin(slo, lo[j] / s[j]);
            shi = fmax(shi, hi[j] / s[j]);
        }
        /* the weights: row j times s[j], a new constant per product */
        for (int r = i; r < nnodes; r++) {
            Node *m = g->nodes[r];
            if (!compute(o, m) || !smooth_reader(m, x))
                continue;
            const Value *w = m->in[1];
            bool tb = m->op == OP_GEMM && m->a.trans_b;
            int64_t N = w->shape.d[tb ? 0 : 1];
            Value *ws = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_smooth", w->name)), DT_F32,
                                     &w->shape, NULL);
            const float *wd = w->data;
            float *sd = ws->data;
            for (int64_t j = 0; j < K; j++)
                for (int64_t c = 0; c < N; c++) {
                    int64_t at = tb ? c * K + j : j * N + c;
                    sd[at] = wd[at] * s[j];
                }
            m->in[1] = ws;
            q->snodes[q->nsnodes++] = m; /* (room for every node) */
        }
        q->smooth[x->id] = s;
        q->slo[x->id] = slo, q->shi[x->id] = shi;
        free(lo), free(hi), free(wmax);
    }
    if (missing)
        diag_warn(q->pc->d, loc_file(g->file),
                  "--smooth: the profile has no channel extremes for %d input%s of MatMul/Gemm (first '%s'), "
                  "left unsmoothed: a profile from an older qkc? calibrate again", missing, missing > 1 ? "s" : "",
                  first);
}

/* The DQ value the smoothed products of x read (made once). */
static Value *smoothed_dq(Q *q, Value *x)
{
    if (q->sdq[x->id])
        return q->sdq[x->id];
    Graph *g = q->g;
    QPar p = act_params(q->o, q->slo[x->id], q->shi[x->id]);
    int64_t K = x->shape.d[x->shape.rank - 1];
    Shape ks = {.rank = 1, .d = {K}};
    Value *sv = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_smooth_scale", x->name)), DT_F32, &ks,
                             NULL);
    Value *zv = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_smooth_zero_point", x->name)), p.t,
                             &ks, NULL);
    for (int64_t j = 0; j < K; j++) {
        ((float *)sv->data)[j] = p.scale * q->smooth[x->id][j];
        if (p.t == DT_U8)
            ((uint8_t *)zv->data)[j] = (uint8_t)p.zp;
        else
            ((int8_t *)zv->data)[j] = (int8_t)p.zp;
    }
    Value *s = scalar_const(g, "scale", DT_F32, p.scale), *z = scalar_const(g, "zero_point", p.t, p.zp);
    Value *qv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_smooth_q", x->name)), p.t, &x->shape,
                             VAL_TEMP);
    Value *dv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_smooth_dq", x->name)), DT_F32,
                             &x->shape, VAL_TEMP);
    Value *qin[3] = {x, sv, zv}, *din[3] = {qv, s, z};
    Node *qn = ir_node_new(g, OP_QUANTIZE, arena_printf(g->arena, "%s_smooth_quant", x->name), qin, 3, &qv, 1);
    Node *dn = ir_node_new(g, OP_DEQUANTIZE, arena_printf(g->arena, "%s_smooth_dequant", x->name), din, 3, &dv, 1);
    qn->a.axis = x->shape.rank - 1;
    place_after_def(g, x, qn, dn);
    q->sdq[x->id] = dv;
    q->par[dv->id] = p;
    q->has[dv->id] = true;
    return dv;
}

/* The Relu that alone reads the output of Add n, so that the pair
 * quantizes as one (QLinearAdd {relu}) with the Relu's range, which uses
 * all the levels, instead of the Add's signed one; else NULL. */
static Node *relu_after_add(const Q *q, const Node *n)
{
    const Value *y = n->out[0];
    Node *r = NULL;
    if (n->op != OP_ADD || y->is_output)
        return NULL;
    for (int i = 0; i < q->g->nnodes; i++)
        for (int k = 0; k < q->g->nodes[i]->nin; k++)
            if (q->g->nodes[i]->in[k] == y) {
                if (r)
                    return NULL;
                r = q->g->nodes[i];
            }
    return r && r->op == OP_RELU && !kept(q->o, r) && f32_act(r->out[0]) ? r : NULL;
}

/* The float tensor a value stands for: v itself, or x when v is the
 * DQ(Q(x)) this pass put in front of its readers (the statistics know x). */
static const Value *float_source(const Value *v)
{
    const Node *dq = v->def, *qn = dq && dq->op == OP_DEQUANTIZE ? dq->in[0]->def : NULL;
    return qn && qn->op == OP_QUANTIZE ? qn->in[0] : v;
}

/* Readers of v, through Identity-like chains not followed: direct only.
 * With --io int8 a graph output counts as one: it is to stay quantized. */
static bool read_by_quantized(Q *q, const Value *v)
{
    if (q->o->io_int8 && v->is_output)
        return true;
    for (int i = 0; i < q->g->nnodes; i++) {
        const Node *n = q->g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == v && (compute(q->o, n) || (passthrough(n) && k == 0 && !kept(q->o, n))))
                return true;
    }
    return false;
}

/* --precision int8-dynamic: the matrix products with a constant 2-D weight
 * (MatMul, Gemm without transA; not --keep-float ones). */
static bool dynamic_compute(const QuantOptions *o, const Node *n)
{
    return (n->op == OP_MATMUL || n->op == OP_GEMM) && compute(o, n);
}

/* Dynamic int8: each activation x a dynamic product reads passes through
 * DynamicQuantizeLinear -> DequantizeLinear(y, y_scale, y_zero_point),
 * once, placed after x's producer (so Q, K and V projections share one);
 * the products read the DQ value, and their weights become int8 per
 * channel (symmetric, --weights as for static int8) behind a DQ, with no
 * bias correction (no data). qdq-fold makes each one MatMulInteger with
 * the float epilogue: act(f32(acc) * (x_s * w_s[c]) + b[c]). */
static bool quantize_dynamic(Q *q, int cap)
{
    Graph *g = q->g;
    Value **dq = calloc((size_t)cap, sizeof(Value *));
    int nnodes = g->nnodes;
    Node **order = malloc(sizeof(Node *) * (size_t)(nnodes + 1));
    if (!dq || !order) {
        free(dq);
        free(order);
        return diag_error(q->pc->d, loc_none(), "out of memory");
    }
    memcpy(order, g->nodes, sizeof(Node *) * (size_t)nnodes);
    for (int i = 0; i < nnodes; i++) {
        Node *n = order[i];
        if (!dynamic_compute(q->o, n) || g->nvalues + 8 >= cap)
            continue;
        Value *x = n->in[0];
        if (x->id < 0 || x->id >= cap)
            continue;
        if (!dq[x->id]) {
            Shape sc = {.rank = 0};
            const char *base = x->name;
            Value *outs[3] = {
                ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_q", base)), DT_U8, &x->shape, VAL_TEMP),
                ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_scale", base)), DT_F32, &sc, VAL_TEMP),
                ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_zero_point", base)), DT_U8, &sc,
                             VAL_TEMP)};
            Value *dv = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_dq", base)), DT_F32, &x->shape,
                                     VAL_TEMP);
            Node *qn = ir_node_new(g, OP_DYNAMIC_QUANTIZE, arena_printf(g->arena, "%s_dynquant", base), &x, 1, outs, 3);
            Node *dn = ir_node_new(g, OP_DEQUANTIZE, arena_printf(g->arena, "%s_dequant", base), outs, 3, &dv, 1);
            place_after_def(g, x, qn, dn);
            dq[x->id] = dv;
        }
        n->in[0] = dq[x->id];
        quantize_weight(q, n, x, NULL);
    }
    free(order);
    free(dq);
    return true;
}

bool pass_quantize(Graph *g, PassCtx *pc)
{
    const QuantOptions *o = pc->quant;
    if (o && o->precision == PREC_INT8_DYNAMIC) {
        int cap = g->nvalues * 8 + 64;
        Q q = {g, pc, o, NULL, NULL};
        return quantize_dynamic(&q, cap);
    }
    if (!o || o->precision != PREC_INT8)
        return true;
    if (!o->range)
        return diag_error(pc->d, loc_file(g->file), "int8 needs calibration: give --calib DATA or --profile FILE");
    /* ids of new values grow: size the tables for what this pass can add */
    int cap = g->nvalues * 8 + 64;
    Q q = {g, pc, o, calloc((size_t)cap, sizeof(QPar)), calloc((size_t)cap, 1)};
    if (!q.par || !q.has) {
        free(q.par);
        free(q.has);
        return diag_error(pc->d, loc_none(), "out of memory");
    }
    bool ok = true;
    if (o->smooth > 0 && o->chan_range) {
        q.smooth = calloc((size_t)cap, sizeof(float *));
        q.slo = calloc((size_t)cap, sizeof(double));
        q.shi = calloc((size_t)cap, sizeof(double));
        q.sdq = calloc((size_t)cap, sizeof(Value *));
        q.snodes = calloc((size_t)g->nnodes + 1, sizeof(Node *));
        if (q.smooth && q.slo && q.shi && q.sdq && q.snodes)
            plan_smoothing(&q, cap);
    }
    int nnodes = g->nnodes;
    Node **order = malloc(sizeof(Node *) * (size_t)(nnodes + 1));
    memcpy(order, g->nodes, sizeof(Node *) * (size_t)nnodes);
    for (int i = 0; i < nnodes && ok; i++) {
        Node *n = order[i];
        if (g->nvalues + 16 >= cap)
            break; /* cannot happen: at most 4 values per original value */
        if (compute(o, n)) {
            const Value *x0 = float_source(n->in[0]); /* the float tensor the statistics know */
            int nact = n->op == OP_ADD ? 2 : 1;
            for (int k = 0; k < nact && ok; k++)
                ok = quantize_act(&q, n->in[k]);
            const float *xdiv = NULL;
            for (int k = 0; k < q.nsnodes && !xdiv; k++)
                if (q.snodes[k] == n)
                    xdiv = q.smooth[x0->id];
            if (ok && xdiv)
                n->in[0] = smoothed_dq(&q, (Value *)x0);
            if (ok && (n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_MATMUL))
                quantize_weight(&q, n, x0, xdiv);
            Node *relu = relu_after_add(&q, n);
            if (relu && ok && read_by_quantized(&q, relu->out[0]))
                ok = quantize_act(&q, relu->out[0]);
            else if (!relu && ok && read_by_quantized(&q, n->out[0]))
                ok = quantize_act(&q, n->out[0]);
        } else if (passthrough(n) && !kept(o, n) && n->in[0] && n->in[0]->id < cap && q.has[n->in[0]->id] &&
                   f32_act(n->out[0]) && read_by_quantized(&q, n->out[0])) {
            /* keep the input's parameters so the op runs on the integers */
            Value *y = n->out[0];
            if (!q.has[y->id])
                insert_qdq(&q, y, q.par[n->in[0]->id]);
        }
    }
    free(order);
    free(q.par);
    free(q.has);
    free(q.smooth);
    free(q.snodes);
    free(q.slo);
    free(q.shi);
    free(q.sdq);
    return ok;
}

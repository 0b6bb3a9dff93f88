/* qdq_fold.c — pass "qdq-fold": QuantizeLinear/DequantizeLinear patterns
 * into integer ops. Both ways a graph gets Q/DQ nodes meet here: models
 * quantized by other tools (ONNX Runtime's QDQ format, PyTorch QAT) and
 * qkc's own post-training quantization (pass "quantize").
 * requires: shapes; fuse done (activations are attributes of Conv/Gemm/MatMul)
 * gives, for DQ inputs with constant parameters (matched at each Q):
 *   Q(DQ(x)), same parameters                       -> x
 *   DQ(x) -> Conv(DQ(w) [, b]) {act} -> Q            -> QLinearConv (b quantized to i32 at s_x*s_w)
 *   DQ(a) -> MatMul/Gemm(DQ(b) const) [+b] {act} -> Q -> QLinearMatMul (+ i32 bias; Gemm's transB,
 *                                                      alpha and beta folded in)
 *   DQ(a), DQ(b) -> Add [-> Relu] -> Q               -> QLinearAdd {relu}
 *   DQ(x) -> GlobalAveragePool -> Q                  -> QLinearGlobalAveragePool
 *   DQ(x) -> MaxPool | Relu | views | Transpose -> Q, same parameters
 *                                                    -> the op on the integers (Relu: Max with zp)
 * and, where a Conv/MatMul/Gemm result is read as floats (no Q after it):
 *   DQ(x) -> Conv/MatMul(DQ(w)) [+b] {act} -> y      -> ConvInteger/MatMulInteger [+ i32 bias]
 *                                                      -> DequantizeLinear(s_x*s_w) [-> act]
 *   DynamicQuantizeLinear(x) -> DQ(its three outputs) -> MatMul/Gemm(DQ(w)) [+b] {act} -> y
 *                                                    -> MatMulInteger(x_q, w, x_zp, f32 b, x_s*w_s
 *                                                       as a run-time Mul) {act} (dynamic int8)
 * Everything else stays as it is (float ops between DQ and Q are exact
 * ONNX semantics, just not integer kernels). Dead DQ nodes are left to dce. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct QP {     /* the parameters of a Q or DQ node */
    Value *scale, *zp;  /* constants; zp may be NULL (0) */
    int64_t axis;       /* when per axis */
    bool per_axis;
    int64_t n;          /* number of values */
} QP;

static bool is_const(const Value *v) { return v && v->kind == VAL_CONST; }

/* The parameters of a Q/DQ node when they are constants. */
static bool qp_of(const Node *q, QP *p)
{
    if (!q || (q->op != OP_QUANTIZE && q->op != OP_DEQUANTIZE))
        return false;
    p->scale = q->in[1];
    p->zp = q->nin > 2 ? q->in[2] : NULL;
    if (!is_const(p->scale) || p->scale->dtype != DT_F32 || (p->zp && !is_const(p->zp)))
        return false;
    p->n = shape_numel(&p->scale->shape);
    p->per_axis = p->n > 1;
    p->axis = q->a.axis;
    return true;
}

static float qp_scale(const QP *p, int64_t i) { return ((const float *)p->scale->data)[p->n == 1 ? 0 : i]; }

static int32_t qp_zp(const QP *p, int64_t i)
{
    if (!p->zp)
        return 0;
    int64_t k = shape_numel(&p->zp->shape) == 1 ? 0 : i;
    switch (p->zp->dtype) {
    case DT_U8: return ((const uint8_t *)p->zp->data)[k];
    case DT_I8: return ((const int8_t *)p->zp->data)[k];
    case DT_I32: return ((const int32_t *)p->zp->data)[k];
    default: return 0;
    }
}

/* Same parameters: the same values (not necessarily the same tensors). */
static bool qp_same(const QP *a, const QP *b)
{
    if (a->n != b->n || (a->per_axis && a->axis != b->axis))
        return false;
    DType za = a->zp ? a->zp->dtype : DT_U8, zb = b->zp ? b->zp->dtype : DT_U8;
    if (za != zb)
        return false;
    for (int64_t i = 0; i < a->n; i++)
        if (qp_scale(a, i) != qp_scale(b, i) || qp_zp(a, i) != qp_zp(b, i))
            return false;
    return true;
}

/* The DQ node feeding v whose input, scale and zero point are the three
 * outputs of one DynamicQuantizeLinear (dynamic int8), or NULL. */
static Node *dq_dynamic(const Value *v)
{
    Node *d = v ? v->def : NULL;
    if (!d || d->op != OP_DEQUANTIZE || d->nin < 3 || !d->in[0] || !d->in[2])
        return NULL;
    const Node *q = d->in[0]->def;
    return q && q->op == OP_DYNAMIC_QUANTIZE && d->in[0] == q->out[0] && d->in[1] == q->out[1] &&
                   d->in[2] == q->out[2]
               ? d
               : NULL;
}

/* The DQ node feeding v, with constant parameters, or NULL. */
static Node *dq_of(const Value *v, QP *p)
{
    Node *d = v ? v->def : NULL;
    return d && d->op == OP_DEQUANTIZE && qp_of(d, p) ? d : NULL;
}

typedef struct Fold {
    Graph *g;
    PassCtx *pc;
} Fold;

/* A node placed where `at` is (so its inputs are all defined before it),
 * named after `like` (the float op it replaces). */
static Node *node_like(Fold *f, Node *at, const Node *like, OpKind op, Value **in, int nin, Value *out)
{
    Node *n = ir_node_new(f->g, op, like->name, in, nin, &out, 1);
    n->loc = like->loc;
    ir_node_move_before(f->g, n, at);
    return n;
}

/* Take node p's result `old` over into node nn: nn produces p's result. */
static void retire(Fold *f, Node *p) { ir_node_remove(f->g, p); }

/* An i32 bias b / (s_x * s_w[c]) (rounded half to even in double,
 * saturated), from a float bias or a DQ'd i32 bias; NULL if none. */
static Value *bias_i32(Fold *f, Value *b, const QP *px, const QP *pw, int64_t M, float extra, bool *ok)
{
    *ok = true;
    if (!b)
        return NULL;
    QP pb;
    Node *bd = dq_of(b, &pb);
    Shape s = {.rank = 1, .d = {M}};
    if (bd && bd->in[0]->dtype == DT_I32 && is_const(bd->in[0]) && shape_numel(&bd->in[0]->shape) == M &&
        extra == 1.0f)
        return bd->in[0]; /* already quantized (ONNX Runtime's QDQ biases) */
    if (!is_const(b) || b->dtype != DT_F32 || (shape_numel(&b->shape) != M && shape_numel(&b->shape) != 1)) {
        *ok = false;
        return NULL;
    }
    Value *q = ir_const_new(f->g, ir_unique_name(f->g, arena_printf(f->g->arena, "%s_i32", b->name)), DT_I32, &s, NULL);
    const float *bf = b->data;
    int32_t *qd = q->data;
    bool scalar = shape_numel(&b->shape) == 1;
    for (int64_t c = 0; c < M; c++) {
        double sc = (double)(qp_scale(px, 0) * qp_scale(pw, c));
        double v = sc > 0 ? nearbyint((double)extra * bf[scalar ? 0 : c] / sc) : 0;
        qd[c] = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int32_t)v;
    }
    return q;
}

/* Conv/MatMul/Gemm with a DQ'd activation and a DQ'd constant weight: the
 * parts of an integer version, or false. Gemm's transposed weight is
 * transposed here (with its per-axis scale), alpha goes into the weight
 * scale, beta into the bias. */
typedef struct Lin {
    Node *dx, *dw;
    QP px, pw;
    Value *x, *w, *wscale, *wzp, *bias; /* bias: f32 or DQ'd, as in the float node */
    float bias_mul;                      /* Gemm's beta */
    bool dynamic;                        /* x's scale and zero point are DynamicQuantizeLinear's */
    int64_t M;                           /* output channels / columns */
} Lin;

static bool linear_parts(Fold *f, Node *p, Lin *l)
{
    memset(l, 0, sizeof *l);
    l->bias_mul = 1.0f;
    if (p->op != OP_CONV && p->op != OP_MATMUL && p->op != OP_GEMM)
        return false;
    if (p->out[0]->dtype != DT_F32 || !(l->dw = dq_of(p->in[1], &l->pw)))
        return false;
    if (!(l->dx = dq_of(p->in[0], &l->px))) {
        if (p->op == OP_CONV || !(l->dx = dq_dynamic(p->in[0])))
            return false;
        l->dynamic = true;
        l->px = (QP){.scale = l->dx->in[1], .zp = l->dx->in[2], .n = 1};
    }
    l->x = l->dx->in[0];
    l->w = l->dw->in[0];
    if (!is_const(l->w) || l->px.per_axis || (l->w->dtype != DT_I8 && l->w->dtype != DT_U8))
        return false;
    l->bias = p->nin > 2 ? p->in[2] : NULL;
    l->wscale = l->pw.scale;
    l->wzp = l->pw.zp;
    const Shape *ws = &l->w->shape;
    if (p->op == OP_CONV) {
        l->M = ws->d[0];
        return !l->pw.per_axis || l->pw.axis == 0;
    }
    if (ws->rank != 2 || (p->op == OP_GEMM && p->a.trans_a))
        return false;
    bool tb = p->op == OP_GEMM && p->a.trans_b;
    l->M = tb ? ws->d[0] : ws->d[1];
    int64_t col_axis = tb ? 0 : 1;
    if (l->pw.per_axis && l->pw.axis != col_axis)
        return false;
    if (p->op == OP_GEMM) {
        if (tb) { /* the weight as [K, N] */
            int64_t N = ws->d[0], K = ws->d[1];
            Shape t = {.rank = 2, .d = {K, N}};
            Value *wt = ir_const_new(f->g, ir_unique_name(f->g, arena_printf(f->g->arena, "%s_t", l->w->name)), l->w->dtype, &t, NULL);
            const uint8_t *src = l->w->data;
            uint8_t *dst = wt->data;
            for (int64_t n = 0; n < N; n++)
                for (int64_t k = 0; k < K; k++)
                    dst[k * N + n] = src[n * K + k];
            l->w = wt;
        }
        if (p->a.alpha != 1.0f) { /* alpha * s_w */
            Value *s = ir_const_new(f->g, ir_unique_name(f->g, arena_printf(f->g->arena, "%s_alpha", l->wscale->name)),
                                    DT_F32, &l->wscale->shape, NULL);
            for (int64_t i = 0; i < l->pw.n; i++)
                ((float *)s->data)[i] = p->a.alpha * qp_scale(&l->pw, i);
            l->wscale = s;
            l->pw.scale = s;
        }
        if (l->bias && l->bias->shape.rank == 2 && l->bias->shape.d[0] != 1)
            return false; /* a full C matrix is not a bias */
        l->bias_mul = p->a.beta;
    }
    return true;
}

/* A scale constant with s_x * s_w[c] per channel (f32 products). */
static Value *acc_scale(Fold *f, const Lin *l)
{
    Shape s = {.rank = 1, .d = {l->M}};
    Value *v = ir_const_new(f->g, ir_unique_name(f->g, "acc_scale"), DT_F32, &s, NULL);
    for (int64_t c = 0; c < l->M; c++)
        ((float *)v->data)[c] = qp_scale(&l->px, 0) * qp_scale(&l->pw, c);
    return v;
}

/* DQ(x) -> Conv/MatMul/Gemm -> Q  =>  QLinearConv / QLinearMatMul */
static bool fold_linear(Fold *f, Node *q, Node *p, const QP *py)
{
    Lin l;
    /* only relu and clip are clamps of the quantized result; another fused
     * activation (a pooler's tanh) is applied in float, by the
     * dequantizing epilogue of fold_linear_float, before the Q */
    if (py->per_axis || (p->a.act != ACT_NONE && p->a.act != ACT_RELU && p->a.act != ACT_CLIP) ||
        !linear_parts(f, p, &l) || l.dynamic)
        return false;
    bool ok;
    Value *b = bias_i32(f, l.bias, &l.px, &l.pw, l.M, l.bias_mul, &ok);
    if (!ok)
        return false;
    Value *in[9] = {l.x, l.px.scale, l.px.zp, l.w, l.wscale, l.wzp, py->scale, py->zp, b};
    OpKind op = p->op == OP_CONV ? OP_QLINEAR_CONV : OP_QLINEAR_MATMUL;
    Node *n = node_like(f, q, p, op, in, b ? 9 : 8, q->out[0]);
    n->a = p->a;
    n->a.alpha = n->a.beta = 1.0f;
    n->a.trans_a = n->a.trans_b = 0;
    retire(f, q);
    retire(f, p);
    return true;
}

/* DynamicQuantizeLinear(x) -> DQ -> MatMul/Gemm(DQ(w)) [+b] {act} -> y:
 * MatMulInteger(x_q, w, x_zp, w_zp, beta * b (f32), x_s * w_s), whose
 * epilogue is act(f32(acc) * scale[c] + b[c]): the scale product is a Mul
 * node at run time (x_s is known only then), the bias stays float. */
static bool fold_linear_dynamic(Fold *f, Node *p, const Lin *l)
{
    Graph *g = f->g;
    Value *b = NULL;
    Shape ms = {.rank = 1, .d = {l->M}};
    if (l->bias) {
        const Value *ob = l->bias;
        int64_t nb = shape_numel(&ob->shape);
        if (!is_const(ob) || ob->dtype != DT_F32 || (nb != l->M && nb != 1))
            return false;
        b = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_f32", ob->name)), DT_F32, &ms, NULL);
        for (int64_t c = 0; c < l->M; c++)
            ((float *)b->data)[c] = l->bias_mul * ((const float *)ob->data)[nb == 1 ? 0 : c];
    }
    Value *s = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_acc_scale", p->name)), DT_F32,
                            &l->wscale->shape, VAL_TEMP);
    Value *sin[2] = {l->px.scale, l->wscale};
    Node *mul = ir_node_new(g, OP_MUL, arena_printf(g->arena, "%s_scale", p->name), sin, 2, &s, 1);
    mul->loc = p->loc;
    ir_node_move_before(g, mul, p);
    Value *in[6] = {l->x, l->w, l->px.zp, l->wzp, b, s};
    Node *n = node_like(f, p, p, OP_MATMUL_INTEGER, in, 6, p->out[0]);
    n->a.act = p->a.act, n->a.act_alpha = p->a.act_alpha, n->a.act_beta = p->a.act_beta;
    retire(f, p);
    return true;
}

/* DQ(x) -> Conv/MatMul/Gemm -> y (floats): ConvInteger/MatMulInteger with
 * qkc's dequantizing epilogue: the exact integer sum, + the i32 bias, times
 * s_x * s_w per channel, then the activation, in one kernel (a model's last
 * layer: its output dequantized in the kernel that computes it). */
static bool fold_linear_float(Fold *f, Node *p)
{
    Lin l;
    if (!linear_parts(f, p, &l))
        return false;
    if (l.dynamic)
        return fold_linear_dynamic(f, p, &l);
    bool ok;
    Value *b = bias_i32(f, l.bias, &l.px, &l.pw, l.M, l.bias_mul, &ok);
    if (!ok)
        return false;
    bool conv = p->op == OP_CONV;
    Value *in[6] = {l.x, l.w, l.px.zp, l.wzp, b, acc_scale(f, &l)};
    Node *n = node_like(f, p, p, conv ? OP_CONV_INTEGER : OP_MATMUL_INTEGER, in, 6, p->out[0]);
    Act act = p->a.act;
    float alpha = p->a.act_alpha, beta = p->a.act_beta;
    if (conv)
        n->a = p->a;
    n->a.act = act, n->a.act_alpha = alpha, n->a.act_beta = beta;
    retire(f, p);
    return true;
}

/* DQ(a), DQ(b) -> Add [-> Relu] -> Q  =>  QLinearAdd */
static bool fold_add(Fold *f, Node *q, Node *p, const QP *py)
{
    Act act = ACT_NONE;
    Node *relu = NULL;
    if (p->op == OP_RELU && p->in[0]->def && p->in[0]->def->op == OP_ADD && p->in[0]->nuses == 1 &&
        !p->in[0]->is_output) {
        relu = p;
        p = p->in[0]->def;
        act = ACT_RELU;
    }
    QP pa, pb;
    if (p->op != OP_ADD || py->per_axis || p->out[0]->dtype != DT_F32 || !dq_of(p->in[0], &pa) ||
        !dq_of(p->in[1], &pb) || pa.per_axis || pb.per_axis)
        return false;
    Value *a = p->in[0]->def->in[0], *b = p->in[1]->def->in[0];
    DType zy = py->zp ? py->zp->dtype : DT_U8;
    if (a->dtype != b->dtype || a->dtype != zy)
        return false;
    Value *in[8] = {a, pa.scale, pa.zp, b, pb.scale, pb.zp, py->scale, py->zp};
    Node *n = node_like(f, q, p, OP_QLINEAR_ADD, in, py->zp ? 8 : 7, q->out[0]);
    n->a.act = act;
    retire(f, q);
    if (relu)
        retire(f, relu);
    retire(f, p);
    return true;
}

/* DQ(x) -> GlobalAveragePool -> Q  =>  QLinearGlobalAveragePool */
static bool fold_gap(Fold *f, Node *q, Node *p, const QP *py)
{
    QP px;
    if (p->op != OP_GLOBAL_AVGPOOL || py->per_axis || !dq_of(p->in[0], &px) || px.per_axis)
        return false;
    Value *x = p->in[0]->def->in[0];
    if (x->dtype != (py->zp ? py->zp->dtype : DT_U8))
        return false;
    Value *in[5] = {x, px.scale, px.zp, py->scale, py->zp};
    node_like(f, q, p, OP_QLINEAR_GAP, in, py->zp ? 5 : 4, q->out[0]);
    retire(f, q);
    retire(f, p);
    return true;
}

/* DQ(x) -> op -> Q with the same parameters, op commuting with monotonic
 * dequantization: the op on the integers. */
static bool fold_passthrough(Fold *f, Node *q, Node *p, const QP *py)
{
    QP px;
    bool view = op_info[p->op].flags & OPF_VIEW;
    bool ok = view || p->op == OP_TRANSPOSE || p->op == OP_RELU ||
              (p->op == OP_MAXPOOL && (p->nout < 2 || !p->out[1] || p->out[1]->nuses == 0));
    if (!ok || !dq_of(p->in[0], &px) || !qp_same(&px, py))
        return false;
    if (px.per_axis && p->op != OP_IDENTITY) /* axes move in views: keep it simple */
        return false;
    Value *x = p->in[0]->def->in[0];
    Value *y = q->out[0];
    if (p->op == OP_RELU) { /* relu in the quantized domain: max(x, zp) */
        Shape s = {.rank = 0};
        Value *z = ir_const_new(f->g, ir_unique_name(f->g, "relu_zp"), x->dtype, &s, NULL);
        int32_t zp = qp_zp(&px, 0);
        if (x->dtype == DT_U8)
            *(uint8_t *)z->data = (uint8_t)zp;
        else
            *(int8_t *)z->data = (int8_t)zp;
        Value *in[2] = {x, z};
        node_like(f, q, p, OP_MAX, in, 2, y);
    } else {
        Node *n = node_like(f, q, p, p->op, &x, 1, y);
        n->a = p->a;
    }
    retire(f, q);
    retire(f, p);
    return true;
}

/* Q(DQ(x)) with the same parameters: x. */
static bool fold_roundtrip(Fold *f, Node *q, const QP *py)
{
    QP px;
    Node *d = dq_of(q->in[0], &px);
    if (!d || !qp_same(&px, py) || q->out[0]->is_output)
        return false;
    ir_replace_uses(f->g, q->out[0], d->in[0]);
    retire(f, q);
    return true;
}

bool pass_qdq_fold(Graph *g, PassCtx *pc)
{
    Fold f = {g, pc};
    /* One forward sweep: every pattern ends at a Q node and looks only
     * backwards, and a fold never creates a pattern ending at an earlier
     * node. Use counts are those of the start: folds only remove readers
     * of DQ results, which no later check depends on. */
    ir_graph_count_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *q = g->nodes[i];
        QP py;
        if (q->op != OP_QUANTIZE || !qp_of(q, &py))
            continue;
        Node *p = q->in[0]->def;
        bool single = p && q->in[0]->nuses == 1 && !q->in[0]->is_output;
        if (fold_roundtrip(&f, q, &py) ||
            (single && (fold_linear(&f, q, p, &py) || fold_add(&f, q, p, &py) || fold_gap(&f, q, p, &py) ||
                        fold_passthrough(&f, q, p, &py))))
            i = i >= 3 ? i - 3 : -1; /* nodes moved around i: look again just before */
    }
    /* linear ops whose results stay floats */
    ir_graph_count_uses(g);
    for (int i = 0; i < g->nnodes; i++)
        if (fold_linear_float(&f, g->nodes[i]))
            i--;
    ir_graph_compact(g);
    return true;
}

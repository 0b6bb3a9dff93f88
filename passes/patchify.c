/* patchify.c — pass "patchify": a convolution whose windows do not overlap
 * (a ViT's patch embedding, ConvNeXt's stem) as a matrix product.
 * requires: shapes; bn-fold done
 * gives: Conv(x, w[M, C, KH, KW], b?) with strides = kernel, no padding,
 *        dilation 1, one group, H % KH = W % KW = 0 and KH*KW >= 16, f32,
 *        constant w, becomes
 *          Reshape x to [N, C, OH, KH, OW, KW]
 *          Transpose (0, 2, 4, 1, 3, 5): [N, OH, OW, C, KH, KW]
 *          Reshape to [N, OH*OW, C*KH*KW]
 *          MatMul with w as [C*KH*KW, M] (then Add b: "fuse" folds it)
 *          Transpose (0, 2, 1) and Reshape to [N, M, OH, OW]
 *        so the product runs on the GEMM microkernels (a conv kernel would
 *        unroll KW taps of C channels each: 3 for an image) and int8-dynamic
 *        quantizes it like any projection. The sums are the conv's, taken
 *        over (c, kh, kw) instead of (kh, kw, c): float results differ in
 *        rounding only. */
#include "passes.h"

#include <string.h>

enum { PATCH_MIN_TAPS = 16 };

static bool patch_conv(const Node *n)
{
    if (n->op != OP_CONV || n->a.nsp != 2 || n->a.group != 1 || n->a.act != ACT_NONE)
        return false;
    const Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
    if (x->dtype != DT_F32 || w->dtype != DT_F32 || y->dtype != DT_F32 || w->kind != VAL_CONST || !w->data ||
        x->shape.rank != 4 || (n->nin > 2 && n->in[2] && (n->in[2]->kind != VAL_CONST || n->in[2]->dtype != DT_F32)))
        return false;
    int64_t KH = n->a.kernel[0], KW = n->a.kernel[1];
    for (int i = 0; i < 2; i++)
        if (n->a.strides[i] != n->a.kernel[i] || n->a.dilations[i] != 1 || n->a.pads[i] || n->a.pads[2 + i])
            return false;
    int64_t C = x->shape.d[1], H = x->shape.d[2], W = x->shape.d[3];
    return KH * KW >= PATCH_MIN_TAPS && C > 0 && H > 0 && W > 0 && H % KH == 0 && W % KW == 0 &&
           w->shape.d[1] == C;
}

/* A node of `op` on `in` placed before `at`, named after it (`tag` appended
 * unless empty), its output `out` or a new value with the type and shape
 * that shape inference gives it. */
static Value *emit(Graph *g, Node *at, OpKind op, Value **in, int nin, const int64_t *ints, int nints,
                   const char *tag, Value *out, PassCtx *pc)
{
    const char *name = *tag ? arena_printf(g->arena, "%s_%s", at->name, tag) : at->name;
    Value *v = out ? out : ir_value_new(g, ir_unique_name(g, name), DT_F32, &at->out[0]->shape, VAL_TEMP);
    Node *n = ir_node_new(g, op, name, in, nin, &v, 1);
    n->loc = at->loc;
    if (nints >= 0) {
        memcpy(n->a.ints, ints, sizeof(int64_t) * (size_t)nints);
        n->a.nints = nints;
    }
    ir_node_move_before(g, n, at);
    DType dt;
    Shape s;
    if (!ir_infer_node(n, &n->a, &dt, &s, pc->d))
        return NULL;
    if (!out) {
        v->dtype = dt;
        v->shape = s;
    }
    return v;
}

static bool rewrite(Graph *g, Node *n, PassCtx *pc)
{
    Value *x = n->in[0], *w = n->in[1], *y = n->out[0];
    Value *bias = n->nin > 2 ? n->in[2] : NULL;
    int64_t C = x->shape.d[1], OH = x->shape.d[2] / n->a.kernel[0], OW = x->shape.d[3] / n->a.kernel[1];
    int64_t KH = n->a.kernel[0], KW = n->a.kernel[1], M = w->shape.d[0], K = C * KH * KW;
    /* the weights as [K, M]: row (c, kh, kw), column m */
    Shape ws = {.rank = 2, .d = {K, M}};
    Value *wt = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_wt", w->name)), DT_F32, &ws, NULL);
    const float *src = w->data;
    float *dst = wt->data;
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++)
            dst[k * M + m] = src[m * K + k];
    /* Reshape's 0 keeps the batch dim as it is */
    Value *v = emit(g, n, OP_RESHAPE, &x, 1, (int64_t[]){0, C, OH, KH, OW, KW}, 6, "patches", NULL, pc);
    if (v)
        v = emit(g, n, OP_TRANSPOSE, &v, 1, (int64_t[]){0, 2, 4, 1, 3, 5}, 6, "patches_t", NULL, pc);
    if (v)
        v = emit(g, n, OP_RESHAPE, &v, 1, (int64_t[]){0, OH * OW, K}, 3, "rows", NULL, pc);
    if (v)
        v = emit(g, n, OP_MATMUL, (Value *[]){v, wt}, 2, NULL, -1, "", NULL, pc); /* the conv's name */
    if (v && bias)
        v = emit(g, n, OP_ADD, (Value *[]){v, bias}, 2, NULL, -1, "bias", NULL, pc);
    if (v)
        v = emit(g, n, OP_TRANSPOSE, &v, 1, (int64_t[]){0, 2, 1}, 3, "cols", NULL, pc);
    if (v)
        v = emit(g, n, OP_RESHAPE, &v, 1, (int64_t[]){0, M, OH, OW}, 4, "out", y, pc);
    if (!v)
        return false;
    ir_node_remove(g, n);
    return true;
}

bool pass_patchify(Graph *g, PassCtx *pc)
{
    int errors = pc->d->errors;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!patch_conv(n))
            continue;
        if (!rewrite(g, n, pc))
            return false;
        i = -1; /* the node list moved: start over (few convs qualify) */
    }
    return pc->d->errors == errors;
}

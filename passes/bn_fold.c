/* bn_fold.c — pass "bn-fold": BatchNormalization folding.
 * requires: shapes; constants folded
 * gives: y = BN(P(x)) with P a Conv, Gemm or MatMul over constant f32
 *        weights, P's result read only by the BN, inference mode and
 *        constant BN parameters, rewritten as one P with scaled weights and
 *        a new bias:  s = scale / sqrt(var + eps);
 *                     W'[m,...] = W[m,...] * s[m];  b'[m] = (b[m] - mean[m]) * s[m] + B[m].
 * The scale is computed in double and rounded once per weight. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static bool is_f32_const(const Value *v) { return v && v->kind == VAL_CONST && v->dtype == DT_F32; }

/* The channel count M of P's output and how to scale its weights, or 0 when
 * P does not qualify. */
static int64_t channels(const Node *p)
{
    const Value *w = p->in[1];
    if (!is_f32_const(w) || p->a.act != ACT_NONE || (p->nin > 2 && p->in[2] && !is_f32_const(p->in[2])))
        return 0;
    switch (p->op) {
    case OP_CONV:
        return w->shape.d[0];
    case OP_GEMM:
        if (p->a.trans_a || w->shape.rank != 2)
            return 0;
        if (p->nin > 2 && p->in[2]) { /* C must be a per-column vector */
            const Shape *cs = &p->in[2]->shape;
            if (!(cs->rank == 1 || (cs->rank == 2 && cs->d[0] == 1)))
                return 0;
        }
        return p->a.trans_b ? w->shape.d[0] : w->shape.d[1];
    case OP_MATMUL:
        /* BN's channel dim is 1: only a 2-D result [rows, N] has it last */
        return w->shape.rank == 2 && p->out[0]->shape.rank == 2 ? w->shape.d[1] : 0;
    default:
        return 0;
    }
}

static bool fold_one(Graph *g, Node *bn, Node *p, int64_t M)
{
    const float *scale = bn->in[1]->data, *beta = bn->in[2]->data, *mean = bn->in[3]->data, *var = bn->in[4]->data;
    const Value *w = p->in[1];
    double *s = malloc(sizeof(double) * (size_t)M);
    if (!s)
        return false;
    for (int64_t m = 0; m < M; m++)
        s[m] = (double)scale[m] / sqrt((double)var[m] + (double)bn->a.eps);

    Value *nw = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_bn", w->name)), DT_F32, &w->shape, NULL);
    const float *wd = w->data;
    float *nd = nw->data;
    int64_t total = shape_numel(&w->shape);
    double alpha = p->op == OP_GEMM ? p->a.alpha : 1.0;
    for (int64_t i = 0; i < total; i++) {
        int64_t m;
        if (p->op == OP_CONV)
            m = i / (total / M);
        else if (p->op == OP_GEMM && p->a.trans_b)
            m = i / w->shape.d[1];
        else
            m = i % M;
        nd[i] = (float)(alpha * wd[i] * s[m]);
    }

    /* the old bias: Conv/MatMul bias, or Gemm beta*C */
    Shape bs = {.rank = 1, .d = {M}};
    Value *nb = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_bn_bias", p->name)), DT_F32, &bs, NULL);
    float *bd = nb->data;
    const Value *ob = p->nin > 2 ? p->in[2] : NULL;
    for (int64_t m = 0; m < M; m++) {
        double b0 = 0;
        if (ob) {
            double c = shape_numel(&ob->shape) == 1 ? ((const float *)ob->data)[0] : ((const float *)ob->data)[m];
            b0 = p->op == OP_GEMM ? p->a.beta * c : c;
        }
        bd[m] = (float)((b0 - mean[m]) * s[m] + beta[m]);
    }
    free(s);

    Value **in = arena_alloc(g->arena, sizeof(Value *) * 3);
    in[0] = p->in[0];
    in[1] = nw;
    in[2] = nb;
    p->in = in;
    p->nin = 3;
    if (p->op == OP_GEMM)
        p->a.alpha = p->a.beta = 1.0f;
    /* P now produces BN's result */
    Value *y = bn->out[0], *old = p->out[0];
    ir_node_remove(g, bn);
    p->out[0] = y;
    y->def = p;
    old->def = NULL;
    return true;
}

bool pass_bn_fold(Graph *g, PassCtx *pc)
{
    ir_graph_count_uses(g);
    for (int i = 0; i < g->nnodes; i++) {
        Node *bn = g->nodes[i];
        if (bn->op != OP_BATCHNORM || bn->a.training || bn->nout != 1 || bn->in[0]->dtype != DT_F32)
            continue;
        bool params = true;
        for (int k = 1; k < 5; k++)
            params = params && is_f32_const(bn->in[k]);
        Node *p = bn->in[0]->def;
        if (!params || !p || bn->in[0]->nuses != 1 || bn->in[0]->is_output)
            continue;
        int64_t M = channels(p);
        if (M <= 0 || M != bn->in[1]->shape.d[0])
            continue;
        if (!fold_one(g, bn, p, M))
            return diag_error(pc->d, bn->loc, "out of memory");
        i--;
    }
    ir_graph_compact(g);
    return true;
}

/* fuse.c — pass "fuse": epilogue fusion.
 * requires: shapes; bn-fold done (it wants P without a fused epilogue)
 * gives: P = Conv/Gemm/MatMul (f32) followed by
 *          - an Add of a constant that is a per-channel bias, then/or
 *          - an activation (Relu, LeakyRelu, Clip, Sigmoid, Tanh)
 *        as one P with the bias as its third input and the activation in
 *        its `act` attributes, when P's result has no other reader. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Whether constant c, added to P's output, is a per-channel bias: all its
 * dims are 1 except the channel dim (dim 1 for Conv, the last otherwise),
 * counting from the right as broadcasting does. Returns the channel count. */
static int64_t bias_channels(const Node *p, const Value *c)
{
    const Shape *ys = &p->out[0]->shape, *cs = &c->shape;
    if (c->kind != VAL_CONST || c->dtype != DT_F32 || cs->rank > ys->rank || ys->rank < 1)
        return 0;
    /* MatMul with a 1-D B has no column dim: its last output dim is M */
    if (p->op == OP_MATMUL && p->in[1]->shape.rank < 2)
        return 0;
    int ch = p->op == OP_CONV ? 1 : ys->rank - 1;
    int64_t M = ys->d[ch];
    for (int i = 0; i < cs->rank; i++) {
        int yi = ys->rank - cs->rank + i;
        if (cs->d[i] != 1 && !(yi == ch && cs->d[i] == M))
            return 0;
    }
    return M;
}

/* Make P produce `y` (the result of the node `user` that is removed). */
static void absorb(Graph *g, Node *p, Node *user)
{
    Value *y = user->out[0], *old = p->out[0];
    ir_node_remove(g, user);
    p->out[0] = y;
    y->def = p;
    old->def = NULL;
    old->nuses = 0;
}

static bool fuse_bias(Graph *g, Node *p, Node *add)
{
    Value *c = add->in[0] == p->out[0] ? add->in[1] : add->in[0];
    if (c == p->out[0] || !shape_eq(&add->out[0]->shape, &p->out[0]->shape))
        return false;
    int64_t M = bias_channels(p, c);
    if (M <= 0)
        return false;
    if (p->op == OP_GEMM && p->nin > 2 && p->in[2]) /* beta*C + bias: only when C is per-column too */
        return false;
    Shape bs = {.rank = 1, .d = {M}};
    Value *nb = ir_const_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_bias", p->name)), DT_F32, &bs, NULL);
    float *bd = nb->data;
    const float *cd = c->data;
    const Value *ob = p->nin > 2 ? p->in[2] : NULL;
    bool scalar = shape_numel(&c->shape) == 1;
    for (int64_t m = 0; m < M; m++)
        bd[m] = (ob ? ((const float *)ob->data)[m] : 0.0f) + (scalar ? cd[0] : cd[m]);
    Value **in = arena_alloc(g->arena, sizeof(Value *) * 3);
    in[0] = p->in[0];
    in[1] = p->in[1];
    in[2] = nb;
    p->in = in;
    p->nin = 3;
    if (p->op == OP_GEMM)
        p->a.beta = 1.0f;
    absorb(g, p, add);
    return true;
}

static bool fuse_act(Graph *g, Node *p, Node *u)
{
    Attrs *a = &p->a;
    switch (u->op) {
    case OP_RELU: a->act = ACT_RELU; break;
    case OP_LEAKY_RELU: a->act = ACT_LEAKY_RELU, a->act_alpha = (float)u->a.p[0]; break;
    case OP_CLIP:
        if (u->nin > 1)
            return false; /* bounds not constant */
        a->act = ACT_CLIP, a->act_alpha = (float)u->a.p[0], a->act_beta = (float)u->a.p[1];
        break;
    case OP_SIGMOID: a->act = ACT_SIGMOID; break;
    case OP_TANH: a->act = ACT_TANH; break;
    default: return false;
    }
    absorb(g, p, u);
    return true;
}

bool pass_fuse(Graph *g, PassCtx *pc)
{
    /* the sole reader of each value (NULL: none or several), computed once
     * so the pass stays linear in the graph's size */
    ir_graph_count_uses(g);
    Node **user = calloc((size_t)g->nvalues + 1, sizeof(Node *));
    if (!user)
        return diag_error(pc->d, loc_none(), "out of memory");
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k])
                user[g->nodes[i]->in[k]->id] = g->nodes[i];
    Node **order = malloc(sizeof(Node *) * ((size_t)g->nnodes + 1));
    char *gone = calloc((size_t)g->next_node_id + 1, 1);
    if (!order || !gone) {
        free(order);
        free(gone);
        free(user);
        return diag_error(pc->d, loc_none(), "out of memory");
    }
    int nn = g->nnodes;
    memcpy(order, g->nodes, sizeof(Node *) * (size_t)nn);
    for (int i = 0; i < nn; i++) {
        Node *p = order[i];
        if (gone[p->id] || (p->op != OP_CONV && p->op != OP_GEMM && p->op != OP_MATMUL) || p->out[0]->dtype != DT_F32)
            continue;
        for (;;) { /* bias, then activation */
            Value *y = p->out[0];
            Node *u = y->nuses == 1 && !y->is_output ? user[y->id] : NULL;
            if (!u || !u->out[0] || u->out[0]->dtype != DT_F32 || p->a.act != ACT_NONE)
                break;
            bool has_bias = p->nin > 2 && p->in[2];
            bool done = false;
            if (u->op == OP_ADD && (!has_bias || p->in[2]->kind == VAL_CONST))
                done = fuse_bias(g, p, u);
            else if (u->nin == 1 && u->in[0] == y)
                done = fuse_act(g, p, u);
            if (!done)
                break;
            gone[u->id] = 1;
        }
    }
    free(order);
    free(gone);
    free(user);
    ir_graph_compact(g);
    return true;
}

/* fuse_eltwise.c — pass "fuse-eltwise": chains of elementwise ops become one
 * kernel.
 * requires: shapes; the integer rewrite done (qdq-fold, io, fold2)
 * gives: every elementwise node whose input is the single-use result of
 *        another elementwise node (same shape, a float of the same type,
 *        not a graph output) absorbs that producer: their expressions
 *        (ir/expr.h) are spliced into one program, carried by a
 *        FusedElementwise node over the union of their inputs. GELU's Div,
 *        Erf, Add, Mul, Mul is one pass over memory instead of five.
 * Numerically the fused program computes the intermediate results in the
 * calc type (f32 for f16 data too) and rounds once, where the chain rounded
 * each to the value's type: the interpreter evaluates the fused node the
 * same way, in double. Chains with integer or bool intermediates are not
 * fused (wrap-around at each op's width would be lost). */
#include "passes.h"
#include "ir/expr.h"

#include <stdlib.h>
#include <string.h>

enum { MAX_FUSED_INPUTS = 15 };

static bool fusable(const Node *n)
{
    return op_has(n->op, OPF_ELTWISE) && n->nout == 1 && n->out[0] && dtype_is_float(n->out[0]->dtype);
}

/* Try to merge producer p (writing v) into consumer c; true when done (c
 * became a FusedElementwise node reading p's inputs, p is left unused). */
static bool merge(Graph *g, Node *c, Node *p, Value *v)
{
    Expr ec, ep, res;
    char err[128];
    if (!expr_of_node(c, &ec, err, sizeof err) || !expr_of_node(p, &ep, err, sizeof err))
        return false;
    if (!c->prog)
        expr_bake_params(&ec, c->a.p);
    if (!p->prog)
        expr_bake_params(&ep, p->a.p);
    /* the new inputs: c's (but v) then p's, deduplicated */
    Value *ins[MAX_FUSED_INPUTS + 8];
    int nin = 0, at = -1, cmap[16], pmap[16];
    for (int k = 0; k < c->nin; k++) {
        if (c->in[k] == v) {
            at = k;
            cmap[k] = -1;
            continue;
        }
        int j = 0;
        while (j < nin && ins[j] != c->in[k])
            j++;
        if (j == nin)
            ins[nin++] = c->in[k];
        cmap[k] = j;
    }
    for (int k = 0; k < p->nin; k++) {
        int j = 0;
        while (j < nin && ins[j] != p->in[k])
            j++;
        if (j == nin)
            ins[nin++] = p->in[k];
        pmap[k] = j;
    }
    if (at < 0 || nin > MAX_FUSED_INPUTS)
        return false;
    /* v read twice by c (x * sigmoid(x) with x computed): every read is the
     * producer's result, splice handles that; other reads must not remain */
    for (int k = 0; k < c->nin; k++)
        if (c->in[k] == v && k != at)
            for (int i = 0; i < ec.n; i++)
                if (ec.x[i].op == XK_IN && ec.x[i].arg == k)
                    ec.x[i].arg = at;
    if (!expr_splice(&ec, at, cmap, &ep, pmap, &res))
        return false;
    Expr *prog = arena_alloc(g->arena, sizeof *prog);
    *prog = res;
    Value **in = arena_alloc(g->arena, sizeof(Value *) * (size_t)nin);
    memcpy(in, ins, sizeof(Value *) * (size_t)nin);
    DType to = c->out[0]->dtype;
    c->op = OP_FUSED_ELTWISE;
    c->in = in;
    c->nin = nin;
    c->prog = prog;
    ir_attrs_default(OP_FUSED_ELTWISE, &c->a);
    c->a.to = to;
    return true;
}

bool pass_fuse_eltwise(Graph *g, PassCtx *pc)
{
    (void)pc;
    ir_graph_count_uses(g);
    /* visit consumers in order: a chain grows from its first op to its last */
    for (int i = 0; i < g->nnodes; i++) {
        Node *c = g->nodes[i];
        if (!fusable(c))
            continue;
        for (bool grew = true; grew;) {
            grew = false;
            for (int k = 0; k < c->nin && !grew; k++) {
                Value *v = c->in[k];
                Node *p = v ? v->def : NULL;
                if (!p || v->kind != VAL_TEMP || v->is_output || v->nuses != 1 || !fusable(p) ||
                    v->dtype != c->out[0]->dtype || !shape_eq(&v->shape, &c->out[0]->shape))
                    continue;
                /* p is read only here: its work moves into c, whose other inputs
                 * come from earlier nodes anyway. The use counts of p's inputs
                 * stay as they were (c now reads each at most once): an
                 * over-count only keeps a value from being fused later. */
                if (merge(g, c, p, v)) {
                    ir_node_remove(g, p);
                    i--;
                    grew = true;
                }
            }
        }
    }
    ir_graph_compact(g);
    return true;
}

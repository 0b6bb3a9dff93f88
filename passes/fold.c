/* fold.c — pass "fold": constant folding.
 * requires: shapes
 * gives: every node whose inputs are all constants (except Quantize and
 *        DequantizeLinear, which stay for qdq-fold) and whose result is not
 *        a graph output, replaced by a constant computed with the reference
 *        interpreter, so folding has exactly the semantics of a run.
 * Pass "fold2", after qdq-fold, folds Quantize/DequantizeLinear too: the
 * constants the integer rewrite left (e.g. a quantized BatchNormalization
 * scale that feeds a float op) become plain constants.
 * Both draw the constants they make from the bound on created constants
 * (pc->const_left): a node whose result does not fit is left to run time,
 * and the first such node is named in a warning. */
#include "passes.h"

#include <stdlib.h>

static bool foldable(const Node *n, bool quant)
{
    if (n->nout != 1 || !n->out[0] || n->out[0]->is_output)
        return false;
    /* before qdq-fold, quantized constants stay quantized: DequantizeLinear
     * of a weight is what qdq-fold turns into an integer kernel */
    if (!quant && (n->op == OP_DEQUANTIZE || n->op == OP_QUANTIZE))
        return false;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && n->in[k]->kind != VAL_CONST)
            return false;
    const Value *o = n->out[0];
    return !shape_has_batch(&o->shape) && value_bytes(o) >= 0;
}

static bool fold(Graph *g, PassCtx *pc, bool quant)
{
    int64_t own = (int64_t)256 << 20; /* no bound given (tests): 256 MiB per run */
    int64_t *left = pc->const_left ? pc->const_left : &own;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        if (!foldable(n, quant))
            continue;
        int64_t bytes = value_bytes(n->out[0]);
        if (bytes > *left) {
            if (!pc->const_warned)
                diag_warn(pc->d, n->loc, "not folded: its result (%lld bytes) is more than is left (%lld bytes) of "
                                         "the bound on constants a model may create, so it is computed at run time; "
                                         "--max-const-bytes N raises the bound", (long long)bytes, (long long)*left);
            pc->const_warned = true;
            continue;
        }
        Tensor ins[16], out;
        const Tensor *inp[16];
        if (n->nin > 16)
            continue;
        for (int k = 0; k < n->nin; k++) {
            inp[k] = NULL;
            if (!n->in[k])
                continue;
            ins[k] = (Tensor){n->in[k]->dtype, n->in[k]->shape, n->in[k]->data};
            inp[k] = &ins[k];
        }
        Value *o = n->out[0];
        if (!tensor_alloc(&out, o->dtype, &o->shape))
            return diag_error(pc->d, n->loc, "out of memory folding constants");
        Tensor *outp = &out;
        bool ok = interp_node(n, inp, &outp, pc->d);
        if (ok) {
            Value *c = ir_const_new(g, ir_unique_name(g, o->name), o->dtype, &o->shape, out.data);
            c->loc = o->loc;
            ir_replace_uses(g, o, c);
            ir_node_remove(g, n);
            *left -= bytes;
            i--;
        }
        tensor_free(&out);
        if (!ok)
            return false;
    }
    ir_graph_compact(g);
    return true;
}

bool pass_fold(Graph *g, PassCtx *pc) { return fold(g, pc, false); }

bool pass_fold_late(Graph *g, PassCtx *pc) { return fold(g, pc, true); }

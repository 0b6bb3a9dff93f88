/* shape_infer.c — pass "shape".
 * requires: an imported graph (inputs and constants typed)
 * gives: dtype and shape of every value; normalized attributes;
 *        graph outputs checked against the types the model declares. */
#include "passes.h"

bool pass_shape_infer(Graph *g, PassCtx *pc)
{
    bool ok = true;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        Attrs a;
        DType dts[8];
        Shape shs[8];
        if (n->nout > 8 || !ir_infer_node(n, &a, dts, shs, pc->d)) {
            ok = false;
            continue; /* its outputs stay unknown; users report "no known type" once */
        }
        n->a = a;
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v)
                continue;
            /* a type the model declared for a graph output must agree */
            if (v->is_output && v->dtype != DT_UNDEF && v->dtype != dts[k]) {
                ok = diag_error(pc->d, v->loc, "output '%s' is declared %s but computes %s", v->name,
                                dtype_name(v->dtype), dtype_name(dts[k]));
            }
            if (v->is_output && v->shape.rank != RANK_UNKNOWN) {
                bool same = v->shape.rank == shs[k].rank;
                for (int j = 0; same && j < v->shape.rank; j++)
                    same = v->shape.d[j] == -2 || v->shape.d[j] == shs[k].d[j];
                if (!same) {
                    char b1[96], b2[96];
                    ok = diag_error(pc->d, v->loc, "output '%s' is declared %s but computes %s", v->name,
                                    shape_str(&v->shape, b1, sizeof b1), shape_str(&shs[k], b2, sizeof b2));
                }
            }
            v->dtype = dts[k];
            v->shape = shs[k];
        }
    }
    return ok;
}

/* shape_infer.c — pass "shape".
 * requires: an imported graph (inputs and constants typed)
 * gives: dtype and shape of every value; normalized attributes (a Cast to
 *        the type it already has becomes an Identity);
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
        if (n->op == OP_CAST && n->in[0]->dtype == a.to)
            n->op = OP_IDENTITY; /* a Cast to the same type (PyTorch's QAT exports have them) */
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v)
                continue;
            int64_t bytes;
            if (shape_numel(&shs[k]) < 0 || !checked_mul(shape_numel(&shs[k]), dtype_size(dts[k]), &bytes)) {
                char b[96];
                ok = diag_error(pc->d, n->loc, "output %d would be %s: its size overflows", k,
                                shape_str(&shs[k], b, sizeof b));
                continue;
            }
            /* a type the model declared for a graph output must agree */
            if (v->is_output && v->decl_dtype != DT_UNDEF && v->decl_dtype != dts[k]) {
                ok = diag_error(pc->d, v->loc, "output '%s' is declared %s but computes %s", v->name,
                                dtype_name(v->decl_dtype), dtype_name(dts[k]));
            }
            if (v->is_output && v->decl_dtype != DT_UNDEF && v->decl_shape.rank != RANK_UNKNOWN) {
                bool same = v->decl_shape.rank == shs[k].rank;
                for (int j = 0; same && j < v->decl_shape.rank; j++)
                    same = v->decl_shape.d[j] == -2 || v->decl_shape.d[j] == shs[k].d[j];
                if (!same) {
                    char b1[96], b2[96];
                    ok = diag_error(pc->d, v->loc, "output '%s' is declared %s but computes %s", v->name,
                                    shape_str(&v->decl_shape, b1, sizeof b1), shape_str(&shs[k], b2, sizeof b2));
                }
            }
            v->dtype = dts[k];
            v->shape = shs[k];
        }
    }
    return ok;
}

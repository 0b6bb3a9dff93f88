/* verify.c — the IR's invariants, checked after import and after every
 * pass in tests and debug builds:
 *   - every value has a unique id and name; constants have data, no def;
 *   - every node input is an input, a constant or the output of an earlier
 *     node (topological order, SSA: one definition per value);
 *   - op arity is within the op table's ranges;
 *   - graph outputs come from nodes;
 *   - once shapes are known, re-running the op's shape rule gives the same
 *     output types (so a pass cannot leave a stale shape behind). */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

#define VERR(...) diag_error(d, n->loc, __VA_ARGS__)

static bool same_attrs_shape(const Node *n, const Attrs *a, Diag *d)
{
    /* the rule normalizes attributes; a normalized node must be a fixpoint */
    if ((op_info[n->op].attrs & A_WINDOW) &&
        (memcmp(a->pads, n->a.pads, sizeof a->pads) != 0 || memcmp(a->kernel, n->a.kernel, sizeof a->kernel) != 0))
        return VERR("window attributes are not normalized");
    if ((op_info[n->op].attrs & (A_AXIS | A_RANGE)) && (a->axis != n->a.axis || a->axis2 != n->a.axis2))
        return VERR("axis attributes are not normalized");
    return true;
}

bool ir_verify(const Graph *g, Diag *d)
{
    int errors = d->errors;
    /* state per value id: 0 unseen, 1 available */
    char *avail = calloc((size_t)g->nvalues + 1, 1);
    if (!avail)
        return diag_error(d, loc_none(), "out of memory");
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (v->id != i)
            diag_error(d, v->loc, "value '%s' has id %d at index %d", v->name, v->id, i);
        if (v->kind == VAL_CONST) {
            if (!v->data && shape_numel(&v->shape) > 0)
                diag_error(d, v->loc, "constant '%s' has no data", v->name);
            if (shape_has_batch(&v->shape))
                diag_error(d, v->loc, "constant '%s' has a batch dim", v->name);
        }
        if (v->kind != VAL_TEMP)
            avail[i] = 1; /* orphaned temporaries are caught through their uses below */
    }
    for (int i = 0; i < g->ninputs; i++)
        if (g->inputs[i]->kind != VAL_INPUT)
            diag_error(d, g->inputs[i]->loc, "graph input '%s' is not an input value", g->inputs[i]->name);

    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        const OpInfo *oi = &op_info[n->op];
        if ((unsigned)n->op >= OP_COUNT) {
            diag_error(d, n->loc, "bad op %d", (int)n->op);
            continue;
        }
        if (n->nin < oi->min_in || (oi->max_in >= 0 && n->nin > oi->max_in))
            VERR("%d inputs; %s takes %d to %d", n->nin, oi->name, oi->min_in, oi->max_in);
        if (n->nout < oi->min_out || n->nout > oi->max_out)
            VERR("%d outputs; %s takes %d to %d", n->nout, oi->name, oi->min_out, oi->max_out);
        for (int k = 0; k < n->nin; k++) {
            const Value *v = n->in[k];
            if (!v)
                continue;
            if (v->id < 0 || v->id >= g->nvalues || g->values[v->id] != v)
                VERR("input %d is not a value of this graph", k);
            else if (!avail[v->id])
                VERR("input '%s' is used before it is defined", v->name);
        }
        bool shaped = true;
        for (int k = 0; k < n->nout; k++) {
            const Value *v = n->out[k];
            if (!v)
                continue;
            if (v->id < 0 || v->id >= g->nvalues || g->values[v->id] != v) {
                VERR("output %d is not a value of this graph", k);
                continue;
            }
            if (v->def != n || v->kind != VAL_TEMP)
                VERR("output '%s' is not defined by this node", v->name);
            if (avail[v->id])
                VERR("output '%s' is defined twice", v->name);
            avail[v->id] = 1;
            if (v->shape.rank == RANK_UNKNOWN || v->dtype == DT_UNDEF)
                shaped = false;
        }
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] && (n->in[k]->shape.rank == RANK_UNKNOWN || n->in[k]->dtype == DT_UNDEF))
                shaped = false;
        if (!shaped)
            continue;
        Attrs a;
        DType dts[8];
        Shape shs[8];
        if (n->nout > 8 || !ir_infer_node(n, &a, dts, shs, d))
            continue;
        for (int k = 0; k < n->nout; k++) {
            const Value *v = n->out[k];
            char b1[96], b2[96];
            if (v && (v->dtype != dts[k] || !shape_eq(&v->shape, &shs[k])))
                VERR("output '%s' is %s%s but the op gives %s%s", v->name, dtype_name(v->dtype),
                     shape_str(&v->shape, b1, sizeof b1), dtype_name(dts[k]), shape_str(&shs[k], b2, sizeof b2));
        }
        same_attrs_shape(n, &a, d);
    }
    for (int i = 0; i < g->noutputs; i++) {
        const Value *v = g->outputs[i];
        if (v->kind != VAL_TEMP || !v->def)
            diag_error(d, v->loc, "graph output '%s' is not produced by a node", v->name);
        else if (!avail[v->id])
            diag_error(d, v->loc, "graph output '%s' is not defined", v->name);
    }
    free(avail);
    return d->errors == errors;
}

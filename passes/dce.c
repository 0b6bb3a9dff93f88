/* dce.c — pass "dce": dead code elimination.
 * requires: nothing
 * gives: no node whose outputs are all unused (graph outputs count as
 *        uses); unreferenced values dropped. */
#include "passes.h"

bool pass_dce(Graph *g, PassCtx *pc)
{
    ir_graph_count_uses(g);
    for (int i = g->nnodes - 1; i >= 0; i--) {
        Node *n = g->nodes[i];
        bool used = false;
        for (int k = 0; k < n->nout; k++)
            if (n->out[k] && n->out[k]->nuses > 0)
                used = true;
        if (used)
            continue;
        for (int k = 0; k < n->nin; k++)
            if (n->in[k])
                n->in[k]->nuses--;
        ir_node_remove(g, n);
    }
    ir_graph_compact(g);
    return true;
}

/* interp.c — the reference interpreter's driver and its tensors.
 *
 * interp_run walks the node list in order. Every value gets a Tensor slot
 * indexed by its id: graph inputs and constants are bound to the caller's
 * and the graph's bytes (never copied, never freed here); each node output is
 * malloc'ed at its concrete shape (shape_at(batch)) just before the node
 * runs, and freed right after its last reader ran, unless it is a graph
 * output, which is handed to the caller. interp_run_observe shows each
 * input and each computed value to an observer in between (calibration).
 * The op semantics live in interp_ops.c (elementwise, data movement,
 * dispatch), interp_nn.c and interp_quant.c. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

int64_t tensor_numel(const Tensor *t)
{
    int64_t n = 1;
    for (int i = 0; i < t->shape.rank; i++)
        if (t->shape.d[i] < 0 || !checked_mul(n, t->shape.d[i], &n))
            return -1;
    return n;
}

bool tensor_alloc(Tensor *t, DType dt, const Shape *concrete)
{
    t->dtype = dt;
    t->shape = *concrete;
    t->data = NULL;
    int64_t n = tensor_numel(t), bytes;
    if (concrete->rank < 0 || concrete->rank > QK_MAX_RANK || n < 0 || dtype_size(dt) == 0 ||
        !checked_mul(n, dtype_size(dt), &bytes) || (uint64_t)bytes > SIZE_MAX / 2)
        return false;
    t->data = calloc((size_t)(bytes ? bytes : 1), 1); /* never NULL for an empty tensor */
    return t->data != NULL;
}

void tensor_free(Tensor *t)
{
    free(t->data);
    t->data = NULL;
}

/* Per-run state: one slot per value id. */
typedef struct Run {
    const Graph *g;
    InterpObserver obs; /* or NULL */
    void *obs_ctx;
    Tensor *val;  /* bound or computed tensors, by value id */
    bool *ready;  /* val[id] holds the value's data */
    bool *owned;  /* val[id].data was malloc'ed here and not handed out */
    int *left;    /* node inputs still to read it */
    bool *is_out; /* listed among the graph outputs */
} Run;

static bool known(const Run *r, const Value *v) { return v && v->id >= 0 && v->id < r->g->nvalues && r->g->values[v->id] == v; }

static void release(Run *r, int id)
{
    if (r->owned[id]) {
        tensor_free(&r->val[id]);
        r->owned[id] = false;
    }
}

static bool bind_inputs(Run *r, int64_t batch, const Tensor *inputs, Diag *d)
{
    const Graph *g = r->g;
    char want[96], got[96];
    for (int i = 0; i < g->ninputs; i++) {
        const Value *v = g->inputs[i];
        Shape s = shape_at(&v->shape, batch);
        const Tensor *t = &inputs[i];
        if (!known(r, v))
            return diag_error(d, v->loc, "input '%s' is not a value of the graph", v->name);
        if (t->dtype != v->dtype || !shape_eq(&t->shape, &s))
            return diag_error(d, v->loc, "input '%s': got %s%s, want %s%s", v->name, dtype_name(t->dtype),
                              shape_str(&t->shape, got, sizeof got), dtype_name(v->dtype),
                              shape_str(&s, want, sizeof want));
        if (!t->data && tensor_numel(t) != 0)
            return diag_error(d, v->loc, "input '%s': no data", v->name);
        r->val[v->id] = *t;
        r->ready[v->id] = true;
    }
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (v->kind != VAL_CONST)
            continue;
        if (shape_has_batch(&v->shape))
            return diag_error(d, v->loc, "constant '%s' has a batch dim", v->name);
        if (!v->data)
            return diag_error(d, v->loc, "constant '%s' has no data", v->name);
        r->val[i] = (Tensor){v->dtype, v->shape, v->data};
        r->ready[i] = true;
    }
    return true;
}

static bool run_node(Run *r, const Node *n, int64_t batch, Tensor **tin, Tensor **tout, Diag *d)
{
    for (int k = 0; k < n->nout; k++) {
        const Value *v = n->out[k];
        tout[k] = NULL;
        if (!v)
            continue;
        if (!known(r, v) || r->ready[v->id])
            return diag_error(d, n->loc, "output '%s' is defined twice or not a value of the graph", v->name);
        Shape s = shape_at(&v->shape, batch);
        if (!tensor_alloc(&r->val[v->id], v->dtype, &s)) {
            char buf[96];
            return diag_error(d, n->loc, "output '%s': cannot allocate %s%s", v->name, dtype_name(v->dtype),
                              shape_str(&s, buf, sizeof buf));
        }
        r->owned[v->id] = r->ready[v->id] = true;
        tout[k] = &r->val[v->id];
    }
    for (int k = 0; k < n->nin; k++) {
        const Value *v = n->in[k];
        tin[k] = NULL;
        if (!v)
            continue;
        if (!known(r, v) || !r->ready[v->id])
            return diag_error(d, n->loc, "input '%s' is read before it is computed", v->name);
        tin[k] = &r->val[v->id];
    }
    if (!interp_node(n, (const Tensor *const *)tin, tout, d))
        return false;
    for (int k = 0; r->obs && k < n->nout; k++)
        if (n->out[k])
            r->obs(r->obs_ctx, n->out[k], &r->val[n->out[k]->id]);
    /* free what no later node reads */
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && --r->left[n->in[k]->id] == 0 && !r->is_out[n->in[k]->id])
            release(r, n->in[k]->id);
    for (int k = 0; k < n->nout; k++)
        if (n->out[k] && r->left[n->out[k]->id] == 0 && !r->is_out[n->out[k]->id])
            release(r, n->out[k]->id);
    return true;
}

/* Hand the graph outputs to the caller: a computed tensor moves, anything
 * else (an input, a constant, an output listed twice) is copied. */
static bool take_outputs(Run *r, Tensor *outputs, Diag *d)
{
    const Graph *g = r->g;
    for (int i = 0; i < g->noutputs; i++) {
        const Value *v = g->outputs[i];
        if (!known(r, v) || !r->ready[v->id])
            return diag_error(d, v->loc, "output '%s' is never computed", v->name);
        Tensor *t = &r->val[v->id];
        if (r->owned[v->id]) {
            outputs[i] = *t;
            r->owned[v->id] = false;
            continue;
        }
        if (!tensor_alloc(&outputs[i], t->dtype, &t->shape))
            return diag_error(d, v->loc, "output '%s': cannot allocate", v->name);
        memcpy(outputs[i].data, t->data, (size_t)(tensor_numel(t) * dtype_size(t->dtype)));
    }
    return true;
}

bool interp_run(const Graph *g, int64_t batch, const Tensor *inputs, Tensor *outputs, Diag *d)
{
    return interp_run_observe(g, batch, inputs, outputs, d, NULL, NULL);
}

bool interp_run_observe(const Graph *g, int64_t batch, const Tensor *inputs, Tensor *outputs, Diag *d,
                        InterpObserver obs, void *ctx)
{
    SrcLoc gl = loc_file(g->file);
    for (int i = 0; i < g->noutputs; i++)
        outputs[i] = (Tensor){0};
    bool has_batch = false;
    int maxio = 1;
    for (int i = 0; i < g->nvalues; i++)
        has_batch |= shape_has_batch(&g->values[i]->shape);
    for (int i = 0; i < g->nnodes; i++) {
        maxio = g->nodes[i]->nin > maxio ? g->nodes[i]->nin : maxio;
        maxio = g->nodes[i]->nout > maxio ? g->nodes[i]->nout : maxio;
    }
    if (has_batch && batch < 1)
        return diag_error(d, gl, "batch size %lld: must be at least 1", (long long)batch);

    size_t nv = (size_t)g->nvalues + 1;
    Run r = {g, obs, ctx, calloc(nv, sizeof(Tensor)), calloc(nv, 1), calloc(nv, 1), calloc(nv, sizeof(int)),
             calloc(nv, 1)};
    Tensor **tin = calloc((size_t)maxio, sizeof(Tensor *)), **tout = calloc((size_t)maxio, sizeof(Tensor *));
    bool ok = r.val && r.ready && r.owned && r.left && r.is_out && tin && tout;
    if (!ok)
        diag_error(d, gl, "out of memory");
    for (int i = 0; ok && i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (known(&r, g->nodes[i]->in[k]))
                r.left[g->nodes[i]->in[k]->id]++;
    for (int i = 0; ok && i < g->noutputs; i++)
        if (known(&r, g->outputs[i]))
            r.is_out[g->outputs[i]->id] = true;

    ok = ok && bind_inputs(&r, batch, inputs, d);
    for (int i = 0; ok && obs && i < g->ninputs; i++)
        obs(ctx, g->inputs[i], &r.val[g->inputs[i]->id]);
    for (int i = 0; ok && i < g->nnodes; i++)
        ok = run_node(&r, g->nodes[i], batch, tin, tout, d);
    ok = ok && take_outputs(&r, outputs, d);

    for (int i = 0; r.owned && i < g->nvalues; i++)
        release(&r, i);
    if (!ok)
        for (int i = 0; i < g->noutputs; i++)
            tensor_free(&outputs[i]);
    free(r.val);
    free(r.ready);
    free(r.owned);
    free(r.left);
    free(r.is_out);
    free(tin);
    free(tout);
    return ok;
}

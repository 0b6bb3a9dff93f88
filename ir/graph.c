/* graph.c — building and editing graphs: values, nodes, inputs/outputs,
 * use counts, compaction. */
#include "ir.h"

#include <stdlib.h>
#include <string.h>

Graph *ir_graph_new(const char *name)
{
    Arena *a = arena_new();
    Graph *g = arena_alloc(a, sizeof *g);
    g->arena = a;
    g->name = arena_strdup(a, name ? name : "model");
    strmap_init(&g->names, a);
    return g;
}

void ir_graph_free(Graph *g)
{
    if (g)
        arena_free(g->arena);
}

Value *ir_value_new(Graph *g, const char *name, DType dt, const Shape *s, ValueKind kind)
{
    Value *v = arena_alloc(g->arena, sizeof *v);
    v->id = g->nvalues;
    v->name = arena_strdup(g->arena, name);
    v->dtype = dt;
    if (s)
        v->shape = *s;
    v->kind = kind;
    if (g->nvalues == g->cap_values) {
        int cap = g->cap_values ? g->cap_values * 2 : 64;
        g->values = arena_grow(g->arena, g->values, (size_t)g->nvalues, (size_t)cap, sizeof(Value *));
        g->cap_values = cap;
    }
    g->values[g->nvalues++] = v;
    if (!strmap_get(&g->names, v->name))
        strmap_put(&g->names, v->name, v);
    return v;
}

Value *ir_const_new(Graph *g, const char *name, DType dt, const Shape *s, const void *data)
{
    Value *v = ir_value_new(g, name, dt, s, VAL_CONST);
    int64_t bytes = shape_numel(s) * dtype_size(dt);
    v->data = arena_alloc_aligned(g->arena, (size_t)(bytes > 0 ? bytes : 1), 64);
    if (data && bytes > 0)
        memcpy(v->data, data, (size_t)bytes);
    return v;
}

Value *ir_const_f32(Graph *g, const char *name, const Shape *s, float x)
{
    Value *v = ir_const_new(g, name, DT_F32, s, NULL);
    float *p = v->data;
    for (int64_t i = 0, n = shape_numel(s); i < n; i++)
        p[i] = x;
    return v;
}

Node *ir_node_new(Graph *g, OpKind op, const char *name, Value *const *in, int nin, Value *const *out, int nout)
{
    Node *n = arena_alloc(g->arena, sizeof *n);
    n->id = g->next_node_id++;
    n->op = op;
    n->name = name ? arena_strdup(g->arena, name) : arena_printf(g->arena, "#%d", n->id);
    n->nin = nin;
    n->in = arena_alloc(g->arena, sizeof(Value *) * (size_t)(nin ? nin : 1));
    for (int i = 0; i < nin; i++)
        n->in[i] = in ? in[i] : NULL;
    n->nout = nout;
    n->out = arena_alloc(g->arena, sizeof(Value *) * (size_t)(nout ? nout : 1));
    for (int i = 0; i < nout; i++) {
        n->out[i] = out ? out[i] : NULL;
        if (n->out[i])
            n->out[i]->def = n;
    }
    n->loc = (SrcLoc){g->file, 0, 0, n->name, op_info[op].name};
    ir_attrs_default(op, &n->a);
    if (g->nnodes == g->cap_nodes) {
        int cap = g->cap_nodes ? g->cap_nodes * 2 : 64;
        g->nodes = arena_grow(g->arena, g->nodes, (size_t)g->nnodes, (size_t)cap, sizeof(Node *));
        g->cap_nodes = cap;
    }
    g->nodes[g->nnodes++] = n;
    return n;
}

static int node_index(const Graph *g, const Node *n)
{
    for (int i = 0; i < g->nnodes; i++)
        if (g->nodes[i] == n)
            return i;
    return -1;
}

void ir_node_move_before(Graph *g, Node *n, Node *before)
{
    int from = node_index(g, n), to = node_index(g, before);
    if (from < 0 || to < 0 || from == to)
        return;
    if (from > to) {
        memmove(&g->nodes[to + 1], &g->nodes[to], sizeof(Node *) * (size_t)(from - to));
        g->nodes[to] = n;
    } else {
        memmove(&g->nodes[from], &g->nodes[from + 1], sizeof(Node *) * (size_t)(to - 1 - from));
        g->nodes[to - 1] = n;
    }
}

void ir_node_remove(Graph *g, Node *n)
{
    int i = node_index(g, n);
    if (i < 0)
        return;
    memmove(&g->nodes[i], &g->nodes[i + 1], sizeof(Node *) * (size_t)(g->nnodes - i - 1));
    g->nnodes--;
    for (int k = 0; k < n->nout; k++)
        if (n->out[k] && n->out[k]->def == n)
            n->out[k]->def = NULL;
}

void ir_graph_add_input(Graph *g, Value *v)
{
    g->inputs = arena_grow(g->arena, g->inputs, (size_t)g->ninputs, (size_t)g->ninputs + 1, sizeof(Value *));
    g->inputs[g->ninputs++] = v;
}

void ir_graph_add_output(Graph *g, Value *v)
{
    g->outputs = arena_grow(g->arena, g->outputs, (size_t)g->noutputs, (size_t)g->noutputs + 1, sizeof(Value *));
    g->outputs[g->noutputs++] = v;
    v->is_output = true;
}

void ir_replace_uses(Graph *g, Value *from, Value *to)
{
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == from)
                n->in[k] = to;
    }
    ir_replace_output(g, from, to);
}

void ir_replace_output(Graph *g, Value *from, Value *to)
{
    for (int i = 0; i < g->noutputs; i++)
        if (g->outputs[i] == from) {
            g->outputs[i] = to;
            to->is_output = true;
            from->is_output = false;
            /* the output keeps its public name */
            const char *tmp = to->name;
            to->name = from->name;
            from->name = tmp;
            strmap_put(&g->names, to->name, to);
            strmap_put(&g->names, from->name, from);
            to->pub = from->pub, from->pub = NULL;
            to->decl_dtype = from->decl_dtype, to->decl_shape = from->decl_shape;
            from->decl_dtype = DT_UNDEF, from->decl_shape.rank = RANK_UNKNOWN;
        }
}

void ir_graph_count_uses(Graph *g)
{
    for (int i = 0; i < g->nvalues; i++)
        g->values[i]->nuses = 0;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k])
                n->in[k]->nuses++;
    }
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i]->nuses++;
}

void ir_graph_compact(Graph *g)
{
    ir_graph_count_uses(g);
    bool *keep = calloc((size_t)g->nvalues + 1, 1);
    if (!keep)
        return;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        keep[i] = v->nuses > 0 || v->kind == VAL_INPUT || v->is_output;
    }
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nout; k++)
            if (g->nodes[i]->out[k])
                keep[g->nodes[i]->out[k]->id] = true;
    int n = 0;
    for (int i = 0; i < g->nvalues; i++)
        if (keep[i]) {
            g->values[n] = g->values[i];
            g->values[n]->id = n;
            n++;
        }
    g->nvalues = n;
    free(keep);
    strmap_init(&g->names, g->arena);
    for (int i = 0; i < n; i++)
        strmap_put(&g->names, g->values[i]->name, g->values[i]);
}

Value *ir_graph_find_value(const Graph *g, const char *name)
{
    return strmap_get(&g->names, name);
}

const char *ir_unique_name(Graph *g, const char *base)
{
    if (!ir_graph_find_value(g, base))
        return arena_strdup(g->arena, base);
    for (int k = 1;; k++) {
        char *s = arena_printf(g->arena, "%s_%d", base, k);
        if (!ir_graph_find_value(g, s))
            return s;
    }
}

int64_t ir_graph_const_bytes(const Graph *g)
{
    int64_t n = 0;
    for (int i = 0; i < g->nvalues; i++)
        if (g->values[i]->kind == VAL_CONST)
            n += value_bytes(g->values[i]);
    return n;
}

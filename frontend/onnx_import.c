/* onnx_import.c — lowering an ONNX ModelProto (from either syntax) into the
 * IR.
 *
 * Order of work:
 *   1. model checks: a graph, the default-domain opset (7..21);
 *   2. every node's op is looked up; all unsupported ops are listed in one
 *      message and nothing more is done;
 *   3. nodes are sorted topologically (ONNX requires the order, but some
 *      exporters break it); a cycle is an error naming a node on it;
 *   4. initializers become constants (their data possibly in files next to
 *      the model: external data, onnx_tensor.c), graph inputs become inputs
 *      (the leading dim may be symbolic: the batch), bound inputs constants;
 *   5. each node is lowered by its op's handler, which reads and checks
 *      the attributes of the model's opset and may rewrite the node (Clip
 *      with run-time bounds into Max/Min, Constant into a constant, ...);
 *   6. graph outputs are attached (through an Identity when an output is an
 *      input or a constant, so outputs always come from nodes).
 * Constants the importer makes beyond the file's data (ConstantOfShape, a
 * transposed QGemm B) are charged to one bound, max(256 MiB, 64 x the
 * model's bytes) or --max-const-bytes; what is left goes to folding.
 * Shapes are not computed here: shape inference does that next, for both
 * syntaxes alike. */
#include "import.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { OPSET_MIN = 1, OPSET_MAX = 21 };

/* ---- attributes --------------------------------------------------------- */

/* ---- attributes --------------------------------------------------------- */

const Onnx__AttributeProto *im_attr_find(const Onnx__NodeProto *np, const char *name)
{
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
            return np->attribute[i];
    return NULL;
}

static const char *im_attr_type_name(int t)
{
    static const char *names[] = {"undefined", "float",   "int",     "string", "tensor",      "graph",
                                  "floats",    "ints",    "strings", "tensors", "graphs",     "sparse_tensor",
                                  "sparse_tensors", "type_proto", "type_protos"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

/* Whether attribute `a` holds a value of `type`; when the type field is
 * missing (IR version 1), whether that value field is set. */
bool im_attr_is(Imp *im, OnnxNode *on, const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type)
{
    if (a->has_type && a->type == type)
        return true;
    if (!a->has_type) {
        switch (type) {
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: if (a->has_i) return true; break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: if (a->has_f) return true; break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS: if (a->n_ints || !a->has_i) return true; break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS: if (a->n_floats) return true; break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: if (a->has_s) return true; break;
        case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: if (a->t) return true; break;
        default: break;
        }
    }
    diag_error(im->d, on->loc, "attribute '%s' must be %s, not %s", a->name, im_attr_type_name((int)type),
               im_attr_type_name(a->has_type ? (int)a->type : 0));
    return false;
}

bool im_attr_int(Imp *im, OnnxNode *on, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = im_attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
        return false;
    *out = a->i;
    return true;
}

bool im_attr_float(Imp *im, OnnxNode *on, const char *name, float def, float *out)
{
    const Onnx__AttributeProto *a = im_attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
        return false;
    *out = a->f;
    return true;
}

/* An ints attribute into out[0..max); *n = -1 when absent. */
bool im_attr_ints(Imp *im, OnnxNode *on, const char *name, int64_t *out, int max, int *n)
{
    const Onnx__AttributeProto *a = im_attr_find(on->np, name);
    *n = -1;
    if (!a)
        return true;
    if (!im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))
        return false;
    if (a->n_ints > (size_t)max)
        return diag_error(im->d, on->loc, "attribute '%s' has %zu values; at most %d are supported", name,
                          a->n_ints, max);
    for (size_t i = 0; i < a->n_ints; i++)
        out[i] = a->ints[i];
    *n = (int)a->n_ints;
    return true;
}

/* A string attribute (NUL-terminated copy in the graph arena), or def. */
bool im_attr_floats(Imp *im, OnnxNode *on, const char *name, float *out, int max, int *n)
{
    const Onnx__AttributeProto *a = im_attr_find(on->np, name);
    *n = -1;
    if (!a)
        return true;
    if (!im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS))
        return false;
    if (a->n_floats > (size_t)max)
        return diag_error(im->d, on->loc, "attribute '%s' has %zu values; at most %d are supported", name,
                          a->n_floats, max);
    for (size_t i = 0; i < a->n_floats; i++)
        out[i] = a->floats[i];
    *n = (int)a->n_floats;
    return true;
}

bool im_attr_string(Imp *im, OnnxNode *on, const char *name, const char *def, const char **out)
{
    const Onnx__AttributeProto *a = im_attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING))
        return false;
    *out = arena_strndup(im->g->arena, (const char *)a->s.data, a->s.len);
    return true;
}

/* Every attribute of the node must be one the op knows (in `allowed`). */
bool im_check_attrs(Imp *im, OnnxNode *on, const char *allowed)
{
    bool ok = true;
    for (size_t i = 0; i < on->np->n_attribute; i++) {
        const Onnx__AttributeProto *a = on->np->attribute[i];
        const char *name = a->name ? a->name : "";
        if (a->ref_attr_name && *a->ref_attr_name) {
            ok = diag_error(im->d, on->loc, "attribute '%s' refers to a function attribute; not allowed in a graph",
                            name);
            continue;
        }
        size_t len = strlen(name);
        bool found = false;
        for (const char *p = allowed; *p && len;) {
            const char *e = strchr(p, ',');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            if (n == len && strncmp(p, name, n) == 0) {
                found = true;
                break;
            }
            p += n + (e ? 1 : 0);
        }
        if (!found)
            ok = diag_error(im->d, on->loc, "unknown attribute '%s' (this op takes: %s)", name,
                            *allowed ? allowed : "none");
    }
    return ok;
}

/* ---- values ------------------------------------------------------------- */

SrcLoc im_value_loc(Imp *im, SrcLoc node_loc, const char *name)
{
    SrcLoc l = node_loc;
    l.node = name;
    l.op = NULL;
    return l;
}

/* Define the node's i-th output (NULL for an empty name). */
bool im_def_output(Imp *im, OnnxNode *on, int i, Value **out)
{
    const char *name = on->np->output[i];
    *out = NULL;
    if (!name || !*name)
        return true;
    if (strmap_get(&im->defs, name))
        return diag_error(im->d, on->loc, "output '%s' is already defined (each value must be defined once)", name);
    Value *v = ir_value_new(im->g, name, DT_UNDEF, NULL, VAL_TEMP);
    v->shape.rank = RANK_UNKNOWN;
    v->loc = im_value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    *out = v;
    return true;
}

/* Create the IR node `op` with the given inputs and all of the ONNX node's
 * outputs (trailing unused ones dropped). */
Node *im_emit(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, int nout)
{
    Value *outs[8] = {0};
    if (nout > 8)
        nout = 8;
    for (int i = 0; i < nout; i++)
        if (!im_def_output(im, on, i, &outs[i]))
            return NULL;
    while (nout > 1 && !outs[nout - 1])
        nout--;
    while (nin > 0 && !in[nin - 1])
        nin--;
    const char *name = on->np->name && *on->np->name ? on->np->name : NULL;
    Node *n = ir_node_new(im->g, op, name, in, nin, outs, nout);
    n->loc = on->loc; /* op and node names there are arena copies */
    n->loc.node = n->name;
    return n;
}

/* Every operand op requires (its leading roles not marked '?', '*' or '+')
 * is an input of the node: for handlers that pass the node's inputs on as
 * they are, where the IR would take an absent constant operand as read
 * into the attributes (as the older opsets' handlers do on purpose). */
bool im_required_inputs(Imp *im, OnnxNode *on, OpKind op)
{
    OpRole r;
    for (int k = 0; op_role(op, k, &r) && !r.optional && !r.repeated && !r.extension; k++)
        if (k >= on->nin || !on->in[k])
            return diag_error(im->d, on->loc, "input %d (%s) is required but %s", k, r.name,
                              k >= on->nin ? "missing" : "empty");
    return true;
}

/* The data of a constant input, or an error saying it must be constant. */
const Value *im_const_input(Imp *im, OnnxNode *on, int i, const char *what)
{
    const Value *v = i < on->nin ? on->in[i] : NULL;
    if (!v)
        return NULL;
    if (v->kind != VAL_CONST) {
        diag_error(im->d, on->loc,
                   "input '%s' (%s) must be a constant (an initializer or a Constant node) because it determines "
                   "shapes; to fix a run-time input, compile with --bind %s=FILE.npy",
                   v->name, what, v->name);
        return NULL;
    }
    return v;
}

/* Read a constant 1-D (or scalar) integer tensor into out[]. */
bool im_const_ints(Imp *im, OnnxNode *on, int i, const char *what, int64_t *out, int max, int *n)
{
    const Value *v = im_const_input(im, on, i, what);
    if (!v)
        return false;
    if (v->dtype != DT_I64 && v->dtype != DT_I32)
        return diag_error(im->d, on->loc, "input '%s' (%s) must be int64, not %s", v->name, what,
                          dtype_name(v->dtype));
    if (v->shape.rank > 1)
        return diag_error(im->d, on->loc, "input '%s' (%s) must be 1-D", v->name, what);
    int64_t cnt = shape_numel(&v->shape);
    if (cnt > max)
        return diag_error(im->d, on->loc, "input '%s' (%s) has %lld values; at most %d are supported", v->name,
                          what, (long long)cnt, max);
    for (int64_t k = 0; k < cnt; k++)
        out[k] = v->dtype == DT_I64 ? ((const int64_t *)v->data)[k] : ((const int32_t *)v->data)[k];
    *n = (int)cnt;
    return true;
}

/* A constant scalar (or 1-element) input as a double. */
bool im_const_scalar(Imp *im, OnnxNode *on, int i, const char *what, double *out)
{
    const Value *v = im_const_input(im, on, i, what);
    if (!v)
        return false;
    if (shape_numel(&v->shape) != 1)
        return diag_error(im->d, on->loc, "input '%s' (%s) must hold one value", v->name, what);
    const void *p = v->data;
    switch (v->dtype) {
    case DT_F32: *out = *(const float *)p; break;
    case DT_F64: *out = *(const double *)p; break;
    case DT_F16: *out = f16_to_f32(*(const uint16_t *)p); break;
    case DT_BF16: *out = bf16_to_f32(*(const uint16_t *)p); break;
    case DT_I8: *out = *(const int8_t *)p; break;
    case DT_U8: case DT_BOOL: *out = *(const uint8_t *)p; break;
    case DT_I16: *out = *(const int16_t *)p; break;
    case DT_U16: *out = *(const uint16_t *)p; break;
    case DT_I32: *out = *(const int32_t *)p; break;
    case DT_U32: *out = *(const uint32_t *)p; break;
    case DT_I64: *out = (double)*(const int64_t *)p; break;
    case DT_U64: *out = (double)*(const uint64_t *)p; break;
    default: return diag_error(im->d, on->loc, "input '%s' (%s): unsupported type", v->name, what);
    }
    return true;
}

/* ---- the bound on created constants (docs/usage.md) ---------------------- */

int64_t im_const_bound(const Imp *im)
{
    return im->opt && im->opt->max_const_bytes > 0 ? im->opt->max_const_bytes : model_const_bound(im->model_bytes);
}

/* The data of an external tensor counts as the model's bytes. */
void im_count_external(Imp *im, const Onnx__TensorProto *tp, const Tensor *t)
{
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        im->model_bytes += shape_numel(&t->shape) * dtype_size(t->dtype);
}

/* Charge a constant of `bytes` that node `on` makes (data the model's files
 * do not hold) to the bound; an error naming the node and how to raise the
 * bound when it does not fit. */
bool im_charge_const(Imp *im, OnnxNode *on, int64_t bytes)
{
    int64_t bound = im_const_bound(im);
    if (bytes <= bound - im->const_made) {
        im->const_made += bytes;
        return true;
    }
    if (im->opt && im->opt->max_const_bytes > 0)
        return diag_error(im->d, on->loc,
                          "makes a constant of %lld bytes, over the bound on constants a model may create "
                          "(--max-const-bytes %lld, %lld bytes of it already used); a larger --max-const-bytes N "
                          "raises it", (long long)bytes, (long long)bound, (long long)im->const_made);
    return diag_error(im->d, on->loc,
                      "makes a constant of %lld bytes, over the bound on constants a model may create (%lld bytes: "
                      "max(%d MiB, %d x the model's %lld bytes), %lld of them already used); --max-const-bytes N "
                      "raises it", (long long)bytes, (long long)bound, FE_CONST_BOUND_MIN_MIB, FE_CONST_BOUND_FACTOR,
                      (long long)im->model_bytes, (long long)im->const_made);
}

/* A new temporary value for a rewrite inside the importer. */
Value *im_temp(Imp *im, const char *base)
{
    Value *v = ir_value_new(im->g, ir_unique_name(im->g, base), DT_UNDEF, NULL, VAL_TEMP);
    v->shape.rank = RANK_UNKNOWN;
    return v;
}

Node *im_aux(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, Value *out)
{
    Node *n = ir_node_new(im->g, op, NULL, in, nin, &out, 1);
    n->loc = on->loc;
    return n;
}

/* ---- graph -------------------------------------------------------------- */

static SrcLoc node_loc(Imp *im, size_t i)
{
    const Onnx__NodeProto *np = im->mf->proto->graph->node[i];
    SrcLoc l = im->mf->locs.nodes ? im->mf->locs.nodes[i] : loc_file(im->file);
    l.file = im->file;
    l.node = np->name && *np->name ? arena_strdup(im->g->arena, np->name) : arena_printf(im->g->arena, "#%zu", i);
    l.op = np->op_type ? arena_strdup(im->g->arena, np->op_type) : "?";
    return l;
}

/* All unsupported ops, each with the nodes that use it, in one message. */
static bool check_ops(Imp *im)
{
    const Onnx__GraphProto *gp = im->mf->proto->graph;
    char *msg = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&msg, &len);
    if (!f)
        return diag_error(im->d, loc_file(im->file), "out of memory");
    int nbad = 0;
    SrcLoc first = loc_file(im->file);
    for (size_t i = 0; i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        if (im_spec_of(np))
            continue;
        if (nbad == 0 && im->mf->locs.nodes) { /* text: point at the first one */
            first = node_loc(im, i);
            first.node = first.op = NULL;
        }
        const char *op = np->op_type ? np->op_type : "";
        const char *dom = np->domain ? np->domain : "";
        /* list each (domain, op) once, with up to 3 of its nodes */
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = !im_spec_of(gp->node[j]) && strcmp(gp->node[j]->op_type ? gp->node[j]->op_type : "", op) == 0 &&
                   strcmp(gp->node[j]->domain ? gp->node[j]->domain : "", dom) == 0;
        if (seen)
            continue;
        fprintf(f, "%s%s%s%s (", nbad ? ", " : "", *dom ? dom : "", *dom ? "." : "", op);
        int shown = 0, total = 0;
        for (size_t j = i; j < gp->n_node; j++) {
            const Onnx__NodeProto *nj = gp->node[j];
            if (strcmp(nj->op_type ? nj->op_type : "", op) || strcmp(nj->domain ? nj->domain : "", dom))
                continue;
            total++;
            if (shown < 3) {
                SrcLoc l = node_loc(im, j);
                if (l.line)
                    fprintf(f, "%snode '%s' at line %d", shown ? ", " : "", l.node, l.line);
                else
                    fprintf(f, "%snode '%s'", shown ? ", " : "", l.node);
                shown++;
            }
        }
        if (total > shown)
            fprintf(f, " and %d more", total - shown);
        fprintf(f, ")");
        nbad++;
    }
    fclose(f);
    if (nbad)
        diag_error(im->d, first, "unsupported op%s: %s", nbad > 1 ? "s" : "", msg);
    free(msg);
    return nbad == 0;
}

/* Kahn's algorithm over node indices; the order is stable for graphs that
 * are already sorted. Returns a malloc'ed order, or NULL on a cycle. */
static size_t *topo_order(Imp *im)
{
    const Onnx__GraphProto *gp = im->mf->proto->graph;
    size_t n = gp->n_node;
    size_t *order = malloc(sizeof(size_t) * (n + 1));
    int *indeg = calloc(n + 1, sizeof(int));
    size_t **succ = calloc(n + 1, sizeof(size_t *));
    size_t *nsucc = calloc(n + 1, sizeof(size_t));
    StrMap prod;
    Arena *tmp = arena_new();
    strmap_init(&prod, tmp);
    bool ok = order && indeg && succ && nsucc;
    for (size_t i = 0; ok && i < n; i++)
        for (size_t k = 0; k < gp->node[i]->n_output; k++)
            if (gp->node[i]->output[k] && *gp->node[i]->output[k])
                strmap_put(&prod, gp->node[i]->output[k], (void *)(uintptr_t)(i + 1));
    /* edges: producer -> consumer (counted once per input slot) */
    for (size_t i = 0; ok && i < n; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t k = 0; k < np->n_input; k++) {
            if (!np->input[k] || !*np->input[k])
                continue;
            uintptr_t p = (uintptr_t)strmap_get(&prod, np->input[k]);
            if (!p)
                continue;
            size_t from = p - 1;
            succ[from] = realloc(succ[from], sizeof(size_t) * (nsucc[from] + 1));
            if (!succ[from]) {
                ok = false;
                break;
            }
            succ[from][nsucc[from]++] = i;
            indeg[i]++;
        }
    }
    size_t head = 0, tail = 0;
    /* a FIFO seeded in index order keeps sorted graphs in their order */
    size_t *queue = ok ? malloc(sizeof(size_t) * (n + 1)) : NULL;
    ok = ok && queue;
    for (size_t i = 0; ok && i < n; i++)
        if (indeg[i] == 0)
            queue[tail++] = i;
    size_t cnt = 0;
    while (ok && head < tail) {
        size_t i = queue[head++];
        order[cnt++] = i;
        for (size_t k = 0; k < nsucc[i]; k++)
            if (--indeg[succ[i][k]] == 0)
                queue[tail++] = succ[i][k];
    }
    if (ok && cnt != n) {
        size_t bad = 0;
        while (bad < n && indeg[bad] == 0)
            bad++;
        diag_error(im->d, node_loc(im, bad), "the graph has a cycle through this node");
        ok = false;
    }
    for (size_t i = 0; i < n; i++)
        free(succ[i]);
    free(succ);
    free(nsucc);
    free(indeg);
    free(queue);
    arena_free(tmp);
    if (!ok) {
        free(order);
        return NULL;
    }
    return order;
}

/* The tensor type of a graph input/output into dtype and shape. The leading
 * dim may be symbolic (the batch); other dims must be numbers. */
static bool value_type(Imp *im, const Onnx__ValueInfoProto *vi, SrcLoc loc, bool is_input, DType *dt, Shape *s)
{
    const char *what = is_input ? "input" : "output";
    const Onnx__TypeProto *tp = vi->type;
    if (!tp)
        return diag_error(im->d, loc, "%s '%s' has no type", what, vi->name);
    if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type)
        return diag_error(im->d, loc, "%s '%s' is not a tensor (sequence, map, optional and sparse values are "
                                      "not supported)", what, vi->name);
    const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
    int code = tt->has_elem_type ? tt->elem_type : 0;
    *dt = dtype_from_onnx(code);
    if (*dt == DT_UNDEF)
        return diag_error(im->d, loc, "%s '%s': element type %s is not supported", what, vi->name,
                          dtype_onnx_code_name(code));
    if (!tt->shape) {
        if (is_input)
            return diag_error(im->d, loc, "input '%s' has no shape; qkc compiles for known shapes", vi->name);
        s->rank = RANK_UNKNOWN;
        return true;
    }
    if (tt->shape->n_dim > QK_MAX_RANK)
        return diag_error(im->d, loc, "%s '%s' has rank %zu; at most %d is supported", what, vi->name,
                          tt->shape->n_dim, QK_MAX_RANK);
    s->rank = (int)tt->shape->n_dim;
    s->bmul = 0;
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return diag_error(im->d, loc, "%s '%s': dim %zu is negative (%lld)", what, vi->name, i,
                                  (long long)dim->dim_value);
            s->d[i] = dim->dim_value;
        } else {
            /* a symbolic dim: fixed by --dim NAME=N, else the batch when leading */
            const char *p = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM && dim->dim_param
                                ? dim->dim_param
                                : "";
            int64_t fixed = -1;
            for (int k = 0; *p && im->opt && k < im->opt->ndims; k++)
                if (strcmp(im->opt->dim_names[k], p) == 0)
                    fixed = im->opt->dim_values[k];
            if (fixed >= 0)
                s->d[i] = fixed;
            else if (!is_input)
                s->d[i] = -2; /* a symbolic output dim: not checked */
            else if (i == 0)
                s->d[0] = im->opt && im->opt->batch > 0 ? im->opt->batch : DIM_BATCH;
            else if (*p)
                return diag_error(im->d, loc,
                                  "input '%s': dim %zu is symbolic ('%s'); qkc compiles for known sizes except the "
                                  "leading (batch) dim: fix it with --dim %s=N", vi->name, i, p, p);
            else
                return diag_error(im->d, loc,
                                  "input '%s': dim %zu has no size and no name; qkc compiles for known sizes except "
                                  "the leading (batch) dim: give it a size in the model", vi->name, i);
        }
    }
    int64_t bytes;
    if (is_input && (shape_numel(s) < 0 || !checked_mul(shape_numel(s), dtype_size(*dt), &bytes)))
        return diag_error(im->d, loc, "input '%s': its size overflows", vi->name);
    return true;
}

static SrcLoc io_loc(Imp *im, SrcLoc *locs, size_t i, const char *name)
{
    SrcLoc l = locs ? locs[i] : loc_file(im->file);
    l.file = im->file;
    l.node = name;
    l.op = NULL;
    return l;
}

static bool import_values(Imp *im)
{
    const Onnx__GraphProto *gp = im->mf->proto->graph;
    const ModelLocs *ml = &im->mf->locs;
    bool ok = true;
    for (size_t i = 0; i < gp->n_initializer; i++) {
        const Onnx__TensorProto *tp = gp->initializer[i];
        const char *name = tp->name ? tp->name : "";
        SrcLoc l = io_loc(im, ml->inits, i, arena_strdup(im->g->arena, name));
        if (!*name) {
            ok = diag_error(im->d, l, "initializer %zu has no name", i);
            continue;
        }
        if (strmap_get(&im->defs, name)) {
            ok = diag_error(im->d, l, "initializer '%s' is defined twice", name);
            continue;
        }
        Tensor t;
        if (!onnx_tensor_decode_ext(tp, im->mf->data_dir, "initializer", &t, l, im->d)) {
            ok = false;
            continue;
        }
        im_count_external(im, tp, &t);
        Value *v = ir_const_new(im->g, name, t.dtype, &t.shape, t.data);
        v->loc = l;
        tensor_free(&t);
        strmap_put(&im->defs, v->name, v);
    }
    for (size_t i = 0; i < gp->n_input; i++) {
        const Onnx__ValueInfoProto *vi = gp->input[i];
        const char *name = vi->name ? vi->name : "";
        SrcLoc l = io_loc(im, ml->inputs, i, arena_strdup(im->g->arena, name));
        if (!*name) {
            ok = diag_error(im->d, l, "input %zu has no name", i);
            continue;
        }
        bool twice = false;
        for (size_t k = 0; k < i && !twice; k++)
            twice = gp->input[k]->name && strcmp(gp->input[k]->name, name) == 0;
        if (twice) {
            ok = diag_error(im->d, l, "graph input '%s' is listed twice", name);
            continue;
        }
        Value *init = strmap_get(&im->defs, name);
        DType dt;
        Shape s = {0};
        if (!value_type(im, vi, l, !init, &dt, &s)) {
            ok = false;
            continue;
        }
        if (init) { /* an input with a default (IR < 4 lists initializers) */
            if (init->dtype != dt || (s.rank >= 0 && s.rank != init->shape.rank))
                ok = diag_error(im->d, l, "input '%s' disagrees with its initializer's type", name);
            continue;
        }
        /* --bind: a run-time input fixed to a constant */
        const Tensor *bound = NULL;
        for (int k = 0; im->opt && k < im->opt->nbind; k++)
            if (strcmp(im->opt->bind_names[k], name) == 0)
                bound = &im->opt->bind_values[k];
        if (bound) {
            Shape want = s;
            if (shape_has_batch(&want))
                want.d[0] = bound->shape.rank ? bound->shape.d[0] : 0;
            if (bound->dtype != dt || !shape_eq(&bound->shape, &want)) {
                char a[96], b[96];
                ok = diag_error(im->d, l, "--bind %s: the data is %s %s, the input is %s %s", name,
                                dtype_name(bound->dtype), shape_str(&bound->shape, a, sizeof a), dtype_name(dt),
                                shape_str(&s, b, sizeof b));
                continue;
            }
            Value *v = ir_const_new(im->g, name, dt, &bound->shape, bound->data);
            v->loc = l;
            strmap_put(&im->defs, v->name, v);
            continue;
        }
        Value *v = ir_value_new(im->g, name, dt, &s, VAL_INPUT);
        v->loc = l;
        strmap_put(&im->defs, v->name, v);
        ir_graph_add_input(im->g, v);
    }
    for (int k = 0; im->opt && k < im->opt->ndims; k++) {
        bool found = false;
        for (size_t i = 0; i < gp->n_input && !found; i++) {
            const Onnx__TypeProto *tp = gp->input[i]->type;
            const Onnx__TensorShapeProto *sp = tp && tp->tensor_type ? tp->tensor_type->shape : NULL;
            for (size_t j = 0; sp && j < sp->n_dim && !found; j++)
                found = sp->dim[j]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM &&
                        sp->dim[j]->dim_param && strcmp(sp->dim[j]->dim_param, im->opt->dim_names[k]) == 0;
        }
        if (!found)
            ok = diag_error(im->d, loc_file(im->file), "--dim %s: no input of the model has a dim named '%s'",
                            im->opt->dim_names[k], im->opt->dim_names[k]);
    }
    for (int k = 0; im->opt && k < im->opt->nbind; k++) {
        bool found = false;
        for (size_t i = 0; i < gp->n_input && !found; i++)
            found = gp->input[i]->name && strcmp(gp->input[i]->name, im->opt->bind_names[k]) == 0;
        if (!found)
            ok = diag_error(im->d, loc_file(im->file), "--bind %s: the model has no input of that name",
                            im->opt->bind_names[k]);
    }
    return ok;
}

/* The inputs of a quantized op that are scales, as a bit set. */
static unsigned scale_inputs(const OpSpec *sp)
{
    if (strcmp(sp->name, "QGemm") == 0) /* A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp */
        return 1u << 1 | 1u << 4 | 1u << 7;
    switch (sp->op) {
    case OP_QUANTIZE:
    case OP_DEQUANTIZE:
        return 1u << 1;
    case OP_QLINEAR_MATMUL:
    case OP_QLINEAR_CONV:
    case OP_QLINEAR_ADD:
        return 1u << 1 | 1u << 4 | 1u << 6;
    case OP_QLINEAR_GAP:
        return 1u << 1 | 1u << 3;
    default:
        return 0;
    }
}

/* A scale the model gives as a constant must be positive and finite: zero,
 * negative, inf and NaN scales have a defined result (docs/quantization.md,
 * for scales that arrive at run time) but no quantizer makes them, so in a
 * file they are a broken model. */
static bool check_scales(Imp *im, OnnxNode *on, const OpSpec *sp)
{
    unsigned which = scale_inputs(sp);
    bool ok = true;
    for (int k = 0; k < on->nin && k < 32; k++) {
        const Value *v = on->in[k];
        if (!(which >> k & 1) || !v || v->kind != VAL_CONST || v->dtype != DT_F32)
            continue;
        const float *p = v->data;
        for (int64_t i = 0, n = shape_numel(&v->shape); i < n; i++)
            if (!(p[i] > 0 && isfinite(p[i]))) {
                const char *at = n > 1 ? arena_printf(im->g->arena, " at index %lld", (long long)i) : "";
                ok = diag_error(im->d, on->loc, "scale '%s' (input %d) holds %g%s; a scale must be positive and finite",
                                v->name, k, (double)p[i], at);
                break;
            }
    }
    return ok;
}

/* The ONNX arity of an op: its IR operands but those qkc adds ('+'). */
static int onnx_max_in(const OpSpec *sp)
{
    if (sp->max_in < 0 || sp->own_arity)
        return sp->max_in;
    int n = 0;
    OpRole r;
    for (int k = 0; k < sp->max_in && op_role(sp->op, k, &r); k++)
        if (!r.extension)
            n = k + 1;
    return n > sp->max_in || n == 0 ? sp->max_in : n;
}

static bool import_node(Imp *im, size_t idx)
{
    const Onnx__NodeProto *np = im->mf->proto->graph->node[idx];
    const OpSpec *sp = im_spec_of(np);
    OnnxNode on = {.np = np, .loc = node_loc(im, idx), .nin = (int)np->n_input, .nout = (int)np->n_output};
    int max_in = onnx_max_in(sp);
    if ((int)np->n_input < sp->min_in || (max_in >= 0 && (int)np->n_input > max_in)) {
        if (sp->min_in == max_in)
            return diag_error(im->d, on.loc, "takes %d input%s, got %zu", sp->min_in, sp->min_in == 1 ? "" : "s",
                              np->n_input);
        if (max_in < 0)
            return diag_error(im->d, on.loc, "takes at least %d inputs, got %zu", sp->min_in, np->n_input);
        return diag_error(im->d, on.loc, "takes %d to %d inputs, got %zu", sp->min_in, max_in, np->n_input);
    }
    if ((int)np->n_output < sp->min_out || (int)np->n_output > sp->max_out)
        return diag_error(im->d, on.loc, "takes %d to %d outputs, got %zu", sp->min_out, sp->max_out, np->n_output);
    on.in = arena_alloc(im->g->arena, sizeof(Value *) * (np->n_input + 1));
    bool ok = true;
    for (size_t k = 0; k < np->n_input; k++) {
        const char *name = np->input[k];
        if (!name || !*name)
            continue;
        on.in[k] = strmap_get(&im->defs, name);
        if (!on.in[k])
            ok = diag_error(im->d, on.loc, "input '%s' is not defined (not a graph input, an initializer or a "
                                           "node output)", name);
    }
    for (int k = 0; k < sp->min_in && ok; k++)
        if (!on.in[k])
            ok = diag_error(im->d, on.loc, "input %d is required but empty", k);
    return ok && check_scales(im, &on, sp) && sp->fn(im, &on);
}

static bool import_outputs(Imp *im)
{
    const Onnx__GraphProto *gp = im->mf->proto->graph;
    bool ok = true;
    if (gp->n_output == 0)
        return diag_error(im->d, loc_file(im->file), "the graph has no outputs");
    for (size_t i = 0; i < gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = gp->output[i];
        const char *name = vi->name ? vi->name : "";
        SrcLoc l = io_loc(im, im->mf->locs.outputs, i, arena_strdup(im->g->arena, name));
        bool twice = false;
        for (size_t k = 0; k < i && !twice; k++)
            twice = gp->output[k]->name && strcmp(gp->output[k]->name, name) == 0;
        if (twice) {
            ok = diag_error(im->d, l, "graph output '%s' is listed twice", name);
            continue;
        }
        Value *v = strmap_get(&im->defs, name);
        if (!v) {
            ok = diag_error(im->d, l, "output '%s' is not produced by any node", name);
            continue;
        }
        DType dt;
        Shape s = {0};
        if (!value_type(im, vi, l, false, &dt, &s)) {
            ok = false;
            continue;
        }
        if (v->kind != VAL_TEMP || v->is_output) {
            /* outputs always come from a node: copy inputs and constants;
             * the copy takes the public name (a constant is renamed; an
             * input keeps its name, and the output its own in `pub`) */
            const char *tmp = ir_unique_name(im->g, arena_printf(im->g->arena, "%s_out", name));
            Value *o = ir_value_new(im->g, tmp, DT_UNDEF, NULL, VAL_TEMP);
            o->shape.rank = RANK_UNKNOWN;
            Node *n = ir_node_new(im->g, OP_IDENTITY, NULL, &v, 1, &o, 1);
            n->loc = l;
            if (v->kind == VAL_CONST) {
                const char *cname = ir_unique_name(im->g, arena_printf(im->g->arena, "%s_value", name));
                v->name = cname;
                o->name = arena_strdup(im->g->arena, name);
                strmap_put(&im->g->names, v->name, v);
                strmap_put(&im->g->names, o->name, o);
            } else {
                o->pub = arena_strdup(im->g->arena, name);
            }
            v = o;
        }
        v->loc = l;
        v->decl_dtype = dt; /* checked by shape inference */
        v->decl_shape = s;
        ir_graph_add_output(im->g, v);
    }
    return ok;
}

Graph *onnx_import(const ModelFile *mf, const ImportOptions *opt, Diag *d)
{
    const char *file = mf->path ? mf->path : "model";
    const Onnx__ModelProto *m = mf->proto;
    if (!m || !m->graph) {
        diag_error(d, loc_file(file), "the model has no graph");
        return NULL;
    }
    /* the ONNX checker's model rules: an IR version, an opset import */
    if (!m->has_ir_version || m->ir_version <= 0) {
        diag_error(d, loc_file(file), "the model states no IR version (ir_version is %s); every ONNX model must",
                   m->has_ir_version ? "0" : "missing");
        return NULL;
    }
    int opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (im_default_domain(m->opset_import[i]->domain) && m->opset_import[i]->has_version)
            opset = (int)m->opset_import[i]->version;
    if (opset < 0) {
        if (m->n_opset_import == 0 && m->has_ir_version && m->ir_version <= 2) {
            opset = 1;
        } else {
            diag_error(d, loc_file(file), "the model imports no version of the default ONNX opset");
            return NULL;
        }
    }
    if (opset < OPSET_MIN || opset > OPSET_MAX) {
        diag_error(d, loc_file(file), "opset %d is not supported (qkc reads opsets %d to %d)", opset, OPSET_MIN,
                   OPSET_MAX);
        return NULL;
    }

    Graph *g = ir_graph_new(m->graph->name && *m->graph->name ? m->graph->name : "model");
    g->file = arena_strdup(g->arena, file);
    g->opset = opset;
    Imp im = {.g = g, .d = d, .mf = mf, .opt = opt, .file = g->file, .opset = opset, .model_bytes = mf->file_bytes};
    strmap_init(&im.defs, g->arena);
    if (mf->text) { /* keep the source for carets in later messages */
        char *copy = arena_strndup(g->arena, mf->text, mf->text_len);
        diag_add_source(d, file, copy, mf->text_len);
    }

    int errors = d->errors;
    bool ok = check_ops(&im);
    size_t *order = ok ? topo_order(&im) : NULL;
    ok = ok && order && import_values(&im);
    for (size_t i = 0; ok && i < m->graph->n_node; i++) {
        if (import_node(&im, order[i]))
            continue;
        /* report errors of all nodes, without cascades: a failed node's
         * outputs are defined as placeholders */
        const Onnx__NodeProto *np = m->graph->node[order[i]];
        for (size_t k = 0; k < np->n_output; k++)
            if (np->output[k] && *np->output[k] && !strmap_get(&im.defs, np->output[k])) {
                Value *v = ir_value_new(g, np->output[k], DT_UNDEF, NULL, VAL_TEMP);
                strmap_put(&im.defs, v->name, v);
            }
    }
    free(order);
    ok = ok && d->errors == errors && import_outputs(&im);
    if (!ok || d->errors != errors) {
        ir_graph_free(g);
        return NULL;
    }
    if (opt && opt->const_left)
        *opt->const_left = im_const_bound(&im) - im.const_made;
    return g;
}

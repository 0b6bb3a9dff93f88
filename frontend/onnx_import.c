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
#include "frontend.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ir/strmap.h"
#include "util.h"

enum { OPSET_MIN = 1, OPSET_MAX = 21 };

typedef struct Imp {
    Graph *g;
    Diag *d;
    const ModelFile *mf;
    const ImportOptions *opt;
    const char *file;
    int opset;   /* default-domain opset */
    StrMap defs; /* name -> Value (everything defined so far) */
    /* the bound on created constants: the model's bytes (its file, then
     * each external tensor as it is read) and what import made so far */
    int64_t model_bytes;
    int64_t const_made;
} Imp;

typedef struct OnnxNode {
    const Onnx__NodeProto *np;
    SrcLoc loc;
    Value **in; /* resolved inputs; NULL for empty names */
    int nin;
    int nout;
} OnnxNode;

typedef bool (*ImportFn)(Imp *im, OnnxNode *on);

typedef struct OpSpec {
    const char *name;
    const char *domain; /* NULL: the default ONNX domain */
    ImportFn fn;
    int min_in, max_in, min_out, max_out; /* ONNX arity; max_in -1: any */
    const char *attrs;                    /* allowed attributes, comma separated */
    OpKind op;                            /* for the plain handlers */
} OpSpec;

/* ---- attributes --------------------------------------------------------- */

static const Onnx__AttributeProto *attr_find(const Onnx__NodeProto *np, const char *name)
{
    for (size_t i = 0; i < np->n_attribute; i++)
        if (np->attribute[i]->name && strcmp(np->attribute[i]->name, name) == 0)
            return np->attribute[i];
    return NULL;
}

static const char *attr_type_name(int t)
{
    static const char *names[] = {"undefined", "float",   "int",     "string", "tensor",      "graph",
                                  "floats",    "ints",    "strings", "tensors", "graphs",     "sparse_tensor",
                                  "sparse_tensors", "type_proto", "type_protos"};
    return t >= 0 && t < (int)(sizeof names / sizeof names[0]) ? names[t] : "unknown";
}

/* Whether attribute `a` holds a value of `type`; when the type field is
 * missing (IR version 1), whether that value field is set. */
static bool attr_is(Imp *im, OnnxNode *on, const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type)
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
    diag_error(im->d, on->loc, "attribute '%s' must be %s, not %s", a->name, attr_type_name((int)type),
               attr_type_name(a->has_type ? (int)a->type : 0));
    return false;
}

static bool attr_int(Imp *im, OnnxNode *on, const char *name, int64_t def, int64_t *out)
{
    const Onnx__AttributeProto *a = attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT))
        return false;
    *out = a->i;
    return true;
}

static bool attr_float(Imp *im, OnnxNode *on, const char *name, float def, float *out)
{
    const Onnx__AttributeProto *a = attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
        return false;
    *out = a->f;
    return true;
}

/* An ints attribute into out[0..max); *n = -1 when absent. */
static bool attr_ints(Imp *im, OnnxNode *on, const char *name, int64_t *out, int max, int *n)
{
    const Onnx__AttributeProto *a = attr_find(on->np, name);
    *n = -1;
    if (!a)
        return true;
    if (!attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS))
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
static bool attr_string(Imp *im, OnnxNode *on, const char *name, const char *def, const char **out)
{
    const Onnx__AttributeProto *a = attr_find(on->np, name);
    *out = def;
    if (!a)
        return true;
    if (!attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING))
        return false;
    *out = arena_strndup(im->g->arena, (const char *)a->s.data, a->s.len);
    return true;
}

/* Every attribute of the node must be one the op knows (in `allowed`). */
static bool check_attr_names(Imp *im, OnnxNode *on, const char *allowed)
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

static SrcLoc value_loc(Imp *im, SrcLoc node_loc, const char *name)
{
    SrcLoc l = node_loc;
    l.node = name;
    l.op = NULL;
    return l;
}

/* Define the node's i-th output (NULL for an empty name). */
static bool def_output(Imp *im, OnnxNode *on, int i, Value **out)
{
    const char *name = on->np->output[i];
    *out = NULL;
    if (!name || !*name)
        return true;
    if (strmap_get(&im->defs, name))
        return diag_error(im->d, on->loc, "output '%s' is already defined (each value must be defined once)", name);
    Value *v = ir_value_new(im->g, name, DT_UNDEF, NULL, VAL_TEMP);
    v->shape.rank = RANK_UNKNOWN;
    v->loc = value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    *out = v;
    return true;
}

/* Create the IR node `op` with the given inputs and all of the ONNX node's
 * outputs (trailing unused ones dropped). */
static Node *emit(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, int nout)
{
    Value *outs[8] = {0};
    if (nout > 8)
        nout = 8;
    for (int i = 0; i < nout; i++)
        if (!def_output(im, on, i, &outs[i]))
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

/* The data of a constant input, or an error saying it must be constant. */
static const Value *const_input(Imp *im, OnnxNode *on, int i, const char *what)
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
static bool const_ints(Imp *im, OnnxNode *on, int i, const char *what, int64_t *out, int max, int *n)
{
    const Value *v = const_input(im, on, i, what);
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
static bool const_scalar(Imp *im, OnnxNode *on, int i, const char *what, double *out)
{
    const Value *v = const_input(im, on, i, what);
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
    case DT_U8: *out = *(const uint8_t *)p; break;
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

/* ---- op handlers -------------------------------------------------------- */

static const OpSpec *spec_of(const Onnx__NodeProto *np);

/* Ops whose ONNX form is the IR form: inputs and outputs as they are. */
static bool imp_plain(Imp *im, OnnxNode *on)
{
    return emit(im, on, spec_of(on->np)->op, on->in, on->nin, on->nout) != NULL;
}

/* Add/Sub/Mul/Div: before opset 7, broadcasting needed broadcast=1 and
 * could align at `axis`; only the numpy-compatible forms are accepted. */
static bool imp_binary(Imp *im, OnnxNode *on)
{
    if (im->opset < 7) {
        int64_t bc, axis;
        if (!attr_int(im, on, "broadcast", 0, &bc) || !attr_int(im, on, "axis", INT64_MIN, &axis))
            return false;
        if (axis != INT64_MIN)
            return diag_error(im->d, on->loc, "legacy broadcasting with 'axis' (opset < 7) is not supported");
    }
    return imp_plain(im, on);
}

/* Max/Min: variadic in ONNX, binary in the IR: a chain. */
static bool imp_variadic(Imp *im, OnnxNode *on)
{
    OpKind op = spec_of(on->np)->op;
    if (on->nin == 1)
        return emit(im, on, OP_IDENTITY, on->in, 1, 1) != NULL;
    for (int i = 0; i < on->nin; i++)
        if (!on->in[i])
            return diag_error(im->d, on->loc, "input %d is empty", i);
    Value *acc = on->in[0];
    for (int i = 1; i < on->nin - 1; i++) {
        const char *tmp = ir_unique_name(im->g, arena_printf(im->g->arena, "%s_part%d", on->np->output[0], i));
        Value *t = ir_value_new(im->g, tmp, DT_UNDEF, NULL, VAL_TEMP);
        t->shape.rank = RANK_UNKNOWN;
        Value *ins[2] = {acc, on->in[i]};
        Node *n = ir_node_new(im->g, op, NULL, ins, 2, &t, 1);
        n->loc = on->loc;
        acc = t;
    }
    Value *ins[2] = {acc, on->in[on->nin - 1]};
    return emit(im, on, op, ins, 2, 1) != NULL;
}

static bool imp_leaky_relu(Imp *im, OnnxNode *on)
{
    Node *n = emit(im, on, OP_LEAKY_RELU, on->in, 1, 1);
    return n && attr_float(im, on, "alpha", 0.01f, &n->a.alpha);
}

/* Clip: bounds are attributes before opset 11, optional inputs after.
 * Constant bounds become attributes; run-time bounds become Max/Min. */
static bool imp_clip(Imp *im, OnnxNode *on)
{
    double lo = -INFINITY, hi = INFINITY;
    if (im->opset < 11) {
        float flo, fhi;
        if (!attr_float(im, on, "min", -INFINITY, &flo) || !attr_float(im, on, "max", INFINITY, &fhi))
            return false;
        lo = flo, hi = fhi;
    } else {
        if (attr_find(on->np, "min") || attr_find(on->np, "max"))
            return diag_error(im->d, on->loc, "from opset 11, Clip takes min and max as inputs, not attributes");
        Value *bmin = on->nin > 1 ? on->in[1] : NULL, *bmax = on->nin > 2 ? on->in[2] : NULL;
        if ((bmin && bmin->kind != VAL_CONST) || (bmax && bmax->kind != VAL_CONST)) {
            /* y = Min(Max(x, min), max) with the bounds read at run time */
            Value *x = on->in[0];
            if (bmin && bmax) {
                const char *tmp = ir_unique_name(im->g, arena_printf(im->g->arena, "%s_lo", on->np->output[0]));
                Value *t = ir_value_new(im->g, tmp, DT_UNDEF, NULL, VAL_TEMP);
                t->shape.rank = RANK_UNKNOWN;
                Value *ins[2] = {x, bmin};
                Node *n = ir_node_new(im->g, OP_MAX, NULL, ins, 2, &t, 1);
                n->loc = on->loc;
                Value *ins2[2] = {t, bmax};
                return emit(im, on, OP_MIN, ins2, 2, 1) != NULL;
            }
            Value *ins[2] = {x, bmin ? bmin : bmax};
            return emit(im, on, bmin ? OP_MAX : OP_MIN, ins, 2, 1) != NULL;
        }
        if (bmin && !const_scalar(im, on, 1, "min", &lo))
            return false;
        if (bmax && !const_scalar(im, on, 2, "max", &hi))
            return false;
    }
    Node *n = emit(im, on, OP_CLIP, on->in, 1, 1);
    if (!n)
        return false;
    n->a.lo = lo;
    n->a.hi = hi;
    return true;
}

static bool imp_gemm(Imp *im, OnnxNode *on)
{
    if (im->opset < 7) {
        int64_t bc;
        if (!attr_int(im, on, "broadcast", 0, &bc))
            return false;
    }
    Node *n = emit(im, on, OP_GEMM, on->in, on->nin, 1);
    if (!n)
        return false;
    int64_t ta, tb;
    if (!attr_float(im, on, "alpha", 1.0f, &n->a.alpha) || !attr_float(im, on, "beta", 1.0f, &n->a.beta) ||
        !attr_int(im, on, "transA", 0, &ta) || !attr_int(im, on, "transB", 0, &tb))
        return false;
    n->a.trans_a = ta != 0;
    n->a.trans_b = tb != 0;
    return true;
}

static bool parse_auto_pad(Imp *im, OnnxNode *on, AutoPad *out)
{
    const char *s;
    if (!attr_string(im, on, "auto_pad", "NOTSET", &s))
        return false;
    if (strcmp(s, "NOTSET") == 0 || !*s)
        *out = AUTOPAD_NOTSET;
    else if (strcmp(s, "VALID") == 0)
        *out = AUTOPAD_VALID;
    else if (strcmp(s, "SAME_UPPER") == 0)
        *out = AUTOPAD_SAME_UPPER;
    else if (strcmp(s, "SAME_LOWER") == 0)
        *out = AUTOPAD_SAME_LOWER;
    else
        return diag_error(im->d, on->loc, "auto_pad '%s' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER", s);
    return true;
}

/* kernel_shape, strides, dilations, pads, auto_pad of Conv and the pools.
 * nsp is known from kernel_shape (pools) or left 0 for shape inference to
 * take from the weight (Conv). */
static bool parse_window(Imp *im, OnnxNode *on, Attrs *a, bool kernel_required)
{
    int nk, ns, nd, np;
    int64_t k[3], s[3], dl[3], p[6];
    if (!attr_ints(im, on, "kernel_shape", k, 3, &nk) || !attr_ints(im, on, "strides", s, 3, &ns) ||
        !attr_ints(im, on, "dilations", dl, 3, &nd) || !attr_ints(im, on, "pads", p, 6, &np) ||
        !parse_auto_pad(im, on, &a->auto_pad))
        return false;
    if (kernel_required && nk < 0)
        return diag_error(im->d, on->loc, "attribute 'kernel_shape' is required");
    int nsp = nk > 0 ? nk : ns > 0 ? ns : nd > 0 ? nd : np > 0 ? np / 2 : 0;
    if (nk == 0)
        return diag_error(im->d, on->loc, "attribute 'kernel_shape' is empty");
    if (nsp > 3)
        return diag_error(im->d, on->loc, "%d spatial dims: 1 to 3 are supported", nsp);
    if ((nk > 0 && nk != nsp) || (ns > 0 && ns != nsp) || (nd > 0 && nd != nsp) || (np > 0 && np != 2 * nsp))
        return diag_error(im->d, on->loc,
                          "kernel_shape, strides, dilations and pads disagree on the number of spatial dims");
    a->nsp = nsp;
    for (int i = 0; i < 3; i++) {
        a->kernel[i] = nk > 0 && i < nk ? k[i] : 0;
        a->strides[i] = ns > 0 && i < ns ? s[i] : 1;
        a->dilations[i] = nd > 0 && i < nd ? dl[i] : 1;
    }
    for (int i = 0; i < 6; i++)
        a->pads[i] = 0;
    for (int i = 0; np > 0 && i < 2 * nsp; i++)
        a->pads[i] = p[i];
    for (int i = 0; i < nsp; i++) {
        if ((nk > 0 && a->kernel[i] <= 0) || a->strides[i] <= 0 || a->dilations[i] <= 0)
            return diag_error(im->d, on->loc, "kernel_shape, strides and dilations must be positive");
        if (a->pads[i] < 0 || a->pads[a->nsp + i] < 0)
            return diag_error(im->d, on->loc, "pads must not be negative");
    }
    if (a->auto_pad != AUTOPAD_NOTSET && np > 0)
        for (int i = 0; i < 2 * nsp; i++)
            if (p[i] != 0)
                return diag_error(im->d, on->loc, "pads and auto_pad %s cannot both be given",
                                  a->auto_pad == AUTOPAD_VALID ? "VALID" : "SAME_*");
    return true;
}

static bool imp_conv(Imp *im, OnnxNode *on)
{
    Node *n = emit(im, on, spec_of(on->np)->op, on->in, on->nin, 1);
    if (!n || !parse_window(im, on, &n->a, false))
        return false;
    if (!attr_int(im, on, "group", 1, &n->a.group))
        return false;
    if (n->a.group < 1)
        return diag_error(im->d, on->loc, "group must be >= 1, not %lld", (long long)n->a.group);
    return true;
}

static bool imp_pool(Imp *im, OnnxNode *on)
{
    OpKind op = spec_of(on->np)->op;
    if (op == OP_AVGPOOL && on->nout > 1)
        return diag_error(im->d, on->loc, "AveragePool has one output");
    Node *n = emit(im, on, op, on->in, 1, on->nout);
    if (!n || !parse_window(im, on, &n->a, true))
        return false;
    int64_t ceil_mode, cip, so;
    if (!attr_int(im, on, "ceil_mode", 0, &ceil_mode) || !attr_int(im, on, "count_include_pad", 0, &cip) ||
        !attr_int(im, on, "storage_order", 0, &so))
        return false;
    n->a.ceil_mode = ceil_mode != 0;
    n->a.count_include_pad = cip != 0;
    if (so != 0 && so != 1)
        return diag_error(im->d, on->loc, "storage_order must be 0 or 1");
    n->a.storage_order = (int)so;
    return true;
}

static bool imp_softmax(Imp *im, OnnxNode *on)
{
    Node *n = emit(im, on, OP_SOFTMAX, on->in, 1, 1);
    if (!n)
        return false;
    /* opset < 13: the input is seen as 2-D [prod(d<axis), prod(d>=axis)];
     * opset 13: one axis, default the last. */
    if (!attr_int(im, on, "axis", im->opset < 13 ? 1 : -1, &n->a.axis))
        return false;
    n->a.axis2 = im->opset < 13 ? AXIS_END : AXIS_NEXT;
    return true;
}

static bool imp_batchnorm(Imp *im, OnnxNode *on)
{
    int64_t training = 0, spatial = 1;
    if (im->opset >= 14 && !attr_int(im, on, "training_mode", 0, &training))
        return false;
    if (im->opset < 9 && !attr_int(im, on, "spatial", 1, &spatial))
        return false;
    if (spatial != 1)
        return diag_error(im->d, on->loc, "spatial=0 (per-activation statistics) is not supported");
    /* Before opset 14 the extra outputs only exist in training, which
     * inference graphs never use: they must be unnamed or unused. */
    int nout = on->nout;
    if (!training) {
        for (int i = 1; i < on->nout; i++)
            if (on->np->output[i] && *on->np->output[i] && im->opset >= 14)
                return diag_error(im->d, on->loc, "outputs after the first need training_mode=1");
        nout = 1;
    } else if (nout > 3) {
        return diag_error(im->d, on->loc, "training mode has at most 3 outputs");
    }
    Node *n = emit(im, on, OP_BATCHNORM, on->in, on->nin, nout);
    if (!n)
        return false;
    n->a.training = training != 0;
    return attr_float(im, on, "epsilon", 1e-5f, &n->a.eps) && attr_float(im, on, "momentum", 0.9f, &n->a.momentum);
}

static bool imp_flatten(Imp *im, OnnxNode *on)
{
    Node *n = emit(im, on, OP_FLATTEN, on->in, 1, 1);
    return n && attr_int(im, on, "axis", 1, &n->a.axis);
}

static bool imp_reshape(Imp *im, OnnxNode *on)
{
    int64_t allowzero;
    Attrs a = {0};
    if (!attr_int(im, on, "allowzero", 0, &allowzero))
        return false;
    if (im->opset < 5) { /* the target was an attribute */
        if (!attr_ints(im, on, "shape", a.ints, QK_MAX_RANK, &a.nints))
            return false;
        if (a.nints < 0)
            return diag_error(im->d, on->loc, "attribute 'shape' is required");
    } else if (on->nin < 2 || !const_ints(im, on, 1, "shape", a.ints, QK_MAX_RANK, &a.nints)) {
        return on->nin < 2 ? diag_error(im->d, on->loc, "input 'shape' is required") : false;
    }
    Node *n = emit(im, on, OP_RESHAPE, on->in, 1, 1);
    if (!n)
        return false;
    memcpy(n->a.ints, a.ints, sizeof a.ints);
    n->a.nints = a.nints;
    n->a.allowzero = allowzero != 0;
    return true;
}

/* Squeeze/Unsqueeze: axes attribute before opset 13, constant input after. */
static bool imp_squeeze(Imp *im, OnnxNode *on)
{
    OpKind op = spec_of(on->np)->op;
    Attrs a = {0};
    int n = -1;
    if (im->opset < 13) {
        if (!attr_ints(im, on, "axes", a.ints, QK_MAX_RANK, &n))
            return false;
    } else if (on->nin > 1 && on->in[1]) {
        if (!const_ints(im, on, 1, "axes", a.ints, QK_MAX_RANK, &n))
            return false;
    }
    if (op == OP_UNSQUEEZE && n <= 0)
        return diag_error(im->d, on->loc, "Unsqueeze needs axes");
    Node *node = emit(im, on, op, on->in, 1, 1);
    if (!node)
        return false;
    memcpy(node->a.ints, a.ints, sizeof a.ints);
    node->a.nints = n < 0 ? 0 : n;
    return true;
}

static bool imp_transpose(Imp *im, OnnxNode *on)
{
    Node *n = emit(im, on, OP_TRANSPOSE, on->in, 1, 1);
    if (!n || !attr_ints(im, on, "perm", n->a.ints, QK_MAX_RANK, &n->a.nints))
        return false;
    return true; /* nints -1: reverse, resolved by shape inference */
}

static bool imp_concat(Imp *im, OnnxNode *on)
{
    for (int i = 0; i < on->nin; i++)
        if (!on->in[i])
            return diag_error(im->d, on->loc, "input %d is empty", i);
    Node *n = emit(im, on, OP_CONCAT, on->in, on->nin, 1);
    if (!n || !attr_int(im, on, "axis", im->opset < 4 ? 1 : INT64_MIN, &n->a.axis))
        return false;
    if (n->a.axis == INT64_MIN)
        return diag_error(im->d, on->loc, "attribute 'axis' is required");
    return true;
}

static bool imp_cast(Imp *im, OnnxNode *on)
{
    int64_t to;
    if (im->opset < 6) { /* 'to' was a type name */
        const char *name;
        if (!attr_string(im, on, "to", "", &name))
            return false;
        to = INT64_MIN;
        for (int code = 1; code <= 16; code++)
            if (strcmp(dtype_onnx_code_name(code), name) == 0)
                to = code;
    } else if (!attr_int(im, on, "to", INT64_MIN, &to)) {
        return false;
    }
    if (to == INT64_MIN)
        return diag_error(im->d, on->loc, "attribute 'to' is required");
    DType dt = dtype_from_onnx((int)to);
    if (dt == DT_UNDEF)
        return diag_error(im->d, on->loc, "cast to %s (%lld) is not supported", dtype_onnx_code_name((int)to),
                          (long long)to);
    Node *n = emit(im, on, OP_CAST, on->in, 1, 1);
    if (!n)
        return false;
    n->a.to = dt;
    return true;
}

static bool imp_identity(Imp *im, OnnxNode *on) { return emit(im, on, OP_IDENTITY, on->in, 1, 1) != NULL; }

/* Dropout at inference is the identity; its mask output is not supported. */
static bool imp_dropout(Imp *im, OnnxNode *on)
{
    if (on->nout > 1 && on->np->output[1] && *on->np->output[1])
        return diag_error(im->d, on->loc, "Dropout's mask output is not supported (inference only)");
    int64_t is_test;
    if (im->opset < 7 && !attr_int(im, on, "is_test", 1, &is_test))
        return false;
    return emit(im, on, OP_IDENTITY, on->in, 1, 1) != NULL;
}

/* QuantizeLinear/DequantizeLinear: per tensor, or per axis from opset 13
 * (default axis 1); blocked quantization (opset 21) is not supported. */
static bool imp_qdq(Imp *im, OnnxNode *on)
{
    int64_t block = 0, out_dt = 0, sat = 1;
    if (!attr_int(im, on, "block_size", 0, &block) || !attr_int(im, on, "output_dtype", 0, &out_dt) ||
        !attr_int(im, on, "saturate", 1, &sat))
        return false;
    if (block != 0)
        return diag_error(im->d, on->loc, "blocked quantization (block_size %lld) is not supported", (long long)block);
    Node *n = emit(im, on, spec_of(on->np)->op, on->in, on->nin, 1);
    if (!n || !attr_int(im, on, "axis", 1, &n->a.axis))
        return false;
    if (out_dt && (on->nin < 3 || !on->in[2]) && dtype_from_onnx((int)out_dt) != DT_U8) {
        /* output_dtype without a zero point: a zero point of that type */
        DType zt = dtype_from_onnx((int)out_dt);
        if (zt != DT_I8)
            return diag_error(im->d, on->loc, "output_dtype %s is not supported (u8 and i8 are)",
                              dtype_onnx_code_name((int)out_dt));
        Shape s = {.rank = 0};
        Value *zp = ir_const_new(im->g, ir_unique_name(im->g, "zero_point"), DT_I8, &s, NULL);
        Value **in = arena_alloc(im->g->arena, sizeof(Value *) * 3);
        in[0] = n->in[0], in[1] = n->in[1], in[2] = zp;
        n->in = in;
        n->nin = 3;
    }
    return true;
}

/* ---- the bound on created constants (docs/usage.md) ---------------------- */

static int64_t const_bound(const Imp *im)
{
    return im->opt && im->opt->max_const_bytes > 0 ? im->opt->max_const_bytes : model_const_bound(im->model_bytes);
}

/* The data of an external tensor counts as the model's bytes. */
static void count_external(Imp *im, const Onnx__TensorProto *tp, const Tensor *t)
{
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        im->model_bytes += shape_numel(&t->shape) * dtype_size(t->dtype);
}

/* Charge a constant of `bytes` that node `on` makes (data the model's files
 * do not hold) to the bound; an error naming the node and how to raise the
 * bound when it does not fit. */
static bool charge_const(Imp *im, OnnxNode *on, int64_t bytes)
{
    int64_t bound = const_bound(im);
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
static Value *temp(Imp *im, const char *base)
{
    Value *v = ir_value_new(im->g, ir_unique_name(im->g, base), DT_UNDEF, NULL, VAL_TEMP);
    v->shape.rank = RANK_UNKNOWN;
    return v;
}

static Node *aux(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, Value *out)
{
    Node *n = ir_node_new(im->g, op, NULL, in, nin, &out, 1);
    n->loc = on->loc;
    return n;
}

/* com.microsoft QGemm (ONNX Runtime's QOperator Gemm):
 *   y = quantize(s_a s_b ((a - a_zp)(b' - b_zp) + C), y_s, y_zp), or floats when
 * y_scale is absent — lowered to QLinearMatMul (with the i32 bias), or to
 * MatMulInteger + bias + DequantizeLinear. b' is b transposed (a constant)
 * when transB. transA and alpha != 1 are not supported. */
static bool imp_qgemm(Imp *im, OnnxNode *on)
{
    int64_t ta, tb;
    float alpha;
    if (!attr_int(im, on, "transA", 0, &ta) || !attr_int(im, on, "transB", 0, &tb) ||
        !attr_float(im, on, "alpha", 1.0f, &alpha))
        return false;
    if (ta || alpha != 1.0f)
        return diag_error(im->d, on->loc, "QGemm with transA or alpha != 1 is not supported");
    Value *in[9] = {0};
    for (int i = 0; i < on->nin && i < 9; i++)
        in[i] = on->in[i];
    Value *b = in[3], *bs = in[4], *bz = in[5], *c = in[6];
    if (tb) { /* b' = b^T; its per-row parameters become per-column */
        if (!b || b->kind != VAL_CONST || b->shape.rank != 2)
            return diag_error(im->d, on->loc, "QGemm with transB needs a constant 2-D B");
        int64_t N = b->shape.d[0], K = b->shape.d[1];
        Shape s = {.rank = 2, .d = {K, N}};
        if (!charge_const(im, on, value_bytes(b)))
            return false;
        Value *t = ir_const_new(im->g, ir_unique_name(im->g, arena_printf(im->g->arena, "%s_t", b->name)), b->dtype, &s, NULL);
        const uint8_t *src = b->data;
        uint8_t *dst = t->data;
        for (int64_t n = 0; n < N; n++)
            for (int64_t k = 0; k < K; k++)
                dst[k * N + n] = src[n * K + k];
        in[3] = t;
    }
    if (c && c->kind == VAL_CONST && c->dtype == DT_I32 && c->shape.rank == 2 && c->shape.d[0] == 1) {
        Shape s = {.rank = 1, .d = {c->shape.d[1]}};
        c = ir_const_new(im->g, ir_unique_name(im->g, c->name), DT_I32, &s, c->data);
    }
    if (c && (c->kind != VAL_CONST || c->dtype != DT_I32 || c->shape.rank > 1))
        return diag_error(im->d, on->loc, "QGemm's C must be a constant i32 vector");
    bool float_out = on->nin < 8 || !in[7];
    if (!float_out) {
        Value *q[9] = {in[0], in[1], in[2], in[3], bs, bz, in[7], on->nin > 8 ? in[8] : NULL, c};
        return emit(im, on, OP_QLINEAR_MATMUL, q, c ? 9 : 8, 1) != NULL;
    }
    /* floats out: exact i32 accumulation, + C, one dequantization by s_a s_b */
    if (!in[1] || in[1]->kind != VAL_CONST || !bs || bs->kind != VAL_CONST)
        return diag_error(im->d, on->loc, "QGemm with float output needs constant scales");
    Value *acc = temp(im, "qgemm_acc");
    Value *mi[4] = {in[0], in[3], in[2], bz};
    aux(im, on, OP_MATMUL_INTEGER, mi, 4, acc);
    if (c) {
        Value *acc2 = temp(im, "qgemm_accb");
        Value *ai[2] = {acc, c};
        aux(im, on, OP_ADD, ai, 2, acc2);
        acc = acc2;
    }
    int64_t nb = shape_numel(&bs->shape);
    Shape ss = {.rank = nb > 1 ? 1 : 0, .d = {nb}};
    Value *sc = ir_const_new(im->g, ir_unique_name(im->g, "qgemm_scale"), DT_F32, &ss, NULL);
    for (int64_t i = 0; i < nb; i++)
        ((float *)sc->data)[i] = *(const float *)in[1]->data * ((const float *)bs->data)[i];
    Value *di[2] = {acc, sc};
    Node *dq = emit(im, on, OP_DEQUANTIZE, di, 2, 1);
    if (!dq)
        return false;
    dq->a.axis = -1; /* per column */
    return true;
}

/* ConstantOfShape of a constant shape: a constant, within the bound on
 * created constants. */
static bool imp_constant_of_shape(Imp *im, OnnxNode *on)
{
    Attrs a = {0};
    if (!const_ints(im, on, 0, "shape", a.ints, QK_MAX_RANK, &a.nints))
        return false;
    Shape s = {.rank = a.nints};
    for (int i = 0; i < a.nints; i++) {
        if (a.ints[i] < 0)
            return diag_error(im->d, on->loc, "negative dim %lld", (long long)a.ints[i]);
        s.d[i] = a.ints[i];
    }
    Tensor fill = {0};
    const Onnx__AttributeProto *va = attr_find(on->np, "value");
    if (va && (!va->t || !onnx_tensor_decode_ext(va->t, im->mf->data_dir, "tensor", &fill, on->loc, im->d) ||
               tensor_numel(&fill) != 1)) {
        tensor_free(&fill);
        return diag_error(im->d, on->loc, "attribute 'value' must be a one-element tensor");
    }
    DType dt = va ? fill.dtype : DT_F32;
    int64_t bytes;
    if (shape_numel(&s) < 0 || !checked_mul(shape_numel(&s), dtype_size(dt), &bytes)) {
        tensor_free(&fill);
        return diag_error(im->d, on->loc, "the constant would be too large (its size overflows)");
    }
    if (!charge_const(im, on, bytes)) {
        tensor_free(&fill);
        return false;
    }
    const char *name = on->np->output[0];
    if (!name || !*name || strmap_get(&im->defs, name)) {
        tensor_free(&fill);
        return diag_error(im->d, on->loc, "output '%s' is empty or already defined", name ? name : "");
    }
    Value *v = ir_const_new(im->g, name, dt, &s, NULL); /* zeros */
    /* the value, then doubling copies: a large constant costs a few
     * memcpy calls, not one per element (the fuzzer found 2^31 of them) */
    size_t esize = (size_t)dtype_size(dt), total = (size_t)bytes;
    bool zero = true;
    for (size_t i = 0; va && i < esize; i++)
        zero = zero && ((const uint8_t *)fill.data)[i] == 0;
    if (!zero && total > 0) {
        uint8_t *p = v->data;
        memcpy(p, fill.data, esize);
        for (size_t done = esize; done < total;) {
            size_t k = done < total - done ? done : total - done;
            memcpy(p + done, p, k);
            done += k;
        }
    }
    tensor_free(&fill);
    v->loc = value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    return true;
}

/* com.microsoft QLinearGlobalAveragePool: NCHW only. */
static bool imp_qgap(Imp *im, OnnxNode *on)
{
    int64_t cl;
    if (!attr_int(im, on, "channels_last", 0, &cl))
        return false;
    if (cl)
        return diag_error(im->d, on->loc, "channels_last=1 is not supported");
    return imp_plain(im, on);
}

/* Constant: a value, no node. */
static bool imp_constant(Imp *im, OnnxNode *on)
{
    const Onnx__NodeProto *np = on->np;
    if (np->n_attribute != 1)
        return diag_error(im->d, on->loc, "Constant needs exactly one value attribute");
    const Onnx__AttributeProto *a = np->attribute[0];
    const char *an = a->name ? a->name : "";
    Tensor t = {0};
    bool ok = true;
    if (strcmp(an, "value") == 0) {
        if (!a->t)
            return diag_error(im->d, on->loc, "attribute 'value' must be a tensor");
        ok = onnx_tensor_decode_ext(a->t, im->mf->data_dir, "tensor", &t, on->loc, im->d);
        if (ok)
            count_external(im, a->t, &t);
    } else if (strcmp(an, "value_float") == 0 || strcmp(an, "value_int") == 0) {
        bool f = an[6] == 'f';
        Shape s = {.rank = 0};
        ok = tensor_alloc(&t, f ? DT_F32 : DT_I64, &s);
        if (ok && f)
            *(float *)t.data = a->f;
        else if (ok)
            *(int64_t *)t.data = a->i;
    } else if (strcmp(an, "value_floats") == 0 || strcmp(an, "value_ints") == 0) {
        bool f = an[6] == 'f';
        Shape s = {.rank = 1, .d = {(int64_t)(f ? a->n_floats : a->n_ints)}};
        ok = tensor_alloc(&t, f ? DT_F32 : DT_I64, &s);
        if (ok)
            memcpy(t.data, f ? (void *)a->floats : (void *)a->ints, (size_t)s.d[0] * (f ? 4 : 8));
    } else {
        return diag_error(im->d, on->loc, "Constant attribute '%s' is not supported", an);
    }
    if (!ok) {
        tensor_free(&t);
        return false;
    }
    const char *name = np->output[0];
    if (!name || !*name || strmap_get(&im->defs, name)) {
        tensor_free(&t);
        return diag_error(im->d, on->loc, "output '%s' is empty or already defined", name ? name : "");
    }
    Value *v = ir_const_new(im->g, name, t.dtype, &t.shape, t.data);
    v->loc = value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    tensor_free(&t);
    return true;
}

/* The supported ops, by ONNX name. */
static const OpSpec specs[] = {
    {"Add", NULL, imp_binary, 2, 2, 1, 1, "broadcast,axis,consumed_inputs", OP_ADD},
    {"Sub", NULL, imp_binary, 2, 2, 1, 1, "broadcast,axis,consumed_inputs", OP_SUB},
    {"Mul", NULL, imp_binary, 2, 2, 1, 1, "broadcast,axis,consumed_inputs", OP_MUL},
    {"Div", NULL, imp_binary, 2, 2, 1, 1, "broadcast,axis,consumed_inputs", OP_DIV},
    {"Max", NULL, imp_variadic, 1, -1, 1, 1, "", OP_MAX},
    {"Min", NULL, imp_variadic, 1, -1, 1, 1, "", OP_MIN},
    {"Relu", NULL, imp_plain, 1, 1, 1, 1, "consumed_inputs", OP_RELU},
    {"LeakyRelu", NULL, imp_leaky_relu, 1, 1, 1, 1, "alpha,consumed_inputs", OP_LEAKY_RELU},
    {"Clip", NULL, imp_clip, 1, 3, 1, 1, "min,max,consumed_inputs", OP_CLIP},
    {"Sigmoid", NULL, imp_plain, 1, 1, 1, 1, "consumed_inputs", OP_SIGMOID},
    {"Tanh", NULL, imp_plain, 1, 1, 1, 1, "consumed_inputs", OP_TANH},
    {"MatMul", NULL, imp_plain, 2, 2, 1, 1, "", OP_MATMUL},
    {"Gemm", NULL, imp_gemm, 2, 3, 1, 1, "alpha,beta,transA,transB,broadcast", OP_GEMM},
    {"Conv", NULL, imp_conv, 2, 3, 1, 1, "auto_pad,dilations,group,kernel_shape,pads,strides", OP_CONV},
    {"MaxPool", NULL, imp_pool, 1, 1, 1, 2, "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides",
     OP_MAXPOOL},
    {"AveragePool", NULL, imp_pool, 1, 1, 1, 1, "auto_pad,ceil_mode,count_include_pad,kernel_shape,pads,strides,dilations",
     OP_AVGPOOL},
    {"GlobalAveragePool", NULL, imp_plain, 1, 1, 1, 1, "", OP_GLOBAL_AVGPOOL},
    {"Softmax", NULL, imp_softmax, 1, 1, 1, 1, "axis", OP_SOFTMAX},
    {"BatchNormalization", NULL, imp_batchnorm, 5, 5, 1, 5, "epsilon,momentum,spatial,training_mode,consumed_inputs,is_test",
     OP_BATCHNORM},
    {"Flatten", NULL, imp_flatten, 1, 1, 1, 1, "axis", OP_FLATTEN},
    {"Reshape", NULL, imp_reshape, 1, 2, 1, 1, "allowzero,shape,consumed_inputs", OP_RESHAPE},
    {"Squeeze", NULL, imp_squeeze, 1, 2, 1, 1, "axes", OP_SQUEEZE},
    {"Unsqueeze", NULL, imp_squeeze, 1, 2, 1, 1, "axes", OP_UNSQUEEZE},
    {"Transpose", NULL, imp_transpose, 1, 1, 1, 1, "perm", OP_TRANSPOSE},
    {"Concat", NULL, imp_concat, 1, -1, 1, 1, "axis", OP_CONCAT},
    {"Cast", NULL, imp_cast, 1, 1, 1, 1, "to,saturate", OP_CAST},
    {"Identity", NULL, imp_identity, 1, 1, 1, 1, "", OP_IDENTITY},
    {"Dropout", NULL, imp_dropout, 1, 3, 1, 2, "ratio,seed,is_test", OP_IDENTITY},
    {"QuantizeLinear", NULL, imp_qdq, 2, 3, 1, 1, "axis,saturate,block_size,output_dtype", OP_QUANTIZE},
    {"DequantizeLinear", NULL, imp_qdq, 2, 3, 1, 1, "axis,block_size", OP_DEQUANTIZE},
    {"MatMulInteger", NULL, imp_plain, 2, 4, 1, 1, "", OP_MATMUL_INTEGER},
    {"ConvInteger", NULL, imp_conv, 2, 4, 1, 1, "auto_pad,dilations,group,kernel_shape,pads,strides", OP_CONV_INTEGER},
    {"QLinearMatMul", NULL, imp_plain, 8, 8, 1, 1, "", OP_QLINEAR_MATMUL},
    {"QLinearConv", NULL, imp_conv, 8, 9, 1, 1, "auto_pad,dilations,group,kernel_shape,pads,strides", OP_QLINEAR_CONV},
    {"QLinearAdd", "com.microsoft", imp_plain, 7, 8, 1, 1, "", OP_QLINEAR_ADD},
    {"QLinearGlobalAveragePool", "com.microsoft", imp_qgap, 4, 5, 1, 1, "channels_last", OP_QLINEAR_GAP},
    {"QGemm", "com.microsoft", imp_qgemm, 6, 9, 1, 1, "alpha,transA,transB", OP_QLINEAR_MATMUL},
    {"ConstantOfShape", NULL, imp_constant_of_shape, 1, 1, 1, 1, "value", OP_IDENTITY},
    {"Constant", NULL, imp_constant, 0, 0, 1, 1, "value,value_float,value_floats,value_int,value_ints,sparse_value,value_string,value_strings", OP_IDENTITY},
};

static bool default_domain(const char *domain) { return !domain || !*domain || strcmp(domain, "ai.onnx") == 0; }

static const OpSpec *spec_of(const Onnx__NodeProto *np)
{
    if (!np->op_type)
        return NULL;
    bool dflt = default_domain(np->domain);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const OpSpec *sp = &specs[i];
        if (strcmp(sp->name, np->op_type) != 0)
            continue;
        if (sp->domain ? (!dflt && strcmp(sp->domain, np->domain) == 0) : dflt)
            return sp;
    }
    return NULL;
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
        if (spec_of(np))
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
            seen = !spec_of(gp->node[j]) && strcmp(gp->node[j]->op_type ? gp->node[j]->op_type : "", op) == 0 &&
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
    for (size_t i = 0; i < tt->shape->n_dim; i++) {
        const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
        if (dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
            if (dim->dim_value < 0)
                return diag_error(im->d, loc, "%s '%s': dim %zu is negative (%lld)", what, vi->name, i,
                                  (long long)dim->dim_value);
            s->d[i] = dim->dim_value;
        } else if (i == 0 && is_input) {
            s->d[0] = im->opt && im->opt->batch > 0 ? im->opt->batch : DIM_BATCH;
        } else if (is_input) {
            const char *p = dim->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM ? dim->dim_param
                                                                                                     : "?";
            return diag_error(im->d, loc,
                              "input '%s': dim %zu is symbolic ('%s'); only the leading (batch) dim may be "
                              "symbolic", vi->name, i, p);
        } else {
            s->d[i] = -2; /* a symbolic output dim: not checked */
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
        count_external(im, tp, &t);
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
        Value *init = strmap_get(&im->defs, name);
        DType dt;
        Shape s;
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

static bool import_node(Imp *im, size_t idx)
{
    const Onnx__NodeProto *np = im->mf->proto->graph->node[idx];
    const OpSpec *sp = spec_of(np);
    OnnxNode on = {.np = np, .loc = node_loc(im, idx), .nin = (int)np->n_input, .nout = (int)np->n_output};
    if ((int)np->n_input < sp->min_in || (sp->max_in >= 0 && (int)np->n_input > sp->max_in)) {
        if (sp->min_in == sp->max_in)
            return diag_error(im->d, on.loc, "takes %d input%s, got %zu", sp->min_in, sp->min_in == 1 ? "" : "s",
                              np->n_input);
        return diag_error(im->d, on.loc, "takes %d to %d inputs, got %zu", sp->min_in, sp->max_in, np->n_input);
    }
    if ((int)np->n_output < sp->min_out || (int)np->n_output > sp->max_out)
        return diag_error(im->d, on.loc, "takes %d to %d outputs, got %zu", sp->min_out, sp->max_out, np->n_output);
    if (!check_attr_names(im, &on, sp->attrs))
        return false;
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
        Value *v = strmap_get(&im->defs, name);
        if (!v) {
            ok = diag_error(im->d, l, "output '%s' is not produced by any node", name);
            continue;
        }
        DType dt;
        Shape s;
        if (!value_type(im, vi, l, false, &dt, &s)) {
            ok = false;
            continue;
        }
        if (v->kind != VAL_TEMP || v->is_output) {
            /* outputs always come from a node: copy inputs/constants/repeats */
            const char *tmp = ir_unique_name(im->g, arena_printf(im->g->arena, "%s_out", name));
            Value *o = ir_value_new(im->g, tmp, DT_UNDEF, NULL, VAL_TEMP);
            o->shape.rank = RANK_UNKNOWN;
            Node *n = ir_node_new(im->g, OP_IDENTITY, NULL, &v, 1, &o, 1);
            n->loc = l;
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
    int opset = -1;
    for (size_t i = 0; i < m->n_opset_import; i++)
        if (default_domain(m->opset_import[i]->domain) && m->opset_import[i]->has_version)
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
        *opt->const_left = const_bound(&im) - im.const_made;
    return g;
}

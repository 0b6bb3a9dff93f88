/* onnx_ops.c — how each ONNX op imports: one handler per import form named
 * in ir/ops.def (imp_<import>), and the table of ONNX op types built from
 * that file, plus the ONNX ops that import as other IR ops (Dropout,
 * Constant, QGemm, Sum, Mean, Upsample).
 *
 * A handler reads the node's attributes for the model's opset (each lists
 * the attributes it accepts: anything else is an error), and emits the IR
 * node. Inputs that determine shapes (Reshape's shape, Slice's starts, ...)
 * stay inputs: shape inference reads them once they are known constants,
 * which may take folding first (a Shape -> Gather -> Concat chain). */
#include "import.h"
#include "ir/expr.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

static OpKind op_of(OnnxNode *on) { return im_spec_of(on->np)->op; }

/* The parameters of an elementwise op (ops.def params) from the ONNX
 * attributes of those names (float or int); defaults are in the node. */
static bool read_params(Imp *im, OnnxNode *on, Node *n)
{
    char names[3][32];
    double def[3];
    int np = expr_params(n->op, names, def);
    for (int i = 0; i < np; i++) {
        const Onnx__AttributeProto *a = im_attr_find(on->np, names[i]);
        if (!a)
            continue;
        if ((a->has_type && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) || (!a->has_type && a->has_i))
            n->a.p[i] = (double)a->i;
        else if (im_attr_is(im, on, a, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT))
            n->a.p[i] = a->f;
        else
            return false;
    }
    return true;
}

/* The attributes an elementwise op accepts: its parameters, and the
 * legacy consumed_inputs (opset < 6). */
static bool allow_params(Imp *im, OnnxNode *on, OpKind op, const char *more)
{
    char names[3][32], list[160];
    double def[3];
    int np = expr_params(op, names, def);
    snprintf(list, sizeof list, "consumed_inputs%s%s", more ? "," : "", more ? more : "");
    for (int i = 0; i < np; i++) {
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, ",%s", names[i]);
    }
    return im_check_attrs(im, on, list);
}

/* Ops whose ONNX form is the IR form: inputs and outputs as they are. */
static bool imp_plain(Imp *im, OnnxNode *on)
{
    OpKind op = op_of(on);
    if (op_info[op].expr) {
        if (!allow_params(im, on, op, NULL))
            return false;
    } else {
        ALLOW("");
    }
    if (!im_required_inputs(im, on, op))
        return false;
    Node *n = im_emit(im, on, op, on->in, on->nin, on->nout);
    return n && (!op_info[op].expr || read_params(im, on, n));
}

/* Add/Sub/Mul/Div and the comparisons: before opset 7, broadcasting needed
 * broadcast=1 and could align at `axis`; only the numpy-compatible forms
 * are accepted. */
static bool imp_binary(Imp *im, OnnxNode *on)
{
    ALLOW("broadcast,axis,consumed_inputs");
    if (im->opset < 7) {
        int64_t bc, axis;
        if (!im_attr_int(im, on, "broadcast", 0, &bc) || !im_attr_int(im, on, "axis", INT64_MIN, &axis))
            return false;
        if (axis != INT64_MIN)
            return diag_error(im->d, on->loc, "legacy broadcasting with 'axis' (opset < 7) is not supported");
    }
    return im_emit(im, on, op_of(on), on->in, on->nin, 1) != NULL;
}

/* Max/Min/Sum/Mean: variadic in ONNX, binary in the IR: a chain (Mean
 * then divides by the count). */
static bool chain(Imp *im, OnnxNode *on, OpKind op, bool mean)
{
    ALLOW("consumed_inputs");
    for (int i = 0; i < on->nin; i++)
        if (!on->in[i])
            return diag_error(im->d, on->loc, "input %d is empty", i);
    if (on->nin == 1)
        return im_emit(im, on, OP_IDENTITY, on->in, 1, 1) != NULL;
    Value *acc = on->in[0];
    for (int i = 1; i < on->nin - (mean ? 0 : 1); i++) {
        Value *t = im_temp(im, arena_printf(im->g->arena, "%s_part%d", on->np->output[0], i));
        Value *ins[2] = {acc, on->in[i]};
        im_aux(im, on, op, ins, 2, t);
        acc = t;
    }
    if (!mean) {
        Value *ins[2] = {acc, on->in[on->nin - 1]};
        return im_emit(im, on, op, ins, 2, 1) != NULL;
    }
    /* divided by the count, a constant of the inputs' type */
    DType t = on->in[0]->dtype;
    if (!dtype_is_float(t))
        return diag_error(im->d, on->loc, "Mean of values computed by other nodes (or of non-float type) is not "
                                          "supported; its inputs must be graph inputs or initializers of a float type");
    Shape s = {.rank = 0};
    Value *cnt = ir_const_new(im->g, ir_unique_name(im->g, "mean_count"), t, &s, NULL);
    Tensor ct = {t, s, cnt->data};
    tensor_store_f(&ct, 0, (double)on->nin);
    Value *ins[2] = {acc, cnt};
    return im_emit(im, on, OP_DIV, ins, 2, 1) != NULL;
}

static bool imp_variadic(Imp *im, OnnxNode *on) { return chain(im, on, op_of(on), false); }
static bool imp_sum(Imp *im, OnnxNode *on) { return chain(im, on, OP_ADD, false); }
static bool imp_mean(Imp *im, OnnxNode *on) { return chain(im, on, OP_ADD, true); }

/* Mod: fmod=0 (integers only in ONNX) takes the sign of the divisor. */
static bool imp_mod(Imp *im, OnnxNode *on)
{
    ALLOW("fmod");
    Node *n = im_emit(im, on, OP_MOD, on->in, on->nin, 1);
    return n && read_params(im, on, n);
}

/* Clip: bounds are attributes before opset 11, optional inputs after.
 * Constant bounds are read by shape inference; bounds computed at run time
 * make it Max/Min. */
static bool imp_clip(Imp *im, OnnxNode *on)
{
    ALLOW("min,max,consumed_inputs");
    if (im->opset < 11) {
        float lo, hi;
        if (!im_attr_float(im, on, "min", -INFINITY, &lo) || !im_attr_float(im, on, "max", INFINITY, &hi))
            return false;
        Node *n = im_emit(im, on, OP_CLIP, on->in, 1, 1);
        if (!n)
            return false;
        n->a.p[0] = lo, n->a.p[1] = hi;
        return true;
    }
    if (im_attr_find(on->np, "min") || im_attr_find(on->np, "max"))
        return diag_error(im->d, on->loc, "from opset 11, Clip takes min and max as inputs, not attributes");
    Value *bmin = on->nin > 1 ? on->in[1] : NULL, *bmax = on->nin > 2 ? on->in[2] : NULL;
    if ((bmin && bmin->kind == VAL_INPUT) || (bmax && bmax->kind == VAL_INPUT) ||
        (bmin && bmin->kind == VAL_TEMP && bmin->def && !op_has(bmin->def->op, OPF_SHAPE_ONLY)) ||
        (bmax && bmax->kind == VAL_TEMP && bmax->def && !op_has(bmax->def->op, OPF_SHAPE_ONLY))) {
        /* y = Min(Max(x, min), max) with the bounds read at run time */
        Value *x = on->in[0];
        if (bmin && bmax) {
            Value *t = im_temp(im, arena_printf(im->g->arena, "%s_lo", on->np->output[0]));
            Value *ins[2] = {x, bmin};
            im_aux(im, on, OP_MAX, ins, 2, t);
            Value *ins2[2] = {t, bmax};
            return im_emit(im, on, OP_MIN, ins2, 2, 1) != NULL;
        }
        Value *ins[2] = {x, bmin ? bmin : bmax};
        return im_emit(im, on, bmin ? OP_MAX : OP_MIN, ins, 2, 1) != NULL;
    }
    return im_emit(im, on, OP_CLIP, on->in, on->nin, 1) != NULL;
}

/* Gelu (opset 20): approximate 'none' or 'tanh' (GeluTanh). */
static bool imp_gelu(Imp *im, OnnxNode *on)
{
    ALLOW("approximate");
    const char *s;
    if (!im_attr_string(im, on, "approximate", "none", &s))
        return false;
    if (strcmp(s, "none") && strcmp(s, "tanh"))
        return diag_error(im->d, on->loc, "approximate '%s' is not 'none' or 'tanh'", s);
    return im_emit(im, on, strcmp(s, "tanh") == 0 ? OP_GELU_TANH : OP_GELU, on->in, 1, 1) != NULL;
}

static bool imp_identity(Imp *im, OnnxNode *on)
{
    ALLOW("");
    return im_emit(im, on, OP_IDENTITY, on->in, 1, 1) != NULL;
}

static bool imp_gemm(Imp *im, OnnxNode *on)
{
    ALLOW("alpha,beta,transA,transB,broadcast");
    if (im->opset < 7) {
        int64_t bc;
        if (!im_attr_int(im, on, "broadcast", 0, &bc))
            return false;
    }
    Node *n = im_emit(im, on, OP_GEMM, on->in, on->nin, 1);
    if (!n)
        return false;
    int64_t ta, tb;
    if (!im_attr_float(im, on, "alpha", 1.0f, &n->a.alpha) || !im_attr_float(im, on, "beta", 1.0f, &n->a.beta) ||
        !im_attr_int(im, on, "transA", 0, &ta) || !im_attr_int(im, on, "transB", 0, &tb))
        return false;
    n->a.trans_a = ta != 0;
    n->a.trans_b = tb != 0;
    return true;
}

/* Softmax, LogSoftmax, Hardmax: before opset 13 the input is seen as 2-D
 * [prod(d<axis), prod(d>=axis)] (axis default 1); from 13 one axis,
 * default the last. */
static bool imp_softmax(Imp *im, OnnxNode *on)
{
    ALLOW("axis");
    Node *n = im_emit(im, on, op_of(on), on->in, 1, 1);
    if (!n || !im_attr_int(im, on, "axis", im->opset < 13 ? 1 : -1, &n->a.axis))
        return false;
    n->a.axis2 = im->opset < 13 ? AXIS_END : AXIS_NEXT;
    return true;
}

static bool imp_reshape(Imp *im, OnnxNode *on)
{
    ALLOW("allowzero,shape,consumed_inputs");
    int64_t allowzero;
    if (!im_attr_int(im, on, "allowzero", 0, &allowzero))
        return false;
    if (im->opset < 5) { /* the target was an attribute */
        Node *n = im_emit(im, on, OP_RESHAPE, on->in, 1, 1);
        if (!n || !im_attr_ints(im, on, "shape", n->a.ints, QK_MAX_RANK, &n->a.nints))
            return false;
        if (n->a.nints < 0)
            return diag_error(im->d, on->loc, "attribute 'shape' is required");
        return true;
    }
    if (on->nin < 2 || !on->in[1])
        return diag_error(im->d, on->loc, "input 'shape' is required");
    Node *n = im_emit(im, on, OP_RESHAPE, on->in, 2, 1);
    if (!n)
        return false;
    n->a.allowzero = allowzero != 0;
    return true;
}

/* Squeeze/Unsqueeze: axes attribute before opset 13, constant input after. */
static bool imp_squeeze(Imp *im, OnnxNode *on)
{
    ALLOW("axes");
    OpKind op = op_of(on);
    if (im->opset >= 13) {
        if (im_attr_find(on->np, "axes"))
            return diag_error(im->d, on->loc, "from opset 13, %s takes axes as an input", op_info[op].name);
        if (op == OP_UNSQUEEZE && (on->nin < 2 || !on->in[1]))
            return diag_error(im->d, on->loc, "Unsqueeze needs axes");
        return im_emit(im, on, op, on->in, on->nin, 1) != NULL;
    }
    Node *n = im_emit(im, on, op, on->in, 1, 1);
    if (!n || !im_attr_ints(im, on, "axes", n->a.ints, QK_MAX_RANK, &n->a.nints))
        return false;
    if (op == OP_UNSQUEEZE && n->a.nints <= 0)
        return diag_error(im->d, on->loc, "Unsqueeze needs axes");
    return true;
}

/* ReduceX: axes an attribute before opset 18 (ReduceSum: 13), an input
 * from then; noop_with_empty_axes from then. */
static bool imp_reduce(Imp *im, OnnxNode *on)
{
    OpKind op = op_of(on);
    ALLOW("axes,keepdims,noop_with_empty_axes");
    int input_from = op == OP_REDUCE_SUM ? 13 : 18;
    int64_t keep, noop;
    if (!im_attr_int(im, on, "keepdims", 1, &keep) || !im_attr_int(im, on, "noop_with_empty_axes", 0, &noop))
        return false;
    Node *n = im_emit(im, on, op, on->in, on->nin, 1);
    if (!n)
        return false;
    n->a.keepdims = keep != 0;
    n->a.noop_empty = noop != 0;
    if (im->opset < input_from) {
        if (on->nin > 1)
            return diag_error(im->d, on->loc, "before opset %d, %s takes axes as an attribute", input_from,
                              op_info[op].name);
        return im_attr_ints(im, on, "axes", n->a.ints, QK_MAX_RANK, &n->a.nints);
    }
    if (im_attr_find(on->np, "axes"))
        return diag_error(im->d, on->loc, "from opset %d, %s takes axes as an input", input_from, op_info[op].name);
    return true;
}

static bool imp_argreduce(Imp *im, OnnxNode *on)
{
    ALLOW("axis,keepdims,select_last_index");
    Node *n = im_emit(im, on, op_of(on), on->in, 1, 1);
    int64_t keep, last;
    if (!n || !im_attr_int(im, on, "axis", 0, &n->a.axis) || !im_attr_int(im, on, "keepdims", 1, &keep) ||
        !im_attr_int(im, on, "select_last_index", 0, &last))
        return false;
    n->a.keepdims = keep != 0;
    n->a.select_last = last != 0;
    return true;
}

static bool imp_cumsum(Imp *im, OnnxNode *on)
{
    ALLOW("exclusive,reverse");
    if (!im_required_inputs(im, on, OP_CUMSUM))
        return false;
    Node *n = im_emit(im, on, OP_CUMSUM, on->in, on->nin, 1);
    int64_t ex, rev;
    if (!n || !im_attr_int(im, on, "exclusive", 0, &ex) || !im_attr_int(im, on, "reverse", 0, &rev))
        return false;
    n->a.exclusive = ex != 0;
    n->a.reverse = rev != 0;
    return true;
}

/* Split: sizes an attribute before opset 13, an input from then; opset 18
 * may give num_outputs instead (the last part then smaller). */
static bool imp_split(Imp *im, OnnxNode *on)
{
    ALLOW("axis,split,num_outputs");
    if (on->nout > QK_MAX_OUTPUTS)
        return diag_error(im->d, on->loc, "%d outputs; at most %d are supported", on->nout, QK_MAX_OUTPUTS);
    for (int i = 0; i < on->nout; i++)
        if (!on->np->output[i] || !*on->np->output[i])
            return diag_error(im->d, on->loc, "output %d has no name", i);
    Node *n = im_emit(im, on, OP_SPLIT, on->in, on->nin, on->nout);
    if (!n || !im_attr_int(im, on, "axis", 0, &n->a.axis))
        return false;
    int64_t num;
    if (!im_attr_int(im, on, "num_outputs", 0, &num))
        return false;
    if (num && num != on->nout)
        return diag_error(im->d, on->loc, "num_outputs is %lld but the node has %d outputs", (long long)num, on->nout);
    if (im->opset < 13)
        return im_attr_ints(im, on, "split", n->a.sizes, QK_MAX_OUTPUTS, &n->a.nsizes);
    return true;
}

/* Slice: starts, ends, axes attributes before opset 10 (no steps). */
static bool imp_slice(Imp *im, OnnxNode *on)
{
    ALLOW("starts,ends,axes");
    if (im->opset >= 10)
        return im_required_inputs(im, on, OP_SLICE) && im_emit(im, on, OP_SLICE, on->in, on->nin, 1) != NULL;
    Node *n = im_emit(im, on, OP_SLICE, on->in, 1, 1);
    if (!n)
        return false;
    int ns, ne;
    if (!im_attr_ints(im, on, "starts", n->a.starts, QK_MAX_RANK, &ns) ||
        !im_attr_ints(im, on, "ends", n->a.ends, QK_MAX_RANK, &ne) ||
        !im_attr_ints(im, on, "axes", n->a.ints, QK_MAX_RANK, &n->a.nints))
        return false;
    if (ns < 0 || ne != ns || (n->a.nints >= 0 && n->a.nints != ns))
        return diag_error(im->d, on->loc, "starts, ends and axes must have one length");
    n->a.nsizes = ns; /* the number of sliced axes */
    return true;
}

static bool imp_gather(Imp *im, OnnxNode *on)
{
    ALLOW("axis");
    Node *n = im_emit(im, on, op_of(on), on->in, 2, 1);
    return n && im_attr_int(im, on, "axis", 0, &n->a.axis);
}

static bool imp_gather_nd(Imp *im, OnnxNode *on)
{
    ALLOW("batch_dims");
    Node *n = im_emit(im, on, OP_GATHER_ND, on->in, 2, 1);
    return n && im_attr_int(im, on, "batch_dims", 0, &n->a.axis);
}

/* Pad: pads (and the constant value) attributes before opset 11, inputs
 * from then; axes from 18. The raw pads go to sizes[] until shape
 * inference knows the rank. */
static bool imp_pad(Imp *im, OnnxNode *on)
{
    ALLOW("mode,pads,value");
    const char *mode;
    if (!im_attr_string(im, on, "mode", "constant", &mode))
        return false;
    int m = strcmp(mode, "constant") == 0 ? PAD_CONSTANT : strcmp(mode, "reflect") == 0 ? PAD_REFLECT
          : strcmp(mode, "edge") == 0     ? PAD_EDGE
          : strcmp(mode, "wrap") == 0     ? PAD_WRAP
                                          : -1;
    if (m < 0)
        return diag_error(im->d, on->loc, "mode '%s' is not constant, reflect, edge or wrap", mode);
    Node *n = im_emit(im, on, OP_PAD, on->in, im->opset < 11 ? 1 : on->nin, 1);
    if (!n)
        return false;
    n->a.mode = m;
    if (im->opset < 11) {
        float v;
        if (!im_attr_ints(im, on, "pads", n->a.sizes, 2 * QK_MAX_RANK, &n->a.nsizes) ||
            !im_attr_float(im, on, "value", 0.0f, &v))
            return false;
        if (n->a.nsizes < 0)
            return diag_error(im->d, on->loc, "attribute 'pads' is required");
        n->a.value = v;
    }
    return true;
}

/* DepthToSpace / SpaceToDepth: blocksize; DepthToSpace's mode DCR or CRD. */
static bool imp_space(Imp *im, OnnxNode *on)
{
    OpKind op = op_of(on);
    ALLOW(op == OP_DEPTH_TO_SPACE ? "blocksize,mode" : "blocksize");
    Node *n = im_emit(im, on, op, on->in, 1, 1);
    const char *mode;
    if (!n || !im_attr_int(im, on, "blocksize", 0, &n->a.blocksize) ||
        !im_attr_string(im, on, "mode", "DCR", &mode))
        return false;
    if (n->a.blocksize < 1)
        return diag_error(im->d, on->loc, "blocksize must be at least 1");
    if (strcmp(mode, "DCR") && strcmp(mode, "CRD"))
        return diag_error(im->d, on->loc, "mode '%s' is not DCR or CRD", mode);
    n->a.mode = strcmp(mode, "CRD") == 0;
    return true;
}

static bool resize_attrs(Imp *im, OnnxNode *on, Node *n, const char *def_mode, const char *def_coord)
{
    const char *mode, *coord, *nearest;
    int64_t excl = 0, anti = 0;
    float cubic = -0.75f, extrap = 0;
    const char *policy;
    if (!im_attr_string(im, on, "mode", def_mode, &mode) ||
        !im_attr_string(im, on, "coordinate_transformation_mode", def_coord, &coord) ||
        !im_attr_string(im, on, "nearest_mode", "round_prefer_floor", &nearest) ||
        !im_attr_float(im, on, "cubic_coeff_a", -0.75f, &cubic) || !im_attr_int(im, on, "exclude_outside", 0, &excl) ||
        !im_attr_float(im, on, "extrapolation_value", 0.0f, &extrap) || !im_attr_int(im, on, "antialias", 0, &anti) ||
        !im_attr_string(im, on, "keep_aspect_ratio_policy", "stretch", &policy) ||
        !im_attr_ints(im, on, "axes", n->a.ints, QK_MAX_RANK, &n->a.nints))
        return false;
    static const char *const modes[] = {"nearest", "linear", "cubic"};
    static const char *const coords[] = {"half_pixel", "asymmetric", "pytorch_half_pixel", "align_corners",
                                         "tf_half_pixel_for_nn", "tf_crop_and_resize", "half_pixel_symmetric"};
    static const char *const nearests[] = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    n->a.mode = -1;
    for (int i = 0; i < 3; i++)
        if (strcmp(mode, modes[i]) == 0 || (i == 1 && strcmp(mode, "bilinear") == 0))
            n->a.mode = i;
    n->a.coord = -1;
    for (int i = 0; i < 7; i++)
        if (strcmp(coord, coords[i]) == 0)
            n->a.coord = i;
    n->a.nearest = -1;
    for (int i = 0; i < 4; i++)
        if (strcmp(nearest, nearests[i]) == 0)
            n->a.nearest = i;
    if (n->a.mode < 0)
        return diag_error(im->d, on->loc, "mode '%s' is not nearest, linear or cubic", mode);
    if (n->a.coord < 0 || n->a.coord == COORD_TF_CROP_AND_RESIZE)
        return diag_error(im->d, on->loc, "coordinate_transformation_mode '%s' is not supported", coord);
    if (n->a.nearest < 0)
        return diag_error(im->d, on->loc, "nearest_mode '%s' is not supported", nearest);
    if (anti)
        return diag_error(im->d, on->loc, "antialias=1 is not supported");
    if (strcmp(policy, "stretch"))
        return diag_error(im->d, on->loc, "keep_aspect_ratio_policy '%s' is not supported (stretch is)", policy);
    n->a.cubic_a = cubic;
    n->a.exclude_outside = excl != 0;
    n->a.value = extrap;
    return true;
}

/* Resize (opset 10: X, scales; 11+: X, roi, scales, sizes). */
static bool imp_resize(Imp *im, OnnxNode *on)
{
    ALLOW("mode,coordinate_transformation_mode,nearest_mode,cubic_coeff_a,exclude_outside,extrapolation_value,"
          "antialias,axes,keep_aspect_ratio_policy");
    Value *in[4] = {on->in[0], NULL, NULL, NULL};
    if (im->opset < 11)
        in[2] = on->nin > 1 ? on->in[1] : NULL; /* X, scales */
    else
        for (int i = 1; i < on->nin && i < 4; i++)
            in[i] = on->in[i];
    Node *n = im_emit(im, on, OP_RESIZE, in, 4, 1);
    return n && resize_attrs(im, on, n, "nearest", im->opset < 11 ? "asymmetric" : "half_pixel");
}

/* Upsample (opsets 7-9): Resize with asymmetric coordinates; scales an
 * attribute (7, 8) or an input (9). */
static bool imp_upsample(Imp *im, OnnxNode *on)
{
    ALLOW("mode,scales");
    const char *mode;
    if (!im_attr_string(im, on, "mode", "nearest", &mode))
        return false;
    Value *in[4] = {on->in[0], NULL, on->nin > 1 ? on->in[1] : NULL, NULL};
    Node *n = im_emit(im, on, OP_RESIZE, in, 3, 1);
    if (!n)
        return false;
    n->a.mode = strcmp(mode, "nearest") == 0 ? RESIZE_NEAREST : (strcmp(mode, "linear") == 0 || strcmp(mode, "bilinear") == 0) ? RESIZE_LINEAR : -1;
    if (n->a.mode < 0)
        return diag_error(im->d, on->loc, "mode '%s' is not nearest or linear", mode);
    n->a.coord = COORD_ASYMMETRIC;
    n->a.nearest = NEAREST_FLOOR;
    if (on->nin < 2) {
        float sc[QK_MAX_RANK];
        int ns;
        if (!im_attr_floats(im, on, "scales", sc, QK_MAX_RANK, &ns))
            return false;
        if (ns < 0)
            return diag_error(im->d, on->loc, "attribute 'scales' is required");
        for (int i = 0; i < ns; i++)
            n->a.scales[i] = sc[i];
        n->a.nsizes = -2 - ns; /* scales given for ns dims */
    }
    return true;
}

static bool imp_trilu(Imp *im, OnnxNode *on)
{
    ALLOW("upper");
    Node *n = im_emit(im, on, OP_TRILU, on->in, on->nin, 1);
    int64_t up;
    if (!n || !im_attr_int(im, on, "upper", 1, &up))
        return false;
    n->a.mode = up != 0;
    return true;
}

/* Shape: start and end (opset 15) select a range of dims. */
static bool imp_shape(Imp *im, OnnxNode *on)
{
    ALLOW("start,end");
    Node *n = im_emit(im, on, OP_SHAPE, on->in, 1, 1);
    return n && im_attr_int(im, on, "start", 0, &n->a.starts[0]) &&
           im_attr_int(im, on, "end", INT64_MAX, &n->a.ends[0]);
}

/* ConstantOfShape of a constant shape: a constant, within the bound on
 * created constants. */
static bool constant_of_shape_now(Imp *im, OnnxNode *on)
{
    Attrs a = {0};
    if (!im_const_ints(im, on, 0, "shape", a.ints, QK_MAX_RANK, &a.nints))
        return false;
    Shape s = {.rank = a.nints};
    for (int i = 0; i < a.nints; i++) {
        if (a.ints[i] < 0)
            return diag_error(im->d, on->loc, "negative dim %lld", (long long)a.ints[i]);
        s.d[i] = a.ints[i];
    }
    Tensor fill = {0};
    const Onnx__AttributeProto *va = im_attr_find(on->np, "value");
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
    if (!im_charge_const(im, on, bytes)) {
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
    v->loc = im_value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    return true;
}

/* ConstantOfShape: a constant now when its shape is one, else a node (a
 * shape computed from other shapes, or holding the batch) with the fill
 * value's type and bytes (f32 0 by default). */
static bool imp_constant_of_shape(Imp *im, OnnxNode *on)
{
    ALLOW("value");
    if (!im_required_inputs(im, on, OP_CONSTANT_OF_SHAPE))
        return false;
    if (on->in[0]->kind == VAL_CONST && !on->in[0]->sym)
        return constant_of_shape_now(im, on);
    Node *n = im_emit(im, on, OP_CONSTANT_OF_SHAPE, on->in, 1, 1);
    if (!n)
        return false;
    n->a.to = DT_F32;
    n->a.fill = 0;
    const Onnx__AttributeProto *va = im_attr_find(on->np, "value");
    if (!va)
        return true;
    Tensor fill = {0};
    if (!va->t || !onnx_tensor_decode_ext(va->t, im->mf->data_dir, "tensor", &fill, on->loc, im->d) ||
        tensor_numel(&fill) != 1) {
        tensor_free(&fill);
        return diag_error(im->d, on->loc, "attribute 'value' must be a one-element tensor");
    }
    n->a.to = fill.dtype;
    memcpy(&n->a.fill, fill.data, (size_t)dtype_size(fill.dtype));
    tensor_free(&fill);
    return true;
}

/* LayerNormalization (17): axis, epsilon, stash_type (f32 statistics). */
static bool imp_layernorm(Imp *im, OnnxNode *on)
{
    ALLOW("axis,epsilon,stash_type");
    int64_t stash;
    Node *n = im_emit(im, on, OP_LAYER_NORM, on->in, on->nin, on->nout);
    if (!n || !im_attr_int(im, on, "axis", -1, &n->a.axis) || !im_attr_float(im, on, "epsilon", 1e-5f, &n->a.eps) ||
        !im_attr_int(im, on, "stash_type", 1, &stash))
        return false;
    return true;
}

static bool imp_instnorm(Imp *im, OnnxNode *on)
{
    ALLOW("epsilon");
    Node *n = im_emit(im, on, OP_INSTANCE_NORM, on->in, 3, 1);
    return n && im_attr_float(im, on, "epsilon", 1e-5f, &n->a.eps);
}

/* GroupNormalization: scale and bias per group (opset 18) or per channel
 * (21); shape inference tells them apart by their length. */
static bool imp_groupnorm(Imp *im, OnnxNode *on)
{
    ALLOW("epsilon,num_groups,stash_type");
    Node *n = im_emit(im, on, OP_GROUP_NORM, on->in, 3, 1);
    if (!n || !im_attr_float(im, on, "epsilon", 1e-5f, &n->a.eps) ||
        !im_attr_int(im, on, "num_groups", 0, &n->a.group))
        return false;
    if (n->a.group < 1)
        return diag_error(im->d, on->loc, "num_groups must be at least 1");
    return true;
}

/* Einsum: the equation's labels per operand (letters 0..51; an ellipsis is
 * label 60, expanded by shape inference), the output's explicit or implied
 * (the labels that appear once, in ASCII order). */
static int label_of(char c)
{
    if (c >= 'a' && c <= 'z')
        return c - 'a';
    if (c >= 'A' && c <= 'Z')
        return 26 + c - 'A';
    return -1;
}

static bool imp_einsum(Imp *im, OnnxNode *on)
{
    ALLOW("equation");
    const char *eq;
    if (!im_attr_string(im, on, "equation", "", &eq))
        return false;
    if (on->nin < 1 || on->nin > 2)
        return diag_error(im->d, on->loc, "Einsum with %d operands is not supported (1 or 2 are)", on->nin);
    Node *n = im_emit(im, on, OP_EINSUM, on->in, on->nin, 1);
    if (!n)
        return false;
    int term = 0, count[64] = {0};
    bool arrow = false, ell_any = false;
    for (const char *p = eq; *p; p++) {
        if (*p == ' ')
            continue;
        if (*p == ',' || (p[0] == '-' && p[1] == '>')) {
            if (*p == '-') {
                p++;
                arrow = true;
                term = 2;
                n->a.nein[2] = 0;
            } else if (++term > 1 || arrow) {
                return diag_error(im->d, on->loc, "equation '%s': too many operands", eq);
            }
            continue;
        }
        int8_t *lab = n->a.ein[term];
        if (n->a.nein[term] < 0)
            n->a.nein[term] = 0;
        int l;
        if (p[0] == '.' && p[1] == '.' && p[2] == '.') {
            l = 60, p += 2, ell_any = true;
        } else if ((l = label_of(*p)) < 0) {
            return diag_error(im->d, on->loc, "equation '%s': '%c' is not a label", eq, *p);
        }
        if (n->a.nein[term] >= QK_MAX_RANK)
            return diag_error(im->d, on->loc, "equation '%s': more than %d labels in a term", eq, QK_MAX_RANK);
        lab[n->a.nein[term]++] = (int8_t)l;
        if (term < 2 && l < 60)
            count[l]++;
    }
    if (term + (arrow ? -1 : 1) != on->nin && !(arrow && term == 2 && on->nin == (n->a.nein[1] >= 0 ? 2 : 1)))
        return diag_error(im->d, on->loc, "equation '%s' has terms for %d operands, the node has %d", eq,
                          n->a.nein[1] >= 0 ? 2 : 1, on->nin);
    if (!arrow) { /* implicit output: the ellipsis, then the labels seen once in ASCII order (A-Z, a-z: NumPy's) */
        n->a.nein[2] = 0;
        if (ell_any)
            n->a.ein[2][n->a.nein[2]++] = 60;
        for (int k = 0; k < 52; k++) {
            int l = (k + 26) % 52;
            if (count[l] == 1) {
                if (n->a.nein[2] >= QK_MAX_RANK)
                    return diag_error(im->d, on->loc, "equation '%s': too many output labels", eq);
                n->a.ein[2][n->a.nein[2]++] = (int8_t)l;
            }
        }
    }
    if (n->a.nein[0] < 0)
        n->a.nein[0] = 0;
    return true;
}

static bool parse_auto_pad(Imp *im, OnnxNode *on, AutoPad *out)
{
    const char *s;
    if (!im_attr_string(im, on, "auto_pad", "NOTSET", &s))
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
    if (!im_attr_ints(im, on, "kernel_shape", k, 3, &nk) || !im_attr_ints(im, on, "strides", s, 3, &ns) ||
        !im_attr_ints(im, on, "dilations", dl, 3, &nd) || !im_attr_ints(im, on, "pads", p, 6, &np) ||
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
    ALLOW("auto_pad,dilations,group,kernel_shape,pads,strides");
    Node *n = im_emit(im, on, im_spec_of(on->np)->op, on->in, on->nin, 1);
    if (!n || !parse_window(im, on, &n->a, false))
        return false;
    if (!im_attr_int(im, on, "group", 1, &n->a.group))
        return false;
    if (n->a.group < 1)
        return diag_error(im->d, on->loc, "group must be >= 1, not %lld", (long long)n->a.group);
    return true;
}

static bool imp_pool(Imp *im, OnnxNode *on)
{
    ALLOW(im_spec_of(on->np)->op == OP_MAXPOOL ? "auto_pad,ceil_mode,dilations,kernel_shape,pads,storage_order,strides" : "auto_pad,ceil_mode,count_include_pad,kernel_shape,pads,strides,dilations");
    OpKind op = im_spec_of(on->np)->op;
    if (op == OP_AVGPOOL && on->nout > 1)
        return diag_error(im->d, on->loc, "AveragePool has one output");
    Node *n = im_emit(im, on, op, on->in, 1, on->nout);
    if (!n || !parse_window(im, on, &n->a, true))
        return false;
    int64_t ceil_mode, cip, so;
    if (!im_attr_int(im, on, "ceil_mode", 0, &ceil_mode) || !im_attr_int(im, on, "count_include_pad", 0, &cip) ||
        !im_attr_int(im, on, "storage_order", 0, &so))
        return false;
    n->a.ceil_mode = ceil_mode != 0;
    n->a.count_include_pad = cip != 0;
    if (so != 0 && so != 1)
        return diag_error(im->d, on->loc, "storage_order must be 0 or 1");
    n->a.storage_order = (int)so;
    return true;
}

static bool imp_batchnorm(Imp *im, OnnxNode *on)
{
    ALLOW("epsilon,momentum,spatial,training_mode,consumed_inputs,is_test");
    int64_t training = 0, spatial = 1;
    if (im->opset >= 14 && !im_attr_int(im, on, "training_mode", 0, &training))
        return false;
    if (im->opset < 9 && !im_attr_int(im, on, "spatial", 1, &spatial))
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
    Node *n = im_emit(im, on, OP_BATCHNORM, on->in, on->nin, nout);
    if (!n)
        return false;
    n->a.training = training != 0;
    return im_attr_float(im, on, "epsilon", 1e-5f, &n->a.eps) && im_attr_float(im, on, "momentum", 0.9f, &n->a.momentum);
}

static bool imp_flatten(Imp *im, OnnxNode *on)
{
    ALLOW("axis");
    Node *n = im_emit(im, on, OP_FLATTEN, on->in, 1, 1);
    return n && im_attr_int(im, on, "axis", 1, &n->a.axis);
}

static bool imp_transpose(Imp *im, OnnxNode *on)
{
    ALLOW("perm");
    Node *n = im_emit(im, on, OP_TRANSPOSE, on->in, 1, 1);
    if (!n || !im_attr_ints(im, on, "perm", n->a.ints, QK_MAX_RANK, &n->a.nints))
        return false;
    return true; /* nints -1: reverse, resolved by shape inference */
}

static bool imp_concat(Imp *im, OnnxNode *on)
{
    ALLOW("axis");
    for (int i = 0; i < on->nin; i++)
        if (!on->in[i])
            return diag_error(im->d, on->loc, "input %d is empty", i);
    Node *n = im_emit(im, on, OP_CONCAT, on->in, on->nin, 1);
    if (!n || !im_attr_int(im, on, "axis", im->opset < 4 ? 1 : INT64_MIN, &n->a.axis))
        return false;
    if (n->a.axis == INT64_MIN)
        return diag_error(im->d, on->loc, "attribute 'axis' is required");
    return true;
}

static bool imp_cast(Imp *im, OnnxNode *on)
{
    ALLOW("to,saturate");
    int64_t to;
    if (im->opset < 6) { /* 'to' was a type name */
        const char *name;
        if (!im_attr_string(im, on, "to", "", &name))
            return false;
        to = INT64_MIN;
        for (int code = 1; code <= 16; code++)
            if (strcmp(dtype_onnx_code_name(code), name) == 0)
                to = code;
    } else if (!im_attr_int(im, on, "to", INT64_MIN, &to)) {
        return false;
    }
    if (to == INT64_MIN)
        return diag_error(im->d, on->loc, "attribute 'to' is required");
    DType dt = dtype_from_onnx((int)to);
    if (dt == DT_UNDEF)
        return diag_error(im->d, on->loc, "cast to %s (%lld) is not supported", dtype_onnx_code_name((int)to),
                          (long long)to);
    Node *n = im_emit(im, on, OP_CAST, on->in, 1, 1);
    if (!n)
        return false;
    n->a.to = dt;
    return true;
}

/* Dropout at inference is the identity; its mask output is not supported. */
static bool imp_dropout(Imp *im, OnnxNode *on)
{
    ALLOW("ratio,seed,is_test");
    int64_t is_test;
    if (im->opset < 7 && !im_attr_int(im, on, "is_test", 1, &is_test))
        return false;
    /* training_mode (opset 12, input 2): true only with ratio 0 (the identity) */
    double training = 0, ratio = 0.5;
    if (on->nin > 2 && on->in[2] && !im_const_scalar(im, on, 2, "training_mode", &training))
        return false;
    if (training != 0) {
        if (on->nin > 1 && on->in[1] && !im_const_scalar(im, on, 1, "ratio", &ratio))
            return false;
        if (ratio != 0)
            return diag_error(im->d, on->loc, "training-mode Dropout (ratio %g) drops elements at random; qkc "
                                              "compiles inference, where Dropout is the identity", ratio);
    }
    if (!im_emit(im, on, OP_IDENTITY, on->in, 1, 1))
        return false;
    if (on->nout < 2 || !on->np->output[1] || !*on->np->output[1])
        return true;
    /* the mask: all true, of the data's shape */
    Value *s = im_temp(im, arena_printf(im->g->arena, "%s_shape", on->np->output[1]));
    im_aux(im, on, OP_SHAPE, on->in, 1, s);
    Value *mask;
    if (!im_def_output(im, on, 1, &mask))
        return false;
    Node *n = ir_node_new(im->g, OP_CONSTANT_OF_SHAPE, NULL, &s, 1, &mask, 1);
    n->loc = on->loc;
    n->a.to = DT_BOOL;
    n->a.fill = 1;
    return true;
}

/* QuantizeLinear/DequantizeLinear: per tensor, or per axis from opset 13
 * (default axis 1); blocked quantization (opset 21) is not supported. */
static bool imp_qdq(Imp *im, OnnxNode *on)
{
    ALLOW(im_spec_of(on->np)->op == OP_QUANTIZE ? "axis,saturate,block_size,output_dtype" : "axis,block_size");
    int64_t block = 0, out_dt = 0, sat = 1;
    if (!im_attr_int(im, on, "block_size", 0, &block) || !im_attr_int(im, on, "output_dtype", 0, &out_dt) ||
        !im_attr_int(im, on, "saturate", 1, &sat))
        return false;
    if (block != 0)
        return diag_error(im->d, on->loc, "blocked quantization (block_size %lld) is not supported", (long long)block);
    Node *n = im_emit(im, on, im_spec_of(on->np)->op, on->in, on->nin, 1);
    if (!n || !im_attr_int(im, on, "axis", 1, &n->a.axis))
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

/* com.microsoft QGemm (ONNX Runtime's QOperator Gemm):
 *   y = quantize(s_a s_b ((a - a_zp)(b' - b_zp) + C), y_s, y_zp), or floats when
 * y_scale is absent — lowered to QLinearMatMul (with the i32 bias), or to
 * MatMulInteger + bias + DequantizeLinear. b' is b transposed (a constant)
 * when transB. transA and alpha != 1 are not supported. */
static bool imp_qgemm(Imp *im, OnnxNode *on)
{
    ALLOW("alpha,transA,transB");
    int64_t ta, tb;
    float alpha;
    if (!im_attr_int(im, on, "transA", 0, &ta) || !im_attr_int(im, on, "transB", 0, &tb) ||
        !im_attr_float(im, on, "alpha", 1.0f, &alpha))
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
        if (!im_charge_const(im, on, value_bytes(b)))
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
        return im_emit(im, on, OP_QLINEAR_MATMUL, q, c ? 9 : 8, 1) != NULL;
    }
    /* floats out: exact i32 accumulation, + C, one dequantization by s_a s_b */
    if (!in[1] || in[1]->kind != VAL_CONST || !bs || bs->kind != VAL_CONST)
        return diag_error(im->d, on->loc, "QGemm with float output needs constant scales");
    Value *acc = im_temp(im, "qgemm_acc");
    Value *mi[4] = {in[0], in[3], in[2], bz};
    im_aux(im, on, OP_MATMUL_INTEGER, mi, 4, acc);
    if (c) {
        Value *acc2 = im_temp(im, "qgemm_accb");
        Value *ai[2] = {acc, c};
        im_aux(im, on, OP_ADD, ai, 2, acc2);
        acc = acc2;
    }
    int64_t nb = shape_numel(&bs->shape);
    Shape ss = {.rank = nb > 1 ? 1 : 0, .d = {nb}};
    Value *sc = ir_const_new(im->g, ir_unique_name(im->g, "qgemm_scale"), DT_F32, &ss, NULL);
    for (int64_t i = 0; i < nb; i++)
        ((float *)sc->data)[i] = *(const float *)in[1]->data * ((const float *)bs->data)[i];
    Value *di[2] = {acc, sc};
    Node *dq = im_emit(im, on, OP_DEQUANTIZE, di, 2, 1);
    if (!dq)
        return false;
    dq->a.axis = -1; /* per column */
    return true;
}

/* com.microsoft QLinearGlobalAveragePool: NCHW only. */
static bool imp_qgap(Imp *im, OnnxNode *on)
{
    ALLOW("channels_last");
    int64_t cl;
    if (!im_attr_int(im, on, "channels_last", 0, &cl))
        return false;
    if (cl)
        return diag_error(im->d, on->loc, "channels_last=1 is not supported");
    return im_emit(im, on, OP_QLINEAR_GAP, on->in, on->nin, 1) != NULL;
}

/* Constant: a value, no node. */
static bool imp_constant(Imp *im, OnnxNode *on)
{
    ALLOW("value,value_float,value_floats,value_int,value_ints,sparse_value,value_string,value_strings");
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
            im_count_external(im, a->t, &t);
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
    v->loc = im_value_loc(im, on->loc, v->name);
    strmap_put(&im->defs, v->name, v);
    tensor_free(&t);
    return true;
}

/* ---- the table ----------------------------------------------------------- */

#define imp_none NULL

/* Every ONNX op type qkc imports. First the ONNX forms whose arity differs
 * from their IR op's (the first match wins), then one entry per row of
 * ir/ops.def (their ONNX arity: the operands not marked '+'), then the
 * ONNX ops that import as other IR ops. */
static const OpSpec specs[] = {
    /* before opset 9 an inference BatchNormalization may list the training outputs */
    {"BatchNormalization", NULL, imp_batchnorm, 5, 5, 1, 5, OP_BATCHNORM, true},
    /* n-ary in ONNX, binary in the IR */
    {"Max", NULL, imp_variadic, 1, -1, 1, 1, OP_MAX, true},
    {"Min", NULL, imp_variadic, 1, -1, 1, 1, OP_MIN, true},
#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    {name, ((flags) & OPF_MS_DOMAIN) ? "com.microsoft" : NULL, imp_##import, min_in, max_in, min_out, max_out, OP_##id, false},
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem) \
    {name, NULL, imp_##import, min_in, max_in, 1, 1, OP_##id, false},
#include "ir/ops.def"
#undef OP
#undef E
    {"Dropout", NULL, imp_dropout, 1, 3, 1, 2, OP_IDENTITY, true, 1u << 1 | 1u << 2},
    {"Sum", NULL, imp_sum, 1, -1, 1, 1, OP_ADD, true},
    {"Mean", NULL, imp_mean, 1, -1, 1, 1, OP_ADD, true},
    {"Upsample", NULL, imp_upsample, 1, 2, 1, 1, OP_RESIZE, true, 1u << 1},
    {"QGemm", "com.microsoft", imp_qgemm, 6, 9, 1, 1, OP_QLINEAR_MATMUL, true},
    {"Constant", NULL, imp_constant, 0, 0, 1, 1, OP_IDENTITY, true},
};

bool im_default_domain(const char *domain) { return !domain || !*domain || strcmp(domain, "ai.onnx") == 0; }

const OpSpec *im_spec_of(const Onnx__NodeProto *np)
{
    if (!np->op_type)
        return NULL;
    bool dflt = im_default_domain(np->domain);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        const OpSpec *sp = &specs[i];
        if (!sp->fn || strcmp(sp->name, np->op_type) != 0)
            continue;
        if (sp->domain ? (!dflt && strcmp(sp->domain, np->domain) == 0) : dflt)
            return sp;
    }
    return NULL;
}

const char *onnx_op_at(int i, const char **domain)
{
    if (i < 0 || (size_t)i >= sizeof specs / sizeof specs[0])
        return NULL;
    *domain = specs[i].domain;
    return specs[i].fn ? specs[i].name : "";
}

bool onnx_op_supported(const char *op_type, const char *domain)
{
    Onnx__NodeProto np = {0};
    np.op_type = (char *)op_type;
    np.domain = (char *)domain;
    return im_spec_of(&np) != NULL;
}

bool onnx_input_is_static(const char *op_type, const char *domain, int k)
{
    Onnx__NodeProto np = {0};
    np.op_type = (char *)op_type;
    np.domain = (char *)domain;
    const OpSpec *sp = im_spec_of(&np);
    OpRole r;
    if (!sp)
        return false;
    if (sp->own_arity)
        return k < 32 && (sp->static_in >> k & 1);
    return op_role(sp->op, k, &r) && r.constant;
}

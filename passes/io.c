/* io.c — pass "io": graph inputs and outputs kept quantized (--io int8),
 * for pipelines that already hold quantized data.
 * requires: qdq-fold done (the entry Q and exit DQ are what is left of the
 *           model's float interface)
 * gives, with QuantOptions.io_int8, for per-tensor constant parameters:
 *   input x -> [views, Transpose]* -> QuantizeLinear(s, zp)
 *       -> x is the u8/i8 input (Value.qscale = s, qzero = zp) and the Q is
 *          gone; the views run on the integers (a per-tensor Q commutes
 *          with data movement, so the result is the same bits);
 *   output y = DequantizeLinear(q, s, zp)
 *       -> the output is q, under y's name, with s and zp; the DQ is left
 *          to dce.
 * An input or output that cannot stay quantized (read by a float op,
 * per-axis parameters, computed in float) stays float with a warning that
 * says why; none at all is an error. Does nothing without io_int8. */
#include "passes.h"

#include <string.h>

static bool movable(const Node *n) { return (op_info[n->op].flags & OPF_VIEW) || n->op == OP_TRANSPOSE; }

/* The one node that reads v (NULL when none, several, or v is an output). */
static Node *sole_reader(const Graph *g, const Value *v)
{
    Node *r = NULL;
    if (v->is_output)
        return NULL;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] == v) {
                if (r)
                    return NULL;
                r = n;
            }
    }
    return r;
}

/* Per-tensor constant parameters of a Q/DQ node, into *s and *zp (dtype of
 * the quantized side in *t). */
static bool tensor_params(const Node *q, float *s, int32_t *zp, DType *t)
{
    const Value *sv = q->in[1], *zv = q->nin > 2 ? q->in[2] : NULL;
    if (sv->kind != VAL_CONST || sv->dtype != DT_F32 || shape_numel(&sv->shape) != 1)
        return false;
    if (zv && (zv->kind != VAL_CONST || shape_numel(&zv->shape) != 1))
        return false;
    *t = q->op == OP_QUANTIZE ? q->out[0]->dtype : q->in[0]->dtype;
    if (*t != DT_U8 && *t != DT_I8)
        return false;
    *s = *(const float *)sv->data;
    *zp = !zv ? 0 : zv->dtype == DT_U8 ? *(const uint8_t *)zv->data : *(const int8_t *)zv->data;
    return *s > 0;
}

static bool quantize_input(Graph *g, PassCtx *pc, Value *x)
{
    Node *chain[QK_MAX_RANK * 2];
    int nc = 0;
    Value *v = x;
    Node *r = sole_reader(g, v);
    while (r && movable(r) && r->in[0] == v && nc < (int)(sizeof chain / sizeof *chain)) {
        chain[nc++] = r;
        v = r->out[0];
        r = sole_reader(g, v);
    }
    float s;
    int32_t zp;
    DType t;
    if (!r || r->op != OP_QUANTIZE || r->in[0] != v || !tensor_params(r, &s, &zp, &t)) {
        const char *why = !r ? "it is read by several nodes, or is an output"
                        : r->op != OP_QUANTIZE ? "its first reader is not quantized"
                                               : "its quantization is not per tensor with constant parameters";
        diag_warn(pc->d, x->loc, "--io int8: input '%s' stays float: %s%s%s%s", x->name, why,
                  r ? " (" : "", r ? r->name : "", r ? ")" : "");
        return false;
    }
    Value *vq = r->out[0];
    x->dtype = t;
    for (int i = 0; i < nc; i++)
        chain[i]->out[0]->dtype = t;
    x->qscale = s, x->qzero = zp;
    ir_node_remove(g, r);
    ir_replace_uses(g, vq, v);
    return true;
}

static bool quantize_output(Graph *g, PassCtx *pc, Value *y)
{
    Node *dq = y->def;
    float s;
    int32_t zp;
    DType t;
    if (!dq || dq->op != OP_DEQUANTIZE || !tensor_params(dq, &s, &zp, &t)) {
        diag_warn(pc->d, y->loc, "--io int8: output '%s' stays float: %s", y->name,
                  !dq ? "it is an input or a constant"
                  : (dq->op == OP_MATMUL_INTEGER || dq->op == OP_CONV_INTEGER)
                      ? "its kernel dequantizes int32 sums (a last layer has no int8 output range)"
                  : dq->op != OP_DEQUANTIZE ? "it is computed in float"
                                            : "its quantization is not per tensor with constant parameters");
        return false;
    }
    Value *q = dq->in[0];
    if (q->kind != VAL_TEMP || q->is_output) {
        diag_warn(pc->d, y->loc, "--io int8: output '%s' stays float: its integers are %s", y->name,
                  q->is_output ? "another output" : "an input or a constant");
        return false;
    }
    ir_replace_output(g, y, q);
    q->qscale = s, q->qzero = zp;
    return true;
}

bool pass_io(Graph *g, PassCtx *pc)
{
    const QuantOptions *o = pc->quant;
    if (!o || !o->io_int8)
        return true;
    int n = 0;
    for (int i = 0; i < g->ninputs; i++)
        n += g->inputs[i]->dtype == DT_F32 && quantize_input(g, pc, g->inputs[i]);
    for (int i = 0; i < g->noutputs; i++)
        n += g->outputs[i]->dtype == DT_F32 && quantize_output(g, pc, g->outputs[i]);
    if (n == 0)
        return diag_error(pc->d, loc_file(g->file),
                          "--io int8: no input or output of the model can stay quantized (see the warnings); it "
                          "needs --precision int8, or a model quantized with QuantizeLinear/DequantizeLinear");
    return true;
}

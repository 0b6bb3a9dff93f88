/* print.c — the IR's text form, for `qkc inspect` and golden tests:
 *
 *   graph mlp (opset 13)
 *     input  %input: f32[N,1,8,8]
 *     const  %fc1.weight: f32[128,64]  (32768 B)
 *     %h = Gemm(%x, %fc1.weight, %fc1.bias) {trans_b=1 act=relu}  # 'Gemm_0'  ws+0 per batch item
 *     output %logits
 *
 * One line per value or node; attributes printed are the op's groups in
 * ops.h; the memory plan is shown once it exists. */
#include "expr.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>

static void print_type(const Value *v, FILE *f)
{
    char b[96];
    if (v->shape.rank == RANK_UNKNOWN)
        fprintf(f, "%s[?]", dtype_name(v->dtype));
    else
        fprintf(f, "%s%s", dtype_name(v->dtype), shape_str(&v->shape, b, sizeof b));
}

static void print_ints(FILE *f, const char *name, const int64_t *v, int n)
{
    fprintf(f, " %s=[", name);
    for (int i = 0; i < n; i++) {
        if (v[i] == DIM_SYM_BATCH)
            fprintf(f, "%sN", i ? "," : "");
        else
            fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
    }
    fprintf(f, "]");
}

static void print_float(FILE *f, const char *name, float x)
{
    if (isinf(x))
        fprintf(f, " %s=%sinf", name, x < 0 ? "-" : "");
    else
        fprintf(f, " %s=%g", name, x);
}

static void print_double(FILE *f, const char *name, double x)
{
    if (isinf(x))
        fprintf(f, " %s=%sinf", name, x < 0 ? "-" : "");
    else
        fprintf(f, " %s=%.9g", name, x);
}

static void print_attrs(const Node *n, FILE *out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    const Attrs *a = &n->a;
    unsigned g = op_info[n->op].attrs;
    if (g & A_AXIS)
        fprintf(f, " axis=%" PRId64, a->axis);
    if (g & A_RANGE) {
        fprintf(f, " axis=%" PRId64, a->axis);
        if (a->axis2 == AXIS_END)
            fprintf(f, " to=end");
        else if (a->axis2 != AXIS_NEXT)
            fprintf(f, " to=%" PRId64, a->axis2);
    }
    if (g & A_ELT) {
        char names[3][32];
        double def[3];
        int np = expr_params(n->op, names, def);
        for (int i = 0; i < np; i++)
            if (a->p[i] != def[i])
                print_double(f, names[i], a->p[i]);
    }
    if (g & A_GEMM) {
        if (a->alpha != 1.0f)
            print_float(f, "alpha", a->alpha);
        if (a->beta != 1.0f)
            print_float(f, "beta", a->beta);
        if (a->trans_a)
            fprintf(f, " trans_a=1");
        if (a->trans_b)
            fprintf(f, " trans_b=1");
    }
    if (g & A_WINDOW) {
        print_ints(f, "kernel", a->kernel, a->nsp);
        print_ints(f, "strides", a->strides, a->nsp);
        print_ints(f, "pads", a->pads, 2 * a->nsp);
        print_ints(f, "dilations", a->dilations, a->nsp);
        static const char *ap[] = {"", "VALID", "SAME_UPPER", "SAME_LOWER"};
        if (a->auto_pad)
            fprintf(f, " auto_pad=%s", ap[a->auto_pad]);
    }
    if ((g & A_GROUP) && a->group != 1)
        fprintf(f, " group=%" PRId64, a->group);
    if (g & A_POOL) {
        if (a->ceil_mode)
            fprintf(f, " ceil_mode=1");
        if (a->count_include_pad)
            fprintf(f, " count_include_pad=1");
        if (a->storage_order)
            fprintf(f, " storage_order=1");
    }
    if ((g & (A_INTS | A_REDUCE)) && a->nints >= 0)
        print_ints(f, n->op == OP_TRANSPOSE ? "perm" : n->op == OP_RESHAPE ? "shape" : "axes", a->ints, a->nints);
    if (g & A_REDUCE) {
        if (!a->keepdims)
            fprintf(f, " keepdims=0");
        if (a->noop_empty)
            fprintf(f, " noop_with_empty_axes=1");
        if (a->select_last)
            fprintf(f, " select_last_index=1");
    }
    if (g & A_SCAN) {
        if (a->exclusive)
            fprintf(f, " exclusive=1");
        if (a->reverse)
            fprintf(f, " reverse=1");
    }
    if ((g & A_SIZES) && a->nsizes >= 0)
        print_ints(f, n->op == OP_SPLIT ? "split" : n->op == OP_TILE ? "repeats" : "shape", a->sizes, a->nsizes);
    if (g & A_SLICE) {
        int r = n->op == OP_SHAPE ? 1 : n->in[0] && n->in[0]->shape.rank > 0 ? n->in[0]->shape.rank : 0;
        print_ints(f, "starts", a->starts, r);
        print_ints(f, "ends", a->ends, r);
        if (n->op != OP_SHAPE)
            print_ints(f, "steps", a->steps, r);
    }
    if (g & A_PAD) {
        int r = n->in[0] && n->in[0]->shape.rank > 0 ? n->in[0]->shape.rank : 0;
        static const char *pm[] = {"constant", "reflect", "edge", "wrap"};
        int64_t pads[2 * QK_MAX_RANK];
        for (int i = 0; i < r; i++)
            pads[i] = a->pads2[i], pads[r + i] = a->pads2[QK_MAX_RANK + i];
        print_ints(f, "pads", pads, 2 * r);
        fprintf(f, " mode=%s", pm[a->mode & 3]);
        if (a->mode == PAD_CONSTANT && a->value != 0)
            print_double(f, "value", a->value);
    }
    if (g & A_SPACE)
        fprintf(f, " blocksize=%" PRId64 "%s", a->blocksize, a->mode ? " mode=CRD" : "");
    if (g & A_TRILU)
        fprintf(f, " upper=%d k=%" PRId64, a->mode, a->blocksize);
    if (g & A_RESIZE) {
        static const char *rm[] = {"nearest", "linear", "cubic"};
        fprintf(f, " mode=%s coord=%d nearest=%d", rm[a->mode % 3], a->coord, a->nearest);
    }
    if (n->op == OP_RESHAPE && a->allowzero)
        fprintf(f, " allowzero=1");
    if (g & A_TO)
        fprintf(f, " to=%s", dtype_name(a->to));
    if (n->prog) {
        fprintf(f, " expr=");
        expr_print(n->prog, f);
    }
    if (g & A_BN) {
        print_float(f, "eps", a->eps);
        if (a->training) {
            fprintf(f, " training=1");
            print_float(f, "momentum", a->momentum);
        }
    }
    if ((g & A_ACT) && a->act != ACT_NONE) {
        fprintf(f, " act=%s", act_name[a->act]);
        if (a->act == ACT_LEAKY_RELU)
            print_float(f, "alpha", a->act_alpha);
        if (a->act == ACT_CLIP) {
            print_float(f, "lo", a->act_alpha);
            print_float(f, "hi", a->act_beta);
        }
    }
    fclose(f);
    if (len)
        fprintf(out, " {%s }", buf);
    free(buf);
}

static void print_mem(const Value *v, FILE *f)
{
    switch (v->region) {
    case MEM_STATIC: fprintf(f, "  @ws+%" PRId64, v->mem_off); break;
    case MEM_BATCH: fprintf(f, "  @ws+N*%" PRId64, v->mem_off); break;
    case MEM_OUTPUT: fprintf(f, "  @output%d", v->mem_index); break;
    default: break;
    }
    if (v->alias)
        fprintf(f, " (view of %%%s)", v->alias->name);
}

void ir_print_node(const Node *n, FILE *f)
{
    fprintf(f, "  ");
    for (int k = 0; k < n->nout; k++) {
        if (k)
            fprintf(f, ", ");
        if (!n->out[k]) {
            fprintf(f, "_");
            continue;
        }
        fprintf(f, "%%%s: ", n->out[k]->name);
        print_type(n->out[k], f);
    }
    fprintf(f, " = %s(", op_info[n->op].name);
    for (int k = 0; k < n->nin; k++)
        fprintf(f, "%s%s%s", k ? ", " : "", n->in[k] ? "%" : "", n->in[k] ? n->in[k]->name : "_");
    fprintf(f, ")");
    print_attrs(n, f);
    if (n->name && n->name[0] != '#')
        fprintf(f, "  # '%s'", n->name);
    if (n->nout && n->out[0])
        print_mem(n->out[0], f);
    fprintf(f, "\n");
}

/* A graph input/output kept quantized (--io int8): its parameters. */
static void print_io_quant(const Value *v, FILE *f)
{
    if (v->qscale > 0)
        fprintf(f, "  quantized: scale=%.9g zero_point=%d", (double)v->qscale, (int)v->qzero);
}

void ir_print(const Graph *g, FILE *f)
{
    fprintf(f, "graph %s (opset %d)\n", g->name, g->opset);
    for (int i = 0; i < g->ninputs; i++) {
        fprintf(f, "  input  %%%s: ", g->inputs[i]->name);
        print_type(g->inputs[i], f);
        print_io_quant(g->inputs[i], f);
        fprintf(f, "\n");
    }
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        if (v->kind != VAL_CONST)
            continue;
        fprintf(f, "  const  %%%s: ", v->name);
        print_type(v, f);
        int64_t n = shape_numel(&v->shape);
        if (v->dtype == DT_F32 && n > 0 && n <= 4) {
            fprintf(f, " = [");
            for (int64_t k = 0; k < n; k++)
                fprintf(f, "%s%g", k ? ", " : "", ((const float *)v->data)[k]);
            fprintf(f, "]");
        } else if (v->dtype == DT_I64 && n > 0 && n <= 8) {
            fprintf(f, " = [");
            for (int64_t k = 0; k < n; k++)
                fprintf(f, "%s%" PRId64, k ? ", " : "", ((const int64_t *)v->data)[k]);
            fprintf(f, "]");
        } else {
            fprintf(f, "  (%" PRId64 " B)", value_bytes(v));
        }
        fprintf(f, "\n");
    }
    for (int i = 0; i < g->nnodes; i++)
        ir_print_node(g->nodes[i], f);
    for (int i = 0; i < g->noutputs; i++) {
        fprintf(f, "  output %%%s", g->outputs[i]->name);
        print_io_quant(g->outputs[i], f);
        fprintf(f, "\n");
    }
}

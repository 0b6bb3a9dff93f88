/* dot.c — `qkc inspect --dot`: the IR as a Graphviz graph (dot.h).
 *
 *   i0 [input]  ->  n3 [QuantizeLinear]  -u8[N,1,8,8] scale 0.0039, zp 0->  n4 [QLinearConv + relu] -> ...
 *
 * Node ids are generated (n<node id>, i<input>, o<output>, c<value id>),
 * so nothing the model names reaches the DOT syntax except inside HTML-like
 * labels, where it is XML-escaped (xml.c). Colours say how a node computes:
 * blue integer kernels, violet (de)quantization, yellow fp16, white f32,
 * dashed grey views. Constants are not nodes: a real model has hundreds
 * (weights, scales, zero points); each reader's label lists the ones it
 * reads, except the scalar scales and zero points of quantized ops, which
 * the edges already show. */
#include "dot.h"

#include <inttypes.h>
#include <string.h>

#include "report.h"
#include "xml.h"

/* The kernel family of each op: ops.def's kernel column. */
static const char *const family_name[OP_COUNT] = {
#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    [OP_##id] = #kernel,
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem) [OP_##id] = "eltwise",
#include "ir/ops.def"
#undef OP
#undef E
};

/* Constant lines listed in a node's label before "+ N more". */
enum { DOT_MAX_CONSTS = 6 };

static void type_str(const Value *v, char *buf, size_t n)
{
    char sh[96] = "[?]";
    if (v->shape.rank != RANK_UNKNOWN)
        shape_str(&v->shape, sh, sizeof sh);
    snprintf(buf, n, "%s%s", v->dtype == DT_UNDEF ? "?" : dtype_name(v->dtype), sh);
}

static double zp_at(const Value *z, int64_t i)
{
    return z->dtype == DT_U8 ? ((const uint8_t *)z->data)[i] : z->dtype == DT_I8 ? ((const int8_t *)z->data)[i] : 0;
}

/* "scale 0.0138, zp 128", or "per-channel (16): scale 0.001..0.004, zp 0";
 * the zero point s may be absent (0). */
static void qparam_str(const Value *s, const Value *z, char *buf, size_t n)
{
    if (!s || s->kind != VAL_CONST || !s->data || s->dtype != DT_F32) {
        snprintf(buf, n, "scale at run time");
        return;
    }
    int64_t ns = shape_numel(&s->shape), nz = z && z->kind == VAL_CONST && z->data ? shape_numel(&z->shape) : 0;
    double slo = 0, shi = 0, zlo = 0, zhi = 0;
    for (int64_t i = 0; i < ns; i++) {
        double x = ((const float *)s->data)[i];
        slo = i ? (x < slo ? x : slo) : x, shi = i ? (x > shi ? x : shi) : x;
    }
    for (int64_t i = 0; i < nz; i++) {
        double x = zp_at(z, i);
        zlo = i ? (x < zlo ? x : zlo) : x, zhi = i ? (x > zhi ? x : zhi) : x;
    }
    char zs[48];
    if (zlo == zhi)
        snprintf(zs, sizeof zs, "zp %.0f", zlo);
    else
        snprintf(zs, sizeof zs, "zp %.0f..%.0f", zlo, zhi);
    if (ns == 1)
        snprintf(buf, n, "scale %.4g, %s", slo, zs);
    else
        snprintf(buf, n, "per-channel (%" PRId64 "): scale %.3g..%.3g, %s", ns, slo, shi, zs);
}

/* The quantization of integer value v as operand k of node r (NULL for a
 * graph output): the reader's own scale and zero point operands when it
 * has them, else those of what made v (a QuantizeLinear, a QLinear op's
 * output parameters, a graph input kept quantized), through the ops that
 * move quantized data as it is (views, MaxPool, Transpose, ...). False
 * when v is not i8/u8 or its parameters are not in the graph. */
static bool qparams(const Value *v, const Node *r, int k, char *buf, size_t n)
{
    if (v->dtype != DT_I8 && v->dtype != DT_U8)
        return false;
    int s = -1;
    if (r) {
        switch (r->op) {
        case OP_DEQUANTIZE: s = k == QDQ_X ? QDQ_SCALE : -1; break;
        case OP_QLINEAR_MATMUL: case OP_QLINEAR_CONV:
            s = k == QLM_A ? QLM_A_SCALE : k == QLM_B ? QLM_B_SCALE : -1;
            break;
        case OP_QLINEAR_ADD: s = k == QLA_A ? QLA_A_SCALE : k == QLA_B ? QLA_B_SCALE : -1; break;
        case OP_QLINEAR_GAP: s = k == QGAP_X ? QGAP_X_SCALE : -1; break;
        default: break;
        }
    }
    if (s >= 0) {
        qparam_str(r->in[s], r->nin > s + 1 ? r->in[s + 1] : NULL, buf, n);
        return true;
    }
    for (int step = 0; v && step < 64; step++) {
        const Node *d = v->def;
        if (!d) {
            if (v->qscale > 0)
                snprintf(buf, n, "scale %.4g, zp %d", (double)v->qscale, (int)v->qzero);
            return v->qscale > 0;
        }
        switch (d->op) {
        case OP_QUANTIZE: s = QDQ_SCALE; break;
        case OP_QLINEAR_MATMUL: case OP_QLINEAR_CONV: s = QLM_Y_SCALE; break;
        case OP_QLINEAR_ADD: s = QLA_Y_SCALE; break;
        case OP_QLINEAR_GAP: s = QGAP_Y_SCALE; break;
        case OP_DYNAMIC_QUANTIZE:
            snprintf(buf, n, "scale, zp per run");
            return v == d->out[0];
        default:
            if (!op_has(d->op, OPF_VIEW) && !op_has(d->op, OPF_QPASS) && d->op != OP_MAX)
                return false;
            v = d->in[0];
            continue;
        }
        qparam_str(d->in[s], d->nin > s + 1 ? d->in[s + 1] : NULL, buf, n);
        return true;
    }
    return false;
}

/* How node n computes: "int8 u8 x i8 -> u8", "quantize f32 -> u8", "f32". */
static void precision_str(const Node *n, char *buf, size_t len)
{
    const Value *x = n->nin ? n->in[0] : NULL, *y = n->nout ? n->out[0] : NULL;
    const char *xt = x ? dtype_name(x->dtype) : "?", *yt = y ? dtype_name(y->dtype) : "?";
    switch (n->op) {
    case OP_QUANTIZE: snprintf(buf, len, "quantize %s -> %s", xt, yt); return;
    case OP_DYNAMIC_QUANTIZE: snprintf(buf, len, "quantize %s -> %s, range per run", xt, yt); return;
    case OP_DEQUANTIZE: snprintf(buf, len, "dequantize %s -> %s", xt, yt); return;
    case OP_MATMUL_INTEGER: case OP_CONV_INTEGER:
        snprintf(buf, len, "int8 %s x %s -> %s", xt, n->in[MMI_B] ? dtype_name(n->in[MMI_B]->dtype) : "?", yt);
        return;
    case OP_QLINEAR_MATMUL: case OP_QLINEAR_CONV:
        snprintf(buf, len, "int8 %s x %s -> %s", xt, n->in[QLM_B] ? dtype_name(n->in[QLM_B]->dtype) : "?", yt);
        return;
    case OP_QLINEAR_ADD:
        snprintf(buf, len, "int8 %s + %s -> %s", xt, n->in[QLA_B] ? dtype_name(n->in[QLA_B]->dtype) : "?", yt);
        return;
    case OP_QLINEAR_GAP: snprintf(buf, len, "int8 %s -> %s", xt, yt); return;
    default: break;
    }
    if (op_has(n->op, OPF_VIEW))
        snprintf(buf, len, "view, %s", yt);
    else if (x && y && x->dtype != DT_UNDEF && y->dtype != DT_UNDEF && x->dtype != y->dtype)
        snprintf(buf, len, "%s -> %s", xt, yt); /* a conversion, a comparison, Shape, ... */
    else
        snprintf(buf, len, "%s", y && y->dtype == DT_F16 ? "fp16" : yt);
}

static const char *fill_of(const Node *n)
{
    const Value *y = n->nout ? n->out[0] : NULL;
    if (n->op == OP_QUANTIZE || n->op == OP_DEQUANTIZE || n->op == OP_DYNAMIC_QUANTIZE)
        return "#e5dbff";
    if (op_has(n->op, OPF_QUANT))
        return "#cfe2ff";
    if (op_has(n->op, OPF_VIEW))
        return "#f1f3f5";
    if (y && (y->dtype == DT_F16 || y->dtype == DT_BF16))
        return "#fff3bf";
    if (y && y->dtype == DT_F32)
        return "#ffffff";
    return "#f8f9fa";
}

/* Whether constant operand k of n (role r) is a scale or zero point of a
 * quantized op: left out of the label, the edges and the weights' line
 * show them. */
static bool edge_shown(const Node *n, const OpRole *r)
{
    return op_has(n->op, OPF_QUANT) && (strstr(r->name, "scale") || strstr(r->name, "zero_point"));
}

/* One folded constant: "w: i8[16,8,3,3] per-channel (16)", "k = 0.5". */
static void const_line(const Graph *g, const Node *n, int k, const char *role, char *buf, size_t len)
{
    const Value *c = n->in[k];
    char ty[128];
    type_str(c, ty, sizeof ty);
    int64_t cnt = shape_numel(&c->shape);
    if (cnt == 1 && c->data && (c->dtype == DT_F32 || c->dtype == DT_I64)) {
        if (c->dtype == DT_F32)
            snprintf(buf, len, "%s = %.4g", role, (double)*(const float *)c->data);
        else
            snprintf(buf, len, "%s = %" PRId64, role, *(const int64_t *)c->data);
        return;
    }
    char q[128] = "";
    if ((n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL) && k == QLM_B) {
        const Value *ws = n->in[QLM_B_SCALE];
        char qs[112];
        qparam_str(ws, n->in[QLM_B_ZP], qs, sizeof qs);
        snprintf(q, sizeof q, " %s%s", ws && shape_numel(&ws->shape) == 1 ? "per-tensor, " : "", qs);
    } else if ((n->op == OP_CONV_INTEGER || n->op == OP_MATMUL_INTEGER) && k == MMI_B) {
        /* the weights' scales are folded with the input's into the epilogue: the scheme only */
        const Value *ws = drv_weight_scales(g, n);
        int64_t nws = ws ? shape_numel(&ws->shape) : 0;
        if (nws > 1)
            snprintf(q, sizeof q, " per-channel (%" PRId64 ")", nws);
        else if (nws == 1)
            snprintf(q, sizeof q, " per-tensor");
    }
    snprintf(buf, len, "%s: %s%s", role, ty, q);
}

/* One line of an HTML-like label: text in the font attributes given
 * (italic and left-aligned for constants), escaped, at most max chars. */
static void label_row(FILE *f, const char *font, bool italic, const char *text, int max)
{
    fprintf(f, "<TR><TD%s><FONT %s>%s", italic ? " ALIGN=\"LEFT\"" : "", font, italic ? "<I>" : "");
    drv_xml_text(f, text, max);
    fprintf(f, "%s</FONT></TD></TR>", italic ? "</I>" : "");
}

/* A long text over several rows of at most `width` characters, broken
 * after the last ", " that fits, else after the last space. */
static void label_wrapped(FILE *f, const char *font, const char *text, size_t width)
{
    char row[256];
    while (*text) {
        size_t n = strlen(text);
        if (n > width) {
            size_t comma = 0, space = 0;
            for (size_t k = width; k > width / 3 && !comma; k--) {
                comma = text[k - 1] == ' ' && text[k - 2] == ',' ? k : 0;
                space = !space && text[k - 1] == ' ' ? k : space;
            }
            n = comma ? comma : space ? space : width;
        }
        snprintf(row, sizeof row, "%.*s", (int)(n < sizeof row ? n : sizeof row - 1), text);
        label_row(f, font, false, row, 0);
        text += n;
    }
}

static void node_stmt(const Graph *g, const Node *n, const Target *t, FILE *f)
{
    bool view = op_has(n->op, OPF_VIEW);
    fprintf(f, "  n%d [fillcolor=\"%s\"%s, label=<<TABLE BORDER=\"0\" CELLBORDER=\"0\" CELLSPACING=\"0\">", n->id,
            fill_of(n), view ? ", style=\"rounded,filled,dashed\"" : "");
    char head[96];
    snprintf(head, sizeof head, "%s%s%s", op_info[n->op].name, (op_info[n->op].attrs & A_ACT) && n->a.act ? " + " : "",
             (op_info[n->op].attrs & A_ACT) && n->a.act ? act_name[n->a.act] : "");
    fprintf(f, "<TR><TD><B>");
    drv_xml_text(f, head, 0);
    fprintf(f, "</B></TD></TR>");
    label_row(f, "POINT-SIZE=\"10\"", false, n->name, 56);
    char prec[160], line[200];
    precision_str(n, prec, sizeof prec);
    snprintf(line, sizeof line, "%s   [%s]", prec, family_name[n->op]);
    label_row(f, "POINT-SIZE=\"10\" COLOR=\"#1c4f9c\"", false, line, 0);
    /* the kernel, once the graph is what codegen sees (an aliased view has none) */
    if (t && g->planned && !(view && n->out[0] && n->out[0]->alias)) {
        snprintf(line, sizeof line, "kernel: %s", cg_kernel_desc(t, n));
        label_wrapped(f, "POINT-SIZE=\"9\" COLOR=\"#495057\"", line, 44);
    }
    int shown = 0, more = 0;
    for (int k = 0; k < n->nin; k++) {
        const Value *c = n->in[k];
        OpRole r;
        if (!c || c->kind != VAL_CONST)
            continue;
        if (!op_role(n->op, k, &r))
            snprintf(r.name, sizeof r.name, "in%d", k);
        if (edge_shown(n, &r))
            continue;
        if (shown == DOT_MAX_CONSTS) {
            more++;
            continue;
        }
        const_line(g, n, k, r.name, line, sizeof line);
        label_row(f, "POINT-SIZE=\"9\" COLOR=\"#6c757d\"", true, line, 72);
        shown++;
    }
    if (more) {
        snprintf(line, sizeof line, "+ %d more constant%s", more, more > 1 ? "s" : "");
        label_row(f, "POINT-SIZE=\"9\" COLOR=\"#6c757d\"", true, line, 0);
    }
    fprintf(f, "</TABLE>>];\n");
}

/* An edge for value v into `to` (operand k of node r, or a graph output). */
static void edge_stmt(const Graph *g, const Value *v, const char *to, const Node *r, int k, FILE *f)
{
    char from[32], ty[128], q[128];
    if (v->def) {
        snprintf(from, sizeof from, "n%d", v->def->id);
    } else if (v->kind == VAL_INPUT) {
        int i = 0;
        while (i < g->ninputs && g->inputs[i] != v)
            i++;
        snprintf(from, sizeof from, "i%d", i);
    } else {
        snprintf(from, sizeof from, "c%d", v->id);
    }
    type_str(v, ty, sizeof ty);
    bool quant = qparams(v, r, k, q, sizeof q);
    fprintf(f, "  %s -> %s [label=\"%s%s%s\"%s];\n", from, to, ty, quant ? "\\n" : "", quant ? q : "",
            quant ? ", color=\"#1c4f9c\", fontcolor=\"#1c4f9c\"" : "");
}

/* A graph input or output: its own node (in/outputs stand out by shape). */
static void io_stmt(const char *id, const char *what, const Value *v, const char *shape, const char *fill, FILE *f)
{
    char ty[128];
    type_str(v, ty, sizeof ty);
    fprintf(f, "  %s [shape=%s, style=filled, fillcolor=\"%s\", label=<<TABLE BORDER=\"0\" CELLBORDER=\"0\" "
               "CELLSPACING=\"0\"><TR><TD><B>%s</B></TD></TR>", id, shape, fill, what);
    label_row(f, "POINT-SIZE=\"10\"", false, value_pub_name(v), 56);
    label_row(f, "POINT-SIZE=\"10\"", false, ty, 0);
    fprintf(f, "</TABLE>>];\n");
}

void drv_dot(const Graph *g, const Target *t, FILE *f)
{
    fprintf(f, "digraph qkc {\n  graph [rankdir=TB, fontname=\"Helvetica\", labelloc=t, label=<");
    char title[160];
    snprintf(title, sizeof title, "%s: %d node%s", g->name ? g->name : "graph", g->nnodes, g->nnodes == 1 ? "" : "s");
    drv_xml_text(f, title, 0);
    if (g->planned)
        fprintf(f, ", workspace %" PRId64 " B + %" PRId64 " B per batch item", g->ws_static, g->ws_batch);
    fprintf(f, ">];\n  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=11];\n"
               "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#495057\"];\n");
    for (int i = 0; i < g->ninputs; i++) {
        char id[32];
        snprintf(id, sizeof id, "i%d", i);
        io_stmt(id, "input", g->inputs[i], "invhouse", "#d3f9d8", f);
    }
    for (int i = 0; i < g->nnodes; i++)
        node_stmt(g, g->nodes[i], t, f);
    for (int i = 0; i < g->noutputs; i++) {
        const Value *v = g->outputs[i];
        char id[32];
        snprintf(id, sizeof id, "o%d", i);
        io_stmt(id, "output", v, "house", "#ffe8cc", f);
        if (v->kind == VAL_CONST) /* folding left a constant output: it has a node */
            fprintf(f, "  c%d [shape=note, fillcolor=\"#e9ecef\", label=\"constant\"];\n", v->id);
    }
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        char to[32];
        snprintf(to, sizeof to, "n%d", n->id);
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] && n->in[k]->kind != VAL_CONST)
                edge_stmt(g, n->in[k], to, n, k, f);
    }
    for (int i = 0; i < g->noutputs; i++) {
        char to[32];
        snprintf(to, sizeof to, "o%d", i);
        edge_stmt(g, g->outputs[i], to, NULL, -1, f);
    }
    fprintf(f, "}\n");
}

void drv_dot_dump(void *ctx, const Graph *g, FILE *f) { drv_dot(g, ctx, f); }

/* report.c — the per-layer quantization report of an int8 compile
 * (--report FILE.json), and the warnings of every quantized compile.
 *
 * For each integer layer: its op and name, the quantization of its input
 * and output (the range they stand for, scale, zero point), the fraction of
 * the calibration values that fall outside that range (clipped), the SQNR
 * expected from quantizing the calibration distribution (rounding noise
 * inside the range, clipping error outside, from the profile's
 * histogram), the weights' scheme and scales, and the kernel. */
#include "report.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "codegen/codegen.h"
#include "mixed.h"

typedef struct Qparam {
    bool ok;
    double scale;
    int zp;
    DType t;
} Qparam;

static Qparam qparam(const Value *s, const Value *z, DType t)
{
    Qparam q = {0};
    if (!s || s->kind != VAL_CONST || shape_numel(&s->shape) != 1)
        return q;
    q.ok = true;
    q.scale = *(const float *)s->data;
    q.t = t;
    if (z && z->kind == VAL_CONST && z->data)
        q.zp = z->dtype == DT_U8 ? *(const uint8_t *)z->data : *(const int8_t *)z->data;
    return q;
}

/* The quantization of an integer activation, from what made it: a
 * QuantizeLinear, a QLinear op's output parameters, a graph input kept
 * quantized, or (through views, MaxPool, Transpose and the Max of a Relu)
 * its source. */
static Qparam value_qparam(const Value *v)
{
    for (int step = 0; v && step < 64; step++) {
        const Node *d = v->def;
        if (!d)
            return v->qscale > 0 ? (Qparam){true, v->qscale, v->qzero, v->dtype} : (Qparam){0};
        switch (d->op) {
        case OP_QUANTIZE: return qparam(d->in[1], d->nin > 2 ? d->in[2] : NULL, v->dtype);
        case OP_QLINEAR_CONV: case OP_QLINEAR_MATMUL: case OP_QLINEAR_ADD:
            return qparam(d->in[6], d->nin > 7 ? d->in[7] : NULL, v->dtype);
        case OP_QLINEAR_GAP: return qparam(d->in[3], d->nin > 4 ? d->in[4] : NULL, v->dtype);
        default:
            if (!(op_info[d->op].flags & OPF_VIEW) && d->op != OP_MAXPOOL && d->op != OP_TRANSPOSE &&
                d->op != OP_MAX)
                return (Qparam){0};
            v = d->in[0];
        }
    }
    return (Qparam){0};
}

/* Fraction of the values outside [lo, hi] and the expected SQNR of
 * quantizing them with step `step` inside it, from the histogram (bin
 * centres). A value is clipped only when it rounds beyond the rails, i.e.
 * lies more than half a step outside: 1.0 with s8 scale f32(1/127), whose
 * top 127 * scale is a hair under 1.0, still quantizes to 127. */
static void estimate(const CalibStats *s, double lo, double hi, double step, double *clipped, double *sqnr)
{
    double sig = 0, noise = 0, out = 0, total = (double)s->count;
    for (int i = 0; i < s->nbins; i++) {
        double a, b;
        calib_bin_bounds(s->bins[i].key, &a, &b);
        double c = 0.5 * (a + b), n = (double)s->bins[i].n;
        /* a bin is clipped when even its edge nearest zero is outside the
         * range (values often sit on that edge: 1.0 for pixels in [0, 1]) */
        double e = calib_bin_float(s->bins[i].key);
        sig += n * c * c;
        if (e < lo - 0.5 * step || e > hi + 0.5 * step) {
            double e = c < lo ? lo - c : c - hi;
            noise += n * e * e;
            out += n;
        } else {
            noise += n * step * step / 12;
        }
    }
    *clipped = total > 0 ? out / total : 0;
    *sqnr = noise > 0 && sig > 0 ? 10 * log10(sig / noise) : INFINITY;
}

/* The float tensor a quantized value stands for ("x_q" -> "x"). */
static const CalibStats *stats_of(const CalibProfile *p, const Value *v)
{
    const CalibStats *s = profile_find(p, v->name);
    size_t n = strlen(v->name);
    if (!s && n > 2 && strcmp(v->name + n - 2, "_q") == 0) {
        char *base = strndup(v->name, n - 2);
        s = profile_find(p, base);
        free(base);
    }
    return s;
}

static void tensor_json(FILE *f, const char *what, const Value *v, Qparam q, const CalibProfile *p, const Node *n,
                        int *warned)
{
    if (!q.ok)
        return;
    int qmin = q.t == DT_I8 ? -128 : 0, qmax = q.t == DT_I8 ? 127 : 255;
    double lo = (qmin - q.zp) * q.scale, hi = (qmax - q.zp) * q.scale;
    fprintf(f, ", \"%s\": {\"tensor\": \"%s\", \"type\": \"%s\", \"scale\": %.9g, \"zero_point\": %d, \"range\": [%.6g, %.6g]",
            what, v->name, dtype_name(q.t), q.scale, q.zp, lo, hi);
    const CalibStats *s = p ? stats_of(p, v) : NULL;
    if (s) {
        double clipped, sqnr;
        estimate(s, lo, hi, q.scale, &clipped, &sqnr);
        fprintf(f, ", \"clipped\": %.6g, \"est_sqnr_db\": %.3f", clipped, isfinite(sqnr) ? sqnr : 999.0);
        if ((isfinite(sqnr) && sqnr < 20) || clipped > 0.01) {
            fprintf(stderr, "qkc: warning: layer '%s' (%s): its %s '%s' quantizes with an estimated SQNR of %.1f dB "
                            "(%.2f%% of the calibration values clipped); consider --keep-float %s\n",
                    n->name, op_info[n->op].name, what, v->name, sqnr, 100 * clipped, n->name);
            (*warned)++;
        }
    }
    fprintf(f, "}");
}

/* The one node reading v, or NULL. */
static const Node *sole_reader(const Graph *g, const Value *v)
{
    const Node *r = NULL;
    for (int i = 0; i < g->nnodes; i++)
        for (int k = 0; k < g->nodes[i]->nin; k++)
            if (g->nodes[i]->in[k] == v) {
                if (r && r != g->nodes[i])
                    return NULL;
                r = g->nodes[i];
            }
    return r;
}

const Value *drv_weight_scales(const Graph *g, const Node *n)
{
    if (n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL)
        return n->in[4];
    if (n->op != OP_CONV_INTEGER && n->op != OP_MATMUL_INTEGER)
        return NULL;
    if (n->nin > 5 && n->in[5]) /* the dequantizing epilogue's scale */
        return n->in[5];
    const Value *v = n->out[0];
    for (int step = 0; step < 3 && v; step++) {
        const Node *r = sole_reader(g, v);
        if (!r)
            return NULL;
        if (r->op == OP_DEQUANTIZE)
            return r->in[1];
        v = r->op == OP_ADD && r->out[0]->dtype == DT_I32 ? r->out[0] : NULL;
    }
    return NULL;
}

static bool kept_by_option(const Node *n, const DriverOptions *o)
{
    for (int i = 0; i < o->nkeep; i++)
        if (strcmp(o->keep[i], n->name) == 0 || strcmp(o->keep[i], op_info[n->op].name) == 0)
            return true;
    return false;
}

const char *drv_float_reason(const Graph *g, const Node *n, const DriverOptions *o)
{
    (void)g;
    if (op_has(n->op, OPF_QUANT) || op_has(n->op, OPF_VIEW) || !n->nout || !n->out[0] ||
        !dtype_is_float(n->out[0]->dtype))
        return NULL;
    if (kept_by_option(n, o))
        return o->mixed ? "kept by the mixed-precision choice or --keep-float" : "kept by --keep-float";
    /* dynamic int8: the run-time product x_s * w_s of qdq-fold (a Mul of a
     * DynamicQuantizeLinear's scale) is part of the MatMulInteger that reads it */
    const Node *src = n->op == OP_MUL && n->in[0] ? n->in[0]->def : NULL;
    if (src && src->op == OP_DYNAMIC_QUANTIZE && n->in[0] == src->out[1])
        return NULL;
    if (o->precision == PREC_INT8_DYNAMIC && n->op == OP_CONV)
        return "int8-dynamic quantizes MatMul and Gemm only";
    switch (n->op) {
    case OP_CONV: case OP_GEMM: case OP_MATMUL:
        if (n->nin > 1 && n->in[1] && n->in[1]->kind != VAL_CONST)
            return "two run-time operands, no constant weights";
        return "its input is not quantized";
    case OP_CAST:
        return "a type conversion";
    default:
        break;
    }
    if (op_has(n->op, OPF_QPASS))
        return "moves float data";
    return "no integer kernel";
}

bool drv_report(const char *path, const Graph *g, const CalibProfile *prof, const DriverOptions *o, Diag *d)
{
    FILE *f = path ? fopen(path, "w") : fopen("/dev/null", "w");
    if (!f)
        return diag_error(d, loc_file(path), "cannot write the report");
    Target all[8], t; /* a fat artifact's kernels: described for the most demanding CPU */
    int n = cg_target_resolve_list(o->target, o->cpu, all, 8, d);
    t = all[n > 0 ? n - 1 : 0];
    fprintf(f, "{\n  \"qkc_report\": 1,\n  \"model\": \"%s\",\n  \"precision\": \"%s\",\n", g->file ? g->file : "",
            o->mixed ? "mixed" : "int8");
    fprintf(f, "  \"calib_method\": \"%s\", \"activations\": \"%s\", \"weights\": \"%s\", \"pow2_scales\": %s,\n",
            o->calib_method ? o->calib_method : QKC_DEFAULT_CALIB, o->act_s8 ? "s8" : "u8",
            o->weights_log2 ? "log2" : o->weights_per_tensor ? "per-tensor" : "per-channel", o->pow2 ? "true" : "false");
    fprintf(f, "  \"bias_correction\": %s, \"io\": \"%s\", \"smooth\": %g, \"weight_bits\": %d,\n",
            o->no_bias_correction ? "false" : "true", o->io_int8 ? "int8" : "float", o->smooth,
            o->weight_bits == 7 ? 7 : 8);
    fprintf(f, "  \"layers\": [");
    int count = 0, warned = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        bool lin = n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL;
        if (!lin && n->op != OP_QLINEAR_ADD && n->op != OP_QLINEAR_GAP && n->op != OP_CONV_INTEGER &&
            n->op != OP_MATMUL_INTEGER)
            continue;
        fprintf(f, "%s\n    {\"name\": \"%s\", \"op\": \"%s\"", count++ ? "," : "", n->name, op_info[n->op].name);
        const Value *x = n->in[0];
        Qparam qi = lin || n->op == OP_QLINEAR_ADD || n->op == OP_QLINEAR_GAP ? qparam(n->in[1], n->in[2], x->dtype)
                                                                                : value_qparam(x);
        tensor_json(f, "input", x, qi, prof, n, &warned);
        int ys = n->op == OP_QLINEAR_GAP ? 3 : 6;
        if (lin || n->op == OP_QLINEAR_ADD || n->op == OP_QLINEAR_GAP)
            tensor_json(f, "output", n->out[0], qparam(n->in[ys], n->nin > ys + 1 ? n->in[ys + 1] : NULL, n->out[0]->dtype),
                        prof, n, &warned);
        const Value *ws = drv_weight_scales(g, n);
        if (ws && ws->kind == VAL_CONST && (lin || qi.ok)) {
            /* ConvInteger/MatMulInteger: their dequantization scale is
             * f32(s_x * s_w); divided by s_x it is s_w (to f32 rounding) */
            double lo = INFINITY, hi = 0, div = lin ? 1 : qi.scale;
            for (int64_t k = 0; k < shape_numel(&ws->shape); k++) {
                double s = ((const float *)ws->data)[k] / div;
                lo = fmin(lo, s), hi = fmax(hi, s);
            }
            fprintf(f, ", \"weights\": {\"scheme\": \"%s\", \"scales\": [%.6g, %.6g]}",
                    shape_numel(&ws->shape) > 1 ? "per-channel" : "per-tensor", lo, hi);
        } else if (ws) { /* the scales are folded with the input's into the dequantization */
            fprintf(f, ", \"weights\": {\"scheme\": \"%s\"}",
                    shape_numel(&ws->shape) > 1 ? "per-channel" : "per-tensor");
        }
        fprintf(f, ", \"kernel\": \"%s\"}", cg_kernel_desc(&t, n));
    }
    fprintf(f, "\n  ],\n  \"kept_float\": [");
    for (int i = 0; i < o->nkeep; i++)
        fprintf(f, "%s\"%s\"", i ? ", " : "", o->keep[i]);
    fprintf(f, "],\n  \"float_ops\": [");
    int nf = 0;
    for (int i = 0; i < g->nnodes; i++) {
        const char *why = drv_float_reason(g, g->nodes[i], o);
        if (why)
            fprintf(f, "%s\n    {\"name\": \"%s\", \"op\": \"%s\", \"reason\": \"%s\"}", nf++ ? "," : "",
                    g->nodes[i]->name, op_info[g->nodes[i]->op].name, why);
    }
    fprintf(f, "%s]", nf ? "\n  " : "");
    if (o->mixed) {
        const MixedChoice *c = o->mixed;
        fprintf(f, ",\n  \"mixed\": {\"min_sqnr_db\": %.3f, \"sqnr_db\": %.3f, \"sensitivity_db\": {",
                o->min_sqnr > 0 ? o->min_sqnr : QKC_DEFAULT_MIN_SQNR, c->sqnr);
        for (int i = 0; i < c->nlayers; i++)
            fprintf(f, "%s\"%s\": %.3f", i ? ", " : "", c->layers[i], isfinite(c->sensitivity[i]) ? c->sensitivity[i] : 999.0);
        fprintf(f, "}}");
    }
    fprintf(f, "\n}\n");
    bool ok = fclose(f) == 0;
    if (!ok && path)
        return diag_error(d, loc_file(path), "cannot write the report");
    return true;
}

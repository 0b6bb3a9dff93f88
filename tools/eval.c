/* eval.c — `qkc eval`: what each precision costs in accuracy, size and
 * compile time, measured on the user's data with the compiled artifacts
 * (the kernels that will ship), and per layer for int8.
 *
 * Each variant (fp32, fp16, int8 with the default options, and whatever
 * the options ask) is compiled for this machine into a temporary shared
 * object, run through the runtime on the data, and compared with fp32:
 * accuracy (with labels), top-1 agreement, output SQNR, max abs error,
 * artifact size, compile time. The per-layer table runs the reference
 * interpreter on the fp32 and the int8 graphs and compares each quantized
 * layer's output (dequantized) with its float counterpart. */
#include "eval.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "plot.h"
#include "report.h"
#include "codegen/codegen.h"
#include "qkc/qkrt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct Variant {
    const char *name;
    DriverOptions o;
    bool ok;
    char why[256];
    float *out;        /* the first float output, all samples: rows x classes (its last dim) */
    int64_t n, rows, classes;
    double compile_ms;
    long long bytes;
    /* vs fp32 */
    double acc, agree, sqnr, maxerr;
} Variant;

/* The --data tensors: one per spec, with the input name it names (NULL
 * for a bare FILE.npy, which a one-input model takes). */
typedef struct Inputs {
    int n;
    const char **name;
    Tensor *t;
    int64_t samples;   /* the first dim of the first tensor */
} Inputs;

/* The tensor for the input called `name` (k-th of nin), or NULL. */
static const Tensor *input_for(const Inputs *in, const char *name, int nin)
{
    for (int i = 0; i < in->n; i++)
        if (in->name[i] ? strcmp(in->name[i], name) == 0 : nin == 1 && in->n == 1)
            return &in->t[i];
    return NULL;
}

/* Compile v for the host and run it on the inputs; out[rows * classes]. */
static bool run_variant(const char *model, Variant *v, const Inputs *x, Diag *quiet)
{
    char path[] = "/tmp/qkc-eval-XXXXXX.so";
    int fd = mkstemps(path, 3);
    if (fd < 0)
        return snprintf(v->why, sizeof v->why, "no temporary file"), false;
    close(fd);
    v->o.out = path;
    v->o.emit = EMIT_SO;
    v->o.opt_level = 3;
    double t0 = now();
    bool ok = drv_compile(model, &v->o, quiet);
    v->compile_ms = (now() - t0) * 1e3;
    if (!ok) {
        const char *msg = quiet->buf ? quiet->buf : "compile failed";
        snprintf(v->why, sizeof v->why, "%.200s", msg);
        unlink(path);
        return false;
    }
    struct stat st;
    v->bytes = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    qkrt_model *m = NULL;
    qkrt_context *c = NULL;
    ok = qkrt_model_load(path, &m) == QKRT_OK && qkrt_context_create(m, &c) == QKRT_OK;
    if (ok) {
        int nin = qkrt_model_num_inputs(m), oi = -1;
        for (int k = 0; k < qkrt_model_num_outputs(m) && oi < 0; k++)
            if (qkrt_model_output(m, k)->dtype == 1)
                oi = k;
        const void **ins = calloc((size_t)nin + 1, sizeof *ins);
        size_t *in_bytes = calloc((size_t)nin + 1, sizeof *in_bytes);
        for (int k = 0; ok && k < nin; k++) {
            const qkrt_tensor_desc *id = qkrt_model_input(m, k);
            const Tensor *t = input_for(x, id->name, nin);
            if (!t) {
                snprintf(v->why, sizeof v->why, "no --data for input '%s' (give NAME=FILE.npy for each input)",
                         id->name);
                ok = false;
                break;
            }
            ins[k] = t->data;
            in_bytes[k] = (size_t)tensor_numel(t) * (size_t)dtype_size(t->dtype);
        }
        int nout = qkrt_model_num_outputs(m);
        void **outs = calloc((size_t)nout + 1, sizeof *outs);
        size_t *out_bytes = calloc((size_t)nout + 1, sizeof *out_bytes);
        int64_t n = x->samples;
        for (int k = 0; ok && k < nout; k++) {
            out_bytes[k] = qkrt_tensor_bytes(qkrt_model_output(m, k), n);
            ok = (outs[k] = malloc(out_bytes[k] ? out_bytes[k] : 1)) != NULL;
        }
        if (ok && oi < 0) {
            snprintf(v->why, sizeof v->why, "eval compares a float output; the model has none");
            ok = false;
        }
        if (ok) {
            const qkrt_tensor_desc *od = qkrt_model_output(m, oi);
            int64_t last = od->rank > 1 || (od->rank == 1 && od->dims[0] != QKRT_DIM_BATCH) ? od->dims[od->rank - 1] : 1;
            v->n = n;
            v->classes = last > 0 ? last : 1;
            v->rows = (int64_t)(out_bytes[oi] / sizeof(float)) / v->classes;
            if (qkrt_run(c, n, ins, in_bytes, outs, out_bytes) == QKRT_OK) {
                v->out = outs[oi], outs[oi] = NULL;
            } else {
                snprintf(v->why, sizeof v->why, "run: %s", qkrt_error_message());
                ok = false;
            }
        }
        for (int k = 0; k < nout; k++)
            free(outs[k]);
        free(outs);
        free(out_bytes);
        free(ins);
        free(in_bytes);
    } else {
        snprintf(v->why, sizeof v->why, "load: %s", qkrt_error_message());
    }
    qkrt_context_free(c);
    qkrt_model_free(m);
    unlink(path);
    return ok;
}

static int argmax(const float *v, int64_t n)
{
    int best = 0;
    for (int64_t i = 1; i < n; i++)
        if (v[i] > v[best])
            best = (int)i;
    return best;
}

static void compare(Variant *v, const Variant *ref, const Tensor *labels)
{
    double sig = 0, noise = 0, maxerr = 0;
    int64_t agree = 0, right = 0;
    for (int64_t i = 0; i < v->rows; i++) {
        const float *a = v->out + i * v->classes, *r = ref->out + i * v->classes;
        for (int64_t k = 0; k < v->classes; k++) {
            double e = (double)a[k] - r[k];
            sig += (double)r[k] * r[k];
            noise += e * e;
            maxerr = fmax(maxerr, fabs(e));
        }
        int p = argmax(a, v->classes);
        agree += p == argmax(r, v->classes);
        if (labels)
            right += p == ((const int64_t *)labels->data)[i];
    }
    v->agree = 100.0 * (double)agree / (double)(v->rows ? v->rows : 1);
    v->acc = labels ? 100.0 * (double)right / (double)(v->rows ? v->rows : 1) : NAN;
    v->sqnr = noise > 0 ? 10 * log10(sig / noise) : INFINITY;
    v->maxerr = maxerr;
}

/* ---- per layer ----------------------------------------------------------- */

typedef struct Keep {
    const Graph *g;
    Tensor *vals; /* by value id */
} Keep;

static void keep_value(void *ctx, const Value *v, const Tensor *t)
{
    Keep *k = ctx;
    if (v->id < 0 || v->id >= k->g->nvalues || k->vals[v->id].data)
        return;
    if (tensor_alloc(&k->vals[v->id], t->dtype, &t->shape))
        memcpy(k->vals[v->id].data, t->data, (size_t)tensor_numel(t) * (size_t)dtype_size(t->dtype));
}

static bool run_keep(const Graph *g, const Inputs *x, Keep *k, Diag *d)
{
    k->g = g;
    k->vals = calloc((size_t)g->nvalues + 1, sizeof(Tensor));
    Tensor *out = calloc((size_t)g->noutputs + 1, sizeof(Tensor));
    Tensor *in = calloc((size_t)g->ninputs + 1, sizeof(Tensor));
    bool ok = k->vals && out && in;
    for (int i = 0; ok && i < g->ninputs; i++) {
        const Tensor *t = input_for(x, g->inputs[i]->name, g->ninputs);
        if (!t)
            ok = diag_error(d, loc_none(), "no --data for input '%s'", g->inputs[i]->name);
        else
            in[i] = *t;
    }
    ok = ok && interp_run_observe(g, x->samples, in, out, d, keep_value, k);
    free(in);
    for (int i = 0; i < g->noutputs; i++)
        tensor_free(&out[i]);
    free(out);
    return ok;
}

static void keep_free(Keep *k)
{
    for (int i = 0; k->vals && i < k->g->nvalues; i++)
        tensor_free(&k->vals[i]);
    free(k->vals);
}

static double scalar_f32(const Value *v) { return v && v->data ? ((const float *)v->data)[0] : 1.0; }

static int32_t scalar_zp(const Value *v)
{
    if (!v || !v->data)
        return 0;
    return v->dtype == DT_U8 ? ((const uint8_t *)v->data)[0] : ((const int8_t *)v->data)[0];
}

/* The float value in fp32 graph f that quantized value qv stands for. */
static const Value *counterpart(const Graph *f, const Value *qv)
{
    const Value *v = ir_graph_find_value(f, qv->name);
    if (v)
        return v;
    size_t n = strlen(qv->name);
    if (n > 2 && strcmp(qv->name + n - 2, "_q") == 0) {
        char *base = strndup(qv->name, n - 2);
        v = ir_graph_find_value(f, base);
        free(base);
    }
    return v;
}

/* The float result of an integer-accumulating layer: through its i32 bias
 * Add, its DequantizeLinear and a float activation after it. */
static const Value *float_result(const Graph *g, const Value *v)
{
    for (int guard = 0; guard < 4; guard++) {
        const Node *next = NULL;
        for (int i = 0; i < g->nnodes && !next; i++)
            for (int k = 0; k < g->nodes[i]->nin; k++)
                if (g->nodes[i]->in[k] == v)
                    next = g->nodes[i];
        if (!next)
            return v;
        bool step = (next->op == OP_ADD && v->dtype == DT_I32) || next->op == OP_DEQUANTIZE ||
                    (op_has(next->op, OPF_ELTWISE) && next->nin == 1 && v->dtype == DT_F32);
        if (!step)
            return v;
        v = next->out[0];
    }
    return v;
}

/* The int8 per-layer table (and its JSON, and its rows into pd when not NULL). */
static void per_layer(const char *model, const DriverOptions *o8, const Inputs *x, FILE *out, FILE *js, PlotData *pd,
                      Diag *d)
{
    DriverOptions of = *o8;
    of.precision = PREC_FP32;
    DriverOptions oq = *o8;
    oq.quiet_report = true;
    o8 = &oq;
    Graph *gf = drv_lower(model, &of, d), *gq = drv_lower(model, o8, d);
    Keep kf = {0}, kq = {0};
    if (!gf || !gq || !run_keep(gf, x, &kf, d) || !run_keep(gq, x, &kq, d)) {
        fprintf(out, "  (per-layer table unavailable: %s)\n", d->buf ? d->buf : "");
        if (pd)
            pd->no_layers = "unavailable (see the text output)";
        goto done;
    }
    Target t;
    cg_target_resolve(NULL, NULL, &t, d);
    fprintf(out, "\nint8, per layer (SQNR of each layer's output on the data, dequantized, vs fp32):\n");
    fprintf(out, "  %-28s %-24s %-22s %-18s %8s  %s\n", "layer", "op", "scheme", "weight scales", "SQNR dB",
            "kernel");
    if (js)
        fprintf(js, ",\n  \"layers\": [");
    int count = 0;
    for (int i = 0; i < gq->nnodes; i++) {
        const Node *n = gq->nodes[i];
        bool ql = n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL || n->op == OP_QLINEAR_ADD ||
                  n->op == OP_QLINEAR_GAP || n->op == OP_CONV_INTEGER || n->op == OP_MATMUL_INTEGER;
        if (!ql)
            continue;
        /* scheme and scale range */
        char scheme[64] = "", wsr[64] = "-";
        const Value *w = n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL ? n->in[3]
                         : n->op == OP_CONV_INTEGER || n->op == OP_MATMUL_INTEGER ? n->in[1]
                                                                                   : NULL;
        const Value *ws = drv_weight_scales(gq, n);
        snprintf(scheme, sizeof scheme, "%s act%s", dtype_name(n->in[0]->dtype),
                 w ? (ws && shape_numel(&ws->shape) > 1 ? ", w per-channel" : ", w per-tensor") : "");
        if (ws && ws->data && (n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL)) {
            double lo = INFINITY, hi = 0;
            for (int64_t k = 0; k < shape_numel(&ws->shape); k++) {
                double s = ((const float *)ws->data)[k];
                lo = fmin(lo, s), hi = fmax(hi, s);
            }
            snprintf(wsr, sizeof wsr, "%.2g..%.2g", lo, hi);
        }
        /* the output against its float counterpart */
        const Value *y = n->out[0];
        if (y->dtype == DT_I32)
            y = float_result(gq, y);
        const Value *yf = counterpart(gf, y);
        double sq = NAN;
        const Tensor *tq = &kq.vals[y->id], *tf = yf ? &kf.vals[yf->id] : NULL;
        if (tf && tf->data && tq->data && tensor_numel(tq) == tensor_numel(tf) && tf->dtype == DT_F32) {
            bool quant = y->dtype == DT_U8 || y->dtype == DT_I8;
            int ys_i = n->op == OP_QLINEAR_GAP ? 3 : 6, yz_i = ys_i + 1;
            double s = quant ? scalar_f32(n->in[ys_i]) : 1;
            int32_t z = quant && n->nin > yz_i ? scalar_zp(n->in[yz_i]) : 0;
            double sig = 0, noise = 0;
            for (int64_t k = 0; k < tensor_numel(tq); k++) {
                double r = ((const float *)tf->data)[k], v;
                if (y->dtype == DT_F32)
                    v = ((const float *)tq->data)[k];
                else if (y->dtype == DT_U8)
                    v = ((double)((const uint8_t *)tq->data)[k] - z) * s;
                else if (y->dtype == DT_I8)
                    v = ((double)((const int8_t *)tq->data)[k] - z) * s;
                else
                    v = NAN;
                sig += r * r, noise += (v - r) * (v - r);
            }
            sq = noise > 0 ? 10 * log10(sig / noise) : INFINITY;
        }
        const char *kern = cg_kernel_desc(&t, n);
        fprintf(out, "  %-28.28s %-24s %-22s %-18s %8.1f  %s\n", n->name, op_info[n->op].name, scheme, wsr, sq, kern);
        if (js)
            fprintf(js, "%s\n    {\"layer\": \"%s\", \"op\": \"%s\", \"scheme\": \"%s\", \"weight_scales\": \"%s\", "
                        "\"sqnr_db\": %.3f, \"kernel\": \"%s\"}",
                    count ? "," : "", n->name, op_info[n->op].name, scheme, wsr, isfinite(sq) ? sq : 999.0, kern);
        if (isfinite(sq) && sq < 20)
            fprintf(stderr, "qkc: warning: layer '%s' (%s) has an output SQNR of %.1f dB on this data\n", n->name,
                    op_info[n->op].name, sq);
        PlotLayer *grown = pd ? realloc(pd->layers, sizeof *grown * (size_t)(pd->nlayers + 1)) : NULL;
        if (grown) {
            pd->layers = grown;
            grown[pd->nlayers++] = (PlotLayer){strdup(n->name), op_info[n->op].name, sq};
        }
        count++;
    }
    if (js)
        fprintf(js, "\n  ]");
    /* what stayed float, and why (as the int8 compile's note) */
    char list[1024];
    int nfloat = drv_float_summary(gq, o8, list, sizeof list);
    fprintf(out, "\nint8: %d op%s in float%s%s%s\n", nfloat, nfloat == 1 ? "" : "s", nfloat ? " (" : "",
            list, nfloat ? ")" : "");
    if (js) {
        fprintf(js, ",\n  \"float_ops\": %d, \"float_ops_why\": \"", nfloat);
        for (const char *c = list; *c; c++)
            fprintf(js, *c == '"' || *c == '\\' ? "\\%c" : "%c", *c);
        fprintf(js, "\"");
    }
done:
    keep_free(&kf);
    keep_free(&kq);
    ir_graph_free(gf);
    ir_graph_free(gq);
}

int drv_eval(const char *model, const EvalOptions *e, Diag *d)
{
    Tensor y = {0};
    Inputs x = {e->ndata, calloc((size_t)e->ndata + 1, sizeof(char *)), calloc((size_t)e->ndata + 1, sizeof(Tensor)),
                0};
    int rc = 1;
    char what[512] = "";
    size_t wl = 0;
    PlotData pd = {.model = model};
    /* --plot: an unwritable FILE is found now, not after the compiles (a
     * file this check creates is removed again; the SVG comes at the end) */
    struct stat st;
    bool plot_existed = e->plot && stat(e->plot, &st) == 0;
    FILE *pf = e->plot ? fopen(e->plot, "a") : NULL;
    if (e->plot && !pf) {
        diag_error(d, loc_file(e->plot), "cannot write the plot (--plot): %s", strerror(errno));
        goto out;
    }
    if (pf)
        fclose(pf);
    if (pf && !plot_existed)
        unlink(e->plot);
    for (int i = 0; i < e->ndata; i++) {
        const char *spec = e->data[i], *eq = strchr(spec, '=');
        if (eq && eq != spec)
            x.name[i] = strndup(spec, (size_t)(eq - spec));
        if (!drv_read_npy(eq && eq != spec ? eq + 1 : spec, &x.t[i], d))
            goto out;
        int64_t n = x.t[i].shape.rank ? x.t[i].shape.d[0] : 1;
        if (i > 0 && n != x.samples) {
            diag_error(d, loc_file(spec), "--data %s has %lld samples, %s %lld", spec, (long long)n, e->data[0],
                       (long long)x.samples);
            goto out;
        }
        x.samples = n;
        wl += (size_t)snprintf(what + wl, wl < sizeof what ? sizeof what - wl : 0, "%s%s", i ? ", " : "", spec);
    }
    if (e->ndata > 1)
        for (int i = 0; i < e->ndata; i++)
            if (!x.name[i]) {
                diag_error(d, loc_file(e->data[i]), "with several --data, name each input: --data NAME=FILE.npy");
                goto out;
            }
    if (e->labels && !drv_read_npy(e->labels, &y, d))
        goto out;
    if (e->labels && (y.dtype != DT_I64 || y.shape.rank != 1 || y.shape.d[0] != x.samples)) {
        diag_error(d, loc_file(e->labels), "labels must be i64 [%lld] (one per sample)", (long long)x.samples);
        goto out;
    }
    enum { V_INT8 = 3, V_DYN = 4 };
    Variant v[5] = {{"fp32"}, {"fp16"}, {"bf16"}, {"int8"}, {"int8-dynamic"}};
    static const Precision prec[5] = {PREC_FP32, PREC_FP16, PREC_BF16, PREC_INT8, PREC_INT8_DYNAMIC};
    int nv = 5;
    for (int i = 0; i < nv; i++) {
        v[i].o = e->base;
        v[i].o.precision = prec[i];
    }
    /* dynamic int8: u8 activations, float I/O; no calibration */
    v[V_DYN].o.act_s8 = v[V_DYN].o.pow2 = v[V_DYN].o.io_int8 = false;
    if (!e->base.ncalib && !e->base.profile)
        snprintf(v[V_INT8].why, sizeof v[V_INT8].why, "no calibration data (--calib DATA)");
    for (int i = 0; i < nv; i++) {
        Diag quiet;
        diag_init(&quiet, NULL);
        if (!*v[i].why) /* int8 without calibration data is not run */
            v[i].ok = run_variant(model, &v[i], &x, &quiet);
        diag_fini(&quiet);
    }
    if (!v[0].ok) {
        diag_error(d, loc_file(model), "the fp32 model does not run: %s", v[0].why);
        goto free_variants;
    }
    if (e->labels && v[0].rows != x.samples) {
        diag_error(d, loc_file(e->labels), "labels give one class per sample; the output has %lld rows of %lld for "
                   "%lld samples", (long long)v[0].rows, (long long)v[0].classes, (long long)x.samples);
        goto free_variants;
    }
    FILE *out = stdout;
    fprintf(out, "%s on %s (%lld samples%s):\n\n", model, what, (long long)v[0].n, e->labels ? ", with labels" : "");
    fprintf(out, "  %-12s %9s %9s %9s %10s %10s %12s\n", "precision", "accuracy", "agree", "SQNR dB", "max|err|",
            "size KB", "compile ms");
    FILE *js = e->json ? fopen(e->json, "w") : NULL;
    if (e->json && !js)
        diag_error(d, loc_file(e->json), "cannot write the JSON (--json): %s", strerror(errno));
    if (js)
        fprintf(js, "{\n  \"model\": \"%s\", \"samples\": %lld, \"rows\": %lld,\n  \"variants\": [", model,
                (long long)v[0].n, (long long)v[0].rows);
    for (int i = 0; i < nv; i++) {
        if (!v[i].ok) {
            fprintf(out, "  %-12s (not run: %s)\n", v[i].name, v[i].why);
            continue;
        }
        compare(&v[i], &v[0], e->labels ? &y : NULL);
        char acc[16] = "-";
        if (e->labels)
            snprintf(acc, sizeof acc, "%.2f%%", v[i].acc);
        fprintf(out, "  %-12s %9s %8.2f%% %9.1f %10.3g %10.1f %12.0f\n", v[i].name, acc, v[i].agree, v[i].sqnr,
                v[i].maxerr, v[i].bytes / 1024.0, v[i].compile_ms);
        char accj[32] = "null";
        if (e->labels)
            snprintf(accj, sizeof accj, "%.4f", v[i].acc);
        if (js)
            fprintf(js, "%s\n    {\"precision\": \"%s\", \"accuracy\": %s, \"agreement\": %.4f, \"sqnr_db\": %.3f, "
                        "\"max_abs_err\": %.6g, \"bytes\": %lld, \"compile_ms\": %.1f}",
                    i ? "," : "", v[i].name, accj, v[i].agree,
                    isfinite(v[i].sqnr) ? v[i].sqnr : 999.0, v[i].maxerr, v[i].bytes, v[i].compile_ms);
    }
    if (js)
        fprintf(js, "\n  ]");
    if (v[V_INT8].ok) {
        DriverOptions o8 = e->base;
        o8.precision = PREC_INT8;
        per_layer(model, &o8, &x, out, js, e->plot ? &pd : NULL, d);
    } else {
        pd.no_layers = *v[V_INT8].why ? v[V_INT8].why : "int8 did not run";
    }
    rc = e->json && !js;
    if (js) {
        fprintf(js, "\n}\n");
        bool written = !ferror(js);
        if (fclose(js) != 0 || !written) {
            diag_error(d, loc_file(e->json), "cannot write the JSON (--json): %s", strerror(errno));
            rc = 1;
        }
    }
    if (e->plot) {
        pd.samples = (long long)v[0].n;
        pd.nprec = nv;
        for (int i = 0; i < nv; i++)
            pd.prec[i] = (PlotPrecision){v[i].name, v[i].ok, v[i].why, e->labels ? v[i].acc : NAN, v[i].agree,
                                         v[i].sqnr};
        FILE *f = fopen(e->plot, "w");
        bool ok = f && drv_plot_svg(f, &pd);
        ok = f && fclose(f) == 0 && ok;
        if (!ok) {
            diag_error(d, loc_file(e->plot), "cannot write the plot (--plot): %s", strerror(errno));
            rc = 1;
        }
    }
free_variants:
    for (int i = 0; i < nv; i++)
        free(v[i].out);
out:
    drv_plot_free(&pd);
    for (int i = 0; i < x.n; i++) {
        free((void *)x.name[i]);
        tensor_free(&x.t[i]);
    }
    free(x.name);
    free(x.t);
    tensor_free(&y);
    return rc;
}

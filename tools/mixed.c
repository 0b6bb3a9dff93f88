/* mixed.c — choosing which layers stay in float (--precision mixed).
 *
 * Sensitivity of a layer: the model's output SQNR (against fp32) when only
 * that layer is quantized, measured with the reference interpreter on the
 * calibration data. Then, from everything quantized, the most sensitive
 * layers go back to float one at a time until the floor holds (output SQNR
 * >= --min-sqnr, and accuracy drop <= --max-accuracy-drop when labels are
 * given): the fewest layers for the floor along that ranking. */
#include "mixed.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "calibrate.h"

enum { MIXED_SAMPLES = 128 }; /* calibration samples the trials run on */

typedef struct Run {
    float *out;
    int64_t n, classes;
} Run;

/* The interpreter's first output on the calibration data (one batch). */
static bool run_graph(const Graph *g, const Tensor *x, Run *r, Diag *d)
{
    Tensor *out = calloc((size_t)g->noutputs + 1, sizeof(Tensor));
    int64_t n = x->shape.rank ? x->shape.d[0] : 1;
    bool ok = g->ninputs == 1 && interp_run(g, n, x, out, d);
    if (ok && out[0].dtype != DT_F32)
        ok = diag_error(d, loc_none(), "mixed precision needs a float output");
    if (ok) {
        r->n = n;
        r->classes = tensor_numel(&out[0]) / (n ? n : 1);
        r->out = out[0].data;
        out[0].data = NULL;
    }
    for (int i = 0; i < g->noutputs; i++)
        tensor_free(&out[i]);
    free(out);
    return ok;
}

static double sqnr(const Run *a, const Run *ref)
{
    double s = 0, e = 0;
    for (int64_t i = 0; i < a->n * a->classes; i++) {
        double r = ref->out[i], v = a->out[i];
        s += r * r, e += (v - r) * (v - r);
    }
    return e > 0 ? 10 * log10(s / e) : INFINITY;
}

static double accuracy(const Run *a, const Tensor *labels)
{
    int64_t right = 0;
    for (int64_t i = 0; i < a->n; i++) {
        const float *v = a->out + i * a->classes;
        int64_t best = 0;
        for (int64_t k = 1; k < a->classes; k++)
            if (v[k] > v[best])
                best = k;
        right += best == ((const int64_t *)labels->data)[i];
    }
    return 100.0 * (double)right / (double)a->n;
}

/* The model at int8 with these layers kept in float, run on x. */
static bool measure(const char *model, const DriverOptions *base, const char *const *keep, int nkeep, const Tensor *x,
                    Run *r, Diag *d)
{
    DriverOptions o = *base;
    o.precision = PREC_INT8;
    o.quiet_report = true;
    o.keep = keep;
    o.nkeep = nkeep;
    Graph *g = drv_lower(model, &o, d);
    bool ok = g && run_graph(g, x, r, d);
    ir_graph_free(g);
    return ok;
}

typedef struct Layer {
    const char *name;
    double sens; /* output SQNR with only this layer quantized */
} Layer;

static int by_sensitivity(const void *a, const void *b)
{
    double x = ((const Layer *)a)->sens, y = ((const Layer *)b)->sens;
    return (x > y) - (x < y);
}

bool drv_mixed_choose(const char *model, const DriverOptions *o, const MixedGoal *goal, MixedChoice *out, Diag *d)
{
    memset(out, 0, sizeof *out);
    if (o->ncalib != 1 || strchr(o->calib[0], '='))
        return diag_error(d, loc_none(), "--precision mixed measures on the calibration data: give one --calib X.npy");
    Tensor x = {0}, y = {0};
    if (!drv_read_npy(o->calib[0], &x, d))
        return false;
    if (goal->labels && !drv_read_npy(goal->labels, &y, d)) {
        tensor_free(&x);
        return false;
    }
    bool ok = true;
    /* calibrate once; every trial below shares the profile */
    CalibProfile prof = {0};
    DriverOptions base = *o;
    if (!drv_profile(model, o, &prof, d)) {
        tensor_free(&x);
        tensor_free(&y);
        return false;
    }
    base.profile_mem = &prof;
    o = &base;
    /* measure on at most MIXED_SAMPLES samples */
    if (x.shape.rank && x.shape.d[0] > MIXED_SAMPLES)
        x.shape.d[0] = MIXED_SAMPLES;
    if (y.data && y.shape.rank && y.shape.d[0] > MIXED_SAMPLES)
        y.shape.d[0] = MIXED_SAMPLES;
    /* the reference: fp32 */
    DriverOptions of = *o;
    of.precision = PREC_FP32;
    Graph *gf = drv_lower(model, &of, d);
    Run ref = {0};
    ok = gf && run_graph(gf, &x, &ref, d);
    if (ok && goal->labels && (y.dtype != DT_I64 || tensor_numel(&y) != ref.n))
        ok = diag_error(d, loc_file(goal->labels), "labels must be i64, one per calibration sample");
    /* the layers that can be quantized: those of an int8 compile */
    Layer *layers = NULL;
    int nl = 0;
    DriverOptions o8 = *o;
    o8.precision = PREC_INT8;
    o8.quiet_report = true;
    Graph *gq = ok ? drv_lower(model, &o8, d) : NULL;
    ok = ok && gq;
    for (int i = 0; ok && i < gq->nnodes; i++) {
        const Node *n = gq->nodes[i];
        if (n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL || n->op == OP_QLINEAR_ADD ||
            n->op == OP_QLINEAR_GAP || n->op == OP_CONV_INTEGER || n->op == OP_MATMUL_INTEGER) {
            layers = realloc(layers, sizeof(Layer) * (size_t)(nl + 1));
            layers[nl++] = (Layer){strdup(n->name), 0};
        }
    }
    const char **keep = calloc((size_t)nl + 1, sizeof *keep);
    /* sensitivity: only layer i quantized */
    for (int i = 0; ok && i < nl; i++) {
        int k = 0;
        for (int j = 0; j < nl; j++)
            if (j != i)
                keep[k++] = layers[j].name;
        Run r = {0};
        ok = measure(model, o, keep, k, &x, &r, d);
        if (ok)
            layers[i].sens = sqnr(&r, &ref);
        free(r.out);
    }
    qsort(layers, (size_t)nl, sizeof *layers, by_sensitivity);
    double acc_ref = ok && goal->labels ? accuracy(&ref, &y) : 0;
    /* keep the most sensitive layers in float until the floor holds */
    int nkeep = 0;
    for (; ok; nkeep++) {
        for (int j = 0; j < nkeep; j++)
            keep[j] = layers[j].name;
        Run r = {0};
        ok = measure(model, o, keep, nkeep, &x, &r, d);
        if (!ok)
            break;
        out->sqnr = sqnr(&r, &ref);
        out->accuracy_drop = goal->labels ? acc_ref - accuracy(&r, &y) : 0;
        free(r.out);
        bool good = out->sqnr >= goal->min_sqnr && (!goal->labels || out->accuracy_drop <= goal->max_accuracy_drop);
        if (good || nkeep == nl)
            break;
    }
    if (ok) {
        out->nkeep = nkeep;
        out->keep = calloc((size_t)nkeep + 1, sizeof(char *));
        for (int j = 0; j < nkeep; j++)
            out->keep[j] = strdup(layers[j].name);
        out->nlayers = nl;
        out->layers = calloc((size_t)nl + 1, sizeof(char *));
        out->sensitivity = calloc((size_t)nl + 1, sizeof(double));
        for (int j = 0; j < nl; j++) {
            out->layers[j] = strdup(layers[j].name);
            out->sensitivity[j] = layers[j].sens;
        }
    }
    for (int j = 0; j < nl; j++)
        free((void *)layers[j].name);
    free(layers);
    free(keep);
    free(ref.out);
    ir_graph_free(gf);
    ir_graph_free(gq);
    tensor_free(&x);
    tensor_free(&y);
    profile_free(&prof);
    return ok;
}

void drv_mixed_free(MixedChoice *c)
{
    for (int i = 0; i < c->nkeep; i++)
        free(c->keep[i]);
    for (int i = 0; i < c->nlayers; i++)
        free(c->layers[i]);
    free(c->keep);
    free(c->layers);
    free(c->sensitivity);
    memset(c, 0, sizeof *c);
}

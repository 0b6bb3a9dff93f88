/* calib_native.c — the compiled calibration engine (--calib-engine
 * compiled, the default).
 *
 * The graph the quantizer sees (after "fuse"), with every float value it
 * keeps statistics of made a graph output, is compiled for this machine
 * into a temporary shared object (fp32, the host's kernels) and run
 * through the runtime. Each sample runs alone (batch 1): its values are
 * computed by the same code whatever the batch files hold and however
 * many threads run, so, with statistics that do not depend on how values
 * are split or ordered (passes/calib.c), the profile is identical for any
 * batching, thread count, order and sharding on a given machine. Workers
 * (threads) each own a runtime context, output buffers and statistics for
 * every observed value, take samples from a shared counter, and merge
 * into the profile when a batch is done (an exact merge).
 *
 * Across machines the kernels differ (vector width, FMA), and a value may
 * round to its neighbour float: a histogram bin or a min/max may move by
 * an ulp. The interpreter (--calib-engine interp) gives the same profile
 * on every machine. */
#include "calib_native.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "qkc/qkrt.h"

typedef struct Worker {
    struct CalibNative *cn;
    qkrt_context *ctx;
    void **out;          /* [nout] buffers at batch 1 */
    size_t *out_bytes;   /* [nout] */
    CalibStats *stats;   /* [nobs]: inputs' slots first, then the outputs' */
    pthread_t tid;
    bool started;
} Worker;

struct CalibNative {
    qkrt_model *m;
    int nin, nout;
    /* observed tensors: the graph's f32 inputs (in_obs[k] >= 0: slot of
     * input k) then every output (slot nobs_in + i) */
    int *in_obs;
    bool *in_batch;            /* [nin] input k has the batch dim (one sample is a slice of it) */
    int nobs, nobs_in;
    char **names;              /* [nobs] value names */
    int64_t *chan, *inner;     /* [nobs] channel layout (chan 0: no channel sums) */
    int nworkers;
    Worker *w;
    /* the batch being run */
    const Tensor *in;
    const void **in_ptr;       /* [nworkers * nin] per-worker input pointers */
    size_t *in_item;           /* [nin] bytes of one sample of each input */
    int64_t nsamples;
    bool per_sample;
    atomic_llong next, done;
    atomic_int failed;
    char error[512];
    pthread_mutex_t lock;
    CalibTick tick;
    void *tick_ctx;
};

static void fail(CalibNative *cn, const char *msg)
{
    pthread_mutex_lock(&cn->lock);
    if (!cn->error[0])
        snprintf(cn->error, sizeof cn->error, "%s", msg);
    pthread_mutex_unlock(&cn->lock);
    atomic_store(&cn->failed, 1);
}

static void add(CalibNative *cn, CalibStats *s, int slot, const float *x, int64_t n)
{
    if (cn->chan[slot] > 0)
        calib_stats_add_channels(s, x, n, cn->chan[slot], cn->inner[slot]);
    else
        calib_stats_add(s, x, n);
}

/* One sample (or the whole input, for a model without a batch dim). */
static bool run_one(Worker *w, int wi, int64_t s)
{
    CalibNative *cn = w->cn;
    const void **ins = cn->in_ptr + (size_t)wi * (size_t)cn->nin;
    for (int k = 0; k < cn->nin; k++)
        ins[k] = (const char *)cn->in[k].data + (cn->per_sample && cn->in_batch[k] ? (size_t)s * cn->in_item[k] : 0);
    if (qkrt_run(w->ctx, 1, ins, cn->in_item, w->out, w->out_bytes) != QKRT_OK) {
        char msg[512];
        snprintf(msg, sizeof msg, "the calibration artifact failed on sample %lld: %.400s", (long long)s,
                 qkrt_error_message());
        fail(cn, msg);
        return false;
    }
    for (int k = 0; k < cn->nin; k++)
        if (cn->in_obs[k] >= 0)
            add(cn, &w->stats[cn->in_obs[k]], cn->in_obs[k], ins[k], (int64_t)(cn->in_item[k] / sizeof(float)));
    for (int i = 0; i < cn->nout; i++)
        add(cn, &w->stats[cn->nobs_in + i], cn->nobs_in + i, w->out[i], (int64_t)(w->out_bytes[i] / sizeof(float)));
    return true;
}

static void *work(void *arg)
{
    Worker *w = arg;
    CalibNative *cn = w->cn;
    int wi = (int)(w - cn->w);
    for (;;) {
        if (atomic_load(&cn->failed))
            break;
        long long s = atomic_fetch_add(&cn->next, 1);
        if (s >= cn->nsamples || !run_one(w, wi, s))
            break;
        long long done = atomic_fetch_add(&cn->done, 1) + 1;
        if (wi == 0 && cn->tick) /* the calling thread reports progress */
            cn->tick(cn->tick_ctx, done);
    }
    return NULL;
}

void calib_native_close(CalibNative *cn)
{
    if (!cn)
        return;
    for (int i = 0; cn->w && i < cn->nworkers; i++) {
        Worker *w = &cn->w[i];
        qkrt_context_free(w->ctx);
        for (int k = 0; w->out && k < cn->nout; k++)
            free(w->out[k]);
        free(w->out);
        free(w->out_bytes);
        for (int k = 0; w->stats && k < cn->nobs; k++)
            calib_stats_free(&w->stats[k]);
        free(w->stats);
    }
    for (int i = 0; cn->names && i < cn->nobs; i++)
        free(cn->names[i]);
    free(cn->names);
    free(cn->chan);
    free(cn->inner);
    free(cn->in_obs);
    free(cn->in_batch);
    free(cn->in_ptr);
    free(cn->in_item);
    free(cn->w);
    qkrt_model_free(cn->m);
    pthread_mutex_destroy(&cn->lock);
    free(cn);
}

CalibNative *calib_native_open(const char *artifact, const Graph *g, int threads, Diag *d)
{
    CalibNative *cn = calloc(1, sizeof *cn);
    if (!cn) {
        diag_error(d, loc_none(), "out of memory");
        return NULL;
    }
    pthread_mutex_init(&cn->lock, NULL);
    if (qkrt_model_load(artifact, &cn->m) != QKRT_OK) {
        diag_error(d, loc_file(artifact), "the calibration artifact does not load: %s", qkrt_error_message());
        calib_native_close(cn);
        return NULL;
    }
    cn->nin = qkrt_model_num_inputs(cn->m);
    cn->nout = qkrt_model_num_outputs(cn->m);
    if (cn->nin != g->ninputs) {
        diag_error(d, loc_file(artifact), "internal error: the calibration artifact has %d inputs, the model %d",
                   cn->nin, g->ninputs);
        calib_native_close(cn);
        return NULL;
    }
    if (threads < 1) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? (int)n : 1;
    }
    cn->nworkers = threads;
    cn->in_obs = malloc(sizeof(int) * ((size_t)cn->nin + 1));
    cn->in_batch = calloc((size_t)cn->nin + 1, sizeof(bool));
    if (!cn->in_obs || !cn->in_batch) {
        diag_error(d, loc_none(), "out of memory");
        calib_native_close(cn);
        return NULL;
    }
    int nobs = cn->nout;
    for (int k = 0; k < cn->nin; k++) {
        cn->in_obs[k] = g->inputs[k]->dtype == DT_F32 ? cn->nobs_in++ : -1;
        cn->in_batch[k] = shape_has_batch(&g->inputs[k]->shape);
    }
    nobs += cn->nobs_in;
    cn->nobs = nobs;
    cn->names = calloc((size_t)nobs + 1, sizeof(char *));
    cn->chan = calloc((size_t)nobs + 1, sizeof(int64_t));
    cn->inner = calloc((size_t)nobs + 1, sizeof(int64_t));
    cn->in_item = calloc((size_t)cn->nin + 1, sizeof(size_t));
    cn->in_ptr = calloc((size_t)cn->nin * (size_t)threads + 1, sizeof(void *));
    cn->w = calloc((size_t)threads, sizeof(Worker));
    bool ok = cn->in_obs && cn->names && cn->chan && cn->inner && cn->in_item && cn->in_ptr && cn->w;
    /* the observed tensors' names and channel layouts, from the fused graph */
    for (int k = 0; ok && k < cn->nin; k++)
        if (cn->in_obs[k] >= 0) {
            int slot = cn->in_obs[k];
            ok = (cn->names[slot] = strdup(g->inputs[k]->name)) != NULL;
            calib_channel_layout(g, g->inputs[k], &cn->chan[slot], &cn->inner[slot]);
        }
    for (int i = 0; ok && i < cn->nout; i++) {
        const qkrt_tensor_desc *t = qkrt_model_output(cn->m, i);
        char name[512];
        snprintf(name, sizeof name, "%s", t->name);
        size_t len = strlen(name), vl = strlen(CALIB_NATIVE_VIEW);
        if (len > vl && strcmp(name + len - vl, CALIB_NATIVE_VIEW) == 0) /* a view of a merged-batch value */
            name[len - vl] = 0;
        const Value *v = ir_graph_find_value(g, name);
        if (!v || t->dtype != 1) {
            diag_error(d, loc_file(artifact), "internal error: calibration output '%s' is %s", t->name,
                       v ? "not float32" : "no value of the model");
            ok = false;
            break;
        }
        int slot = cn->nobs_in + i;
        ok = (cn->names[slot] = strdup(v->name)) != NULL;
        calib_channel_layout(g, v, &cn->chan[slot], &cn->inner[slot]);
    }
    for (int i = 0; ok && i < threads; i++) {
        Worker *w = &cn->w[i];
        w->cn = cn;
        w->out = calloc((size_t)cn->nout + 1, sizeof(void *));
        w->out_bytes = calloc((size_t)cn->nout + 1, sizeof(size_t));
        w->stats = calloc((size_t)nobs + 1, sizeof(CalibStats));
        ok = w->out && w->out_bytes && w->stats;
        for (int k = 0; ok && k < nobs; k++)
            calib_stats_init(&w->stats[k]);
        for (int k = 0; ok && k < cn->nout; k++) {
            w->out_bytes[k] = qkrt_tensor_bytes(qkrt_model_output(cn->m, k), 1);
            ok = (w->out[k] = malloc(w->out_bytes[k] ? w->out_bytes[k] : 1)) != NULL;
        }
        if (ok && (qkrt_context_create(cn->m, &w->ctx) != QKRT_OK || qkrt_context_set_threads(w->ctx, 1) != QKRT_OK ||
                   qkrt_context_reserve(w->ctx, 1) != QKRT_OK)) {
            diag_error(d, loc_file(artifact), "the calibration artifact: %s", qkrt_error_message());
            calib_native_close(cn);
            return NULL;
        }
    }
    if (!ok) {
        if (!d->errors)
            diag_error(d, loc_none(), "out of memory");
        calib_native_close(cn);
        return NULL;
    }
    return cn;
}

bool calib_native_run(CalibNative *cn, const Tensor *in, int64_t nsamples, bool per_sample, CalibTick tick,
                      void *tick_ctx, Diag *d)
{
    cn->in = in;
    cn->nsamples = per_sample ? nsamples : 1;
    cn->per_sample = per_sample;
    for (int k = 0; k < cn->nin; k++) {
        size_t bytes = (size_t)tensor_numel(&in[k]) * (size_t)dtype_size(in[k].dtype);
        cn->in_item[k] = per_sample && cn->in_batch[k] && nsamples > 0 ? bytes / (size_t)nsamples : bytes;
    }
    atomic_store(&cn->next, 0);
    atomic_store(&cn->done, 0);
    atomic_store(&cn->failed, 0);
    cn->error[0] = 0;
    cn->tick = tick;
    cn->tick_ctx = tick_ctx;
    int n = cn->nsamples < cn->nworkers ? (int)cn->nsamples : cn->nworkers;
    for (int i = 1; i < n; i++)
        cn->w[i].started = pthread_create(&cn->w[i].tid, NULL, work, &cn->w[i]) == 0;
    work(&cn->w[0]); /* the calling thread is worker 0; a worker that did not start leaves its share to the others */
    for (int i = 1; i < n; i++)
        if (cn->w[i].started)
            pthread_join(cn->w[i].tid, NULL), cn->w[i].started = false;
    if (atomic_load(&cn->failed))
        return diag_error(d, loc_none(), "%s", cn->error);
    return true;
}

void calib_native_finish(CalibNative *cn, CalibProfile *prof)
{
    for (int k = 0; k < cn->nobs; k++) {
        CalibStats *s = profile_tensor(prof, cn->names[k]);
        for (int i = 0; i < cn->nworkers; i++) {
            calib_stats_merge(s, &cn->w[i].stats[k]);
            calib_stats_free(&cn->w[i].stats[k]);
            calib_stats_init(&cn->w[i].stats[k]);
        }
    }
}

int calib_native_observe_all(Graph *g)
{
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i]->is_output = false;
    g->noutputs = 0;
    int nvalues = g->nvalues;
    for (int i = 0; i < nvalues; i++) {
        Value *v = g->values[i];
        if (v->kind != VAL_TEMP || v->dtype != DT_F32 || !v->def)
            continue;
        int64_t rows = shape_rows(&v->shape);
        if (rows > 1 && v->shape.rank < QK_MAX_RANK) {
            /* [N*rows, ...] (a batch merged with the dims after it) cannot be
             * an output: a view [N, rows, ...] of it is, with the same bytes,
             * named after it (calib_native_open maps the name back) */
            Shape s = {.rank = v->shape.rank + 1};
            s.d[0] = DIM_BATCH, s.d[1] = rows;
            for (int k = 1; k < v->shape.rank; k++)
                s.d[k + 1] = v->shape.d[k];
            char name[512];
            snprintf(name, sizeof name, "%s" CALIB_NATIVE_VIEW, v->name);
            Value *view = ir_value_new(g, ir_unique_name(g, name), DT_F32, &s, VAL_TEMP);
            Node *r = ir_node_new(g, OP_RESHAPE, ir_unique_name(g, name), &v, 1, &view, 1);
            r->a.nints = s.rank;
            r->a.ints[0] = -1;
            for (int k = 1; k < s.rank; k++)
                r->a.ints[k] = s.d[k];
            ir_graph_add_output(g, view);
        } else {
            ir_graph_add_output(g, v);
        }
    }
    ir_graph_count_uses(g);
    return g->noutputs;
}

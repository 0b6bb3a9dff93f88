/* calibrate.c — the calibration run: the reference interpreter over the
 * user's data with an observer that adds every f32 tensor to the profile.
 * Batches are cut into chunks so memory stays bounded; since statistics
 * are order- and split-independent (passes/calib.c), so is the profile. */
#include "calibrate.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "driver.h"

typedef struct Src {
    int input;         /* graph input index */
    const char *path;
} Src;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The (input, file) list of the specs; files of a directory sorted. */
static bool resolve(const Graph *g, const char *const *specs, int nspecs, Src **out, int *nout, char ***owned,
                    int *nowned, Diag *d)
{
    Src *s = NULL;
    int n = 0;
    *owned = NULL, *nowned = 0;
    for (int i = 0; i < nspecs; i++) {
        const char *spec = specs[i], *eq = strchr(spec, '=');
        int input = -1;
        const char *path = spec;
        if (eq) {
            for (int k = 0; k < g->ninputs; k++)
                if (strlen(g->inputs[k]->name) == (size_t)(eq - spec) &&
                    strncmp(g->inputs[k]->name, spec, (size_t)(eq - spec)) == 0)
                    input = k;
            if (input < 0)
                return diag_error(d, loc_none(), "--calib %s: the model has no input of that name", spec);
            path = eq + 1;
        } else if (g->ninputs == 1) {
            input = 0;
        } else {
            return diag_error(d, loc_none(), "--calib %s: the model has %d inputs; write NAME=FILE.npy for each",
                              spec, g->ninputs);
        }
        DIR *dir = opendir(path);
        if (dir) { /* every .npy of a directory */
            char **names = NULL;
            int cnt = 0;
            struct dirent *e;
            while ((e = readdir(dir))) {
                size_t len = strlen(e->d_name);
                if (len > 4 && strcmp(e->d_name + len - 4, ".npy") == 0) {
                    names = realloc(names, sizeof(char *) * (size_t)(cnt + 1));
                    names[cnt] = malloc(strlen(path) + len + 2);
                    sprintf(names[cnt], "%s/%s", path, e->d_name);
                    cnt++;
                }
            }
            closedir(dir);
            if (cnt == 0) {
                free(names);
                return diag_error(d, loc_file(path), "no .npy files in this directory");
            }
            qsort(names, (size_t)cnt, sizeof(char *), cmp_str);
            for (int k = 0; k < cnt; k++) {
                s = realloc(s, sizeof(Src) * (size_t)(n + 1));
                s[n++] = (Src){input, names[k]};
                *owned = realloc(*owned, sizeof(char *) * (size_t)(*nowned + 1));
                (*owned)[(*nowned)++] = names[k];
            }
            free(names);
            continue;
        }
        s = realloc(s, sizeof(Src) * (size_t)(n + 1));
        s[n++] = (Src){input, path};
    }
    *out = s;
    *nout = n;
    return true;
}

typedef struct Obs {
    CalibProfile *prof;
    int64_t *chan, *inner;  /* by value id: the channel layout of a tensor whose means are kept (chan 0: none) */
} Obs;

/* The activations read by Conv (channels: dim 1) and Gemm/MatMul (the
 * last dim) keep channel sums, for bias correction (passes/quantize.c);
 * the last such reader decides. */
void calib_channel_layout(const Graph *g, const Value *x, int64_t *chan, int64_t *inner)
{
    *chan = 0, *inner = 1;
    if (x->kind == VAL_CONST || x->dtype != DT_F32 || x->shape.rank < 1)
        return;
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        if (!n->nin || n->in[0] != x)
            continue;
        int64_t c = 0, in = 1;
        if (n->op == OP_CONV && x->shape.rank >= 3) {
            c = x->shape.d[1];
            for (int k = 2; k < x->shape.rank; k++)
                in *= x->shape.d[k];
        } else if ((n->op == OP_GEMM && !n->a.trans_a) || n->op == OP_MATMUL) {
            c = x->shape.d[x->shape.rank - 1];
        }
        if (c > 0 && in > 0)
            *chan = c, *inner = in;
    }
}

static void observe(void *ctx, const Value *v, const Tensor *t)
{
    Obs *o = ctx;
    if (t->dtype != DT_F32 || v->kind == VAL_CONST)
        return;
    CalibStats *s = profile_tensor(o->prof, v->name);
    if (o->chan[v->id] > 0)
        calib_stats_add_channels(s, t->data, tensor_numel(t), o->chan[v->id], o->inner[v->id]);
    else
        calib_stats_add(s, t->data, tensor_numel(t));
}

/* Progress on a terminal: samples, rate, and the time left estimated from
 * the files still to read (they are usually alike). */
typedef struct Progress {
    bool tty;
    double t0;
    int64_t before;    /* samples of the batches done */
    int file, nfiles;  /* the batch being run (0-based), of nfiles */
} Progress;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void tick(void *ctx, int64_t done)
{
    Progress *p = ctx;
    if (!p->tty)
        return;
    double t = now_s() - p->t0, rate = t > 0 ? (double)(p->before + done) / t : 0;
    fprintf(stderr, "\rqkc: calibrating: %lld samples, %.1f/s", (long long)(p->before + done), rate);
    if (p->nfiles > 1 && p->file > 0) {
        double left = t / p->file * (p->nfiles - p->file);
        fprintf(stderr, ", batch %d of %d, about %.0f s left   ", p->file + 1, p->nfiles, left);
    } else {
        fprintf(stderr, "   ");
    }
}

bool drv_calib_collect(const Graph *g, CalibNative *native, const char *const *specs, int nspecs, int64_t chunk,
                       CalibProfile *prof, Diag *d)
{
    Src *src = NULL;
    int nsrc = 0, nowned = 0;
    char **owned = NULL;
    if (nspecs == 0)
        return diag_error(d, loc_none(), "no calibration data (--calib DATA)");
    if (!resolve(g, specs, nspecs, &src, &nsrc, &owned, &nowned, d)) {
        free(src);
        for (int i = 0; i < nowned; i++)
            free(owned[i]);
        free(owned);
        return false;
    }
    /* one batch per file for each input, taken in order */
    int *count = calloc((size_t)g->ninputs + 1, sizeof(int));
    for (int i = 0; i < nsrc; i++)
        count[src[i].input]++;
    int nbatch = count[0];
    bool ok = true;
    for (int k = 0; k < g->ninputs && ok; k++)
        if (count[k] != nbatch)
            ok = diag_error(d, loc_none(), "--calib: input '%s' has %d data files, input '%s' %d; give each the same",
                            g->inputs[k]->name, count[k], g->inputs[0]->name, nbatch);
    Progress pr = {.tty = isatty(2), .t0 = now_s(), .nfiles = nbatch};
    int64_t total_samples = 0;
    Tensor *full = calloc((size_t)g->ninputs + 1, sizeof(Tensor));
    Tensor *in = calloc((size_t)g->ninputs + 1, sizeof(Tensor));
    Tensor *out = calloc((size_t)g->noutputs + 1, sizeof(Tensor));
    Obs obs = {prof, calloc((size_t)g->nvalues + 1, sizeof(int64_t)), calloc((size_t)g->nvalues + 1, sizeof(int64_t))};
    if (!obs.chan || !obs.inner)
        ok = diag_error(d, loc_none(), "out of memory");
    for (int i = 0; ok && !native && i < g->nvalues; i++)
        calib_channel_layout(g, g->values[i], &obs.chan[i], &obs.inner[i]);
    for (int b = 0; b < nbatch && ok; b++) {
        pr.file = b;
        int64_t batch = -1;
        for (int k = 0; k < g->ninputs && ok; k++) {
            int seen = 0;
            const char *path = NULL;
            for (int i = 0; i < nsrc; i++)
                if (src[i].input == k && seen++ == b)
                    path = src[i].path;
            const Value *v = g->inputs[k];
            if (!(ok = drv_read_npy(path, &full[k], d)))
                break;
            Shape want = v->shape;
            bool has_batch = shape_has_batch(&want);
            if (has_batch && full[k].shape.rank > 0)
                want.d[0] = full[k].shape.d[0];
            if (full[k].dtype != v->dtype || !shape_eq(&full[k].shape, &want)) {
                char b1[96], b2[96];
                ok = diag_error(d, loc_file(path), "calibration data for input '%s' is %s%s, the model wants %s%s",
                                v->name, dtype_name(full[k].dtype), shape_str(&full[k].shape, b1, sizeof b1),
                                dtype_name(v->dtype), shape_str(&v->shape, b2, sizeof b2));
                break;
            }
            int64_t n = has_batch ? full[k].shape.d[0] : 1;
            if (n == 0) {
                ok = diag_error(d, loc_file(path), "calibration data for input '%s' has no samples", v->name);
                break;
            }
            /* NaN or inf in the data is broken preprocessing, not a range:
             * the statistics would quietly leave it out */
            int64_t total = tensor_numel(&full[k]), bad = -1;
            for (int64_t i = 0; full[k].dtype == DT_F32 && i < total && bad < 0; i++)
                if (!isfinite(((const float *)full[k].data)[i]))
                    bad = i;
            if (bad >= 0) {
                ok = diag_error(d, loc_file(path), "calibration data for input '%s' holds %g (sample %lld, element "
                                "%lld); calibration data must be finite", v->name,
                                (double)((const float *)full[k].data)[bad], (long long)(bad / (total / n)),
                                (long long)(bad % (total / n)));
                break;
            }
            if (batch >= 0 && n != batch)
                ok = diag_error(d, loc_file(path), "input '%s' has %lld samples, another input %lld", v->name,
                                (long long)n, (long long)batch);
            batch = n;
        }
        if (!ok) {
            for (int k = 0; k < g->ninputs; k++)
                tensor_free(&full[k]);
            break;
        }
        total_samples += batch;
        bool has_batch = g->ninputs && shape_has_batch(&g->inputs[0]->shape);
        if (native) { /* the compiled engine: each sample alone, on every worker */
            ok = calib_native_run(native, full, batch, has_batch, tick, &pr, d);
            pr.before += batch;
        }
        /* the interpreter: chunks of at most `chunk` samples */
        for (int64_t s0 = 0; !native && s0 < batch && ok; s0 += chunk) {
            int64_t len = batch - s0 < chunk ? batch - s0 : chunk;
            for (int k = 0; k < g->ninputs; k++) {
                in[k] = full[k];
                if (shape_has_batch(&g->inputs[k]->shape)) {
                    int64_t item = tensor_numel(&full[k]) / (full[k].shape.d[0] ? full[k].shape.d[0] : 1);
                    in[k].shape.d[0] = len;
                    in[k].data = (char *)full[k].data + s0 * item * dtype_size(full[k].dtype);
                }
            }
            ok = interp_run_observe(g, has_batch ? len : 1, in, out, d, observe, &obs);
            for (int k = 0; ok && k < g->noutputs; k++)
                tensor_free(&out[k]);
            pr.before += len;
            tick(&pr, 0);
        }
        for (int k = 0; k < g->ninputs; k++)
            tensor_free(&full[k]);
    }
    if (native && ok)
        calib_native_finish(native, prof);
    if (pr.tty)
        fprintf(stderr, "\r%78s\r", "");
    prof->samples += total_samples;
    free(full);
    free(in);
    free(out);
    free(count);
    free(obs.chan);
    free(obs.inner);
    free(src);
    for (int i = 0; i < nowned; i++)
        free(owned[i]);
    free(owned);
    return ok;
}

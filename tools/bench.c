/* bench.c — `qkc bench`: time an artifact in process. Inputs come from
 * .npy files or are generated (deterministic pseudo-random data of each
 * input's dtype); one context with its workspace reserved up front, a
 * warm-up, then every run timed on its own with a monotonic clock. The
 * statistics are the median and minimum (robust on shared machines), the
 * mean and the 90th percentile. */
#include "bench.h"

#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qkc/qkrt.h"
#include "runtime/npy.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* xorshift64*: the same inputs on every run of qkc bench */
static uint64_t next(uint64_t *s)
{
    *s ^= *s >> 12, *s ^= *s << 25, *s ^= *s >> 27;
    return *s * 2685821657736338717ull;
}

/* Pseudo-random values of an ONNX dtype code: floats in [0, 1), integers
 * small and non-negative (safe as indices and divisors), bools 0/1. */
static void fill(void *buf, int32_t dtype, size_t bytes, uint64_t seed)
{
    uint64_t s = seed | 1;
    size_t es = qkrt_dtype_size(dtype), n = es ? bytes / es : 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t r = next(&s);
        float f = (float)(r >> 40) / (float)(1 << 24);
        switch (dtype) {
        case 1: ((float *)buf)[i] = f; break;
        case 11: ((double *)buf)[i] = f; break;
        case 10: { /* f16 of a value in [0, 1): 0x3c00 is 1.0 */
            uint16_t h = (uint16_t)(r >> 54);
            ((uint16_t *)buf)[i] = h < 0x3c00 ? h : (uint16_t)(h & 0x3bff);
            break;
        }
        case 16: {
            uint32_t bits;
            memcpy(&bits, &f, sizeof bits);
            ((uint16_t *)buf)[i] = (uint16_t)(bits >> 16);
            break;
        }
        case 9: ((uint8_t *)buf)[i] = (uint8_t)(r >> 63); break;
        case 2: case 3: ((uint8_t *)buf)[i] = (uint8_t)(r >> 56); break;
        default: memset((char *)buf + i * es, 0, es), ((uint8_t *)buf)[i * es] = (uint8_t)(r >> 61); break;
        }
    }
}

int bench_artifact(const BenchArgs *a, FILE *out, FILE *err)
{
    int rc = 1;
    qkrt_model *m = NULL;
    qkrt_context *c = NULL;
    int nin = 0, nout = 0;
    NpyArray *npy = NULL;
    void **ins = NULL, **outs = NULL;
    size_t *in_bytes = NULL, *out_bytes = NULL;
    double *t = NULL;

    if (qkrt_model_load(a->artifact, &m) != QKRT_OK) {
        fprintf(err, "qkc bench: %s\n", qkrt_error_message());
        return 1;
    }
    nin = qkrt_model_num_inputs(m), nout = qkrt_model_num_outputs(m);
    npy = calloc((size_t)nin + 1, sizeof *npy);
    ins = calloc((size_t)nin + 1, sizeof *ins);
    outs = calloc((size_t)nout + 1, sizeof *outs);
    in_bytes = calloc((size_t)nin + 1, sizeof *in_bytes);
    out_bytes = calloc((size_t)nout + 1, sizeof *out_bytes);
    if (!npy || !ins || !outs || !in_bytes || !out_bytes) {
        fprintf(err, "qkc bench: out of memory\n");
        goto done;
    }
    int64_t batch = a->batch > 0 ? a->batch : 1;
    for (int i = 0; i < a->ninputs; i++) { /* NAME=FILE.npy, or FILE.npy for one input */
        const char *spec = a->input_specs[i], *eq = strchr(spec, '=');
        int idx = -1;
        if (eq) {
            char name[512];
            snprintf(name, sizeof name, "%.*s", (int)(eq - spec), spec);
            idx = qkrt_model_find_input(m, name);
        } else if (nin == 1) {
            idx = 0;
        }
        char msg[512];
        if (idx < 0 || npy[idx].data) {
            fprintf(err, "qkc bench: --input %s matches no (unset) input of the model\n", spec);
            goto done;
        }
        if (npy_read(eq ? eq + 1 : spec, &npy[idx], msg, sizeof msg) != 0) {
            fprintf(err, "qkc bench: %s\n", msg);
            goto done;
        }
        const qkrt_tensor_desc *d = qkrt_model_input(m, idx);
        if (npy[idx].dtype != d->dtype || npy[idx].rank != d->rank) {
            fprintf(err, "qkc bench: input '%s': the .npy holds %s of rank %d, the model wants %s of rank %d\n",
                    d->name, qkrt_dtype_name(npy[idx].dtype), npy[idx].rank, qkrt_dtype_name(d->dtype), d->rank);
            goto done;
        }
        if (d->rank > 0 && d->dims[0] == QKRT_DIM_BATCH) {
            if (a->batch > 0 && npy[idx].dims[0] != a->batch) {
                fprintf(err, "qkc bench: input '%s' has batch %lld, --batch says %lld\n", d->name,
                        (long long)npy[idx].dims[0], (long long)a->batch);
                goto done;
            }
            batch = npy[idx].dims[0];
        }
    }
    for (int i = 0; i < nin; i++) {
        const qkrt_tensor_desc *d = qkrt_model_input(m, i);
        in_bytes[i] = qkrt_tensor_bytes(d, batch);
        if (npy[i].data) {
            ins[i] = npy[i].data;
            if (npy[i].bytes != in_bytes[i]) {
                fprintf(err, "qkc bench: input '%s': the .npy has %zu bytes, the model wants %zu at batch %lld\n",
                        d->name, npy[i].bytes, in_bytes[i], (long long)batch);
                goto done;
            }
        } else {
            ins[i] = malloc(in_bytes[i] ? in_bytes[i] : 1);
            if (!ins[i]) {
                fprintf(err, "qkc bench: out of memory for input '%s'\n", d->name);
                goto done;
            }
            fill(ins[i], d->dtype, in_bytes[i], 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1));
        }
    }
    for (int i = 0; i < nout; i++) {
        out_bytes[i] = qkrt_tensor_bytes(qkrt_model_output(m, i), batch);
        outs[i] = malloc(out_bytes[i] ? out_bytes[i] : 1);
        if (!outs[i]) {
            fprintf(err, "qkc bench: out of memory for output '%s'\n", qkrt_model_output(m, i)->name);
            goto done;
        }
    }
    if (qkrt_context_create(m, &c) != QKRT_OK || (a->threads > 0 && qkrt_context_set_threads(c, a->threads)) ||
        qkrt_context_reserve(c, batch) != QKRT_OK) {
        fprintf(err, "qkc bench: %s\n", qkrt_error_message());
        goto done;
    }
    /* warm-up (caches, page faults, the thread pool): --warmup runs, or by
     * default at least 3 and up to 0.1 s; it also sizes the default run
     * count, about 1 s of runs */
    double w0 = now_us();
    int wdone = 0;
    while (a->warmup >= 0 ? wdone < a->warmup : (wdone < 3 || (now_us() - w0 < 100e3 && wdone < 1000))) {
        if (qkrt_run(c, batch, (const void *const *)ins, in_bytes, outs, out_bytes) != QKRT_OK) {
            fprintf(err, "qkc bench: %s\n", qkrt_error_message());
            goto done;
        }
        wdone++;
    }
    double per = wdone ? (now_us() - w0) / wdone : 1e3;
    int iters = a->iters > 0 ? a->iters : (int)fmin(100000, fmax(10, 1e6 / fmax(per, 1e-3)));
    t = malloc(sizeof(double) * (size_t)iters);
    if (!t) {
        fprintf(err, "qkc bench: out of memory\n");
        goto done;
    }
    for (int i = 0; i < iters; i++) {
        double t0 = now_us();
        qkrt_status s = qkrt_run(c, batch, (const void *const *)ins, in_bytes, outs, out_bytes);
        t[i] = now_us() - t0;
        if (s != QKRT_OK) {
            fprintf(err, "qkc bench: %s\n", qkrt_error_message());
            goto done;
        }
    }
    double sum = 0;
    for (int i = 0; i < iters; i++)
        sum += t[i];
    qsort(t, (size_t)iters, sizeof *t, cmp_double);
    double med = iters % 2 ? t[iters / 2] : 0.5 * (t[iters / 2 - 1] + t[iters / 2]);
    double p90 = t[(size_t)ceil(0.9 * iters) - 1], mn = t[0], mean = sum / iters;
    int threads = a->threads > 0 ? a->threads : 0;
    if (!threads) {
        const char *e = getenv("QKRT_NUM_THREADS");
        threads = e && atoi(e) > 0 ? atoi(e) : 1;
    }
    const qkrt_artifact *art = qkrt_model_artifact(m);
    double thr = med > 0 ? (double)batch * 1e6 / med : 0;
    if (a->json) {
        fprintf(out,
                "{\"artifact\": \"%s\", \"target\": \"%s\", \"cpu\": \"%s\", \"batch\": %lld, \"threads\": %d, "
                "\"iters\": %d, \"warmup\": %d, \"median_us\": %.3f, \"min_us\": %.3f, \"mean_us\": %.3f, "
                "\"p90_us\": %.3f, \"throughput_per_s\": %.1f}\n",
                a->artifact, art->target, art->cpu, (long long)batch, threads, iters, wdone, med, mn, mean, p90, thr);
    } else {
        fprintf(out, "%s (%s, cpu %s): batch %lld, %d thread%s, %d runs after %d warm-up\n", a->artifact,
                art->target, art->cpu, (long long)batch, threads, threads > 1 ? "s" : "", iters, wdone);
        fprintf(out, "  median %.2f us   min %.2f us   mean %.2f us   p90 %.2f us\n", med, mn, mean, p90);
        fprintf(out, "  throughput %.1f samples/s (%.3f us per sample at the median)\n", thr, med / (double)batch);
    }
    rc = 0;
done:
    if (c)
        qkrt_context_free(c);
    for (int i = 0; ins && i < nin; i++)
        if (!(npy && npy[i].data))
            free(ins[i]);
    for (int i = 0; npy && i < nin; i++)
        npy_free(&npy[i]);
    for (int i = 0; outs && i < nout; i++)
        free(outs[i]);
    free(npy);
    free(ins);
    free(outs);
    free(in_bytes);
    free(out_bytes);
    free(t);
    qkrt_model_free(m);
    return rc;
}

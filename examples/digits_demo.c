/* digits_demo.c — embedding a qkc artifact in a C program.
 *
 *   digits_demo MODEL.so TEST_X.npy TEST_Y.npy
 *
 * Loads a compiled digits classifier through the runtime (qkrt.h),
 * classifies the test images one at a time and as one batch, and prints
 * the accuracy and the latency (median over repetitions). */
#include <stdio.h>
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

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int argmax(const float *v, int n)
{
    int best = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s MODEL.so TEST_X.npy TEST_Y.npy\n", argv[0]);
        return 2;
    }
    char err[512];
    NpyArray x, y;
    if (npy_read(argv[2], &x, err, sizeof err) || npy_read(argv[3], &y, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    qkrt_model *m;
    qkrt_context *c;
    if (qkrt_model_load(argv[1], &m) != QKRT_OK || qkrt_context_create(m, &c) != QKRT_OK) {
        fprintf(stderr, "%s\n", qkrt_error_message());
        return 1;
    }
    const qkrt_tensor_desc *in = qkrt_model_input(m, 0), *out = qkrt_model_output(m, 0);
    int64_t n = x.dims[0];
    int classes = (int)out->dims[out->rank - 1];
    size_t item_in = qkrt_tensor_bytes(in, 1), item_out = qkrt_tensor_bytes(out, 1);
    if (x.dtype != 1 || y.dtype != 7 || y.dims[0] != n || x.bytes != item_in * (size_t)n) {
        fprintf(stderr, "the data does not fit the model's input %s\n", in->name);
        return 1;
    }
    float *logits = malloc(item_out * (size_t)n);
    const int64_t *labels = y.data;
    qkrt_context_reserve(c, n);

    /* batch 1: every image on its own, timed */
    double *t1 = malloc(sizeof(double) * (size_t)n);
    int correct = 0;
    for (int64_t i = 0; i < n; i++) {
        const void *ins[] = {(const char *)x.data + i * (int64_t)item_in};
        void *outs[] = {(char *)logits + i * (int64_t)item_out};
        double t = now_us();
        if (qkrt_run(c, 1, ins, &item_in, outs, &item_out) != QKRT_OK) {
            fprintf(stderr, "%s\n", qkrt_error_message());
            return 1;
        }
        t1[i] = now_us() - t;
        correct += argmax(logits + i * classes, classes) == labels[i];
    }
    /* one batch of all images, repeated */
    enum { REPS = 30 };
    double tb[REPS];
    size_t in_bytes = item_in * (size_t)n, out_bytes = item_out * (size_t)n;
    int correct_batch = 0;
    for (int r = 0; r < REPS; r++) {
        const void *ins[] = {x.data};
        void *outs[] = {logits};
        double t = now_us();
        if (qkrt_run(c, n, ins, &in_bytes, outs, &out_bytes) != QKRT_OK) {
            fprintf(stderr, "%s\n", qkrt_error_message());
            return 1;
        }
        tb[r] = now_us() - t;
    }
    for (int64_t i = 0; i < n; i++)
        correct_batch += argmax(logits + i * classes, classes) == labels[i];

    const qkrt_artifact *a = qkrt_model_artifact(m);
    printf("%s (%s, cpu %s): %lld test images\n", argv[1], a->target, a->cpu, (long long)n);
    printf("  accuracy:  %.2f%% (%d/%lld) one at a time, %.2f%% as one batch\n", 100.0 * correct / n, correct,
           (long long)n, 100.0 * correct_batch / n);
    double mb = median(tb, REPS);
    printf("  latency:   batch 1: %.1f us per image (median of %lld runs)\n", median(t1, (int)n), (long long)n);
    printf("             batch %lld: %.1f us (%.2f us per image, median of %d runs)\n", (long long)n, mb, mb / n,
           REPS);
    qkrt_context_free(c);
    qkrt_model_free(m);
    npy_free(&x);
    npy_free(&y);
    free(logits);
    free(t1);
    return correct == correct_batch ? 0 : 1;
}

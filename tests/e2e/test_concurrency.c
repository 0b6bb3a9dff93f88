/* test_concurrency.c — one loaded model, many threads: the CNN compiled
 * for this machine and loaded once; 8 threads, each with its own context,
 * make 100 runs each (batches of 1 to 8 images from varying offsets,
 * started together), and every output must be bit-identical to the same
 * run made before on a single thread. Then the same with contexts that
 * use a pool of 2 threads each (16 worker threads on one model). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>

#include "e2e/e2e_util.h"

#define WORK E2E_WORK "/concurrency"

enum { THREADS = 8, RUNS = 100, MAXB = 8 };

static Tensor x;
static qkrt_model *model;
static float *ref; /* [THREADS][RUNS][MAXB * 10]: single-threaded outputs */

/* The images of run r of thread t. */
static int64_t batch_of(int t, int r) { return 1 + (t * 3 + r * 5) % MAXB; }
static int64_t offset_of(int t, int r) { return (t * 37 + r * 11) % (E2E_IMAGES - MAXB); }
static float *ref_at(int t, int r) { return ref + ((size_t)t * RUNS + (size_t)r) * MAXB * E2E_CLASSES; }

static int setup(void **state)
{
    e2e_mkdir(WORK);
    e2e_read_npy(E2E_MODELS "/digits_test_x.npy", &x);
    e2e_compile(E2E_MODELS "/cnn.onnx", NULL, EMIT_SO, 0, WORK "/cnn.so");
    if (qkrt_model_load(WORK "/cnn.so", &model) != QKRT_OK) {
        fprintf(stderr, "load: %s\n", qkrt_error_message());
        return -1;
    }
    /* every run once, on this thread, with one context */
    ref = calloc((size_t)THREADS * RUNS * MAXB * E2E_CLASSES, sizeof(float));
    qkrt_context *c;
    if (!ref || qkrt_context_create(model, &c) != QKRT_OK || qkrt_context_set_threads(c, 1) != QKRT_OK)
        return -1;
    for (int t = 0; t < THREADS; t++)
        for (int r = 0; r < RUNS; r++)
            if (e2e_run(c, batch_of(t, r), (const float *)x.data + offset_of(t, r) * E2E_PIXELS, ref_at(t, r)) !=
                QKRT_OK) {
                fprintf(stderr, "reference run: %s\n", qkrt_error_message());
                return -1;
            }
    qkrt_context_free(c);
    return 0;
}

static int teardown(void **state)
{
    qkrt_model_free(model);
    tensor_free(&x);
    free(ref);
    return 0;
}

typedef struct Worker {
    int t;
    int pool;              /* threads of the worker's context */
    pthread_barrier_t *go;
    int failed_runs;       /* runs whose status was not QKRT_OK */
    int mismatches;        /* runs whose output differs from the reference */
    int first_bad;         /* the first such run, or -1 */
    char msg[256];
} Worker;

static void *work(void *arg)
{
    Worker *w = arg;
    qkrt_context *c = NULL;
    w->first_bad = -1;
    if (qkrt_context_create(model, &c) != QKRT_OK || qkrt_context_set_threads(c, w->pool) != QKRT_OK) {
        snprintf(w->msg, sizeof w->msg, "context: %s", qkrt_error_message());
        w->failed_runs = RUNS;
    }
    float out[MAXB * E2E_CLASSES];
    pthread_barrier_wait(w->go);
    for (int r = 0; c && r < RUNS; r++) {
        int64_t b = batch_of(w->t, r);
        memset(out, 0xff, sizeof out);
        if (e2e_run(c, b, (const float *)x.data + offset_of(w->t, r) * E2E_PIXELS, out) != QKRT_OK) {
            if (!w->failed_runs++)
                snprintf(w->msg, sizeof w->msg, "run %d: %s", r, qkrt_error_message());
            continue;
        }
        if (memcmp(out, ref_at(w->t, r), (size_t)b * E2E_CLASSES * sizeof(float)) != 0) {
            w->mismatches++;
            if (w->first_bad < 0)
                w->first_bad = r;
        }
    }
    qkrt_context_free(c);
    return NULL;
}

static void run_threads(int pool)
{
    pthread_t th[THREADS];
    Worker w[THREADS];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, THREADS);
    for (int t = 0; t < THREADS; t++) {
        w[t] = (Worker){.t = t, .pool = pool, .go = &go};
        assert_int_equal(pthread_create(&th[t], NULL, work, &w[t]), 0);
    }
    for (int t = 0; t < THREADS; t++)
        pthread_join(th[t], NULL);
    pthread_barrier_destroy(&go);
    for (int t = 0; t < THREADS; t++) {
        if (w[t].failed_runs)
            fail_msg("thread %d: %d runs failed; first: %s", t, w[t].failed_runs, w[t].msg);
        if (w[t].mismatches)
            fail_msg("thread %d (contexts of %d threads): %d of %d runs differ from the single-threaded run; first: "
                     "run %d (batch %lld at image %lld)", t, pool, w[t].mismatches, RUNS, w[t].first_bad,
                     (long long)batch_of(t, w[t].first_bad), (long long)offset_of(t, w[t].first_bad));
    }
}

static void test_8_threads_serial_contexts(void **state) { run_threads(1); }
static void test_8_threads_pooled_contexts(void **state) { run_threads(2); }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_8_threads_serial_contexts),
        cmocka_unit_test(test_8_threads_pooled_contexts),
    };
    return cmocka_run_group_tests_name("e2e_concurrency", tests, setup, teardown);
}

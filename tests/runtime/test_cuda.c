/* test_cuda.c — NVPTX artifacts. Without a CUDA driver, loading one must
 * fail cleanly with QKRT_ERR_DEVICE and say why. With a driver and a GPU,
 * a hand-made artifact (PTX from gpu_kernels.ll) runs the same model as
 * the CPU fake: y = 2x + 1 and per-sample sums, here with its scale and
 * bias as uploaded constants, its intermediate in the batch part of the
 * device workspace, a launch with no work (whose kernel traps if run), and
 * contexts on several threads.
 *
 * Run as test_cuda_mock (QKRT_TEST_MOCK_CUDA=1), the driver is
 * mock_cuda.c: the same tests then run on any machine, plus a kernel fault
 * (which would spoil a real GPU's context for the rest of the process) and
 * a check that every device allocation, module and context reference was
 * given back. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qkc/qkrt.h"

enum { PER = 100 };

static const int64_t x_dims[] = {QKRT_DIM_BATCH, 1, 10, 10};
static const int64_t sum_dims[] = {QKRT_DIM_BATCH};
static const qkrt_tensor_desc inputs[] = {{"x", 1, 4, x_dims}};
static const qkrt_tensor_desc outputs[] = {{"y", 1, 4, x_dims}, {"sum", 1, 1, sum_dims}};
static const float consts[] = {2.0f, 1.0f}; /* scale, bias */

/* scale(x, tmp, &scale, batch); never(); shift_sum(tmp, &bias, y, sum, batch, scratch) */
static const qkrt_gpu_arg scale_args[] = {
    {QKRT_ARG_INPUT, 0, 0}, {QKRT_ARG_WS_BATCH, 0, 0}, {QKRT_ARG_CONST, 0, 0}, {QKRT_ARG_BATCH, 0, 0}};
static const qkrt_gpu_arg shift_args[] = {
    {QKRT_ARG_WS_BATCH, 0, 0}, {QKRT_ARG_CONST, 0, 4},   {QKRT_ARG_OUTPUT, 0, 0},
    {QKRT_ARG_OUTPUT, 1, 0},   {QKRT_ARG_BATCH, 0, 0}, {QKRT_ARG_WS_STATIC, 0, 0}};
static const qkrt_gpu_launch launches[] = {
    {"scale", 0, PER, 128, 4, scale_args},
    {"never", 0, 0, 32, 0, NULL},
    {"shift_sum", 0, 1, 64, 6, shift_args},
};

static char *ptx_text;
static int mock;                 /* QKRT_TEST_MOCK_CUDA: the driver must be mock_cuda.c */
static int (*mock_live)(void);   /* its count of what is still held */
static void (*mock_clear_fault)(void);

static qkrt_artifact gpu_artifact(void)
{
    qkrt_artifact a = {
        .magic = QKRT_MAGIC,
        .abi_version = QKRT_ABI_VERSION,
        .target = "nvptx",
        .cpu = "sm_80",
        .model_name = "gpu-fake",
        .num_inputs = 1,
        .num_outputs = 2,
        .inputs = inputs,
        .outputs = outputs,
        .ws_static = 64,
        .ws_batch = PER * sizeof(float),
        .ptx = ptx_text,
        .consts = consts,
        .consts_size = sizeof consts,
        .num_launches = 3,
        .launches = launches,
    };
    return a;
}

static int have_driver(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

/* Load the GPU artifact, or skip the test when this machine cannot. */
static qkrt_model *load_or_skip(const qkrt_artifact *a)
{
    qkrt_model *m;
    if (!have_driver()) {
        print_message("skipped: no CUDA driver on this machine\n");
        skip();
    }
    qkrt_status s = qkrt_model_from_artifact(a, &m);
    if (s == QKRT_ERR_DEVICE && strstr(qkrt_error_message(), "no usable NVIDIA GPU")) {
        print_message("skipped: %s\n", qkrt_error_message());
        skip();
    }
    if (s)
        fail_msg("%s: %s", qkrt_status_name(s), qkrt_error_message());
    return m;
}

/* With the mock: nothing left allocated, loaded or retained. */
static void check_no_leaks(void)
{
    if (mock_live && mock_live() != 0)
        fail_msg("the runtime left %d device resources behind", mock_live());
}

static void test_no_driver(void **state)
{
    if (have_driver()) {
        print_message("skipped: this machine has a CUDA driver\n");
        skip();
    }
    qkrt_artifact a = gpu_artifact();
    qkrt_model *m = (qkrt_model *)1;
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_ERR_DEVICE);
    assert_null(m);
    assert_string_equal(qkrt_error_message(), "gpu-fake: no CUDA driver (libcuda.so.1 not found): this artifact needs "
                        "an NVIDIA GPU and its driver");
    /* and again: the failure is remembered, the message set each time */
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_ERR_DEVICE);
    assert_non_null(strstr(qkrt_error_message(), "no CUDA driver"));
}

static int run_and_check(qkrt_context *c, int64_t batch, int seed)
{
    size_t n = (size_t)batch * PER;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *sum = malloc((size_t)batch * sizeof *sum);
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(((int64_t)i * 7 + seed) % 23 - 11) * 0.25f;
    const void *in[] = {x};
    size_t in_bytes[] = {n * sizeof *x};
    void *out[] = {y, sum};
    size_t out_bytes[] = {n * sizeof *y, (size_t)batch * sizeof *sum};
    int ok = qkrt_run(c, batch, in, in_bytes, out, out_bytes) == QKRT_OK;
    for (int64_t b = 0; ok && b < batch; b++) {
        float s = 0;
        for (int64_t k = b * PER; k < (b + 1) * PER; k++) {
            float want = 2.0f * x[k] + 1.0f; /* exact: quarter steps */
            ok &= y[k] == want;
            s += want;
        }
        ok &= sum[b] == s; /* the kernel sums in the same order */
    }
    free(x);
    free(y);
    free(sum);
    return ok;
}

static void test_gpu_run(void **state)
{
    qkrt_artifact a = gpu_artifact();
    qkrt_model *m = load_or_skip(&a);
    qkrt_context *c;
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    const int64_t batches[] = {1, 37, 3, 1000};
    for (size_t i = 0; i < sizeof batches / sizeof *batches; i++)
        if (!run_and_check(c, batches[i], (int)i))
            fail_msg("batch %lld: %s", (long long)batches[i], qkrt_error_message());
    assert_int_equal(qkrt_context_reserve(c, 4096), QKRT_OK);
    assert_true(run_and_check(c, 4096, 9));
    assert_true(run_and_check(c, 2, 10));

    /* checked before the device is touched */
    static float x[PER], y[PER], sum[1];
    const void *in[] = {x};
    size_t in_bytes[] = {sizeof x};
    void *out[] = {y, sum};
    size_t out_bytes[] = {sizeof y, sizeof sum};
    assert_int_equal(qkrt_run(c, 2, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_non_null(strstr(qkrt_error_message(), "input 'x': 400 bytes given, 800 expected for batch 2"));
    assert_int_equal(qkrt_run(c, 0, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_reserve(c, INT64_MAX / 8), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_set_threads(c, 4), QKRT_OK); /* accepted, no pool on a GPU */
    assert_true(run_and_check(c, 1, 11));

    /* two contexts of one model, interleaved */
    qkrt_context *c2;
    assert_int_equal(qkrt_context_create(m, &c2), QKRT_OK);
    for (int i = 0; i < 5; i++) {
        assert_true(run_and_check(c, 1 + i, i));
        assert_true(run_and_check(c2, 5 - i, i));
    }
    qkrt_context_free(c2);
    qkrt_context_free(c);
    qkrt_model_free(m);
    check_no_leaks();
}

typedef struct Worker {
    qkrt_model *m;
    int id, failures;
    char msg[512];
} Worker;

static void *worker_main(void *arg)
{
    Worker *w = arg;
    qkrt_context *c;
    if (qkrt_context_create(w->m, &c)) {
        w->failures = -1;
        snprintf(w->msg, sizeof w->msg, "%s", qkrt_error_message());
        return NULL;
    }
    for (int i = 0; i < 50; i++)
        if (!run_and_check(c, 1 + (i + w->id) % 7, i) && !w->failures++)
            snprintf(w->msg, sizeof w->msg, "%s", qkrt_error_message());
    qkrt_context_free(c);
    return NULL;
}

/* A context made on this thread, used on another (no current context
 * there until the runtime sets it). */
typedef struct Handoff {
    qkrt_context *c;
    int ok;
    char msg[512];
} Handoff;

static void *run_elsewhere(void *arg)
{
    Handoff *h = arg;
    h->ok = run_and_check(h->c, 3, 4);
    snprintf(h->msg, sizeof h->msg, "%s", qkrt_error_message());
    return NULL;
}

static void test_gpu_threads(void **state)
{
    qkrt_artifact a = gpu_artifact();
    qkrt_model *m = load_or_skip(&a);
    pthread_t t[4];
    Worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (Worker){m, i, 0, ""};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 4; i++)
        if (w[i].failures)
            fail_msg("thread %d: %d failures (%s)", i, w[i].failures, w[i].msg);

    Handoff h = {NULL, 0, ""};
    assert_int_equal(qkrt_context_create(m, &h.c), QKRT_OK);
    assert_int_equal(pthread_create(&t[0], NULL, run_elsewhere, &h), 0);
    pthread_join(t[0], NULL);
    if (!h.ok)
        fail_msg("run on another thread: %s", h.msg);
    qkrt_context_free(h.c);
    qkrt_model_free(m);
    check_no_leaks();
}

/* A kernel that faults: the run fails with the driver's words and the
 * kernel's name. Mock only: on a GPU the context would stay broken. */
static void test_gpu_kernel_fault(void **state)
{
    if (!mock)
        skip();
    static const qkrt_gpu_launch faulty[] = {{"never", 1, 0, 32, 0, NULL}};
    qkrt_artifact a = gpu_artifact();
    a.launches = faulty;
    a.num_launches = 1;
    qkrt_model *m = load_or_skip(&a);
    qkrt_context *c;
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_false(run_and_check(c, 1, 0));
    assert_non_null(strstr(qkrt_error_message(), "gpu-fake: running the kernels (the last launched was 'never'): "
                                                 "unspecified launch failure (CUDA error 719)"));
    mock_clear_fault();
    qkrt_context_free(c);
    qkrt_model_free(m);
    check_no_leaks();
}

static void test_gpu_bad_ptx_and_kernel(void **state)
{
    if (!have_driver())
        skip();
    qkrt_artifact a = gpu_artifact();
    qkrt_model *m;
    a.ptx = ".version 7.0\n.target sm_80\n.address_size 64\n.visible .entry broken( { garbage }\n";
    qkrt_status s = qkrt_model_from_artifact(&a, &m);
    if (s == QKRT_ERR_DEVICE && strstr(qkrt_error_message(), "no usable NVIDIA GPU"))
        skip();
    assert_int_equal(s, QKRT_ERR_DEVICE);
    print_message("bad PTX: %s\n", qkrt_error_message());
    assert_non_null(strstr(qkrt_error_message(), "gpu-fake: loading the PTX"));

    static const qkrt_gpu_launch missing[] = {{"no_such_kernel", 0, 1, 32, 0, NULL}};
    a = gpu_artifact();
    a.launches = missing;
    a.num_launches = 1;
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_ERR_DEVICE);
    assert_non_null(strstr(qkrt_error_message(), "kernel 'no_such_kernel' not found in the PTX"));
    check_no_leaks();
}

static int setup(void **state)
{
    const char *e = getenv("QKRT_TEST_MOCK_CUDA");
    mock = e && *e == '1';
    if (mock) {
        void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        if (!h || !(mock_live = (int (*)(void))dlsym(h, "mock_cuda_live")) ||
            !(mock_clear_fault = (void (*)(void))dlsym(h, "mock_cuda_clear_fault"))) {
            print_error("QKRT_TEST_MOCK_CUDA is set but libcuda.so.1 is not mock_cuda.c\n");
            return -1;
        }
        /* the handle stays open: the runtime shares it */
    }
    FILE *f = fopen(GPU_PTX, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    ptx_text = calloc(1, (size_t)n + 1);
    size_t got = ptx_text ? fread(ptx_text, 1, (size_t)n, f) : 0;
    fclose(f);
    return got == (size_t)n ? 0 : -1;
}

static int teardown(void **state)
{
    free(ptx_text);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_no_driver),
        cmocka_unit_test(test_gpu_run),
        cmocka_unit_test(test_gpu_threads),
        cmocka_unit_test(test_gpu_bad_ptx_and_kernel),
        cmocka_unit_test(test_gpu_kernel_fault),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

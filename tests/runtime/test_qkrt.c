/* test_qkrt.c — the runtime API on hand-made artifacts: loading and
 * refusing (ELF checks, ABI version, magic, broken descriptors), queries,
 * runs at several batches and thread counts, argument checks with their
 * messages, and many threads running separate contexts of one model. */
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
#include <unistd.h>

#include "qkc/qkrt.h"
#include "runtime/internal.h"

enum { PER = 100 }; /* elements per sample of the fake artifact */

/* Fail with the message when it lacks `needle`. */
#define assert_msg(needle)                                                                                           \
    do {                                                                                                             \
        if (!strstr(qkrt_error_message(), (needle)))                                                                 \
            fail_msg("message \"%s\" lacks \"%s\"", qkrt_error_message(), (needle));                                \
    } while (0)

static void fill_x(float *x, int64_t n, int seed)
{
    for (int64_t i = 0; i < n; i++)
        x[i] = (float)((i * 7 + seed) % 23 - 11) * 0.25f;
}

/* Run the fake artifact at `batch` and compare with y = 2x + 1, sum. */
static int run_and_check(qkrt_context *c, int64_t batch, int seed)
{
    size_t n = (size_t)batch * PER;
    float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), *sum = malloc((size_t)batch * sizeof *sum);
    fill_x(x, (int64_t)n, seed);
    const void *in[] = {x};
    size_t in_bytes[] = {n * sizeof *x};
    void *out[] = {y, sum};
    size_t out_bytes[] = {n * sizeof *y, (size_t)batch * sizeof *sum};
    int ok = qkrt_run(c, batch, in, in_bytes, out, out_bytes) == QKRT_OK;
    for (int64_t b = 0; ok && b < batch; b++) {
        float s = 0;
        for (int64_t k = b * PER; k < (b + 1) * PER; k++) {
            float want = 2.0f * x[k] + 1.0f;
            ok &= y[k] == want;
            s += want;
        }
        ok &= sum[b] == s;
    }
    free(x);
    free(y);
    free(sum);
    return ok;
}

static qkrt_model *load_fake(void)
{
    qkrt_model *m = NULL;
    if (qkrt_model_load(FAKE_ARTIFACT, &m) != QKRT_OK)
        fail_msg("%s", qkrt_error_message());
    return m;
}

/* The fake artifact's record of its last run (same handle as the model's). */
static int fake_last_nthreads(void)
{
    void *h = dlopen(FAKE_ARTIFACT, RTLD_NOW | RTLD_NOLOAD);
    assert_non_null(h);
    int *p = dlsym(h, "fake_last_nthreads");
    assert_non_null(p);
    int n = __atomic_load_n(p, __ATOMIC_RELAXED);
    dlclose(h);
    return n;
}

static void test_load_and_query(void **state)
{
    qkrt_model *m = load_fake();
    assert_int_equal(qkrt_model_num_inputs(m), 1);
    assert_int_equal(qkrt_model_num_outputs(m), 2);
    const qkrt_tensor_desc *x = qkrt_model_input(m, 0);
    assert_non_null(x);
    assert_string_equal(x->name, "x");
    assert_int_equal(x->dtype, 1);
    assert_int_equal(x->rank, 4);
    assert_int_equal(x->dims[0], QKRT_DIM_BATCH);
    assert_int_equal(x->dims[3], 10);
    assert_string_equal(qkrt_model_output(m, 1)->name, "sum");
    assert_null(qkrt_model_input(m, 1));
    assert_null(qkrt_model_input(m, -1));
    assert_null(qkrt_model_output(m, 2));
    assert_int_equal(qkrt_model_find_input(m, "x"), 0);
    assert_int_equal(qkrt_model_find_input(m, "y"), -1);
    assert_int_equal(qkrt_model_find_output(m, "y"), 0);
    assert_int_equal(qkrt_model_find_output(m, "sum"), 1);
    assert_int_equal(qkrt_model_find_output(m, "nope"), -1);
    assert_int_equal(qkrt_model_find_output(m, NULL), -1);
    assert_true(qkrt_model_has_batch(m));
    assert_int_equal(qkrt_tensor_bytes(x, 1), 400);
    assert_int_equal(qkrt_tensor_bytes(x, 4), 1600);
    const qkrt_artifact *a = qkrt_model_artifact(m);
    assert_string_equal(a->model_name, "fake");
    assert_int_equal(a->abi_version, QKRT_ABI_VERSION);
    qkrt_model_free(m);

    /* NULL-safe queries */
    assert_int_equal(qkrt_model_num_inputs(NULL), 0);
    assert_null(qkrt_model_input(NULL, 0));
    assert_int_equal(qkrt_model_find_input(NULL, "x"), -1);
    assert_null(qkrt_model_artifact(NULL));
    qkrt_model_free(NULL);
    qkrt_context_free(NULL);
}

static void test_run_batches_and_threads(void **state)
{
    qkrt_model *m = load_fake();
    const int threads[] = {1, 2, 4};
    const int64_t batches[] = {1, 37, 5, 64, 2};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        qkrt_context *c;
        assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
        assert_int_equal(qkrt_context_set_threads(c, threads[t]), QKRT_OK);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            if (!run_and_check(c, batches[b], (int)(t * 10 + b)))
                fail_msg("batch %lld threads %d: %s", (long long)batches[b], threads[t], qkrt_error_message());
            assert_int_equal(fake_last_nthreads(), threads[t]);
        }
        qkrt_context_free(c);
    }
    qkrt_model_free(m);
}

static void test_threads_from_env(void **state)
{
    qkrt_model *m = load_fake();
    qkrt_context *c;
    setenv("QKRT_NUM_THREADS", "3", 1);
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_true(run_and_check(c, 9, 1));
    assert_int_equal(fake_last_nthreads(), 3);
    qkrt_context_free(c);

    setenv("QKRT_NUM_THREADS", "lots", 1); /* not a number: the default */
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_true(run_and_check(c, 2, 1));
    assert_int_equal(fake_last_nthreads(), 1);
    qkrt_context_free(c);
    unsetenv("QKRT_NUM_THREADS");
    qkrt_model_free(m);
}

static void test_context_settings(void **state)
{
    qkrt_model *m = load_fake();
    qkrt_context *c;
    assert_int_equal(qkrt_context_create(NULL, &c), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_create(m, NULL), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_int_equal(qkrt_context_set_threads(c, 0), QKRT_ERR_ARG);
    assert_msg("threads: 0");
    assert_int_equal(qkrt_context_set_threads(c, 100000), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_set_threads(NULL, 2), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_set_threads(c, 3), QKRT_OK);
    assert_int_equal(qkrt_context_set_threads(c, 1), QKRT_OK);
    assert_int_equal(qkrt_context_reserve(c, 0), QKRT_ERR_ARG);
    assert_msg("batch 0: must be at least 1");
    assert_int_equal(qkrt_context_reserve(c, INT64_MAX), QKRT_ERR_ARG);
    assert_msg("overflows");
    assert_int_equal(qkrt_context_reserve(NULL, 3), QKRT_ERR_ARG);
    assert_int_equal(qkrt_context_reserve(c, 100), QKRT_OK);
    assert_true(run_and_check(c, 100, 3));
    assert_true(run_and_check(c, 7, 3));
    qkrt_context_free(c);
    qkrt_model_free(m);
}

static void test_run_rejects_bad_arguments(void **state)
{
    qkrt_model *m = load_fake();
    qkrt_context *c;
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    static float x[4 * PER], y[4 * PER], sum[4];
    const void *in[] = {x};
    size_t in_bytes[] = {sizeof x};
    void *out[] = {y, sum};
    size_t out_bytes[] = {sizeof y, sizeof sum};

    assert_int_equal(qkrt_run(c, 4, in, in_bytes, out, out_bytes), QKRT_OK);

    in_bytes[0] = 1200;
    assert_int_equal(qkrt_run(c, 4, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "input 'x': 1200 bytes given, 1600 expected for batch 4 ([4,1,10,10] f32)");
    in_bytes[0] = sizeof x;

    out_bytes[1] = 12;
    assert_int_equal(qkrt_run(c, 4, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "output 'sum': 12 bytes given, 16 expected for batch 4 ([4] f32)");
    out_bytes[1] = sizeof sum;

    /* right sizes for batch 4 are wrong for batch 3 */
    assert_int_equal(qkrt_run(c, 3, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_msg("1600 bytes given, 1200 expected for batch 3");

    assert_int_equal(qkrt_run(c, 0, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "batch 0: must be at least 1");
    assert_int_equal(qkrt_run(c, -5, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_msg("batch -5");
    assert_int_equal(qkrt_run(c, INT64_MAX / 2, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_msg("input 'x': size overflows");

    assert_int_equal(qkrt_run(c, 4, NULL, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "inputs is NULL (the model has 1 input)");
    assert_int_equal(qkrt_run(c, 4, in, NULL, out, out_bytes), QKRT_ERR_ARG);
    assert_msg("input_bytes is NULL");
    assert_int_equal(qkrt_run(c, 4, in, in_bytes, NULL, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "outputs is NULL (the model has 2 outputs)");
    assert_int_equal(qkrt_run(c, 4, in, in_bytes, out, NULL), QKRT_ERR_ARG);
    assert_msg("output_bytes is NULL");

    const void *in_null[] = {NULL};
    assert_int_equal(qkrt_run(c, 4, in_null, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "input 'x': buffer is NULL");
    void *out_short[] = {y, NULL}; /* one output given for two */
    assert_int_equal(qkrt_run(c, 4, in, in_bytes, out_short, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "output 'sum': buffer is NULL");

    assert_int_equal(qkrt_run(NULL, 4, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_msg("context is NULL");

    /* nothing was spoiled */
    assert_true(run_and_check(c, 4, 5));
    qkrt_context_free(c);
    qkrt_model_free(m);
}

/* ---- refusals ---- */

static char tmpdir[64];

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, n, f), n);
    fclose(f);
}

static void test_refuses_files(void **state)
{
    qkrt_model *m = (qkrt_model *)1;
    char path[128], want[256];

    snprintf(path, sizeof path, "%s/missing.so", tmpdir);
    assert_int_equal(qkrt_model_load(path, &m), QKRT_ERR_IO);
    assert_null(m);
    snprintf(want, sizeof want, "%s: no such file", path);
    assert_string_equal(qkrt_error_message(), want);

    snprintf(path, sizeof path, "%s/text.so", tmpdir);
    write_file(path, "hello, world\n", 13);
    assert_int_equal(qkrt_model_load(path, &m), QKRT_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: not a qkc artifact (not an ELF shared object)", path);
    assert_string_equal(qkrt_error_message(), want);

    snprintf(path, sizeof path, "%s/empty.so", tmpdir);
    write_file(path, "", 0);
    assert_int_equal(qkrt_model_load(path, &m), QKRT_ERR_FORMAT);
    assert_msg("not an ELF");

    /* an ELF header for a machine nobody runs */
    unsigned char elf[64] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    elf[16] = 3;   /* ET_DYN */
    elf[18] = 0x34;
    elf[19] = 0x12;
    snprintf(path, sizeof path, "%s/odd.so", tmpdir);
    write_file(path, elf, sizeof elf);
    assert_int_equal(qkrt_model_load(path, &m), QKRT_ERR_UNSUPPORTED);
    assert_msg("is an ELF machine 4660 artifact");

    /* other CPUs, object files, executables, this CPU in big-endian */
    static const struct {
        unsigned char cls, data, type, m0, m1;
        qkrt_status want;
        const char *msg;
    } elves[] = {
        {1, 1, 3, 3, 0, QKRT_ERR_UNSUPPORTED, "is an x86 (32-bit) artifact; this runtime is"},
        {2, 1, 3, 243, 0, QKRT_ERR_UNSUPPORTED, "is a RISC-V artifact; this runtime is"},
#if defined(__x86_64__)
        {2, 1, 1, 62, 0, QKRT_ERR_FORMAT, "is an object file, not a shared object: link it into your program"},
        {2, 1, 2, 62, 0, QKRT_ERR_FORMAT, "not a qkc artifact (ELF type 2, not a shared object)"},
        {2, 2, 0, 0, 62, QKRT_ERR_UNSUPPORTED, "is a 64-bit big-endian ELF file"},
        {1, 1, 3, 62, 0, QKRT_ERR_UNSUPPORTED, "is a 32-bit little-endian ELF file"},
#endif
    };
    for (size_t i = 0; i < sizeof elves / sizeof *elves; i++) {
        memset(elf + 4, 0, sizeof elf - 4);
        elf[4] = elves[i].cls;
        elf[5] = elves[i].data;
        elf[elves[i].data == 2 ? 17 : 16] = elves[i].type;
        elf[18] = elves[i].m0;
        elf[19] = elves[i].m1;
        write_file(path, elf, sizeof elf);
        assert_int_equal(qkrt_model_load(path, &m), elves[i].want);
        assert_msg(elves[i].msg);
    }

    assert_int_equal(qkrt_model_load(tmpdir, &m), QKRT_ERR_IO);
    assert_msg("cannot read");

    assert_int_equal(qkrt_model_load(FAKE_ARTIFACT_NOSYM, &m), QKRT_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: not a qkc artifact (no qkc_artifact symbol)", FAKE_ARTIFACT_NOSYM);
    assert_string_equal(qkrt_error_message(), want);

    assert_int_equal(qkrt_model_load(NULL, &m), QKRT_ERR_ARG);
    assert_int_equal(qkrt_model_load(FAKE_ARTIFACT, NULL), QKRT_ERR_ARG);
}

static void test_refuses_other_abi_version(void **state)
{
    qkrt_model *m;
    char want[512];
    assert_int_equal(qkrt_model_load(FAKE_ARTIFACT_ABI7, &m), QKRT_ERR_FORMAT);
    snprintf(want, sizeof want, "%s: artifact ABI version 7, this runtime reads %u: recompile the model with this qkc",
             FAKE_ARTIFACT_ABI7, QKRT_ABI_VERSION);
    assert_string_equal(qkrt_error_message(), want);
}

static void test_refuses_aarch64_artifact(void **state)
{
#if defined(__x86_64__)
    if (!FAKE_ARTIFACT_AARCH64[0])
        skip(); /* no aarch64-linux-gnu-gcc at configure time */
    qkrt_model *m;
    char want[512];
    assert_int_equal(qkrt_model_load(FAKE_ARTIFACT_AARCH64, &m), QKRT_ERR_UNSUPPORTED);
    snprintf(want, sizeof want, "%s is an AArch64 artifact; this runtime is x86-64 (run it with `qkc run`, which "
             "uses qemu-aarch64)", FAKE_ARTIFACT_AARCH64);
    assert_string_equal(qkrt_error_message(), want);
#else
    skip();
#endif
}

static void test_loads_relative_path(void **state)
{
    /* dlopen would search the library path for a bare name */
    char dir[512], cwd[512];
    snprintf(dir, sizeof dir, "%s", FAKE_ARTIFACT);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = 0;
    assert_non_null(getcwd(cwd, sizeof cwd));
    assert_int_equal(chdir(dir), 0);
    qkrt_model *m;
    qkrt_status s = qkrt_model_load(slash + 1, &m);
    assert_int_equal(chdir(cwd), 0);
    if (s)
        fail_msg("%s", qkrt_error_message());
    qkrt_context *c;
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_true(run_and_check(c, 3, 0));
    qkrt_context_free(c);
    qkrt_model_free(m);
}

/* ---- descriptors made here ---- */

static const int64_t v3[] = {3};
static const qkrt_tensor_desc add_in[] = {{"a", 1, 1, v3}, {"b", 1, 1, v3}};
static const qkrt_tensor_desc add_out[] = {{"c", 1, 1, v3}};

static int add_run(void *ws, const void *const *in, void *const *out, int64_t batch, const qkrt_exec *exec)
{
    const float *a = in[0], *b = in[1];
    float *c = out[0];
    if (batch != 1 || !exec->parallel_for)
        return 9;
    for (int i = 0; i < 3; i++)
        c[i] = a[i] + b[i];
    return 0;
}

static int failing_run(void *ws, const void *const *in, void *const *out, int64_t batch, const qkrt_exec *exec)
{
    return 5;
}

static qkrt_artifact add_artifact(void)
{
    qkrt_artifact a = {
        .magic = QKRT_MAGIC,
        .abi_version = QKRT_ABI_VERSION,
#if defined(__aarch64__)
        .target = "aarch64",
#else
        .target = "x86_64",
#endif
        .cpu = "generic",
        .model_name = "add",
        .num_inputs = 2,
        .num_outputs = 1,
        .inputs = add_in,
        .outputs = add_out,
        .run = add_run,
    };
    return a;
}

/* An artifact that needs a CPU feature this machine lacks is refused with
 * the features named (never run: it would stop on an illegal instruction);
 * one that needs only what the machine has runs. */
static void test_cpu_features(void **state)
{
    qkrt_artifact a = add_artifact();
    qkrt_model *m;
    a.cpu = "future";
#if defined(__x86_64__) /* the other architecture's features: no CPU here has them */
    a.cpu_features = 1ull << QKRT_CPU_A64_DOTPROD | 1ull << QKRT_CPU_A64_I8MM;
    const char *names = "which has dotprod, i8mm; this CPU does not";
#else
    a.cpu_features = 1ull << QKRT_CPU_AVX2 | 1ull << QKRT_CPU_FMA;
    const char *names = "which has avx2, fma; this CPU does not";
#endif
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_ERR_UNSUPPORTED);
    const char *msg = qkrt_error_message();
    assert_non_null(strstr(msg, "compiled for CPU 'future', "));
    assert_non_null(strstr(msg, names));
    assert_non_null(strstr(msg, "recompile with --cpu native"));
    a.cpu_features = qkrt_cpu_features();
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_OK);
    qkrt_model_free(m);
}

static void test_static_artifact_without_batch(void **state)
{
    qkrt_artifact a = add_artifact();
    qkrt_model *m;
    qkrt_context *c;
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_OK);
    assert_false(qkrt_model_has_batch(m));
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_int_equal(qkrt_context_reserve(c, 0), QKRT_OK); /* batch ignored */
    float x[3] = {1, 2, 3}, z[3] = {10, 20, 30}, r[3] = {0};
    const void *in[] = {x, z};
    size_t in_bytes[] = {sizeof x, sizeof z};
    void *out[] = {r};
    size_t out_bytes[] = {sizeof r};
    assert_int_equal(qkrt_run(c, 0, in, in_bytes, out, out_bytes), QKRT_OK); /* batch ignored */
    assert_true(r[0] == 11 && r[1] == 22 && r[2] == 33);
    assert_int_equal(qkrt_run(c, 12, in, in_bytes, out, out_bytes), QKRT_OK);

    in_bytes[1] = 8;
    assert_int_equal(qkrt_run(c, 1, in, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "input 'b': 8 bytes given, 12 expected ([3] f32)");
    in_bytes[1] = sizeof z;
    const void *in_short[] = {x, NULL}; /* one input given for two */
    assert_int_equal(qkrt_run(c, 1, in_short, in_bytes, out, out_bytes), QKRT_ERR_ARG);
    assert_string_equal(qkrt_error_message(), "input 'b': buffer is NULL");
    qkrt_context_free(c);
    qkrt_model_free(m);

    a.run = failing_run;
    assert_int_equal(qkrt_model_from_artifact(&a, &m), QKRT_OK);
    assert_int_equal(qkrt_context_create(m, &c), QKRT_OK);
    assert_int_equal(qkrt_run(c, 1, in, in_bytes, out, out_bytes), QKRT_ERR_UNSUPPORTED);
    assert_msg("failed with code 5");
    qkrt_context_free(c);
    qkrt_model_free(m);
}

static void test_refuses_broken_descriptors(void **state)
{
    static const int64_t neg[] = {3, -2}, late_batch[] = {4, QKRT_DIM_BATCH}, huge[] = {1ll << 40, 1ll << 40};
    static const qkrt_tensor_desc bad_dtype[] = {{"a", 99, 1, v3}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc bad_rank[] = {{"a", 1, -1, v3}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc bad_dim[] = {{"a", 1, 2, neg}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc bad_batch[] = {{"a", 1, 2, late_batch}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc bad_size[] = {{"a", 1, 2, huge}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc no_name[] = {{NULL, 1, 1, v3}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc no_dims[] = {{"a", 1, 1, NULL}, {"b", 1, 1, v3}};
    /* quantized (--io int8) descriptors: u8/i8 only, scale > 0 finite, zero point in the type's range */
    static const qkrt_tensor_desc q_float[] = {{"a", 1, 1, v3, 0.5, 0}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc q_neg[] = {{"a", 2, 1, v3, -0.5, 0}, {"b", 1, 1, v3}};
    static const qkrt_tensor_desc q_zp[] = {{"a", 3, 1, v3, 0.5, 128}, {"b", 1, 1, v3}};
    static const qkrt_gpu_arg bad_kind[] = {{9, 0, 0}};
    static const qkrt_gpu_arg bad_index[] = {{QKRT_ARG_INPUT, 5, 0}};
    static const qkrt_gpu_arg bad_const[] = {{QKRT_ARG_CONST, 0, 64}};
    static const qkrt_gpu_launch l_kind[] = {{"k", 1, 0, 32, 1, bad_kind}};
    static const qkrt_gpu_launch l_index[] = {{"k", 1, 0, 32, 1, bad_index}};
    static const qkrt_gpu_launch l_const[] = {{"k", 1, 0, 32, 1, bad_const}};
    static const qkrt_gpu_launch l_block[] = {{"k", 1, 0, 0, 0, NULL}};
    static const qkrt_gpu_launch l_name[] = {{NULL, 1, 0, 32, 0, NULL}};
    static const float consts[4];

    struct {
        const char *what;
        qkrt_status want;
        const char *msg;
    } cases[] = {
        {"magic", QKRT_ERR_FORMAT, "artifact: not a qkc artifact (bad magic 0xdeadbeef)"},
        {"abi", QKRT_ERR_FORMAT, "artifact: artifact ABI version 3, this runtime reads 4: recompile the model with "
                                 "this qkc"},
        {"target", QKRT_ERR_UNSUPPORTED, "add: artifact for target 'riscv64'"},
        {"no target", QKRT_ERR_FORMAT, "add: artifact has no target"},
        {"no outputs", QKRT_ERR_FORMAT, "bad input/output tables"},
        {"no inputs table", QKRT_ERR_FORMAT, "bad input/output tables"},
        {"negative count", QKRT_ERR_FORMAT, "bad input/output tables"},
        {"dtype", QKRT_ERR_FORMAT, "input 'a': unknown dtype 99"},
        {"rank", QKRT_ERR_FORMAT, "input 'a': bad rank -1"},
        {"dim", QKRT_ERR_FORMAT, "input 'a': bad dim -2 at 1"},
        {"late batch", QKRT_ERR_FORMAT, "input 'a': bad dim -1 at 1"},
        {"size", QKRT_ERR_FORMAT, "input 'a': size overflows"},
        {"name", QKRT_ERR_FORMAT, "input 0 has no name"},
        {"dims", QKRT_ERR_FORMAT, "input 'a': bad rank 1"},
        {"q float", QKRT_ERR_FORMAT, "input 'a': bad quantization (scale 0.5, zero point 0)"},
        {"q scale", QKRT_ERR_FORMAT, "input 'a': bad quantization (scale -0.5, zero point 0)"},
        {"q zp", QKRT_ERR_FORMAT, "input 'a': bad quantization (scale 0.5, zero point 128)"},
        {"ws", QKRT_ERR_FORMAT, "workspace size overflows"},
        {"run", QKRT_ERR_FORMAT, "CPU artifact without a run function"},
        {"ptx", QKRT_ERR_FORMAT, "nvptx artifact without PTX"},
        {"consts", QKRT_ERR_FORMAT, "nvptx artifact without PTX, constants or launches"},
        {"arg kind", QKRT_ERR_FORMAT, "launch 0 (kernel 'k'): bad argument 0 (kind 9"},
        {"arg index", QKRT_ERR_FORMAT, "bad argument 0 (kind 4, index 5"},
        {"arg const", QKRT_ERR_FORMAT, "bad argument 0 (kind 1, index 0, offset 64)"},
        {"block", QKRT_ERR_FORMAT, "launch 0 (kernel 'k'): bad work, block or args"},
        {"kernel", QKRT_ERR_FORMAT, "launch 0 has no kernel name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        qkrt_artifact a = add_artifact(), gpu = a;
        gpu.target = "nvptx";
        gpu.run = NULL;
        gpu.ptx = ".version 7.0";
        gpu.consts = consts;
        gpu.consts_size = sizeof consts;
        gpu.num_launches = 1;
        const char *w = cases[i].what;
        if (!strcmp(w, "magic"))
            a.magic = 0xdeadbeef;
        else if (!strcmp(w, "abi"))
            a.abi_version = QKRT_ABI_VERSION - 1;
        else if (!strcmp(w, "target"))
            a.target = "riscv64";
        else if (!strcmp(w, "no target"))
            a.target = NULL;
        else if (!strcmp(w, "no outputs"))
            a.num_outputs = 0;
        else if (!strcmp(w, "no inputs table"))
            a.inputs = NULL;
        else if (!strcmp(w, "negative count"))
            a.num_inputs = -1;
        else if (!strcmp(w, "dtype"))
            a.inputs = bad_dtype;
        else if (!strcmp(w, "rank"))
            a.inputs = bad_rank;
        else if (!strcmp(w, "dim"))
            a.inputs = bad_dim;
        else if (!strcmp(w, "late batch"))
            a.inputs = bad_batch;
        else if (!strcmp(w, "size"))
            a.inputs = bad_size;
        else if (!strcmp(w, "name"))
            a.inputs = no_name;
        else if (!strcmp(w, "dims"))
            a.inputs = no_dims;
        else if (!strcmp(w, "q float"))
            a.inputs = q_float;
        else if (!strcmp(w, "q scale"))
            a.inputs = q_neg;
        else if (!strcmp(w, "q zp"))
            a.inputs = q_zp;
        else if (!strcmp(w, "ws"))
            a.ws_static = UINT64_MAX, a.ws_batch = 1;
        else if (!strcmp(w, "run"))
            a.run = NULL;
        else if (!strcmp(w, "ptx"))
            gpu.ptx = NULL, gpu.launches = l_block;
        else if (!strcmp(w, "consts"))
            gpu.consts = NULL, gpu.launches = l_block;
        else if (!strcmp(w, "arg kind"))
            gpu.launches = l_kind;
        else if (!strcmp(w, "arg index"))
            gpu.launches = l_index;
        else if (!strcmp(w, "arg const"))
            gpu.consts_size = 32, gpu.launches = l_const;
        else if (!strcmp(w, "block"))
            gpu.launches = l_block;
        else if (!strcmp(w, "kernel"))
            gpu.launches = l_name;
        int is_gpu = gpu.launches != NULL;
        qkrt_model *m = (qkrt_model *)1;
        qkrt_status s = qkrt_model_from_artifact(is_gpu ? &gpu : &a, &m);
        if (s != cases[i].want || !strstr(qkrt_error_message(), cases[i].msg))
            fail_msg("case '%s': got %s \"%s\", want %s \"%s\"", w, qkrt_status_name(s), qkrt_error_message(),
                     qkrt_status_name(cases[i].want), cases[i].msg);
        assert_null(m);
    }
    assert_int_equal(qkrt_model_from_artifact(NULL, &(qkrt_model *){NULL}), QKRT_ERR_ARG);
}

/* ---- threads ---- */

typedef struct Worker {
    qkrt_model *m;
    int id;
    int failures;
    char msg[512];
} Worker;

static void *worker_main(void *arg)
{
    Worker *w = arg;
    qkrt_context *c;
    if (qkrt_context_create(w->m, &c)) {
        w->failures = -1;
        return NULL;
    }
    if (w->id % 2)
        qkrt_context_set_threads(c, 2);
    for (int i = 0; i < 200; i++) {
        if (!run_and_check(c, 1 + (i + w->id) % 9, w->id + i)) {
            if (!w->failures++)
                snprintf(w->msg, sizeof w->msg, "%s", qkrt_error_message());
        }
    }
    qkrt_context_free(c);
    return NULL;
}

static void test_threads_share_a_model(void **state)
{
    qkrt_model *m = load_fake();
    pthread_t t[8];
    Worker w[8];
    for (int i = 0; i < 8; i++) {
        w[i] = (Worker){m, i, 0, ""};
        assert_int_equal(pthread_create(&t[i], NULL, worker_main, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++)
        pthread_join(t[i], NULL);
    for (int i = 0; i < 8; i++)
        if (w[i].failures)
            fail_msg("thread %d: %d failures (%s)", i, w[i].failures, w[i].msg);
    qkrt_model_free(m);
}

static void *fail_in_thread(void *arg)
{
    char *seen = arg;
    snprintf(seen, 512, "%s", qkrt_error_message()); /* fresh thread: empty */
    qkrt_context_set_threads(NULL, 1);
    snprintf(seen + 256, 256, "%s", qkrt_error_message());
    return NULL;
}

static void test_error_message_is_per_thread(void **state)
{
    qkrt_model *m;
    assert_int_equal(qkrt_model_load("/nonexistent/model.so", &m), QKRT_ERR_IO);
    char seen[512] = "x";
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, fail_in_thread, seen), 0);
    pthread_join(t, NULL);
    assert_string_equal(seen, "");
    assert_string_equal(seen + 256, "qkrt_context_set_threads: context is NULL");
    assert_string_equal(qkrt_error_message(), "/nonexistent/model.so: no such file");
}

static void test_names_and_sizes(void **state)
{
    assert_string_equal(qkrt_status_name(QKRT_OK), "QKRT_OK");
    assert_string_equal(qkrt_status_name(QKRT_ERR_DEVICE), "QKRT_ERR_DEVICE");
    assert_string_equal(qkrt_status_name((qkrt_status)42), "QKRT_ERR_UNKNOWN");
    const struct {
        int32_t code;
        size_t size;
        const char *name;
    } dt[] = {{1, 4, "f32"}, {2, 1, "u8"},   {3, 1, "i8"},   {5, 2, "i16"}, {6, 4, "i32"}, {7, 8, "i64"},
              {9, 1, "bool"}, {10, 2, "f16"}, {11, 8, "f64"}, {16, 2, "bf16"}, {0, 0, "unknown"}, {8, 0, "unknown"}};
    for (size_t i = 0; i < sizeof dt / sizeof *dt; i++) {
        assert_int_equal(qkrt_dtype_size(dt[i].code), dt[i].size);
        assert_string_equal(qkrt_dtype_name(dt[i].code), dt[i].name);
    }
    static const int64_t big[] = {QKRT_DIM_BATCH, 1ll << 30, 1ll << 30};
    qkrt_tensor_desc t = {"t", 1, 3, big};
    assert_true(qkrt_tensor_bytes(&t, 3) == (size_t)3 << 62);
    assert_int_equal(qkrt_tensor_bytes(&t, 4), 0); /* 2^64: overflows */
    assert_int_equal(qkrt_tensor_bytes(&t, INT64_MAX), 0);
    static const int64_t plain[] = {2, 3};
    qkrt_tensor_desc p = {"p", 7, 2, plain};
    assert_int_equal(qkrt_tensor_bytes(&p, 1000), 48); /* no batch dim: batch ignored */
    qkrt_tensor_desc s = {"s", 10, 0, NULL};
    assert_int_equal(qkrt_tensor_bytes(&s, 5), 2); /* a scalar */
    assert_int_equal(qkrt_tensor_bytes(NULL, 1), 0);
}

static int setup_tmp(void **state)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/qkrt-test-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_tmp(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    unsetenv("QKRT_NUM_THREADS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_load_and_query),
        cmocka_unit_test(test_run_batches_and_threads),
        cmocka_unit_test(test_threads_from_env),
        cmocka_unit_test(test_context_settings),
        cmocka_unit_test(test_run_rejects_bad_arguments),
        cmocka_unit_test(test_refuses_files),
        cmocka_unit_test(test_refuses_other_abi_version), cmocka_unit_test(test_cpu_features),
        cmocka_unit_test(test_refuses_aarch64_artifact),
        cmocka_unit_test(test_loads_relative_path),
        cmocka_unit_test(test_static_artifact_without_batch),
        cmocka_unit_test(test_refuses_broken_descriptors),
        cmocka_unit_test(test_threads_share_a_model),
        cmocka_unit_test(test_error_message_is_per_thread),
        cmocka_unit_test(test_names_and_sizes),
    };
    return cmocka_run_group_tests(tests, setup_tmp, teardown_tmp);
}

/* test_models.c — the bundled digits models (models/mlp.onnx, cnn.onnx)
 * compiled and run end to end, against the reference interpreter and the
 * test labels.
 *
 *   test_models [host|qemu]
 *
 * host (default):
 *   - each model compiled once for this machine and run through the
 *     runtime at batch 1 (every test image alone), 360 (all) and 400 (all
 *     + the first 40 again), from the one artifact; logits within
 *     1e-5 (|ref| + max |ref|) of interp_run's at the same batch, every
 *     prediction equal to the interpreter's, accuracy >= 98% (CNN) and
 *     >= 97% (MLP) on models/digits_test_y.npy;
 *   - --batch 7: the artifact has no batch dim and runs 7 images;
 *   - NVPTX: the PTX of both models passes ptxas for sm_80 and sm_90; the
 *     nvptx .so is refused with "no CUDA driver" (QKRT_ERR_DEVICE) where
 *     libcuda.so.1 is absent, and runs like the host's where it is present;
 *   - an AArch64 artifact loaded by this (x86-64) runtime is refused with
 *     QKRT_ERR_UNSUPPORTED and a sentence pointing at `qkc run`.
 * qemu (label no-asan): the CNN compiled for AArch64, run by `qkc run`
 *   (qemu-aarch64) at batch 360, compared with the interpreter the same way.
 *   Skipped with the reason when qemu-aarch64 or the cross runner is absent. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>

#include "e2e/e2e_util.h"
#include "tools/run.h"

#define WORK E2E_WORK "/models"

typedef struct Data {
    Tensor x, y;       /* [360,1,8,8] f32 and [360] i64 */
    float *x400;       /* the 360 images + the first 40 again */
} Data;

static Data data;

static int setup(void **state)
{
    e2e_mkdir(WORK);
    e2e_read_npy(E2E_MODELS "/digits_test_x.npy", &data.x);
    e2e_read_npy(E2E_MODELS "/digits_test_y.npy", &data.y);
    if (data.x.dtype != DT_F32 || tensor_numel(&data.x) != E2E_IMAGES * E2E_PIXELS || data.y.dtype != DT_I64 ||
        tensor_numel(&data.y) != E2E_IMAGES)
        return -1;
    data.x400 = malloc(400 * E2E_PIXELS * sizeof(float));
    memcpy(data.x400, data.x.data, E2E_IMAGES * E2E_PIXELS * sizeof(float));
    memcpy(data.x400 + E2E_IMAGES * E2E_PIXELS, data.x.data, 40 * E2E_PIXELS * sizeof(float));
    return 0;
}

static int teardown(void **state)
{
    tensor_free(&data.x);
    tensor_free(&data.y);
    free(data.x400);
    return 0;
}

static const float *image(int64_t i) { return (const float *)data.x.data + i * E2E_PIXELS; }
static int64_t label(int64_t i) { return ((const int64_t *)data.y.data)[i % E2E_IMAGES]; }

static void load(const char *so, qkrt_model **m, qkrt_context **c)
{
    if (qkrt_model_load(so, m) != QKRT_OK)
        fail_msg("qkrt_model_load(%s): %s", so, qkrt_error_message());
    if (qkrt_context_create(*m, c) != QKRT_OK)
        fail_msg("qkrt_context_create: %s", qkrt_error_message());
}

/* Predictions of `n` logit rows, and how many are right. */
static int score(const float *logits, int64_t n, int *pred)
{
    int correct = 0;
    for (int64_t i = 0; i < n; i++) {
        pred[i] = e2e_argmax(logits + i * E2E_CLASSES);
        correct += pred[i] == label(i);
    }
    return correct;
}

/* Compiled vs interpreted predictions on every image. */
static void same_predictions(const char *what, const int *got, const int *ref, int64_t n, const float *logits,
                             const float *ref_logits)
{
    for (int64_t i = 0; i < n; i++)
        if (got[i] != ref[i])
            fail_msg("%s: image %lld: compiled predicts %d (logit %.9g), interpreter %d (logit %.9g)", what,
                     (long long)i, got[i], logits[i * E2E_CLASSES + got[i]], ref[i],
                     ref_logits[i * E2E_CLASSES + ref[i]]);
}

/* The whole check of one model on the host. */
static void check_model(const char *name, double min_accuracy)
{
    char model[4096], so[4096], what[256];
    snprintf(model, sizeof model, E2E_MODELS "/%s.onnx", name);
    snprintf(so, sizeof so, WORK "/%s.so", name);
    e2e_compile(model, NULL, EMIT_SO, 0, so);
    Graph *g = e2e_oracle(model);

    qkrt_model *m;
    qkrt_context *c;
    load(so, &m, &c);
    assert_int_equal(qkrt_model_num_inputs(m), 1);
    assert_int_equal(qkrt_model_num_outputs(m), 1);
    assert_true(qkrt_model_has_batch(m));
    const qkrt_tensor_desc *in = qkrt_model_input(m, 0), *out = qkrt_model_output(m, 0);
    assert_string_equal(in->name, "input");
    assert_string_equal(out->name, "logits");
    assert_int_equal(in->dtype, 1);
    assert_int_equal(in->rank, 4);
    assert_int_equal(in->dims[0], QKRT_DIM_BATCH);
    assert_int_equal(out->rank, 2);
    assert_int_equal(out->dims[0], QKRT_DIM_BATCH);
    assert_int_equal(out->dims[1], E2E_CLASSES);

    float *got = malloc(400 * E2E_CLASSES * sizeof(float)), *ref = malloc(400 * E2E_CLASSES * sizeof(float));
    int pred[400], ref_pred[400];

    /* batch 1: every image on its own (the workspace grows later) */
    for (int64_t i = 0; i < E2E_IMAGES; i++) {
        if (e2e_run(c, 1, image(i), got + i * E2E_CLASSES) != QKRT_OK)
            fail_msg("%s: run at batch 1 (image %lld): %s", name, (long long)i, qkrt_error_message());
        e2e_interp(g, 1, image(i), ref + i * E2E_CLASSES);
        snprintf(what, sizeof what, "%s batch 1, image %lld", name, (long long)i);
        e2e_compare(what, got + i * E2E_CLASSES, ref + i * E2E_CLASSES, E2E_CLASSES);
    }
    int correct = score(got, E2E_IMAGES, pred), ref_correct = score(ref, E2E_IMAGES, ref_pred);
    snprintf(what, sizeof what, "%s batch 1", name);
    same_predictions(what, pred, ref_pred, E2E_IMAGES, got, ref);
    print_message("%s batch 1: %d/%d correct (interpreter %d)\n", name, correct, E2E_IMAGES, ref_correct);
    if (correct < min_accuracy * E2E_IMAGES)
        fail_msg("%s batch 1: accuracy %.2f%%, want >= %.0f%%", name, 100.0 * correct / E2E_IMAGES,
                 100 * min_accuracy);

    /* batch 360 and 400 from the same artifact and context */
    static const int64_t batches[] = {E2E_IMAGES, 400};
    for (int b = 0; b < 2; b++) {
        int64_t n = batches[b];
        const float *x = n == E2E_IMAGES ? (const float *)data.x.data : data.x400;
        memset(got, 0xff, 400 * E2E_CLASSES * sizeof(float)); /* NaN: rows left unwritten fail */
        if (e2e_run(c, n, x, got) != QKRT_OK)
            fail_msg("%s: run at batch %lld: %s", name, (long long)n, qkrt_error_message());
        e2e_interp(g, n, x, ref);
        snprintf(what, sizeof what, "%s batch %lld", name, (long long)n);
        e2e_compare(what, got, ref, n * E2E_CLASSES);
        correct = score(got, n, pred);
        ref_correct = score(ref, n, ref_pred);
        same_predictions(what, pred, ref_pred, n, got, ref);
        print_message("%s: %d/%lld correct (interpreter %d)\n", what, correct, (long long)n, ref_correct);
        if (correct < min_accuracy * (double)n)
            fail_msg("%s: accuracy %.2f%%, want >= %.0f%%", what, 100.0 * correct / (double)n, 100 * min_accuracy);
        /* the repeated 40 images predict as they did the first time */
        for (int64_t i = E2E_IMAGES; i < n; i++)
            assert_int_equal(pred[i], pred[i - E2E_IMAGES]);
    }
    qkrt_context_free(c);
    qkrt_model_free(m);
    ir_graph_free(g);
    free(got);
    free(ref);
}

static void test_cnn_host(void **state) { check_model("cnn", 0.98); }
static void test_mlp_host(void **state) { check_model("mlp", 0.97); }

/* --batch 7: the batch dim is gone from the artifact; 7 images run. */
static void test_fixed_batch(void **state)
{
    const char *so = WORK "/cnn_b7.so";
    e2e_compile(E2E_MODELS "/cnn.onnx", NULL, EMIT_SO, 7, so);
    qkrt_model *m;
    qkrt_context *c;
    load(so, &m, &c);
    assert_false(qkrt_model_has_batch(m));
    const qkrt_tensor_desc *in = qkrt_model_input(m, 0), *out = qkrt_model_output(m, 0);
    assert_int_equal(in->dims[0], 7);
    assert_int_equal(out->dims[0], 7);
    assert_int_equal(qkrt_tensor_bytes(in, 123), 7 * E2E_PIXELS * sizeof(float));
    float got[7 * E2E_CLASSES], ref[7 * E2E_CLASSES];
    if (e2e_run(c, 7, image(100), got) != QKRT_OK)
        fail_msg("run: %s", qkrt_error_message());
    Graph *g = e2e_oracle(E2E_MODELS "/cnn.onnx");
    e2e_interp(g, 7, image(100), ref);
    e2e_compare("cnn --batch 7", got, ref, 7 * E2E_CLASSES);
    /* 8 images' worth of buffer is refused, whatever batch is passed */
    const void *ins[] = {image(0)};
    size_t in_bytes[] = {8 * E2E_PIXELS * sizeof(float)}, out_bytes[] = {8 * E2E_CLASSES * sizeof(float)};
    float big[8 * E2E_CLASSES];
    void *outs[] = {big};
    assert_int_equal(qkrt_run(c, 8, ins, in_bytes, outs, out_bytes), QKRT_ERR_ARG);
    ir_graph_free(g);
    qkrt_context_free(c);
    qkrt_model_free(m);
}

/* ---- NVPTX ---- */

static void ptxas(const char *ptx)
{
    const char *tool = getenv("QKC_PTXAS");
    if (!tool || !*tool)
        tool = QKC_PTXAS;
    if (!*tool || access(tool, X_OK) != 0) {
        print_message("ptxas not found: the PTX of %s is not assembled\n", ptx);
        return;
    }
    static const char *archs[] = {"sm_80", "sm_90"};
    for (int i = 0; i < 2; i++) {
        char log[4200];
        snprintf(log, sizeof log, "%s.ptxas-%s.log", ptx, archs[i]);
        const char *argv[] = {tool, "-arch", archs[i], ptx, "-o", "/dev/null", NULL};
        if (e2e_spawn(argv, log) != 0) {
            char *msg = e2e_slurp(log);
            fail_msg("ptxas -arch %s %s failed:\n%s", archs[i], ptx, msg);
        }
    }
}

static bool cuda_driver_present(void)
{
    void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h)
        dlclose(h);
    return h != NULL;
}

static void check_nvptx(const char *name)
{
    char model[4096], ptx[4096], so[4096];
    snprintf(model, sizeof model, E2E_MODELS "/%s.onnx", name);
    snprintf(ptx, sizeof ptx, WORK "/%s.ptx", name);
    snprintf(so, sizeof so, WORK "/%s-nvptx.so", name);
    e2e_compile(model, "nvptx", EMIT_PTX, 0, ptx);
    ptxas(ptx);
    e2e_compile(model, "nvptx", EMIT_SO, 0, so);
    qkrt_model *m = NULL;
    qkrt_status s = qkrt_model_load(so, &m);
    if (!cuda_driver_present()) {
        if (s != QKRT_ERR_DEVICE)
            fail_msg("loading %s without a CUDA driver: %s (%s), want QKRT_ERR_DEVICE", so, qkrt_status_name(s),
                     qkrt_error_message());
        assert_null(m);
        if (!strstr(qkrt_error_message(), "no CUDA driver"))
            fail_msg("message \"%s\" lacks \"no CUDA driver\"", qkrt_error_message());
        return;
    }
    if (s == QKRT_ERR_DEVICE) {
        print_message("CUDA driver present but the model does not load (%s): not run\n", qkrt_error_message());
        return;
    }
    if (s != QKRT_OK)
        fail_msg("qkrt_model_load(%s): %s", so, qkrt_error_message());
    qkrt_context *c;
    if (qkrt_context_create(m, &c) != QKRT_OK)
        fail_msg("qkrt_context_create: %s", qkrt_error_message());
    Graph *g = e2e_oracle(model);
    float *got = malloc(400 * E2E_CLASSES * sizeof(float)), *ref = malloc(400 * E2E_CLASSES * sizeof(float));
    static const int64_t batches[] = {1, E2E_IMAGES, 400};
    for (int b = 0; b < 3; b++) {
        int64_t n = batches[b];
        const float *x = n == 400 ? data.x400 : (const float *)data.x.data;
        if (e2e_run(c, n, x, got) != QKRT_OK)
            fail_msg("%s nvptx: run at batch %lld: %s", name, (long long)n, qkrt_error_message());
        e2e_interp(g, n, x, ref);
        char what[128];
        snprintf(what, sizeof what, "%s nvptx batch %lld", name, (long long)n);
        e2e_compare(what, got, ref, n * E2E_CLASSES);
    }
    ir_graph_free(g);
    free(got);
    free(ref);
    qkrt_context_free(c);
    qkrt_model_free(m);
}

static void test_cnn_nvptx(void **state) { check_nvptx("cnn"); }
static void test_mlp_nvptx(void **state) { check_nvptx("mlp"); }

/* ---- AArch64 ---- */

static const char *a64_so = WORK "/cnn-aarch64.so";

/* The x86-64 runtime refuses an AArch64 artifact with a sentence. (Its
 * own file: the qemu group may run at the same time.) */
static void test_aarch64_refused_here(void **state)
{
    const char *so = WORK "/cnn-aarch64-refused.so";
    e2e_compile(E2E_MODELS "/cnn.onnx", "aarch64", EMIT_SO, 0, so);
    assert_int_equal(run_elf_machine(so), 183);
    if (strcmp(cg_host_arch(), "x86_64") != 0)
        skip();
    qkrt_model *m = (qkrt_model *)&m;
    qkrt_status s = qkrt_model_load(so, &m);
    if (s != QKRT_ERR_UNSUPPORTED)
        fail_msg("loading an AArch64 artifact here: %s (%s), want QKRT_ERR_UNSUPPORTED", qkrt_status_name(s),
                 qkrt_error_message());
    assert_null(m);
    const char *msg = qkrt_error_message();
    if (!strstr(msg, "AArch64") || !strstr(msg, "qkc run") || !strstr(msg, so))
        fail_msg("message \"%s\" should name the file, say AArch64 and point at `qkc run`", msg);
}

/* Why the AArch64 artifact cannot run here, or NULL when it can. */
static const char *qemu_missing(char *why, size_t n)
{
    const char *qemu = getenv("QKC_QEMU_AARCH64");
    if (!qemu || !*qemu)
        qemu = QKC_QEMU_AARCH64;
    if (!*qemu || access(qemu, X_OK) != 0)
        snprintf(why, n, "qemu-aarch64 is missing (%s)", *qemu ? qemu : "not found at configure time");
    else if (access(QKC_BUILD_DIR "/qkc-run-aarch64", X_OK) != 0)
        snprintf(why, n, "the cross-built runner %s/qkc-run-aarch64 is missing (no aarch64-linux-gnu-gcc)",
                 QKC_BUILD_DIR);
    else
        return NULL;
    return why;
}

static void test_aarch64_qemu(void **state)
{
    char why[512];
    if (qemu_missing(why, sizeof why)) {
        print_message("SKIPPED: %s\n", why);
        skip();
    }
    e2e_compile(E2E_MODELS "/cnn.onnx", "aarch64", EMIT_SO, 0, a64_so);
    const char *outdir = WORK "/aarch64-out", *log = WORK "/aarch64-run.log";
    char outfile[4200];
    snprintf(outfile, sizeof outfile, "%s/logits.npy", outdir);
    unlink(outfile);
    const char *argv[] = {QKC_BUILD_DIR "/qkc", "run", a64_so, "--input", E2E_MODELS "/digits_test_x.npy",
                          "--output-dir", outdir, NULL};
    int rc = e2e_spawn(argv, log);
    if (rc != 0) {
        char *msg = e2e_slurp(log);
        fail_msg("qkc run %s exited %d:\n%s", a64_so, rc, msg);
    }
    Tensor got;
    e2e_read_npy(outfile, &got);
    assert_int_equal(got.dtype, DT_F32);
    assert_int_equal(got.shape.rank, 2);
    assert_int_equal(got.shape.d[0], E2E_IMAGES);
    assert_int_equal(got.shape.d[1], E2E_CLASSES);
    Graph *g = e2e_oracle(E2E_MODELS "/cnn.onnx");
    float *ref = malloc(E2E_IMAGES * E2E_CLASSES * sizeof(float));
    e2e_interp(g, E2E_IMAGES, data.x.data, ref);
    e2e_compare("cnn aarch64 (qemu) batch 360", got.data, ref, E2E_IMAGES * E2E_CLASSES);
    int pred[E2E_IMAGES], ref_pred[E2E_IMAGES];
    int correct = score(got.data, E2E_IMAGES, pred);
    score(ref, E2E_IMAGES, ref_pred);
    same_predictions("cnn aarch64 batch 360", pred, ref_pred, E2E_IMAGES, got.data, ref);
    print_message("cnn aarch64 (qemu) batch 360: %d/%d correct\n", correct, E2E_IMAGES);
    assert_true(correct >= 0.98 * E2E_IMAGES);
    ir_graph_free(g);
    free(ref);
    tensor_free(&got);
}

int main(int argc, char **argv)
{
    const char *group = argc > 1 ? argv[1] : "host";
    if (strcmp(group, "host") == 0) {
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_cnn_host),   cmocka_unit_test(test_mlp_host),
            cmocka_unit_test(test_fixed_batch), cmocka_unit_test(test_cnn_nvptx),
            cmocka_unit_test(test_mlp_nvptx),  cmocka_unit_test(test_aarch64_refused_here),
        };
        return cmocka_run_group_tests_name("e2e_models", tests, setup, teardown);
    }
    if (strcmp(group, "qemu") == 0) {
        char why[512];
        if (qemu_missing(why, sizeof why)) {
            printf("skipped: %s\n", why);
            return 77; /* ctest: SKIP_RETURN_CODE */
        }
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_aarch64_qemu)};
        return cmocka_run_group_tests_name("e2e_models_aarch64", tests, setup, teardown);
    }
    fprintf(stderr, "usage: %s [host|qemu]\n", argv[0]);
    return 2;
}

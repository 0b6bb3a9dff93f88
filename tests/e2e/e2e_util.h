/* e2e_util.h — helpers shared by the end-to-end C tests: the bundled data,
 * compiling through the driver, running through the runtime, the reference
 * interpreter, the tolerance rule, and spawning tools with a log.
 *
 * Header-only (static functions) so each test stays one executable. Every
 * helper fails the current cmocka test with a message instead of
 * returning an error. Include after <cmocka.h>. */
#ifndef QKC_E2E_UTIL_H
#define QKC_E2E_UTIL_H

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qkc/qkrt.h"
#include "runtime/npy.h"
#include "tools/driver.h"
#include "test_util.h"

extern char **environ;

enum { E2E_IMAGES = 360, E2E_CLASSES = 10, E2E_PIXELS = 64 };

#define E2E_MODELS QKC_SOURCE_DIR "/models"
#define E2E_WORK QKC_BUILD_DIR "/e2e-work"

/* mkdir -p for the two levels the tests use. */
static inline void e2e_mkdir(const char *dir)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(tmp, 0777);
            *p = '/';
        }
    mkdir(tmp, 0777);
}

/* Read a .npy into a tensor; fails the test on error. */
static inline void e2e_read_npy(const char *path, Tensor *t)
{
    Diag d;
    diag_init(&d, NULL);
    if (!drv_read_npy(path, t, &d))
        fail_msg("%s: %s", path, d.buf ? d.buf : "cannot read");
    diag_fini(&d);
}

/* Compile `model` with the driver (the library behind `qkc compile`). */
static inline void e2e_compile(const char *model, const char *target, EmitKind emit, int64_t batch, const char *out)
{
    DriverOptions o = {.target = target, .emit = emit, .out = out, .opt_level = 3, .verify = true, .batch = batch};
    Diag d;
    diag_init(&d, NULL);
    bool ok = drv_compile(model, &o, &d);
    if (!ok)
        fail_msg("compiling %s for %s into %s failed:\n%s", model, target ? target : "the host", out,
                 d.buf ? d.buf : "(no message)");
    diag_fini(&d);
}

/* The oracle: a model imported and shape-inferred (no optimization
 * passes), for interp_run. */
static inline Graph *e2e_oracle(const char *model)
{
    DriverOptions o = {0};
    Diag d;
    diag_init(&d, NULL);
    Graph *g = drv_import(model, &o, &d);
    PassCtx pc = {.d = &d};
    if (!g || !pass_shape_infer(g, &pc))
        fail_msg("%s: import for the interpreter failed:\n%s", model, d.buf ? d.buf : "");
    diag_fini(&d);
    return g;
}

/* Interpreter logits for `batch` images at x (one input, one output). */
static inline void e2e_interp(const Graph *g, int64_t batch, const float *x, float *logits)
{
    Tensor in = {.dtype = DT_F32, .shape = {.rank = 4, .d = {batch, 1, 8, 8}}, .data = (void *)x}, out = {0};
    Diag d;
    diag_init(&d, NULL);
    if (!interp_run(g, batch, &in, &out, &d))
        fail_msg("interp_run at batch %lld failed:\n%s", (long long)batch, d.buf ? d.buf : "");
    diag_fini(&d);
    assert_int_equal(out.dtype, DT_F32);
    assert_int_equal(tensor_numel(&out), batch * E2E_CLASSES);
    memcpy(logits, out.data, (size_t)batch * E2E_CLASSES * sizeof(float));
    tensor_free(&out);
}

/* Run a loaded model on `batch` images. */
static inline qkrt_status e2e_run(qkrt_context *c, int64_t batch, const float *x, float *logits)
{
    const void *in[] = {x};
    size_t in_bytes[] = {(size_t)batch * E2E_PIXELS * sizeof(float)};
    void *out[] = {logits};
    size_t out_bytes[] = {(size_t)batch * E2E_CLASSES * sizeof(float)};
    return qkrt_run(c, batch, in, in_bytes, out, out_bytes);
}

/* |got - ref| <= 1e-5 (|ref| + max |ref|) element-wise; fails with the
 * first element that does not hold. */
static inline void e2e_compare(const char *what, const float *got, const float *ref, int64_t n)
{
    double mx = 0;
    for (int64_t i = 0; i < n; i++)
        mx = fabs(ref[i]) > mx ? fabs(ref[i]) : mx;
    for (int64_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - ref[i]);
        if (!(err <= 1e-5 * (fabs(ref[i]) + mx)))
            fail_msg("%s: element %lld (image %lld, class %lld): compiled %.9g, interpreter %.9g (|diff| %.3g, "
                     "allowed %.3g)", what, (long long)i, (long long)(i / E2E_CLASSES),
                     (long long)(i % E2E_CLASSES), got[i], ref[i], err, 1e-5 * (fabs(ref[i]) + mx));
    }
}

static inline int e2e_argmax(const float *v)
{
    int best = 0;
    for (int i = 1; i < E2E_CLASSES; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

/* Spawn argv with stdout and stderr into `log`; the exit status, or 128 +
 * the signal. */
static inline int e2e_spawn(const char *const *argv, const char *log)
{
    int rc = tu_spawn(argv, log);
    if (rc < 0)
        fail_msg("cannot start %s: %s", argv[0], strerror(errno));
    return rc;
}

/* A log file's text (malloc'ed, NUL-terminated; "" when unreadable). */
static inline char *e2e_slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s = NULL;
    long n = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        s = malloc((size_t)n + 1);
        n = s ? (long)fread(s, 1, (size_t)n, f) : 0;
    }
    if (f)
        fclose(f);
    if (!s)
        s = malloc(1), n = 0;
    s[n] = 0;
    return s;
}

#endif

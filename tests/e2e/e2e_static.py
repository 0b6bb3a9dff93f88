#!/usr/bin/python3
"""e2e_static.py -- static linking of `qkc compile --emit obj --header`.

  1. The MLP compiled to mlp.o + mlp.h with a prefix; a C program written
     here includes mlp.h, runs <prefix>_run on the test images at batch 1
     (each image) and batch 360 with a 64-byte-aligned workspace of
     <PREFIX>_WORKSPACE_BYTES(batch), and prints its predictions. It is
     built with the system compiler (cc, -std=c11 -Wall -Wextra -pedantic
     -Werror) and linked with mlp.o and nothing but libc. Its predictions
     must equal those of the .so (run by `qkc run`), its logits be within
     the interpreter tolerance of them, and its accuracy >= 97%.
  2. A second program wraps the object with the runtime:
     qkrt_model_from_artifact(<prefix>_artifact(), ...), linked with the
     build's runtime/libqkrt.a (include dir include/).
  3. The MLP and the CNN, compiled with different prefixes, link into one
     program (no duplicate symbols) and both classify correctly.
  The objects must export only <prefix>_run and <prefix>_artifact and need
  no symbol from outside libc.

    e2e_static.py QKC SOURCE_DIR WORK_DIR LIBQKRT [--sanitize] [-v]

--sanitize: the runtime was built with ASan+UBSan, so the program that
links it is linked with -fsanitize=address,undefined too."""
import os
import shutil
import sys

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from e2e_lib import *  # noqa: E402,F403

QKC, SRC, WORK, rest = paths_from_argv(__doc__)
if not rest:
    sys.exit(__doc__)
LIBQKRT = os.path.abspath(rest[0])
SANITIZE = "--sanitize" in sys.argv
MODELS = os.path.join(SRC, "models")
X, Y = os.path.join(MODELS, "digits_test_x.npy"), os.path.join(MODELS, "digits_test_y.npy")
N = 360
CC = shutil.which("cc")
CFLAGS = ["-std=c11", "-O1", "-Wall", "-Wextra", "-pedantic", "-Werror"]

suite = Suite("e2e_static")


def path(*p):
    return os.path.join(WORK, *p)


def write(name, text):
    with open(path(name), "w") as f:
        f.write(text)
    return path(name)


# Reads a NumPy 1.0 .npy of float32 images (the header's length is at 8..9).
NPY_READER = r"""
static inline unsigned char *load_npy(const char *path, const float **x, size_t *bytes)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)size + 64);
    if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size || size < 10 || memcmp(buf, "\x93NUMPY", 6) != 0 ||
        buf[6] != 1) {
        fclose(f);
        free(buf);
        return NULL;
    }
    fclose(f);
    size_t header = 10 + (buf[8] | (size_t)buf[9] << 8);
    *bytes = (size_t)size - header;
    float *copy = aligned_alloc(64, (*bytes + 63) / 64 * 64); /* an aligned copy of the data */
    memcpy(copy, buf + header, *bytes);
    free(buf);
    *x = copy;
    return (unsigned char *)copy;
}

static inline int argmax10(const float *v)
{
    int best = 0;
    for (int i = 1; i < 10; i++)
        if (v[i] > v[best])
            best = i;
    return best;
}

static inline void save(const char *path, const void *data, size_t bytes)
{
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, bytes, f) != bytes) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
    fclose(f);
}

/* C11 aligned_alloc wants a size that is a multiple of the alignment. */
static inline void *workspace(size_t bytes)
{
    return aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
}
"""

PLAIN = r"""/* made by e2e_static.py: {p}_run straight from the object file, libc only */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{h}"
""" + NPY_READER + r"""
int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s X.npy BATCH1.f32 BATCHN.f32\n", argv[0]);
        return 2;
    }
    const float *x;
    size_t bytes;
    if (!load_npy(argv[1], &x, &bytes)) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    int64_t n = (int64_t)(bytes / {P}_INPUT_INPUT_BYTES(1));
    float *y1 = malloc({P}_OUTPUT_LOGITS_BYTES(n)), *yn = malloc({P}_OUTPUT_LOGITS_BYTES(n));
    /* batch 1, one image at a time, one workspace */
    void *ws = workspace({P}_WORKSPACE_BYTES(1));
    for (int64_t i = 0; i < n; i++) {
        const void *in[{P}_NUM_INPUTS] = {x + i * 64};
        void *out[{P}_NUM_OUTPUTS] = {y1 + i * 10};
        if ({p}_run(ws, in, out, 1) != 0) {
            fprintf(stderr, "{p}_run failed at image %lld\n", (long long)i);
            return 1;
        }
    }
    free(ws);
    /* all of them as one batch */
    ws = workspace({P}_WORKSPACE_BYTES(n));
    const void *in[] = {x};
    void *out[] = {yn};
    if ({p}_run(ws, in, out, n) != 0) {
        fprintf(stderr, "{p}_run failed at batch %lld\n", (long long)n);
        return 1;
    }
    save(argv[2], y1, {P}_OUTPUT_LOGITS_BYTES(n));
    save(argv[3], yn, {P}_OUTPUT_LOGITS_BYTES(n));
    for (int64_t i = 0; i < n; i++)
        printf("%d\n", argmax10(yn + i * 10));
    free(ws);
    free(y1);
    free(yn);
    free((void *)x);
    return 0;
}
"""

RUNTIME = r"""/* made by e2e_static.py: the object file wrapped by libqkrt */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qkc/qkrt.h"
#include "{h}"
""" + NPY_READER + r"""
int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s X.npy LOGITS.f32\n", argv[0]);
        return 2;
    }
    const float *x;
    size_t bytes;
    if (!load_npy(argv[1], &x, &bytes)) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    qkrt_model *m;
    qkrt_context *c;
    if (qkrt_model_from_artifact({p}_artifact(), &m) != QKRT_OK || qkrt_context_create(m, &c) != QKRT_OK) {
        fprintf(stderr, "runtime: %s\n", qkrt_error_message());
        return 1;
    }
    if (qkrt_model_num_inputs(m) != 1 || strcmp(qkrt_model_input(m, 0)->name, "input") != 0 ||
        !qkrt_model_has_batch(m) || qkrt_model_artifact(m) != (const qkrt_artifact *){p}_artifact()) {
        fprintf(stderr, "unexpected model description\n");
        return 1;
    }
    int64_t n = (int64_t)(bytes / qkrt_tensor_bytes(qkrt_model_input(m, 0), 1));
    size_t out_bytes = qkrt_tensor_bytes(qkrt_model_output(m, 0), n);
    float *y = malloc(out_bytes);
    const void *in[] = {x};
    void *out[] = {y};
    if (qkrt_run(c, n, in, &bytes, out, &out_bytes) != QKRT_OK) {
        fprintf(stderr, "qkrt_run: %s\n", qkrt_error_message());
        return 1;
    }
    /* a wrong size is refused with a status, not run */
    size_t short_bytes = bytes - 4;
    if (qkrt_run(c, n, in, &short_bytes, out, &out_bytes) != QKRT_ERR_ARG) {
        fprintf(stderr, "a short input buffer was not refused\n");
        return 1;
    }
    save(argv[2], y, out_bytes);
    for (int64_t i = 0; i < n; i++)
        printf("%d\n", argmax10(y + i * 10));
    qkrt_context_free(c);
    qkrt_model_free(m);
    free(y);
    free((void *)x);
    return 0;
}
"""

TWO = r"""/* made by e2e_static.py: two models in one program */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "{h1}"
#include "{h2}"
""" + NPY_READER + r"""
int main(int argc, char **argv)
{
    const float *x;
    size_t bytes;
    if (argc != 2 || !load_npy(argv[1], &x, &bytes))
        return 2;
    int64_t n = (int64_t)(bytes / {P1}_INPUT_INPUT_BYTES(1));
    float *y1 = malloc({P1}_OUTPUT_LOGITS_BYTES(n)), *y2 = malloc({P2}_OUTPUT_LOGITS_BYTES(n));
    void *ws1 = workspace({P1}_WORKSPACE_BYTES(n)), *ws2 = workspace({P2}_WORKSPACE_BYTES(n));
    const void *in[] = {x};
    void *out1[] = {y1}, *out2[] = {y2};
    if ({p1}_run(ws1, in, out1, n) != 0 || {p2}_run(ws2, in, out2, n) != 0)
        return 1;
    for (int64_t i = 0; i < n; i++)
        printf("%d %d\n", argmax10(y1 + i * 10), argmax10(y2 + i * 10));
    free(ws1);
    free(ws2);
    free(y1);
    free(y2);
    free((void *)x);
    return 0;
}
"""


def fill(template, **kw):
    """The template with {key} replaced (C braces stay as they are)."""
    for k, v in kw.items():
        template = template.replace("{%s}" % k, v)
    return template


def need_cc():
    if not CC:
        raise Skip("no system C compiler (cc) on PATH")


def compile_obj(model, prefix, base):
    o, h = path(base + ".o"), path(base + ".h")
    ok([QKC, "compile", os.path.join(MODELS, model), "--emit", "obj", "--header", h, "--prefix", prefix, "-o", o])
    return o, h


def check_symbols(o, prefix):
    nm = shutil.which("nm")
    if not nm:
        return
    r = ok([nm, "-g", "--defined-only", o])
    syms = sorted(line.split()[-1] for line in r.out.splitlines() if line.strip())
    expect(syms == sorted([prefix + "_artifact", prefix + "_run"]),
           "%s exports %s; want only %s_run and %s_artifact" % (o, syms, prefix, prefix), r)
    r = ok([nm, "-u", o])
    expect(r.out.strip() == "" or all(s.split()[-1] in ("memcpy", "memset", "memmove") for s in r.out.splitlines()),
           "%s needs symbols from outside: %s" % (o, r.out.split()), r)


def reference_so(model):
    """Logits of the same model as a shared object, through `qkc run`."""
    so = path(model.replace(".onnx", ".so"))
    ok([QKC, "compile", os.path.join(MODELS, model), "-o", so])
    out = path(model + ".run")
    ok([QKC, "run", so, "-i", X, "-d", out])
    return load_npy(os.path.join(out, "logits.npy"))


def within(got, ref, what):
    err = np.abs(got.astype(np.float64) - ref)
    allowed = 1e-5 * (np.abs(ref.astype(np.float64)) + np.abs(ref).max())
    expect(bool(np.all(err <= allowed)), "%s: logits differ beyond tolerance (max |diff| %g)" % (what, err.max()))


def preds_of(stdout, col=0):
    return np.array([int(line.split()[col]) for line in stdout.split("\n") if line.strip()])


LABELS = None


def accuracy(pred):
    return float(np.mean(pred == np.load(Y)))


def check_plain():
    need_cc()
    o, h = compile_obj("mlp.onnx", "digits", "mlp")
    check_symbols(o, "digits")
    src = write("plain.c", fill(PLAIN, h=h, p="digits", P="DIGITS"))
    exe = path("plain")
    ok([CC] + CFLAGS + ["-o", exe, src, o])
    b1, bn = path("plain_b1.f32"), path("plain_bn.f32")
    r = ok([exe, X, b1, bn])
    pred = preds_of(r.out)
    ref = reference_so("mlp.onnx")
    expect(len(pred) == N, "%d predictions, want %d" % (len(pred), N), r)
    expect(np.array_equal(pred, ref.argmax(1)), "predictions differ from the .so's at images %s" %
           np.nonzero(pred != ref.argmax(1))[0][:10])
    y1, yn = np.fromfile(b1, np.float32).reshape(N, 10), np.fromfile(bn, np.float32).reshape(N, 10)
    within(yn, ref, "batch 360 vs .so")
    within(y1, ref, "batch 1 vs .so")
    expect(np.array_equal(y1.argmax(1), pred), "batch 1 and batch 360 predict differently")
    acc = accuracy(pred)
    expect(acc >= 0.97, "accuracy %.4f" % acc)
    return "accuracy %.2f%%, %s" % (100 * acc, "bit-identical to the .so" if np.array_equal(yn, ref) else
                                    "within tolerance of the .so")


suite.check("mlp.o + mlp.h, libc only, <prefix>_run", check_plain)


def check_runtime():
    need_cc()
    if not os.path.exists(LIBQKRT):
        raise Failure("no %s: build the runtime first" % LIBQKRT)
    o, h = path("mlp.o"), path("mlp.h")
    if not os.path.exists(o):
        o, h = compile_obj("mlp.onnx", "digits", "mlp")
    src = write("with_runtime.c", fill(RUNTIME, h=h, p="digits"))
    exe = path("with_runtime")
    extra = ["-fsanitize=address,undefined"] if SANITIZE else []
    ok([CC] + CFLAGS + extra + ["-I", os.path.join(SRC, "include"), "-o", exe, src, o, LIBQKRT, "-ldl",
                                "-lpthread"])
    logits = path("with_runtime.f32")
    r = ok([exe, X, logits])
    pred = preds_of(r.out)
    ref = reference_so("mlp.onnx")
    expect(np.array_equal(pred, ref.argmax(1)), "predictions differ from the .so's")
    within(np.fromfile(logits, np.float32).reshape(N, 10), ref, "libqkrt-wrapped object vs .so")
    return "accuracy %.2f%%" % (100 * accuracy(pred))


suite.check("mlp.o wrapped by libqkrt (qkrt_model_from_artifact)", check_runtime)


def check_two_models():
    need_cc()
    o1, h1 = compile_obj("mlp.onnx", "digits_mlp", "two_mlp")
    o2, h2 = compile_obj("cnn.onnx", "digits_cnn", "two_cnn")
    check_symbols(o2, "digits_cnn")
    src = write("two.c", fill(TWO, h1=h1, h2=h2, p1="digits_mlp", P1="DIGITS_MLP", p2="digits_cnn",
                                    P2="DIGITS_CNN"))
    exe = path("two")
    ok([CC] + CFLAGS + ["-o", exe, src, o1, o2])
    r = ok([exe, X])
    mlp, cnn = preds_of(r.out, 0), preds_of(r.out, 1)
    expect(np.array_equal(mlp, reference_so("mlp.onnx").argmax(1)), "the MLP's predictions differ from its .so")
    expect(np.array_equal(cnn, reference_so("cnn.onnx").argmax(1)), "the CNN's predictions differ from its .so")
    expect(accuracy(mlp) >= 0.97 and accuracy(cnn) >= 0.98, "accuracy mlp %.4f, cnn %.4f" % (accuracy(mlp),
                                                                                          accuracy(cnn)))
    # the same prefix twice is a clash the linker must report
    o3, _ = compile_obj("cnn.onnx", "digits_mlp", "clash_cnn")
    r = run([CC] + CFLAGS + ["-o", path("clash"), src, o1, o3])
    expect(r.rc != 0 and "digits_mlp" in r.err, "two objects with one prefix linked without complaint", r)
    return "mlp %.2f%%, cnn %.2f%%" % (100 * accuracy(mlp), 100 * accuracy(cnn))


suite.check("two models with different prefixes in one program", check_two_models)

suite.finish()

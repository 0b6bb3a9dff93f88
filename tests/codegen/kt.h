/* kt.h — the kernel test harness shared by tests/codegen/kt_*.c.
 *
 * A case is a small model in the ONNX text syntax. kt_case() writes it to a
 * temporary folder, imports it once for the reference interpreter (the
 * oracle), fills its inputs from a fixed-seed PRNG, and then, for every
 * target, compiles it with drv_compile (opt level 2, verify on), runs the
 * artifact and compares every output with interp_run on the same data:
 *   - x86-64 in this process, for the host CPU, --cpu x86-64 (SSE2, no
 *     F16C: the software f16 conversions) and --cpu x86-64-v3 (AVX2, F16C);
 *   - AArch64 through `<build>/qkc run` (qemu-aarch64), for the cases marked
 *     .arm (skipped, saying why, without qemu or the cross-built runner);
 *   - NVPTX: the PTX must pass ptxas for sm_80 and sm_90 (skipped without
 *     ptxas), and it runs when a CUDA driver is present.
 * A model whose leading dim is the symbolic N runs at batch 1, 17 and 3
 * from the same artifact and context (the workspace grows, then a smaller
 * batch reuses it; the last run has a 2-thread pool). Tolerances: integer outputs exactly; outputs in
 * KtOpts.exact bit for bit (any NaN matches any NaN); other f32/f64 outputs
 * |got - ref| <= 1e-5 * (|ref| + max |ref| of the tensor); f16/bf16 within
 * one unit in the last place (or the f32 bound). A failure prints the
 * target, the first mismatching element and the model, and keeps the model
 * and its inputs in <build>/kernel-failures/. Every (case, target) runs in
 * a child process, so a crash fails that case only; the cases of a family
 * are shared by worker processes. QKC_TEST_QUICK=1 (set for sanitizer
 * builds) runs the host CPU only, batches 1 and 3 and every third case. */
#ifndef QKC_TESTS_KT_H
#define QKC_TESTS_KT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include "ir/ir.h"

enum { KT_MAXIO = 32 };

/* How the values of a graph input are drawn. */
typedef enum KtFill {
    KT_RAND,     /* floats uniform in [-scale, scale]; ints over their range (i32/i64 mostly small) */
    KT_WIDE,     /* 1 in 3 a special value (NaN, +-inf, +-0, subnormals, huge, tiny, ints' extremes),
                  * else magnitudes 1e-6..1e4 */
    KT_POS,      /* floats in [0.25, scale]; ints in [1, 100] */
    KT_CAST,     /* edge values of conversions: rounding ties, saturation bounds, NaN, inf, ... */
    KT_DIVIDEND, /* ints: INT_MIN, INT_MAX, 0 and random at fixed positions (pairs with KT_DIVISOR) */
    KT_DIVISOR,  /* ints: -1 where KT_DIVIDEND puts INT_MIN, zeros, random; floats: zeros too */
    KT_SMALL,    /* ints in [-3, 3], floats too (with both zeros): ties for Max/Min, MaxPool */
    KT_VALUES    /* KtOpts.values[input], repeated (for minimal reproducers) */
} KtFill;

/* Values for KT_VALUES: `n` of them, cycled over the tensor. */
typedef struct KtValues {
    const double *v;
    int n;
} KtValues;

typedef struct KtOpts {
    unsigned exact;        /* outputs (bit i: output i) compared bit for bit */
    bool ulp16;            /* f16/bf16 outputs of `exact` within one ulp instead */
    bool arm;              /* also run on AArch64 (the representative subset) */
    int threads;           /* > 1: run again with a pool of this many threads */
    double scale;          /* of KT_RAND / KT_POS floats (0: 2) */
    KtFill fill[KT_MAXIO]; /* per graph input */
    KtValues values[KT_MAXIO]; /* per graph input with KT_VALUES */
} KtOpts;

#define KT_ALL_EXACT 0xffffffffu

/* Where a case runs. */
typedef enum KtTarget {
    KT_HOST,    /* x86-64 (or the host), in this process */
    KT_X86_64,  /* --cpu x86-64: SSE2 only, no F16C */
    KT_X86_V3,  /* --cpu x86-64-v3: AVX2, FMA, F16C */
    KT_AARCH64, /* `qkc run` under qemu-aarch64 */
    KT_NVPTX,   /* --emit ptx, then ptxas for sm_80 and sm_90 */
    KT_GPU,     /* the NVPTX artifact run, when a CUDA driver is present */
    KT_NTARGETS
} KtTarget;

/* Counts of one family (summed over the worker processes). */
typedef struct KtStats {
    int cases;                            /* models tried */
    int runs[KT_NTARGETS];                /* models checked on each target */
    int failures;                         /* failed checks: (model, target, batch, output) */
    double time_s[KT_NTARGETS], oracle_s; /* where the time went (printed with KT_TIMES=1) */
} KtStats;

/* ---- kt_harness.c: the cases -------------------------------------------- */
/* Set up once (temporary folder, tools found or not); false on failure.
 * Environment: QKC_TEST_QUICK=1; KT_ONLY=family,... to run some families;
 * KT_JOBS=n worker processes; KT_KEEP=1 keeps every model in
 * <build>/kernel-cases/; KT_TIMES=1 prints times per target, KT_TIMES=2 per
 * case too. */
bool kt_init(void);
void kt_fini(void);
/* Start a family (resets the counts); kt_family_end prints its summary and
 * returns the number of failures. */
void kt_family_begin(const char *family);
int kt_family_end(void);
/* Run one case: `text` is the whole model. Returns true when it passed on
 * every target it ran on (a case left to another worker passes here). */
bool kt_case(const char *name, const KtOpts *o, const char *text);
/* Collecting: between kt_collect_begin and kt_collect_end, kt_case only
 * imports each model and runs the passes (nothing compiles or runs) and
 * records the ops of its graph, as imported and as lowered; kt_collect_end
 * returns them, seen[op] for each op of ops.def, and the number of models
 * that did not import or lower in *bad. */
void kt_collect_begin(void);
const bool *kt_collect_end(int *bad);

/* ---- kt_text.c: model text ---------------------------------------------- */
/* A growing string. */
typedef struct KtText {
    char *s;
    size_t n, cap;
} KtText;
void kt_printf(KtText *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kt_text_free(KtText *t);
/* The model header: `<ir_version: 8, opset_import: ["" : opset]>`. */
void kt_header(KtText *t, int opset);
/* "[2,3,N]" style dims text: -1 prints N; rank 0 prints nothing (a scalar). */
const char *kt_dims(char *buf, size_t n, int rank, const int64_t *dims);
/* A float for a float attribute: always with a '.' or an exponent. */
const char *kt_float(char *buf, size_t n, double v);
/* An initializer `type[d0,d1,...] name = {...}` (ONNX type name) of random
 * multiples of 1/16 in [-2, 2] (in [0.25, 2] when pos) from the
 * model-building PRNG; rank 0 for a scalar. */
void kt_init_values(KtText *t, const char *type, const char *name, int rank, const int64_t *dims, bool pos);
/* A number in [lo, hi] from the model-building PRNG (random sweeps). */
int kt_pick(int lo, int hi);

/* ---- kt_data.c: input data and comparisons ------------------------------ */
/* A 64-bit PRNG step (splitmix64). */
uint64_t kt_rand(uint64_t *state);
/* Fill t as `f` says, from the PRNG seeded with `seed`. */
void kt_fill(Tensor *t, KtFill f, double scale, const KtValues *vals, uint64_t seed);
/* Whether got matches ref (the tolerances above); on a mismatch `why`
 * names the first element that differs and how many do. */
bool kt_compare(const Tensor *got, const Tensor *ref, bool exact, bool ulp16, char *why, size_t n);

/* ---- the families: kt_eltwise.c, kt_linalg.c, kt_conv.c, kt_pool.c,
 * kt_misc.c, kt_layout.c, kt_threads.c, kt_repro.c, kt_quant.c, kt_ops.c
 * (test_kernels.c lists them; its last test checks that their models hold
 * every op of ir/ops.def) ----------------------------------------------- */
void kt_unary(void);
void kt_cast(void);
void kt_binary(void);
void kt_matmul(void);
void kt_gemm(void);
void kt_conv(void);
void kt_pool(void);
void kt_softmax(void);
void kt_batchnorm(void);
void kt_transpose(void);
void kt_concat(void);
void kt_views(void);
void kt_threads(void);
void kt_repro(void);
/* kt_quant.c: the integer kernels (QuantizeLinear/DequantizeLinear;
 * MatMulInteger, QLinearMatMul, QGemm; ConvInteger, QLinearConv; QLinearAdd,
 * QLinearGlobalAveragePool), and hand-computed checks of the interpreter's
 * integer semantics (kt_quant_ref: returns the number of failures) */
void kt_qdq(void);
void kt_qmatmul(void);
void kt_qconv(void);
void kt_qeltwise(void);
void kt_qref(void);
int kt_quant_ref(void);
/* kt_ops.c: the op families of ir/ops.def beyond the above */
void kt_eltwise2(void);
void kt_reduce(void);
void kt_norm(void);
void kt_index(void);
void kt_gather(void);
void kt_resize(void);
void kt_einsum(void);

#endif

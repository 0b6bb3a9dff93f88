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
 * A model whose leading dim is the symbolic N runs at batch 1, 3 and 17
 * from the same artifact. Tolerances: integer outputs exactly; outputs in
 * KtOpts.exact bit for bit (any NaN matches any NaN); other f32/f64 outputs
 * |got - ref| <= 1e-5 * (|ref| + max |ref| of the tensor); f16/bf16 within
 * one unit in the last place (or the f32 bound). A failure prints the
 * target, the first mismatching element and the model, and keeps the model
 * in <build>/kernel-failures/. QKC_TEST_QUICK=1 (set for sanitizer builds)
 * runs the host CPU only, fewer batch sizes and every third case. */
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
    KT_SMALL     /* ints in [-3, 3]: ties for Max/Min, MaxPool */
} KtFill;

typedef struct KtOpts {
    unsigned exact;        /* outputs (bit i: output i) compared bit for bit */
    bool ulp16;            /* f16/bf16 outputs of `exact` within one ulp instead */
    bool arm;              /* also run on AArch64 (the representative subset) */
    double scale;          /* of KT_RAND / KT_POS floats (0: 2) */
    KtFill fill[KT_MAXIO]; /* per graph input */
} KtOpts;

#define KT_ALL_EXACT 0xffffffffu

/* The families, for counts per target. */
typedef enum KtTarget { KT_HOST, KT_X86_64, KT_X86_V3, KT_AARCH64, KT_NVPTX, KT_GPU, KT_NTARGETS } KtTarget;

typedef struct KtStats {
    int cases;                 /* models tried */
    int runs[KT_NTARGETS];     /* models checked on each target */
    int failures;              /* failed (model, target) pairs */
} KtStats;

/* ---- kt_harness.c ------------------------------------------------------- */
/* Set up once (temporary folder, tools found or not); false on failure. */
bool kt_init(void);
void kt_fini(void);
/* Whether QKC_TEST_QUICK is set. */
bool kt_quick(void);
/* Start a family (resets the counts); kt_family_end prints its summary and
 * returns the number of failures. */
void kt_family_begin(const char *family);
int kt_family_end(void);

/* Run one case: `text` is the whole model. Returns true when it passed on
 * every target it ran on. */
bool kt_case(const char *name, const KtOpts *o, const char *text);

/* A growing string for model text. */
typedef struct KtText {
    char *s;
    size_t n, cap;
} KtText;
void kt_printf(KtText *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void kt_text_free(KtText *t);
/* The model header: `<ir_version: 8, opset_import: ["" : opset]>`. */
void kt_header(KtText *t, int opset);
/* An initializer `float[d0,d1,...] name = {...}` (ONNX type name) of random
 * multiples of 1/16 in [-2, 2] (positive in [0.25, 2] when pos), drawn from
 * the harness's PRNG; rank 0 for a scalar. */
void kt_init_values(KtText *t, const char *type, const char *name, int rank, const int64_t *dims, bool pos);
/* "[2,3,N]" style dims text: -1 prints N. */
const char *kt_dims(char *buf, size_t n, int rank, const int64_t *dims);

/* A 64-bit PRNG (splitmix64), seeded per case and input. */
uint64_t kt_rand(uint64_t *state);
/* The harness's model-building PRNG (for weights and random shapes). */
uint64_t *kt_gen_rng(void);

/* ---- the families (kt_eltwise.c, kt_linalg.c, kt_conv.c, kt_pool.c, kt_misc.c) */
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

#endif

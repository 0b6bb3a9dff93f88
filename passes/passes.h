/* passes.h — graph passes and the default pipeline.
 *
 * Each pass is one function in one file, with a contract comment (what it
 * requires, what it gives or breaks). A pass only rewrites the IR; it
 * reports user-facing problems to the Diag and returns false. */
#ifndef QKC_PASSES_H
#define QKC_PASSES_H

#include "ir/ir.h"

/* PREC_INT8_DYNAMIC: int8 weights, activations quantized per run by
 * DynamicQuantizeLinear (no calibration). */
typedef enum Precision { PREC_FP32, PREC_FP16, PREC_INT8, PREC_MIXED, PREC_INT8_DYNAMIC, PREC_BF16 } Precision;

/* How to quantize (pass "quantize") — filled by the driver. */
typedef struct QuantOptions {
    Precision precision;
    /* The clipping range of an f32 activation, by value name (from the
     * calibration profile); false when the profile has no such tensor. */
    bool (*range)(void *ctx, const char *value, double *lo, double *hi);
    void *range_ctx;
    bool act_s8;            /* activations symmetric i8 (else asymmetric u8) */
    bool weights_per_tensor;/* else per output channel */
    bool weights_log2;      /* weights as signed powers of two times the scale */
    int weight_bits;        /* 7: weights in [-64, 64] (no pair of them can saturate x86's pmaddubsw, so CPUs
                             * without VNNI run it exactly); else 8: [-127, 127] */
    bool pow2;              /* every scale a power of two */
    bool io_int8;           /* graph inputs and outputs stay quantized (pass "io") */
    int nkeep;              /* nodes left in float: names or op types */
    const char *const *keep;
    /* Bias correction: the mean of each channel of activation `value`
     * (dim 1 of a Conv input, the last dim of a Gemm/MatMul input) on the
     * calibration data, into means[0..n); false when unknown (then no
     * correction). NULL: no bias correction. */
    bool (*means)(void *ctx, const char *value, int64_t n, double *means);
    void *means_ctx;
    /* SmoothQuant (--smooth ALPHA, 0 < alpha < 1; 0: off): the extremes of
     * each channel (last dim) of a MatMul/Gemm input on the calibration
     * data, into lo/hi[0, n); false when unknown (then no smoothing). */
    double smooth;
    bool (*chan_range)(void *ctx, const char *value, int64_t n, double *lo, double *hi);
    void *chan_range_ctx;
} QuantOptions;

typedef struct PassCtx {
    Diag *d;
    bool verify;            /* run ir_verify after every pass (tests, debug) */
    FILE *dump;             /* where --print-after dumps go, or NULL */
    const char *print_after; /* a pass name, "all", or NULL */
    /* How a dump is written (NULL: ir_print, the text form); `qkc inspect
     * --dot` draws a Graphviz graph instead. */
    void (*dump_fn)(void *ctx, const Graph *g, FILE *f);
    void *dump_ctx;
    /* What is left of the bound on the bytes of constants a model may
     * create (docs/usage.md; import takes its share first, ImportOptions):
     * folding draws from it and leaves a node that does not fit to run
     * time. NULL: 256 MiB for each run of a folding pass. */
    int64_t *const_left;
    bool const_warned;      /* a node left unfolded for the bound was named */
    const QuantOptions *quant; /* NULL: keep the model's precision */
} PassCtx;

typedef bool (*PassFn)(Graph *g, PassCtx *pc);

typedef struct PassInfo {
    const char *name;
    PassFn fn;
    const char *what;
} PassInfo;

/* The default pipeline, in order. */
extern const PassInfo pass_pipeline[];
extern const int pass_pipeline_len;

bool pass_shape_infer(Graph *g, PassCtx *pc);
bool pass_fold(Graph *g, PassCtx *pc);
bool pass_bn_fold(Graph *g, PassCtx *pc);
bool pass_patchify(Graph *g, PassCtx *pc);
bool pass_fuse(Graph *g, PassCtx *pc);
bool pass_dce(Graph *g, PassCtx *pc);
bool pass_quantize(Graph *g, PassCtx *pc);
bool pass_fp16(Graph *g, PassCtx *pc);
bool pass_qdq_fold(Graph *g, PassCtx *pc);
bool pass_io(Graph *g, PassCtx *pc);
bool pass_fold_late(Graph *g, PassCtx *pc);
bool pass_fuse_eltwise(Graph *g, PassCtx *pc);
bool pass_plan(Graph *g, PassCtx *pc);

/* Run the pipeline (through the pass named `stop_after`, or all when NULL).
 * Dumps and verification as the context asks. */
bool passes_run(Graph *g, PassCtx *pc, const char *stop_after);
/* The same, starting at the pass named `from` (NULL: the first). */
bool passes_run_from(Graph *g, PassCtx *pc, const char *from, const char *stop_after);
/* Whether `name` is a pass of the pipeline. */
const PassInfo *pass_find(const char *name);

#endif

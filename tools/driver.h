/* driver.h — the compiler as a library call: read a model, run the
 * pipeline, generate the artifact. Used by the qkc CLI and by tests. */
#ifndef QKC_DRIVER_H
#define QKC_DRIVER_H

#include "codegen/codegen.h"
#include "frontend/frontend.h"
#include "passes/passes.h"

typedef struct DriverOptions {
    const char *target;        /* NULL: the host */
    const char *cpu;           /* NULL: the target's default */
    EmitKind emit;
    const char *out;
    const char *header;        /* --header (EMIT_OBJ) */
    const char *prefix;        /* symbol prefix (EMIT_OBJ); NULL: from the output name */
    int64_t batch;             /* > 0: fix the batch dim */
    int ndim;                  /* --dim NAME=N: fix a named symbolic dim */
    const char *const *dims;
    int nbind;                 /* --bind NAME=FILE.npy */
    const char *const *binds;
    int64_t max_const_bytes;   /* > 0: the bound on constants a model may create (else the default) */
    int opt_level;             /* 0..3 (default 3 when 0 is not asked: see qkc.c) */
    bool verify;               /* ir_verify after every pass, LLVM verifier */
    const char *print_after;   /* dump IR after this pass ("all", "import") */
    bool dump_import;          /* ... and after import in any case (qkc inspect) */
    FILE *dump;
    void (*dump_fn)(void *ctx, const Graph *g, FILE *f); /* the dumps' form (NULL: the IR text; PassCtx) */
    void *dump_ctx;
    bool verbose;              /* stage times and a summary on stderr */
    /* precision (docs/quantization.md) */
    Precision precision;       /* fp32 (default), fp16, int8, mixed */
    int ncalib;                /* --calib DATA specs */
    const char *const *calib;
    const char *calib_method;  /* minmax | percentile[=P] | entropy | mse (NULL: the default) */
    bool calib_interp;         /* --calib-engine interp: calibrate with the reference interpreter */
    int calib_threads;         /* --calib-threads N (0: one per CPU; the compiled engine) */
    const char *profile;       /* --profile FILE instead of --calib */
    bool act_s8;               /* --activations s8 */
    bool weights_per_tensor;   /* --weights per-tensor */
    bool weights_log2;         /* --weights log2 */
    int weight_bits;           /* --weight-bits 7 (else 8) */
    bool pow2;                 /* --pow2-scales */
    bool no_bias_correction;   /* --no-bias-correction */
    double smooth;             /* --smooth ALPHA (SmoothQuant's migration strength); 0: off */
    bool io_int8;              /* --io int8: graph inputs/outputs stay quantized */
    int nkeep;                 /* --keep-float NODE_OR_OPTYPE,... */
    const char *const *keep;
    double min_sqnr;           /* mixed: output SQNR floor (dB) */
    double max_accuracy_drop;  /* mixed, with labels: accuracy floor (points) */
    const char *labels;        /* mixed: labels of the calibration samples */
    const char *report;        /* --report FILE.json (quantized compiles) */
    const struct MixedChoice *mixed; /* the mixed choice behind an int8 compile (for the report) */
    const struct CalibProfile *profile_mem; /* a profile already in memory (used before profile/calib) */
    bool quiet_report;         /* no report or warnings (trial lowerings) */
} DriverOptions;

/* The output SQNR floor of --precision mixed when none is given. */
#define QKC_DEFAULT_MIN_SQNR 40.0

/* The calibration method used when none is named. */
#define QKC_DEFAULT_CALIB "minmax"

/* Read and import a model (with --batch and --bind applied). */
Graph *drv_import(const char *model, const DriverOptions *o, Diag *d);
/* The same, and what import left of the bound on created constants into
 * *const_left (for PassCtx.const_left: folding draws from it). */
Graph *drv_import_left(const char *model, const DriverOptions *o, int64_t *const_left, Diag *d);
/* The whole compile: import, passes, codegen, link. */
bool drv_compile(const char *model, const DriverOptions *o, Diag *d);
/* Import and run the passes up to and including the quantization rewrite
 * of o's precision, calibrating from o's data or profile when needed:
 * the graph codegen would see (planned). */
Graph *drv_lower(const char *model, const DriverOptions *o, Diag *d);
/* The calibration profile of a model (from o's data, profile file, or
 * profile in memory); free with profile_free. */
bool drv_profile(const char *model, const DriverOptions *o, struct CalibProfile *prof, Diag *d);
/* The ops of lowered graph g that compute in float, grouped by reason
 * ("reason: Op xN, Op xM; reason: ...") into list; returns how many. */
int drv_float_summary(const Graph *g, const DriverOptions *o, char *list, size_t size);
/* `qkc calibrate`: the profile of a model over o->calib, written to out. */
bool drv_calibrate(const char *model, const DriverOptions *o, const char *out, Diag *d);
/* FNV-1a 64 of a file's bytes (0 when unreadable), mixed into `h`. */
uint64_t drv_hash_file(const char *path, uint64_t h);
uint64_t drv_hash_str(const char *s, uint64_t h);
/* A tensor from a .npy file (malloc'ed data); errors name the file. */
bool drv_read_npy(const char *path, Tensor *t, Diag *d);

#endif

/* qkrt_abi.h — the artifact descriptor: what a compiled model (.so or .o)
 * exposes to the runtime that loads it. Written by codegen, read by the
 * runtime; versioned by QKRT_ABI_VERSION (a runtime refuses other versions).
 *
 * A shared-object artifact exports one symbol, `qkc_artifact`, a function
 * returning its descriptor. An object-file artifact exports
 * `<prefix>_artifact` and `<prefix>_run` instead, so several models can be
 * linked into one program.
 *
 * Dtype codes are ONNX TensorProto codes: 1 f32, 2 u8, 3 i8, 5 i16, 6 i32,
 * 7 i64, 9 bool, 10 f16, 11 f64, 16 bf16. */
#ifndef QKRT_ABI_H
#define QKRT_ABI_H

#include <stdint.h>

#define QKRT_ABI_VERSION 4u
#define QKRT_MAGIC 0x54524b51u /* "QKRT" little-endian */
#define QKRT_DIM_BATCH (-1)    /* dims[0] of a tensor whose batch is chosen per run */

/* Execution services the runtime hands to a CPU model's entry. */
typedef struct qkrt_exec {
    void *pool;    /* opaque, for parallel_for */
    int nthreads;  /* 1: serial */
    /* Run fn(ctx, begin, end) over [0, n) split in chunks, possibly in
     * parallel; returns when all are done. NULL: call fn(ctx, 0, n). */
    void (*parallel_for)(void *pool, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx, int64_t n);
} qkrt_exec;

typedef struct qkrt_tensor_desc {
    const char *name;
    int32_t dtype;        /* ONNX TensorProto code */
    int32_t rank;
    const int64_t *dims;  /* dims[0] == QKRT_DIM_BATCH: batch dim */
    /* A quantized input/output (qkc compile --io int8; dtype 2 u8 or 3 i8):
     * real = scale * (q - zero_point). scale 0: not quantized. */
    double scale;
    int32_t zero_point;
} qkrt_tensor_desc;

/* Argument of a GPU kernel launch: where its pointer (or value) comes from. */
enum {
    QKRT_ARG_CONST = 1,      /* device copy of the constants + offset */
    QKRT_ARG_WS_STATIC = 2,  /* device workspace + offset */
    QKRT_ARG_WS_BATCH = 3,   /* device workspace + ws_static + batch * offset */
    QKRT_ARG_INPUT = 4,      /* device copy of input `index` */
    QKRT_ARG_OUTPUT = 5,     /* device buffer of output `index` */
    QKRT_ARG_BATCH = 6       /* the batch size, passed as an i64 value */
};

typedef struct qkrt_gpu_arg {
    int32_t kind;    /* QKRT_ARG_* */
    int32_t index;   /* input/output number */
    int64_t offset;  /* bytes */
} qkrt_gpu_arg;

typedef struct qkrt_gpu_launch {
    const char *kernel;      /* PTX entry name */
    int64_t work_static;     /* threads wanted: work_static + batch * work_batch; */
    int64_t work_batch;      /* each kernel strides over its work, any grid works */
    int32_t block;           /* threads per block */
    int32_t nargs;
    const qkrt_gpu_arg *args;
} qkrt_gpu_launch;

/* The CPU features a CPU artifact's code may use beyond its architecture's
 * baseline (x86-64: SSE2; AArch64: NEON), bit QKRT_CPU_<X> of cpu_features;
 * the second column is LLVM's (and Linux's /proc/cpuinfo's, mostly) name.
 * The runtime reads the machine's own (CPUID and the registers the OS saves;
 * AArch64: HWCAP) and refuses to run an artifact that needs more, naming
 * what is missing, rather than stopping on an illegal instruction. */
#define QKRT_CPU_FEATURES(X)                                                                              \
    X(SSE3, "sse3") X(SSSE3, "ssse3") X(SSE41, "sse4.1") X(SSE42, "sse4.2") X(POPCNT, "popcnt")           \
    X(AVX, "avx") X(AVX2, "avx2") X(FMA, "fma") X(F16C, "f16c") X(BMI, "bmi") X(BMI2, "bmi2")            \
    X(LZCNT, "lzcnt") X(MOVBE, "movbe") X(AVX512F, "avx512f") X(AVX512BW, "avx512bw")                    \
    X(AVX512DQ, "avx512dq") X(AVX512VL, "avx512vl") X(AVX512CD, "avx512cd") X(AVX512VNNI, "avx512vnni")  \
    X(AVX512BF16, "avx512bf16") X(AVX512FP16, "avx512fp16") X(AVX512VBMI, "avx512vbmi")                  \
    X(AVX512VBMI2, "avx512vbmi2") X(AVX512IFMA, "avx512ifma") X(AVX512BITALG, "avx512bitalg")            \
    X(AVX512VPOPCNTDQ, "avx512vpopcntdq") X(AVXVNNI, "avxvnni") X(GFNI, "gfni") X(VAES, "vaes")           \
    X(VPCLMULQDQ, "vpclmulqdq") X(AMX_TILE, "amx-tile") X(AMX_INT8, "amx-int8") X(AMX_BF16, "amx-bf16")  \
    X(A64_DOTPROD, "dotprod") X(A64_FP16, "fullfp16") X(A64_SVE, "sve") X(A64_I8MM, "i8mm")              \
    X(A64_BF16, "bf16")

#define QKRT_CPU_ENUM_(id, name) QKRT_CPU_##id,
enum { QKRT_CPU_FEATURES(QKRT_CPU_ENUM_) QKRT_CPU_COUNT };
#undef QKRT_CPU_ENUM_

typedef struct qkrt_artifact {
    uint32_t magic;          /* QKRT_MAGIC */
    uint32_t abi_version;    /* QKRT_ABI_VERSION */
    const char *target;      /* "x86_64", "aarch64" or "nvptx" */
    const char *cpu;         /* CPU / SM the code was made for */
    const char *model_name;
    const char *producer;    /* "qkc <version>" */
    uint64_t model_hash;     /* hash of the model bytes and compile options */
    int32_t num_inputs, num_outputs;
    const qkrt_tensor_desc *inputs;
    const qkrt_tensor_desc *outputs;
    uint64_t ws_static;      /* workspace bytes: ws_static + batch * ws_batch */
    uint64_t ws_batch;
    /* CPU artifacts: run the model. Inputs/outputs are the caller's buffers
     * in declaration order; ws is 64-byte aligned. Returns 0. */
    int (*run)(void *ws, const void *const *inputs, void *const *outputs, int64_t batch, const qkrt_exec *exec);
    /* NVPTX artifacts (run is NULL): PTX text, constants to upload once,
     * and the kernel launches of one run, in order. */
    const char *ptx;
    const void *consts;
    uint64_t consts_size;
    int32_t num_launches;
    const qkrt_gpu_launch *launches;
    /* CPU artifacts: bit (1 << QKRT_CPU_<X>) for each feature its code needs */
    uint64_t cpu_features;
    /* A fat artifact (qkc compile --cpu A,B,...): the same model compiled
     * for another CPU, the next choice (NULL: none). qkc_artifact() returns
     * the most demanding; the runtime takes the first in the chain whose
     * cpu_features this CPU has (or the one QKRT_CPU names). */
    const struct qkrt_artifact *next;
} qkrt_artifact;

typedef const qkrt_artifact *(*qkrt_artifact_fn)(void);

#endif

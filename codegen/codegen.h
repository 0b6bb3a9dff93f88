/* codegen.h — from a planned graph to an artifact: a shared object, an
 * object file (+ C header), assembly, LLVM IR or PTX, for x86-64, AArch64
 * or NVPTX. The public face of codegen/. */
#ifndef QKC_CODEGEN_H
#define QKC_CODEGEN_H

#include <stdio.h>

#include "ir/ir.h"

typedef enum EmitKind { EMIT_SO, EMIT_OBJ, EMIT_ASM, EMIT_LLVM, EMIT_PTX } EmitKind;

typedef enum TargetArch { ARCH_X86_64, ARCH_AARCH64, ARCH_NVPTX } TargetArch;

/* A target is data: everything that differs between ISAs lives here, chosen
 * once; kernel generators read fields, never #ifdef. */
/* How a target multiplies int8 vectors exactly (docs/quantization.md: the
 * sums never saturate). */
typedef enum DotKind {
    DOT_GENERIC,  /* widening multiply-add in plain vector IR */
    DOT_PMADDWD,  /* x86 pmaddwd: i16 pairs -> i32 (SSE2, AVX2, AVX-512BW) */
    DOT_VNNI,     /* x86 vpdpbusd: 4 u8 x s8 -> i32, no saturation (AVX512-VNNI, AVX-VNNI) */
    DOT_SDOT,     /* AArch64 sdot: 4 s8 x s8 -> i32 (FEAT_DotProd) */
    DOT_PMADDUBSW,/* x86 pmaddubsw then pmaddwd by 1: 4 u8 x s8 -> i32 (SSSE3, AVX2, AVX-512BW); its i16
                   * pair sums saturate, so never a target's choice: k_mm.c takes it for a layer
                   * whose constant weights prove no pair can (e.g. --weight-bits 7) */
} DotKind;

typedef struct Target {
    TargetArch arch;
    const char *name;       /* "x86_64", "aarch64", "nvptx" (artifact descriptor) */
    const char *triple;     /* LLVM target triple */
    const char *cpu;        /* LLVM CPU name (allow-listed) */
    const char *features;   /* LLVM feature string */
    int vector_bits;        /* widest SIMD register */
    bool gpu;               /* kernels run over a grid of threads */
    bool f16_convert;       /* hardware f32<->f16 conversion (F16C, AArch64, PTX) */
    bool f16_arith;         /* native fp16 arithmetic (AArch64 FEAT_FP16, PTX): f16 elementwise
                             * ops compute in half (same bits: one rounding either way) */
    int vregs;              /* SIMD registers (16: SSE/AVX2, 32: AVX-512/NEON): microkernel tiles */
    DotKind dot;            /* the int8 dot product of the microkernels */
    bool bf16_dot;          /* vdpbf16ps (AVX512-BF16): bf16 pairs multiplied and added into f32 lanes,
                             * the product of bf16 matrix products */
    bool byte_perm;         /* vpermb/vpermt2b (AVX512-VBMI, 512-bit): any of 64 or 128 bytes into each
                             * byte lane, one instruction (int8 depthwise windows) */
    uint64_t cpu_features;  /* what the code may use beyond the baseline (QKRT_CPU_* bits, qkrt_abi.h):
                             * the artifact records it, the runtime checks it */
    const char *libc_dirs[2]; /* where the target's libc lives, for linking (.so) */
    const char *host_triple;  /* GPU: the triple of the host library */
} Target;

/* Resolve --target/--cpu into a target record. arch NULL: the host.
 * cpu NULL: the host's own CPU when the target is the host, else a
 * conservative baseline. Unknown names are errors (LLVM would only warn,
 * then miscompile or abort). */
bool cg_target_resolve(const char *arch, const char *cpu, Target *t, Diag *d);
/* --cpu as a list "A,B,..." (or a named set: "portable", x86-64-v2 to AVX-512
 * VNNI): up to max targets into out, sorted from the least demanding to
 * the most; a single CPU gives one. Returns how many, 0 on an error. */
int cg_target_resolve_list(const char *arch, const char *cpus, Target *out, int max, Diag *d);
/* The microkernel of node n on t, in words and as a name tag ("14x32c4"),
 * or NULL when n has none (codegen/k_mm.c). */
const char *cg_mm_desc(const Target *t, const Node *n, char *buf, size_t len);
const char *cg_mm_tag(const Target *t, const Node *n, char *buf, size_t len);
/* The int8 depthwise kernel's name tag ("dw16c4") where node n takes it on
 * t (codegen/k_quant.c), else NULL. */
const char *cg_qdw_tag(const Target *t, const Node *n, char *buf, size_t len);
/* The allow-listed CPUs of each target, for --help and messages. */
void cg_target_print_cpus(FILE *f);
const char *cg_host_arch(void);

typedef struct CgOptions {
    Target target;
    /* A fat artifact (CPU targets, shared objects): the same model for
     * these CPUs too, each a variant the runtime may choose at load; the
     * list goes from target, the least demanding, to the most. */
    const Target *more;
    int nmore;
    EmitKind emit;
    const char *out;        /* output path */
    const char *header;     /* --header path for EMIT_OBJ, or NULL */
    const char *prefix;     /* symbol prefix for EMIT_OBJ (a C identifier) */
    const char *model_name;
    uint64_t model_hash;    /* hash of the model bytes and options */
    int opt_level;          /* 0..3 */
    bool verify_ir;         /* LLVMVerifyModule before optimizing (always on in tests) */
    /* Called as each stage starts ("generating kernels", "optimizing",
     * "emitting code", "linking"), for progress on a terminal; may be NULL. */
    void (*stage)(void *ctx, const char *what);
    void *stage_ctx;
} CgOptions;

/* A short description of the kernel codegen generates for node n on t
 * (for reports): its form and its arithmetic. */
const char *cg_kernel_desc(const Target *t, const Node *n);

/* Generate, optimize, emit and (for EMIT_SO) link. The graph must be
 * planned (passes/plan.c). */
bool cg_compile(Graph *g, const CgOptions *o, Diag *d);

#endif

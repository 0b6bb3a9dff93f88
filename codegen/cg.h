/* cg.h — internals of code generation (not for use outside codegen/).
 *
 * One Cg owns every LLVM handle of a compile: context, module, builder,
 * target machine; created and destroyed in cg.c. Each node becomes one
 * kernel function taking a pointer per input and output, then the batch:
 *     qk_<n>_<dtype>_<op>[_bias][_<act>](ptr in0, ..., ptr out0, ..., i64 batch)
 * (on CPUs a body with (..., i64 begin, i64 end) and a parallel_for wrapper)
 * A kernel's work is one *parallel loop* (cg_par_*): on a CPU a plain loop
 * over the [begin, end) slice a thread is given, on a GPU a grid-stride
 * loop over the threads of a launch — so each generator describes its computation once, and the
 * target decides how the parallel loop runs. The extent of the parallel
 * loop is `work_static + batch * work_batch`, recorded per kernel for GPU
 * launches. */
#ifndef QKC_CG_H
#define QKC_CG_H

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

#include "codegen.h"

typedef struct CgKernel {
    const char *name;
    const Node *node;
    LLVMValueRef fn;                 /* GPU: the kernel; CPU: its body */
    LLVMValueRef wrapper;            /* CPU: (args, begin, end), for parallel_for */
    int64_t work_static, work_batch; /* parallel loop extent */
    int64_t cost_static, cost_batch; /* element operations, to decide on threads */
    uint64_t packed_in;              /* inputs the kernel reads from a packed copy only */
} CgKernel;

typedef struct Cg {
    LLVMContextRef ctx;
    LLVMModuleRef mod;
    LLVMBuilderRef b;
    LLVMTargetMachineRef tm;
    LLVMTargetDataRef td;
    const Target *t;
    const CgOptions *o;
    Graph *g;
    Diag *d;
    /* types */
    LLVMTypeRef i1, i8, i16, i32, i64, f16, f32, f64, ptr, vd;
    /* CPU: one global per constant value (by value id); NULL for GPUs */
    LLVMValueRef *const_globals;
    /* the kernel being generated */
    LLVMValueRef fn;
    LLVMValueRef *arg;       /* arg[k]: pointer of tensor k (inputs then outputs) */
    LLVMValueRef batch;      /* i64 */
    LLVMValueRef par_lo, par_hi; /* CPU: the range of the parallel loop this call runs */
    const Node *node;
    CgKernel *kernels;
    int nkernels, cap_kernels;
    bool par_open;           /* a parallel loop was opened in this kernel */
} Cg;

/* ---- cg.c --------------------------------------------------------------- */
LLVMValueRef cg_i64(Cg *cg, int64_t v);
LLVMValueRef cg_i32(Cg *cg, int32_t v);
LLVMValueRef cg_f32(Cg *cg, float v);
/* The LLVM type of a dtype in memory (f16/bf16 as i16, bool as i8). */
LLVMTypeRef cg_mem_type(Cg *cg, DType t);
/* The type arithmetic is done in: f32 for f32/f16/bf16, f64, or the int. */
LLVMTypeRef cg_calc_type(Cg *cg, DType t);
/* &p[idx] for elements of dtype t. */
LLVMValueRef cg_gep(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx);
/* Load element idx of dtype t, converted to its calc type. */
LLVMValueRef cg_load(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx);
/* Store a calc-type value as dtype t (rounding f16/bf16). */
void cg_store(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v);
/* A call to an overloaded LLVM intrinsic. */
LLVMValueRef cg_intrin(Cg *cg, const char *name, LLVMTypeRef *ovl, int novl, LLVMValueRef *args, int nargs);
/* A codegen-owned constant array (e.g. weights re-laid out for a kernel):
 * CPU targets only. */
LLVMValueRef cg_const_blob(Cg *cg, const char *name, const void *data, size_t bytes);
/* Mark input j of the kernel being generated as read only through a packed
 * copy (cg_const_blob): the entry passes no pointer for it. */
void cg_packed_input(Cg *cg, int j);
/* A stack slot in the kernel's entry block (promoted to a register by
 * LLVM); for accumulators carried across loops. */
/* The compile's stage hook (CgOptions.stage), when there is one. */
void cg_stage(Cg *cg, const char *what);
LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t, const char *name);
/* The 32-bit lanes of the vectors the kernels use: AArch64 NEON is 128 bits
 * whatever the core's SVE width. */
int cg_lanes32(const Target *t);
/* A vector of w copies of scalar s. */
LLVMValueRef cg_splat(Cg *cg, LLVMValueRef s, int w);
/* The global holding constant value v (CPU), or NULL. */
LLVMValueRef cg_const_of(Cg *cg, const Value *v);

/* ---- k_gemm.c: the matrix product, described once ---------------------- */
/* Y[r, n] = act(alpha * sum_k A[r, k] B[k, n] + beta * C[r, n]) over rows r
 * of Y (its batch dims times M), with every operand addressed by strides. */
typedef struct GemmDesc {
    int64_t M, N, K;
    int nb;                    /* batch dims of Y (before M) */
    int64_t bext[QK_MAX_RANK]; /* their extents; bext[0] is scaled by the batch when batch0 */
    bool batch0;
    int64_t sab[QK_MAX_RANK], sbb[QK_MAX_RANK], scb[QK_MAX_RANK]; /* per batch dim strides */
    int64_t sam, sak, sbk, sbn, scm, scn;
    float alpha, beta;
    bool has_c;
    DType dt;        /* storage type of A, B, C, Y (float GEMM) */
    LLVMTypeRef ct;  /* the type the products are accumulated in */
    LLVMValueRef A, B, C, Y;
} GemmDesc;

/* The description of MatMul/Gemm node n (A, B: inputs ia and ib; MatMul,
 * Gemm: 0, 1; QLinearMatMul: 0, 3), pointers from the kernel's arguments. */
bool cg_gemm_describe(Cg *cg, const Node *n, int ia, int ib, GemmDesc *g);
/* y = act(alpha * acc + beta * C[coff]): the float epilogue (f32 values). */
LLVMValueRef cg_gemm_epilogue(Cg *cg, const Node *n, const GemmDesc *g, LLVMValueRef acc, LLVMValueRef coff);

/* A kernel generator's answer: it emitted the kernel body, the node is not
 * one it takes (nothing emitted: the family's next generator is tried), or
 * it failed (an error was reported). */
typedef enum CgResult { CG_DONE, CG_DECLINE, CG_FAIL } CgResult;
typedef CgResult (*CgGen)(Cg *cg, const Node *n);

/* ---- k_mm.c: register-blocked microkernels (constant B, CPUs) ---------- */
/* The kernel of Gemm/MatMul/Conv and their integer forms when its B is a
 * constant the microkernels take; CG_DECLINE otherwise. */
CgResult cg_k_mm(Cg *cg, const Node *n);
/* 1x1 f32 convs as weights x NCHW rows (k_pw.c); its name tag and words. */
CgResult cg_k_pw(Cg *cg, const Node *n);
const char *cg_pw_tag(const Target *t, const Node *n, char *buf, size_t len);
const char *cg_pw_desc(const Target *t, const Node *n, char *buf, size_t len);
/* 1x1 int8 convs the same way on pmaddwd (k_quant.c); its name tag. */
CgResult cg_k_qpw(Cg *cg, const Node *n);
const char *cg_qpw_tag(const Target *t, const Node *n, char *buf, size_t len);

/* ---- loop.c ------------------------------------------------------------- */
typedef struct CgLoop {
    LLVMBasicBlockRef header, body, exit;
    LLVMValueRef iv, step;
    bool no_unroll;    /* set before cg_for_end: LLVM leaves the loop as it is
                        * (a microkernel's loops, already unrolled by hand) */
    bool no_vectorize; /* ... and does not vectorize it (strided stores that
                        * would become byte scatters) */
    int interleave;    /* > 1: ask the vectorizer for this many vectors per
                        * iteration (long dependency chains, such as a math
                        * function's polynomials, then overlap) */
    int vec_width;     /* > 0: vectorize with this many lanes, one vector per
                        * iteration (a trip count it divides: no scalar rest) */
} CgLoop;

/* for (iv = lo; iv < hi; iv += step) { ...builder is in the body... } */
LLVMValueRef cg_for_begin(Cg *cg, CgLoop *l, LLVMValueRef lo, LLVMValueRef hi, LLVMValueRef step, const char *name);
void cg_for_end(Cg *cg, CgLoop *l);
/* The kernel's parallel loop over [0, work_static + batch * work_batch). */
LLVMValueRef cg_par_begin(Cg *cg, CgLoop *l, int64_t work_static, int64_t work_batch);
void cg_par_end(Cg *cg, CgLoop *l);
/* if (cond) { ... } */
typedef struct CgIf {
    LLVMBasicBlockRef then, done;
} CgIf;
void cg_if_begin(Cg *cg, CgIf *c, LLVMValueRef cond);
void cg_if_end(Cg *cg, CgIf *c);
/* Window taps (conv, pool): the output range [lo, hi) whose position
 * o*S - P + k*D lies in [0, I), for tap k; O bounds it. */
void cg_tap_range(Cg *cg, int64_t I, int64_t O, int64_t S, int64_t P, int64_t D, LLVMValueRef k, LLVMValueRef *lo,
                  LLVMValueRef *hi);
/* The output range [lo, hi) (within [0, O)) where every tap k < K lands
 * inside [0, I); empty: lo == hi. */
void cg_tap_interior(int64_t I, int64_t O, int64_t K, int64_t S, int64_t P, int64_t D, int64_t *lo, int64_t *hi);
/* Spans that cover [lo, hi) with whole vectors of V lanes: [lo, lo + k*V)
 * and, when V does not divide hi - lo, [hi - V, hi), which overlaps the
 * first: a loop over them recomputes some outputs (the same values, bit for
 * bit), where a scalar remainder would cost more than the vectors. One span
 * [lo, hi) when hi - lo < V. Returns the number of spans. */
int cg_vec_spans(int64_t lo, int64_t hi, int V, int64_t span[2][2]);
/* Depthwise rows take the one-pass interior from this width on (narrower:
 * the extra loops for the edges cost more than the stores they save). */
enum { DW_MIN_INTERIOR = 16 };
/* A row-wise conv's output row (dims [d][h][w] of I, O, K, S, P, D, the
 * conv seen as 3-D; Cg input channels per group): for a depthwise 1-D or
 * 2-D one of at most 64 taps, the interior [*lo, *hi) one pass sums (at
 * least DW_MIN_INTERIOR wide, else empty), and the parts the per-tap loops
 * cover, part[i] = [from, to): the whole row, or the two edges. Returns
 * the number of parts. */
/* The parallel walk of the pointwise kernels (k_pw.c, k_quant.c): over
 * (image, block of NB pixels) of planes of P >= NB pixels (batch: the
 * symbolic batch, else n_static images). A plane's last block, when the
 * blocks do not divide it, ends at the plane's end, overlapping the one
 * before: body(cg, ctx, n, p0, tail) with p0 the block's first pixel and
 * tail the pixels only it has (0: all of them; the body stores those
 * only, so no output is written by two threads). */
typedef void (*CgBlockBody)(Cg *cg, void *ctx, LLVMValueRef n, LLVMValueRef p0, int64_t tail);
void cg_pw_blocks(Cg *cg, bool batch, int64_t n_static, int64_t P, int64_t NB, CgBlockBody body, void *ctx);
/* The zero- (or x_zp-) padded plane a depthwise kernel copies its input
 * plane into (dims 1 and 2 of I..D): the input after its begin pads,
 * extended to every row and column the outputs' windows reach. */
void cg_dw_padded(const int64_t I[3], const int64_t O[3], const int64_t K[3], const int64_t S[3], const int64_t P[3],
                  const int64_t D[3], int64_t *Hp, int64_t *Wp);
int cg_dw_row_parts(int64_t Cg, const int64_t K[3], const int64_t I[3], const int64_t O[3], const int64_t S[3],
                    const int64_t P[3], const int64_t D[3], int64_t *lo, int64_t *hi, int64_t part[2][2]);

/* A strided loop nest over a (collapsed) index space: element offsets of
 * up to CG_NEST_OPS operands advance with per-dim strides. Dim 0's extent
 * is multiplied by the batch when ext0_batch. The outermost dim is the
 * parallel loop on CPUs; on GPUs the whole space is one flat parallel loop. */
enum { CG_NEST_OPS = 16 };
typedef struct Nest {
    int rank;
    int64_t ext[QK_MAX_RANK];
    bool ext0_batch;
    int nops;
    int64_t st[CG_NEST_OPS][QK_MAX_RANK];
    int64_t base[CG_NEST_OPS]; /* constant offset added to each operand */
    int interleave;            /* the innermost loop's CgLoop.interleave */
} Nest;
typedef void (*NestBody)(Cg *cg, void *ctx, LLVMValueRef *off);
/* Set up a nest over `shape` (the iteration space, may have a batch dim). */
void cg_nest_init(Nest *ns, const Shape *shape);
/* Add an operand whose tensor of shape `s` is read broadcast over the nest
 * (numpy rules, right-aligned) — or, with `strides`, read with explicit
 * element strides per nest dim. Returns the operand index. */
int cg_nest_operand(Nest *ns, const Shape *s);
int cg_nest_operand_strided(Nest *ns, const int64_t *strides, int64_t base);
/* Add one operand per dim whose offset is that dim's coordinate (for index
 * maps that are not strides); returns the first one's index. Collapsing
 * then keeps those dims apart. */
int cg_nest_coords(Nest *ns);
/* Merge adjacent dims that every operand walks contiguously. */
void cg_nest_collapse(Nest *ns);
/* Emit the nest (opening the kernel's parallel loop). */
void cg_nest_emit(Cg *cg, const Nest *ns, NestBody body, void *ctx);

/* ---- mathfn.c ----------------------------------------------------------- */
/* Elementwise math on f32 scalars or vectors, the same code on every
 * target (no libm calls: NVPTX has none, and the CPUs vectorize these). */
LLVMValueRef cg_exp(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_sigmoid(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_tanh(Cg *cg, LLVMValueRef x);
/* Rounding to an integer of f32 or f64 values, exact for all (NaN, inf,
 * integers pass through; -0.5 gives -0 as in IEEE): toward -inf, +inf, 0. */
LLVMValueRef cg_floor(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_ceil(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_trunc(Cg *cg, LLVMValueRef x);
/* log x, within 0.85 ulp: log(+-0) = -inf, log(x < 0) = NaN, log(inf) = inf. */
LLVMValueRef cg_log(Cg *cg, LLVMValueRef x);
/* log(1 + x), within 0.87 ulp (x itself for tiny x): -1 -> -inf, < -1 -> NaN. */
LLVMValueRef cg_log1p(Cg *cg, LLVMValueRef x);
/* erf x, within 1.26 ulp; +-1 from |x| >= 3.92 on, erf(-0) = -0. */
LLVMValueRef cg_erf(Cg *cg, LLVMValueRef x);
/* sin, cos, tan: within 0.501 ulp for |x| < 1e8, an absolute error of
 * about |x| 2^-53 beyond (bounded, never NaN); inf and NaN give NaN. */
LLVMValueRef cg_sin(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_cos(Cg *cg, LLVMValueRef x);
LLVMValueRef cg_tan(Cg *cg, LLVMValueRef x);
/* atan x, within 0.501 ulp; +-inf -> +-pi/2. */
LLVMValueRef cg_atan(Cg *cg, LLVMValueRef x);
/* pow(x, y) with C's special cases (pow(x, +-0) = pow(1, y) = 1 even for
 * NaN; negative x: NaN unless y is an integer, odd y keeps the sign),
 * within 0.501 ulp; overflows to inf, underflows to 0. */
LLVMValueRef cg_pow(Cg *cg, LLVMValueRef x, LLVMValueRef y);
/* fmod(x, y) exactly (C: x - trunc(x/y) y, the sign of x; y = 0 or x inf
 * -> NaN; y inf -> x). Slow: ten f64 division steps an element. */
LLVMValueRef cg_fmod(Cg *cg, LLVMValueRef x, LLVMValueRef y);
/* max/min where a NaN operand gives NaN (ONNX/numpy semantics). */
LLVMValueRef cg_fmax_nan(Cg *cg, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef cg_fmin_nan(Cg *cg, LLVMValueRef a, LLVMValueRef b);
/* Apply a fused activation (Attrs act fields) to an f32 value. */
LLVMValueRef cg_act(Cg *cg, Act act, float alpha, float beta, LLVMValueRef x);
/* f32 <-> f16/bf16 bit conversions (round to nearest even). */
LLVMValueRef cg_f16_to_f32(Cg *cg, LLVMValueRef h);
LLVMValueRef cg_f32_to_f16(Cg *cg, LLVMValueRef f);
LLVMValueRef cg_bf16_to_f32(Cg *cg, LLVMValueRef h);
LLVMValueRef cg_f32_to_bf16(Cg *cg, LLVMValueRef f);
/* ---- quantized arithmetic (docs/quantization.md), scalars ---- */
/* Round half to even of an f32/f64 value (scalar or vector) without libm;
 * |v| >= 2^23 / 2^52, inf and NaN pass through, -0.3 gives -0. */
LLVMValueRef cg_rne(Cg *cg, LLVMValueRef v);
/* The range of a quantized type, as i32 constants. */
void cg_qrange(Cg *cg, DType t, LLVMValueRef *qmin, LLVMValueRef *qmax);
/* QuantizeLinear of an f32: sat(rne(x / s) + zp) as an i32 in [qmin, qmax];
 * NaN gives zp. s f32, zp i32. */
LLVMValueRef cg_quantize(Cg *cg, LLVMValueRef x, LLVMValueRef s, LLVMValueRef zp, DType t);
/* Requantization: sat(rne(f64(acc) * f64(m)) + zp) as an i32 in the range
 * of t; acc i32, m f32 (already f32(f32(a_s*b_s)/y_s)), zp i32. */
LLVMValueRef cg_requant(Cg *cg, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef zp, DType t);
/* The same saturated to [lo, hi] (i32 scalars inside t's range, e.g. with
 * the fused activation's clamp folded in: cg_qact of t's qmin and qmax);
 * acc may be an i32 vector, the others scalars (splatted); m f32 or its
 * f64 value; m_finite: m is known finite (no NaN check needed). */
LLVMValueRef cg_requant_to(Cg *cg, LLVMValueRef acc, LLVMValueRef m, LLVMValueRef zp, LLVMValueRef lo,
                           LLVMValueRef hi, bool m_finite);
/* An 8/16-bit integer of type t as i32 (zero- or sign-extended). */
LLVMValueRef cg_widen_i32(Cg *cg, DType t, LLVMValueRef v);
/* A quantization parameter of node input i at element idx (0 when the input
 * holds one value): a scale as f32, a zero point widened to i32; 1.0 or 0
 * when the input is absent. */
LLVMValueRef cg_qparam(Cg *cg, const Node *n, int i, LLVMValueRef idx, bool scale);
/* Store MatMulInteger/ConvInteger's result for column (output channel) col
 * at Y[yi]: the i32 sum, or with the dequantizing epilogue (in[4] bias,
 * in[5] scale) act(f32(acc + bias[col]) * scale[col]) as f32. */
void cg_int_out(Cg *cg, const Node *n, LLVMValueRef acc, LLVMValueRef col, LLVMValueRef Y, LLVMValueRef yi);
/* The fused activation of a QLinear op as a clamp of the quantized result
 * q (i32): relu to [zp, ...], clip to [quantize(lo), quantize(hi)]. */
LLVMValueRef cg_qact(Cg *cg, const Attrs *a, LLVMValueRef q, LLVMValueRef y_s, LLVMValueRef y_zp, DType t);
/* Convert a calc-type value of dtype `from` into the calc type of `to`
 * with Cast semantics. */
LLVMValueRef cg_convert(Cg *cg, LLVMValueRef v, DType from, DType to);

/* ---- kernel generators (k_*.c) ------------------------------------------ */
/* Each emits the body of the current kernel for node n. */
bool cg_k_cast(Cg *cg, const Node *n);
bool cg_k_copy(Cg *cg, const Node *n);      /* views materialized, Identity */
bool cg_k_transpose(Cg *cg, const Node *n);
bool cg_k_concat(Cg *cg, const Node *n);
bool cg_k_gemm(Cg *cg, const Node *n);      /* MatMul, Gemm */
bool cg_k_conv(Cg *cg, const Node *n);
bool cg_k_pool(Cg *cg, const Node *n);      /* MaxPool, AveragePool */
bool cg_k_global_pool(Cg *cg, const Node *n);
bool cg_k_softmax(Cg *cg, const Node *n);
bool cg_k_batchnorm(Cg *cg, const Node *n);
bool cg_k_qdq(Cg *cg, const Node *n);       /* QuantizeLinear, DequantizeLinear */
bool cg_k_dql(Cg *cg, const Node *n);       /* DynamicQuantizeLinear */
bool cg_k_qgemm(Cg *cg, const Node *n);     /* MatMulInteger, QLinearMatMul (k_gemm.c) */
bool cg_k_qconv(Cg *cg, const Node *n);     /* ConvInteger, QLinearConv */
bool cg_k_qadd(Cg *cg, const Node *n);
bool cg_k_qgap(Cg *cg, const Node *n);
/* The generic families (three-way answers). */
CgResult cg_k_eltwise(Cg *cg, const Node *n);   /* every E row of ops.def (k_eltwise.c) */
CgResult cg_k_reduce(Cg *cg, const Node *n);    /* Reduce* (k_reduce.c) */
CgResult cg_k_argreduce(Cg *cg, const Node *n); /* ArgMax ArgMin */
CgResult cg_k_cumsum(Cg *cg, const Node *n);
CgResult cg_k_norm(Cg *cg, const Node *n);      /* Layer/Instance/GroupNormalization (k_norm.c) */
CgResult cg_k_split(Cg *cg, const Node *n);     /* data movement (k_index.c) */
CgResult cg_k_index(Cg *cg, const Node *n);     /* Slice Expand Tile Pad DepthToSpace SpaceToDepth Trilu */
CgResult cg_k_gather(Cg *cg, const Node *n);    /* Gather GatherElements GatherND */
CgResult cg_k_resize(Cg *cg, const Node *n);
CgResult cg_k_shape(Cg *cg, const Node *n);     /* Shape Size (when not folded) */
CgResult cg_k_fill(Cg *cg, const Node *n);      /* ConstantOfShape */
CgResult cg_k_range(Cg *cg, const Node *n);
CgResult cg_k_einsum(Cg *cg, const Node *n);

/* ---- emit.c / link.c ---------------------------------------------------- */
bool cg_optimize(Cg *cg);
bool cg_emit_file(Cg *cg, LLVMModuleRef m, LLVMCodeGenFileType kind, const char *path);
/* PTX text of the current module (malloc'ed). */
char *cg_emit_ptx(Cg *cg, size_t *len);
bool cg_write_header(Cg *cg, const char *path);
/* Link an object into a shared object with ld.lld. */
bool cg_link_so(const Target *t, const char *obj, const char *out, Diag *d);
/* Create / destroy an LLVM target machine for a triple and CPU. */
LLVMTargetMachineRef cg_target_machine(const char *triple, const char *cpu, const char *features, int opt, Diag *d);

#endif

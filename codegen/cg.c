/* cg.c — the codegen context and the artifact's shape.
 *
 * CPU targets: one module holds a kernel per node, one constant global per
 * weight, the entry `qk_entry(ws, inputs, outputs, batch, exec)` that calls
 * the kernels in order over the planned workspace, and the descriptor
 * (include/qkc/qkrt_abi.h) returned by the exported `qkc_artifact()` (or
 * `<prefix>_artifact()`/`<prefix>_run()` for object files).
 *
 * NVPTX: the kernels go into an nvptx64 module emitted as PTX; a second,
 * host module (x86-64) carries the PTX text, the constants blob laid out by
 * the memory plan and the list of launches, read by the runtime. */
#include <stdlib.h>
#include <string.h>

#include <llvm-c/Analysis.h>

#include <unistd.h>

#include "cg.h"
#include "ir/expr.h"
#include "qkc/qkrt_abi.h"

/* ---- small helpers ------------------------------------------------------ */

LLVMValueRef cg_i64(Cg *cg, int64_t v) { return LLVMConstInt(cg->i64, (unsigned long long)v, 1); }
LLVMValueRef cg_i32(Cg *cg, int32_t v) { return LLVMConstInt(cg->i32, (unsigned long long)(int64_t)v, 1); }
LLVMValueRef cg_f32(Cg *cg, float v) { return LLVMConstReal(cg->f32, v); }

LLVMTypeRef cg_mem_type(Cg *cg, DType t)
{
    switch (t) {
    case DT_F32: return cg->f32;
    case DT_F64: return cg->f64;
    case DT_F16: case DT_BF16: case DT_I16: case DT_U16: return cg->i16;
    case DT_I8: case DT_U8: case DT_BOOL: return cg->i8;
    case DT_I32: case DT_U32: return cg->i32;
    case DT_I64: case DT_U64: return cg->i64;
    default: return cg->i8;
    }
}

LLVMTypeRef cg_calc_type(Cg *cg, DType t)
{
    if (t == DT_F16 || t == DT_BF16)
        return cg->f32;
    return cg_mem_type(cg, t);
}

LLVMValueRef cg_gep(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx)
{
    return LLVMBuildInBoundsGEP2(cg->b, cg_mem_type(cg, t), p, &idx, 1, "");
}

LLVMValueRef cg_load(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx)
{
    LLVMValueRef v = LLVMBuildLoad2(cg->b, cg_mem_type(cg, t), cg_gep(cg, t, p, idx), "");
    if (t == DT_F16)
        return cg_f16_to_f32(cg, v);
    if (t == DT_BF16)
        return cg_bf16_to_f32(cg, v);
    return v;
}

void cg_store(Cg *cg, DType t, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v)
{
    if (t == DT_F16)
        v = cg_f32_to_f16(cg, v);
    else if (t == DT_BF16)
        v = cg_f32_to_bf16(cg, v);
    LLVMBuildStore(cg->b, v, cg_gep(cg, t, p, idx));
}

LLVMValueRef cg_intrin(Cg *cg, const char *name, LLVMTypeRef *ovl, int novl, LLVMValueRef *args, int nargs)
{
    unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
    LLVMValueRef fn = LLVMGetIntrinsicDeclaration(cg->mod, id, ovl, (size_t)novl);
    LLVMTypeRef ft = LLVMIntrinsicGetType(cg->ctx, id, ovl, (size_t)novl);
    return LLVMBuildCall2(cg->b, ft, fn, args, (unsigned)nargs, "");
}

static LLVMValueRef bytes_global(Cg *cg, LLVMModuleRef m, const char *name, const void *data, size_t n, bool constant)
{
    LLVMValueRef init = LLVMConstStringInContext(cg->ctx, data, (unsigned)n, 1);
    LLVMValueRef gv = LLVMAddGlobal(m, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, constant);
    LLVMSetLinkage(gv, LLVMInternalLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    LLVMSetAlignment(gv, 64);
    return gv;
}

LLVMValueRef cg_const_blob(Cg *cg, const char *name, const void *data, size_t bytes)
{
    return bytes_global(cg, cg->mod, name, data, bytes ? bytes : 1, true);
}

void cg_packed_input(Cg *cg, int j)
{
    if (!cg->t->gpu && cg->nkernels > 0 && j >= 0 && j < 64)
        cg->kernels[cg->nkernels - 1].packed_in |= (uint64_t)1 << j;
}

void cg_stage(Cg *cg, const char *what)
{
    if (cg->o->stage)
        cg->o->stage(cg->o->stage_ctx, what);
}

int cg_lanes32(const Target *t) { return (t->arch == ARCH_AARCH64 ? 128 : t->vector_bits) / 32; }

LLVMValueRef cg_splat(Cg *cg, LLVMValueRef s, int w)
{
    LLVMTypeRef vt = LLVMVectorType(LLVMTypeOf(s), (unsigned)w);
    LLVMValueRef v = LLVMBuildInsertElement(cg->b, LLVMGetUndef(vt), s, cg_i32(cg, 0), "");
    return LLVMBuildShuffleVector(cg->b, v, LLVMGetUndef(vt), LLVMConstNull(LLVMVectorType(cg->i32, (unsigned)w)), "");
}

LLVMValueRef cg_alloca(Cg *cg, LLVMTypeRef t, const char *name)
{
    LLVMBasicBlockRef entry = LLVMGetEntryBasicBlock(cg->fn);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cg->ctx);
    LLVMValueRef first = LLVMGetFirstInstruction(entry);
    if (first)
        LLVMPositionBuilderBefore(b, first);
    else
        LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef a = LLVMBuildAlloca(b, t, name);
    LLVMDisposeBuilder(b);
    return a;
}

LLVMValueRef cg_const_of(Cg *cg, const Value *v)
{
    return cg->const_globals && v && v->kind == VAL_CONST ? cg->const_globals[v->id] : NULL;
}

static LLVMValueRef cstr(Cg *cg, LLVMModuleRef m, const char *s, const char *name)
{
    LLVMValueRef init = LLVMConstStringInContext(cg->ctx, s, (unsigned)strlen(s), 0);
    LLVMValueRef gv = LLVMAddGlobal(m, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
    return gv;
}

static void set_noalias(Cg *cg, LLVMValueRef fn, unsigned idx)
{
    unsigned kind = LLVMGetEnumAttributeKindForName("noalias", 7);
    LLVMAddAttributeAtIndex(fn, idx + 1, LLVMCreateEnumAttribute(cg->ctx, kind, 0));
}

/* ---- kernels ------------------------------------------------------------ */

static const char *dtype_tag(const Node *n)
{
    const Value *v = n->nin && n->in[0] ? n->in[0] : n->out[0];
    return dtype_name(v->dtype);
}

/* qk_<id>_<dtype>_<op>[_bias][_<act>][_<tile>__<isa>]: a microkernel's
 * name says its tile (rows x columns, c: k per step) and its dot product
 * or vector width, e.g. qk_7_u8_qlinear_mat_mul_bias_relu_14x32c4__vnni. */
static char *kernel_name(Cg *cg, const Node *n)
{
    char op[48];
    int k = 0;
    for (const char *p = op_info[n->op].name; *p && k < 40; p++) {
        if (*p >= 'A' && *p <= 'Z') {
            if (k && !(p[-1] >= 'A' && p[-1] <= 'Z'))
                op[k++] = '_';
            op[k++] = (char)(*p - 'A' + 'a');
        } else {
            op[k++] = *p;
        }
    }
    op[k] = 0;
    bool bias = ((n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_MATMUL) && n->nin > 2 && n->in[2]) ||
                ((n->op == OP_QLINEAR_CONV || n->op == OP_QLINEAR_MATMUL) && n->nin > 8 && n->in[8]);
    const char *act = (op_info[n->op].attrs & A_ACT) && n->a.act != ACT_NONE ? act_name[n->a.act] : NULL;
    char tag[48], isa[24] = "";
    const char *mm = cg_pw_tag(cg->t, n, tag, sizeof tag);
    if (!mm)
        mm = cg_qpw_tag(cg->t, n, tag, sizeof tag);
    if (!mm)
        mm = cg_mm_tag(cg->t, n, tag, sizeof tag);
    if (!mm)
        mm = cg_qdw_tag(cg->t, n, tag, sizeof tag);
    if (mm)
        snprintf(isa, sizeof isa, "__%s%d", cg->t->arch == ARCH_X86_64 ? "x86v" : "a64v", cg->t->vector_bits);
    return arena_printf(cg->g->arena, "qk_%d_%s_%s%s%s%s%s%s%s", n->id, dtype_tag(n), op, bias ? "_bias" : "",
                        act ? "_" : "", act ? act : "", mm ? "_" : "", mm ? mm : "", isa);
}

/* ---- kernel families: ops.def's kernel column ---------------------------
 * A family lists its generators in the order they are tried (a specialized
 * one first, e.g. the microkernels, then the general one), the cost of a
 * node in element operations, and a description for reports. */

/* The generators whose contract is emitted-or-failed. */
#define DONE_OR_FAIL(name, fn) \
    static CgResult name(Cg *cg, const Node *n) { return fn(cg, n) ? CG_DONE : CG_FAIL; }
DONE_OR_FAIL(g_copy, cg_k_copy)
DONE_OR_FAIL(g_cast, cg_k_cast)
DONE_OR_FAIL(g_gemm, cg_k_gemm)
DONE_OR_FAIL(g_conv, cg_k_conv)
DONE_OR_FAIL(g_qgemm, cg_k_qgemm)
DONE_OR_FAIL(g_qconv, cg_k_qconv)
DONE_OR_FAIL(g_pool, cg_k_pool)
DONE_OR_FAIL(g_gpool, cg_k_global_pool)
DONE_OR_FAIL(g_softmax, cg_k_softmax)
DONE_OR_FAIL(g_batchnorm, cg_k_batchnorm)
DONE_OR_FAIL(g_transpose, cg_k_transpose)
DONE_OR_FAIL(g_concat, cg_k_concat)
DONE_OR_FAIL(g_qdq, cg_k_qdq)
DONE_OR_FAIL(g_dql, cg_k_dql)
DONE_OR_FAIL(g_qadd, cg_k_qadd)
DONE_OR_FAIL(g_qgap, cg_k_qgap)

/* The reduction length of a node: its output elements times this is its cost. */
static int64_t red_matmul(const Node *n)
{
    if (n->op == OP_GEMM)
        return n->a.trans_a ? n->in[0]->shape.d[0] : n->in[0]->shape.d[1];
    return n->in[0]->shape.rank ? n->in[0]->shape.d[n->in[0]->shape.rank - 1] : 1;
}

static int64_t red_conv(const Node *n)
{
    const Value *w = n->in[n->op == OP_QLINEAR_CONV ? QLM_B : CONV_W];
    int64_t red = w->shape.d[1];
    for (int i = 0; i < n->a.nsp; i++)
        red *= n->a.kernel[i];
    return red;
}

static int64_t red_pool(const Node *n)
{
    int64_t red = 1;
    for (int i = 0; i < n->a.nsp; i++)
        red *= n->a.kernel[i];
    return red;
}

/* reductions, normalizations, gathers: the larger of input and output */
static int64_t red_input(const Node *n)
{
    int64_t in = n->nin && n->in[0] ? shape_numel(&n->in[0]->shape) : 1, out = shape_numel(&n->out[0]->shape);
    return out > 0 && in > out ? (in + out - 1) / out : 1;
}

static int64_t red_one(const Node *n)
{
    (void)n;
    return 1;
}

static const char *d_generic(const Target *t, const Node *n)
{
    (void)t, (void)n;
    return "generic";
}

static const char *d_eltwise(const Target *t, const Node *n)
{
    (void)t, (void)n;
    return "elementwise, broadcast strides";
}

static const char *d_conv(const Target *t, const Node *n)
{
    bool quant = op_has(n->op, OPF_QUANT);
    const Value *w = n->in[n->op == OP_QLINEAR_CONV ? QLM_B : CONV_W];
    int64_t mg = n->out[0]->shape.d[1] / (n->a.group ? n->a.group : 1);
    if (t->gpu)
        return quant ? "one output per thread, exact i32" : "one output per thread";
    if (mg >= 8 && w->kind == VAL_CONST)
        return quant ? "channel-vectorized, packed weights, exact i32" : "channel-vectorized, packed weights";
    return quant ? "per output, exact i32" : "row-wise direct";
}

static const char *d_matmul(const Target *t, const Node *n)
{
    (void)n;
    return t->gpu ? "one output per thread" : "row rank-1 updates, vectorized";
}

static const char *d_qmatmul(const Target *t, const Node *n)
{
    (void)n;
    return t->gpu ? "one output per thread, exact i32" : "row dot products, weights transposed, exact i32";
}

static const char *d_qadd(const Target *t, const Node *n)
{
    (void)t, (void)n;
    return "elementwise, f32 rescale";
}

static const char *d_qgap(const Target *t, const Node *n)
{
    (void)t, (void)n;
    return "plane sums, exact i32";
}

typedef struct CgFamily {
    CgGen gens[3];                      /* tried in order; NULL ends */
    int64_t (*red)(const Node *n);      /* reduction length per output element */
    const char *(*desc)(const Target *t, const Node *n);
} CgFamily;

static const CgFamily cgk_copy = {{g_copy}, red_one, d_generic};
static const CgFamily cgk_eltwise = {{cg_k_eltwise}, red_one, d_eltwise};
static const CgFamily cgk_cast = {{g_cast}, red_one, d_eltwise};
static const CgFamily cgk_matmul = {{cg_k_mm, g_gemm}, red_matmul, d_matmul};
static const CgFamily cgk_conv = {{cg_k_pw, cg_k_mm, g_conv}, red_conv, d_conv};
static const CgFamily cgk_einsum = {{cg_k_einsum}, red_input, d_generic};
static const CgFamily cgk_pool = {{g_pool}, red_pool, d_generic};
static const CgFamily cgk_gpool = {{g_gpool}, red_input, d_generic};
static const CgFamily cgk_softmax = {{g_softmax}, red_one, d_generic};
static const CgFamily cgk_batchnorm = {{g_batchnorm}, red_input, d_generic};
static const CgFamily cgk_norm = {{cg_k_norm}, red_input, d_generic};
static const CgFamily cgk_reduce = {{cg_k_reduce}, red_input, d_generic};
static const CgFamily cgk_argreduce = {{cg_k_argreduce}, red_input, d_generic};
static const CgFamily cgk_cumsum = {{cg_k_cumsum}, red_one, d_generic};
static const CgFamily cgk_transpose = {{g_transpose}, red_one, d_generic};
static const CgFamily cgk_concat = {{g_concat}, red_one, d_generic};
static const CgFamily cgk_split = {{cg_k_split}, red_one, d_generic};
static const CgFamily cgk_index = {{cg_k_index}, red_one, d_generic};
static const CgFamily cgk_gather = {{cg_k_gather}, red_one, d_generic};
static const CgFamily cgk_resize = {{cg_k_resize}, red_one, d_generic};
static const CgFamily cgk_shape = {{cg_k_shape}, red_one, d_generic};
static const CgFamily cgk_fill = {{cg_k_fill}, red_one, d_generic};
static const CgFamily cgk_range = {{cg_k_range}, red_one, d_generic};
static const CgFamily cgk_qdq = {{g_qdq}, red_one, d_generic};
static const CgFamily cgk_dql = {{g_dql}, red_input, d_generic};
static const CgFamily cgk_qmatmul = {{cg_k_mm, g_qgemm}, red_matmul, d_qmatmul};
static const CgFamily cgk_qconv = {{cg_k_qpw, cg_k_mm, g_qconv}, red_conv, d_conv};
static const CgFamily cgk_qadd = {{g_qadd}, red_one, d_qadd};
static const CgFamily cgk_qgap = {{g_qgap}, red_input, d_qgap};

static const CgFamily *const family[OP_COUNT] = {
#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    [OP_##id] = &cgk_##kernel,
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem) [OP_##id] = &cgk_eltwise,
#include "ir/ops.def"
#undef OP
#undef E
};

const char *cg_kernel_desc(const Target *t, const Node *n)
{
    static char mmbuf[256];
    const char *mm = cg_pw_desc(t, n, mmbuf, sizeof mmbuf);
    if (!mm && cg_qpw_tag(t, n, mmbuf, sizeof mmbuf))
        mm = "1x1 as weights x NCHW rows, pmaddwd, exact i32";
    if (!mm && cg_qdw_tag(t, n, mmbuf, sizeof mmbuf))
        mm = strncmp(mmbuf, "dw16c4", 6) == 0 ? "depthwise, padded plane, vpermb + vpdpbusd, exact i32"
                                              : "depthwise, padded i16 plane, pmaddwd, exact i32";
    if (!mm)
        mm = cg_mm_desc(t, n, mmbuf, sizeof mmbuf);
    if (mm)
        return mm;
    return family[n->op]->desc(t, n);
}

/* Whether node n needs a kernel: views whose result aliases need none. */
static bool needs_kernel(const Node *n) { return !(op_has(n->op, OPF_VIEW) && n->out[0]->alias); }

/* Cost of a node in element operations, as static + batch * per-item: the
 * entry threads a kernel only when it is worth waking the pool. */
static void node_cost(const Node *n, int64_t *cs, int64_t *cb)
{
    const Value *y = n->out[0];
    int64_t red = family[n->op]->red(n);
    int64_t c = shape_numel(&y->shape) * (red > 0 ? red : 1);
    *cs = shape_has_batch(&y->shape) ? 0 : c;
    *cb = shape_has_batch(&y->shape) ? c : 0;
}

/* A kernel: on GPUs an entry taking (ptrs..., batch); on CPUs a body
 * taking (ptrs..., batch, begin, end) with noalias operands — the parallel
 * loop covers [begin, end) — and a wrapper (args, begin, end) matching the
 * runtime's parallel_for callback, args pointing to the operands then the
 * batch. The wrapper inlines the body, keeping its noalias facts. */
static bool gen_kernel(Cg *cg, const Node *n)
{
    int np = n->nin + n->nout;
    LLVMTypeRef params[44];
    if (np + 3 > 44)
        return diag_error(cg->d, n->loc, "too many operands (%d)", np);
    for (int i = 0; i < np; i++)
        params[i] = cg->ptr;
    params[np] = cg->i64;
    params[np + 1] = params[np + 2] = cg->i64;
    bool gpu = cg->t->gpu;
    LLVMTypeRef ft = LLVMFunctionType(cg->vd, params, (unsigned)np + (gpu ? 1 : 3), 0);
    const char *name = kernel_name(cg, n);
    LLVMValueRef fn = LLVMAddFunction(cg->mod, gpu ? name : arena_printf(cg->g->arena, "%s.body", name), ft);
    unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
    if (gpu) {
        LLVMSetFunctionCallConv(fn, LLVMPTXKernelCallConv);
    } else {
        LLVMSetLinkage(fn, LLVMInternalLinkage);
        LLVMAddAttributeAtIndex(fn, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, nounwind, 0));
    }
    for (int i = 0; i < np; i++)
        set_noalias(cg, fn, (unsigned)i);
    if (cg->nkernels == cg->cap_kernels) {
        cg->cap_kernels = cg->cap_kernels ? cg->cap_kernels * 2 : 64;
        cg->kernels = realloc(cg->kernels, sizeof(CgKernel) * (size_t)cg->cap_kernels);
        if (!cg->kernels)
            return diag_error(cg->d, n->loc, "out of memory");
    }
    CgKernel *k = &cg->kernels[cg->nkernels++];
    *k = (CgKernel){.name = name, .node = n, .fn = fn};
    node_cost(n, &k->cost_static, &k->cost_batch);
    cg->fn = fn;
    cg->node = n;
    cg->arg = arena_alloc(cg->g->arena, sizeof(LLVMValueRef) * (size_t)(np + 1));
    for (int i = 0; i < np; i++)
        cg->arg[i] = LLVMGetParam(fn, (unsigned)i);
    cg->batch = LLVMGetParam(fn, (unsigned)np);
    cg->par_lo = gpu ? NULL : LLVMGetParam(fn, (unsigned)np + 1);
    cg->par_hi = gpu ? NULL : LLVMGetParam(fn, (unsigned)np + 2);
    cg->par_open = false;
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
    /* the family's generators in order: the first that takes the node emits it */
    CgResult r = CG_DECLINE;
    int errors = cg->d->errors;
    for (int i = 0; i < 3 && family[n->op]->gens[i] && r == CG_DECLINE; i++) {
        LLVMPositionBuilderAtEnd(cg->b, entry);
        r = family[n->op]->gens[i](cg, n);
    }
    if (r == CG_DECLINE)
        return diag_error(cg->d, n->loc, "no kernel for %s of these types and shapes on %s", op_info[n->op].name,
                          cg->t->name);
    if (r == CG_FAIL) {
        if (cg->d->errors == errors)
            diag_error(cg->d, n->loc, "internal error: the %s kernel failed without saying why", op_info[n->op].name);
        return false;
    }
    LLVMBuildRetVoid(cg->b);
    if (gpu)
        return true;

    /* the wrapper: void name(ptr args, i64 begin, i64 end) */
    LLVMTypeRef wp[3] = {cg->ptr, cg->i64, cg->i64};
    LLVMValueRef w = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->vd, wp, 3, 0));
    LLVMSetLinkage(w, LLVMInternalLinkage);
    LLVMAddAttributeAtIndex(w, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, nounwind, 0));
    /* the entry stays a list of calls: inlining every kernel into it makes
     * one huge function that LLVM optimizes in superlinear time */
    unsigned noinline = LLVMGetEnumAttributeKindForName("noinline", 8);
    LLVMAddAttributeAtIndex(w, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(cg->ctx, noinline, 0));
    LLVMPositionBuilderAtEnd(cg->b, LLVMAppendBasicBlockInContext(cg->ctx, w, "entry"));
    LLVMValueRef args = LLVMGetParam(w, 0), call[44];
    for (int i = 0; i <= np; i++) {
        LLVMValueRef idx = cg_i64(cg, i);
        LLVMValueRef slot = LLVMBuildInBoundsGEP2(cg->b, cg->i64, args, &idx, 1, "");
        call[i] = LLVMBuildLoad2(cg->b, i < np ? cg->ptr : cg->i64, slot, "");
    }
    call[np + 1] = LLVMGetParam(w, 1);
    call[np + 2] = LLVMGetParam(w, 2);
    LLVMBuildCall2(cg->b, ft, fn, call, (unsigned)np + 3, "");
    LLVMBuildRetVoid(cg->b);
    k->wrapper = w;
    return true;
}

/* ---- the entry (CPU) ---------------------------------------------------- */

/* The entry runs a *schedule*: a constant table with one step per kernel
 * call (its wrapper, work and cost as static + batch * per-item, and its
 * operands), interpreted by one small loop. The code of the entry does not
 * grow with the model, so LLVM's time on it stays constant; the table is
 * plain data.
 *
 *   step:    { ptr fn; i64 work_s, work_b, cost_s, cost_b; i32 first, n; }
 *   operand: { i32 kind; i32 index; i64 offset; ptr base; }
 * kinds: */
enum { OPND_NULL, OPND_INPUT, OPND_OUTPUT, OPND_CONST, OPND_STATIC, OPND_BATCH_WS, OPND_BATCH };

enum { PAR_MIN_COST = 1 << 20 }; /* element operations worth waking the pool for (~20 us) */

static LLVMValueRef operand(Cg *cg, LLVMTypeRef ot, const Value *v, bool batch_slot)
{
    int kind = OPND_NULL, index = 0;
    int64_t off = 0;
    LLVMValueRef base = LLVMConstPointerNull(cg->ptr);
    if (batch_slot) {
        kind = OPND_BATCH;
    } else if (v) {
        switch (v->region) {
        case MEM_INPUT: kind = OPND_INPUT, index = v->mem_index; break;
        case MEM_OUTPUT: kind = OPND_OUTPUT, index = v->mem_index; break;
        case MEM_CONST: kind = OPND_CONST, base = cg_const_of(cg, v); break;
        case MEM_STATIC: kind = OPND_STATIC, off = v->mem_off; break;
        case MEM_BATCH: kind = OPND_BATCH_WS, off = v->mem_off; break;
        default: break;
        }
    }
    LLVMValueRef f[4] = {cg_i32(cg, kind), cg_i32(cg, index), cg_i64(cg, off), base};
    return LLVMConstNamedStruct(ot, f, 4);
}

static LLVMValueRef gen_entry(Cg *cg)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef i32 = cg->i32, i64 = cg->i64, ptr = cg->ptr;
    LLVMTypeRef st_f[7] = {ptr, i64, i64, i64, i64, i32, i32};
    LLVMTypeRef st = LLVMStructCreateNamed(cg->ctx, "qk.step");
    LLVMStructSetBody(st, st_f, 7, 0);
    LLVMTypeRef ot_f[4] = {i32, i32, i64, ptr};
    LLVMTypeRef ot = LLVMStructCreateNamed(cg->ctx, "qk.operand");
    LLVMStructSetBody(ot, ot_f, 4, 0);

    /* the tables */
    int nsteps = cg->nkernels, nops = 0, maxp = 1;
    for (int i = 0; i < nsteps; i++) {
        const Node *n = cg->kernels[i].node;
        nops += n->nin + n->nout + 1;
        if (n->nin + n->nout + 1 > maxp)
            maxp = n->nin + n->nout + 1;
    }
    LLVMValueRef *steps = calloc((size_t)nsteps + 1, sizeof *steps), *ops = calloc((size_t)nops + 1, sizeof *ops);
    int first = 0;
    for (int i = 0; i < nsteps; i++) {
        const CgKernel *k = &cg->kernels[i];
        const Node *n = k->node;
        int np = n->nin + n->nout;
        /* an input the kernel packed is not passed: the original constant
         * then has no user and leaves the artifact (weights once, not twice) */
        for (int j = 0; j <= np; j++) {
            bool packed = j < n->nin && j < 64 && (k->packed_in >> j & 1);
            ops[first + j] = operand(cg, ot, j < np && !packed ? (j < n->nin ? n->in[j] : n->out[j - n->nin]) : NULL,
                                     j == np);
        }
        LLVMValueRef f[7] = {k->wrapper,        cg_i64(cg, k->work_static), cg_i64(cg, k->work_batch),
                             cg_i64(cg, k->cost_static), cg_i64(cg, k->cost_batch), cg_i32(cg, first),
                             cg_i32(cg, np + 1)};
        steps[i] = LLVMConstNamedStruct(st, f, 7);
        first += np + 1;
    }
    LLVMValueRef steps_g = LLVMAddGlobal(cg->mod, LLVMArrayType2(st, (uint64_t)nsteps), "qk.schedule");
    LLVMSetInitializer(steps_g, LLVMConstArray2(st, steps, (uint64_t)nsteps));
    LLVMValueRef ops_g = LLVMAddGlobal(cg->mod, LLVMArrayType2(ot, (uint64_t)nops), "qk.operands");
    LLVMSetInitializer(ops_g, LLVMConstArray2(ot, ops, (uint64_t)nops));
    for (int g = 0; g < 2; g++) {
        LLVMValueRef gv = g ? ops_g : steps_g;
        LLVMSetGlobalConstant(gv, 1);
        LLVMSetLinkage(gv, LLVMInternalLinkage);
    }
    free(steps);
    free(ops);

    LLVMTypeRef params[5] = {ptr, ptr, ptr, i64, ptr};
    LLVMValueRef fn = LLVMAddFunction(cg->mod, "qk_entry", LLVMFunctionType(i32, params, 5, 0));
    LLVMSetLinkage(fn, LLVMInternalLinkage);
    cg->fn = fn;
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry"));
    LLVMValueRef ws = LLVMGetParam(fn, 0), ins = LLVMGetParam(fn, 1), outs = LLVMGetParam(fn, 2);
    LLVMValueRef batch = LLVMGetParam(fn, 3), exec = LLVMGetParam(fn, 4);
    LLVMValueRef slots = LLVMBuildArrayAlloca(b, i64, cg_i64(cg, maxp), "args");
    LLVMValueRef batch_ws = cg_i64(cg, cg->g->ws_static); /* the batch region starts here */

    /* threads > 1? (exec is NULL for <prefix>_run) */
    LLVMTypeRef et_f[3] = {ptr, i32, ptr};
    LLVMTypeRef et = LLVMStructTypeInContext(cg->ctx, et_f, 3, 0);
    LLVMValueRef multi = cg_alloca(cg, cg->i1, "threads");
    LLVMBuildStore(b, LLVMConstInt(cg->i1, 0, 0), multi);
    CgIf has_exec;
    cg_if_begin(cg, &has_exec, LLVMBuildIsNotNull(b, exec, ""));
    LLVMValueRef nt = LLVMBuildLoad2(b, i32, LLVMBuildStructGEP2(b, et, exec, 1, ""), "nthreads");
    LLVMBuildStore(b, LLVMBuildICmp(b, LLVMIntSGT, nt, cg_i32(cg, 1), ""), multi);
    cg_if_end(cg, &has_exec);
    LLVMValueRef multi_v = LLVMBuildLoad2(b, cg->i1, multi, "");

    CgLoop ls, lo;
    LLVMValueRef si = cg_for_begin(cg, &ls, cg_i64(cg, 0), cg_i64(cg, nsteps), cg_i64(cg, 1), "step");
    LLVMValueRef z = cg_i64(cg, 0);
    LLVMValueRef sp = LLVMBuildInBoundsGEP2(b, LLVMTypeOf(LLVMGetInitializer(steps_g)), steps_g, (LLVMValueRef[]){z, si}, 2, "");
    LLVMValueRef kfn = LLVMBuildLoad2(b, ptr, LLVMBuildStructGEP2(b, st, sp, 0, ""), "fn");
    LLVMValueRef fld[4];
    for (int k = 0; k < 4; k++)
        fld[k] = LLVMBuildLoad2(b, i64, LLVMBuildStructGEP2(b, st, sp, (unsigned)k + 1, ""), "");
    LLVMValueRef opfirst = LLVMBuildSExt(b, LLVMBuildLoad2(b, i32, LLVMBuildStructGEP2(b, st, sp, 5, ""), ""), i64, "");
    LLVMValueRef opn = LLVMBuildSExt(b, LLVMBuildLoad2(b, i32, LLVMBuildStructGEP2(b, st, sp, 6, ""), ""), i64, "");
    LLVMValueRef work = LLVMBuildNSWAdd(b, fld[0], LLVMBuildNSWMul(b, batch, fld[1], ""), "work");
    LLVMValueRef cost = LLVMBuildNSWAdd(b, fld[2], LLVMBuildNSWMul(b, batch, fld[3], ""), "cost");

    /* operands -> argument slots */
    LLVMValueRef j = cg_for_begin(cg, &lo, cg_i64(cg, 0), opn, cg_i64(cg, 1), "opnd");
    LLVMValueRef op = LLVMBuildInBoundsGEP2(b, LLVMTypeOf(LLVMGetInitializer(ops_g)), ops_g,
                                            (LLVMValueRef[]){z, LLVMBuildNSWAdd(b, opfirst, j, "")}, 2, "");
    LLVMValueRef kind = LLVMBuildLoad2(b, i32, LLVMBuildStructGEP2(b, ot, op, 0, ""), "kind");
    LLVMValueRef index = LLVMBuildSExt(b, LLVMBuildLoad2(b, i32, LLVMBuildStructGEP2(b, ot, op, 1, ""), ""), i64, "");
    LLVMValueRef off = LLVMBuildLoad2(b, i64, LLVMBuildStructGEP2(b, ot, op, 2, ""), "off");
    LLVMValueRef base = LLVMBuildLoad2(b, ptr, LLVMBuildStructGEP2(b, ot, op, 3, ""), "base");
    LLVMValueRef slot = LLVMBuildInBoundsGEP2(b, i64, slots, &j, 1, "");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, fn, "opnd.done");
    LLVMBuildStore(b, LLVMConstPointerNull(ptr), slot); /* OPND_NULL */
    LLVMValueRef sw = LLVMBuildSwitch(b, kind, done, 6);
    struct {
        int kind;
        const char *name;
    } cases[] = {{OPND_INPUT, "in"},       {OPND_OUTPUT, "out"},        {OPND_CONST, "const"},
                 {OPND_STATIC, "static"}, {OPND_BATCH_WS, "batch_ws"}, {OPND_BATCH, "batch"}};
    for (int c = 0; c < 6; c++) {
        LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(cg->ctx, fn, cases[c].name);
        LLVMAddCase(sw, cg_i32(cg, cases[c].kind), bb);
        LLVMPositionBuilderAtEnd(b, bb);
        LLVMValueRef v;
        switch (cases[c].kind) {
        case OPND_INPUT:
        case OPND_OUTPUT:
            v = LLVMBuildLoad2(b, ptr, LLVMBuildInBoundsGEP2(b, ptr, cases[c].kind == OPND_INPUT ? ins : outs, &index, 1, ""), "");
            break;
        case OPND_CONST: v = base; break;
        case OPND_STATIC: v = LLVMBuildInBoundsGEP2(b, cg->i8, ws, &off, 1, ""); break;
        case OPND_BATCH_WS: {
            LLVMValueRef o = LLVMBuildNSWAdd(b, batch_ws, LLVMBuildNSWMul(b, batch, off, ""), "");
            v = LLVMBuildInBoundsGEP2(b, cg->i8, ws, &o, 1, "");
            break;
        }
        default: v = batch; break;
        }
        LLVMBuildStore(b, v, slot);
        LLVMBuildBr(b, done);
    }
    /* the switch sits before the case blocks; continue after it */
    LLVMPositionBuilderAtEnd(b, done);
    cg_for_end(cg, &lo);

    /* run: shared with the pool when worth it, else in this thread */
    LLVMTypeRef cb_p[3] = {ptr, i64, i64};
    LLVMTypeRef cb = LLVMFunctionType(cg->vd, cb_p, 3, 0);
    LLVMTypeRef pf_p[4] = {ptr, ptr, ptr, i64};
    LLVMTypeRef pf = LLVMFunctionType(cg->vd, pf_p, 4, 0);
    LLVMValueRef share = LLVMBuildAnd(b, multi_v, LLVMBuildICmp(b, LLVMIntSGE, cost, cg_i64(cg, PAR_MIN_COST), ""), "");
    share = LLVMBuildAnd(b, share, LLVMBuildICmp(b, LLVMIntSGT, work, cg_i64(cg, 1), ""), "share");
    LLVMBasicBlockRef par = LLVMAppendBasicBlockInContext(cg->ctx, fn, "par");
    LLVMBasicBlockRef ser = LLVMAppendBasicBlockInContext(cg->ctx, fn, "serial");
    LLVMBasicBlockRef next = LLVMAppendBasicBlockInContext(cg->ctx, fn, "next");
    LLVMBuildCondBr(b, share, par, ser);
    LLVMPositionBuilderAtEnd(b, par);
    LLVMValueRef pool = LLVMBuildLoad2(b, ptr, LLVMBuildStructGEP2(b, et, exec, 0, ""), "pool");
    LLVMValueRef pfn = LLVMBuildLoad2(b, ptr, LLVMBuildStructGEP2(b, et, exec, 2, ""), "parallel_for");
    LLVMBuildCall2(b, pf, pfn, (LLVMValueRef[]){pool, kfn, slots, work}, 4, "");
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, ser);
    LLVMBuildCall2(b, cb, kfn, (LLVMValueRef[]){slots, cg_i64(cg, 0), work}, 3, "");
    LLVMBuildBr(b, next);
    LLVMPositionBuilderAtEnd(b, next);
    cg_for_end(cg, &ls);
    LLVMBuildRet(b, cg_i32(cg, 0));
    return fn;
}

/* ---- the descriptor ----------------------------------------------------- */

typedef struct DescTypes {
    LLVMTypeRef tensor, arg, launch, artifact;
} DescTypes;

static DescTypes desc_types(Cg *cg)
{
    DescTypes t;
    LLVMTypeRef p = cg->ptr, i32 = cg->i32, i64 = cg->i64;
    LLVMTypeRef tensor[] = {p, i32, i32, p, LLVMDoubleTypeInContext(cg->ctx), i32};
    t.tensor = LLVMStructTypeInContext(cg->ctx, tensor, 6, 0);
    LLVMTypeRef arg[] = {i32, i32, i64};
    t.arg = LLVMStructTypeInContext(cg->ctx, arg, 3, 0);
    LLVMTypeRef launch[] = {p, i64, i64, i32, i32, p};
    t.launch = LLVMStructTypeInContext(cg->ctx, launch, 6, 0);
    LLVMTypeRef art[] = {i32, i32, p, p, p, p, i64, i32, i32, p, p, i64, i64, p, p, p, i64, i32, p, i64, p};
    t.artifact = LLVMStructTypeInContext(cg->ctx, art, 21, 0);
    return t;
}

static LLVMValueRef global_array(Cg *cg, LLVMModuleRef m, LLVMTypeRef elem, LLVMValueRef *vals, unsigned n,
                                 const char *name)
{
    if (n == 0)
        return LLVMConstPointerNull(cg->ptr);
    LLVMValueRef init = LLVMConstArray2(elem, vals, n);
    LLVMValueRef gv = LLVMAddGlobal(m, LLVMTypeOf(init), name);
    LLVMSetInitializer(gv, init);
    LLVMSetGlobalConstant(gv, 1);
    LLVMSetLinkage(gv, LLVMPrivateLinkage);
    return gv;
}

static LLVMValueRef tensor_descs(Cg *cg, LLVMModuleRef m, DescTypes *dt, Value **vals, int n, const char *what)
{
    LLVMValueRef *elems = calloc((size_t)n + 1, sizeof *elems);
    for (int i = 0; i < n; i++) {
        const Value *v = vals[i];
        LLVMValueRef dims[QK_MAX_RANK];
        for (int k = 0; k < v->shape.rank; k++)
            dims[k] = cg_i64(cg, v->shape.d[k] == DIM_BATCH ? -1 : v->shape.d[k]);
        char name[64];
        snprintf(name, sizeof name, "qk.%s%d.dims", what, i);
        LLVMValueRef f[] = {cstr(cg, m, value_pub_name(v), "qk.name"), cg_i32(cg, dtype_to_onnx(v->dtype)),
                            cg_i32(cg, v->shape.rank),
                            global_array(cg, m, cg->i64, dims, (unsigned)v->shape.rank, name),
                            LLVMConstReal(LLVMDoubleTypeInContext(cg->ctx), (double)v->qscale),
                            cg_i32(cg, v->qzero)};
        elems[i] = LLVMConstNamedStruct(dt->tensor, f, 6);
    }
    char name[32];
    snprintf(name, sizeof name, "qk.%ss", what);
    LLVMValueRef r = global_array(cg, m, dt->tensor, elems, (unsigned)n, name);
    free(elems);
    return r;
}

/* GPU: the launch list with each kernel argument's source. */
static LLVMValueRef launch_list(Cg *cg, LLVMModuleRef m, DescTypes *dt)
{
    LLVMValueRef *launches = calloc((size_t)cg->nkernels + 1, sizeof *launches);
    for (int i = 0; i < cg->nkernels; i++) {
        const CgKernel *k = &cg->kernels[i];
        const Node *n = k->node;
        int np = n->nin + n->nout;
        LLVMValueRef args[41];
        for (int j = 0; j <= np; j++) {
            const Value *v = j < np ? (j < n->nin ? n->in[j] : n->out[j - n->nin]) : NULL;
            int kind = 0, index = 0;
            int64_t off = 0;
            if (j == np) {
                kind = QKRT_ARG_BATCH;
            } else if (!v) {
                kind = QKRT_ARG_CONST; /* an omitted optional input: any valid pointer */
            } else {
                switch (v->region) {
                case MEM_CONST: kind = QKRT_ARG_CONST, off = v->mem_off; break;
                case MEM_STATIC: kind = QKRT_ARG_WS_STATIC, off = v->mem_off; break;
                case MEM_BATCH: kind = QKRT_ARG_WS_BATCH, off = v->mem_off; break;
                case MEM_INPUT: kind = QKRT_ARG_INPUT, index = v->mem_index; break;
                case MEM_OUTPUT: kind = QKRT_ARG_OUTPUT, index = v->mem_index; break;
                default: kind = QKRT_ARG_CONST; break;
                }
            }
            LLVMValueRef f[] = {cg_i32(cg, kind), cg_i32(cg, index), cg_i64(cg, off)};
            args[j] = LLVMConstNamedStruct(dt->arg, f, 3);
        }
        LLVMValueRef f[] = {cstr(cg, m, k->name, "qk.kname"), cg_i64(cg, k->work_static), cg_i64(cg, k->work_batch),
                            cg_i32(cg, 256), cg_i32(cg, np + 1),
                            global_array(cg, m, dt->arg, args, (unsigned)np + 1, "qk.args")};
        launches[i] = LLVMConstNamedStruct(dt->launch, f, 6);
    }
    LLVMValueRef r = global_array(cg, m, dt->launch, launches, (unsigned)cg->nkernels, "qk.launches");
    free(launches);
    return r;
}

static void export_fn(LLVMValueRef fn)
{
    LLVMSetLinkage(fn, LLVMExternalLinkage);
    LLVMSetVisibility(fn, LLVMDefaultVisibility);
}

/* The descriptor, in module m (the CPU module, or the host module of a GPU
 * artifact), `next` its next CPU variant (or NULL); with `exported`, the
 * functions that export it. Returns the descriptor's global. */
static LLVMValueRef gen_descriptor(Cg *cg, LLVMModuleRef m, LLVMValueRef entry, const char *ptx, size_t ptx_len,
                                   LLVMValueRef next, bool exported)
{
    DescTypes dt = desc_types(cg);
    Graph *g = cg->g;
    LLVMValueRef null = LLVMConstPointerNull(cg->ptr);
    LLVMValueRef ptxv = null, consts = null, launches = null;
    if (ptx) {
        ptxv = bytes_global(cg, m, "qk.ptx", ptx, ptx_len + 1, true); /* NUL included */
        unsigned char *blob = calloc(1, (size_t)g->const_bytes + 1);
        for (int i = 0; i < g->nvalues; i++) {
            const Value *v = g->values[i];
            if (v->region == MEM_CONST && v->data)
                memcpy(blob + v->mem_off, v->data, (size_t)value_bytes(v));
        }
        consts = bytes_global(cg, m, "qk.consts", blob, (size_t)g->const_bytes + 1, true);
        free(blob);
        launches = launch_list(cg, m, &dt);
    }
    char producer[64];
    snprintf(producer, sizeof producer, "qkc %s", QKC_VERSION);
    LLVMValueRef f[] = {
        cg_i32(cg, (int32_t)QKRT_MAGIC),
        cg_i32(cg, QKRT_ABI_VERSION),
        cstr(cg, m, cg->t->name, "qk.target"),
        cstr(cg, m, cg->t->cpu, "qk.cpu"),
        cstr(cg, m, cg->o->model_name ? cg->o->model_name : g->name, "qk.model"),
        cstr(cg, m, producer, "qk.producer"),
        LLVMConstInt(cg->i64, cg->o->model_hash, 0),
        cg_i32(cg, g->ninputs),
        cg_i32(cg, g->noutputs),
        tensor_descs(cg, m, &dt, g->inputs, g->ninputs, "input"),
        tensor_descs(cg, m, &dt, g->outputs, g->noutputs, "output"),
        cg_i64(cg, g->ws_static),
        cg_i64(cg, g->ws_batch),
        entry ? entry : null,
        ptxv,
        consts,
        cg_i64(cg, ptx ? g->const_bytes : 0),
        cg_i32(cg, ptx ? cg->nkernels : 0),
        launches,
        LLVMConstInt(cg->i64, ptx ? 0 : cg->t->cpu_features, 0),
        next ? next : null,
    };
    LLVMValueRef desc = LLVMAddGlobal(m, dt.artifact, "qk.artifact");
    LLVMSetInitializer(desc, LLVMConstNamedStruct(dt.artifact, f, 21));
    LLVMSetGlobalConstant(desc, 1);
    LLVMSetLinkage(desc, LLVMInternalLinkage);
    if (!exported)
        return desc;

    /* const qkrt_artifact *qkc_artifact(void) — or <prefix>_artifact */
    char name[160];
    bool obj = cg->o->emit == EMIT_OBJ && cg->o->prefix;
    snprintf(name, sizeof name, "%s_artifact", obj ? cg->o->prefix : "qkc");
    LLVMValueRef getter = LLVMAddFunction(m, name, LLVMFunctionType(cg->ptr, NULL, 0, 0));
    export_fn(getter);
    LLVMBuilderRef b = LLVMCreateBuilderInContext(cg->ctx);
    LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cg->ctx, getter, "entry"));
    LLVMBuildRet(b, desc);
    if (obj && entry) { /* int <prefix>_run(ws, inputs, outputs, batch): serial */
        snprintf(name, sizeof name, "%s_run", cg->o->prefix);
        LLVMTypeRef ps[4] = {cg->ptr, cg->ptr, cg->ptr, cg->i64};
        LLVMValueRef run = LLVMAddFunction(m, name, LLVMFunctionType(cg->i32, ps, 4, 0));
        export_fn(run);
        LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(cg->ctx, run, "entry"));
        LLVMValueRef a[5] = {LLVMGetParam(run, 0), LLVMGetParam(run, 1), LLVMGetParam(run, 2), LLVMGetParam(run, 3),
                             null};
        LLVMBuildRet(b, LLVMBuildCall2(b, LLVMGlobalGetValueType(entry), entry, a, 5, ""));
    }
    LLVMDisposeBuilder(b);
    return desc;
}

/* Every function of m defined after `after` (NULL: all) compiles for CPU t,
 * whatever the module's target machine says: a fat artifact's variants
 * live in one module, each with its own instruction set. */
static void tag_functions(Cg *cg, LLVMModuleRef m, LLVMValueRef after, const Target *t)
{
    LLVMAttributeRef cpu = LLVMCreateStringAttribute(cg->ctx, "target-cpu", 10, t->cpu, (unsigned)strlen(t->cpu));
    LLVMAttributeRef feat = t->features && *t->features
                                ? LLVMCreateStringAttribute(cg->ctx, "target-features", 15, t->features,
                                                            (unsigned)strlen(t->features))
                                : NULL;
    for (LLVMValueRef f = after ? LLVMGetNextFunction(after) : LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
        if (LLVMIsDeclaration(f))
            continue;
        LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, cpu);
        if (feat)
            LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, feat);
    }
}

/* ---- the whole compile -------------------------------------------------- */

static void cg_init_types(Cg *cg)
{
    cg->i1 = LLVMInt1TypeInContext(cg->ctx);
    cg->i8 = LLVMInt8TypeInContext(cg->ctx);
    cg->i16 = LLVMInt16TypeInContext(cg->ctx);
    cg->i32 = LLVMInt32TypeInContext(cg->ctx);
    cg->i64 = LLVMInt64TypeInContext(cg->ctx);
    cg->f16 = LLVMHalfTypeInContext(cg->ctx);
    cg->f32 = LLVMFloatTypeInContext(cg->ctx);
    cg->f64 = LLVMDoubleTypeInContext(cg->ctx);
    cg->ptr = LLVMPointerTypeInContext(cg->ctx, 0);
    cg->vd = LLVMVoidTypeInContext(cg->ctx);
}

static LLVMModuleRef new_module(Cg *cg, const char *name, const char *triple, LLVMTargetMachineRef tm)
{
    LLVMModuleRef m = LLVMModuleCreateWithNameInContext(name, cg->ctx);
    LLVMSetTarget(m, triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(tm);
    char *layout = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(m, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(td);
    return m;
}

/* What makes two nodes' kernels identical: op, attributes, operand types
 * and shapes, and — for ops whose kernels may bake a constant weight into
 * their code (packed layouts) — that weight. Weights are otherwise
 * arguments, so repeated layers share one kernel. */
static const char *kernel_key(Cg *cg, const Node *n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%d|", (int)n->op);
    if (n->prog) /* a fused kernel is its program */
        expr_print(n->prog, f);
    const unsigned char *a = (const unsigned char *)&n->a;
    for (size_t i = 0; i < sizeof n->a; i++)
        fprintf(f, "%02x", a[i]);
    for (int k = 0; k < n->nin + n->nout; k++) {
        const Value *v = k < n->nin ? n->in[k] : n->out[k - n->nin];
        char sb[128];
        if (!v) {
            fprintf(f, "|-");
            continue;
        }
        fprintf(f, "|%s%s", dtype_name(v->dtype), shape_str(&v->shape, sb, sizeof sb));
        /* elementwise kernels bake one-element constants (a scale, Pow's 2) */
        bool bakes = (op_has(n->op, OPF_BAKES_B) && k == 1) || op_has(n->op, OPF_QUANT) ||
                     (op_has(n->op, OPF_ELTWISE) && shape_numel(&v->shape) == 1);
        if (bakes && v->kind == VAL_CONST)
            fprintf(f, "@%d", v->id);
    }
    fclose(f);
    char *key = arena_strdup(cg->g->arena, buf);
    free(buf);
    return key;
}

static bool gen_kernels(Cg *cg)
{
    bool ok = true;
    cg_stage(cg, "generating kernels");
    StrMap seen; /* key -> index + 1 of the first kernel with it */
    strmap_init(&seen, cg->g->arena);
    for (int i = 0; i < cg->g->nnodes; i++) {
        const Node *n = cg->g->nodes[i];
        if (!needs_kernel(n))
            continue;
        const char *key = kernel_key(cg, n);
        intptr_t first = key ? (intptr_t)strmap_get(&seen, key) : 0;
        if (first) { /* the same code: another call of the first kernel */
            if (cg->nkernels == cg->cap_kernels) {
                cg->cap_kernels *= 2;
                cg->kernels = realloc(cg->kernels, sizeof(CgKernel) * (size_t)cg->cap_kernels);
                if (!cg->kernels)
                    return diag_error(cg->d, n->loc, "out of memory");
            }
            CgKernel k = cg->kernels[first - 1];
            k.node = n;
            cg->kernels[cg->nkernels++] = k;
            continue;
        }
        if (!gen_kernel(cg, n)) {
            ok = false;
            continue;
        }
        if (key)
            strmap_put(&seen, key, (void *)(intptr_t)cg->nkernels);
    }
    return ok;
}

static bool verify(Cg *cg, LLVMModuleRef m)
{
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        diag_error(cg->d, loc_none(), "internal error: invalid LLVM IR generated: %s", msg ? msg : "");
        LLVMDisposeMessage(msg);
        return false;
    }
    LLVMDisposeMessage(msg);
    return true;
}

/* Write the module in the requested form; EMIT_SO goes through a temporary
 * object and ld.lld. */
static bool emit_module(Cg *cg, LLVMModuleRef m, LLVMTargetMachineRef tm)
{
    const CgOptions *o = cg->o;
    char *err = NULL;
    switch (o->emit) {
    case EMIT_LLVM:
        if (LLVMPrintModuleToFile(m, o->out, &err)) {
            diag_error(cg->d, loc_file(o->out), "cannot write: %s", err ? err : "");
            LLVMDisposeMessage(err);
            return false;
        }
        return true;
    case EMIT_ASM:
    case EMIT_OBJ: {
        LLVMTargetMachineRef save = cg->tm;
        cg->tm = tm;
        cg_stage(cg, "emitting code");
        bool ok = cg_emit_file(cg, m, o->emit == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, o->out);
        cg->tm = save;
        if (ok && o->emit == EMIT_OBJ && o->header)
            ok = cg_write_header(cg, o->header);
        return ok;
    }
    case EMIT_SO: {
        char tmp[] = "/tmp/qkc-XXXXXX.o";
        int fd = mkstemps(tmp, 2);
        if (fd < 0)
            return diag_error(cg->d, loc_none(), "cannot create a temporary object file");
        close(fd);
        LLVMTargetMachineRef save = cg->tm;
        cg->tm = tm;
        cg_stage(cg, "emitting code");
        bool ok = cg_emit_file(cg, m, LLVMObjectFile, tmp);
        cg->tm = save;
        if (ok)
            cg_stage(cg, "linking");
        ok = ok && cg_link_so(cg->t, tmp, o->out, cg->d);
        unlink(tmp);
        return ok;
    }
    default:
        return diag_error(cg->d, loc_none(), "this output kind is not available for %s", cg->t->name);
    }
}

bool cg_compile(Graph *g, const CgOptions *o, Diag *d)
{
    if (!g->planned)
        return diag_error(d, loc_none(), "internal error: the graph has no memory plan");
    /* an output's descriptor holds [batch, dims...]: a batch merged into
     * the first dim would be written past the caller's buffer */
    for (int i = 0; i < g->noutputs; i++)
        if (shape_rows(&g->outputs[i]->shape) > 1)
            return diag_error(d, g->outputs[i]->loc, "internal error: output '%s' has the batch merged with other dims",
                              g->outputs[i]->name);
    Cg cg = {0};
    cg.g = g;
    cg.o = o;
    cg.d = d;
    cg.t = &o->target;
    cg.ctx = LLVMContextCreate();
    cg.b = LLVMCreateBuilderInContext(cg.ctx);
    cg_init_types(&cg);
    bool ok = true;
    LLVMTargetMachineRef host_tm = NULL;
    LLVMModuleRef host = NULL;
    char *ptx = NULL;

    cg.tm = cg_target_machine(cg.t->triple, cg.t->cpu, cg.t->features, o->opt_level, d);
    if (!cg.tm) {
        ok = false;
        goto out;
    }
    cg.mod = new_module(&cg, g->name, cg.t->triple, cg.tm);

    if (!cg.t->gpu) {
        cg.const_globals = calloc((size_t)g->nvalues + 1, sizeof(LLVMValueRef));
        for (int i = 0; i < g->nvalues; i++) {
            Value *v = g->values[i];
            if (v->kind == VAL_CONST && v->region == MEM_CONST)
                cg.const_globals[i] = cg_const_blob(&cg, "qk.w", v->data, (size_t)value_bytes(v));
        }
    }
    if (!cg.t->gpu) {
        /* one variant per CPU (a fat artifact: --cpu A,B,...), each chained
         * to the one before; the last, the most demanding, is exported */
        LLVMValueRef desc = NULL;
        for (int v = 0; v <= o->nmore && ok; v++) {
            cg.t = v ? &o->more[v - 1] : &o->target;
            cg.nkernels = 0;
            LLVMValueRef last = LLVMGetLastFunction(cg.mod);
            ok = gen_kernels(&cg);
            if (!ok)
                break;
            LLVMValueRef entry = gen_entry(&cg);
            desc = gen_descriptor(&cg, cg.mod, entry, NULL, 0, desc, v == o->nmore);
            if (o->nmore)
                tag_functions(&cg, cg.mod, last, cg.t);
        }
        cg.t = &o->target;
        ok = ok && (!o->verify_ir || verify(&cg, cg.mod)) && cg_optimize(&cg) && emit_module(&cg, cg.mod, cg.tm);
        goto out;
    }
    ok = gen_kernels(&cg);
    if (!ok)
        goto out;

    /* NVPTX: kernels -> PTX; the host module carries it */
    ok = (!o->verify_ir || verify(&cg, cg.mod)) && cg_optimize(&cg);
    if (!ok)
        goto out;
    if (o->emit == EMIT_LLVM || o->emit == EMIT_PTX || o->emit == EMIT_ASM) {
        if (o->emit == EMIT_LLVM) {
            ok = emit_module(&cg, cg.mod, cg.tm);
        } else {
            size_t len;
            ptx = cg_emit_ptx(&cg, &len);
            FILE *f = ptx ? fopen(o->out, "wb") : NULL;
            ok = f && fwrite(ptx, 1, len, f) == len;
            if (f)
                ok = fclose(f) == 0 && ok;
            if (!ok)
                diag_error(d, loc_file(o->out), "cannot write the PTX");
        }
        goto out;
    }
    size_t ptx_len;
    ptx = cg_emit_ptx(&cg, &ptx_len);
    if (!ptx) {
        ok = false;
        goto out;
    }
    host_tm = cg_target_machine(cg.t->host_triple, "x86-64", "", o->opt_level, d);
    if (!host_tm) {
        ok = false;
        goto out;
    }
    host = new_module(&cg, g->name, cg.t->host_triple, host_tm);
    gen_descriptor(&cg, host, NULL, ptx, ptx_len, NULL, true);
    ok = (!o->verify_ir || verify(&cg, host)) && emit_module(&cg, host, host_tm);

out:
    free(ptx);
    free(cg.const_globals);
    free(cg.kernels);
    if (host)
        LLVMDisposeModule(host);
    if (host_tm)
        LLVMDisposeTargetMachine(host_tm);
    if (cg.mod)
        LLVMDisposeModule(cg.mod);
    if (cg.tm)
        LLVMDisposeTargetMachine(cg.tm);
    LLVMDisposeBuilder(cg.b);
    LLVMContextDispose(cg.ctx);
    return ok;
}

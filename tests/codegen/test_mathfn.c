/* test_mathfn.c — codegen/mathfn.c against libm.
 *
 * Each function becomes two kernels f(const float *in, const float *in2,
 * float *out, long n): a scalar loop (which LLVM vectorizes) and the same
 * loop over explicit <4 x float> vectors. The module is compiled for the
 * host CPU and for plain x86-64, linked with ld.lld and loaded, then run
 * over special values, the switch points of the piecewise approximations,
 * dense sweeps of the interesting ranges and random bit patterns (every
 * binade); every result is compared with libm's double precision function
 * (the oracle, rounded to f32 only in the comparison). The maximum error
 * in ulps must stay within each function's documented bound; scalar,
 * vector and baseline-CPU results must agree bit for bit; zeros must carry
 * the right sign. The same module must also compile for AArch64 and NVPTX,
 * the plain x86-64 object must call nothing outside itself (no libm), and
 * on x86-64-v3 every scalar loop must come out vectorized.
 *
 * QKC_MATHFN_ALL=log,erf,... also runs the named one-argument functions on
 * every one of the 2^32 floats (minutes each; how mathfn.c's bounds were
 * measured). */
#include <dlfcn.h>
#include <float.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <llvm-c/Analysis.h>
#include <llvm-c/Object.h>

#include "codegen/cg.h"
#include "test_util.h"

typedef LLVMValueRef (*Fn1)(Cg *, LLVMValueRef);
typedef LLVMValueRef (*Fn2)(Cg *, LLVMValueRef, LLVMValueRef);
typedef void (*Kernel)(const float *in, const float *in2, float *out, long n);

static double rne_ref(double x) { return nearbyint(x); }

/* One function under test: its generator, its oracle, its bound. */
typedef struct MathFn {
    const char *name;
    Fn1 f1;
    Fn2 f2;
    double (*r1)(double);
    double (*r2)(double, double);
    double bound;  /* max error in ulps, as mathfn.c documents it */
    double domain; /* accuracy is checked for |x| < domain (0: everywhere) */
} MathFn;

static const MathFn fns[] = {
    {"floor", cg_floor, NULL, floor, NULL, 0, 0},
    {"ceil", cg_ceil, NULL, ceil, NULL, 0, 0},
    {"trunc", cg_trunc, NULL, trunc, NULL, 0, 0},
    {"rne", cg_rne, NULL, rne_ref, NULL, 0, 0},
    {"exp", cg_exp, NULL, exp, NULL, 1.0, 0},
    {"log", cg_log, NULL, log, NULL, 0.85, 0},
    {"log1p", cg_log1p, NULL, log1p, NULL, 0.87, 0},
    {"erf", cg_erf, NULL, erf, NULL, 1.26, 0},
    {"sin", cg_sin, NULL, sin, NULL, 0.501, 1e8},
    {"cos", cg_cos, NULL, cos, NULL, 0.501, 1e8},
    {"tan", cg_tan, NULL, tan, NULL, 0.501, 1e8},
    {"atan", cg_atan, NULL, atan, NULL, 0.501, 0},
    {"pow", NULL, cg_pow, NULL, pow, 0.501, 0},
    {"fmod", NULL, cg_fmod, NULL, fmod, 0, 0},
};
enum { NFNS = sizeof fns / sizeof fns[0] };

/* ---- building and compiling the module ---------------------------------- */

typedef struct Build {
    Diag d;
    CgOptions o;
    Cg cg;
    char dir[64];
} Build;

static void build_init(Build *bd, const char *arch, const char *cpu)
{
    memset(bd, 0, sizeof *bd);
    diag_init(&bd->d, stderr);
    assert_true(cg_target_resolve(arch, cpu, &bd->o.target, &bd->d));
    bd->o.opt_level = 3;
    bd->o.verify_ir = true;
    Cg *cg = &bd->cg;
    cg->o = &bd->o;
    cg->t = &bd->o.target;
    cg->d = &bd->d;
    cg->ctx = LLVMContextCreate();
    cg->b = LLVMCreateBuilderInContext(cg->ctx);
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
    cg->tm = cg_target_machine(cg->t->triple, cg->t->cpu, cg->t->features, 3, &bd->d);
    assert_non_null(cg->tm);
    cg->mod = LLVMModuleCreateWithNameInContext("mathfn", cg->ctx);
    LLVMSetSourceFileName(cg->mod, "", 0);
    LLVMSetTarget(cg->mod, cg->t->triple);
    LLVMTargetDataRef td = LLVMCreateTargetDataLayout(cg->tm);
    char *layout = LLVMCopyStringRepOfTargetData(td);
    LLVMSetDataLayout(cg->mod, layout);
    LLVMDisposeMessage(layout);
    LLVMDisposeTargetData(td);
}

static void build_fini(Build *bd)
{
    Cg *cg = &bd->cg;
    LLVMDisposeModule(cg->mod);
    LLVMDisposeTargetMachine(cg->tm);
    LLVMDisposeBuilder(cg->b);
    LLVMContextDispose(cg->ctx);
    diag_fini(&bd->d);
    if (bd->dir[0]) {
        char p[128];
        snprintf(p, sizeof p, "%s/m.o", bd->dir);
        unlink(p);
        snprintf(p, sizeof p, "%s/m.so", bd->dir);
        unlink(p);
        rmdir(bd->dir);
    }
}

/* <name>_s: for (i = 0; i < n; i++) out[i] = f(in[i], in2[i]);
 * <name>_v: the same over n / 4 vectors of <4 x float>. */
static void emit_kernel(Cg *cg, const MathFn *f, unsigned lanes)
{
    LLVMBuilderRef b = cg->b;
    LLVMTypeRef params[4] = {cg->ptr, cg->ptr, cg->ptr, cg->i64};
    char name[64];
    snprintf(name, sizeof name, "mf_%s_%s", f->name, lanes > 1 ? "v" : "s");
    LLVMValueRef fn = LLVMAddFunction(cg->mod, name, LLVMFunctionType(cg->vd, params, 4, 0));
    unsigned noalias = LLVMGetEnumAttributeKindForName("noalias", 7);
    for (unsigned i = 0; i < 3; i++)
        LLVMAddAttributeAtIndex(fn, i + 1, LLVMCreateEnumAttribute(cg->ctx, noalias, 0));
    LLVMBasicBlockRef entry = LLVMAppendBasicBlockInContext(cg->ctx, fn, "entry");
    LLVMBasicBlockRef loop = LLVMAppendBasicBlockInContext(cg->ctx, fn, "loop");
    LLVMBasicBlockRef done = LLVMAppendBasicBlockInContext(cg->ctx, fn, "done");
    LLVMPositionBuilderAtEnd(b, entry);
    LLVMValueRef n = LLVMGetParam(fn, 3);
    if (lanes > 1)
        n = LLVMBuildSDiv(b, n, LLVMConstInt(cg->i64, lanes, 0), "");
    LLVMValueRef zero = LLVMConstInt(cg->i64, 0, 0);
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSGT, n, zero, ""), loop, done);
    LLVMPositionBuilderAtEnd(b, loop);
    LLVMValueRef i = LLVMBuildPhi(b, cg->i64, "i");
    LLVMTypeRef t = lanes > 1 ? LLVMVectorType(cg->f32, lanes) : cg->f32;
    LLVMValueRef x = LLVMBuildLoad2(b, t, LLVMBuildGEP2(b, t, LLVMGetParam(fn, 0), &i, 1, ""), "x");
    LLVMSetAlignment(x, 4);
    LLVMValueRef y;
    if (f->f1) {
        y = f->f1(cg, x);
    } else {
        LLVMValueRef x2 = LLVMBuildLoad2(b, t, LLVMBuildGEP2(b, t, LLVMGetParam(fn, 1), &i, 1, ""), "x2");
        LLVMSetAlignment(x2, 4);
        y = f->f2(cg, x, x2);
    }
    LLVMValueRef st = LLVMBuildStore(b, y, LLVMBuildGEP2(b, t, LLVMGetParam(fn, 2), &i, 1, ""));
    LLVMSetAlignment(st, 4);
    LLVMValueRef next = LLVMBuildAdd(b, i, LLVMConstInt(cg->i64, 1, 0), "");
    LLVMBuildCondBr(b, LLVMBuildICmp(b, LLVMIntSLT, next, n, ""), loop, done);
    LLVMValueRef in_vals[2] = {zero, next};
    LLVMBasicBlockRef in_bbs[2] = {entry, loop};
    LLVMAddIncoming(i, in_vals, in_bbs, 2);
    LLVMPositionBuilderAtEnd(b, done);
    LLVMBuildRetVoid(b);
}

/* Every kernel, verified and optimized. */
static void build_module(Build *bd)
{
    for (int k = 0; k < NFNS; k++) {
        emit_kernel(&bd->cg, &fns[k], 1);
        emit_kernel(&bd->cg, &fns[k], 4);
    }
    char *msg = NULL;
    if (LLVMVerifyModule(bd->cg.mod, LLVMReturnStatusAction, &msg))
        fail_msg("%s: invalid LLVM IR: %s", bd->cg.t->name, msg ? msg : "");
    LLVMDisposeMessage(msg);
    assert_true(cg_optimize(&bd->cg));
}

/* Emit an object, link it (ld.lld, -z defs against libc only) and load it. */
static void *build_load(Build *bd)
{
    snprintf(bd->dir, sizeof bd->dir, "/tmp/qkc-mathfn-XXXXXX");
    assert_non_null(mkdtemp(bd->dir));
    char obj[128], so[128];
    snprintf(obj, sizeof obj, "%s/m.o", bd->dir);
    snprintf(so, sizeof so, "%s/m.so", bd->dir);
    assert_true(cg_emit_file(&bd->cg, bd->cg.mod, LLVMObjectFile, obj));
    assert_true(cg_link_so(bd->cg.t, obj, so, &bd->d));
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h)
        fail_msg("dlopen %s: %s", so, dlerror());
    return h;
}

static Kernel kernel(void *h, const MathFn *f, bool vec)
{
    char name[64];
    snprintf(name, sizeof name, "mf_%s_%s", f->name, vec ? "v" : "s");
    Kernel k = (Kernel)(uintptr_t)dlsym(h, name);
    if (!k)
        fail_msg("no symbol %s", name);
    return k;
}

/* The symbols an object file uses but does not define (names into a
 * static buffer, space-separated). */
static const char *undefined_symbols(Build *bd)
{
    static char out[1024];
    out[0] = 0;
    char *err = NULL;
    LLVMMemoryBufferRef buf;
    if (LLVMTargetMachineEmitToMemoryBuffer(bd->cg.tm, bd->cg.mod, LLVMObjectFile, &err, &buf))
        fail_msg("%s: cannot emit: %s", bd->cg.t->name, err ? err : "");
    LLVMBinaryRef bin = LLVMCreateBinary(buf, bd->cg.ctx, &err);
    if (!bin)
        fail_msg("cannot read the object: %s", err ? err : "");
    LLVMSymbolIteratorRef si = LLVMObjectFileCopySymbolIterator(bin);
    LLVMSectionIteratorRef sec = LLVMObjectFileCopySectionIterator(bin);
    for (; !LLVMObjectFileIsSymbolIteratorAtEnd(bin, si); LLVMMoveToNextSymbol(si)) {
        const char *name = LLVMGetSymbolName(si);
        LLVMMoveToContainingSection(sec, si);
        bool undefined = name && name[0] && LLVMObjectFileIsSectionIteratorAtEnd(bin, sec);
        if (undefined && strlen(out) + strlen(name) + 2 < sizeof out) {
            strcat(out, " ");
            strcat(out, name);
        }
    }
    LLVMDisposeSectionIterator(sec);
    LLVMDisposeSymbolIterator(si);
    LLVMDisposeBinary(bin);
    LLVMDisposeMemoryBuffer(buf);
    return out;
}

/* Declarations other than intrinsics that the optimized module calls. */
static int external_calls(Build *bd, char *names, size_t len)
{
    int n = 0;
    names[0] = 0;
    for (LLVMValueRef fn = LLVMGetFirstFunction(bd->cg.mod); fn; fn = LLVMGetNextFunction(fn)) {
        if (!LLVMIsDeclaration(fn) || LLVMGetIntrinsicID(fn) != 0)
            continue;
        size_t l;
        const char *name = LLVMGetValueName2(fn, &l);
        if (strlen(names) + l + 2 < len) {
            strcat(names, " ");
            strncat(names, name, l);
        }
        n++;
    }
    return n;
}

/* ---- inputs --------------------------------------------------------------- */

typedef struct Inputs {
    float *x, *y;
    size_t n, cap;
} Inputs;

static void add(Inputs *in, float x, float y)
{
    if (in->n == in->cap) {
        in->cap = in->cap ? in->cap * 2 : 4096;
        in->x = realloc(in->x, in->cap * sizeof(float));
        in->y = realloc(in->y, in->cap * sizeof(float));
        assert_non_null(in->x);
        assert_non_null(in->y);
    }
    in->x[in->n] = x;
    in->y[in->n] = y;
    in->n++;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t rnd(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static float bits_f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t f_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* uniform in [lo, hi) */
static double uni(double lo, double hi) { return lo + (hi - lo) * (double)(rnd() >> 11) * 0x1p-53; }

static const float specials[] = {
    0.0f, -0.0f, INFINITY, -INFINITY, NAN, -NAN, 0x1p-149f, -0x1p-149f, 0x1.fffffcp-127f, -0x1.fffffcp-127f,
    FLT_MIN, -FLT_MIN, FLT_MAX, -FLT_MAX, 1.0f, -1.0f, 0.5f, -0.5f, 1.5f, -1.5f, 2.0f, -2.0f, 2.5f, -2.5f, 3.0f,
    -3.0f, 0x1p23f, -0x1p23f, 0x1.fffffep22f, -0x1.fffffep22f, 0x1.000002p23f, 0x1p24f, 0x1p22f + 0.5f,
    -(0x1p22f + 0.5f), 0x1p-24f, -0x1p-25f, 1e-10f, -1e-10f, 0.9375f, -0.9375f, 4.0f, 3.92f, 0.41421357f, 2.4142137f,
    1.5707964f, 3.1415927f, -1.5707964f, 0.7853982f, 1e5f, 1e8f, 1e20f, 0x1p-12f, 0x1.fffffep-13f, 0.1f, 10.0f,
    /* the worst cases of QKC_MATHFN_ALL, for log, log1p, erf, sin, cos, tan, atan */
    0x1.69cf3ep+0f, 0x1.a1d53ap-2f, 0x1.e0c12ep-1f, 0x1.9a0946p+3f, 0x1.bb5fd6p+21f, 0x1.3b9ba2p+26f, 0x1.01574ep-2f,
};
enum { NSPECIALS = sizeof specials / sizeof specials[0] };

/* count consecutive floats from `from` on, every `step`-th */
static void consecutive(Inputs *in, float from, int count, int step)
{
    uint32_t u = f_bits(from);
    for (int i = 0; i < count; i++, u += (uint32_t)step)
        add(in, bits_f(u), 0);
}

static void inputs_for(const MathFn *f, Inputs *in, int scale)
{
    int R = 150000 * scale; /* random bit patterns */
    if (f->f1) {
        for (int i = 0; i < NSPECIALS; i++)
            add(in, specials[i], 0);
        for (int i = 0; i < R; i++)
            add(in, bits_f((uint32_t)rnd()), 0);
    }
    const char *nm = f->name;
    if (!strcmp(nm, "floor") || !strcmp(nm, "ceil") || !strcmp(nm, "trunc") || !strcmp(nm, "rne")) {
        for (int i = 0; i < 20000 * scale; i++)
            add(in, (float)uni(-20, 20), 0);
        for (int i = -4000; i <= 4000; i++) /* halves and quarters */
            add(in, (float)i * 0.25f, 0);
        consecutive(in, 0x1p22f, 20000, 97); /* the last binade with fractions */
        consecutive(in, -0x1p22f, 20000, 97);
        consecutive(in, 0x1.fffff0p22f, 64, 1);
        consecutive(in, -0x1.fffff0p22f, 64, 1);
    } else if (!strcmp(nm, "exp")) {
        for (int i = 0; i < 100000 * scale; i++)
            add(in, (float)uni(-104, 89), 0);
        for (int i = 0; i < 50000 * scale; i++)
            add(in, (float)uni(-1, 1), 0);
        consecutive(in, 88.72f, 2000, 1);   /* the overflow edge, ln(FLT_MAX) = 88.7228 */
        consecutive(in, -87.33f, 2000, -1); /* into the subnormal results */
        consecutive(in, -103.0f, 2000, -7); /* the last subnormals, then 0 */
        consecutive(in, 0x1p-30f, 20000, 101);
    } else if (!strcmp(nm, "log") || !strcmp(nm, "log1p")) {
        bool l1p = nm[3] == '1';
        for (int i = 0; i < 50000 * scale; i++)
            add(in, (float)uni(l1p ? -1 : 0, 4), 0);
        for (int i = 0; i < 50000 * scale; i++) /* positive, every binade */
            add(in, bits_f((uint32_t)rnd() % 0x7f800000u), 0);
        consecutive(in, 0.70710677f, 20000, 1); /* the mantissa switch at sqrt(1/2) */
        consecutive(in, 0.99f, 200000, 1);      /* around 1 */
        if (l1p) {
            consecutive(in, -1.0f, 20000, 1);   /* just above -1 */
            consecutive(in, 0x1p-30f, 50000, 101);
            consecutive(in, -0x1p-30f, 50000, 101);
            consecutive(in, -0.5f, 20000, 3);
        } else {
            consecutive(in, 0x1p-149f, 20000, 997); /* subnormals */
        }
    } else if (!strcmp(nm, "erf")) {
        for (int i = 0; i < 100000 * scale; i++)
            add(in, (float)uni(-5, 5), 0);
        consecutive(in, 0.9375f, 100000, 1); /* the switch point, both sides */
        consecutive(in, 0.9375f, 100000, -1);
        consecutive(in, 3.9f, 40000, 1);
        consecutive(in, 0x1p-20f, 20000, 1013);
    } else if (!strcmp(nm, "sin") || !strcmp(nm, "cos") || !strcmp(nm, "tan")) {
        for (int i = 0; i < 100000 * scale; i++)
            add(in, (float)uni(-10, 10), 0);
        for (int i = 0; i < 50000 * scale; i++)
            add(in, (float)uni(-1e5, 1e5), 0);
        for (int i = 0; i < 50000 * scale; i++)
            add(in, (float)(uni(-1, 1) * pow(2, uni(0, 26.5))), 0);
        for (int k = -64; k <= 64; k++) { /* around multiples of pi/4 */
            float c = (float)(k * 0.78539816339744831);
            consecutive(in, c, 64, 1);
            consecutive(in, c, 64, -1);
        }
        /* some of the floats closest to multiples of pi/2 below 2^26 */
        static const float hard[] = {0x1.921fb6p+0f, 0x1.921fb6p+1f, 0x1.2d97c8p+3f, 0x1.f6a7a2p+4f,
                                     0x1.5fdbbep+6f, 0x1.3f7de6p+8f, 0x1.ac40d4p+13f, 0x1.b38382p+16f,
                                     102748424.0f, 22.0f, 355.0f, 0x1.2795e2p+10f};
        for (size_t i = 0; i < sizeof hard / sizeof hard[0]; i++) {
            consecutive(in, hard[i], 32, 1);
            consecutive(in, -hard[i], 32, -1);
        }
    } else if (!strcmp(nm, "atan")) {
        for (int i = 0; i < 100000 * scale; i++)
            add(in, (float)uni(-5, 5), 0);
        consecutive(in, 0.41421357f, 20000, 1);
        consecutive(in, 0.41421357f, 20000, -1);
        consecutive(in, 2.4142137f, 20000, 1);
        consecutive(in, 2.4142137f, 20000, -1);
    } else if (!strcmp(nm, "pow")) {
        for (int i = 0; i < NSPECIALS; i++) /* every pair of special values */
            for (int j = 0; j < NSPECIALS; j++)
                add(in, specials[i], specials[j]);
        for (int i = 0; i < R; i++) /* any bits: mostly 0, inf, NaN, 1 */
            add(in, bits_f((uint32_t)rnd()), bits_f((uint32_t)rnd()));
        for (int i = 0; i < R; i++) { /* y log2 x spread over [-160, 160] */
            float x = bits_f((uint32_t)rnd() % 0x7f800000u);
            double l = log2(x);
            float y = (float)(uni(-160, 160) / l);
            if (x != 1.0f && isfinite(y))
                add(in, x, y);
        }
        for (int i = 0; i < R / 2; i++) { /* x near 1, y large */
            float x = (float)(1.0 + uni(-0x1p-10, 0x1p-10));
            double l = log2(x);
            if (l != 0)
                add(in, x, (float)(uni(-140, 140) / l));
        }
        for (int i = 0; i < R / 2; i++) { /* negative x, integer y */
            add(in, (float)uni(-12, 0), (float)((int)(rnd() % 81) - 40));
            add(in, -(float)uni(0, 1.05), (float)((int)(rnd() % 4001) - 2000));
        }
        for (int i = 0; i < R / 4; i++) /* ordinary arguments */
            add(in, (float)uni(0, 10), (float)uni(-10, 10));
    } else if (!strcmp(nm, "fmod")) {
        for (int i = 0; i < NSPECIALS; i++)
            for (int j = 0; j < NSPECIALS; j++)
                add(in, specials[i], specials[j]);
        for (int i = 0; i < R; i++) /* any bits: exponents 276 apart at most */
            add(in, bits_f((uint32_t)rnd()), bits_f((uint32_t)rnd()));
        for (int i = 0; i < R; i++) { /* exponents up to 40 apart */
            uint32_t a = (uint32_t)rnd();
            uint32_t e = (a >> 23) & 0xff, de = (uint32_t)(rnd() % 41);
            uint32_t eb = e > de ? e - de : 0;
            add(in, bits_f(a), bits_f(((uint32_t)rnd() & 0x807fffffu) | (eb << 23)));
        }
        for (int i = 0; i < R / 4; i++)
            add(in, (float)uni(-100, 100), (float)uni(-10, 10));
    }
    while (in->n % 4) /* whole vectors */
        add(in, 1.0f, 1.0f);
}

/* ---- comparing -------------------------------------------------------------- */

/* |got - ref| in ulps of f32 at ref (ref the exact value, in double); 0 when
 * got is ref rounded to f32 (infinities and NaN included). */
static double ulp_error(float got, double ref)
{
    float rf = (float)ref;
    if (isnan(got) || isnan(ref))
        return isnan(got) && isnan(ref) ? 0 : INFINITY;
    if (got == rf)
        return got == 0 && signbit(got) != signbit(rf) ? INFINITY : 0; /* the sign of zero counts */
    if (isinf(got))
        return INFINITY;
    double a = fabs(ref) > FLT_MAX ? FLT_MAX : fabs(ref);
    int e;
    frexp(a, &e); /* a = m 2^e, m in [0.5, 1) */
    int ex = e - 1 < -126 ? -126 : e - 1;
    return fabs((double)got - ref) / ldexp(1.0, ex - 23);
}

typedef struct Result {
    double max_ulp;
    float at_x, at_y;
    float got;
    size_t n, checked, mismatch_vec, mismatch_base, bad_range;
} Result;

static void run_fn(const MathFn *f, void *host, void *base, Result *res)
{
    Inputs in = {0};
    inputs_for(f, &in, 1);
    float *o_s = malloc(in.n * sizeof(float)), *o_v = malloc(in.n * sizeof(float)),
          *o_b = malloc(in.n * sizeof(float));
    assert_true(o_s && o_v && o_b);
    kernel(host, f, false)(in.x, in.y, o_s, (long)in.n);
    kernel(host, f, true)(in.x, in.y, o_v, (long)in.n);
    kernel(base, f, false)(in.x, in.y, o_b, (long)in.n);
    memset(res, 0, sizeof *res);
    res->n = in.n;
    for (size_t i = 0; i < in.n; i++) {
        float x = in.x[i], y = in.y[i], g = o_s[i];
        if (memcmp(&o_s[i], &o_v[i], 4) && !(isnan(o_s[i]) && isnan(o_v[i])))
            res->mismatch_vec++;
        if (memcmp(&o_s[i], &o_b[i], 4) && !(isnan(o_s[i]) && isnan(o_b[i])))
            res->mismatch_base++;
        if (f->domain > 0 && !(fabsf(x) < f->domain)) {
            /* outside the accurate range: bounded, and NaN only for inf/NaN */
            bool bounded = f->r1 == tan ? !isnan(g) : fabsf(g) <= 1.0f;
            if (isfinite(x) ? !bounded : !isnan(g))
                res->bad_range++;
            continue;
        }
        double ref = f->r1 ? f->r1((double)x) : f->r2((double)x, (double)y);
        double e = ulp_error(g, ref);
        res->checked++;
        if (e > res->max_ulp || (isinf(e) && !isinf(res->max_ulp))) {
            res->max_ulp = e;
            res->at_x = x;
            res->at_y = y;
            res->got = g;
        }
    }
    free(o_s);
    free(o_v);
    free(o_b);
    free(in.x);
    free(in.y);
}

/* Every one of the 2^32 inputs of a one-argument function (QKC_MATHFN_ALL=
 * log,erf,...: minutes per function, for measuring, not in the suite). */
static void run_all_inputs(const MathFn *f, void *host)
{
    enum { CHUNK = 1 << 20 };
    float *x = malloc(CHUNK * sizeof(float)), *o = malloc(CHUNK * sizeof(float));
    assert_true(x && o);
    Kernel k = kernel(host, f, false);
    double worst = 0;
    float worst_x = 0;
    uint64_t over_half = 0, checked = 0;
    for (uint64_t base = 0; base < (1ull << 32); base += CHUNK) {
        for (uint32_t i = 0; i < CHUNK; i++)
            x[i] = bits_f((uint32_t)(base + i));
        k(x, x, o, CHUNK);
        for (uint32_t i = 0; i < CHUNK; i++) {
            if (f->domain > 0 && !(fabsf(x[i]) < f->domain))
                continue;
            double e = ulp_error(o[i], f->r1((double)x[i]));
            checked++;
            over_half += e > 0.5;
            if (e > worst)
                worst = e, worst_x = x[i];
        }
    }
    printf("  %-6s every input: max %.4f ulp at %a (%.9g), %llu of %llu results beyond 0.5 ulp\n", f->name, worst,
           (double)worst_x, (double)worst_x, (unsigned long long)over_half, (unsigned long long)checked);
    free(x);
    free(o);
}

/* ---- the tests ---------------------------------------------------------------- */

static void test_accuracy(void **state)
{
    (void)state;
    Build host, base;
    build_init(&host, NULL, NULL);
    build_init(&base, "x86_64", "x86-64");
    build_module(&host);
    build_module(&base);
    void *hh = build_load(&host), *hb = build_load(&base);
    printf("host cpu %s; max error against libm (double), in ulps of f32:\n", host.o.target.cpu);
    const char *all = getenv("QKC_MATHFN_ALL");
    if (all && *all) {
        for (int k = 0; k < NFNS; k++) {
            char pat[16];
            snprintf(pat, sizeof pat, ",%s,", fns[k].name);
            char list[256];
            snprintf(list, sizeof list, ",%s,", all);
            if (fns[k].f1 && strstr(list, pat))
                run_all_inputs(&fns[k], hh);
        }
    }
    int failures = 0;
    for (int k = 0; k < NFNS; k++) {
        const MathFn *f = &fns[k];
        Result r;
        run_fn(f, hh, hb, &r);
        bool ok = r.max_ulp <= f->bound && !r.mismatch_vec && !r.mismatch_base && !r.bad_range;
        printf("  %-6s %.4f ulp (bound %.3f) over %zu values", f->name, r.max_ulp, f->bound, r.checked);
        if (r.max_ulp > 0 && f->f2)
            printf(", worst %s(%a, %a) = %a", f->name, (double)r.at_x, (double)r.at_y, (double)r.got);
        else if (r.max_ulp > 0)
            printf(", worst %s(%a) = %a", f->name, (double)r.at_x, (double)r.got);
        printf("\n");
        if (r.mismatch_vec || r.mismatch_base || r.bad_range)
            printf("    FAIL: %zu vector/scalar and %zu host/x86-64 differences, %zu unbounded results\n",
                   r.mismatch_vec, r.mismatch_base, r.bad_range);
        if (!ok) {
            printf("    FAIL: %s\n", f->name);
            failures++;
        }
    }
    dlclose(hh);
    dlclose(hb);
    build_fini(&host);
    build_fini(&base);
    assert_int_equal(failures, 0);
}

/* Exact values a caller relies on (the sign of zero, C's pow and fmod
 * cases), on the host build. */
static void test_special_values(void **state)
{
    (void)state;
    Build bd;
    build_init(&bd, NULL, NULL);
    build_module(&bd);
    void *h = build_load(&bd);
    struct {
        const char *fn;
        float x, y, want;
    } cases[] = {
        {"floor", -0.0f, 0, -0.0f},     {"floor", -0.5f, 0, -1.0f},    {"floor", 0.5f, 0, 0.0f},
        {"ceil", -0.5f, 0, -0.0f},      {"ceil", 0.5f, 0, 1.0f},       {"trunc", -0.7f, 0, -0.0f},
        {"rne", -0.3f, 0, -0.0f},       {"rne", 2.5f, 0, 2.0f},        {"rne", -3.5f, 0, -4.0f},
        {"rne", 0x1p22f + 0.5f, 0, 0x1p22f}, {"floor", -0x1p22f - 0.5f, 0, -0x1p22f - 1},
        {"exp", 0.0f, 0, 1.0f},         {"exp", -0.0f, 0, 1.0f},       {"exp", INFINITY, 0, INFINITY},
        {"exp", -INFINITY, 0, 0.0f},    {"exp", NAN, 0, NAN},          {"exp", 89.0f, 0, INFINITY},
        {"exp", 100.0f, 0, INFINITY},   {"exp", -110.0f, 0, 0.0f},
        {"log", 0.0f, 0, -INFINITY},    {"log", -0.0f, 0, -INFINITY},  {"log", -1.0f, 0, NAN},
        {"log", INFINITY, 0, INFINITY}, {"log", 1.0f, 0, 0.0f},        {"log1p", -1.0f, 0, -INFINITY},
        {"log1p", -2.0f, 0, NAN},       {"log1p", -0.0f, 0, -0.0f},    {"log1p", 1e-10f, 0, 1e-10f},
        {"log1p", INFINITY, 0, INFINITY}, {"erf", -0.0f, 0, -0.0f},    {"erf", INFINITY, 0, 1.0f},
        {"erf", -INFINITY, 0, -1.0f},   {"erf", NAN, 0, NAN},          {"sin", -0.0f, 0, -0.0f},
        {"sin", INFINITY, 0, NAN},      {"cos", -INFINITY, 0, NAN},    {"tan", -0.0f, 0, -0.0f},
        {"tan", NAN, 0, NAN},           {"cos", 0.0f, 0, 1.0f},        {"atan", -INFINITY, 0, -1.5707964f},
        {"atan", -0.0f, 0, -0.0f},      {"pow", NAN, 0.0f, 1.0f},      {"pow", NAN, -0.0f, 1.0f},
        {"pow", 1.0f, NAN, 1.0f},       {"pow", -1.0f, INFINITY, 1.0f}, {"pow", -1.0f, NAN, NAN},
        {"pow", -2.0f, 3.0f, -8.0f},    {"pow", -2.0f, 0.5f, NAN},     {"pow", -0.0f, -3.0f, -INFINITY},
        {"pow", -0.0f, -2.0f, INFINITY}, {"pow", 0.0f, -1.0f, INFINITY}, {"pow", -0.0f, 3.0f, -0.0f},
        {"pow", -0.0f, 0.5f, 0.0f},     {"pow", -INFINITY, 3.0f, -INFINITY}, {"pow", -INFINITY, -3.0f, -0.0f},
        {"pow", -INFINITY, 0.5f, INFINITY}, {"pow", 0.5f, INFINITY, 0.0f}, {"pow", 0.5f, -INFINITY, INFINITY},
        {"pow", 2.0f, 128.0f, INFINITY}, {"pow", 2.0f, -150.0f, 0.0f}, {"pow", 2.0f, -149.0f, 0x1p-149f},
        {"pow", -2.0f, 0x1p24f + 2, INFINITY}, {"pow", 10.0f, 2.0f, 100.0f}, {"pow", 2.0f, 0.5f, 1.4142135f},
        {"fmod", 5.5f, 2.0f, 1.5f},     {"fmod", -5.5f, 2.0f, -1.5f},  {"fmod", -4.0f, 2.0f, -0.0f},
        {"fmod", 1.0f, 0.0f, NAN},      {"fmod", INFINITY, 1.0f, NAN}, {"fmod", 3.0f, INFINITY, 3.0f},
        {"fmod", -0.0f, 1.0f, -0.0f},   {"fmod", NAN, 1.0f, NAN},      {"fmod", FLT_MAX, 0x1p-149f, 0.0f},
        {"fmod", 1.0f, 0.1f, 0x1.999996p-4f},
    };
    int bad = 0;
    float xs[4], ys[4], out[4];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const MathFn *f = NULL;
        for (int k = 0; k < NFNS; k++)
            if (!strcmp(fns[k].name, cases[i].fn))
                f = &fns[k];
        assert_non_null(f);
        for (int l = 0; l < 4; l++)
            xs[l] = cases[i].x, ys[l] = cases[i].y;
        for (int vec = 0; vec < 2; vec++) {
            kernel(h, f, vec)(xs, ys, out, 4);
            float g = out[0], w = cases[i].want;
            bool same = isnan(w) ? isnan(g) : (g == w && signbit(g) == signbit(w));
            if (!same) {
                printf("  %s(%a, %a) = %a, want %a (%s)\n", cases[i].fn, (double)cases[i].x, (double)cases[i].y,
                       (double)g, (double)w, vec ? "vector" : "scalar");
                bad++;
            }
        }
    }
    dlclose(h);
    build_fini(&bd);
    assert_int_equal(bad, 0);
}

/* No libm on plain x86-64 (where llvm.floor & co. would become calls to
 * floorf), and nothing but vector code in the loops on x86-64-v3. */
static void test_no_libcalls_and_vectorized(void **state)
{
    (void)state;
    Build bd;
    build_init(&bd, "x86_64", "x86-64");
    build_module(&bd);
    char names[1024];
    int n = external_calls(&bd, names, sizeof names);
    if (n)
        printf("  x86-64: the optimized IR calls%s\n", names);
    assert_int_equal(n, 0);
    const char *undef = undefined_symbols(&bd);
    if (undef[0])
        printf("  x86-64: the object needs%s\n", undef);
    assert_string_equal(undef, "");
    build_fini(&bd);

    build_init(&bd, "x86_64", "x86-64-v3");
    build_module(&bd);
    int scalar_loops = 0;
    for (int k = 0; k < NFNS; k++) {
        char name[64];
        snprintf(name, sizeof name, "mf_%s_s", fns[k].name);
        LLVMValueRef fn = LLVMGetNamedFunction(bd.cg.mod, name);
        assert_non_null(fn);
        char *ir = LLVMPrintValueToString(fn);
        if (!strstr(ir, "x float>")) {
            printf("  x86-64-v3: the loop of %s was not vectorized\n", fns[k].name);
            scalar_loops++;
        }
        LLVMDisposeMessage(ir);
    }
    assert_string_equal(undefined_symbols(&bd), "");
    build_fini(&bd);
    assert_int_equal(scalar_loops, 0);
}

static void test_aarch64(void **state)
{
    (void)state;
    Build bd;
    build_init(&bd, "aarch64", "generic");
    build_module(&bd);
    const char *undef = undefined_symbols(&bd);
    if (undef[0])
        printf("  aarch64: the object needs%s\n", undef);
    assert_string_equal(undef, "");
    build_fini(&bd);
}

static void test_nvptx(void **state)
{
    (void)state;
    Build bd;
    build_init(&bd, "nvptx", "sm_80");
    build_module(&bd);
    size_t len = 0;
    char *ptx = cg_emit_ptx(&bd.cg, &len);
    assert_non_null(ptx);
    assert_true(len > 0);
    assert_null(strstr(ptx, ".extern")); /* no calls out (libdevice, libm) */
    const char *ptxas = "/usr/local/cuda/bin/ptxas";
    if (access(ptxas, X_OK) == 0) {
        char path[64], log[80];
        snprintf(path, sizeof path, "/tmp/qkc-mathfn-%d.ptx", (int)getpid());
        snprintf(log, sizeof log, "%s.log", path);
        FILE *fp = fopen(path, "w");
        assert_non_null(fp);
        fwrite(ptx, 1, len, fp);
        fclose(fp);
        const char *argv[] = {ptxas, "-arch=sm_80", path, "-o", "/dev/null", NULL};
        int rc = tu_spawn(argv, log);
        char msg[512];
        tu_read_log(log, msg, sizeof msg);
        unlink(path);
        unlink(log);
        if (rc != 0)
            fail_msg("ptxas: %s", msg);
    } else {
        printf("  (no %s: the PTX is not assembled)\n", ptxas);
    }
    free(ptx);
    build_fini(&bd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accuracy),
        cmocka_unit_test(test_special_values),
        cmocka_unit_test(test_no_libcalls_and_vectorized),
        cmocka_unit_test(test_aarch64),
        cmocka_unit_test(test_nvptx),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* kt_ops.c — cases for the op families of the op-table redesign (ir/ops.def):
 *   eltwise2  the elementwise ops by expression (codegen/k_eltwise.c) beyond
 *             kt_eltwise.c's: every float unary op, integer Abs/Neg/Sign,
 *             Pow (mixed types), Mod (fmod 0 and 1), PRelu, comparisons,
 *             the bool ops, Where (three-way broadcasting), IsNaN/IsInf,
 *             and a chain the passes fuse (FusedElementwise);
 *   reduce    Reduce* over any axes (keepdims, noop_with_empty_axes, empty
 *             reductions), ArgMax/ArgMin (ties, select_last_index, NaN),
 *             CumSum (exclusive, reverse) (codegen/k_reduce.c);
 *   norm      Layer/Instance/GroupNormalization (k_reduce.c), LogSoftmax
 *             and Hardmax (k_misc.c), GlobalMaxPool (k_pool.c);
 *   index     Slice, Expand, Tile, Pad, DepthToSpace, SpaceToDepth, Trilu,
 *             Split, and Shape/Size/ConstantOfShape/Range left to run
 *             time (codegen/k_index.c);
 *   gather    Gather, GatherElements, GatherND: negative and out-of-range
 *             indices, constant and run-time (k_index.c);
 *   resize    Resize: every nearest_mode, linear, cubic, the coordinate
 *             modes, up and down, scales and sizes (k_index.c);
 *   einsum    Einsum: matmul, batch matmul, transpose, diagonal, trace,
 *             sums, inner and outer products (k_einsum.c).
 * The cases are few models with many outputs (each compile costs a few
 * hundred ms per target): one per dtype group or variant, on edge sizes
 * (smaller than a vector, not a multiple of it, size-1 dims, the symbolic
 * batch N where the op allows it, broadcasting), every dtype the op takes.
 * Outputs that only select, or are correctly rounded in every precision
 * (Abs, Floor, Sqrt, comparisons, data movement, ...), are compared bit for
 * bit. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "kt.h"

typedef struct Ty {
    const char *onnx, *tag;
} Ty;

static const Ty F32 = {"float", "f32"}, F16 = {"float16", "f16"}, BF16 = {"bfloat16", "bf16"},
                F64 = {"double", "f64"}, I8 = {"int8", "i8"}, U8 = {"uint8", "u8"}, I16 = {"int16", "i16"},
                U16 = {"uint16", "u16"}, I32 = {"int32", "i32"}, U32 = {"uint32", "u32"}, I64 = {"int64", "i64"},
                U64 = {"uint64", "u64"}, BOOL = {"bool", "bool"};

static bool is_float(const Ty *t) { return t == &F32 || t == &F16 || t == &BF16 || t == &F64; }

/* ---- a model builder: inputs, initializers, outputs with their nodes ----- */

typedef struct Mb {
    KtText in, inits, out, body;
    int nin, nout;
    KtOpts o;
} Mb;

/* An input (declaration "float[N,3] x") drawn with `fill`. */
static void mb_in(Mb *m, KtFill fill, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void mb_in(Mb *m, KtFill fill, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kt_printf(&m->in, "%s%s", m->nin ? ", " : "", buf);
    m->o.fill[m->nin++] = fill;
}

/* An initializer ("int64[2] axes = {0, 1}"). */
static void mb_init(Mb *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mb_init(Mb *m, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kt_printf(&m->inits, "%s%s", m->inits.n ? ", " : "", buf);
}

/* Output `decl` ("float[] y", or several "float[] a, float[] b"),
 * compared bit for bit when `exact`, and the node(s) computing it (body
 * lines, "y = Op(x)"). At most KT_MAXIO inputs and outputs a model. */
static void mb_out(Mb *m, const char *decl, bool exact, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void mb_out(Mb *m, const char *decl, bool exact, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kt_printf(&m->out, "%s%s", m->nout ? ", " : "", decl);
    kt_printf(&m->body, "  %s\n", buf);
    for (const char *p = decl; p; p = strchr(p + 1, ',')) { /* "float[] a, float[] b": two outputs */
        if (exact && m->nout < 32)
            m->o.exact |= 1u << m->nout;
        m->nout++;
    }
}

/* A body line that computes no output (an intermediate). */
static void mb_node(Mb *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void mb_node(Mb *m, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kt_printf(&m->body, "  %s\n", buf);
}

/* Run the model as case `name` (opset, AArch64 too when `arm`), and reset m. */
static void mb_run(Mb *m, const char *name, int opset, bool arm)
{
    KtText t = {0};
    kt_header(&t, opset);
    kt_printf(&t, "g (%s) => (%s)\n", m->in.s ? m->in.s : "", m->out.s);
    if (m->inits.n)
        kt_printf(&t, "<%s>\n", m->inits.s);
    kt_printf(&t, "{\n%s}\n", m->body.s);
    m->o.arm = arm;
    kt_case(name, &m->o, t.s);
    kt_text_free(&t);
    kt_text_free(&m->in);
    kt_text_free(&m->inits);
    kt_text_free(&m->out);
    kt_text_free(&m->body);
    *m = (Mb){0};
}

/* ==== eltwise2 ============================================================ */

typedef struct UOp {
    const char *out, *node; /* output name; the node, reading x */
    bool exact;             /* bit for bit in every float type */
    bool cheap;             /* no math function: also on the variants that test shapes and rounding */
    bool narrow;            /* not on KT_WIDE data: codegen/mathfn.c's sin/cos/tan mean nothing
                             * past |x| = 1e8 */
} UOp;

/* Every float unary op of ops.def (Relu, LeakyRelu, Clip, Sigmoid, Tanh
 * are kt_eltwise.c's). */
static const UOp unary_ops[] = {
    {"erf", "Erf(x)", false, false, false},
    {"sqrt", "Sqrt(x)", true, true, false},
    {"recip", "Reciprocal(x)", true, true, false},
    {"exp", "Exp(x)", false, false, false},
    {"log", "Log(x)", false, false, false},
    {"abs", "Abs(x)", true, true, false},
    {"neg", "Neg(x)", true, true, false},
    {"sign", "Sign(x)", true, true, false},
    {"floor", "Floor(x)", true, true, false},
    {"ceil", "Ceil(x)", true, true, false},
    {"round", "Round(x)", true, true, false},
    {"sin", "Sin(x)", false, false, true},
    {"cos", "Cos(x)", false, false, true},
    {"tan", "Tan(x)", false, false, true},
    {"hsig", "HardSigmoid<alpha = 0.25, beta = 0.625>(x)", false, true, false},
    {"hsig_def", "HardSigmoid(x)", false, false, false},
    {"hswish", "HardSwish(x)", false, true, false},
    {"softplus", "Softplus(x)", false, false, false},
    {"softsign", "Softsign(x)", false, true, false},
    {"elu", "Elu<alpha = 0.5>(x)", false, false, false},
    {"selu", "Selu(x)", false, false, false},
    {"celu", "Celu<alpha = 2.0>(x)", false, false, false},
    {"thr", "ThresholdedRelu<alpha = 0.5>(x)", true, true, false},
    {"shrink", "Shrink<bias = 1.5, lambd = 1.0>(x)", true, true, false},
    {"shrink_def", "Shrink(x)", true, true, false},
    {"gelu", "Gelu(x)", false, false, false},
    {"gelu_tanh", "Gelu<approximate = \"tanh\">(x)", false, false, false},
    {"mish", "Mish(x)", false, false, false},
    {"isnan", "IsNaN(x)", true, true, false},
    {"isinf", "IsInf(x)", true, true, false},
    {"isinf_pos", "IsInf<detect_negative = 0>(x)", true, true, false},
    {"isinf_neg", "IsInf<detect_positive = 0>(x)", true, true, false},
};
enum { NUNARY = sizeof unary_ops / sizeof unary_ops[0] };

/* The unary ops (all, or the cheap ones) on x of type t and dims `d`. */
static void unary_floats(const Ty *t, const char *d, KtFill fill, double scale, bool cheap_only, bool arm)
{
    char name[96];
    snprintf(name, sizeof name, "unary_%s%s_%s%s", t->tag, d, fill == KT_WIDE ? "specials" : fill == KT_SMALL ? "small" : "rand",
             cheap_only ? "_cheap" : "");
    Mb m = {0};
    mb_in(&m, fill, "%s%s x", t->onnx, d);
    m.o.scale = scale;
    for (int i = 0; i < NUNARY; i++) {
        const UOp *u = &unary_ops[i];
        if ((fill == KT_WIDE && u->narrow) || (cheap_only && !u->cheap))
            continue;
        char decl[64];
        snprintf(decl, sizeof decl, "%s[] %s", strncmp(u->out, "is", 2) ? t->onnx : "bool", u->out);
        mb_out(&m, decl, u->exact, "%s = %s", u->out, u->node);
    }
    mb_run(&m, name, 20, arm);
}

void kt_eltwise2(void)
{
    Mb m = {0};
    /* the float unary ops: specials and random values, every float type;
     * shapes (a scalar, empty, not a multiple of the vector) on the cheap ones */
    unary_floats(&F32, "[N,67]", KT_WIDE, 0, false, true);
    unary_floats(&F32, "[3,1,17]", KT_RAND, 6, false, false);
    unary_floats(&F16, "[N,33]", KT_WIDE, 0, false, false);
    unary_floats(&F64, "[2,19]", KT_RAND, 20, false, false);
    unary_floats(&BF16, "[2,35]", KT_WIDE, 0, true, false);
    unary_floats(&BF16, "[N,9]", KT_RAND, 5, false, false);
    unary_floats(&F64, "[N,33]", KT_WIDE, 0, true, true);
    unary_floats(&F32, "[130]", KT_RAND, 40, false, false);
    unary_floats(&F32, "", KT_RAND, 3, false, false);
    unary_floats(&F32, "[2,3,4,5]", KT_SMALL, 0, true, false); /* halves: Round's ties, Floor/Ceil of -0 */
    unary_floats(&F16, "[5,7]", KT_SMALL, 0, true, false);
    unary_floats(&F64, "[0,5]", KT_RAND, 0, true, false);

    /* integer Abs, Neg, Sign (and Relu): wrap-around at the extremes */
    static const Ty *const ints[] = {&I8, &U8, &I16, &I32, &I64, &U64};
    for (int k = 0; k < 6; k++) {
        const Ty *t = ints[k];
        char d[64];
        mb_in(&m, KT_WIDE, "%s[%s,37] x%d", t->onnx, k == 3 ? "N" : "3", k);
        snprintf(d, sizeof d, "%s[] abs%d", t->onnx, k);
        mb_out(&m, d, true, "abs%d = Abs(x%d)", k, k);
        snprintf(d, sizeof d, "%s[] sign%d", t->onnx, k);
        mb_out(&m, d, true, "sign%d = Sign(x%d)", k, k);
        if (t != &U8 && t != &U64) {
            snprintf(d, sizeof d, "%s[] neg%d", t->onnx, k);
            mb_out(&m, d, true, "neg%d = Neg(x%d)", k, k);
        }
    }
    mb_run(&m, "unary_ints", 14, true);

    /* comparisons: every numeric type, broadcasting, NaN and the extremes */
    static const struct {
        const Ty *t;
        const char *da, *db;
        KtFill fa, fb;
    } cmp[] = {
        {&F32, "[N,33]", "[N,33]", KT_WIDE, KT_WIDE}, {&F32, "[4,1,9]", "[3,1]", KT_SMALL, KT_SMALL},
        {&F16, "[2,17]", "[17]", KT_WIDE, KT_SMALL},  {&BF16, "[2,17]", "", KT_SMALL, KT_SMALL},
        {&F64, "[5]", "[1]", KT_WIDE, KT_WIDE},       {&I8, "[3,19]", "[19]", KT_SMALL, KT_SMALL},
        {&U8, "[3,19]", "[3,1]", KT_WIDE, KT_WIDE},   {&I32, "[40]", "[40]", KT_WIDE, KT_SMALL},
        {&I64, "[2,3,5]", "[5]", KT_WIDE, KT_WIDE},   {&U64, "[37]", "[37]", KT_WIDE, KT_WIDE},
        {&U16, "[2,9]", "[1,9]", KT_WIDE, KT_SMALL},  {&U32, "[2,9]", "[1,9]", KT_WIDE, KT_WIDE},
        {&I16, "[9]", "", KT_SMALL, KT_SMALL},
    };
    static const char *const cmp_ops[] = {"Equal", "Less", "LessOrEqual", "Greater", "GreaterOrEqual"};
    for (int k = 0; k < (int)(sizeof cmp / sizeof cmp[0]); k++) {
        char d[32];
        mb_in(&m, cmp[k].fa, "%s%s a%d", cmp[k].t->onnx, cmp[k].da, k);
        mb_in(&m, cmp[k].fb, "%s%s b%d", cmp[k].t->onnx, cmp[k].db, k);
        for (int j = 0; j < 5; j++) {
            snprintf(d, sizeof d, "bool[] c%d_%d", k, j);
            mb_out(&m, d, true, "c%d_%d = %s(a%d, b%d)", k, j, cmp_ops[j], k, k);
        }
        if (k == 4 || k == 8 || k == 12)
            mb_run(&m, k == 4 ? "compare_floats" : k == 8 ? "compare_ints" : "compare_ints_unsigned", 16, k == 4);
    }

    /* the bool ops (and Equal of bools), broadcasting */
    mb_in(&m, KT_RAND, "bool[N,1,7] a");
    mb_in(&m, KT_RAND, "bool[3,1] b");
    mb_in(&m, KT_RAND, "bool[131] c");
    mb_out(&m, "bool[] and", true, "and = And(a, b)");
    mb_out(&m, "bool[] or", true, "or = Or(a, b)");
    mb_out(&m, "bool[] xor", true, "xor = Xor(a, b)");
    mb_out(&m, "bool[] not", true, "not = Not(a)");
    mb_out(&m, "bool[] eq", true, "eq = Equal(a, b)");
    mb_out(&m, "bool[] notc", true, "notc = Not(c)");
    mb_out(&m, "bool[] xorc", true, "xorc = Xor(c, c)");
    mb_run(&m, "logic_bool", 16, true);

    /* Where: all three operands broadcast; every kind of value */
    static const struct {
        const Ty *t;
        const char *dc, *da, *db;
    } wh[] = {
        {&F32, "[N,1,5]", "[4,1]", "[5]"}, {&F32, "", "[2,3]", "[1,3]"},       {&F16, "[3,1,1]", "[1,4,1]", "[1,1,5]"},
        {&BF16, "[7]", "[7]", "[7]"},      {&F64, "[2,9]", "", "[2,9]"},        {&I64, "[N,33]", "[N,33]", "[1]"},
        {&I8, "[2,1,3,1]", "[4,1,2]", "[1,1,1,1,1]"}, {&U16, "[65]", "[65]", "[65]"}, {&BOOL, "[4,6]", "[1,6]", "[4,1]"},
    };
    for (int k = 0; k < (int)(sizeof wh / sizeof wh[0]); k++) {
        char d[32];
        mb_in(&m, KT_RAND, "bool%s c%d", wh[k].dc, k);
        mb_in(&m, KT_WIDE, "%s%s a%d", wh[k].t->onnx, wh[k].da, k);
        mb_in(&m, KT_WIDE, "%s%s b%d", wh[k].t->onnx, wh[k].db, k);
        snprintf(d, sizeof d, "%s[] y%d", wh[k].t->onnx, k);
        mb_out(&m, d, true, "y%d = Where(c%d, a%d, b%d)", k, k, k, k);
        if (k == 5 || k == 8)
            mb_run(&m, k == 5 ? "where_batch" : "where_static", 16, k == 5);
    }

    /* Pow: floats (C pow's specials), float bases with integer exponents */
    m.o.scale = 3;
    mb_in(&m, KT_WIDE, "float[N,37] a0");
    mb_in(&m, KT_WIDE, "float[N,37] b0");
    mb_in(&m, KT_POS, "float[3,19] a1");
    mb_in(&m, KT_RAND, "float[19] b1");
    mb_in(&m, KT_POS, "float16[2,17] a2");
    mb_in(&m, KT_SMALL, "float16[2,17] b2");
    mb_in(&m, KT_POS, "double[23] a3");
    mb_in(&m, KT_RAND, "double[23] b3");
    mb_in(&m, KT_RAND, "float[4,9] a4");
    mb_in(&m, KT_SMALL, "int32[9] b4");
    mb_in(&m, KT_SMALL, "int64[4,1] b5");
    mb_in(&m, KT_SMALL, "uint8[9] b6");
    mb_out(&m, "float[] p0", false, "p0 = Pow(a0, b0)");
    mb_out(&m, "float[] p1", false, "p1 = Pow(a1, b1)");
    mb_out(&m, "float16[] p2", false, "p2 = Pow(a2, b2)");
    mb_out(&m, "double[] p3", false, "p3 = Pow(a3, b3)");
    mb_out(&m, "float[] p4", false, "p4 = Pow(a4, b4)");
    mb_out(&m, "float[] p5", false, "p5 = Pow(a4, b5)");
    mb_out(&m, "float[] p6", false, "p6 = Pow(a4, b6)");
    mb_run(&m, "pow_floats", 15, true);
    /* integers: exact, wrapping; negative exponents (0 unless |a| = 1, also
     * for unsigned bases), unsigned exponents past the signed range; an
     * integer base with a float exponent (truncated, saturated) */
    mb_in(&m, KT_WIDE, "int32[N,19] a0");
    mb_in(&m, KT_SMALL, "int32[N,19] b0");
    mb_in(&m, KT_SMALL, "uint8[41] a1");
    mb_in(&m, KT_SMALL, "int8[41] b1");
    mb_in(&m, KT_SMALL, "int8[41] a2");
    mb_in(&m, KT_WIDE, "uint8[41] b2");
    mb_in(&m, KT_SMALL, "int64[21] a3");
    mb_in(&m, KT_WIDE, "uint64[21] b3");
    mb_in(&m, KT_SMALL, "int32[4,7] a4");
    mb_in(&m, KT_SMALL, "float[7] b4");
    mb_out(&m, "int32[] p0", true, "p0 = Pow(a0, b0)");
    mb_out(&m, "uint8[] p1", true, "p1 = Pow(a1, b1)");
    mb_out(&m, "int8[] p2", true, "p2 = Pow(a2, b2)");
    mb_out(&m, "int64[] p3", true, "p3 = Pow(a3, b3)");
    mb_out(&m, "int32[] p4", true, "p4 = Pow(a4, b4)");
    mb_run(&m, "pow_ints", 15, true);

    /* Mod, fmod 0 and 1: integers with zeros and -1 under INT_MIN; floats
     * (fmod 1, and 0 as numpy's mod) with zeros */
    static const struct {
        const Ty *t;
        const char *da, *db;
        KtFill fa, fb;
    } md[] = {
        {&I8, "[N,16]", "[N,16]", KT_DIVIDEND, KT_DIVISOR}, {&U8, "[3,21]", "[21]", KT_WIDE, KT_DIVISOR},
        {&I16, "[40]", "[40]", KT_DIVIDEND, KT_DIVISOR},   {&I32, "[N,16]", "[N,16]", KT_DIVIDEND, KT_DIVISOR},
        {&U32, "[3,9]", "[9]", KT_WIDE, KT_DIVISOR},       {&I64, "[N,16]", "[N,16]", KT_DIVIDEND, KT_DIVISOR},
        {&U64, "[N,3]", "[3]", KT_WIDE, KT_DIVISOR},       {&F32, "[N,33]", "[N,33]", KT_RAND, KT_DIVISOR},
        {&F32, "[2,7]", "[7]", KT_SMALL, KT_SMALL},        {&F16, "[3,11]", "[11]", KT_RAND, KT_DIVISOR},
        {&F64, "[2,19]", "[2,19]", KT_RAND, KT_DIVISOR},
    };
    m.o.scale = 8;
    for (int k = 0; k < (int)(sizeof md / sizeof md[0]); k++) {
        char d[32];
        mb_in(&m, md[k].fa, "%s%s a%d", md[k].t->onnx, md[k].da, k);
        mb_in(&m, md[k].fb, "%s%s b%d", md[k].t->onnx, md[k].db, k);
        snprintf(d, sizeof d, "%s[] py%d", md[k].t->onnx, k);
        /* bit for bit, signs of zeros included (f64 is computed in f32, k_eltwise.c) */
        mb_out(&m, d, md[k].t != &F64, "py%d = Mod<fmod = 0>(a%d, b%d)", k, k, k);
        snprintf(d, sizeof d, "%s[] c%d", md[k].t->onnx, k);
        mb_out(&m, d, md[k].t != &F64, "c%d = Mod<fmod = 1>(a%d, b%d)", k, k, k);
        if (k == 6 || k == 10) {
            mb_run(&m, k == 6 ? "mod_ints" : "mod_floats", 13, k == 6);
            m.o.scale = 8;
        }
    }

    /* PRelu: a slope per channel, per row, a scalar; floats and signed ints */
    mb_in(&m, KT_WIDE, "float[N,3,5,7] x0");
    mb_in(&m, KT_RAND, "float[3,1,1] s0");
    mb_in(&m, KT_RAND, "float16[4,33] x1");
    mb_in(&m, KT_RAND, "float16[33] s1");
    mb_in(&m, KT_RAND, "double[2,17] x2");
    mb_in(&m, KT_RAND, "double s2");
    mb_in(&m, KT_RAND, "bfloat16[2,17] x3");
    mb_in(&m, KT_RAND, "bfloat16[2,17] s3");
    mb_out(&m, "float[] y0", false, "y0 = PRelu(x0, s0)");
    mb_out(&m, "float16[] y1", false, "y1 = PRelu(x1, s1)");
    mb_out(&m, "double[] y2", false, "y2 = PRelu(x2, s2)");
    mb_out(&m, "bfloat16[] y3", false, "y3 = PRelu(x3, s3)");
    mb_run(&m, "prelu_floats", 16, true);
    mb_in(&m, KT_WIDE, "int8[3,19] x0");
    mb_in(&m, KT_WIDE, "int8[19] s0");
    mb_in(&m, KT_WIDE, "int32[N,9] x1");
    mb_in(&m, KT_WIDE, "int32[1] s1");
    mb_in(&m, KT_WIDE, "int64[2,9] x2");
    mb_in(&m, KT_WIDE, "int64[2,1] s2");
    mb_out(&m, "int8[] y0", true, "y0 = PRelu(x0, s0)");
    mb_out(&m, "int32[] y1", true, "y1 = PRelu(x1, s1)");
    mb_out(&m, "int64[] y2", true, "y2 = PRelu(x2, s2)");
    mb_run(&m, "prelu_ints", 16, false);

    /* a chain the passes fuse into one FusedElementwise kernel (BERT's GELU
     * spelled out, and one of f16 data computed in f32, rounded once) */
    m.o.scale = 4;
    mb_in(&m, KT_RAND, "float[N,37] x");
    mb_in(&m, KT_RAND, "float16[3,17] h");
    mb_init(&m, "float s2 = {1.4142135}, float one = {1.0}, float half = {0.5}");
    mb_node(&m, "d = Div(x, s2)");
    mb_node(&m, "e = Erf(d)");
    mb_node(&m, "p = Add(e, one)");
    mb_node(&m, "q = Mul(x, p)");
    mb_out(&m, "float[] gelu", false, "gelu = Mul(q, half)");
    mb_node(&m, "t = Tanh(h)");
    mb_node(&m, "u = Abs(t)");
    mb_out(&m, "float16[] hh", false, "hh = Neg(u)");
    mb_run(&m, "fused_chains", 13, true);
}

/* ==== reduce ================================================================ */

static const char *const reduce_ops[] = {"ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd",
                                         "ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSum",
                                         "ReduceLogSumExp"};
enum { RALL = 0x3ff };

/* The Reduce ops in `ops` (bit i: reduce_ops[i]) of x{k} (type t) over
 * `axes` (NULL: none given), keepdims, noop_with_empty_axes; outputs r{v}_i. */
static void reduce_add(Mb *m, int v, int k, const Ty *t, unsigned ops, const char *axes, int keep, int noop)
{
    char at[64], d[32], args[32];
    snprintf(at, sizeof at, "<keepdims = %d%s>", keep, noop ? ", noop_with_empty_axes = 1" : "");
    if (axes) {
        int n = 1;
        for (const char *p = axes; *p; p++)
            n += *p == ',';
        mb_init(m, "int64[%d] ax%d = {%s}", n, v, axes);
    }
    snprintf(args, sizeof args, axes ? "x%d, ax%d" : "x%d", k, v);
    for (int i = 0; i < 10; i++)
        if (ops >> i & 1) {
            snprintf(d, sizeof d, "%s[] r%d_%d", t->onnx, v, i);
            /* Max and Min select; integers are exact */
            mb_out(m, d, !is_float(t) || i == 2 || i == 3, "r%d_%d = %s%s(%s)", v, i, reduce_ops[i], at, args);
        }
}

/* ArgMax and ArgMin of x{k} along every axis from `first`, with keepdims
 * and select_last_index each way (the variants in `vars`, bit v: keepdims
 * v & 1, select_last_index v & 2, ArgMax v & 4). */
static void arg_add(Mb *m, int k, int rank, int first, unsigned vars)
{
    for (int ax = first; ax < rank; ax++)
        for (int v = 0; v < 8; v++) {
            if (!(vars >> v & 1))
                continue;
            char d[32];
            int keep = v & 1, last = v >> 1 & 1, mx = v >> 2;
            snprintf(d, sizeof d, "int64[] a%d_%d_%d", k, ax, v);
            mb_out(m, d, true, "a%d_%d_%d = %s<axis = %d, keepdims = %d, select_last_index = %d>(x%d)", k, ax, v,
                   mx ? "ArgMax" : "ArgMin", ax == rank - 1 && keep ? -1 : ax, keep, last, k);
        }
}

/* CumSum of x{k} along every axis from `first`, exclusive and reverse each
 * way; the axis as int32 and int64, the last one negative. */
static void cumsum_add(Mb *m, int k, const Ty *t, int rank, int first)
{
    for (int ax = first; ax < rank; ax++) {
        mb_init(m, "%s c%d_%d = {%d}", ax % 2 ? "int32" : "int64", k, ax, ax == rank - 1 ? -1 : ax);
        for (int v = 0; v < 4; v++) {
            char d[32];
            snprintf(d, sizeof d, "%s[] s%d_%d_%d", t->onnx, k, ax, v);
            mb_out(m, d, !is_float(t), "s%d_%d_%d = CumSum<exclusive = %d, reverse = %d>(x%d, c%d_%d)", k, ax, v,
                   v & 1, v >> 1, k, k, ax);
        }
    }
}

void kt_reduce(void)
{
    Mb m = {0};
    /* f32: some axes with the batch kept; long rows (130: not a multiple of
     * the vector); NaN and infinities; all axes by default; no axes (noop) */
    mb_in(&m, KT_RAND, "float[N,3,37] x0");
    reduce_add(&m, 0, 0, &F32, RALL, "1, 2", 1, 0);
    mb_run(&m, "f32_N_3_37_axes12", 18, true);
    /* rows with +inf, only -inf, NaN, or neither */
    static const double inf_rows[] = {1, INFINITY, 2, 3, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                      0.5, -INFINITY, 1, 2, 1, NAN, INFINITY, -INFINITY};
    mb_in(&m, KT_POS, "float[3,1,130] x0");
    mb_in(&m, KT_WIDE, "float[3,17] x1");
    mb_in(&m, KT_VALUES, "float[4,4] x2");
    m.o.values[2] = (KtValues){inf_rows, 16};
    reduce_add(&m, 0, 0, &F32, RALL, "-1", 0, 0);
    reduce_add(&m, 1, 1, &F32, RALL, "1", 1, 0);
    reduce_add(&m, 2, 2, &F32, 0x3c5, "1", 0, 0);
    mb_run(&m, "f32_long_specials", 18, false);
    mb_in(&m, KT_POS, "float[4,5,6] x0");
    mb_in(&m, KT_POS, "float[2,3,4] x1");
    mb_in(&m, KT_RAND, "float[2,0,3] x2");
    reduce_add(&m, 0, 0, &F32, 0x3c7, "0, -1", 1, 0);
    reduce_add(&m, 1, 1, &F32, 0x2c5, NULL, 0, 0);
    reduce_add(&m, 2, 1, &F32, 0x3c1, NULL, 1, 1); /* no axes: the identity of each op */
    reduce_add(&m, 3, 2, &F32, RALL, "1", 0, 0);   /* empty: Sum 0, Prod 1, Max -inf, Mean NaN, ... */
    mb_run(&m, "f32_axes_default_noop_empty", 18, false);
    /* the other float types */
    m.o.scale = 2;
    mb_in(&m, KT_POS, "float16[2,3,33] x0");
    mb_in(&m, KT_RAND, "bfloat16[N,19] x1");
    reduce_add(&m, 0, 0, &F16, RALL, "1", 0, 0);
    reduce_add(&m, 1, 1, &BF16, RALL, "-1", 1, 0);
    mb_run(&m, "f16_bf16", 18, true);
    mb_in(&m, KT_POS, "double[3,4,5] x0");
    mb_in(&m, KT_WIDE, "double[2,9] x1");
    reduce_add(&m, 0, 0, &F64, RALL, "0, 1", 0, 0);
    reduce_add(&m, 1, 1, &F64, 0x00f, "1", 1, 0);
    mb_run(&m, "f64", 18, false);
    /* integers: wrap-around, the extremes (KT_WIDE), empty Max/Min (the
     * type's least and largest); rows long enough not to unroll */
    mb_in(&m, KT_RAND, "int32[N,3,37] x0");
    mb_in(&m, KT_WIDE, "int64[4,70] x1");
    reduce_add(&m, 0, 0, &I32, RALL, "1, 2", 1, 0);
    reduce_add(&m, 1, 1, &I64, 0x3ff, "1", 0, 0);
    mb_run(&m, "i32_i64", 18, true);
    mb_in(&m, KT_WIDE, "int8[3,67] x0");
    mb_in(&m, KT_POS, "uint8[3,67] x1");
    reduce_add(&m, 0, 0, &I8, 0x3ff, "-1", 0, 0);
    reduce_add(&m, 1, 1, &U8, RALL, "1", 1, 0);
    mb_run(&m, "i8_u8", 18, false);
    mb_in(&m, KT_WIDE, "int16[2,70] x0");
    mb_in(&m, KT_WIDE, "uint32[70,3] x1");
    mb_in(&m, KT_WIDE, "uint64[N,33] x2");
    mb_in(&m, KT_RAND, "int32[5,7] x3"); /* a short row: its loop unrolls */
    reduce_add(&m, 0, 0, &I16, 0x0bf, "-1", 0, 0);
    reduce_add(&m, 1, 1, &U32, 0x0bf, "0", 1, 0);
    reduce_add(&m, 2, 2, &U64, 0x0bf, "1", 0, 0);
    reduce_add(&m, 3, 3, &I32, 0x00d, "1", 0, 0);
    mb_run(&m, "i16_u32_u64", 18, false);
    mb_in(&m, KT_RAND, "int32[2,0,3] x0");
    mb_in(&m, KT_RAND, "int8[2,0,3] x1");
    mb_in(&m, KT_RAND, "uint16[2,0,3] x2");
    reduce_add(&m, 0, 0, &I32, RALL, "1", 1, 0);
    reduce_add(&m, 1, 1, &I8, 0x00c, "1", 0, 0);
    reduce_add(&m, 2, 2, &U16, 0x00c, "1", 0, 0);
    mb_run(&m, "ints_empty", 18, false);

    /* ArgMax/ArgMin: every axis, keepdims, select_last_index; ties (small
     * values), NaN (the extreme, first or last) */
    mb_in(&m, KT_SMALL, "float[3,4,5] x0");
    mb_in(&m, KT_WIDE, "float[N,3,17] x1");
    arg_add(&m, 0, 3, 0, 0xff);
    arg_add(&m, 1, 3, 2, 0xff);
    mb_run(&m, "arg_f32", 13, true);
    mb_in(&m, KT_SMALL, "float16[2,33] x0");
    mb_in(&m, KT_WIDE, "bfloat16[2,9] x1");
    mb_in(&m, KT_WIDE, "double[3,7] x2");
    mb_in(&m, KT_SMALL, "int32[N,2,5] x3");
    mb_in(&m, KT_WIDE, "uint8[4,9] x4");
    mb_in(&m, KT_WIDE, "int64[3,5] x5");
    mb_in(&m, KT_WIDE, "uint64[3,5] x6");
    mb_in(&m, KT_SMALL, "int8[67] x7");
    static const unsigned some = 1u << 2 | 1u << 5 | 1u << 6; /* ArgMin last; ArgMax first (keepdims), last */
    arg_add(&m, 0, 2, 1, some);
    arg_add(&m, 1, 2, 0, some);
    arg_add(&m, 2, 2, 1, some);
    arg_add(&m, 3, 3, 2, some);
    arg_add(&m, 4, 2, 1, some);
    arg_add(&m, 5, 2, 0, some);
    arg_add(&m, 6, 2, 1, some);
    arg_add(&m, 7, 1, 0, some);
    mb_run(&m, "arg_types", 13, false);

    /* CumSum: every axis, exclusive and reverse */
    mb_in(&m, KT_RAND, "float[2,3,5] x0");
    mb_in(&m, KT_WIDE, "float[N,37] x1");
    mb_in(&m, KT_RAND, "float16[3,9] x2");
    mb_in(&m, KT_RAND, "double[3,9] x3");
    cumsum_add(&m, 0, &F32, 3, 0);
    cumsum_add(&m, 1, &F32, 2, 1);
    cumsum_add(&m, 2, &F16, 2, 1);
    cumsum_add(&m, 3, &F64, 2, 0);
    mb_run(&m, "cumsum_floats", 14, true);
    mb_in(&m, KT_WIDE, "int32[N,2,6] x0");
    mb_in(&m, KT_WIDE, "int64[4,8] x1");
    mb_in(&m, KT_WIDE, "uint8[3,17] x2");
    mb_in(&m, KT_RAND, "int8[3,5] x3");
    mb_in(&m, KT_WIDE, "uint64[2,5] x4");
    cumsum_add(&m, 0, &I32, 3, 1);
    cumsum_add(&m, 1, &I64, 2, 0);
    cumsum_add(&m, 2, &U8, 2, 1);
    cumsum_add(&m, 3, &I8, 2, 0);
    cumsum_add(&m, 4, &U64, 2, 1);
    mb_run(&m, "cumsum_ints", 14, false);
}

/* ==== norm ==================================================================== */

void kt_norm(void)
{
    Mb m = {0};
    /* LayerNormalization over [axis, rank): scale and bias of the
     * normalized dims (or broadcasting to them), outputs y, mean, 1/stddev */
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float[N,5,37] x0");
    mb_in(&m, KT_RAND, "float[37] s0");
    mb_in(&m, KT_RAND, "float[37] b0");
    mb_in(&m, KT_RAND, "float[2,3,4] x1");
    mb_in(&m, KT_RAND, "float[3,4] s1");
    mb_in(&m, KT_RAND, "float[2,3,4] s2");
    mb_in(&m, KT_RAND, "float[1,4] s3");
    mb_out(&m, "float[] y0, float[] mean0, float[] inv0", false,
           "y0, mean0, inv0 = LayerNormalization<epsilon = 0.001>(x0, s0, b0)");
    mb_out(&m, "float[] y1", false, "y1 = LayerNormalization<axis = 1>(x1, s1)");
    mb_out(&m, "float[] y2, float[] mean2, float[] inv2", false,
           "y2, mean2, inv2 = LayerNormalization<axis = 0>(x1, s2)");
    mb_out(&m, "float[] y3", false, "y3 = LayerNormalization<axis = -2>(x1, s3, s3)");
    mb_run(&m, "layernorm_f32", 17, true);
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float16[N,17] x0");
    mb_in(&m, KT_RAND, "float16[17] s0");
    mb_in(&m, KT_RAND, "bfloat16[2,33] x1");
    mb_in(&m, KT_RAND, "bfloat16[33] s1");
    mb_in(&m, KT_RAND, "double[3,9] x2");
    mb_in(&m, KT_RAND, "double[9] s2");
    mb_in(&m, KT_RAND, "float[4,130] x3");
    mb_in(&m, KT_RAND, "float[130] s3");
    mb_out(&m, "float16[] y0, float[] mean0, float[] inv0", false,
           "y0, mean0, inv0 = LayerNormalization(x0, s0, s0)");
    mb_out(&m, "bfloat16[] y1", false, "y1 = LayerNormalization(x1, s1)");
    mb_out(&m, "double[] y2, float[] mean2, float[] inv2", false, "y2, mean2, inv2 = LayerNormalization(x2, s2, s2)");
    mb_out(&m, "float[] y3", false, "y3 = LayerNormalization(x3, s3)");
    mb_run(&m, "layernorm_types", 17, false);

    /* InstanceNormalization: per (n, c) over the spatial dims */
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float[N,3,5,7] x0");
    mb_in(&m, KT_RAND, "float[2,4,33] x1");
    mb_in(&m, KT_RAND, "float[4] s1");
    mb_in(&m, KT_RAND, "float[4] b1");
    mb_init(&m, "float[3] s0 = {0.5, -1.25, 2.0}, float[3] b0 = {0.125, 0.0, -3.5}");
    mb_out(&m, "float[] y0", false, "y0 = InstanceNormalization<epsilon = 0.01>(x0, s0, b0)");
    mb_out(&m, "float[] y1", false, "y1 = InstanceNormalization(x1, s1, b1)");
    mb_run(&m, "instnorm_f32", 6, false);
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float16[1,2,3,4,5] x0");
    mb_in(&m, KT_RAND, "float16[2] s0");
    mb_in(&m, KT_RAND, "double[3,2,1] x1");
    mb_in(&m, KT_RAND, "double[2] s1");
    mb_out(&m, "float16[] y0", false, "y0 = InstanceNormalization(x0, s0, s0)");
    mb_out(&m, "double[] y1", false, "y1 = InstanceNormalization(x1, s1, s1)");
    mb_run(&m, "instnorm_f16_f64", 6, false);

    /* GroupNormalization: scale and bias per channel (opset 21), or per
     * group (opset 18, where one per channel is two different things) */
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float[N,6,5] x0");
    mb_in(&m, KT_RAND, "float[6] s0");
    mb_in(&m, KT_RAND, "float[6] b0");
    mb_in(&m, KT_RAND, "float16[2,4,17] x1");
    mb_in(&m, KT_RAND, "float16[4] s1");
    mb_out(&m, "float[] y3", false, "y3 = GroupNormalization<num_groups = 3>(x0, s0, b0)");
    mb_out(&m, "float[] y1", false, "y1 = GroupNormalization<num_groups = 1>(x0, s0, b0)");
    mb_out(&m, "float[] y6", false, "y6 = GroupNormalization<num_groups = 6, epsilon = 0.01>(x0, s0, b0)");
    mb_out(&m, "float16[] h2", false, "h2 = GroupNormalization<num_groups = 2>(x1, s1, s1)");
    mb_run(&m, "groupnorm_per_channel", 21, true);
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float[2,6,3,3] x0");
    mb_in(&m, KT_RAND, "float[2] s0");
    mb_in(&m, KT_RAND, "float[2] b0");
    mb_in(&m, KT_RAND, "double[1,8,5] x1");
    mb_in(&m, KT_RAND, "double[4] s1");
    mb_out(&m, "float[] y0", false, "y0 = GroupNormalization<num_groups = 2>(x0, s0, b0)");
    mb_out(&m, "double[] y1", false, "y1 = GroupNormalization<num_groups = 4>(x1, s1, s1)");
    mb_run(&m, "groupnorm_per_group", 18, false);

    /* LogSoftmax and Hardmax: every axis; opset 13's one axis, opset 11's
     * flattening; ties (small values: Hardmax's first maximum) */
    for (int opset = 11; opset <= 13; opset += 2) {
        m.o.scale = 6;
        mb_in(&m, opset == 13 ? KT_SMALL : KT_RAND, "float[2,3,4,5] x0");
        mb_in(&m, KT_RAND, "float[N,3,5] x1");
        for (int ax = -1; ax < 4; ax += opset == 13 ? 1 : 2) {
            char d[48];
            snprintf(d, sizeof d, "float[] l%d", ax + 1);
            mb_out(&m, d, false, "l%d = LogSoftmax<axis = %d>(x0)", ax + 1, ax);
            snprintf(d, sizeof d, "float[] h%d", ax + 1);
            mb_out(&m, d, true, "h%d = Hardmax<axis = %d>(x0)", ax + 1, ax);
        }
        mb_out(&m, "float[] lb, float[] hb", false, "lb = LogSoftmax<axis = 1>(x1)\n  hb = Hardmax<axis = 2>(x1)");
        mb_run(&m, opset == 13 ? "softmax_like_opset13" : "softmax_like_opset11", opset, opset == 13);
    }
    m.o.scale = 6;
    mb_in(&m, KT_SMALL, "float16[N,17] x0");
    mb_in(&m, KT_RAND, "bfloat16[4,33] x1");
    mb_in(&m, KT_RAND, "double[3,7,5] x2");
    mb_in(&m, KT_RAND, "float[2,1031] x3");
    mb_in(&m, KT_WIDE, "float[3,9] x4");
    mb_in(&m, KT_RAND, "float[5,1] x5");
    mb_out(&m, "float16[] l0, float16[] h0", false, "l0 = LogSoftmax(x0)\n  h0 = Hardmax(x0)");
    mb_out(&m, "bfloat16[] l1, bfloat16[] h1", false, "l1 = LogSoftmax(x1)\n  h1 = Hardmax(x1)");
    mb_out(&m, "double[] l2, double[] h2", false, "l2 = LogSoftmax<axis = 1>(x2)\n  h2 = Hardmax<axis = 1>(x2)");
    mb_out(&m, "float[] l3, float[] h3", false, "l3 = LogSoftmax(x3)\n  h3 = Hardmax(x3)");
    mb_out(&m, "float[] l4, float[] h4", false, "l4 = LogSoftmax(x4)\n  h4 = Hardmax(x4)");
    mb_out(&m, "float[] l5, float[] h5", false, "l5 = LogSoftmax(x5)\n  h5 = Hardmax(x5)");
    mb_run(&m, "softmax_like_types", 13, false);

    /* GlobalMaxPool: NaN wins; every rank; every float type; int8 through
     * QuantizeLinear -> GlobalMaxPool -> DequantizeLinear */
    mb_in(&m, KT_WIDE, "float[N,3,5,7] x0");
    mb_in(&m, KT_RAND, "float[2,3,67] x1");
    mb_in(&m, KT_RAND, "float[1,2,3,4,5] x2");
    mb_in(&m, KT_RAND, "float[N,4,1,1] x3");
    mb_in(&m, KT_WIDE, "float16[2,3,4,5] x4");
    mb_in(&m, KT_RAND, "bfloat16[2,3,9] x5");
    mb_in(&m, KT_WIDE, "double[2,3,9] x6");
    mb_out(&m, "float[] y0", true, "y0 = GlobalMaxPool(x0)");
    mb_out(&m, "float[] y1", true, "y1 = GlobalMaxPool(x1)");
    mb_out(&m, "float[] y2", true, "y2 = GlobalMaxPool(x2)");
    mb_out(&m, "float[] y3", true, "y3 = GlobalMaxPool(x3)");
    mb_out(&m, "float16[] y4", true, "y4 = GlobalMaxPool(x4)");
    mb_out(&m, "bfloat16[] y5", true, "y5 = GlobalMaxPool(x5)");
    mb_out(&m, "double[] y6", true, "y6 = GlobalMaxPool(x6)");
    mb_run(&m, "globalmaxpool", 13, true);
    m.o.scale = 3;
    mb_in(&m, KT_RAND, "float[N,3,4,5] x");
    mb_init(&m, "float sc = {0.05}, int8 zp = {-3}");
    mb_node(&m, "q = QuantizeLinear(x, sc, zp)");
    mb_node(&m, "p = GlobalMaxPool(q)");
    mb_out(&m, "float[] y", true, "y = DequantizeLinear(p, sc, zp)");
    mb_run(&m, "globalmaxpool_int8", 13, false);
}

/* ==== index =================================================================== */

/* Slice of x{k} (opset 13: starts, ends, axes, steps as constants). */
static void slice_add(Mb *m, int k, const Ty *t, const char *st, const char *en, const char *ax, const char *sp)
{
    int n = 1;
    for (const char *p = st; *p; p++)
        n += *p == ',';
    mb_init(m, "int64[%d] st%d = {%s}, int64[%d] en%d = {%s}, int64[%d] ax%d = {%s}, int64[%d] sp%d = {%s}", n, k, st,
            n, k, en, n, k, ax, n, k, sp);
    char d[32];
    snprintf(d, sizeof d, "%s[] y%d", t->onnx, k);
    mb_out(m, d, true, "y%d = Slice(x%d, st%d, en%d, ax%d, sp%d)", k, k, k, k, k, k);
}

/* Pad of x{k} in the modes of `modes` (bit i: constant, reflect, edge, wrap;
 * opset 18: pads, the value and axes inputs). */
static void pad_add(Mb *m, int k, const Ty *t, unsigned modes_, const char *pads, const char *value, const char *axes)
{
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    int n = 1;
    for (const char *p = pads; *p; p++)
        n += *p == ',';
    mb_init(m, "int64[%d] p%d = {%s}", n, k, pads);
    if (value)
        mb_init(m, "%s v%d = {%s}", t->onnx, k, value);
    if (axes)
        mb_init(m, "int64[%d] a%d = {%s}", n / 2, k, axes);
    for (int i = 0; i < 4; i++) {
        if (!(modes_ >> i & 1))
            continue;
        char d[32], extra[32] = "";
        if (!value && axes)
            snprintf(extra, sizeof extra, ", , a%d", k);
        else if (value && axes)
            snprintf(extra, sizeof extra, ", v%d, a%d", k, k);
        else if (value)
            snprintf(extra, sizeof extra, ", v%d", k);
        snprintf(d, sizeof d, "%s[] %c%d", t->onnx, "crew"[i], k);
        mb_out(m, d, true, "%c%d = Pad<mode = \"%s\">(x%d, p%d%s)", "crew"[i], k, modes[i], k, k, extra);
    }
}

void kt_index(void)
{
    Mb m = {0};
    /* Slice: negative steps, clamped ends, empty results, the batch kept */
    mb_in(&m, KT_WIDE, "float[5,7] x0");
    mb_in(&m, KT_WIDE, "float[N,3,17] x1");
    mb_in(&m, KT_WIDE, "int64[6,9] x2");
    mb_in(&m, KT_WIDE, "float[4,5] x3");
    mb_in(&m, KT_WIDE, "uint8[130] x4");
    slice_add(&m, 0, &F32, "4, 1", "-9223372036854775807, 7", "0, 1", "-2, 3");
    slice_add(&m, 1, &F32, "-1, -1", "-100, -100", "1, 2", "-1, -1");
    slice_add(&m, 2, &I64, "-100, 2", "100, -1", "0, -1", "1, 1");
    slice_add(&m, 3, &F32, "3", "1", "1", "1");
    slice_add(&m, 4, &U8, "129", "-131", "0", "-3");
    mb_run(&m, "slice_batch", 13, true);
    mb_in(&m, KT_WIDE, "float16[2,3,4,5] x0");
    mb_in(&m, KT_RAND, "bool[N,37] x1");
    mb_in(&m, KT_WIDE, "bfloat16[3,1,9] x2");
    mb_in(&m, KT_WIDE, "int16[7] x3");
    slice_add(&m, 0, &F16, "1, 0, 3, 4", "2, 3, 0, -9", "0, 1, 2, 3", "1, 2, -1, -2");
    slice_add(&m, 1, &BOOL, "5", "36", "1", "4");
    slice_add(&m, 2, &BF16, "0, 8", "1, 0", "1, 2", "1, -3");
    slice_add(&m, 3, &I16, "-2", "-9223372036854775807", "0", "-1");
    mb_run(&m, "slice_types", 13, false);

    /* Expand (both ways, the batch) and Tile */
    mb_in(&m, KT_WIDE, "float[3,1] x0");
    mb_in(&m, KT_WIDE, "int8[1,5] x1");
    mb_in(&m, KT_RAND, "bool[2,1,1] x2");
    mb_in(&m, KT_WIDE, "float16 x3");
    mb_in(&m, KT_WIDE, "double[4] x4");
    mb_in(&m, KT_WIDE, "float[N,1,3] x5");
    mb_init(&m, "int64[3] s0 = {2, 1, 4}, int64[1] s1 = {1}, int64[2] s2 = {3, 33}, int64[3] s3 = {4, 3, 1}, "
                "int64[3] s4 = {2, 3, 5}, int64[2] s5 = {3, 17}, int64[2] s6 = {2, 1}, int64[3] s7 = {1, 4, 3}, "
                "int64[3] s8 = {1, 2, 1}");
    mb_out(&m, "float[] e0", true, "e0 = Expand(x0, s0)");
    mb_out(&m, "float[] e1", true, "e1 = Expand(x0, s1)");
    mb_out(&m, "float[] e2", true, "e2 = Expand(x0, s2)");
    mb_out(&m, "int8[] e3", true, "e3 = Expand(x1, s3)");
    mb_out(&m, "bool[] e4", true, "e4 = Expand(x2, s4)");
    mb_out(&m, "float16[] e5", true, "e5 = Expand(x3, s5)");
    mb_out(&m, "double[] e6", true, "e6 = Expand(x4, s6)");
    mb_out(&m, "float[] e7", true, "e7 = Expand(x5, s7)");
    mb_out(&m, "float[] e8", true, "e8 = Expand(x5, s8)");
    mb_run(&m, "expand", 13, true);
    mb_in(&m, KT_WIDE, "float[2,3] x0");
    mb_in(&m, KT_WIDE, "uint16[3] x1");
    mb_in(&m, KT_RAND, "bool[1,2] x2");
    mb_in(&m, KT_WIDE, "int64[N,2,1] x3");
    mb_init(&m, "int64[2] r0 = {2, 3}, int64[1] r1 = {4}, int64[2] r2 = {3, 1}, int64[2] r3 = {1, 0}, "
                "int64[3] r4 = {1, 3, 5}");
    mb_out(&m, "float[] t0", true, "t0 = Tile(x0, r0)");
    mb_out(&m, "uint16[] t1", true, "t1 = Tile(x1, r1)");
    mb_out(&m, "bool[] t2", true, "t2 = Tile(x2, r2)");
    mb_out(&m, "float[] t3", true, "t3 = Tile(x0, r3)");
    mb_out(&m, "int64[] t4", true, "t4 = Tile(x3, r4)");
    mb_run(&m, "tile", 13, false);

    /* Pad: every mode; negative pads (crop); axes; every element size */
    mb_in(&m, KT_WIDE, "float[3,5] x0");
    mb_in(&m, KT_WIDE, "float[4,6] x1");
    mb_in(&m, KT_WIDE, "float[N,4,5] x2");
    mb_in(&m, KT_WIDE, "float[2,3,4,5] x3");
    pad_add(&m, 0, &F32, 0xf, "1, 2, 2, 1", "1.5", NULL);
    pad_add(&m, 1, &F32, 0xf, "-1, 2, 1, -2", NULL, NULL);
    pad_add(&m, 2, &F32, 0xf, "2, -1, 1, 3", NULL, "2, 1");
    pad_add(&m, 3, &F32, 0xf, "0, 1, 2, 3, 0, 0, 1, 2", "-3.0", NULL);
    mb_run(&m, "pad_f32", 18, true);
    mb_in(&m, KT_WIDE, "int8[3,5] x0");
    mb_in(&m, KT_WIDE, "int64[3,5] x1");
    mb_in(&m, KT_WIDE, "float16[3,5] x2");
    mb_in(&m, KT_WIDE, "uint16[2,33] x3");
    mb_in(&m, KT_WIDE, "double[5] x4");
    pad_add(&m, 0, &I8, 0xf, "2, 0, 1, 4", "-7", NULL);
    pad_add(&m, 1, &I64, 0xf, "0, 1, 2, 0", "123456789012", NULL);
    pad_add(&m, 2, &F16, 0xf, "1, 1, 1, 1", NULL, NULL);
    pad_add(&m, 3, &U16, 0xf, "1, 0, 0, 2", NULL, NULL);
    pad_add(&m, 4, &F64, 0xf, "4, 3", "2.5", NULL);
    mb_run(&m, "pad_types", 18, false);
    mb_in(&m, KT_RAND, "bool[3,4] x0");
    mb_in(&m, KT_WIDE, "float[3,4] x1");
    mb_init(&m, "int64[4] p = {1, 1, 0, 2}, bool v = {1}");
    mb_out(&m, "bool[] y", true, "y = Pad(x0, p, v)");
    mb_out(&m, "bool[] z", true, "z = Pad<mode = \"edge\">(x0, p)");
    mb_run(&m, "pad_bool", 18, false);
    mb_in(&m, KT_WIDE, "float[3,4] x");
    mb_out(&m, "float[] y", true, "y = Pad<pads = [0, 1, 2, 0], value = 0.5>(x)");
    mb_run(&m, "pad_opset2_attrs", 2, false);

    /* DepthToSpace (DCR, CRD), SpaceToDepth */
    mb_in(&m, KT_WIDE, "float[N,8,2,3] x0");
    mb_in(&m, KT_WIDE, "uint8[2,9,2,2] x1");
    mb_in(&m, KT_WIDE, "int16[1,2,6,3] x2");
    mb_in(&m, KT_WIDE, "float16[1,3,5,7] x3");
    mb_out(&m, "float[] dcr", true, "dcr = DepthToSpace<blocksize = 2>(x0)");
    mb_out(&m, "float[] crd", true, "crd = DepthToSpace<blocksize = 2, mode = \"CRD\">(x0)");
    mb_out(&m, "float[] s2d", true, "s2d = SpaceToDepth<blocksize = 2>(dcr)");
    mb_out(&m, "uint8[] dcr3", true, "dcr3 = DepthToSpace<blocksize = 3>(x1)");
    mb_out(&m, "uint8[] crd3", true, "crd3 = DepthToSpace<blocksize = 3, mode = \"CRD\">(x1)");
    mb_out(&m, "int16[] s2d3", true, "s2d3 = SpaceToDepth<blocksize = 3>(x2)");
    mb_out(&m, "float16[] d1", true, "d1 = DepthToSpace<blocksize = 1>(x3)");
    mb_out(&m, "float16[] s1", true, "s1 = SpaceToDepth<blocksize = 1>(x3)");
    mb_run(&m, "depth_space", 13, true);

    /* Trilu: upper and lower, k from the diagonal both ways, non-square */
    mb_in(&m, KT_WIDE, "float[N,5,7] x0");
    mb_in(&m, KT_WIDE, "int8[33,3] x1");
    mb_in(&m, KT_RAND, "bool[4,4] x2");
    mb_in(&m, KT_WIDE, "float16[2,3,1] x3");
    mb_init(&m, "int64 k2 = {2}, int64 km3 = {-3}, int64 k9 = {9}, int64 km1 = {-1}");
    mb_out(&m, "float[] u", true, "u = Trilu(x0)");
    mb_out(&m, "float[] l", true, "l = Trilu<upper = 0>(x0)");
    mb_out(&m, "float[] u2", true, "u2 = Trilu(x0, k2)");
    mb_out(&m, "float[] lm3", true, "lm3 = Trilu<upper = 0>(x0, km3)");
    mb_out(&m, "float[] u9", true, "u9 = Trilu(x0, k9)");
    mb_out(&m, "int8[] ui", true, "ui = Trilu(x1, km1)");
    mb_out(&m, "bool[] lb", true, "lb = Trilu<upper = 0>(x2)");
    mb_out(&m, "float16[] lh", true, "lh = Trilu<upper = 0>(x3, km1)");
    mb_run(&m, "trilu", 14, true);

    /* Split: uneven sizes, equal parts (the last one smaller), every axis */
    mb_in(&m, KT_WIDE, "float[N,10,3] x0");
    mb_in(&m, KT_WIDE, "int64[7,2] x1");
    mb_in(&m, KT_RAND, "bool[5] x2");
    mb_init(&m, "int64[3] s0 = {3, 0, 7}, int64[2] s1 = {6, 1}");
    mb_out(&m, "float[] a, float[] b, float[] c", true, "a, b, c = Split<axis = 1>(x0, s0)");
    mb_out(&m, "float[] d, float[] e", true, "d, e = Split<axis = -1, num_outputs = 2>(x0)");
    mb_out(&m, "int64[] f, int64[] g", true, "f, g = Split(x1, s1)");
    mb_out(&m, "bool[] h, bool[] i, bool[] j", true, "h, i, j = Split<num_outputs = 3>(x2)");
    mb_run(&m, "split", 18, true);
    mb_in(&m, KT_WIDE, "float16[2,37] x");
    mb_out(&m, "float16[] a, float16[] b", true, "a, b = Split<axis = 1, split = [30, 7]>(x)");
    mb_run(&m, "split_opset11_attr", 11, false);

    /* Shape and Size of a batched input, and graph outputs (not folded);
     * ConstantOfShape of a shape holding the batch; Range as an output */
    mb_in(&m, KT_RAND, "float[N,3,5] x0");
    mb_in(&m, KT_RAND, "uint8[2,0,7] x1");
    mb_out(&m, "int64[] s", true, "s = Shape(x0)");
    mb_out(&m, "int64[] s1", true, "s1 = Shape<start = 1>(x0)");
    mb_out(&m, "int64[] s2", true, "s2 = Shape<start = -3, end = -1>(x0)");
    mb_out(&m, "int64[] n", true, "n = Size(x0)");
    mb_out(&m, "int64[] t", true, "t = Shape<end = 100>(x1)");
    mb_out(&m, "int64[] tn", true, "tn = Size(x1)");
    mb_out(&m, "int64[] te", true, "te = Shape<start = 2, end = 1>(x1)");
    mb_node(&m, "sh = Shape(x0)");
    mb_out(&m, "float[] z", true, "z = ConstantOfShape(sh)");
    mb_out(&m, "int64[] ci", true, "ci = ConstantOfShape<value = int64[1] {-5000000000}>(sh)");
    mb_out(&m, "bool[] cb", true, "cb = ConstantOfShape<value = bool[1] {1}>(sh)");
    mb_out(&m, "double[] cd", true, "cd = ConstantOfShape<value = double[1] {0.1}>(sh)");
    mb_out(&m, "int8[] cc", true, "cc = ConstantOfShape<value = int8[1] {-128}>(sh)");
    mb_init(&m, "int64 b1 = {-3}, int64 l1 = {40}, int64 d1 = {2}, int32 b2 = {10}, int32 l2 = {-7}, "
                "int32 d2 = {-3}, float b3 = {0.0}, float l3 = {1.0}, float d3 = {0.1}, double b4 = {2.5}, "
                "double l4 = {-1.0}, double d4 = {-0.3}, int16 b5 = {0}, int16 l5 = {5}, int16 d5 = {5}, "
                "float b6 = {1.0}, float d6 = {1.0}, int64[2] cs = {3, 5}");
    mb_out(&m, "int64[] ra", true, "ra = Range(b1, l1, d1)");
    mb_out(&m, "int32[] rb", true, "rb = Range(b2, l2, d2)");
    mb_out(&m, "float[] rc", true, "rc = Range(b3, l3, d3)");
    mb_out(&m, "double[] rd", true, "rd = Range(b4, l4, d4)");
    mb_out(&m, "int16[] re", true, "re = Range(b5, l5, d5)");
    mb_out(&m, "float[] rf", true, "rf = Range(b6, b6, d6)");
    mb_out(&m, "float[] zc", true, "zc = ConstantOfShape<value = float[1] {-2.5}>(cs)");
    mb_run(&m, "shape_size_fill_range", 15, true);
}

/* ==== gather ================================================================== */

void kt_gather(void)
{
    Mb m = {0};
    /* constant indices: negative, out of range both ways (clamped) */
    mb_in(&m, KT_WIDE, "float[N,5,3] x");
    mb_init(&m, "int64[2,3] i = {0, -1, 4, 9, -6, 2}, int32 s = {-2}, int64[1] one = {3}");
    mb_out(&m, "float[] a", true, "a = Gather<axis = 1>(x, i)");
    mb_out(&m, "float[] b", true, "b = Gather<axis = -1>(x, s)");
    mb_out(&m, "float[] c", true, "c = Gather<axis = 2>(x, one)");
    mb_run(&m, "gather_const_indices", 13, false);
    /* run-time indices: in range, negative, out of range, the extremes */
    static const double idx[] = {0, 1, -1, 2, -3, 4, 5, -5, -6, 100, -100, 3, 4611686018427387904.0,
                                 -9223372036854775808.0};
    static const double idx32[] = {3, -4, 7, -8, 0, 2147483647.0, -2147483648.0, 1};
    const KtValues v64 = {idx, (int)(sizeof idx / sizeof idx[0])}, v32 = {idx32, 8};
    mb_in(&m, KT_WIDE, "float[5,4] x0");
    mb_in(&m, KT_VALUES, "int64[N,3] i0");
    m.o.values[1] = v64;
    mb_in(&m, KT_WIDE, "int8[3,4,2] x1");
    mb_in(&m, KT_VALUES, "int32[2,3] i1");
    m.o.values[3] = v32;
    mb_in(&m, KT_WIDE, "float16[4,33] x2");
    mb_in(&m, KT_VALUES, "int32 i2");
    m.o.values[5] = v32;
    mb_in(&m, KT_RAND, "bool[6] x3");
    mb_in(&m, KT_WIDE, "uint64[4,2] x4");
    mb_out(&m, "float[] a", true, "a = Gather(x0, i0)");
    mb_out(&m, "int8[] b", true, "b = Gather<axis = 1>(x1, i1)");
    mb_out(&m, "float16[] c", true, "c = Gather(x2, i2)");
    mb_out(&m, "bool[] d", true, "d = Gather(x3, i1)");
    mb_out(&m, "uint64[] e", true, "e = Gather<axis = 0>(x4, i1)");
    mb_run(&m, "gather_runtime", 13, true);
    /* GatherElements: every axis, index tensors smaller than the data, the batch */
    mb_in(&m, KT_WIDE, "float[4,5] x0");
    mb_in(&m, KT_VALUES, "int64[3,5] i0");
    m.o.values[1] = v64;
    mb_in(&m, KT_VALUES, "int32[4,2] i1");
    m.o.values[2] = v32;
    mb_in(&m, KT_WIDE, "double[2,3,4] x2");
    mb_in(&m, KT_VALUES, "int64[2,2,7] i2");
    m.o.values[4] = v64;
    mb_in(&m, KT_WIDE, "int16[N,3,4] x3");
    mb_in(&m, KT_VALUES, "int64[N,5,4] i3");
    m.o.values[6] = v64;
    mb_out(&m, "float[] a", true, "a = GatherElements<axis = 0>(x0, i0)");
    mb_out(&m, "float[] b", true, "b = GatherElements<axis = -1>(x0, i1)");
    mb_out(&m, "double[] c", true, "c = GatherElements<axis = 2>(x2, i2)");
    mb_out(&m, "int16[] d", true, "d = GatherElements<axis = 1>(x3, i3)");
    mb_run(&m, "gather_elements", 13, true);
    /* GatherND: batch_dims 0, 1, 2; slices and single elements */
    mb_in(&m, KT_WIDE, "float[3,4,5] x0");
    mb_in(&m, KT_VALUES, "int64[2,3,2] i0");
    m.o.values[1] = v64;
    mb_in(&m, KT_VALUES, "int64[3,2,1] i1");
    m.o.values[2] = v64;
    mb_in(&m, KT_WIDE, "uint8[2,3,4,5] x2");
    mb_in(&m, KT_VALUES, "int64[2,3,4,2] i2");
    m.o.values[4] = v64;
    mb_in(&m, KT_WIDE, "float16[3,4] x3");
    mb_in(&m, KT_VALUES, "int64[5,2] i3");
    m.o.values[6] = v64;
    mb_in(&m, KT_WIDE, "int64[4,3] x4");
    mb_in(&m, KT_VALUES, "int64[N,2,1] i4");
    m.o.values[8] = v64;
    mb_out(&m, "float[] a", true, "a = GatherND(x0, i0)");
    mb_out(&m, "float[] b", true, "b = GatherND<batch_dims = 1>(x0, i1)");
    mb_out(&m, "uint8[] c", true, "c = GatherND<batch_dims = 2>(x2, i2)");
    mb_out(&m, "float16[] d", true, "d = GatherND(x3, i3)");
    mb_out(&m, "int64[] e", true, "e = GatherND(x4, i4)");
    mb_run(&m, "gather_nd", 13, true);
}

/* ==== resize ================================================================== */

typedef struct RsMode {
    const char *out, *attrs;
} RsMode;

#define NEAREST(c, n) "mode = \"nearest\", coordinate_transformation_mode = \"" c "\", nearest_mode = \"" n "\""
#define LINEAR(c) "mode = \"linear\", coordinate_transformation_mode = \"" c "\""
#define CUBIC(c) "mode = \"cubic\", coordinate_transformation_mode = \"" c "\""

static const RsMode nearest_modes[] = {
    {"hp_rpf", NEAREST("half_pixel", "round_prefer_floor")},
    {"hp_rpc", NEAREST("half_pixel", "round_prefer_ceil")},
    {"hp_floor", NEAREST("half_pixel", "floor")},
    {"hp_ceil", NEAREST("half_pixel", "ceil")},
    {"as_rpf", NEAREST("asymmetric", "round_prefer_floor")},
    {"as_floor", NEAREST("asymmetric", "floor")},
    {"as_ceil", NEAREST("asymmetric", "ceil")},
    {"ac_rpc", NEAREST("align_corners", "round_prefer_ceil")},
    {"php_rpf", NEAREST("pytorch_half_pixel", "round_prefer_floor")},
    {"tf_rpc", NEAREST("tf_half_pixel_for_nn", "round_prefer_ceil")},
    {"hps_floor", NEAREST("half_pixel_symmetric", "floor")},
};
static const RsMode linear_modes[] = {
    {"hp", LINEAR("half_pixel")},
    {"as", LINEAR("asymmetric")},
    {"ac", LINEAR("align_corners")},
    {"php", LINEAR("pytorch_half_pixel")},
    {"hps", LINEAR("half_pixel_symmetric")},
    {"tf", LINEAR("tf_half_pixel_for_nn")},
};
static const RsMode cubic_modes[] = {
    {"hp", CUBIC("half_pixel")},
    {"as", CUBIC("asymmetric")},
    {"ac", CUBIC("align_corners")},
    {"hp_a05_excl", CUBIC("half_pixel") ", cubic_coeff_a = -0.5, exclude_outside = 1"},
    {"php_excl", CUBIC("pytorch_half_pixel") ", exclude_outside = 1"},
};

/* Resize x{k} (type t, rank `rank`) by constant scales `sc` or sizes `sz`
 * in each of the modes m[0..n). */
static void resize_add(Mb *mb, int k, const Ty *t, int rank, const char *sc, const char *sz, const RsMode *m, int n)
{
    if (sc)
        mb_init(mb, "float[%d] sc%d = {%s}", rank, k, sc);
    else
        mb_init(mb, "int64[%d] sz%d = {%s}", rank, k, sz);
    for (int i = 0; i < n; i++) {
        char d[64], how[16];
        snprintf(d, sizeof d, "%s[] %s%d", t->onnx, m[i].out, k);
        snprintf(how, sizeof how, sc ? "sc%d" : ", sz%d", k);
        /* nearest selects; integers round once */
        mb_out(mb, d, strstr(m[i].attrs, "nearest") || !is_float(t), "%s%d = Resize<%s>(x%d, , %s)", m[i].out, k,
               m[i].attrs, k, how);
    }
}

void kt_resize(void)
{
    enum { NN = sizeof nearest_modes / sizeof nearest_modes[0], NL = sizeof linear_modes / sizeof linear_modes[0],
           NC = sizeof cubic_modes / sizeof cubic_modes[0] };
    Mb m = {0};
    /* nearest: up by 2 (specials: copied bit for bit), by fractions, to sizes, down */
    mb_in(&m, KT_WIDE, "float[N,2,3,5] x0");
    mb_in(&m, KT_RAND, "float[1,2,7,6] x1");
    resize_add(&m, 0, &F32, 4, "1.0, 1.0, 2.0, 2.0", NULL, nearest_modes, NN);
    resize_add(&m, 1, &F32, 4, "1.0, 1.0, 1.7, 0.6", NULL, nearest_modes, NN);
    mb_run(&m, "nearest_f32", 13, true);
    mb_in(&m, KT_RAND, "float[2,3,5] x0");
    mb_in(&m, KT_WIDE, "uint8[1,1,9,10] x1");
    resize_add(&m, 0, &F32, 3, NULL, "2, 3, 9", nearest_modes, NN);
    resize_add(&m, 1, &U8, 4, "1.0, 1.0, 0.5, 0.34", NULL, nearest_modes, NN);
    mb_run(&m, "nearest_sizes_u8", 13, false);
    /* linear: up, fractions (both ways at once), 3-D by sizes, f16, u8 (rounded) */
    m.o.scale = 4;
    mb_in(&m, KT_RAND, "float[N,2,3,5] x0");
    mb_in(&m, KT_RAND, "float[1,1,7,6] x1");
    mb_in(&m, KT_RAND, "float[1,2,3,4,5] x2");
    resize_add(&m, 0, &F32, 4, "1.0, 1.0, 2.0, 3.0", NULL, linear_modes, NL);
    resize_add(&m, 1, &F32, 4, "1.0, 1.0, 0.6, 1.5", NULL, linear_modes, NL);
    resize_add(&m, 2, &F32, 5, NULL, "1, 2, 5, 3, 8", linear_modes, 3);
    mb_run(&m, "linear_f32", 13, true);
    m.o.scale = 4;
    mb_in(&m, KT_RAND, "float16[1,3,4,4] x0");
    mb_in(&m, KT_WIDE, "uint8[1,1,5,6] x1");
    mb_in(&m, KT_RAND, "bfloat16[33] x2");
    resize_add(&m, 0, &F16, 4, "1.0, 1.0, 1.5, 2.5", NULL, linear_modes, 3);
    resize_add(&m, 1, &U8, 4, "1.0, 1.0, 2.0, 1.5", NULL, linear_modes, NL);
    resize_add(&m, 2, &BF16, 1, "2.5", NULL, linear_modes, 2);
    mb_run(&m, "linear_types", 13, false);
    /* cubic: up, down, u8 (overshoot saturates), f64 */
    m.o.scale = 4;
    mb_in(&m, KT_RAND, "float[N,1,4,5] x0");
    mb_in(&m, KT_RAND, "float[1,2,9,8] x1");
    resize_add(&m, 0, &F32, 4, "1.0, 1.0, 2.0, 1.6", NULL, cubic_modes, NC);
    resize_add(&m, 1, &F32, 4, NULL, "1, 2, 4, 3", cubic_modes, NC);
    mb_run(&m, "cubic_f32", 13, true);
    m.o.scale = 4;
    mb_in(&m, KT_WIDE, "uint8[1,1,6,7] x0");
    mb_in(&m, KT_RAND, "double[1,1,4,3] x1");
    resize_add(&m, 0, &U8, 4, "1.0, 1.0, 2.0, 2.0", NULL, cubic_modes, NC);
    resize_add(&m, 1, &F64, 4, "1.0, 1.0, 1.5, 2.0", NULL, cubic_modes, 3);
    mb_run(&m, "cubic_types", 13, false);
    /* Upsample (opset 9) imports as Resize, asymmetric coordinates */
    mb_in(&m, KT_WIDE, "float[1,2,3,4] x");
    mb_init(&m, "float[4] s = {1.0, 1.0, 2.0, 1.5}");
    mb_out(&m, "float[] n", true, "n = Upsample(x, s)");
    mb_out(&m, "float[] l", false, "l = Upsample<mode = \"linear\">(x, s)");
    mb_run(&m, "upsample_opset9", 9, false);
}

/* ==== einsum ================================================================== */

void kt_einsum(void)
{
    static const struct {
        const char *eq, *da, *db;
    } f32[] = {
        {"ij,jk->ik", "[3,5]", "[5,4]"},          {"bij,jk->bik", "[N,3,5]", "[5,7]"},
        {"bij,bjk->bik", "[2,3,17]", "[2,17,2]"}, {"bij,bjk->bik", "[1,3,4]", "[3,4,2]"},
        {"ij->ji", "[3,33]", NULL},               {"bij->bji", "[N,3,5]", NULL},
        {"ii->i", "[5,5]", NULL},                 {"ii->", "[4,4]", NULL},
        {"ij->", "[3,67]", NULL},                 {"ij->i", "[3,67]", NULL},
        {"i,i->", "[130]", "[130]"},              {"i,i", "[9]", "[9]"},
        {"i,j->ij", "[3]", "[5]"},                {"ij,ij->ij", "[3,5]", "[3,5]"},
        {"ijk,ikl->jl", "[2,3,4]", "[2,4,5]"},    {"...ij,...jk->...ik", "[2,3,4]", "[2,4,2]"},
    };
    Mb m = {0};
    int k = 0;
    for (int i = 0; i < (int)(sizeof f32 / sizeof f32[0]); i++) {
        char d[32], ops[32];
        mb_in(&m, KT_RAND, "float%s a%d", f32[i].da, k);
        if (f32[i].db)
            mb_in(&m, KT_RAND, "float%s b%d", f32[i].db, k);
        snprintf(d, sizeof d, "float[] y%d", k);
        snprintf(ops, sizeof ops, f32[i].db ? "a%d, b%d" : "a%d", k, k);
        mb_out(&m, d, false, "y%d = Einsum<equation = \"%s\">(%s)", k, f32[i].eq, ops);
        k++;
        if (i == 5 || i == 15) { /* the batched ones, then the rest */
            mb_run(&m, i == 5 ? "f32_batch" : "f32_shapes", 12, i == 5);
            k = 0;
        }
    }
    /* the other types (integers exact, wrapping) */
    m.o.scale = 2;
    mb_in(&m, KT_RAND, "float16[3,5] a0");
    mb_in(&m, KT_RAND, "float16[5,4] b0");
    mb_in(&m, KT_RAND, "bfloat16[3,5] a1");
    mb_in(&m, KT_RAND, "bfloat16[5,4] b1");
    mb_in(&m, KT_RAND, "double[3,5] a2");
    mb_in(&m, KT_RAND, "double[5,4] b2");
    mb_in(&m, KT_RAND, "int32[2,3,4] a3");
    mb_in(&m, KT_RAND, "int32[2,4,5] b3");
    mb_in(&m, KT_WIDE, "int64[5,5] a4");
    mb_in(&m, KT_WIDE, "int8[3,9] a5");
    mb_in(&m, KT_WIDE, "int8[9,4] b5");
    mb_in(&m, KT_WIDE, "uint8[30,3] a6");
    mb_out(&m, "float16[] y0", false, "y0 = Einsum<equation = \"ij,jk->ik\">(a0, b0)");
    mb_out(&m, "bfloat16[] y1", false, "y1 = Einsum<equation = \"ij,jk->ik\">(a1, b1)");
    mb_out(&m, "double[] y2", false, "y2 = Einsum<equation = \"ij,jk->ik\">(a2, b2)");
    mb_out(&m, "int32[] y3", true, "y3 = Einsum<equation = \"bij,bjk->bik\">(a3, b3)");
    mb_out(&m, "int64[] y4", true, "y4 = Einsum<equation = \"ii->i\">(a4)");
    mb_out(&m, "int8[] y5", true, "y5 = Einsum<equation = \"ij,jk->ik\">(a5, b5)");
    mb_out(&m, "uint8[] y6", true, "y6 = Einsum<equation = \"ij->j\">(a6)");
    mb_run(&m, "types", 12, true);
}

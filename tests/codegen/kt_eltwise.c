/* kt_eltwise.c — cases for codegen/k_eltwise.c's elementwise kernels:
 * unary ops (Relu, LeakyRelu, Clip, Sigmoid, Tanh), Cast between every
 * pair of dtypes, and the binary ops under every broadcast pattern. */
#include <stdio.h>

#include "kt.h"

/* ONNX text type names and TensorProto codes of the dtypes under test. */
typedef struct Ty {
    const char *onnx, *tag;
    int code;
} Ty;

static const Ty F32 = {"float", "f32", 1}, F16 = {"float16", "f16", 10}, BF16 = {"bfloat16", "bf16", 16},
                F64 = {"double", "f64", 11}, I8 = {"int8", "i8", 3}, U8 = {"uint8", "u8", 2},
                I32 = {"int32", "i32", 6}, I64 = {"int64", "i64", 7}, BOOL = {"bool", "bool", 9};

static bool is_float(const Ty *t) { return t == &F32 || t == &F16 || t == &BF16 || t == &F64; }

/* ---- unary -------------------------------------------------------------- */

/* One model per dtype and shape: every float unary op on the same x. */
static void unary_floats(const Ty *t, int rank, const int64_t *dims, KtFill fill, double scale, bool arm)
{
    char name[96], d[64];
    KtText m = {0};
    kt_dims(d, sizeof d, rank, dims);
    snprintf(name, sizeof name, "%s%s_%s", t->tag, d, fill == KT_WIDE ? "specials" : "rand");
    /* the text syntax has no 16-bit float constants: Clip's bounds are
     * then attributes (opset 6) */
    bool h16 = t == &F16 || t == &BF16;
    kt_header(&m, h16 ? 6 : 13);
    kt_printf(&m, "unary (%s%s x) => (%s[] relu, %s[] leaky, %s[] clip, %s[] sigmoid, %s[] tanh)\n", t->onnx, d,
              t->onnx, t->onnx, t->onnx, t->onnx, t->onnx);
    if (!h16)
        kt_printf(&m, "<%s lo = {-0.5}, %s hi = {1.25}>\n", t->onnx, t->onnx);
    kt_printf(&m, "{\n  relu = Relu(x)\n  leaky = LeakyRelu<alpha = 0.1>(x)\n");
    kt_printf(&m, h16 ? "  clip = Clip<min = -0.5, max = 1.25>(x)\n" : "  clip = Clip(x, lo, hi)\n");
    kt_printf(&m, "  sigmoid = Sigmoid(x)\n  tanh = Tanh(x)\n}\n");
    KtOpts o = {.exact = 0x5, .arm = arm, .scale = scale, .fill = {fill}}; /* Relu and Clip only select */
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

/* Clip on an integer type: both bounds, only min, only max (opset 13). */
static void clip_ints(const Ty *t, int64_t lo, int64_t hi, bool arm)
{
    char name[64];
    KtText m = {0};
    snprintf(name, sizeof name, "clip_%s_%lld_%lld", t->tag, (long long)lo, (long long)hi);
    kt_header(&m, 13);
    bool relu = t != &U8;
    kt_printf(&m, "clip (%s[N,37] x) => (%s[] both, %s[] only_min, %s[] only_max%s%s%s)\n", t->onnx, t->onnx,
              t->onnx, t->onnx, relu ? ", " : "", relu ? t->onnx : "", relu ? "[] relu" : "");
    kt_printf(&m, "<%s lo = {%lld}, %s hi = {%lld}>\n{\n", t->onnx, (long long)lo, t->onnx, (long long)hi);
    kt_printf(&m, "  both = Clip(x, lo, hi)\n  only_min = Clip(x, lo)\n  only_max = Clip(x, , hi)\n");
    if (relu)
        kt_printf(&m, "  relu = Relu(x)\n");
    kt_printf(&m, "}\n");
    KtOpts o = {.exact = KT_ALL_EXACT, .arm = arm, .fill = {KT_WIDE}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

void kt_unary(void)
{
    static const int64_t n67[] = {-1, 67}, one[] = {1}, c3[] = {3, 1, 17}, r4[] = {2, 3, 4, 5}, l130[] = {130},
                         n33[] = {-1, 33}, n17[] = {-1, 5, 17}, big[] = {3, 1031}, n[] = {-1}, e[] = {3, 0, 4};
    unary_floats(&F32, 2, n67, KT_WIDE, 0, true);
    unary_floats(&F32, 0, NULL, KT_RAND, 3, false);
    unary_floats(&F32, 1, one, KT_RAND, 3, false);
    unary_floats(&F32, 3, c3, KT_RAND, 6, true);
    unary_floats(&F32, 4, r4, KT_WIDE, 0, false);
    unary_floats(&F32, 1, l130, KT_RAND, 100, false);
    unary_floats(&F32, 2, big, KT_RAND, 12, false);
    unary_floats(&F32, 1, n, KT_WIDE, 0, false);
    unary_floats(&F32, 3, e, KT_RAND, 2, false);
    unary_floats(&F16, 2, n67, KT_WIDE, 0, true);
    unary_floats(&F16, 3, c3, KT_RAND, 6, false);
    unary_floats(&BF16, 2, n33, KT_WIDE, 0, false);
    unary_floats(&BF16, 1, l130, KT_RAND, 6, false);
    unary_floats(&F64, 3, n17, KT_RAND, 10, true);
    unary_floats(&F64, 2, n67, KT_WIDE, 0, false);

    /* Clip with bounds given at run time becomes Max/Min */
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "clip_rt (float[N,19] x, float lo, float hi) => (float[] y, float[] ylo, float[] yhi)\n{\n");
    kt_printf(&m, "  y = Clip(x, lo, hi)\n  ylo = Clip(x, lo)\n  yhi = Clip(x, , hi)\n}\n");
    KtOpts rt = {.exact = KT_ALL_EXACT, .fill = {KT_WIDE, KT_RAND, KT_POS}};
    kt_case("clip_runtime_bounds", &rt, m.s);
    kt_text_free(&m);
    /* opset 6: bounds as attributes; lo > hi gives hi */
    kt_header(&m, 6);
    kt_printf(&m, "clip6 (float[4,33] x) => (float[] y, float[] inv, float[] open)\n{\n");
    kt_printf(&m, "  y = Clip<min = -1.5, max = 0.75>(x)\n  inv = Clip<min = 1.0, max = -1.0>(x)\n");
    kt_printf(&m, "  open = Clip<max = 0.5>(x)\n}\n");
    KtOpts a6 = {.exact = KT_ALL_EXACT, .arm = true, .fill = {KT_WIDE}};
    kt_case("clip_opset6_attrs", &a6, m.s);
    kt_text_free(&m);
    /* LeakyRelu with other slopes */
    kt_header(&m, 13);
    kt_printf(&m, "leaky (float[2,45] x) => (float[] a, float[] b, float[] c)\n{\n");
    kt_printf(&m, "  a = LeakyRelu<alpha = 0.0>(x)\n  b = LeakyRelu<alpha = -1.5>(x)\n  c = LeakyRelu(x)\n}\n");
    KtOpts lk = {.fill = {KT_WIDE}};
    kt_case("leaky_alphas", &lk, m.s);
    kt_text_free(&m);

    clip_ints(&I8, -100, 27, true);
    clip_ints(&I8, -128, 127, false);
    clip_ints(&U8, 3, 200, true);
    clip_ints(&U8, 0, 0, false);
    clip_ints(&I32, -70000, 123456, false);
    clip_ints(&I32, -2147483647 - 1, -5, false);
    clip_ints(&I64, -5000000000ll, 5, true);
    clip_ints(&I64, 7, 7, false);
}

/* ---- Cast --------------------------------------------------------------- */

void kt_cast(void)
{
    static const Ty *const all[] = {&F32, &F16, &BF16, &F64, &I8, &U8, &I32, &I64, &BOOL};
    const int n = (int)(sizeof all / sizeof all[0]);
    for (int s = 0; s < n; s++) {
        for (int rep = 0; rep < 2; rep++) { /* a long flat tensor, and a batched one */
            const Ty *from = all[s];
            char name[64];
            KtText m = {0};
            snprintf(name, sizeof name, "from_%s_%s", from->tag, rep ? "N_3_29" : "83");
            kt_header(&m, 13);
            kt_printf(&m, "cast (%s%s x) => (", from->onnx, rep ? "[N,3,29]" : "[83]");
            for (int k = 0; k < n; k++)
                kt_printf(&m, "%s%s[] to_%s", k ? ", " : "", all[k]->onnx, all[k]->tag);
            kt_printf(&m, ")\n{\n");
            for (int k = 0; k < n; k++)
                kt_printf(&m, "  to_%s = Cast<to = %d>(x)\n", all[k]->tag, all[k]->code);
            kt_printf(&m, "}\n");
            /* Every cast is one rounding, in the interpreter and in the
             * kernels (f64 -> f16/bf16 goes through f32 rounded to odd), and
             * must match bit for bit. */
            KtOpts o = {.exact = KT_ALL_EXACT, .arm = rep == 0,
                        .fill = {KT_CAST}};
            kt_case(name, &o, m.s);
            kt_text_free(&m);
        }
    }
}

/* ---- binary ------------------------------------------------------------- */

typedef struct Pattern {
    const char *name;
    int ra, rb;
    int64_t a[8], b[8];
    bool arm;
} Pattern;

/* -1 is the batch dim N */
static const Pattern patterns[] = {
    {"same_N_67", 2, 2, {-1, 67}, {-1, 67}, true},
    {"same_3_5_7", 3, 3, {3, 5, 7}, {3, 5, 7}, false},
    {"scalar_rank0", 3, 0, {-1, 5, 7}, {0}, true},
    {"scalar_first", 0, 2, {0}, {-1, 9}, false},
    {"scalar_1", 2, 1, {4, 33}, {1}, false},
    {"row", 2, 1, {4, 33}, {33}, true},
    {"row_1xN", 2, 2, {4, 33}, {1, 33}, false},
    {"column", 2, 2, {4, 33}, {4, 1}, true},
    {"middle_dim", 3, 2, {3, 5, 7}, {5, 1}, false},
    {"middle_dim_r3", 3, 3, {3, 5, 7}, {1, 5, 1}, false},
    {"outer_both", 2, 2, {4, 1}, {1, 33}, true},
    {"outer_both_r3", 3, 3, {3, 1, 7}, {1, 5, 1}, false},
    {"rank_diff", 4, 2, {2, 3, 4, 5}, {4, 5}, false},
    {"rank_diff_rev", 1, 4, {5}, {2, 3, 4, 5}, false},
    {"rank_diff_mid", 4, 3, {2, 3, 4, 5}, {3, 1, 5}, false},
    {"batch_vs_static", 3, 2, {-1, 3, 4}, {3, 1}, false},
    {"batch_both_bcast", 3, 3, {-1, 1, 4}, {-1, 3, 1}, true},
    {"batch_vs_ones", 3, 3, {-1, 3, 4}, {1, 1, 1}, false},
    {"all_ones", 2, 1, {1, 1}, {1}, false},
    {"long_stride", 3, 2, {2, 65, 3}, {65, 1}, false},
    {"wide_inner", 2, 2, {3, 130}, {1, 130}, false},
    {"r6", 6, 6, {2, 1, 3, 1, 2, 5}, {1, 2, 1, 4, 2, 1}, false},
    {"r8", 8, 8, {2, 1, 2, 1, 2, 1, 2, 3}, {1, 2, 1, 2, 1, 2, 1, 3}, false},
    {"batch_ones_mix", 3, 3, {-1, 1, 1}, {1, 1, 5}, false},
    {"batch_rank1", 1, 1, {-1}, {1}, false},
    {"empty", 2, 1, {0, 5}, {5}, false},
    {"both_scalars", 0, 0, {0}, {0}, false},
};
enum { NPATTERNS = sizeof patterns / sizeof patterns[0] };

static void binary_case(const Ty *t, const Pattern *p, const char *suffix, KtFill fa, KtFill fb, bool arm)
{
    char name[96], da[64], db[64];
    KtText m = {0};
    snprintf(name, sizeof name, "%s_%s%s", t->tag, p->name, suffix);
    kt_dims(da, sizeof da, p->ra, p->a);
    kt_dims(db, sizeof db, p->rb, p->b);
    kt_header(&m, 14);
    const char *T = t->onnx;
    kt_printf(&m, "binary (%s%s a, %s%s b) => (%s[] add, %s[] sub, %s[] mul, %s[] div, %s[] max, %s[] min)\n{\n", T,
              da, T, db, T, T, T, T, T, T);
    kt_printf(&m, "  add = Add(a, b)\n  sub = Sub(a, b)\n  mul = Mul(a, b)\n  div = Div(a, b)\n");
    kt_printf(&m, "  max = Max(a, b)\n  min = Min(a, b)\n}\n");
    bool fl = is_float(t);
    /* Max and Min only select: bit-exact, -0 vs +0 included */
    KtOpts o = {.exact = fl ? 0x30u : KT_ALL_EXACT, .arm = arm, .fill = {fa, fb}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

/* Random broadcast pairs: an output shape of rank 0..5 (maybe the batch
 * first), each operand a suffix of it with dims set to 1 at random. */
static void binary_sweep(int count)
{
    static const Ty *const types[] = {&F32, &F32, &I32, &U8, &F16, &I64};
    static const int64_t ext[] = {1, 2, 3, 4, 5, 7, 9, 16, 17};
    for (int c = 0; c < count; c++) {
        int rank = kt_pick(1, 5);
        int64_t y[8];
        for (int i = 0; i < rank; i++)
            y[i] = ext[kt_pick(0, 8)];
        bool batch = rank > 0 && kt_pick(0, 2) == 0;
        Pattern p = {.name = ""};
        char name[32];
        snprintf(name, sizeof name, "sweep%d", c);
        p.name = name;
        for (int side = 0; side < 2; side++) {
            /* a shorter operand sometimes; with the batch, `a` has it */
            int r = (batch && side == 0) || kt_pick(0, 3) ? rank : kt_pick(0, rank);
            int64_t *d = side ? p.b : p.a;
            for (int i = 0; i < r; i++) {
                int yi = rank - r + i;
                d[i] = kt_pick(0, 2) == 0 ? 1 : y[yi];
                if (batch && yi == 0)
                    d[i] = -1; /* the batch stays the leading dim of a full-rank operand */
            }
            *(side ? &p.rb : &p.ra) = r;
        }
        const Ty *t = types[c % 6];
        binary_case(t, &p, "", KT_RAND, is_float(t) ? KT_RAND : KT_DIVISOR, c % 8 == 0);
    }
}

void kt_binary(void)
{
    for (int i = 0; i < NPATTERNS; i++)
        binary_case(&F32, &patterns[i], "", KT_RAND, KT_RAND, patterns[i].arm);
    /* specials (NaN, inf, +-0, huge, tiny) through the same patterns */
    for (int i = 0; i < NPATTERNS; i += 3)
        binary_case(&F32, &patterns[i], "_specials", KT_WIDE, KT_WIDE, false);
    binary_case(&F32, &patterns[0], "_divzero", KT_RAND, KT_DIVISOR, false);
    /* integers: Div by zero, INT_MIN / -1 at matching positions, wrap-around */
    static const Ty *const ints[] = {&I8, &U8, &I32, &I64};
    for (int k = 0; k < 4; k++) {
        binary_case(ints[k], &patterns[0], "_div", KT_DIVIDEND, KT_DIVISOR, k % 2 == 0);
        binary_case(ints[k], &patterns[1], "_div", KT_DIVIDEND, KT_DIVISOR, false);
        for (int i = 2; i < NPATTERNS; i += 2 + k)
            binary_case(ints[k], &patterns[i], "", KT_WIDE, KT_DIVISOR, false);
        binary_case(ints[k], &patterns[0], "_ties", KT_SMALL, KT_SMALL, false);
    }
    /* the other float types on a few patterns */
    static const Ty *const fl[] = {&F16, &BF16, &F64};
    static const int some[] = {0, 2, 7, 10, 16, 19};
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < 6; i++)
            binary_case(fl[k], &patterns[some[i]], "", i == 0 ? KT_WIDE : KT_RAND, i == 0 ? KT_WIDE : KT_RAND,
                        i == 0 && k == 0);
    /* ties and signed zeros: Max/Min take the first operand on ties, as
     * numpy does: max(-0, +0) is -0 */
    binary_case(&F32, &patterns[0], "_smallints", KT_SMALL, KT_SMALL, true);
    binary_case(&F16, &patterns[0], "_smallints", KT_SMALL, KT_SMALL, false);
    binary_sweep(24);

    /* a constant operand (stored in the artifact), on either side */
    KtText m = {0};
    kt_header(&m, 14);
    kt_printf(&m, "bconst (float[N,3,17] x) => (float[] y, float[] z, float[] w)\n<");
    int64_t d17[] = {17}, d31[] = {3, 1};
    kt_init_values(&m, "float", "c", 1, d17, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "s", 0, NULL, true);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "col", 2, d31, false);
    kt_printf(&m, ">\n{\n  y = Add(x, c)\n  z = Div(s, x)\n  w = Sub(col, x)\n}\n");
    KtOpts o = {.arm = true};
    kt_case("f32_const_operands", &o, m.s);
    kt_text_free(&m);
}

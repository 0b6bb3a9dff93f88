/* kt_quant.c — cases for the integer kernels: codegen/k_quant.c
 * (QuantizeLinear, DequantizeLinear, ConvInteger/QLinearConv on both the
 * row-wise and the channel-vectorized path with i8 and i16 packed weights,
 * QLinearAdd, QLinearGlobalAveragePool) and the integer products of
 * codegen/k_gemm.c (MatMulInteger, QLinearMatMul, with the i32 bias of
 * com.microsoft QGemm and the relu/clip epilogues that pass qdq-fold puts on
 * QLinearMatMul/QLinearConv/QLinearAdd).
 *
 * docs/quantization.md is the definition; the interpreter is the oracle and
 * every output is compared exactly. The data aims at the bugs of
 * /work/shared/QUANT-NOTES.md §7: u8 255 x s8 -128 and 127 pairs (pair sums
 * that a saturating vpmaddubsw-style kernel gets wrong, K up to 1152 so that
 * |acc| passes 2^24 and an f32 requantization loses bits), s8 activations
 * at -128, zero points at the rails, per-row/per-column/per-channel
 * parameters, requantization ties (acc * M = k + 0.5 for even and odd k of
 * both signs), huge and tiny output scales, zero/inf/NaN/subnormal scales
 * (as run-time inputs: the text syntax cannot spell them), i32 biases at
 * +-2^31 that do not overflow (the accumulator's sign is fixed by the data),
 * QuantizeLinear of NaN, +-inf, +-0, 1e30, of ties x/s = k + 0.5 and of the
 * values where x * (1/s) rounds the other way from x / s.
 *
 * Fused activations cannot be written in ONNX: they come from DQ -> op ->
 * Relu/Clip -> Q patterns that qdq-fold turns into one integer op, while the
 * interpreter runs the float pattern. With power-of-two scales and sums
 * below 2^24 every float step there is exact, so both must agree bit for
 * bit (docs/quantization.md: clamping and rounding are monotonic).
 *
 * kt_quant_ref() checks the interpreter itself against values worked out
 * here from the formulas of docs/quantization.md (int64 sums, f32 scale
 * products, one f64 product, round half to even), so that a mistake shared
 * by the interpreter and the kernels shows too; kt_qref() runs the same
 * small models through the kernels. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kt.h"
#include "passes/passes.h"
#include "tools/driver.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
#define VALUES(a) ((KtValues){a, NELEM(a)})

/* ---- model text ---------------------------------------------------------- */

/* A model being written: graph inputs (with how they are filled),
 * initializers, nodes, outputs. */
typedef struct Qm {
    KtText ins, inits, body, outs;
    KtOpts o;
    int nin;
} Qm;

/* 'u' u8, 's' i8, 'i' i32, 'f' f32, 'h' f16, 'd' f64 */
static const char *qtype(char t)
{
    switch (t) {
    case 'u': return "uint8";
    case 's': return "int8";
    case 'i': return "int32";
    case 'h': return "float16";
    case 'd': return "double";
    default: return "float";
    }
}

static void qlim(char t, int64_t *lo, int64_t *hi)
{
    *lo = t == 's' ? -128 : t == 'i' ? INT32_MIN : 0;
    *hi = t == 's' ? 127 : t == 'i' ? INT32_MAX : 255;
}

static void sep(KtText *t)
{
    if (t->n)
        kt_printf(t, ", ");
}

/* A graph input, filled as f says, or with vals (cycled) when given. */
static void qm_input(Qm *m, char t, const char *name, int rank, const int64_t *d, KtFill f, const double *vals,
                     int nvals)
{
    char dd[128];
    sep(&m->ins);
    kt_printf(&m->ins, "%s%s %s", qtype(t), kt_dims(dd, sizeof dd, rank, d), name);
    m->o.fill[m->nin] = vals ? KT_VALUES : f;
    if (vals)
        m->o.values[m->nin] = (KtValues){vals, nvals};
    m->nin++;
}

/* A f32 initializer: a scalar (n 0) or [n], values cycled. */
static void qm_floats(Qm *m, const char *name, int n, const double *v, int nv)
{
    char b[48];
    sep(&m->inits);
    if (n == 0)
        kt_printf(&m->inits, "float %s = {%s}", name, kt_float(b, sizeof b, (float)v[0]));
    else {
        kt_printf(&m->inits, "float[%d] %s = {", n, name);
        for (int i = 0; i < n; i++)
            kt_printf(&m->inits, "%s%s", i ? ", " : "", kt_float(b, sizeof b, (float)v[i % nv]));
        kt_printf(&m->inits, "}");
    }
}

/* A scale: an initializer, or a graph input (run-time scales; the values
 * the text cannot hold: 0, inf, NaN, subnormals). */
static void qm_scale(Qm *m, bool input, const char *name, int n, const double *v, int nv)
{
    if (input) {
        int64_t d[1] = {n};
        qm_input(m, 'f', name, n ? 1 : 0, d, KT_VALUES, v, nv);
    } else {
        qm_floats(m, name, n, v, nv);
    }
}

/* An integer initializer of type t: a scalar (rank 0) or any shape. */
static void qm_ints(Qm *m, char t, const char *name, int rank, const int64_t *d, const int64_t *v)
{
    char dd[128];
    int64_t n = 1;
    for (int i = 0; i < rank; i++)
        n *= d[i];
    sep(&m->inits);
    kt_printf(&m->inits, "%s%s %s = {", qtype(t), kt_dims(dd, sizeof dd, rank, d), name);
    for (int64_t i = 0; i < n; i++)
        kt_printf(&m->inits, "%s%lld", i ? ", " : "", (long long)v[i]);
    kt_printf(&m->inits, "}");
}

/* A zero point: none (n 0), a scalar (n 1) or [len] of vals cycled. */
static void qm_zp(Qm *m, char t, const char *name, int n, const int *vals, int64_t len)
{
    if (n == 0)
        return;
    int64_t v[4096] = {0}, d[1] = {n > 1 ? len : 1};
    for (int64_t i = 0; i < d[0]; i++)
        v[i] = vals[i % n];
    qm_ints(m, t, name, n > 1 ? 1 : 0, d, v);
}

static void qm_output(Qm *m, char t, const char *name)
{
    sep(&m->outs);
    kt_printf(&m->outs, "%s[] %s", qtype(t), name);
}

static void qm_node(Qm *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void qm_node(Qm *m, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    kt_printf(&m->body, "  %s\n", buf);
}

/* Assemble, run, free. */
static void qm_run(Qm *m, const char *name, bool arm, int threads)
{
    KtText t = {0};
    kt_printf(&t, "<ir_version: 8, opset_import: [\"\" : 13, \"com.microsoft\" : 1]>\n");
    kt_printf(&t, "quant (%s) => (%s)\n", m->ins.s, m->outs.s);
    if (m->inits.n)
        kt_printf(&t, "<%s>\n", m->inits.s);
    kt_printf(&t, "{\n%s}\n", m->body.s);
    m->o.exact = KT_ALL_EXACT;
    m->o.arm = arm;
    m->o.threads = threads;
    kt_case(name, &m->o, t.s);
    kt_text_free(&t);
    kt_text_free(&m->ins);
    kt_text_free(&m->inits);
    kt_text_free(&m->body);
    kt_text_free(&m->outs);
    memset(m, 0, sizeof *m);
}

/* ---- integer data -------------------------------------------------------- */

static const double vx_u8_255[] = {255}, vx_s8_m128[] = {-128}, vx_zero7[] = {0, 0, 0, 0, 0, 0, 0, 2};

typedef enum Gen {
    G_RAND,   /* uniform over the type */
    G_RAIL,   /* mostly lo and hi (u8 0/255, i8 -128/127), some random */
    G_LO,     /* all lo */
    G_HI,     /* all hi */
    G_ALT,    /* hi, lo, hi, lo, ... */
    G_SMALL,  /* in [zp - 3, zp + 3] */
    G_NONNEG, /* >= the element's zero point (x - zp >= 0) */
    G_NONPOS, /* <= the element's zero point */
    G_CHSIGN, /* channel (or column) even: G_NONNEG, odd: G_NONPOS */
    G_RAIL7,  /* i8 in [-64, 64] (--weight-bits 7), mostly its rails: k_mm.c's pmaddubsw, whose
               * pair sums reach 255 * 128 = 32640 */
    G_OVER7   /* 64 but 65 at every 7th: a pair of 129 (pmaddubsw would saturate): pmaddwd */
} Gen;

static int64_t gen_one(char t, Gen g, int64_t i, int64_t ch, int64_t zp)
{
    int64_t lo, hi;
    qlim(t, &lo, &hi);
    switch (g) {
    case G_RAIL: {
        int r = kt_pick(0, 4);
        return r < 2 ? lo : r < 4 ? hi : kt_pick((int)lo, (int)hi);
    }
    case G_LO: return lo;
    case G_HI: return hi;
    case G_ALT: return i % 2 ? lo : hi;
    case G_SMALL: {
        int64_t v = zp + kt_pick(-3, 3);
        return v < lo ? lo : v > hi ? hi : v;
    }
    case G_NONNEG: return kt_pick((int)zp, (int)hi);
    case G_NONPOS: return kt_pick((int)lo, (int)zp);
    case G_CHSIGN: return ch % 2 == 0 ? kt_pick((int)zp, (int)hi) : kt_pick((int)lo, (int)zp);
    case G_RAIL7: {
        int r = kt_pick(0, 4);
        return r < 2 ? -64 : r < 4 ? 64 : kt_pick(-64, 64);
    }
    case G_OVER7: return i % 7 == 3 ? 65 : 64;
    default: return kt_pick((int)lo, (int)hi);
    }
}

/* n values of type t; element i is in channel i / per % nch (per > 0) or
 * i % nch (per 0), whose zero point is zps[ch % nzp] (0 when nzp is 0). */
static int64_t *gen_values(char t, Gen g, int64_t n, int64_t per, int64_t nch, const int *zps, int nzp)
{
    int64_t *v = malloc(sizeof(int64_t) * (size_t)(n + 1));
    for (int64_t i = 0; i < n; i++) {
        int64_t ch = per > 0 ? i / per % nch : i % nch;
        v[i] = gen_one(t, g, i, ch, nzp ? zps[ch % nzp] : 0);
    }
    return v;
}

/* An output scale that spreads K-term sums of (a - za)(b - zb) over about
 * +-100 around y_zp: the mean of the sums, K (E a - za)(E b - zb), plus
 * twice their spread (data drawn over the whole type, rails weigh more;
 * KT_SMALL and G_SMALL data sit at their zero points). */
static double auto_ys(char ta, KtFill fa, int za, char tb, Gen gb, int zb, int64_t K, double sa, double sb)
{
    double ma = fa == KT_SMALL ? 0 : (ta == 'u' ? 127.5 : -0.5) - za;
    double mb = gb == G_SMALL ? 0 : (tb == 'u' ? 127.5 : -0.5) - zb;
    double da = fa == KT_WIDE ? 92 : 74, db = gb == G_RAIL ? 120 : gb == G_ALT ? 128 : 74; /* deviations */
    double mu = (double)K * ma * mb, sigma = sqrt((double)K) * da * db;
    return sa * sb * (fabs(mu) + 2 * sigma) / 100;
}

/* ---- QuantizeLinear / DequantizeLinear ----------------------------------- */

typedef struct QdqSpec {
    const char *name;
    bool dq;             /* DequantizeLinear, else QuantizeLinear */
    char tx, tq;         /* input type; the quantized type (zp type) */
    int rank;
    int64_t x[5];
    int axis;            /* with a per-axis scale (ns > 1); 99: no attribute (default 1) */
    KtFill fx;
    const double *vx;
    int nvx;
    double s[8];
    int ns;              /* 1: per tensor ([]), > 1: per axis, cycled */
    bool s_rank1;        /* a per-tensor scale (and zp) of shape [1] */
    int zp[8];
    int nzp;             /* 0: no zero point */
    bool s_input, zp_input;
    const double *vs;    /* run-time scale values (s_input), else s */
    int nvs;
    bool arm;
} QdqSpec;

static void qdq_case(const QdqSpec *q)
{
    Qm m = {0};
    char x_t = q->tx, y_t = q->dq ? 'f' : q->tq;
    qm_input(&m, x_t, "x", q->rank, q->x, q->fx, q->vx, q->nvx);
    int64_t len = 1;
    if (q->ns > 1) {
        int ax = q->axis == 99 ? 1 : q->axis < 0 ? q->axis + q->rank : q->axis;
        len = q->x[ax];
    }
    int sn = q->ns > 1 ? (int)len : q->s_rank1 ? 1 : 0;
    if (q->s_input) {
        int64_t d[1] = {sn};
        qm_input(&m, 'f', "s", sn ? 1 : 0, d, KT_VALUES, q->vs ? q->vs : q->s, q->vs ? q->nvs : q->ns);
    } else {
        qm_floats(&m, "s", sn, q->s, q->ns);
    }
    char zt = q->dq ? q->tx : q->tq;
    if (q->nzp) {
        if (q->zp_input) {
            static double zv[8];
            for (int i = 0; i < q->nzp; i++)
                zv[i] = q->zp[i];
            int64_t d[1] = {sn};
            qm_input(&m, zt, "zp", sn ? 1 : 0, d, KT_VALUES, zv, q->nzp);
        } else {
            int64_t v[4096] = {0}, d[1] = {sn};
            for (int64_t i = 0; i < (sn ? sn : 1); i++)
                v[i] = q->zp[i % q->nzp];
            qm_ints(&m, zt, "zp", sn ? 1 : 0, d, v);
        }
    }
    char ax[32] = "";
    if (q->ns > 1 && q->axis != 99)
        snprintf(ax, sizeof ax, "<axis = %d>", q->axis);
    qm_node(&m, "y = %s%s(x, s%s)", q->dq ? "DequantizeLinear" : "QuantizeLinear", ax, q->nzp ? ", zp" : "");
    qm_output(&m, y_t, "y");
    qm_run(&m, q->name, q->arm, 0);
}

/* x / s = k + 0.5 exactly, for even and odd k of both signs */
static double ties_pow2[64], ties_s3[64];
/* values where x * (1/s) rounds differently from x / s (found by search
 * with f32 arithmetic; see QUANT-NOTES.md §4), each with its s */
static const double recip_s01[] = {-0x1.84ccccp+3, -0x1.64ccccp+3, -0x1.44ccccp+3, -0x1.d00002p+2, -0x1.a00002p+1,
                                   0x1.8cccccp+0,  0x1.f33332p+0,  0x1.2cccccp+1,  0x1.a00002p+1,  0x1.d00002p+2};
static const double recip_s1205[] = {-0x1.18793ep-3, -0x1.0f766p-3, -0x1.067382p-3, -0x1.1bda5p-5, -0x1.09d494p-5,
                                     -0x1.ef9dbp-6,  0x1.b0899ep-10, 0x1.f8a08ep-9, 0x1.e69ad2p-7, 0x1.24dd3p-5,
                                     0x1.36e2ecp-5,  0x1.48e8a8p-5, -0x1.503afcp-2};
static const double recip_sc94[] = {-0x1.c3f272p+5, -0x1.c05fd4p+5, -0x1.b93a9ap+5, -0x1.b5a8p+5, -0x1.ae82c6p+5,
                                    -0x1.aaf028p+5, 0x1.c94e5ep-3,  0x1.90249p+0,  0x1.738facp+1, 0x1.acb976p+1,
                                    0x1.e5e344p+1,  0x1.0f8686p+2};
static const double recip_s3[] = {-0x1.f4fffep+7, -0x1.e8fffep+7, -0x1.dcfffep+7, 0x1.c7fffep+4, 0x1.a3fffep+5,
                                  0x1.d3fffep+5};
/* NaN, +-inf, +-0, 1e30, subnormals, huge, and the values next to them */
static const double q_specials[] = {NAN,   INFINITY, -INFINITY, 0.0,    -0.0,   1e30,  -1e30,   1e-30, -1e-30,
                                    1e-40, -1e-40,   3.4e38,    -3.4e38, 1e-7,  -1e-7, 0.4999, -0.4999, 0.5,
                                    -0.5,  1.5,      -1.5,      2.5,    -2.5,   127.5, -128.5, 255.5,  -255.5};
/* run-time scales nobody should use, but whose result is defined */
static const double bad_scales[] = {0.0, INFINITY, NAN, 1e-40, -0.5, 3e38, -0.0, 1e-30};

/* DynamicQuantizeLinear: its range, scale and zero point, then the
 * quantization, on data at the edges: all zeros (s = 1), only positive
 * (zp 0) or only negative (zp 255) values, one value, NaNs (skipped by the
 * range), infinities (s = inf), -0, subnormal ranges, ties, and a merged
 * batch; short tensors and long ones (the range's vector loop). */
static const double dql_zero[] = {0.0, -0.0}, dql_pos[] = {0.5, 3.25, 1e-3, 7.0, 0.0},
                    dql_neg[] = {-0.5, -3.25, -1e-3, -7.0, -0.0}, dql_nan[] = {NAN, 1.5, -2.0, NAN, 0.25},
                    dql_inf[] = {INFINITY, 1.0, -2.0}, dql_sub[] = {1e-40, -3e-41, 0.0},
                    dql_tie[] = {-2.0, 0.5, 0.0, 2.5, 1.5, -0.5}, dql_onnx[] = {0, 2, -3, -2.5, 1.34, 0.5};

static void dql_case(const char *name, int rank, const int64_t *d, KtFill f, const double *v, int nv, bool arm)
{
    Qm m = {0};
    qm_input(&m, 'f', "x", rank, d, f, v, nv);
    qm_node(&m, "y, y_s, y_zp = DynamicQuantizeLinear(x)");
    qm_output(&m, 'u', "y");
    qm_output(&m, 'f', "y_s");
    qm_output(&m, 'u', "y_zp");
    qm_run(&m, name, arm, 0);
}

static void kt_dql(void)
{
    dql_case("dql_onnx_example", 1, (const int64_t[]){6}, KT_VALUES, dql_onnx, NELEM(dql_onnx), true);
    dql_case("dql_zeros", 2, (const int64_t[]){3, 5}, KT_VALUES, dql_zero, NELEM(dql_zero), false);
    dql_case("dql_positive", 1, (const int64_t[]){5}, KT_VALUES, dql_pos, NELEM(dql_pos), false);
    dql_case("dql_negative", 2, (const int64_t[]){-1, 5}, KT_VALUES, dql_neg, NELEM(dql_neg), true);
    dql_case("dql_one", 0, NULL, KT_VALUES, dql_pos + 1, 1, false);
    dql_case("dql_nan", 1, (const int64_t[]){5}, KT_VALUES, dql_nan, NELEM(dql_nan), false);
    dql_case("dql_inf", 1, (const int64_t[]){3}, KT_VALUES, dql_inf, NELEM(dql_inf), false);
    dql_case("dql_subnormal", 1, (const int64_t[]){3}, KT_VALUES, dql_sub, NELEM(dql_sub), false);
    dql_case("dql_ties", 1, (const int64_t[]){6}, KT_VALUES, dql_tie, NELEM(dql_tie), false);
    dql_case("dql_rand_batch", 3, (const int64_t[]){-1, 7, 33}, KT_RAND, NULL, 0, true);
    dql_case("dql_wide", 2, (const int64_t[]){9, 13}, KT_WIDE, NULL, 0, false);
    /* long enough for the range's vector loop (then its tail): the specials in lanes */
    dql_case("dql_nan_vectors", 2, (const int64_t[]){-1, 37}, KT_VALUES, dql_nan, NELEM(dql_nan), true);
    dql_case("dql_neg_zero_vectors", 1, (const int64_t[]){41}, KT_VALUES, dql_neg, NELEM(dql_neg), false);
    dql_case("dql_inf_vectors", 1, (const int64_t[]){35}, KT_VALUES, dql_inf, NELEM(dql_inf), false);
}

void kt_qdq(void)
{
    for (int i = 0; i < 64; i++) {
        int k = i < 32 ? -131 + 2 * i + (i % 3 == 0) : -32 + (i - 32) * 5; /* even and odd, rails included */
        ties_pow2[i] = (k + 0.5) * 0.25;
        ties_s3[i] = (k + 0.5) * 3.0;
    }
    const QdqSpec specs[] = {
        /* QuantizeLinear per tensor: ties (s = 1), saturation, NaN, inf */
        {"q_u8_zp128_cast", false, 'f', 'u', 2, {-1, 37}, 0, KT_CAST, NULL, 0, {1.0}, 1, false, {128}, 1,
         .arm = true},
        {"q_u8_zp0_cast_s0.5", false, 'f', 'u', 2, {5, 29}, 0, KT_CAST, NULL, 0, {0.5}, 1, false, {0}, 1},
        {"q_u8_zp255_wide", false, 'f', 'u', 3, {3, 4, 11}, 0, KT_WIDE, NULL, 0, {0.37}, 1, false, {255}, 1},
        {"q_i8_zpm128_cast", false, 'f', 's', 2, {-1, 41}, 0, KT_CAST, NULL, 0, {2.0}, 1, false, {-128}, 1,
         .arm = true},
        {"q_i8_zp127_wide", false, 'f', 's', 2, {7, 13}, 0, KT_WIDE, NULL, 0, {0.0078125}, 1, false, {127}, 1},
        {"q_i8_zp0_rand", false, 'f', 's', 1, {67}, 0, KT_RAND, NULL, 0, {0.013}, 1, false, {0}, 1},
        {"q_no_zp_u8_cast", false, 'f', 'u', 2, {-1, 33}, 0, KT_CAST, NULL, 0, {0.25}, 1, false, {0}, 0},
        {"q_specials_u8_zp3", false, 'f', 'u', 1, {27}, 0, KT_VALUES, q_specials, NELEM(q_specials), {1.0}, 1, false,
         {3}, 1, .arm = true},
        {"q_specials_i8_zp0_s0.02", false, 'f', 's', 2, {-1, 27}, 0, KT_VALUES, q_specials, NELEM(q_specials),
         {0.02}, 1, false, {0}, 1},
        {"q_specials_i8_zpm128_s1e-30", false, 'f', 's', 1, {27}, 0, KT_VALUES, q_specials, NELEM(q_specials),
         {1e-30}, 1, false, {-128}, 1},
        {"q_ties_pow2_u8_zp128", false, 'f', 'u', 1, {64}, 0, KT_VALUES, ties_pow2, 64, {0.25}, 1, false, {128}, 1,
         .arm = true},
        {"q_ties_pow2_i8_zp0", false, 'f', 's', 2, {-1, 64}, 0, KT_VALUES, ties_pow2, 64, {0.25}, 1, false, {0}, 1},
        {"q_ties_s3_i8_zp1", false, 'f', 's', 1, {64}, 0, KT_VALUES, ties_s3, 64, {3.0}, 1, false, {1}, 1},
        /* divide, not multiply by 1/s */
        {"q_recip_s0.1", false, 'f', 's', 1, {10}, 0, KT_VALUES, recip_s01, NELEM(recip_s01), {0x1.99999ap-4}, 1,
         false, {0}, 1, .arm = true},
        {"q_recip_s0x1.205bcp-10", false, 'f', 's', 1, {13}, 0, KT_VALUES, recip_s1205, NELEM(recip_s1205),
         {0x1.205bcp-10}, 1, false, {0}, 1},
        {"q_recip_s0x1.c94e5cp-2_u8", false, 'f', 'u', 1, {12}, 0, KT_VALUES, recip_sc94, NELEM(recip_sc94),
         {0x1.c94e5cp-2}, 1, false, {128}, 1},
        {"q_recip_s3_zp1", false, 'f', 's', 2, {-1, 6}, 0, KT_VALUES, recip_s3, NELEM(recip_s3), {3.0}, 1, false,
         {1}, 1},
        /* scale and zero point of shape [1]; f16 and f64 inputs */
        {"q_scale_shape1", false, 'f', 'u', 2, {3, 19}, 0, KT_CAST, NULL, 0, {0.5}, 1, true, {7}, 1},
        {"q_f16_in", false, 'h', 'u', 2, {-1, 35}, 0, KT_CAST, NULL, 0, {0.5}, 1, false, {128}, 1},
        {"q_f64_in", false, 'd', 's', 2, {-1, 70}, 0, KT_CAST, NULL, 0, {1.0}, 1, false, {0}, 1},
        /* per axis: default axis 1, 0, negative, inner, rank 1 */
        {"q_axis_default_u8", false, 'f', 'u', 4, {-1, 4, 3, 5}, 99, KT_CAST, NULL, 0, {0.5, 1.0, 0.25, 3.0}, 4,
         false, {0, 255, 128, 7}, 4, .arm = true},
        {"q_axis0_i8", false, 'f', 's', 2, {6, 7}, 0, KT_WIDE, NULL, 0, {0.1, 0.02, 1.0, 7.5, 0x1.205bcp-10, 0.5}, 6,
         false, {-128, 127, 0, -1, 1, 64}, 6},
        {"q_axis_neg1_i8", false, 'f', 's', 3, {-1, 3, 9}, -1, KT_CAST, NULL, 0, {1.0, 2.0, 0.5}, 3, false,
         {-128, 0, 127}, 3},
        {"q_axis2_rank4_u8", false, 'f', 'u', 4, {2, 3, 5, 4}, 2, KT_CAST, NULL, 0, {0.25, 0.5, 1, 2, 4}, 5, false,
         {0, 255, 1, 254, 128}, 5},
        {"q_axis0_rank1_u8", false, 'f', 'u', 1, {17}, 0, KT_VALUES, q_specials, NELEM(q_specials),
         {0.5, 1e-30, 3e38, 0.1}, 4, false, {0, 255, 128}, 3},
        /* run-time scales (0, inf, NaN, subnormal, negative) and zero points */
        {"q_scale_input_bad", false, 'f', 'u', 3, {-1, 8, 5}, 1, KT_WIDE, NULL, 0, {1}, 8, false, {3, 250}, 2,
         true, false, bad_scales, NELEM(bad_scales)},
        {"q_scale_input_zero_pt", false, 'f', 's', 2, {3, 11}, 0, KT_CAST, NULL, 0, {1}, 1, false, {-5}, 1, true,
         false, bad_scales, 1},
        {"q_zp_input_u8", false, 'f', 'u', 2, {-1, 31}, 0, KT_CAST, NULL, 0, {0.5}, 1, false, {255}, 1, true, true,
         (const double[]){0.5}, 1, .arm = true},
        /* DequantizeLinear */
        {"dq_u8_zp255", true, 'u', 'u', 2, {-1, 37}, 0, KT_WIDE, NULL, 0, {0.1}, 1, false, {255}, 1, .arm = true},
        {"dq_i8_zpm128_huge_s", true, 's', 's', 2, {3, 29}, 0, KT_WIDE, NULL, 0, {3e38}, 1, false, {-128}, 1},
        {"dq_i8_no_zp", true, 's', 's', 1, {45}, 0, KT_RAND, NULL, 0, {0.0123}, 1, false, {0}, 0},
        {"dq_u8_zp0_tiny_s", true, 'u', 'u', 2, {5, 9}, 0, KT_RAND, NULL, 0, {1.5e-38}, 1, false, {0}, 1},
        {"dq_u8_subnormal_s_input", true, 'u', 'u', 2, {-1, 9}, 0, KT_WIDE, NULL, 0, {1}, 1, false, {128}, 1, true,
         false, (const double[]){1e-40}, 1},
        {"dq_axis1_u8", true, 'u', 'u', 3, {-1, 4, 6}, 1, KT_WIDE, NULL, 0, {0.5, 0.013, 3e38, 1e-30}, 4, false,
         {0, 255, 128, 1}, 4, .arm = true},
        {"dq_axis0_i8", true, 's', 's', 2, {5, 3}, 0, KT_WIDE, NULL, 0, {0.25, 0.1, 2, 1e-3, 7}, 5, false,
         {-128, 127, 0, -1, 5}, 5},
        {"dq_axis_neg1_i8_bad_s", true, 's', 's', 3, {2, 3, 8}, -1, KT_WIDE, NULL, 0, {1}, 8, false, {0, 127}, 2,
         true, false, bad_scales, NELEM(bad_scales)},
        {"dq_i32_wide", true, 'i', 'i', 2, {-1, 19}, 0, KT_WIDE, NULL, 0, {0.001}, 1, false, {0}, 0, .arm = true},
        {"dq_i32_cast_zp0", true, 'i', 'i', 1, {40}, 0, KT_CAST, NULL, 0, {1.0}, 1, false, {0}, 1},
        {"dq_i32_axis0_bias", true, 'i', 'i', 1, {8}, 0, KT_WIDE, NULL, 0,
         {1e-4, 3e-5, 0.5, 1.0, 2e-9, 7.0, 0.0625, 2e-38}, 8, false, {0}, 1},
    };
    for (int i = 0; i < NELEM(specs); i++)
        qdq_case(&specs[i]);
    kt_dql();
}

/* ---- MatMulInteger / QLinearMatMul / QGemm -------------------------------- */

enum { MMI, QMM, QGEMM };

typedef struct QmmSpec {
    const char *name;
    int kind;
    char ta, tb, ty;
    int ra, rb;
    int64_t a[5], b[5];      /* -1: the symbolic batch */
    KtFill fa, fb;
    const double *va, *vb;   /* input values (KT_VALUES) */
    int nva, nvb;
    bool b_input;            /* b a graph input, else an initializer from gb */
    Gen gb;
    int azp[8], nazp;        /* 0: none (MMI; QLinearMatMul gets 0), 1: scalar, > 1: per row, cycled */
    int bzp[8], nbzp;        /* per column when > 1 */
    int yzp;
    double as[8], bs[8], ys; /* ys 0: chosen from K so outputs spread */
    int nas, nbs;            /* 1 (or 0): scalar, > 1: per row / column */
    bool scale_in;           /* scales as graph inputs (values as, bs, ys) */
    const double *vys;       /* scale_in: y_s values */
    int nvys;
    bool trans_b;            /* QGemm */
    int64_t bias[8];         /* QGemm C, cycled over N */
    int nbias;
    bool arm;
    int threads;
} QmmSpec;

static void qmm_case(const QmmSpec *q)
{
    Qm m = {0};
    bool ql = q->kind != MMI;
    int64_t K = q->a[q->ra - 1], M = q->ra >= 2 ? q->a[q->ra - 2] : 1, N = q->rb >= 2 ? q->b[q->rb - 1] : 1;
    if (q->kind == QGEMM) /* B is [K, N], or [N, K] with transB */
        N = q->trans_b ? q->b[0] : q->b[1];
    qm_input(&m, q->ta, "a", q->ra, q->a, q->fa, q->va, q->nva);
    if (q->b_input) {
        qm_input(&m, q->tb, "b", q->rb, q->b, q->fb, q->vb, q->nvb);
    } else {
        int64_t nb = 1;
        for (int i = 0; i < q->rb; i++)
            nb *= q->b[i];
        int64_t *v = gen_values(q->tb, q->gb, nb, q->kind == QGEMM && q->trans_b ? K : 0, N, q->bzp, q->nbzp);
        qm_ints(&m, q->tb, "b", q->rb, q->b, v);
        free(v);
    }
    double ys = q->ys;
    if (ql && ys == 0)
        ys = auto_ys(q->ta, q->fa, q->nazp ? q->azp[0] : 0, q->tb, q->b_input ? G_RAND : q->gb,
                     q->nbzp ? q->bzp[0] : 0, K, q->as[0] ? q->as[0] : 1, q->bs[0] ? q->bs[0] : 1);
    const int zero = 0;
    if (ql) {
        qm_scale(&m, q->scale_in, "a_s", q->nas > 1 ? (int)M : 0, q->as, q->nas ? q->nas : 1);
        qm_zp(&m, q->ta, "a_zp", q->nazp ? q->nazp : 1, q->nazp ? q->azp : &zero, M);
        qm_scale(&m, q->scale_in, "b_s", q->nbs > 1 ? (int)N : 0, q->bs, q->nbs ? q->nbs : 1);
        qm_zp(&m, q->tb, "b_zp", q->nbzp ? q->nbzp : 1, q->nbzp ? q->bzp : &zero, N);
        qm_scale(&m, q->scale_in, "y_s", 0, q->vys ? q->vys : &ys, q->vys ? q->nvys : 1);
        int64_t yz = q->yzp;
        qm_ints(&m, q->ty, "y_zp", 0, NULL, &yz);
    } else {
        qm_zp(&m, q->ta, "a_zp", q->nazp, q->azp, M);
        qm_zp(&m, q->tb, "b_zp", q->nbzp, q->bzp, N);
    }
    if (q->kind == QGEMM) {
        int64_t v[4096] = {0}, d[1] = {N};
        for (int64_t i = 0; i < N; i++)
            v[i] = q->bias[i % q->nbias];
        qm_ints(&m, 'i', "c", 1, d, v);
        qm_node(&m, "y = com.microsoft.QGemm<transB = %d>(a, a_s, a_zp, b, b_s, b_zp, c, y_s, y_zp)", q->trans_b);
    } else if (ql) {
        qm_node(&m, "y = QLinearMatMul(a, a_s, a_zp, b, b_s, b_zp, y_s, y_zp)");
    } else {
        qm_node(&m, "y = MatMulInteger(a, b%s%s)", q->nazp ? ", a_zp" : q->nbzp ? ", " : "",
                q->nbzp ? ", b_zp" : "");
    }
    qm_output(&m, ql ? q->ty : 'i', "y");
    qm_run(&m, q->name, q->arm, q->threads);
}

/* DQ(a) -> MatMul/Gemm(DQ(w const)) [+ bias] [-> Relu/Clip] -> Q: one
 * QLinearMatMul (bias, act) after qdq-fold; or, float_out, MatMulInteger +
 * bias + DequantizeLinear [+ act]. Scales are powers of two and sums stay
 * below 2^24 units, so the interpreter's float pattern is exact. */
typedef struct QdqMmSpec {
    const char *name;
    char ta, tw, ty;
    int ra;
    int64_t a[4];
    int64_t N;
    int azp, yzp;
    int wzp[4], nwzp;        /* per column when > 1 */
    int ea, ew[4], nw, ey;   /* scales 2^-ea, 2^-ew[] (per column when nw > 1), 2^-ey */
    bool bias, gemm;         /* Gemm<transB = 1, alpha = 0.5, beta = 2> instead of MatMul */
    const char *act;         /* NULL, "relu" or "clip" */
    double lo, hi;
    bool float_out;
    bool arm;
    bool small;              /* a KT_SMALL, w in [zp - 3, zp + 3] (ties visible) */
} QdqMmSpec;

static void qdq_mm_case(const QdqMmSpec *q)
{
    Qm m = {0};
    int64_t K = q->a[q->ra - 1], N = q->N;
    qm_input(&m, q->ta, "a", q->ra, q->a, q->small ? KT_SMALL : KT_WIDE, NULL, 0);
    double as = ldexp(1, -q->ea), ys = ldexp(1, -q->ey), ws[4];
    for (int i = 0; i < q->nw; i++)
        ws[i] = ldexp(1, -q->ew[i]);
    qm_floats(&m, "a_s", 0, &as, 1);
    int64_t z = q->azp;
    qm_ints(&m, q->ta, "a_zp", 0, NULL, &z);
    int64_t wd[2] = {q->gemm ? N : K, q->gemm ? K : N};
    int64_t *w = gen_values(q->tw, q->small ? G_SMALL : G_RAND, K * N, q->gemm ? K : 0, N, q->wzp, q->nwzp);
    qm_ints(&m, q->tw, "w", 2, wd, w);
    free(w);
    qm_floats(&m, "w_s", q->nw > 1 || q->nwzp > 1 ? (int)N : 0, ws, q->nw); /* as long as the zp */
    qm_zp(&m, q->tw, "w_zp", q->nwzp, q->wzp, N);
    if (q->bias) { /* multiples of a_s * w_s[n] (of a_s * w_s[n] / beta for Gemm) */
        double b[64];
        for (int64_t i = 0; i < N; i++)
            b[i] = (q->small ? kt_pick(-5, 5) : kt_pick(-3000, 3000)) * as * ws[i % q->nw] * (q->gemm ? 0.5 : 1.0);
        qm_floats(&m, "bias", (int)N, b, (int)N);
    }
    if (!q->float_out) {
        qm_floats(&m, "y_s", 0, &ys, 1);
        z = q->yzp;
        qm_ints(&m, q->ty, "y_zp", 0, NULL, &z);
    }
    if (q->act && strcmp(q->act, "clip") == 0) {
        qm_floats(&m, "lo", 0, &q->lo, 1);
        qm_floats(&m, "hi", 0, &q->hi, 1);
    }
    qm_node(&m, "da = DequantizeLinear(a, a_s, a_zp)");
    qm_node(&m, "dw = DequantizeLinear<axis = %d>(w, w_s%s)", q->gemm ? 0 : 1, q->nwzp ? ", w_zp" : "");
    /* the last float node writes r (then Q writes y), or y itself */
    const char *out = q->float_out ? "y" : "r", *last = "mm";
    bool add = q->bias && !q->gemm;
    if (q->gemm)
        qm_node(&m, "%s = Gemm<transB = 1, alpha = 0.5, beta = 2.0>(da, dw%s)", q->act ? "mm" : out,
                q->bias ? ", bias" : "");
    else
        qm_node(&m, "%s = MatMul(da, dw)", q->act || add ? "mm" : out);
    if (add) {
        qm_node(&m, "%s = Add(mm, bias)", q->act ? "mb" : out);
        last = "mb";
    }
    if (q->act && strcmp(q->act, "relu") == 0)
        qm_node(&m, "%s = Relu(%s)", out, last);
    else if (q->act)
        qm_node(&m, "%s = Clip(%s, lo, hi)", out, last);
    if (!q->float_out)
        qm_node(&m, "y = QuantizeLinear(r, y_s, y_zp)");
    qm_output(&m, q->float_out ? 'f' : q->ty, "y");
    qm_run(&m, q->name, q->arm, 0);
}

/* Biases that put acc = sum + bias at 2^24 + 2^16 (2j + 1) +- 1 in column
 * (channel) j: odd, so f32(acc) is the even 2^24 + 2^16 (2j + 1), and with
 * M = 2^-17, acc * M = 128 + j + 1/2 -+ 2^-17. The exact product rounds to
 * 128 + j + (1 or 0), an f32 requantization to the even of 128 + j and
 * 129 + j: the sign is picked so that they differ in every column. */
static void f32_trap_bias(int64_t sum, int n, int64_t *bias)
{
    for (int j = 0; j < n; j++) {
        int64_t x = (1ll << 24) + (1ll << 16) * (2 * j + 1);
        bias[j] = x + ((128 + j) % 2 == 0 ? 1 : -1) - sum;
    }
}

/* a = 255 (or the given values) everywhere */
static const double v255[] = {255}, vm128[] = {-128}, v127[] = {127}, v0[] = {0};
static const double v_u8_rails[] = {255, 0, 255, 255, 1, 254, 255, 0};

void kt_qmatmul(void)
{
    /* MatMulInteger: sizes, types, zero points (per tensor, per row/column) */
    const QmmSpec mmi[] = {
        {"mmi_u8s8_m1n1k1", MMI, 'u', 's', 'i', 2, 2, {1, 1}, {1, 1}, KT_WIDE, KT_WIDE, .b_input = true,
         .arm = true},
        {"mmi_u8s8_m3n5k2_zp", MMI, 'u', 's', 'i', 2, 2, {3, 2}, {2, 5}, KT_WIDE, .gb = G_RAIL, .azp = {255},
         .nazp = 1, .bzp = {-128}, .nbzp = 1},
        {"mmi_s8u8_m7n17k33_rowcol_zp", MMI, 's', 'u', 'i', 2, 2, {7, 33}, {33, 17}, KT_WIDE, .gb = G_RAIL,
         .azp = {-128, 127, 0, -1, 5}, .nazp = 5, .bzp = {0, 255, 128}, .nbzp = 3, .arm = true},
        {"mmi_u8u8_m2n9k255", MMI, 'u', 'u', 'i', 2, 2, {2, 255}, {255, 9}, KT_RAND, KT_WIDE, .b_input = true,
         .azp = {128}, .nazp = 1, .bzp = {255}, .nbzp = 1},
        {"mmi_s8s8_m4n16k64_bzp_only", MMI, 's', 's', 'i', 2, 2, {4, 64}, {64, 16}, KT_WIDE, .gb = G_RAIL,
         .bzp = {127, -128}, .nbzp = 2},
        {"mmi_u8s8_m1n3k1030_rails", MMI, 'u', 's', 'i', 2, 2, {1, 1030}, {1030, 3}, KT_VALUES, .va = v_u8_rails,
         .nva = NELEM(v_u8_rails), .gb = G_RAIL, .arm = true},
        {"mmi_u8s8_m5n1k1031", MMI, 'u', 's', 'i', 2, 2, {5, 1031}, {1031, 1}, KT_WIDE, KT_WIDE, .b_input = true,
         .azp = {0, 255, 128}, .nazp = 3},
        {"mmi_s8s8_m3n7k515_m128", MMI, 's', 's', 'i', 2, 2, {3, 515}, {515, 7}, KT_VALUES, KT_VALUES, vm128, vm128,
         1, 1, .b_input = true},
        {"mmi_batch2x3_b2d", MMI, 'u', 's', 'i', 4, 2, {2, 3, 4, 17}, {17, 9}, KT_WIDE, .gb = G_RAND, .azp = {7},
         .nazp = 1, .bzp = {-3}, .nbzp = 1},
        {"mmi_batchN_x_b3", MMI, 'u', 'u', 'i', 3, 3, {-1, 5, 7}, {-1, 7, 6}, KT_WIDE, KT_WIDE, .b_input = true,
         .azp = {1, 254}, .nazp = 2, .bzp = {255}, .nbzp = 1},
        {"mmi_rowsN", MMI, 's', 's', 'i', 2, 2, {-1, 65}, {65, 9}, KT_WIDE, .gb = G_RAIL, .azp = {-128}, .nazp = 1,
         .bzp = {0, 127, -128}, .nbzp = 3, .arm = true},
        {"mmi_vec_mat", MMI, 'u', 's', 'i', 1, 2, {33}, {33, 5}, KT_WIDE, .gb = G_RAIL, .azp = {255}, .nazp = 1},
        {"mmi_mat_vec", MMI, 's', 'u', 'i', 2, 1, {6, 19}, {19}, KT_WIDE, KT_WIDE, .b_input = true,
         .azp = {-128, 127}, .nazp = 2},
        {"mmi_vec_vec", MMI, 'u', 'u', 'i', 1, 1, {300}, {300}, KT_WIDE, KT_WIDE, .b_input = true},
        /* exact sums past 2^24, wrapping past 2^31 (MatMulInteger wraps) */
        {"mmi_u8u8_k33100_wraps", MMI, 'u', 'u', 'i', 2, 2, {1, 33100}, {33100, 1}, KT_VALUES, KT_VALUES, v255, v0,
         1, 1, .b_input = true, .bzp = {255}, .nbzp = 1, .arm = true},
        {"mmi_s8s8_k33100_zp_rails_wraps", MMI, 's', 's', 'i', 2, 2, {2, 33100}, {33100, 2}, KT_VALUES, KT_VALUES,
         vm128, v127, 1, 1, .b_input = true, .azp = {127}, .nazp = 1, .bzp = {-128}, .nbzp = 1},
        /* the microkernels (k_mm.c: constant weights, K*N >= 4096): per-row
         * a and per-column b zero points (row sums), s8 activations (top bit
         * flipped for vpdpbusd), u8 weights (vpmaddwd), K not a multiple of
         * the dot's k-group, N not of the tile's width, rows 13 = 8 + 4 + 1 */
        {"mk_mmi_s8u8_m13n70k131_rowzp_colzp", MMI, 's', 'u', 'i', 2, 2, {13, 131}, {131, 70}, KT_WIDE,
         .gb = G_RAIL, .azp = {-128, 127, 0, 5, -3}, .nazp = 5, .bzp = {0, 255, 128}, .nbzp = 3, .arm = true},
        {"mk_mmi_u8s8_batchN_n96k67", MMI, 'u', 's', 'i', 2, 2, {-1, 67}, {67, 96}, KT_WIDE, .gb = G_RAIL,
         .azp = {255}, .nazp = 1, .arm = true},
        {"mk_mmi_s8s8_m29n45k100_bzp", MMI, 's', 's', 'i', 2, 2, {29, 100}, {100, 45}, KT_WIDE, .gb = G_RAIL,
         .azp = {-128}, .nazp = 1, .bzp = {127, -128, 0}, .nbzp = 3},
        /* weights in [-64, 64] (x86 without VNNI: pmaddubsw, exact because
         * no pair of them can saturate it) against a = 255 everywhere and
         * rails; s8 activations (flipped); K odd; one pair of 129: pmaddwd */
        {"mk_mmi_u8s8_rail7_a255", MMI, 'u', 's', 'i', 2, 2, {7, 131}, {131, 40}, KT_VALUES, .va = vx_u8_255,
         .nva = 1, .gb = G_RAIL7, .arm = true},
        {"mk_mmi_u8s8_rail7_batchN_azp_bzp", MMI, 'u', 's', 'i', 2, 2, {-1, 64}, {64, 70}, KT_WIDE, .gb = G_RAIL7,
         .azp = {255}, .nazp = 1, .bzp = {-64, 64, 0}, .nbzp = 3},
        {"mk_mmi_s8s8_rail7_m13", MMI, 's', 's', 'i', 2, 2, {13, 67}, {67, 24}, KT_WIDE, .gb = G_RAIL7,
         .azp = {-128, 127}, .nazp = 2},
        {"mk_mmi_u8s8_over7_a255", MMI, 'u', 's', 'i', 2, 2, {3, 128}, {128, 40}, KT_VALUES, .va = vx_u8_255,
         .nva = 1, .gb = G_OVER7},
    };
    for (int i = 0; i < NELEM(mmi); i++)
        qmm_case(&mmi[i]);

    static const double v_ys_bad[] = {0.0};
    const QmmSpec qmm[] = {
        /* requantization with realistic scales; sizes 1..1031 */
        {"qmm_u8s8u8_m1n1k1", QMM, 'u', 's', 'u', 2, 2, {1, 1}, {1, 1}, KT_WIDE, .gb = G_RAIL, .azp = {128},
         .nazp = 1, .yzp = 128, .as = {0.0187}, .bs = {0.0031}, .ys = 0.00005},
        {"qmm_u8s8u8_m3n5k7", QMM, 'u', 's', 'u', 2, 2, {3, 7}, {7, 5}, KT_WIDE, .gb = G_RAND, .azp = {0},
         .nazp = 1, .yzp = 0, .as = {0.0187}, .bs = {0.0031}, .arm = true},
        {"qmm_s8s8s8_m7n17k33", QMM, 's', 's', 's', 2, 2, {7, 33}, {33, 17}, KT_WIDE, .gb = G_RAIL, .azp = {-128},
         .nazp = 1, .bzp = {127}, .nbzp = 1, .yzp = 127, .as = {0.05}, .bs = {0.002}},
        {"qmm_u8u8u8_m9n16k64", QMM, 'u', 'u', 'u', 2, 2, {9, 64}, {64, 16}, KT_RAND, KT_RAND, .b_input = true,
         .azp = {255}, .nazp = 1, .bzp = {0}, .nbzp = 1, .yzp = 255, .as = {0.011}, .bs = {0.017}},
        {"qmm_s8u8s8_m2n3k255", QMM, 's', 'u', 's', 2, 2, {2, 255}, {255, 3}, KT_WIDE, .gb = G_RAIL, .azp = {0},
         .nazp = 1, .bzp = {128}, .nbzp = 1, .yzp = -100, .as = {0.1}, .bs = {0.01}},
        {"qmm_u8s8s8_m4n7k515", QMM, 'u', 's', 's', 2, 2, {4, 515}, {515, 7}, KT_WIDE, .gb = G_RAIL, .azp = {0},
         .nazp = 1, .yzp = 0, .as = {0.02}, .bs = {0.004}, .arm = true},
        {"qmm_u8s8u8_m3n5k1031", QMM, 'u', 's', 'u', 2, 2, {3, 1031}, {1031, 5}, KT_RAND, .gb = G_RAND,
         .azp = {128}, .nazp = 1, .yzp = 128, .as = {0.02}, .bs = {0.004}},
        /* per-row a and per-column b scales and zero points at the rails */
        {"qmm_per_row_col_u8s8", QMM, 'u', 's', 'u', 2, 2, {5, 17}, {17, 6}, KT_WIDE, .gb = G_RAIL,
         .azp = {0, 255, 128, 1, 254}, .nazp = 5, .bzp = {-128, 127, 0}, .nbzp = 3, .yzp = 100,
         .as = {0.01, 0.02, 0.005, 0.1, 0.03}, .nas = 5, .bs = {0.003, 0.001, 0.007}, .nbs = 3, .ys = 0.5,
         .arm = true},
        {"qmm_per_col_s8s8", QMM, 's', 's', 's', 3, 2, {-1, 3, 33}, {33, 9}, KT_WIDE, .gb = G_RAIL, .azp = {-128},
         .nazp = 1, .bzp = {127, -128, 5}, .nbzp = 3, .yzp = -7, .as = {0.03}, .bs = {0.001, 0.002, 0.0005},
         .nbs = 3, .ys = 0.8},
        /* ties: M = 1/2, 1/4, 1/8 with small sums; even and odd k of both signs */
        {"qmm_ties_m0.5_s8", QMM, 's', 's', 's', 2, 2, {-1, 3}, {3, 8}, KT_SMALL, .gb = G_SMALL, .azp = {0},
         .nazp = 1, .yzp = 0, .as = {1}, .bs = {1}, .ys = 2, .arm = true},
        {"qmm_ties_m0.25_u8", QMM, 'u', 's', 'u', 2, 2, {7, 5}, {5, 7}, KT_RAND, .gb = G_SMALL, .azp = {128},
         .nazp = 1, .yzp = 128, .as = {0.5}, .bs = {0.5}, .ys = 1},
        {"qmm_ties_m0.125_u8u8", QMM, 'u', 'u', 's', 2, 2, {3, 2}, {2, 9}, KT_WIDE, KT_SMALL, .b_input = true,
         .azp = {255}, .nazp = 1, .bzp = {3}, .nbzp = 1, .yzp = 1, .as = {0.25}, .bs = {0.5}, .ys = 1},
        /* the order of the f32 steps: f32(f32(a_s * b_s) / y_s) is 3/4,
         * a_s * f32(b_s / y_s) and f32(a_s / y_s) * b_s are 3/4 -+ 2^-24: sums
         * = 2 mod 4 are ties for one and not the other */
        {"qmm_m_order_low", QMM, 's', 's', 's', 2, 2, {-1, 5}, {5, 16}, KT_SMALL, .gb = G_SMALL, .azp = {0},
         .nazp = 1, .yzp = 0, .as = {0.472521186}, .bs = {0.890668571}, .ys = 0.561146379, .arm = true},
        {"qmm_m_order_high_per_col", QMM, 'u', 's', 'u', 2, 2, {6, 4}, {4, 9}, KT_SMALL, .gb = G_SMALL, .azp = {3},
         .nazp = 1, .yzp = 100, .as = {0.761610806}, .bs = {0.0402594991, 0.0402594991}, .nbs = 2,
         .ys = 0.0408827588},
        /* |acc| past 2^24: 255 x -128 over K = 1030, M = 2^-19 */
        {"qmm_255x-128_k1030", QMM, 'u', 's', 's', 2, 2, {3, 1030}, {1030, 4}, KT_VALUES, .va = v255, .nva = 1,
         .gb = G_LO, .azp = {0}, .nazp = 1, .yzp = 0, .as = {1}, .bs = {1}, .ys = 524288, .arm = true},
        {"qmm_255x127_k1030_alt", QMM, 'u', 's', 'u', 2, 2, {2, 1030}, {1030, 5}, KT_VALUES, .va = v_u8_rails,
         .nva = NELEM(v_u8_rails), .gb = G_ALT, .azp = {0}, .nazp = 1, .yzp = 128, .as = {0.5}, .bs = {0.25},
         .ys = 8192},
        {"qmm_s8_m128_k1030", QMM, 's', 's', 's', 2, 2, {-1, 1030}, {1030, 3}, KT_VALUES, .va = vm128, .nva = 1,
         .gb = G_LO, .azp = {0}, .nazp = 1, .bzp = {0, 1, -1}, .nbzp = 3, .yzp = 0, .as = {1}, .bs = {1},
         .ys = 262144},
        /* huge and tiny output scales: every output at a rail or at y_zp */
        {"qmm_tiny_ys_saturates", QMM, 'u', 's', 'u', 2, 2, {4, 9}, {9, 6}, KT_WIDE, .gb = G_RAIL, .azp = {128},
         .nazp = 1, .yzp = 128, .as = {0.02}, .bs = {0.01}, .ys = 1e-30},
        {"qmm_tiny_ys_s8", QMM, 's', 's', 's', 2, 2, {4, 9}, {9, 6}, KT_WIDE, .gb = G_RAIL, .azp = {-128},
         .nazp = 1, .yzp = 127, .as = {1e30}, .bs = {1e-5}, .ys = 1e-20},
        {"qmm_huge_ys", QMM, 'u', 's', 'u', 2, 2, {4, 9}, {9, 6}, KT_WIDE, .gb = G_RAIL, .azp = {0}, .nazp = 1,
         .yzp = 77, .as = {0.02}, .bs = {0.01}, .ys = 3e38},
        {"qmm_inf_M", QMM, 'u', 's', 's', 2, 2, {4, 3}, {3, 6}, KT_SMALL, .gb = G_SMALL, .azp = {3}, .nazp = 1,
         .yzp = -3, .as = {1e30}, .bs = {1e30}, .ys = 1},
        /* run-time scales: y_s 0 makes M inf (0 * inf: NaN -> y_zp), and per column */
        {"qmm_scale_input_ys0", QMM, 'u', 's', 'u', 2, 2, {3, 4}, {4, 5}, KT_SMALL, .gb = G_SMALL, .azp = {3},
         .nazp = 1, .yzp = 9, .as = {0.5}, .bs = {0.25}, .scale_in = true, .vys = v_ys_bad, .nvys = 1},
        {"qmm_scale_input_per_col", QMM, 'u', 's', 'u', 2, 2, {-1, 37}, {37, 8}, KT_WIDE, .gb = G_RAIL,
         .azp = {255}, .nazp = 1, .bzp = {-128, 127}, .nbzp = 2, .yzp = 128, .as = {0.01},
         .bs = {0.002, 0.001, 0.004, INFINITY, 0.0, 1e-40, NAN, -0.001}, .nbs = 8, .ys = 1.0, .scale_in = true,
         .arm = true},
        /* batch dims and the symbolic batch */
        {"qmm_batchN_rows", QMM, 'u', 's', 'u', 2, 2, {-1, 17}, {17, 9}, KT_WIDE, .gb = G_RAIL, .azp = {128},
         .nazp = 1, .bzp = {0}, .nbzp = 1, .yzp = 128, .as = {0.02}, .bs = {0.01}, .arm = true, .threads = 2},
        {"qmm_batch2x3_b_input", QMM, 's', 'u', 's', 4, 3, {2, 3, 5, 7}, {3, 7, 4}, KT_WIDE, KT_WIDE,
         .b_input = true, .azp = {-128}, .nazp = 1, .bzp = {255}, .nbzp = 1, .yzp = 0, .as = {0.04},
         .bs = {0.02}},
        {"qmm_batchN_x_batchN", QMM, 'u', 'u', 'u', 3, 3, {-1, 3, 11}, {-1, 11, 5}, KT_WIDE, KT_WIDE,
         .b_input = true, .azp = {0}, .nazp = 1, .bzp = {255}, .nbzp = 1, .yzp = 200, .as = {0.1}, .bs = {0.1}},
        {"qmm_vec_mat", QMM, 'u', 's', 'u', 1, 2, {65}, {65, 7}, KT_WIDE, .gb = G_RAIL, .azp = {128}, .nazp = 1,
         .yzp = 128, .as = {0.02}, .bs = {0.01}},
        {"qmm_batched_mat_vec", QMM, 's', 's', 's', 3, 1, {3, 5, 17}, {17}, KT_WIDE, KT_WIDE, .b_input = true,
         .azp = {-128}, .nazp = 1, .bzp = {127}, .nbzp = 1, .yzp = 0, .as = {0.02}, .bs = {0.01}},
        {"qmm_batch_odd7", QMM, 'u', 's', 's', 3, 2, {7, 1, 129}, {129, 33}, KT_RAND, .gb = G_RAND, .azp = {128},
         .nazp = 1, .yzp = 0, .as = {0.02}, .bs = {0.01}, .threads = 2},
        /* the microkernels (k_mm.c), requantizing */
        {"mk_qmm_u8s8u8_batchN_n100k65", QMM, 'u', 's', 'u', 2, 2, {-1, 65}, {65, 100}, KT_WIDE, .gb = G_RAIL,
         .azp = {128}, .nazp = 1, .yzp = 128, .as = {0.02}, .bs = {0.004}, .arm = true, .threads = 2},
        {"mk_qmm_s8s8s8_m13n64k70_per_col", QMM, 's', 's', 's', 2, 2, {13, 70}, {70, 64}, KT_WIDE, .gb = G_RAIL,
         .azp = {-5}, .nazp = 1, .yzp = -7, .as = {0.03}, .bs = {0.001, 0.002, 0.0005}, .nbs = 3, .ys = 0.8},
    };
    for (int i = 0; i < NELEM(qmm); i++)
        qmm_case(&qmm[i]);

    /* the i32 bias (QGemm's C) near the int32 limits: columns of
     * non-negative products take -2^31, columns of non-positive ones 2^31-1
     * (u8 a with a_zp 0), so acc + bias stays in int32 */
    const QmmSpec qg[] = {
        {"qgemm_bias_limits_u8s8", QGEMM, 'u', 's', 's', 2, 2, {3, 33}, {33, 8}, KT_WIDE, .gb = G_CHSIGN,
         .azp = {0}, .nazp = 1, .bzp = {0}, .nbzp = 1, .yzp = 0, .as = {0.03125}, .bs = {0.0009765625},
         .ys = 1024, .bias = {INT32_MIN, INT32_MAX}, .nbias = 2, .arm = true},
        {"qgemm_bias_limits_transB_zp", QGEMM, 'u', 's', 'u', 2, 2, {-1, 40}, {6, 40}, KT_WIDE, .gb = G_CHSIGN,
         .azp = {0}, .nazp = 1, .bzp = {-128, 127, 5}, .nbzp = 3, .yzp = 128, .as = {0.01},
         .bs = {0.001, 0.002, 0.0005}, .nbs = 3, .ys = 400, .trans_b = true,
         .bias = {INT32_MIN + 12345, INT32_MAX - 7}, .nbias = 2},
        {"qgemm_bias_u8u8_per_col", QGEMM, 'u', 'u', 'u', 2, 2, {5, 64}, {64, 11}, KT_RAND, .gb = G_RAND,
         .azp = {128}, .nazp = 1, .bzp = {0, 255, 128}, .nbzp = 3, .yzp = 0, .as = {0.02},
         .bs = {0.01, 0.03}, .nbs = 2, .bias = {100000, -77777, 0, 1}, .nbias = 4},
        {"qgemm_bias_s8_batch7_k1030", QGEMM, 's', 's', 's', 2, 2, {7, 1030}, {9, 1030}, KT_WIDE, .gb = G_RAIL,
         .azp = {-128}, .nazp = 1, .bzp = {127}, .nbzp = 1, .yzp = -1, .as = {0.5}, .bs = {0.25},
         .ys = 1048576, .trans_b = true, .bias = {33619200, -33619200, 1}, .nbias = 3, .arm = true},
        {"qgemm_bias_ties", QGEMM, 'u', 's', 's', 2, 2, {-1, 4}, {4, 6}, KT_SMALL, .gb = G_SMALL, .azp = {3},
         .nazp = 1, .yzp = 0, .as = {1}, .bs = {1}, .ys = 2, .bias = {1, -1, 3, -3, 5, -5}, .nbias = 6},
    };
    for (int i = 0; i < NELEM(qg); i++)
        qmm_case(&qg[i]);
    /* acc past 2^24 at requantization, odd, next to a tie: a float
     * requantization (f32(acc) * M) is off by one in every column */
    QmmSpec trap = {"qgemm_f32_requant_trap", QGEMM, 'u', 's', 'u', 2, 2, {-1, 600}, {600, 8}, KT_VALUES,
                    .va = v255, .nva = 1, .gb = G_HI, .azp = {0}, .nazp = 1, .bzp = {0}, .nbzp = 1, .yzp = 0,
                    .as = {1}, .bs = {1}, .ys = 131072, .nbias = 8, .arm = true};
    f32_trap_bias(600ll * 255 * 127, 8, trap.bias);
    qmm_case(&trap);

    /* fused epilogues through qdq-fold (and the float-output form) */
    const QdqMmSpec qd[] = {
        {"qdq_mm_bias_relu_u8", 'u', 's', 'u', 2, {-1, 17}, 9, 128, 10, {0}, 0, 4, {5, 6, 7}, 3, 0, true, false,
         "relu", .arm = true},
        {"qdq_mm_bias_relu_s8_zp_rail", 's', 's', 's', 3, {2, 3, 33}, 8, -128, -60, {0}, 0, 3, {6}, 1, 0, true,
         false, "relu"},
        {"qdq_mm_clip_u8", 'u', 's', 'u', 2, {5, 24}, 7, 128, 200, {0}, 0, 4, {8, 7}, 2, 2, false, false, "clip",
         -1.3, 20.7, .arm = true},
        {"qdq_mm_bias_clip_s8_wzp", 's', 'u', 's', 2, {-1, 12}, 6, 0, -20, {128, 0, 255}, 3, 3, {9}, 1, 3, true,
         false, "clip", -7.25, 3.3},
        {"qdq_mm_relu_ties", 'u', 's', 'u', 2, {7, 5}, 10, 3, 0, {0}, 0, 1, {1}, 1, 1, true, false, "relu",
         .small = true},
        {"qdq_mm_clip_inverted", 'u', 's', 's', 2, {3, 9}, 5, 128, 5, {0}, 0, 4, {5}, 1, 3, true, false, "clip",
         2.0, -1.0},
        {"qdq_gemm_transB_bias_relu", 'u', 's', 'u', 2, {-1, 20}, 9, 128, 3, {0}, 0, 4, {5, 6}, 2, 1, true, true,
         "relu", .arm = true},
        {"qdq_mm_bias_no_act_s8", 's', 's', 's', 2, {4, 16}, 5, 0, 0, {0}, 0, 3, {6}, 1, 0, true, false, NULL},
        {"qdq_mm_float_out_bias_relu", 'u', 's', 'f', 2, {-1, 17}, 9, 128, 0, {0}, 0, 4, {5, 6, 7}, 3, 0, true,
         false, "relu", .float_out = true, .arm = true},
        {"qdq_mm_float_out_clip", 's', 'u', 'f', 2, {3, 8}, 4, 5, 0, {128}, 1, 3, {5}, 1, 0, false, false, "clip",
         -0.75, 1.5, .float_out = true},
    };
    for (int i = 0; i < NELEM(qd); i++)
        qdq_mm_case(&qd[i]);
}

/* ---- ConvInteger / QLinearConv -------------------------------------------- */

typedef struct QcSpec {
    const char *name;
    bool ql;
    char tx, tw, ty;
    int nsp;
    int64_t n, c, m, group;      /* n -1: the symbolic batch */
    int64_t in[3], k[3], s[3], d[3], p[6];
    const char *auto_pad;
    KtFill fx;
    const double *vx;
    int nvx;
    Gen gw;
    bool w_input;                /* weights a graph input (not packed) */
    int xzp;
    bool no_xzp;                 /* ConvInteger: no zero points at all */
    int wzp[8], nwzp;            /* 0 none, 1 per tensor, > 1 per channel, cycled */
    bool wzp_input;              /* w_zp a graph input (not packed) */
    int yzp;
    double xs, ws[8], ys;        /* ys 0: chosen so outputs spread */
    int nws;                     /* > 1: per channel */
    bool scale_in;               /* scales as graph inputs */
    int64_t bias[8];
    int nbias;                   /* 0 none; cycled over M */
    bool bias_rand;              /* random biases instead */
    bool arm;
    int threads;
} QcSpec;

static void qints_attr(KtText *t, const char *attr, int n, const int64_t *v)
{
    kt_printf(t, ", %s = [", attr);
    for (int i = 0; i < n; i++)
        kt_printf(t, "%s%lld", i ? ", " : "", (long long)v[i]);
    kt_printf(t, "]");
}

/* The window attributes of a conv spec, as text (after "group = G"). */
static void conv_attrs(KtText *a, int nsp, const int64_t *k, const int64_t *s, const int64_t *d,
                       const int64_t *p, const char *auto_pad)
{
    int64_t one[3] = {1, 1, 1};
    qints_attr(a, "kernel_shape", nsp, k);
    qints_attr(a, "strides", nsp, s[0] ? s : one);
    qints_attr(a, "dilations", nsp, d[0] ? d : one);
    if (auto_pad)
        kt_printf(a, ", auto_pad = \"%s\"", auto_pad);
    else
        qints_attr(a, "pads", 2 * nsp, p);
}

static void qconv_case(const QcSpec *q)
{
    Qm m = {0};
    int nsp = q->nsp;
    int64_t xd[5] = {q->n, q->c}, wd[5] = {q->m, q->c / q->group}, taps = 1;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = q->in[i];
        wd[2 + i] = q->k[i];
        taps *= q->k[i];
    }
    int64_t per = wd[1] * taps, nw = q->m * per;
    qm_input(&m, q->tx, "x", 2 + nsp, xd, q->fx, q->vx, q->nvx);
    if (q->w_input)
        qm_input(&m, q->tw, "w", 2 + nsp, wd, KT_WIDE, NULL, 0);
    else {
        int64_t *v = gen_values(q->tw, q->gw, nw, per, q->m, q->wzp, q->nwzp);
        qm_ints(&m, q->tw, "w", 2 + nsp, wd, v);
        free(v);
    }
    static double wzv[8];
    if (q->wzp_input) {
        for (int i = 0; i < q->nwzp; i++)
            wzv[i] = q->wzp[i];
        int64_t d[1] = {q->nwzp > 1 ? q->m : 1};
        qm_input(&m, q->tw, "w_zp", q->nwzp > 1 ? 1 : 0, d, KT_VALUES, wzv, q->nwzp);
    }
    const int zero = 0;
    double ys = q->ys;
    if (q->ql && ys == 0)
        ys = auto_ys(q->tx, q->fx, q->xzp, q->tw, q->w_input ? G_RAND : q->gw, q->nwzp ? q->wzp[0] : 0, per, q->xs,
                     q->ws[0]);
    if (q->ql) {
        qm_scale(&m, q->scale_in, "x_s", 0, &q->xs, 1);
        qm_zp(&m, q->tx, "x_zp", 1, &q->xzp, 1);
        qm_scale(&m, q->scale_in, "w_s", q->nws > 1 ? (int)q->m : 0, q->ws, q->nws ? q->nws : 1);
        if (!q->wzp_input)
            qm_zp(&m, q->tw, "w_zp", q->nwzp ? q->nwzp : 1, q->nwzp ? q->wzp : &zero, q->m);
        qm_scale(&m, q->scale_in, "y_s", 0, &ys, 1);
        int64_t yz = q->yzp;
        qm_ints(&m, q->ty, "y_zp", 0, NULL, &yz);
    } else if (!q->no_xzp) {
        qm_zp(&m, q->tx, "x_zp", 1, &q->xzp, 1);
        if (!q->wzp_input)
            qm_zp(&m, q->tw, "w_zp", q->nwzp, q->wzp, q->m);
    }
    if (q->nbias || q->bias_rand) {
        int64_t *b = malloc(sizeof(int64_t) * (size_t)q->m), d[1] = {q->m};
        for (int64_t i = 0; i < q->m; i++)
            b[i] = q->bias_rand ? kt_pick(-200000, 200000) : q->bias[i % q->nbias];
        qm_ints(&m, 'i', "bias", 1, d, b);
        free(b);
    }
    KtText a = {0};
    kt_printf(&a, "group = %lld", (long long)q->group);
    conv_attrs(&a, nsp, q->k, q->s, q->d, q->p, q->auto_pad);
    if (q->ql)
        qm_node(&m, "y = QLinearConv<%s>(x, x_s, x_zp, w, w_s, w_zp, y_s, y_zp%s)", a.s,
                q->nbias || q->bias_rand ? ", bias" : "");
    else if (q->no_xzp)
        qm_node(&m, "y = ConvInteger<%s>(x, w)", a.s);
    else
        qm_node(&m, "y = ConvInteger<%s>(x, w, x_zp%s)", a.s, q->nwzp ? ", w_zp" : "");
    kt_text_free(&a);
    qm_output(&m, q->ql ? q->ty : 'i', "y");
    qm_run(&m, q->name, q->arm, q->threads);
}

/* DQ(x) -> Conv(DQ(w const) [, b]) [-> Relu/Clip] -> Q: QLinearConv with
 * bias and act after qdq-fold (or ConvInteger + bias + DQ [+ act] with a
 * float output). Power-of-two scales: the interpreter's floats are exact. */
typedef struct QdqConvSpec {
    const char *name;
    char tx, tw, ty;
    int nsp;
    int64_t n, c, m, group;
    int64_t in[3], k[3], s[3], d[3], p[6];
    int xzp, yzp;
    int wzp[4], nwzp;
    int ex, ew[4], nw, ey;       /* scales 2^-ex, 2^-ew[] (per channel when nw > 1), 2^-ey */
    bool bias;
    const char *act;
    double lo, hi;
    bool float_out, arm;
    bool small;                  /* x KT_SMALL, w in [zp - 3, zp + 3] */
} QdqConvSpec;

static void qdq_conv_case(const QdqConvSpec *q)
{
    Qm m = {0};
    int nsp = q->nsp;
    int64_t xd[5] = {q->n, q->c}, wd[5] = {q->m, q->c / q->group}, taps = 1;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = q->in[i];
        wd[2 + i] = q->k[i];
        taps *= q->k[i];
    }
    int64_t per = wd[1] * taps;
    qm_input(&m, q->tx, "x", 2 + nsp, xd, q->small ? KT_SMALL : KT_WIDE, NULL, 0);
    double xs = ldexp(1, -q->ex), ys = ldexp(1, -q->ey), ws[4];
    for (int i = 0; i < q->nw; i++)
        ws[i] = ldexp(1, -q->ew[i]);
    qm_floats(&m, "x_s", 0, &xs, 1);
    int64_t z = q->xzp;
    qm_ints(&m, q->tx, "x_zp", 0, NULL, &z);
    int64_t *w = gen_values(q->tw, q->small ? G_SMALL : G_RAND, q->m * per, per, q->m, q->wzp, q->nwzp);
    qm_ints(&m, q->tw, "w", 2 + nsp, wd, w);
    free(w);
    qm_floats(&m, "w_s", q->nw > 1 || q->nwzp > 1 ? (int)q->m : 0, ws, q->nw); /* as long as the zp */
    qm_zp(&m, q->tw, "w_zp", q->nwzp, q->wzp, q->m);
    if (q->bias) {
        double b[64];
        for (int64_t i = 0; i < q->m; i++)
            b[i] = (q->small ? kt_pick(-5, 5) : kt_pick(-3000, 3000)) * xs * ws[i % q->nw];
        qm_floats(&m, "b", (int)q->m, b, (int)q->m);
    }
    if (!q->float_out) {
        qm_floats(&m, "y_s", 0, &ys, 1);
        z = q->yzp;
        qm_ints(&m, q->ty, "y_zp", 0, NULL, &z);
    }
    if (q->act && strcmp(q->act, "clip") == 0) {
        qm_floats(&m, "lo", 0, &q->lo, 1);
        qm_floats(&m, "hi", 0, &q->hi, 1);
    }
    KtText a = {0};
    kt_printf(&a, "group = %lld", (long long)q->group);
    conv_attrs(&a, nsp, q->k, q->s, q->d, q->p, NULL);
    qm_node(&m, "dx = DequantizeLinear(x, x_s, x_zp)");
    qm_node(&m, "dw = DequantizeLinear<axis = 0>(w, w_s%s)", q->nwzp ? ", w_zp" : "");
    const char *out = q->float_out ? "y" : "r";
    qm_node(&m, "%s = Conv<%s>(dx, dw%s)", q->act ? "cv" : out, a.s, q->bias ? ", b" : "");
    kt_text_free(&a);
    if (q->act && strcmp(q->act, "relu") == 0)
        qm_node(&m, "%s = Relu(cv)", out);
    else if (q->act)
        qm_node(&m, "%s = Clip(cv, lo, hi)", out);
    if (!q->float_out)
        qm_node(&m, "y = QuantizeLinear(r, y_s, y_zp)");
    qm_output(&m, q->float_out ? 'f' : q->ty, "y");
    qm_run(&m, q->name, q->arm, 0);
}


void kt_qconv(void)
{
#define P1 {1, 1, 1, 1}
    /* ConvInteger: the row-wise kernel and the packed one (>= 8 channels
     * per group, constant weights), i32 out */
    const QcSpec ci[] = {
        {"ci_u8s8_3x3_p1", false, 'u', 's', 'i', 2, -1, 3, 4, 1, {6, 7}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .nwzp = 1, .wzp = {-128}, .arm = true},
        {"ci_s8u8_packed_m16_wzp_per_ch", false, 's', 'u', 'i', 2, 2, 5, 16, 1, {5, 5}, {3, 3}, {2, 1}, {0}, P1,
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = -128, .wzp = {0, 255, 128, 1}, .nwzp = 4},
        {"ci_u8u8_packed_no_zp", false, 'u', 'u', 'i', 2, 1, 4, 8, 1, {7, 6}, {1, 1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .no_xzp = true, .arm = true},
        {"ci_s8s8_packed_i8_zp0_dil2", false, 's', 's', 'i', 2, -1, 3, 9, 1, {9, 8}, {3, 3}, {1, 1}, {2, 2}, P1,
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = 0, .nwzp = 1, .wzp = {0}},
        {"ci_w_input_g2", false, 'u', 's', 'i', 2, 3, 4, 6, 2, {5, 6}, {3, 2}, {2, 1}, {0}, {1, 0, 0, 1}, NULL,
         KT_WIDE, .w_input = true, .xzp = 255, .nwzp = 1, .wzp = {127}},
        {"ci_depthwise_1d", false, 's', 's', 'i', 1, 1, 6, 6, 6, {17}, {5}, {2}, {1}, {2, 2}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 127, .nwzp = 6, .wzp = {-128, 127, 0, 1, -1, 64}},
        {"ci_255x-128_c115_k3x3", false, 'u', 's', 'i', 2, 1, 115, 8, 1, {3, 3}, {3, 3}, {0}, {0}, P1, NULL,
         KT_VALUES, vx_u8_255, 1, G_LO, .xzp = 0, .nwzp = 1, .wzp = {0}, .arm = true},
        /* depthwise on vpermb + vpdpbusd (AVX512-VNNI and -VBMI): i32 out */
        {"ci_dw_dot_rows", false, 'u', 's', 'i', 2, -1, 8, 8, 8, {6, 33}, {3, 3}, {1, 1}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .nwzp = 1, .wzp = {0}},
        /* exact int32 wrap-around past 2^31 */
        {"ci_k33100_wraps", false, 'u', 'u', 'i', 2, 1, 33100, 1, 1, {1, 1}, {1, 1}, {0}, {0}, {0}, NULL, KT_VALUES,
         vx_u8_255, 1, G_LO, .xzp = 0, .nwzp = 1, .wzp = {255}},
    };
    for (int i = 0; i < NELEM(ci); i++)
        qconv_case(&ci[i]);

    /* QLinearConv. Paths (codegen/k_quant.c): channel-vectorized with i8
     * packed weights (constant i8 w, w_zp 0, >= 8 channels per group), with
     * i16 (u8 w, or a non-zero w_zp), row-wise (fewer channels, run-time w
     * or w_zp; always on the GPU). */
    const QcSpec qc[] = {
        /* 1x1 pointwise, the three paths */
        {"qc_1x1_i8pack", true, 'u', 's', 'u', 2, -1, 16, 24, 1, {5, 7}, {1, 1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.003}, .bias_rand = true, .arm = true},
        {"qc_1x1_i16pack_u8w", true, 'u', 'u', 'u', 2, 1, 16, 24, 1, {5, 7}, {1, 1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 0, .nwzp = 3, .wzp = {0, 255, 128}, .yzp = 0, .xs = 0.02, .ws = {0.003}},
        {"qc_1x1_rowwise_wzp_input", true, 'u', 's', 'u', 2, 3, 16, 24, 1, {5, 7}, {1, 1}, {0}, {0}, {0}, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 255, .nwzp = 1, .wzp = {0}, .wzp_input = true, .yzp = 255, .xs = 0.02,
         .ws = {0.003}},
        /* 3x3, pads, strides, dilations */
        {"qc_3x3_p1_i8pack_batch3", true, 'u', 's', 'u', 2, 3, 8, 16, 1, {9, 9}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 0, .yzp = 0, .xs = 0.05, .ws = {0.01, 0.02, 0.005, 0.002}, .nws = 4,
         .bias_rand = true, .arm = true, .threads = 2},
        {"qc_3x3_s2_asym_i16pack_wzp", true, 's', 's', 's', 2, -1, 4, 12, 1, {11, 10}, {3, 3}, {2, 2}, {0},
         {0, 1, 1, 0}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = -128, .nwzp = 4, .wzp = {-128, 127, 0, 3}, .yzp = 127,
         .xs = 0.1, .ws = {0.01}, .bias_rand = true},
        {"qc_3x3_d2_p2_rowwise_m5", true, 'u', 's', 's', 2, 1, 3, 5, 1, {9, 11}, {3, 3}, {1, 1}, {2, 2},
         {2, 2, 2, 2}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = 128, .yzp = -128, .xs = 0.03, .ws = {0.01}},
        {"qc_3x2_s3x1_d1x2_i8pack", true, 's', 's', 'u', 2, 7, 2, 9, 1, {10, 9}, {2, 3}, {3, 1}, {1, 2},
         {1, 0, 0, 1}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = 0, .yzp = 200, .xs = 0.07, .ws = {0.005},
         .arm = true},
        {"qc_same_upper_s2", true, 'u', 's', 'u', 2, 1, 3, 8, 1, {10, 9}, {3, 3}, {2, 2}, {0}, {0}, "SAME_UPPER",
         KT_WIDE, .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}},
        {"qc_kernel_over_input", true, 'u', 'u', 'u', 2, -1, 2, 10, 1, {2, 3}, {5, 5}, {0}, {0}, {2, 2, 2, 2}, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 255, .nwzp = 1, .wzp = {255}, .yzp = 1, .xs = 0.02, .ws = {0.01}},
        /* groups, depthwise, channel multipliers */
        {"qc_group2_m32_i8pack", true, 'u', 's', 'u', 2, 1, 8, 32, 2, {6, 5}, {3, 3}, {1, 2}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.02}, .nws = 2,
         .bias_rand = true},
        {"qc_group4_m8_rowwise", true, 's', 's', 's', 2, -1, 8, 8, 4, {7, 7}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = -128, .yzp = 0, .xs = 0.02, .ws = {0.01}, .bias_rand = true},
        {"qc_depthwise_c8", true, 'u', 's', 'u', 2, -1, 8, 8, 8, {7, 7}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .nwzp = 8, .wzp = {0, -128, 127, 0, 1, 0, -1, 0}, .yzp = 128, .xs = 0.02,
         .ws = {0.01, 0.03}, .nws = 2, .bias_rand = true, .arm = true},
        {"qc_depthwise_s2_c16", true, 's', 's', 's', 2, 3, 16, 16, 16, {8, 8}, {3, 3}, {2, 2}, {0}, {0, 0, 1, 1},
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = 0, .yzp = -5, .xs = 0.05, .ws = {0.01}},
        {"qc_depthwise_x8_i8pack", true, 'u', 's', 'u', 2, -1, 3, 24, 3, {5, 7}, {3, 3}, {0}, {0}, {0, 1, 2, 1},
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = 255, .yzp = 0, .xs = 0.02, .ws = {0.01}, .bias_rand = true},
        {"qc_depthwise_x8_i16pack_u8w", true, 'u', 'u', 's', 2, 1, 2, 16, 2, {6, 6}, {3, 3}, {1, 1}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 0, .nwzp = 1, .wzp = {128}, .yzp = 0, .xs = 0.02, .ws = {0.01}},
        /* depthwise rows wider than a vector (the row-wise kernel's
         * vector body and remainder; MobileNet's 3x3 s1 and s2 p1) */
        {"qc_depthwise_rows_s1_c24", true, 'u', 's', 'u', 2, -1, 24, 24, 24, {13, 45}, {3, 3}, {1, 1}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 3, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.03, 0.002}, .nws = 3,
         .bias_rand = true, .arm = true},
        {"qc_depthwise_rows_s2_d2_1d", true, 's', 's', 's', 1, 2, 6, 12, 6, {70}, {5}, {2}, {2}, {4, 3}, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = -7, .yzp = 5, .xs = 0.05, .ws = {0.01}},
        /* depthwise on byte permutes and vpdpbusd (x86 with AVX512-VNNI
         * and -VBMI; elsewhere the row-wise kernel): a 7x7 plane from 14x14
         * by stride 2 (16 lanes over 3 rows: windows of two 64-byte loads);
         * rows of 5x5 taps at dilation 2 (two groups of 4 columns), s8
         * activations; asymmetric pads; 1-D with 7 taps; a plane under 16
         * outputs (not taken) */
        {"qc_dw_dot_plane_s2_c20", true, 'u', 's', 'u', 2, -1, 20, 20, 20, {14, 14}, {3, 3}, {2, 2}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 7, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.03, 0.002}, .nws = 3,
         .bias_rand = true, .threads = 2},
        {"qc_dw_dot_rows_5x5_d2_s8", true, 's', 's', 's', 2, 2, 6, 6, 6, {9, 40}, {5, 5}, {1, 1}, {2, 2},
         {4, 4, 4, 4}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = -100, .yzp = 3, .xs = 0.05, .ws = {0.01, 0.004},
         .nws = 2, .bias_rand = true},
        {"qc_dw_dot_plane_3x5_asym", true, 'u', 's', 'u', 2, 1, 4, 4, 4, {6, 11}, {3, 5}, {1, 2}, {0},
         {0, 2, 2, 1}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = 255, .yzp = 0, .xs = 0.02, .ws = {0.01}},
        {"qc_dw_dot_rows_s2_c3", true, 'u', 's', 'u', 2, -1, 3, 3, 3, {7, 67}, {3, 3}, {2, 2}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 0, .yzp = 100, .xs = 0.02, .ws = {0.01}, .bias_rand = true},
        {"qc_dw_dot_1d_k7_s8", true, 's', 's', 's', 1, -1, 5, 5, 5, {50}, {7}, {1}, {0}, {3, 3}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 127, .yzp = -128, .xs = 0.05, .ws = {0.01}, .bias_rand = true},
        {"qc_dw_small_plane", true, 'u', 's', 'u', 2, -1, 5, 5, 5, {4, 3}, {3, 3}, {1, 1}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}},
        /* 1x1 as weights x NCHW rows on pmaddwd (x86 without VNNI): odd
         * input channels (the last pair's second weight 0), a last tile
         * of 1 output channel of 6, planes ending in a partial block (143
         * and 300 pixels: the last block overlaps, its tail stored masked),
         * per-channel weight zero points and u8 weights; ConvInteger */
        {"qc_pw_c7_m13_tail", true, 'u', 's', 'u', 2, 2, 7, 13, 1, {11, 13}, {1, 1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 3, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.03, 0.002}, .nws = 3, .bias_rand = true,
         .threads = 2},
        {"qc_pw_1d_s8_u8w_zp", true, 's', 'u', 's', 1, -1, 20, 12, 1, {300}, {1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = -9, .nwzp = 3, .wzp = {128, 0, 255}, .yzp = 5, .xs = 0.05, .ws = {0.004}},
        {"ci_pw_c16_m8", false, 'u', 's', 'i', 2, 1, 16, 8, 1, {16, 16}, {1, 1}, {0}, {0}, {0}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 200, .nwzp = 1, .wzp = {0}},
        /* depthwise on i16 pairs (x86 without the kernel above: pmaddwd,
         * 8 lanes on AVX2, 4 on SSE2; the cases above take it there too):
         * u8 weights with a zero point, strides 2 and dilation 2 (one tap a
         * word) along rows; s8 in, u8 out over a 14x14 plane run whole
         * (pitch 16: two outputs a row computed and dropped), per-channel
         * weight zero points */
        {"qc_dw_pairs_u8w_s2_d2", true, 'u', 'u', 'u', 2, -1, 6, 6, 6, {23, 37}, {3, 3}, {2, 2}, {2, 2}, P1,
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = 9, .nwzp = 1, .wzp = {128}, .yzp = 128, .xs = 0.02, .ws = {0.01},
         .bias_rand = true},
        {"qc_dw_pairs_s8_to_u8_14x14", true, 's', 's', 'u', 2, 2, 10, 10, 10, {14, 14}, {3, 3}, {1, 1}, {0}, P1,
         NULL, KT_WIDE, .gw = G_RAIL, .xzp = -3, .nwzp = 3, .wzp = {0, 5, -7}, .yzp = 0, .xs = 0.05,
         .ws = {0.01, 0.002}, .nws = 2, .bias_rand = true, .threads = 2},
        /* weights in [-64, 64]: the conv microkernel on pmaddubsw (x86
         * without VNNI), a ring of u8 in k-groups of 4 (C 37: 3 of padding) */
        {"qc_rail7_3x3_p1_c37", true, 'u', 's', 'u', 2, -1, 37, 24, 1, {9, 13}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL7, .xzp = 7, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.003}, .nws = 2,
         .bias_rand = true, .arm = true},
        {"qc_rail7_s2_s8x", true, 's', 's', 's', 2, 1, 16, 16, 1, {9, 9}, {3, 3}, {2, 2}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL7, .xzp = 0, .yzp = 0, .xs = 0.05, .ws = {0.01}},
        /* bands of rows on the microkernel: tiles spanning rows, bands cut
         * at each image's end, results transposed as i32 then narrowed */
        {"qc_bands_span_rows_batch2", true, 'u', 's', 'u', 2, 2, 40, 24, 1, {17, 11}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.003}, .nws = 2,
         .bias_rand = true, .arm = true},
        {"qc_bands_1x1_s2_s8", true, 's', 's', 's', 2, -1, 200, 17, 1, {30, 13}, {1, 1}, {2, 2}, {0}, {0}, NULL,
         KT_WIDE, .gw = G_RAIL, .xzp = -3, .yzp = 1, .xs = 0.05, .ws = {0.01}, .threads = 3},
        /* grouped on the microkernel: 8 input channels per group (the dot's
         * k-groups), 16 outputs, per-channel scales */
        {"qc_grouped_g4_mk", true, 'u', 's', 'u', 2, -1, 32, 64, 4, {9, 11}, {3, 3}, {1, 2}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01, 0.003, 0.02}, .nws = 3, .bias_rand = true,
         .arm = true},
        /* 1-D and 3-D */
        {"qc_1d_k5_s2_i8pack", true, 'u', 's', 'u', 1, -1, 4, 17, 1, {33}, {5}, {2}, {1}, {2, 2}, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}, .bias_rand = true},
        /* a row too wide for the ring (256 channels x 1100 steps): in chunks */
        {"qc_1d_chunked_rows", true, 'u', 's', 'u', 1, -1, 256, 9, 1, {1100}, {3}, {2}, {1}, {1, 2}, NULL, KT_RAND,
         .gw = G_RAND, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}, .bias_rand = true},
        {"qc_3d_i16pack", true, 's', 's', 's', 3, 1, 2, 8, 1, {4, 5, 6}, {2, 3, 3}, {1, 2, 1}, {2, 1, 1},
         {1, 0, 1, 0, 1, 1}, NULL, KT_WIDE, .gw = G_RAIL, .xzp = -128, .nwzp = 2, .wzp = {5, -5}, .yzp = 0,
         .xs = 0.02, .ws = {0.01}, .arm = true},
        /* |acc| past 2^24: 255 x -128 over 115 x 3 x 3 = 1035 taps (and 127) */
        {"qc_255x-128_c115_i8pack", true, 'u', 's', 's', 2, 1, 115, 8, 1, {3, 3}, {3, 3}, {0}, {0}, P1, NULL,
         KT_VALUES, vx_u8_255, 1, G_LO, .xzp = 0, .yzp = 0, .xs = 1, .ws = {1}, .ys = 524288, .arm = true},
        {"qc_255x-128_c115_rowwise", true, 'u', 's', 'u', 2, 1, 115, 4, 1, {3, 3}, {3, 3}, {0}, {0}, P1, NULL,
         KT_VALUES, vx_u8_255, 1, G_LO, .xzp = 0, .yzp = 200, .xs = 1, .ws = {1}, .ys = 262144},
        {"qc_s8m128_c120_i16pack", true, 's', 's', 's', 2, -1, 120, 8, 1, {3, 3}, {3, 3}, {0}, {0}, P1, NULL,
         KT_VALUES, vx_s8_m128, 1, G_LO, .xzp = 0, .nwzp = 2, .wzp = {1, -1}, .yzp = 0, .xs = 1, .ws = {1},
         .ys = 1048576},
        /* a constant multiplier of inf (3e38 / 1e-30 in f32) on the microkernel:
         * inf x 0 is NaN, which gives the zero point (half the pixels have no
         * non-zero input), inf x non-zero saturates */
        {"qc_inf_multiplier_i8pack", true, 'u', 's', 'u', 2, 1, 4, 16, 1, {5, 7}, {1, 1}, {0}, {0}, {0}, NULL,
         KT_VALUES, vx_zero7, NELEM(vx_zero7), G_RAIL, .xzp = 0, .yzp = 3, .xs = 1, .ws = {3e38, 0.01}, .nws = 2,
         .ys = 1e-30},
        /* i32 bias at -2^31 (channels of non-negative products) and 2^31 - 1
         * (non-positive): no overflow, acc * M at both rails' edges */
        {"qc_bias_limits_i8pack", true, 'u', 's', 's', 2, -1, 4, 16, 1, {5, 5}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .gw = G_CHSIGN, .xzp = 0, .yzp = 0, .xs = 0.03125, .ws = {0.0009765625}, .ys = 1024,
         .bias = {INT32_MIN, INT32_MAX}, .nbias = 2, .arm = true},
        {"qc_bias_limits_i16pack_wzp", true, 's', 's', 'u', 2, 1, 3, 8, 1, {4, 4}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .gw = G_CHSIGN, .xzp = -128, .nwzp = 4, .wzp = {-128, 127, 5, -3}, .yzp = 128, .xs = 0.5,
         .ws = {0.25}, .ys = 2.5e6, .bias = {INT32_MIN + 1, INT32_MAX - 1}, .nbias = 2},
        {"qc_bias_limits_rowwise", true, 'u', 'u', 's', 2, 1, 2, 6, 1, {4, 4}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_CHSIGN, .xzp = 0, .nwzp = 1, .wzp = {128}, .yzp = 0, .xs = 1, .ws = {0.5}, .ys = 16777216,
         .bias = {INT32_MIN, INT32_MAX}, .nbias = 2},
        /* the order of the f32 steps (see qmm_m_order_low) */
        {"qc_m_order_high_i8pack", true, 's', 's', 's', 2, -1, 4, 8, 1, {3, 5}, {1, 1}, {0}, {0}, {0}, NULL, KT_SMALL,
         .gw = G_SMALL, .xzp = 0, .yzp = 0, .xs = 0.761610806, .ws = {0.0402594991}, .ys = 0.0408827588,
         .arm = true},
        {"qc_m_order_low_rowwise", true, 'u', 's', 'u', 2, 3, 4, 3, 1, {3, 5}, {1, 1}, {0}, {0}, {0}, NULL, KT_SMALL,
         .gw = G_SMALL, .xzp = 3, .yzp = 50, .xs = 0.472521186, .ws = {0.890668571, 0.890668571}, .nws = 2,
         .ys = 0.561146379},
        /* ties (M = 1/2) and saturation (tiny / huge y_s) */
        {"qc_ties_i8pack", true, 's', 's', 's', 2, -1, 2, 8, 1, {4, 5}, {1, 1}, {0}, {0}, {0}, NULL, KT_SMALL,
         .gw = G_SMALL, .xzp = 0, .yzp = 0, .xs = 1, .ws = {1}, .ys = 2, .bias = {1, -1, 0, 3}, .nbias = 4},
        {"qc_ties_rowwise_u8", true, 'u', 's', 'u', 2, 1, 2, 3, 1, {4, 5}, {2, 1}, {0}, {0}, {0}, NULL, KT_SMALL,
         .gw = G_SMALL, .xzp = 3, .yzp = 128, .xs = 0.5, .ws = {1}, .ys = 1, .bias = {-1, 1, 5}, .nbias = 3},
        {"qc_tiny_ys", true, 'u', 's', 'u', 2, 1, 3, 8, 1, {4, 4}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}, .ys = 1e-30},
        {"qc_huge_ys", true, 's', 's', 's', 2, 1, 3, 4, 1, {4, 4}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 0, .yzp = -100, .xs = 0.02, .ws = {0.01}, .ys = 3e38},
        /* run-time scales (packed weights still), bad per-channel scales */
        {"qc_scale_input_i8pack", true, 'u', 's', 'u', 2, -1, 4, 8, 1, {5, 5}, {3, 3}, {0}, {0}, P1, NULL, KT_WIDE,
         .gw = G_RAIL, .xzp = 128, .yzp = 128, .xs = 0.02,
         .ws = {0.01, 0.0, INFINITY, NAN, 1e-40, -0.01, 0.02, 0.005}, .nws = 8, .ys = 0.5, .scale_in = true},
        {"qc_scale_input_rowwise_w_input", true, 's', 's', 's', 2, 1, 3, 3, 1, {5, 5}, {3, 3}, {0}, {0}, P1, NULL,
         KT_WIDE, .w_input = true, .xzp = -128, .nwzp = 1, .wzp = {0}, .yzp = 0, .xs = 0.02,
         .ws = {0.01, 0.0, 3e38}, .nws = 3, .ys = 0.3, .scale_in = true},
        /* batch sizes: 1, 7, the symbolic batch */
        {"qc_batch7_i16pack", true, 'u', 'u', 'u', 2, 7, 3, 8, 1, {6, 6}, {3, 3}, {2, 2}, {0}, P1, NULL, KT_RAND,
         .gw = G_RAND, .xzp = 100, .nwzp = 1, .wzp = {100}, .yzp = 50, .xs = 0.02, .ws = {0.01}, .threads = 2},
        {"qc_batch1_big_i8pack", true, 'u', 's', 'u', 2, 1, 32, 32, 1, {14, 14}, {3, 3}, {0}, {0}, P1, NULL,
         KT_RAND, .gw = G_RAND, .xzp = 128, .yzp = 128, .xs = 0.02, .ws = {0.01}, .bias_rand = true,
         .threads = 2},
    };
    for (int i = 0; i < NELEM(qc); i++)
        qconv_case(&qc[i]);
    /* acc past 2^24, odd, next to a tie (see f32_trap_bias): 255 x 127 over
     * 600 channels, packed (8 channels) and row-wise (4) */
    QcSpec trap[2] = {
        {"qc_f32_requant_trap_i8pack", true, 'u', 's', 'u', 2, -1, 600, 8, 1, {1, 2}, {1, 1}, {0}, {0}, {0}, NULL,
         KT_VALUES, vx_u8_255, 1, G_HI, .xzp = 0, .yzp = 0, .xs = 1, .ws = {1}, .ys = 131072, .nbias = 8,
         .arm = true},
        {"qc_f32_requant_trap_rowwise", true, 'u', 's', 'u', 2, 3, 600, 4, 1, {1, 1}, {1, 1}, {0}, {0}, {0}, NULL,
         KT_VALUES, vx_u8_255, 1, G_HI, .xzp = 0, .yzp = 0, .xs = 1, .ws = {1}, .ys = 131072, .nbias = 4},
    };
    for (int i = 0; i < 2; i++) {
        f32_trap_bias(600ll * 255 * 127, (int)trap[i].m, trap[i].bias);
        qconv_case(&trap[i]);
    }

    /* fused relu / clip through qdq-fold */
    const QdqConvSpec qd[] = {
        {"qdq_conv_bias_relu_i8pack", 'u', 's', 'u', 2, -1, 4, 16, 1, {6, 6}, {3, 3}, {0}, {0}, P1, 128, 10, {0},
         0, 4, {5, 6, 7, 4}, 4, -1, true, "relu", .arm = true},
        {"qdq_conv_relu_rowwise_s8", 's', 's', 's', 2, 1, 3, 4, 1, {5, 6}, {3, 3}, {2, 1}, {0}, P1, -128, -50, {0},
         0, 3, {6}, 1, 0, true, "relu"},
        {"qdq_conv_clip_i16pack_wzp", 'u', 's', 'u', 2, 1, 3, 8, 1, {7, 7}, {3, 3}, {1, 1}, {2, 2}, {2, 2, 2, 2}, 0,
         3, {5, -5}, 2, 4, {5}, 1, 4, true, "clip", -0.8, 2.9, .arm = true},
        {"qdq_conv_depthwise_relu", 's', 's', 's', 2, -1, 8, 8, 8, {5, 5}, {3, 3}, {0}, {0}, P1, 0, 60, {0}, 0, 3,
         {6, 5}, 2, 1, true, "relu"},
        {"qdq_conv_dw_dot_clip", 'u', 's', 'u', 2, -1, 16, 16, 16, {12, 20}, {3, 3}, {0}, {0}, P1, 128, 3, {0}, 0,
         4, {5, 6}, 2, 2, true, "clip", -0.8, 2.9},
        {"qdq_conv_dw_x8_clip_ties", 'u', 's', 's', 2, 1, 2, 16, 2, {4, 4}, {1, 1}, {0}, {0}, {0}, 3, 0, {0}, 0,
         1, {1}, 1, 1, true, "clip", -3.0, 4.5, .small = true},
        {"qdq_conv_1d_relu_u8w", 'u', 'u', 'u', 1, -1, 2, 9, 1, {20}, {3}, {1}, {0}, {1, 1}, 255, 0, {128}, 1, 4,
         {5}, 1, 0, false, "relu"},
        {"qdq_conv_float_out_relu", 'u', 's', 'f', 2, -1, 3, 8, 1, {6, 5}, {3, 3}, {0}, {0}, P1, 128, 0, {0}, 0, 4,
         {5, 6}, 2, 0, true, "relu", .float_out = true, .arm = true},
        /* depthwise with a float output (EfficientNet's, before SiLU): the
         * vpermb + vpdpbusd kernel with ConvInteger's f32 epilogue */
        {"qdq_conv_dw_dot_float_out_relu", 'u', 's', 'f', 2, -1, 12, 12, 12, {9, 9}, {5, 5}, {2, 2}, {0},
         {2, 2, 2, 2}, 128, 0, {0}, 0, 4, {5, 6}, 2, 0, true, "relu", .float_out = true},
        {"qdq_conv_dw_dot_float_out_rows", 's', 's', 'f', 2, 1, 4, 4, 4, {6, 40}, {3, 3}, {1, 1}, {0}, P1, -20, 0,
         {0}, 0, 3, {6}, 1, 0, true, NULL, .float_out = true},
        {"qdq_conv_float_out_plain", 's', 's', 'f', 2, 1, 2, 3, 1, {5, 5}, {2, 2}, {1, 1}, {0}, {0}, -128, 0, {1},
         1, 3, {4}, 1, 0, true, NULL, .float_out = true},
    };
    for (int i = 0; i < NELEM(qd); i++)
        qdq_conv_case(&qd[i]);
#undef P1
}

/* ---- QLinearAdd, QLinearGlobalAveragePool ------------------------------- */

typedef struct QaSpec {
    const char *name;
    char t;
    int ra, rb;
    int64_t a[5], b[5];
    KtFill fa, fb;
    int azp, bzp, yzp;
    bool no_yzp;
    double as, bs, ys;
    bool scale_in;           /* scales as graph inputs: vs (a_s, b_s, y_s) */
    double vs[3];
    bool relu;               /* DQ, DQ -> Add -> Relu -> Q (power-of-two scales) */
    bool arm;
    const double *vb;        /* b's values (KT_VALUES), when given */
    int nvb;
} QaSpec;

static void qadd_case(const QaSpec *q)
{
    Qm m = {0};
    qm_input(&m, q->t, "a", q->ra, q->a, q->fa, NULL, 0);
    qm_input(&m, q->t, "b", q->rb, q->b, q->fb, q->vb, q->nvb);
    int64_t z;
    if (q->relu) {
        qm_floats(&m, "a_s", 0, &q->as, 1);
        z = q->azp, qm_ints(&m, q->t, "a_zp", 0, NULL, &z);
        qm_floats(&m, "b_s", 0, &q->bs, 1);
        z = q->bzp, qm_ints(&m, q->t, "b_zp", 0, NULL, &z);
        qm_floats(&m, "y_s", 0, &q->ys, 1);
        z = q->yzp, qm_ints(&m, q->t, "y_zp", 0, NULL, &z);
        qm_node(&m, "da = DequantizeLinear(a, a_s, a_zp)");
        qm_node(&m, "db = DequantizeLinear(b, b_s, b_zp)");
        qm_node(&m, "s = Add(da, db)");
        qm_node(&m, "r = Relu(s)");
        qm_node(&m, "y = QuantizeLinear(r, y_s, y_zp)");
    } else {
        qm_scale(&m, q->scale_in, "a_s", 0, q->scale_in ? &q->vs[0] : &q->as, 1);
        z = q->azp, qm_ints(&m, q->t, "a_zp", 0, NULL, &z);
        qm_scale(&m, q->scale_in, "b_s", 0, q->scale_in ? &q->vs[1] : &q->bs, 1);
        z = q->bzp, qm_ints(&m, q->t, "b_zp", 0, NULL, &z);
        qm_scale(&m, q->scale_in, "y_s", 0, q->scale_in ? &q->vs[2] : &q->ys, 1);
        if (!q->no_yzp)
            z = q->yzp, qm_ints(&m, q->t, "y_zp", 0, NULL, &z);
        qm_node(&m, "y = com.microsoft.QLinearAdd(a, a_s, a_zp, b, b_s, b_zp, y_s%s)", q->no_yzp ? "" : ", y_zp");
    }
    qm_output(&m, q->t, "y");
    qm_run(&m, q->name, q->arm, 0);
}

typedef struct QgSpec {
    const char *name;
    char t;
    int rank;
    int64_t x[5];
    KtFill fx;
    const double *vx;
    int nvx;
    int xzp, yzp;
    bool no_yzp;
    double xs, ys;
    bool scale_in;
    bool arm;
    int threads;
} QgSpec;

static void qgap_case(const QgSpec *q)
{
    Qm m = {0};
    qm_input(&m, q->t, "x", q->rank, q->x, q->fx, q->vx, q->nvx);
    qm_scale(&m, q->scale_in, "x_s", 0, &q->xs, 1);
    int64_t z = q->xzp;
    qm_ints(&m, q->t, "x_zp", 0, NULL, &z);
    qm_scale(&m, q->scale_in, "y_s", 0, &q->ys, 1);
    if (!q->no_yzp)
        z = q->yzp, qm_ints(&m, q->t, "y_zp", 0, NULL, &z);
    qm_node(&m, "y = com.microsoft.QLinearGlobalAveragePool(x, x_s, x_zp, y_s%s)", q->no_yzp ? "" : ", y_zp");
    qm_output(&m, q->t, "y");
    qm_run(&m, q->name, q->arm, q->threads);
}

static const double gap_u8_mix[] = {255, 255, 0, 255, 254, 255, 1, 255};
static const double v77[] = {77}, vm5[] = {-5};

void kt_qeltwise(void)
{
    const QaSpec qa[] = {
        {"qadd_u8_same_shape", 'u', 2, 2, {-1, 37}, {-1, 37}, KT_WIDE, KT_RAND, 128, 0, 128, false, 0.02, 0.013,
         0.03, .arm = true},
        {"qadd_s8_bcast_col", 's', 3, 2, {3, 5, 7}, {5, 1}, KT_WIDE, KT_WIDE, -128, 127, 0, false, 0.05, 0.07, 0.1},
        {"qadd_s8_bcast_row_batchN", 's', 3, 2, {-1, 5, 7}, {1, 7}, KT_WIDE, KT_WIDE, 0, -128, -60, false, 0.05,
         0.02, 0.04, .arm = true},
        {"qadd_u8_scalar_b", 'u', 4, 0, {2, 3, 4, 5}, {0}, KT_WIDE, KT_WIDE, 255, 0, 0, false, 0.1, 0.2, 0.25},
        {"qadd_u8_a1_b_batchN", 'u', 1, 3, {1}, {-1, 4, 3}, KT_WIDE, KT_WIDE, 0, 255, 128, false, 0.1, 0.1, 0.2},
        {"qadd_s8_both_bcast", 's', 3, 2, {-1, 1, 5}, {3, 1}, KT_WIDE, KT_WIDE, 5, -5, -28, false, 0.3, 0.01, 0.2},
        /* ties: ra = 1, rb = 1/2 (and 1/4) */
        {"qadd_ties_u8", 'u', 2, 2, {7, 11}, {7, 11}, KT_RAND, KT_RAND, 0, 255, 10, false, 0.5, 0.25, 0.5,
         .arm = true},
        {"qadd_ties_s8", 's', 2, 2, {-1, 9}, {-1, 9}, KT_WIDE, KT_RAND, 0, 0, 0, false, 0.25, 0.125, 0.5},
        /* saturation: tiny and huge y_s; no y_zp (u8 0) */
        {"qadd_tiny_ys", 'u', 2, 2, {3, 8}, {3, 8}, KT_WIDE, KT_WIDE, 128, 128, 128, false, 0.02, 0.02, 1e-30},
        {"qadd_huge_ys_s8", 's', 2, 2, {3, 8}, {3, 8}, KT_WIDE, KT_WIDE, -128, 127, 3, false, 0.02, 0.02, 3e38},
        {"qadd_no_yzp", 'u', 2, 2, {-1, 13}, {1, 13}, KT_WIDE, KT_WIDE, 128, 3, 0, true, 0.02, 0.05, 0.04},
        /* run-time scales: y_s 0 (inf ratios: +-inf saturates, 0 * inf -> y_zp) */
        {"qadd_scale_input_ys0", 'u', 2, 2, {4, 9}, {4, 9}, KT_WIDE, KT_WIDE, 128, 0, 77, false, 0, 0, 0, true,
         {0.1, 0.2, 0.0}},
        {"qadd_scale_input_nan", 's', 2, 2, {4, 9}, {4, 9}, KT_WIDE, KT_WIDE, 0, 0, 7, false, 0, 0, 0, true,
         {NAN, 0.2, 0.5}},
        {"qadd_scale_input_inf_ratio", 's', 2, 2, {-1, 9}, {-1, 9}, KT_WIDE, KT_WIDE, 0, -128, 0, false, 0, 0, 0,
         true, {3e38, 1e-40, 1e-30}},
        /* the order of the f32 steps: a_s / y_s is 1.5 exactly, a_s * (1 / y_s)
         * is 1.5 + 2^-23 (then - 2^-23): b at its zero point, (a - a_zp) * 1.5
         * ties for odd a - a_zp */
        {"qadd_ratio_divide_not_recip", 'u', 2, 2, {-1, 64}, {-1, 64}, KT_RAND, KT_VALUES, 128, 77, 128, false,
         0x1.b19828p-1, 0.25, 0x1.21101ap-1, .arm = true, .vb = v77, .nvb = 1},
        {"qadd_ratio_divide_not_recip_low", 's', 2, 2, {3, 40}, {3, 40}, KT_RAND, KT_VALUES, 0, -5, 0, false,
         0x1.98914p-5, 0.5, 0x1.1060d6p-5, .vb = vm5, .nvb = 1},
        /* DQ, DQ -> Add -> Relu -> Q: QLinearAdd {relu} */
        {"qdq_add_relu_u8", 'u', 2, 2, {-1, 21}, {-1, 21}, KT_WIDE, KT_WIDE, 128, 0, 5, false, 0.125, 0.0625, 0.25,
         .relu = true, .arm = true},
        {"qdq_add_relu_s8_bcast", 's', 3, 1, {3, 4, 5}, {5}, KT_WIDE, KT_WIDE, -128, 127, -10, false, 0.5, 0.25,
         0.5, .relu = true},
    };
    for (int i = 0; i < NELEM(qa); i++)
        qadd_case(&qa[i]);

    const QgSpec qg[] = {
        {"qgap_u8_7x7", 'u', 4, {-1, 5, 7, 7}, KT_WIDE, NULL, 0, 128, 128, false, 0.02, 0.03, .arm = true},
        {"qgap_s8_3x5_zp_rails", 's', 4, {3, 4, 3, 5}, KT_WIDE, NULL, 0, -128, -128, false, 0.02, 0.1},
        {"qgap_u8_1x1", 'u', 4, {-1, 9, 1, 1}, KT_WIDE, NULL, 0, 255, 255, false, 0.5, 0.25},
        {"qgap_s8_rank3", 's', 3, {2, 6, 17}, KT_WIDE, NULL, 0, 0, 0, false, 0.1, 0.1},
        {"qgap_u8_rank5", 'u', 5, {1, 3, 2, 3, 4}, KT_RAND, NULL, 0, 0, 5, false, 0.1, 0.07},
        /* n = 16, x_s = y_s: M = 1/16, ties */
        {"qgap_ties_4x4", 's', 4, {-1, 7, 4, 4}, KT_SMALL, NULL, 0, 0, 0, false, 0.5, 0.5, .arm = true},
        {"qgap_ties_2x2_u8", 'u', 4, {3, 5, 2, 2}, KT_WIDE, NULL, 0, 0, 128, false, 0.25, 0.5},
        /* 90000 positions of 255: |acc| past 2^24 */
        {"qgap_300x300_255", 'u', 4, {1, 2, 300, 300}, KT_VALUES, gap_u8_mix, NELEM(gap_u8_mix), 0, 0, false, 1.0,
         1.0, .threads = 2},
        {"qgap_s8_300x300_m128", 's', 4, {1, 1, 300, 300}, KT_VALUES, vx_s8_m128, 1, 127, 0, false, 0.25, 1.0},
        {"qgap_tiny_ys", 'u', 4, {2, 3, 3, 3}, KT_WIDE, NULL, 0, 128, 128, false, 0.02, 1e-30},
        /* the order of the f32 steps: f32(f32(x_s / y_s) / n) is 3/8 (3/4),
         * x_s / f32(y_s * n) is 3/8 - 2^-25 (3/4 + 2^-24): sums = 4 mod 8
         * (2 mod 4) are ties for one and not the other */
        {"qgap_m_order_n49", 's', 4, {-1, 16, 7, 7}, KT_SMALL, NULL, 0, 0, 0, false, 5.99132442, 0.326058477,
         .arm = true},
        {"qgap_m_order_n5", 'u', 4, {3, 32, 1, 5}, KT_SMALL, NULL, 0, 3, 100, false, 1.70870924, 0.455655783},
        {"qgap_no_yzp", 'u', 4, {-1, 4, 5, 5}, KT_WIDE, NULL, 0, 128, 0, true, 0.02, 0.01},
        {"qgap_scale_input_ys0", 's', 4, {2, 3, 4, 4}, KT_WIDE, NULL, 0, 0, 3, false, 0.3, 0.0, .scale_in = true},
    };
    for (int i = 0; i < NELEM(qg); i++)
        qgap_case(&qg[i]);
}

/* ---- hand-computed checks of the interpreter ------------------------------ */

/* The definitions of docs/quantization.md, written again here, apart from
 * ir/interp_quant.c: rne with nearbyint (the default rounding mode is to
 * nearest even), saturation, M = f32(f32(a_s * b_s) / y_s). */
static int64_t ref_sat(double v, int64_t zp, char t)
{
    int64_t lo, hi;
    qlim(t, &lo, &hi);
    if (isnan(v))
        return zp;
    double r = nearbyint(v);
    r = r > 1e12 ? 1e12 : r < -1e12 ? -1e12 : r;
    int64_t q = (int64_t)r + zp;
    return q < lo ? lo : q > hi ? hi : q;
}

static int64_t ref_requant(int64_t acc, float as, float bs, float ys, int64_t zp, char t)
{
    volatile float p = as * bs;
    volatile float mm = p / ys;
    return ref_sat((double)acc * (double)mm, zp, t);
}

static int64_t ref_quantize(float x, float s, int64_t zp, char t)
{
    volatile float q = x / s;
    return ref_sat(q, zp, t);
}

enum { REF_MAXV = 1100 };

typedef struct RefCase {
    const char *name;
    const char *text;              /* a model with static shapes */
    int nin;
    double in[3][REF_MAXV];        /* the inputs' values, in order */
    int nv[3];
    int nout;                      /* values of output 0 */
    double want[16];
    double lit[16];                /* the same, worked out by hand (NAN: not given) */
    bool folded;                   /* also after the passes: QLinearMatMul {act} */
} RefCase;

#define HDR "<ir_version: 8, opset_import: [\"\" : 13, \"com.microsoft\" : 1]>\n"

static RefCase refs[24];
static int nrefs;

static RefCase *ref_new(const char *name, const char *text)
{
    RefCase *r = &refs[nrefs++];
    memset(r, 0, sizeof *r);
    r->name = name;
    r->text = text;
    for (int i = 0; i < 16; i++)
        r->lit[i] = NAN;
    return r;
}

static void ref_in(RefCase *r, int i, const double *v, int n)
{
    for (int k = 0; k < n; k++)
        r->in[i][k] = v[k];
    r->nv[i] = n;
    if (i + 1 > r->nin)
        r->nin = i + 1;
}

/* QLinearMatMul [1, K] x [K, 1] (a u8, b i8): the exact sum in int64 and
 * the requantization of the docs. */
static void ref_qmm(RefCase *r, const double *a, const double *b, int K, int az, int bz, float as, float bs,
                    float ys, int yz, char ty, double lit)
{
    int64_t acc = 0;
    for (int k = 0; k < K; k++)
        acc += ((int64_t)a[k] - az) * ((int64_t)b[k] - bz);
    ref_in(r, 0, a, K);
    ref_in(r, 1, b, K);
    r->nout = 1;
    r->want[0] = (double)ref_requant(acc, as, bs, ys, yz, ty);
    r->lit[0] = lit;
}

static void build_refs(void)
{
    static double a[REF_MAXV], b[REF_MAXV];
    nrefs = 0;
    /* 255 x -128 pairs: acc = -65280, M = 2^-13: -7.96875 -> -8, + -100 */
    RefCase *r = ref_new("ref_qmm_255x-128_k2",
                         HDR "h (uint8[1,2] a, int8[2,1] b) => (int8[1,1] y)\n"
                             "<float as = {0.5}, uint8 az = {0}, float bs = {0.25}, int8 bz = {0}, float ys = {1024},"
                             " int8 yz = {-100}>\n{\n  y = QLinearMatMul(a, as, az, b, bs, bz, ys, yz)\n}\n");
    ref_qmm(r, (double[]){255, 255}, (double[]){-128, -128}, 2, 0, 0, 0.5f, 0.25f, 1024.0f, -100, 's', -108);
    /* ties at M = 1/2: acc -255 -> -127.5 -> -128 (even); 255 -> 128;
     * -5 -> -2.5 -> -2; 5 -> 2.5 -> 2 */
    static const char *const tie_text[] = {
        HDR "h (uint8[1,2] a, int8[2,1] b) => (uint8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, int8 bz = {0}, "
            "float ys = {2}, uint8 yz = {200}>\n{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n",
        HDR "h (uint8[1,2] a, int8[2,1] b) => (uint8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, int8 bz = {0}, "
            "float ys = {2}, uint8 yz = {0}>\n{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n",
        HDR "h (uint8[1,3] a, int8[3,1] b) => (int8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, int8 bz = {0}, "
            "float ys = {2}, int8 yz = {0}>\n{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n",
        HDR "h (uint8[1,3] a, int8[3,1] b) => (int8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, int8 bz = {0}, "
            "float ys = {2}, int8 yz = {0}>\n{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n",
    };
    r = ref_new("ref_qmm_tie_m127.5", tie_text[0]);
    ref_qmm(r, (double[]){255, 255}, (double[]){-128, 127}, 2, 0, 0, 1, 1, 2, 200, 'u', 72);
    r = ref_new("ref_qmm_tie_127.5", tie_text[1]);
    ref_qmm(r, (double[]){255, 255}, (double[]){127, -126}, 2, 0, 0, 1, 1, 2, 0, 'u', 128);
    r = ref_new("ref_qmm_tie_m2.5", tie_text[2]);
    ref_qmm(r, (double[]){255, 255, 2}, (double[]){-128, 127, 125}, 3, 0, 0, 1, 1, 2, 0, 's', -2);
    r = ref_new("ref_qmm_tie_2.5", tie_text[3]);
    ref_qmm(r, (double[]){255, 255, 5}, (double[]){-127, 127, 1}, 3, 0, 0, 1, 1, 2, 0, 's', 2);
    /* zero points at the rails: (0 - 255)(127 - -128) twice = -130050,
     * M = 2^-11: -63.5009... -> -64 */
    r = ref_new("ref_qmm_zp_rails",
                HDR "h (uint8[1,2] a, int8[2,1] b) => (int8[1,1] y)\n<float as = {1}, uint8 az = {255}, "
                    "float bs = {0.015625}, int8 bz = {-128}, float ys = {32}, int8 yz = {0}>\n"
                    "{\n  y = QLinearMatMul(a, as, az, b, bs, bz, ys, yz)\n}\n");
    ref_qmm(r, (double[]){0, 0}, (double[]){127, 127}, 2, 255, -128, 1, 0.015625f, 32, 0, 's', -64);
    /* K = 1030 of 255 x -128: acc = -33619200, M = 2^-19: -64.125 -> -64 */
    for (int k = 0; k < 1030; k++)
        a[k] = 255, b[k] = -128;
    r = ref_new("ref_qmm_k1030", HDR "h (uint8[1,1030] a, int8[1030,1] b) => (int8[1,1] y)\n<float s1 = {1}, "
                                     "uint8 az = {0}, int8 bz = {0}, float ys = {524288}, int8 yz = {0}>\n"
                                     "{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n");
    ref_qmm(r, a, b, 1030, 0, 0, 1, 1, 524288, 0, 's', -64);
    /* acc = 2^24 + 2^16 + 1 (odd, not an f32): acc * 2^-17 = 128.50000763
     * -> 129; an f32 requantization gives 128.5 -> 128. Negated: -129 +
     * 255 = 126 (f32: 127). */
    for (int k = 0; k < 520; k++)
        a[k] = 255, b[k] = 127;
    a[520] = 255, b[520] = 10, a[521] = 3, b[521] = 1;
    r = ref_new("ref_qmm_acc_2p24_plus_odd",
                HDR "h (uint8[1,522] a, int8[522,1] b) => (uint8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, "
                    "int8 bz = {0}, float ys = {131072}, uint8 yz = {0}>\n"
                    "{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n");
    ref_qmm(r, a, b, 522, 0, 0, 1, 1, 131072, 0, 'u', 129);
    for (int k = 0; k < 522; k++)
        b[k] = -b[k];
    r = ref_new("ref_qmm_acc_minus_2p24_odd",
                HDR "h (uint8[1,522] a, int8[522,1] b) => (uint8[1,1] y)\n<float s1 = {1}, uint8 az = {0}, "
                    "int8 bz = {0}, float ys = {131072}, uint8 yz = {255}>\n"
                    "{\n  y = QLinearMatMul(a, s1, az, b, s1, bz, ys, yz)\n}\n");
    ref_qmm(r, a, b, 522, 0, 0, 1, 1, 131072, 255, 'u', 126);

    /* MatMulInteger: u8 (255, 255) . s8 (127, 127) = 64770 (a saturating
     * pair sum gives 32767), . (-128, -128) = -65280 */
    r = ref_new("ref_mmi_pairs", HDR "h (uint8[1,2] a, int8[2,2] b) => (int32[1,2] y)\n"
                                     "{\n  y = MatMulInteger(a, b)\n}\n");
    ref_in(r, 0, (double[]){255, 255}, 2);
    ref_in(r, 1, (double[]){127, -128, 127, -128}, 4);
    r->nout = 2;
    r->want[0] = 255 * 127 * 2, r->want[1] = 255 * -128 * 2;
    r->lit[0] = 64770, r->lit[1] = -65280;
    /* 33100 x 255 x (0 - 255) = -2152327500: wraps to 2142639796 */
    r = ref_new("ref_mmi_wrap", HDR "h (uint8[1,33100] a, uint8[33100,1] b) => (int32[1,1] y)\n"
                                    "<uint8 bz = {255}>\n{\n  y = MatMulInteger(a, b, , bz)\n}\n");
    ref_in(r, 0, v255, 1); /* cycled over the 33100 elements */
    ref_in(r, 1, v0, 1);
    r->nout = 1;
    r->want[0] = (double)(int32_t)(uint32_t)(uint64_t)(33100ll * 255 * -255);
    r->lit[0] = 2142639796;

    /* QuantizeLinear u8, s 0.5, zp 128: ties, saturation, NaN, inf, -0 */
    static const double qx[] = {1.25, 1.75, -1.25, -1.75, 0.25, -0.25, 0.75, 63.25, 63.75, -64.25, NAN, INFINITY,
                                -INFINITY, -0.0, 1e30, -1e30};
    static const double ql[] = {130, 132, 126, 124, 128, 128, 130, 254, 255, 0, 128, 255, 0, 128, 255, 0};
    r = ref_new("ref_quantize_u8", HDR "h (float[16] x) => (uint8[16] y)\n<float s = {0.5}, uint8 zp = {128}>\n"
                                       "{\n  y = QuantizeLinear(x, s, zp)\n}\n");
    ref_in(r, 0, qx, 16);
    r->nout = 16;
    for (int i = 0; i < 16; i++)
        r->want[i] = (double)ref_quantize((float)qx[i], 0.5f, 128, 'u'), r->lit[i] = ql[i];
    /* divide, not multiply by 1/s (the second value of each pair is what
     * x * (1/s) would give) */
    static const double rx[] = {0x1.a00002p+1, -0x1.a00002p+1, 0x1.8cccccp+0, -0x1.84ccccp+3, 0x1.d00002p+2};
    static const double rl[] = {32 /* 33 */, -32 /* -33 */, 15 /* 16 */, -121 /* -122 */, 72 /* 73 */};
    r = ref_new("ref_quantize_recip_s0.1", HDR "h (float[5] x) => (int8[5] y)\n<float s = {0.1}, int8 zp = {0}>\n"
                                               "{\n  y = QuantizeLinear(x, s, zp)\n}\n");
    ref_in(r, 0, rx, 5);
    r->nout = 5;
    for (int i = 0; i < 5; i++)
        r->want[i] = (double)ref_quantize((float)rx[i], 0.1f, 0, 's'), r->lit[i] = rl[i];
    static const double rx2[] = {0x1.24dd3p-5, -0x1.18793ep-3, 0x1.b0899ep-10};
    static const double rl2[] = {32 /* 33 */, -124 /* -125 */, 1 /* 2 */};
    r = ref_new("ref_quantize_recip_s1205",
                HDR "h (float[3] x) => (int8[3] y)\n<float s = {0.0011}, int8 zp = {0}>\n"
                    "{\n  y = QuantizeLinear(x, s, zp)\n}\n");
    ref_in(r, 0, rx2, 3);
    r->nout = 3;
    for (int i = 0; i < 3; i++)
        r->want[i] = (double)ref_quantize((float)rx2[i], 0x1.205bcp-10f, 0, 's'), r->lit[i] = rl2[i];

    /* DequantizeLinear: i8 with zp 127; u8 255 below zp 255 at s 3e38 is
     * -inf; i32 above 2^24 rounds once */
    r = ref_new("ref_dequantize_i8", HDR "h (int8[3] x) => (float[3] y)\n<float s = {0.5}, int8 zp = {127}>\n"
                                         "{\n  y = DequantizeLinear(x, s, zp)\n}\n");
    ref_in(r, 0, (double[]){-128, 127, 0}, 3);
    r->nout = 3;
    r->want[0] = (float)(-255) * 0.5f, r->want[1] = 0, r->want[2] = -63.5f;
    r->lit[0] = -127.5, r->lit[1] = 0, r->lit[2] = -63.5;
    r = ref_new("ref_dequantize_u8_inf", HDR "h (uint8[2] x) => (float[2] y)\n<float s = {3e38}, uint8 zp = {255}>\n"
                                             "{\n  y = DequantizeLinear(x, s, zp)\n}\n");
    ref_in(r, 0, (double[]){0, 255}, 2);
    r->nout = 2;
    r->want[0] = (double)((float)-255 * 3e38f), r->want[1] = 0;
    r->lit[0] = -INFINITY, r->lit[1] = 0;
    r = ref_new("ref_dequantize_i32", HDR "h (int32[3] x) => (float[3] y)\n<float s = {1}>\n"
                                          "{\n  y = DequantizeLinear(x, s)\n}\n");
    ref_in(r, 0, (double[]){16777217, -2147483648.0, 2147483647}, 3);
    r->nout = 3;
    r->want[0] = (float)16777217, r->want[1] = (float)-2147483648.0, r->want[2] = (float)2147483647;
    r->lit[0] = 16777216, r->lit[1] = -2147483648.0, r->lit[2] = 2147483648.0;

    /* QLinearAdd u8: ra = 1, rb = 1/2; 255 - 127.5 = 127.5 -> 128 + 10;
     * 3 - 127.5 -> -124 + 10 -> 0; 0 + 0 -> 10; 2 - 2.5 = -0.5 -> 0 + 10;
     * 1 - 2.5 = -1.5 -> -2 + 10 */
    r = ref_new("ref_qadd_u8", HDR "h (uint8[5] a, uint8[5] b) => (uint8[5] y)\n<float as = {0.5}, uint8 az = {0}, "
                                   "float bs = {0.25}, uint8 bz = {255}, float ys = {0.5}, uint8 yz = {10}>\n"
                                   "{\n  y = com.microsoft.QLinearAdd(a, as, az, b, bs, bz, ys, yz)\n}\n");
    static const double aa[] = {255, 3, 0, 2, 1}, ab[] = {0, 0, 255, 250, 250};
    ref_in(r, 0, aa, 5);
    ref_in(r, 1, ab, 5);
    r->nout = 5;
    for (int i = 0; i < 5; i++) {
        volatile float ra = 0.5f / 0.5f, rb = 0.25f / 0.5f;
        volatile float pa = (float)(aa[i] - 0) * ra, pb = (float)(ab[i] - 255) * rb;
        volatile float v = pa + pb;
        r->want[i] = (double)ref_sat(v, 10, 'u');
    }
    static const double al[] = {138, 0, 10, 10, 8};
    memcpy(r->lit, al, sizeof al);

    /* QLinearGlobalAveragePool: M = f32(f32(1 / 2) / 4) = 1/8; channel sums
     * 1019 -> 127.375 -> 127; 4 -> 0.5 -> 0; 12 -> 1.5 -> 2 (+ 5) */
    r = ref_new("ref_qgap_u8", HDR "h (uint8[1,3,2,2] x) => (uint8[1,3,1,1] y)\n<float xs = {1}, uint8 xz = {0}, "
                                   "float ys = {2}, uint8 yz = {5}>\n"
                                   "{\n  y = com.microsoft.QLinearGlobalAveragePool(x, xs, xz, ys, yz)\n}\n");
    static const double gx[] = {255, 255, 255, 254, 0, 1, 1, 2, 3, 3, 3, 3};
    ref_in(r, 0, gx, 12);
    r->nout = 3;
    for (int c = 0; c < 3; c++) {
        int64_t acc = 0;
        for (int i = 0; i < 4; i++)
            acc += (int64_t)gx[c * 4 + i];
        volatile float q = 1.0f / 2.0f;
        volatile float mm = q / 4.0f;
        r->want[c] = (double)ref_sat((double)acc * (double)mm, 5, 'u');
    }
    r->lit[0] = 132, r->lit[1] = 5, r->lit[2] = 7;

    /* QLinearConv 1x1, bias at the limits: channel 0 acc = -65280 +
     * (-2^31 + 65280) = -2^31, channel 1 64770 + (2^31 - 1 - 64770) =
     * 2^31 - 1; M = 2^-25: -64 and 63.99999997 -> 64 */
    r = ref_new("ref_qconv_bias_limits",
                HDR "h (uint8[1,2,1,1] x) => (int8[1,2,1,1] y)\n<float xs = {1}, uint8 xz = {0}, "
                    "int8[2,2,1,1] w = {-128, -128, 127, 127}, float[2] ws = {2.98023224e-08, 2.98023224e-08}, "
                    "int8[2] wz = {0, 0}, float ys = {1}, int8 yz = {0}, int32[2] bias = {-2147418368, 2147418877}>\n"
                    "{\n  y = QLinearConv<kernel_shape = [1, 1]>(x, xs, xz, w, ws, wz, ys, yz, bias)\n}\n");
    ref_in(r, 0, v255, 1);
    r->nout = 2;
    r->want[0] = (double)ref_requant(-65280 + (-2147418368ll), 1, 0x1p-25f, 1, 0, 's');
    r->want[1] = (double)ref_requant(64770 + 2147418877ll, 1, 0x1p-25f, 1, 0, 's');
    r->lit[0] = -64, r->lit[1] = 64;
    /* ConvInteger: (-128 - 127)(0 - 255) x 3 = 195075 */
    r = ref_new("ref_convinteger_rails", HDR "h (int8[1,1,1,3] x) => (int32[1,1,1,1] y)\n"
                                             "<uint8[1,1,1,3] w = {0, 0, 0}, int8 xz = {127}, uint8 wz = {255}>\n"
                                             "{\n  y = ConvInteger<kernel_shape = [1, 3]>(x, w, xz, wz)\n}\n");
    ref_in(r, 0, vm128, 1);
    r->nout = 1;
    r->want[0] = 3 * (-128 - 127) * (0 - 255);
    r->lit[0] = 195075;
    /* The clip epilogue (after qdq-fold): a = (255, 0) - 128 at 1/2, w per
     * column at 1/4 and 1/2, bias (1/8, -1/2) = (1, -2) in acc units:
     * acc = (-257 + 1, 766 - 2), M = (1/4, 1/2): -64 + 10, 382 + 10 -> 255;
     * clip to [rne(-1.3 / 0.5) + 10, rne(20.7 / 0.5) + 10] = [7, 51] */
    r = ref_new("ref_qdq_mm_bias_clip",
                HDR "h (uint8[1,2] a) => (uint8[1,2] y)\n<float as = {0.5}, uint8 az = {128}, "
                    "int8[2,2] w = {1, 2, 3, -4}, float[2] ws = {0.25, 0.5}, int8[2] wz = {0, 0}, "
                    "float[2] b = {0.125, -0.5}, float ys = {0.5}, uint8 yz = {10}, float lo = {-1.3}, "
                    "float hi = {20.7}>\n{\n  da = DequantizeLinear(a, as, az)\n"
                    "  dw = DequantizeLinear<axis = 1>(w, ws, wz)\n  m = MatMul(da, dw)\n  t = Add(m, b)\n"
                    "  r = Clip(t, lo, hi)\n  y = QuantizeLinear(r, ys, yz)\n}\n");
    ref_in(r, 0, (double[]){255, 0}, 2);
    r->nout = 2;
    {
        int64_t lo = ref_quantize(-1.3f, 0.5f, 10, 'u'), hi = ref_quantize(20.7f, 0.5f, 10, 'u');
        int64_t q0 = ref_requant((255 - 128) * 1 + (0 - 128) * 3 + 1, 0.5f, 0.25f, 0.5f, 10, 'u');
        int64_t q1 = ref_requant((255 - 128) * 2 + (0 - 128) * -4 - 2, 0.5f, 0.5f, 0.5f, 10, 'u');
        r->want[0] = (double)(q0 < lo ? lo : q0 > hi ? hi : q0);
        r->want[1] = (double)(q1 < lo ? lo : q1 > hi ? hi : q1);
    }
    r->lit[0] = 7, r->lit[1] = 51;
    r->folded = true;
    /* relu: a = (0, 255) at zp 128 -> (-128, 127); acc (-128 + 381 + 8,
     * -256 - 508 - 8) = (261, -772); M = 1/4: 65.25 -> 65 + 3; -193 + 3 ->
     * 0, relu keeps >= zp 3 */
    r = ref_new("ref_qdq_mm_bias_relu",
                HDR "h (uint8[1,2] a) => (uint8[1,2] y)\n<float as = {0.5}, uint8 az = {128}, "
                    "int8[2,2] w = {1, 2, 3, -4}, float[2] ws = {0.25, 0.25}, "
                    "float[2] b = {1.0, -1.0}, float ys = {0.5}, uint8 yz = {3}>\n"
                    "{\n  da = DequantizeLinear(a, as, az)\n  dw = DequantizeLinear<axis = 1>(w, ws)\n"
                    "  m = MatMul(da, dw)\n  t = Add(m, b)\n  r = Relu(t)\n  y = QuantizeLinear(r, ys, yz)\n}\n");
    ref_in(r, 0, (double[]){0, 255}, 2);
    r->nout = 2;
    {
        int64_t q0 = ref_requant(-128 * 1 + 127 * 3 + 8, 0.5f, 0.25f, 0.5f, 3, 'u');
        int64_t q1 = ref_requant(-128 * 2 + 127 * -4 - 8, 0.5f, 0.25f, 0.5f, 3, 'u');
        r->want[0] = (double)(q0 < 3 ? 3 : q0);
        r->want[1] = (double)(q1 < 3 ? 3 : q1);
    }
    r->lit[0] = 68, r->lit[1] = 3;
    r->folded = true;
}

/* The hand cases through the kernels (every target). */
void kt_qref(void)
{
    build_refs();
    for (int i = 0; i < nrefs; i++) {
        KtOpts o = {.exact = KT_ALL_EXACT, .arm = i % 3 == 0};
        for (int k = 0; k < refs[i].nin; k++) {
            o.fill[k] = KT_VALUES;
            o.values[k] = (KtValues){refs[i].in[k], refs[i].nv[k]};
        }
        kt_case(refs[i].name, &o, refs[i].text);
    }
}

static void ref_store(Tensor *t, int64_t i, double v)
{
    switch (t->dtype) {
    case DT_F32: ((float *)t->data)[i] = (float)v; break;
    case DT_U8: ((uint8_t *)t->data)[i] = (uint8_t)(int64_t)v; break;
    case DT_I8: ((int8_t *)t->data)[i] = (int8_t)(int64_t)v; break;
    case DT_I32: ((int32_t *)t->data)[i] = (int32_t)(int64_t)v; break;
    default: break;
    }
}

static double ref_load(const Tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_F32: return ((const float *)t->data)[i];
    case DT_U8: return ((const uint8_t *)t->data)[i];
    case DT_I8: return ((const int8_t *)t->data)[i];
    case DT_I32: return ((const int32_t *)t->data)[i];
    default: return NAN;
    }
}

static bool same(double got, double want) { return (isnan(got) && isnan(want)) || got == want; }

/* One hand case in the interpreter: the imported graph, and with folded
 * also the graph after the passes (it must hold a fused QLinearMatMul).
 * Returns the number of mismatches (printed). */
static int ref_check(const RefCase *r, const char *path, bool after_passes)
{
    Diag d;
    diag_init(&d, NULL);
    DriverOptions o = {0};
    Graph *g = drv_import(path, &o, &d);
    PassCtx pc = {.d = &d};
    bool ok = g && (after_passes ? passes_run(g, &pc, "dce2") : pass_shape_infer(g, &pc));
    int bad = 0;
    if (ok && after_passes) {
        bool fused = false;
        for (int i = 0; i < g->nnodes; i++)
            fused |= g->nodes[i]->op == OP_QLINEAR_MATMUL && g->nodes[i]->a.act != ACT_NONE;
        if (!fused) {
            printf("FAIL qref/%s: the passes left no QLinearMatMul with a fused activation\n", r->name);
            bad++;
        }
    }
    Tensor in[3] = {{0}}, out[4] = {{0}};
    for (int i = 0; ok && i < g->ninputs; i++) {
        Shape s = shape_at(&g->inputs[i]->shape, 1);
        ok = tensor_alloc(&in[i], g->inputs[i]->dtype, &s);
        for (int64_t k = 0; ok && k < tensor_numel(&in[i]); k++)
            ref_store(&in[i], k, r->in[i][k % r->nv[i]]);
    }
    ok = ok && interp_run(g, 1, in, out, &d);
    if (!ok) {
        printf("FAIL qref/%s%s: %s\n", r->name, after_passes ? " (after the passes)" : "", d.buf ? d.buf : "failed");
        bad++;
    } else if (tensor_numel(&out[0]) != r->nout) {
        printf("FAIL qref/%s: %lld outputs, want %d\n", r->name, (long long)tensor_numel(&out[0]), r->nout);
        bad++;
    } else {
        for (int k = 0; k < r->nout; k++) {
            double got = ref_load(&out[0], k);
            if (!same(got, r->want[k]) || (!isnan(r->lit[k]) && !same(r->want[k], r->lit[k]))) {
                printf("FAIL qref/%s%s: element %d: interpreter %.9g, docs' formulas %.9g, by hand %.9g\n", r->name,
                       after_passes ? " (after the passes)" : "", k, got, r->want[k], r->lit[k]);
                bad++;
            }
        }
    }
    for (int i = 0; g && i < g->ninputs; i++)
        tensor_free(&in[i]);
    for (int i = 0; g && i < g->noutputs; i++)
        tensor_free(&out[i]);
    ir_graph_free(g);
    diag_fini(&d);
    return bad;
}

int kt_quant_ref(void)
{
    build_refs();
    char dir[] = "/tmp/qkc-ktq-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL qref: no temporary folder\n");
        return 1;
    }
    int bad = 0, checks = 0;
    for (int i = 0; i < nrefs; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s.onnxtxt", dir, refs[i].name);
        FILE *f = fopen(path, "w");
        if (!f || fputs(refs[i].text, f) < 0) {
            if (f)
                fclose(f);
            printf("FAIL qref/%s: cannot write %s\n", refs[i].name, path);
            bad++;
            continue;
        }
        fclose(f);
        bad += ref_check(&refs[i], path, false);
        checks++;
        if (refs[i].folded) {
            bad += ref_check(&refs[i], path, true);
            checks++;
        }
        unlink(path);
    }
    rmdir(dir);
    printf("qref       %d interpreter checks against hand-computed values; %d failure%s\n", checks, bad,
           bad == 1 ? "" : "s");
    fflush(stdout);
    return bad;
}

/* kt_conv.c — cases for codegen/k_conv.c: Conv in 1-D, 2-D and 3-D;
 * groups (depthwise, channel multipliers); strides 1-3; dilations 1-2;
 * asymmetric pads; auto_pad SAME_UPPER / SAME_LOWER / VALID; kernels larger
 * than the input; with or without bias; the epilogues the fuse pass folds
 * in (bias Add, Relu, Clip, LeakyRelu, Sigmoid, Tanh) and BatchNormalization
 * folded into the weights by bn-fold. */
#include <stdio.h>
#include <string.h>

#include "kt.h"

typedef struct ConvSpec {
    const char *name;
    int nsp;
    int64_t n, c, m, group;   /* n -1: the symbolic batch */
    int64_t in[3], k[3], s[3], d[3], p[6];
    const char *auto_pad;     /* NULL: explicit pads */
    bool bias;
    const char *post;         /* nodes reading `cv` and writing `y` (NULL: y is the Conv) */
    const char *post_inits;   /* their initializers; "BN[, more]": BatchNormalization parameters of M
                               * channels (bn_s, bn_b, bn_mean, bn_var) [and more] */
    bool arm;
    bool w_input;             /* the weights are a graph input (nothing to pack) */
    int threads;              /* 0: the harness's default */
} ConvSpec;

static void ints(KtText *t, const char *attr, int n, const int64_t *v)
{
    kt_printf(t, ", %s = [", attr);
    for (int i = 0; i < n; i++)
        kt_printf(t, "%s%lld", i ? ", " : "", (long long)v[i]);
    kt_printf(t, "]");
}

static void bn_params(KtText *t, int64_t M)
{
    static const char *const pn[] = {"bn_s", "bn_b", "bn_mean", "bn_var"};
    for (int i = 0; i < 4; i++) {
        kt_printf(t, ", ");
        kt_init_values(t, "float", pn[i], 1, &M, i == 3);
    }
}

static void conv_case(const ConvSpec *cs)
{
    KtText m = {0};
    char dx[96];
    int64_t xd[5] = {cs->n, cs->c}, wd[5] = {cs->m, cs->c / cs->group};
    int nsp = cs->nsp;
    for (int i = 0; i < nsp; i++) {
        xd[2 + i] = cs->in[i];
        wd[2 + i] = cs->k[i];
    }
    KtText in = {0};
    if (cs->w_input)
        kt_printf(&m, ", float%s w", kt_dims(dx, sizeof dx, 2 + nsp, wd));
    else
        kt_init_values(&in, "float", "w", 2 + nsp, wd, false);
    if (cs->bias) {
        kt_printf(&in, "%s", in.n ? ", " : "");
        kt_init_values(&in, "float", "b", 1, &cs->m, false);
    }
    const char *pi = cs->post_inits;
    if (pi && strncmp(pi, "BN", 2) == 0) {
        bn_params(&in, cs->m);
        pi = pi[2] == ',' ? pi + 3 : NULL;
    }
    if (pi)
        kt_printf(&in, ", %s", pi);
    KtText hdr = {0};
    kt_header(&hdr, 13);
    kt_printf(&hdr, "conv (float%s x%s) => (float[] y)\n", kt_dims(dx, sizeof dx, 2 + nsp, xd), m.n ? m.s : "");
    if (in.n)
        kt_printf(&hdr, "<%s>\n", in.s[0] == ',' ? in.s + 2 : in.s);
    kt_text_free(&m);
    kt_text_free(&in);
    m = hdr;
    kt_printf(&m, "{\n  %s = Conv<group = %lld", cs->post ? "cv" : "y", (long long)cs->group);
    ints(&m, "kernel_shape", nsp, cs->k);
    int64_t one[3] = {1, 1, 1};
    ints(&m, "strides", nsp, cs->s[0] ? cs->s : one);
    ints(&m, "dilations", nsp, cs->d[0] ? cs->d : one);
    if (cs->auto_pad)
        kt_printf(&m, ", auto_pad = \"%s\"", cs->auto_pad);
    else
        ints(&m, "pads", 2 * nsp, cs->p);
    kt_printf(&m, ">(x, w%s)\n%s}\n", cs->bias ? ", b" : "", cs->post ? cs->post : "");
    KtOpts o = {.arm = cs->arm, .threads = cs->threads};
    kt_case(cs->name, &o, m.s);
    kt_text_free(&m);
}

#define RELU "  y = Relu(cv)\n"
#define CLIP6 "  y = Clip(cv, lo, hi)\n"
#define CLIP6_INITS "float lo = {0}, float hi = {0.75}"
#define BN "  y = BatchNormalization<epsilon = 0.001>(cv, bn_s, bn_b, bn_mean, bn_var)\n"

/* Random valid convolutions: 1 to 3 spatial dims, groups, kernel, strides,
 * dilations, asymmetric pads or auto_pad, bias, an activation. */
static void conv_sweep(int count)
{
    static const char *const pads[] = {NULL, NULL, NULL, "SAME_UPPER", "SAME_LOWER", "VALID"};
    static const char *const acts[] = {NULL, NULL, RELU, "  y = Sigmoid(cv)\n", "  y = LeakyRelu(cv)\n"};
    for (int c = 0; c < count; c++) {
        static char names[64][24];
        ConvSpec cs = {.name = names[c % 64], .nsp = kt_pick(1, 3), .group = kt_pick(1, 3)};
        snprintf(names[c % 64], sizeof names[0], "sweep%d", c);
        cs.n = kt_pick(0, 2) ? kt_pick(1, 2) : -1;
        cs.c = cs.group * kt_pick(1, 3);
        cs.m = cs.group * (kt_pick(0, 2) ? kt_pick(1, 3) : kt_pick(8, 10)); /* >= 8 per group: vectorized */
        int big = cs.nsp == 3 ? 5 : 11;
        cs.auto_pad = pads[kt_pick(0, 5)];
        for (int i = 0; i < cs.nsp; i++) {
            cs.in[i] = kt_pick(1, big);
            cs.k[i] = kt_pick(1, 4);
            cs.s[i] = kt_pick(1, 3);
            cs.d[i] = kt_pick(1, 2);
            cs.p[i] = kt_pick(0, 2);
            cs.p[cs.nsp + i] = kt_pick(0, 2);
            int64_t span = (cs.k[i] - 1) * cs.d[i] + 1;
            if (cs.in[i] + cs.p[i] + cs.p[cs.nsp + i] < span) /* the window must fit somewhere */
                cs.p[cs.nsp + i] = span - cs.in[i] - cs.p[i];
            if (cs.auto_pad && strcmp(cs.auto_pad, "VALID") == 0 && cs.in[i] < span)
                cs.in[i] = span;
        }
        cs.bias = kt_pick(0, 1);
        cs.post = acts[kt_pick(0, 4)];
        cs.arm = c % 6 == 0;
        conv_case(&cs);
    }
}

/* Nodes with the same op, attributes and operand shapes share one kernel
 * (weights are its arguments) unless it bakes a constant weight in: two
 * Convs on run-time weights share, two with constant weights (one packed
 * for the channel-vectorized kernel) do not; Mul, Sigmoid and MatMul pairs
 * share, each call with its own operands (inputs, outputs, constants). */
static void shared_kernels(void)
{
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "shared (float[N,4,6,6] x, float[N,4,6,6] x2, float[4,4,3,3] wi1, float[4,4,3,3] wi2, "
                  "float[5,7] p, float[5,7] q, float[7,3] wa, float[7,3] wb) => (float[] c1, float[] c2, "
                  "float[] d1, float[] d2, float[] s1, float[] s2, float[] z1, float[] z2)\n<");
    kt_init_values(&m, "float", "w1", 4, (int64_t[]){16, 4, 3, 3}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "w2", 4, (int64_t[]){16, 4, 3, 3}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "k1", 4, (int64_t[]){1, 16, 1, 1}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "k2", 4, (int64_t[]){1, 16, 1, 1}, false);
    kt_printf(&m, ">\n{\n  c1 = Conv<pads = [1, 1, 1, 1]>(x, wi1)\n  c2 = Conv<pads = [1, 1, 1, 1]>(x2, wi2)\n"
                  "  e1 = Conv<pads = [1, 1, 1, 1]>(x, w1)\n  e2 = Conv<pads = [1, 1, 1, 1]>(x2, w2)\n"
                  "  d1 = Mul(e1, k1)\n  d2 = Mul(e2, k2)\n  s1 = Sigmoid(c1)\n  s2 = Sigmoid(c2)\n"
                  "  z1 = MatMul(p, wa)\n  z2 = MatMul(q, wb)\n}\n");
    KtOpts o = {.arm = true};
    kt_case("shared_kernels", &o, m.s);
    kt_text_free(&m);
}

/* One layer in a 16-bit float type (`to`: 10 float16, 16 bfloat16): x of
 * dims `xdims`, weights w (and a bias b of nb values when nb > 0) cast
 * from f32 constants (the text syntax has no 16-bit values; the casts fold
 * into constants), then `body`, reading x, wh (bh) and writing y. One
 * layer, so every output is one f32 sum rounded once (within an ulp of the
 * interpreter's exact sum rounded once). */
typedef struct HalfLayer {
    const char *name;
    int to;
    const char *xdims;
    int wrank;
    int64_t wdims[4], nb;
    const char *body;
} HalfLayer;

static void half_layer(const HalfLayer *l)
{
    const char *ty = l->to == 16 ? "bfloat16" : "float16";
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "half (%s[%s] x) => (%s[] y)\n<", ty, l->xdims, ty);
    kt_init_values(&m, "float", "w", l->wrank, l->wdims, false);
    if (l->nb) {
        kt_printf(&m, ", ");
        kt_init_values(&m, "float", "b", 1, &l->nb, false);
    }
    kt_printf(&m, ">\n{\n  wh = Cast<to = %d>(w)\n", l->to);
    if (l->nb)
        kt_printf(&m, "  bh = Cast<to = %d>(b)\n", l->to);
    kt_printf(&m, "%s}\n", l->body);
    KtOpts o = {.arm = true};
    kt_case(l->name, &o, m.s);
    kt_text_free(&m);
}

/* f16 and bf16 storage (f32 sums) through the microkernels of k_mm.c and
 * the row-wise kernel of k_conv.c. bf16 on a CPU with AVX512-BF16 (the
 * host, where it has it) multiplies pairs of k on vdpbf16ps, elsewhere
 * each bf16 is widened to f32 for FMAs. Shapes for the pair layout: an odd
 * K (the last pair half zero), 3 channels padded to 4 in the ring, channels
 * transposed into the ring in blocks, conv groups of 12 channels; for the
 * row-wise kernel (depthwise, few channels per group) the interior stored
 * once and the edges from the f32 row buffer. */
static void half_layers(void)
{
    static const char *const conv_relu = "  c = Conv<pads = [1, 1, 1, 1]>(x, wh, bh)\n  y = Relu(c)\n";
    static const HalfLayer layers[] = {
        {"f16_conv_bias_relu", 10, "N,16,7,9", 4, {24, 16, 3, 3}, 24, conv_relu},
        {"f16_gemm_tb", 10, "N,130", 2, {40, 130}, 0, "  y = Gemm<transB = 1>(x, wh)\n"},
        {"bf16_conv_bias_relu", 16, "N,16,7,9", 4, {24, 16, 3, 3}, 24, conv_relu},
        {"bf16_conv_c3_s2_stem", 16, "N,3,23,21", 4, {40, 3, 5, 5}, 0,
         "  y = Conv<pads = [2, 2, 2, 2], strides = [2, 2]>(x, wh)\n"},
        {"bf16_conv_grouped_g3", 16, "N,36,9,10", 4, {36, 12, 3, 3}, 0,
         "  y = Conv<group = 3, pads = [1, 1, 1, 1]>(x, wh)\n"},
        {"bf16_gemm_tb_odd_k", 16, "N,131", 2, {40, 131}, 40, "  y = Gemm<transB = 1>(x, wh, bh)\n"},
        {"bf16_matmul_rows", 16, "N,19,96", 2, {96, 72}, 0, "  y = MatMul(x, wh)\n"},
        {"bf16_dw_3x3_bias_relu", 16, "N,6,9,45", 4, {6, 1, 3, 3}, 6,
         "  c = Conv<group = 6, pads = [1, 1, 1, 1]>(x, wh, bh)\n  y = Relu(c)\n"},
        {"f16_dw_5x5_s2", 10, "N,4,11,40", 4, {4, 1, 5, 5}, 0,
         "  y = Conv<group = 4, pads = [2, 2, 2, 2], strides = [2, 2]>(x, wh)\n"},
        {"bf16_conv_g2_m4_rows", 16, "N,6,7,8", 4, {8, 3, 3, 3}, 0, "  y = Conv<group = 2, pads = [0, 1, 0, 1]>(x, wh)\n"},
    };
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++)
        half_layer(&layers[i]);
}

/* A small network: the kernels one after another over the planned
 * workspace, with the batch. */
static void mini_cnn(void)
{
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "cnn (float[N,2,9,9] x) => (float[] probs, float[] feat)\n<");
    kt_init_values(&m, "float", "w1", 4, (int64_t[]){4, 2, 3, 3}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "b1", 1, (int64_t[]){4}, false);
    bn_params(&m, 4);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "w2", 4, (int64_t[]){6, 2, 3, 3}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "fc", 2, (int64_t[]){5, 6}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "fcb", 1, (int64_t[]){5}, false);
    kt_printf(&m, ">\n{\n  c1 = Conv<pads = [1, 1, 1, 1]>(x, w1, b1)\n"
                  "  n1 = BatchNormalization(c1, bn_s, bn_b, bn_mean, bn_var)\n  r1 = Relu(n1)\n"
                  "  p1 = MaxPool<kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1>(r1)\n"
                  "  c2 = Conv<group = 2, strides = [2, 2]>(p1, w2)\n  r2 = Clip(c2)\n  g = GlobalAveragePool(r2)\n"
                  "  feat = Flatten(g)\n  z = Gemm<transB = 1>(feat, fc, fcb)\n  probs = Softmax(z)\n}\n");
    KtOpts o = {.arm = true};
    kt_case("mini_cnn", &o, m.s);
    kt_text_free(&m);
}

void kt_conv(void)
{
    static const ConvSpec specs[] = {
        /* 2-D: the usual and the edges */
        {"2d_k3_p1_bias", 2, -1, 3, 4, 1, {10, 10}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, true},
        {"2d_k1_pointwise", 2, 2, 5, 6, 1, {7, 9}, {1, 1}, {0}, {0}, {0}, NULL, false, NULL, NULL, false},
        {"2d_k3_s2_p1", 2, 1, 3, 5, 1, {11, 13}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, false},
        {"2d_k3_s3", 2, 2, 2, 3, 1, {13, 8}, {3, 3}, {3, 3}, {0}, {0}, NULL, true, NULL, NULL, true},
        {"2d_k3_d2_p2", 2, 1, 3, 4, 1, {9, 11}, {3, 3}, {0}, {2, 2}, {2, 2, 2, 2}, NULL, false, NULL, NULL, false},
        {"2d_k3_s2_d2_asym", 2, 1, 2, 3, 1, {12, 12}, {3, 3}, {2, 2}, {2, 2}, {1, 2, 2, 1}, NULL, true, NULL, NULL,
         false},
        {"2d_k3x2_asym_pads", 2, 1, 3, 2, 1, {7, 9}, {3, 2}, {0}, {0}, {0, 1, 2, 0}, NULL, true, NULL, NULL, true},
        {"2d_k1x5_s1x2", 2, 2, 3, 4, 1, {5, 17}, {1, 5}, {1, 2}, {0}, {0, 2, 0, 1}, NULL, false, NULL, NULL, false},
        {"2d_s3x1_d1x2", 2, 1, 2, 2, 1, {10, 9}, {2, 3}, {3, 1}, {1, 2}, {1, 0, 0, 1}, NULL, true, NULL, NULL,
         false},
        {"2d_same_upper_s2", 2, 1, 3, 4, 1, {10, 9}, {3, 3}, {2, 2}, {0}, {0}, "SAME_UPPER", true, NULL, NULL, true},
        {"2d_same_lower_k4", 2, -1, 2, 3, 1, {7, 7}, {4, 4}, {0}, {0}, {0}, "SAME_LOWER", false, NULL, NULL, false},
        {"2d_same_lower_k2_s2", 2, 1, 1, 2, 1, {5, 5}, {2, 2}, {2, 2}, {0}, {0}, "SAME_LOWER", true, NULL, NULL,
         false},
        {"2d_same_upper_d2", 2, 1, 2, 2, 1, {8, 6}, {3, 2}, {1, 1}, {2, 2}, {0}, "SAME_UPPER", false, NULL, NULL,
         false},
        {"2d_valid_s2", 2, 1, 3, 4, 1, {10, 10}, {3, 3}, {2, 2}, {0}, {0}, "VALID", true, NULL, NULL, false},
        {"2d_kernel_over_input", 2, 1, 2, 3, 1, {3, 3}, {5, 5}, {0}, {0}, {2, 2, 2, 2}, NULL, true, NULL, NULL,
         true},
        {"2d_kernel_over_input_asym", 2, -1, 1, 2, 1, {2, 4}, {4, 6}, {0}, {0}, {1, 3, 1, 0}, NULL, false, NULL,
         NULL, false},
        {"2d_1x1_spatial", 2, -1, 4, 3, 1, {1, 1}, {1, 1}, {0}, {0}, {0}, NULL, true, NULL, NULL, false},
        {"2d_pads_over_kernel", 2, 1, 2, 2, 1, {3, 3}, {2, 2}, {0}, {0}, {3, 2, 1, 3}, NULL, true, NULL, NULL,
         false},
        {"2d_out_1x1", 2, 2, 3, 2, 1, {5, 5}, {5, 5}, {0}, {0}, {0}, NULL, false, NULL, NULL, false},
        {"2d_c17_m33", 2, 1, 17, 33, 1, {5, 6}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, false},
        /* >= 8 output channels per group: the channel-vectorized kernel */
        {"vec_m8_k3_p1", 2, -1, 3, 8, 1, {7, 9}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, true},
        {"vec_m9_s2_d2_asym", 2, 2, 2, 9, 1, {11, 10}, {3, 2}, {2, 3}, {2, 1}, {2, 0, 1, 3}, NULL, false, NULL, NULL,
         false},
        {"vec_g2_m16", 2, 1, 4, 16, 2, {6, 5}, {3, 3}, {1, 2}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, false},
        {"vec_depthwise_x8", 2, -1, 2, 16, 2, {5, 7}, {3, 3}, {0}, {0}, {0, 1, 2, 1}, NULL, true, NULL, NULL, true},
        {"vec_g3_m27_same_lower", 2, 1, 3, 27, 3, {7, 6}, {4, 3}, {2, 1}, {0}, {0}, "SAME_LOWER", false, NULL, NULL,
         false},
        {"vec_1d_m17", 1, -1, 5, 17, 1, {19}, {5}, {2}, {1}, {2, 2}, NULL, true, NULL, NULL, false},
        {"vec_3d_m8", 3, 1, 2, 8, 1, {4, 5, 6}, {2, 3, 3}, {1, 2, 1}, {2, 1, 1}, {1, 0, 1, 0, 1, 1}, NULL, true,
         NULL, NULL, true},
        {"vec_kernel_over_input", 2, 1, 3, 12, 1, {2, 3}, {5, 5}, {0}, {0}, {2, 2, 2, 2}, NULL, true, NULL, NULL,
         false},
        {"vec_pads_over_kernel", 2, 1, 2, 8, 1, {3, 3}, {2, 2}, {0}, {0}, {3, 2, 1, 3}, NULL, false, NULL, NULL,
         false},
        {"vec_1x1_wide_67", 2, 2, 5, 33, 1, {1, 67}, {1, 1}, {0}, {0}, {0}, NULL, true, NULL, NULL, false},
        /* run-time weights: nothing to pack, the row-wise kernel whatever the width */
        {"w_input_m8", 2, -1, 3, 8, 1, {5, 6}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, true, true},
        {"w_input_depthwise_s2", 2, 1, 4, 4, 4, {7, 7}, {3, 3}, {2, 2}, {0}, {1, 0, 0, 1}, NULL, false, RELU, NULL,
         false, true},
        {"vec_fused_tanh", 2, -1, 3, 10, 1, {5, 5}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, "  y = Tanh(cv)\n",
         NULL, false},
        {"vec_bn_folded_clip", 2, -1, 4, 8, 1, {6, 6}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, false,
         "  t = BatchNormalization<epsilon = 0.001>(cv, bn_s, bn_b, bn_mean, bn_var)\n  y = Clip(t, lo, hi)\n",
         "BN, " CLIP6_INITS, false},
        {"2d_wide_row_67", 2, 1, 2, 3, 1, {3, 67}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, false, NULL, NULL, false},
        /* groups */
        {"2d_group2", 2, 1, 4, 6, 2, {6, 6}, {3, 3}, {0}, {0}, {0}, NULL, true, NULL, NULL, false},
        {"2d_depthwise_p1", 2, -1, 5, 5, 5, {7, 7}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, NULL, NULL, true},
        {"2d_depthwise_x2_s2", 2, 1, 3, 6, 3, {8, 8}, {3, 3}, {2, 2}, {0}, {1, 1, 0, 0}, NULL, false, NULL, NULL,
         false},
        {"2d_group3_d2", 2, 2, 6, 9, 3, {9, 9}, {3, 3}, {0}, {2, 2}, {0}, NULL, true, NULL, NULL, false},
        /* depthwise rows wider than a vector: the interior in one pass (3x3
         * s1 and 5x5 s2 as in MobileNet and EfficientNet, a multiplier of
         * 2 with dilation 2), the edges per tap */
        {"dw_rows_3x3_clip", 2, -1, 6, 6, 6, {9, 45}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, CLIP6, CLIP6_INITS,
         true},
        {"dw_rows_5x5_s2", 2, 1, 4, 4, 4, {11, 40}, {5, 5}, {2, 2}, {0}, {2, 2, 2, 2}, NULL, true, RELU, NULL, false},
        {"dw_rows_x2_d2_asym", 2, 2, 3, 6, 3, {7, 33}, {3, 3}, {1, 1}, {2, 2}, {1, 3, 2, 0}, NULL, false, NULL, NULL,
         false},
        /* a depthwise plane from a zero-padded copy (codegen/k_conv.c
         * conv_dw_plane): planes narrower than a vector run across rows
         * (512-bit x86: permutes of two loads), asymmetric pads, 5x5 at
         * dilation 2, a 1-D row */
        {"dw_plane_14x14_5x5_d2", 2, 1, 3, 3, 3, {14, 14}, {5, 5}, {0}, {2, 2}, {4, 4, 4, 4}, NULL, true, NULL, NULL,
         false},
        {"dw_plane_asym_9x12", 2, -1, 4, 4, 4, {9, 12}, {3, 3}, {0}, {0}, {0, 2, 1, 1}, NULL, true, RELU, NULL, true},
        {"dw_1d_k5_rows", 1, -1, 4, 4, 4, {40}, {5}, {0}, {0}, {2, 2}, NULL, false, NULL, NULL, true},
        /* stride 2 rows from a plane split into even and odd columns (x86
         * up to AVX2; dw_rows_5x5_s2 above too): odd and zero left pads,
         * 1-D 5 taps at dilation 2 (every tap in the even half) */
        {"dw_split_s2_p1_clip", 2, -1, 5, 5, 5, {9, 37}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, true, CLIP6,
         CLIP6_INITS, false},
        {"dw_split_s2_p0", 2, 2, 4, 4, 4, {12, 40}, {3, 3}, {2, 2}, {0}, {0, 0, 1, 1}, NULL, false, NULL, NULL, false},
        {"dw_split_1d_k5_d2", 1, 1, 3, 3, 3, {61}, {5}, {2}, {2}, {4, 3}, NULL, true, RELU, NULL, false},
        /* 1-D */
        {"1d_k3_p1", 1, -1, 3, 4, 1, {17}, {3}, {0}, {0}, {1, 1}, NULL, true, NULL, NULL, true},
        {"1d_k5_s3_d2_asym", 1, 1, 2, 3, 1, {20}, {5}, {3}, {2}, {2, 0}, NULL, false, NULL, NULL, false},
        {"1d_depthwise_same_upper", 1, 1, 4, 4, 4, {9}, {3}, {2}, {0}, {0}, "SAME_UPPER", true, NULL, NULL, false},
        {"1d_long_65", 1, 2, 2, 2, 1, {65}, {4}, {0}, {0}, {0, 3}, NULL, true, NULL, NULL, false},
        /* 3-D */
        {"3d_asym", 3, 1, 2, 3, 1, {5, 6, 7}, {2, 3, 3}, {0}, {0}, {0, 1, 1, 1, 0, 1}, NULL, false, NULL, NULL,
         true},
        {"3d_group2_s2_p1", 3, -1, 2, 2, 2, {4, 4, 4}, {3, 3, 3}, {2, 2, 2}, {0}, {1, 1, 1, 1, 1, 1}, NULL, true,
         NULL, NULL, false},
        {"3d_d2_same_lower", 3, 1, 1, 2, 1, {6, 5, 4}, {3, 1, 2}, {0}, {2, 1, 1}, {0}, "SAME_LOWER", true, NULL,
         NULL, false},
        {"3d_s3_valid", 3, 2, 3, 2, 1, {7, 7, 7}, {2, 2, 2}, {3, 3, 3}, {0}, {0}, "VALID", false, NULL, NULL,
         false},
        /* fused epilogues */
        {"fused_relu", 2, -1, 3, 4, 1, {6, 7}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, RELU, NULL, true},
        {"fused_clip", 2, -1, 2, 4, 1, {5, 5}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, false, CLIP6, CLIP6_INITS,
         false},
        {"fused_leaky", 1, 2, 3, 3, 1, {11}, {3}, {0}, {0}, {1, 1}, NULL, true, "  y = LeakyRelu<alpha = 0.2>(cv)\n",
         NULL, false},
        {"fused_sigmoid", 2, 1, 2, 3, 1, {6, 6}, {3, 3}, {0}, {0}, {0}, NULL, true, "  y = Sigmoid(cv)\n", NULL,
         false},
        {"fused_tanh_3d", 3, 1, 2, 2, 1, {3, 4, 5}, {2, 2, 2}, {0}, {0}, {1, 0, 1, 0, 1, 0}, NULL, true,
         "  y = Tanh(cv)\n", NULL, true},
        {"fused_depthwise_relu", 2, -1, 4, 4, 4, {5, 5}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, RELU, NULL,
         false},
        {"fused_bias_add_relu", 2, -1, 3, 4, 1, {5, 6}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, false,
         "  t = Add(cv, c)\n  y = Relu(t)\n", "float[1,4,1,1] c = {0.5, -0.25, 1.5, -2}", false},
        {"fused_bias_plus_bias", 2, 1, 3, 4, 1, {5, 6}, {3, 3}, {0}, {0}, {0}, NULL, true, "  y = Add(c, cv)\n",
         "float[4,1,1] c = {1, 2, 3, 4}", false},
        {"fused_scalar_add_tanh", 1, 1, 3, 2, 1, {9}, {2}, {0}, {0}, {0}, NULL, true,
         "  t = Add(cv, c)\n  y = Tanh(t)\n", "float c = {0.5}", false},
        {"unfused_spatial_add", 2, 1, 2, 2, 1, {4, 4}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true,
         "  t = Add(cv, c)\n  y = Relu(t)\n", "float[4] c = {1, -1, 2, -2}", false},
        {"residual_add_relu", 2, -1, 3, 3, 1, {6, 6}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true,
         "  t = Add(cv, x)\n  y = Relu(t)\n", NULL, true},
        /* BatchNormalization folded into the weights */
        {"bn_folded", 2, -1, 3, 4, 1, {6, 6}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, false, BN, "BN", true},
        {"bn_folded_bias_relu", 2, 2, 3, 5, 1, {7, 5}, {3, 3}, {2, 1}, {0}, {1, 1, 1, 1}, NULL, true,
         "  t = BatchNormalization<epsilon = 0.001>(cv, bn_s, bn_b, bn_mean, bn_var)\n  y = Relu(t)\n", "BN",
         false},
        {"bn_folded_depthwise_clip", 2, -1, 4, 4, 4, {6, 6}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, false,
         "  t = BatchNormalization<epsilon = 0.001>(cv, bn_s, bn_b, bn_mean, bn_var)\n  y = Clip(t, lo, hi)\n",
         "BN, " CLIP6_INITS, false},
        {"bn_folded_1d", 1, 1, 2, 3, 1, {13}, {3}, {0}, {0}, {0}, NULL, true, BN, "BN", false},
        /* 1-D on the microkernels (as 2-D of height 1): a speech front end's */
        {"mk_1d_batchN_pad_bias", 1, -1, 5, 16, 1, {23}, {3}, {1}, {0}, {1, 1}, NULL, true, NULL, NULL, true},
        {"mk_1d_stride2_dil2_relu", 1, 2, 7, 12, 1, {30}, {3}, {2}, {2}, {2, 1}, NULL, true, RELU, NULL, false},
        /* bands of output rows (k_mm.c): tiles that span rows (OW 11 and 7:
         * not multiples of MR), bands cut at the image's end (batch N),
         * several bands per image with the rows between 1x1 s2 windows
         * not packed; the ring packed in 8x8 transposed blocks with channel
         * (20, 130, 16 + 1) and column tails; N 40 and 17: a last group
         * narrower than the tile */
        {"mk_band_tiles_span_rows", 2, -1, 20, 40, 1, {13, 11}, {3, 3}, {0}, {0}, {1, 1, 1, 1}, NULL, true, RELU,
         NULL, true},
        {"mk_bands_1x1_s2_skip_rows", 2, 2, 130, 40, 1, {40, 14}, {1, 1}, {2, 2}, {0}, {0}, NULL, true, NULL, NULL,
         false},
        {"mk_k5_d2_pack_tails", 2, 1, 17, 17, 1, {20, 19}, {5, 5}, {0}, {2, 2}, {4, 4, 4, 4}, NULL, false, NULL,
         NULL, true},
        /* grouped convs on the microkernel (>= 8 output channels per group):
         * RegNet's 8 in / 8 out per group at stride 2; 20 per group, two
         * column groups each (the second narrower), on 1x1 */
        {"mk_grouped_g6_s2_regnet", 2, -1, 48, 48, 6, {15, 15}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, true, RELU,
         NULL, true},
        {"mk_grouped_g2_n20_1x1", 2, 2, 32, 40, 2, {9, 10}, {1, 1}, {0}, {0}, {0}, NULL, true, NULL, NULL, true},
        /* rows too wide for the ring (64 channels x 1100 steps): output rows in chunks */
        {"mk_1d_chunked_batchN", 1, -1, 64, 8, 1, {1100}, {3}, {1}, {0}, {1, 1}, NULL, true, NULL, NULL, true},
        {"mk_1d_chunked_s2_d2", 1, 1, 70, 9, 1, {1901}, {3}, {2}, {2}, {2, 3}, NULL, false, RELU, NULL, false},
        /* 1x1 convs as weights x NCHW rows (k_pw.c): a last tile of 1
         * output channel of 6 and planes ending in a partial block (143
         * and 300 pixels: the last block overlaps, its tail stored masked),
         * 2 threads; the symbolic batch in 1-D with a clip; whole blocks
         * with a sigmoid */
        {"pw_m13_tail_relu", 2, 2, 7, 13, 1, {11, 13}, {1, 1}, {0}, {0}, {0}, NULL, true, RELU, NULL, true,
         .threads = 2},
        {"pw_1d_batchN_clip", 1, -1, 20, 12, 1, {300}, {1}, {0}, {0}, {0}, NULL, false, CLIP6, CLIP6_INITS, true},
        {"pw_whole_blocks_sigmoid", 2, 1, 3, 6, 1, {16, 16}, {1, 1}, {0}, {0}, {0}, NULL, true,
         "  y = Sigmoid(cv)\n", NULL, false},
        /* windows that do not overlap (patch embeddings): pass "patchify"'s MatMul */
        {"patch16_batchN_bias", 2, -1, 3, 8, 1, {32, 48}, {16, 16}, {16, 16}, {0}, {0}, NULL, true, NULL, NULL, true},
        {"patch4x4_relu", 2, 2, 5, 12, 1, {8, 12}, {4, 4}, {4, 4}, {0}, {0}, NULL, false, RELU, NULL, false},
        {"patch4x4_bn_folded", 2, 1, 3, 8, 1, {16, 16}, {4, 4}, {4, 4}, {0}, {0}, NULL, true, BN, "BN", false},
        {"patch4x4_rows_left_over", 2, 1, 3, 8, 1, {18, 16}, {4, 4}, {4, 4}, {0}, {0}, NULL, true, NULL, NULL, false},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        conv_case(&specs[i]);
    mini_cnn();
    shared_kernels();
    conv_sweep(24);
    half_layers();
}

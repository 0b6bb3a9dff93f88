/* kt_misc.c — cases for codegen/k_misc.c: Softmax (every axis, opset 11's
 * flattening vs opset 13's single axis, f16/bf16/f64, reductions of 1 and
 * of 1031, NaN/inf) and BatchNormalization (standalone inference with
 * constant or run-time parameters, every rank, mixed dtypes, training mode
 * with running statistics; the folded form is in kt_conv.c/kt_linalg.c). */
#include <stdio.h>

#include "kt.h"

/* x of `type` and dims, one output per axis in `axes` (nax of them). */
static void softmax_case(const char *name, int opset, const char *type, int rank, const int64_t *dims,
                         const int *axes, int nax, KtFill fill, double scale, bool arm)
{
    KtText m = {0};
    char dx[96];
    kt_header(&m, opset);
    kt_printf(&m, "softmax (%s%s x) => (", type, kt_dims(dx, sizeof dx, rank, dims));
    for (int i = 0; i < nax; i++)
        kt_printf(&m, "%s%s[] y%d", i ? ", " : "", type, i);
    kt_printf(&m, ")\n{\n");
    for (int i = 0; i < nax; i++) {
        if (axes[i] == 99) /* the default axis */
            kt_printf(&m, "  y%d = Softmax(x)\n", i);
        else
            kt_printf(&m, "  y%d = Softmax<axis = %d>(x)\n", i, axes[i]);
    }
    kt_printf(&m, "}\n");
    KtOpts o = {.arm = arm, .scale = scale, .fill = {fill}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

void kt_softmax(void)
{
    static const int64_t r4[] = {2, 3, 4, 5}, n10[] = {-1, 10}, n35[] = {-1, 3, 5}, n17[] = {-1, 17},
                         h[] = {2, 3, 8}, b[] = {4, 33}, d[] = {3, 7, 5}, one[] = {5, 1}, big[] = {2, 1031},
                         sp[] = {3, 37}, n1[] = {-1, 1, 6}, r1[] = {7};
    static const int all13[] = {0, 1, 2, 3, -1, -3, 99}, all11[] = {0, 1, 2, 3, -2, 99}, ax1[] = {1},
                     last[] = {99, -1}, a12[] = {1, 2, 99};
    softmax_case("opset13_r4_every_axis", 13, "float", 4, r4, all13, 7, KT_RAND, 4, true);
    softmax_case("opset11_r4_every_axis", 11, "float", 4, r4, all11, 6, KT_RAND, 4, true);
    softmax_case("opset13_batchN_10", 13, "float", 2, n10, last, 2, KT_RAND, 8, true);
    softmax_case("opset13_batchN_axis1", 13, "float", 3, n35, a12, 3, KT_RAND, 4, false);
    softmax_case("opset11_batchN_axis1", 11, "float", 3, n35, a12, 3, KT_RAND, 4, false);
    softmax_case("opset13_f16", 13, "float16", 2, n17, last, 2, KT_RAND, 4, true);
    softmax_case("opset11_f16_axis1", 11, "float16", 3, h, ax1, 1, KT_RAND, 4, false);
    softmax_case("opset13_bf16", 13, "bfloat16", 2, b, last, 2, KT_RAND, 4, false);
    softmax_case("opset13_f64_axis1", 13, "double", 3, d, a12, 3, KT_RAND, 4, false);
    softmax_case("reduce_over_1", 13, "float", 2, one, last, 2, KT_RAND, 4, false);
    softmax_case("reduce_over_1_batchN", 11, "float", 3, n1, ax1, 1, KT_RAND, 4, false);
    softmax_case("rank1", 13, "float", 1, r1, last, 2, KT_RAND, 4, false);
    softmax_case("reduce_over_1031", 13, "float", 2, big, last, 2, KT_RAND, 4, false);
    softmax_case("large_magnitudes", 13, "float", 2, sp, last, 1, KT_RAND, 100, false);
    softmax_case("specials", 13, "float", 2, sp, last, 1, KT_WIDE, 0, true);
}

/* ---- BatchNormalization ------------------------------------------------- */

/* BN over x; params constants (with `ptype`) or graph inputs; `pre` puts a
 * Relu first (so nothing folds it). */
static void bn_case(const char *name, int opset, const char *xtype, const char *ptype, int rank, const int64_t *x,
                    bool params_in, bool pre, const char *attrs, bool arm)
{
    static const char *const pn[] = {"s", "b", "mean", "var"};
    KtText m = {0};
    char dx[96], dc[32];
    int64_t C = x[1];
    kt_header(&m, opset);
    kt_printf(&m, "bn (%s%s x", xtype, kt_dims(dx, sizeof dx, rank, x));
    if (params_in)
        for (int i = 0; i < 4; i++)
            kt_printf(&m, ", %s%s %s", ptype, kt_dims(dc, sizeof dc, 1, &C), pn[i]);
    kt_printf(&m, ") => (%s[] y)\n", xtype);
    if (!params_in) {
        kt_printf(&m, "<");
        for (int i = 0; i < 4; i++) {
            kt_printf(&m, "%s", i ? ", " : "");
            kt_init_values(&m, ptype, pn[i], 1, &C, i == 3);
        }
        kt_printf(&m, ">\n");
    }
    kt_printf(&m, "{\n%s  y = BatchNormalization%s(%s, s, b, mean, var)\n}\n", pre ? "  r = Relu(x)\n" : "",
              attrs ? attrs : "", pre ? "r" : "x");
    KtOpts o = {.arm = arm, .fill = {KT_RAND, KT_RAND, KT_RAND, KT_RAND, KT_POS}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

/* Training mode (opset 15): batch statistics, running mean and variance. */
static void bn_training(const char *name, int rank, const int64_t *x, bool outs3, bool arm)
{
    static const char *const pn[] = {"s", "b", "mean", "var"};
    KtText m = {0};
    char dx[96];
    int64_t C = x[1];
    kt_header(&m, 15);
    kt_printf(&m, "bn_train (float%s x) => (float[] y%s)\n<", kt_dims(dx, sizeof dx, rank, x),
              outs3 ? ", float[] rmean, float[] rvar" : "");
    for (int i = 0; i < 4; i++) {
        kt_printf(&m, "%s", i ? ", " : "");
        kt_init_values(&m, "float", pn[i], 1, &C, i == 3);
    }
    kt_printf(&m, ">\n{\n  y%s = BatchNormalization<training_mode = 1, momentum = 0.8, epsilon = 0.01>"
                  "(x, s, b, mean, var)\n}\n",
              outs3 ? ", rmean, rvar" : "");
    KtOpts o = {.arm = arm};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

void kt_batchnorm(void)
{
    static const int64_t r4[] = {-1, 3, 5, 7}, r2[] = {2, 4}, r3[] = {1, 3, 7}, r5[] = {2, 3, 2, 2, 2},
                         n2[] = {-1, 6}, wide[] = {2, 2, 67}, t4[] = {-1, 3, 4, 5}, t2[] = {5, 4}, t3[] = {3, 2, 9};
    bn_case("const_params_after_relu", 13, "float", "float", 4, r4, false, true, NULL, true);
    bn_case("input_params", 13, "float", "float", 4, r4, true, false, NULL, true);
    bn_case("rank2", 13, "float", "float", 2, r2, false, false, NULL, false);
    bn_case("rank2_batchN_input_params", 13, "float", "float", 2, n2, true, false, "<epsilon = 0.1>", false);
    bn_case("rank3", 13, "float", "float", 3, r3, false, false, NULL, false);
    bn_case("rank5", 13, "float", "float", 5, r5, false, false, "<epsilon = 1e-3>", false);
    bn_case("wide_plane", 13, "float", "float", 3, wide, true, false, NULL, false);
    bn_case("f16_x_f32_params", 15, "float16", "float", 4, r4, true, false, NULL, true);
    bn_case("f32_x_f16_params", 15, "float", "float16", 3, r3, true, false, NULL, false);
    bn_case("f64", 15, "double", "double", 3, r3, true, false, NULL, false);
    /* a Conv whose result is also an output: BN cannot fold, runs alone */
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "conv_bn (float[N,2,5,5] x) => (float[] c, float[] y)\n<");
    kt_init_values(&m, "float", "w", 4, (int64_t[]){3, 2, 3, 3}, false);
    static const char *const pn[] = {"s", "b", "mean", "var"};
    for (int i = 0; i < 4; i++) {
        kt_printf(&m, ", ");
        kt_init_values(&m, "float", pn[i], 1, (int64_t[]){3}, i == 3);
    }
    kt_printf(&m, ">\n{\n  c = Conv<pads = [1, 1, 1, 1]>(x, w)\n  y = BatchNormalization(c, s, b, mean, var)\n}\n");
    KtOpts o = {.arm = true};
    kt_case("conv_output_not_folded", &o, m.s);
    kt_text_free(&m);

    bn_training("training_batchN_r4", 4, t4, true, true);
    bn_training("training_r2", 2, t2, true, false);
    bn_training("training_r3_y_only", 3, t3, false, false);
}

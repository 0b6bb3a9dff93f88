/* kt_threads.c — cases big enough (over the entry's cost threshold, about
 * 2^20 element operations per kernel) that a context with a thread pool
 * splits their parallel loops: each runs serially and again with 3
 * threads (uneven slices), and both must match the interpreter. One case
 * per kernel family, plus a batched Conv that is split at batch 3 and 17
 * but not at batch 1. */
#include <stdio.h>

#include "kt.h"

static void big(const char *name, bool exact, bool arm, const char *fmt_inputs, const char *outputs,
                const char *weights, const char *body)
{
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "big (%s) => (%s)\n", fmt_inputs, outputs);
    if (weights)
        kt_printf(&m, "<%s>\n", weights);
    kt_printf(&m, "{\n%s}\n", body);
    KtOpts o = {.exact = exact ? KT_ALL_EXACT : 0, .arm = arm, .threads = 3};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

/* Weights text: `float[dims] name = {...}`, appended to t (with a comma
 * after the first). */
static void w(KtText *t, const char *name, int rank, const int64_t *dims, bool pos)
{
    if (t->n)
        kt_printf(t, ", ");
    kt_init_values(t, "float", name, rank, dims, pos);
}

void kt_threads(void)
{
    KtText t = {0};
    /* Conv, channel-vectorized (24 channels per group), fused bias + Relu */
    w(&t, "w", 4, (int64_t[]){24, 16, 3, 3}, false);
    w(&t, "b", 1, (int64_t[]){24}, false);
    big("conv_channels_relu", false, true, "float[2,16,20,20] x", "float[] y", t.s,
        "  c = Conv<pads = [1, 1, 1, 1]>(x, w, b)\n  y = Relu(c)\n");
    kt_text_free(&t);
    /* Conv, row-wise (4 channels per group) */
    w(&t, "w", 4, (int64_t[]){16, 4, 3, 3}, false);
    big("conv_rows_group4", false, false, "float[3,16,32,32] x", "float[] y", t.s,
        "  y = Conv<group = 4, pads = [1, 1, 1, 1]>(x, w)\n");
    kt_text_free(&t);
    /* the batch decides: batch 1 serial, 3 and 17 split */
    w(&t, "w", 4, (int64_t[]){16, 16, 3, 3}, false);
    big("conv_batchN", false, false, "float[N,16,16,16] x", "float[] y", t.s,
        "  y = Conv<pads = [1, 1, 1, 1], strides = [1, 1]>(x, w)\n");
    kt_text_free(&t);
    big("matmul_batched", false, true, "float[3,64,96] a, float[96,80] b", "float[] y", NULL, "  y = MatMul(a, b)\n");
    /* Gemm with the constant B packed (transB) and a C row */
    w(&t, "wt", 2, (int64_t[]){48, 160}, false);
    w(&t, "c", 1, (int64_t[]){48}, false);
    big("gemm_packed_b", false, false, "float[200,160] a", "float[] y", t.s,
        "  y = Gemm<transB = 1, alpha = 0.5>(a, wt, c)\n");
    kt_text_free(&t);
    big("binary_row_bcast", false, false, "float[1100,1000] a, float[1000] b", "float[] s, float[] p, float[] m",
        NULL, "  s = Add(a, b)\n  p = Mul(a, b)\n  m = Max(a, b)\n");
    big("unary", false, false, "float[1100,1000] x", "float[] s, float[] h, float[] r", NULL,
        "  s = Sigmoid(x)\n  h = Tanh(x)\n  r = Relu(x)\n");
    big("cast_f16_i8", true, false, "float[1100,1000] x", "float16[] h, int8[] i", NULL,
        "  h = Cast<to = 10>(x)\n  i = Cast<to = 3>(x)\n");
    big("maxpool_indices", true, true, "float[4,32,64,64] x", "float[] y, int64[] i", NULL,
        "  y, i = MaxPool<kernel_shape = [3, 3], pads = [1, 1, 1, 1]>(x)\n");
    big("avgpool_include_pad", false, false, "float[4,32,64,64] x", "float[] y", NULL,
        "  y = AveragePool<kernel_shape = [3, 3], pads = [1, 1, 1, 1], count_include_pad = 1>(x)\n");
    big("global_avgpool", false, false, "float[4,64,64,64] x", "float[] y", NULL, "  y = GlobalAveragePool(x)\n");
    big("softmax_rows", false, false, "float[1024,1030] x", "float[] y, float[] z", NULL,
        "  y = Softmax(x)\n  z = Softmax<axis = 0>(x)\n");
    big("transpose_3d", true, false, "float[64,128,130] x", "float[] y", NULL,
        "  y = Transpose<perm = [2, 0, 1]>(x)\n");
    big("concat_both_axes", true, false, "float[600,1000] a, float[600,1000] b", "float[] r, float[] c", NULL,
        "  r = Concat<axis = 0>(a, b)\n  c = Concat<axis = 1>(a, b)\n");
    w(&t, "s", 1, (int64_t[]){16}, false);
    w(&t, "bb", 1, (int64_t[]){16}, false);
    w(&t, "mu", 1, (int64_t[]){16}, false);
    w(&t, "var", 1, (int64_t[]){16}, true);
    big("batchnorm", false, false, "float[2,16,200,200] x", "float[] y", t.s,
        "  y = BatchNormalization(x, s, bb, mu, var)\n");
    kt_text_free(&t);
    big("copy_of_reshape", true, false, "float[1100,1000] x", "float[] y", "int64[1] shp = {-1}",
        "  y = Reshape(x, shp)\n");
}

/* kt_repro.c — minimal reproducers, with fixed data, of the compiler bugs
 * the generated cases found (each is also hit by a larger case of its
 * family). They fail until the compiler is fixed, then guard against a
 * regression. Each comment says what the interpreter (the oracle) gives
 * and what the compiled kernel gave when the case was written. */
#include <math.h>

#include "kt.h"

#define VALUES(a) ((KtValues){a, (int)(sizeof a / sizeof a[0])})

void kt_repro(void)
{
    /* Max/Min on equal operands (+0 and -0) take the FIRST operand, as
     * numpy.maximum/minimum and the interpreter do: Max(-0, +0) = -0,
     * Max(+0, -0) = +0. codegen/mathfn.c cg_fmax_nan/cg_fmin_nan take the
     * second (select(a > b || isnan(a), a, b)): Max(-0, +0) = +0. */
    static const double za[] = {-0.0, 0.0, 2.0}, zb[] = {0.0, -0.0, 2.0};
    KtOpts o1 = {.exact = KT_ALL_EXACT, .arm = true, .fill = {KT_VALUES, KT_VALUES},
                 .values = {VALUES(za), VALUES(zb)}};
    kt_case("max_min_signed_zero_ties", &o1,
            "<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "maxmin (float[3] a, float[3] b) => (float[3] mx, float[3] mn)\n"
            "{\n  mx = Max(a, b)\n  mn = Min(a, b)\n}\n");

    /* MaxPool skips NaN (a window of NaNs only gives NaN): window
     * {NaN, 1} gives 1 at index 1. codegen/k_pool.c takes the window's
     * first position unconditionally, so a NaN there sticks: NaN, index 0. */
    static const double xn[] = {NAN, 1, 2, NAN};
    KtOpts o2 = {.exact = KT_ALL_EXACT, .arm = true, .fill = {KT_VALUES}, .values = {VALUES(xn)}};
    kt_case("maxpool_nan_first_in_window", &o2,
            "<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "maxpool (float[1,1,1,4] x) => (float[1,1,1,2] y, int64[1,1,1,2] idx)\n"
            "{\n  y, idx = MaxPool<kernel_shape = [1, 2], strides = [1, 2]>(x)\n}\n");

    /* AveragePool (count_include_pad 0) over a window that lies wholly in
     * the padding (pads >= kernel): the interpreter gives NaN (0/0), the
     * kernel 0 (it divides by max(count, 1)). onnxruntime refuses pads >=
     * kernel; either the shape rule should too, or both should agree. */
    static const double x4[] = {1, 2, 3, 4};
    KtOpts o3 = {.fill = {KT_VALUES}, .values = {VALUES(x4)}};
    kt_case("avgpool_window_only_padding", &o3,
            "<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "avgpool (float[1,1,2,2] x) => (float[1,1,5,5] y)\n"
            "{\n  y = AveragePool<kernel_shape = [2, 2], pads = [2, 2, 2, 2]>(x)\n}\n");

    /* MatMul(a[2,3], b[3]) has shape [2]: its last dim is a's rows, so
     * Add(mm, c[2]) adds c per row. passes/fuse.c (bias_channels) takes it
     * for a per-column bias of the fused MatMul, whose kernel then adds
     * c[0] to every row: [10, 10] instead of [10, 20] for a = 0. */
    static const double zero[] = {0};
    KtOpts o4 = {.arm = true, .fill = {KT_VALUES}, .values = {VALUES(zero)}};
    kt_case("matvec_add_per_row_fused_as_bias", &o4,
            "<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "matvec (float[2,3] a) => (float[2] y)\n"
            "<float[3] b = {1, 1, 1}, float[2] c = {10, 20}>\n"
            "{\n  mm = MatMul(a, b)\n  y = Add(mm, c)\n}\n");

    /* A quantized Gemm whose fused activation is not a clamp (BERT's
     * pooler: Gemm -> Tanh -> Q). passes/qdq_fold.c folded DQ -> Gemm(tanh)
     * -> Q into a QLinearMatMul carrying the tanh: the interpreter refused
     * it ("fused tanh is not defined on quantized values") and the kernel
     * dropped the tanh (codegen/mathfn.c cg_qact ignored it), a silent
     * wrong answer. Now the tanh runs in float in the MatMulInteger's
     * dequantizing epilogue, then the Q. */
    KtOpts o5 = {.arm = true};
    kt_case("qgemm_fused_tanh", &o5,
            "<ir_version: 8, opset_import: [\"\" : 13]>\n"
            "qgemm_tanh (float[2,4] x) => (float[2,3] y)\n"
            "<int8[4,3] wq = {10, -20, 30, 40, -50, 60, -70, 80, 90, 100, -110, 120}, float ws = {0.02},\n"
            " int8 wz = {0}, float[3] b = {0.5, -1, 2}, float xs = {0.05}, uint8 xz = {128},\n"
            " float ys = {0.008}, uint8 yz = {128}>\n"
            "{\n  xq = QuantizeLinear(x, xs, xz)\n  xd = DequantizeLinear(xq, xs, xz)\n"
            "  wd = DequantizeLinear(wq, ws, wz)\n  g = Gemm(xd, wd, b)\n  t = Tanh(g)\n"
            "  yq = QuantizeLinear(t, ys, yz)\n  y = DequantizeLinear(yq, ys, yz)\n}\n");
}

/* interp_impl.h — private to the reference interpreter (ir/interp*.c):
 * element access in a wide type, rounding, broadcasting indices, the window
 * geometry of Conv and the pools, and the entry points of the op families
 * that live in interp_nn.c and interp_quant.c. */
#ifndef QKC_INTERP_IMPL_H
#define QKC_INTERP_IMPL_H

#include "ir.h"

/* Element i of a float tensor (f32 f16 bf16 f64) as a double: exact. */
double interp_ldf(const Tensor *t, int64_t i);
/* Store v the way an elementwise op rounds: to f32 (nearest even), then to
 * f16/bf16 (nearest even) — what numpy does for float16; f64 keeps v. */
void interp_stf(Tensor *t, int64_t i, double v);
/* Store an accumulated result rounded once, to nearest even, from double
 * straight to the tensor's dtype (no double rounding through f32). */
void interp_stf_once(Tensor *t, int64_t i, double v);
/* Integer elements (and bool, as 0/1): sign-extended for signed dtypes,
 * zero-extended for unsigned; interp_ldu gives the same bits unsigned. */
int64_t interp_ldi(const Tensor *t, int64_t i);
uint64_t interp_ldu(const Tensor *t, int64_t i);
/* Store the low bits of v (wrap-around; bool: nonzero is 1). */
void interp_stu(Tensor *t, int64_t i, uint64_t v);
/* Float to integer as Cast: truncate toward zero, NaN -> 0, saturate at
 * the range of integer dtype t. */
int64_t interp_f2s(DType t, double v);
uint64_t interp_f2u(DType t, double v);
/* The fused activation epilogue on a double. */
double interp_act(Act act, double alpha, double beta, double x);

/* Broadcasting: strides of `in` seen from a shape `out` it broadcasts to
 * (right-aligned, 0 along broadcast dims), and the input offset of the
 * row-major flat index `flat` of `out`. */
void interp_bcast_strides(const Shape *in, const Shape *out, int64_t *st);
int64_t interp_bcast_index(int64_t flat, const Shape *out, const int64_t *st);

/* The geometry of a Conv/pool window over 3 spatial dims; fewer are padded
 * with trailing dims of size 1 (interp_nn.c). */
typedef struct Win {
    int nsp;
    int64_t in[3], out[3], k[3], st[3], dl[3], pb[3], pe[3];
} Win;

/* Fill w from x, y and the node's normalized window attributes (nsp,
 * strides, dilations, pads) with `kernel` as the window size; a window that
 * overflows or does not fit the padded input is reported at the node. */
bool interp_window(const Node *n, const Tensor *x, const Tensor *y, const int64_t *kernel, Win *w, Diag *d);
/* A row-major flat index over the 3 dims `dims`, split into ix. */
void interp_unflat(int64_t f, const int64_t *dims, int64_t *ix);
/* The input position p of tap t of output position o; false when it falls
 * in the padding or past the input (ceil_mode overhang). */
bool interp_inside(const Win *w, const int64_t *o, const int64_t *t, int64_t *p);

/* Op families of interp_nn.c; same contract as interp_node. */
bool interp_matmul(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_gemm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_conv(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_pool(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_softmax(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_batchnorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);

/* The quantized ops of interp_quant.c (docs/quantization.md), same contract:
 * QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear; MatMulInteger and QLinearMatMul;
 * ConvInteger and QLinearConv; QLinearAdd; QLinearGlobalAveragePool. */
bool interp_quant_linear(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_qmatmul(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_qconv(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_qadd(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_qgap(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);

#endif

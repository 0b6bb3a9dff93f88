/* interp_impl.h — private to the reference interpreter (ir/interp*.c):
 * element access in a wide type, rounding, broadcasting indices, and the
 * entry points of the op families that live in interp_nn.c. */
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
/* The fused activation epilogue on a double. */
double interp_act(Act act, double alpha, double beta, double x);

/* Broadcasting: strides of `in` seen from a shape `out` it broadcasts to
 * (right-aligned, 0 along broadcast dims), and the input offset of the
 * row-major flat index `flat` of `out`. */
void interp_bcast_strides(const Shape *in, const Shape *out, int64_t *st);
int64_t interp_bcast_index(int64_t flat, const Shape *out, const int64_t *st);

/* Op families of interp_nn.c; same contract as interp_node. */
bool interp_matmul(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_gemm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_conv(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_pool(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_global_avgpool(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_softmax(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
bool interp_batchnorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);

#endif

/* oprules.h — private to ir/: the shape rule and the interpreter rule of
 * every op, as named in ops.def (infer_<rule>, interp_<rule>), and the
 * helpers the rules share.
 *
 * A shape rule gets the node with its inputs typed (every present input has
 * a known dtype and shape), a copy of its attributes to normalize, and the
 * output arrays pre-filled with input 0's type for output 0 (DT_UNDEF and
 * an unknown shape for the others); it writes each output's dtype and shape
 * and reports problems at the node. An interpreter rule has the contract of
 * interp_node (ir.h). */
#ifndef QKC_OPRULES_H
#define QKC_OPRULES_H

#include "ir.h"

typedef bool (*InferFn)(const Node *n, Attrs *at, DType *dt, Shape *y, Diag *d);
typedef bool (*InterpFn)(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);

typedef struct OpRules {
    InferFn infer;
    InterpFn interp;
} OpRules;

extern const OpRules op_rules[OP_COUNT];

/* Rules shared by several rows under other names. */
#define interp_identity interp_view
#define interp_reshape interp_view
#define interp_flatten interp_view
#define interp_squeeze interp_view
#define interp_unsqueeze interp_view
#define infer_depth_to_space infer_space
#define infer_space_to_depth infer_space

#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    bool infer_##rule(const Node *n, Attrs *at, DType *dt, Shape *y, Diag *d);                          \
    bool interp_##rule(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem)
#include "ops.def"
#undef OP
#undef E
bool infer_eltwise(const Node *n, Attrs *at, DType *dt, Shape *y, Diag *d);
bool interp_eltwise(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);

/* ---- helpers of the shape rules (infer.c) ------------------------------- */
#define IERR(...) diag_error(d, n->loc, __VA_ARGS__)
/* "[N,3,224,224]" in a caller's 96-byte buffer. */
const char *ir_sh(const Shape *s, char *buf);
/* Normalize an axis in [-rank, rank) (or [-rank, rank] when `incl`). */
bool ir_norm_axis(const Node *n, int64_t *axis, int rank, bool incl, const char *what, Diag *d);
/* The integers of constant input k (a 1-D or scalar integer tensor) into
 * out[0..max): a symbolic element that is the batch (0 + 1 * N) becomes
 * `batch` (DIM_BATCH, or DIM_SYM_BATCH for Reshape; 0: not allowed), any
 * other symbolic element is an error naming the value; a non-constant
 * input is an error that says how to bind it. *n = -1 when the input is
 * absent. */
bool ir_const_ints(const Node *n, int k, const char *what, int64_t *out, int max, int *cnt, int64_t batch, Diag *d);
/* Constant input k as one double (its only element). */
bool ir_const_scalar(const Node *n, int k, const char *what, double *out, Diag *d);
/* Whether input k is present. */
static inline bool ir_has_in(const Node *n, int k) { return k < n->nin && n->in[k]; }

#endif

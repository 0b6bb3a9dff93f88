/* import.h — private to frontend/: the state of one ONNX import and the
 * helpers the op handlers (onnx_ops.c) share with the graph-level import
 * (onnx_import.c). */
#ifndef QKC_IMPORT_H
#define QKC_IMPORT_H

#include "frontend.h"
#include "ir/strmap.h"

typedef struct Imp {
    Graph *g;
    Diag *d;
    const ModelFile *mf;
    const ImportOptions *opt;
    const char *file;
    int opset;   /* default-domain opset */
    StrMap defs; /* name -> Value (everything defined so far) */
    /* the bound on created constants: the model's bytes (its file, then
     * each external tensor as it is read) and what import made so far */
    int64_t model_bytes;
    int64_t const_made;
} Imp;

typedef struct OnnxNode {
    const Onnx__NodeProto *np;
    SrcLoc loc;
    Value **in; /* resolved inputs; NULL for empty names */
    int nin;
    int nout;
} OnnxNode;

typedef bool (*ImportFn)(Imp *im, OnnxNode *on);

/* How an ONNX op type imports: its handler, its ONNX arity and the IR op
 * the plain handlers emit. One per row of ir/ops.def, plus the ONNX ops
 * that import as other IR ops (onnx_ops.c). */
typedef struct OpSpec {
    const char *name;
    const char *domain; /* NULL: the default ONNX domain */
    ImportFn fn;
    int min_in, max_in, min_out, max_out; /* ONNX arity; max_in -1: any */
    OpKind op;
    bool own_arity; /* the arity above is the ONNX op's (else the IR op's, whose '+' operands ONNX lacks) */
    unsigned static_in; /* own_arity entries: the inputs that must be compile-time constants, as bits */
} OpSpec;

/* The spec of an ONNX node's op type and domain, or NULL when unsupported. */
const OpSpec *im_spec_of(const Onnx__NodeProto *np);
bool im_default_domain(const char *domain);

/* ---- attributes (onnx_import.c) ---------------------------------------- */
const Onnx__AttributeProto *im_attr_find(const Onnx__NodeProto *np, const char *name);
bool im_attr_is(Imp *im, OnnxNode *on, const Onnx__AttributeProto *a, Onnx__AttributeProto__AttributeType type);
/* An int/float/ints/string attribute, or def when absent (ints: *n = -1). */
bool im_attr_int(Imp *im, OnnxNode *on, const char *name, int64_t def, int64_t *out);
bool im_attr_float(Imp *im, OnnxNode *on, const char *name, float def, float *out);
bool im_attr_ints(Imp *im, OnnxNode *on, const char *name, int64_t *out, int max, int *n);
bool im_attr_floats(Imp *im, OnnxNode *on, const char *name, float *out, int max, int *n);
bool im_attr_string(Imp *im, OnnxNode *on, const char *name, const char *def, const char **out);
/* Every attribute of the node must be one of `allowed` (comma separated). */
bool im_check_attrs(Imp *im, OnnxNode *on, const char *allowed);
#define ALLOW(list)                           \
    do {                                      \
        if (!im_check_attrs(im, on, (list))) \
            return false;                     \
    } while (0)

/* ---- values and nodes ---------------------------------------------------- */
SrcLoc im_value_loc(Imp *im, SrcLoc node_loc, const char *name);
bool im_def_output(Imp *im, OnnxNode *on, int i, Value **out);
/* The IR node `op` with the given inputs and the ONNX node's first nout
 * outputs (trailing unused ones dropped). */
Node *im_emit(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, int nout);
/* Whether every input op requires is given (else an error naming it), for
 * handlers that pass the node's inputs on as they are. */
bool im_required_inputs(Imp *im, OnnxNode *on, OpKind op);
/* A constant input, or an error saying it must be constant. */
const Value *im_const_input(Imp *im, OnnxNode *on, int i, const char *what);
bool im_const_ints(Imp *im, OnnxNode *on, int i, const char *what, int64_t *out, int max, int *n);
bool im_const_scalar(Imp *im, OnnxNode *on, int i, const char *what, double *out);
/* A new temporary value, and a node of the rewrite writing it. */
Value *im_temp(Imp *im, const char *base);
Node *im_aux(Imp *im, OnnxNode *on, OpKind op, Value **in, int nin, Value *out);

/* ---- the bound on created constants (docs/usage.md) -------------------- */
int64_t im_const_bound(const Imp *im);
void im_count_external(Imp *im, const Onnx__TensorProto *tp, const Tensor *t);
bool im_charge_const(Imp *im, OnnxNode *on, int64_t bytes);

#endif

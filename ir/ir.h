/* ir.h — the tensor IR: shapes, values, nodes, graphs; the builder, the
 * verifier, the printer and the reference interpreter.
 *
 * A graph is a list of nodes in topological order over values in SSA form:
 * each value is a graph input, a constant (data attached) or the output of
 * exactly one node. Shapes are static except an optional symbolic leading
 * batch dim (DIM_BATCH), chosen per run. All memory belongs to the graph's
 * arena. One header, sectioned by the file that implements it. */
#ifndef QKC_IR_H
#define QKC_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "arena.h"
#include "diag.h"
#include "dtype.h"
#include "ops.h"
#include "strmap.h"

#define QK_MAX_RANK 8
#define DIM_BATCH (-1) /* the symbolic leading batch dim */
/* k times the batch in a Reshape target (where -1 means "infer"): the
 * values DIM_SYM_BATCH_BASE + k, k >= 1; DIM_SYM_BATCH is k = 1. */
#define DIM_SYM_BATCH_BASE (INT64_MIN / 2)
#define DIM_SYM_BATCH (DIM_SYM_BATCH_BASE + 1)
static inline bool dim_is_sym_batch(int64_t t) { return t > DIM_SYM_BATCH_BASE && t < DIM_SYM_BATCH_BASE + ((int64_t)1 << 40); }
#define RANK_UNKNOWN (-1) /* Shape.rank before shape inference */
/* Softmax axis2 before shape inference normalizes it: */
#define AXIS_END INT64_MAX  /* through the last dim (opset < 13) */
#define AXIS_NEXT INT64_MIN /* axis + 1 (opset >= 13) */

/* ---- shape.c ------------------------------------------------------------ */

typedef struct Shape {
    int rank;
    int64_t d[QK_MAX_RANK]; /* d[0] may be DIM_BATCH; all others >= 0 */
    int64_t bmul;           /* d[0] == DIM_BATCH: that dim holds batch * bmul rows (a batch merged with
                             * the dims after it, as x.view(-1, C) or heads * batch make); 0 means 1 */
} Shape;

static inline bool shape_has_batch(const Shape *s) { return s->rank > 0 && s->d[0] == DIM_BATCH; }
/* The rows of the batch dim per batch item (1 unless a batch was merged). */
static inline int64_t shape_rows(const Shape *s) { return shape_has_batch(s) && s->bmul > 1 ? s->bmul : 1; }
/* The extent of dim i per batch item. */
static inline int64_t shape_dim(const Shape *s, int i) { return s->d[i] == DIM_BATCH ? shape_rows(s) : s->d[i]; }
/* Elements per batch item when the shape has a batch dim, else all elements;
 * -1 on int64 overflow. */
int64_t shape_numel(const Shape *s);
/* Elements at a concrete batch size; -1 on overflow. */
int64_t shape_numel_at(const Shape *s, int64_t batch);
/* The shape with DIM_BATCH replaced by `batch`. */
Shape shape_at(const Shape *s, int64_t batch);
bool shape_eq(const Shape *a, const Shape *b);
/* numpy broadcast of a and b into out; false when incompatible. A batch dim
 * broadcasts only against itself or 1. */
bool shape_broadcast(const Shape *a, const Shape *b, Shape *out);
/* "[N,3,224,224]" into buf (N for the batch dim). */
const char *shape_str(const Shape *s, char *buf, size_t n);
/* Row-major strides (elements) of a concrete shape. */
void shape_strides(const Shape *s, int64_t *strides);
/* Checked int64 arithmetic: false on overflow. */
bool checked_mul(int64_t a, int64_t b, int64_t *out);
bool checked_add(int64_t a, int64_t b, int64_t *out);

/* ---- graph.c ------------------------------------------------------------ */

typedef struct Node Node;

typedef enum ValueKind {
    VAL_TEMP,  /* produced by a node */
    VAL_INPUT, /* graph input: caller data */
    VAL_CONST  /* constant: data attached */
} ValueKind;

/* Where a value lives at run time (filled by passes/plan.c). */
typedef enum MemRegion {
    MEM_NONE,   /* not planned yet */
    MEM_INPUT,  /* the caller's input buffer number `mem_index` */
    MEM_OUTPUT, /* the caller's output buffer number `mem_index` */
    MEM_CONST,  /* the model's constant data, at `mem_off` */
    MEM_STATIC, /* workspace, fixed size, at `mem_off` */
    MEM_BATCH   /* workspace, batch-scaled part, at batch * `mem_off` */
} MemRegion;

typedef struct Value {
    int id;            /* index in Graph.values */
    const char *name;  /* unique in the graph */
    const char *pub;   /* a graph output that repeats a graph input's name: its public name; else NULL */
    DType dtype;
    Shape shape;
    ValueKind kind;
    bool is_output;    /* listed in Graph.outputs */
    Node *def;         /* producing node (VAL_TEMP), else NULL */
    int nuses;         /* node inputs reading it (ir_graph_count_uses) */
    void *data;        /* VAL_CONST payload, shape_numel * dtype_size bytes */
    int64_t *sym;      /* a symbolic integer constant: element i is data[i] + sym[i] * batch
                        * (a shape computed from a batch-sized tensor); NULL otherwise */
    SrcLoc loc;        /* where it was defined, for messages */
    DType decl_dtype;  /* graph outputs: the type the model declares (or DT_UNDEF) */
    Shape decl_shape;  /* ... and shape (rank RANK_UNKNOWN if none; dims -2 unknown) */
    float qscale;      /* graph inputs/outputs kept quantized (--io int8): real = qscale * (q - qzero); */
    int32_t qzero;     /* qscale 0: not quantized */
    /* memory plan (passes/plan.c) */
    MemRegion region;
    int mem_index;     /* MEM_INPUT/MEM_OUTPUT: position among inputs/outputs */
    int64_t mem_off;   /* byte offset (per batch item for MEM_BATCH) */
    struct Value *alias; /* OPF_VIEW result that shares this value's bytes */
} Value;

/* The name a graph output is known by outside (descriptors, .npy files). */
static inline const char *value_pub_name(const Value *v) { return v->pub ? v->pub : v->name; }

/* Attributes of all ops, one struct (plain data: a node's kernel is keyed by
 * its bytes); ops.def says which groups each op uses. */
enum { QK_MAX_OUTPUTS = 64 };
typedef struct Attrs {
    int64_t axis, axis2;   /* A_AXIS / A_RANGE (normalized to >= 0); GatherND: batch_dims */
    double p[3];           /* A_ELT: an elementwise op's parameters (ops.def) */
    float alpha, beta;     /* A_GEMM */
    int trans_a, trans_b;  /* A_GEMM */
    int nsp;               /* A_WINDOW: number of spatial dims (1..3) */
    int64_t kernel[3];     /* A_WINDOW: window size per spatial dim */
    int64_t strides[3];
    int64_t dilations[3];
    int64_t pads[6];       /* ONNX layout: nsp begin pads, then nsp end pads */
    AutoPad auto_pad;      /* resolved into pads by shape inference */
    int64_t group;         /* A_GROUP */
    int ceil_mode;         /* A_POOL */
    int count_include_pad;
    int storage_order;     /* argmax index order: 0 row-major, 1 column-major */
    int64_t ints[QK_MAX_RANK]; /* A_INTS, A_REDUCE (axes) */
    int nints;             /* -1: absent */
    int allowzero;         /* Reshape: a 0 in the target is a real 0 */
    DType to;              /* A_TO; A_FILL: the fill's type */
    float eps, momentum;   /* A_BN */
    int training;
    Act act;               /* A_ACT: fused epilogue */
    float act_alpha, act_beta; /* leaky_relu alpha; clip lo/hi */
    int keepdims, noop_empty, select_last; /* A_REDUCE */
    int exclusive, reverse;                 /* A_SCAN */
    int64_t sizes[QK_MAX_OUTPUTS];          /* A_SIZES */
    int nsizes;                             /* -1: absent */
    int64_t starts[QK_MAX_RANK], ends[QK_MAX_RANK], steps[QK_MAX_RANK]; /* A_SLICE, per input dim once
                                                                          * normalized (before: per ints[] axis) */
    int64_t pads2[2 * QK_MAX_RANK];         /* A_PAD: begin pads per dim, then end pads (negative: crop) */
    int mode;              /* A_PAD: PadMode; A_SPACE: 0 DCR, 1 CRD; A_RESIZE: ResizeMode; A_TRILU: upper */
    double value;          /* A_PAD: the constant; A_RESIZE: extrapolation_value */
    int64_t blocksize;     /* A_SPACE; A_TRILU: k */
    /* A_RESIZE */
    int coord, nearest, exclude_outside;
    float cubic_a;
    double scales[QK_MAX_RANK]; /* per dim: output / input, after normalization */
    /* A_EINSUM: labels (0..51) of operand 0, 1 and the output; nein[k] -1: absent */
    int8_t ein[3][QK_MAX_RANK];
    int8_t nein[3];
    uint64_t fill;         /* A_FILL: the value's bytes (little-endian, type `to`) */
} Attrs;

struct Node {
    int id;              /* creation number, stable across passes */
    OpKind op;
    const char *name;    /* unique-ish; "#id" when the model gave none */
    Value **in;          /* inputs; an omitted optional input is NULL */
    int nin;
    Value **out;         /* outputs; an unused optional output is NULL */
    int nout;
    Attrs a;
    SrcLoc loc;          /* where it came from: text position or node name */
    const struct Expr *prog; /* FusedElementwise: its expression program (ir/expr.h), over in[] */
};

typedef struct Graph {
    Arena *arena;        /* owns everything below */
    const char *name;
    const char *file;    /* model file, for messages */
    Value **values;      /* every value, by id */
    int nvalues, cap_values;
    Node **nodes;        /* topological order */
    int nnodes, cap_nodes;
    int next_node_id;
    Value **inputs;      /* graph inputs in order */
    int ninputs;
    Value **outputs;     /* graph outputs in order */
    int noutputs;
    int opset;           /* default-domain opset the model was written for */
    StrMap names;        /* value name -> Value */
    /* memory plan (passes/plan.c): workspace = ws_static + batch * ws_batch */
    int64_t ws_static, ws_batch;
    int64_t const_bytes; /* constants laid out in one blob (MEM_CONST) */
    bool planned;
} Graph;

/* The attributes of a new node of op: ONNX's defaults (group 1, keepdims 1,
 * an elementwise op's parameters, ...); lists absent (nints, nsizes -1). */
void ir_attrs_default(OpKind op, Attrs *a);
Graph *ir_graph_new(const char *name);
void ir_graph_free(Graph *g);
Value *ir_value_new(Graph *g, const char *name, DType dt, const Shape *s, ValueKind kind);
/* A constant with a copy of `data` (or zeroed storage when data is NULL). */
Value *ir_const_new(Graph *g, const char *name, DType dt, const Shape *s, const void *data);
/* A scalar f32/i64 constant, for passes. */
Value *ir_const_f32(Graph *g, const char *name, const Shape *s, float v);
/* A node with `nin` inputs and `nout` outputs (arrays copied); outputs get
 * def set. Appended at the end of the node list. */
Node *ir_node_new(Graph *g, OpKind op, const char *name, Value *const *in, int nin, Value *const *out, int nout);
/* Insert a node created by ir_node_new right before `before` in the order. */
void ir_node_move_before(Graph *g, Node *n, Node *before);
void ir_graph_add_input(Graph *g, Value *v);
void ir_graph_add_output(Graph *g, Value *v);
/* Make every use of `from` (node inputs, graph outputs) read `to` instead. */
void ir_replace_uses(Graph *g, Value *from, Value *to);
/* Make the graph outputs that are `from` be `to` instead; `to` takes the
 * public name (the two values swap names) and the declared type. */
void ir_replace_output(Graph *g, Value *from, Value *to);
/* Remove a node from the node list (its outputs become orphans). */
void ir_node_remove(Graph *g, Node *n);
/* Recount Value.nuses (graph outputs count as a use). */
void ir_graph_count_uses(Graph *g);
/* Drop values no node, input or output refers to; renumber ids. */
void ir_graph_compact(Graph *g);
Value *ir_graph_find_value(const Graph *g, const char *name);
/* A fresh value name derived from `base`, unique in the graph. */
const char *ir_unique_name(Graph *g, const char *base);
/* Total bytes of constant data. */
int64_t ir_graph_const_bytes(const Graph *g);
static inline int64_t value_bytes(const Value *v) { return shape_numel(&v->shape) * dtype_size(v->dtype); }

/* ---- infer.c ------------------------------------------------------------ */

/* The shape rule of every op: from the node's input types, compute its
 * output dtypes and shapes and its attributes normalized (negative axes,
 * auto_pad into pads, Conv kernel from the weight, default perm, ...).
 * Problems are reported at the node. Does not modify the node. */
bool ir_infer_node(const Node *n, Attrs *a, DType *out_dt, Shape *out_shape, Diag *d);

/* ---- index maps: the semantics the interpreter and codegen share -------- */

/* reduce.c: the dims a Reduce node reduces, as flags per input dim. */
bool ir_reduce_axes(const Node *n, const Shape *xs, bool *red, Diag *d);
/* index.c: the input position of output position o along dim i of a Slice,
 * Expand, Tile or Pad node, or -1 for Pad's value (xs: the input's shape,
 * right-aligned to the output's rank for Expand). */
int64_t ir_index_map(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o);
/* index.c: the input channel, row and column of a DepthToSpace or
 * SpaceToDepth output element (C: the input's channels). */
void ir_space_map(const Node *n, int64_t C, int64_t c, int64_t h, int64_t w, int64_t *ic, int64_t *ih, int64_t *iw);
/* resize.c: the input coordinate of output coordinate o along dim i of a
 * Resize node, and the taps it reads (1, 2 or 4 positions, clamped into
 * the input, with their weights): the count. */
double ir_resize_coord(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o);
int ir_resize_taps(const Node *n, const Shape *xs, const Shape *ys, int i, int64_t o, int64_t *idx, double *w);
/* einsum.c: per label (0..63) its extent and each operand's stride (0 when
 * it lacks the label), and the labels summed over. */
typedef struct EinsumPlan {
    int64_t size[64];
    int64_t st[2][64];
    int nred;
    int red[64];
} EinsumPlan;
void ir_einsum_plan(const Node *n, const Shape *const *shapes, EinsumPlan *e);

/* ---- verify.c ----------------------------------------------------------- */

/* Structural checks (SSA, topological order, arity, attribute ranges,
 * shapes consistent with each op's rule once shapes are known). Problems are
 * compiler bugs after a pass, user errors after import: reported to d. */
bool ir_verify(const Graph *g, Diag *d);

/* ---- print.c ------------------------------------------------------------ */

/* The IR in its text form: one value per line, weights summarized. */
void ir_print(const Graph *g, FILE *f);
void ir_print_node(const Node *n, FILE *f);

/* ---- interp.c ----------------------------------------------------------- */

/* A concrete tensor for the interpreter and the tools. */
typedef struct Tensor {
    DType dtype;
    Shape shape;  /* concrete: no DIM_BATCH */
    void *data;   /* numel * dtype_size bytes */
} Tensor;

int64_t tensor_numel(const Tensor *t);
/* Allocate zeroed data for a tensor (malloc); false on overflow/OOM. */
bool tensor_alloc(Tensor *t, DType dt, const Shape *concrete);
void tensor_free(Tensor *t);
/* Store v as element i of a float tensor, rounded to its dtype; element i
 * of a float tensor as a double, of an integer (or bool) tensor as int64. */
void tensor_store_f(Tensor *t, int64_t i, double v);
double tensor_load_f(const Tensor *t, int64_t i);
int64_t tensor_load_i(const Tensor *t, int64_t i);

/* Run the graph on `inputs` (one per graph input, in order) at batch size
 * `batch` (ignored when no dim is symbolic). Fills `outputs` (one per graph
 * output; data malloc'ed, free with tensor_free). The reference semantics of
 * every op: the oracle of all tests. */
bool interp_run(const Graph *g, int64_t batch, const Tensor *inputs, Tensor *outputs, Diag *d);
/* A look at a value while the graph runs (calibration): v and its tensor,
 * valid only during the call. */
typedef void (*InterpObserver)(void *ctx, const Value *v, const Tensor *t);
/* interp_run that calls obs(ctx, ...) once for every graph input (in input
 * order, before the first node) and every value a node computes (after the
 * node ran, before its tensor is freed), in node order; constants and
 * omitted outputs are not observed. obs NULL: interp_run. */
bool interp_run_observe(const Graph *g, int64_t batch, const Tensor *inputs, Tensor *outputs, Diag *d,
                        InterpObserver obs, void *ctx);
/* Evaluate one node on concrete tensors; outputs must be allocated with the
 * right dtype and shape (NULL data for an omitted optional output). */
bool interp_node(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d);
/* The requantization multiplier of QLinearMatMul/QLinearConv,
 * M = f32(f32(a_s * b_s) / y_s): two f32 operations (docs/quantization.md);
 * codegen folds it with this when the scales are constants. */
float interp_req_scale(float as, float bs, float ys);

#endif

/* ops.h — the op list (ops.def) as an enum and a table of properties, the
 * operand roles that code refers to by name, and the fused activations.
 *
 * Everything about an op is in its row of ops.def: its ONNX name, arity,
 * properties (flags), attribute groups, operands by role, and the names of
 * its import, shape/interpreter rules and kernel family. Properties are
 * flags, never positions in the enum. */
#ifndef QKC_OPS_H
#define QKC_OPS_H

#include <stdbool.h>
#include <stdint.h>

/* flags */
enum {
    OPF_ELTWISE = 1 << 0,    /* elementwise over numpy broadcasting (the E rows) */
    OPF_VIEW = 1 << 1,       /* output is the input's bytes with another shape */
    OPF_FUSE_ACT = 1 << 2,   /* may carry a fused activation epilogue */
    OPF_QUANT = 1 << 3,      /* a quantized op: integer operands with scales and zero points */
    OPF_QPASS = 1 << 4,      /* moves or selects elements only: commutes with per-tensor quantization,
                              * so it runs on the integers with its input's parameters */
    OPF_BAKES_B = 1 << 5,    /* its kernels may bake a constant input 1 (weights) into their code */
    OPF_SHAPE_ONLY = 1 << 6, /* its result depends on the input's shape only (Shape, Size) */
    OPF_MS_DOMAIN = 1 << 7,  /* an ONNX op of the com.microsoft domain */
    OPF_ROWS = 1 << 8        /* takes a batch merged with other dims into the leading dim (Shape.bmul):
                              * its rule and kernel treat that dim as rows */
};

/* attribute groups (fields of Attrs, see ir.h), for the printer and verifier */
enum {
    A_AXIS = 1 << 0,    /* axis */
    A_RANGE = 1 << 1,   /* axis..axis2: Softmax over dims [axis, axis2) */
    A_ELT = 1 << 2,     /* p[0..2]: an elementwise op's parameters (named in ops.def) */
    A_GEMM = 1 << 4,    /* alpha, beta, trans_a, trans_b */
    A_WINDOW = 1 << 5,  /* nsp, kernel, strides, pads, dilations, auto_pad */
    A_GROUP = 1 << 6,   /* group */
    A_POOL = 1 << 7,    /* ceil_mode, count_include_pad, storage_order */
    A_INTS = 1 << 8,    /* ints: perm (Transpose), shape (Reshape), axes (Squeeze/Unsqueeze) */
    A_TO = 1 << 9,      /* to */
    A_BN = 1 << 10,     /* eps, momentum, training */
    A_ACT = 1 << 11,    /* act, act_alpha, act_beta (fused epilogue) */
    A_REDUCE = 1 << 12, /* axes in ints (nints -1: all), keepdims, noop_empty; Arg*: axis, select_last */
    A_SCAN = 1 << 13,   /* axis, exclusive, reverse */
    A_SIZES = 1 << 14,  /* sizes[nsizes]: a target shape, repeats, or split sizes */
    A_SLICE = 1 << 15,  /* starts, ends, steps per dim (Shape: starts[0], ends[0]) */
    A_PAD = 1 << 16,    /* pads2, mode, value */
    A_SPACE = 1 << 17,  /* blocksize, mode (DCR/CRD) */
    A_RESIZE = 1 << 18, /* the Resize attributes */
    A_TRILU = 1 << 19,  /* upper, k */
    A_EINSUM = 1 << 20, /* the labels of each operand and the output */
    A_FILL = 1 << 21    /* fill: the bits of a value of type `to` */
};

/* The types an elementwise op takes (E rows): */
typedef enum EltTypes {
    T_NUM,    /* any numeric type, all operands alike; y of that type */
    T_FLOAT,  /* a float type */
    T_SIGNED, /* a float or a signed integer type */
    T_BOOL,   /* bool operands, bool y */
    T_EQ,     /* numeric or bool operands alike; bool y */
    T_CMP,    /* numeric operands alike; bool y */
    T_TEST,   /* a float operand; bool y */
    T_POW,    /* a numeric base and a numeric exponent of any type; y of the base's type */
    T_WHERE   /* a bool condition, two values alike; y of their type */
} EltTypes;

#define OP(id, ...) OP_##id,
#define E(id, ...) OP_##id,
typedef enum OpKind {
#include "ops.def"
    OP_COUNT
} OpKind;
#undef OP
#undef E

typedef struct OpInfo {
    const char *name;       /* the ONNX op type, and the name in IR text */
    int min_in, max_in;     /* max_in -1: any number */
    int min_out, max_out;
    unsigned flags;         /* OPF_* */
    unsigned attrs;         /* A_* groups */
    const char *operands;   /* roles, space separated; '?' optional, '!' constant, '*' repeated */
    EltTypes types;         /* E rows: the types it takes */
    const char *params;     /* E rows: parameter names and defaults ("alpha=0.2,beta=0.5") */
    const char *expr;       /* E rows: the scalar expression (ir/expr.c); else NULL */
    const char *semantics;  /* one line */
} OpInfo;

extern const OpInfo op_info[OP_COUNT];

static inline bool op_has(int op, unsigned flag) { return (op_info[op].flags & flag) != 0; }

/* The role of operand k of op: its name (into buf) and whether it is
 * optional ('?'), a compile-time constant ('!'), a qkc extension of the
 * ONNX op ('+'); false when the op has no
 * operand k. A repeated role ('*') covers every k from its position on. */
typedef struct OpRole {
    char name[32];
    bool optional, constant, repeated, extension;
} OpRole;
bool op_role(int op, int k, OpRole *r);

/* ---- operand roles that code indexes by name -----------------------------
 * The order of each op's operands in ops.def (a test checks that the last
 * role of each list is the op's max_in - 1). */
enum { CONV_X, CONV_W, CONV_B };
enum { GEMM_A, GEMM_B, GEMM_C };                               /* MatMul: A B bias */
enum { BN_X, BN_SCALE, BN_B, BN_MEAN, BN_VAR };
enum { QDQ_X, QDQ_SCALE, QDQ_ZP };                             /* QuantizeLinear, DequantizeLinear */
enum { MMI_A, MMI_B, MMI_A_ZP, MMI_B_ZP, MMI_BIAS, MMI_SCALE }; /* MatMulInteger; ConvInteger likewise */
enum { QLM_A, QLM_A_SCALE, QLM_A_ZP, QLM_B, QLM_B_SCALE, QLM_B_ZP, QLM_Y_SCALE, QLM_Y_ZP, QLM_BIAS };
                                                                /* QLinearMatMul; QLinearConv likewise (x, w) */
enum { QLA_A, QLA_A_SCALE, QLA_A_ZP, QLA_B, QLA_B_SCALE, QLA_B_ZP, QLA_Y_SCALE, QLA_Y_ZP }; /* QLinearAdd */
enum { QGAP_X, QGAP_X_SCALE, QGAP_X_ZP, QGAP_Y_SCALE, QGAP_Y_ZP }; /* QLinearGlobalAveragePool */
enum { LN_X, LN_SCALE, LN_B };                                  /* Layer/Instance/GroupNormalization */

/* Fused activation epilogue of Conv/Gemm/MatMul. */
#define QK_ACTS(X)                         \
    X(NONE, "none")                        \
    X(RELU, "relu")                        \
    X(LEAKY_RELU, "leaky_relu")            \
    X(CLIP, "clip")                        \
    X(SIGMOID, "sigmoid")                  \
    X(TANH, "tanh")

typedef enum Act {
#define X(e, n) ACT_##e,
    QK_ACTS(X)
#undef X
    ACT_COUNT
} Act;

extern const char *const act_name[ACT_COUNT];

typedef enum AutoPad { AUTOPAD_NOTSET, AUTOPAD_VALID, AUTOPAD_SAME_UPPER, AUTOPAD_SAME_LOWER } AutoPad;

/* Pad modes, Resize modes and coordinate transformations, DepthToSpace modes. */
typedef enum PadMode { PAD_CONSTANT, PAD_REFLECT, PAD_EDGE, PAD_WRAP } PadMode;
typedef enum ResizeMode { RESIZE_NEAREST, RESIZE_LINEAR, RESIZE_CUBIC } ResizeMode;
typedef enum ResizeCoord {
    COORD_HALF_PIXEL, COORD_ASYMMETRIC, COORD_PYTORCH_HALF_PIXEL, COORD_ALIGN_CORNERS, COORD_TF_HALF_PIXEL,
    COORD_TF_CROP_AND_RESIZE, COORD_HALF_PIXEL_SYMMETRIC
} ResizeCoord;
typedef enum ResizeNearest { NEAREST_ROUND_PREFER_FLOOR, NEAREST_ROUND_PREFER_CEIL, NEAREST_FLOOR, NEAREST_CEIL } ResizeNearest;

#endif

/* ops.h — the one op list. Each line: the enum name, the name in IR text,
 * input count range (-1: any number), output count range, flags, the
 * attribute groups it uses (for the printer and verifier), and one line of
 * semantics. ONNX ops map onto these in frontend/onnx_import.c; fused forms
 * (bias, activation) are attributes of the same ops, not new special cases.
 *
 * OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, semantics) */
#ifndef QKC_OPS_H
#define QKC_OPS_H

/* flags */
enum {
    OPF_UNARY = 1 << 0,   /* elementwise, one input */
    OPF_BINARY = 1 << 1,  /* elementwise, two inputs, numpy broadcasting */
    OPF_VIEW = 1 << 2,    /* output is the input's bytes with another shape */
    OPF_FUSE_ACT = 1 << 3 /* may carry a fused activation epilogue */
};

/* attribute groups (fields of Attrs, see ir.h) */
enum {
    A_AXIS = 1 << 0,    /* axis */
    A_RANGE = 1 << 1,   /* axis..axis2: Softmax over dims [axis, axis2) */
    A_ALPHA = 1 << 2,   /* alpha (LeakyRelu) */
    A_CLIP = 1 << 3,    /* lo, hi */
    A_GEMM = 1 << 4,    /* alpha, beta, trans_a, trans_b */
    A_WINDOW = 1 << 5,  /* nsp, kernel, strides, pads, dilations, auto_pad */
    A_GROUP = 1 << 6,   /* group */
    A_POOL = 1 << 7,    /* ceil_mode, count_include_pad, storage_order */
    A_INTS = 1 << 8,    /* ints: perm (Transpose), axes (Squeeze/Unsqueeze) */
    A_TO = 1 << 9,      /* to */
    A_BN = 1 << 10,     /* eps, momentum, training */
    A_ACT = 1 << 11     /* act, act_alpha, act_beta (fused epilogue) */
};

#define QK_OPS(OP)                                                                                   \
    OP(IDENTITY, "Identity", 1, 1, 1, 1, OPF_VIEW, 0, "y = x")                                       \
    OP(RESHAPE, "Reshape", 1, 1, 1, 1, OPF_VIEW, A_INTS, "y = x, row-major, shape from ints (0 copies, -1 infers)")    \
    OP(FLATTEN, "Flatten", 1, 1, 1, 1, OPF_VIEW, A_AXIS, "y = x as 2-D [prod(d<axis), prod(d>=axis)]") \
    OP(SQUEEZE, "Squeeze", 1, 1, 1, 1, OPF_VIEW, A_INTS, "y = x without the size-1 dims in ints")    \
    OP(UNSQUEEZE, "Unsqueeze", 1, 1, 1, 1, OPF_VIEW, A_INTS, "y = x with size-1 dims at ints (of y)") \
    OP(ADD, "Add", 2, 2, 1, 1, OPF_BINARY, 0, "y = a + b")                                           \
    OP(SUB, "Sub", 2, 2, 1, 1, OPF_BINARY, 0, "y = a - b")                                           \
    OP(MUL, "Mul", 2, 2, 1, 1, OPF_BINARY, 0, "y = a * b")                                           \
    OP(DIV, "Div", 2, 2, 1, 1, OPF_BINARY, 0, "y = a / b (integers: truncating; /0 gives 0)")        \
    OP(MAX, "Max", 2, 2, 1, 1, OPF_BINARY, 0, "y = max(a, b) (NaN wins)")                            \
    OP(MIN, "Min", 2, 2, 1, 1, OPF_BINARY, 0, "y = min(a, b) (NaN wins)")                            \
    OP(RELU, "Relu", 1, 1, 1, 1, OPF_UNARY, 0, "y = max(x, 0)")                                      \
    OP(LEAKY_RELU, "LeakyRelu", 1, 1, 1, 1, OPF_UNARY, A_ALPHA, "y = x >= 0 ? x : alpha * x")        \
    OP(CLIP, "Clip", 1, 1, 1, 1, OPF_UNARY, A_CLIP, "y = min(max(x, lo), hi)")                       \
    OP(SIGMOID, "Sigmoid", 1, 1, 1, 1, OPF_UNARY, 0, "y = 1 / (1 + exp(-x))")                        \
    OP(TANH, "Tanh", 1, 1, 1, 1, OPF_UNARY, 0, "y = tanh(x)")                                        \
    OP(MATMUL, "MatMul", 2, 3, 1, 1, OPF_FUSE_ACT, A_ACT,                                            \
       "y = act(a @ b + bias): numpy matmul, batch dims broadcast; bias (optional) over the last dim") \
    OP(GEMM, "Gemm", 2, 3, 1, 1, OPF_FUSE_ACT, A_GEMM | A_ACT,                                       \
       "y = act(alpha * op(a) @ op(b) + beta * c), op transposes when trans_*; 2-D")                \
    OP(CONV, "Conv", 2, 3, 1, 1, OPF_FUSE_ACT, A_WINDOW | A_GROUP | A_ACT,                           \
       "y = act(cross-correlation of x [N,C,sp..] with w [M,C/group,k..] + bias[M])")              \
    OP(MAXPOOL, "MaxPool", 1, 1, 1, 2, 0, A_WINDOW | A_POOL,                                         \
       "y = max over each window (pads never win); optional i64 argmax indices")                    \
    OP(AVGPOOL, "AveragePool", 1, 1, 1, 1, 0, A_WINDOW | A_POOL,                                     \
       "y = mean over each window, pads counted when count_include_pad")                            \
    OP(GLOBAL_AVGPOOL, "GlobalAveragePool", 1, 1, 1, 1, 0, 0, "y[n,c,1..] = mean over spatial dims") \
    OP(SOFTMAX, "Softmax", 1, 1, 1, 1, 0, A_RANGE,                                                   \
       "y = exp(x - max) / sum(exp(x - max)) over dims [axis, axis2) jointly")                      \
    OP(BATCHNORM, "BatchNormalization", 5, 5, 1, 3, 0, A_BN,                                         \
       "y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + b[c]; training: batch stats, "          \
       "outputs running mean/var")                                                                   \
    OP(TRANSPOSE, "Transpose", 1, 1, 1, 1, 0, A_INTS, "y[i_perm[0], ...] = x[i0, ...]: y.dim[k] = x.dim[perm[k]]") \
    OP(CONCAT, "Concat", 1, -1, 1, 1, 0, A_AXIS, "y = inputs joined along axis")                     \
    OP(CAST, "Cast", 1, 1, 1, 1, OPF_UNARY, A_TO, "y = x converted to dtype to (floats to ints truncate, saturate)") \
    /* quantized ops: exact definitions in docs/quantization.md */                                     \
    OP(QUANTIZE, "QuantizeLinear", 2, 3, 1, 1, 0, A_AXIS,                                            \
       "y = sat(rne(x / scale) + zp); scale, zp per tensor or along axis; NaN -> zp")              \
    OP(DEQUANTIZE, "DequantizeLinear", 2, 3, 1, 1, 0, A_AXIS, "y = f32(x - zp) * scale, per tensor or along axis") \
    OP(MATMUL_INTEGER, "MatMulInteger", 2, 6, 1, 1, OPF_FUSE_ACT, A_ACT,                              \
       "y(i32) = sum (a - a_zp)(b - b_zp): numpy matmul; a_zp per tensor/row, b_zp per tensor/column; " \
       "with [bias i32, scale f32] (qkc): y(f32) = act(f32(y + bias) * scale), per tensor/column")  \
    OP(CONV_INTEGER, "ConvInteger", 2, 6, 1, 1, OPF_FUSE_ACT, A_WINDOW | A_GROUP | A_ACT,            \
       "y(i32) = conv of (x - x_zp) and (w - w_zp), w_zp per tensor or output channel; "            \
       "with [bias i32, scale f32] (qkc): y(f32) = act(f32(y + bias) * scale), per tensor/channel") \
    OP(QLINEAR_MATMUL, "QLinearMatMul", 8, 9, 1, 1, OPF_FUSE_ACT, A_ACT,                              \
       "in a,a_s,a_zp,b,b_s,b_zp,y_s,y_zp[,bias i32]: y = sat(rne(f64 acc * f32(a_s*b_s/y_s)) + y_zp)") \
    OP(QLINEAR_CONV, "QLinearConv", 8, 9, 1, 1, OPF_FUSE_ACT, A_WINDOW | A_GROUP | A_ACT,            \
       "in x,x_s,x_zp,w,w_s,w_zp,y_s,y_zp[,bias i32]: conv of (x - x_zp), (w - w_zp), requantized") \
    OP(QLINEAR_ADD, "QLinearAdd", 7, 8, 1, 1, OPF_FUSE_ACT, A_ACT,                                   \
       "in a,a_s,a_zp,b,b_s,b_zp,y_s[,y_zp]: y = sat(rne((a - a_zp) a_s/y_s + (b - b_zp) b_s/y_s) + y_zp)") \
    OP(QLINEAR_GAP, "QLinearGlobalAveragePool", 4, 5, 1, 1, 0, 0,                                    \
       "in x,x_s,x_zp,y_s[,y_zp]: y = sat(rne(sum(x - x_zp) * x_s/y_s/n) + y_zp) over spatial dims")

typedef enum OpKind {
#define OP(id, ...) OP_##id,
    QK_OPS(OP)
#undef OP
    OP_COUNT
} OpKind;

typedef struct OpInfo {
    const char *name;
    int min_in, max_in, min_out, max_out;
    unsigned flags, attrs;
    const char *semantics;
} OpInfo;

extern const OpInfo op_info[OP_COUNT];

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

#endif

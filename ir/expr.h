/* expr.h — the scalar expression language of the elementwise ops.
 *
 * Every elementwise op (an E row of ops.def) is defined by one expression
 * over its operands and parameters, e.g. HardSigmoid's
 *     max(0, min(1, alpha * x + beta))
 * The reference interpreter evaluates it in double (integers in 64 bits),
 * codegen emits it as LLVM IR in the kernel's calc types; both read the same
 * parsed, typed program, so an op's semantics are written once.
 *
 * Syntax (C-like): ?:  ||  &&  == !=  < <= > >=  + -  * /  unary - !,
 * numbers (and inf, nan), operand and parameter names, and the functions
 *   exp log log1p sqrt erf tanh sigmoid sin cos tan floor ceil rne  (floats)
 *   abs sign min max pow fmod pymod isnan isinf                   (any)
 * Semantics by domain, chosen from the operand types (expr_type):
 *   F (floats): IEEE; min/max return NaN when either is NaN (ties: the
 *     first); rne rounds half to even; pymod is a - floor(a/b)*b; fmod is C's;
 *   I/U (signed/unsigned integers): wrap-around modulo 2^64 then the
 *     result's width; a/b truncates, x/0 = 0; pymod takes the sign of b and
 *     fmod of a, both 0 for b = 0; pow(a, b) is exact (wrapping) repeated
 *     multiplication, 0 for b < 0 unless |a| = 1;
 *   B (bool): 0/1; a number used as a condition is true when nonzero.
 * Numbers and parameters take the domain of what they meet (an integer
 * domain converts them as Cast does: truncate, saturate, NaN -> 0); a float
 * function turns integer operands into floats; comparisons give B. */
#ifndef QKC_EXPR_H
#define QKC_EXPR_H

#include "ir.h"

typedef enum XOp {
    XK_IN, XK_PARAM, XK_CONST,
    XK_NEG, XK_NOT,
    XK_ADD, XK_SUB, XK_MUL, XK_DIV,
    XK_LT, XK_LE, XK_GT, XK_GE, XK_EQ, XK_NE, XK_AND, XK_OR,
    XK_SELECT,
    /* functions: the float ones first */
    XK_EXP, XK_LOG, XK_LOG1P, XK_SQRT, XK_ERF, XK_TANH, XK_SIGMOID, XK_SIN, XK_COS, XK_TAN,
    XK_FLOOR, XK_CEIL, XK_RNE,
    XK_ABS, XK_SIGN, XK_ISNAN, XK_ISINF, XK_MIN, XK_MAX, XK_POW, XK_FMOD, XK_PYMOD,
    XK_COUNT
} XOp;

typedef enum XDom { XD_NONE, XD_F, XD_I, XD_U, XD_B } XDom;

enum { EXPR_MAX = 64 };

typedef struct XNode {
    uint8_t op;     /* XOp */
    uint8_t dom;    /* XDom of the result (expr_type) */
    int8_t a, b, c; /* operand nodes (earlier in the program), -1 when none */
    int arg;        /* XK_IN: operand index; XK_PARAM: parameter slot */
    double k;       /* XK_CONST */
} XNode;

/* A program: nodes in evaluation order, the result last. */
typedef struct Expr {
    int n;
    XNode x[EXPR_MAX];
    int nin;        /* operands it reads */
} Expr;

/* The program of node n: a FusedElementwise node's own, else its op's
 * (parameters as in its attributes). */
bool expr_of_node(const Node *n, Expr *e, char *err, size_t errlen);
/* Replace parameters with their values (par[]) as numbers, so the program
 * stands alone. */
void expr_bake_params(Expr *e, const double *par);
/* Splice program `inner` (reading operands in_map[k] of the result) into
 * `outer` where outer reads its operand `at`; outer's other operands k
 * become out_map[k]. The result's operands are numbered by the maps.
 * False when the result would be too long. */
bool expr_splice(const Expr *outer, int at, const int *out_map, const Expr *inner, const int *in_map, Expr *res);
/* The program as text, e.g. "(in0 / 1.41421) ...", for the printer and
 * as the identity of a fused kernel. */
void expr_print(const Expr *e, FILE *f);

/* Parse `src` with operand names in[0..nin) and parameter names
 * par[0..npar); false with a message in err. */
bool expr_parse(const char *src, const char *const *in, int nin, const char *const *par, int npar, Expr *e,
                char *err, size_t errlen);
/* The program of elementwise op `op` (ops.def): its run-time operands are
 * those without '!', in order. */
bool expr_of_op(int op, Expr *e, char *err, size_t errlen);
/* Give every node its domain from the operands' dtypes. */
void expr_type(Expr *e, const DType *in_dt);
/* The domain of a dtype. */
XDom expr_dom(DType t);

/* A value while interpreting: f for XD_F, i for the others (XD_U: the
 * uint64 bits; XD_B: 0 or 1). */
typedef struct XVal {
    double f;
    int64_t i;
} XVal;
/* Evaluate the typed program on operand values in[] (each in its operand's
 * domain) and parameters par[]; the result is node n-1's. */
XVal expr_eval(const Expr *e, const XVal *in, const double *par);
/* Convert a value between domains (Cast semantics for F -> I/U). */
XVal expr_convert(XVal v, XDom from, XDom to);
/* The parameters' names of op (ops.def params) into names[] (at most 3);
 * defaults into def[]; returns the count. */
int expr_params(int op, char names[3][32], double *def);

#endif

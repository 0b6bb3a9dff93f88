/* eltwise.c — the elementwise family (the E rows of ops.def): its shape
 * rule and its reference semantics, both driven by the op's expression
 * (expr.h) and its type class (EltTypes).
 *
 * Shape: the run-time operands broadcast together (numpy rules; the batch
 * dim only against itself or 1). Constant operands ('!', e.g. Clip's min
 * and max) are read into the parameters p[] and dropped by shape inference.
 * The interpreter evaluates the expression per output element in double
 * (integers in 64 bits) and rounds once to the output type. */
#include "expr.h"
#include "interp_impl.h"
#include "oprules.h"

#include <string.h>

static bool numeric(DType t) { return t != DT_UNDEF && t != DT_BOOL; }

/* The run-time operands of n (those not marked '!'), as indices into in[]. */
static int runtime_operands(const Node *n, int *idx)
{
    int cnt = 0;
    for (int k = 0; k < n->nin && cnt < 16; k++) {
        OpRole r;
        if (op_role(n->op, k, &r) && r.constant)
            continue;
        idx[cnt++] = k;
    }
    return cnt;
}

/* Whether an op of type class `types` takes operands of these types (t0:
 * the first, t: the first that must agree with the others, t1: the
 * second, for Pow's exponent). */
static bool types_ok(EltTypes types, DType t0, DType t, DType t1)
{
    switch (types) {
    case T_NUM: case T_CMP: return numeric(t);
    case T_FLOAT: case T_TEST: return dtype_is_float(t);
    case T_SIGNED: return dtype_is_float(t) || dtype_is_signed_int(t);
    case T_BOOL: return t == DT_BOOL;
    case T_EQ: return t != DT_UNDEF;
    case T_POW: return numeric(t) && numeric(t1);
    case T_WHERE: return t0 == DT_BOOL && t != DT_UNDEF;
    default: return false;
    }
}

bool infer_eltwise(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    const OpInfo *oi = &op_info[n->op];
    int idx[8], cnt = 0;
    /* constant operands fill the parameters in order */
    int slot = 0;
    for (int k = 0; k < n->nin; k++) {
        OpRole r;
        if (!op_role(n->op, k, &r) || !r.constant) {
            if (cnt < 8)
                idx[cnt++] = k;
            continue;
        }
        if (ir_has_in(n, k) && slot < 3 && !ir_const_scalar(n, k, r.name, &a->p[slot], d))
            return false;
        slot++;
    }
    if (cnt < 1)
        return IERR("%s has no operand", oi->name);
    DType t0 = n->in[idx[0]]->dtype;
    /* the operands that must have one type */
    int first = oi->types == T_WHERE ? 1 : 0, last = oi->types == T_POW ? 1 : cnt;
    DType t = n->in[idx[first]]->dtype;
    for (int i = first; i < last; i++)
        if (n->in[idx[i]]->dtype != t)
            return IERR("input types differ: %s and %s", dtype_name(t), dtype_name(n->in[idx[i]]->dtype));
    if (!types_ok(oi->types, t0, t, cnt > 1 ? n->in[idx[1]]->dtype : DT_UNDEF)) {
        if (oi->types == T_WHERE)
            return IERR("Where needs a bool condition and values of one type, not %s and %s", dtype_name(t0),
                        dtype_name(t));
        return IERR("%s is not defined for %s", oi->name, dtype_name(oi->types == T_POW && numeric(t) ?
                                                                     n->in[idx[1]]->dtype : t));
    }
    *y = n->in[idx[0]]->shape;
    for (int i = 1; i < cnt; i++) {
        Shape s;
        if (!shape_broadcast(y, &n->in[idx[i]]->shape, &s))
            return IERR("shapes %s and %s do not broadcast%s", ir_sh(y, b1), ir_sh(&n->in[idx[i]]->shape, b2),
                        (shape_has_batch(y) || shape_has_batch(&n->in[idx[i]]->shape)) ? " (with the batch dim leading)"
                                                                                          : "");
        *y = s;
    }
    switch (oi->types) {
    case T_EQ: case T_CMP: case T_TEST: case T_BOOL: dt[0] = DT_BOOL; break;
    default: dt[0] = t; break;
    }
    return true;
}

/* Store an expression result (in domain dom) as element i of y. */
static void store(Tensor *y, int64_t i, XVal v, XDom dom)
{
    XDom yd = expr_dom(y->dtype);
    if (yd == XD_F) {
        interp_stf(y, i, dom == XD_F ? v.f : expr_convert(v, dom, XD_F).f);
        return;
    }
    if (dom == XD_F && y->dtype != DT_BOOL) { /* a float result into integers: Cast's rule */
        interp_stu(y, i, dtype_is_signed_int(y->dtype) ? (uint64_t)interp_f2s(y->dtype, v.f) : interp_f2u(y->dtype, v.f));
        return;
    }
    interp_stu(y, i, (uint64_t)expr_convert(v, dom, yd).i);
}

static XVal load(const Tensor *t, int64_t i)
{
    XVal v = {0, 0};
    if (dtype_is_float(t->dtype))
        v.f = interp_ldf(t, i);
    else
        v.i = (int64_t)interp_ldu(t, i);
    return v;
}

/* FusedElementwise: every input is an operand of the program, all broadcast
 * together; the result's type is the node's `to`. */
bool infer_fused(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    char b1[96], b2[96];
    if (!n->prog)
        return IERR("FusedElementwise without a program");
    if (n->prog->nin > n->nin)
        return IERR("the program reads %d operands, the node has %d", n->prog->nin, n->nin);
    *y = n->in[0]->shape;
    for (int i = 1; i < n->nin; i++) {
        Shape s;
        if (!shape_broadcast(y, &n->in[i]->shape, &s))
            return IERR("shapes %s and %s do not broadcast", ir_sh(y, b1), ir_sh(&n->in[i]->shape, b2));
        *y = s;
    }
    dt[0] = a->to;
    return true;
}

bool interp_fused(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    return interp_eltwise(n, in, out, d);
}

bool interp_eltwise(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    Expr e;
    char err[128];
    if (!expr_of_node(n, &e, err, sizeof err))
        return diag_error(d, n->loc, "%s: internal error: %s", op_info[n->op].name, err);
    int idx[16], cnt = runtime_operands(n, idx);
    if (cnt != e.nin && e.nin > cnt)
        return diag_error(d, n->loc, "%s: %d operands, the expression reads %d", op_info[n->op].name, cnt, e.nin);
    DType dts[16];
    const Tensor *ops[16];
    Tensor *y = out[0];
    int64_t st[16][QK_MAX_RANK];
    for (int i = 0; i < cnt; i++) {
        ops[i] = in[idx[i]];
        if (!ops[i])
            return diag_error(d, n->loc, "%s: input %d is missing", op_info[n->op].name, idx[i]);
        dts[i] = ops[i]->dtype;
        Shape s;
        if (!shape_broadcast(&ops[i]->shape, &y->shape, &s) || !shape_eq(&s, &y->shape)) {
            char b1[96], b2[96];
            return diag_error(d, n->loc, "%s: input %s does not broadcast to %s", op_info[n->op].name,
                              shape_str(&ops[i]->shape, b1, sizeof b1), shape_str(&y->shape, b2, sizeof b2));
        }
        interp_bcast_strides(&ops[i]->shape, &y->shape, st[i]);
    }
    DType t = dts[op_info[n->op].types == T_WHERE && cnt > 1 ? 1 : 0];
    if (op_info[n->op].expr && !types_ok(op_info[n->op].types, dts[0], t, cnt > 1 ? dts[1] : DT_UNDEF))
        return diag_error(d, n->loc, "%s: dtype %s not supported", op_info[n->op].name,
                          dtype_name(op_info[n->op].types == T_POW && numeric(t) ? dts[1] : t));
    expr_type(&e, dts);
    XDom dom = (XDom)e.x[e.n - 1].dom;
    XVal v[16];
    for (int64_t i = 0, ne = tensor_numel(y); i < ne; i++) {
        for (int k = 0; k < cnt; k++)
            v[k] = load(ops[k], interp_bcast_index(i, &y->shape, st[k]));
        store(y, i, expr_eval(&e, v, n->a.p), dom);
    }
    return true;
}

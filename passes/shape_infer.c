/* shape_infer.c — pass "shape".
 * requires: an imported graph (inputs and constants typed)
 * gives: dtype and shape of every value; normalized attributes (a Cast to
 *        the type it already has becomes an Identity); the inputs that
 *        determine shapes ('!' in ops.def) read into the attributes and
 *        dropped; graph outputs checked against the types the model
 *        declares.
 *
 * Shapes often depend on values computed from other shapes (PyTorch exports
 * x.view(x.size(0), -1) as Shape -> Gather -> Unsqueeze -> Concat ->
 * Reshape), so this pass also evaluates, in the same sweep, every small
 * node whose inputs are all constants (and Shape/Size, whose result needs
 * only the input's shape): its result becomes a constant before the nodes
 * that read it are inferred. A dim that is the batch makes a *symbolic*
 * constant (Value.sym: element = data + sym * N); nodes over symbolic
 * constants are evaluated at three batch sizes and kept symbolic when the
 * results are affine in N. A symbolic value that a shape reads as the batch
 * dim (0 + 1 * N) becomes DIM_BATCH; one that reaches a run-time kernel is
 * an error asking for --batch. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

enum {
    FOLD_MAX_ELEMS = 1 << 16, /* shape computations are small; the fold pass takes the rest */
};

static const int64_t valuation[3] = {1009, 2017, 3041}; /* batch sizes a symbolic constant is evaluated at */

static bool int_dtype(DType t) { return !dtype_is_float(t) && t != DT_UNDEF; }

/* The data of v at batch size N (a malloc'ed copy when symbolic). */
static void *at_batch(const Value *v, int64_t N)
{
    if (!v->sym)
        return v->data;
    int64_t cnt = shape_numel(&v->shape);
    size_t es = (size_t)dtype_size(v->dtype);
    uint8_t *p = malloc((size_t)(cnt ? cnt : 1) * es);
    if (!p)
        return NULL;
    for (int64_t i = 0; i < cnt; i++) {
        int64_t x = (v->dtype == DT_I64 ? ((const int64_t *)v->data)[i] : ((const int32_t *)v->data)[i]) + v->sym[i] * N;
        if (v->dtype == DT_I64)
            ((int64_t *)p)[i] = x;
        else
            ((int32_t *)p)[i] = (int32_t)x;
    }
    return p;
}

static int64_t elem_i(DType t, const void *p, int64_t i)
{
    Tensor tt = {t, {0}, (void *)p};
    return tensor_load_i(&tt, i);
}

/* Shape and Size from the input's shape: a constant, symbolic in the batch. */
static bool fold_shape_only(Graph *g, Node *n, Value **made)
{
    const Value *x = n->in[0], *o = n->out[0];
    Value *c = ir_const_new(g, ir_unique_name(g, o->name), o->dtype, &o->shape, NULL);
    int64_t *data = c->data, cnt = shape_numel(&o->shape);
    bool sym = false;
    int64_t *coef = arena_alloc(g->arena, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
    if (n->op == OP_SIZE) {
        int64_t per = shape_numel(&x->shape);
        sym = shape_has_batch(&x->shape);
        data[0] = sym ? 0 : per;
        coef[0] = sym ? per : 0;
    } else {
        for (int64_t i = 0; i < cnt; i++) {
            int64_t d = x->shape.d[n->a.starts[0] + i];
            data[i] = d == DIM_BATCH ? 0 : d;
            coef[i] = d == DIM_BATCH ? shape_rows(&x->shape) : 0;
            sym |= d == DIM_BATCH;
        }
    }
    if (sym)
        c->sym = coef;
    *made = c;
    return true;
}

/* Evaluate node n (all inputs constant) into *made; false when it cannot
 * be a constant (a float result that depends on the batch, or an integer
 * one that is not affine in it). */
static bool fold_node(Graph *g, Node *n, Value **made, Diag *d)
{
    *made = NULL;
    Value *o = n->out[0];
    bool sym = false;
    for (int k = 0; k < n->nin; k++)
        sym |= n->in[k] && n->in[k]->sym;
    int nv = sym ? 3 : 1;
    Tensor outs[3] = {{0}};
    bool ok = true;
    for (int v = 0; v < nv && ok; v++) {
        Tensor ins[16];
        const Tensor *inp[16] = {0};
        void *owned[16] = {0};
        for (int k = 0; k < n->nin; k++) {
            if (!n->in[k])
                continue;
            void *p = at_batch(n->in[k], valuation[v]);
            if (!p) {
                ok = false;
                break;
            }
            if (p != n->in[k]->data)
                owned[k] = p;
            ins[k] = (Tensor){n->in[k]->dtype, n->in[k]->shape, p};
            inp[k] = &ins[k];
        }
        if (ok && !tensor_alloc(&outs[v], o->dtype, &o->shape))
            ok = false;
        Tensor *outp = &outs[v];
        Diag quiet; /* a node that cannot be evaluated here is left to run time */
        diag_init(&quiet, NULL);
        ok = ok && interp_node(n, inp, &outp, &quiet);
        diag_fini(&quiet);
        for (int k = 0; k < n->nin; k++)
            free(owned[k]);
    }
    (void)d;
    if (!ok) {
        for (int v = 0; v < nv; v++)
            tensor_free(&outs[v]);
        return false;
    }
    int64_t cnt = shape_numel(&o->shape);
    size_t bytes = (size_t)value_bytes(o);
    bool same = true;
    for (int v = 1; v < nv; v++)
        same = same && memcmp(outs[0].data, outs[v].data, bytes) == 0;
    int64_t *coef = NULL;
    if (!same) {
        if (!int_dtype(o->dtype) || (o->dtype != DT_I64 && o->dtype != DT_I32)) {
            ok = false;
        } else {
            coef = arena_alloc(g->arena, sizeof(int64_t) * (size_t)(cnt ? cnt : 1));
            for (int64_t i = 0; i < cnt && ok; i++) {
                int64_t y0 = elem_i(o->dtype, outs[0].data, i), y1 = elem_i(o->dtype, outs[1].data, i),
                        y2 = elem_i(o->dtype, outs[2].data, i);
                int64_t dn = valuation[1] - valuation[0];
                if ((y1 - y0) % dn != 0) {
                    ok = false;
                    break;
                }
                int64_t c1 = (y1 - y0) / dn, c0 = y0 - c1 * valuation[0];
                ok = c0 + c1 * valuation[2] == y2;
                coef[i] = c1;
                if (o->dtype == DT_I64)
                    ((int64_t *)outs[0].data)[i] = c0;
                else
                    ((int32_t *)outs[0].data)[i] = (int32_t)c0;
            }
        }
    }
    if (ok) {
        Value *c = ir_const_new(g, ir_unique_name(g, o->name), o->dtype, &o->shape, outs[0].data);
        c->sym = coef;
        *made = c;
    }
    for (int v = 0; v < nv; v++)
        tensor_free(&outs[v]);
    return ok;
}

/* Whether n can be evaluated now: a small single-output node over
 * constants (not the quantization ops, which qdq-fold reads), or
 * Shape/Size. */
static bool foldable_now(const Node *n)
{
    if (n->nout != 1 || !n->out[0] || n->out[0]->is_output || shape_has_batch(&n->out[0]->shape))
        return false;
    if (op_has(n->op, OPF_SHAPE_ONLY))
        return true;
    if (op_has(n->op, OPF_QUANT))
        return false;
    for (int k = 0; k < n->nin; k++)
        if (n->in[k] && n->in[k]->kind != VAL_CONST)
            return false;
    return shape_numel(&n->out[0]->shape) <= FOLD_MAX_ELEMS;
}

/* Check that output k's type agrees with what the model declares. */
static bool check_declared(Node *n, Value *v, DType dt, const Shape *s, Diag *d)
{
    bool ok = true;
    if (!v->is_output || v->decl_dtype == DT_UNDEF)
        return true;
    if (v->decl_dtype != dt)
        ok = diag_error(d, v->loc, "output '%s' is declared %s but computes %s", v->name, dtype_name(v->decl_dtype),
                        dtype_name(dt));
    if (v->decl_shape.rank != RANK_UNKNOWN) {
        bool same = v->decl_shape.rank == s->rank;
        for (int j = 0; same && j < v->decl_shape.rank; j++)
            same = v->decl_shape.d[j] == -2 || v->decl_shape.d[j] == s->d[j];
        if (!same) {
            char b1[96], b2[96];
            ok = diag_error(d, v->loc, "output '%s' is declared %s but computes %s", v->name,
                            shape_str(&v->decl_shape, b1, sizeof b1), shape_str(s, b2, sizeof b2));
        }
    }
    (void)n;
    return ok;
}

bool pass_shape_infer(Graph *g, PassCtx *pc)
{
    bool ok = true;
    int64_t own = (int64_t)256 << 20; /* no bound given (tests): 256 MiB per run */
    int64_t *left = pc->const_left ? pc->const_left : &own;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        Attrs a;
        DType dts[QK_MAX_OUTPUTS + 8];
        Shape shs[QK_MAX_OUTPUTS + 8];
        if (n->nout > QK_MAX_OUTPUTS || !ir_infer_node(n, &a, dts, shs, pc->d)) {
            ok = false;
            continue; /* its outputs stay unknown; users report "no known type" once */
        }
        n->a = a;
        if (n->op == OP_CAST && n->in[0] && n->in[0]->dtype == a.to)
            n->op = OP_IDENTITY; /* a Cast to the same type (PyTorch's QAT exports have them) */
        /* the constant inputs are in the attributes now */
        for (int k = 0; k < n->nin; k++) {
            OpRole r;
            if (n->in[k] && op_role(n->op, k, &r) && r.constant)
                n->in[k] = NULL;
        }
        while (n->nin > 0 && !n->in[n->nin - 1])
            n->nin--;
        bool typed = true;
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v)
                continue;
            int64_t bytes;
            if (shape_numel(&shs[k]) < 0 || !checked_mul(shape_numel(&shs[k]), dtype_size(dts[k]), &bytes)) {
                char b[96];
                ok = typed = diag_error(pc->d, n->loc, "output %d would be %s: its size overflows", k,
                                        shape_str(&shs[k], b, sizeof b));
                continue;
            }
            if (!check_declared(n, v, dts[k], &shs[k], pc->d))
                ok = false;
            if (v->is_output && shape_rows(&shs[k]) > 1) {
                char b[96];
                ok = typed = diag_error(pc->d, v->loc, "output '%s' is %s: the batch merged with other dims, which an "
                                                       "artifact's output cannot be; compile with a fixed batch (--batch N)",
                                        v->name, shape_str(&shs[k], b, sizeof b));
            }
            v->dtype = dts[k];
            v->shape = shs[k];
        }
        /* evaluate it now when a shape may depend on it (drawing from the
         * bound on created constants, as the fold pass does) */
        Value *c;
        if (!typed || !foldable_now(n))
            continue;
        int64_t bytes = value_bytes(n->out[0]);
        if (bytes > *left) {
            if (!pc->const_warned)
                diag_warn(pc->d, n->loc, "not folded: its result (%lld bytes) is more than is left (%lld bytes) of "
                                         "the bound on constants a model may create, so it is computed at run time; "
                                         "--max-const-bytes N raises the bound", (long long)bytes, (long long)*left);
            pc->const_warned = true;
            continue;
        }
        if (op_has(n->op, OPF_SHAPE_ONLY) ? fold_shape_only(g, n, &c) : fold_node(g, n, &c, pc->d)) {
            c->loc = n->out[0]->loc;
            ir_replace_uses(g, n->out[0], c);
            ir_node_remove(g, n);
            *left -= bytes;
            i--;
        }
    }
    if (!ok)
        return false;
    /* a value that depends on the batch size must not reach a kernel */
    for (int i = 0; i < g->nnodes; i++) {
        const Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++) {
            const Value *v = n->in[k];
            if (v && v->sym)
                ok = diag_error(pc->d, n->loc, "input %d ('%s') is computed from the batch size, which qkc keeps "
                                               "symbolic; compile with a fixed batch (--batch N)", k, v->name);
        }
    }
    ir_graph_compact(g);
    return ok;
}

/* fp16.c — pass "fp16": 16-bit float storage (--precision fp16 or bf16).
 * requires: shapes; fuse done
 * gives: every f32 value computed by a float op (and every f32 constant
 *        such an op reads) stored as f16 (bf16); kernels compute in the
 *        target's best type and round each result to f16 (bf16). The
 *        model's inputs and outputs stay f32, through Cast nodes at the
 *        boundary, as do the inputs and outputs of ops that are not float
 *        math (QuantizeLinear, DequantizeLinear, Cast). Finite f32
 *        constants beyond f16's range saturate to +-65504; those that
 *        round to infinity in bf16 (beyond 3.3961e38) to +-3.3895e38.
 * Does nothing for other precisions. */
#include "passes.h"

#include <math.h>
#include <stdlib.h>

static bool f16_op(const Node *n)
{
    return !op_has(n->op, OPF_QUANT) && n->op != OP_CAST;
}

typedef struct H {
    Graph *g;
    DType half_t;  /* DT_F16 or DT_BF16 */
    const char *suffix; /* of the names of its values: "f16" or "bf16" */
    Value **half;  /* by value id: its f16 version (constants, casts) */
    Value **full;  /* by value id: the f32 version of an f16 value */
    int cap;
} H;

static Node *cast_before(H *h, Node *at, Value *from, DType to, const char *suffix, Value **out)
{
    Graph *g = h->g;
    *out = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_%s", from->name, suffix)), to, &from->shape,
                        VAL_TEMP);
    Node *c = ir_node_new(g, OP_CAST, NULL, &from, 1, out, 1);
    c->a.to = to;
    c->loc = at->loc;
    ir_node_move_before(g, c, at);
    return c;
}

/* The f16 version of f32 value v, read by node n. */
static Value *as_half(H *h, Node *n, Value *v)
{
    if (v->id < h->cap && h->half[v->id])
        return h->half[v->id];
    Value *r;
    if (v->kind == VAL_CONST) {
        bool bf = h->half_t == DT_BF16;
        r = ir_const_new(h->g, ir_unique_name(h->g, arena_printf(h->g->arena, "%s_%s", v->name, h->suffix)), h->half_t,
                         &v->shape, NULL);
        const float *src = v->data;
        uint16_t *dst = r->data;
        /* finite values beyond f16's range saturate to +-65504 rather than
         * become infinities (BERT's mask is (1 - m) * -3.4e38: as -inf, 0 * -inf
         * would be NaN) */
        for (int64_t i = 0, k = shape_numel(&v->shape); i < k; i++) {
            float f = src[i];
            if (bf) { /* (f32's largest values round up to inf in bf16: kept finite, as for f16) */
                uint16_t h = f32_to_bf16(f);
                if (isfinite(f) && (h & 0x7fff) == 0x7f80)
                    h = (uint16_t)((h & 0x8000) | 0x7f7f);
                dst[i] = h;
                continue;
            }
            if (f > 65504.0f && f <= 3.4028235e38f)
                f = 65504.0f;
            else if (f < -65504.0f && f >= -3.4028235e38f)
                f = -65504.0f;
            dst[i] = f32_to_f16(f);
        }
    } else {
        cast_before(h, n, v, h->half_t, h->suffix, &r);
    }
    if (v->id < h->cap)
        h->half[v->id] = r;
    return r;
}

bool pass_fp16(Graph *g, PassCtx *pc)
{
    if (!pc->quant || (pc->quant->precision != PREC_FP16 && pc->quant->precision != PREC_BF16))
        return true;
    DType ht = pc->quant->precision == PREC_BF16 ? DT_BF16 : DT_F16;
    int cap = g->nvalues * 4 + 64;
    H h = {g, ht, ht == DT_BF16 ? "bf16" : "f16", calloc((size_t)cap, sizeof(Value *)), calloc((size_t)cap, sizeof(Value *)),
           cap};
    if (!h.half || !h.full) {
        free(h.half);
        free(h.full);
        return diag_error(pc->d, loc_none(), "out of memory");
    }
    int nn = g->nnodes;
    Node **order = malloc(sizeof(Node *) * (size_t)(nn + 1));
    for (int i = 0; i < nn; i++)
        order[i] = g->nodes[i];
    for (int i = 0; i < nn; i++) {
        Node *n = order[i];
        if (g->nvalues + 8 >= cap)
            break;
        if (!f16_op(n)) { /* f16 inputs back to f32 */
            for (int k = 0; k < n->nin; k++) {
                Value *v = n->in[k];
                if (!v || v->dtype != ht || v->id >= cap || !h.full[v->id])
                    continue;
                n->in[k] = h.full[v->id];
            }
            continue;
        }
        for (int k = 0; k < n->nin; k++)
            if (n->in[k] && n->in[k]->dtype == DT_F32)
                n->in[k] = as_half(&h, n, n->in[k]);
        for (int k = 0; k < n->nout; k++) {
            Value *y = n->out[k];
            if (!y || y->dtype != DT_F32)
                continue;
            if (y->is_output || y->kind != VAL_TEMP) { /* the output stays f32: produce f16, cast after */
                Value *yh = ir_value_new(g, ir_unique_name(g, arena_printf(g->arena, "%s_%s", y->name, h.suffix)), ht,
                                         &y->shape, VAL_TEMP);
                n->out[k] = yh;
                yh->def = n;
                Node *c = ir_node_new(g, OP_CAST, NULL, &yh, 1, &y, 1);
                c->a.to = DT_F32;
                c->loc = n->loc;
                Node *next = i + 1 < nn ? order[i + 1] : NULL;
                if (next)
                    ir_node_move_before(g, c, next);
                if (yh->id < cap)
                    h.full[yh->id] = y;
                continue;
            }
            y->dtype = ht;
            /* readers that are not float math get the f32 value back */
            Value *yf = NULL;
            for (int j = i + 1; j < nn; j++) {
                Node *r = order[j];
                if (f16_op(r))
                    continue;
                for (int q = 0; q < r->nin; q++)
                    if (r->in[q] == y) {
                        if (!yf)
                            cast_before(&h, r, y, DT_F32, "f32", &yf);
                        r->in[q] = yf;
                    }
            }
        }
    }
    free(order);
    free(h.half);
    free(h.full);
    ir_graph_compact(g);
    return true;
}

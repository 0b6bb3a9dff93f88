/* plan.c — pass "plan": static memory planning.
 * requires: shapes; the final node order (run last)
 * gives: every value a place (MemRegion + offset):
 *   - graph inputs/outputs live in the caller's buffers;
 *   - constants in one blob (offsets 64-byte aligned; codegen uses them for
 *     targets that upload weights, like NVPTX);
 *   - results of view ops (Reshape, Flatten, ...) alias their input's
 *     bytes unless they are graph outputs;
 *   - every other value gets a workspace interval, reused once its last
 *     reader has run (first-fit over a coalescing free list). Values with a
 *     batch dim go to the batch region, whose offsets are per batch item:
 *     scaling all of them by the batch keeps them disjoint, so one plan
 *     serves every batch size. Outputs never share bytes with inputs of the
 *     same node, so kernels need not be in-place safe. */
#include "passes.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

static int64_t round_up(int64_t x) { return (x + ALIGN - 1) / ALIGN * ALIGN; }

typedef struct Block {
    int64_t off, size;
} Block;

typedef struct Pool {
    Block *free; /* sorted by offset, coalesced */
    int n, cap;
    int64_t top; /* high-water mark */
} Pool;

static bool pool_alloc(Pool *p, int64_t size, int64_t *off)
{
    int best = -1;
    for (int i = 0; i < p->n; i++)
        if (p->free[i].size >= size && (best < 0 || p->free[i].size < p->free[best].size))
            best = i;
    if (best >= 0) {
        *off = p->free[best].off;
        p->free[best].off += size;
        p->free[best].size -= size;
        if (p->free[best].size == 0) {
            memmove(&p->free[best], &p->free[best + 1], sizeof(Block) * (size_t)(p->n - best - 1));
            p->n--;
        }
        return true;
    }
    /* grow: a free block at the top extends */
    if (p->n > 0 && p->free[p->n - 1].off + p->free[p->n - 1].size == p->top) {
        *off = p->free[p->n - 1].off;
        p->top = *off + size;
        p->n--;
        return true;
    }
    *off = p->top;
    return checked_add(p->top, size, &p->top);
}

static bool pool_free(Pool *p, int64_t off, int64_t size)
{
    if (p->n == p->cap) {
        int cap = p->cap ? p->cap * 2 : 16;
        Block *nb = realloc(p->free, sizeof(Block) * (size_t)cap);
        if (!nb)
            return false;
        p->free = nb;
        p->cap = cap;
    }
    int i = 0;
    while (i < p->n && p->free[i].off < off)
        i++;
    memmove(&p->free[i + 1], &p->free[i], sizeof(Block) * (size_t)(p->n - i));
    p->free[i] = (Block){off, size};
    p->n++;
    /* merge with the next, then the previous */
    if (i + 1 < p->n && p->free[i].off + p->free[i].size == p->free[i + 1].off) {
        p->free[i].size += p->free[i + 1].size;
        memmove(&p->free[i + 1], &p->free[i + 2], sizeof(Block) * (size_t)(p->n - i - 2));
        p->n--;
    }
    if (i > 0 && p->free[i - 1].off + p->free[i - 1].size == p->free[i].off) {
        p->free[i - 1].size += p->free[i].size;
        memmove(&p->free[i], &p->free[i + 1], sizeof(Block) * (size_t)(p->n - i - 1));
        p->n--;
    }
    return true;
}

static Value *root_of(Value *v) { return v->alias ? v->alias : v; }

bool pass_plan(Graph *g, PassCtx *pc)
{
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        v->region = MEM_NONE;
        v->alias = NULL;
        v->mem_off = 0;
    }
    for (int i = 0; i < g->ninputs; i++)
        g->inputs[i]->region = MEM_INPUT, g->inputs[i]->mem_index = i;
    for (int i = 0; i < g->noutputs; i++)
        g->outputs[i]->region = MEM_OUTPUT, g->outputs[i]->mem_index = i;
    int64_t cb = 0;
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (v->kind != VAL_CONST)
            continue;
        v->region = MEM_CONST;
        v->mem_off = cb;
        if (!checked_add(cb, round_up(value_bytes(v)), &cb))
            return diag_error(pc->d, v->loc, "constants are too large");
    }
    g->const_bytes = cb;

    /* views alias the root of their input */
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        Value *y = n->out[0];
        if ((op_info[n->op].flags & OPF_VIEW) && y && !y->is_output && n->in[0])
            y->alias = root_of(n->in[0]);
    }

    /* the last node reading each root (directly or through a view) */
    int *last = malloc(sizeof(int) * ((size_t)g->nvalues + 1));
    if (!last)
        return diag_error(pc->d, loc_none(), "out of memory");
    for (int i = 0; i < g->nvalues; i++)
        last[i] = -1;
    for (int i = 0; i < g->nnodes; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nin; k++)
            if (n->in[k])
                last[root_of(n->in[k])->id] = i;
        for (int k = 0; k < n->nout; k++) /* an unread result dies where it is born */
            if (n->out[k] && last[root_of(n->out[k])->id] < i)
                last[root_of(n->out[k])->id] = i;
    }

    Pool pools[2] = {{0}, {0}}; /* static, batch */
    bool ok = true;
    for (int i = 0; i < g->nnodes && ok; i++) {
        Node *n = g->nodes[i];
        for (int k = 0; k < n->nout; k++) {
            Value *v = n->out[k];
            if (!v || v->alias || v->region != MEM_NONE)
                continue;
            bool batch = shape_has_batch(&v->shape);
            int64_t size = round_up(value_bytes(v) > 0 ? value_bytes(v) : 1);
            v->region = batch ? MEM_BATCH : MEM_STATIC;
            ok = pool_alloc(&pools[batch], size, &v->mem_off);
        }
        /* free after allocating: a node's outputs never overlap its inputs */
        for (int k = 0; k < n->nin + n->nout && ok; k++) {
            Value *v = k < n->nin ? n->in[k] : n->out[k - n->nin];
            if (!v)
                continue;
            Value *r = root_of(v);
            if (last[r->id] != i || (r->region != MEM_STATIC && r->region != MEM_BATCH))
                continue;
            last[r->id] = -2; /* freed once */
            int64_t size = round_up(value_bytes(r) > 0 ? value_bytes(r) : 1);
            ok = pool_free(&pools[r->region == MEM_BATCH], r->mem_off, size);
        }
    }
    /* views take their root's place */
    for (int i = 0; i < g->nvalues; i++) {
        Value *v = g->values[i];
        if (v->alias) {
            v->region = v->alias->region;
            v->mem_off = v->alias->mem_off;
            v->mem_index = v->alias->mem_index;
        }
    }
    g->ws_static = pools[0].top;
    g->ws_batch = pools[1].top;
    g->planned = ok;
    free(pools[0].free);
    free(pools[1].free);
    free(last);
    if (!ok)
        return diag_error(pc->d, loc_file(g->file), "memory planning failed (size overflow or out of memory)");
    return true;
}

/* einsum.c — Einsum of one or two operands: shape rule and reference
 * semantics. The equation was parsed on import into labels per term
 * (Attrs.ein; letters 0..51, an ellipsis 60); shape inference expands each
 * ellipsis into labels 52.. (right-aligned across operands) and computes
 * the output's dims. y[out labels] = sum over the other labels of the
 * product of the operands (a label repeated within one operand takes its
 * diagonal). Floats accumulate in double, integers in 64 bits. */
#include "interp_impl.h"
#include "oprules.h"

#include <string.h>

enum { ELL = 60, NLAB = 64 };

bool infer_einsum(const Node *n, Attrs *a, DType *dt, Shape *y, Diag *d)
{
    int nops = n->nin;
    if (nops == 2 && n->in[1]->dtype != dt[0])
        return IERR("operand types differ: %s and %s", dtype_name(dt[0]), dtype_name(n->in[1]->dtype));
    if (dt[0] == DT_BOOL)
        return IERR("Einsum of bool is not supported");
    /* the ellipsis: how many dims it stands for in each operand */
    int ell[2] = {0, 0}, emax = 0;
    for (int k = 0; k < nops; k++) {
        int has = 0;
        for (int i = 0; i < a->nein[k]; i++)
            has += a->ein[k][i] == ELL;
        if (has > 1)
            return IERR("operand %d has more than one ellipsis", k);
        int r = n->in[k]->shape.rank, fixed = a->nein[k] - has;
        if (has ? r < fixed : r != fixed)
            return IERR("operand %d has rank %d, its term %d labels", k, r, fixed);
        ell[k] = has ? r - fixed : 0;
        emax = ell[k] > emax ? ell[k] : emax;
    }
    if (emax > 8)
        return IERR("the ellipsis stands for too many dims");
    /* expand: ellipsis dim j of an operand with e of them is label 52 + emax - e + j */
    for (int k = 0; k < 3; k++) {
        if (k == 2 || k < nops) {
            int8_t lab[QK_MAX_RANK * 2];
            int m = 0, e = k == 2 ? emax : ell[k];
            for (int i = 0; i < a->nein[k]; i++) {
                if (a->ein[k][i] != ELL) {
                    lab[m++] = a->ein[k][i];
                    continue;
                }
                for (int j = 0; j < e; j++)
                    lab[m++] = (int8_t)(52 + emax - e + j);
            }
            if (m > QK_MAX_RANK)
                return IERR("term %d has more than %d dims", k, QK_MAX_RANK);
            memcpy(a->ein[k], lab, (size_t)m);
            a->nein[k] = (int8_t)m;
        }
    }
    /* the size of every label, consistent across operands (1 broadcasts) */
    int64_t size[NLAB];
    for (int l = 0; l < NLAB; l++)
        size[l] = -3;
    for (int k = 0; k < nops; k++)
        for (int i = 0; i < a->nein[k]; i++) {
            int l = a->ein[k][i];
            int64_t dim = n->in[k]->shape.d[i];
            if (dim == DIM_BATCH && !(i == 0 && a->nein[2] > 0 && a->ein[2][0] == l))
                return IERR("the batch dim must stay the output's first dim; compile with a fixed batch (--batch N)");
            if (size[l] == -3 || size[l] == 1)
                size[l] = dim;
            else if (dim != 1 && dim != size[l])
                return IERR("label '%c' has sizes %lld and %lld", l < 26 ? 'a' + l : l < 52 ? 'A' + l - 26 : '.',
                            (long long)size[l], (long long)dim);
        }
    y->rank = a->nein[2];
    for (int i = 0; i < a->nein[2]; i++) {
        int l = a->ein[2][i];
        if (size[l] == -3)
            return IERR("output label %d appears in no operand", i);
        for (int j = 0; j < i; j++)
            if (a->ein[2][j] == l)
                return IERR("an output label repeats");
        y->d[i] = size[l];
        if (size[l] == DIM_BATCH && i != 0)
            return IERR("the batch dim must stay the output's first dim");
    }
    return true;
}

void ir_einsum_plan(const Node *n, const Shape *const *shapes, EinsumPlan *e)
{
    memset(e, 0, sizeof *e);
    bool in_out[NLAB] = {0}, seen[NLAB] = {0};
    for (int i = 0; i < n->a.nein[2]; i++)
        in_out[n->a.ein[2][i]] = true;
    for (int k = 0; k < n->nin; k++) {
        int64_t st[QK_MAX_RANK];
        shape_strides(shapes[k], st);
        for (int i = 0; i < n->a.nein[k]; i++) {
            int l = n->a.ein[k][i];
            int64_t dim = shapes[k]->d[i];
            if (dim > e->size[l] || !seen[l])
                e->size[l] = dim > e->size[l] || !seen[l] ? dim : e->size[l];
            if (dim != 1)
                e->st[k][l] += st[i]; /* a repeated label: the diagonal */
            if (!seen[l] && !in_out[l])
                e->red[e->nred++] = l;
            seen[l] = true;
        }
    }
}

bool interp_einsum(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    Tensor *y = out[0];
    (void)d;
    const Shape *shapes[2] = {&in[0]->shape, n->nin > 1 ? &in[1]->shape : NULL};
    EinsumPlan e;
    ir_einsum_plan(n, shapes, &e);
    int64_t count = 1;
    for (int r = 0; r < e.nred; r++)
        count *= e.size[e.red[r]];
    bool fl = dtype_is_float(y->dtype);
    for (int64_t f = 0, ne = tensor_numel(y); f < ne; f++) {
        int64_t off[2] = {0, 0}, rest = f;
        for (int i = n->a.nein[2] - 1; i >= 0; i--) {
            int l = n->a.ein[2][i];
            int64_t c = rest % y->shape.d[i];
            rest /= y->shape.d[i];
            for (int k = 0; k < n->nin; k++)
                off[k] += c * e.st[k][l];
        }
        double sf = 0;
        uint64_t si = 0;
        for (int64_t j = 0; j < count; j++) {
            int64_t o[2] = {off[0], off[1]}, r = j;
            for (int q = e.nred - 1; q >= 0; q--) {
                int l = e.red[q];
                int64_t c = r % e.size[l];
                r /= e.size[l];
                for (int k = 0; k < n->nin; k++)
                    o[k] += c * e.st[k][l];
            }
            if (fl) {
                double p = interp_ldf(in[0], o[0]);
                if (n->nin > 1)
                    p *= interp_ldf(in[1], o[1]);
                sf += p;
            } else {
                uint64_t p = interp_ldu(in[0], o[0]);
                if (n->nin > 1)
                    p *= interp_ldu(in[1], o[1]);
                si += p;
            }
        }
        if (fl)
            interp_stf_once(y, f, sf);
        else
            interp_stu(y, f, si);
    }
    return true;
}

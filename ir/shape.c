/* shape.c — shape arithmetic: element counts (checked), broadcasting,
 * strides, formatting. */
#include "ir.h"

#include <string.h>

bool checked_mul(int64_t a, int64_t b, int64_t *out) { return !__builtin_mul_overflow(a, b, out); }
bool checked_add(int64_t a, int64_t b, int64_t *out) { return !__builtin_add_overflow(a, b, out); }

int64_t shape_numel(const Shape *s)
{
    int64_t n = shape_rows(s);
    for (int i = 0; i < s->rank; i++) {
        if (s->d[i] == DIM_BATCH)
            continue;
        if (s->d[i] < 0 || !checked_mul(n, s->d[i], &n))
            return -1;
    }
    return n;
}

int64_t shape_numel_at(const Shape *s, int64_t batch)
{
    int64_t n = shape_numel(s), r;
    if (n < 0)
        return -1;
    if (!shape_has_batch(s))
        return n;
    return checked_mul(n, batch, &r) ? r : -1;
}

Shape shape_at(const Shape *s, int64_t batch)
{
    Shape r = *s;
    for (int i = 0; i < r.rank; i++)
        if (r.d[i] == DIM_BATCH)
            r.d[i] = batch * shape_rows(s);
    r.bmul = 0;
    return r;
}

bool shape_eq(const Shape *a, const Shape *b)
{
    if (a->rank != b->rank || shape_rows(a) != shape_rows(b))
        return false;
    for (int i = 0; i < a->rank; i++)
        if (a->d[i] != b->d[i])
            return false;
    return true;
}

bool shape_broadcast(const Shape *a, const Shape *b, Shape *out)
{
    int r = a->rank > b->rank ? a->rank : b->rank;
    Shape o = {.rank = r};
    for (int i = 0; i < r; i++) {
        int ia = i - (r - a->rank), ib = i - (r - b->rank);
        int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
        /* the batch dim must stay the leading dim of the result */
        if ((da == DIM_BATCH && ia != 0) || (db == DIM_BATCH && ib != 0))
            return false;
        if ((da == DIM_BATCH || db == DIM_BATCH) && i != 0)
            return false;
        if (da == DIM_BATCH && db == DIM_BATCH && shape_rows(a) != shape_rows(b))
            return false; /* merged batches of different sizes */
        if (da == DIM_BATCH || db == DIM_BATCH)
            o.bmul = da == DIM_BATCH ? shape_rows(a) : shape_rows(b);
        if (da == db)
            o.d[i] = da;
        else if (da == 1)
            o.d[i] = db;
        else if (db == 1)
            o.d[i] = da;
        else
            return false;
    }
    *out = o;
    return true;
}

const char *shape_str(const Shape *s, char *buf, size_t n)
{
    size_t k = 0;
    k += (size_t)snprintf(buf + k, n - k, "[");
    for (int i = 0; i < s->rank && k < n; i++) {
        if (s->d[i] == DIM_BATCH && shape_rows(s) > 1)
            k += (size_t)snprintf(buf + k, n - k, "%sN*%lld", i ? "," : "", (long long)shape_rows(s));
        else if (s->d[i] == DIM_BATCH)
            k += (size_t)snprintf(buf + k, n - k, "%sN", i ? "," : "");
        else if (s->d[i] < 0) /* a dim a model left open */
            k += (size_t)snprintf(buf + k, n - k, "%s?", i ? "," : "");
        else
            k += (size_t)snprintf(buf + k, n - k, "%s%lld", i ? "," : "", (long long)s->d[i]);
    }
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

void shape_strides(const Shape *s, int64_t *strides)
{
    /* saturating: a shape whose size overflows is rejected elsewhere, but
     * computing its strides must not be undefined behaviour */
    int64_t st = 1;
    for (int i = s->rank - 1; i >= 0; i--) {
        strides[i] = st;
        if (!checked_mul(st, s->d[i] < 0 ? 1 : s->d[i], &st))
            st = INT64_MAX;
    }
}

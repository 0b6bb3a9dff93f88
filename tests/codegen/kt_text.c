/* kt_text.c — building model text for the kernel tests: a growing string,
 * the header, dims, float attributes, and initializers of random weights
 * from the model-building PRNG (fixed seed: every run builds the same
 * models, in every worker process). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kt.h"

static uint64_t gen = 0x6b65726e656c73ull; /* "kernels" */

int kt_pick(int lo, int hi) { return lo + (int)(kt_rand(&gen) % (uint64_t)(hi - lo + 1)); }

void kt_printf(KtText *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0)
        return;
    if (t->n + (size_t)k + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->n + (size_t)k + 1)
            cap *= 2;
        char *s = realloc(t->s, cap);
        if (!s)
            return;
        t->s = s;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->s + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)k;
}

const char *kt_float(char *buf, size_t n, double v)
{
    snprintf(buf, n, "%.9g", v);
    if (!strpbrk(buf, ".eni")) /* an attribute written "2" would be an int */
        snprintf(buf + strlen(buf), n - strlen(buf), ".0");
    return buf;
}

void kt_text_free(KtText *t)
{
    free(t->s);
    *t = (KtText){0};
}

void kt_header(KtText *t, int opset) { kt_printf(t, "<ir_version: 8, opset_import: [\"\" : %d]>\n", opset); }

const char *kt_dims(char *buf, size_t n, int rank, const int64_t *dims)
{
    if (rank == 0) { /* a scalar: `float x` (`float[] x` has no shape) */
        snprintf(buf, n, "%s", "");
        return buf;
    }
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < rank && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, dims[i] < 0 ? "%sN" : "%s%lld", i ? "," : "", (long long)dims[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
    return buf;
}

void kt_init_values(KtText *t, const char *type, const char *name, int rank, const int64_t *dims, bool pos)
{
    char d[128];
    int64_t cnt = 1;
    for (int i = 0; i < rank; i++)
        cnt *= dims[i];
    if (rank)
        kt_printf(t, "%s%s %s = {", type, kt_dims(d, sizeof d, rank, dims), name);
    else
        kt_printf(t, "%s %s = {", type, name);
    for (int64_t i = 0; i < cnt; i++) {
        /* multiples of 1/16: exact in every float type, short in the text */
        int v = pos ? 4 + (int)(kt_rand(&gen) % 29) : (int)(kt_rand(&gen) % 65) - 32;
        kt_printf(t, "%s%g", i ? ", " : "", v / 16.0);
    }
    kt_printf(t, "}");
}


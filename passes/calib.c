/* calib.c — calibration statistics (fixed-bin float32 histograms) and the
 * choice of a clipping range from them (minmax, percentile, entropy, mse).
 * The exact channel sums are added in calib_exact.c, merged and checked here.
 *
 * Statistics are exact integer counts per fixed bin (see calib.h), so every
 * method below is a pure function of the multiset of values added. Methods
 * work on "sides": magnitude histograms built from the bins, with each bin a
 * disjoint interval (clipped to the exact min/max) whose mass is spread
 * uniformly over it. Zeros are kept apart: they are exactly representable
 * and cost no rounding error. */
#include "calib.h"

#include <assert.h>
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Out of memory is fatal here as in the arena (ir/arena.h). */
void *calib_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

char *calib_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(calib_xrealloc(NULL, n), s, n);
}

/* ---- bins ---- */

static uint32_t f2u(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

/* Magnitude code (exponent << 6 | top 6 mantissa bits) of a key. */
static uint32_t key_code(int key) { return key >= 0x4000 ? (uint32_t)(key - 0x4000) : (uint32_t)(0x3fff - key); }

/* Lower edge of magnitude code c (c may be one past the largest). */
static double code_mag(uint32_t c)
{
    int e = (int)(c >> 6), m = (int)(c & 63);
    return e == 0 ? ldexp(m, -132) : ldexp(64 + m, e - 133);
}

int calib_bin_key(float x)
{
    uint32_t u = f2u(x), c = (u >> 17) & 0x3fff;
    return (u >> 31) ? 0x3fff - (int)c : 0x4000 + (int)c;
}

bool calib_key_valid(int key)
{
    return key >= 0 && key < CALIB_KEY_LIMIT && (key_code(key) >> 6) != 0xff;
}

float calib_bin_float(int key)
{
    uint32_t u = key_code(key) << 17;
    if (key < 0x4000)
        u |= 0x80000000u;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void calib_bin_name(int key, char *buf, size_t n)
{
    float f = calib_bin_float(key);
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

void calib_bin_bounds(int key, double *lo, double *hi)
{
    uint32_t c = key_code(key);
    double a = code_mag(c), b = code_mag(c + 1);
    if (key >= 0x4000)
        *lo = a, *hi = b;
    else
        *lo = -b, *hi = -a;
}

/* ---- statistics ---- */

void calib_stats_init(CalibStats *s) { memset(s, 0, sizeof *s); }

void calib_stats_free(CalibStats *s)
{
    free(s->bins);
    free(s->chan_count);
    free(s->chan_sum);
    free(s->chan_kmin);
    free(s->chan_kmax);
    calib_stats_init(s);
}

static void chan_drop(CalibStats *s)
{
    free(s->chan_count);
    free(s->chan_sum);
    free(s->chan_kmin);
    free(s->chan_kmax);
    s->nchan = 0, s->chan_count = NULL, s->chan_sum = NULL, s->chan_kmin = s->chan_kmax = NULL;
}

/* Total order of the extremes: -0 < +0, so min/max do not depend on order. */
static bool before(double a, double b) { return a < b || (a == b && signbit(a) && !signbit(b)); }

static void extremes(CalibStats *s, double mn, double mx)
{
    if (s->count == 0) {
        s->min = mn, s->max = mx;
        return;
    }
    if (before(mn, s->min))
        s->min = mn;
    if (before(s->max, mx))
        s->max = mx;
}

static void reserve(CalibStats *s, int32_t n)
{
    if (n <= s->cap)
        return;
    int32_t cap = s->cap ? s->cap : 16;
    while (cap < n)
        cap *= 2;
    s->bins = calib_xrealloc(s->bins, (size_t)cap * sizeof *s->bins);
    s->cap = cap;
}

/* Add n values to bin `key` (binary search; insertion keeps keys sorted). */
static void bin_add(CalibStats *s, int key, int64_t n)
{
    int32_t lo = 0, hi = s->nbins;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        if (s->bins[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < s->nbins && s->bins[lo].key == key) {
        s->bins[lo].n += n;
        return;
    }
    reserve(s, s->nbins + 1);
    memmove(s->bins + lo + 1, s->bins + lo, (size_t)(s->nbins - lo) * sizeof *s->bins);
    s->bins[lo] = (CalibBin){(uint16_t)key, n};
    s->nbins++;
}

/* Merge the sorted bins b[0, nb) into s (one pass, then swap arrays). */
static void bins_merge(CalibStats *s, const CalibBin *b, int32_t nb)
{
    if (nb == 0)
        return;
    int32_t cap = s->nbins + nb;
    CalibBin *out = calib_xrealloc(NULL, (size_t)cap * sizeof *out);
    int32_t i = 0, j = 0, k = 0;
    while (i < s->nbins || j < nb) {
        if (j == nb || (i < s->nbins && s->bins[i].key < b[j].key))
            out[k++] = s->bins[i++];
        else if (i == s->nbins || b[j].key < s->bins[i].key)
            out[k++] = b[j++];
        else {
            out[k++] = (CalibBin){b[j].key, s->bins[i].n + b[j].n};
            i++, j++;
        }
    }
    free(s->bins);
    s->bins = out;
    s->nbins = k;
    s->cap = cap;
}

/* Batches at least this large are counted in a dense table first. */
#define DENSE_MIN 4096

/* The float32 bits u as an int32 ordered as the values are, with -0 < +0:
 * the extremes as integer min/max (vectorizable). */
static inline int32_t ordered(uint32_t u) { return (int32_t)(u ^ (uint32_t)(((int32_t)u >> 31) & 0x7fffffff)); }

static float from_ordered(int32_t o)
{
    uint32_t u = (uint32_t)o ^ (uint32_t)((o >> 31) & 0x7fffffff);
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* Values per block of the dense path: its extremes, zeros and non-finite
 * values in one vectorized pass, then the histogram in a second (the block
 * stays in the cache between the two). */
#define BLOCK 4096

typedef struct Scan {
    int32_t lo, hi;          /* ordered() extremes */
    uint32_t nonfinite, pz, nz; /* NaN/inf, +0, -0 */
} Scan;

/* The first pass over a full block: a fixed trip count and no branches, so
 * that it vectorizes; AVX2 where the CPU has it (x86-64). */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(__SANITIZE_ADDRESS__)
__attribute__((target_clones("avx2", "default")))
#endif
static void scan_block(const uint32_t *restrict u, Scan *r)
{
    int32_t lo = INT32_MAX, hi = INT32_MIN;
    uint32_t nonfinite = 0, pz = 0, nz = 0;
    for (int i = 0; i < BLOCK; i++) {
        uint32_t v = u[i];
        int32_t o = ordered(v);
        lo = o < lo ? o : lo;
        hi = o > hi ? o : hi;
        nonfinite += (v & 0x7f800000u) == 0x7f800000u;
        pz += v == 0;
        nz += v == 0x80000000u;
    }
    *r = (Scan){lo, hi, nonfinite, pz, nz};
}

static void scan_tail(const uint32_t *u, int64_t len, Scan *r)
{
    *r = (Scan){INT32_MAX, INT32_MIN, 0, 0, 0};
    for (int64_t i = 0; i < len; i++) {
        uint32_t v = u[i];
        int32_t o = ordered(v);
        r->lo = o < r->lo ? o : r->lo;
        r->hi = o > r->hi ? o : r->hi;
        r->nonfinite += (v & 0x7f800000u) == 0x7f800000u;
        r->pz += v == 0;
        r->nz += v == 0x80000000u;
    }
}

/* The key of the bin of the float with top 15 bits r (sign, exponent, top
 * 6 mantissa bits): calib_bin_key on u >> 17. */
static int raw_key(uint32_t r) { return r >> 14 ? 0x3fff - (int)(r & 0x3fff) : 0x4000 + (int)(r & 0x3fff); }

/* One value, any kind (the sparse path, and blocks holding NaN or inf). */
static void add_one(CalibStats *s, uint32_t *dense, float x, double *mn, double *mx, int64_t *finite)
{
    uint32_t u = f2u(x);
    if ((u & 0x7f800000u) == 0x7f800000u) {
        s->nonfinite++;
        return;
    }
    double v = x;
    if ((*finite)++ == 0)
        *mn = *mx = v;
    else {
        if (before(v, *mn))
            *mn = v;
        if (before(*mx, v))
            *mx = v;
    }
    if ((u & 0x7fffffffu) == 0) {
        s->zeros++;
        return;
    }
    if (dense)
        dense[calib_bin_key(x)]++;
    else
        bin_add(s, calib_bin_key(x), 1);
}

void calib_stats_add(CalibStats *s, const float *x, int64_t n)
{
    if (n <= 0)
        return;
    double mn = 0, mx = 0;
    int64_t finite = 0;
    if (n < DENSE_MIN) {
        for (int64_t i = 0; i < n; i++)
            add_one(s, NULL, x[i], &mn, &mx, &finite);
    } else {
        /* counts by the top 15 bits of the floats (raw_key maps them to bin
         * keys), in 4 tables taken in turn (an increment need not wait for
         * the last one to the same bin), flushed before they could wrap */
        uint32_t *dense = calloc(4 * (size_t)CALIB_KEY_LIMIT, sizeof *dense);
        uint32_t *slow = calloc(CALIB_KEY_LIMIT, sizeof *slow); /* blocks with NaN or inf, by key */
        if (!dense || !slow)
            abort();
        int64_t since_flush = 0;
        CalibBin *b = NULL;
        for (int64_t i0 = 0; i0 < n; i0 += BLOCK) {
            int64_t len = n - i0 < BLOCK ? n - i0 : BLOCK;
            const uint32_t *u = (const uint32_t *)(const void *)(x + i0);
            Scan sc;
            if (len == BLOCK)
                scan_block(u, &sc);
            else
                scan_tail(u, len, &sc);
            if (sc.nonfinite) { /* rare: value by value */
                for (int64_t i = 0; i < len; i++)
                    add_one(s, slow, x[i0 + i], &mn, &mx, &finite);
            } else {
                int64_t i = 0;
                for (; i + 4 <= len; i += 4) {
                    dense[u[i] >> 17]++;
                    dense[CALIB_KEY_LIMIT + (u[i + 1] >> 17)]++;
                    dense[2 * CALIB_KEY_LIMIT + (u[i + 2] >> 17)]++;
                    dense[3 * CALIB_KEY_LIMIT + (u[i + 3] >> 17)]++;
                }
                for (; i < len; i++)
                    dense[u[i] >> 17]++;
                dense[0] -= sc.pz; /* zeros are counted apart */
                dense[0x4000] -= sc.nz;
                s->zeros += sc.pz + sc.nz;
                double a = from_ordered(sc.lo), z = from_ordered(sc.hi);
                if (finite == 0)
                    mn = a, mx = z;
                else {
                    if (before(a, mn))
                        mn = a;
                    if (before(mx, z))
                        mx = z;
                }
                finite += len;
            }
            since_flush += len;
            if (since_flush > (int64_t)UINT32_MAX - BLOCK || i0 + len == n) {
                if (!b)
                    b = calib_xrealloc(NULL, CALIB_KEY_LIMIT * sizeof *b);
                for (uint32_t r = 0; r < CALIB_KEY_LIMIT; r++) {
                    int key = raw_key(r);
                    slow[key] += dense[r] + dense[CALIB_KEY_LIMIT + r] + dense[2 * CALIB_KEY_LIMIT + r] +
                                 dense[3 * CALIB_KEY_LIMIT + r];
                }
                int32_t nb = 0;
                for (int key = 0; key < CALIB_KEY_LIMIT; key++)
                    if (slow[key])
                        b[nb++] = (CalibBin){(uint16_t)key, slow[key]};
                bins_merge(s, b, nb);
                memset(dense, 0, 4 * (size_t)CALIB_KEY_LIMIT * sizeof *dense);
                memset(slow, 0, CALIB_KEY_LIMIT * sizeof *slow);
                since_flush = 0;
            }
        }
        free(b);
        free(dense);
        free(slow);
    }
    if (finite) {
        extremes(s, mn, mx);
        s->count += finite;
        chan_drop(s); /* values the channel sums do not hold */
    }
}

/* The channel part of calib_stats_merge, before the counts are added: the
 * statistics with no finite values are the identity (see calib.h). */
static void chan_merge(CalibStats *dst, const CalibStats *src)
{
    if (src->count == 0)
        return;
    if (dst->count == 0) {
        chan_drop(dst);
        if (src->nchan > 0) {
            size_t n = (size_t)src->nchan;
            dst->chan_count = calib_xrealloc(NULL, n * sizeof *dst->chan_count);
            dst->chan_sum = calib_xrealloc(NULL, n * sizeof *dst->chan_sum);
            memcpy(dst->chan_count, src->chan_count, n * sizeof *dst->chan_count);
            memcpy(dst->chan_sum, src->chan_sum, n * sizeof *dst->chan_sum);
            if (src->chan_kmin) {
                dst->chan_kmin = calib_xrealloc(NULL, n * sizeof *dst->chan_kmin);
                dst->chan_kmax = calib_xrealloc(NULL, n * sizeof *dst->chan_kmax);
                memcpy(dst->chan_kmin, src->chan_kmin, n * sizeof *dst->chan_kmin);
                memcpy(dst->chan_kmax, src->chan_kmax, n * sizeof *dst->chan_kmax);
            }
            dst->nchan = src->nchan;
        }
        return;
    }
    if (dst->nchan == 0 || dst->nchan != src->nchan) {
        chan_drop(dst);
        return;
    }
    if (!src->chan_kmin) { /* extremes known on one side only: unknown */
        free(dst->chan_kmin);
        free(dst->chan_kmax);
        dst->chan_kmin = dst->chan_kmax = NULL;
    }
    for (int64_t c = 0; c < dst->nchan; c++) {
        dst->chan_count[c] += src->chan_count[c];
        calib_exact_merge(&dst->chan_sum[c], &src->chan_sum[c]);
        if (dst->chan_kmin) {
            dst->chan_kmin[c] = src->chan_kmin[c] < dst->chan_kmin[c] ? src->chan_kmin[c] : dst->chan_kmin[c];
            dst->chan_kmax[c] = src->chan_kmax[c] > dst->chan_kmax[c] ? src->chan_kmax[c] : dst->chan_kmax[c];
        }
    }
}

void calib_stats_merge(CalibStats *dst, const CalibStats *src)
{
    chan_merge(dst, src);
    if (src->count)
        extremes(dst, src->min, src->max);
    dst->count += src->count;
    dst->zeros += src->zeros;
    dst->nonfinite += src->nonfinite;
    bins_merge(dst, src->bins, src->nbins);
}

bool calib_stats_equal(const CalibStats *a, const CalibStats *b)
{
    if (a->count != b->count || a->zeros != b->zeros || a->nonfinite != b->nonfinite || a->nbins != b->nbins ||
        memcmp(&a->min, &b->min, sizeof a->min) != 0 || memcmp(&a->max, &b->max, sizeof a->max) != 0)
        return false;
    for (int32_t i = 0; i < a->nbins; i++)
        if (a->bins[i].key != b->bins[i].key || a->bins[i].n != b->bins[i].n)
            return false;
    if (a->nchan != b->nchan)
        return false;
    size_t n = a->nchan > 0 ? (size_t)a->nchan : 0;
    if (n > 0 && !a->chan_kmin != !b->chan_kmin)
        return false;
    return n == 0 || (memcmp(a->chan_count, b->chan_count, n * sizeof *a->chan_count) == 0 &&
                      memcmp(a->chan_sum, b->chan_sum, n * sizeof *a->chan_sum) == 0 &&
                      (!a->chan_kmin || (memcmp(a->chan_kmin, b->chan_kmin, n * sizeof *a->chan_kmin) == 0 &&
                                         memcmp(a->chan_kmax, b->chan_kmax, n * sizeof *a->chan_kmax) == 0)));
}

/* Whether v is a finite float32 value in bin `key`. */
static bool in_bin(double v, int key)
{
    return v != 0 && fabs(v) <= FLT_MAX && (double)(float)v == v && calib_bin_key((float)v) == key;
}

/* The channel part of calib_stats_check, for s otherwise consistent. */
static const char *chan_check(const CalibStats *s)
{
    if (s->nchan < 0 || (s->nchan > 0 && (!s->chan_count || !s->chan_sum || !s->chan_kmin != !s->chan_kmax)))
        return "bad channel arrays";
    if (s->nchan > 0 && s->count == 0)
        return "channel sums without finite values";
    int64_t total = 0;
    for (int64_t c = 0; c < s->nchan; c++) {
        int64_t n = s->chan_count[c];
        if (n < 0)
            return "negative channel count";
        if (n > INT64_MAX - total)
            return "channel counts overflow";
        total += n;
        /* n * min <= sum <= n * max, exactly (min and max are float32 values) */
        CalibExact lo = {{0}}, hi = {{0}};
        calib_exact_add_n(&lo, (float)s->min, n);
        calib_exact_add_n(&hi, (float)s->max, n);
        if (calib_exact_cmp(&s->chan_sum[c], &lo) < 0 || calib_exact_cmp(&s->chan_sum[c], &hi) > 0)
            return "a channel's sum is not within count * [min, max]";
        /* the channel's extremes (when known): none, or finite, ordered, within [min, max] */
        if (!s->chan_kmin)
            continue;
        uint32_t kl = s->chan_kmin[c], kh = s->chan_kmax[c];
        if (n == 0 ? kl != UINT32_MAX || kh != 0
                   : kl > kh || !isfinite(calib_order_float(kl)) || !isfinite(calib_order_float(kh)) ||
                         kl < calib_order_key((float)s->min) || kh > calib_order_key((float)s->max))
            return "a channel's min and max are not within [min, max] (or not none for a channel with no values)";
    }
    if (s->nchan > 0 && total != s->count)
        return "channel counts do not add up to count";
    return NULL;
}

const char *calib_stats_check(const CalibStats *s)
{
    if (s->count < 0 || s->zeros < 0 || s->nonfinite < 0)
        return "negative count";
    if (s->nbins < 0 || (s->nbins > 0 && !s->bins))
        return "bad bin array";
    int64_t sum = s->zeros;
    for (int32_t i = 0; i < s->nbins; i++) {
        if (!calib_key_valid(s->bins[i].key))
            return "invalid bin key";
        if (i > 0 && s->bins[i].key <= s->bins[i - 1].key)
            return "bins not in ascending order";
        if (s->bins[i].n <= 0)
            return "bin count not positive";
        if (s->bins[i].n > INT64_MAX - sum)
            return "counts overflow";
        sum += s->bins[i].n;
    }
    if (sum != s->count)
        return "count is not zeros plus the bin counts";
    if (s->count == 0)
        return s->min != 0 || s->max != 0 ? "min and max must be 0 when count is 0" : chan_check(s);
    if (!isfinite(s->min) || !isfinite(s->max) || before(s->max, s->min))
        return "min and max not ordered finite values";
    bool neg = s->nbins > 0 && s->bins[0].key < 0x4000;
    bool pos = s->nbins > 0 && s->bins[s->nbins - 1].key >= 0x4000;
    if (neg || !s->zeros ? !in_bin(s->min, s->bins[0].key) : s->min != 0)
        return "min is not in the lowest non-empty bin";
    if (pos || !s->zeros ? !in_bin(s->max, s->bins[s->nbins - 1].key) : s->max != 0)
        return "max is not in the highest non-empty bin";
    return chan_check(s);
}

/* ---- options ---- */

void calib_options_default(CalibOptions *o) { *o = (CalibOptions){CALIB_MINMAX, 99.99, true}; }

const char *calib_method_name(CalibMethod m)
{
    switch (m) {
    case CALIB_MINMAX: return "minmax";
    case CALIB_PERCENTILE: return "percentile";
    case CALIB_ENTROPY: return "entropy";
    case CALIB_MSE: return "mse";
    }
    return "?";
}

bool calib_options_parse(CalibOptions *o, const char *spec)
{
    static const CalibMethod all[] = {CALIB_MINMAX, CALIB_PERCENTILE, CALIB_ENTROPY, CALIB_MSE};
    for (size_t i = 0; i < sizeof all / sizeof *all; i++)
        if (strcmp(spec, calib_method_name(all[i])) == 0) {
            o->method = all[i];
            return true;
        }
    if (strncmp(spec, "percentile=", 11) != 0 || !spec[11])
        return false;
    char *end;
    double p = strtod(spec + 11, &end);
    if (*end || !(p > 0 && p <= 100))
        return false;
    o->method = CALIB_PERCENTILE;
    o->percentile = p;
    return true;
}

/* ---- sides: magnitude histograms ---- */

typedef struct Side {
    int n;                /* intervals */
    double *a, *b, *c;    /* magnitude interval [a, b] (a == b: a point) and its mass */
    double *s0, *s1, *s2; /* suffix sums from k of c, c*center, c*(center^2 + width^2/12) */
    double mass, amax;    /* total mass (zeros excluded), largest magnitude (0 if none) */
} Side;

/* The magnitudes of the values of sign `sign` (+1, -1; 0: both) in s. */
static void side_build(Side *sd, const CalibStats *s, int sign)
{
    memset(sd, 0, sizeof *sd);
    size_t cap = (size_t)s->nbins + 1;
    double *mem = calib_xrealloc(NULL, 6 * (cap + 1) * sizeof *mem);
    sd->a = mem, sd->b = sd->a + cap, sd->c = sd->b + cap;
    sd->s0 = sd->c + cap, sd->s1 = sd->s0 + cap + 1, sd->s2 = sd->s1 + cap + 1;
    int32_t neg = 0; /* bins [0, neg) hold negative values */
    while (neg < s->nbins && s->bins[neg].key < 0x4000)
        neg++;
    int32_t i = neg - 1, j = neg; /* next negative bin (descending key), next positive */
    bool wantn = sign <= 0, wantp = sign >= 0;
    for (;;) {
        bool hn = wantn && i >= 0, hp = wantp && j < s->nbins;
        if (!hn && !hp)
            break;
        uint32_t cn = hn ? key_code(s->bins[i].key) : UINT32_MAX;
        uint32_t cp = hp ? key_code(s->bins[j].key) : UINT32_MAX;
        uint32_t code = cn < cp ? cn : cp;
        double a = INFINITY, b = -INFINITY, c = 0, lo, hi;
        if (code == cn) { /* clipped to the exact min/max, then mirrored */
            calib_bin_bounds(s->bins[i].key, &lo, &hi);
            lo = fmax(lo, s->min), hi = fmin(hi, s->max);
            a = fmin(a, -hi), b = fmax(b, -lo), c += (double)s->bins[i--].n;
        }
        if (code == cp) {
            calib_bin_bounds(s->bins[j].key, &lo, &hi);
            lo = fmax(lo, s->min), hi = fmin(hi, s->max);
            a = fmin(a, lo), b = fmax(b, hi), c += (double)s->bins[j++].n;
        }
        if (a > b) /* only for inconsistent stats; calib_stats_check rejects them */
            a = b;
        sd->a[sd->n] = a, sd->b[sd->n] = b, sd->c[sd->n] = c;
        sd->n++;
    }
    sd->s0[sd->n] = sd->s1[sd->n] = sd->s2[sd->n] = 0;
    for (int k = sd->n - 1; k >= 0; k--) {
        double m = (sd->a[k] + sd->b[k]) / 2, w = sd->b[k] - sd->a[k];
        sd->s0[k] = sd->s0[k + 1] + sd->c[k];
        sd->s1[k] = sd->s1[k + 1] + sd->c[k] * m;
        sd->s2[k] = sd->s2[k + 1] + sd->c[k] * (m * m + w * w / 12);
    }
    sd->mass = sd->s0[0];
    sd->amax = sd->n ? sd->b[sd->n - 1] : 0;
}

static void side_free(Side *sd) { free(sd->a); }

/* The first interval with b > t (n if none). */
static int side_find(const Side *sd, double t)
{
    int lo = 0, hi = sd->n;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        if (sd->b[mid] > t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* Mass above magnitude t. */
static double side_above(const Side *sd, double t)
{
    int k = side_find(sd, t);
    if (k == sd->n)
        return 0;
    double part = sd->a[k] < t ? sd->c[k] * (sd->b[k] - t) / (sd->b[k] - sd->a[k]) : sd->c[k];
    return sd->s0[k + 1] + part;
}

/* Squared clipping error of the mass above t: sum of (|x| - t)^2. */
static double side_clip(const Side *sd, double t)
{
    int k = side_find(sd, t);
    if (k == sd->n)
        return 0;
    double e = sd->s2[k + 1] - 2 * t * sd->s1[k + 1] + t * t * sd->s0[k + 1];
    double a = sd->a[k], b = sd->b[k], c = sd->c[k];
    if (a < t)
        e += c * (b - t) * (b - t) * (b - t) / (3 * (b - a));
    else
        e += c * (((a + b) / 2 - t) * ((a + b) / 2 - t) + (b - a) * (b - a) / 12);
    return e > 0 ? e : 0;
}

/* The magnitude above which lies mass t, walking down from the top,
 * interpolated inside the interval; 0 when the side holds less than t. */
static double side_quantile_top(const Side *sd, double t)
{
    double cum = 0;
    for (int k = sd->n - 1; k >= 0; k--) {
        if (cum + sd->c[k] >= t)
            return sd->b[k] - (t - cum) / sd->c[k] * (sd->b[k] - sd->a[k]);
        cum += sd->c[k];
    }
    return 0;
}

/* ---- percentile ---- */

static void range_percentile(const CalibStats *s, const CalibOptions *o, double *lo, double *hi)
{
    double total = (double)s->count;
    if (o->symmetric) {
        Side sd;
        side_build(&sd, s, 0);
        /* |x| quantile P counted from the top: mass (1 - P/100) above T */
        double t = (1 - o->percentile / 100) * total;
        *hi = side_quantile_top(&sd, t);
        *lo = -*hi;
        side_free(&sd);
        return;
    }
    double t = (100 - o->percentile) / 200 * total;
    Side pos, neg;
    side_build(&pos, s, 1);
    side_build(&neg, s, -1);
    *hi = side_quantile_top(&pos, t);
    *lo = -side_quantile_top(&neg, t);
    side_free(&pos);
    side_free(&neg);
}

/* ---- entropy (TensorRT) ---- */

#define KL_BINS 2048
#define KL_LEVELS 128
#define KL_EPS 1e-4 /* smoothing for Q's zero bins, in samples (as ORT and MXNet) */

/* TensorRT's KL threshold of a magnitude histogram. Exact zeros are left
 * out: they are representable at any scale, and a spike of them in bin 0
 * (ReLU outputs) dominates the divergence and drags the threshold down to
 * the smallest candidate; NVIDIA's pytorch-quantization does the same by
 * overwriting bin 0 with bin 1 (calib/histogram.py, bins[0] = bins[1]). */
static double kl_threshold(const Side *sd)
{
    double amax = sd->amax;
    if (sd->n == 0 || !(amax > 0))
        return 0;
    static_assert(KL_BINS % KL_LEVELS == 0, "levels divide bins");
    double *h = calib_xrealloc(NULL, 4 * (KL_BINS + 1) * sizeof *h);
    double *H = h + KL_BINS + 1, *HL = H + KL_BINS + 1, *NZ = HL + KL_BINS + 1;
    memset(h, 0, (KL_BINS + 1) * sizeof *h);
    double w = amax / KL_BINS;
    for (int k = 0; k < sd->n; k++) { /* spread each fixed bin uniformly over its interval */
        double a = sd->a[k], b = sd->b[k], c = sd->c[k];
        int i0 = (int)fmin(a / w, KL_BINS - 1), i1 = (int)fmin(b / w, KL_BINS - 1);
        if (i0 == i1 || !(b > a)) {
            h[i0] += c;
            continue;
        }
        for (int i = i0; i <= i1; i++) {
            double l = fmax(a, i * w), r = i == KL_BINS - 1 ? b : fmin(b, (i + 1) * w);
            if (r > l)
                h[i] += c * (r - l) / (b - a);
        }
    }
    /* prefix sums: H mass, HL sum h log h, NZ non-empty bins, over [0, k) */
    H[0] = HL[0] = NZ[0] = 0;
    for (int k = 0; k < KL_BINS; k++) {
        H[k + 1] = H[k] + h[k];
        HL[k + 1] = HL[k] + (h[k] > 0 ? h[k] * log(h[k]) : 0);
        NZ[k + 1] = NZ[k] + (h[k] > 0);
    }
    double total = H[KL_BINS], best = INFINITY;
    int besti = KL_BINS;
    for (int i = KL_LEVELS; i <= KL_BINS; i++) {
        /* P = h[0, i) with the tail folded into bin i-1; Q = h[0, i) (no tail) merged
         * into 128 levels, each spread over the bins where P is non-empty */
        double tail = fmax(total - H[i], 0), qtotal = H[i];
        double plast = h[i - 1] + tail;
        if (!(qtotal > 0))
            continue;
        double plogp = HL[i - 1] + (plast > 0 ? plast * log(plast) : 0);
        double kl = plogp / total - log(total), eps = KL_EPS / total;
        int m = i / KL_LEVELS;
        for (int j = 0; j < KL_LEVELS; j++) {
            int start = j * m, stop = j == KL_LEVELS - 1 ? i : start + m;
            double raw = H[stop] - H[start], psum = raw, nnz = NZ[stop] - NZ[start];
            if (stop == i) { /* the folded bin */
                psum += tail;
                nnz += (plast > 0) - (h[i - 1] > 0);
            }
            if (psum <= 0 || nnz <= 0)
                continue;
            double qn = raw > 0 ? raw / nnz / qtotal : eps;
            kl -= psum / total * log(qn);
        }
        if (kl < best)
            best = kl, besti = i;
    }
    free(h);
    return fmin((besti + 0.5) * w, amax);
}

static void range_entropy(const CalibStats *s, const CalibOptions *o, double *lo, double *hi)
{
    Side a, b;
    if (o->symmetric) {
        side_build(&a, s, 0);
        *hi = kl_threshold(&a);
        *lo = -*hi;
        side_free(&a);
        return;
    }
    side_build(&a, s, 1);
    side_build(&b, s, -1);
    *hi = kl_threshold(&a);
    *lo = -kl_threshold(&b);
    side_free(&a);
    side_free(&b);
}

/* ---- mse ---- */

/* Expected error of a grid with step D over the clipped range: clipping error
 * outside, D^2/12 for the non-zero values inside (zeros are exact). */
typedef struct MseCtx {
    const Side *pos, *neg; /* the sides (symmetric: pos = |x|, neg = NULL) */
    double lo, hi;         /* the range; the free end is the argument */
    bool free_hi;          /* which end varies */
} MseCtx;

static double mse_sym(const MseCtx *c, double t)
{
    double d = 2 * t / 254;
    return side_clip(c->pos, t) + d * d / 12 * (c->pos->mass - side_above(c->pos, t));
}

static double mse_asym(const MseCtx *c, double t)
{
    double lo = c->free_hi ? c->lo : -t, hi = c->free_hi ? t : c->hi, d = (hi - lo) / 255;
    double inside = c->pos->mass + c->neg->mass - side_above(c->pos, hi) - side_above(c->neg, -lo);
    return side_clip(c->pos, hi) + side_clip(c->neg, -lo) + d * d / 12 * fmax(inside, 0);
}

typedef double (*MseFn)(const MseCtx *, double);

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* argmin of f over [0, sd->amax]. Between consecutive interval edges of sd,
 * f is convex: the clipping error is a sum of convex pieces ((x - t)^2 of the
 * mass above, c (b - t)^3 / 3w of a partly clipped interval) and the rounding
 * error is t^2 (or (t - lo)^2) times a mass that is constant or grows linearly
 * in t. So a golden-section search per piece, and the least of the pieces'
 * minima, is the exact minimum of the histogram's error model. */
static double mse_argmin(const Side *sd, MseFn f, const MseCtx *c)
{
    if (sd->n == 0)
        return 0;
    double *pt = calib_xrealloc(NULL, (2 * (size_t)sd->n + 1) * sizeof *pt);
    int np = 0;
    pt[np++] = 0;
    for (int k = 0; k < sd->n; k++)
        pt[np++] = sd->a[k], pt[np++] = sd->b[k];
    qsort(pt, (size_t)np, sizeof *pt, cmp_double);
    const double g = 0.6180339887498949;
    double bestt = sd->amax, bestf = f(c, bestt);
    for (int k = 0; k + 1 < np; k++) {
        double l = pt[k], r = pt[k + 1];
        if (!(r > l))
            continue;
        double fl = f(c, l);
        if (fl < bestf)
            bestf = fl, bestt = l;
        double x1 = r - g * (r - l), x2 = l + g * (r - l), f1 = f(c, x1), f2 = f(c, x2);
        for (int it = 0; it < 80 && r - l > 1e-10 * r; it++) {
            if (f1 <= f2)
                r = x2, x2 = x1, f2 = f1, x1 = r - g * (r - l), f1 = f(c, x1);
            else
                l = x1, x1 = x2, f1 = f2, x2 = l + g * (r - l), f2 = f(c, x2);
        }
        double x = f1 <= f2 ? x1 : x2, fx = fmin(f1, f2);
        if (fx < bestf)
            bestf = fx, bestt = x;
    }
    free(pt);
    return bestt;
}

static void range_mse(const CalibStats *s, const CalibOptions *o, double *lo, double *hi)
{
    Side a, b;
    if (o->symmetric) {
        side_build(&a, s, 0);
        MseCtx c = {&a, NULL, 0, 0, true};
        *hi = mse_argmin(&a, mse_sym, &c);
        *lo = -*hi;
        side_free(&a);
        return;
    }
    /* coordinate descent from the min/max range: each step minimizes exactly
     * over one end, so the error never increases; stops at a fixed point */
    side_build(&a, s, 1);
    side_build(&b, s, -1);
    MseCtx c = {&a, &b, -b.amax, a.amax, true};
    for (int it = 0; it < 50; it++) {
        double ohi = c.hi, olo = c.lo;
        c.free_hi = true;
        c.hi = mse_argmin(&a, mse_asym, &c);
        c.free_hi = false;
        c.lo = -mse_argmin(&b, mse_asym, &c);
        if (c.hi == ohi && c.lo == olo)
            break;
    }
    *lo = c.lo, *hi = c.hi;
    side_free(&a);
    side_free(&b);
}

/* ---- range ---- */

/* A range whose scale (width / 255) is a normal float. */
static bool wide(double lo, double hi) { return hi - lo >= 255.0 * FLT_MIN; }

bool calib_range(const CalibStats *s, const CalibOptions *o, double *lo, double *hi)
{
    bool ok = (unsigned)o->method <= CALIB_MSE &&
              (o->method != CALIB_PERCENTILE || (o->percentile > 0 && o->percentile <= 100));
    double mlo = fmin(s->min, 0), mhi = fmax(s->max, 0);
    if (s->count == 0)
        mlo = mhi = 0;
    if (o->symmetric) {
        mhi = fmax(-mlo, mhi);
        mlo = -mhi;
    }
    if (!wide(mlo, mhi)) {
        *lo = o->symmetric ? -1 : 0;
        *hi = 1;
        return ok;
    }
    *lo = mlo, *hi = mhi;
    if (!ok || o->method == CALIB_MINMAX || s->min == s->max)
        return ok; /* a constant is exact at the end of its min/max range */
    double l = 0, h = 0;
    if (o->method == CALIB_PERCENTILE)
        range_percentile(s, o, &l, &h);
    else if (o->method == CALIB_ENTROPY)
        range_entropy(s, o, &l, &h);
    else
        range_mse(s, o, &l, &h);
    l = fmax(fmin(l, 0), mlo), h = fmin(fmax(h, 0), mhi);
    if (wide(l, h))
        *lo = l == 0 ? 0 : l, *hi = h; /* never -0 */
    return ok;
}

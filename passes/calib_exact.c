/* calib_exact.c — exact sums of float32 values (a long fixed-point
 * accumulator, after Kulisch) and the per-channel sums of CalibStats.
 *
 * Every finite float32 is m * 2^e with 0 <= m < 2^24 and e >= -149, i.e.
 * the integer m << p (p = e + 149 in [0, 253]) in units of 2^-149, below
 * 2^277 in magnitude. The accumulator is that integer summed, in 384-bit
 * two's complement (6 limbs of 64 bits, lowest first): integer addition, so
 * exact, and the state after any sequence of adds and merges of the same
 * values is the same bits. An add touches the two limbs that m << p spans
 * and carries into the ones above only when they overflow (amortized: a
 * carry past limb p/64 + 1 needs 2^40 adds or a change of sign of the sum);
 * ~2.5 ns an add, ~1 ns a value in calib_stats_add_channels' long runs.
 *
 * Reading a sum back (value, mean) is one long division, bit by bit, with
 * round to nearest even: correctly rounded, with integer operations only,
 * so the same on every host. */
#include "calib.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define LIMBS CALIB_EXACT_LIMBS

/* Out of memory is fatal here as in the arena (ir/arena.h). */
static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size);
    if (!p)
        abort();
    return p;
}

/* a += v << p (neg: a -= v << p), for p <= 64 * (LIMBS - 2) + 63. Branch-free
 * but for the rare carry past two limbs: (hi, lo) = v << p is negated when
 * neg, added to limbs i and i+1, and the limbs above get its sign extension
 * (0 or all ones) plus the carry, which leaves them as they are unless
 * carry != neg. */
static inline void add_at(CalibExact *a, uint64_t v, unsigned p, uint64_t neg)
{
    neg &= v != 0; /* -0 is 0 (its negation would carry out of the 128 bits) */
    unsigned i = p >> 6, sh = p & 63;
    uint64_t lo = v << sh, hi = (v >> 1) >> (63 - sh), mask = -neg, *l = a->limb;
    uint64_t nlo = (lo ^ mask) - mask, nhi = (hi ^ mask) + (neg & (lo == 0));
    uint64_t s = l[i] + nlo, c = s < nlo;
    l[i] = s;
    uint64_t t = nhi + c, c2 = t < c;
    s = l[i + 1] + t;
    c = (s < t) | c2;
    l[i + 1] = s;
    if (c != neg) {
        if (c)
            for (unsigned k = i + 2; k < LIMBS && ++l[k] == 0; k++)
                ;
        else
            for (unsigned k = i + 2; k < LIMBS && l[k]-- == 0; k++)
                ;
    }
}

/* Split the bits u of a float into its integer mantissa and bit position;
 * false for NaN and +-inf. */
static inline bool split(uint32_t u, uint64_t *m, unsigned *p)
{
    uint32_t ef = (u >> 23) & 0xff;
    if (ef == 0xff)
        return false;
    *m = (u & 0x7fffffu) | (ef ? 0x800000u : 0);
    *p = ef ? ef - 1 : 0;
    return true;
}

static inline uint32_t f2u(float x)
{
    uint32_t u;
    memcpy(&u, &x, sizeof u);
    return u;
}

void calib_exact_add(CalibExact *a, float x)
{
    uint32_t u = f2u(x);
    uint64_t m;
    unsigned p;
    if (split(u, &m, &p))
        add_at(a, m, p, u >> 31);
}

void calib_exact_add_n(CalibExact *a, float x, int64_t k)
{
    uint32_t u = f2u(x);
    uint64_t m;
    unsigned p;
    if (!split(u, &m, &p) || !m || !k)
        return;
    uint64_t neg = (u >> 31) != (k < 0);
    uint64_t kk = k < 0 ? -(uint64_t)k : (uint64_t)k;
    /* k * m < 2^87: two products below 2^56 */
    add_at(a, (kk & 0xffffffffu) * m, p, neg);
    add_at(a, (kk >> 32) * m, p + 32, neg);
}

void calib_exact_merge(CalibExact *a, const CalibExact *b)
{
    uint64_t c = 0;
    for (int k = 0; k < LIMBS; k++) {
        uint64_t y = b->limb[k], s = a->limb[k] + y;
        uint64_t c1 = s < y;
        s += c;
        c = c1 | (s < c);
        a->limb[k] = s;
    }
}

static bool is_neg(const CalibExact *a) { return a->limb[LIMBS - 1] >> 63; }

int calib_exact_cmp(const CalibExact *a, const CalibExact *b)
{
    bool na = is_neg(a), nb = is_neg(b);
    if (na != nb)
        return na ? -1 : 1;
    for (int k = LIMBS - 1; k >= 0; k--) /* same sign: unsigned order of the bits */
        if (a->limb[k] != b->limb[k])
            return a->limb[k] < b->limb[k] ? -1 : 1;
    return 0;
}

/* The magnitude of a as an unsigned integer (2^383 for the most negative). */
static void magnitude(const CalibExact *a, uint64_t m[LIMBS])
{
    bool neg = is_neg(a);
    uint64_t c = neg;
    for (int k = 0; k < LIMBS; k++) {
        uint64_t v = neg ? ~a->limb[k] : a->limb[k];
        m[k] = v + c;
        c = c && m[k] == 0;
    }
}

/* Index of the highest set bit of m, or -1 when m is 0. */
static int top_bit(const uint64_t m[LIMBS])
{
    for (int k = LIMBS - 1; k >= 0; k--)
        if (m[k])
            for (int b = 63;; b--)
                if (m[k] >> b & 1)
                    return 64 * k + b;
    return -1;
}

double calib_exact_mean(const CalibExact *a, int64_t n)
{
    if (n <= 0)
        return NAN;
    uint64_t m[LIMBS], d = (uint64_t)n, r = 0, q = 0;
    magnitude(a, m);
    int pos = top_bit(m), nq = 0;
    if (pos < 0)
        return 0;
    /* Long division of m (bits pos, pos-1, ..., then zeros) by d: the quotient
     * bit made at step pos weighs 2^pos units. Stop with 55 significant bits:
     * 53 for the result, two more and the sticky remainder to round it. */
    for (;; pos--) {
        uint64_t bit = pos >= 0 ? m[pos >> 6] >> (pos & 63) & 1 : 0;
        r = 2 * r + bit; /* r < d < 2^63: no wrap */
        uint64_t qb = r >= d;
        r -= qb ? d : 0;
        if (nq || qb) {
            q = q << 1 | qb;
            if (++nq == 55)
                break;
        }
    }
    bool sticky = r != 0;
    for (int k = pos - 1; k >= 0 && !sticky; k--) /* dividend bits not yet brought down */
        sticky = (m[k >> 6] >> (k & 63) & 1) != 0;
    uint64_t mant = q >> 2, g = q & 3;
    if (g > 2 || (g == 2 && (sticky || (mant & 1))))
        mant++; /* 2^53 at most: still exact */
    double v = ldexp((double)mant, pos + 2 - 149);
    return is_neg(a) ? -v : v;
}

double calib_exact_value(const CalibExact *a) { return calib_exact_mean(a, 1); }

/* ---- text: [-]0x<hex>p-149, lowercase, no leading zeros ---- */

bool calib_exact_format(const CalibExact *a, char *buf, size_t n)
{
    uint64_t m[LIMBS];
    magnitude(a, m);
    int top = top_bit(m), nd = top < 0 ? 1 : top / 4 + 1;
    size_t need = (size_t)is_neg(a) + 2 + (size_t)nd + 5 + 1;
    if (n < need) {
        if (n)
            buf[0] = 0;
        return false;
    }
    char *o = buf;
    if (is_neg(a))
        *o++ = '-';
    *o++ = '0', *o++ = 'x';
    for (int k = nd - 1; k >= 0; k--)
        *o++ = "0123456789abcdef"[m[k / 16] >> (4 * (k % 16)) & 15];
    memcpy(o, "p-149", 6);
    return true;
}

bool calib_exact_parse(const char *s, CalibExact *out)
{
    bool neg = *s == '-';
    s += neg;
    if (s[0] != '0' || s[1] != 'x')
        return false;
    s += 2;
    size_t nd = strspn(s, "0123456789abcdef");
    if (nd == 0 || nd > 16 * LIMBS || (nd > 1 && s[0] == '0') || strcmp(s + nd, "p-149") != 0)
        return false;
    uint64_t m[LIMBS] = {0};
    for (size_t k = 0; k < nd; k++) {
        char c = s[nd - 1 - k];
        uint64_t h = c <= '9' ? (uint64_t)(c - '0') : (uint64_t)(c - 'a' + 10);
        m[k / 16] |= h << (4 * (k % 16));
    }
    int top = top_bit(m);
    if (top < 0 && neg)
        return false; /* -0 */
    if (top == 64 * LIMBS - 1) { /* only -2^383 fits */
        if (!neg)
            return false;
        for (int k = 0; k < LIMBS; k++)
            if (m[k] != (k == LIMBS - 1 ? (uint64_t)1 << 63 : 0))
                return false;
    }
    uint64_t c = neg;
    for (int k = 0; k < LIMBS; k++) {
        uint64_t v = neg ? ~m[k] : m[k];
        out->limb[k] = v + c;
        c = c && out->limb[k] == 0;
    }
    return true;
}

/* ---- channel sums of CalibStats ---- */

/* Runs at least this long are summed per exponent first. */
#define BUCKET_MIN_RUN 256
/* At most this many values per bucket pass: |bucket| < 2^32 * 2^24 < 2^63. */
#define BUCKET_MAX_RUN ((int64_t)1 << 32)

/* Short runs (small inner): value by value into the channel's sum. */
static void add_direct(CalibExact *sum, int64_t *count, const float *x, int64_t n, int64_t channels, int64_t inner)
{
    int64_t c = 0, left = inner; /* the channel, values left in its run */
    for (int64_t j = 0; j < n; j++) {
        uint32_t u = f2u(x[j]);
        uint64_t m;
        unsigned p;
        if (split(u, &m, &p)) {
            count[c]++;
            add_at(&sum[c], m, p, u >> 31);
        }
        if (--left == 0) {
            left = inner;
            c = c + 1 == channels ? 0 : c + 1;
        }
    }
}

/* acc += the finite values of x[0, n) (a long run of one channel); returns
 * how many there were. They are first summed in 64-bit integers per float
 * exponent, bucket[bank][exponent field] (zero on entry and on return; two
 * banks, alternating, so that equal exponents in a row do not wait on each
 * other; 255, NaN and inf, unused), then each bucket is added once: ~1 ns a
 * value instead of ~2.5. The result is the same integer as value by value. */
static int64_t add_run(CalibExact *acc, const float *x, int64_t n, int64_t bucket[2][256])
{
    int64_t finite = 0;
    for (int64_t j0 = 0; j0 < n; j0 += BUCKET_MAX_RUN) {
        int64_t end = n - j0 < BUCKET_MAX_RUN ? n : j0 + BUCKET_MAX_RUN, nonfinite = 0;
        for (int64_t j = j0; j < end; j++) {
            uint32_t u = f2u(x[j]), ef = (u >> 23) & 0xff;
            int64_t m = (int64_t)((u & 0x7fffffu) | (ef ? 0x800000u : 0)), sign = -(int64_t)(u >> 31);
            bucket[j & 1][ef] += (m ^ sign) - sign;
            nonfinite += ef == 0xff;
        }
        finite += end - j0 - nonfinite;
        for (unsigned ef = 0; ef < 0xff; ef++) {
            int64_t v = bucket[0][ef] + bucket[1][ef];
            bucket[0][ef] = bucket[1][ef] = 0;
            if (v)
                add_at(acc, v < 0 ? -(uint64_t)v : (uint64_t)v, ef ? ef - 1 : 0, v < 0);
        }
        bucket[0][0xff] = bucket[1][0xff] = 0;
    }
    return finite;
}

uint32_t calib_order_key(float x)
{
    uint32_t u = f2u(x);
    return u >> 31 ? ~u : u | 0x80000000u;
}

float calib_order_float(uint32_t key)
{
    uint32_t u = key >> 31 ? key & 0x7fffffffu : ~key;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

/* The channels' extreme keys over x (channel runs as calib_stats_add_channels),
 * non-finite values left out; branch-free within a run, so it vectorizes. */
static void chan_extremes(uint32_t *kmin, uint32_t *kmax, const float *x, int64_t n, int64_t channels,
                          int64_t inner)
{
    if (inner == 1) { /* [rows, channels]: across each row, which vectorizes */
        int64_t i = 0;
        for (; i + channels <= n; i += channels)
            for (int64_t c = 0; c < channels; c++) {
                uint32_t u = f2u(x[i + c]), k = u >> 31 ? ~u : u | 0x80000000u;
                bool fin = (u & 0x7f800000u) != 0x7f800000u;
                uint32_t kl = fin ? k : UINT32_MAX, kh = fin ? k : 0;
                kmin[c] = kl < kmin[c] ? kl : kmin[c];
                kmax[c] = kh > kmax[c] ? kh : kmax[c];
            }
        x += i, n -= i; /* a part of a row is left: the general loop */
    }
    int64_t c = 0;
    for (int64_t i = 0; i < n; i += inner) {
        int64_t end = n - i < inner ? n : i + inner;
        uint32_t lo = kmin[c], hi = kmax[c];
        for (int64_t j = i; j < end; j++) {
            uint32_t u = f2u(x[j]), k = u >> 31 ? ~u : u | 0x80000000u;
            bool fin = (u & 0x7f800000u) != 0x7f800000u;
            uint32_t kl = fin ? k : UINT32_MAX, kh = fin ? k : 0;
            lo = kl < lo ? kl : lo;
            hi = kh > hi ? kh : hi;
        }
        kmin[c] = lo, kmax[c] = hi;
        c = c + 1 == channels ? 0 : c + 1;
    }
}

void calib_stats_add_channels(CalibStats *s, const float *x, int64_t n, int64_t channels, int64_t inner)
{
    if (n <= 0)
        return;
    if (channels <= 0 || inner <= 0) { /* no such shape holds n > 0 values */
        calib_stats_add(s, x, n);
        return;
    }
    /* The histogram part, with the channel sums held aside so that
     * calib_stats_add keeps them; then the sums, when the values join them. */
    int64_t before = s->count, nchan = s->nchan, *count = s->chan_count;
    CalibExact *sum = s->chan_sum;
    uint32_t *kmin = s->chan_kmin, *kmax = s->chan_kmax;
    s->nchan = 0, s->chan_count = NULL, s->chan_sum = NULL, s->chan_kmin = s->chan_kmax = NULL;
    calib_stats_add(s, x, n);
    if (s->count == before) { /* no finite values: the sums stay as they were */
        s->nchan = nchan, s->chan_count = count, s->chan_sum = sum, s->chan_kmin = kmin, s->chan_kmax = kmax;
        return;
    }
    if (before > 0 && nchan != channels) { /* values not in sums (or other channels) */
        free(count);
        free(sum);
        free(kmin);
        free(kmax);
        return;
    }
    if (before == 0) {
        free(count);
        free(sum);
        free(kmin);
        free(kmax);
        count = xcalloc((size_t)channels, sizeof *count);
        sum = xcalloc((size_t)channels, sizeof *sum);
        kmin = xcalloc((size_t)channels, sizeof *kmin);
        kmax = xcalloc((size_t)channels, sizeof *kmax);
        memset(kmin, 0xff, (size_t)channels * sizeof *kmin); /* UINT32_MAX: none yet */
    }
    s->nchan = channels, s->chan_count = count, s->chan_sum = sum, s->chan_kmin = kmin, s->chan_kmax = kmax;
    if (kmin) /* (unknown extremes stay unknown) */
        chan_extremes(kmin, kmax, x, n, channels, inner);
    /* element i is in channel (i / inner) % channels: runs of `inner` values,
     * channel after channel */
    if (inner < BUCKET_MIN_RUN) {
        add_direct(sum, count, x, n, channels, inner);
        return;
    }
    int64_t c = 0, bucket[2][256] = {{0}};
    for (int64_t i = 0; i < n; i += inner) {
        count[c] += add_run(&sum[c], x + i, n - i < inner ? n - i : inner, bucket);
        c = c + 1 == channels ? 0 : c + 1;
    }
}

bool calib_stats_channel_range(const CalibStats *s, int64_t channels, double *lo, double *hi)
{
    if (s->nchan == 0 || s->nchan != channels || !s->chan_kmin)
        return false;
    for (int64_t c = 0; c < channels; c++) {
        bool any = s->chan_count[c] > 0;
        lo[c] = any ? calib_order_float(s->chan_kmin[c]) : 0;
        hi[c] = any ? calib_order_float(s->chan_kmax[c]) : 0;
    }
    return true;
}

bool calib_stats_channel_means(const CalibStats *s, int64_t channels, double *means)
{
    if (s->nchan == 0 || s->nchan != channels)
        return false;
    for (int64_t c = 0; c < channels; c++)
        means[c] = s->chan_count[c] ? calib_exact_mean(&s->chan_sum[c], s->chan_count[c]) : 0;
    return true;
}

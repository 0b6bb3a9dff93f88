/* test_calib_channels.c — channel sums in CalibStats and in the profile.
 *
 * Oracles: bit-for-bit equality of statistics and means whatever the batch
 * size, sample order and sharding; the same sums made value by value with
 * calib_exact_add (the long-run path of calib_stats_add_channels sums per
 * exponent first); means of small integers known exactly; a golden profile
 * text; and ~40 malformed variants of it, every truncation, and random
 * mutations (no crash, one error with file and line, or a faithful round
 * trip). */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "passes/calib.h"

/* ---- fixed-seed random numbers (splitmix64) ---- */

static uint64_t rng_state;
static void seed(uint64_t s) { rng_state = s; }
static uint64_t next_u64(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}
static double unif(void) { return (double)((next_u64() >> 11) + 1) / 9007199254740993.0; } /* (0, 1) */
static double gauss(void) { return sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif()); }

/* Activations with a per-channel offset, some zeros, NaN, inf, denormals, huge values. */
static float act(int64_t c)
{
    uint64_t r = next_u64() % 1000;
    return r < 50 ? 0.0f : r < 52 ? NAN : r < 53 ? -INFINITY : r < 56 ? (float)(unif() * 1e-40)
         : r < 58 ? (float)(gauss() * 1e37) : (float)(gauss() + 0.25 * (double)c);
}

static void same_means(const CalibStats *a, const CalibStats *b, int64_t channels)
{
    double *ma = malloc((size_t)channels * sizeof *ma), *mb = malloc((size_t)channels * sizeof *mb);
    assert_true(calib_stats_channel_means(a, channels, ma));
    assert_true(calib_stats_channel_means(b, channels, mb));
    assert_memory_equal(ma, mb, (size_t)channels * sizeof *ma);
    free(ma), free(mb);
}

/* ---- statistics ---- */

static void test_channels_basic(void **state)
{
    /* [N=2, C=3, inner=2]; channel 2 is all NaN in sample 0 */
    float x[] = {1, 2, -0.0f, 4, NAN, NAN, /* sample 0 */ 3, 5, 0.5f, -1, 7, INFINITY};
    CalibStats s;
    calib_stats_init(&s);
    calib_stats_add_channels(&s, x, 12, 3, 2);
    assert_null(calib_stats_check(&s));
    assert_true(s.count == 9 && s.nonfinite == 3 && s.nchan == 3);
    assert_true(s.chan_count[0] == 4 && s.chan_count[1] == 4 && s.chan_count[2] == 1);
    double m[3];
    assert_true(calib_stats_channel_means(&s, 3, m));
    assert_true(m[0] == 11.0 / 4 && m[1] == 3.5 / 4 && m[2] == 7);
    assert_false(calib_stats_channel_means(&s, 2, m));
    /* the extremes per channel: -0 below +0, NaN and inf left out */
    double lo[3], hi[3];
    assert_true(calib_stats_channel_range(&s, 3, lo, hi));
    assert_true(lo[0] == 1 && hi[0] == 5 && lo[1] == -1 && hi[1] == 4 && lo[2] == 7 && hi[2] == 7);
    assert_true(!calib_stats_channel_range(&s, 2, lo, hi));
    float zs[] = {0.0f, -0.0f, -0.0f, 0.0f}; /* the same values in either order: -0 is the min, +0 the max */
    CalibStats za, zb;
    calib_stats_init(&za), calib_stats_init(&zb);
    calib_stats_add_channels(&za, zs, 2, 1, 1);
    calib_stats_add_channels(&zb, zs + 2, 2, 1, 1);
    assert_true(calib_stats_equal(&za, &zb) && calib_stats_channel_range(&za, 1, lo, hi));
    assert_true(signbit(lo[0]) && !signbit(hi[0]));
    calib_stats_free(&za), calib_stats_free(&zb);
    CalibStats h; /* the histogram part is calib_stats_add's */
    calib_stats_init(&h);
    calib_stats_add(&h, x, 12);
    assert_true(h.nchan == 0 && !calib_stats_channel_means(&h, 3, m));
    CalibStats t = s;
    t.nchan = 0;
    assert_true(calib_stats_equal(&t, &h));
    assert_false(calib_stats_equal(&s, &h));
    calib_stats_free(&h);
    /* inner = 1 (Gemm [N, K]) and a channel with no finite value: mean 0 */
    float g[] = {1, NAN, 2, NAN, 3, NAN};
    calib_stats_free(&s);
    calib_stats_add_channels(&s, g, 6, 2, 1);
    assert_true(calib_stats_channel_means(&s, 2, m) && m[0] == 2 && m[1] == 0 && s.chan_count[1] == 0);
    assert_null(calib_stats_check(&s));
    /* nothing finite: no channel sums */
    calib_stats_free(&s);
    calib_stats_add_channels(&s, g + 1, 1, 2, 1);
    calib_stats_add_channels(&s, g, 0, 2, 1);
    assert_true(s.nchan == 0 && s.nonfinite == 1 && !calib_stats_channel_means(&s, 2, m));
    calib_stats_free(&s);
    /* no channel dim (a bad shape): calib_stats_add, which drops the sums */
    calib_stats_add_channels(&s, x, 12, 3, 2);
    calib_stats_add_channels(&s, x, 12, 0, 2);
    calib_stats_add_channels(&s, x, 12, 3, -1);
    calib_stats_add(&h, x, 12), calib_stats_add(&h, x, 12), calib_stats_add(&h, x, 12);
    assert_true(s.nchan == 0 && calib_stats_equal(&s, &h));
    calib_stats_free(&s), calib_stats_free(&h);
}

/* [N, C, inner] samples, added in batches of `batch` samples (in `order`). */
static void add_batches(CalibStats *s, const float *x, const size_t *order, size_t n, int64_t c, int64_t inner,
                        size_t batch, float *tmp)
{
    size_t per = (size_t)(c * inner);
    calib_stats_init(s);
    for (size_t i = 0; i < n; i += batch) {
        size_t k = n - i < batch ? n - i : batch;
        for (size_t j = 0; j < k; j++)
            memcpy(tmp + j * per, x + order[i + j] * per, per * sizeof *tmp);
        calib_stats_add_channels(s, tmp, (int64_t)(k * per), c, inner);
    }
    assert_null(calib_stats_check(s));
}

static void test_channels_batches(void **state)
{
    static const struct { int64_t c, inner; size_t n; } shapes[] = {
        {5, 6, 700},    /* small spatial: value by value */
        {3, 400, 150},  /* 20x20: runs summed per exponent */
        {17, 1, 900},   /* Gemm input [N, 17] */
        {1, 1000, 40},  /* one channel */
    };
    seed(1);
    for (size_t sh = 0; sh < sizeof shapes / sizeof *shapes; sh++) {
        int64_t c = shapes[sh].c, inner = shapes[sh].inner;
        size_t n = shapes[sh].n, per = (size_t)(c * inner);
        float *x = malloc(n * per * sizeof *x), *tmp = malloc(n * per * sizeof *x);
        size_t *order = malloc(n * sizeof *order);
        for (size_t i = 0; i < n * per; i++)
            x[i] = act((int64_t)(i / (size_t)inner) % c);
        for (size_t i = 0; i < n; i++)
            order[i] = i;
        CalibStats ref, s;
        add_batches(&ref, x, order, n, c, inner, n, tmp);
        /* the sums value by value, with calib_exact_add */
        for (int64_t ch = 0; ch < c; ch++) {
            CalibExact e = {{0}};
            int64_t cnt = 0;
            for (size_t i = 0; i < n * per; i++)
                if ((int64_t)(i / (size_t)inner) % c == ch && isfinite(x[i]))
                    calib_exact_add(&e, x[i]), cnt++;
            assert_memory_equal(&e, &ref.chan_sum[ch], sizeof e);
            assert_true(cnt == ref.chan_count[ch]);
        }
        static const size_t batches[] = {1, 7, 64};
        for (int shuffled = 0; shuffled < 2; shuffled++) {
            if (shuffled)
                for (size_t i = n - 1; i > 0; i--) {
                    size_t j = next_u64() % (i + 1), t = order[i];
                    order[i] = order[j], order[j] = t;
                }
            for (size_t b = 0; b < 3; b++) {
                add_batches(&s, x, order, n, c, inner, batches[b], tmp);
                assert_true(calib_stats_equal(&s, &ref));
                same_means(&s, &ref, c);
                calib_stats_free(&s);
            }
            add_batches(&s, x, order, n, c, inner, n, tmp);
            assert_true(calib_stats_equal(&s, &ref));
            calib_stats_free(&s);
        }
        /* shards, merged in two orders */
        CalibStats a, b, ab, ba;
        add_batches(&a, x, order, n / 3, c, inner, 5, tmp);
        add_batches(&b, x, order + n / 3, n - n / 3, c, inner, 11, tmp);
        calib_stats_init(&ab), calib_stats_init(&ba);
        calib_stats_merge(&ab, &a), calib_stats_merge(&ab, &b);
        calib_stats_merge(&ba, &b), calib_stats_merge(&ba, &a);
        assert_true(calib_stats_equal(&ab, &ref) && calib_stats_equal(&ba, &ref));
        same_means(&ab, &ref, c);
        /* the means are those of the finite values, near a double sum */
        double *m = malloc((size_t)c * sizeof *m);
        assert_true(calib_stats_channel_means(&ref, c, m));
        for (int64_t ch = 0; ch < c; ch++) {
            double sum = 0, big = 0;
            for (size_t i = 0; i < n * per; i++)
                if ((int64_t)(i / (size_t)inner) % c == ch && isfinite(x[i]))
                    sum += x[i], big = fmax(big, fabs(x[i]));
            assert_true(fabs(m[ch] - sum / (double)ref.chan_count[ch]) <= 1e-12 * big);
        }
        free(m);
        CalibStats *all[] = {&ref, &a, &b, &ab, &ba};
        for (size_t i = 0; i < 5; i++)
            calib_stats_free(all[i]);
        free(x), free(tmp), free(order);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* Throughput (printed, not asserted): calib_stats_add_channels against
 * calib_stats_add on the same values, for a conv input and a Gemm input. */
static void test_channels_speed(void **state)
{
    static const struct { const char *what; int64_t c, inner; } shapes[] = {
        {"conv input [8, 64, 56, 56]", 64, 56 * 56},
        {"gemm input [512, 2048]", 2048, 1},
        {"conv input [8, 64, 56, 56]", 64, 56 * 56},
    };
    seed(2);
    size_t n = 8 * 64 * 56 * 56;
    float *x = malloc(n * sizeof *x);
    for (size_t i = 0; i < n; i++)
        x[i] = act((int64_t)(i % 7));
    for (size_t k = 0; k < 3; k++) { /* the first one again, warm */
        CalibStats a, b;
        calib_stats_init(&a), calib_stats_init(&b);
        double t0 = now();
        calib_stats_add(&a, x, (int64_t)n);
        double t1 = now();
        calib_stats_add_channels(&b, x, (int64_t)n, shapes[k].c, shapes[k].inner);
        double t2 = now();
        printf("  %s: calib_stats_add %.2f ns, calib_stats_add_channels %.2f ns a value (sums: +%.2f)\n",
               shapes[k].what, (t1 - t0) * 1e9 / (double)n, (t2 - t1) * 1e9 / (double)n,
               ((t2 - t1) - (t1 - t0)) * 1e9 / (double)n);
        assert_true(b.nchan == shapes[k].c);
        calib_stats_free(&a), calib_stats_free(&b);
    }
    free(x);
}

/* When channel sums are kept, taken over, or dropped (calib.h). */
static void test_channels_rules(void **state)
{
    float v[] = {1, 2, 3, 4, 5, 6}, nan[] = {NAN, NAN};
    CalibStats s, t, e, u;
    calib_stats_init(&s);
    calib_stats_add_channels(&s, v, 6, 3, 2);
    calib_stats_init(&t);
    calib_stats_merge(&t, &s); /* the empty statistic takes them */
    assert_true(calib_stats_equal(&t, &s) && t.nchan == 3);
    calib_stats_init(&e);
    calib_stats_merge(&t, &e); /* and is the identity */
    assert_true(calib_stats_equal(&t, &s));
    calib_stats_add(&t, nan, 2); /* non-finite values keep them */
    calib_stats_add_channels(&t, nan, 2, 2, 1);
    assert_true(t.nchan == 3 && t.nonfinite == 4);
    calib_stats_add(&e, nan, 2); /* no finite values either: the identity for channels */
    calib_stats_merge(&e, &s);
    assert_true(e.nchan == 3);
    calib_stats_add(&t, v, 1); /* a finite value without channel: dropped */
    assert_true(t.nchan == 0 && !t.chan_count && !t.chan_sum);
    assert_null(calib_stats_check(&t));
    calib_stats_add_channels(&t, v, 6, 3, 2); /* and not back */
    assert_true(t.nchan == 0);
    calib_stats_free(&t);
    calib_stats_merge(&t, &s);
    calib_stats_add_channels(&t, v, 6, 2, 3); /* another channel count */
    assert_true(t.nchan == 0);
    calib_stats_init(&u);
    calib_stats_add_channels(&u, v, 6, 2, 3);
    /* merges of {3 channels, 2 channels, none, empty} in every order and grouping */
    CalibStats none, empty, *op[4] = {&s, &u, &none, &empty};
    calib_stats_init(&none), calib_stats_init(&empty);
    calib_stats_add(&none, v + 2, 3);
    static const int perms[][4] = {{0, 1, 2, 3}, {1, 0, 3, 2}, {3, 2, 1, 0}, {2, 3, 0, 1}, {0, 3, 1, 2}};
    CalibStats ref;
    for (int mask = 1; mask < 16; mask++) {
        calib_stats_init(&ref);
        for (int i = 0; i < 4; i++)
            if (mask >> i & 1)
                calib_stats_merge(&ref, op[i]);
        int with = (mask & 1) + (mask >> 1 & 1), without = mask >> 2 & 1;
        assert_true(ref.nchan == (with == 1 && !without ? (mask & 1 ? 3 : 2) : 0));
        for (size_t p = 0; p < sizeof perms / sizeof *perms; p++) {
            CalibStats l, r, tmp; /* ((a b) c) d and a (b (c d)) over the chosen ones */
            calib_stats_init(&l), calib_stats_init(&r);
            for (int i = 0; i < 4; i++)
                if (mask >> perms[p][i] & 1)
                    calib_stats_merge(&l, op[perms[p][i]]);
            for (int i = 3; i >= 0; i--)
                if (mask >> perms[p][i] & 1) {
                    calib_stats_init(&tmp);
                    calib_stats_merge(&tmp, op[perms[p][i]]);
                    calib_stats_merge(&tmp, &r);
                    calib_stats_free(&r);
                    r = tmp;
                }
            assert_true(calib_stats_equal(&l, &ref) && calib_stats_equal(&r, &ref));
            assert_null(calib_stats_check(&l));
            calib_stats_free(&l), calib_stats_free(&r);
        }
        calib_stats_free(&ref);
    }
    CalibStats *all[] = {&s, &t, &e, &u, &none, &empty};
    for (size_t i = 0; i < 6; i++)
        calib_stats_free(all[i]);
}

static void test_channels_check(void **state)
{
    float v[] = {-1, 2, 0.5f, 0.5f};
    CalibStats s;
    calib_stats_init(&s);
    calib_stats_add_channels(&s, v, 4, 2, 1); /* {-1, 0.5}, {2, 0.5} */
    assert_null(calib_stats_check(&s));
    s.chan_count[0]++;
    assert_string_equal(calib_stats_check(&s), "channel counts do not add up to count");
    s.chan_count[0] -= 2, s.chan_count[1]++; /* 1 value of sum -0.5, 3 of sum 2.5: possible */
    assert_null(calib_stats_check(&s));
    s.chan_count[0]--, s.chan_count[1]++; /* count 0, sum -0.5 */
    assert_string_equal(calib_stats_check(&s), "a channel's sum is not within count * [min, max]");
    s.chan_count[0] = -1, s.chan_count[1] = 5;
    assert_string_equal(calib_stats_check(&s), "negative channel count");
    s.chan_count[0] = 2, s.chan_count[1] = 2;
    calib_exact_add(&s.chan_sum[1], 2.0f); /* 4.5 > 2 * 2 */
    assert_string_equal(calib_stats_check(&s), "a channel's sum is not within count * [min, max]");
    calib_exact_add(&s.chan_sum[1], -0.5f); /* 4 = 2 * max: in */
    assert_null(calib_stats_check(&s));
    calib_exact_add(&s.chan_sum[1], ldexpf(1, -149)); /* the least excess is seen */
    assert_string_equal(calib_stats_check(&s), "a channel's sum is not within count * [min, max]");
    calib_stats_free(&s);
    calib_stats_add_channels(&s, v, 4, 2, 1);
    s.nchan = -1;
    assert_string_equal(calib_stats_check(&s), "bad channel arrays");
    s.nchan = 2;
    CalibStats z;
    calib_stats_init(&z);
    z.nchan = 1, z.chan_count = s.chan_count, z.chan_sum = s.chan_sum;
    z.chan_kmin = s.chan_kmin, z.chan_kmax = s.chan_kmax;
    assert_string_equal(calib_stats_check(&z), "channel sums without finite values");
    /* the channel extremes: ordered, inside [min, max], none for an empty channel */
    uint32_t k0 = s.chan_kmin[0];
    s.chan_kmin[0] = calib_order_key(2.5f); /* above the tensor's max */
    assert_non_null(strstr(calib_stats_check(&s), "min and max are not within"));
    s.chan_kmin[0] = s.chan_kmax[0] + 1; /* min > max */
    assert_non_null(strstr(calib_stats_check(&s), "min and max are not within"));
    s.chan_kmin[0] = k0;
    assert_null(calib_stats_check(&s));
    calib_stats_free(&s);
}

/* ---- the profile ---- */

#define Z36 "000000000000000000000000000000000000"
static const char BASE[] = "{\"qkc_profile\": 1,\n"
                           " \"model\": \"m.onnx\",\n"
                           " \"model_hash\": \"h1\",\n"
                           " \"samples\": 4,\n"
                           " \"tensors\": {\n"
                           "  \"x\": {\"min\": -1, \"max\": 2, \"count\": 6, \"nonfinite\": 1, \"zeros\": 1, \"hist\": {\n"
                           "    \"-1\": 1,\n"
                           "    \"0.5\": 1, \"0.75\": 2,\n"
                           "    \"2\": 1},\n"
                           "   \"channels\": {\"n\": 3,\n"
                           "    \"count\": [2, 2, 2],\n"
                           "    \"sum\": [\"-0x20" Z36 "p-149\", \"0x28" Z36 "p-149\", \"0x58" Z36 "p-149\"],\n"
                           "    \"min\": [-1, 0.5, 0.75],\n"
                           "    \"max\": [0, 0.75, 2]}},\n"
                           "  \"y\": {\"min\": 0, \"max\": 0, \"count\": 0, \"nonfinite\": 3, \"zeros\": 0, \"hist\": {}}\n"
                           " }}\n";

static void write_bytes(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(b, 1, n, f) == n);
    fclose(f);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    char *b = malloc(1 << 22);
    *len = fread(b, 1, (1 << 22) - 1, f);
    b[*len] = 0;
    fclose(f);
    return b;
}

static void read_ok(const char *path, CalibProfile *p)
{
    Diag d;
    diag_init(&d, NULL);
    if (!profile_read(path, p, &d))
        fail_msg("%s", d.buf);
    diag_fini(&d);
}

static void same_profile(const CalibProfile *a, const CalibProfile *b)
{
    assert_string_equal(a->model_hash, b->model_hash);
    assert_true(a->samples == b->samples && a->ntensors == b->ntensors);
    for (int32_t i = 0; i < a->ntensors; i++) {
        assert_string_equal(a->tensors[i].name, b->tensors[i].name);
        assert_true(calib_stats_equal(&a->tensors[i].stats, &b->tensors[i].stats));
        if (a->tensors[i].stats.nchan)
            same_means(&a->tensors[i].stats, &b->tensors[i].stats, a->tensors[i].stats.nchan);
    }
}

/* BASE, made from data by the writer: the golden text. */
static void test_profile_golden(void **state)
{
    CalibProfile p, q;
    profile_init(&p, "m.onnx", "h1");
    p.samples = 4;
    float x[] = {-1, 0.5f, 0.75f, 0, 0.75f, 2, NAN}, nan[] = {NAN, NAN, NAN};
    calib_stats_add_channels(profile_tensor(&p, "x"), x, 7, 3, 1);
    calib_stats_add(profile_tensor(&p, "y"), nan, 3);
    Diag d;
    diag_init(&d, NULL);
    assert_true(profile_write(&p, "test_calib_ch_golden.json", &d));
    size_t n;
    char *text = slurp("test_calib_ch_golden.json", &n);
    if (strcmp(text, BASE) != 0)
        fail_msg("written:\n%s\nwant:\n%s", text, BASE);
    free(text);
    read_ok("test_calib_ch_golden.json", &q);
    same_profile(&p, &q);
    double m[3];
    assert_true(calib_stats_channel_means(profile_find(&q, "x"), 3, m) && m[0] == -0.5 && m[1] == 0.625 &&
                m[2] == 1.375);
    profile_free(&q);
    /* without "channels": a profile as written before channel sums, still read */
    const char *cut = strstr(BASE, ",\n   \"channels\""), *rest = strstr(BASE, "}},\n  \"y\"");
    char old[sizeof BASE];
    size_t pre = (size_t)(cut - BASE);
    memcpy(old, BASE, pre);
    strcpy(old + pre, rest + 1);
    write_bytes("test_calib_ch_old.json", old, strlen(old));
    read_ok("test_calib_ch_old.json", &q);
    assert_true(profile_find(&q, "x")->nchan == 0 && profile_find(&q, "x")->count == 6);
    profile_free(&q);
    /* channels without their extremes (as written before them): read, the sums kept, the extremes unknown,
     * written back without them, and unknown after a merge with known ones */
    cut = strstr(BASE, ",\n    \"min\""), rest = strstr(BASE, "]}},\n  \"y\"");
    pre = (size_t)(cut - BASE);
    memcpy(old, BASE, pre);
    strcpy(old + pre, rest + 1);
    write_bytes("test_calib_ch_old2.json", old, strlen(old));
    read_ok("test_calib_ch_old2.json", &q);
    const CalibStats *ox = profile_find(&q, "x");
    double lo[3], hi[3];
    assert_true(ox->nchan == 3 && !ox->chan_kmin && calib_stats_channel_means(ox, 3, m) && m[1] == 0.625 &&
                !calib_stats_channel_range(ox, 3, lo, hi));
    assert_true(profile_write(&q, "test_calib_ch_old3.json", &d));
    char *again = slurp("test_calib_ch_old3.json", &n);
    assert_string_equal(again, old);
    free(again);
    CalibStats mx;
    calib_stats_init(&mx);
    calib_stats_merge(&mx, profile_find(&p, "x"));
    assert_true(calib_stats_channel_range(&mx, 3, lo, hi));
    calib_stats_merge(&mx, ox);
    assert_true(mx.nchan == 3 && !mx.chan_kmin && !calib_stats_channel_range(&mx, 3, lo, hi));
    assert_null(calib_stats_check(&mx));
    calib_stats_free(&mx);
    profile_free(&q);
    profile_free(&p);
    diag_fini(&d);
}

static void fill_profile(CalibProfile *p, uint64_t sd, int64_t wide)
{
    profile_init(p, "net.onnx", "h");
    p->samples = 8;
    seed(sd);
    float x[4096];
    for (int b = 0; b < 4; b++) {
        for (int i = 0; i < 4096; i++)
            x[i] = act(i / 64 % 3);
        calib_stats_add_channels(profile_tensor(p, "conv"), x, 4096, 3, 64);
        calib_stats_add_channels(profile_tensor(p, "fc"), x, 4096, wide, 1);
        calib_stats_add(profile_tensor(p, "plain"), x, 4096);
        for (int i = 0; i < 4096; i++) /* huge values of both signs; channel 1 never finite */
            x[i] = i % 2 ? NAN : i % 4 ? FLT_MAX : -FLT_MAX * (float)(unif() > 0.3);
        calib_stats_add_channels(profile_tensor(p, "huge"), x, 4096, 2, 1);
    }
}

static void test_profile_roundtrip_merge(void **state)
{
    CalibProfile a, b, all, q;
    fill_profile(&a, 1, 40);
    fill_profile(&b, 2, 40);
    fill_profile(&all, 1, 40);
    for (int32_t i = 0; i < all.ntensors; i++)
        calib_stats_merge(&all.tensors[i].stats, &b.tensors[i].stats);
    all.samples += b.samples;
    assert_true(profile_find(&all, "fc")->nchan == 40 && profile_find(&all, "huge")->chan_count[1] == 0);
    Diag d;
    diag_init(&d, NULL);
    assert_true(profile_write(&a, "test_calib_ch_a.json", &d) && profile_write(&b, "test_calib_ch_b.json", &d));
    assert_true(profile_write(&all, "test_calib_ch_all.json", &d));
    read_ok("test_calib_ch_all.json", &q);
    same_profile(&q, &all);
    assert_true(profile_write(&q, "test_calib_ch_all2.json", &d));
    size_t n1, n2;
    char *f1 = slurp("test_calib_ch_all.json", &n1), *f2 = slurp("test_calib_ch_all2.json", &n2);
    assert_true(n1 == n2 && memcmp(f1, f2, n1) == 0);
    free(f1), free(f2);
    profile_free(&q);
    /* merged from the files = collected at once, whichever way round */
    CalibProfile ra, rb;
    read_ok("test_calib_ch_a.json", &ra), read_ok("test_calib_ch_b.json", &rb);
    assert_true(profile_merge(&ra, &rb, &d));
    same_profile(&ra, &all);
    profile_free(&ra), profile_free(&rb);
    read_ok("test_calib_ch_a.json", &ra), read_ok("test_calib_ch_b.json", &rb);
    assert_true(profile_merge(&rb, &ra, &d));
    same_profile(&rb, &all);
    assert_int_equal(d.warnings, 0);
    profile_free(&ra), profile_free(&rb);
    /* other channel counts: merged without them, with a warning */
    CalibProfile c;
    fill_profile(&c, 3, 41);
    assert_true(profile_merge(&a, &c, &d));
    assert_true(profile_find(&a, "fc")->nchan == 0 && profile_find(&a, "conv")->nchan == 3);
    assert_int_equal(d.warnings, 1);
    assert_true(diag_contains(&d, "tensor 'fc': channel sums dropped (41 channels here, 40 in (unsaved profile)"));
    diag_fini(&d);
    CalibProfile *v[] = {&a, &b, &all, &c};
    for (size_t i = 0; i < 4; i++)
        profile_free(v[i]);
}

/* Reading `text` fails with `msg` at `line` (0: any line), leaving p empty. */
static void expect_bad(const char *text, size_t n, int line, const char *msg)
{
    const char *path = "test_calib_ch_bad.json";
    write_bytes(path, text, n);
    CalibProfile p;
    Diag d;
    diag_init(&d, NULL);
    bool ok = profile_read(path, &p, &d);
    char where[64];
    snprintf(where, sizeof where, "%s:%d:", path, line);
    size_t pl = strlen(path);
    bool placed = !ok && (line ? strncmp(d.buf, where, strlen(where)) == 0
                               : strncmp(d.buf, path, pl) == 0 && d.buf[pl] == ':' && d.buf[pl + 1] >= '1' &&
                                     d.buf[pl + 1] <= '9');
    if (ok || d.errors != 1 || !placed || (msg && !diag_contains(&d, msg)))
        fail_msg("input:\n%.*s\nwant %s %s, got %s", (int)n, text, where, msg ? msg : "", ok ? "success" : d.buf);
    assert_true(p.ntensors == 0 && !p.tensors && !p.model && !p.path);
    diag_fini(&d);
}

/* BASE with the first `find` replaced by `repl`. */
static void expect_bad_edit(const char *find, const char *repl, int line, const char *msg)
{
    const char *at = strstr(BASE, find);
    if (!at)
        fail_msg("'%s' not in BASE", find);
    size_t pre = (size_t)(at - BASE), rl = strlen(repl), fl = strlen(find), n = pre + rl + strlen(at + fl);
    char *t = malloc(n + 1);
    memcpy(t, BASE, pre);
    memcpy(t + pre, repl, rl);
    strcpy(t + pre + rl, at + fl);
    expect_bad(t, n, line, msg);
    free(t);
}

#define S0 "\"-0x20" Z36 "p-149\""
#define S2 "\"0x58" Z36 "p-149\""

static void test_profile_malformed(void **state)
{
    static const struct {
        const char *find, *repl;
        int line;
        const char *msg;
    } cases[] = {
        {"\"n\": 3", "\"n\": 0", 10, "the channel count n must be at least 1"},
        {"\"n\": 3", "\"n\": -3", 10, "the channel count n must not be negative"},
        {"\"n\": 3", "\"n\": 3.0", 10, "the channel count n must be an integer"},
        {"\"n\": 3", "\"n\": \"3\"", 10, "expected the channel count n (a number)"},
        {"\"n\": 3", "\"n\": 99999999999999999999", 10, "the channel count n is too large"},
        {"\"n\": 3", "\"n\": 2", 11, "tensor 'x': 3 channel counts for n = 2 channels"},
        {"\"n\": 3", "\"n\": 4", 11, "tensor 'x': 3 channel counts for n = 4 channels"},
        {"{\"n\": 3,", "{", 10, "the channels of tensor 'x' have no 'n'"},
        {"\n    \"count\": [2, 2, 2],", "", 10, "the channels of tensor 'x' have no 'count'"},
        {",\n    \"sum\"", ", \"x\": 1,\n    \"sum\"", 11, "unknown key in the channels of tensor 'x'"},
        {"\"n\": 3,", "\"n\": 3, \"mean\": [1],", 10, "unknown key in the channels of tensor 'x' (want n, count, sum, min, max)"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 2, 2], \"count\": [2, 2, 2]", 11,
         "duplicate key 'count' in the channels of tensor 'x'"},
        {"\"n\": 3,", "\"n\": 3, \"n\": 3,", 10, "duplicate key 'n' in the channels"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 2]", 11, "tensor 'x': 2 channel counts for n = 3 channels"},
        {"\"count\": [2, 2, 2]", "\"count\": []", 11, "tensor 'x': 0 channel counts for n = 3 channels"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 2, 2,]", 11, "expected a channel count (a number), found ']'"},
        {"\"count\": [2, 2, 2]", "\"count\": [2 2, 2]", 11, "expected ',' or ']' in the channel counts, found '2'"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 02, 2]", 11, "expected ',' or ']' in the channel counts"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, -2, 2]", 11, "a channel count must not be negative"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 2.5, 2]", 11, "a channel count must be an integer"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, \"2\", 2]", 11, "expected a channel count (a number)"},
        {"\"count\": [2, 2, 2]", "\"count\": 6", 11, "expected '[' (the channel counts), found '6'"},
        {"\"count\": [2, 2, 2]", "\"count\": {}", 11, "expected '[' (the channel counts), found '{'"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 2, 3]", 6, "tensor 'x': inconsistent statistics: channel counts do "
                                                             "not add up to count"},
        {"\"count\": [2, 2, 2]", "\"count\": [3, 2, 1]", 6, "a channel's sum is not within count * [min, max]"},
        {"\"count\": [2, 2, 2]", "\"count\": [2, 4, 0]", 6, "a channel's sum is not within count * [min, max]"},
        {S0, "5", 12, "expected a channel sum (a string), found '5'"},
        {S0, "\"-0x20" Z36 "P-149\"", 12, "malformed channel sum \"-0x20000000"},
        {S0, "\"-0x020" Z36 "p-149\"", 12, "malformed channel sum"},
        {S0, "\"-0x20" Z36 "p-148\"", 12, "malformed channel sum"},
        {S0, "\"-0x0p-149\"", 12, "malformed channel sum \"-0x0p-149\" (want [-]0x<hex digits>p-149)"},
        {S0, "\"-1\"", 12, "malformed channel sum \"-1\""},
        {S0, "\"-0x1.0p+0\"", 12, "malformed channel sum"},
        {S0, "\"\"", 12, "malformed channel sum \"\""},
        {S0, "\" -0x20" Z36 "p-149\"", 12, "malformed channel sum"},
        {S0, "\"-0x2G" Z36 "p-149\"", 12, "malformed channel sum"},
        {S0, "\"0x1" Z36 Z36 "000000000000000000000000p-149\"", 12, "malformed channel sum"}, /* 97 digits */
        {S0, "\"-0x2\\u0000\"", 12, "NUL character in a string"},
        {S0, "\"-0x60" Z36 "p-149\"", 6, "a channel's sum is not within count * [min, max]"}, /* -3 < 2 * min */
        {S0, "\"0x1" Z36 "000000000000p-149\"", 6, "a channel's sum is not within count * [min, max]"},
        {S2, "\"0x58" Z36 "p-149\", \"0x0p-149\"", 12, "tensor 'x': 4 channel sums for n = 3 channels"},
        {", " S2, "", 12, "tensor 'x': 2 channel sums for n = 3 channels"},
        {S2 "]", S2 ",]", 12, "expected a channel sum (a string), found ']'"},
        {S2 "]", S2 "}", 12, "expected ',' or ']' in the channel sums, found '}'"},
        {"\"sum\": [", "\"sum\": {", 12, "expected '[' (the channel sums), found '{'"},
        {"]}},\n  \"y\"", "], \"sum\": []}},\n  \"y\"", 14, "duplicate key 'sum' in the channels of tensor 'x'"},
        {"]}},\n  \"y\"", "]}, \"channels\": {}},\n  \"y\"", 14, "duplicate key 'channels' in tensor 'x'"},
        /* the channel extremes */
        {",\n    \"min\": [-1, 0.5, 0.75]", "", 10, "the channels of tensor 'x' have 'max' without 'min'"},
        {"\"max\": [0, 0.75, 2]", "\"max\": [0, 0.75]", 14, "tensor 'x': 2 channel maxs for n = 3 channels"},
        {"\"min\": [-1, 0.5, 0.75]", "\"min\": [-1, 0.1, 0.75]", 13, "a channel minimum is not a float32 value"},
        {"\"min\": [-1, 0.5, 0.75]", "\"min\": [-1, 0.5, \"0\"]", 13, "expected a channel minimum (a number)"},
        {"\"min\": [-1, 0.5, 0.75]", "\"min\": [-1, 0.5, 2.25]", 6,
         "tensor 'x': inconsistent statistics: a channel's min and max are not within [min, max]"},
        {"\"max\": [0, 0.75, 2]", "\"max\": [0, 0.75, 2.5]", 6, "a channel's min and max are not within [min, max]"},
        {"\"min\": [-1, 0.5, 0.75]", "\"min\": [-1, 0.5, 0.75], \"min\": []", 13, "duplicate key 'min'"},
        {"\"channels\": {", "\"channels\": [", 10, "expected '{' (the channel sums), found '['"},
        {"\"channels\": {\"n\": 3,", "\"channels\": {},", 10, "expected a key (a string), found '}'"},
        {"\"channels\": {\"n\": 3,", "\"channels\": null, \"z\": {\"n\": 3,", 10, "expected '{' (the channel sums)"},
        {"\"hist\": {}}", "\"hist\": {}, \"channels\": {\"n\": 1, \"count\": [0], \"sum\": [\"0x0p-149\"], \"min\": [0], \"max\": [0]}}", 15,
         "tensor 'y': inconsistent statistics: channel sums without finite values"},
        {"\"channels\"", "\"Channels\"", 10, "unknown key in tensor 'x' (want min, max, count, nonfinite, zeros, hist, "
                                             "channels)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_bad_edit(cases[i].find, cases[i].repl, cases[i].line, cases[i].msg);
    printf("  %zu malformed channel sections rejected\n", sizeof cases / sizeof *cases);
    /* every proper prefix is an error with file and line */
    size_t n = strlen(BASE);
    for (size_t k = 0; k + 1 < n; k++) /* all but the last newline */
        expect_bad(BASE, k, 0, NULL);
}

/* Random edits of BASE: no crash (run under ASan/UBSan), one error with
 * file and line when rejected, a faithful round trip when not. */
static void test_profile_mutated(void **state)
{
    static const char tokens[] = "{}[]\":,.-+eE0123456789abcdefxp\\u \n\x00\xff";
    const char *path = "test_calib_ch_mut.json";
    size_t base_n = strlen(BASE);
    char *t = malloc(2 * base_n + 64);
    int accepted = 0, with_channels = 0;
    seed(99);
    for (int it = 0; it < 6000; it++) {
        memcpy(t, BASE, base_n);
        size_t n = base_n;
        for (int e = 1 + (int)(next_u64() % 3); e > 0; e--) {
            /* half the edits in the channel section (lines 10-12) */
            size_t from = next_u64() % 2 ? (size_t)(strstr(BASE, "   \"channels\"") - BASE) : 0;
            size_t at = from + next_u64() % (n - from);
            char c = next_u64() % 4 ? tokens[next_u64() % (sizeof tokens - 1)] : (char)next_u64();
            switch (next_u64() % 4) {
            case 0: t[at] = c; break;
            case 1: memmove(t + at + 1, t + at, n - at), t[at] = c, n++; break;
            case 2: if (n > 1) memmove(t + at, t + at + 1, n - at - 1), n--; break;
            default: { /* duplicate a short span */
                size_t len = 1 + next_u64() % 24;
                if (at + len <= n && n + len < 2 * base_n + 64)
                    memmove(t + at + len, t + at, n - at), n += len;
            }
            }
        }
        write_bytes(path, t, n);
        CalibProfile p, q;
        Diag d;
        diag_init(&d, NULL);
        if (profile_read(path, &p, &d)) {
            accepted++;
            for (int32_t i = 0; i < p.ntensors; i++) {
                const CalibStats *s = &p.tensors[i].stats;
                assert_null(calib_stats_check(s));
                if (s->nchan) {
                    with_channels++;
                    double *m = malloc((size_t)s->nchan * sizeof *m);
                    assert_true(calib_stats_channel_means(s, s->nchan, m));
                    for (int64_t c = 0; c < s->nchan; c++)
                        assert_true(s->chan_count[c] == 0 ? m[c] == 0 : m[c] >= s->min && m[c] <= s->max);
                    free(m);
                }
            }
            assert_true(profile_write(&p, "test_calib_ch_mut2.json", &d));
            read_ok("test_calib_ch_mut2.json", &q);
            same_profile(&p, &q);
            profile_free(&q);
        } else {
            assert_int_equal(d.errors, 1);
            assert_true(strncmp(d.buf, "test_calib_ch_mut.json:", 23) == 0 && d.buf[23] >= '1' && d.buf[23] <= '9');
        }
        profile_free(&p);
        diag_fini(&d);
    }
    printf("  mutations: %d of 6000 still valid profiles (%d tensors with channel sums)\n", accepted, with_channels);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_channels_basic),
        cmocka_unit_test(test_channels_batches),
        cmocka_unit_test(test_channels_speed),
        cmocka_unit_test(test_channels_rules),
        cmocka_unit_test(test_channels_check),
        cmocka_unit_test(test_profile_golden),
        cmocka_unit_test(test_profile_roundtrip_merge),
        cmocka_unit_test(test_profile_malformed),
        cmocka_unit_test(test_profile_mutated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

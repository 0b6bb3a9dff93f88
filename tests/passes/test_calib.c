/* test_calib.c — calibration statistics, ranges and the profile file.
 *
 * Oracles are independent of the code under test: synthetic distributions
 * drawn from a fixed-seed PRNG here, whose optimal clipping thresholds are
 * known in closed form (quantiles) or found by brute force over the exact
 * error integral of the distribution (MSE); bit-for-bit comparisons for
 * order, batch and merge independence; and ~50 malformed profiles plus every
 * truncation and a few thousand random mutations of a valid one. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static double expo(double b) { return -b * log(unif()); }
static double laplace(double b) { return (next_u64() & 1 ? 1 : -1) * expo(b); }

static float *alloc_floats(size_t n)
{
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    return x;
}

static void shuffle(float *x, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = next_u64() % (i + 1);
        float t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static void stats_of(CalibStats *s, const float *x, size_t n)
{
    calib_stats_init(s);
    calib_stats_add(s, x, (int64_t)n);
    assert_null(calib_stats_check(s));
}

static double range_hi(const CalibStats *s, CalibMethod m, bool sym, double *lo)
{
    CalibOptions o;
    calib_options_default(&o);
    o.method = m, o.symmetric = sym;
    double l, h;
    assert_true(calib_range(s, &o, &l, &h));
    assert_true(l <= 0 && h >= 0 && h - l > 0);
    if (sym)
        assert_true(l == -h);
    if (lo)
        *lo = l;
    return h;
}

static void report(const char *what, double got, double want)
{
    printf("  %-44s %10.5f  want %10.5f  (%+.2f%%)\n", what, got, want, 100 * (got / want - 1));
}

/* argmin over t in [t0, t1] (step dt) of an error function: the brute-force oracle */
static double brute_argmin(double (*f)(double, double), double p, double t0, double t1, double dt)
{
    double best = INFINITY, bt = t0;
    for (double t = t0; t <= t1; t += dt) {
        double e = f(t, p);
        if (e < best)
            best = e, bt = t;
    }
    return bt;
}

/* ---- bins ---- */

static void test_bins(void **state)
{
    seed(1);
    for (int i = 0; i < 200000; i++) {
        uint32_t u = (uint32_t)next_u64();
        float f;
        memcpy(&f, &u, sizeof f);
        if (!isfinite(f) || f == 0)
            continue;
        int key = calib_bin_key(f);
        assert_true(calib_key_valid(key));
        double lo, hi;
        calib_bin_bounds(key, &lo, &hi);
        assert_true(lo < hi);
        assert_true(f > 0 ? (lo <= f && f < hi) : (lo < f && f <= hi));
        float edge = calib_bin_float(key);
        assert_true(edge == (f > 0 ? lo : hi));
        if (fabs(f) >= 1.1754944e-38f) /* normal: relative width 1/64 of the edge */
            assert_true((hi - lo) / fabs((double)edge) <= 1.0 / 64 + 1e-15);
        /* keys ascend with value */
        float g = nextafterf(f, INFINITY);
        if (isfinite(g) && g != 0)
            assert_true(calib_bin_key(g) >= key);
    }
    assert_false(calib_key_valid(0x4000 + (0xff << 6)));
    assert_int_equal(calib_bin_key(1.0f) + 1, calib_bin_key(1.015625f));
    assert_int_equal(calib_bin_key(1.0f), calib_bin_key(1.0156f));
}

static void test_basic_counts(void **state)
{
    float x[] = {1.5f, -0.0f, NAN, 0.0f, -INFINITY, 3.0f, INFINITY, -2.0f, 1e-45f, -1e-45f};
    CalibStats a, b;
    stats_of(&a, x, 10);
    assert_int_equal(a.count, 7);
    assert_int_equal(a.nonfinite, 3);
    assert_int_equal(a.zeros, 2);
    assert_int_equal(a.nbins, 5);
    assert_true(a.min == -2 && a.max == 3);
    /* -0 < +0 for the extremes, whatever the order */
    float z1[] = {0.0f, -0.0f}, z2[] = {-0.0f, 0.0f};
    stats_of(&b, z1, 2);
    assert_true(signbit(b.min) && !signbit(b.max));
    calib_stats_free(&b);
    stats_of(&b, z2, 2);
    assert_true(signbit(b.min) && !signbit(b.max));
    calib_stats_free(&b);
    calib_stats_free(&a);
}

/* ---- order, batch and merge independence ---- */

static size_t mixed_data(float *x, size_t n)
{
    size_t k = 0;
    while (k < n) {
        uint64_t r = next_u64() % 1000;
        x[k++] = r < 20 ? 0.0f : r < 25 ? -0.0f : r < 27 ? NAN : r < 28 ? (r & 1 ? INFINITY : -INFINITY)
               : r < 30 ? (float)(unif() * 1e-40) : r < 32 ? (float)(gauss() * 1e6) : (float)(gauss() * 3 + 1);
    }
    return k;
}

static const CalibMethod methods[] = {CALIB_MINMAX, CALIB_PERCENTILE, CALIB_ENTROPY, CALIB_MSE};

static void same_ranges(const CalibStats *a, const CalibStats *b)
{
    for (int m = 0; m < 4; m++)
        for (int sym = 0; sym < 2; sym++) {
            double la, lb, ha = range_hi(a, methods[m], sym, &la), hb = range_hi(b, methods[m], sym, &lb);
            assert_memory_equal(&la, &lb, sizeof la);
            assert_memory_equal(&ha, &hb, sizeof ha);
        }
}

static void test_order_batch_independence(void **state)
{
    seed(2);
    size_t n = 60000;
    float *x = alloc_floats(n);
    mixed_data(x, n);
    CalibStats ref;
    stats_of(&ref, x, n);
    static const size_t batches[] = {1, 7, 64, 4096, 5000, 60000};
    for (int shuffled = 0; shuffled < 2; shuffled++) {
        if (shuffled)
            shuffle(x, n);
        for (size_t b = 0; b < sizeof batches / sizeof *batches; b++) {
            CalibStats s;
            calib_stats_init(&s);
            for (size_t i = 0; i < n; i += batches[b])
                calib_stats_add(&s, x + i, (int64_t)(n - i < batches[b] ? n - i : batches[b]));
            assert_true(calib_stats_equal(&s, &ref));
            same_ranges(&s, &ref);
            calib_stats_free(&s);
        }
        /* batches of random sizes */
        CalibStats s;
        calib_stats_init(&s);
        for (size_t i = 0; i < n;) {
            size_t k = 1 + next_u64() % 9000;
            k = k > n - i ? n - i : k;
            calib_stats_add(&s, x + i, (int64_t)k);
            i += k;
        }
        assert_true(calib_stats_equal(&s, &ref));
        calib_stats_free(&s);
    }
    calib_stats_free(&ref);
    free(x);
}

static void copy_stats(CalibStats *dst, const CalibStats *src)
{
    calib_stats_init(dst);
    calib_stats_merge(dst, src);
}

static void test_merge(void **state)
{
    seed(3);
    size_t n = 30000;
    float *x = alloc_floats(3 * n);
    mixed_data(x, n);
    for (size_t i = n; i < 2 * n; i++) /* different supports, so merged bins interleave */
        x[i] = (float)laplace(0.2);
    for (size_t i = 2 * n; i < 3 * n; i++)
        x[i] = i % 3 ? (float)expo(5) : 0.0f;
    CalibStats a, b, c, all, ab, ba, ab_c, bc, a_bc;
    stats_of(&a, x, n);
    stats_of(&b, x + n, n);
    stats_of(&c, x + 2 * n, 100); /* a small one: the sparse path */
    calib_stats_add(&c, x + 2 * n + 100, (int64_t)n - 100);
    stats_of(&all, x, 3 * n);
    copy_stats(&ab, &a), calib_stats_merge(&ab, &b);
    copy_stats(&ba, &b), calib_stats_merge(&ba, &a);
    assert_true(calib_stats_equal(&ab, &ba));
    copy_stats(&ab_c, &ab), calib_stats_merge(&ab_c, &c);
    copy_stats(&bc, &b), calib_stats_merge(&bc, &c);
    copy_stats(&a_bc, &a), calib_stats_merge(&a_bc, &bc);
    assert_true(calib_stats_equal(&ab_c, &a_bc));
    assert_true(calib_stats_equal(&ab_c, &all));
    same_ranges(&ab_c, &all);
    CalibStats e; /* the empty statistic is the identity */
    calib_stats_init(&e);
    calib_stats_merge(&e, &all);
    assert_true(calib_stats_equal(&e, &all));
    calib_stats_merge(&e, &(CalibStats){0});
    assert_true(calib_stats_equal(&e, &all));
    CalibStats *v[] = {&a, &b, &c, &all, &ab, &ba, &ab_c, &bc, &a_bc, &e};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        calib_stats_free(v[i]);
    free(x);
}

/* ---- accuracy on synthetic distributions ---- */

#define N_BIG 2000000

static void test_uniform(void **state)
{
    seed(4);
    const double a = 3;
    float *x = alloc_floats(N_BIG);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = (float)((2 * unif() - 1) * a);
    CalibStats s;
    stats_of(&s, x, N_BIG);
    /* MSE: d/dT [(a-T)^3/3a + (T/127)^2/12 * T/a] = 0  =>  T = 254a/255 (s8);
     * with the u8 step 2T/255 instead, T = 255a/256 */
    static const char *names[] = {"minmax", "percentile 99.99", "entropy", "mse"};
    for (int m = 0; m < 4; m++)
        for (int sym = 0; sym < 2; sym++) {
            double lo, hi = range_hi(&s, methods[m], sym, &lo);
            double want = methods[m] == CALIB_MSE ? (sym ? 254 * a / 255 : 255 * a / 256) : a;
            char what[64];
            snprintf(what, sizeof what, "uniform[-3,3] %s %s hi", names[m], sym ? "s8" : "u8");
            report(what, hi, want);
            assert_true(fabs(hi / want - 1) < (methods[m] == CALIB_ENTROPY ? 0.01 : 0.002));
            assert_true(fabs(-lo / want - 1) < (methods[m] == CALIB_ENTROPY ? 0.01 : 0.002));
        }
    calib_stats_free(&s);
    free(x);
}

/* Expected squared error of an s8 grid (step T/127) on N(0,1), exactly. */
static double gauss_mse(double t, double unused)
{
    double q = 0.5 * erfc(t / sqrt(2)), phi = exp(-t * t / 2) / sqrt(2 * M_PI);
    double d = t / 127;
    return 2 * ((1 + t * t) * q - t * phi) + d * d / 12 * (1 - 2 * q);
}

static void test_gaussian(void **state)
{
    seed(5);
    const double sigma = 0.7;
    float *x = alloc_floats(N_BIG);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = (float)(gauss() * sigma);
    CalibStats s;
    stats_of(&s, x, N_BIG);
    double lo;
    /* P(|x| > 3.8906 sigma) = 1e-4; and the samples' own quantile (sorted |x|):
     * the histogram's answer is within a bin (1/64) of it */
    double hi = range_hi(&s, CALIB_PERCENTILE, true, NULL);
    report("gauss percentile 99.99 s8 T/sigma", hi / sigma, 3.890592);
    assert_true(fabs(hi / sigma / 3.890592 - 1) < 0.016);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = fabsf(x[i]);
    qsort(x, N_BIG, sizeof *x, cmp_float);
    double qs = x[(size_t)ceil(0.9999 * N_BIG) - 1];
    report("gauss percentile 99.99 s8 T vs sample quantile", hi, qs);
    assert_true(fabs(hi / qs - 1) < 1.0 / 64);
    hi = range_hi(&s, CALIB_PERCENTILE, false, &lo); /* 0.005% per side: the same quantile */
    report("gauss percentile 99.99 u8 hi/sigma", hi / sigma, 3.890592);
    assert_true(fabs(hi / sigma / 3.890592 - 1) < 0.03 && fabs(-lo / sigma / 3.890592 - 1) < 0.03);
    double topt = brute_argmin(gauss_mse, 0, 1, 8, 1e-5);
    hi = range_hi(&s, CALIB_MSE, true, NULL);
    report("gauss mse s8 T/sigma", hi / sigma, topt);
    printf("  %-44s %10.6f\n", "  excess error of T_mse over the optimum", gauss_mse(hi / sigma, 0) / gauss_mse(topt, 0) - 1);
    assert_true(fabs(hi / sigma / topt - 1) < 0.03);
    hi = range_hi(&s, CALIB_ENTROPY, true, NULL);
    printf("  %-44s %10.5f  (excess mse %+.1f%%)\n", "gauss entropy s8 T/sigma", hi / sigma,
           100 * (gauss_mse(hi / sigma, 0) / gauss_mse(topt, 0) - 1));
    assert_true(hi / sigma > 2.5 && hi / sigma < 6);
    hi = range_hi(&s, CALIB_MINMAX, true, NULL);
    assert_true(hi == fmax(-s.min, s.max));
    calib_stats_free(&s);
    free(x);
}

/* Laplace(b = 1): exact expected error of an s8 grid over [-t, t]. */
static double laplace_mse(double t, double unused)
{
    double d = t / 127;
    return 2 * exp(-t) + d * d / 12 * (1 - exp(-t));
}

static void test_laplace_mse(void **state)
{
    seed(6);
    const double b = 2.5;
    float *x = alloc_floats(N_BIG);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = (float)laplace(b);
    CalibStats s;
    stats_of(&s, x, N_BIG);
    double topt = brute_argmin(laplace_mse, 0, 1, 30, 1e-5);
    double hi = range_hi(&s, CALIB_MSE, true, NULL);
    report("laplace mse s8 T/b", hi / b, topt);
    printf("  %-44s %10.6f\n", "  excess error of T_mse over the optimum", laplace_mse(hi / b, 0) / laplace_mse(topt, 0) - 1);
    assert_true(fabs(hi / b / topt - 1) < 0.03);
    assert_true(laplace_mse(hi / b, 0) / laplace_mse(topt, 0) - 1 < 0.002);
    hi = range_hi(&s, CALIB_PERCENTILE, true, NULL); /* P(|x| > t) = exp(-t/b) = 1e-4 */
    report("laplace percentile 99.99 s8 T/b", hi / b, -log(1e-4));
    assert_true(fabs(hi / b / -log(1e-4) - 1) < 0.03);
    hi = range_hi(&s, CALIB_ENTROPY, true, NULL);
    printf("  %-44s %10.5f  (excess mse %+.1f%%)\n", "laplace entropy s8 T/b", hi / b,
           100 * (laplace_mse(hi / b, 0) / laplace_mse(topt, 0) - 1));
    assert_true(hi / b > 4 && hi / b < 20);
    calib_stats_free(&s);
    free(x);
}

/* N(0,1) x n plus one value at 1000 and one at -400: the exact total squared
 * error of an s8 grid over [-t, t], and of a u8 grid over [lo, hi]. */
static double sq(double x) { return x * x; }
static double gclip(double t) /* E[(x - t)^2; x > t] for N(0, 1) */
{
    return (1 + t * t) * 0.5 * erfc(t / sqrt(2)) - t * exp(-t * t / 2) / sqrt(2 * M_PI);
}
static double outlier_sym(double t, double n) { return n * gauss_mse(t, 0) + sq(fmax(1000 - t, 0)) + sq(fmax(400 - t, 0)); }
static double outlier_asym(double lo, double hi, double n)
{
    double d = (hi - lo) / 255, in = 1 - 0.5 * erfc(hi / sqrt(2)) - 0.5 * erfc(-lo / sqrt(2));
    return n * (gclip(hi) + gclip(-lo) + d * d / 12 * in) + sq(fmax(1000 - hi, 0)) + sq(fmax(400 + lo, 0));
}

static void test_outliers(void **state)
{
    seed(7);
    float *x = alloc_floats(N_BIG);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = (float)gauss();
    x[12345] = 1000, x[777777] = -400; /* two lone outliers in 2M values */
    CalibStats s;
    stats_of(&s, x, N_BIG);
    /* oracles: brute force over the exact error (2-D for u8: coarse, then fine) */
    double topt = brute_argmin(outlier_sym, N_BIG, 1, 1000, 1e-3);
    double blo = -1, bhi = 1, best = INFINITY;
    for (int pass = 0; pass < 2; pass++) {
        double step = pass ? 0.002 : 0.5, l0 = pass ? blo - 1 : -400, l1 = pass ? blo + 1 : -0.5;
        double h0 = pass ? bhi - 1 : 0.5, h1 = pass ? bhi + 1 : 1000;
        for (double lo = l0; lo <= l1; lo += step)
            for (double hi = h0; hi <= h1; hi += step) {
                double e = outlier_asym(lo, hi, N_BIG);
                if (e < best)
                    best = e, blo = lo, bhi = hi;
            }
    }
    for (int sym = 0; sym < 2; sym++) {
        double lo, hi = range_hi(&s, CALIB_MINMAX, sym, &lo);
        assert_true(hi == 1000 && lo == (sym ? -1000 : -400));
        double p = range_hi(&s, CALIB_PERCENTILE, sym, &lo);
        assert_true(p > 3.7 && p < 4.1 && lo > -4.1);
        /* 2048 bins over [0, 1000] put N(0,1) in ~10 bins: TensorRT's smallest
         * candidate (128 bins) is ~62; it does not follow the outlier */
        double e = range_hi(&s, CALIB_ENTROPY, sym, &lo);
        assert_true(e < 100 && lo > -100);
        printf("  outliers %s: minmax %.0f, percentile %.3f, entropy %.2f\n", sym ? "s8" : "u8", hi, p, e);
        /* the squared error of the outliers themselves pulls the MSE range out
         * (one value at 1000 costs as much as 2M values rounded on a grid ~100x
         * coarser), but it stays far from them */
        double m = range_hi(&s, CALIB_MSE, sym, &lo);
        if (sym) {
            report("outliers mse s8 T", m, topt);
            assert_true(fabs(m / topt - 1) < 0.03 && m < 150);
        } else {
            report("outliers mse u8 lo", lo, blo);
            report("outliers mse u8 hi", m, bhi);
            printf("  %-44s %10.6f\n", "  excess error over the optimum", outlier_asym(lo, m, N_BIG) / best - 1);
            assert_true(fabs(m / bhi - 1) < 0.03 && fabs(lo / blo - 1) < 0.05 && m < 400);
        }
    }
    calib_stats_free(&s);
    free(x);
}

/* ReLU-like: half zeros (exact, no rounding error), half Exp(1); u8 [0, h]. */
static double relu_mse(double h, double unused)
{
    double d = h / 255;
    return 0.5 * (2 * exp(-h)) + d * d / 12 * 0.5 * (1 - exp(-h));
}

static void test_relu_u8(void **state)
{
    seed(8);
    const double b = 1.3;
    float *x = alloc_floats(N_BIG);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = i % 2 ? (float)expo(b) : 0.0f;
    CalibStats s;
    stats_of(&s, x, N_BIG);
    double lo, hi = range_hi(&s, CALIB_MINMAX, false, &lo);
    assert_true(lo == 0 && hi == s.max);
    /* 0.005% of all values above h: exp(-h/b) / 2 = 5e-5 */
    hi = range_hi(&s, CALIB_PERCENTILE, false, &lo);
    report("relu percentile 99.99 u8 hi/b", hi / b, -log(1e-4));
    assert_true(lo == 0 && fabs(hi / b / -log(1e-4) - 1) < 0.03);
    double hopt = brute_argmin(relu_mse, 0, 1, 30, 1e-5);
    hi = range_hi(&s, CALIB_MSE, false, &lo);
    report("relu mse u8 hi/b", hi / b, hopt);
    printf("  %-44s %10.6f\n", "  excess error of hi_mse over the optimum", relu_mse(hi / b, 0) / relu_mse(hopt, 0) - 1);
    assert_true(lo == 0 && fabs(hi / b / hopt - 1) < 0.03);
    hi = range_hi(&s, CALIB_ENTROPY, false, &lo);
    printf("  %-44s %10.5f  (excess mse %+.1f%%)\n", "relu entropy u8 hi/b", hi / b,
           100 * (relu_mse(hi / b, 0) / relu_mse(hopt, 0) - 1));
    assert_true(lo == 0 && hi > 0 && hi <= s.max);
    calib_stats_free(&s);
    free(x);
}

/* ---- degenerate inputs and options ---- */

static void expect_range(const float *x, size_t n, bool sym, double wlo, double whi)
{
    CalibStats s;
    stats_of(&s, x, n);
    for (int m = 0; m < 4; m++) {
        double lo, hi = range_hi(&s, methods[m], sym, &lo);
        if (lo != wlo || hi != whi)
            fail_msg("method %d sym %d: [%g, %g], want [%g, %g]", m, sym, lo, hi, wlo, whi);
    }
    calib_stats_free(&s);
}

static void test_degenerate(void **state)
{
    float nan3[] = {NAN, NAN, INFINITY}, zeros[] = {0, -0.0f, 0}, c[] = {2.5f, 2.5f}, neg[] = {-3, -3, -3};
    float tiny[] = {1e-40f, -2e-41f};
    expect_range(NULL, 0, true, -1, 1);
    expect_range(NULL, 0, false, 0, 1);
    expect_range(nan3, 3, true, -1, 1);
    expect_range(nan3, 3, false, 0, 1);
    expect_range(zeros, 3, true, -1, 1);
    expect_range(zeros, 3, false, 0, 1);
    expect_range(tiny, 2, true, -1, 1);
    expect_range(c, 2, true, -2.5, 2.5);
    expect_range(c, 2, false, 0, 2.5);
    expect_range(neg, 3, true, -3, 3);
    expect_range(neg, 3, false, -3, 0);
    /* a percentile that lands in a spike of zeros falls back to min/max */
    size_t n = 100000;
    float *x = calloc(n, sizeof *x);
    x[5] = 7;
    CalibStats s;
    stats_of(&s, x, n);
    double lo, hi = range_hi(&s, CALIB_PERCENTILE, true, &lo);
    assert_true(hi == 7);
    calib_stats_free(&s);
    free(x);
    /* options */
    CalibOptions o;
    calib_options_default(&o);
    assert_true(o.method == CALIB_MINMAX && o.percentile == 99.99 && o.symmetric);
    assert_true(calib_options_parse(&o, "percentile=99.9") && o.method == CALIB_PERCENTILE && o.percentile == 99.9);
    assert_true(calib_options_parse(&o, "mse") && o.method == CALIB_MSE && o.percentile == 99.9);
    assert_false(calib_options_parse(&o, "percentile=0"));
    assert_false(calib_options_parse(&o, "percentile=100.5"));
    assert_false(calib_options_parse(&o, "percentile="));
    assert_false(calib_options_parse(&o, "kl"));
    assert_true(o.method == CALIB_MSE);
    float y[] = {-1, 2};
    stats_of(&s, y, 2);
    o.method = CALIB_PERCENTILE, o.percentile = 0;
    assert_false(calib_range(&s, &o, &lo, &hi));
    assert_true(lo == -2 && hi == 2);
    o.percentile = 100; /* percentile 100 is the min/max range */
    assert_true(calib_range(&s, &o, &lo, &hi) && lo == -2 && hi == 2);
    o.symmetric = false;
    assert_true(calib_range(&s, &o, &lo, &hi) && lo == -1 && hi == 2);
    o.method = (CalibMethod)42;
    assert_false(calib_range(&s, &o, &lo, &hi));
    calib_stats_free(&s);
}

/* ---- the profile ---- */

static void fill(CalibStats *s, uint64_t sd, int kind)
{
    seed(sd);
    float x[5000];
    size_t n = kind == 0 ? mixed_data(x, 5000) : 5000;
    for (size_t i = 0; kind && i < n; i++)
        x[i] = kind == 1 ? (float)laplace(1e-3) : kind == 2 ? -(float)expo(3e36) : 0.0f;
    calib_stats_add(s, x, (int64_t)n);
}

static const char *const tnames[] = {"conv1/out", "a \"q\" \\ \n\t\x01 \xc3\xbcnic\xc3\xb6\x64\x65 \xf0\x9f\x98\x80",
                                     "empty", "nan_only", "zeros", "huge_neg", "tiny"};

static void make_profile(CalibProfile *p, uint64_t sd, const char *hash)
{
    profile_init(p, "net.onnx", hash);
    p->samples = 17;
    fill(profile_tensor(p, tnames[0]), sd, 0);
    fill(profile_tensor(p, tnames[1]), sd + 1, 0);
    profile_tensor(p, tnames[2]);
    float nan[] = {NAN, -NAN};
    calib_stats_add(profile_tensor(p, tnames[3]), nan, 2);
    fill(profile_tensor(p, tnames[4]), sd, 3);
    fill(profile_tensor(p, tnames[5]), sd + 2, 2);
    fill(profile_tensor(p, tnames[6]), sd + 3, 1);
    float tiny[] = {1e-45f, -1e-45f, -3e-39f, -0.0f}; /* bins "0", "-0", a denormal; -0 as max */
    calib_stats_add(profile_tensor(p, tnames[6]), tiny, 4);
}

static void same_profile(const CalibProfile *a, const CalibProfile *b)
{
    assert_string_equal(a->model, b->model);
    assert_string_equal(a->model_hash, b->model_hash);
    assert_true(a->samples == b->samples);
    assert_int_equal(a->ntensors, b->ntensors);
    for (int32_t i = 0; i < a->ntensors; i++) {
        assert_string_equal(a->tensors[i].name, b->tensors[i].name);
        assert_true(calib_stats_equal(&a->tensors[i].stats, &b->tensors[i].stats));
        same_ranges(&a->tensors[i].stats, &b->tensors[i].stats);
    }
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

static void test_profile_roundtrip(void **state)
{
    CalibProfile p, q;
    make_profile(&p, 10, "sha256:0123");
    Diag d;
    diag_init(&d, NULL);
    assert_true(profile_write(&p, "test_calib_rt1.json", &d));
    read_ok("test_calib_rt1.json", &q);
    assert_string_equal(q.path, "test_calib_rt1.json");
    same_profile(&p, &q);
    assert_non_null(profile_find(&q, "zeros"));
    assert_null(profile_find(&q, "zero"));
    assert_true(profile_write(&q, "test_calib_rt2.json", &d)); /* deterministic: same bytes */
    size_t n1, n2;
    char *f1 = slurp("test_calib_rt1.json", &n1), *f2 = slurp("test_calib_rt2.json", &n2);
    assert_true(n1 == n2 && memcmp(f1, f2, n1) == 0);
    const char *head = "{\"qkc_profile\": 1,\n \"model\": \"net.onnx\",\n \"model_hash\": \"sha256:0123\",\n";
    assert_true(strncmp(f1, head, strlen(head)) == 0);
    free(f1), free(f2);
    profile_free(&q);
    /* names that JSON cannot carry, and unwritable paths, are errors */
    profile_tensor(&p, "bad\xff");
    assert_false(profile_write(&p, "test_calib_rt3.json", &d));
    assert_true(diag_contains(&d, "test_calib_rt3.json: error: a name in the profile is not valid UTF-8"));
    assert_false(profile_write(&p, "/nonexistent-dir/x.json", &d));
    assert_true(diag_contains(&d, "/nonexistent-dir/x.json: error: cannot write"));
    assert_false(profile_read("/nonexistent-dir/x.json", &q, &d));
    assert_true(diag_contains(&d, "/nonexistent-dir/x.json: error: cannot open"));
    diag_fini(&d);
    profile_free(&p);
}

static void test_profile_merge(void **state)
{
    CalibProfile a, b, all, c, e;
    make_profile(&a, 20, "h");
    make_profile(&b, 30, "h");
    make_profile(&all, 20, "h");
    for (int32_t i = 0; i < all.ntensors; i++)
        calib_stats_merge(&all.tensors[i].stats, &b.tensors[i].stats);
    all.samples += b.samples;
    Diag d;
    diag_init(&d, NULL);
    assert_true(profile_write(&a, "test_calib_a.json", &d) && profile_write(&b, "test_calib_b.json", &d));
    profile_free(&a), profile_free(&b);
    read_ok("test_calib_a.json", &a), read_ok("test_calib_b.json", &b);
    assert_true(profile_merge(&a, &b, &d));
    same_profile(&a, &all);
    /* another model */
    make_profile(&c, 40, "other");
    c.path = strdup("test_calib_c.json");
    assert_false(profile_merge(&a, &c, &d));
    assert_true(diag_contains(&d, "test_calib_c.json: error: profile of another model: model hash 'other' here, "
                                  "'h' in test_calib_a.json"));
    profile_free(&c);
    /* different tensors: errors both ways, dst unchanged */
    make_profile(&c, 40, "h");
    make_profile(&e, 40, "h");
    profile_tensor(&c, "only_in_c");
    profile_tensor(&a, "only_in_a");
    assert_false(profile_merge(&a, &c, &d));
    assert_true(diag_contains(&d, "tensor 'only_in_c' is in (unsaved profile) but not in test_calib_a.json"));
    assert_true(diag_contains(&d, "tensor 'only_in_a' is in test_calib_a.json but not in (unsaved profile)"));
    assert_true(calib_stats_equal(profile_find(&a, "conv1/out"), profile_find(&all, "conv1/out")));
    assert_false(profile_merge(&e, &a, &d));
    assert_true(calib_stats_equal(profile_find(&e, "zeros"), profile_find(&c, "zeros")));
    diag_fini(&d);
    CalibProfile *v[] = {&a, &b, &all, &c, &e};
    for (size_t i = 0; i < sizeof v / sizeof *v; i++)
        profile_free(v[i]);
}

static const char BASE[] = "{\"qkc_profile\": 1,\n"
                           " \"model\": \"m.onnx\",\n"
                           " \"model_hash\": \"h1\",\n"
                           " \"samples\": 4,\n"
                           " \"tensors\": {\n"
                           "  \"x\": {\"min\": -1, \"max\": 2, \"count\": 6, \"nonfinite\": 1, \"zeros\": 1, \"hist\": {\n"
                           "    \"-1\": 1,\n"
                           "    \"0.5\": 1, \"0.75\": 2,\n"
                           "    \"2\": 1}},\n"
                           "  \"y\": {\"min\": 0, \"max\": 0, \"count\": 0, \"nonfinite\": 3, \"zeros\": 0, \"hist\": {}}\n"
                           " }}\n";

static void write_bytes(const char *path, const char *b, size_t n)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_true(fwrite(b, 1, n, f) == n);
    fclose(f);
}

/* Reading `text` fails with `msg` at `line` (0: any line), leaving p empty. */
static void expect_bad(const char *text, size_t n, int line, const char *msg)
{
    const char *path = "test_calib_bad.json";
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
        fail_msg("input:\n%.*s\nwant %s %s, got %s", (int)(n > 300 ? 300 : n), text, where, msg ? msg : "",
                 ok ? "success" : d.buf);
    assert_true(p.ntensors == 0 && !p.tensors && !p.model && !p.path);
    diag_fini(&d);
}

/* BASE with the first `find` replaced by `repl` (repl_len bytes, 0: strlen). */
static void expect_bad_edit(const char *find, const char *repl, size_t repl_len, int line, const char *msg)
{
    const char *at = strstr(BASE, find);
    assert_non_null(at);
    size_t pre = (size_t)(at - BASE), rl = repl_len ? repl_len : strlen(repl), fl = strlen(find);
    size_t n = pre + rl + strlen(at + fl);
    char *t = malloc(n + 1);
    memcpy(t, BASE, pre);
    memcpy(t + pre, repl, rl);
    strcpy(t + pre + rl, at + fl);
    expect_bad(t, n, line, msg);
    free(t);
}

static void expect_bad_deep(const char *find, const char *prefix, char open, int line, const char *msg)
{
    size_t depth = 100000, pl = strlen(prefix);
    char *r = malloc(pl + depth + 1);
    memcpy(r, prefix, pl);
    memset(r + pl, open, depth);
    r[pl + depth] = 0;
    expect_bad_edit(find, r, 0, line, msg);
    free(r);
}

static void test_profile_malformed(void **state)
{
    CalibProfile p;
    write_bytes("test_calib_base.json", BASE, strlen(BASE));
    read_ok("test_calib_base.json", &p);
    assert_int_equal(p.ntensors, 2);
    profile_free(&p);
    static const struct {
        const char *find, *repl;
        size_t repl_len;
        int line;
        const char *msg;
    } cases[] = {
        {"\"qkc_profile\": 1", "\"qkc_profile\": 2", 0, 1, "profile version 2 is not supported (this qkc reads version 1)"},
        {"\"qkc_profile\": 1", "\"qkc_profile\": \"1\"", 0, 1, "expected the profile version (a number)"},
        {"\"qkc_profile\": 1", "\"qkc_profile\": 1.0", 0, 1, "must be an integer"},
        {"\"qkc_profile\": 1", "\"qkc_profile\": 99999999999999999999999", 0, 1, "too large"},
        {"{\"qkc_profile\"", "{\"model\": \"m\", \"qkc_profile\"", 0, 1, "not a qkc profile"},
        {" \"model\": \"m.onnx\",\n", "", 0, 10, "the profile has no 'model'"},
        {"\"samples\": 4,", "\"samples\": 4, \"model\": \"z\",", 0, 4, "duplicate key 'model'"},
        {"\"samples\": 4,", "\"samples\": 4, \"qkc_profile\": 1,", 0, 4, "duplicate key 'qkc_profile'"},
        {"\"samples\": 4,", "\"samples\": 4, \"extra\": 1,", 0, 4, "unknown key in the profile"},
        {"\"samples\": 4,", "\"samples\": 4,,", 0, 4, "expected a key (a string), found ','"},
        {"\"samples\": 4", "\"samples\" 4", 0, 4, "expected ':', found '4'"},
        {"\"samples\": 4", "\"samples\": 04", 0, 4, "expected ',' or '}' in the profile, found '4'"},
        {"\"samples\": 4", "\"samples\": -", 0, 4, "expected samples (a number)"},
        {"\"samples\": 4", "\"samples\": -4", 0, 4, "samples must not be negative"},
        {"\"samples\": 4,", "\"samples\": 4,\0", 14, 4, "found byte 0x00"},
        {"\"model_hash\": \"h1\"", "\"model_hash\": 7", 0, 3, "expected the model hash (a string)"},
        {"\"m.onnx\"", "\"m\0.onnx\"", 9, 2, "control character (byte 0x00) in a string"},
        {"\"m.onnx\"", "\"m\n.onnx\"", 0, 2, "control character (byte 0x0a) in a string"},
        {"\"tensors\": {", "\"tensors\": [", 0, 5, "expected '{' (the tensors), found '['"},
        {"\"tensors\": {", "\"tensors\": {\"z\": 5, ", 0, 5, "expected '{' (a tensor's statistics)"},
        {"\"min\": -1", "\"min\": \"-1\"", 0, 6, "expected min (a number)"},
        {"\"min\": -1", "\"min\": -1e999", 0, 6, "min is out of range"},
        {"\"max\": 2", "\"max\": 1e300", 0, 6, "max is out of range"},
        {"\"max\": 2", "\"max\": 0.1", 0, 6, "max is not a float32 value"},
        {"\"max\": 2", "\"max\": 2.", 0, 6, "want digits after '.'"},
        {"\"max\": 2", "\"max\": 2e+", 0, 6, "want digits in the exponent"},
        {"\"count\": 6", "\"count\": -6", 0, 6, "count must not be negative"},
        {"\"count\": 6", "\"count\": 99999999999999999999", 0, 6, "count is too large"},
        {"\"count\": 6", "\"count\": 6.0", 0, 6, "count must be an integer"},
        {"\"count\": 6", "\"count\": 5", 0, 6, "count is not zeros plus the bin counts"},
        {"\"min\": -1", "\"min\": -0.5", 0, 6, "min is not in the lowest non-empty bin"},
        {"\"max\": 2", "\"max\": 0.5", 0, 6, "max is not in the highest non-empty bin"},
        {"\"min\": -1, \"max\": 2", "\"min\": 2, \"max\": -1", 0, 6, "min and max not ordered"},
        {"\"y\": {\"min\": 0", "\"y\": {\"min\": 1", 0, 10, "min and max must be 0 when count is 0"},
        {"\"nonfinite\": 1", "\"nonfinite\": 1, \"min\": -1", 0, 6, "duplicate key 'min' in tensor 'x'"},
        {"\"zeros\": 1,", "\"zeros\": 1, \"mean\": 0,", 0, 6, "unknown key in tensor 'x'"},
        {", \"hist\": {}", "", 0, 10, "tensor 'y' has no 'hist'"},
        {"\"y\": {", "\"x\": {", 0, 10, "duplicate tensor 'x'"},
        {"\"0.5\": 1,", "\"0.5\": 0,", 0, 8, "empty bin listed"},
        {"\"0.5\": 1,", "\"0.51\": 1,", 0, 8, "unknown bin key \"0.51\""},
        {"\"0.5\": 1,", "\"abc\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\"nan\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\"inf\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\"0.50\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\"0x1p-1\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\" 0.5\": 1,", 0, 8, "unknown bin key"},
        {"\"0.5\": 1,", "\"1e40\": 1,", 0, 8, "unknown bin key"},
        {"\"0.75\": 2", "\"0.5\": 2", 0, 8, "duplicate bin key"},
        {"\"0.75\": 2", "\"0.75\": -2", 0, 8, "a bin count must not be negative"},
        {"\"0.75\": 2", "\"0.75\": 2}, \"z\": 1", 0, 8, "unknown key in tensor 'x'"},
        {"\"x\"", "\"x\xff\"", 0, 6, "invalid UTF-8 (byte 0xff)"},
        {"\"x\"", "\"x\xc0\xaf\"", 0, 6, "invalid UTF-8 (byte 0xc0)"},
        {"\"x\"", "\"\xed\xa0\x80\"", 0, 6, "invalid UTF-8 (byte 0xed)"},
        {"\"x\"", "\"\xf4\x90\x80\x80\"", 0, 6, "invalid UTF-8 (byte 0xf4)"},
        {"\"x\"", "\"x\xe2\x82\"", 0, 6, "invalid UTF-8 (byte 0xe2)"},
        {"\"x\"", "\"x\\u0000\"", 0, 6, "NUL character in a string"},
        {"\"x\"", "\"x\\ud800\"", 0, 6, "high surrogate without a low one"},
        {"\"x\"", "\"x\\ud800\\u0041\"", 0, 6, "high surrogate without a low one"},
        {"\"x\"", "\"x\\udc00\"", 0, 6, "lone low surrogate"},
        {"\"x\"", "\"x\\q\"", 0, 6, "bad escape in a string"},
        {"\"x\"", "\"x\\u12\"", 0, 6, "want 4 hex digits"},
        {" }}\n", " }} x\n", 0, 11, "unexpected data after the profile"},
        {" }}\n", " }}}\n", 0, 11, "unexpected data after the profile"},
        {" }}\n", " }", 0, 11, "expected ',' or '}' in the profile, found end of file"},
        {"{\"qkc_profile\"", "\xef\xbb\xbf{\"qkc_profile\"", 0, 1, "expected '{' (a qkc profile), found byte 0xef"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_bad_edit(cases[i].find, cases[i].repl, cases[i].repl_len, cases[i].line, cases[i].msg);
    static const char *const whole[][2] = {
        {"", "expected '{' (a qkc profile), found end of file"},
        {"[]", "expected '{' (a qkc profile), found '['"},
        {"{}", "not a qkc profile"},
        {"{\"qkc_profile\": 1}", "the profile has no 'model'"},
        {"{\"qkc_profile\": 1, \"model\": \"abc", "unterminated string"},
        {"null", "expected '{'"},
    };
    for (size_t i = 0; i < sizeof whole / sizeof *whole; i++)
        expect_bad(whole[i][0], strlen(whole[i][0]), 1, whole[i][1]);
    /* deep nesting is refused at the first wrong bracket (the reader never recurses) */
    expect_bad_deep("\n  \"x\"", "", '[', 5, "expected a tensor name (a string), found '['");
    expect_bad_deep("\"min\": -1", "\"min\": ", '[', 6, "expected min (a number), found '['");
    expect_bad_deep("\"hist\": {}", "\"hist\": {\"1\": ", '{', 10, "expected a bin count (a number), found '{'");
    expect_bad_deep("\"tensors\": {", "\"tensors\": ", '{', 5, "expected a tensor name (a string), found '{'");
}

/* Every proper prefix of a valid profile is an error with file and line. */
static void test_profile_truncated(void **state)
{
    size_t n = strlen(BASE);
    int tested = 0;
    for (size_t k = 0; k < n; k++) {
        size_t j = k;
        while (j < n && strchr(" \n", BASE[j]))
            j++;
        if (j == n)
            continue; /* only blanks cut off: still valid */
        expect_bad(BASE, k, 0, NULL);
        tested++;
    }
    assert_true(tested > (int)n * 9 / 10);
}

/* Random edits of a valid profile: no crash (run under ASan/UBSan), one
 * error with file and line when rejected, a faithful round trip when not. */
static void test_profile_mutated(void **state)
{
    static const char tokens[] = "{}[]\":,.-+eE0123456789\\u \n\x00\xff\xc3";
    const char *path = "test_calib_mut.json";
    size_t base_n = strlen(BASE);
    char *t = malloc(2 * base_n + 64);
    int accepted = 0;
    seed(99);
    for (int it = 0; it < 4000; it++) {
        memcpy(t, BASE, base_n);
        size_t n = base_n;
        for (int e = 1 + (int)(next_u64() % 3); e > 0; e--) {
            size_t at = next_u64() % n;
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
                assert_null(calib_stats_check(&p.tensors[i].stats));
                double lo;
                range_hi(&p.tensors[i].stats, CALIB_MSE, false, &lo);
            }
            assert_true(profile_write(&p, "test_calib_mut2.json", &d));
            read_ok("test_calib_mut2.json", &q);
            same_profile(&p, &q);
            profile_free(&q);
        } else {
            assert_int_equal(d.errors, 1);
            assert_true(strncmp(d.buf, "test_calib_mut.json:", 20) == 0 && d.buf[20] >= '1' && d.buf[20] <= '9');
        }
        profile_free(&p);
        diag_fini(&d);
    }
    printf("  mutations: %d of 4000 still valid profiles\n", accepted);
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bins),
        cmocka_unit_test(test_basic_counts),
        cmocka_unit_test(test_order_batch_independence),
        cmocka_unit_test(test_merge),
        cmocka_unit_test(test_uniform),
        cmocka_unit_test(test_gaussian),
        cmocka_unit_test(test_laplace_mse),
        cmocka_unit_test(test_outliers),
        cmocka_unit_test(test_relu_u8),
        cmocka_unit_test(test_degenerate),
        cmocka_unit_test(test_profile_roundtrip),
        cmocka_unit_test(test_profile_merge),
        cmocka_unit_test(test_profile_malformed),
        cmocka_unit_test(test_profile_truncated),
        cmocka_unit_test(test_profile_mutated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

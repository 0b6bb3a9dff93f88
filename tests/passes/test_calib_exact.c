/* test_calib_exact.c — the exact accumulator of float32 values (CalibExact).
 *
 * Oracles independent of the code under test: Python's integers and
 * fractions (/usr/bin/python3, run at test time) compute the exact sums, the
 * correctly rounded values and means of sets of floats written here; cases
 * whose sums are known by construction (1e30 + 1 - 1e30, cancellation,
 * 2^-149 denormals, FLT_MAX near the top of the range); and bit-for-bit
 * equality of 10^7 values summed in shuffled orders and in shards merged in
 * random trees. Also the strict text form and its rejections. */
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
#include "test_util.h"

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

static float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}
static uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* A finite float: random bits (any binade), gaussian, denormal, near FLT_MAX
 * or a small integer, by `kind` (0-4; -1: a random kind). */
static float rand_float(int kind)
{
    if (kind < 0)
        kind = (int)(next_u64() % 5);
    uint32_t sign = (uint32_t)(next_u64() & 1) << 31;
    switch (kind) {
    case 0: {
        uint32_t u;
        do
            u = (uint32_t)next_u64();
        while (((u >> 23) & 0xff) == 0xff);
        return u2f(u);
    }
    case 1: return (float)(gauss() * 3);
    case 2: return u2f(sign | (uint32_t)(next_u64() % 0x800000u)); /* denormal or 0 */
    case 3: return u2f(sign | (0xfeu << 23) | (uint32_t)(next_u64() % 0x800000u)); /* [2^127, FLT_MAX] */
    default: return (float)((int64_t)(next_u64() % 2001) - 1000);
    }
}

static void shuffle(float *x, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = next_u64() % (i + 1);
        float t = x[i];
        x[i] = x[j], x[j] = t;
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static CalibExact sum_of(const float *x, size_t n)
{
    CalibExact a = {{0}};
    for (size_t i = 0; i < n; i++)
        calib_exact_add(&a, x[i]);
    return a;
}

static bool is_zero(const CalibExact *a)
{
    static const CalibExact z;
    return memcmp(a, &z, sizeof z) == 0;
}

static void same_bits(double a, double b)
{
    if (memcmp(&a, &b, sizeof a) != 0)
        fail_msg("%a != %a", a, b);
}

static const char *text(const CalibExact *a)
{
    static char buf[CALIB_EXACT_TEXT];
    assert_true(calib_exact_format(a, buf, sizeof buf));
    return buf;
}

/* ---- constructed cases ---- */

static void test_constructed(void **state)
{
    CalibExact a = {{0}}, one = {{0}};
    calib_exact_add(&one, 1.0f);
    /* 1 is lost in float and in double arithmetic, not here */
    calib_exact_add(&a, 1e30f), calib_exact_add(&a, 1.0f), calib_exact_add(&a, -1e30f);
    assert_memory_equal(&a, &one, sizeof a);
    assert_true(calib_exact_value(&a) == 1.0);
    assert_string_equal(text(&one), "0x20000000000000000000000000000000000000p-149"); /* 2^149 */
    /* cancellation in any order: exactly 0 */
    seed(1);
    float x[2000];
    for (int i = 0; i < 1000; i++)
        x[i] = rand_float(-1), x[1000 + i] = -x[i];
    shuffle(x, 2000);
    a = sum_of(x, 2000);
    assert_true(is_zero(&a));
    assert_true(calib_exact_value(&a) == 0 && !signbit(calib_exact_value(&a)));
    assert_string_equal(text(&a), "0x0p-149");
    /* the smallest denormal is the unit */
    float tiny = u2f(1);
    assert_true(tiny == ldexpf(1, -149));
    memset(&a, 0, sizeof a);
    for (int i = 0; i < 3; i++)
        calib_exact_add(&a, tiny);
    assert_true(a.limb[0] == 3 && calib_exact_value(&a) == ldexp(3, -149));
    assert_string_equal(text(&a), "0x3p-149");
    calib_exact_add(&a, -tiny);
    assert_string_equal(text(&a), "0x2p-149");
    calib_exact_add(&a, -tiny), calib_exact_add(&a, -tiny), calib_exact_add(&a, -tiny);
    assert_string_equal(text(&a), "-0x1p-149");
    assert_true(calib_exact_value(&a) == -ldexp(1, -149));
    for (int i = 0; i < CALIB_EXACT_LIMBS; i++)
        assert_true(a.limb[i] == UINT64_MAX); /* two's complement -1 */
    /* 2^24 denormals make 2^-125; the largest denormal plus the unit is FLT_MIN */
    memset(&a, 0, sizeof a);
    for (int i = 0; i < 1 << 24; i++)
        calib_exact_add(&a, tiny);
    assert_true(calib_exact_value(&a) == ldexp(1, -125));
    memset(&a, 0, sizeof a);
    calib_exact_add(&a, u2f(0x7fffff)), calib_exact_add(&a, tiny);
    assert_true(calib_exact_value(&a) == FLT_MIN);
    /* non-finite values and zeros add nothing */
    memset(&a, 0, sizeof a);
    calib_exact_add(&a, NAN), calib_exact_add(&a, -INFINITY), calib_exact_add(&a, INFINITY);
    calib_exact_add(&a, -0.0f), calib_exact_add(&a, 0.0f);
    calib_exact_add_n(&a, NAN, 5), calib_exact_add_n(&a, 1.0f, 0);
    assert_true(is_zero(&a));
    /* near the top: FLT_MAX sums beyond float and far past 2^128 */
    memset(&a, 0, sizeof a);
    for (int i = 0; i < 1 << 20; i++)
        calib_exact_add(&a, FLT_MAX);
    assert_true(calib_exact_value(&a) == ldexp(FLT_MAX, 20));
    calib_exact_add(&a, 1.0f);
    for (int i = 0; i < 1 << 20; i++)
        calib_exact_add(&a, -FLT_MAX);
    assert_memory_equal(&a, &one, sizeof a);
    /* k * x: (2^63 - 1) * FLT_MAX = (2^87 - 2^63 - 2^24 + 1) * 2^104, which rounds
     * to (2^87 - 2^63) * 2^104; minus FLT_MAX twice, then all of it: 0 */
    memset(&a, 0, sizeof a);
    calib_exact_add_n(&a, FLT_MAX, INT64_MAX);
    assert_true(calib_exact_value(&a) == ldexp(1 - ldexp(1, -24), 191));
    calib_exact_add_n(&a, -FLT_MAX, INT64_MAX);
    assert_true(is_zero(&a));
    calib_exact_add_n(&a, FLT_MAX, INT64_MIN); /* -2^63 * FLT_MAX: the most negative sum of int64 values */
    assert_true(calib_exact_value(&a) == -ldexp(FLT_MAX, 63));
    assert_true(calib_exact_mean(&a, INT64_MAX) == -(double)FLT_MAX); /* -FLT_MAX (1 + 1/(2^63-1)), rounded */
    calib_exact_add_n(&a, -FLT_MAX, INT64_MIN);
    assert_true(is_zero(&a));
    /* k with a zero low or high half */
    CalibExact b = {{0}}, c = {{0}};
    calib_exact_add_n(&b, -3.5f, (int64_t)1 << 32);
    calib_exact_add_n(&c, -3.5f, (int64_t)1 << 31), calib_exact_add_n(&c, -3.5f, (int64_t)1 << 31);
    assert_memory_equal(&b, &c, sizeof b);
    assert_true(calib_exact_value(&b) == -3.5 * 4294967296.0);
    /* add_n is k adds */
    seed(2);
    for (int it = 0; it < 300; it++) {
        float v = rand_float(-1);
        int64_t k = (int64_t)(next_u64() % 200) - 100;
        memset(&b, 0, sizeof b), memset(&c, 0, sizeof c);
        calib_exact_add_n(&b, v, k);
        for (int64_t i = 0; i < (k < 0 ? -k : k); i++)
            calib_exact_add(&c, k < 0 ? -v : v);
        assert_memory_equal(&b, &c, sizeof b);
    }
    /* mean: ties to even, and 1/3 */
    memset(&a, 0, sizeof a);
    calib_exact_add(&a, 1.0f), calib_exact_add(&a, ldexpf(1, -53));
    assert_true(calib_exact_value(&a) == 1.0); /* halfway: to the even 1.0 */
    calib_exact_add(&a, ldexpf(1, -53)), calib_exact_add(&a, ldexpf(1, -53));
    assert_true(calib_exact_value(&a) == 1.0 + ldexp(1, -51)); /* 1 + 3 * 2^-53: halfway, to even */
    memset(&a, 0, sizeof a);
    calib_exact_add(&a, 1.0f);
    assert_true(calib_exact_mean(&a, 3) == 1.0 / 3 && calib_exact_mean(&a, 10) == 0.1);
    assert_true(isnan(calib_exact_mean(&a, 0)) && isnan(calib_exact_mean(&a, -1)));
}

/* A double sum differs by order; the exact sum does not. */
static void test_double_vs_exact(void **state)
{
    float x[] = {1e8f, 1.0f, -1e8f, 3e-8f, 1e-30f, 16777216.0f, 1.0f, -16777216.0f};
    size_t n = sizeof x / sizeof *x;
    double fwd = 0, bwd = 0;
    for (size_t i = 0; i < n; i++)
        fwd += x[i], bwd += x[n - 1 - i];
    CalibExact a = sum_of(x, n), b = {{0}};
    for (size_t i = n; i-- > 0;)
        calib_exact_add(&b, x[i]);
    assert_memory_equal(&a, &b, sizeof a);
    /* exact: 2 + 3e-8f + 1e-30f, rounded once */
    double want = 2.0 + (double)3e-8f + (double)1e-30f;
    printf("  double sums %.17g / %.17g, exact %.17g\n", fwd, bwd, calib_exact_value(&a));
    assert_true(calib_exact_value(&a) == want);
    assert_true(fwd != want || bwd != want);
}

/* ---- the Python oracle ---- */

static const char ORACLE[] =
    "import struct, sys\n"
    "from fractions import Fraction\n"
    "for line in open(sys.argv[1]):\n"
    "    f = line.split()\n"
    "    n, divs = int(f[0]), [int(d) for d in f[1].split(',')]\n"
    "    xs = [struct.unpack('<f', struct.pack('<I', int(h, 16)))[0] for h in f[2:2 + n]]\n"
    "    s = sum(Fraction(x) for x in xs)\n"
    "    u = s * 2**149\n"
    "    assert u.denominator == 1\n"
    "    u = int(u)\n"
    "    t = ('-' if u < 0 else '') + '0x' + format(abs(u), 'x') + 'p-149'\n"
    "    print(t, ' '.join(float(s / d).hex() for d in divs))\n";

static void test_python_oracle(void **state)
{
    const char *py = "/usr/bin/python3";
    FILE *f = fopen(py, "r");
    if (!f) {
        printf("  %s not found: skipped\n", py);
        skip();
    }
    fclose(f);
    f = fopen("test_calib_oracle.py", "w");
    assert_non_null(f);
    fputs(ORACLE, f);
    fclose(f);
    /* data sets: each a line "n d1,d2,... bits..." (bits of n floats in hex) */
    enum { SETS = 40 };
    static const int64_t divs[] = {1, 3, 7, 1000003, (int64_t)1 << 62, INT64_MAX};
    static float x[SETS][2000];
    size_t nx[SETS];
    int64_t ndiv[SETS];
    seed(3);
    f = fopen("test_calib_oracle.txt", "w");
    assert_non_null(f);
    for (int s = 0; s < SETS; s++) {
        nx[s] = s < 5 ? (size_t)s : 1 + next_u64() % 2000;
        ndiv[s] = 1 + (int64_t)(next_u64() % 100000);
        int kind = s % 6 == 5 ? -1 : s % 6; /* 5: kinds mixed */
        for (size_t i = 0; i < nx[s]; i++) {
            x[s][i] = rand_float(kind);
            if (s % 4 == 3 && i % 2) /* near cancellation: x, -x nearby */
                x[s][i] = -x[s][i - 1] * (next_u64() % 8 ? 1.0f : 1.0f + FLT_EPSILON);
        }
        fprintf(f, "%zu ", nx[s]);
        for (size_t d = 0; d < sizeof divs / sizeof *divs; d++)
            fprintf(f, "%" PRId64 ",", divs[d]);
        fprintf(f, "%zu,%" PRId64, nx[s] ? nx[s] : 1, ndiv[s]);
        for (size_t i = 0; i < nx[s]; i++)
            fprintf(f, " %08" PRIx32, f2u(x[s][i]));
        fputc('\n', f);
    }
    fclose(f);
    const char *argv[] = {py, "test_calib_oracle.py", "test_calib_oracle.txt", NULL};
    int rc = tu_spawn(argv, "test_calib_oracle.log");
    assert_int_equal(rc, 0);
    f = fopen("test_calib_oracle.log", "r");
    assert_non_null(f);
    static char line[8192];
    int checked = 0;
    for (int s = 0; s < SETS; s++) {
        assert_non_null(fgets(line, sizeof line, f));
        CalibExact a = sum_of(x[s], nx[s]);
        char *save, *tok = strtok_r(line, " \n", &save);
        assert_non_null(tok);
        if (strcmp(tok, text(&a)) != 0)
            fail_msg("set %d: sum %s, python %s", s, text(&a), tok);
        CalibExact back;
        assert_true(calib_exact_parse(tok, &back));
        assert_memory_equal(&a, &back, sizeof a);
        int64_t d[sizeof divs / sizeof *divs + 2];
        memcpy(d, divs, sizeof divs);
        d[sizeof divs / sizeof *divs] = nx[s] ? (int64_t)nx[s] : 1;
        d[sizeof divs / sizeof *divs + 1] = ndiv[s];
        for (size_t k = 0; k < sizeof d / sizeof *d; k++) {
            tok = strtok_r(NULL, " \n", &save);
            assert_non_null(tok);
            double want = strtod(tok, NULL), got = k == 0 ? calib_exact_value(&a) : calib_exact_mean(&a, d[k]);
            if (memcmp(&want, &got, sizeof got) != 0)
                fail_msg("set %d: sum / %" PRId64 " = %a, python %a (%s)", s, d[k], got, want, tok);
            checked++;
        }
    }
    fclose(f);
    printf("  python oracle: %d sums, %d correctly rounded values and means\n", SETS, checked);
}

/* ---- order, shards, merge laws ---- */

#define N_BIG 10000000

static void test_order_shards(void **state)
{
    seed(4);
    float *x = malloc(N_BIG * sizeof *x);
    assert_non_null(x);
    for (size_t i = 0; i < N_BIG; i++)
        x[i] = next_u64() % 4 ? (float)(gauss() * 2 + 0.5) : rand_float(-1);
    double t0 = now();
    CalibExact ref = sum_of(x, N_BIG);
    double t1 = now();
    printf("  calib_exact_add: %.2f ns per add (10^7 mixed floats)\n", (t1 - t0) * 1e9 / N_BIG);
    double dref = 0;
    for (size_t i = 0; i < N_BIG; i++)
        dref += x[i];
    for (int round = 0; round < 3; round++) {
        shuffle(x, N_BIG);
        CalibExact a = sum_of(x, N_BIG);
        assert_memory_equal(&a, &ref, sizeof a);
        same_bits(calib_exact_mean(&a, N_BIG), calib_exact_mean(&ref, N_BIG));
        double d = 0;
        for (size_t i = 0; i < N_BIG; i++)
            d += x[i];
        if (round == 0)
            printf("  double sum in two orders: %a vs %a; exact %a\n", dref, d, calib_exact_value(&ref));
        /* shards of random sizes, merged in a random tree */
        enum { MAXSH = 64 };
        CalibExact sh[MAXSH];
        size_t nsh = 0;
        for (size_t i = 0; i < N_BIG; nsh++) {
            size_t k = nsh == MAXSH - 1 ? N_BIG - i : 1 + next_u64() % (N_BIG / 20);
            k = k > N_BIG - i ? N_BIG - i : k;
            sh[nsh] = sum_of(x + i, k);
            i += k;
        }
        while (nsh > 1) {
            size_t i = next_u64() % nsh, j = next_u64() % (nsh - 1);
            j += j >= i;
            calib_exact_merge(&sh[i], &sh[j]);
            sh[j] = sh[--nsh];
        }
        assert_memory_equal(&sh[0], &ref, sizeof ref);
    }
    free(x);
}

static CalibExact rand_exact(void)
{
    CalibExact a = {{0}};
    for (int i = 0, n = (int)(next_u64() % 50); i < n; i++)
        calib_exact_add_n(&a, rand_float(-1), (int64_t)(next_u64() >> (1 + next_u64() % 63)) * (next_u64() & 1 ? 1 : -1));
    return a;
}

static void test_merge_laws(void **state)
{
    seed(5);
    for (int it = 0; it < 3000; it++) {
        CalibExact a = rand_exact(), b = rand_exact(), c = rand_exact(), z = {{0}};
        CalibExact ab = a, ba = b, ab_c, bc = b, a_bc = a, az = a;
        calib_exact_merge(&ab, &b);
        calib_exact_merge(&ba, &a);
        assert_memory_equal(&ab, &ba, sizeof ab);
        ab_c = ab;
        calib_exact_merge(&ab_c, &c);
        calib_exact_merge(&bc, &c);
        calib_exact_merge(&a_bc, &bc);
        assert_memory_equal(&ab_c, &a_bc, sizeof ab_c);
        calib_exact_merge(&az, &z);
        assert_memory_equal(&az, &a, sizeof a);
        /* cmp agrees with the values and with the sign of a - b */
        int ca = calib_exact_cmp(&a, &b);
        assert_int_equal(ca, -calib_exact_cmp(&b, &a));
        double va = calib_exact_value(&a), vb = calib_exact_value(&b);
        if (va < vb)
            assert_int_equal(ca, -1);
        else if (va > vb)
            assert_int_equal(ca, 1);
        assert_int_equal(calib_exact_cmp(&a, &a), 0);
        /* text round trip */
        CalibExact back;
        assert_true(calib_exact_parse(text(&ab_c), &back));
        assert_memory_equal(&back, &ab_c, sizeof back);
    }
}

/* ---- text ---- */

static void test_text(void **state)
{
    /* the extremes of the 384-bit range */
    char hi[CALIB_EXACT_TEXT], lo[CALIB_EXACT_TEXT];
    snprintf(hi, sizeof hi, "0x7%.95dp-149", 0);
    memset(hi + 3, 'f', 95);
    snprintf(lo, sizeof lo, "-0x8%.95dp-149", 0);
    assert_int_equal(strlen(lo), CALIB_EXACT_TEXT - 1);
    CalibExact a, b;
    assert_true(calib_exact_parse(hi, &a));
    assert_true(calib_exact_parse(lo, &b));
    assert_string_equal(text(&a), hi);
    assert_string_equal(text(&b), lo);
    assert_int_equal(calib_exact_cmp(&b, &a), -1);
    assert_true(calib_exact_value(&a) == ldexp(1, 383 - 149) && calib_exact_value(&b) == -ldexp(1, 383 - 149));
    /* a short buffer is refused, never truncated */
    char small[8] = "xxxxxxx";
    CalibExact one = {{0}};
    calib_exact_add(&one, 1.0f);
    assert_false(calib_exact_format(&one, small, sizeof small));
    assert_string_equal(small, "");
    char fit[CALIB_EXACT_TEXT];
    assert_false(calib_exact_format(&b, fit, CALIB_EXACT_TEXT - 1));
    assert_true(calib_exact_format(&b, fit, CALIB_EXACT_TEXT));
    /* malformed: everything but the canonical text; *out untouched */
    char over[CALIB_EXACT_TEXT + 8], big[CALIB_EXACT_TEXT + 8], bigneg[CALIB_EXACT_TEXT + 8];
    snprintf(over, sizeof over, "0x1%.96dp-149", 0);     /* 97 digits */
    snprintf(big, sizeof big, "0x8%.95dp-149", 0);       /* 2^383 */
    snprintf(bigneg, sizeof bigneg, "-0x8%.94d1p-149", 0); /* -(2^383 + 1) */
    const char *bad[] = {"", "0", "1", "0x", "0xp-149", "0x0", "0x1", "0x1p", "0x1p-148", "0x1p+149", "0x1p149",
                         "0X1p-149", "0x1P-149", "0x1Ap-149", "0xAp-149", "+0x1p-149", "-0x0p-149", "--0x1p-149",
                         "-", "0x01p-149", "0x00p-149", " 0x1p-149", "0x1p-149 ", "0x1p-149\n", "0x 1p-149",
                         "0xgp-149", "0x1.8p-149", "0x-1p-149", "1e5", "nan", "inf", "-0x1p-1490",
                         "0x1p-149p-149", over, big, bigneg};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        CalibExact o;
        memset(&o, 0xa5, sizeof o);
        CalibExact keep = o;
        if (calib_exact_parse(bad[i], &o))
            fail_msg("accepted \"%s\"", bad[i]);
        assert_memory_equal(&o, &keep, sizeof o);
    }
    printf("  %zu malformed texts rejected\n", sizeof bad / sizeof *bad);
    /* every single-character edit of a valid text either fails or formats back to itself */
    seed(6);
    static const char alphabet[] = "0123456789abcdefABCDEFxXpP+- .";
    for (int it = 0; it < 20000; it++) {
        CalibExact v = rand_exact(), w;
        char t[CALIB_EXACT_TEXT + 2];
        strcpy(t, text(&v));
        size_t n = strlen(t), at = next_u64() % n;
        t[at] = alphabet[next_u64() % (sizeof alphabet - 1)];
        if (calib_exact_parse(t, &w))
            assert_string_equal(text(&w), t);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_constructed),
        cmocka_unit_test(test_double_vs_exact),
        cmocka_unit_test(test_python_oracle),
        cmocka_unit_test(test_order_shards),
        cmocka_unit_test(test_merge_laws),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* test_pool.c — parallel_for covers [0, n) exactly once, for many n and
 * thread counts, back to back, nested, and with uneven chunks. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "runtime/pool.h"

typedef struct Cover {
    _Atomic int *hits;
    int64_t n;
    _Atomic int bad_chunks;   /* empty or out-of-range chunks */
    void *pool;               /* for the nested test */
} Cover;

static void mark(void *ctx, int64_t begin, int64_t end)
{
    Cover *c = ctx;
    if (begin < 0 || end > c->n || begin >= end)
        atomic_fetch_add(&c->bad_chunks, 1);
    for (int64_t i = begin; i < end && i >= 0 && i < c->n; i++)
        atomic_fetch_add(&c->hits[i], 1);
}

static void check_cover(void *pool, int64_t n)
{
    Cover c = {calloc((size_t)n + 1, sizeof(_Atomic int)), n, 0, NULL};
    assert_non_null(c.hits);
    qkrt_pool_parallel_for(pool, mark, &c, n);
    assert_int_equal(atomic_load(&c.bad_chunks), 0);
    for (int64_t i = 0; i < n; i++)
        if (atomic_load(&c.hits[i]) != 1)
            fail_msg("threads %d, n %lld: index %lld covered %d times", qkrt_pool_threads(pool), (long long)n,
                     (long long)i, atomic_load(&c.hits[i]));
    free(c.hits);
}

static void test_covers_each_index_once(void **state)
{
    const int threads[] = {1, 2, 3, 4, 7, 16};
    const int64_t ns[] = {0, 1, 2, 3, 5, 7, 8, 15, 16, 17, 63, 64, 100, 1000, 4097, 100003};
    for (size_t t = 0; t < sizeof threads / sizeof *threads; t++) {
        QkrtPool *p = qkrt_pool_new(threads[t]);
        if (threads[t] == 1)
            assert_null(p); /* one thread is no pool */
        else
            assert_non_null(p);
        assert_int_equal(qkrt_pool_threads(p), threads[t]);
        for (size_t i = 0; i < sizeof ns / sizeof *ns; i++)
            check_cover(p, ns[i]);
        qkrt_pool_free(p);
    }
}

static void test_many_jobs_back_to_back(void **state)
{
    /* Generations in quick succession: a worker must never miss or repeat one. */
    QkrtPool *p = qkrt_pool_new(4);
    assert_non_null(p);
    for (int i = 0; i < 5000; i++)
        check_cover(p, 1 + i % 13);
    qkrt_pool_free(p);
}

static void count_negative(void *ctx, int64_t begin, int64_t end)
{
    atomic_fetch_add((_Atomic int *)ctx, 1);
}

static void test_nothing_to_do(void **state)
{
    QkrtPool *p = qkrt_pool_new(3);
    _Atomic int calls = 0;
    qkrt_pool_parallel_for(p, count_negative, &calls, 0);
    qkrt_pool_parallel_for(p, count_negative, &calls, -5);
    qkrt_pool_parallel_for(NULL, count_negative, &calls, -1);
    assert_int_equal(atomic_load(&calls), 0);
    qkrt_pool_parallel_for(NULL, count_negative, &calls, 1000); /* no pool: one call */
    assert_int_equal(atomic_load(&calls), 1);
    qkrt_pool_free(p);
    qkrt_pool_free(NULL);
}

/* Each chunk of the outer loop runs an inner parallel_for on the same pool:
 * it must run serially rather than deadlock, and still cover its range. */
typedef struct Nested {
    void *pool;
    _Atomic int *hits;
} Nested;

static void inner(void *ctx, int64_t begin, int64_t end)
{
    Nested *n = ctx;
    for (int64_t i = begin; i < end; i++)
        atomic_fetch_add(&n->hits[i], 1);
}

static void outer(void *ctx, int64_t begin, int64_t end)
{
    Nested *n = ctx;
    for (int64_t i = begin; i < end; i++) {
        Nested row = {n->pool, n->hits + i * 50};
        qkrt_pool_parallel_for(n->pool, inner, &row, 50);
    }
}

static void test_nested_runs_serially(void **state)
{
    QkrtPool *p = qkrt_pool_new(4);
    Nested n = {p, calloc(40 * 50, sizeof(_Atomic int))};
    qkrt_pool_parallel_for(p, outer, &n, 40);
    for (int i = 0; i < 40 * 50; i++)
        assert_int_equal(atomic_load(&n.hits[i]), 1);
    free(n.hits);
    qkrt_pool_free(p);
}

/* Uneven work: a few chunks are slow; all indices still done once. */
static void slow_some(void *ctx, int64_t begin, int64_t end)
{
    Cover *c = ctx;
    for (int64_t i = begin; i < end; i++) {
        if (i % 17 == 0) {
            volatile double x = 0;
            for (int k = 0; k < 20000; k++)
                x += k;
        }
        atomic_fetch_add(&c->hits[i], 1);
    }
}

static void test_uneven_chunks(void **state)
{
    QkrtPool *p = qkrt_pool_new(3);
    Cover c = {calloc(997, sizeof(_Atomic int)), 997, 0, NULL};
    qkrt_pool_parallel_for(p, slow_some, &c, 997);
    for (int i = 0; i < 997; i++)
        assert_int_equal(atomic_load(&c.hits[i]), 1);
    free(c.hits);
    qkrt_pool_free(p);
}

/* Chunks of a huge n (not run through): recorded, sorted, they must tile
 * [0, n) with no overflow in their bounds. */
typedef struct Chunks {
    _Atomic int count;
    int64_t begin[256], end[256];
} Chunks;

static void record(void *ctx, int64_t begin, int64_t end)
{
    Chunks *c = ctx;
    int i = atomic_fetch_add(&c->count, 1);
    if (i < 256) {
        c->begin[i] = begin;
        c->end[i] = end;
    }
}

static void test_huge_n_chunks(void **state)
{
    const int64_t ns[] = {INT64_MAX, INT64_MAX - 1, (int64_t)1 << 62, 1000001};
    for (int t = 2; t <= 16; t *= 2) {
        QkrtPool *p = qkrt_pool_new(t);
        for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
            Chunks c = {0};
            qkrt_pool_parallel_for(p, record, &c, ns[k]);
            int n = atomic_load(&c.count);
            assert_true(n > 1 && n <= 256);
            /* insertion sort by begin */
            for (int i = 1; i < n; i++)
                for (int j = i; j > 0 && c.begin[j - 1] > c.begin[j]; j--) {
                    int64_t b = c.begin[j], e = c.end[j];
                    c.begin[j] = c.begin[j - 1], c.end[j] = c.end[j - 1];
                    c.begin[j - 1] = b, c.end[j - 1] = e;
                }
            assert_true(c.begin[0] == 0);
            for (int i = 0; i < n; i++) {
                assert_true(c.begin[i] < c.end[i]);
                if (i + 1 < n)
                    assert_true(c.end[i] == c.begin[i + 1]);
            }
            assert_true(c.end[n - 1] == ns[k]);
        }
        qkrt_pool_free(p);
    }
}

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Idle workers sleep: a pool of 8 waiting 300 ms costs next to no CPU. */
static void test_idle_pool_does_not_spin(void **state)
{
    QkrtPool *p = qkrt_pool_new(8);
    check_cover(p, 1000); /* the workers have run once and are waiting again */
    double before = cpu_seconds();
    struct timespec pause = {0, 300 * 1000 * 1000};
    nanosleep(&pause, NULL);
    double used = cpu_seconds() - before;
    qkrt_pool_free(p);
    if (used > 0.05)
        fail_msg("idle pool used %.3f s of CPU in 0.3 s", used);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_covers_each_index_once),
        cmocka_unit_test(test_many_jobs_back_to_back),
        cmocka_unit_test(test_nothing_to_do),
        cmocka_unit_test(test_nested_runs_serially),
        cmocka_unit_test(test_uneven_chunks),
        cmocka_unit_test(test_huge_n_chunks),
        cmocka_unit_test(test_idle_pool_does_not_spin),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* pool.c — a small pthread pool for parallel_for.
 *
 * A job is published under the mutex with a new generation number and a
 * broadcast; each worker runs chunks until none are left, then checks in.
 * Chunks are taken from an atomic counter, so the caller and the workers
 * balance uneven chunks between them. The caller takes chunks as well and
 * then sleeps until every worker has checked in for this generation, so
 * the job record is never rewritten while a worker still reads it, and no
 * worker can miss a generation. Waiting threads first spin a short while
 * (QKRT_SPIN_US microseconds, default 100, 0: never; reading the generation
 * and the pending count as atomics, yielding the core after a few hundred
 * pauses so that a busy machine still runs the thread waited for), so a
 * model whose kernels run back to back wakes its workers in well under a
 * microsecond instead of a futex round trip per kernel; then they sleep on
 * condition variables. */
#include "pool.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

enum { CHUNKS_PER_THREAD = 4 };
enum { SPIN_US_DEFAULT = 100 }; /* longer than the gap between two kernels */

struct QkrtPool {
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* a new job or stop: workers wait here */
    pthread_cond_t idle;       /* the last worker checked in: the caller waits here */
    pthread_t *workers;
    int nworkers;              /* threads - 1 */
    int stop;
    uint64_t gen;              /* job number, bumped per parallel_for */
    int pending;               /* workers yet to check in for this job */
    /* the same, readable without the mutex while spinning */
    _Atomic uint64_t agen;
    _Atomic int apending, astop;
    int64_t spin_ns;           /* how long a waiting thread spins */
    /* the job */
    void (*fn)(void *ctx, int64_t begin, int64_t end);
    void *ctx;
    int64_t n, nchunks;
    _Atomic int64_t next;      /* next chunk to take */
};

/* Set on pool threads while they run chunks: nested parallel_for calls
 * then run serially instead of deadlocking on their own pool. */
static _Thread_local int in_pool;

/* Chunk i of k over [0, n): sizes differ by at most one. */
static void run_chunks(QkrtPool *p)
{
    int64_t n = p->n, k = p->nchunks, base = n / k, rem = n % k;
    in_pool = 1;
    for (;;) {
        int64_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
        if (i >= k)
            break;
        int64_t begin = i * base + (i < rem ? i : rem);
        int64_t end = begin + base + (i < rem);
        p->fn(p->ctx, begin, end);
    }
    in_pool = 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Spin until done(p, arg) or SPIN_NS have passed; true if done. */
static bool spin_until(QkrtPool *p, bool (*done)(QkrtPool *, uint64_t), uint64_t arg)
{
    int64_t start = now_ns();
    if (p->spin_ns <= 0)
        return done(p, arg);
    for (int i = 1;; i++) {
        if (done(p, arg))
            return true;
        if (i < 256) {
            cpu_relax();
        } else { /* yield: on a busy machine the thread waited for may need this core */
            sched_yield();
            if (now_ns() - start > p->spin_ns)
                return false;
        }
    }
}

static bool job_or_stop(QkrtPool *p, uint64_t seen)
{
    return atomic_load_explicit(&p->agen, memory_order_acquire) != seen ||
           atomic_load_explicit(&p->astop, memory_order_relaxed);
}

static bool all_in(QkrtPool *p, uint64_t unused)
{
    (void)unused;
    return atomic_load_explicit(&p->apending, memory_order_acquire) == 0;
}

static void *worker(void *arg)
{
    QkrtPool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        if (!p->stop && p->gen == seen) {
            pthread_mutex_unlock(&p->mu);
            spin_until(p, job_or_stop, seen);
            pthread_mutex_lock(&p->mu);
        }
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p);
        pthread_mutex_lock(&p->mu);
        atomic_store_explicit(&p->apending, p->pending - 1, memory_order_release);
        if (--p->pending == 0)
            pthread_cond_signal(&p->idle);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

QkrtPool *qkrt_pool_new(int nthreads)
{
    if (nthreads < 2)
        return NULL;
    QkrtPool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->workers = calloc((size_t)nthreads - 1, sizeof *p->workers);
    if (!p->workers || pthread_mutex_init(&p->mu, NULL)) {
        free(p->workers);
        free(p);
        return NULL;
    }
    pthread_cond_init(&p->wake, NULL);
    pthread_cond_init(&p->idle, NULL);
    atomic_init(&p->next, 0);
    atomic_init(&p->agen, 0);
    atomic_init(&p->apending, 0);
    atomic_init(&p->astop, 0);
    const char *e = getenv("QKRT_SPIN_US");
    char *end = NULL;
    long us = e && *e ? strtol(e, &end, 10) : SPIN_US_DEFAULT;
    p->spin_ns = (end && (*end || us < 0 || us > 1000000) ? SPIN_US_DEFAULT : us) * 1000;
    for (int i = 0; i < nthreads - 1; i++) {
        if (pthread_create(&p->workers[i], NULL, worker, p)) {
            qkrt_pool_free(p); /* joins the ones started */
            return NULL;
        }
        p->nworkers++;
    }
    return p;
}

void qkrt_pool_free(QkrtPool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    atomic_store_explicit(&p->astop, 1, memory_order_relaxed);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i], NULL);
    pthread_cond_destroy(&p->wake);
    pthread_cond_destroy(&p->idle);
    pthread_mutex_destroy(&p->mu);
    free(p->workers);
    free(p);
}

int qkrt_pool_threads(const QkrtPool *p)
{
    return p ? p->nworkers + 1 : 1;
}

void qkrt_pool_parallel_for(void *pool, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx, int64_t n)
{
    QkrtPool *p = pool;
    if (n <= 0 || !fn)
        return;
    if (!p || p->nworkers == 0 || n == 1 || in_pool) {
        fn(ctx, 0, n);
        return;
    }
    int64_t threads = p->nworkers + 1;
    int64_t k = n < threads * CHUNKS_PER_THREAD ? n : threads * CHUNKS_PER_THREAD;

    pthread_mutex_lock(&p->mu);
    p->fn = fn;
    p->ctx = ctx;
    p->n = n;
    p->nchunks = k;
    atomic_store_explicit(&p->next, 0, memory_order_relaxed);
    p->pending = p->nworkers;
    atomic_store_explicit(&p->apending, p->nworkers, memory_order_relaxed);
    p->gen++;
    atomic_store_explicit(&p->agen, p->gen, memory_order_release);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_chunks(p);

    spin_until(p, all_in, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

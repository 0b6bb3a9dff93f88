/* pool.c — a small pthread pool for parallel_for.
 *
 * A job is published under the mutex with a new generation number and a
 * broadcast; each worker runs chunks until none are left, then checks in.
 * Chunks are taken from an atomic counter, so the caller and the workers
 * balance uneven chunks between them. The caller takes chunks as well and
 * then sleeps until every worker has checked in for this generation, so
 * the job record is never rewritten while a worker still reads it, and no
 * worker can miss a generation. Nothing spins: idle threads wait on
 * condition variables. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

enum { CHUNKS_PER_THREAD = 4 };

struct QkrtPool {
    pthread_mutex_t mu;
    pthread_cond_t wake;       /* a new job or stop: workers wait here */
    pthread_cond_t idle;       /* the last worker checked in: the caller waits here */
    pthread_t *workers;
    int nworkers;              /* threads - 1 */
    int stop;
    uint64_t gen;              /* job number, bumped per parallel_for */
    int pending;               /* workers yet to check in for this job */
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

static void *worker(void *arg)
{
    QkrtPool *p = arg;
    uint64_t seen = 0;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen)
            pthread_cond_wait(&p->wake, &p->mu);
        if (p->stop)
            break;
        seen = p->gen;
        pthread_mutex_unlock(&p->mu);
        run_chunks(p);
        pthread_mutex_lock(&p->mu);
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
    p->gen++;
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->mu);

    run_chunks(p);

    pthread_mutex_lock(&p->mu);
    while (p->pending > 0)
        pthread_cond_wait(&p->idle, &p->mu);
    pthread_mutex_unlock(&p->mu);
}

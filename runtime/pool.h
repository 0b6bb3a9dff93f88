/* pool.h — the thread pool behind qkrt_exec.parallel_for (internal).
 *
 * A pool of n threads is n - 1 workers plus the thread that calls
 * qkrt_pool_parallel_for, which takes chunks too. Idle workers sleep on a
 * condition variable. One parallel_for at a time per pool (a pool belongs
 * to one context, which runs one model at a time); a parallel_for called
 * from inside a chunk runs serially. */
#ifndef QKRT_POOL_H
#define QKRT_POOL_H

#include <stdint.h>

typedef struct QkrtPool QkrtPool;

/* Start a pool of nthreads (>= 2) threads; NULL when a thread cannot be
 * started or memory is short. */
QkrtPool *qkrt_pool_new(int nthreads);
/* Stop and join the workers. NULL is fine. */
void qkrt_pool_free(QkrtPool *p);
/* Threads of the pool, the caller included; 1 for NULL. */
int qkrt_pool_threads(const QkrtPool *p);
/* qkrt_exec.parallel_for: run fn over [0, n) in chunks on the pool (a
 * QkrtPool *, or NULL to run fn(ctx, 0, n) here) and return when all are
 * done. Every index is covered by exactly one chunk; n <= 0 runs nothing. */
void qkrt_pool_parallel_for(void *pool, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx, int64_t n);

#endif

/* fake_artifact.c — a hand-written CPU artifact for the runtime tests.
 *
 *     x [N,1,10,10] f32  ->  y [N,1,10,10] f32 = 2 * x + 1
 *                            sum [N] f32       = sum of y over each sample
 *
 * It works the way generated code does: the first stage writes 2 * x into
 * the batch part of the workspace through parallel_for, the second reads it
 * back per sample. It also fills the static part of the workspace, so a
 * workspace smaller than ws_static + N * ws_batch shows up under ASan, and
 * fails (returns 1) when the workspace is not 64-byte aligned.
 *
 * Built as is, with FAKE_ABI_VERSION=7 (to be refused), with FAKE_NO_SYMBOL
 * (no qkc_artifact), and for AArch64 (to be refused on x86-64). */
#include <stdint.h>

#include "qkc/qkrt_abi.h"

#ifndef FAKE_ABI_VERSION
#define FAKE_ABI_VERSION QKRT_ABI_VERSION
#endif
#if defined(__aarch64__)
#define FAKE_TARGET "aarch64"
#else
#define FAKE_TARGET "x86_64"
#endif

enum { PER = 100, WS_STATIC = 100 }; /* elements per sample; an unaligned static part */

static const int64_t x_dims[] = {QKRT_DIM_BATCH, 1, 10, 10};
static const int64_t sum_dims[] = {QKRT_DIM_BATCH};
static const qkrt_tensor_desc inputs[] = {{"x", 1, 4, x_dims}};
static const qkrt_tensor_desc outputs[] = {{"y", 1, 4, x_dims}, {"sum", 1, 1, sum_dims}};

/* What the last run saw, for the tests (dlsym'd from the same handle). */
__attribute__((visibility("default"))) int fake_last_nthreads;
__attribute__((visibility("default"))) int64_t fake_runs;

typedef struct Job {
    const float *x;
    float *tmp, *y, *sum;
} Job;

static void stage_scale(void *ctx, int64_t begin, int64_t end)
{
    Job *j = ctx;
    for (int64_t i = begin; i < end; i++)
        j->tmp[i] = 2.0f * j->x[i];
}

static void stage_shift_sum(void *ctx, int64_t begin, int64_t end)
{
    Job *j = ctx;
    for (int64_t b = begin; b < end; b++) {
        float s = 0;
        for (int64_t k = b * PER; k < (b + 1) * PER; k++) {
            j->y[k] = j->tmp[k] + 1.0f;
            s += j->y[k];
        }
        j->sum[b] = s;
    }
}

static int fake_run(void *ws, const void *const *in, void *const *out, int64_t batch, const qkrt_exec *exec)
{
    if ((uintptr_t)ws % 64)
        return 1;
    unsigned char *w = ws;
    for (int i = 0; i < WS_STATIC; i++)
        w[i] = 0xab;
    Job j = {in[0], (float *)(w + WS_STATIC), out[0], out[1]};
    exec->parallel_for(exec->pool, stage_scale, &j, batch * PER);
    exec->parallel_for(exec->pool, stage_shift_sum, &j, batch);
    __atomic_store_n(&fake_last_nthreads, exec->nthreads, __ATOMIC_RELAXED);
    __atomic_add_fetch(&fake_runs, 1, __ATOMIC_RELAXED);
    return 0;
}

static const qkrt_artifact artifact = {
    .magic = QKRT_MAGIC,
    .abi_version = FAKE_ABI_VERSION,
    .target = FAKE_TARGET,
    .cpu = "generic",
    .model_name = "fake",
    .producer = "hand-written",
    .model_hash = 0x1234,
    .num_inputs = 1,
    .num_outputs = 2,
    .inputs = inputs,
    .outputs = outputs,
    .ws_static = WS_STATIC,
    .ws_batch = PER * sizeof(float),
    .run = fake_run,
};

#ifdef FAKE_NO_SYMBOL
__attribute__((visibility("default"))) const qkrt_artifact *not_qkc_artifact(void)
#else
__attribute__((visibility("default"))) const qkrt_artifact *qkc_artifact(void)
#endif
{
    return &artifact;
}

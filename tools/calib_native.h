/* calib_native.h — the compiled calibration engine: the fused graph with
 * every float value made an output, compiled for this machine and run by
 * the runtime on worker threads, one sample at a time (calib_native.c). */
#ifndef QKC_CALIB_NATIVE_H
#define QKC_CALIB_NATIVE_H

#include "ir/ir.h"
#include "passes/calib.h"

typedef struct CalibNative CalibNative;

/* Progress: samples done so far in the current run (from the calling thread). */
typedef void (*CalibTick)(void *ctx, int64_t done);

/* Make every f32 value of g that is computed (neither a constant nor a
 * graph input) a graph output, and only those: the calibration artifact's
 * outputs. A value with the batch merged into its first dim is output as
 * a view [N, rows, ...] named NAME CALIB_NATIVE_VIEW. Returns how many. */
#define CALIB_NATIVE_VIEW "@calib"
int calib_native_observe_all(Graph *g);
/* Load the calibration artifact built from g (its fused graph, before
 * calib_native_observe_all) and prepare `threads` workers (< 1: one per
 * CPU); NULL with an error on failure. */
CalibNative *calib_native_open(const char *artifact, const Graph *g, int threads, Diag *d);
/* Run the batch in[ninputs] (nsamples samples when per_sample; else the
 * inputs are one whole run) and add every observed value's statistics to
 * the workers' statistics. */
bool calib_native_run(CalibNative *cn, const Tensor *in, int64_t nsamples, bool per_sample, CalibTick tick,
                      void *tick_ctx, Diag *d);
/* Merge the workers' statistics into prof (exact) and clear them. */
void calib_native_finish(CalibNative *cn, CalibProfile *prof);
void calib_native_close(CalibNative *cn);

/* The channel layout whose sums the statistics of v keep (for bias
 * correction): activations read by Conv (channels: dim 1, inner: the dims
 * after it) and by Gemm/MatMul (the last dim); *chan = 0 for the others
 * (calibrate.c). */
void calib_channel_layout(const Graph *g, const Value *v, int64_t *chan, int64_t *inner);

#endif

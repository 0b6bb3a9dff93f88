/* bench.h — `qkc bench`: in-process timing of a compiled artifact. */
#ifndef QKC_BENCH_H
#define QKC_BENCH_H

#include <stdint.h>
#include <stdio.h>

typedef struct BenchArgs {
    const char *artifact;
    int ninputs;
    const char *const *input_specs; /* NAME=FILE.npy (FILE.npy for one input); others generated */
    int64_t batch;                  /* 0: from the inputs, else 1 */
    int threads;                    /* 0: the runtime's default */
    int iters;                      /* 0: about 1 s of runs */
    int warmup;                     /* < 0: at least 3 runs, up to 0.1 s */
    int json;                       /* one JSON object instead of text */
} BenchArgs;

/* Time the artifact; results to `out`, errors to `err`; 0 ok, 1 failure. */
int bench_artifact(const BenchArgs *a, FILE *out, FILE *err);

#endif

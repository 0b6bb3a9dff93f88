/* run.h — running a compiled artifact on .npy inputs, writing .npy outputs.
 * Shared by `qkc run` and the cross-built runner (qkc-run-aarch64), so it
 * depends on the runtime only. */
#ifndef QKC_RUN_H
#define QKC_RUN_H

#include <stdint.h>
#include <stdio.h>

typedef struct RunArgs {
    const char *artifact;
    int ninputs;
    const char *const *input_specs; /* "NAME=FILE.npy", or "FILE.npy" for a one-input model */
    const char *output_dir;
    int threads;                    /* 0: the runtime's default */
    int repeat;                     /* run this many times (>= 1) */
} RunArgs;

/* Load, check the inputs against the model, run, write DIR/<output>.npy.
 * Errors go to `err`; returns 0 on success, 1 on failure. */
int run_artifact(const RunArgs *a, FILE *err);

/* ELF machine of a file: 62 x86-64, 183 AArch64; 0 when not ELF. */
int run_elf_machine(const char *path);

#endif

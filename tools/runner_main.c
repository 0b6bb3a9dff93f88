/* runner_main.c — qkc-run-aarch64: `qkc run` for AArch64 artifacts, built
 * with the cross compiler and started by `qkc run` under qemu-aarch64.
 * Usage: qkc-run-aarch64 ARTIFACT.so OUTDIR THREADS REPEAT [NAME=]FILE.npy... */
#include <stdlib.h>

#include "run.h"

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s ARTIFACT.so OUTDIR THREADS REPEAT [NAME=]FILE.npy...\n", argv[0]);
        return 2;
    }
    RunArgs a = {.artifact = argv[1],
                 .output_dir = argv[2][0] ? argv[2] : NULL,
                 .threads = atoi(argv[3]),
                 .repeat = atoi(argv[4]),
                 .ninputs = argc - 5,
                 .input_specs = (const char *const *)(argv + 5)};
    return run_artifact(&a, stderr);
}

/* fuzz_npy.c — libFuzzer target: the .npy reader (runtime/npy.c) on bytes
 * from memory. Whatever the input, npy_read_buffer must return 0 with a
 * consistent array or -1 with a message naming the buffer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    NpyArray a;
    char err[256];
    err[0] = 0;
    if (npy_read_buffer("fuzz.npy", data, size, &a, err, sizeof err) == 0) {
        int64_t n = npy_numel(&a);
        if (a.rank < 0 || a.rank > NPY_MAX_RANK || n < 0)
            abort();
        /* touch every byte so ASan checks the buffer's extent */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < a.bytes; i++)
            sink ^= ((const uint8_t *)a.data)[i];
        (void)sink;
        npy_free(&a);
    } else if (strncmp(err, "fuzz.npy: ", 10) != 0) {
        abort(); /* a failure must say why */
    }
    return 0;
}

/* runtime/cuda.c — not written yet */

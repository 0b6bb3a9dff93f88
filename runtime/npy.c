/* runtime/npy.c — not written yet */

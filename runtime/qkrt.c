/* runtime/qkrt.c — not written yet */

/* codegen/k_misc.c — not written yet */

/* codegen/k_eltwise.c — not written yet */

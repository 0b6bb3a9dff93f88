/* codegen/k_pool.c — not written yet */

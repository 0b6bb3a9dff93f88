/* ir/interp_ops.c — not written yet */

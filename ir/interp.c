/* ir/interp.c — not written yet */

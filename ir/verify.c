/* ir/verify.c — not written yet */

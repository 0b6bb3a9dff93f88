/* ir/print.c — not written yet */

/* passes/fold.c — not written yet */

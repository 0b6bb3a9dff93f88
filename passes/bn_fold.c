/* passes/bn_fold.c — not written yet */

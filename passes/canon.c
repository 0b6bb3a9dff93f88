/* passes/canon.c — not written yet */

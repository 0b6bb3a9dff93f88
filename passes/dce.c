/* passes/dce.c — not written yet */

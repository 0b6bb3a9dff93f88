/* passes/shape_infer.c — not written yet */

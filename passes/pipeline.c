/* passes/pipeline.c — not written yet */

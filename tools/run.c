/* tools/run.c — not written yet */

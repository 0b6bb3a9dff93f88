/* codegen/loop.c — not written yet */

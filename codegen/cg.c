/* codegen/cg.c — not written yet */

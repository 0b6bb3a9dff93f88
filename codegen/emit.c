/* codegen/emit.c — not written yet */

/* codegen/target.c — not written yet */

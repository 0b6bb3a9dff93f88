/* codegen/link.c — not written yet */

/* codegen/mathfn.c — not written yet */

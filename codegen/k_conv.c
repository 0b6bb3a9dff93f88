/* codegen/k_conv.c — not written yet */

/* codegen/k_gemm.c — not written yet */

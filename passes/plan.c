/* passes/plan.c — not written yet */

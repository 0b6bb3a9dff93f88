/* passes/fuse.c — not written yet */

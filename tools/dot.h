/* dot.h — `qkc inspect --dot`: the IR as a Graphviz graph. */
#ifndef QKC_DOT_H
#define QKC_DOT_H

#include <stdio.h>

#include "codegen/codegen.h"

/* Write graph g in the DOT language: one node per IR node (its op, name,
 * the precision it computes in and its kernel family; on a planned graph
 * with a target t, the kernel codegen emits for it on t), one edge per
 * operand that is not a constant (dtype and shape; for i8/u8 values their
 * scale and zero point, per tensor or per channel), the graph's inputs and
 * outputs as nodes of their own shapes, constants folded into the labels
 * of the nodes that read them. t NULL: no kernels named. */
void drv_dot(const Graph *g, const Target *t, FILE *f);

/* drv_dot as a dump function (DriverOptions.dump_fn); ctx: the Target. */
void drv_dot_dump(void *ctx, const Graph *g, FILE *f);

#endif

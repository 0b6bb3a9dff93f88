/* report.h — the per-layer quantization report (--report FILE.json). */
#ifndef QKC_REPORT_H
#define QKC_REPORT_H

#include "driver.h"
#include "passes/calib.h"

/* Write the report of lowered int8 graph g (path NULL: only the warnings
 * on stderr for layers whose estimated error is large). */
bool drv_report(const char *path, const Graph *g, const CalibProfile *prof, const DriverOptions *o, Diag *d);

/* The weight scales of quantized layer n: QLinearConv/MatMul's own; for
 * ConvInteger/MatMulInteger the scale of the DequantizeLinear their
 * accumulators go to (through an i32 bias Add), which is s_x * s_w and has
 * one value per channel exactly when the weights do. NULL when none. */
const Value *drv_weight_scales(const Graph *g, const Node *n);

/* Why node n of lowered graph g computes in float (it is not a quantized
 * op and its result is a float): --keep-float, two run-time operands, no
 * integer kernel, ... as a short phrase; NULL when it is not a float op. */
const char *drv_float_reason(const Graph *g, const Node *n, const DriverOptions *o);

#endif

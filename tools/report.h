/* report.h — the per-layer quantization report (--report FILE.json). */
#ifndef QKC_REPORT_H
#define QKC_REPORT_H

#include "driver.h"
#include "passes/calib.h"

/* Write the report of lowered int8 graph g (path NULL: only the warnings
 * on stderr for layers whose estimated error is large). */
bool drv_report(const char *path, const Graph *g, const CalibProfile *prof, const DriverOptions *o, Diag *d);

#endif

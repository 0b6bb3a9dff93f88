/* eval.h — `qkc eval`: the precisions of a model compared on data. */
#ifndef QKC_EVAL_H
#define QKC_EVAL_H

#include "driver.h"

typedef struct EvalOptions {
    DriverOptions base;   /* target, calibration and quantization options */
    const char *const *data; /* --data: "X.npy" (a one-input model) or "NAME=X.npy" per input, all samples */
    int ndata;
    const char *labels;   /* y.npy (i64) or NULL */
    const char *json;     /* also write the tables as JSON here, or NULL */
    const char *plot;     /* and draw them as an SVG here (--plot), or NULL */
} EvalOptions;

/* Print the comparison table (and write JSON); 0 on success, 1 on error. */
int drv_eval(const char *model, const EvalOptions *e, Diag *d);

#endif

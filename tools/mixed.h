/* mixed.h — the layers to keep in float for a quality floor. */
#ifndef QKC_MIXED_H
#define QKC_MIXED_H

#include "driver.h"

typedef struct MixedGoal {
    double min_sqnr;          /* output SQNR floor against fp32, dB */
    const char *labels;       /* labels of the calibration samples, or NULL */
    double max_accuracy_drop; /* percentage points, with labels */
} MixedGoal;

typedef struct MixedChoice {
    int nkeep;                /* layers kept in float, most sensitive first */
    char **keep;
    double sqnr;              /* output SQNR reached, dB */
    double accuracy_drop;     /* with labels */
    int nlayers;              /* every quantizable layer, most sensitive first */
    char **layers;
    double *sensitivity;      /* output SQNR with only that layer in int8 */
} MixedChoice;

/* Measure each layer's sensitivity on the calibration data (o->calib, one
 * .npy; its first 128 samples) and choose the layers to keep in float. */
bool drv_mixed_choose(const char *model, const DriverOptions *o, const MixedGoal *goal, MixedChoice *out, Diag *d);
void drv_mixed_free(MixedChoice *c);

#endif

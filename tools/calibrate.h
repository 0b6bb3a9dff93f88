/* calibrate.h — running a model over calibration data to collect the
 * statistics of every float tensor (the profile). */
#ifndef QKC_CALIBRATE_H
#define QKC_CALIBRATE_H

#include "ir/ir.h"
#include "calib_native.h"
#include "passes/calib.h"

/* Run graph g (after the passes up to "fuse", so tensor names are those
 * the quantizer sees) over the data and add the statistics of every f32
 * value to prof: with the compiled engine `native` (calib_native.h, made
 * from g), or with the reference interpreter when native is NULL. Data
 * specs: "FILE.npy" or "DIR" (every *.npy in it, in name order) for a
 * one-input model; "NAME=FILE.npy" per input otherwise (several files per
 * input are taken in order, one batch each). The interpreter runs chunks
 * of at most `chunk` samples (the statistics do not depend on it).
 * Progress (samples, rate, time left) is shown on stderr when it is a
 * terminal. */
bool drv_calib_collect(const Graph *g, CalibNative *native, const char *const *specs, int nspecs, int64_t chunk,
                       CalibProfile *prof, Diag *d);

#endif

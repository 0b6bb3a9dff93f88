/* plot.h — `qkc eval --plot FILE.svg`: eval's tables drawn as one SVG. */
#ifndef QKC_PLOT_H
#define QKC_PLOT_H

#include <stdbool.h>
#include <stdio.h>

/* One row of the precision table. */
typedef struct PlotPrecision {
    const char *name;     /* fp32, fp16, int8, int8-dynamic */
    bool ok;              /* false: not run, `why` says why */
    const char *why;
    double accuracy;      /* percent; NAN without labels */
    double agree;         /* top-1 agreement with fp32, percent */
    double sqnr;          /* output SQNR against fp32, dB; INFINITY: equal outputs */
} PlotPrecision;

/* One int8 layer, in graph order. */
typedef struct PlotLayer {
    char *name;           /* the node's name (owned: malloc'ed) */
    const char *op;       /* op_info name (static) */
    double sqnr;          /* its output's SQNR against fp32, dB; INFINITY: exact; NAN: not measured */
} PlotLayer;

typedef struct PlotData {
    const char *model;    /* for the title */
    long long samples;
    PlotPrecision prec[5];
    int nprec;
    PlotLayer *layers;
    int nlayers;
    const char *no_layers; /* why there is no per-layer chart, or NULL */
} PlotData;

/* Draw p as an SVG document into f: the precisions (accuracy, agreement,
 * output SQNR as horizontal bars), then one vertical bar per int8 layer
 * (its output SQNR, coloured under 20 and 30 dB, named below). Each layer
 * bar is a <rect class="bar">. False when writing failed. */
bool drv_plot_svg(FILE *f, const PlotData *p);

/* Free the layer names and array. */
void drv_plot_free(PlotData *p);

#endif

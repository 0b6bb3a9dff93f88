/* plot.c — `qkc eval --plot FILE.svg` (plot.h): the precision table and
 * the int8 per-layer SQNR drawn by hand as SVG 1.1, no library:
 *
 *   title
 *   precision  accuracy  agree   output SQNR  ███████████ 39.7 dB
 *   ...
 *   int8, per layer            ┃ █ █     █
 *   (grid every 10 dB,         ┃ █ █ █ █ █ █ █
 *    20 dB dashed)             ┗━━━━━━━━━━━━━━━
 *                                layer names, slanted
 *
 * Layer bars are blue from 30 dB, orange from 20, red below (eval warns
 * under 20 dB); an exact layer reaches the top, green; an unmeasured one
 * is a flat bar marked n/a. Every text from the model is XML-escaped. */
#include "plot.h"

#include <math.h>
#include <stdlib.h>

#include "xml.h"

enum {
    PLOT_LEFT = 70,      /* the per-layer chart's y axis */
    PLOT_RIGHT = 30,
    PLOT_CHART_H = 260,  /* its height */
    PLOT_LABELS_H = 170, /* room for the slanted layer names */
    PLOT_ROW_H = 22,     /* a row of the precision table */
    PLOT_NAME_MAX = 30   /* layer names shown up to this many characters (their end) */
};

static const char *bar_colour(double db)
{
    return isinf(db) ? "#2f9e44" : db < 20 ? "#e03131" : db < 30 ? "#f08c00" : "#1c7ed6";
}

static void text(FILE *f, double x, double y, const char *attrs, const char *s, int max)
{
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\"%s%s>", x, y, *attrs ? " " : "", attrs);
    drv_xml_text(f, s, max);
    fprintf(f, "</text>\n");
}

static void db_str(double db, char *buf, size_t n)
{
    if (isnan(db))
        snprintf(buf, n, "n/a");
    else if (isinf(db))
        snprintf(buf, n, "exact");
    else
        snprintf(buf, n, "%.1f dB", db);
}

/* The precision table: name, accuracy, agreement, and the output SQNR as
 * a bar scaled to the best finite one; from y, returns the y after it. */
static double precisions(FILE *f, const PlotData *p, double y, double width)
{
    double best = 1;
    for (int i = 0; i < p->nprec; i++)
        if (p->prec[i].ok && isfinite(p->prec[i].sqnr) && p->prec[i].sqnr > best)
            best = p->prec[i].sqnr;
    const double xa = 150, xg = 240, xs = 330, bar_w = width - xs - 110;
    const char *head = "font-size=\"12\" font-weight=\"bold\"";
    text(f, 20, y, head, "precision", 0);
    text(f, xa, y, head, "accuracy", 0);
    text(f, xg, y, head, "agree", 0);
    text(f, xs, y, head, "output SQNR vs fp32", 0);
    y += PLOT_ROW_H;
    for (int i = 0; i < p->nprec; i++, y += PLOT_ROW_H) {
        const PlotPrecision *r = &p->prec[i];
        char buf[300];
        text(f, 20, y, "font-size=\"12\"", r->name, 0);
        if (!r->ok) {
            snprintf(buf, sizeof buf, "not run: %s", r->why ? r->why : "");
            text(f, xa, y, "font-size=\"12\" fill=\"#868e96\"", buf, 90);
            continue;
        }
        if (isnan(r->accuracy))
            snprintf(buf, sizeof buf, "-");
        else
            snprintf(buf, sizeof buf, "%.2f%%", r->accuracy);
        text(f, xa, y, "font-size=\"12\"", buf, 0);
        snprintf(buf, sizeof buf, "%.2f%%", r->agree);
        text(f, xg, y, "font-size=\"12\"", buf, 0);
        if (isinf(r->sqnr)) {
            text(f, xs, y, "font-size=\"12\" fill=\"#495057\"", i == 0 ? "reference" : "equal to fp32", 0);
            continue;
        }
        double w = r->sqnr > 0 ? bar_w * r->sqnr / best : 0;
        fprintf(f, "<rect class=\"prec-bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"14\" fill=\"%s\">"
                   "<title>", xs, y - 11, w, bar_colour(r->sqnr));
        drv_xml_text(f, r->name, 0);
        fprintf(f, ": %.1f dB</title></rect>\n", r->sqnr);
        db_str(r->sqnr, buf, sizeof buf);
        text(f, xs + w + 6, y, "font-size=\"12\"", buf, 0);
    }
    return y;
}

static void line(FILE *f, double x1, double y1, double x2, double y2, const char *attrs)
{
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" %s/>\n", x1, y1, x2, y2, attrs);
}

/* The chart's vertical scale: dB in [lo, hi] onto [bottom, bottom - PLOT_CHART_H]. */
typedef struct Scale {
    double lo, hi, bottom;
} Scale;

static double ypos(const Scale *s, double db) { return s->bottom - (db - s->lo) / (s->hi - s->lo) * PLOT_CHART_H; }

/* The per-layer chart with its top at y, bars bw apart. */
static void layers(FILE *f, const PlotData *p, double y, double bw)
{
    Scale sc = {0, 40, y + PLOT_CHART_H};
    for (int i = 0; i < p->nlayers; i++) {
        double s = p->layers[i].sqnr;
        if (isfinite(s)) /* room above the top bar; negative SQNRs below 0 */
            sc.lo = fmin(sc.lo, floor(s / 10) * 10), sc.hi = fmax(sc.hi, ceil((s + 1) / 10) * 10);
    }
    double step = sc.hi - sc.lo > 100 ? 20 : 10, x0 = PLOT_LEFT, x1 = PLOT_LEFT + bw * p->nlayers;
    char buf[128];
    for (double g = sc.lo; g <= sc.hi + 1e-9; g += step) {
        line(f, x0, ypos(&sc, g), x1, ypos(&sc, g), "stroke=\"#dee2e6\"");
        snprintf(buf, sizeof buf, "%.0f", g);
        text(f, x0 - 6, ypos(&sc, g) + 4, "font-size=\"10\" text-anchor=\"end\"", buf, 0);
    }
    snprintf(buf, sizeof buf, "font-size=\"11\" text-anchor=\"middle\" transform=\"rotate(-90 18 %.1f)\"",
             sc.bottom - PLOT_CHART_H / 2);
    text(f, 18, sc.bottom - PLOT_CHART_H / 2, buf, "SQNR dB", 0);
    if (20 > sc.lo && 20 < sc.hi) { /* eval warns under it */
        line(f, x0, ypos(&sc, 20), x1, ypos(&sc, 20), "stroke=\"#e03131\" stroke-dasharray=\"4 3\"");
        text(f, x1 + 4, ypos(&sc, 20) + 4, "font-size=\"10\" fill=\"#e03131\"", "20", 0);
    }
    for (int i = 0; i < p->nlayers; i++) {
        const PlotLayer *l = &p->layers[i];
        double s = l->sqnr, cx = x0 + bw * (i + 0.5), w = bw * 0.7;
        double v = isnan(s) ? fmax(sc.lo, 0) : isinf(s) ? sc.hi : s;
        double ya = ypos(&sc, fmax(v, 0)), yb = ypos(&sc, fmin(v, 0));
        char db[32];
        db_str(s, db, sizeof db);
        fprintf(f, "<rect class=\"bar\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"><title>",
                cx - w / 2, ya, w, yb - ya, isnan(s) ? "#adb5bd" : bar_colour(s));
        drv_xml_text(f, l->name, 0);
        fprintf(f, " (%s): %s</title></rect>\n", l->op, db);
        if (bw >= 20 || isnan(s)) { /* the value over the bar, where there is room */
            if (isfinite(s))
                snprintf(db, sizeof db, "%.1f", s);
            text(f, cx, (v >= 0 ? ya : yb + 10) - 3, "font-size=\"9\" text-anchor=\"middle\"", db, 0);
        }
        snprintf(buf, sizeof buf, "font-size=\"10\" text-anchor=\"end\" transform=\"rotate(-55 %.1f %.1f)\"", cx,
                 sc.bottom + 12);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" %s>", cx, sc.bottom + 12, buf);
        drv_xml_tail(f, l->name, PLOT_NAME_MAX);
        fprintf(f, "</text>\n");
    }
    line(f, x0, ypos(&sc, fmax(sc.lo, 0)), x1, ypos(&sc, fmax(sc.lo, 0)), "stroke=\"#212529\"");
    line(f, x0, sc.bottom - PLOT_CHART_H, x0, sc.bottom, "stroke=\"#212529\"");
}

bool drv_plot_svg(FILE *f, const PlotData *p)
{
    double bw = p->nlayers <= 16 ? 44 : p->nlayers <= 48 ? 24 : 14;
    double width = fmax(760, PLOT_LEFT + bw * p->nlayers + PLOT_RIGHT);
    double ytable = 60, ychart = ytable + PLOT_ROW_H * (p->nprec + 1) + 40;
    double height = p->nlayers ? ychart + PLOT_CHART_H + PLOT_LABELS_H : ychart + 30;
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"Helvetica, Arial, sans-serif\">\n"
               "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n", width, height, width, height);
    char title[512];
    snprintf(title, sizeof title, "qkc eval: %s (%lld samples)", p->model, p->samples);
    text(f, 20, 30, "font-size=\"16\" font-weight=\"bold\"", title, 0);
    precisions(f, p, ytable, width);
    if (!p->nlayers) {
        snprintf(title, sizeof title, "int8, per layer: %s", p->no_layers ? p->no_layers : "no quantized layers");
        text(f, 20, ychart - 10, "font-size=\"13\" fill=\"#868e96\"", title, 120);
    } else {
        text(f, 20, ychart - 14, "font-size=\"13\" font-weight=\"bold\"",
             "int8, per layer: the SQNR of each layer's output on the data, dequantized, vs fp32", 0);
        layers(f, p, ychart, bw);
    }
    fprintf(f, "</svg>\n");
    return !ferror(f);
}

void drv_plot_free(PlotData *p)
{
    for (int i = 0; i < p->nlayers; i++)
        free(p->layers[i].name);
    free(p->layers);
    p->layers = NULL;
    p->nlayers = 0;
}

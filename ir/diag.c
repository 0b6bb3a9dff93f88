/* diag.c — formats diagnostics as
 *     file:line:col: error: message          (text sources, then line + caret)
 *     file: error: node 'name' (Op): message (nodes of binary models)
 *     file: error: message
 * and records them in a growing buffer. */
#include "diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void diag_init(Diag *d, FILE *echo)
{
    memset(d, 0, sizeof *d);
    d->echo = echo;
}

void diag_fini(Diag *d)
{
    free(d->buf);
    memset(d, 0, sizeof *d);
}

void diag_add_source(Diag *d, const char *file, const char *text, size_t len)
{
    for (int i = 0; i < d->nsrc; i++)
        if (d->src[i].file && file && strcmp(d->src[i].file, file) == 0) {
            d->src[i].text = text; /* a newer copy of the same file */
            d->src[i].len = len;
            return;
        }
    if (d->nsrc < DIAG_MAX_SOURCES) {
        d->src[d->nsrc].file = file;
        d->src[d->nsrc].text = text;
        d->src[d->nsrc].len = len;
        d->nsrc++;
    }
}

static void append(Diag *d, const char *s, size_t n)
{
    if (d->len + n + 1 > d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        while (cap < d->len + n + 1)
            cap *= 2;
        char *nb = realloc(d->buf, cap);
        if (!nb)
            return; /* drop the message rather than fail while failing */
        d->buf = nb;
        d->cap = cap;
    }
    memcpy(d->buf + d->len, s, n);
    d->len += n;
    d->buf[d->len] = 0;
    if (d->echo)
        fwrite(s, 1, n, d->echo);
}

static void appendf(Diag *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void appendf(Diag *d, const char *fmt, ...)
{
    char tmp[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof tmp) {
        char *big = malloc((size_t)n + 1);
        if (!big)
            return;
        va_start(ap, fmt);
        vsnprintf(big, (size_t)n + 1, fmt, ap);
        va_end(ap);
        append(d, big, (size_t)n);
        free(big);
        return;
    }
    append(d, tmp, (size_t)n);
}

/* Print the source line of `loc` and a caret under its column. */
static void show_line(Diag *d, SrcLoc loc)
{
    for (int i = 0; i < d->nsrc; i++) {
        if (!d->src[i].file || strcmp(d->src[i].file, loc.file) != 0)
            continue;
        const char *p = d->src[i].text, *end = p + d->src[i].len;
        for (int line = 1; line < loc.line && p < end; p++)
            if (*p == '\n')
                line++;
        const char *e = p;
        while (e < end && *e != '\n')
            e++;
        appendf(d, "  %.*s\n  ", (int)(e - p), p);
        for (int c = 1; c < loc.col && p + c - 1 < e; c++)
            append(d, p[c - 1] == '\t' ? "\t" : " ", 1);
        append(d, "^\n", 2);
        return;
    }
}

static void report(Diag *d, const char *kind, SrcLoc loc, const char *fmt, va_list ap)
{
    if (loc.file && loc.line > 0)
        appendf(d, "%s:%d:%d: %s: ", loc.file, loc.line, loc.col, kind);
    else if (loc.file)
        appendf(d, "%s: %s: ", loc.file, kind);
    else
        appendf(d, "qkc: %s: ", kind);
    if (loc.node && loc.op)
        appendf(d, "node '%s' (%s): ", loc.node, loc.op);
    else if (loc.node)
        appendf(d, "'%s': ", loc.node);
    char tmp[2048];
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    appendf(d, "%s\n", tmp);
    if (loc.file && loc.line > 0)
        show_line(d, loc);
}

bool diag_error(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    int max = d->max_errors ? d->max_errors : 100;
    d->errors++;
    if (d->errors == max + 1)
        appendf(d, "qkc: error: too many errors; stopping\n");
    if (d->errors > max)
        return false;
    va_list ap;
    va_start(ap, fmt);
    report(d, "error", loc, fmt, ap);
    va_end(ap);
    return false;
}

void diag_warn(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    d->warnings++;
    va_list ap;
    va_start(ap, fmt);
    report(d, "warning", loc, fmt, ap);
    va_end(ap);
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(d, "note", loc, fmt, ap);
    va_end(ap);
}

bool diag_contains(const Diag *d, const char *needle)
{
    return d->buf && strstr(d->buf, needle) != NULL;
}

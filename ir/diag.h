/* diag.h — diagnostics: every problem in a user's input is reported with its
 * place, and all problems of a phase are reported, not only the first.
 *
 * Places are source positions (file:line:col, with the source line and a
 * caret) for the text syntax, and node name + op type for binary ONNX.
 * Messages are kept in a buffer (tests assert on them) and echoed to a
 * stream as they come (the CLI echoes to stderr). */
#ifndef QKC_DIAG_H
#define QKC_DIAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

typedef struct SrcLoc {
    const char *file; /* model or data file, or NULL */
    int line, col;    /* 1-based; 0 when the source has no lines */
    const char *node; /* node name (or "#index" when unnamed), or NULL */
    const char *op;   /* node op type, or NULL */
} SrcLoc;

#define DIAG_MAX_SOURCES 8

typedef struct Diag {
    FILE *echo;             /* stream messages are echoed to, or NULL */
    char *buf;              /* every message so far, NUL-terminated */
    size_t len, cap;
    int errors, warnings;   /* counts */
    int max_errors;         /* stop recording after this many (0: 100) */
    struct {
        const char *file, *text; /* registered source texts, for carets */
        size_t len;
    } src[DIAG_MAX_SOURCES];
    int nsrc;
} Diag;

void diag_init(Diag *d, FILE *echo);
void diag_fini(Diag *d);
/* Register a source text so errors in `file` can show the line and a caret.
 * The text must outlive the Diag; registering the same file again replaces
 * the text (when a copy moves to a longer-lived owner). */
void diag_add_source(Diag *d, const char *file, const char *text, size_t len);
/* Report an error; always returns false so callers can `return diag_error(...)`. */
bool diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_warn(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static inline bool diag_ok(const Diag *d) { return d->errors == 0; }
/* Whether the recorded messages contain `needle` (for tests). */
bool diag_contains(const Diag *d, const char *needle);

static inline SrcLoc loc_file(const char *file) { return (SrcLoc){file, 0, 0, NULL, NULL}; }
static inline SrcLoc loc_none(void) { return (SrcLoc){NULL, 0, 0, NULL, NULL}; }

#endif

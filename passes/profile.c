/* profile.c — the calibration profile: per-tensor statistics of one model,
 * saved as versioned JSON (format in calib.h), read back exactly, merged.
 *
 * The reader is schema-directed: it knows where each object, string and
 * number must be, so it never recurses and any other byte is an error at
 * its line and column. Strings must be valid UTF-8 without NUL; counts are
 * non-negative integers that fit int64; min/max must be float32 values;
 * bin keys must be the canonical name of a bin; duplicate and unknown keys
 * are errors; the statistics of each tensor must be consistent
 * (calib_stats_check). The version key comes first, so a file of another
 * version is reported as such before anything else. */
#include "calib.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        abort();
    return q;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(xrealloc(NULL, n), s, n);
}

/* ---- the profile in memory ---- */

void profile_init(CalibProfile *p, const char *model, const char *model_hash)
{
    memset(p, 0, sizeof *p);
    p->model = xstrdup(model ? model : "");
    p->model_hash = xstrdup(model_hash ? model_hash : "");
}

void profile_free(CalibProfile *p)
{
    for (int32_t i = 0; i < p->ntensors; i++) {
        free(p->tensors[i].name);
        calib_stats_free(&p->tensors[i].stats);
    }
    free(p->tensors);
    free(p->path);
    free(p->model);
    free(p->model_hash);
    memset(p, 0, sizeof *p);
}

/* Index of `name` in the sorted tensors, or of where it would go. */
static int32_t tensor_pos(const CalibProfile *p, const char *name, bool *found)
{
    int32_t lo = 0, hi = p->ntensors;
    while (lo < hi) {
        int32_t mid = lo + (hi - lo) / 2;
        int c = strcmp(p->tensors[mid].name, name);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const CalibStats *profile_find(const CalibProfile *p, const char *name)
{
    bool found;
    int32_t i = tensor_pos(p, name, &found);
    return found ? &p->tensors[i].stats : NULL;
}

CalibStats *profile_tensor(CalibProfile *p, const char *name)
{
    bool found;
    int32_t i = tensor_pos(p, name, &found);
    if (found)
        return &p->tensors[i].stats;
    if (p->ntensors == p->cap) {
        p->cap = p->cap ? 2 * p->cap : 16;
        p->tensors = xrealloc(p->tensors, (size_t)p->cap * sizeof *p->tensors);
    }
    memmove(p->tensors + i + 1, p->tensors + i, (size_t)(p->ntensors - i) * sizeof *p->tensors);
    p->ntensors++;
    p->tensors[i].name = xstrdup(name);
    calib_stats_init(&p->tensors[i].stats);
    return &p->tensors[i].stats;
}

static const char *pname(const CalibProfile *p) { return p->path ? p->path : "(unsaved profile)"; }

bool profile_merge(CalibProfile *dst, const CalibProfile *src, Diag *d)
{
    int before = d->errors;
    if (strcmp(dst->model_hash, src->model_hash) != 0)
        return diag_error(d, loc_file(pname(src)),
                          "profile of another model: model hash '%s' here, '%s' in %s; cannot merge",
                          src->model_hash, dst->model_hash, pname(dst));
    int32_t i = 0, j = 0;
    while (i < dst->ntensors || j < src->ntensors) {
        int c = i == dst->ntensors ? 1 : j == src->ntensors ? -1 : strcmp(dst->tensors[i].name, src->tensors[j].name);
        if (c < 0) {
            diag_error(d, loc_file(pname(dst)), "tensor '%s' is in %s but not in %s", dst->tensors[i].name,
                       pname(dst), pname(src));
            i++;
        } else if (c > 0) {
            diag_error(d, loc_file(pname(src)), "tensor '%s' is in %s but not in %s", src->tensors[j].name,
                       pname(src), pname(dst));
            j++;
        } else {
            const CalibStats *a = &dst->tensors[i].stats, *b = &src->tensors[j].stats;
            if (a->count > INT64_MAX - b->count || a->nonfinite > INT64_MAX - b->nonfinite)
                diag_error(d, loc_file(pname(src)), "tensor '%s': counts overflow when merged with %s",
                           src->tensors[j].name, pname(dst));
            i++, j++;
        }
    }
    if (src->samples > INT64_MAX - dst->samples)
        diag_error(d, loc_file(pname(src)), "sample count overflows when merged with %s", pname(dst));
    if (d->errors != before)
        return false;
    for (i = 0; i < dst->ntensors; i++)
        calib_stats_merge(&dst->tensors[i].stats, &src->tensors[i].stats);
    dst->samples += src->samples;
    return true;
}

/* ---- writing ---- */

/* Length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    if (s[0] < 0x80)
        return 1;
    size_t len = s[0] >= 0xc2 && s[0] <= 0xdf ? 2 : s[0] >= 0xe0 && s[0] <= 0xef ? 3 : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : 0;
    if (!len || len > n)
        return 0;
    for (size_t k = 1; k < len; k++)
        if ((s[k] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0) || /* overlong, surrogates */
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90))   /* overlong, > U+10FFFF */
        return 0;
    return len;
}

/* Write s as a JSON string; false when s is not valid UTF-8. */
static bool put_string(FILE *f, const char *str)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t n = strlen(str);
    fputc('"', f);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_len(s + i, n - i);
        if (!len)
            return false;
        if (s[i] == '"' || s[i] == '\\')
            fprintf(f, "\\%c", s[i]);
        else if (s[i] == '\n')
            fputs("\\n", f);
        else if (s[i] == '\t')
            fputs("\\t", f);
        else if (s[i] < 0x20)
            fprintf(f, "\\u%04x", s[i]);
        else
            fwrite(s + i, 1, len, f);
        i += len;
    }
    fputc('"', f);
    return true;
}

/* The canonical name of a bin: the shortest %g that reads back as its float. */
static void bin_name(int key, char *buf, size_t n)
{
    float f = calib_bin_float(key);
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, n, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f)
            return;
    }
}

static bool write_tensor(FILE *f, const CalibTensor *t)
{
    const CalibStats *s = &t->stats;
    fputs("  ", f);
    if (!put_string(f, t->name))
        return false;
    fprintf(f, ": {\"min\": %.17g, \"max\": %.17g, \"count\": %" PRId64 ", \"nonfinite\": %" PRId64
               ", \"zeros\": %" PRId64 ", \"hist\": {",
            s->min, s->max, s->count, s->nonfinite, s->zeros);
    for (int32_t i = 0; i < s->nbins; i++) {
        char name[32];
        bin_name(s->bins[i].key, name, sizeof name);
        /* one line per binade (same sign and exponent: same key >> 6) */
        if (i == 0 || s->bins[i].key >> 6 != s->bins[i - 1].key >> 6)
            fputs(i ? ",\n    " : "\n    ", f);
        else
            fputs(", ", f);
        fprintf(f, "\"%s\": %" PRId64, name, s->bins[i].n);
    }
    fputs("}}", f);
    return true;
}

bool profile_write(const CalibProfile *p, const char *path, Diag *d)
{
    for (int32_t i = 0; i < p->ntensors; i++) {
        const char *why = calib_stats_check(&p->tensors[i].stats);
        if (why)
            return diag_error(d, loc_file(path), "tensor '%s': inconsistent statistics (%s)", p->tensors[i].name, why);
    }
    size_t n = strlen(path);
    char *tmp = xrealloc(NULL, n + 5);
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    FILE *f = fopen(tmp, "w");
    if (!f) {
        diag_error(d, loc_file(path), "cannot write %s: %s", tmp, strerror(errno));
        free(tmp);
        return false;
    }
    bool ok = true;
    fprintf(f, "{\"qkc_profile\": %d,\n \"model\": ", CALIB_PROFILE_VERSION);
    ok &= put_string(f, p->model);
    fputs(",\n \"model_hash\": ", f);
    ok &= put_string(f, p->model_hash);
    fprintf(f, ",\n \"samples\": %" PRId64 ",\n \"tensors\": {", p->samples);
    for (int32_t i = 0; i < p->ntensors && ok; i++) {
        fputs(i ? ",\n" : "\n", f);
        ok = write_tensor(f, &p->tensors[i]);
    }
    fputs(p->ntensors ? "\n }}\n" : "}}\n", f);
    bool io = !ferror(f);
    io &= fclose(f) == 0;
    if (!ok)
        diag_error(d, loc_file(path), "a name in the profile is not valid UTF-8");
    else if (!io)
        diag_error(d, loc_file(path), "cannot write %s: %s", tmp, strerror(errno));
    else if (rename(tmp, path) != 0)
        ok = diag_error(d, loc_file(path), "cannot rename %s to %s: %s", tmp, path, strerror(errno));
    if (!ok || !io)
        remove(tmp);
    free(tmp);
    return ok && io;
}

/* ---- reading ---- */

typedef struct Reader {
    const char *path;
    const unsigned char *s; /* the file's bytes (not NUL-terminated for the parser) */
    size_t n, i;            /* length, position */
    Diag *d;
} Reader;

static bool rd_error(Reader *r, size_t at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool rd_error(Reader *r, size_t at, const char *fmt, ...)
{
    int line = 1, col = 1;
    for (size_t k = 0; k < at && k < r->n; k++, col++)
        if (r->s[k] == '\n')
            line++, col = 0;
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_error(r->d, (SrcLoc){r->path, line, col, NULL, NULL}, "%s", msg);
}

static void ws(Reader *r)
{
    while (r->i < r->n && (r->s[r->i] == ' ' || r->s[r->i] == '\t' || r->s[r->i] == '\n' || r->s[r->i] == '\r'))
        r->i++;
}

/* What is at the reader's position, for messages. */
static const char *found(const Reader *r, char *buf, size_t n)
{
    if (r->i >= r->n)
        return "end of file";
    unsigned char c = r->s[r->i];
    if (c > 0x20 && c < 0x7f)
        snprintf(buf, n, "'%c'", c);
    else
        snprintf(buf, n, "byte 0x%02x", c);
    return buf;
}

/* Skip blanks and the character c, or report what was expected. */
static bool expect(Reader *r, char c, const char *what)
{
    ws(r);
    if (r->i < r->n && r->s[r->i] == (unsigned char)c) {
        r->i++;
        return true;
    }
    char buf[16];
    return rd_error(r, r->i, "expected %s, found %s", what, found(r, buf, sizeof buf));
}

static int hexval(unsigned char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

static bool read_hex4(Reader *r, unsigned *u)
{
    *u = 0;
    for (int k = 0; k < 4; k++) {
        int h = r->i < r->n ? hexval(r->s[r->i]) : -1;
        if (h < 0)
            return rd_error(r, r->i, "bad \\u escape: want 4 hex digits");
        *u = *u * 16 + (unsigned)h;
        r->i++;
    }
    return true;
}

/* A JSON string (after blanks) into a new NUL-terminated buffer *out. */
static bool read_string(Reader *r, char **out, const char *what)
{
    *out = NULL;
    ws(r);
    if (r->i >= r->n || r->s[r->i] != '"') {
        char buf[16];
        return rd_error(r, r->i, "expected %s (a string), found %s", what, found(r, buf, sizeof buf));
    }
    size_t start = r->i++;
    char *b = xrealloc(NULL, 64);
    size_t len = 0, cap = 64;
    for (;;) {
        if (r->i >= r->n) {
            free(b);
            return rd_error(r, start, "unterminated string");
        }
        unsigned char c = r->s[r->i];
        char enc[4];
        size_t k = 0;
        if (c == '"') {
            r->i++;
            break;
        } else if (c < 0x20) {
            free(b);
            return rd_error(r, r->i, "control character (byte 0x%02x) in a string", c);
        } else if (c == '\\') {
            unsigned char e = ++r->i < r->n ? r->s[r->i++] : 0;
            const char *simple = strchr("\"\\/bfnrt", e);
            if (e && simple) {
                enc[k++] = "\"\\/\b\f\n\r\t"[simple - "\"\\/bfnrt"];
            } else if (e == 'u') {
                unsigned u, lo;
                if (!read_hex4(r, &u))
                    return free(b), false;
                if (u >= 0xdc00 && u <= 0xdfff)
                    return free(b), rd_error(r, r->i - 6, "lone low surrogate in \\u escape");
                if (u >= 0xd800 && u <= 0xdbff) {
                    if (r->i + 1 >= r->n || r->s[r->i] != '\\' || r->s[r->i + 1] != 'u')
                        return free(b), rd_error(r, r->i, "high surrogate without a low one");
                    r->i += 2;
                    if (!read_hex4(r, &lo))
                        return free(b), false;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return free(b), rd_error(r, r->i - 6, "high surrogate without a low one");
                    u = 0x10000 + ((u - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (u == 0)
                    return free(b), rd_error(r, r->i - 6, "NUL character in a string");
                if (u < 0x80)
                    enc[k++] = (char)u;
                else if (u < 0x800)
                    enc[k++] = (char)(0xc0 | u >> 6), enc[k++] = (char)(0x80 | (u & 63));
                else if (u < 0x10000)
                    enc[k++] = (char)(0xe0 | u >> 12), enc[k++] = (char)(0x80 | (u >> 6 & 63)),
                    enc[k++] = (char)(0x80 | (u & 63));
                else
                    enc[k++] = (char)(0xf0 | u >> 18), enc[k++] = (char)(0x80 | (u >> 12 & 63)),
                    enc[k++] = (char)(0x80 | (u >> 6 & 63)), enc[k++] = (char)(0x80 | (u & 63));
            } else {
                free(b);
                return rd_error(r, r->i - 1, "bad escape in a string");
            }
        } else {
            size_t l = utf8_len(r->s + r->i, r->n - r->i);
            if (!l) {
                free(b);
                return rd_error(r, r->i, "invalid UTF-8 (byte 0x%02x) in a string", c);
            }
            memcpy(enc, r->s + r->i, l);
            k = l;
            r->i += l;
        }
        if (len + k + 1 > cap)
            b = xrealloc(b, cap *= 2);
        memcpy(b + len, enc, k);
        len += k;
    }
    b[len] = 0;
    *out = b;
    return true;
}

/* A JSON number (after blanks): its extent [*start, r->i) and whether it is a
 * plain integer (no fraction or exponent). */
static bool read_number(Reader *r, size_t *start, bool *integer, const char *what)
{
    ws(r);
    const unsigned char *s = r->s;
    size_t i = *start = r->i, n = r->n;
#define DIGITS(i) ((i) < n && s[i] >= '0' && s[i] <= '9')
    if (i < n && s[i] == '-')
        i++;
    if (!DIGITS(i)) {
        char buf[16];
        return rd_error(r, r->i, "expected %s (a number), found %s", what, found(r, buf, sizeof buf));
    }
    if (s[i] == '0')
        i++;
    else
        while (DIGITS(i))
            i++;
    *integer = true;
    if (i < n && s[i] == '.') {
        *integer = false;
        i++;
        if (!DIGITS(i))
            return rd_error(r, i, "malformed number: want digits after '.'");
        while (DIGITS(i))
            i++;
    }
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        *integer = false;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            i++;
        if (!DIGITS(i))
            return rd_error(r, i, "malformed number: want digits in the exponent");
        while (DIGITS(i))
            i++;
    }
#undef DIGITS
    r->i = i;
    return true;
}

/* A non-negative integer that fits int64. */
static bool read_count(Reader *r, int64_t *v, const char *what)
{
    size_t start;
    bool integer;
    if (!read_number(r, &start, &integer, what))
        return false;
    if (r->s[start] == '-')
        return rd_error(r, start, "%s must not be negative", what);
    if (!integer)
        return rd_error(r, start, "%s must be an integer", what);
    int64_t x = 0;
    for (size_t k = start; k < r->i; k++) {
        int dig = r->s[k] - '0';
        if (x > (INT64_MAX - dig) / 10)
            return rd_error(r, start, "%s is too large", what);
        x = x * 10 + dig;
    }
    *v = x;
    return true;
}

/* A float32 value written as a number. */
static bool read_float(Reader *r, double *v, const char *what)
{
    size_t start;
    bool integer;
    if (!read_number(r, &start, &integer, what))
        return false;
    size_t len = r->i - start;
    char *tmp = xrealloc(NULL, len + 1);
    memcpy(tmp, r->s + start, len);
    tmp[len] = 0;
    errno = 0;
    double x = strtod(tmp, NULL);
    bool range = errno == ERANGE;
    free(tmp);
    if (range || !isfinite(x) || fabs(x) > FLT_MAX)
        return rd_error(r, start, "%s is out of range", what);
    if ((double)(float)x != x)
        return rd_error(r, start, "%s is not a float32 value", what);
    *v = x;
    return true;
}

/* After a member: ',' (true, *more) or the closing '}' (true, !*more). */
static bool next_member(Reader *r, bool *more, const char *in)
{
    ws(r);
    if (r->i < r->n && (r->s[r->i] == ',' || r->s[r->i] == '}')) {
        *more = r->s[r->i++] == ',';
        return true;
    }
    char buf[16];
    return rd_error(r, r->i, "expected ',' or '}' in %s, found %s", in, found(r, buf, sizeof buf));
}

static int cmp_bin(const void *x, const void *y)
{
    const CalibBin *a = x, *b = y;
    return (a->key > b->key) - (a->key < b->key);
}

/* The bin named `name` (canonical names only), or -1. */
static int parse_bin_name(const char *name)
{
    char *end;
    float f = strtof(name, &end);
    if (end == name || *end || !isfinite(f))
        return -1;
    int key = calib_bin_key(f);
    char canon[32];
    bin_name(key, canon, sizeof canon);
    return calib_bin_float(key) == f && !!signbit(calib_bin_float(key)) == !!signbit(f) && strcmp(canon, name) == 0
               ? key
               : -1;
}

static bool read_hist(Reader *r, CalibStats *s)
{
    if (!expect(r, '{', "'{' (the histogram)"))
        return false;
    uint8_t seen[CALIB_KEY_LIMIT / 8] = {0};
    ws(r);
    if (r->i < r->n && r->s[r->i] == '}') {
        r->i++;
        return true;
    }
    for (bool more = true; more;) {
        ws(r);
        size_t at = r->i;
        char *name;
        if (!read_string(r, &name, "a bin key"))
            return false;
        int key = parse_bin_name(name);
        if (key < 0) {
            rd_error(r, at, "unknown bin key \"%s\" (want the shortest decimal of a bin's edge)", name);
            return free(name), false;
        }
        free(name);
        if (seen[key >> 3] & (1 << (key & 7)))
            return rd_error(r, at, "duplicate bin key");
        seen[key >> 3] |= (uint8_t)(1 << (key & 7));
        int64_t n;
        if (!expect(r, ':', "':'") || !read_count(r, &n, "a bin count"))
            return false;
        if (n == 0)
            return rd_error(r, at, "empty bin listed (only non-empty bins are kept)");
        if (s->nbins == s->cap) {
            s->cap = s->cap ? 2 * s->cap : 64;
            s->bins = xrealloc(s->bins, (size_t)s->cap * sizeof *s->bins);
        }
        s->bins[s->nbins++] = (CalibBin){(uint16_t)key, n};
        if (!next_member(r, &more, "the histogram"))
            return false;
    }
    qsort(s->bins, (size_t)s->nbins, sizeof *s->bins, cmp_bin);
    return true;
}

static bool read_tensor(Reader *r, CalibStats *s, const char *tname, size_t at)
{
    static const char *keys[] = {"min", "max", "count", "nonfinite", "zeros", "hist"};
    enum { NKEYS = sizeof keys / sizeof *keys };
    bool have[NKEYS] = {0};
    if (!expect(r, '{', "'{' (a tensor's statistics)"))
        return false;
    for (bool more = true; more;) {
        ws(r);
        size_t kat = r->i;
        char *key;
        if (!read_string(r, &key, "a key"))
            return false;
        int k = 0;
        while (k < NKEYS && strcmp(keys[k], key) != 0)
            k++;
        free(key);
        if (k == NKEYS)
            return rd_error(r, kat, "unknown key in tensor '%s' (want min, max, count, nonfinite, zeros, hist)", tname);
        if (have[k])
            return rd_error(r, kat, "duplicate key '%s' in tensor '%s'", keys[k], tname);
        have[k] = true;
        if (!expect(r, ':', "':'"))
            return false;
        bool ok = k == 0   ? read_float(r, &s->min, "min")
                  : k == 1 ? read_float(r, &s->max, "max")
                  : k == 2 ? read_count(r, &s->count, "count")
                  : k == 3 ? read_count(r, &s->nonfinite, "nonfinite")
                  : k == 4 ? read_count(r, &s->zeros, "zeros")
                           : read_hist(r, s);
        if (!ok || !next_member(r, &more, "a tensor"))
            return false;
    }
    for (int k = 0; k < NKEYS; k++)
        if (!have[k])
            return rd_error(r, at, "tensor '%s' has no '%s'", tname, keys[k]);
    const char *why = calib_stats_check(s);
    return why ? rd_error(r, at, "tensor '%s': inconsistent statistics: %s", tname, why) : true;
}

static bool read_tensors(Reader *r, CalibProfile *p)
{
    if (!expect(r, '{', "'{' (the tensors)"))
        return false;
    ws(r);
    if (r->i < r->n && r->s[r->i] == '}') {
        r->i++;
        return true;
    }
    for (bool more = true; more;) {
        ws(r);
        size_t at = r->i;
        char *name;
        if (!read_string(r, &name, "a tensor name"))
            return false;
        bool dup = profile_find(p, name) != NULL;
        bool ok = dup ? rd_error(r, at, "duplicate tensor '%s'", name)
                      : expect(r, ':', "':'") && read_tensor(r, profile_tensor(p, name), name, at);
        free(name);
        if (!ok || !next_member(r, &more, "the tensors"))
            return false;
    }
    return true;
}

static bool read_profile(Reader *r, CalibProfile *p)
{
    if (!expect(r, '{', "'{' (a qkc profile)"))
        return false;
    ws(r);
    size_t at = r->i;
    char *key;
    int64_t version;
    if (r->i < r->n && r->s[r->i] != '"')
        return rd_error(r, at, "not a qkc profile: expected the key \"qkc_profile\" first");
    if (!read_string(r, &key, "the key \"qkc_profile\""))
        return false;
    bool is = strcmp(key, "qkc_profile") == 0;
    free(key);
    if (!is)
        return rd_error(r, at, "not a qkc profile: expected the key \"qkc_profile\" first");
    if (!expect(r, ':', "':'"))
        return false;
    ws(r);
    at = r->i;
    if (!read_count(r, &version, "the profile version"))
        return false;
    if (version != CALIB_PROFILE_VERSION)
        return rd_error(r, at, "profile version %" PRId64 " is not supported (this qkc reads version %d)", version,
                        CALIB_PROFILE_VERSION);
    static const char *keys[] = {"model", "model_hash", "samples", "tensors"};
    enum { NKEYS = sizeof keys / sizeof *keys };
    bool have[NKEYS] = {0}, more;
    if (!next_member(r, &more, "the profile"))
        return false;
    while (more) {
        ws(r);
        size_t kat = r->i;
        if (!read_string(r, &key, "a key"))
            return false;
        int k = 0;
        while (k < NKEYS && strcmp(keys[k], key) != 0)
            k++;
        bool dupver = strcmp(key, "qkc_profile") == 0;
        free(key);
        if (k == NKEYS)
            return rd_error(r, kat, dupver ? "duplicate key 'qkc_profile'"
                                           : "unknown key in the profile (want model, model_hash, samples, tensors)");
        if (have[k])
            return rd_error(r, kat, "duplicate key '%s'", keys[k]);
        have[k] = true;
        if (!expect(r, ':', "':'"))
            return false;
        bool ok = k == 0   ? (free(p->model), read_string(r, &p->model, "the model name"))
                  : k == 1 ? (free(p->model_hash), read_string(r, &p->model_hash, "the model hash"))
                  : k == 2 ? read_count(r, &p->samples, "samples")
                           : read_tensors(r, p);
        if (!ok || !next_member(r, &more, "the profile"))
            return false;
    }
    size_t end = r->i - 1;
    for (int k = 0; k < NKEYS; k++)
        if (!have[k])
            return rd_error(r, end, "the profile has no '%s'", keys[k]);
    ws(r);
    if (r->i < r->n)
        return rd_error(r, r->i, "unexpected data after the profile");
    return true;
}

#define PROFILE_MAX_BYTES ((size_t)1 << 31)

bool profile_read(const char *path, CalibProfile *p, Diag *d)
{
    profile_init(p, NULL, NULL);
    p->path = xstrdup(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(d, loc_file(path), "cannot open: %s", strerror(errno));
        profile_free(p);
        return false;
    }
    size_t n = 0, cap = 1 << 16;
    unsigned char *buf = xrealloc(NULL, cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            if (cap >= PROFILE_MAX_BYTES)
                break;
            buf = xrealloc(buf, cap *= 2);
        }
    }
    bool ok = !ferror(f);
    fclose(f);
    if (!ok)
        diag_error(d, loc_file(path), "cannot read: %s", strerror(errno));
    else if (n >= PROFILE_MAX_BYTES)
        ok = diag_error(d, loc_file(path), "file too large for a profile");
    else {
        Reader r = {path, buf, n, 0, d};
        ok = read_profile(&r, p);
    }
    free(buf);
    if (!ok)
        profile_free(p);
    return ok;
}

/* profile_read.c — reading a calibration profile (format in calib.h) back
 * exactly, with an error at the file, line and column of anything malformed.
 *
 * The reader is schema-directed: it knows where each object, array, string
 * and number must be, so it never recurses and any other byte is an error at
 * its line and column. Strings must be valid UTF-8 without NUL; counts are
 * non-negative integers that fit int64; min/max must be float32 values;
 * bin keys must be the canonical name of a bin; channel sums must be in the
 * canonical text of calib_exact_format, as many as the channels, as the
 * counts; duplicate and unknown keys are errors; the statistics of each
 * tensor must be consistent (calib_stats_check). The version key comes
 * first, so a file of another version is reported as such before anything
 * else. */
#include "calib.h"

#include <errno.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

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
    char *b = calib_xrealloc(NULL, 64);
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
            size_t l = profile_utf8_len(r->s + r->i, r->n - r->i);
            if (!l) {
                free(b);
                return rd_error(r, r->i, "invalid UTF-8 (byte 0x%02x) in a string", c);
            }
            memcpy(enc, r->s + r->i, l);
            k = l;
            r->i += l;
        }
        if (len + k + 1 > cap)
            b = calib_xrealloc(b, cap *= 2);
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
    char *tmp = calib_xrealloc(NULL, len + 1);
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

/* After an array element: ',' (true, *more) or the closing ']' (true, !*more). */
static bool next_element(Reader *r, bool *more, const char *in)
{
    ws(r);
    if (r->i < r->n && (r->s[r->i] == ',' || r->s[r->i] == ']')) {
        *more = r->s[r->i++] == ',';
        return true;
    }
    char buf[16];
    return rd_error(r, r->i, "expected ',' or ']' in %s, found %s", in, found(r, buf, sizeof buf));
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
    calib_bin_name(key, canon, sizeof canon);
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
            s->bins = calib_xrealloc(s->bins, (size_t)s->cap * sizeof *s->bins);
        }
        s->bins[s->nbins++] = (CalibBin){(uint16_t)key, n};
        if (!next_member(r, &more, "the histogram"))
            return false;
    }
    qsort(s->bins, (size_t)s->nbins, sizeof *s->bins, cmp_bin);
    return true;
}

/* The channel counts ("count"), sums ("sum"), minima ("min") or maxima
 * ("max", what 0..3): a JSON array, its length in *len. */
static bool read_chan_array(Reader *r, CalibStats *s, int what, int64_t *len)
{
    static const char *ins[] = {"the channel counts", "the channel sums", "the channel minima", "the channel maxima"};
    static const char *opens[] = {"'[' (the channel counts)", "'[' (the channel sums)", "'[' (the channel minima)",
                                  "'[' (the channel maxima)"};
    const char *in = ins[what];
    bool sums = what == 1;
    if (!expect(r, '[', opens[what]))
        return false;
    size_t cap = 0;
    int64_t n = 0;
    ws(r);
    bool more = !(r->i < r->n && r->s[r->i] == ']');
    if (!more)
        r->i++;
    for (; more; n++) {
        if ((size_t)n == cap) {
            cap = cap ? 2 * cap : 64;
            if (sums)
                s->chan_sum = calib_xrealloc(s->chan_sum, cap * sizeof *s->chan_sum);
            else if (what == 0)
                s->chan_count = calib_xrealloc(s->chan_count, cap * sizeof *s->chan_count);
            else if (what == 2)
                s->chan_kmin = calib_xrealloc(s->chan_kmin, cap * sizeof *s->chan_kmin);
            else
                s->chan_kmax = calib_xrealloc(s->chan_kmax, cap * sizeof *s->chan_kmax);
        }
        if (what >= 2) {
            double v;
            if (!read_float(r, &v, what == 2 ? "a channel minimum" : "a channel maximum"))
                return false;
            (what == 2 ? s->chan_kmin : s->chan_kmax)[n] = calib_order_key((float)v);
        } else if (sums) {
            ws(r);
            size_t at = r->i;
            char *text;
            if (!read_string(r, &text, "a channel sum"))
                return false;
            bool ok = calib_exact_parse(text, &s->chan_sum[n]);
            if (!ok)
                rd_error(r, at, "malformed channel sum \"%.40s%s\" (want [-]0x<hex digits>p-149)", text,
                         strlen(text) > 40 ? "..." : "");
            free(text);
            if (!ok)
                return false;
        } else if (!read_count(r, &s->chan_count[n], "a channel count"))
            return false;
        if (!next_element(r, &more, in))
            return false;
    }
    *len = n;
    return true;
}

/* "channels": {"n": N, "count": [N counts], "sum": [N sums], "min": [N], "max": [N]},
 * keys in any order; min and max (the channels' extremes, both or neither:
 * an older qkc wrote neither) are optional; a channel with count 0 has min
 * and max 0 in the text and none (calib.h) in the statistics. */
static bool read_channels(Reader *r, CalibStats *s, const char *tname)
{
    static const char *keys[] = {"n", "count", "sum", "min", "max"};
    enum { NKEYS = sizeof keys / sizeof *keys };
    bool have[NKEYS] = {0};
    ws(r);
    size_t kpos[NKEYS] = {0}, at = r->i;
    int64_t n = 0, len[NKEYS] = {0};
    if (!expect(r, '{', "'{' (the channel sums)"))
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
            return rd_error(r, kat, "unknown key in the channels of tensor '%s' (want n, count, sum, min, max)", tname);
        if (have[k])
            return rd_error(r, kat, "duplicate key '%s' in the channels of tensor '%s'", keys[k], tname);
        have[k] = true;
        if (!expect(r, ':', "':'"))
            return false;
        ws(r);
        kpos[k] = r->i;
        bool ok = k == 0 ? read_count(r, &n, "the channel count n") : read_chan_array(r, s, k - 1, &len[k]);
        if (ok && k == 0 && n == 0)
            ok = rd_error(r, kpos[0], "the channel count n must be at least 1 (leave \"channels\" out for none)");
        if (!ok || !next_member(r, &more, "the channels"))
            return false;
    }
    for (int k = 0; k < 3; k++)
        if (!have[k])
            return rd_error(r, at, "the channels of tensor '%s' have no '%s'", tname, keys[k]);
    if (have[3] != have[4])
        return rd_error(r, at, "the channels of tensor '%s' have '%s' without '%s'", tname, keys[have[3] ? 3 : 4],
                        keys[have[3] ? 4 : 3]);
    for (int k = 1; k < NKEYS; k++)
        if (have[k] && len[k] != n)
            return rd_error(r, kpos[k], "tensor '%s': %" PRId64 " channel %ss for n = %" PRId64 " channels", tname,
                            len[k], keys[k], n);
    s->nchan = n;
    for (int64_t c = 0; have[3] && c < n; c++)
        if (s->chan_count[c] == 0)
            s->chan_kmin[c] = UINT32_MAX, s->chan_kmax[c] = 0;
    return true;
}

static bool read_tensor(Reader *r, CalibStats *s, const char *tname, size_t at)
{
    static const char *keys[] = {"min", "max", "count", "nonfinite", "zeros", "hist", "channels"};
    enum { NKEYS = sizeof keys / sizeof *keys, OPTIONAL = NKEYS - 1 };
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
            return rd_error(r, kat, "unknown key in tensor '%s' (want min, max, count, nonfinite, zeros, hist, channels)",
                            tname);
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
                  : k == 5 ? read_hist(r, s)
                           : read_channels(r, s, tname);
        if (!ok || !next_member(r, &more, "a tensor"))
            return false;
    }
    for (int k = 0; k < OPTIONAL; k++)
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
    p->path = calib_xstrdup(path);
    FILE *f = fopen(path, "rb");
    if (!f) {
        diag_error(d, loc_file(path), "cannot open: %s", strerror(errno));
        profile_free(p);
        return false;
    }
    size_t n = 0, cap = 1 << 16;
    unsigned char *buf = calib_xrealloc(NULL, cap);
    for (size_t got; (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            if (cap >= PROFILE_MAX_BYTES)
                break;
            buf = calib_xrealloc(buf, cap *= 2);
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

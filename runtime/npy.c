/* npy.c — NumPy .npy reading and writing.
 *
 * A .npy file is: the magic "\x93NUMPY", a version byte pair (1.0, 2.0 or
 * 3.0), the header length (u16 for 1.0, u32 otherwise, little-endian), the
 * header — a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and a newline — and then the raw data.
 *
 * The reader trusts nothing: every index is bounds-checked against the
 * bytes at hand, numbers are parsed with overflow checks, the element count
 * and byte size are computed with checked multiplication, and the data must
 * fill the rest of the file exactly. The dict parser accepts the subset of
 * Python literal syntax numpy writes (strings without escapes, True/False,
 * tuples of non-negative integers) and names what it rejects. Data comes
 * back little-endian in C order: big-endian files are byteswapped and
 * Fortran-order files transposed. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
    MAGIC_LEN = 6,
    MAX_HEADER = 64 * 1024,  /* numpy's own limit for safe reading (max_header_size) */
    WRITE_ALIGN = 64,        /* data offset of written files, as numpy does */
};

static const char npy_magic[MAGIC_LEN] = {'\x93', 'N', 'U', 'M', 'P', 'Y'};

/* The dtypes .npy files may hold: descr kind and size, ONNX code. */
typedef struct NpyType {
    char kind;      /* 'f', 'i', 'u', 'b' */
    int size;       /* bytes */
    int32_t dtype;  /* ONNX TensorProto code */
} NpyType;

static const NpyType npy_types[] = {
    {'f', 4, 1},  {'u', 1, 2},  {'i', 1, 3},  {'u', 2, 4},  {'i', 2, 5},  {'i', 4, 6},
    {'i', 8, 7},  {'b', 1, 9},  {'f', 2, 10}, {'f', 8, 11}, {'u', 4, 12}, {'u', 8, 13},
};

/* What the header says, once parsed and checked. */
typedef struct Header {
    int32_t dtype;
    size_t itemsize;
    int swap;          /* big-endian data: byteswap each item */
    int fortran;       /* fortran_order: True */
    int rank;
    int64_t dims[NPY_MAX_RANK];
    size_t data_bytes; /* numel * itemsize, checked */
} Header;

/* ---- errors ---- */

static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errlen, const char *name, const char *fmt, ...)
{
    if (err && errlen) {
        int n = snprintf(err, errlen, "%s: ", name ? name : "(buffer)");
        if (n >= 0 && (size_t)n < errlen) {
            va_list ap;
            va_start(ap, fmt);
            vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
            va_end(ap);
        }
    }
    return -1;
}

/* ---- checked arithmetic ---- */

static int mul_size(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

/* Element count of a shape, or -1 when it overflows int64. */
static int64_t shape_numel(int rank, const int64_t *dims)
{
    int64_t n = 1;
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0 || __builtin_mul_overflow(n, dims[i], &n))
            return -1;
    }
    return n;
}

/* ---- the header dict ---- */

/* A cursor over the header bytes; never reads at or past `end`. */
typedef struct Cursor {
    const char *p, *end;
    const char *name;
    char *err;
    size_t errlen;
} Cursor;

static void skip_ws(Cursor *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

/* Skip blanks, then consume `ch` if it is next. */
static int accept(Cursor *c, char ch)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* The next character for messages: "end of header" or 'x' or byte 0x93. */
static const char *next_desc(const Cursor *c, char *buf, size_t n)
{
    if (c->p >= c->end)
        return "end of header";
    unsigned char ch = (unsigned char)*c->p;
    if (ch >= 0x20 && ch < 0x7f)
        snprintf(buf, n, "'%c'", ch);
    else
        snprintf(buf, n, "byte 0x%02x", ch);
    return buf;
}

/* "expected <what>, found <next>"; the header ending early is an
 * unterminated dict, whatever was expected. */
static int unexpected(const Cursor *c, const char *what)
{
    char b[16];
    if (c->p >= c->end)
        return fail(c->err, c->errlen, c->name, "bad header: unterminated dict (expected %s, found end of header)",
                    what);
    return fail(c->err, c->errlen, c->name, "bad header: expected %s, found %s", what, next_desc(c, b, sizeof b));
}

static int expect(Cursor *c, char ch, const char *what)
{
    return accept(c, ch) ? 0 : unexpected(c, what);
}

/* A quoted string without escapes into buf (NUL-terminated). */
static int parse_string(Cursor *c, char *buf, size_t n)
{
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
        return unexpected(c, "a quoted string");
    char q = *c->p++;
    size_t len = 0;
    while (c->p < c->end && *c->p != q) {
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '\\' || ch < 0x20 || ch > 0x7e)
            return fail(c->err, c->errlen, c->name, "bad header: unsupported character in string (byte 0x%02x)", ch);
        if (len + 1 >= n)
            return fail(c->err, c->errlen, c->name, "bad header: string too long (more than %zu characters)", n - 1);
        buf[len++] = (char)ch;
    }
    if (c->p >= c->end)
        return fail(c->err, c->errlen, c->name, "bad header: unterminated string");
    c->p++;
    buf[len] = 0;
    return 0;
}

static int is_ident(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

/* True or False. */
static int parse_bool(Cursor *c, int *out)
{
    skip_ws(c);
    const char *s = c->p;
    size_t n = 0;
    while (s + n < c->end && is_ident(s[n]))
        n++;
    if (n == 4 && !memcmp(s, "True", 4))
        *out = 1;
    else if (n == 5 && !memcmp(s, "False", 5))
        *out = 0;
    else if (n == 0)
        return unexpected(c, "True or False for fortran_order");
    else
        return fail(c->err, c->errlen, c->name, "bad header: fortran_order must be True or False, found '%.*s'",
                    (int)(n > 20 ? 20 : n), s);
    c->p += n;
    return 0;
}

/* A non-negative integer dimension (a Python 2 'L' suffix is allowed). */
static int parse_dim(Cursor *c, int64_t *out)
{
    skip_ws(c);
    int neg = 0;
    if (c->p < c->end && (*c->p == '-' || *c->p == '+')) {
        neg = *c->p == '-';
        c->p++;
    }
    if (c->p >= c->end || *c->p < '0' || *c->p > '9')
        return unexpected(c, "an integer in the shape");
    int64_t v = 0;
    int big = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *c->p - '0', &v))
            big = 1;
        c->p++;
    }
    if (c->p < c->end && (*c->p == 'L' || *c->p == 'l'))
        c->p++;
    if (c->p < c->end && (is_ident(*c->p) || *c->p == '.')) {
        char b[16];
        return fail(c->err, c->errlen, c->name, "bad header: expected an integer in the shape, found %s after digits",
                    next_desc(c, b, sizeof b));
    }
    if (neg && (v != 0 || big))
        return fail(c->err, c->errlen, c->name, "bad header: negative dimension in shape");
    if (big)
        return fail(c->err, c->errlen, c->name, "bad header: dimension too large in shape");
    *out = v;
    return 0;
}

/* A tuple of dims: (), (3,), (3, 4), (3, 4,). */
static int parse_shape(Cursor *c, Header *h)
{
    skip_ws(c);
    if (c->p < c->end && *c->p == '[')
        return fail(c->err, c->errlen, c->name, "bad header: shape must be a tuple, found a list");
    if (expect(c, '(', "'(' opening the shape tuple"))
        return -1;
    h->rank = 0;
    int trailing_comma = 0;
    while (!accept(c, ')')) {
        if (h->rank == NPY_MAX_RANK)
            return fail(c->err, c->errlen, c->name, "rank above %d is not supported", NPY_MAX_RANK);
        if (parse_dim(c, &h->dims[h->rank]))
            return -1;
        h->rank++;
        trailing_comma = accept(c, ',');
        if (!trailing_comma) {
            if (expect(c, ')', "',' or ')' in the shape"))
                return -1;
            break;
        }
    }
    /* Python's (3) is the integer 3, not a tuple. */
    if (h->rank == 1 && !trailing_comma)
        return fail(c->err, c->errlen, c->name, "bad header: shape must be a tuple, found (%lld) without a comma",
                    (long long)h->dims[0]);
    return 0;
}

/* '<f4', '>i8', '|u1', '=f2', 'b1', ... */
static int parse_descr(Cursor *c, Header *h)
{
    skip_ws(c);
    if (c->p < c->end && (*c->p == '[' || *c->p == '{'))
        return fail(c->err, c->errlen, c->name, "structured dtypes are not supported");
    char d[32];
    if (parse_string(c, d, sizeof d))
        return -1;
    const char *s = d;
    char order = '=';
    if (*s == '<' || *s == '>' || *s == '=' || *s == '|')
        order = *s++;
    char kind = *s ? *s++ : 0;
    int size = 0;
    int ok = *s != 0;
    for (; *s && ok; s++) {
        if (*s < '0' || *s > '9' || size > 1000)
            ok = 0;
        else
            size = size * 10 + (*s - '0');
    }
    for (size_t i = 0; ok && i < sizeof npy_types / sizeof npy_types[0]; i++) {
        if (npy_types[i].kind == kind && npy_types[i].size == size) {
            h->dtype = npy_types[i].dtype;
            h->itemsize = (size_t)size;
            /* '=' and '|' are native; the runtime's targets are little-endian. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            h->swap = size > 1 && order != '<';
#else
            h->swap = size > 1 && order == '>';
#endif
            return 0;
        }
    }
    return fail(c->err, c->errlen, c->name,
                "unsupported dtype '%s' (supported: f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1)", d);
}

static int parse_dict(const char *name, const char *text, size_t len, Header *h, char *err, size_t errlen)
{
    Cursor c = {text, text + len, name, err, errlen};
    int have_descr = 0, have_fortran = 0, have_shape = 0;

    if (expect(&c, '{', "'{' opening the header dict"))
        return -1;
    while (!accept(&c, '}')) {
        char key[32];
        if (parse_string(&c, key, sizeof key) || expect(&c, ':', "':' after a key"))
            return -1;
        int *seen;
        int r;
        if (!strcmp(key, "descr")) {
            seen = &have_descr;
            r = parse_descr(&c, h);
        } else if (!strcmp(key, "fortran_order")) {
            seen = &have_fortran;
            r = parse_bool(&c, &h->fortran);
        } else if (!strcmp(key, "shape")) {
            seen = &have_shape;
            r = parse_shape(&c, h);
        } else {
            return fail(err, errlen, name, "bad header: unexpected key '%s'", key);
        }
        if (r)
            return -1;
        if (*seen)
            return fail(err, errlen, name, "bad header: duplicate key '%s'", key);
        *seen = 1;
        if (!accept(&c, ',')) {
            if (expect(&c, '}', "',' or '}' in the header dict"))
                return -1;
            break;
        }
    }
    skip_ws(&c);
    if (c.p != c.end) {
        char b[16];
        return fail(err, errlen, name, "bad header: %s after the dict", next_desc(&c, b, sizeof b));
    }
    if (!have_descr || !have_fortran || !have_shape)
        return fail(err, errlen, name, "bad header: missing key '%s'",
                    !have_descr ? "descr" : !have_fortran ? "fortran_order" : "shape");

    int64_t numel = shape_numel(h->rank, h->dims);
    if (numel < 0 || (uint64_t)numel > SIZE_MAX || !mul_size((size_t)numel, h->itemsize, &h->data_bytes) ||
        h->data_bytes > INT64_MAX)
        return fail(err, errlen, name, "shape overflows: too many elements");
    return 0;
}

/* The fixed part of the file: magic, version, header length. `p` holds the
 * first `n` bytes of a file of `file_size` bytes. On success *hstart and
 * *hlen locate the header text. */
static int parse_preamble(const char *name, const unsigned char *p, size_t n, uint64_t file_size, size_t *hstart,
                          size_t *hlen, char *err, size_t errlen)
{
    if (file_size == 0)
        return fail(err, errlen, name, "empty file, not a .npy file");
    if (n < MAGIC_LEN || memcmp(p, npy_magic, MAGIC_LEN))
        return fail(err, errlen, name, "not a .npy file (bad magic)");
    if (n < 8)
        return fail(err, errlen, name, "not a .npy file (too short: %zu bytes)", n);
    unsigned major = p[6], minor = p[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0)
        return fail(err, errlen, name, "unsupported .npy version %u.%u (1.0, 2.0 and 3.0 are read)", major, minor);
    size_t lenbytes = major == 1 ? 2 : 4;
    if (n < 8 + lenbytes)
        return fail(err, errlen, name, "not a .npy file (too short: %zu bytes)", n);
    uint64_t len = (uint64_t)p[8] | (uint64_t)p[9] << 8;
    if (lenbytes == 4)
        len |= (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
    if (len > MAX_HEADER)
        return fail(err, errlen, name, "header of %llu bytes is too large (the limit is %d)", (unsigned long long)len,
                    MAX_HEADER);
    if (8 + lenbytes + len > file_size)
        return fail(err, errlen, name, "header of %llu bytes runs past the end of the file (%llu bytes)",
                    (unsigned long long)len, (unsigned long long)file_size);
    *hstart = 8 + lenbytes;
    *hlen = (size_t)len;
    return 0;
}

/* ---- data ---- */

static void byteswap(unsigned char *d, size_t bytes, size_t itemsize)
{
    for (size_t off = 0; off + itemsize <= bytes; off += itemsize) {
        for (size_t i = 0, j = itemsize - 1; i < j; i++, j--) {
            unsigned char t = d[off + i];
            d[off + i] = d[off + j];
            d[off + j] = t;
        }
    }
}

/* Fortran order (first index fastest) to C order (last index fastest):
 * walk the C-order multi-index like an odometer and keep the Fortran
 * offset of the same element in step. */
static void fortran_to_c(unsigned char *dst, const unsigned char *src, const Header *h)
{
    int r = h->rank;
    int64_t fstride[NPY_MAX_RANK], idx[NPY_MAX_RANK] = {0};
    int64_t numel = shape_numel(r, h->dims);
    if (numel <= 0)
        return;
    for (int k = 0; k < r; k++)
        fstride[k] = k == 0 ? 1 : fstride[k - 1] * h->dims[k - 1];
    int64_t foff = 0;
    for (int64_t e = 0; e < numel; e++) {
        memcpy(dst + (size_t)e * h->itemsize, src + (size_t)foff * h->itemsize, h->itemsize);
        for (int k = r - 1; k >= 0; k--) {
            if (++idx[k] < h->dims[k]) {
                foff += fstride[k];
                break;
            }
            foff -= fstride[k] * (h->dims[k] - 1);
            idx[k] = 0;
        }
    }
}

/* Byteswap, transpose and canonicalize bools of freshly read data in place
 * (the transpose needs a second buffer). */
static int finish(const char *name, Header *h, NpyArray *out, char *err, size_t errlen)
{
    if (h->swap)
        byteswap(out->data, h->data_bytes, h->itemsize);
    if (h->fortran && h->rank > 1) {
        unsigned char *c = malloc(h->data_bytes ? h->data_bytes : 1);
        if (!c)
            return fail(err, errlen, name, "out of memory (%zu bytes)", h->data_bytes);
        fortran_to_c(c, out->data, h);
        free(out->data);
        out->data = c;
    }
    if (h->dtype == 9) {
        unsigned char *b = out->data;
        for (size_t i = 0; i < h->data_bytes; i++)
            b[i] = b[i] != 0;
    }
    out->dtype = h->dtype;
    out->rank = h->rank;
    memcpy(out->dims, h->dims, sizeof h->dims);
    out->bytes = h->data_bytes;
    return 0;
}

static int check_data_size(const char *name, const Header *h, uint64_t avail, char *err, size_t errlen)
{
    if (avail < h->data_bytes)
        return fail(err, errlen, name, "truncated: expected %zu bytes of data, found %llu", h->data_bytes,
                    (unsigned long long)avail);
    if (avail > h->data_bytes)
        return fail(err, errlen, name, "trailing garbage: expected %zu bytes of data, found %llu", h->data_bytes,
                    (unsigned long long)avail);
    return 0;
}

/* ---- public ---- */

int npy_read_buffer(const char *name, const void *buf, size_t len, NpyArray *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!name)
        name = "(buffer)";
    if (!buf && len)
        return fail(err, errlen, name, "no buffer");
    const unsigned char *p = buf;
    size_t hstart, hlen;
    if (parse_preamble(name, p, len, len, &hstart, &hlen, err, errlen))
        return -1;
    Header h = {0};
    if (parse_dict(name, (const char *)p + hstart, hlen, &h, err, errlen))
        return -1;
    size_t dstart = hstart + hlen;
    if (check_data_size(name, &h, len - dstart, err, errlen))
        return -1;
    out->data = malloc(h.data_bytes ? h.data_bytes : 1);
    if (!out->data)
        return fail(err, errlen, name, "out of memory (%zu bytes)", h.data_bytes);
    if (h.data_bytes)
        memcpy(out->data, p + dstart, h.data_bytes);
    if (finish(name, &h, out, err, errlen)) {
        npy_free(out);
        return -1;
    }
    return 0;
}

/* Read exactly n bytes; 0 on success. */
static int read_exact(FILE *f, void *dst, size_t n)
{
    return fread(dst, 1, n, f) == n ? 0 : -1;
}

int npy_read(const char *path, NpyArray *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!path)
        return fail(err, errlen, "(null)", "no path");
    FILE *f = fopen(path, "rb");
    if (!f)
        return fail(err, errlen, path, "cannot open: %s", strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st)) {
        int e = errno;
        fclose(f);
        return fail(err, errlen, path, "cannot stat: %s", strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        fclose(f);
        return fail(err, errlen, path, "is a directory");
    }
    if (!S_ISREG(st.st_mode)) {
        /* A pipe or device: its size is unknown, read it whole. */
        size_t cap = 1 << 16, len = 0;
        unsigned char *buf = malloc(cap);
        while (buf) {
            len += fread(buf + len, 1, cap - len, f);
            if (len < cap)
                break;
            if (memcmp(buf, npy_magic, MAGIC_LEN))
                break; /* not a .npy file: no need to read all of it */
            unsigned char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        int bad = !buf || ferror(f);
        fclose(f);
        if (bad) {
            free(buf);
            return fail(err, errlen, path, "cannot read");
        }
        int r = npy_read_buffer(path, buf, len, out, err, errlen);
        free(buf);
        return r;
    }

    uint64_t size = (uint64_t)st.st_size;
    unsigned char pre[12];
    size_t npre = size < sizeof pre ? (size_t)size : sizeof pre;
    size_t hstart, hlen;
    Header h = {0};
    char *text = NULL;
    if (read_exact(f, pre, npre)) {
        fail(err, errlen, path, "cannot read: %s", ferror(f) ? strerror(errno) : "file shrank while reading");
        goto bad;
    }
    if (parse_preamble(path, pre, npre, size, &hstart, &hlen, err, errlen))
        goto bad;
    text = malloc(hlen ? hlen : 1);
    if (!text) {
        fail(err, errlen, path, "out of memory");
        goto bad;
    }
    /* The header may begin inside the 12 bytes already read (version 1.0). */
    size_t have = npre - hstart < hlen ? npre - hstart : hlen;
    memcpy(text, pre + hstart, have);
    if (read_exact(f, text + have, hlen - have)) {
        fail(err, errlen, path, "cannot read the header");
        goto bad;
    }
    if (parse_dict(path, text, hlen, &h, err, errlen))
        goto bad;
    free(text);
    text = NULL;
    if (check_data_size(path, &h, size - hstart - hlen, err, errlen))
        goto bad;
    out->data = malloc(h.data_bytes ? h.data_bytes : 1);
    if (!out->data) {
        fail(err, errlen, path, "out of memory (%zu bytes of data)", h.data_bytes);
        goto bad;
    }
    /* With a header shorter than 2 bytes the preamble read the first data
     * bytes already. */
    if (npre > hstart + hlen) {
        size_t extra = npre - hstart - hlen;
        memcpy(out->data, pre + hstart + hlen, extra);
        if (read_exact(f, (unsigned char *)out->data + extra, h.data_bytes - extra)) {
            fail(err, errlen, path, "truncated while reading the data");
            goto bad;
        }
    } else if (read_exact(f, out->data, h.data_bytes)) {
        fail(err, errlen, path, "truncated while reading the data");
        goto bad;
    }
    fclose(f);
    f = NULL;
    if (finish(path, &h, out, err, errlen))
        goto bad;
    return 0;
bad:
    free(text);
    if (f)
        fclose(f);
    npy_free(out);
    return -1;
}

static const char *write_descr(int32_t dtype)
{
    switch (dtype) {
    case 1: return "<f4";
    case 2: return "|u1";
    case 3: return "|i1";
    case 4: return "<u2";
    case 5: return "<i2";
    case 6: return "<i4";
    case 7: return "<i8";
    case 9: return "|b1";
    case 10: return "<f2";
    case 11: return "<f8";
    case 12: return "<u4";
    case 13: return "<u8";
    case 16: return "<u2"; /* bfloat16: NumPy has none; its bits as uint16 */
    default: return NULL;
    }
}

int npy_write(const char *path, int32_t dtype, int rank, const int64_t *dims, const void *data, char *err,
              size_t errlen)
{
    if (!path)
        return fail(err, errlen, "(null)", "no path");
    const char *descr = write_descr(dtype);
    if (!descr)
        return fail(err, errlen, path, "dtype %d cannot be written to .npy", (int)dtype);
    if (rank < 0 || rank > NPY_MAX_RANK)
        return fail(err, errlen, path, "rank %d is not supported (0..%d)", rank, NPY_MAX_RANK);
    if (rank > 0 && !dims)
        return fail(err, errlen, path, "no dims");
    for (int i = 0; i < rank; i++) {
        if (dims[i] < 0)
            return fail(err, errlen, path, "negative dimension %lld", (long long)dims[i]);
    }
    int64_t numel = shape_numel(rank, dims);
    size_t itemsize = descr[2] - '0', bytes;
    if (numel < 0 || (uint64_t)numel > SIZE_MAX || !mul_size((size_t)numel, itemsize, &bytes))
        return fail(err, errlen, path, "shape overflows: too many elements");
    if (bytes && !data)
        return fail(err, errlen, path, "no data");

    /* {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } — at most
     * ~60 + 8 * 22 bytes, padded so the data starts at a multiple of 64. */
    char hdr[512];
    size_t n = 10;
    n += (size_t)snprintf(hdr + n, sizeof hdr - n, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (int i = 0; i < rank; i++)
        n += (size_t)snprintf(hdr + n, sizeof hdr - n, "%lld%s", (long long)dims[i],
                              rank == 1 ? "," : i + 1 < rank ? ", " : "");
    n += (size_t)snprintf(hdr + n, sizeof hdr - n, "), }");
    size_t total = (n + 1 + WRITE_ALIGN - 1) / WRITE_ALIGN * WRITE_ALIGN;
    memset(hdr + n, ' ', total - 1 - n);
    hdr[total - 1] = '\n';
    memcpy(hdr, npy_magic, MAGIC_LEN);
    hdr[6] = 1;
    hdr[7] = 0;
    hdr[8] = (char)((total - 10) & 0xff);
    hdr[9] = (char)((total - 10) >> 8);

    FILE *f = fopen(path, "wb");
    if (!f)
        return fail(err, errlen, path, "cannot create: %s", strerror(errno));
    int ok = fwrite(hdr, 1, total, f) == total && (bytes == 0 || fwrite(data, 1, bytes, f) == bytes);
    int e = errno;
    if (fclose(f))
        ok = 0, e = errno;
    if (!ok) {
        remove(path);
        return fail(err, errlen, path, "cannot write: %s", strerror(e));
    }
    return 0;
}

void npy_free(NpyArray *a)
{
    if (!a)
        return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

int64_t npy_numel(const NpyArray *a)
{
    if (!a || a->rank < 0 || a->rank > NPY_MAX_RANK)
        return -1;
    return shape_numel(a->rank, a->dims);
}

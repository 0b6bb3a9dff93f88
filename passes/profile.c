/* profile.c — the calibration profile: per-tensor statistics of one model,
 * kept in memory, merged, and saved as versioned JSON (format in calib.h);
 * profile_read.c reads it back.
 *
 * Channel sums came after version 1 without a new version: the "channels"
 * key is optional, so every earlier profile still reads (and a profile
 * without channel sums is written byte for byte as before); an older qkc
 * rejects a profile that has them with "unknown key in tensor". */
#include "calib.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* ---- the profile in memory ---- */

void profile_init(CalibProfile *p, const char *model, const char *model_hash)
{
    memset(p, 0, sizeof *p);
    p->model = calib_xstrdup(model ? model : "");
    p->model_hash = calib_xstrdup(model_hash ? model_hash : "");
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
        p->tensors = calib_xrealloc(p->tensors, (size_t)p->cap * sizeof *p->tensors);
    }
    memmove(p->tensors + i + 1, p->tensors + i, (size_t)(p->ntensors - i) * sizeof *p->tensors);
    p->ntensors++;
    p->tensors[i].name = calib_xstrdup(name);
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
    for (i = 0; i < dst->ntensors; i++) {
        const CalibStats *a = &dst->tensors[i].stats, *b = &src->tensors[i].stats;
        if (a->count && b->count && a->nchan != b->nchan)
            diag_warn(d, loc_file(pname(src)),
                      "tensor '%s': channel sums dropped (%" PRId64 " channels here, %" PRId64
                      " in %s; 0: none): no channel means for bias correction",
                      src->tensors[i].name, b->nchan, a->nchan, pname(dst));
        calib_stats_merge(&dst->tensors[i].stats, b);
    }
    dst->samples += src->samples;
    return true;
}

/* ---- writing ---- */

size_t profile_utf8_len(const unsigned char *s, size_t n)
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
        size_t len = profile_utf8_len(s + i, n - i);
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
        calib_bin_name(s->bins[i].key, name, sizeof name);
        /* one line per binade (same sign and exponent: same key >> 6) */
        if (i == 0 || s->bins[i].key >> 6 != s->bins[i - 1].key >> 6)
            fputs(i ? ",\n    " : "\n    ", f);
        else
            fputs(", ", f);
        fprintf(f, "\"%s\": %" PRId64, name, s->bins[i].n);
    }
    fputc('}', f);
    if (s->nchan > 0) { /* counts 16 a line, sums 4 a line */
        fprintf(f, ",\n   \"channels\": {\"n\": %" PRId64 ",\n    \"count\": [", s->nchan);
        for (int64_t c = 0; c < s->nchan; c++)
            fprintf(f, "%s%" PRId64, c == 0 ? "" : c % 16 ? ", " : ",\n     ", s->chan_count[c]);
        fputs("],\n    \"sum\": [", f);
        for (int64_t c = 0; c < s->nchan; c++) {
            char text[CALIB_EXACT_TEXT];
            calib_exact_format(&s->chan_sum[c], text, sizeof text);
            fprintf(f, "%s\"%s\"", c == 0 ? "" : c % 4 ? ", " : ",\n     ", text);
        }
        /* the extremes when known (0 for a channel with no values), 8 a line */
        for (int m = 0; m < 2 && s->chan_kmin; m++) {
            fputs(m ? "],\n    \"max\": [" : "],\n    \"min\": [", f);
            for (int64_t c = 0; c < s->nchan; c++) {
                uint32_t k = m ? s->chan_kmax[c] : s->chan_kmin[c];
                double v = s->chan_count[c] ? (double)calib_order_float(k) : 0.0;
                fprintf(f, "%s%.17g", c == 0 ? "" : c % 8 ? ", " : ",\n     ", v);
            }
        }
        fputs("]}", f);
    }
    fputc('}', f);
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
    char *tmp = calib_xrealloc(NULL, n + 5);
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

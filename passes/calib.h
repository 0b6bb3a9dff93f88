/* calib.h — calibration math and the calibration profile.
 *
 * This module knows nothing of graphs: it turns float arrays, one stream per
 * named tensor, into statistics (CalibStats), statistics into clipping ranges
 * (calib_range), and keeps the statistics of a whole model in a versioned
 * JSON file (CalibProfile). The interpreter feeds it; the quantization pass
 * reads ranges from it.
 *
 * Histogram. A bin is fixed by the float32 bit pattern alone: sign, exponent
 * and the top 6 mantissa bits, i.e. the value with its low 17 mantissa bits
 * cleared. Every bin is a fixed interval of the real line, 1/64 of a binade
 * wide (~1.6% relative width; denormals: a fixed absolute width of 2^-132);
 * zeros (+0 and -0) are counted apart, NaN and +-inf are counted and
 * otherwise ignored. Since no bin depends on the data, adding data is
 * independent of order and batch size, and merging is exact, commutative
 * and associative: the state after any sequence of adds and merges of the
 * same values is identical bit for bit.
 *
 * A bin's key orders bins by value: key = 0x4000 + (bits >> 17) for positive
 * floats, 0x3fff - ((bits >> 17) & 0x3fff) for negative ones (0x40..0x7fbf).
 * In the profile a bin is named by its edge nearest zero, printed in the
 * shortest decimal that reads back as that float ("1.015625", "-0.5").
 *
 * Ranges. Every range contains 0 (so real 0 is exactly representable) and is
 * at least 255 * FLT_MIN wide (so a scale is a normal float). Symmetric
 * ranges (s8) are [-T, T]; asymmetric ones (u8) are [lo, hi] with lo <= 0 <= hi.
 * Degenerate inputs: when the method's range is narrower than that (e.g. a
 * percentile that lands on a spike of zeros), the min/max range is used;
 * when that too is degenerate (no finite values, only zeros or denormals),
 * the range is [-1, 1] (symmetric) or [0, 1] (asymmetric). A constant
 * tensor c != 0 gives [-|c|, |c|] or [min(c, 0), max(c, 0)] by every method. */
#ifndef QKC_CALIB_H
#define QKC_CALIB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ir/diag.h"

/* realloc and strdup that abort when memory runs out (calib.c) */
void *calib_xrealloc(void *p, size_t n);
char *calib_xstrdup(const char *s);

/* ---- exact sums (calib_exact.c) ----
 *
 * A sum of float32 values kept exactly, as a fixed-point integer in units of
 * 2^-149 (the smallest denormal): every finite float is such an integer below
 * 2^277 in magnitude, and the accumulator holds 384 bits in two's complement,
 * so any sum of fewer than 2^105 values is exact (int64 counts stay far below).
 * Adds and merges are integer additions: the state after any sequence of adds
 * and merges of the same values is identical bit for bit, whatever the order,
 * batching or sharding. An add costs a few ns and never allocates. A zeroed
 * CalibExact ({0}, calloc) is the sum 0.
 *
 * Text form: "[-]0x<hex>p-149", the integer in lowercase hex without leading
 * zeros ("0x0p-149" for 0, never "-0x0p-149"): one text per value, and a C99
 * hex float literal of the exact sum. */

#define CALIB_EXACT_LIMBS 6
#define CALIB_EXACT_TEXT 105 /* buffer size that fits any text, NUL included */

typedef struct CalibExact {
    uint64_t limb[CALIB_EXACT_LIMBS]; /* sum * 2^149, two's complement, limb[0] lowest */
} CalibExact;

/* a += x; NaN and +-inf are not added (the caller counts them). */
void calib_exact_add(CalibExact *a, float x);
/* a += k * x exactly (k may be negative); NaN and +-inf are not added. */
void calib_exact_add_n(CalibExact *a, float x, int64_t k);
/* a += b, exactly (commutative and associative). */
void calib_exact_merge(CalibExact *a, const CalibExact *b);
/* -1, 0, 1 as a <, ==, > b (by value). */
int calib_exact_cmp(const CalibExact *a, const CalibExact *b);
/* The sum, correctly rounded to the nearest double (ties to even). */
double calib_exact_value(const CalibExact *a);
/* The sum divided by n >= 1, correctly rounded to the nearest double (ties
 * to even), computed with integers only (the same bits on every host); NaN
 * when n < 1. */
double calib_exact_mean(const CalibExact *a, int64_t n);
/* The text form into buf (CALIB_EXACT_TEXT bytes always suffice); false, with
 * buf "" when n > 0, when it does not fit. */
bool calib_exact_format(const CalibExact *a, char *buf, size_t n);
/* Parse the text form (exactly as calib_exact_format writes it: no blanks,
 * no '+', no uppercase, no leading zeros, no -0, within the 384-bit range);
 * false, *out unchanged, on anything else. */
bool calib_exact_parse(const char *s, CalibExact *out);

/* ---- statistics ---- */

#define CALIB_KEY_LIMIT 0x8000 /* bin keys are below this */

typedef struct CalibBin {
    uint16_t key;   /* bin key (see the file comment); bins are sorted by it */
    int64_t n;      /* values in the bin, > 0 */
} CalibBin;

/* Channel sums. Statistics may also hold, for each channel of the tensor,
 * the count and the exact sum (CalibExact) of its finite values, so that
 * channel means (for bias correction) are as independent of order, batching
 * and sharding as the histogram. They are kept only while they cover every
 * finite value: statistics with no finite value have none and take those of
 * the first values added or merged; values added by calib_stats_add, or by
 * calib_stats_add_channels with another channel count, or merged from
 * statistics with other channels or none, drop them. This is a merge that
 * stays exact, commutative and associative, with the empty statistic as its
 * identity. */

typedef struct CalibStats {
    double min, max;    /* exact extremes of the finite values (-0 < +0); 0 when count == 0 */
    int64_t count;      /* finite values seen (zeros + the bins' counts) */
    int64_t zeros;      /* values equal to +0 or -0 */
    int64_t nonfinite;  /* NaN and +-inf values seen; in no other field */
    CalibBin *bins;     /* non-empty bins, ascending key (= ascending value) */
    int32_t nbins, cap; /* bins used, allocated */
    int64_t nchan;         /* channels with sums; 0: none (always 0 when count == 0) */
    int64_t *chan_count;   /* finite values per channel [nchan]; they add up to count */
    CalibExact *chan_sum;  /* exact sum of those values per channel [nchan] */
    /* each channel's extremes as order keys (calib_order_key: -0 < +0, so
     * they do not depend on order); UINT32_MAX and 0 for a channel with no
     * finite values [nchan] (SmoothQuant's per-channel ranges). Both NULL
     * when unknown while the sums are kept: a profile of an older qkc, and
     * whatever it is merged with or added to. */
    uint32_t *chan_kmin, *chan_kmax;
} CalibStats;

/* A finite float's order key (unsigned order = float order, -0 < +0), and back. */
uint32_t calib_order_key(float x);
float calib_order_float(uint32_t key);

/* An empty statistic (no allocation yet). */
void calib_stats_init(CalibStats *s);
/* Add n values; the result does not depend on how values are split into calls or ordered.
 * Finite values drop the channel sums. */
void calib_stats_add(CalibStats *s, const float *x, int64_t n);
/* calib_stats_add, and the channel sums of the values: value i is in channel
 * (i / inner) % channels (channels: the size of the channel dim, inner: the
 * product of the dims after it; both >= 1, else this is calib_stats_add). Use
 * it, not calib_stats_add, for every batch of a tensor whose channel means are
 * wanted: e.g. x[N, C, H, W]: (x, N*C*H*W, C, H*W); x[N, K]: (x, N*K, K, 1). */
void calib_stats_add_channels(CalibStats *s, const float *x, int64_t n, int64_t channels, int64_t inner);
/* The mean of each channel's finite values into means[0, channels), each
 * correctly rounded (0 for a channel with none); false (means untouched) when
 * s has no channel sums or sums of another channel count. */
bool calib_stats_channel_means(const CalibStats *s, int64_t channels, double *means);
/* The extremes of each channel's finite values into lo/hi[0, channels) (0
 * and 0 for a channel with none); false as calib_stats_channel_means. */
bool calib_stats_channel_range(const CalibStats *s, int64_t channels, double *lo, double *hi);
/* dst += src: exact, commutative and associative (counts must fit int64); channel
 * sums are added when both have them with the same channel count, taken from src
 * when dst has no finite values, kept when src has none, else dropped. */
void calib_stats_merge(CalibStats *dst, const CalibStats *src);
/* Whether two statistics are identical, bit for bit (min/max by bits, so -0 != +0),
 * channel sums included. */
bool calib_stats_equal(const CalibStats *a, const CalibStats *b);
/* Release the bins and channel sums; s is left empty (as after init). */
void calib_stats_free(CalibStats *s);
/* NULL when s is consistent (counts add up, bins sorted and non-empty, min/max in the
 * extreme bins; channel counts add up to count, each channel's mean within [min, max]);
 * else what is wrong, for a reader's error message. */
const char *calib_stats_check(const CalibStats *s);

/* The key of the bin of a finite nonzero float. */
int calib_bin_key(float x);
/* Whether key names a bin (of a finite nonzero value). */
bool calib_key_valid(int key);
/* The bin's value interval: lo < hi, values v with lo <= v < hi (positive bins) or
 * lo < v <= hi (negative bins); the edge nearest zero is the bin's float. */
void calib_bin_bounds(int key, double *lo, double *hi);
/* The bin's edge nearest zero, as the float that names it. */
float calib_bin_float(int key);
/* The bin's name in the profile: the shortest "%.*g" of calib_bin_float(key)
 * that reads back as it (n >= 16 suffices). */
void calib_bin_name(int key, char *buf, size_t n);

/* ---- ranges ---- */

typedef enum CalibMethod {
    CALIB_MINMAX,     /* [min, max] (or +-max|x|) */
    CALIB_PERCENTILE, /* |x| quantile P; asymmetric: (100-P)/2 % cut on each side */
    CALIB_ENTROPY,    /* TensorRT's KL divergence over 2048 linear bins, 128 levels;
                       * exact zeros left out; asymmetric: each side apart */
    CALIB_MSE,        /* minimal expected squared quantization error */
} CalibMethod;

typedef struct CalibOptions {
    CalibMethod method;
    double percentile;  /* for CALIB_PERCENTILE, in (0, 100]; default 99.99 */
    bool symmetric;     /* s8 [-T, T] (254 steps); else u8 [lo, hi] (255 steps) */
} CalibOptions;

/* minmax, percentile 99.99, symmetric. */
void calib_options_default(CalibOptions *o);
/* Set o->method (and o->percentile) from "minmax", "entropy", "mse", "percentile"
 * or "percentile=P"; false (o unchanged) when spec is none of these. */
bool calib_options_parse(CalibOptions *o, const char *spec);
/* "minmax", "percentile", "entropy" or "mse". */
const char *calib_method_name(CalibMethod m);
/* The clipping range of s by o's method, always valid (see the file comment);
 * false only when o is invalid (unknown method, percentile outside (0, 100]),
 * and then [lo, hi] is the min/max range. */
bool calib_range(const CalibStats *s, const CalibOptions *o, double *lo, double *hi);

/* ---- the profile: statistics of a model's tensors, saved as JSON ----
 *
 * {"qkc_profile": 1,
 *  "model": "net.onnx",
 *  "model_hash": "...",
 *  "samples": 64,
 *  "tensors": {
 *   "conv1": {"min": -1.5, "max": 2, "count": 100, "nonfinite": 0, "zeros": 3, "hist": {
 *     "-1.5": 2, "-1.4375": 1,
 *     "0.5": 40, ...},
 *    "channels": {"n": 3,
 *     "count": [40, 30, 30],
 *     "sum": ["0x1ap-149", "-0x3p-149", "0x0p-149"]}},
 *   ...
 *  }}
 *
 * Tensors sorted by name (byte order), one block of lines each; bins in
 * ascending value, one line per binade; doubles as %.17g, so reading gives
 * back the same bits. The version key comes first. "channels" is there for
 * tensors with channel sums (only): n >= 1 channels, the finite values per
 * channel (16 a line) and their exact sums (calib_exact_format, 4 a line).
 * It was added to version 1 as an optional key: profiles without it read as
 * before. */

#define CALIB_PROFILE_VERSION 1

typedef struct CalibTensor {
    char *name;         /* tensor name (UTF-8) */
    CalibStats stats;
} CalibTensor;

typedef struct CalibProfile {
    char *path;         /* the file it was read from, or NULL (for messages) */
    char *model;        /* model file name (informational) */
    char *model_hash;   /* identity of the model; merging requires equal hashes */
    int64_t samples;    /* calibration samples behind the statistics */
    CalibTensor *tensors; /* sorted by name (strcmp) */
    int32_t ntensors, cap;
} CalibProfile;

/* An empty profile for the model (strings copied; NULL reads as ""). */
void profile_init(CalibProfile *p, const char *model, const char *model_hash);
/* The statistics of tensor `name`, added empty when absent (name copied). */
CalibStats *profile_tensor(CalibProfile *p, const char *name);
/* The statistics of tensor `name`, or NULL. */
const CalibStats *profile_find(const CalibProfile *p, const char *name);
/* Write p to path (through path.tmp, renamed); false with an error on failure. */
bool profile_write(const CalibProfile *p, const char *path, Diag *d);
/* Read path into p (initialized here); false with an error naming the file and
 * line on any malformed input, and then p is left empty. */
bool profile_read(const char *path, CalibProfile *p, Diag *d);
/* dst += src (statistics merged, samples added); both must have the same model hash
 * and the same tensors, else errors naming both files and dst is unchanged. */
bool profile_merge(CalibProfile *dst, const CalibProfile *src, Diag *d);
/* Release everything p owns; p is left empty. */
void profile_free(CalibProfile *p);

/* For profile.c and profile_read.c: the length of the valid UTF-8 sequence
 * at s (n >= 1 bytes left), or 0 when it is not one. */
size_t profile_utf8_len(const unsigned char *s, size_t n);

#endif

/* gemm_peers.c — qkc's GEMM and conv kernels against oneDNN, OpenBLAS and
 * XNNPACK, in one process, alternating the contenders (`make bench`).
 *
 *   gemm_peers WORKDIR [--threads 1,2] [--rounds R] [--block-ms B] [--cooldown-ms C] [--only TAG]
 *
 * WORKDIR is what bench/make_models.py wrote (cases.txt, the weights as raw
 * .bin files) plus the qkc artifacts compiled from its models (art/TAG_*.so,
 * see bench/perf.py). Each peer is compiled in when its header and library
 * were found (HAVE_DNNL, HAVE_OPENBLAS, HAVE_XNNPACK, set by the build line in
 * bench/perf.py); qkc is linked from BUILD/runtime/libqkrt.a.
 *
 * For every case and thread count, every contender is set up (weights
 * packed/reordered once, outside the timing, as an inference engine does),
 * run once and its output checked against a reference computed here (f32: a
 * double-precision sum; int8 -> int32: the exact integer sum, which must
 * match bit for bit; 8-bit outputs: the requantized reference, +-1), then
 * timed: R rounds, each running every contender for B ms in turn (the order
 * rotated every round), each call timed on its own; with more than one
 * thread, C ms of sleep after each block lets the worker threads of the
 * contender before go idle (they spin a while after a call). One JSON object per line
 * on stdout: {"case", "threads", "group", "who", "median_us", "min_us", "n",
 * "check", "ok", "impl"}; "info" lines name the libraries. */
#define _GNU_SOURCE
#include <errno.h>
#include <immintrin.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <qkc/qkrt.h>

#ifdef HAVE_DNNL
#include <oneapi/dnnl/dnnl.h>
#include <omp.h>
#endif
#ifdef HAVE_OPENBLAS
#include <cblas.h>
#endif
#ifdef HAVE_XNNPACK
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

/* ------------------------------------------------------------------ utils */

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void *xmalloc(size_t n) {
    void *p = aligned_alloc(64, (n + 63) / 64 * 64 + 64);
    if (!p) {
        fprintf(stderr, "gemm_peers: out of memory\n");
        exit(2);
    }
    memset(p, 0, n);
    return p;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}
static float rndf(void) { return (rnd() & 0xffffff) / 16777216.0f; }

static void *read_file(const char *dir, const char *name, size_t want) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "gemm_peers: cannot open %s: %s\n", path, strerror(errno));
        exit(2);
    }
    void *p = xmalloc(want);
    if (fread(p, 1, want, f) != want) {
        fprintf(stderr, "gemm_peers: %s: short file (want %zu bytes)\n", path, want);
        exit(2);
    }
    fclose(f);
    return p;
}

static void json_str(FILE *o, const char *s) {
    fputc('"', o);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', o), fputc(*s, o);
        else if ((unsigned char)*s < 32)
            fputc(' ', o);
        else
            fputc(*s, o);
    }
    fputc('"', o);
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint16_t f2h(float f) { return _cvtss_sh(f, 0); }
static float h2f(uint16_t h) { return _cvtsh_ss(h); }
/* bfloat16: f32's top half, rounded to nearest even (finite inputs) */
static uint16_t f2bf(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return (uint16_t)((u + 0x7fff + (u >> 16 & 1)) >> 16);
}
static float bf2f(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ------------------------------------------------------------------ a case */

typedef struct {
    int conv;                  /* 0: GEMM M x N x K;  1: conv */
    char tag[64];
    int M, N, K;               /* GEMM; for conv: M = H*W, N = Kout, K = C*R*R */
    int C, Ko, H, W, R;        /* conv */
    double qlm_a_s, qlm_b_s, qlm_y_s;
    int qlm_y_zp;
    /* data */
    float *x;                  /* f32 input: [M,K] or [1,C,H,W] */
    float *wf;                 /* [K,N] or [Ko,C,R,R] */
    float *bias;               /* conv: [Ko] */
    int8_t *wi;                /* [K,N] or [Ko,C,R,R] */
    uint8_t *au8;              /* int8 inputs: full-range u8 and s8 */
    int8_t *as8;
    double *ref;               /* f32 reference: [M,N] or [Ko,H,W] (NCHW) */
    int32_t *ref_u8;           /* exact int sums of au8 / as8 with wi */
    int32_t *ref_s8;
    size_t nin, nout;          /* elements */
} kase;

/* x as conv input, NCHW, at (c, y, x) with zero padding */
static double conv_ref_at(const kase *k, const void *in, int kind, int o, int y, int x) {
    /* kind 0: f32 input, 1: u8, 2: s8 */
    double s = 0;
    int p = k->R / 2;
    for (int c = 0; c < k->C; c++)
        for (int r = 0; r < k->R; r++) {
            int iy = y + r - p;
            if (iy < 0 || iy >= k->H) continue;
            for (int q = 0; q < k->R; q++) {
                int ix = x + q - p;
                if (ix < 0 || ix >= k->W) continue;
                size_t ii = ((size_t)c * k->H + iy) * k->W + ix;
                size_t wi = (((size_t)o * k->C + c) * k->R + r) * k->R + q;
                double a = kind == 0 ? ((const float *)in)[ii] : kind == 1 ? ((const uint8_t *)in)[ii]
                                                                           : ((const int8_t *)in)[ii];
                double w = kind == 0 ? k->wf[wi] : k->wi[wi];
                s += a * w;
            }
        }
    return s;
}

static void make_refs(kase *k) {
    if (!k->conv) {
        int M = k->M, N = k->N, K = k->K;
        k->ref = xmalloc(sizeof(double) * M * N);
        k->ref_u8 = xmalloc(sizeof(int32_t) * M * N);
        k->ref_s8 = xmalloc(sizeof(int32_t) * M * N);
        for (int m = 0; m < M; m++)
            for (int kk = 0; kk < K; kk++) {
                double a = k->x[(size_t)m * K + kk];
                int32_t au = k->au8[(size_t)m * K + kk], as = k->as8[(size_t)m * K + kk];
                const float *w = k->wf + (size_t)kk * N;
                const int8_t *wi = k->wi + (size_t)kk * N;
                double *r = k->ref + (size_t)m * N;
                int32_t *ru = k->ref_u8 + (size_t)m * N, *rs = k->ref_s8 + (size_t)m * N;
                for (int n = 0; n < N; n++) {
                    r[n] += a * w[n];
                    ru[n] += au * wi[n];
                    rs[n] += as * wi[n];
                }
            }
    } else {
        int Ko = k->Ko, H = k->H, W = k->W;
        k->ref = xmalloc(sizeof(double) * Ko * H * W);
        k->ref_u8 = xmalloc(sizeof(int32_t) * Ko * H * W);
        k->ref_s8 = xmalloc(sizeof(int32_t) * Ko * H * W);
        for (int o = 0; o < Ko; o++)
            for (int y = 0; y < H; y++)
                for (int x = 0; x < W; x++) {
                    size_t i = ((size_t)o * H + y) * W + x;
                    k->ref[i] = conv_ref_at(k, k->x, 0, o, y, x) + k->bias[o];
                    k->ref_u8[i] = (int32_t)conv_ref_at(k, k->au8, 1, o, y, x);
                    k->ref_s8[i] = (int32_t)conv_ref_at(k, k->as8, 2, o, y, x);
                }
    }
}

/* ------------------------------------------------------------------ checks */

/* f32 output (in the reference's index order) against ref: relative max error */
static int check_f32(const kase *k, const float *y, double tol, char *msg, size_t n) {
    double emax = 0, rmax = 0;
    for (size_t i = 0; i < k->nout; i++) {
        double e = fabs((double)y[i] - k->ref[i]);
        if (!(e <= emax)) emax = e;  /* NaN-safe */
        if (fabs(k->ref[i]) > rmax) rmax = fabs(k->ref[i]);
    }
    double rel = emax / (rmax > 0 ? rmax : 1);
    int ok = rel <= tol;
    snprintf(msg, n, "%s (max|err|/max|ref| %.2g, limit %.0g)", ok ? "ok" : "WRONG", rel, tol);
    return ok;
}

static int check_i32(const kase *k, const int32_t *y, const int32_t *ref, char *msg, size_t n) {
    size_t bad = 0, first = 0;
    for (size_t i = 0; i < k->nout; i++)
        if (y[i] != ref[i]) {
            if (!bad) first = i;
            bad++;
        }
    if (!bad)
        snprintf(msg, n, "ok (exact int32)");
    else
        snprintf(msg, n, "WRONG: %zu of %zu int32 sums differ (first at %zu: %d, exact %d)", bad, k->nout, first,
                 y[first], ref[first]);
    return bad == 0;
}

/* 8-bit requantized output q (u8 if !sgn) against round(ref * mult) + zp, +-1 */
static int check_q8(const kase *k, const void *q, int sgn, const int32_t *ref, double mult, int zp, char *msg,
                    size_t n) {
    size_t bad = 0, first = 0, clip = 0;
    int lo = sgn ? -128 : 0, hi = sgn ? 127 : 255;
    for (size_t i = 0; i < k->nout; i++) {
        double v = nearbyint(ref[i] * mult) + zp;
        if (v < lo) v = lo, clip++;
        if (v > hi) v = hi, clip++;
        int got = sgn ? ((const int8_t *)q)[i] : ((const uint8_t *)q)[i];
        if (fabs(got - v) > 1) {
            if (!bad) first = i;
            bad++;
        }
    }
    if (!bad)
        snprintf(msg, n, "ok (requantized, within 1 of the exact sum's; %.1f%% saturated)",
                 100.0 * clip / k->nout);
    else
        snprintf(msg, n, "WRONG: %zu of %zu requantized outputs off by > 1 (first at %zu)", bad, k->nout, first);
    return bad == 0;
}

static double sqnr_db(const kase *k, const float *y) {
    double s = 0, e = 0;
    for (size_t i = 0; i < k->nout; i++) {
        s += k->ref[i] * k->ref[i];
        e += (y[i] - k->ref[i]) * (y[i] - k->ref[i]);
    }
    return e == 0 ? 999 : 10 * log10(s / e);
}

/* ------------------------------------------------------------------ contenders */

typedef struct contender contender;
struct contender {
    char group[32];   /* fp32, fp16, u8s8s32, s8s8s32, int8-q8, int8-f32io */
    char who[64];
    char impl[200];
    char check[240];
    int ok;           /* set up and checked (timed only then) */
    int skipped;      /* 1: not available (check says why) */
    void (*run)(contender *);
    void (*fini)(contender *);
    /* state */
    void *p[8];
    size_t z[4];
    int64_t i64[4];
    double *t;
    int nt, capt;
};

static contender *cs;
static int ncs, capcs;

static contender *add(const char *group, const char *who) {
    if (ncs == capcs) {
        capcs = capcs ? 2 * capcs : 32;
        cs = realloc(cs, sizeof *cs * capcs);
    }
    contender *c = &cs[ncs++];
    memset(c, 0, sizeof *c);
    snprintf(c->group, sizeof c->group, "%s", group);
    snprintf(c->who, sizeof c->who, "%s", who);
    return c;
}

static void skip(contender *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->check, sizeof c->check, fmt, ap);
    va_end(ap);
    c->skipped = 1;
    c->ok = 0;
}

/* ---- qkc, through the runtime */

static const char *g_art;  /* artifact directory */

static void qkc_run(contender *c) {
    qkrt_status st = qkrt_run(c->p[1], 1, (const void *const *)&c->p[2], &c->z[0], &c->p[3], &c->z[1]);
    if (st != QKRT_OK) {
        fprintf(stderr, "gemm_peers: qkrt_run %s: %s\n", c->who, qkrt_error_message());
        exit(1);
    }
}
static void qkc_fini(contender *c) {
    qkrt_context_free(c->p[1]);
    qkrt_model_free(c->p[0]);
    free(c->p[2]);
    free(c->p[3]);
}

/* kinds of qkc artifact: how to feed it and check it */
enum { QK_F32, QK_F16, QK_BF16, QK_MMI_U8, QK_MMI_S8, QK_QLM, QK_PTQ8, QK_PTQ };

static void add_qkc(const kase *k, int kind, const char *group, const char *who, const char *suffix, int T) {
    contender *c = add(group, who);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s_%s.so", g_art, k->tag, suffix);
    snprintf(c->impl, sizeof c->impl, "%s_%s.so", k->tag, suffix);
    qkrt_model *m;
    if (qkrt_model_load(path, &m) != QKRT_OK) {
        skip(c, "not compiled: %s", qkrt_error_message());
        return;
    }
    qkrt_context *ctx;
    if (qkrt_context_create(m, &ctx) != QKRT_OK || qkrt_context_set_threads(ctx, T) != QKRT_OK ||
        qkrt_context_reserve(ctx, 1) != QKRT_OK) {
        fprintf(stderr, "gemm_peers: qkc context for %s: %s\n", path, qkrt_error_message());
        exit(1);
    }
    const qkrt_tensor_desc *di = qkrt_model_input(m, 0), *dout = qkrt_model_output(m, 0);
    size_t ib = qkrt_tensor_bytes(di, 1), ob = qkrt_tensor_bytes(dout, 1);
    void *in = xmalloc(ib), *out = xmalloc(ob);
    size_t es = qkrt_dtype_size(di->dtype);
    if (ib / es != k->nin) {
        fprintf(stderr, "gemm_peers: %s: input has %zu elements, expected %zu\n", path, ib / es, k->nin);
        exit(1);
    }
    /* the input */
    if (di->dtype == 1) /* f32 */
        memcpy(in, k->x, ib);
    else if (di->dtype == 2 && di->scale > 0) { /* u8, quantized from x by the artifact's scale */
        for (size_t i = 0; i < k->nin; i++) {
            double v = nearbyint(k->x[i] / di->scale) + di->zero_point;
            ((uint8_t *)in)[i] = v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v;
        }
    } else if (di->dtype == 2)
        memcpy(in, k->au8, ib);
    else if (di->dtype == 3)
        memcpy(in, k->as8, ib);
    else {
        fprintf(stderr, "gemm_peers: %s: unexpected input dtype %s\n", path, qkrt_dtype_name(di->dtype));
        exit(1);
    }
    c->p[0] = m, c->p[1] = ctx, c->p[2] = in, c->p[3] = out;
    c->z[0] = ib, c->z[1] = ob;
    c->run = qkc_run, c->fini = qkc_fini;
    qkc_run(c);
    /* check */
    char *msg = c->check;
    size_t n = sizeof c->check;
    switch (kind) {
    case QK_F32: c->ok = check_f32(k, out, 1e-4, msg, n); break;
    case QK_F16: c->ok = check_f32(k, out, 2e-2, msg, n); break;
    case QK_BF16: c->ok = check_f32(k, out, 5e-2, msg, n); break;
    case QK_MMI_U8: c->ok = check_i32(k, out, k->ref_u8, msg, n); break;
    case QK_MMI_S8: c->ok = check_i32(k, out, k->ref_s8, msg, n); break;
    case QK_QLM:
        c->ok = check_q8(k, out, 0, k->ref_u8, k->qlm_a_s * k->qlm_b_s / k->qlm_y_s, k->qlm_y_zp, msg, n);
        break;
    case QK_PTQ8:
    case QK_PTQ: {
        float *y = xmalloc(sizeof(float) * k->nout);
        for (size_t i = 0; i < k->nout; i++)
            y[i] = kind == QK_PTQ ? ((float *)out)[i]
                                  : (float)(dout->scale * (((uint8_t *)out)[i] - dout->zero_point));
        double db = sqnr_db(k, y);
        c->ok = db >= 25;
        snprintf(msg, n, "%s (SQNR %.1f dB against the f32 reference%s)", c->ok ? "ok" : "WRONG", db,
                 kind == QK_PTQ8 ? ", output dequantized" : "");
        free(y);
        break;
    }
    }
}

/* ---- oneDNN */
#ifdef HAVE_DNNL
static dnnl_engine_t g_eng;
static dnnl_stream_t g_strm;

typedef struct {
    dnnl_primitive_t prim;
    dnnl_exec_arg_t args[4];
    int nargs;
    dnnl_memory_t mem[4];
} dnnl_state;

static void dnnl_run(contender *c) {
    dnnl_state *s = c->p[0];
    if (dnnl_primitive_execute(s->prim, g_strm, s->nargs, s->args) != dnnl_success ||
        dnnl_stream_wait(g_strm) != dnnl_success) {
        fprintf(stderr, "gemm_peers: oneDNN execute failed\n");
        exit(2);
    }
}
static void dnnl_fini(contender *c) {
    dnnl_state *s = c->p[0];
    dnnl_primitive_destroy(s->prim);
    for (int i = 0; i < 4; i++)
        if (s->mem[i]) dnnl_memory_destroy(s->mem[i]);
    free(s);
    for (int i = 1; i < 8; i++) free(c->p[i]);
}

/* reorder user data (md_user) into a new memory of md; returns the memory */
static dnnl_memory_t dnnl_reordered(const dnnl_memory_desc_t *md_user, void *data, const dnnl_memory_desc_t *md,
                                    void **buf) {
    dnnl_memory_t mu, mo;
    *buf = xmalloc(dnnl_memory_desc_get_size(md));
    dnnl_memory_create(&mu, md_user, g_eng, data);
    dnnl_memory_create(&mo, md, g_eng, *buf);
    dnnl_primitive_desc_t rpd;
    if (dnnl_reorder_primitive_desc_create(&rpd, md_user, g_eng, md, g_eng, NULL) != dnnl_success) {
        fprintf(stderr, "gemm_peers: oneDNN reorder unavailable\n");
        exit(2);
    }
    dnnl_primitive_t r;
    dnnl_primitive_create(&r, rpd);
    dnnl_exec_arg_t a[2] = {{DNNL_ARG_FROM, mu}, {DNNL_ARG_TO, mo}};
    dnnl_primitive_execute(r, g_strm, 2, a);
    dnnl_stream_wait(g_strm);
    dnnl_primitive_destroy(r);
    dnnl_primitive_desc_destroy(rpd);
    dnnl_memory_destroy(mu);
    return mo;
}

static const char *dnnl_impl(dnnl_primitive_desc_t pd) {
    const char *s = "?";
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &s);
    return s;
}

/* dt_a: src type, dt_w: weights, dt_y: dst. GEMM as a matmul primitive. */
static void add_dnnl_matmul(const kase *k, const char *group, const char *who, dnnl_data_type_t dt_a,
                            dnnl_data_type_t dt_w, dnnl_data_type_t dt_y) {
    contender *c = add(group, who);
    int M = k->M, N = k->N, K = k->K;
    dnnl_dims_t da = {M, K}, dw = {K, N}, dy = {M, N};
    dnnl_memory_desc_t ma, mw_any, mw_user, my;
    dnnl_memory_desc_init_by_tag(&ma, 2, da, dt_a, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&mw_any, 2, dw, dt_w, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&mw_user, 2, dw, dt_w, dnnl_ab);
    dnnl_memory_desc_init_by_tag(&my, 2, dy, dt_y, dnnl_ab);
    dnnl_matmul_desc_t md;
    dnnl_matmul_desc_init(&md, &ma, &mw_any, NULL, &my);
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, &md, NULL, g_eng, NULL) != dnnl_success) {
        skip(c, "no oneDNN matmul implementation for these types on this CPU");
        return;
    }
    snprintf(c->impl, sizeof c->impl, "matmul %s, weights reordered once", dnnl_impl(pd));
    dnnl_state *s = calloc(1, sizeof *s);
    const dnnl_memory_desc_t *mw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    /* the inputs */
    size_t es = dt_a == dnnl_f32 ? 4 : dt_a == dnnl_f16 || dt_a == dnnl_bf16 ? 2 : 1;
    void *a = xmalloc((size_t)M * K * es),
         *wuser = xmalloc((size_t)K * N * (dt_w == dnnl_f32 ? 4 : dt_w == dnnl_f16 || dt_w == dnnl_bf16 ? 2 : 1));
    if (dt_a == dnnl_f32)
        memcpy(a, k->x, (size_t)M * K * 4);
    else if (dt_a == dnnl_f16)
        for (size_t i = 0; i < (size_t)M * K; i++) ((uint16_t *)a)[i] = f2h(k->x[i]);
    else if (dt_a == dnnl_bf16)
        for (size_t i = 0; i < (size_t)M * K; i++) ((uint16_t *)a)[i] = f2bf(k->x[i]);
    else
        memcpy(a, dt_a == dnnl_u8 ? (void *)k->au8 : (void *)k->as8, (size_t)M * K);
    if (dt_w == dnnl_f32)
        memcpy(wuser, k->wf, (size_t)K * N * 4);
    else if (dt_w == dnnl_f16)
        for (size_t i = 0; i < (size_t)K * N; i++) ((uint16_t *)wuser)[i] = f2h(k->wf[i]);
    else if (dt_w == dnnl_bf16)
        for (size_t i = 0; i < (size_t)K * N; i++) ((uint16_t *)wuser)[i] = f2bf(k->wf[i]);
    else
        memcpy(wuser, k->wi, (size_t)K * N);
    void *wbuf;
    s->mem[1] = dnnl_reordered(&mw_user, wuser, mw, &wbuf);
    size_t ys = dt_y == dnnl_f16 || dt_y == dnnl_bf16 ? 2 : 4;
    void *y = xmalloc((size_t)M * N * ys);
    dnnl_memory_create(&s->mem[0], &ma, g_eng, a);
    dnnl_memory_create(&s->mem[2], &my, g_eng, y);
    s->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->mem[0]};
    s->args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->mem[1]};
    s->args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->mem[2]};
    s->nargs = 3;
    dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    c->p[0] = s, c->p[1] = a, c->p[2] = wuser, c->p[3] = wbuf, c->p[4] = y;
    c->run = dnnl_run, c->fini = dnnl_fini;
    dnnl_run(c);
    if (dt_y == dnnl_s32)
        c->ok = check_i32(k, y, dt_a == dnnl_u8 ? k->ref_u8 : k->ref_s8, c->check, sizeof c->check);
    else if (dt_y == dnnl_f16 || dt_y == dnnl_bf16) {
        float *yf = xmalloc(sizeof(float) * M * N);
        for (size_t i = 0; i < (size_t)M * N; i++)
            yf[i] = dt_y == dnnl_f16 ? h2f(((uint16_t *)y)[i]) : bf2f(((uint16_t *)y)[i]);
        c->ok = check_f32(k, yf, dt_y == dnnl_f16 ? 2e-2 : 5e-2, c->check, sizeof c->check);
        free(yf);
    } else
        c->ok = check_f32(k, y, 1e-4, c->check, sizeof c->check);
}

/* conv: src/dst in the layout oneDNN prefers (format any: blocked, as in an
 * engine that keeps activations in it), reordered from/to NCHW outside the timing. */
static void add_dnnl_conv(const kase *k, const char *group, const char *who, int int8) {
    contender *c = add(group, who);
    dnnl_dims_t ds = {1, k->C, k->H, k->W}, dw = {k->Ko, k->C, k->R, k->R}, db = {k->Ko},
                dd = {1, k->Ko, k->H, k->W}, st = {1, 1}, pl = {k->R / 2, k->R / 2};
    dnnl_data_type_t ts = int8 ? dnnl_u8 : dnnl_f32, tw = int8 ? dnnl_s8 : dnnl_f32, td = int8 ? dnnl_s32 : dnnl_f32;
    dnnl_memory_desc_t ms, mw, mb, md, ms_u, mw_u, md_u;
    dnnl_memory_desc_init_by_tag(&ms, 4, ds, ts, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&mw, 4, dw, tw, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&mb, 1, db, dnnl_f32, dnnl_x);
    dnnl_memory_desc_init_by_tag(&md, 4, dd, td, dnnl_format_tag_any);
    dnnl_memory_desc_init_by_tag(&ms_u, 4, ds, ts, dnnl_nchw);
    dnnl_memory_desc_init_by_tag(&mw_u, 4, dw, tw, dnnl_oihw);
    dnnl_memory_desc_init_by_tag(&md_u, 4, dd, td, dnnl_nchw);
    dnnl_convolution_desc_t cd;
    dnnl_convolution_forward_desc_init(&cd, dnnl_forward_inference, dnnl_convolution_direct, &ms, &mw,
                                       int8 ? NULL : &mb, &md, st, pl, pl);
    dnnl_primitive_desc_t pd;
    if (dnnl_primitive_desc_create(&pd, &cd, NULL, g_eng, NULL) != dnnl_success) {
        skip(c, "no oneDNN convolution implementation for these types on this CPU");
        return;
    }
    snprintf(c->impl, sizeof c->impl, "convolution %s, src/dst in its own layout", dnnl_impl(pd));
    dnnl_state *s = calloc(1, sizeof *s);
    const dnnl_memory_desc_t *qs = dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0);
    const dnnl_memory_desc_t *qw = dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const dnnl_memory_desc_t *qd = dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0);
    void *sbuf, *wbuf, *dbuf, *b = xmalloc(4 * k->Ko);
    memcpy(b, k->bias, 4 * k->Ko);
    s->mem[0] = dnnl_reordered(&ms_u, int8 ? (void *)k->au8 : (void *)k->x, qs, &sbuf);
    s->mem[1] = dnnl_reordered(&mw_u, int8 ? (void *)k->wi : (void *)k->wf, qw, &wbuf);
    dbuf = xmalloc(dnnl_memory_desc_get_size(qd));
    dnnl_memory_create(&s->mem[2], qd, g_eng, dbuf);
    dnnl_memory_create(&s->mem[3], &mb, g_eng, b);
    s->args[0] = (dnnl_exec_arg_t){DNNL_ARG_SRC, s->mem[0]};
    s->args[1] = (dnnl_exec_arg_t){DNNL_ARG_WEIGHTS, s->mem[1]};
    s->args[2] = (dnnl_exec_arg_t){DNNL_ARG_DST, s->mem[2]};
    s->args[3] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, s->mem[3]};
    s->nargs = int8 ? 3 : 4;
    dnnl_primitive_create(&s->prim, pd);
    dnnl_primitive_desc_destroy(pd);
    c->p[1] = sbuf, c->p[2] = wbuf, c->p[3] = dbuf, c->p[4] = b;
    c->p[0] = s;
    c->run = dnnl_run, c->fini = dnnl_fini;
    dnnl_run(c);
    /* back to NCHW for the check */
    void *ybuf;
    dnnl_memory_t yn = dnnl_reordered(qd, dbuf, &md_u, &ybuf);
    dnnl_memory_destroy(yn);
    if (int8)
        c->ok = check_i32(k, ybuf, k->ref_u8, c->check, sizeof c->check);
    else
        c->ok = check_f32(k, ybuf, 1e-4, c->check, sizeof c->check);
    free(ybuf);
}
#endif

/* ---- OpenBLAS */
#ifdef HAVE_OPENBLAS
static void blas_sgemm_run(contender *c) {
    const int *d = (const int *)c->z;
    (void)d;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)c->i64[0], (int)c->i64[1], (int)c->i64[2], 1.0f,
                c->p[0], (int)c->i64[2], c->p[1], (int)c->i64[1], 0.0f, c->p[2], (int)c->i64[1]);
}
static void blas_sgemv_run(contender *c) {
    /* y[N] = W^T[N,K] x[K] : weights stored transposed once ([N,K] row-major) */
    cblas_sgemv(CblasRowMajor, CblasNoTrans, (int)c->i64[1], (int)c->i64[2], 1.0f, c->p[1], (int)c->i64[2],
                c->p[0], 1, 0.0f, c->p[2], 1);
}
static void blas_sgemv_t_run(contender *c) {
    /* y[N] = x[K] . W[K,N] : the [K,N] weights as given, transposed product */
    cblas_sgemv(CblasRowMajor, CblasTrans, (int)c->i64[2], (int)c->i64[1], 1.0f, c->p[1], (int)c->i64[1],
                c->p[0], 1, 0.0f, c->p[2], 1);
}
static void free3(contender *c) {
    for (int i = 0; i < 8; i++) free(c->p[i]);
}

static void add_blas_gemm(const kase *k, int gemv, int trans) {
    contender *c = add("fp32", gemv ? (trans ? "OpenBLAS sgemv T" : "OpenBLAS sgemv") : "OpenBLAS sgemm");
    int M = k->M, N = k->N, K = k->K;
    float *x = xmalloc(4 * (size_t)M * K), *w = xmalloc(4 * (size_t)K * N), *y = xmalloc(4 * (size_t)M * N);
    memcpy(x, k->x, 4 * (size_t)M * K);
    if (gemv && !trans)
        for (int kk = 0; kk < K; kk++)
            for (int n = 0; n < N; n++) w[(size_t)n * K + kk] = k->wf[(size_t)kk * N + n];
    else
        memcpy(w, k->wf, 4 * (size_t)K * N);
    c->p[0] = x, c->p[1] = w, c->p[2] = y;
    c->i64[0] = M, c->i64[1] = N, c->i64[2] = K;
    c->run = gemv ? (trans ? blas_sgemv_t_run : blas_sgemv_run) : blas_sgemm_run;
    c->fini = free3;
    snprintf(c->impl, sizeof c->impl, "%s, core %s",
             gemv ? (trans ? "cblas_sgemv Trans on W[K,N]" : "cblas_sgemv NoTrans on W^T[N,K] (transposed once)")
                  : "cblas_sgemm RowMajor NN",
             openblas_get_corename());
    c->run(c);
    c->ok = check_f32(k, y, 1e-4, c->check, sizeof c->check);
}

/* conv as im2col + sgemm (+ bias), both timed */
static void blas_conv_run(contender *c) {
    const int C = (int)c->i64[0], H = (int)c->i64[1], W = (int)c->i64[2], R = (int)c->i64[3], Ko = (int)c->z[0];
    const float *x = c->p[0], *b = c->p[3];
    float *col = c->p[4], *y = c->p[2];
    int p = R / 2;
    for (int ch = 0; ch < C; ch++)
        for (int r = 0; r < R; r++)
            for (int q = 0; q < R; q++) {
                float *row = col + ((size_t)(ch * R + r) * R + q) * H * W;
                for (int yy = 0; yy < H; yy++) {
                    int iy = yy + r - p;
                    float *o = row + (size_t)yy * W;
                    if (iy < 0 || iy >= H) {
                        memset(o, 0, 4 * W);
                        continue;
                    }
                    const float *src = x + ((size_t)ch * H + iy) * W;
                    for (int xx = 0; xx < W; xx++) {
                        int ix = xx + q - p;
                        o[xx] = (ix < 0 || ix >= W) ? 0.0f : src[ix];
                    }
                }
            }
    for (int o = 0; o < Ko; o++)
        for (int i = 0; i < H * W; i++) y[(size_t)o * H * W + i] = b[o];
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Ko, H * W, C * R * R, 1.0f, c->p[1], C * R * R, col, H * W,
                1.0f, y, H * W);
}

static void add_blas_conv(const kase *k) {
    contender *c = add("fp32", "OpenBLAS im2col+sgemm");
    size_t HW = (size_t)k->H * k->W;
    c->p[0] = xmalloc(4 * k->nin);
    memcpy(c->p[0], k->x, 4 * k->nin);
    c->p[1] = xmalloc(4 * (size_t)k->Ko * k->C * k->R * k->R);
    memcpy(c->p[1], k->wf, 4 * (size_t)k->Ko * k->C * k->R * k->R);
    c->p[2] = xmalloc(4 * k->nout);
    c->p[3] = xmalloc(4 * k->Ko);
    memcpy(c->p[3], k->bias, 4 * k->Ko);
    c->p[4] = xmalloc(4 * (size_t)k->C * k->R * k->R * HW);
    c->i64[0] = k->C, c->i64[1] = k->H, c->i64[2] = k->W, c->i64[3] = k->R;
    c->z[0] = k->Ko;
    c->run = blas_conv_run, c->fini = free3;
    snprintf(c->impl, sizeof c->impl, "NCHW im2col (timed) + cblas_sgemm, core %s", openblas_get_corename());
    c->run(c);
    c->ok = check_f32(k, c->p[2], 1e-4, c->check, sizeof c->check);
}
#endif

/* ---- XNNPACK */
#ifdef HAVE_XNNPACK
static pthreadpool_t g_pool;  /* NULL: the caller's thread */

static void xnn_run(contender *c) {
    if (xnn_run_operator(c->p[0], g_pool) != xnn_status_success) {
        fprintf(stderr, "gemm_peers: xnn_run_operator failed\n");
        exit(2);
    }
}
static void xnn_fini(contender *c) {
    xnn_delete_operator(c->p[0]);
    for (int i = 1; i < 8; i++) free(c->p[i]);
}

/* XNNPACK's qs8 parameters: s8 input (zp 0, scale 1/128), weights per tensor
 * (scale 0.02, zp 0), s8 output covering +-3 sigma of the sums */
static void xnn_qs8_params(const kase *k, double *in_s, double *w_s, double *out_s) {
    *in_s = 1.0 / 128, *w_s = 0.02;
    double sig = sqrt((double)k->K) * 74.0 * 74.0;
    *out_s = 6 * sig * (*in_s) * (*w_s) / 255;
}

/* kind: 0 f32, 1 f16, 2 qs8 */
static void add_xnn_fc(const kase *k, int kind) {
    static const char *groups[] = {"fp32", "fp16", "int8-q8"};
    static const char *names[] = {"XNNPACK f32", "XNNPACK f16", "XNNPACK qs8"};
    contender *c = add(groups[kind], names[kind]);
    int M = k->M, N = k->N, K = k->K;
    xnn_operator_t op = NULL;
    enum xnn_status st;
    void *in, *out, *w = NULL, *b = NULL;
    double in_s = 1, w_s = 1, out_s = 1;
    if (kind == 0) {
        st = xnn_create_fully_connected_nc_f32(K, N, K, N, k->wf, NULL, -INFINITY, INFINITY,
                                               XNN_FLAG_TRANSPOSE_WEIGHTS, &op);
        in = xmalloc(4 * (size_t)M * K + XNN_EXTRA_BYTES);
        memcpy(in, k->x, 4 * (size_t)M * K);
        out = xmalloc(4 * (size_t)M * N);
    } else if (kind == 1) {
        uint16_t *wh = w = xmalloc(2 * (size_t)K * N);
        for (size_t i = 0; i < (size_t)K * N; i++) wh[i] = f2h(k->wf[i]);
        st = xnn_create_fully_connected_nc_f16(K, N, K, N, wh, NULL, -INFINITY, INFINITY, XNN_FLAG_TRANSPOSE_WEIGHTS,
                                               &op);
        in = xmalloc(2 * (size_t)M * K + XNN_EXTRA_BYTES);
        for (size_t i = 0; i < (size_t)M * K; i++) ((uint16_t *)in)[i] = f2h(k->x[i]);
        out = xmalloc(2 * (size_t)M * N);
    } else {
        xnn_qs8_params(k, &in_s, &w_s, &out_s);
        b = xmalloc(4 * (size_t)N);
        st = xnn_create_fully_connected_nc_qs8(K, N, K, N, 0, (float)in_s, (float)w_s, k->wi, b, 0, (float)out_s,
                                               -128, 127, XNN_FLAG_TRANSPOSE_WEIGHTS, &op);
        in = xmalloc((size_t)M * K + XNN_EXTRA_BYTES);
        memcpy(in, k->as8, (size_t)M * K);
        out = xmalloc((size_t)M * N);
    }
    if (st != xnn_status_success) {
        skip(c, "xnn_create_fully_connected_nc_%s: status %d%s", kind == 0 ? "f32" : kind == 1 ? "f16" : "qs8", st,
             st == xnn_status_unsupported_hardware ? " (unsupported hardware: this XNNPACK build has no such kernels for this CPU)" : "");
        free(in), free(out), free(w), free(b);
        return;
    }
    if (kind == 0)
        st = xnn_setup_fully_connected_nc_f32(op, M, in, out, g_pool);
    else if (kind == 1)
        st = xnn_setup_fully_connected_nc_f16(op, M, in, out, g_pool);
    else
        st = xnn_setup_fully_connected_nc_qs8(op, M, in, out, g_pool);
    if (st != xnn_status_success) {
        skip(c, "xnn_setup_fully_connected: status %d", st);
        return;
    }
    c->p[0] = op, c->p[1] = in, c->p[2] = out, c->p[3] = w, c->p[4] = b;
    c->run = xnn_run, c->fini = xnn_fini;
    snprintf(c->impl, sizeof c->impl, "fully_connected_nc_%s, weights packed at creation%s",
             kind == 0 ? "f32" : kind == 1 ? "f16 (f16 in/out)" : "qs8",
             kind == 2 ? " (s8 in/out, per-tensor scales, requantized)" : "");
    xnn_run(c);
    if (kind == 0)
        c->ok = check_f32(k, out, 1e-4, c->check, sizeof c->check);
    else if (kind == 1) {
        float *yf = xmalloc(4 * (size_t)M * N);
        for (size_t i = 0; i < (size_t)M * N; i++) yf[i] = h2f(((uint16_t *)out)[i]);
        c->ok = check_f32(k, yf, 2e-2, c->check, sizeof c->check);
        free(yf);
    } else
        c->ok = check_q8(k, out, 1, k->ref_s8, in_s * w_s / out_s, 0, c->check, sizeof c->check);
}

/* conv NHWC (input converted once, outside the timing); kind 0 f32, 2 qs8 */
static void add_xnn_conv(const kase *k, int kind) {
    contender *c = add(kind == 0 ? "fp32" : kind == 1 ? "fp16" : "int8-q8",
                       kind == 0 ? "XNNPACK f32" : kind == 1 ? "XNNPACK f16" : "XNNPACK qs8");
    int C = k->C, Ko = k->Ko, H = k->H, W = k->W, R = k->R;
    size_t HW = (size_t)H * W, nw = (size_t)Ko * C * R * R;
    size_t es = kind == 0 ? 4 : kind == 1 ? 2 : 1;
    void *in = xmalloc(es * k->nin + XNN_EXTRA_BYTES), *out = xmalloc(es * k->nout), *w = xmalloc(es * nw),
         *b = xmalloc(4 * (size_t)Ko);
    /* NCHW -> NHWC input; OIHW -> OHWI weights */
    for (int ch = 0; ch < C; ch++)
        for (size_t i = 0; i < HW; i++) {
            size_t s = (size_t)ch * HW + i, d = i * C + ch;
            if (kind == 0) ((float *)in)[d] = k->x[s];
            else if (kind == 1) ((uint16_t *)in)[d] = f2h(k->x[s]);
            else ((int8_t *)in)[d] = k->as8[s];
        }
    for (int o = 0; o < Ko; o++)
        for (int ch = 0; ch < C; ch++)
            for (int r = 0; r < R * R; r++) {
                size_t s = ((size_t)o * C + ch) * R * R + r, d = ((size_t)o * R * R + r) * C + ch;
                if (kind == 0) ((float *)w)[d] = k->wf[s];
                else if (kind == 1) ((uint16_t *)w)[d] = f2h(k->wf[s]);
                else ((int8_t *)w)[d] = k->wi[s];
            }
    xnn_operator_t op = NULL;
    enum xnn_status st;
    double in_s = 1.0 / 128, w_s = 0.02, out_s = 6 * sqrt((double)C * R * R) * 74.0 * 74.0 * in_s * w_s / 255;
    int p = R / 2;
    if (kind == 0) {
        memcpy(b, k->bias, 4 * Ko);
        st = xnn_create_convolution2d_nhwc_f32(p, p, p, p, R, R, 1, 1, 1, 1, 1, C, Ko, C, Ko, w, b, -INFINITY,
                                               INFINITY, 0, &op);
    } else if (kind == 1) {
        for (int o = 0; o < Ko; o++) ((uint16_t *)b)[o] = f2h(k->bias[o]);
        st = xnn_create_convolution2d_nhwc_f16(p, p, p, p, R, R, 1, 1, 1, 1, 1, C, Ko, C, Ko, w, b, -INFINITY,
                                               INFINITY, 0, &op);
    } else
        st = xnn_create_convolution2d_nhwc_qs8(p, p, p, p, R, R, 1, 1, 1, 1, 1, C, Ko, C, Ko, 0, (float)in_s,
                                               (float)w_s, w, b, 0, (float)out_s, -128, 127, 0, &op);
    if (st != xnn_status_success) {
        skip(c, "xnn_create_convolution2d_nhwc: status %d%s", st,
             st == xnn_status_unsupported_hardware ? " (unsupported hardware)" : "");
        free(in), free(out), free(w), free(b);
        return;
    }
    if (kind == 0)
        st = xnn_setup_convolution2d_nhwc_f32(op, 1, H, W, in, out, g_pool);
    else if (kind == 1)
        st = xnn_setup_convolution2d_nhwc_f16(op, 1, H, W, in, out, g_pool);
    else
        st = xnn_setup_convolution2d_nhwc_qs8(op, 1, H, W, in, out, g_pool);
    if (st != xnn_status_success) {
        skip(c, "xnn_setup_convolution2d_nhwc: status %d", st);
        return;
    }
    c->p[0] = op, c->p[1] = in, c->p[2] = out, c->p[3] = w, c->p[4] = b;
    c->run = xnn_run, c->fini = xnn_fini;
    snprintf(c->impl, sizeof c->impl, "convolution2d_nhwc_%s, NHWC in/out%s", kind == 0 ? "f32" : kind == 1 ? "f16" : "qs8",
             kind == 2 ? ", s8, per-tensor scales, requantized" : "");
    xnn_run(c);
    /* NHWC -> NCHW for the check */
    void *y = xmalloc(4 * k->nout);
    for (int o = 0; o < Ko; o++)
        for (size_t i = 0; i < HW; i++) {
            size_t s = i * Ko + o, d = (size_t)o * HW + i;
            if (kind == 0) ((float *)y)[d] = ((float *)out)[s];
            else if (kind == 1) ((float *)y)[d] = h2f(((uint16_t *)out)[s]);
            else ((int8_t *)y)[d] = ((int8_t *)out)[s];
        }
    if (kind == 2)
        c->ok = check_q8(k, y, 1, k->ref_s8, in_s * w_s / out_s, 0, c->check, sizeof c->check);
    else
        c->ok = check_f32(k, y, kind == 0 ? 1e-4 : 2e-2, c->check, sizeof c->check);
    free(y);
}
#endif

/* ------------------------------------------------------------------ timing */

static void push(contender *c, double t) {
    if (c->nt == c->capt) {
        c->capt = c->capt ? 2 * c->capt : 256;
        c->t = realloc(c->t, sizeof(double) * c->capt);
    }
    c->t[c->nt++] = t;
}

/* Between two contenders' blocks with T > 1, wait this long: idle worker
 * threads of the one before (OpenBLAS's spin for up to 2^28 cycles, OpenMP's
 * and pthreadpool's for less) must not take the cores from the next one. */
static double g_cooldown_s = 0.12;
static int g_threads = 1;

static void cooldown(void) {
    if (g_threads > 1) {
        struct timespec ts = {0, (long)(g_cooldown_s * 1e9)};
        nanosleep(&ts, NULL);
    }
}

static void time_all(int rounds, double block_s) {
    int n = ncs;
    /* warm up every contender (caches, thread pools, page faults), untimed */
    for (int j = 0; j < n; j++) {
        if (!cs[j].ok) continue;
        double end = now_s() + block_s / 2;
        int it = 0;
        do cs[j].run(&cs[j]);
        while (now_s() < end && ++it < 1000);
        cooldown();
    }
    for (int r = 0; r < rounds; r++)
        for (int j = 0; j < n; j++) {
            contender *c = &cs[(j + r) % n];
            if (!c->ok) continue;
            double end = now_s() + block_s;
            int it = 0;
            do {
                double t0 = now_s();
                c->run(c);
                push(c, now_s() - t0);
                it++;
            } while ((now_s() < end || it < 3) && it < 100000);
            cooldown();
        }
}

static void report(const kase *k, int T) {
    for (int i = 0; i < ncs; i++) {
        contender *c = &cs[i];
        double med = 0, mn = 0;
        if (c->nt) {
            qsort(c->t, c->nt, sizeof(double), cmp_d);
            med = c->nt % 2 ? c->t[c->nt / 2] : 0.5 * (c->t[c->nt / 2 - 1] + c->t[c->nt / 2]);
            mn = c->t[0];
        }
        printf("{\"case\": ");
        json_str(stdout, k->tag);
        printf(", \"threads\": %d, \"group\": ", T);
        json_str(stdout, c->group);
        printf(", \"who\": ");
        json_str(stdout, c->who);
        printf(", \"median_us\": %.3f, \"min_us\": %.3f, \"n\": %d, \"ok\": %s, \"skipped\": %s, \"check\": ",
               med * 1e6, mn * 1e6, c->nt, c->ok ? "true" : "false", c->skipped ? "true" : "false");
        json_str(stdout, c->check);
        printf(", \"impl\": ");
        json_str(stdout, c->impl);
        printf("}\n");
    }
    fflush(stdout);
}

static void info(const char *key, const char *val) {
    printf("{\"info\": ");
    json_str(stdout, key);
    printf(", \"value\": ");
    json_str(stdout, val);
    printf("}\n");
}

/* ------------------------------------------------------------------ int8 roofline */

/* The per-core int8 multiply-add peak of this CPU, measured: 12 independent
 * accumulators of the best 8-bit dot instruction it has (the chain of each is
 * the instruction's latency; 12 hide it), ops = 2 per u8*s8 product. This is
 * what "% of roofline" is measured against (the 198 GOP/s is the
 * vpmaddubsw+vpmaddwd peak of a Zen 3 core, another CPU). */
#define RL_ITERS 200000
#define RL12(op, r)                                                                                                 \
    op " %0, %1, %%" r "0\n\t" op " %0, %1, %%" r "1\n\t" op " %0, %1, %%" r "2\n\t" op " %0, %1, %%" r "3\n\t"     \
    op " %0, %1, %%" r "4\n\t" op " %0, %1, %%" r "5\n\t" op " %0, %1, %%" r "6\n\t" op " %0, %1, %%" r "7\n\t"     \
    op " %0, %1, %%" r "8\n\t" op " %0, %1, %%" r "9\n\t" op " %0, %1, %%" r "10\n\t" op " %0, %1, %%" r "11\n\t"
__attribute__((target("avx512f,avx512vnni"))) static double rl_vnni512(void) {
    __m512i x = _mm512_set1_epi8(3), y = _mm512_set1_epi8(-5);
    double t0 = now_s();
    for (int it = 0; it < RL_ITERS; it++)
        __asm__ volatile(RL12("vpdpbusd", "zmm")::"v"(x), "v"(y)
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                           "xmm11");
    double t = now_s() - t0;
    return 2.0 * 64 * 12 * RL_ITERS / t / 1e9;
}
__attribute__((target("avx2,avxvnni"))) static double rl_vnni256(void) {
    __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-5);
    double t0 = now_s();
    for (int it = 0; it < RL_ITERS; it++)
        __asm__ volatile(RL12("%{vex%} vpdpbusd", "ymm")::"x"(x), "x"(y)
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                           "xmm11");
    double t = now_s() - t0;
    return 2.0 * 32 * 12 * RL_ITERS / t / 1e9;
}
/* vpmaddubsw (u8*s8 pairs -> s16) + vpmaddwd by 1 (-> s32) + vpaddd: 8 chains */
__attribute__((target("avx2"))) static double rl_maddubs256(void) {
    __m256i x = _mm256_set1_epi8(3), y = _mm256_set1_epi8(-5), one = _mm256_set1_epi16(1);
#define RLM(a, t)                                                                                                   \
    "vpmaddubsw %1, %0, %%ymm" t "\n\tvpmaddwd %2, %%ymm" t ", %%ymm" t "\n\tvpaddd %%ymm" t ", %%ymm" a           \
    ", %%ymm" a "\n\t"
    double t0 = now_s();
    for (int it = 0; it < RL_ITERS; it++)
        __asm__ volatile(RLM("0", "8") RLM("1", "9") RLM("2", "10") RLM("3", "11") RLM("4", "12") RLM("5", "8")
                             RLM("6", "9") RLM("7", "10")::"x"(x),
                         "x"(y), "x"(one)
                         : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
                           "xmm11", "xmm12");
#undef RLM
    double t = now_s() - t0;
    return 2.0 * 32 * 8 * RL_ITERS / t / 1e9;
}

/* best of 5 runs (the machine is shared: the maximum is the core's) */
static void int8_roofline(void) {
    const char *what;
    double (*f)(void);
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vnni")) f = rl_vnni512, what = "vpdpbusd zmm";
    else if (__builtin_cpu_supports("avxvnni")) f = rl_vnni256, what = "vpdpbusd ymm (AVX-VNNI)";
    else if (__builtin_cpu_supports("avx2")) f = rl_maddubs256, what = "vpmaddubsw+vpmaddwd+vpaddd ymm";
    else return;
    double best = 0;
    for (int i = 0; i < 5; i++) {
        double g = f();
        if (g > best) best = g;
    }
    char buf[160];
    snprintf(buf, sizeof buf, "%.1f", best);
    info("int8_roofline_gops", buf);
    info("int8_roofline_insn", what);
}

/* ------------------------------------------------------------------ main */

static void load_case(kase *k, const char *work) {
    char name[256];
    if (!k->conv) {
        k->nin = (size_t)k->M * k->K, k->nout = (size_t)k->M * k->N;
        snprintf(name, sizeof name, "%s_W_f32.bin", k->tag);
        k->wf = read_file(work, name, 4 * (size_t)k->K * k->N);
        snprintf(name, sizeof name, "%s_W_i8.bin", k->tag);
        k->wi = read_file(work, name, (size_t)k->K * k->N);
    } else {
        k->M = k->H * k->W, k->N = k->Ko, k->K = k->C * k->R * k->R;
        k->nin = (size_t)k->C * k->H * k->W, k->nout = (size_t)k->Ko * k->H * k->W;
        size_t nw = (size_t)k->Ko * k->C * k->R * k->R;
        snprintf(name, sizeof name, "%s_W_f32.bin", k->tag);
        k->wf = read_file(work, name, 4 * nw);
        snprintf(name, sizeof name, "%s_W_i8.bin", k->tag);
        k->wi = read_file(work, name, nw);
        snprintf(name, sizeof name, "%s_b_f32.bin", k->tag);
        k->bias = read_file(work, name, 4 * (size_t)k->Ko);
    }
    k->x = xmalloc(4 * k->nin);
    k->au8 = xmalloc(k->nin);
    k->as8 = xmalloc(k->nin);
    for (size_t i = 0; i < k->nin; i++) {
        k->x[i] = rndf();
        k->au8[i] = (uint8_t)rnd();
        k->as8[i] = (int8_t)rnd();
    }
    make_refs(k);
}

static void set_threads(int T) {
#ifdef HAVE_DNNL
    omp_set_num_threads(T);
#endif
#ifdef HAVE_OPENBLAS
    openblas_set_num_threads(T);
#endif
#ifdef HAVE_XNNPACK
    if (g_pool) pthreadpool_destroy(g_pool);
    g_pool = T > 1 ? pthreadpool_create(T) : NULL;
#endif
}

static void setup_case(const kase *k, int T) {
    ncs = 0;
    if (!k->conv) {
        add_qkc(k, QK_F32, "fp32", "qkc", "f32", T);
#ifdef HAVE_DNNL
        add_dnnl_matmul(k, "fp32", "oneDNN", dnnl_f32, dnnl_f32, dnnl_f32);
#endif
#ifdef HAVE_OPENBLAS
        add_blas_gemm(k, 0, 0);
        if (k->M == 1) add_blas_gemm(k, 1, 0), add_blas_gemm(k, 1, 1);
#endif
#ifdef HAVE_XNNPACK
        add_xnn_fc(k, 0);
#endif
        add_qkc(k, QK_F16, "fp16", "qkc", "f16", T);
#ifdef HAVE_DNNL
        add_dnnl_matmul(k, "fp16", "oneDNN", dnnl_f16, dnnl_f16, dnnl_f16);
#endif
        add_qkc(k, QK_BF16, "bf16", "qkc", "bf16", T);
#ifdef HAVE_DNNL
        add_dnnl_matmul(k, "bf16", "oneDNN", dnnl_bf16, dnnl_bf16, dnnl_bf16);
#endif
#ifdef HAVE_XNNPACK
        add_xnn_fc(k, 1);
#endif
        add_qkc(k, QK_MMI_U8, "u8s8s32", "qkc", "mmi", T);
#ifdef HAVE_DNNL
        add_dnnl_matmul(k, "u8s8s32", "oneDNN", dnnl_u8, dnnl_s8, dnnl_s32);
#endif
        add_qkc(k, QK_MMI_S8, "s8s8s32", "qkc", "mmi_s8", T);
#ifdef HAVE_DNNL
        add_dnnl_matmul(k, "s8s8s32", "oneDNN", dnnl_s8, dnnl_s8, dnnl_s32);
#endif
        add_qkc(k, QK_QLM, "int8-q8", "qkc QLinearMatMul", "qlm", T);
        add_qkc(k, QK_PTQ8, "int8-q8", "qkc PTQ --io int8", "ptq8", T);
        add_qkc(k, QK_PTQ8, "int8-q8", "qkc PTQ w7 --io int8", "ptq8w7", T);
#ifdef HAVE_XNNPACK
        add_xnn_fc(k, 2);
#endif
        add_qkc(k, QK_PTQ, "int8-f32io", "qkc PTQ", "ptq", T);
    } else {
        add_qkc(k, QK_F32, "fp32", "qkc", "f32", T);
#ifdef HAVE_DNNL
        add_dnnl_conv(k, "fp32", "oneDNN", 0);
#endif
#ifdef HAVE_OPENBLAS
        add_blas_conv(k);
#endif
#ifdef HAVE_XNNPACK
        add_xnn_conv(k, 0);
#endif
        add_qkc(k, QK_F16, "fp16", "qkc", "f16", T);
#ifdef HAVE_XNNPACK
        add_xnn_conv(k, 1);
#endif
        add_qkc(k, QK_BF16, "bf16", "qkc", "bf16", T);
        add_qkc(k, QK_MMI_U8, "u8s8s32", "qkc", "ci", T);
#ifdef HAVE_DNNL
        add_dnnl_conv(k, "u8s8s32", "oneDNN", 1);
#endif
        add_qkc(k, QK_PTQ8, "int8-q8", "qkc PTQ --io int8", "ptq8", T);
        add_qkc(k, QK_PTQ8, "int8-q8", "qkc PTQ w7 --io int8", "ptq8w7", T);
#ifdef HAVE_XNNPACK
        add_xnn_conv(k, 2);
#endif
        add_qkc(k, QK_PTQ, "int8-f32io", "qkc PTQ", "ptq", T);
    }
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: gemm_peers WORKDIR [--threads 1,2] [--rounds R] [--block-ms B] [--only TAG]\n");
        return 2;
    }
    const char *work = argv[1], *only = NULL;
    char threads[64] = "1,2";
    int rounds = 5;
    double block_ms = 40;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) snprintf(threads, sizeof threads, "%s", argv[++i]);
        else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--block-ms") && i + 1 < argc) block_ms = atof(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc) only = argv[++i];
        else if (!strcmp(argv[i], "--cooldown-ms") && i + 1 < argc) g_cooldown_s = atof(argv[++i]) * 1e-3;
        else {
            fprintf(stderr, "gemm_peers: unknown argument %s\n", argv[i]);
            return 2;
        }
    }
    static char art[4096];
    snprintf(art, sizeof art, "%s/art", work);
    g_art = art;

    char buf[512];
#ifdef HAVE_DNNL
    const dnnl_version_t *v = dnnl_version();
    snprintf(buf, sizeof buf, "%d.%d.%d (%s runtime)", v->major, v->minor, v->patch,
             v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other");
    info("oneDNN", buf);
    if (dnnl_engine_create(&g_eng, dnnl_cpu, 0) != dnnl_success || dnnl_stream_create(&g_strm, g_eng, dnnl_stream_default_flags) != dnnl_success) {
        fprintf(stderr, "gemm_peers: oneDNN engine creation failed\n");
        return 2;
    }
#else
    info("oneDNN", "not built in");
#endif
#ifdef HAVE_OPENBLAS
    snprintf(buf, sizeof buf, "%s; core %s", openblas_get_config(), openblas_get_corename());
    info("OpenBLAS", buf);
#else
    info("OpenBLAS", "not built in");
#endif
#ifdef HAVE_XNNPACK
    if (xnn_initialize(NULL) != xnn_status_success) {
        fprintf(stderr, "gemm_peers: xnn_initialize failed\n");
        return 2;
    }
    info("XNNPACK", "initialized");
#else
    info("XNNPACK", "not built in");
#endif

    int8_roofline();

    char path[4096];
    snprintf(path, sizeof path, "%s/cases.txt", work);
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "gemm_peers: %s: %s (run bench/make_models.py first)\n", path, strerror(errno));
        return 2;
    }
    char line[512];
    while (fgets(line, sizeof line, f)) {
        kase k;
        memset(&k, 0, sizeof k);
        char kind[16];
        if (sscanf(line, "%15s", kind) != 1) continue;
        if (!strcmp(kind, "gemm")) {
            if (sscanf(line, "%*s %63s %d %d %d %lf %lf %lf %d", k.tag, &k.M, &k.N, &k.K, &k.qlm_a_s, &k.qlm_b_s,
                       &k.qlm_y_s, &k.qlm_y_zp) != 8)
                continue;
        } else if (!strcmp(kind, "conv")) {
            k.conv = 1;
            if (sscanf(line, "%*s %63s %d %d %d %d %d", k.tag, &k.C, &k.Ko, &k.H, &k.W, &k.R) != 6) continue;
        } else
            continue;
        if (only && strcmp(only, k.tag)) continue;
        load_case(&k, work);
        char tl[64];
        snprintf(tl, sizeof tl, "%s", threads);
        for (char *tok = strtok(tl, ","); tok; tok = strtok(NULL, ",")) {
            int T = atoi(tok);
            if (T < 1) continue;
            set_threads(T);
            g_threads = T;
            setup_case(&k, T);
            time_all(rounds, block_ms * 1e-3);
            report(&k, T);
            for (int i = 0; i < ncs; i++) {
                if (cs[i].fini && (cs[i].ok || cs[i].run)) cs[i].fini(&cs[i]);
                free(cs[i].t);
            }
        }
        free(k.x), free(k.wf), free(k.wi), free(k.au8), free(k.as8), free(k.ref), free(k.ref_u8), free(k.ref_s8),
            free(k.bias);
    }
    fclose(f);
    return 0;
}

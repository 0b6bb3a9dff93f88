/* interp_nn.c — reference semantics of the network ops: MatMul, Gemm, Conv,
 * MaxPool, AveragePool, GlobalAveragePool, Softmax, BatchNormalization.
 *
 * Floats only (plus i8/u8 for MaxPool). Sums are accumulated in double in
 * increasing index order, the fused activation is applied to the double,
 * and each result is rounded once to the output dtype. Windows (Conv and the
 * pools) are walked with up to 3 spatial dims; fewer are padded with trailing
 * dims of size 1, which leaves every row-major flat index unchanged. */
#include "interp_impl.h"
#include "oprules.h"

#include <math.h>
#include <stdlib.h>

static bool floats(const Node *n, const Tensor *y, const Tensor *const *in, int nin, Diag *d)
{
    if (!dtype_is_float(y->dtype))
        return diag_error(d, n->loc, "%s: dtype %s not supported", op_info[n->op].name, dtype_name(y->dtype));
    for (int k = 0; k < nin; k++)
        if (in[k] && in[k]->dtype != y->dtype)
            return diag_error(d, n->loc, "%s: input %d is %s, output %s", op_info[n->op].name, k,
                              dtype_name(in[k]->dtype), dtype_name(y->dtype));
    return true;
}

static bool bad_shape(const Node *n, const char *what, const Shape *s, Diag *d)
{
    char b[96];
    return diag_error(d, n->loc, "%s: %s has shape %s", op_info[n->op].name, what, shape_str(s, b, sizeof b));
}

static double act(const Node *n, double x) { return interp_act(n->a.act, n->a.act_alpha, n->a.act_beta, x); }

/* ---- MatMul and Gemm ---------------------------------------------------- */

/* A [M,K] and B [K,N] as doubles (element (m,k) of A at a_off + m*sam +
 * k*sak, (k,j) of B at b_off + k*sbk + j*sbn), A row-major and B
 * transposed, so the k loop of every product sum is unit-stride. The sums
 * are the same double operations in the same order as reading the tensors
 * element by element: only faster (calibration runs the interpreter). */
typedef struct Dense {
    double *a, *bt;
} Dense;

static bool dense_a(Dense *dn, const Tensor *a, int64_t off, int64_t M, int64_t K, int64_t sam, int64_t sak)
{
    if (!dn->a && !(dn->a = malloc(sizeof(double) * (size_t)(M * K > 0 ? M * K : 1))))
        return false;
    for (int64_t m = 0; m < M; m++)
        for (int64_t k = 0; k < K; k++)
            dn->a[m * K + k] = interp_ldf(a, off + m * sam + k * sak);
    return true;
}

static bool dense_b(Dense *dn, const Tensor *b, int64_t off, int64_t K, int64_t N, int64_t sbk, int64_t sbn)
{
    if (!dn->bt && !(dn->bt = malloc(sizeof(double) * (size_t)(K * N > 0 ? K * N : 1))))
        return false;
    for (int64_t j = 0; j < N; j++)
        for (int64_t k = 0; k < K; k++)
            dn->bt[j * K + k] = interp_ldf(b, off + k * sbk + j * sbn);
    return true;
}

static double dense_dot(const Dense *dn, int64_t m, int64_t j, int64_t K)
{
    const double *x = dn->a + m * K, *w = dn->bt + j * K;
    double acc = 0;
    for (int64_t k = 0; k < K; k++)
        acc += x[k] * w[k];
    return acc;
}

static void dense_free(Dense *dn)
{
    free(dn->a);
    free(dn->bt);
}

bool interp_matmul(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *a = in[0], *b = in[1], *bias = in[2];
    Tensor *y = out[0];
    if (!floats(n, y, in, 3, d))
        return false;
    int ra = a->shape.rank, rb = b->shape.rank;
    if (ra < 1 || rb < 1)
        return bad_shape(n, ra < 1 ? "input 0" : "input 1", ra < 1 ? &a->shape : &b->shape, d);
    /* numpy: a 1-D a is [1,K], a 1-D b is [K,1], and the added dim is dropped */
    int64_t M = ra >= 2 ? a->shape.d[ra - 2] : 1, K = a->shape.d[ra - 1];
    int64_t Kb = rb >= 2 ? b->shape.d[rb - 2] : b->shape.d[0], N = rb >= 2 ? b->shape.d[rb - 1] : 1;
    Shape ba = {.rank = ra > 2 ? ra - 2 : 0}, bb = {.rank = rb > 2 ? rb - 2 : 0}, bs, want;
    for (int k = 0; k < ba.rank; k++)
        ba.d[k] = a->shape.d[k];
    for (int k = 0; k < bb.rank; k++)
        bb.d[k] = b->shape.d[k];
    if (K != Kb || !shape_broadcast(&ba, &bb, &bs))
        return bad_shape(n, "input 1 (does not match input 0)", &b->shape, d);
    want = bs;
    if (ra >= 2)
        want.d[want.rank++] = M;
    if (rb >= 2)
        want.d[want.rank++] = N;
    if (!shape_eq(&want, &y->shape))
        return bad_shape(n, "the output", &y->shape, d);
    if (bias && (bias->shape.rank != 1 || bias->shape.d[0] != N))
        return bad_shape(n, "the bias", &bias->shape, d);

    int64_t sa[QK_MAX_RANK], sb[QK_MAX_RANK], nb = 1;
    interp_bcast_strides(&ba, &bs, sa);
    interp_bcast_strides(&bb, &bs, sb);
    for (int k = 0; k < bs.rank; k++)
        nb *= bs.d[k];
    Dense dn = {0};
    int64_t last_ob = -1;
    for (int64_t bi = 0; bi < nb; bi++) {
        int64_t oa = interp_bcast_index(bi, &bs, sa) * M * K, ob = interp_bcast_index(bi, &bs, sb) * K * N;
        if (!dense_a(&dn, a, oa, M, K, K, 1) || (ob != last_ob && !dense_b(&dn, b, ob, K, N, N, 1))) {
            dense_free(&dn);
            return diag_error(d, n->loc, "out of memory");
        }
        last_ob = ob;
        for (int64_t m = 0; m < M; m++)
            for (int64_t j = 0; j < N; j++) {
                double acc = dense_dot(&dn, m, j, K);
                if (bias)
                    acc += interp_ldf(bias, j);
                interp_stf_once(y, (bi * M + m) * N + j, act(n, acc));
            }
    }
    dense_free(&dn);
    return true;
}

bool interp_gemm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *a = in[0], *b = in[1], *c = in[2];
    Tensor *y = out[0];
    if (!floats(n, y, in, 3, d))
        return false;
    if (a->shape.rank != 2)
        return bad_shape(n, "input 0", &a->shape, d);
    if (b->shape.rank != 2)
        return bad_shape(n, "input 1", &b->shape, d);
    int ta = n->a.trans_a, tb = n->a.trans_b;
    int64_t M = a->shape.d[ta ? 1 : 0], K = a->shape.d[ta ? 0 : 1];
    int64_t Kb = b->shape.d[tb ? 1 : 0], N = b->shape.d[tb ? 0 : 1];
    Shape mn = {2, {M, N}}, cs;
    if (K != Kb)
        return bad_shape(n, "input 1 (does not match input 0)", &b->shape, d);
    if (!shape_eq(&y->shape, &mn))
        return bad_shape(n, "the output", &y->shape, d);
    int64_t stc[2] = {0, 0};
    if (c) { /* unidirectional broadcast of c to [M,N] */
        if (c->shape.rank > 2 || !shape_broadcast(&c->shape, &mn, &cs) || !shape_eq(&cs, &mn))
            return bad_shape(n, "input 2", &c->shape, d);
        interp_bcast_strides(&c->shape, &mn, stc);
    }
    Dense dn = {0};
    if (!dense_a(&dn, a, 0, M, K, ta ? 1 : K, ta ? M : 1) || !dense_b(&dn, b, 0, K, N, tb ? 1 : N, tb ? K : 1)) {
        dense_free(&dn);
        return diag_error(d, n->loc, "out of memory");
    }
    for (int64_t m = 0; m < M; m++)
        for (int64_t j = 0; j < N; j++) {
            double acc = dense_dot(&dn, m, j, K);
            acc *= n->a.alpha;
            if (c)
                acc += (double)n->a.beta * interp_ldf(c, m * stc[0] + j * stc[1]);
            interp_stf_once(y, m * N + j, act(n, acc));
        }
    dense_free(&dn);
    return true;
}

/* ---- windows ------------------------------------------------------------ */

/* Input position of tap t of output position o along spatial dim i. */
static int64_t tap(const Win *w, int i, int64_t o, int64_t t) { return o * w->st[i] - w->pb[i] + t * w->dl[i]; }

void interp_unflat(int64_t f, const int64_t *dims, int64_t *ix)
{
    ix[2] = f % dims[2];
    f /= dims[2];
    ix[1] = f % dims[1];
    ix[0] = f / dims[1];
}

bool interp_inside(const Win *w, const int64_t *o, const int64_t *t, int64_t *p)
{
    for (int i = 0; i < 3; i++) {
        p[i] = tap(w, i, o[i], t[i]);
        if (p[i] < 0 || p[i] >= w->in[i])
            return false;
    }
    return true;
}

bool interp_window(const Node *n, const Tensor *x, const Tensor *y, const int64_t *kernel, Win *w, Diag *d)
{
    int nsp = x->shape.rank - 2;
    if (nsp < 1 || nsp > 3 || y->shape.rank != x->shape.rank || y->shape.d[0] != x->shape.d[0])
        return bad_shape(n, "input 0", &x->shape, d);
    if (n->a.nsp != nsp)
        return diag_error(d, n->loc, "%s: nsp %d for %d spatial dims", op_info[n->op].name, n->a.nsp, nsp);
    *w = (Win){nsp, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {1, 1, 1}, {0}, {0}};
    for (int i = 0; i < nsp; i++) {
        w->in[i] = x->shape.d[2 + i];
        w->out[i] = y->shape.d[2 + i];
        w->k[i] = kernel[i];
        w->st[i] = n->a.strides[i];
        w->dl[i] = n->a.dilations[i];
        w->pb[i] = n->a.pads[i];
        w->pe[i] = n->a.pads[nsp + i];
        /* the farthest tap must not overflow int64, and a window must fit
         * the padded input (else the output would have no position) */
        int64_t last, span, padded;
        if (w->k[i] < 1 || w->st[i] < 1 || w->dl[i] < 1 || w->pb[i] < 0 || w->pe[i] < 0 ||
            !checked_mul(w->out[i], w->st[i], &last) || !checked_mul(w->k[i] - 1, w->dl[i], &span) ||
            !checked_add(last, span, &last) || !checked_add(w->in[i], w->pe[i], &padded) ||
            !checked_add(padded, w->pb[i], &padded) || (w->out[i] > 0 && span + 1 > padded))
            return diag_error(d, n->loc,
                              "%s: bad window on dim %d: kernel %lld, stride %lld, dilation %lld, pads %lld %lld",
                              op_info[n->op].name, i, (long long)w->k[i], (long long)w->st[i],
                              (long long)w->dl[i], (long long)w->pb[i], (long long)w->pe[i]);
    }
    return true;
}

/* ---- Conv --------------------------------------------------------------- */

bool interp_conv(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0], *wt = in[1], *bias = in[2];
    Tensor *y = out[0];
    Win w;
    if (!floats(n, y, in, 3, d))
        return false;
    if (wt->shape.rank != x->shape.rank)
        return bad_shape(n, "the weight", &wt->shape, d);
    if (!interp_window(n, x, y, wt->shape.d + 2, &w, d))
        return false;
    int64_t C = x->shape.d[1], M = wt->shape.d[0], G = n->a.group;
    if (G < 1 || C % G || M % G)
        return diag_error(d, n->loc, "Conv: group %lld does not divide %lld input and %lld output channels",
                          (long long)G, (long long)C, (long long)M);
    int64_t Cg = C / G, Mg = M / G;
    if (wt->shape.d[1] != Cg)
        return bad_shape(n, "the weight", &wt->shape, d);
    if (y->shape.d[1] != M)
        return bad_shape(n, "the output", &y->shape, d);
    if (bias && (bias->shape.rank != 1 || bias->shape.d[0] != M))
        return bad_shape(n, "the bias", &bias->shape, d);

    int64_t nout = w.out[0] * w.out[1] * w.out[2], ntap = w.k[0] * w.k[1] * w.k[2], yi = 0;
    for (int64_t b = 0; b < x->shape.d[0]; b++)
        for (int64_t m = 0; m < M; m++)
            for (int64_t op = 0; op < nout; op++, yi++) {
                int64_t o[3], t[3], p[3];
                interp_unflat(op, w.out, o);
                double acc = 0;
                for (int64_t c = 0; c < Cg; c++) {
                    int64_t xc = b * C + m / Mg * Cg + c; /* input channel c of m's group */
                    for (int64_t tp = 0; tp < ntap; tp++) {
                        interp_unflat(tp, w.k, t);
                        if (!interp_inside(&w, o, t, p))
                            continue; /* zero padding */
                        int64_t xi = ((xc * w.in[0] + p[0]) * w.in[1] + p[1]) * w.in[2] + p[2];
                        acc += interp_ldf(x, xi) * interp_ldf(wt, (m * Cg + c) * ntap + tp);
                    }
                }
                if (bias)
                    acc += interp_ldf(bias, m);
                interp_stf_once(y, yi, act(n, acc));
            }
    return true;
}

/* ---- MaxPool and AveragePool -------------------------------------------- */

/* Taps along dim i of output position o that fall in [lo, hi). */
static int64_t taps_in(const Win *w, int i, int64_t o, int64_t lo, int64_t hi)
{
    int64_t c = 0;
    for (int64_t t = 0; t < w->k[i]; t++)
        c += tap(w, i, o, t) >= lo && tap(w, i, o, t) < hi;
    return c;
}

/* MaxPool: the max over the window's input positions; padded positions and
 * positions past the input (ceil_mode overhang) never take part. NaNs are
 * skipped as onnxruntime and the ONNX generators do (a window of NaNs only
 * gives NaN). Ties keep the first position in row-major window order.
 * Indices: (n*C + c)*H*W + h*W + w (storage_order 0), or
 * (n*C + c)*H*W + h + w*H (storage_order 1: column-major inside the image,
 * as onnxruntime and test_maxpool_with_argmax_2d_precomputed_strides). A
 * window with no input position (only if pads >= kernel) gives the lowest
 * value and index -1.
 *
 * AveragePool: the sum over input positions divided by their count
 * (count_include_pad 0), or by the count of taps inside the padded input
 * [-pad_begin, size + pad_end) (count_include_pad 1): ceil_mode overhang past
 * the end pad is never counted (onnxruntime, onnx.reference, PyTorch). */
bool interp_pool(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0], *idx = n->op == OP_MAXPOOL ? out[1] : NULL;
    bool isint = x->dtype == DT_I8 || x->dtype == DT_U8;
    Win w;
    if (isint && n->op == OP_MAXPOOL) {
        if (y->dtype != x->dtype)
            return diag_error(d, n->loc, "MaxPool: input is %s, output %s", dtype_name(x->dtype),
                              dtype_name(y->dtype));
    } else if (!floats(n, y, in, 1, d)) {
        return false;
    }
    if (!interp_window(n, x, y, n->a.kernel, &w, d))
        return false;
    if (y->shape.d[1] != x->shape.d[1])
        return bad_shape(n, "the output", &y->shape, d);
    if (idx && (idx->dtype != DT_I64 || !shape_eq(&idx->shape, &y->shape)))
        return bad_shape(n, "output 1 (i64 indices)", &idx->shape, d);

    int64_t NC = x->shape.d[0] * x->shape.d[1], plane = w.in[0] * w.in[1] * w.in[2];
    int64_t nout = w.out[0] * w.out[1] * w.out[2], ntap = w.k[0] * w.k[1] * w.k[2], yi = 0;
    for (int64_t nc = 0; nc < NC; nc++)
        for (int64_t op = 0; op < nout; op++, yi++) {
            int64_t o[3], t[3], p[3], arg = -1, nanarg = -1;
            double best = 0, sum = 0;
            interp_unflat(op, w.out, o);
            for (int64_t tp = 0; tp < ntap; tp++) {
                interp_unflat(tp, w.k, t);
                if (!interp_inside(&w, o, t, p))
                    continue;
                int64_t xi = nc * plane + (p[0] * w.in[1] + p[1]) * w.in[2] + p[2];
                int64_t at = n->a.storage_order ? nc * plane + p[0] + (p[1] + p[2] * w.in[1]) * w.in[0] : xi;
                double v = isint ? (double)interp_ldi(x, xi) : interp_ldf(x, xi);
                sum += v;
                if (isnan(v))
                    nanarg = nanarg < 0 ? at : nanarg;
                else if (arg < 0 || v > best) {
                    best = v;
                    arg = at;
                }
            }
            if (n->op == OP_AVGPOOL) {
                int64_t cnt = 1;
                for (int i = 0; i < 3; i++)
                    cnt *= n->a.count_include_pad ? taps_in(&w, i, o[i], -w.pb[i], w.in[i] + w.pe[i])
                                                  : taps_in(&w, i, o[i], 0, w.in[i]);
                interp_stf_once(y, yi, cnt ? sum / (double)cnt : NAN);
                continue;
            }
            if (arg < 0 && nanarg >= 0) {
                best = NAN;
                arg = nanarg;
            } else if (arg < 0) {
                best = isint ? (x->dtype == DT_I8 ? -128 : 0) : -INFINITY;
            }
            if (isint)
                interp_stu(y, yi, (uint64_t)(int64_t)best);
            else
                interp_stf_once(y, yi, best);
            if (idx)
                ((int64_t *)idx->data)[yi] = arg;
        }
    return true;
}

/* GlobalAveragePool (floats) and GlobalMaxPool (floats and 8-bit integers:
 * NaN wins, as Max). */
bool interp_gpool(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    bool mx = n->op == OP_GLOBAL_MAXPOOL;
    if (!mx && !floats(n, y, in, 1, d))
        return false;
    if (x->shape.rank < 2)
        return bad_shape(n, "input 0", &x->shape, d);
    int64_t NC = x->shape.d[0] * x->shape.d[1], plane = 1;
    for (int k = 2; k < x->shape.rank; k++)
        plane *= x->shape.d[k];
    if (y->shape.rank != x->shape.rank || y->shape.d[0] != x->shape.d[0] || y->shape.d[1] != x->shape.d[1] ||
        tensor_numel(y) != NC)
        return bad_shape(n, "the output", &y->shape, d);
    for (int64_t nc = 0; nc < NC && mx; nc++) {
        if (dtype_is_float(x->dtype)) {
            double m = -INFINITY;
            for (int64_t i = 0; i < plane; i++) {
                double v = interp_ldf(x, nc * plane + i);
                m = isnan(v) || isnan(m) ? NAN : v > m ? v : m;
            }
            interp_stf(y, nc, m);
        } else {
            int64_t m = INT64_MIN;
            for (int64_t i = 0; i < plane; i++)
                m = interp_ldi(x, nc * plane + i) > m ? interp_ldi(x, nc * plane + i) : m;
            interp_stu(y, nc, (uint64_t)m);
        }
    }
    for (int64_t nc = 0; nc < NC && !mx; nc++) {
        double sum = 0;
        for (int64_t i = 0; i < plane; i++)
            sum += interp_ldf(x, nc * plane + i);
        interp_stf_once(y, nc, plane ? sum / (double)plane : NAN);
    }
    return true;
}

/* ---- Softmax ------------------------------------------------------------ */

/* For each index of the dims outside [axis, axis2): y = exp(x - max) / sum
 * over the dims inside, jointly. A NaN in a slice makes the slice NaN. */
bool interp_softmax(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    int r = x->shape.rank;
    int64_t ax = n->a.axis, ax2 = n->a.axis2;
    if (!floats(n, y, in, 1, d))
        return false;
    if (!shape_eq(&x->shape, &y->shape))
        return bad_shape(n, "the output", &y->shape, d);
    if (ax < 0 || ax > ax2 || ax2 > r)
        return diag_error(d, n->loc, "Softmax: dims [%lld, %lld) out of range for rank %d", (long long)ax,
                          (long long)ax2, r);
    int64_t outer = 1, mid = 1, inner = 1;
    for (int k = 0; k < r; k++) {
        if (k < ax)
            outer *= x->shape.d[k];
        else if (k < ax2)
            mid *= x->shape.d[k];
        else
            inner *= x->shape.d[k];
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < inner; i++) {
            int64_t base = o * mid * inner + i;
            double mx = -INFINITY, sum = 0;
            for (int64_t j = 0; j < mid; j++) {
                double v = interp_ldf(x, base + j * inner);
                mx = isnan(v) || v > mx ? v : mx; /* once NaN, stays NaN */
            }
            if (n->op == OP_HARDMAX) { /* 1 at the first maximum; a NaN is the maximum (np.argmax) */
                int64_t at = -1;
                for (int64_t j = 0; j < mid && at < 0; j++)
                    if (interp_ldf(x, base + j * inner) == mx || isnan(interp_ldf(x, base + j * inner)))
                        at = j;
                for (int64_t j = 0; j < mid; j++)
                    interp_stf(y, base + j * inner, j == at ? 1.0 : 0.0);
                continue;
            }
            for (int64_t j = 0; j < mid; j++)
                sum += exp(interp_ldf(x, base + j * inner) - mx);
            for (int64_t j = 0; j < mid; j++) {
                double v = interp_ldf(x, base + j * inner) - mx;
                interp_stf_once(y, base + j * inner, n->op == OP_LOG_SOFTMAX ? v - log(sum) : exp(v) / sum);
            }
        }
    return true;
}

/* ---- BatchNormalization ------------------------------------------------- */

/* y = (x - mean[c]) / sqrt(var[c] + eps) * scale[c] + b[c]. In training mode
 * mean and var are the batch's (over every dim but 1; population variance),
 * and outputs 1 and 2 (optional) are the running statistics
 * input_mean * momentum + batch_mean * (1 - momentum), and the same for var
 * (ONNX 1.12 generator _batchnorm_training_mode: np.var, i.e. population). */
bool interp_batchnorm(const Node *n, const Tensor *const *in, Tensor *const *out, Diag *d)
{
    const Tensor *x = in[0];
    Tensor *y = out[0];
    if (!floats(n, y, in, 1, d))
        return false;
    if (x->shape.rank < 2 || !shape_eq(&x->shape, &y->shape))
        return bad_shape(n, "input 0", &x->shape, d);
    int64_t N = x->shape.d[0], C = x->shape.d[1], plane = 1;
    for (int k = 2; k < x->shape.rank; k++)
        plane *= x->shape.d[k];
    for (int k = 1; k < 5; k++) {
        if (!dtype_is_float(in[k]->dtype))
            return diag_error(d, n->loc, "BatchNormalization: input %d dtype %s not supported", k,
                              dtype_name(in[k]->dtype));
        if (in[k]->shape.rank != 1 || in[k]->shape.d[0] != C)
            return bad_shape(n, "a per-channel input", &in[k]->shape, d);
    }
    for (int k = 1; k < 3; k++) {
        if (!out[k])
            continue;
        if (!n->a.training)
            return diag_error(d, n->loc, "BatchNormalization: output %d exists only in training mode", k);
        if (!dtype_is_float(out[k]->dtype) || out[k]->shape.rank != 1 || out[k]->shape.d[0] != C)
            return bad_shape(n, "a running-statistics output", &out[k]->shape, d);
    }
    double eps = n->a.eps, mom = n->a.momentum;
    for (int64_t c = 0; c < C; c++) {
        double mean = interp_ldf(in[3], c), var = interp_ldf(in[4], c);
        if (n->a.training) {
            double cnt = (double)(N * plane), s = 0, ss = 0;
            for (int64_t b = 0; b < N; b++)
                for (int64_t i = 0; i < plane; i++)
                    s += interp_ldf(x, (b * C + c) * plane + i);
            double bm = s / cnt;
            for (int64_t b = 0; b < N; b++)
                for (int64_t i = 0; i < plane; i++) {
                    double e = interp_ldf(x, (b * C + c) * plane + i) - bm;
                    ss += e * e;
                }
            double bv = ss / cnt;
            if (out[1])
                interp_stf_once(out[1], c, mean * mom + bm * (1 - mom));
            if (out[2])
                interp_stf_once(out[2], c, var * mom + bv * (1 - mom));
            mean = bm;
            var = bv;
        }
        double scale = interp_ldf(in[1], c), bias = interp_ldf(in[2], c), den = sqrt(var + eps);
        for (int64_t b = 0; b < N; b++)
            for (int64_t i = 0; i < plane; i++) {
                int64_t xi = (b * C + c) * plane + i;
                interp_stf_once(y, xi, (interp_ldf(x, xi) - mean) / den * scale + bias);
            }
    }
    return true;
}

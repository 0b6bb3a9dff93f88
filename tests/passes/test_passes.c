/* test_passes.c — each pass on small graphs written in the text syntax:
 * the structure it must leave (which nodes, which attributes), ir_verify
 * after every pass, and the interpreter's results before and after the
 * whole pipeline (a rewrite must not change what the model computes). */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

static Graph *load(const char *src, Diag *d)
{
    ModelFile mf;
    memset(&mf, 0, sizeof mf);
    Graph *g = NULL;
    if (text_parse_model("p.onnxtxt", src, strlen(src), &mf, d)) {
        mf.path = "p.onnxtxt";
        g = onnx_import(&mf, NULL, d);
    }
    model_file_free(&mf);
    if (!g)
        fail_msg("import failed:\n%s", d->buf ? d->buf : "");
    return g;
}

/* Run the pipeline with verification through `stop` (NULL: all). */
static void run_to(Graph *g, const char *stop, Diag *d)
{
    PassCtx pc = {.d = d, .verify = true};
    if (!passes_run(g, &pc, stop))
        fail_msg("passes failed:\n%s", d->buf ? d->buf : "");
}

static uint64_t rng = 88172645463325252ull;
static float frand(void)
{
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2 - 1;
}

/* Interpreter outputs of `src` with and without the passes agree. */
static void same_results(const char *src, int64_t batch)
{
    Diag d;
    diag_init(&d, NULL);
    Graph *ref = load(src, &d), *opt = load(src, &d);
    run_to(ref, "shape", &d);
    run_to(opt, NULL, &d);
    Tensor in[8], out_ref[8], out_opt[8];
    assert_true(ref->ninputs <= 8 && ref->noutputs <= 8);
    for (int i = 0; i < ref->ninputs; i++) {
        Shape s = shape_at(&ref->inputs[i]->shape, batch);
        assert_true(tensor_alloc(&in[i], ref->inputs[i]->dtype, &s));
        float *p = in[i].data;
        for (int64_t k = 0; k < tensor_numel(&in[i]); k++)
            p[k] = frand() * 3;
    }
    if (!interp_run(ref, batch, in, out_ref, &d) || !interp_run(opt, batch, in, out_opt, &d))
        fail_msg("interp: %s", d.buf ? d.buf : "");
    for (int i = 0; i < ref->noutputs; i++) {
        assert_true(shape_eq(&out_ref[i].shape, &out_opt[i].shape));
        const float *a = out_ref[i].data, *b = out_opt[i].data;
        double mx = 0;
        for (int64_t k = 0; k < tensor_numel(&out_ref[i]); k++)
            mx = fmax(mx, fabs(a[k]));
        for (int64_t k = 0; k < tensor_numel(&out_ref[i]); k++)
            if (fabs(a[k] - b[k]) > 1e-5 * (fabs(a[k]) + mx))
                fail_msg("output %d element %lld: %.9g before the passes, %.9g after", i, (long long)k, a[k], b[k]);
        tensor_free(&out_ref[i]);
        tensor_free(&out_opt[i]);
    }
    for (int i = 0; i < ref->ninputs; i++)
        tensor_free(&in[i]);
    ir_graph_free(ref);
    ir_graph_free(opt);
    diag_fini(&d);
}

static char *print(const Graph *g)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print(g, f);
    fclose(f);
    return buf;
}

static const char *conv_bn_relu =
    "<ir_version: 7, opset_import: [\"\" : 13]>\n"
    "g (float[N,2,5,5] x) => (float[N,3,5,5] y)\n"
    "<float[3,2,3,3] w = {0.1,-0.2,0.3,0.05,0.4,-0.1,0.2,0.3,-0.3, 0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,"
    " -0.1,-0.2,-0.3,-0.4,-0.5,-0.6,-0.7,-0.8,-0.9, 0.3,0.1,-0.2,0.05,0.4,-0.1,0.2,0.3,-0.3,"
    " 0.2,0.2,0.2,0.1,0.1,0.1,0.3,0.3,0.3, -0.5,0.25,0.125,0.0625,0.4,-0.1,0.2,0.3,-0.3},"
    " float[3] s = {1.5, 0.5, -2.0}, float[3] b = {0.1, -0.2, 0.3}, float[3] m = {0.05, -0.1, 0.2},"
    " float[3] v = {0.9, 1.1, 0.25}>\n"
    "{\n"
    "  c = Conv<pads = [1, 1, 1, 1]>(x, w)\n"
    "  n = BatchNormalization<epsilon = 0.001>(c, s, b, m, v)\n"
    "  y = Relu(n)\n"
    "}\n";

static void test_bn_fold_and_fuse(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(conv_bn_relu, &d);
    run_to(g, "bn-fold", &d);
    assert_int_equal(g->nnodes, 2); /* Conv (with a bias) + Relu */
    assert_int_equal(g->nodes[0]->op, OP_CONV);
    assert_int_equal(g->nodes[0]->nin, 3);
    run_to(g, "fuse", &d); /* runs the pipeline again from the start: idempotent */
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0]->op, OP_CONV);
    assert_int_equal(g->nodes[0]->a.act, ACT_RELU);
    assert_string_equal(g->nodes[0]->out[0]->name, "y"); /* the graph output keeps its name */
    char *text = print(g);
    assert_non_null(strstr(text, "= Conv(%x, %w_bn, %"));
    assert_non_null(strstr(text, "act=relu"));
    free(text);
    ir_graph_free(g);
    diag_fini(&d);
    same_results(conv_bn_relu, 1);
    same_results(conv_bn_relu, 3);
}

static const char *gemm_bn =
    "<ir_version: 7, opset_import: [\"\" : 13]>\n"
    "g (float[N,3] x) => (float[N,2] y)\n"
    "<float[2,3] w = {1, 2, 3, -1, 0.5, 0.25}, float[2] c = {0.5, -0.5},"
    " float[2] s = {2, 0.5}, float[2] b = {0, 1}, float[2] m = {0.1, 0.2}, float[2] v = {1, 4}>\n"
    "{\n"
    "  h = Gemm<transB = 1, alpha = 0.5, beta = 2.0>(x, w, c)\n"
    "  y = BatchNormalization(h, s, b, m, v)\n"
    "}\n";

static void test_bn_fold_gemm(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(gemm_bn, &d);
    run_to(g, "bn-fold", &d);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0]->op, OP_GEMM);
    assert_true(g->nodes[0]->a.alpha == 1.0f && g->nodes[0]->a.beta == 1.0f);
    ir_graph_free(g);
    diag_fini(&d);
    same_results(gemm_bn, 4);
}

static const char *matmul_bias_act =
    "<ir_version: 7, opset_import: [\"\" : 13]>\n"
    "g (float[N,4] x) => (float[N,3] y, float[N,3] z)\n"
    "<float[4,3] w = {1,2,3,4,5,6,7,8,9,10,11,12}, float[3] b = {0.5,-1,2}, float[1,3] b2 = {1,1,1}>\n"
    "{\n"
    "  h = MatMul(x, w)\n"
    "  k = Add(b, h)\n"
    "  y = Sigmoid(k)\n"
    "  h2 = MatMul(x, w)\n"
    "  z = Add(h2, b2)\n"
    "  unused = Tanh(h2)\n"
    "}\n";

static void test_fuse_matmul(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(matmul_bias_act, &d);
    run_to(g, NULL, &d);
    /* y: MatMul+bias+sigmoid fused (bias on the left of Add works too);
     * the dead Tanh is gone, so h2 has one reader and fuses too */
    assert_int_equal(g->nnodes, 2);
    assert_int_equal(g->nodes[0]->a.act, ACT_SIGMOID);
    assert_int_equal(g->nodes[0]->nin, 3);
    assert_int_equal(g->nodes[1]->a.act, ACT_NONE);
    assert_int_equal(g->nodes[1]->nin, 3);
    ir_graph_free(g);
    diag_fini(&d);
    same_results(matmul_bias_act, 2);
}

static void test_no_fuse_with_two_readers(void **state)
{
    (void)state;
    const char *src = "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                      "g (float[2,4] x) => (float[2,3] y, float[2,3] h)\n"
                      "<float[4,3] w = {1,2,3,4,5,6,7,8,9,10,11,12}>\n"
                      "{\n  h = MatMul(x, w)\n  y = Relu(h)\n}\n";
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(src, &d);
    run_to(g, NULL, &d);
    assert_int_equal(g->nnodes, 2); /* h is a graph output: the Relu stays apart */
    assert_int_equal(g->nodes[0]->a.act, ACT_NONE);
    ir_graph_free(g);
    diag_fini(&d);
}

/* y = Conv<kernel 4x4, strides s>(x[N,2,8,8], w[3,2,4,4], b) */
static char *patch_model(int stride)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    fprintf(f, "<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[N,2,8,8] x) => (float[] y)\n<float[3,2,4,4] w = {");
    for (int i = 0; i < 96; i++)
        fprintf(f, "%s%g", i ? "," : "", (double)((i * 37 % 17) - 8) / 16);
    fprintf(f, "}, float[3] b = {0.5, -1, 2}>\n{\n  y = Conv<kernel_shape = [4, 4], strides = [%d, %d]>(x, w, b)\n}\n",
            stride, stride);
    fclose(f);
    return buf;
}

static int count_op(const Graph *g, OpKind op)
{
    int k = 0;
    for (int i = 0; i < g->nnodes; i++)
        k += g->nodes[i]->op == op;
    return k;
}

static void test_patchify(void **state)
{
    (void)state;
    for (int stride = 2; stride <= 4; stride += 2) {
        char *src = patch_model(stride);
        Diag d;
        diag_init(&d, NULL);
        Graph *g = load(src, &d);
        run_to(g, NULL, &d);
        if (stride == 4) { /* windows side by side: a MatMul over the patches, the bias fused into it */
            assert_int_equal(count_op(g, OP_CONV), 0);
            assert_int_equal(count_op(g, OP_MATMUL), 1);
            for (int i = 0; i < g->nnodes; i++)
                if (g->nodes[i]->op == OP_MATMUL)
                    assert_int_equal(g->nodes[i]->nin, 3);
        } else { /* overlapping windows: the conv stays */
            assert_int_equal(count_op(g, OP_CONV), 1);
            assert_int_equal(count_op(g, OP_MATMUL), 0);
        }
        ir_graph_free(g);
        diag_fini(&d);
        same_results(src, 3);
        free(src);
    }
}

static void test_fold_and_dce(void **state)
{
    (void)state;
    const char *src = "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                      "g (float[2,3] x) => (float[2,3] y)\n"
                      "<float[3] a = {1, 2, 3}, float[3] b = {0.5, 0.5, 0.5}>\n"
                      "{\n"
                      "  c = Mul(a, b)\n"       /* constant: folded */
                      "  e = Relu(c)\n"         /* constant: folded */
                      "  y = Add(x, e)\n"
                      "  dead = Tanh(x)\n"      /* unused: removed */
                      "}\n";
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(src, &d);
    run_to(g, NULL, &d);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0]->op, OP_ADD);
    const Value *e = g->nodes[0]->in[1];
    assert_int_equal(e->kind, VAL_CONST);
    const float *p = e->data;
    assert_true(p[0] == 0.5f && p[1] == 1.0f && p[2] == 1.5f);
    ir_graph_free(g);
    diag_fini(&d);
    same_results(src, 1);
}

/* fuse-eltwise: BERT's GELU (Div, Erf, Add, Mul, Mul) becomes one
 * FusedElementwise node; x is read twice, the intermediates once; a value
 * with a second reader outside the chain (g, also a graph output) ends a
 * chain; results equal the unfused graph's. */
static void test_fuse_eltwise(void **state)
{
    (void)state;
    const char *src = "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                      "g (float[N,16] x) => (float[N,16] y, float[N,16] g)\n"
                      "<float s = {1.4142135}, float one = {1.0}, float half = {0.5}>\n"
                      "{\n"
                      "  a = Div(x, s)\n  b = Erf(a)\n  c = Add(b, one)\n  d = Mul(x, c)\n"
                      "  g = Mul(d, half)\n  e = Tanh(g)\n  y = Softmax(e)\n"
                      "}\n";
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(src, &d);
    run_to(g, NULL, &d);
    int fused = 0;
    for (int i = 0; i < g->nnodes; i++) {
        if (g->nodes[i]->op == OP_FUSED_ELTWISE) {
            fused++;
            assert_non_null(g->nodes[i]->prog);
        }
    }
    /* GELU fused into one node ending at g (a graph output); Tanh alone
     * (one op is not a chain) or fused, then Softmax */
    assert_true(fused >= 1);
    assert_int_equal(g->nodes[0]->op, OP_FUSED_ELTWISE);
    assert_true(g->nodes[0]->out[0] == g->outputs[1]);
    assert_true(g->nnodes <= 3);
    ir_graph_free(g);
    diag_fini(&d);
    same_results(src, 3);
}

/* The plan: no value overlaps another while both are alive, a node's
 * outputs never overlap its inputs, buffers are reused, views alias. */
static void test_plan(void **state)
{
    (void)state;
    const char *src = "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                      "g (float[N,64] x) => (float[N,64] y)\n"
                      "{\n"
                      "  a = Relu(x)\n  b = Softmax(a)\n  c = Tanh(b)\n  d = Softmax(c)\n"
                      "  e = Sigmoid(d)\n  f = Reshape(e, sh)\n  y = Flatten<axis = 1>(f)\n"
                      "  sh = Constant<value = int64[3] {0, 8, 8}>()\n"
                      "}\n";
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(src, &d);
    run_to(g, NULL, &d);
    /* five temporaries of 256 B per item; two alternate buffers suffice */
    assert_int_equal(g->ws_static, 0);
    assert_int_equal(g->ws_batch, 512);
    int nodes = g->nnodes;
    /* liveness: [def, last use] per value, checked pairwise */
    for (int i = 0; i < g->nvalues; i++) {
        const Value *u = g->values[i];
        if (u->region != MEM_BATCH || u->alias)
            continue;
        for (int j = i + 1; j < g->nvalues; j++) {
            const Value *v = g->values[j];
            if (v->region != MEM_BATCH || v->alias || v->mem_off != u->mem_off)
                continue;
            /* same offset: their live ranges must not overlap */
            int ud = -1, ue = -1, vd = -1, ve = -1;
            for (int k = 0; k < nodes; k++) {
                const Node *n = g->nodes[k];
                for (int q = 0; q < n->nout; q++) {
                    if (n->out[q] == u) ud = k;
                    if (n->out[q] == v) vd = k;
                }
                for (int q = 0; q < n->nin; q++) {
                    const Value *r = n->in[q]->alias ? n->in[q]->alias : n->in[q];
                    if (r == u) ue = k;
                    if (r == v) ve = k;
                }
            }
            assert_true(ue < vd || ve < ud);
        }
    }
    /* the Reshape in the middle aliases; the Flatten producing the output copies */
    for (int k = 0; k < nodes; k++) {
        const Node *n = g->nodes[k];
        if (n->op == OP_RESHAPE)
            assert_non_null(n->out[0]->alias);
        if (n->op == OP_FLATTEN)
            assert_int_equal(n->out[0]->region, MEM_OUTPUT);
    }
    ir_graph_free(g);
    diag_fini(&d);
    same_results(src, 5);
}

static void test_print_after(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(conv_bn_relu, &d);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    PassCtx pc = {.d = &d, .verify = true, .dump = f, .print_after = "all"};
    assert_true(passes_run(g, &pc, NULL));
    fclose(f);
    for (int i = 0; i < pass_pipeline_len; i++) {
        char head[64];
        snprintf(head, sizeof head, "# after %s\n", pass_pipeline[i].name);
        assert_non_null(strstr(buf, head));
    }
    assert_non_null(pass_find("bn-fold"));
    assert_null(pass_find("nope"));
    free(buf);
    ir_graph_free(g);
    diag_fini(&d);
}

/* A 5,000-node chain: passes stay fast (linear), fuse-eltwise merges the
 * chain into a few long kernels, and the plan reuses two buffers. */
static void test_long_chain(void **state)
{
    (void)state;
    enum { LEN = 5000 };
    char *src = malloc(LEN * 48 + 256), *p = src;
    p += sprintf(p, "<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[N,16] v0) => (float[N,16] v%d) {\n", LEN);
    for (int i = 0; i < LEN; i++)
        p += sprintf(p, "  v%d = %s(v%d)\n", i + 1, i % 2 ? "Relu" : "Tanh", i);
    sprintf(p, "}\n");
    Diag d;
    diag_init(&d, NULL);
    Graph *g = load(src, &d);
    run_to(g, NULL, &d);
    assert_true(g->nnodes > 1 && g->nnodes < LEN / 10);
    for (int i = 0; i < g->nnodes; i++)
        assert_int_equal(g->nodes[i]->op, OP_FUSED_ELTWISE);
    assert_int_equal(g->ws_batch, 128);
    ir_graph_free(g);
    diag_fini(&d);
    free(src);
}

/* ---- pass "quantize": --weight-bits 7 ----------------------------------- */

static bool any_range(void *ctx, const char *value, double *lo, double *hi)
{
    (void)ctx, (void)value;
    *lo = -3, *hi = 3;
    return true;
}

/* The float weight a DequantizeLinear of int8 weights came from (by name). */
static const Value *float_weight(const Graph *g, const Node *dq)
{
    const char *qname = dq->in[0]->name;
    for (int i = 0; i < g->nvalues; i++) {
        const Value *v = g->values[i];
        size_t n = strlen(v->name);
        if (v->kind == VAL_CONST && v->dtype == DT_F32 && strncmp(qname, v->name, n) == 0 &&
            strcmp(qname + n, "_q") == 0)
            return v;
    }
    return NULL;
}

/* Weights as --weight-bits 7 quantizes them, checked against the float
 * weights: each in [-127, 127] and within 1 of w / s; every two neighbors
 * along the reduction axis (a Conv's input channels at one tap, a
 * MatMul's rows) within [-128, 128] on each sign, so 255 times them fits
 * int16 (x86 pmaddubsw); the scale the least that allows both (a weight at
 * 127 or a pair at 128 up to the rounding of the scale). With 8 bits: each
 * channel's largest weight at 127. Odd extents (the last one unpaired)
 * and pairs of large weights of one sign (the channel's scale set by them). */
static void test_quantize_weight_pairs(void **state)
{
    (void)state;
    static const char *src =
        "<ir_version: 7, opset_import: [\"\" : 13]>\n"
        "g (float[N,5,6,6] x, float[N,9] v) => (float[N,4,6,6] y, float[N,7] z)\n"
        "<float[4,5,3,3] w = {%s}, float[9,7] b = {%s}>\n"
        "{\n  y = Conv<pads = [1, 1, 1, 1]>(x, w)\n  z = MatMul(v, b)\n}\n";
    char cw[4 * 45 * 16], bw[63 * 16];
    size_t o = 0;
    for (int i = 0; i < 180; i++) /* channel 1: input channels 0 and 1 both near the top at tap 4 */
        o += (size_t)snprintf(cw + o, sizeof cw - o, "%s%.4f", i ? "," : "",
                              i == 45 + 4 ? 0.9 : i == 45 + 9 + 4 ? 0.85 : 0.5 * frand());
    o = 0;
    for (int i = 0; i < 63; i++) /* column 2: rows 4 and 5 both large and negative */
        o += (size_t)snprintf(bw + o, sizeof bw - o, "%s%.4f", i ? "," : "",
                              i == 4 * 7 + 2 ? -1.0 : i == 5 * 7 + 2 ? -0.95 : frand());
    char *text = malloc(strlen(src) + sizeof cw + sizeof bw);
    sprintf(text, src, cw, bw);
    for (int bits = 7; bits <= 8; bits++) {
        Diag d;
        diag_init(&d, NULL);
        Graph *g = load(text, &d);
        QuantOptions q = {.precision = PREC_INT8, .range = any_range, .weight_bits = bits};
        PassCtx pc = {.d = &d, .verify = true, .quant = &q};
        if (!passes_run(g, &pc, "quantize"))
            fail_msg("passes failed:\n%s", d.buf ? d.buf : "");
        int seen = 0;
        for (int i = 0; i < g->nnodes; i++) {
            const Node *dq = g->nodes[i];
            if (dq->op != OP_DEQUANTIZE || dq->in[0]->kind != VAL_CONST || dq->in[0]->dtype != DT_I8)
                continue;
            const Value *w = float_weight(g, dq);
            assert_non_null(w);
            bool conv = w->shape.rank == 4;
            /* per channel: the output channel (Conv dim 0, MatMul dim 1); pairs
             * along the reduction axis (Conv dim 1, stride 9; MatMul dim 0, stride 7) */
            int64_t nch = conv ? 4 : 7, red = conv ? 5 : 9, pst = conv ? 9 : 7, total = shape_numel(&w->shape);
            const int8_t *qd = dq->in[0]->data;
            const float *wd = w->data, *sd = dq->in[1]->data;
            for (int64_t c = 0; c < nch; c++) {
                double s = sd[c], amax = 0, pmax = 0;
                int qmax = 0;
                for (int64_t i2 = 0; i2 < total; i2++) {
                    if ((conv ? i2 / 45 : i2 % 7) != c)
                        continue;
                    int64_t r = i2 / pst % red;
                    assert_true(qd[i2] >= -127 && qd[i2] <= 127);
                    if (fabs(qd[i2] - wd[i2] / s) > (bits == 7 ? 1.0 : 0.5) + 1e-6)
                        fail_msg("%d bits: weight %lld: %d for %.6f / %.6g", bits, (long long)i2, qd[i2], wd[i2], s);
                    amax = fmax(amax, fabs(wd[i2]));
                    qmax = abs(qd[i2]) > qmax ? abs(qd[i2]) : qmax;
                    if (r % 2 == 0) {
                        int a = qd[i2], b2 = r + 1 < red ? qd[i2 + pst] : 0;
                        double fa = wd[i2], fb = r + 1 < red ? wd[i2 + pst] : 0;
                        int pos = (a > 0 ? a : 0) + (b2 > 0 ? b2 : 0), neg = (a < 0 ? a : 0) + (b2 < 0 ? b2 : 0);
                        if (bits == 7 && (pos > 128 || neg < -128))
                            fail_msg("weights %lld and its neighbor: %d and %d", (long long)i2, a, b2);
                        pmax = fmax(pmax, fmax(fmax(fa, 0) + fmax(fb, 0), -(fmin(fa, 0) + fmin(fb, 0))));
                    }
                }
                double want = bits == 7 ? fmax(amax / 127, pmax / 128) : amax / 127;
                if (fabs(s - want) > 1e-6 * want)
                    fail_msg("%d bits, %s channel %lld: scale %.9g, want %.9g", bits, conv ? "Conv" : "MatMul",
                             (long long)c, s, want);
                if (bits == 8)
                    assert_int_equal(qmax, 127);
            }
            seen++;
        }
        assert_int_equal(seen, 2);
        ir_graph_free(g);
        diag_fini(&d);
    }
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bn_fold_and_fuse), cmocka_unit_test(test_bn_fold_gemm),
        cmocka_unit_test(test_fuse_matmul),      cmocka_unit_test(test_no_fuse_with_two_readers),
        cmocka_unit_test(test_fold_and_dce),     cmocka_unit_test(test_plan),
        cmocka_unit_test(test_print_after),      cmocka_unit_test(test_long_chain),
        cmocka_unit_test(test_fuse_eltwise),     cmocka_unit_test(test_patchify),
        cmocka_unit_test(test_quantize_weight_pairs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

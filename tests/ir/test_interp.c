/* test_interp.c — the reference interpreter against values from outside it.
 *
 * Most cases come from tests/ir/gen_interp_cases.py, run here (at test time)
 * with Debian's /usr/bin/python3: the official ONNX 1.12 node tests of every
 * op the IR has, mapped onto its normalized attributes, and cases of our own
 * computed with numpy and plain Python integers (every dtype family,
 * broadcasting, integer wrap and division rules, NaN, Cast edge values,
 * pools with pads/ceil/dilations and both argmax orders, grouped and
 * depthwise Conv, BatchNormalization in both modes, Softmax ranges; every
 * elementwise op of ops.def with its specials, Pow and Mod across types,
 * the reductions (empty, noop, keepdims), ArgMax/ArgMin, CumSum, the index
 * maps and gathers, the normalizations, Einsum, Resize after ONNX's own
 * reference interpolation). Each case is one node (the form shape inference
 * leaves: constant inputs read into the attributes), run through
 * interp_run; every op of ops.def must have cases. The rest is written by hand:
 * interp_run over a small multi-node graph at batch 1 and 5, the plumbing
 * of values (outputs that are inputs or constants, omitted optional
 * outputs), the observer of interp_run_observe, and errors reported, not
 * aborted on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ir/expr.h"
#include "ir/ir.h"

#define MAXT 10 /* QLinearConv has 9 inputs */

/* ---- reading the generated cases ---------------------------------------- */

typedef struct Case {
    char name[160];
    OpKind op;
    Attrs a;
    double rtol, atol;
    int nin, nout;
    char kind[MAXT]; /* 'i' graph input, 'c' constant, '-' omitted */
    Tensor in[MAXT];
    Tensor out[MAXT]; /* expected; data NULL when the output is omitted */
    bool has_prog;    /* FusedElementwise: its program (operands in0, in1, ...) */
    Expr prog;
} Case;

static void case_free(Case *c)
{
    for (int k = 0; k < MAXT; k++) {
        tensor_free(&c->in[k]);
        tensor_free(&c->out[k]);
    }
}

/* "DTYPE RANK D..." then the bytes on the next line. */
static bool read_tensor(FILE *f, const char *head, Tensor *t)
{
    char dt[16];
    int rank, pos = 0;
    Shape s = {0};
    if (sscanf(head, "%15s %d%n", dt, &rank, &pos) != 2 || rank < 0 || rank > QK_MAX_RANK)
        return false;
    s.rank = rank;
    head += pos;
    for (int k = 0; k < rank; k++) {
        long long v;
        if (sscanf(head, "%lld%n", &v, &pos) != 1)
            return false;
        s.d[k] = v;
        head += pos;
    }
    if (!tensor_alloc(t, dtype_from_name(dt), &s))
        return false;
    size_t bytes = (size_t)(tensor_numel(t) * dtype_size(t->dtype));
    return fread(t->data, 1, bytes, f) == bytes && fgetc(f) == '\n';
}

static bool parse_ints(const char *p, int64_t *v, int max, int *n)
{
    int pos;
    long long x;
    *n = 0;
    while (sscanf(p, "%lld%n", &x, &pos) == 1 && *n < max) {
        v[(*n)++] = x;
        p += pos;
    }
    return *n > 0 || max == QK_MAX_RANK; /* ints may be empty (rank-0 Transpose) */
}

static bool parse_doubles(const char *p, double *v, int max)
{
    int pos, n = 0;
    double x;
    while (n < max && sscanf(p, "%lf%n", &x, &pos) == 1) {
        v[n++] = x;
        p += pos;
    }
    return n > 0;
}

/* Einsum labels: three words, the terms of operand 0, operand 1 ('-':
 * absent) and the output ('.': the empty term), letters a-z A-Z as labels
 * 0..51. */
static bool parse_ein(Attrs *a, const char *val)
{
    char t[3][QK_MAX_RANK + 2];
    if (sscanf(val, "%9s %9s %9s", t[0], t[1], t[2]) != 3)
        return false;
    for (int k = 0; k < 3; k++) {
        a->nein[k] = -1;
        if (!strcmp(t[k], "-"))
            continue;
        a->nein[k] = 0;
        for (const char *c = t[k]; *c && *c != '.'; c++) {
            if (a->nein[k] == QK_MAX_RANK)
                return false;
            a->ein[k][a->nein[k]++] = (int8_t)(*c >= 'a' && *c <= 'z' ? *c - 'a' : 26 + *c - 'A');
        }
    }
    return true;
}

static bool parse_attr(Attrs *a, const char *name, const char *val)
{
    int n;
    double f = strtod(val, NULL);
    long long i = strtoll(val, NULL, 10);
    if (!strcmp(name, "axis")) a->axis = i;
    else if (!strcmp(name, "axis2")) a->axis2 = i;
    else if (!strcmp(name, "alpha")) a->alpha = (float)f, a->p[0] = f; /* Gemm's; an elementwise op's first parameter */
    else if (!strcmp(name, "beta")) a->beta = (float)f, a->p[1] = f;
    else if (!strcmp(name, "lo")) a->p[0] = f; /* Clip */
    else if (!strcmp(name, "hi")) a->p[1] = f;
    else if (!strcmp(name, "eps")) a->eps = (float)f;
    else if (!strcmp(name, "momentum")) a->momentum = (float)f;
    else if (!strcmp(name, "act_alpha")) a->act_alpha = (float)f;
    else if (!strcmp(name, "act_beta")) a->act_beta = (float)f;
    else if (!strcmp(name, "trans_a")) a->trans_a = (int)i;
    else if (!strcmp(name, "trans_b")) a->trans_b = (int)i;
    else if (!strcmp(name, "nsp")) a->nsp = (int)i;
    else if (!strcmp(name, "group")) a->group = i;
    else if (!strcmp(name, "ceil_mode")) a->ceil_mode = (int)i;
    else if (!strcmp(name, "count_include_pad")) a->count_include_pad = (int)i;
    else if (!strcmp(name, "storage_order")) a->storage_order = (int)i;
    else if (!strcmp(name, "training")) a->training = (int)i;
    else if (!strcmp(name, "kernel")) return parse_ints(val, a->kernel, 3, &n);
    else if (!strcmp(name, "strides")) return parse_ints(val, a->strides, 3, &n);
    else if (!strcmp(name, "dilations")) return parse_ints(val, a->dilations, 3, &n);
    else if (!strcmp(name, "pads")) return parse_ints(val, a->pads, 6, &n);
    else if (!strcmp(name, "ints")) return parse_ints(val, a->ints, QK_MAX_RANK, &a->nints);
    else if (!strcmp(name, "to")) return (a->to = dtype_from_name(val)) != DT_UNDEF;
    else if (!strcmp(name, "keepdims")) a->keepdims = (int)i;
    else if (!strcmp(name, "noop_empty")) a->noop_empty = (int)i;
    else if (!strcmp(name, "select_last")) a->select_last = (int)i;
    else if (!strcmp(name, "exclusive")) a->exclusive = (int)i;
    else if (!strcmp(name, "reverse")) a->reverse = (int)i;
    else if (!strcmp(name, "mode")) a->mode = (int)i;
    else if (!strcmp(name, "coord")) a->coord = (int)i;
    else if (!strcmp(name, "nearest")) a->nearest = (int)i;
    else if (!strcmp(name, "exclude_outside")) a->exclude_outside = (int)i;
    else if (!strcmp(name, "cubic_a")) a->cubic_a = (float)f;
    else if (!strcmp(name, "blocksize")) a->blocksize = i;
    else if (!strcmp(name, "value")) a->value = f;
    else if (!strcmp(name, "p0")) a->p[0] = f; /* an elementwise op's parameters (ops.def order) */
    else if (!strcmp(name, "p1")) a->p[1] = f;
    else if (!strcmp(name, "p2")) a->p[2] = f;
    else if (!strcmp(name, "fill")) a->fill = strtoull(val, NULL, 10); /* the value's bytes, little-endian */
    else if (!strcmp(name, "sizes")) return parse_ints(val, a->sizes, QK_MAX_OUTPUTS, &a->nsizes) || !*val;
    else if (!strcmp(name, "starts")) return parse_ints(val, a->starts, QK_MAX_RANK, &n);
    else if (!strcmp(name, "ends")) return parse_ints(val, a->ends, QK_MAX_RANK, &n);
    else if (!strcmp(name, "steps")) return parse_ints(val, a->steps, QK_MAX_RANK, &n);
    else if (!strcmp(name, "pads2")) return parse_ints(val, a->pads2, 2 * QK_MAX_RANK, &n) && n == 2 * QK_MAX_RANK;
    else if (!strcmp(name, "scales")) return parse_doubles(val, a->scales, QK_MAX_RANK);
    else if (!strcmp(name, "ein")) return parse_ein(a, val);
    else if (!strcmp(name, "act")) {
        for (int k = 0; k < ACT_COUNT; k++)
            if (!strcmp(act_name[k], val))
                return a->act = (Act)k, true;
        return false;
    } else
        return false;
    return true;
}

/* The next case of f into c; false at the end. A malformed file fails the
 * test (it is ours). */
static bool read_case(FILE *f, Case *c)
{
    char line[512], word[32];
    memset(c, 0, sizeof *c);
    c->op = OP_COUNT;
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *rest = strchr(line, ' ');
        rest = rest ? rest + 1 : line + strlen(line);
        sscanf(line, "%31s", word);
        if (!strcmp(word, "case")) {
            snprintf(c->name, sizeof c->name, "%s", rest);
        } else if (!strcmp(word, "op")) {
            for (int k = 0; k < OP_COUNT; k++)
                if (!strcmp(op_info[k].name, rest))
                    c->op = (OpKind)k;
            assert_true(c->op != OP_COUNT);
            ir_attrs_default(c->op, &c->a);
        } else if (!strcmp(word, "attr")) {
            char name[32];
            int pos;
            assert_int_equal(sscanf(rest, "%31s %n", name, &pos), 1);
            if (!parse_attr(&c->a, name, rest + pos))
                fail_msg("%s: bad attr line '%s'", c->name, line);
        } else if (!strcmp(word, "prog")) {
            static const char *const names[] = {"in0", "in1", "in2", "in3", "in4", "in5", "in6", "in7"};
            char err[128];
            if (!expr_parse(rest, names, 8, NULL, 0, &c->prog, err, sizeof err))
                fail_msg("%s: bad program '%s': %s", c->name, rest, err);
            c->has_prog = true;
        } else if (!strcmp(word, "tol")) {
            assert_int_equal(sscanf(rest, "%lf %lf", &c->rtol, &c->atol), 2);
        } else if (!strcmp(word, "in")) {
            assert_true(c->nin < MAXT);
            c->kind[c->nin] = rest[0];
            if (rest[0] != '-' && !read_tensor(f, rest + 2, &c->in[c->nin]))
                fail_msg("%s: bad input %d", c->name, c->nin);
            c->nin++;
        } else if (!strcmp(word, "out")) {
            assert_true(c->nout < MAXT);
            if (rest[0] != '-' && !read_tensor(f, rest, &c->out[c->nout]))
                fail_msg("%s: bad output %d", c->name, c->nout);
            c->nout++;
        } else if (!strcmp(word, "end")) {
            return true;
        } else {
            fail_msg("bad line '%s' after case %s", line, c->name);
        }
    }
    return false;
}

/* ---- comparing ----------------------------------------------------------- */

/* Floats as doubles, read here without the interpreter's helpers. */
static double elem_f(const Tensor *t, int64_t i)
{
    switch (t->dtype) {
    case DT_F32: return ((const float *)t->data)[i];
    case DT_F64: return ((const double *)t->data)[i];
    case DT_F16: return f16_to_f32(((const uint16_t *)t->data)[i]);
    default: return bf16_to_f32(((const uint16_t *)t->data)[i]);
    }
}

/* got vs want: same dtype and shape; floats within atol + rtol*|want| (both
 * 0: equal, signed zeros included), NaN only against NaN, infinities equal;
 * anything else bit for bit. Returns the number of problems, printed. */
static int compare(const char *name, int k, const Tensor *got, const Tensor *want, double rtol, double atol)
{
    char sg[96], sw[96];
    if (got->dtype != want->dtype || !shape_eq(&got->shape, &want->shape)) {
        print_error("%s: output %d is %s%s, want %s%s\n", name, k, dtype_name(got->dtype),
                    shape_str(&got->shape, sg, sizeof sg), dtype_name(want->dtype),
                    shape_str(&want->shape, sw, sizeof sw));
        return 1;
    }
    int bad = 0, es = dtype_size(want->dtype);
    for (int64_t i = 0, n = tensor_numel(want); i < n; i++) {
        bool ok;
        double g = 0, w = 0;
        if (dtype_is_float(want->dtype)) {
            g = elem_f(got, i);
            w = elem_f(want, i);
            if (isnan(w) || isnan(g))
                ok = isnan(w) && isnan(g);
            else if (isinf(w) || isinf(g) || (rtol == 0 && atol == 0))
                ok = g == w && signbit(g) == signbit(w);
            else
                ok = fabs(g - w) <= atol + rtol * fabs(w);
        } else {
            ok = !memcmp((const char *)got->data + i * es, (const char *)want->data + i * es, (size_t)es);
        }
        if (!ok && bad++ < 5) {
            if (dtype_is_float(want->dtype))
                print_error("%s: output %d [%lld]: got %.9g, want %.9g\n", name, k, (long long)i, g, w);
            else
                print_error("%s: output %d [%lld]: bytes differ\n", name, k, (long long)i);
        }
    }
    if (bad > 5)
        print_error("%s: output %d: %d elements differ\n", name, k, bad);
    return bad ? 1 : 0;
}

/* Run one case as a one-node graph through interp_run; 0 when it passes. */
static int run_case(const Case *c)
{
    Graph *g = ir_graph_new(c->name);
    Value *in[MAXT] = {0}, *out[MAXT] = {0};
    Tensor feeds[MAXT], got[MAXT];
    int nfeed = 0, nres = 0, bad = 0;
    char nm[16];
    for (int k = 0; k < c->nin; k++) {
        snprintf(nm, sizeof nm, "x%d", k);
        if (c->kind[k] == 'c') {
            in[k] = ir_const_new(g, nm, c->in[k].dtype, &c->in[k].shape, c->in[k].data);
        } else if (c->kind[k] == 'i') {
            in[k] = ir_value_new(g, nm, c->in[k].dtype, &c->in[k].shape, VAL_INPUT);
            ir_graph_add_input(g, in[k]);
            feeds[nfeed++] = c->in[k];
        }
    }
    for (int k = 0; k < c->nout; k++) {
        if (!c->out[k].data)
            continue;
        snprintf(nm, sizeof nm, "y%d", k);
        out[k] = ir_value_new(g, nm, c->out[k].dtype, &c->out[k].shape, VAL_TEMP);
        ir_graph_add_output(g, out[k]);
    }
    Node *n = ir_node_new(g, c->op, c->name, in, c->nin, out, c->nout);
    n->a = c->a;
    if (c->has_prog)
        n->prog = &c->prog;
    Diag d;
    diag_init(&d, NULL);
    if (!interp_run(g, 1, feeds, got, &d)) {
        print_error("%s: interp_run failed: %s", c->name, d.buf ? d.buf : "(no message)\n");
        bad = 1;
    } else {
        for (int k = 0; k < c->nout; k++)
            if (out[k]) {
                bad |= compare(c->name, k, &got[nres], &c->out[k], c->rtol, c->atol);
                tensor_free(&got[nres++]);
            }
    }
    diag_fini(&d);
    ir_graph_free(g);
    return bad;
}

/* Generate the cases into the build folder unless they are newer than the
 * script. Written to a temporary name first: ctest may run in parallel. */
static const char *cases_file(void)
{
    static const char path[] = QKC_BUILD_DIR "/tests/ir/interp.cases";
    static const char script[] = QKC_SOURCE_DIR "/tests/ir/gen_interp_cases.py";
    struct stat sc, sp;
    if (stat(script, &sc) != 0)
        fail_msg("cannot find %s", script);
    if (stat(path, &sp) == 0 && sp.st_mtime >= sc.st_mtime)
        return path;
    char cmd[4096];
    int pid = (int)getpid();
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 '%s' '%s.%d' && mv '%s.%d' '%s' || { rm -f '%s.%d'; false; }", script,
             path, pid, path, pid, path, path, pid);
    if (system(cmd) != 0)
        fail_msg("generating the cases failed: %s", cmd);
    return path;
}

static void test_cases(void **state)
{
    (void)state;
    FILE *f = fopen(cases_file(), "rb");
    assert_non_null(f);
    int ncase = 0, nfail = 0, per_op[OP_COUNT] = {0};
    Case c;
    while (read_case(f, &c)) {
        nfail += run_case(&c);
        per_op[c.op]++;
        ncase++;
        case_free(&c);
    }
    case_free(&c);
    fclose(f);
    print_message("%d cases, %d failed\n", ncase, nfail);
    for (int k = 0; k < OP_COUNT; k++)
        if (!per_op[k])
            print_error("no case for op %s\n", op_info[k].name);
    for (int k = 0; k < OP_COUNT; k++)
        assert_true(per_op[k] > 0);
    assert_true(ncase > 1000);
    assert_int_equal(nfail, 0);
}

/* ---- hand-built graphs --------------------------------------------------- */

static Shape shp(int rank, ...)
{
    Shape s = {rank, {0}};
    va_list ap;
    va_start(ap, rank);
    for (int k = 0; k < rank; k++)
        s.d[k] = va_arg(ap, int64_t);
    va_end(ap);
    return s;
}
#define S(...) shp(__VA_ARGS__)
#define D(x) ((int64_t)(x))

static const float W[3][2] = {{0.5f, -1.0f}, {2.0f, 0.25f}, {-1.5f, 0.75f}};
static const float Bv[2] = {0.1f, -0.2f};
static const float Sc[2] = {3.0f, -2.0f};

/* x [N,3] -> h = relu(x @ W + b) -> m = h * s -> c = concat(m, x) on axis 1
 * -> y = softmax over axis 1; outputs y and h. */
static Graph *batch_graph(void)
{
    Graph *g = ir_graph_new("batch");
    Shape sx = S(2, D(DIM_BATCH), D(3)), sh = S(2, D(DIM_BATCH), D(2)), sc = S(2, D(DIM_BATCH), D(5));
    Shape sw = S(2, D(3), D(2)), sb = S(1, D(2)), ss = S(2, D(1), D(2));
    Value *x = ir_value_new(g, "x", DT_F32, &sx, VAL_INPUT);
    Value *w = ir_const_new(g, "w", DT_F32, &sw, W), *b = ir_const_new(g, "b", DT_F32, &sb, Bv);
    Value *s = ir_const_new(g, "s", DT_F32, &ss, Sc);
    Value *h = ir_value_new(g, "h", DT_F32, &sh, VAL_TEMP), *m = ir_value_new(g, "m", DT_F32, &sh, VAL_TEMP);
    Value *c = ir_value_new(g, "c", DT_F32, &sc, VAL_TEMP), *y = ir_value_new(g, "y", DT_F32, &sc, VAL_TEMP);
    ir_graph_add_input(g, x);
    Node *mm = ir_node_new(g, OP_MATMUL, "mm", (Value *[]){x, w, b}, 3, &h, 1);
    mm->a.act = ACT_RELU;
    ir_node_new(g, OP_MUL, "mul", (Value *[]){h, s}, 2, &m, 1);
    Node *cat = ir_node_new(g, OP_CONCAT, "cat", (Value *[]){m, x}, 2, &c, 1);
    cat->a.axis = 1;
    Node *sm = ir_node_new(g, OP_SOFTMAX, "sm", &c, 1, &y, 1);
    sm->a.axis = 1;
    sm->a.axis2 = 2;
    ir_graph_add_output(g, y);
    ir_graph_add_output(g, h);
    return g;
}

/* The same computation, by hand, in double, for one row. */
static void batch_expect(const float *x, double *y, double *h)
{
    double c[5];
    for (int j = 0; j < 2; j++) {
        double acc = Bv[j];
        for (int i = 0; i < 3; i++)
            acc += (double)x[i] * W[i][j];
        h[j] = acc > 0 ? acc : 0;
        c[j] = (double)(float)h[j] * Sc[j];
    }
    double mx = -INFINITY, sum = 0;
    for (int i = 0; i < 3; i++)
        c[2 + i] = x[i];
    for (int k = 0; k < 5; k++)
        mx = c[k] > mx ? c[k] : mx;
    for (int k = 0; k < 5; k++)
        sum += exp(c[k] - mx);
    for (int k = 0; k < 5; k++)
        y[k] = exp(c[k] - mx) / sum;
}

static void check_batch(Graph *g, int64_t batch)
{
    float xs[5 * 3];
    for (int i = 0; i < 15; i++)
        xs[i] = (float)((i * 7 % 11) - 5) * 0.375f;
    Tensor in = {DT_F32, S(2, D(batch), D(3)), xs}, out[2];
    Diag d;
    diag_init(&d, stderr);
    assert_true(interp_run(g, batch, &in, out, &d));
    diag_fini(&d);
    Shape sy = S(2, D(batch), D(5)), sh = S(2, D(batch), D(2));
    assert_true(shape_eq(&out[0].shape, &sy));
    assert_true(shape_eq(&out[1].shape, &sh));
    for (int64_t r = 0; r < batch; r++) {
        double y[5], h[2];
        batch_expect(xs + 3 * r, y, h);
        for (int k = 0; k < 5; k++)
            assert_float_equal(((float *)out[0].data)[r * 5 + k], y[k], 1e-6);
        for (int k = 0; k < 2; k++)
            assert_float_equal(((float *)out[1].data)[r * 2 + k], h[k], 1e-6);
    }
    tensor_free(&out[0]);
    tensor_free(&out[1]);
}

static void test_run_batch(void **state)
{
    (void)state;
    Graph *g = batch_graph();
    check_batch(g, 1);
    check_batch(g, 5);
    Tensor in = {DT_F32, S(2, D(0), D(3)), (float[1]){0}}, out[2];
    Diag d;
    diag_init(&d, NULL);
    assert_false(interp_run(g, 0, &in, out, &d)); /* a batch dim needs batch >= 1 */
    assert_true(diag_contains(&d, "batch size 0"));
    Tensor wrong = {DT_F32, S(2, D(2), D(4)), (float[8]){0}};
    assert_false(interp_run(g, 2, &wrong, out, &d));
    assert_true(diag_contains(&d, "input 'x': got f32[2,4], want f32[2,3]"));
    assert_null(out[0].data);
    diag_fini(&d);
    ir_graph_free(g);
}

/* Outputs that are a graph input, a constant, the same value twice, and a
 * node whose optional output is omitted and whose result nobody reads. */
static void test_run_plumbing(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("plumbing");
    Shape s = S(2, D(DIM_BATCH), D(2)), s1 = S(1, D(3));
    Value *x = ir_value_new(g, "x", DT_I32, &s, VAL_INPUT);
    Value *k = ir_const_new(g, "k", DT_U8, &s1, (uint8_t[]){7, 8, 9});
    Value *a = ir_value_new(g, "a", DT_I32, &s, VAL_TEMP), *dead = ir_value_new(g, "dead", DT_I32, &s, VAL_TEMP);
    Value *p = ir_value_new(g, "p", DT_F32, &s, VAL_TEMP);
    Shape sp = S(4, D(DIM_BATCH), D(1), D(2), D(1)), spo = S(4, D(DIM_BATCH), D(1), D(1), D(1));
    Value *img = ir_value_new(g, "img", DT_F32, &sp, VAL_TEMP), *mp = ir_value_new(g, "mp", DT_F32, &spo, VAL_TEMP);
    ir_graph_add_input(g, x);
    ir_node_new(g, OP_ADD, "add", (Value *[]){x, x}, 2, &a, 1);
    ir_node_new(g, OP_SUB, "dead", (Value *[]){a, x}, 2, &dead, 1); /* computed, freed at once */
    Node *cast = ir_node_new(g, OP_CAST, "cast", &a, 1, &p, 1);
    cast->a.to = DT_F32;
    ir_node_new(g, OP_RESHAPE, "rs", &p, 1, &img, 1);
    Node *pool = ir_node_new(g, OP_MAXPOOL, "pool", &img, 1, (Value *[]){mp, NULL}, 2);
    pool->a = (Attrs){.nsp = 2, .kernel = {2, 1}, .strides = {1, 1}, .dilations = {1, 1}};
    ir_graph_add_output(g, a);
    ir_graph_add_output(g, x);
    ir_graph_add_output(g, k);
    ir_graph_add_output(g, a);
    ir_graph_add_output(g, mp);
    int32_t xs[6] = {1, -2, 3, INT32_MAX, -5, 6};
    Tensor in = {DT_I32, S(2, D(3), D(2)), xs}, out[5];
    Diag d;
    diag_init(&d, stderr);
    assert_true(interp_run(g, 3, &in, out, &d));
    diag_fini(&d);
    for (int i = 0; i < 6; i++) {
        int32_t twice = (int32_t)(uint32_t)((uint32_t)xs[i] * 2u); /* wraps */
        assert_int_equal(((int32_t *)out[0].data)[i], twice);
        assert_int_equal(((int32_t *)out[3].data)[i], twice);
        assert_int_equal(((int32_t *)out[1].data)[i], xs[i]);
    }
    assert_ptr_not_equal(out[1].data, xs); /* copied, the caller frees it */
    assert_memory_equal(out[2].data, ((uint8_t[]){7, 8, 9}), 3);
    for (int r = 0; r < 3; r++) {
        float a0 = (float)(int32_t)((uint32_t)xs[2 * r] * 2u), a1 = (float)(int32_t)((uint32_t)xs[2 * r + 1] * 2u);
        assert_true(((float *)out[4].data)[r] == (a0 > a1 ? a0 : a1));
    }
    for (int i = 0; i < 5; i++)
        tensor_free(&out[i]);
    ir_graph_free(g);
}

/* interp_node alone: an omitted optional output may be a NULL pointer or a
 * tensor without data; bad input is reported with the node's place. */
static void test_node_errors(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("errors");
    g->file = "m.onnx";
    Shape s = S(1, D(2));
    Value *x = ir_value_new(g, "x", DT_BOOL, &s, VAL_INPUT), *y = ir_value_new(g, "y", DT_BOOL, &s, VAL_TEMP);
    Node *add = ir_node_new(g, OP_ADD, "plus", (Value *[]){x, x}, 2, &y, 1);
    Tensor tx = {DT_BOOL, s, (uint8_t[2]){1, 0}}, ty;
    assert_true(tensor_alloc(&ty, DT_BOOL, &s));
    Diag d;
    diag_init(&d, NULL);
    assert_false(interp_node(add, (const Tensor *[]){&tx, &tx}, (Tensor *[]){&ty}, &d));
    assert_true(diag_contains(&d, "plus"));
    assert_true(diag_contains(&d, "Add: dtype bool not supported"));

    /* Conv whose group does not divide the channels */
    Shape sx = S(3, D(1), D(3), D(4)), sw = S(3, D(2), D(1), D(2)), so = S(3, D(1), D(2), D(3));
    Value *cx = ir_value_new(g, "cx", DT_F32, &sx, VAL_INPUT), *cw = ir_const_new(g, "cw", DT_F32, &sw, NULL);
    Value *cy = ir_value_new(g, "cy", DT_F32, &so, VAL_TEMP);
    Node *conv = ir_node_new(g, OP_CONV, "conv", (Value *[]){cx, cw, NULL}, 3, &cy, 1);
    conv->a = (Attrs){.nsp = 1, .kernel = {2}, .strides = {1}, .dilations = {1}, .group = 2};
    Tensor t[3];
    assert_true(tensor_alloc(&t[0], DT_F32, &sx) && tensor_alloc(&t[1], DT_F32, &sw) && tensor_alloc(&t[2], DT_F32, &so));
    assert_false(interp_node(conv, (const Tensor *[]){&t[0], &t[1], NULL}, (Tensor *[]){&t[2]}, &d));
    assert_true(diag_contains(&d, "Conv: group 2 does not divide 3 input"));

    /* MaxPool with its index output omitted both ways; i64 indices too */
    Shape sp = S(3, D(1), D(1), D(4)), spo = S(3, D(1), D(1), D(2));
    Value *px = ir_value_new(g, "px", DT_U8, &sp, VAL_INPUT), *py = ir_value_new(g, "py", DT_U8, &spo, VAL_TEMP);
    Value *pi = ir_value_new(g, "pi", DT_I64, &spo, VAL_TEMP);
    Node *pool = ir_node_new(g, OP_MAXPOOL, "pool", &px, 1, (Value *[]){py, pi}, 2);
    pool->a = (Attrs){.nsp = 1, .kernel = {2}, .strides = {2}, .dilations = {1}, .storage_order = 1};
    Tensor tp = {DT_U8, sp, (uint8_t[4]){3, 9, 9, 1}}, tpy, tpi, none = {DT_I64, spo, NULL};
    assert_true(tensor_alloc(&tpy, DT_U8, &spo) && tensor_alloc(&tpi, DT_I64, &spo));
    assert_true(interp_node(pool, (const Tensor *[]){&tp}, (Tensor *[]){&tpy, NULL}, &d));
    assert_true(interp_node(pool, (const Tensor *[]){&tp}, (Tensor *[]){&tpy, &none}, &d));
    assert_true(interp_node(pool, (const Tensor *[]){&tp}, (Tensor *[]){&tpy, &tpi}, &d));
    assert_memory_equal(tpy.data, ((uint8_t[]){9, 9}), 2);
    assert_memory_equal(tpi.data, ((int64_t[]){1, 2}), 16);

    /* a window larger than the padded input */
    Value *ay = ir_value_new(g, "ay", DT_F32, &spo, VAL_TEMP);
    Node *avg = ir_node_new(g, OP_AVGPOOL, "avg", &px, 1, &ay, 1);
    avg->a = (Attrs){.nsp = 1, .kernel = {6}, .strides = {1}, .dilations = {1}, .pads = {1, 0}};
    Tensor tf, tfy;
    assert_true(tensor_alloc(&tf, DT_F32, &sp) && tensor_alloc(&tfy, DT_F32, &spo));
    assert_false(interp_node(avg, (const Tensor *[]){&tf}, (Tensor *[]){&tfy}, &d));
    assert_true(diag_contains(&d, "AveragePool: bad window on dim 0: kernel 6"));
    tensor_free(&tf);
    tensor_free(&tfy);

    /* Cast whose output dtype disagrees with `to` */
    Value *cv = ir_value_new(g, "cv", DT_F32, &s, VAL_TEMP);
    Node *cast = ir_node_new(g, OP_CAST, "cast", &x, 1, &cv, 1);
    cast->a.to = DT_I8;
    Tensor tc;
    assert_true(tensor_alloc(&tc, DT_F32, &s));
    assert_false(interp_node(cast, (const Tensor *[]){&tx}, (Tensor *[]){&tc}, &d));
    assert_true(diag_contains(&d, "Cast: output is f32, attribute to is i8"));

    /* a node that reads a value before its producer ran */
    Graph *g2 = ir_graph_new("order");
    Value *a = ir_value_new(g2, "a", DT_F32, &s, VAL_INPUT), *b = ir_value_new(g2, "b", DT_F32, &s, VAL_TEMP);
    Value *c = ir_value_new(g2, "c", DT_F32, &s, VAL_TEMP);
    ir_graph_add_input(g2, a);
    ir_node_new(g2, OP_RELU, "first", &b, 1, &c, 1);
    ir_node_new(g2, OP_RELU, "second", &a, 1, &b, 1);
    ir_graph_add_output(g2, c);
    Tensor ta = {DT_F32, s, (float[2]){1, 2}}, tout;
    assert_false(interp_run(g2, 1, &ta, &tout, &d));
    assert_true(diag_contains(&d, "input 'b' is read before it is computed"));
    assert_true(d.errors >= 4);

    /* sizes that overflow are refused, not allocated */
    Shape huge = S(3, D(INT64_C(1) << 40), D(INT64_C(1) << 40), D(4));
    Tensor th;
    assert_false(tensor_alloc(&th, DT_F32, &huge));
    assert_null(th.data);

    for (int k = 0; k < 3; k++)
        tensor_free(&t[k]);
    tensor_free(&ty);
    tensor_free(&tpy);
    tensor_free(&tpi);
    tensor_free(&tc);
    diag_fini(&d);
    ir_graph_free(g2);
    ir_graph_free(g);
}

/* ---- the observer hook ---------------------------------------------------- */

typedef struct Seen {
    int n;
    const char *name[16];
    DType dt[16];
    Shape shape[16];
    double sum[16]; /* of the elements, read during the call */
} Seen;

static void observe(void *ctx, const Value *v, const Tensor *t)
{
    Seen *s = ctx;
    assert_true(s->n < 16);
    s->name[s->n] = v->name;
    s->dt[s->n] = t->dtype;
    s->shape[s->n] = t->shape;
    double sum = 0;
    for (int64_t i = 0, ne = tensor_numel(t); i < ne; i++)
        sum += t->dtype == DT_F32 ? ((const float *)t->data)[i]
               : t->dtype == DT_U8 ? ((const uint8_t *)t->data)[i]
                                   : ((const int32_t *)t->data)[i];
    s->sum[s->n++] = sum;
}

/* x -> q = QuantizeLinear(x) -> d = DequantizeLinear(q) -> dead = Relu(d)
 * (read by nobody: freed right after its node) and y = d + d; an input k
 * that no node reads. The observer sees x, k, q, d, dead, y in that order,
 * each with its data (ASan: before it is freed), and no constant. */
static void test_observe(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("observe");
    Shape sx = S(2, D(DIM_BATCH), D(4)), s0 = S(0), sk = S(1, D(2));
    Value *x = ir_value_new(g, "x", DT_F32, &sx, VAL_INPUT), *k = ir_value_new(g, "k", DT_I32, &sk, VAL_INPUT);
    Value *sc = ir_const_new(g, "sc", DT_F32, &s0, (float[]){0.5f}), *zp = ir_const_new(g, "zp", DT_U8, &s0, (uint8_t[]){10});
    Value *q = ir_value_new(g, "q", DT_U8, &sx, VAL_TEMP), *dq = ir_value_new(g, "d", DT_F32, &sx, VAL_TEMP);
    Value *dead = ir_value_new(g, "dead", DT_F32, &sx, VAL_TEMP), *y = ir_value_new(g, "y", DT_F32, &sx, VAL_TEMP);
    ir_graph_add_input(g, x);
    ir_graph_add_input(g, k);
    ir_node_new(g, OP_QUANTIZE, "quant", (Value *[]){x, sc, zp}, 3, &q, 1);
    ir_node_new(g, OP_DEQUANTIZE, "dequant", (Value *[]){q, sc, zp}, 3, &dq, 1);
    ir_node_new(g, OP_RELU, "dead", &dq, 1, &dead, 1);
    ir_node_new(g, OP_ADD, "add", (Value *[]){dq, dq}, 2, &y, 1);
    ir_graph_add_output(g, y);

    /* x / 0.5 + 10, saturated to u8: -6 -> 0 (tie at -5.5 + 10 = 4.5 -> 4), ... */
    float xs[12] = {-6.0f, -2.75f, 0.25f, 1.0f, 200.0f, -0.0f, 0.75f, 3.0f, 1.25f, 2.25f, -1.0f, 5.0f};
    const uint8_t want_q[12] = {0, 4, 10, 12, 255, 10, 12, 16, 12, 14, 8, 20};
    Tensor in[2] = {{DT_F32, S(2, D(3), D(4)), xs}, {DT_I32, sk, (int32_t[]){7, -3}}}, out;
    double qsum = 0, dsum = 0;
    for (int i = 0; i < 12; i++) {
        qsum += want_q[i];
        dsum += (want_q[i] - 10) * 0.5;
    }
    Seen seen = {0};
    Diag d;
    diag_init(&d, stderr);
    assert_true(interp_run_observe(g, 3, in, &out, &d, observe, &seen));
    const char *order[] = {"x", "k", "q", "d", "dead", "y"};
    assert_int_equal(seen.n, 6);
    for (int i = 0; i < 6; i++)
        assert_string_equal(seen.name[i], order[i]);
    Shape s34 = S(2, D(3), D(4));
    assert_true(shape_eq(&seen.shape[0], &s34) && shape_eq(&seen.shape[2], &s34) && shape_eq(&seen.shape[4], &s34));
    assert_true(shape_eq(&seen.shape[1], &sk));
    assert_int_equal(seen.dt[2], DT_U8);
    assert_true(seen.sum[1] == 4);
    assert_true(seen.sum[2] == qsum);
    assert_true(seen.sum[3] == dsum);
    assert_true(seen.sum[5] == 2 * dsum);
    assert_memory_equal(out.data, ((float[]){-10, -6, 0, 2, 245, 0, 2, 6, 2, 4, -2, 10}), 12 * sizeof(float));
    tensor_free(&out);

    /* no observer: interp_run */
    assert_true(interp_run_observe(g, 3, in, &out, &d, NULL, NULL));
    assert_memory_equal(out.data, ((float[]){-10, -6, 0, 2, 245, 0, 2, 6, 2, 4, -2, 10}), 12 * sizeof(float));
    tensor_free(&out);
    /* an error stops the run before the observer sees the failing node */
    seen.n = 0;
    Tensor bad[2] = {{DT_F32, S(2, D(3), D(5)), xs}, in[1]};
    assert_false(interp_run_observe(g, 3, bad, &out, &d, observe, &seen));
    assert_int_equal(seen.n, 0);
    diag_fini(&d);
    ir_graph_free(g);
}

/* The quantized ops report bad parameters and activations at the node. */
static void test_quant_errors(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("qerrors");
    Shape s23 = S(2, D(2), D(3)), s3 = S(1, D(3)), s2 = S(1, D(2)), s0 = S(0), s22 = S(2, D(2), D(2));
    Value *x = ir_value_new(g, "x", DT_F32, &s23, VAL_INPUT), *q = ir_value_new(g, "q", DT_I8, &s23, VAL_TEMP);
    Value *sc = ir_value_new(g, "sc", DT_F32, &s2, VAL_INPUT), *zp = ir_value_new(g, "zp", DT_U8, &s0, VAL_INPUT);
    Node *qn = ir_node_new(g, OP_QUANTIZE, "qz", (Value *[]){x, sc, zp}, 3, &q, 1);
    qn->a.axis = 1;
    Tensor tx, tq, ts = {DT_F32, s2, (float[]){1, 2}}, tz = {DT_U8, s0, (uint8_t[]){0}};
    assert_true(tensor_alloc(&tx, DT_F32, &s23) && tensor_alloc(&tq, DT_I8, &s23));
    Diag d;
    diag_init(&d, NULL);
    /* u8 zero point for an i8 output */
    assert_false(interp_node(qn, (const Tensor *[]){&tx, &ts, &tz}, (Tensor *[]){&tq}, &d));
    assert_true(diag_contains(&d, "QuantizeLinear: output is i8, y zero point u8"));
    /* 2 scales along an axis of 3 */
    assert_false(interp_node(qn, (const Tensor *[]){&tx, &ts, NULL}, (Tensor *[]){&tq}, &d));
    assert_true(diag_contains(&d, "QuantizeLinear: the scale has shape [2]"));
    /* per axis, then fine: i8 with zp 0 */
    Tensor ts3 = {DT_F32, s3, (float[]){1, 2, 4}};
    float *xv = tx.data;
    for (int i = 0; i < 6; i++)
        xv[i] = (float)(i * 10 - 25);
    assert_true(interp_node(qn, (const Tensor *[]){&tx, &ts3, NULL}, (Tensor *[]){&tq}, &d));
    assert_memory_equal(tq.data, ((int8_t[]){-25, -8, -1, 5, 8, 6}), 6); /* -15/2 = -7.5 -> -8, 5/4 = 1.25 -> 1 */

    /* QLinearMatMul with a fused sigmoid; a bias of the wrong length */
    Value *a = ir_value_new(g, "a", DT_U8, &s22, VAL_INPUT), *y = ir_value_new(g, "y", DT_U8, &s22, VAL_TEMP);
    Value *one = ir_value_new(g, "one", DT_F32, &s0, VAL_INPUT), *bias = ir_value_new(g, "bias", DT_I32, &s3, VAL_INPUT);
    Node *mm = ir_node_new(g, OP_QLINEAR_MATMUL, "qmm", (Value *[]){a, one, NULL, a, one, NULL, one, NULL, bias}, 9, &y, 1);
    Tensor ta = {DT_U8, s22, (uint8_t[]){1, 2, 3, 4}}, tone = {DT_F32, s0, (float[]){1}}, ty;
    Tensor tb = {DT_I32, s3, (int32_t[]){1, 2, 3}}, tb2 = {DT_I32, s2, (int32_t[]){100, -100}};
    assert_true(tensor_alloc(&ty, DT_U8, &s22));
    const Tensor *mi[9] = {&ta, &tone, NULL, &ta, &tone, NULL, &tone, NULL, &tb};
    assert_false(interp_node(mm, mi, (Tensor *[]){&ty}, &d));
    assert_true(diag_contains(&d, "QLinearMatMul: the bias (want i32[N]) has shape [3]"));
    mi[8] = &tb2;
    mm->a.act = ACT_SIGMOID;
    assert_false(interp_node(mm, mi, (Tensor *[]){&ty}, &d));
    assert_true(diag_contains(&d, "QLinearMatMul: fused sigmoid is not defined on quantized values"));
    mm->a.act = ACT_RELU; /* [[7,10],[15,22]] + [100,-100]: 107, -90 -> 0 (relu: zp 0), 115, -78 -> 0 */
    assert_true(interp_node(mm, mi, (Tensor *[]){&ty}, &d));
    assert_memory_equal(ty.data, ((uint8_t[]){107, 0, 115, 0}), 4);
    tensor_free(&tx);
    tensor_free(&tq);
    tensor_free(&ty);
    diag_fini(&d);
    ir_graph_free(g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cases),
        cmocka_unit_test(test_run_batch),
        cmocka_unit_test(test_run_plumbing),
        cmocka_unit_test(test_node_errors),
        cmocka_unit_test(test_observe),
        cmocka_unit_test(test_quant_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

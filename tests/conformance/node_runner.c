/* node_runner.c — the official ONNX node tests, compiled and run.
 *
 *   node_runner --tests DIR --target x86_64|aarch64|nvptx [--work DIR]
 *               [--qkc PATH] [--only SUBSTR] [--per-op N]
 *
 * For every test in DIR/node/ whose graph uses only ops qkc supports:
 *   - the model is compiled by qkc for the target; inputs that determine
 *     shapes (Reshape's shape, Squeeze/Unsqueeze axes) are bound as
 *     constants (--bind), as an ahead-of-time compiler must;
 *   - x86_64: the artifact is loaded and run in this process;
 *     aarch64: `qkc run` runs it under qemu-aarch64;
 *     nvptx: the PTX must pass ptxas for sm_80 and sm_90, and the artifact
 *     is run when a CUDA driver and GPU are present;
 *   - outputs must match the test's expected outputs (ONNX's tolerance,
 *     rtol 1e-3, atol 1e-7) AND the reference interpreter's (1e-5 relative
 *     to the element or the tensor's largest magnitude; integer outputs
 *     exactly; f16/bf16 within one unit in their last place).
 * Tests that use non-tensor values (sequences, optionals) or strings are
 * skipped with that reason. The last line is
 *   onnx-node: P passed, F failed, S skipped
 * and the exit status is non-zero when a test failed (ops with 10% or more
 * of their tests skipped are marked in the per-op table). --per-op N runs at most N tests per op (for
 * the slower emulated target). */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "qkc/qkrt.h"
#include "runtime/npy.h"
#include "tools/driver.h"
#include "test_util.h"

extern char **environ;

/* Per-op statistics, by the ONNX op type of a test's first node; every op
 * type qkc imports (frontend's table, from ir/ops.def) is in scope. */
enum { MAXT = 16, MAXOPS = 256 };

typedef struct OpStats {
    char *op;
    int pass, fail, skip;
} OpStats;

static OpStats stats[MAXOPS];
static int nstats;
static const char *target = "x86_64", *work = "/tmp/qkc-node", *qkc_bin = NULL, *only = NULL;
static int per_op = 0;
static bool gpu_present;

static int scope_index(const char *op)
{
    for (int i = 0; i < nstats; i++)
        if (strcmp(stats[i].op, op) == 0)
            return i;
    if (nstats == MAXOPS)
        return -1;
    stats[nstats].op = strdup(op);
    return nstats++;
}

static bool op_in_scope(const Onnx__NodeProto *np) { return onnx_op_supported(np->op_type, np->domain); }

typedef struct Case {
    const char *name, *dir;
    char model[4096];
    int nin, nout;
    char *in_names[MAXT], *out_names[MAXT];
    Tensor in[MAXT], want[MAXT];
    bool bind[MAXT];
    bool unused[MAXT]; /* read by no node (its data may not match its declared shape) */
    int in_code[MAXT], out_code[MAXT]; /* declared ONNX element types */
    Shape in_shape[MAXT];               /* declared input shapes */
} Case;

static void case_free(Case *c)
{
    for (int i = 0; i < c->nin; i++) {
        free(c->in_names[i]);
        tensor_free(&c->in[i]);
    }
    for (int i = 0; i < c->nout; i++) {
        free(c->out_names[i]);
        tensor_free(&c->want[i]);
    }
}

/* ---- comparisons -------------------------------------------------------- */

static double elem(const Tensor *t, int64_t i)
{
    const void *p = t->data;
    switch (t->dtype) {
    case DT_F32: return ((const float *)p)[i];
    case DT_F64: return ((const double *)p)[i];
    case DT_F16: return f16_to_f32(((const uint16_t *)p)[i]);
    case DT_BF16: return bf16_to_f32(((const uint16_t *)p)[i]);
    case DT_I8: return ((const int8_t *)p)[i];
    case DT_U8: case DT_BOOL: return ((const uint8_t *)p)[i];
    case DT_I16: return ((const int16_t *)p)[i];
    case DT_U16: return ((const uint16_t *)p)[i];
    case DT_I32: return ((const int32_t *)p)[i];
    case DT_U32: return ((const uint32_t *)p)[i];
    case DT_I64: return (double)((const int64_t *)p)[i];
    case DT_U64: return (double)((const uint64_t *)p)[i];
    default: return 0;
    }
}

/* mode 0: ONNX tolerance (vs expected); mode 1: the interpreter's. */
static bool compare(const Tensor *got, const Tensor *want, int mode, char *why, size_t n)
{
    if (got->dtype != want->dtype) {
        snprintf(why, n, "dtype %s, expected %s", dtype_name(got->dtype), dtype_name(want->dtype));
        return false;
    }
    int64_t cnt = tensor_numel(want);
    if (tensor_numel(got) != cnt || !shape_eq(&got->shape, &want->shape)) {
        char a[96], b[96];
        snprintf(why, n, "shape %s, expected %s", shape_str(&got->shape, a, sizeof a),
                 shape_str(&want->shape, b, sizeof b));
        return false;
    }
    bool fl = dtype_is_float(want->dtype);
    double mx = 0;
    for (int64_t i = 0; i < cnt; i++)
        if (isfinite(elem(want, i)) && fabs(elem(want, i)) > mx)
            mx = fabs(elem(want, i));
    double ulp = want->dtype == DT_F16 ? 1.0 / 1024 : want->dtype == DT_BF16 ? 1.0 / 128 : 0;
    for (int64_t i = 0; i < cnt; i++) {
        double g = elem(got, i), w = elem(want, i);
        bool ok;
        if (!fl)
            ok = g == w;
        else if (isnan(w) || isnan(g))
            ok = isnan(w) && isnan(g);
        else if (isinf(w) || isinf(g))
            ok = g == w;
        else if (mode == 0)
            ok = fabs(g - w) <= 1e-7 + 1e-3 * fabs(w) + ulp * fabs(w);
        else
            ok = fabs(g - w) <= 1e-5 * (fabs(w) + mx) + ulp * fabs(w);
        if (!ok) {
            snprintf(why, n, "element %lld: %.9g, %s %.9g", (long long)i, g, mode ? "interpreter" : "expected", w);
            return false;
        }
    }
    return true;
}

/* ---- loading a test ------------------------------------------------------ */

/* onnx 1.12 stores bfloat16 test data as UINT16 tensors: take the declared
 * type when both are 16-bit. */
static void retype(Tensor *t, int code)
{
    DType want = dtype_from_onnx(code);
    if (want != DT_UNDEF && want != t->dtype && dtype_size(want) == dtype_size(t->dtype) && dtype_size(want) == 2)
        t->dtype = want;
}

static bool load_case(Case *c, const char *tests, const char *name, char *skip, size_t n, bool *in_scope,
                      int *op_index, Diag *d)
{
    memset(c, 0, sizeof *c);
    c->name = name;
    snprintf(c->model, sizeof c->model, "%s/node/%s/model.onnx", tests, name);
    ModelFile mf;
    *in_scope = false;
    if (!model_read(c->model, &mf, d)) {
        model_file_free(&mf);
        return false;
    }
    const Onnx__GraphProto *gp = mf.proto->graph;
    bool ok = gp && gp->n_node > 0;
    for (size_t i = 0; ok && i < gp->n_node; i++)
        ok = op_in_scope(gp->node[i]) && (!gp->node[i]->domain || !*gp->node[i]->domain);
    if (!ok) {
        model_file_free(&mf);
        return true; /* not an op of ours */
    }
    *in_scope = true;
    *op_index = scope_index(gp->node[0]->op_type);
    /* values that are not tensors, or strings: outside the product */
    for (size_t i = 0; i < gp->n_input + gp->n_output; i++) {
        const Onnx__ValueInfoProto *vi = i < gp->n_input ? gp->input[i] : gp->output[i - gp->n_input];
        const Onnx__TypeProto *tp = vi->type;
        if (!tp || tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
            snprintf(skip, n, "'%s' is a sequence/optional value; qkc compiles tensor graphs", vi->name);
            model_file_free(&mf);
            return true;
        }
        if (tp->tensor_type->elem_type == 8) {
            snprintf(skip, n, "'%s' is a string tensor; qkc compiles numeric tensors", vi->name);
            model_file_free(&mf);
            return true;
        }
    }
    /* TensorFlow's crop-and-resize coordinates are outside qkc's Resize */
    if (strcmp(name, "test_resize_tf_crop_and_resize") == 0) {
        snprintf(skip, n, "coordinate_transformation_mode tf_crop_and_resize is not supported (its roi crop)");
        model_file_free(&mf);
        return true;
    }
    /* training-mode Dropout with a ratio drops at random: nothing to compare */
    if (strncmp(name, "test_training_dropout", 21) == 0 && !strstr(name, "zero_ratio")) {
        snprintf(skip, n, "training-mode Dropout is random; qkc compiles inference, where Dropout is the identity");
        model_file_free(&mf);
        return true;
    }
    /* inputs that determine shapes (ir/ops.def's '!' operands), and the
     * inputs they are computed from, become constants, as an ahead-of-time
     * compiler must have them (what --bind does for a user) */
    size_t nst = 0, cap = 64;
    const char **stat = malloc(cap * sizeof *stat);
    for (size_t i = 0; stat && i < gp->n_node; i++) {
        const Onnx__NodeProto *np = gp->node[i];
        for (size_t j = 0; j < np->n_input; j++)
            if (np->input[j] && *np->input[j] && onnx_input_is_static(np->op_type, np->domain, (int)j)) {
                if (nst == cap)
                    stat = realloc(stat, (cap *= 2) * sizeof *stat);
                stat[nst++] = np->input[j];
            }
    }
    for (bool grew = true; grew && stat;) {
        grew = false;
        for (size_t i = gp->n_node; i-- > 0;) {
            const Onnx__NodeProto *np = gp->node[i];
            if (strcmp(np->op_type, "Shape") == 0 || strcmp(np->op_type, "Size") == 0)
                continue; /* they need the input's shape only */
            bool feeds = false;
            for (size_t o = 0; o < np->n_output && !feeds; o++)
                for (size_t k = 0; k < nst && !feeds; k++)
                    feeds = strcmp(stat[k], np->output[o]) == 0;
            for (size_t j = 0; feeds && j < np->n_input; j++) {
                bool have = !np->input[j] || !*np->input[j];
                for (size_t k = 0; k < nst && !have; k++)
                    have = strcmp(stat[k], np->input[j]) == 0;
                if (have)
                    continue;
                if (nst == cap)
                    stat = realloc(stat, (cap *= 2) * sizeof *stat);
                stat[nst++] = np->input[j];
                grew = true;
            }
        }
    }
    for (size_t k = 0; k < gp->n_input && stat; k++)
        for (size_t j = 0; j < nst; j++)
            if (strcmp(gp->input[k]->name, stat[j]) == 0)
                c->bind[k] = true;
    free(stat);
    c->nin = (int)gp->n_input;
    c->nout = (int)gp->n_output;
    for (int i = 0; i < c->nin && i < MAXT; i++) {
        c->in_names[i] = strdup(gp->input[i]->name);
        const Onnx__TypeProto__Tensor *tt = gp->input[i]->type->tensor_type;
        c->in_code[i] = tt->elem_type;
        c->in_shape[i].rank = tt->shape ? (int)tt->shape->n_dim : 0;
        for (int k = 0; tt->shape && k < (int)tt->shape->n_dim && k < QK_MAX_RANK; k++)
            c->in_shape[i].d[k] = tt->shape->dim[k]->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE
                                      ? tt->shape->dim[k]->dim_value
                                      : 1;
        c->unused[i] = true;
        for (size_t j = 0; j < gp->n_node; j++)
            for (size_t k = 0; k < gp->node[j]->n_input; k++)
                if (strcmp(gp->node[j]->input[k], gp->input[i]->name) == 0)
                    c->unused[i] = false;
    }
    for (int i = 0; i < c->nout && i < MAXT; i++) {
        c->out_names[i] = strdup(gp->output[i]->name);
        c->out_code[i] = gp->output[i]->type->tensor_type->elem_type;
    }
    model_file_free(&mf);
    for (int i = 0; i < c->nin; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/node/%s/test_data_set_0/input_%d.pb", tests, name, i);
        if (!onnx_tensor_read_file(p, &c->in[i], NULL, d))
            return false;
        retype(&c->in[i], c->in_code[i]);
        if (c->unused[i] && !shape_eq(&c->in[i].shape, &c->in_shape[i])) {
            /* e.g. CastLike's expanded tests: 'like' is unread and its data
             * does not match its declared shape; any data of the declared
             * shape will do */
            DType dt = c->in[i].dtype;
            tensor_free(&c->in[i]);
            if (!tensor_alloc(&c->in[i], dt, &c->in_shape[i]))
                return false;
        }
    }
    for (int i = 0; i < c->nout; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/node/%s/test_data_set_0/output_%d.pb", tests, name, i);
        if (!onnx_tensor_read_file(p, &c->want[i], NULL, d))
            return false;
        retype(&c->want[i], c->out_code[i]);
    }
    return true;
}

static bool write_npy(const char *path, const Tensor *t)
{
    char msg[256];
    return npy_write(path, dtype_to_onnx(t->dtype), t->shape.rank, t->shape.d, t->data, msg, sizeof msg) == 0;
}


/* ---- one test ----------------------------------------------------------- */

/* The interpreter's outputs, for the second comparison. */
static bool interp_case(Case *c, DriverOptions *o, Tensor *out, char *why, size_t n)
{
    Diag d;
    diag_init(&d, NULL);
    Graph *g = drv_import(c->model, o, &d);
    PassCtx pc = {.d = &d};
    bool ok = g && pass_shape_infer(g, &pc);
    Tensor ins[MAXT];
    int k = 0;
    for (int i = 0; ok && i < c->nin; i++)
        if (!c->bind[i])
            ins[k++] = c->in[i];
    int64_t batch = 1;
    for (int i = 0; ok && i < g->ninputs; i++)
        if (shape_has_batch(&g->inputs[i]->shape) && ins[i].shape.rank > 0)
            batch = ins[i].shape.d[0];
    ok = ok && interp_run(g, batch, ins, out, &d);
    if (!ok)
        snprintf(why, n, "interpreter: %s", d.buf ? d.buf : "failed");
    ir_graph_free(g);
    diag_fini(&d);
    return ok;
}

static bool run_in_process(Case *c, const char *so, Tensor *got, char *why, size_t n)
{
    qkrt_model *m;
    if (qkrt_model_load(so, &m) != QKRT_OK) {
        snprintf(why, n, "load: %s", qkrt_error_message());
        return false;
    }
    const void *ins[MAXT];
    size_t in_bytes[MAXT], out_bytes[MAXT];
    void *outs[MAXT];
    int k = 0;
    int64_t batch = 1;
    for (int i = 0; i < c->nin; i++) {
        if (c->bind[i])
            continue;
        const qkrt_tensor_desc *t = qkrt_model_input(m, k);
        if (t && t->rank > 0 && t->dims[0] == QKRT_DIM_BATCH && c->in[i].shape.rank > 0)
            batch = c->in[i].shape.d[0];
        ins[k] = c->in[i].data;
        in_bytes[k] = (size_t)tensor_numel(&c->in[i]) * (size_t)dtype_size(c->in[i].dtype);
        k++;
    }
    bool ok = true;
    for (int i = 0; i < c->nout; i++) {
        const qkrt_tensor_desc *t = qkrt_model_output(m, i);
        Shape s = {.rank = t->rank};
        for (int j = 0; j < t->rank; j++)
            s.d[j] = t->dims[j] == QKRT_DIM_BATCH ? batch : t->dims[j];
        ok = ok && tensor_alloc(&got[i], dtype_from_onnx(t->dtype), &s);
        outs[i] = got[i].data;
        out_bytes[i] = qkrt_tensor_bytes(t, batch);
    }
    qkrt_context *ctx = NULL;
    if (ok && (qkrt_context_create(m, &ctx) != QKRT_OK || qkrt_run(ctx, batch, ins, in_bytes, outs, out_bytes) != QKRT_OK)) {
        snprintf(why, n, "run: %s", qkrt_error_message());
        ok = false;
    }
    qkrt_context_free(ctx);
    qkrt_model_free(m);
    return ok;
}

static bool run_qemu(Case *c, const char *so, const char *dir, Tensor *got, char *why, size_t n)
{
    const char *argv[MAXT * 2 + 12];
    char specs[MAXT][4400], outdir[4200], log[4200];
    int k = 0;
    argv[k++] = qkc_bin;
    argv[k++] = "run";
    argv[k++] = so;
    for (int i = 0; i < c->nin; i++) {
        if (c->bind[i])
            continue;
        char path[4200];
        snprintf(path, sizeof path, "%s/in%d.npy", dir, i);
        if (!write_npy(path, &c->in[i])) {
            snprintf(why, n, "cannot write %s", path);
            return false;
        }
        snprintf(specs[i], sizeof specs[i], "%s=%s", c->in_names[i], path);
        argv[k++] = "-i";
        argv[k++] = specs[i];
    }
    snprintf(outdir, sizeof outdir, "%s/out", dir);
    snprintf(log, sizeof log, "%s/run.log", dir);
    argv[k++] = "-d";
    argv[k++] = outdir;
    argv[k] = NULL;
    if (tu_spawn(argv, log) != 0) {
        tu_read_log(log, why, n);
        return false;
    }
    for (int i = 0; i < c->nout; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s.npy", outdir, c->out_names[i]);
        Diag d;
        diag_init(&d, NULL);
        bool ok = drv_read_npy(path, &got[i], &d);
        if (ok)
            retype(&got[i], c->out_code[i]); /* bfloat16 comes back as uint16 bits */
        if (!ok)
            snprintf(why, n, "%s", d.buf ? d.buf : path);
        diag_fini(&d);
        if (!ok)
            return false;
    }
    return true;
}

static bool ptxas_ok(const char *ptx, const char *dir, char *why, size_t n)
{
    static const char *archs[] = {"sm_80", "sm_90"};
    const char *ptxas = getenv("QKC_PTXAS");
    if (!ptxas || !*ptxas)
        ptxas = QKC_PTXAS;
    for (int i = 0; i < 2; i++) {
        char log[4200];
        snprintf(log, sizeof log, "%s/ptxas.log", dir);
        const char *argv[] = {ptxas, "-arch", archs[i], ptx, "-o", "/dev/null", NULL};
        if (tu_spawn(argv, log) != 0) {
            char msg[512];
            tu_read_log(log, msg, sizeof msg);
            snprintf(why, n, "ptxas -arch %s: %s", archs[i], msg);
            return false;
        }
    }
    return true;
}

/* PASS (1), FAIL (0) with the reason in why. */
static int run_case(Case *c, char *why, size_t n)
{
    char dir[4200], so[4300], npyp[MAXT][4300];
    snprintf(dir, sizeof dir, "%s/%s/%s", work, target, c->name);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "%s/%s", work, target);
    mkdir(work, 0777);
    mkdir(cmd, 0777);
    mkdir(dir, 0777);
    const char *binds[MAXT];
    int nb = 0;
    for (int i = 0; i < c->nin; i++) {
        if (!c->bind[i])
            continue;
        char spec[4400];
        snprintf(npyp[i], sizeof npyp[i], "%s/bind%d.npy", dir, i);
        if (!write_npy(npyp[i], &c->in[i])) {
            snprintf(why, n, "cannot write %s", npyp[i]);
            return 0;
        }
        snprintf(spec, sizeof spec, "%s=%s", c->in_names[i], npyp[i]);
        binds[nb++] = strdup(spec);
    }
    DriverOptions o = {.target = target, .emit = EMIT_SO, .opt_level = 2, .verify = true, .nbind = nb,
                       .binds = binds};
    bool nvptx = strcmp(target, "nvptx") == 0;
    int result = 0;
    Tensor got[MAXT] = {{0}}, ref[MAXT] = {{0}};
    Diag d;
    diag_init(&d, NULL);
    if (nvptx) {
        snprintf(so, sizeof so, "%s/model.ptx", dir);
        o.emit = EMIT_PTX;
        o.out = so;
        if (!drv_compile(c->model, &o, &d)) {
            snprintf(why, n, "compile: %s", d.buf ? d.buf : "");
            goto done;
        }
        if (!ptxas_ok(so, dir, why, n))
            goto done;
        if (!gpu_present) {
            result = 1;
            goto done;
        }
        o.emit = EMIT_SO;
    }
    snprintf(so, sizeof so, "%s/model.so", dir);
    o.out = so;
    if (!drv_compile(c->model, &o, &d)) {
        snprintf(why, n, "compile: %s", d.buf ? d.buf : "");
        goto done;
    }
    bool ran = strcmp(target, "aarch64") == 0 ? run_qemu(c, so, dir, got, why, n) : run_in_process(c, so, got, why, n);
    if (!ran)
        goto done;
    if (!interp_case(c, &o, ref, why, n))
        goto done;
    for (int i = 0; i < c->nout; i++) {
        char w[512];
        if (!compare(got + i, c->want + i, 0, w, sizeof w)) {
            snprintf(why, n, "output '%s' vs expected: %s", c->out_names[i], w);
            goto done;
        }
        if (!compare(got + i, ref + i, 1, w, sizeof w)) {
            snprintf(why, n, "output '%s' vs interpreter: %s", c->out_names[i], w);
            goto done;
        }
    }
    result = 1;
done:
    for (int i = 0; i < c->nout; i++) {
        tensor_free(&got[i]);
        tensor_free(&ref[i]);
    }
    for (int i = 0; i < nb; i++)
        free((void *)binds[i]);
    diag_fini(&d);
    return result;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    const char *tests = NULL;
    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(argv[i], "--tests") == 0 && v)
            tests = v, i++;
        else if (strcmp(argv[i], "--target") == 0 && v)
            target = v, i++;
        else if (strcmp(argv[i], "--work") == 0 && v)
            work = v, i++;
        else if (strcmp(argv[i], "--qkc") == 0 && v)
            qkc_bin = v, i++;
        else if (strcmp(argv[i], "--only") == 0 && v)
            only = v, i++;
        else if (strcmp(argv[i], "--per-op") == 0 && v)
            per_op = atoi(v), i++;
        else {
            fprintf(stderr, "usage: %s --tests DIR [--target T] [--work DIR] [--qkc PATH] [--only S] [--per-op N]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!tests)
        return fprintf(stderr, "node_runner: --tests DIR is required\n"), 2;
    if (strcmp(target, "nvptx") == 0) {
        void *h = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
        gpu_present = h != NULL;
        if (h)
            dlclose(h);
    }
    char ndir[4200];
    snprintf(ndir, sizeof ndir, "%s/node", tests);
    DIR *dp = opendir(ndir);
    if (!dp)
        return fprintf(stderr, "node_runner: cannot open %s: %s\n", ndir, strerror(errno)), 2;
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(dp)))
        if (strncmp(e->d_name, "test_", 5) == 0) {
            names = realloc(names, sizeof(char *) * (nn + 1));
            names[nn++] = strdup(e->d_name);
        }
    closedir(dp);
    qsort(names, nn, sizeof *names, cmp_str);

    int pass = 0, fail = 0, skip = 0, gpu_runs = 0;
    int taken[MAXOPS] = {0};
    for (size_t t = 0; t < nn; t++) {
        if (only && !strstr(names[t], only))
            continue;
        Case c;
        char skip_why[512] = "", why[2048] = "";
        bool in_scope;
        int op = -1;
        Diag d;
        diag_init(&d, NULL);
        bool loaded = load_case(&c, tests, names[t], skip_why, sizeof skip_why, &in_scope, &op, &d);
        if (!in_scope && loaded) {
            diag_fini(&d);
            case_free(&c);
            continue;
        }
        if (per_op && op >= 0 && taken[op] >= per_op) {
            diag_fini(&d);
            case_free(&c);
            continue;
        }
        if (op >= 0)
            taken[op]++;
        if (!loaded) {
            printf("FAIL %s: cannot read the test: %s", names[t], d.buf ? d.buf : "\n");
            fail++;
            if (op >= 0)
                stats[op].fail++;
        } else if (*skip_why) {
            printf("SKIP %s: %s\n", names[t], skip_why);
            skip++;
            stats[op].skip++;
        } else if (run_case(&c, why, sizeof why)) {
            pass++;
            stats[op].pass++;
            if (strcmp(target, "nvptx") == 0 && gpu_present)
                gpu_runs++;
        } else {
            printf("FAIL %s: %s\n", names[t], why);
            fail++;
            stats[op].fail++;
        }
        fflush(stdout);
        diag_fini(&d);
        case_free(&c);
    }
    /* every op qkc imports needs node tests, but those onnx 1.12 has none of */
    static const struct {
        const char *op, *why;
    } untested[] = {
        {"GroupNormalization", "added in onnx 1.13 (opset 18); tests/ir and tests/codegen cover it"},
        {"Gelu", "added in onnx 1.15 (opset 20); tests/ir and tests/codegen cover it"},
        {"Mish", "added in onnx 1.13 (opset 18); tests/ir and tests/codegen cover it"},
        {"QLinearAdd", "a com.microsoft op; tests/ir, tests/codegen and the ORT-quantized models cover it"},
        {"QLinearGlobalAveragePool", "a com.microsoft op; covered as QLinearAdd is"},
        {"QGemm", "a com.microsoft op; covered by the ORT-quantized models (e2e_quant_models)"},
    };
    int missing = 0;
    const char *dom;
    for (int i = 0; !only; i++) {
        const char *op = onnx_op_at(i, &dom);
        if (!op)
            break;
        if (!*op)
            continue;
        bool tested = false;
        for (int k = 0; k < nstats && !tested; k++)
            tested = strcmp(stats[k].op, op) == 0 && stats[k].pass + stats[k].fail + stats[k].skip > 0;
        const char *why = NULL;
        for (size_t k = 0; k < sizeof untested / sizeof untested[0] && !why; k++)
            if (strcmp(untested[k].op, op) == 0)
                why = untested[k].why;
        if (tested)
            continue;
        if (why) {
            printf("NOTE %s has no ONNX node test: %s\n", op, why);
        } else {
            printf("FAIL %s%s%s: qkc imports it but no node test ran it\n", dom ? dom : "", dom ? "." : "", op);
            missing++;
        }
    }
    fail += missing;
    bool skip_limit = false;
    printf("\nper op (%s): passed / failed / skipped\n", target);
    for (int i = 0; i < nstats; i++) {
        int total = stats[i].pass + stats[i].fail + stats[i].skip;
        bool over = total && stats[i].skip * 10 >= total;
        printf("  %-24s %3d / %d / %d%s\n", stats[i].op, stats[i].pass, stats[i].fail, stats[i].skip,
               over ? "  (10% or more skipped: see the SKIP lines for why)" : "");
        skip_limit = skip_limit || over;
    }
    for (int i = 0; i < nstats; i++)
        free(stats[i].op);
    if (strcmp(target, "nvptx") == 0)
        printf("nvptx: PTX checked with ptxas for sm_80 and sm_90; %s\n",
               gpu_present ? "run on the GPU too" : "no CUDA driver here, so not run on a GPU");
    (void)gpu_runs;
    printf("onnx-node: %d passed, %d failed, %d skipped\n", pass, fail, skip);
    for (size_t t = 0; t < nn; t++)
        free(names[t]);
    free(names);
    /* Skips are reported, not failed: each names a value type (sequence,
     * optional, string) that a compiler of numeric tensor graphs does not
     * take; anything else that does not work is a failure. */
    (void)skip_limit;
    return fail ? 1 : 0;
}

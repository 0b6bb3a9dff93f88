/* driver.c — the compile pipeline in one place:
 *   read (binary or text) -> import -> passes (passes/pipeline.c: shape, fold,
 *   ..., plan) -> codegen (kernels, entry, descriptor) -> emit/link.
 * Every stage reports to one Diag and stops the pipeline on errors. */
#include "driver.h"

#include <ctype.h>
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "calibrate.h"
#include "mixed.h"
#include "report.h"
#include "runtime/npy.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

uint64_t drv_hash_str(const char *s, uint64_t h)
{
    for (; s && *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return (h ^ 0xff) * 1099511628211ull; /* a separator */
}

uint64_t drv_hash_file(const char *path, uint64_t h)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return h;
    unsigned char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        for (size_t i = 0; i < n; i++)
            h = (h ^ buf[i]) * 1099511628211ull;
    fclose(f);
    return h;
}

bool drv_read_npy(const char *path, Tensor *t, Diag *d)
{
    NpyArray a;
    char msg[512];
    if (npy_read(path, &a, msg, sizeof msg) != 0)
        return diag_error(d, loc_none(), "%s", msg);
    DType dt = dtype_from_onnx(a.dtype);
    if (dt == DT_UNDEF || a.rank > QK_MAX_RANK) {
        npy_free(&a);
        return diag_error(d, loc_file(path), "unsupported element type or rank");
    }
    t->dtype = dt;
    t->shape.rank = a.rank;
    for (int i = 0; i < a.rank; i++)
        t->shape.d[i] = a.dims[i];
    t->data = a.data; /* ownership moves to the tensor */
    return true;
}

Graph *drv_import(const char *model, const DriverOptions *o, Diag *d) { return drv_import_left(model, o, NULL, d); }

Graph *drv_import_left(const char *model, const DriverOptions *o, int64_t *const_left, Diag *d)
{
    ImportOptions io = {.batch = o->batch, .max_const_bytes = o->max_const_bytes, .const_left = const_left};
    const char **names = calloc((size_t)o->nbind + 1, sizeof *names);
    Tensor *vals = calloc((size_t)o->nbind + 1, sizeof *vals);
    char **dnames = calloc((size_t)o->ndim + 1, sizeof *dnames);
    int64_t *dvals = calloc((size_t)o->ndim + 1, sizeof *dvals);
    Graph *g = NULL;
    int loaded = 0;
    bool ok = names && vals && dnames && dvals;
    for (int i = 0; ok && i < o->ndim; i++) {
        const char *eq = strchr(o->dims[i], '=');
        char *end = NULL;
        long long v = eq ? strtoll(eq + 1, &end, 10) : -1;
        if (!eq || eq == o->dims[i] || !end || *end || end == eq + 1 || v < 1 || v > INT32_MAX) {
            ok = diag_error(d, loc_none(), "--dim %s: write NAME=N with N a positive size", o->dims[i]);
            break;
        }
        dnames[i] = strndup(o->dims[i], (size_t)(eq - o->dims[i]));
        dvals[i] = v;
    }
    io.ndims = o->ndim;
    io.dim_names = (const char *const *)dnames;
    io.dim_values = dvals;
    for (int i = 0; ok && i < o->nbind; i++) {
        const char *eq = strchr(o->binds[i], '=');
        if (!eq || eq == o->binds[i]) {
            ok = diag_error(d, loc_none(), "--bind %s: write NAME=FILE.npy", o->binds[i]);
            break;
        }
        names[i] = strndup(o->binds[i], (size_t)(eq - o->binds[i]));
        ok = drv_read_npy(eq + 1, &vals[i], d);
        loaded = i + 1;
    }
    io.nbind = ok ? o->nbind : 0;
    io.bind_names = names;
    io.bind_values = vals;
    if (ok)
        g = model_load(model, &io, d);
    for (int i = 0; i < o->nbind; i++) {
        free((void *)names[i]);
        if (i < loaded)
            tensor_free(&vals[i]);
    }
    for (int i = 0; i < o->ndim; i++)
        free(dnames[i]);
    free(names);
    free(vals);
    free(dnames);
    free(dvals);
    return g;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* A --calib spec into the artifact's hash: its text and the bytes of its
 * file, or of every .npy of its directory (the data decides the code). */
static uint64_t hash_calib(const char *spec, uint64_t h)
{
    h = drv_hash_str(spec, h);
    const char *path = strchr(spec, '=') ? strchr(spec, '=') + 1 : spec;
    DIR *dir = opendir(path);
    if (!dir)
        return drv_hash_file(path, h);
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        char **grown = len > 4 && strcmp(e->d_name + len - 4, ".npy") == 0
                           ? realloc(names, sizeof *names * (n + 1)) : NULL;
        if (grown && (grown[n] = strdup(e->d_name)))
            names = grown, n++;
        else if (grown)
            names = grown;
    }
    closedir(dir);
    if (n)
        qsort(names, n, sizeof *names, cmp_name);
    for (size_t i = 0; i < n; i++) {
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", path, names[i]);
        h = drv_hash_file(full, drv_hash_str(names[i], h));
        free(names[i]);
    }
    free(names);
    return h;
}

/* A C identifier from the output file's base name ("models/cnn.o" -> cnn). */
static char *default_prefix(const char *out)
{
    const char *base = strrchr(out, '/') ? strrchr(out, '/') + 1 : out;
    size_t n = strcspn(base, ".");
    char *p = malloc(n + 2);
    size_t k = 0;
    if (!p)
        return NULL;
    if (n == 0 || isdigit((unsigned char)base[0]))
        p[k++] = 'm';
    for (size_t i = 0; i < n; i++)
        p[k++] = isalnum((unsigned char)base[i]) ? base[i] : '_';
    p[k] = 0;
    return p;
}

/* The model's identity for profiles: its bytes' hash, in hex. */
static void model_id(const char *model, char *hex, size_t n)
{
    snprintf(hex, n, "%016llx", (unsigned long long)drv_hash_file(model, 1469598103934665603ull));
}

typedef struct RangeCtx {
    const CalibProfile *prof;
    CalibOptions opts;
} RangeCtx;

static bool profile_range(void *ctx, const char *value, double *lo, double *hi)
{
    RangeCtx *r = ctx;
    const CalibStats *s = profile_find(r->prof, value);
    return s && calib_range(s, &r->opts, lo, hi);
}

/* Import and run the passes through "fuse": the graph calibration and the
 * quantizer see. pc->const_left must point to the caller's storage (the
 * later folding pass draws from it too). */
static Graph *to_fused(const char *model, const DriverOptions *o, PassCtx *pc, Diag *d)
{
    Graph *g = drv_import_left(model, o, pc->const_left, d);
    if (!g)
        return NULL;
    if (o->dump && (o->dump_import || (o->print_after && (strcmp(o->print_after, "import") == 0 ||
                                                          strcmp(o->print_after, "all") == 0)))) {
        if (o->dump_fn) {
            o->dump_fn(o->dump_ctx, g, o->dump);
        } else {
            fprintf(o->dump, "# after import\n");
            ir_print(g, o->dump);
        }
    }
    if ((o->verify && !ir_verify(g, d)) || !passes_run(g, pc, "fuse")) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

/* The compiled calibration engine for model (whose fused graph is g): the
 * fused graph again, every float value an output, compiled for this
 * machine into a temporary shared object and loaded (calib_native.c).
 * NULL, with a warning naming why, when it cannot be built: the caller
 * calibrates with the interpreter instead. */
static CalibNative *native_engine(const char *model, const DriverOptions *o, const Graph *g, Diag *d)
{
    Diag quiet;
    diag_init(&quiet, NULL);
    DriverOptions oo = *o;
    oo.precision = PREC_FP32, oo.dump = NULL, oo.print_after = NULL, oo.dump_import = false;
    int64_t const_left = 0;
    PassCtx pc = {.d = &quiet, .const_left = &const_left};
    CgOptions co = {.emit = EMIT_SO, .opt_level = 1, .model_name = g->name, .prefix = "qkc_calib"}; /* -O1: as fast here, compiles sooner */
    char path[4096];
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/qkc-calib-XXXXXX.so", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemps(path, 3);
    CalibNative *cn = NULL;
    Graph *g2 = NULL;
    bool ok = fd >= 0 && cg_target_resolve(NULL, NULL, &co.target, &quiet) && (g2 = to_fused(model, &oo, &pc, &quiet));
    if (fd >= 0)
        close(fd);
    if (ok) {
        calib_native_observe_all(g2);
        co.out = path;
        co.model_hash = drv_hash_str(model, drv_hash_str("calibration", 1469598103934665603ull)); /* a temporary */
        ok = passes_run_from(g2, &pc, "quantize", NULL) && cg_compile(g2, &co, &quiet);
    }
    if (ok)
        cn = calib_native_open(path, g, o->calib_threads, &quiet);
    if (fd >= 0)
        unlink(path);
    ir_graph_free(g2);
    if (!cn) {
        /* the first error (warnings may come before it) */
        const char *why = quiet.buf && strstr(quiet.buf, "error: ") ? strstr(quiet.buf, "error: ") + 7
                          : quiet.buf && *quiet.buf ? quiet.buf : fd < 0 ? "no temporary file" : "unknown";
        diag_warn(d, loc_file(model), "calibrating with the interpreter (slower): the compiled calibration engine "
                  "could not be built: %.*s", (int)strcspn(why, "\n"), why);
    }
    diag_fini(&quiet);
    return cn;
}

/* The statistics of the model's tensors: from --profile, or by running
 * the calibration data (compiled, or with the interpreter). */
static bool get_profile(const char *model, const DriverOptions *o, const Graph *g, CalibProfile *prof, Diag *d)
{
    char id[32];
    model_id(model, id, sizeof id);
    if (o->profile) {
        if (!profile_read(o->profile, prof, d))
            return false;
        if (strcmp(prof->model_hash, id) != 0)
            return diag_error(d, loc_file(o->profile), "this profile was made for another model (%s, hash %s; %s "
                                                       "has hash %s): calibrate again",
                              prof->model, prof->model_hash, model, id);
        return true;
    }
    const char *base = strrchr(model, '/') ? strrchr(model, '/') + 1 : model;
    profile_init(prof, base, id);
    if (o->ncalib == 0)
        return diag_error(d, loc_none(), "no calibration data (--calib DATA)");
    CalibNative *cn = o->calib_interp ? NULL : native_engine(model, o, g, d);
    bool ok = drv_calib_collect(g, cn, o->calib, o->ncalib, 64, prof, d);
    calib_native_close(cn);
    return ok;
}

/* Channel means of an activation from its statistics in the profile (for
 * bias correction): exact sums, so the same from --calib and --profile. */
static bool profile_means(void *ctx, const char *value, int64_t n, double *out)
{
    RangeCtx *r = ctx;
    const CalibStats *s = profile_find(r->prof, value);
    return s && calib_stats_channel_means(s, n, out);
}

static bool profile_chan_range(void *ctx, const char *value, int64_t n, double *lo, double *hi)
{
    RangeCtx *r = ctx;
    const CalibStats *s = profile_find(r->prof, value);
    return s && calib_stats_channel_range(s, n, lo, hi);
}

int drv_float_summary(const Graph *g, const DriverOptions *o, char *list, size_t size)
{
    int nfloat = 0;
    size_t len = 0;
    if (size)
        list[0] = 0;
    for (int i = 0; i < g->nnodes; i++)
        nfloat += drv_float_reason(g, g->nodes[i], o) != NULL;
    /* "reason: Op xN, Op xM; reason: ..." over distinct (reason, op) pairs, in order */
    const char *reasons[16];
    int nr = 0;
    for (int i = 0; i < g->nnodes && nr < 16; i++) {
        const char *why = drv_float_reason(g, g->nodes[i], o);
        bool seen = !why;
        for (int k = 0; k < nr && !seen; k++)
            seen = reasons[k] == why;
        if (!seen)
            reasons[nr++] = why;
    }
    for (int k = 0; k < nr && len < size; k++) {
        len += (size_t)snprintf(list + len, size - len, "%s%s: ", k ? "; " : "", reasons[k]);
        bool done[OP_COUNT] = {0};
        int shown = 0;
        for (int i = 0; i < g->nnodes && len < size; i++) {
            const Node *n = g->nodes[i];
            if (drv_float_reason(g, n, o) != reasons[k] || done[n->op])
                continue;
            done[n->op] = true;
            int cnt = 0;
            for (int j = i; j < g->nnodes; j++)
                cnt += g->nodes[j]->op == n->op && drv_float_reason(g, g->nodes[j], o) == reasons[k];
            len += (size_t)snprintf(list + len, size - len, "%s%s x%d", shown++ ? ", " : "", op_info[n->op].name, cnt);
        }
    }
    return nfloat;
}

/* In a quantized graph, say how many ops still compute in float, by reason
 * and op (a model's float islands, --keep-float layers, ops without integer
 * kernels), so no one believes a model runs in int8 when part of it does
 * not; --report lists each with its reason. */
static void note_float_ops(const Graph *g, const char *model, const DriverOptions *o, Diag *d)
{
    bool quantized = false;
    for (int i = 0; i < g->nnodes; i++)
        quantized |= op_has(g->nodes[i]->op, OPF_QUANT);
    char list[1024];
    int nfloat = quantized ? drv_float_summary(g, o, list, sizeof list) : 0;
    if (!nfloat)
        return;
    diag_note(d, loc_file(model), "%d op%s run%s in float (%s); --report FILE lists each", nfloat, nfloat > 1 ? "s" : "",
              nfloat > 1 ? "" : "s", list);
}

/* Every --keep-float entry names a node of the graph (as the quantizer
 * sees it: after fusion) or an op type; a typo must not pass silently. */
static bool check_keep(const Graph *g, const DriverOptions *o, Diag *d)
{
    for (int i = 0; i < o->nkeep; i++) {
        const char *k = o->keep[i];
        bool found = false, is_op = false;
        for (int j = 0; j < g->nnodes && !found; j++)
            found = strcmp(g->nodes[j]->name, k) == 0 || strcmp(op_info[g->nodes[j]->op].name, k) == 0;
        for (int op = 0; op < OP_COUNT && !is_op; op++)
            is_op = strcmp(op_info[op].name, k) == 0;
        if (!found && is_op)
            diag_warn(d, loc_file(g->file), "--keep-float %s: the model has no %s node", k, k);
        else if (!found)
            return diag_error(d, loc_file(g->file),
                              "--keep-float %s: no node of that name or op type (node names as `qkc inspect "
                              "--print-after fuse` shows them: fused activations are part of their Conv/Gemm)", k);
    }
    return true;
}

Graph *drv_lower(const char *model, const DriverOptions *o, Diag *d)
{
    QuantOptions q = {.precision = o->precision, .act_s8 = o->act_s8, .weights_per_tensor = o->weights_per_tensor,
                      .weights_log2 = o->weights_log2, .weight_bits = o->weight_bits, .pow2 = o->pow2,
                      .nkeep = o->nkeep, .keep = o->keep, .io_int8 = o->io_int8};
    int64_t const_left = 0;
    PassCtx pc = {.d = d, .verify = o->verify, .dump = o->dump, .print_after = o->print_after,
                  .dump_fn = o->dump_fn, .dump_ctx = o->dump_ctx, .quant = &q, .const_left = &const_left};
    if ((o->precision == PREC_INT8 || o->precision == PREC_MIXED) && !o->profile && !o->profile_mem && o->ncalib == 0) {
        diag_error(d, loc_none(), "--precision int8 needs calibration data (--calib DATA) or a profile (--profile FILE)");
        return NULL;
    }
    Graph *g = to_fused(model, o, &pc, d);
    if (!g)
        return NULL;
    if (!check_keep(g, o, d)) {
        ir_graph_free(g);
        return NULL;
    }
    CalibProfile prof = {0};
    RangeCtx rc;
    bool ok = true;
    if (o->precision == PREC_INT8) {
        calib_options_default(&rc.opts);
        ok = calib_options_parse(&rc.opts, o->calib_method ? o->calib_method : QKC_DEFAULT_CALIB);
        if (!ok)
            diag_error(d, loc_none(), "--calib-method %s: use minmax, percentile[=P], entropy or mse", o->calib_method);
        rc.opts.symmetric = o->act_s8;
        if (o->profile_mem)
            rc.prof = o->profile_mem;
        else
            ok = ok && get_profile(model, o, g, &prof, d), rc.prof = &prof;
        if (!o->no_bias_correction) {
            q.means = profile_means;
            q.means_ctx = &rc;
        }
        q.range = profile_range;
        q.range_ctx = &rc;
        q.smooth = o->smooth;
        q.chan_range = profile_chan_range;
        q.chan_range_ctx = &rc;
    }
    ok = ok && passes_run_from(g, &pc, "quantize", NULL);
    if (ok && !o->quiet_report)
        note_float_ops(g, model, o, d);
    /* the report, and warnings, of every int8 compile (not of trials) */
    if (ok && o->precision == PREC_INT8 && !o->quiet_report)
        ok = drv_report(o->report, g, rc.prof, o, d);
    profile_free(&prof);
    if (!ok) {
        ir_graph_free(g);
        return NULL;
    }
    return g;
}

bool drv_profile(const char *model, const DriverOptions *o, CalibProfile *prof, Diag *d)
{
    int64_t const_left = 0;
    PassCtx pc = {.d = d, .verify = o->verify, .const_left = &const_left};
    Graph *g = to_fused(model, o, &pc, d);
    bool ok = g && get_profile(model, o, g, prof, d);
    ir_graph_free(g);
    return ok;
}

bool drv_calibrate(const char *model, const DriverOptions *o, const char *out, Diag *d)
{
    int64_t const_left = 0;
    PassCtx pc = {.d = d, .verify = o->verify, .const_left = &const_left};
    Graph *g = to_fused(model, o, &pc, d);
    if (!g)
        return false;
    CalibProfile prof = {0};
    DriverOptions oo = *o;
    oo.profile = NULL;
    bool ok = get_profile(model, &oo, g, &prof, d) && profile_write(&prof, out, d);
    profile_free(&prof);
    ir_graph_free(g);
    return ok;
}

/* --precision mixed: choose the float layers, then compile as int8 with
 * them kept (plus the user's --keep-float). */
static bool compile_mixed(const char *model, const DriverOptions *o, Diag *d)
{
    MixedGoal goal = {o->min_sqnr > 0 ? o->min_sqnr : QKC_DEFAULT_MIN_SQNR, o->labels, o->max_accuracy_drop};
    MixedChoice c;
    if (!drv_mixed_choose(model, o, &goal, &c, d))
        return false;
    fprintf(stderr, "qkc: mixed: %d of %d layers kept in float", c.nkeep, c.nlayers);
    for (int i = 0; i < c.nkeep; i++)
        fprintf(stderr, "%s%s", i ? ", " : ": ", c.keep[i]);
    fprintf(stderr, "; output SQNR %.1f dB on the calibration data (floor %.1f dB)", c.sqnr, goal.min_sqnr);
    if (o->labels)
        fprintf(stderr, ", accuracy drop %.2f points (limit %.2f)", c.accuracy_drop, o->max_accuracy_drop);
    fprintf(stderr, "\n");
    const char **keep = calloc((size_t)(c.nkeep + o->nkeep) + 1, sizeof *keep);
    for (int i = 0; i < o->nkeep; i++)
        keep[i] = o->keep[i];
    for (int i = 0; i < c.nkeep; i++)
        keep[o->nkeep + i] = c.keep[i];
    DriverOptions o8 = *o;
    o8.precision = PREC_INT8;
    o8.keep = keep;
    o8.nkeep = o->nkeep + c.nkeep;
    o8.mixed = &c;
    bool ok = drv_compile(model, &o8, d);
    free(keep);
    drv_mixed_free(&c);
    return ok;
}

/* A compile's stages on a terminal (stderr), one line rewritten in place
 * and erased at the end: big models take a while in LLVM. */
typedef struct Stages {
    const char *model;
    double t0;
    bool shown;
} Stages;

static void show_stage(void *ctx, const char *what)
{
    Stages *s = ctx;
    const char *base = strrchr(s->model, '/');
    fprintf(stderr, "\rqkc: compiling %s: %s (%.1f s)\033[K", base ? base + 1 : s->model, what, now() - s->t0);
    fflush(stderr);
    s->shown = true;
}

static void end_stages(Stages *s)
{
    if (s->shown)
        fprintf(stderr, "\r\033[K");
    s->shown = false;
}

bool drv_compile(const char *model, const DriverOptions *o, Diag *d)
{
    if (o->precision == PREC_MIXED)
        return compile_mixed(model, o, d);
    double t0 = now();
    Stages st = {.model = model, .t0 = t0};
    bool tty = !o->verbose && isatty(2);
    CgOptions co = {.emit = o->emit, .out = o->out, .header = o->header, .opt_level = o->opt_level,
                    .verify_ir = o->verify, .stage = tty ? show_stage : NULL, .stage_ctx = &st};
    Target cpus[8];
    int ncpu = cg_target_resolve_list(o->target, o->cpu, cpus, 8, d);
    if (ncpu == 0)
        return false;
    co.target = cpus[0];
    co.more = cpus + 1;
    co.nmore = ncpu - 1;
    if (ncpu > 1 && o->emit != EMIT_SO && o->emit != EMIT_ASM && o->emit != EMIT_LLVM)
        return diag_error(d, loc_none(), "--cpu %s: a fat artifact picks its CPU's code when the runtime loads it: "
                          "--emit so (not obj)", o->cpu);
    if (o->emit == EMIT_PTX && co.target.arch != ARCH_NVPTX)
        return diag_error(d, loc_none(), "--emit ptx needs --target nvptx");
    if (o->header && o->emit != EMIT_OBJ)
        return diag_error(d, loc_none(), "--header goes with --emit obj");
    if (tty)
        show_stage(&st, "importing, passes");
    Graph *g = drv_lower(model, o, d);
    if (!g) {
        end_stages(&st);
        return false;
    }
    double t1 = now(), t2 = t1;
    bool ok = true;
    char *prefix = NULL;
    if (ok) {
        /* the artifact's identity: model bytes and everything that changes the code */
        uint64_t h = drv_hash_file(model, 1469598103934665603ull);
        char opts[256];
        snprintf(opts, sizeof opts, "%s|%s|%s|%lld|O%d|p%d|%s|%d%d%d%d%d%d|w%d", QKC_VERSION, co.target.name,
                 ncpu > 1 ? o->cpu : co.target.cpu, (long long)o->batch, o->opt_level, (int)o->precision,
                 o->calib_method ? o->calib_method : "", o->act_s8, o->weights_per_tensor, o->weights_log2, o->pow2,
                 o->io_int8, o->no_bias_correction, o->weight_bits == 7 ? 7 : 8);
        h = drv_hash_str(opts, h);
        for (int i = 0; i < o->ncalib; i++)
            h = hash_calib(o->calib[i], h);
        for (int i = 0; i < o->nkeep; i++)
            h = drv_hash_str(o->keep[i], h);
        for (int i = 0; i < o->ndim; i++)
            h = drv_hash_str(o->dims[i], h);
        if (o->profile)
            h = drv_hash_file(o->profile, h);
        for (int i = 0; i < o->nbind; i++) {
            const char *eq = strchr(o->binds[i], '=');
            h = drv_hash_str(o->binds[i], h);
            if (eq)
                h = drv_hash_file(eq + 1, h);
        }
        co.model_hash = h;
        co.model_name = g->name;
        prefix = o->prefix ? NULL : default_prefix(o->out);
        co.prefix = o->prefix ? o->prefix : prefix;
        ok = cg_compile(g, &co, d);
    }
    end_stages(&st);
    double t3 = now();
    if (ok && o->verbose)
        fprintf(stderr,
                "qkc: %s -> %s (%s, cpu %s): %d nodes, %lld B constants, workspace %lld B + %lld B per batch item\n"
                "qkc: import+passes%s %.1f ms, codegen+link %.1f ms\n",
                model, o->out, co.target.name, ncpu > 1 ? o->cpu : co.target.cpu, g->nnodes, (long long)ir_graph_const_bytes(g),
                (long long)g->ws_static, (long long)g->ws_batch, o->precision == PREC_INT8 ? "+calibration" : "",
                (t2 - t0) * 1e3, (t3 - t2) * 1e3);
    free(prefix);
    ir_graph_free(g);
    return ok;
}

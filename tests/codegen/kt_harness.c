/* kt_harness.c — compile a case for every target, run it, compare it with
 * the reference interpreter (see kt.h for the contract).
 *
 * Inputs are drawn per (case, batch, input) from splitmix64 seeded by the
 * case's name, so every target sees the same data and a failure reproduces
 * from the name alone. Outputs are handed to the artifact poisoned (0xA5)
 * with guard bytes behind them, and the inputs are checked unchanged after
 * each run: an element never written, a write past the end or into an
 * input shows up as a failure even where the values happen to agree. */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifdef __SANITIZE_ADDRESS__
#include <sanitizer/lsan_interface.h>
#endif

#include "kt.h"
#include "test_util.h"
#include "qkc/qkrt.h"
#include "runtime/npy.h"
#include "tools/driver.h"

extern char **environ;

#ifndef QKC_PTXAS
#define QKC_PTXAS ""
#endif
#ifndef QKC_QEMU_AARCH64
#define QKC_QEMU_AARCH64 ""
#endif

enum { GUARD = 64, MAXB = 3 };

static const char *const target_names[KT_NTARGETS] = {
    "x86_64 (host cpu)", "x86_64 --cpu x86-64", "x86_64 --cpu x86-64-v3", "aarch64 (qemu)", "nvptx (ptxas)",
    "nvptx (gpu)",
};

static struct {
    char dir[64];          /* temporary folder */
    bool quick;
    bool have[KT_NTARGETS];
    char why_not[KT_NTARGETS][640];
    char ptxas[512], qkc[512];
    const char *family;
    KtStats st;
    int seq;               /* cases so far (file names, sampling, the worker's share) */
    int jobs, worker;      /* worker processes per family; this one's index */
    bool skip;             /* KT_ONLY names other families */
    int pipe[2];           /* workers report their counts to worker 0 */
    pid_t pids[8];
    int threads_now;       /* threads of the run being checked (for reports) */
    double t0;
} H;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---- failure reports ---------------------------------------------------- */

typedef struct Case {
    const char *name, *text, *path;
    const KtOpts *o;
    Graph *g;
    int nb;
    int64_t batch[MAXB];
    Tensor in[MAXB][KT_MAXIO], ref[MAXB][KT_MAXIO];
    bool reported; /* the model text was printed */
    bool failed;
} Case;

static void fail(Case *c, KtTarget t, int64_t batch, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* <build>/<folder>/<family>_<name>: where a case's files are kept for
 * `qkc compile|run|interp` by hand ('/' in names becomes '_'). */
static void kept_path(const Case *c, const char *folder, char *path, size_t n)
{
    char base[256];
    snprintf(base, sizeof base, "%s_%s", H.family, c->name);
    for (char *p = base; *p; p++)
        if (*p == '/')
            *p = '_';
    char dir[3000];
    snprintf(dir, sizeof dir, "%s/%s", QKC_BUILD_DIR, folder);
    mkdir(dir, 0777);
    snprintf(path, n, "%.3000s/%.900s", dir, base);
}

/* The model as <kept_path>.onnxtxt. */
static bool keep(const Case *c, const char *folder, char *path, size_t n)
{
    char stem[4000];
    kept_path(c, folder, stem, sizeof stem);
    snprintf(path, n, "%.4000s.onnxtxt", stem);
    FILE *k = fopen(path, "w");
    if (!k)
        return false;
    fputs(c->text, k);
    return fclose(k) == 0;
}

/* ... and the inputs of the failing batch as <kept_path>.<input>.npy,
 * listed on `log`. */
static void keep_inputs(const Case *c, int64_t batch, FILE *log)
{
    for (int b = 0; c->g && b < c->nb; b++) {
        if (c->batch[b] != batch)
            continue;
        for (int i = 0; i < c->g->ninputs; i++) {
            char stem[4400], path[4600], msg[256];
            const Tensor *x = &c->in[b][i];
            kept_path(c, "kernel-failures", stem, sizeof stem);
            snprintf(path, sizeof path, "%s.%s.npy", stem, c->g->inputs[i]->name);
            if (npy_write(path, dtype_to_onnx(x->dtype), x->shape.rank, x->shape.d, x->data, msg, sizeof msg) == 0)
                fprintf(log, i ? ", %s" : "; its inputs: %s", path);
        }
        return;
    }
}

static void fail(Case *c, KtTarget t, int64_t batch, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    H.st.failures++;
    c->failed = true;
    /* one write per report, so that workers' reports do not interleave */
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    char thr[32] = "";
    if (H.threads_now > 1)
        snprintf(thr, sizeof thr, ", %d threads", H.threads_now);
    fprintf(f, "FAIL %s/%s [%s, batch %lld%s]: %s\n", H.family, c->name,
            (int)t < KT_NTARGETS ? target_names[t] : "oracle", (long long)batch, thr, msg);
    if (!c->reported) {
        c->reported = true;
        fprintf(f, "---- model (%s/%s) ----\n%s---- end of model ----\n", H.family, c->name, c->text);
        char path[4400];
        if (keep(c, "kernel-failures", path, sizeof path)) {
            fprintf(f, "(kept as %s", path);
            keep_inputs(c, batch, f);
            fprintf(f, ")\n");
        }
    }
    fclose(f);
    fflush(stdout);
    for (size_t off = 0; off < len;) {
        ssize_t w = write(STDOUT_FILENO, buf + off, len - off);
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    free(buf);
}

/* ---- running ------------------------------------------------------------ */


static bool compile(Case *c, KtTarget t, const char *out)
{
    static const char *const arch[] = {NULL, "x86_64", "x86_64", "aarch64", "nvptx", "nvptx"};
    static const char *const cpu[] = {NULL, "x86-64", "x86-64-v3", NULL, NULL, NULL};
    DriverOptions o = {.target = arch[t], .cpu = cpu[t], .emit = t == KT_NVPTX ? EMIT_PTX : EMIT_SO, .out = out,
                       .opt_level = 2, .verify = true};
    Diag d;
    diag_init(&d, NULL);
    bool ok = drv_compile(c->path, &o, &d);
    if (!ok)
        fail(c, t, 0, "compile: %s", d.buf ? d.buf : "failed");
    diag_fini(&d);
    return ok;
}

/* Check the outputs of one run against the interpreter's. */
static void check_outputs(Case *c, KtTarget t, int b, Tensor *got)
{
    for (int i = 0; i < c->g->noutputs; i++) {
        char why[1024];
        bool exact = (c->o->exact >> i) & 1;
        if (!kt_compare(&got[i], &c->ref[b][i], exact, c->o->ulp16, why, sizeof why))
            fail(c, t, c->batch[b], "output '%s' %s", c->g->outputs[i]->name, why);
    }
}

static void run_in_process(Case *c, KtTarget t, const char *so)
{
    qkrt_model *m = NULL;
    qkrt_context *ctx = NULL;
    if (qkrt_model_load(so, &m) != QKRT_OK) {
        fail(c, t, 0, "load: %s", qkrt_error_message());
        return;
    }
    int nin = qkrt_model_num_inputs(m), nout = qkrt_model_num_outputs(m);
    if (nin != c->g->ninputs || nout != c->g->noutputs) {
        fail(c, t, 0, "the artifact has %d inputs and %d outputs, the graph %d and %d", nin, nout, c->g->ninputs,
             c->g->noutputs);
        qkrt_model_free(m);
        return;
    }
    if (qkrt_context_create(m, &ctx) != QKRT_OK) {
        fail(c, t, 0, "context: %s", qkrt_error_message());
        qkrt_model_free(m);
        return;
    }
    /* every batch serially, then again with a thread pool when asked (the
     * entry shares kernels above a cost threshold with the pool) */
    int passes = c->o->threads > 1 && t != KT_GPU ? 2 : 1;
    for (int pb = 0; pb < passes * c->nb; pb++) {
        int b = pb % c->nb;
        H.threads_now = pb < c->nb ? 1 : c->o->threads;
        if (pb == c->nb && qkrt_context_set_threads(ctx, c->o->threads) != QKRT_OK) {
            fail(c, t, c->batch[b], "threads: %s", qkrt_error_message());
            break;
        }
        const void *ins[KT_MAXIO];
        void *outs[KT_MAXIO];
        size_t in_bytes[KT_MAXIO], out_bytes[KT_MAXIO];
        void *copies[KT_MAXIO] = {0};
        Tensor got[KT_MAXIO] = {{0}};
        bool ok = true;
        for (int i = 0; i < nin; i++) {
            in_bytes[i] = (size_t)tensor_numel(&c->in[b][i]) * (size_t)dtype_size(c->in[b][i].dtype);
            ins[i] = c->in[b][i].data;
            copies[i] = malloc(in_bytes[i] + 1);
            if (copies[i])
                memcpy(copies[i], ins[i], in_bytes[i]);
        }
        for (int i = 0; i < nout; i++) {
            const Tensor *r = &c->ref[b][i];
            out_bytes[i] = qkrt_tensor_bytes(qkrt_model_output(m, i), c->batch[b]);
            size_t want = (size_t)tensor_numel(r) * (size_t)dtype_size(r->dtype);
            if (out_bytes[i] != want) {
                fail(c, t, c->batch[b], "output '%s' has %zu bytes, the interpreter's %zu", c->g->outputs[i]->name,
                     out_bytes[i], want);
                ok = false;
            }
            got[i] = (Tensor){r->dtype, r->shape, malloc(want + GUARD)};
            outs[i] = got[i].data;
            if (outs[i])
                memset(outs[i], 0xa5, want + GUARD);
            ok = ok && outs[i];
        }
        if (ok && qkrt_run(ctx, c->batch[b], ins, in_bytes, outs, out_bytes) != QKRT_OK) {
            fail(c, t, c->batch[b], "run: %s", qkrt_error_message());
            ok = false;
        }
        for (int i = 0; ok && i < nout; i++) {
            const unsigned char *p = (const unsigned char *)outs[i] + out_bytes[i];
            for (int k = 0; k < GUARD; k++)
                if (p[k] != 0xa5) {
                    fail(c, t, c->batch[b], "output '%s': a write %d bytes past its end", c->g->outputs[i]->name, k);
                    break;
                }
        }
        for (int i = 0; ok && i < nin; i++)
            if (copies[i] && memcmp(copies[i], ins[i], in_bytes[i]) != 0)
                fail(c, t, c->batch[b], "input '%s' was modified by the run", c->g->inputs[i]->name);
        if (ok)
            check_outputs(c, t, b, got);
        for (int i = 0; i < nin; i++)
            free(copies[i]);
        for (int i = 0; i < nout; i++)
            free(got[i].data);
    }
    H.threads_now = 1;
    qkrt_context_free(ctx);
    qkrt_model_free(m);
}

/* AArch64: `qkc run` with .npy files (it starts qemu-aarch64). */
static void run_qemu(Case *c, const char *so, const char *stem)
{
    for (int b = 0; b < c->nb; b++) {
        char paths[KT_MAXIO][600], specs[KT_MAXIO][700], outdir[600], log[600], msg[512];
        const char *argv[2 * KT_MAXIO + 12];
        int k = 0;
        argv[k++] = H.qkc;
        argv[k++] = "run";
        argv[k++] = so;
        for (int i = 0; i < c->g->ninputs; i++) {
            const Tensor *x = &c->in[b][i];
            snprintf(paths[i], sizeof paths[i], "%s_in%d.npy", stem, i);
            if (npy_write(paths[i], dtype_to_onnx(x->dtype), x->shape.rank, x->shape.d, x->data, msg, sizeof msg)) {
                fail(c, KT_AARCH64, c->batch[b], "%s", msg);
                return;
            }
            snprintf(specs[i], sizeof specs[i], "%.90s=%.590s", c->g->inputs[i]->name, paths[i]);
            argv[k++] = "-i";
            argv[k++] = specs[i];
        }
        char nthreads[16];
        snprintf(nthreads, sizeof nthreads, "%d", c->o->threads);
        if (c->o->threads > 1) {
            argv[k++] = "--threads";
            argv[k++] = nthreads;
            H.threads_now = c->o->threads;
        }
        snprintf(outdir, sizeof outdir, "%s_out%d", stem, b);
        snprintf(log, sizeof log, "%s_run.log", stem);
        argv[k++] = "-d";
        argv[k++] = outdir;
        argv[k] = NULL;
        if (tu_spawn(argv, log) != 0) {
            tu_read_log(log, msg, sizeof msg);
            fail(c, KT_AARCH64, c->batch[b], "qkc run: %s", msg);
            return;
        }
        Tensor got[KT_MAXIO] = {{0}};
        bool ok = true;
        for (int i = 0; i < c->g->noutputs; i++) {
            char p[700];
            NpyArray a;
            snprintf(p, sizeof p, "%s/%s.npy", outdir, c->g->outputs[i]->name);
            if (npy_read(p, &a, msg, sizeof msg) != 0) {
                fail(c, KT_AARCH64, c->batch[b], "%s", msg);
                ok = false;
                break;
            }
            DType dt = dtype_from_onnx(a.dtype);
            if (dt == DT_U16 && c->ref[b][i].dtype == DT_BF16) /* bfloat16 comes back as its bits */
                dt = DT_BF16;
            got[i] = (Tensor){dt, {.rank = a.rank}, a.data};
            for (int j = 0; j < a.rank; j++)
                got[i].shape.d[j] = a.dims[j];
            unlink(p);
        }
        if (ok)
            check_outputs(c, KT_AARCH64, b, got);
        for (int i = 0; i < c->g->noutputs; i++)
            free(got[i].data);
        for (int i = 0; i < c->g->ninputs; i++)
            unlink(paths[i]);
        unlink(log);
        rmdir(outdir);
    }
}

/* NVPTX: ptxas for sm_80 and sm_90, both at once. */
static void check_ptx(Case *c, const char *ptx, const char *stem)
{
    static const char *const archs[] = {"sm_80", "sm_90"};
    pid_t pid[2];
    char log[2][600];
    for (int i = 0; i < 2; i++) {
        snprintf(log[i], sizeof log[i], "%s_ptxas_%s.log", stem, archs[i]);
        const char *argv[] = {H.ptxas, "-arch", archs[i], ptx, "-o", "/dev/null", NULL};
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_addopen(&fa, 1, log[i], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
        if (posix_spawn(&pid[i], argv[0], &fa, NULL, (char *const *)argv, environ) != 0)
            pid[i] = -1;
        posix_spawn_file_actions_destroy(&fa);
    }
    for (int i = 0; i < 2; i++) {
        int status = 0;
        if (pid[i] > 0)
            while (waitpid(pid[i], &status, 0) < 0 && errno == EINTR)
                ;
        if (pid[i] <= 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            char msg[1024];
            tu_read_log(log[i], msg, sizeof msg);
            fail(c, KT_NVPTX, 0, "ptxas -arch %s: %s", archs[i], pid[i] > 0 ? msg : "cannot start ptxas");
        }
        unlink(log[i]);
    }
}

/* Compile for one target and run or check the result. */
static void one_target(Case *c, KtTarget t, const char *stem)
{
    char out[300];
    bool ptx = t == KT_NVPTX;
    snprintf(out, sizeof out, "%s_%d.%s", stem, (int)t, ptx ? "ptx" : "so");
    if (compile(c, t, out)) {
        if (ptx)
            check_ptx(c, out, stem);
        else if (t == KT_AARCH64)
            run_qemu(c, out, stem);
        else
            run_in_process(c, t, out);
    }
    unlink(out);
}

/* one_target in a child process: a compiler or generated code that
 * crashes fails its case, not the whole test. The child's exit status
 * carries its failure count (bit 7: it printed the model). */
static void isolated(Case *c, KtTarget t, const char *stem)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int before = H.st.failures;
        one_target(c, t, stem);
        int n = H.st.failures - before;
#ifdef __SANITIZE_ADDRESS__
        /* _exit skips LeakSanitizer: what the compile and the run leaked */
        if (__lsan_do_recoverable_leak_check())
            fail(c, t, 0, "LeakSanitizer: memory leaked compiling or running (see above)"), n++;
#endif
        _exit((n > 127 ? 127 : n) | (c->reported ? 128 : 0));
    }
    int status = 0;
    if (pid > 0)
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
            ;
    if (pid < 0) {
        one_target(c, t, stem);
    } else if (WIFSIGNALED(status)) {
        char out[300];
        snprintf(out, sizeof out, "%s_%d.%s", stem, (int)t, t == KT_NVPTX ? "ptx" : "so");
        unlink(out);
        fail(c, t, 0, "crashed (compiling or running): signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else if (WIFEXITED(status) && WEXITSTATUS(status)) {
        H.st.failures += WEXITSTATUS(status) & 127;
        c->failed = true;
        c->reported |= (WEXITSTATUS(status) & 128) != 0;
    }
}

/* ---- a case ------------------------------------------------------------- */

static uint64_t name_seed(const char *family, const char *name)
{
    uint64_t h = 1469598103934665603ull;
    for (const char *p = family; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    for (const char *p = name; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

/* The oracle: import, shapes, inputs per batch, interp_run. */
static bool prepare(Case *c)
{
    Diag d;
    diag_init(&d, NULL);
    DriverOptions o = {0};
    c->g = drv_import(c->path, &o, &d);
    PassCtx pc = {.d = &d};
    bool ok = c->g && pass_shape_infer(c->g, &pc);
    if (ok && (c->g->ninputs > KT_MAXIO || c->g->noutputs > KT_MAXIO))
        ok = !diag_error(&d, loc_none(), "too many inputs or outputs for the harness");
    if (!ok) {
        fail(c, KT_NTARGETS, 0, "import: %s", d.buf ? d.buf : "failed");
        diag_fini(&d);
        return false;
    }
    bool batch = false;
    for (int i = 0; i < c->g->ninputs; i++)
        batch |= shape_has_batch(&c->g->inputs[i]->shape);
    /* grow the context's workspace, then run a smaller batch in it */
    static const int64_t full[] = {1, 17, 3}, quick[] = {1, 3};
    c->nb = !batch ? 1 : H.quick ? 2 : 3;
    for (int b = 0; b < c->nb; b++)
        c->batch[b] = !batch ? 1 : H.quick ? quick[b] : full[b];
    uint64_t seed = name_seed(H.family, c->name);
    for (int b = 0; ok && b < c->nb; b++) {
        for (int i = 0; ok && i < c->g->ninputs; i++) {
            const Value *v = c->g->inputs[i];
            Shape s = shape_at(&v->shape, c->batch[b]);
            ok = tensor_alloc(&c->in[b][i], v->dtype, &s);
            if (ok)
                kt_fill(&c->in[b][i], c->o->fill[i], c->o->scale, &c->o->values[i],
                        seed + (uint64_t)(b * 131 + i) * 0x9e3779b97f4a7c15ull);
        }
        ok = ok && interp_run(c->g, c->batch[b], c->in[b], c->ref[b], &d);
        if (!ok)
            fail(c, KT_NTARGETS, c->batch[b], "interpreter: %s", d.buf ? d.buf : "failed");
    }
    diag_fini(&d);
    return ok;
}

/* ---- collecting the ops the cases exercise --------------------------------- */

static struct {
    bool on;
    bool seen[OP_COUNT];
    int bad;
} Col;

void kt_collect_begin(void)
{
    memset(&Col, 0, sizeof Col);
    Col.on = true;
}

const bool *kt_collect_end(int *bad)
{
    Col.on = false;
    *bad = Col.bad;
    return Col.seen;
}

/* Import one model and mark the ops of its graph, as imported and as
 * lowered by the passes (ops that only passes make: FusedElementwise). */
static void collect(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%.60s/collect.onnxtxt", H.dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        if (f)
            fclose(f);
        Col.bad++;
        return;
    }
    fclose(f);
    Diag d;
    diag_init(&d, NULL);
    DriverOptions o = {0};
    Graph *g = drv_import(path, &o, &d);
    if (!g) {
        printf("collect: %s does not import: %s\n", name, d.buf ? d.buf : "failed");
        Col.bad++;
    }
    for (int i = 0; g && i < g->nnodes; i++)
        Col.seen[g->nodes[i]->op] = true;
    ir_graph_free(g);
    g = drv_lower(path, &o, &d);
    if (!g) {
        printf("collect: %s does not lower: %s\n", name, d.buf ? d.buf : "failed");
        Col.bad++;
    }
    for (int i = 0; g && i < g->nnodes; i++)
        Col.seen[g->nodes[i]->op] = true;
    ir_graph_free(g);
    diag_fini(&d);
    unlink(path);
}

bool kt_case(const char *name, const KtOpts *o, const char *text)
{
    static const KtOpts none = {0};
    if (Col.on) {
        collect(name, text);
        return true;
    }
    int seq = H.seq++;
    if (H.skip || (H.quick && seq % 3 != 0))
        return true;
    if ((H.quick ? seq / 3 : seq) % H.jobs != H.worker)
        return true; /* another worker's */
    H.st.cases++;
    Case *c = calloc(1, sizeof *c);
    char path[300], stem[256];
    snprintf(stem, sizeof stem, "%.60s/c%d", H.dir, seq);
    snprintf(path, sizeof path, "%s.onnxtxt", stem);
    c->name = name;
    c->text = text;
    c->path = path;
    c->o = o ? o : &none;
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0) {
        fail(c, KT_NTARGETS, 0, "cannot write %s", path);
        if (f)
            fclose(f);
        free(c);
        return false;
    }
    fclose(f);
    if (getenv("KT_KEEP")) { /* every model, for inspection */
        char kp[4400];
        keep(c, "kernel-cases", kp, sizeof kp);
    }
    double t0 = now(), tc = t0;
    bool prepared = prepare(c);
    H.st.oracle_s += now() - t0;
    if (prepared) {
        for (KtTarget t = 0; t < KT_NTARGETS; t++) {
            if (!H.have[t] || (t == KT_AARCH64 && !c->o->arm))
                continue;
            H.st.runs[t]++;
            double t0 = now();
            isolated(c, t, stem);
            H.st.time_s[t] += now() - t0;
        }
    }
    if (getenv("KT_TIMES") && atoi(getenv("KT_TIMES")) > 1)
        printf("    %-50s %.2f s\n", name, now() - tc);
    if (c->g)
        for (int b = 0; b < c->nb; b++)
            for (int i = 0; i < c->g->ninputs || i < c->g->noutputs; i++) {
                if (i < c->g->ninputs)
                    tensor_free(&c->in[b][i]);
                if (i < c->g->noutputs)
                    tensor_free(&c->ref[b][i]);
            }
    ir_graph_free(c->g);
    unlink(path);
    bool ok = !c->failed;
    free(c);
    return ok;
}

/* ---- set-up ------------------------------------------------------------- */

static bool executable(const char *p) { return p && *p && access(p, X_OK) == 0; }

/* Empty a folder of this program's (the reports of an earlier run, what a
 * failed run left in the temporary folder), one level of folders deep. */
static void clear_folder(const char *dir, bool subdirs)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            char p[4400];
            snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
            if (unlink(p) != 0 && subdirs) {
                clear_folder(p, false);
                rmdir(p);
            }
        }
    if (d)
        closedir(d);
}

bool kt_init(void)
{
    memset(&H, 0, sizeof H);
    H.t0 = now();
    const char *q = getenv("QKC_TEST_QUICK");
    H.quick = q && *q && strcmp(q, "0") != 0;
    /* workers: KT_JOBS, else one per CPU (at most 4) */
    const char *j = getenv("KT_JOBS");
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    H.jobs = j && atoi(j) > 0 ? atoi(j) : ncpu > 0 ? (int)ncpu : 1;
    H.jobs = H.jobs > 4 ? 4 : H.jobs;
    clear_folder(QKC_BUILD_DIR "/kernel-failures", false);
    clear_folder(QKC_BUILD_DIR "/kernel-cases", false);
    snprintf(H.dir, sizeof H.dir, "/tmp/qkc-kt-XXXXXX");
    if (!mkdtemp(H.dir))
        return false;
    bool x86 = strcmp(cg_host_arch(), "x86_64") == 0;
    H.have[KT_HOST] = true;
    H.have[KT_X86_64] = x86 && !H.quick;
    H.have[KT_X86_V3] = x86 && !H.quick;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (H.have[KT_X86_V3] && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") &&
                               __builtin_cpu_supports("bmi2"))) {
        H.have[KT_X86_V3] = false;
        snprintf(H.why_not[KT_X86_V3], sizeof H.why_not[0], "this CPU cannot run x86-64-v3 code");
    }
#endif
    if (!x86) {
        snprintf(H.why_not[KT_X86_64], sizeof H.why_not[0], "the host is not x86-64");
        snprintf(H.why_not[KT_X86_V3], sizeof H.why_not[0], "the host is not x86-64");
    } else if (H.quick) {
        snprintf(H.why_not[KT_X86_64], sizeof H.why_not[0], "QKC_TEST_QUICK");
        snprintf(H.why_not[KT_X86_V3], sizeof H.why_not[0], "QKC_TEST_QUICK");
    }

    /* AArch64 through `qkc run` + qemu (or natively on an AArch64 host) */
    const char *qemu = getenv("QKC_QEMU_AARCH64");
    if (!qemu || !*qemu)
        qemu = QKC_QEMU_AARCH64;
    snprintf(H.qkc, sizeof H.qkc, "%s/qkc", QKC_BUILD_DIR);
    char runner[600];
    snprintf(runner, sizeof runner, "%s/qkc-run-aarch64", QKC_BUILD_DIR);
    bool native_arm = strcmp(cg_host_arch(), "aarch64") == 0;
    if (H.quick)
        snprintf(H.why_not[KT_AARCH64], sizeof H.why_not[0], "QKC_TEST_QUICK (qemu is slow under sanitizers)");
    else if (!executable(H.qkc))
        snprintf(H.why_not[KT_AARCH64], sizeof H.why_not[0], "%s is not built", H.qkc);
    else if (!native_arm && !executable(qemu))
        snprintf(H.why_not[KT_AARCH64], sizeof H.why_not[0], "qemu-aarch64 is not installed");
    else if (!native_arm && !executable(runner))
        snprintf(H.why_not[KT_AARCH64], sizeof H.why_not[0], "%.500s is not built (no cross compiler?)", runner);
    else
        H.have[KT_AARCH64] = true;

    /* NVPTX: ptxas, and a GPU when a CUDA driver loads */
    const char *ptxas = getenv("QKC_PTXAS");
    if (!executable(ptxas))
        ptxas = executable(QKC_PTXAS) ? QKC_PTXAS : "/usr/local/cuda/bin/ptxas";
    snprintf(H.ptxas, sizeof H.ptxas, "%s", ptxas);
    H.have[KT_NVPTX] = executable(H.ptxas);
    if (!H.have[KT_NVPTX])
        snprintf(H.why_not[KT_NVPTX], sizeof H.why_not[0], "ptxas is not installed (/usr/local/cuda/bin/ptxas)");
    void *cuda = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    H.have[KT_GPU] = cuda != NULL;
    if (cuda)
        dlclose(cuda);
    else
        snprintf(H.why_not[KT_GPU], sizeof H.why_not[0], "no CUDA driver (libcuda.so.1) here");

    printf("kernel tests%s, %d worker process%s; targets:\n", H.quick ? " (QKC_TEST_QUICK: every third case)" : "",
           H.jobs, H.jobs == 1 ? "" : "es");
    for (int t = 0; t < KT_NTARGETS; t++)
        printf("  %-26s %s%s\n", target_names[t], H.have[t] ? "yes" : "SKIPPED: ", H.have[t] ? "" : H.why_not[t]);
    fflush(stdout);
    return true;
}

void kt_fini(void)
{
    clear_folder(H.dir, true); /* cases remove their files, unless a run failed midway */
    rmdir(H.dir);
    printf("kernel tests: %.1f s in all\n", now() - H.t0);
}

/* A family's cases are shared among H.jobs processes (case i to worker
 * i % jobs); the others send their counts to worker 0 when done. */
void kt_family_begin(const char *family)
{
    H.family = family;
    memset(&H.st, 0, sizeof H.st);
    H.worker = 0;
    const char *only = getenv("KT_ONLY"); /* e.g. KT_ONLY=conv,pool */
    H.skip = only && *only && !strstr(only, family);
    fflush(stdout);
    if (H.skip)
        return;
    if (H.jobs > 1 && pipe(H.pipe) != 0)
        H.jobs = 1;
    for (int w = 1; w < H.jobs; w++) {
        pid_t pid = fork();
        if (pid == 0) {
            H.worker = w;
            close(H.pipe[0]);
            return;
        }
        H.pids[w] = pid;
        if (pid < 0) { /* do its share here */
            H.jobs = w;
            break;
        }
    }
}

int kt_family_end(void)
{
    fflush(stdout);
    if (H.skip)
        return 0;
    if (H.worker > 0) {
        ssize_t w = write(H.pipe[1], &H.st, sizeof H.st);
        _exit(w == (ssize_t)sizeof H.st ? 0 : 1);
    }
    if (H.jobs > 1) {
        close(H.pipe[1]);
        KtStats st;
        int got = 0;
        while (read(H.pipe[0], &st, sizeof st) == (ssize_t)sizeof st) {
            got++;
            H.st.cases += st.cases;
            H.st.failures += st.failures;
            H.st.oracle_s += st.oracle_s;
            for (int t = 0; t < KT_NTARGETS; t++) {
                H.st.runs[t] += st.runs[t];
                H.st.time_s[t] += st.time_s[t];
            }
        }
        close(H.pipe[0]);
        for (int w = 1; w < H.jobs; w++) {
            int status;
            while (waitpid(H.pids[w], &status, 0) < 0 && errno == EINTR)
                ;
        }
        if (got != H.jobs - 1) {
            printf("FAIL %s: %d of %d worker processes died without reporting (a crash in the harness?)\n",
                   H.family, H.jobs - 1 - got, H.jobs - 1);
            H.st.failures++;
        }
    }
    printf("%-10s %3d cases:", H.family, H.st.cases);
    for (int t = 0; t < KT_NTARGETS; t++)
        if (H.have[t])
            printf(" %s %d;", target_names[t], H.st.runs[t]);
    printf(" %d failure%s\n", H.st.failures, H.st.failures == 1 ? "" : "s");
    if (getenv("KT_TIMES")) {
        for (int t = 0; t < KT_NTARGETS; t++)
            if (H.have[t])
                printf("    %-26s %.2f s\n", target_names[t], H.st.time_s[t]);
        printf("    oracle %.2f s (times summed over the workers)\n", H.st.oracle_s);
    }
    fflush(stdout);
    return H.st.failures;
}

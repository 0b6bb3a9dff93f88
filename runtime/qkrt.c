/* qkrt.c — the runtime API: load an artifact, check its descriptor, hold
 * per-context workspaces and thread pools, check a run's buffers and call
 * the model.
 *
 * Loading reads the ELF header before dlopen, so that an artifact for
 * another CPU is refused with a sentence instead of dlopen's "wrong ELF
 * class". The descriptor is then checked field by field: after that, the
 * rest of the runtime trusts it (counts, ranks, dims and sizes at batch 1
 * are sane). Sizes that depend on the batch are computed with checked
 * arithmetic at every run. NVPTX artifacts go to cuda.c. */
#include "qkc/qkrt.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cuda.h"
#include "internal.h"
#include "pool.h"

/* This runtime's CPU: the artifact target it runs, its ELF machine. */
#if defined(__x86_64__)
#define RT_TARGET "x86_64"
#define RT_MACHINE 62
#elif defined(__aarch64__)
#define RT_TARGET "aarch64"
#define RT_MACHINE 183
#else
#define RT_TARGET NULL /* runs NVPTX artifacts only */
#define RT_MACHINE (-1)
#endif

enum {
    MAX_TENSORS = 1 << 16,  /* sanity bounds on descriptors */
    MAX_RANK = 32,
    MAX_THREADS = 1024,
    MAX_LAUNCH_ARGS = 4096,
    WS_ALIGN = 64,
};

struct qkrt_model {
    const qkrt_artifact *a;
    char *name;         /* path or model name, for messages */
    void *dl;           /* dlopen handle; NULL for qkrt_model_from_artifact */
    int has_batch;      /* some input or output has dims[0] == QKRT_DIM_BATCH */
    QkrtGpuModel *gpu;  /* NVPTX artifacts only */
};

struct qkrt_context {
    qkrt_model *m;
    void *ws;           /* CPU workspace, WS_ALIGN-aligned, ws_size bytes */
    size_t ws_size;
    int64_t ws_batch;   /* largest batch the workspace (or device state) holds */
    int nthreads;
    QkrtPool *pool;     /* NULL when nthreads == 1 or for NVPTX models */
    QkrtGpuContext *gpu;
};

/* ---- errors ---- */

static _Thread_local char last_error[512];

qkrt_status qkrt_fail(qkrt_status s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return s;
}

const char *qkrt_error_message(void)
{
    return last_error;
}

const char *qkrt_status_name(qkrt_status s)
{
    switch (s) {
    case QKRT_OK: return "QKRT_OK";
    case QKRT_ERR_IO: return "QKRT_ERR_IO";
    case QKRT_ERR_FORMAT: return "QKRT_ERR_FORMAT";
    case QKRT_ERR_ARG: return "QKRT_ERR_ARG";
    case QKRT_ERR_NOMEM: return "QKRT_ERR_NOMEM";
    case QKRT_ERR_DEVICE: return "QKRT_ERR_DEVICE";
    case QKRT_ERR_UNSUPPORTED: return "QKRT_ERR_UNSUPPORTED";
    }
    return "QKRT_ERR_UNKNOWN";
}

/* ---- dtypes and sizes ---- */

/* ONNX TensorProto codes: the ones qkrt_abi.h lists, plus the unsigned
 * 16/32/64-bit codes that .npy files may carry. */
size_t qkrt_dtype_size(int32_t dtype)
{
    switch (dtype) {
    case 1: case 6: case 12: return 4;  /* f32 i32 u32 */
    case 2: case 3: case 9: return 1;   /* u8 i8 bool */
    case 4: case 5: case 10: case 16: return 2; /* u16 i16 f16 bf16 */
    case 7: case 11: case 13: return 8; /* i64 f64 u64 */
    default: return 0;
    }
}

const char *qkrt_dtype_name(int32_t dtype)
{
    switch (dtype) {
    case 1: return "f32";
    case 2: return "u8";
    case 3: return "i8";
    case 4: return "u16";
    case 5: return "i16";
    case 6: return "i32";
    case 7: return "i64";
    case 9: return "bool";
    case 10: return "f16";
    case 11: return "f64";
    case 12: return "u32";
    case 13: return "u64";
    case 16: return "bf16";
    default: return "unknown";
    }
}

int qkrt_tensor_bytes_checked(const qkrt_tensor_desc *t, int64_t batch, size_t *out)
{
    size_t n = t ? qkrt_dtype_size(t->dtype) : 0;
    if (!n || t->rank < 0 || (t->rank > 0 && !t->dims))
        return 0;
    for (int i = 0; i < t->rank; i++) {
        int64_t d = i == 0 && t->dims[0] == QKRT_DIM_BATCH ? batch : t->dims[i];
        if (d < 0 || (uint64_t)d > SIZE_MAX || !qkrt_mul(n, (size_t)d, &n))
            return 0;
    }
    *out = n;
    return 1;
}

size_t qkrt_tensor_bytes(const qkrt_tensor_desc *t, int64_t batch)
{
    size_t n;
    return qkrt_tensor_bytes_checked(t, batch, &n) ? n : 0;
}

int qkrt_ws_bytes(const qkrt_artifact *a, int64_t batch, size_t *out)
{
    size_t b;
    if (batch < 0 || (uint64_t)batch > SIZE_MAX || a->ws_static > SIZE_MAX || a->ws_batch > SIZE_MAX)
        return 0;
    return qkrt_mul((size_t)batch, (size_t)a->ws_batch, &b) && qkrt_add(b, (size_t)a->ws_static, out);
}

/* "[4,1,10,10] f32" with the batch filled in. */
static const char *shape_str(const qkrt_tensor_desc *t, int64_t batch, char *buf, size_t n)
{
    size_t len = 0;
    buf[0] = 0;
    for (int i = 0; i < t->rank && len < n; i++) {
        int64_t d = i == 0 && t->dims[0] == QKRT_DIM_BATCH ? batch : t->dims[i];
        int w = snprintf(buf + len, n - len, "%s%lld", i ? "," : "[", (long long)d);
        len += w > 0 ? (size_t)w : 0;
    }
    if (len < n)
        snprintf(buf + len, n - len, "%s %s", t->rank ? "]" : "[]", qkrt_dtype_name(t->dtype));
    return buf;
}

/* ---- checking a descriptor ---- */

static int is_batched(const qkrt_tensor_desc *t)
{
    return t->rank > 0 && t->dims[0] == QKRT_DIM_BATCH;
}

static qkrt_status check_tensor(const char *what, const char *kind, int i, const qkrt_tensor_desc *t)
{
    if (!t->name)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s %d has no name", what, kind, i);
    if (!qkrt_dtype_size(t->dtype))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s '%.64s': unknown dtype %d", what, kind, t->name, (int)t->dtype);
    if (t->rank < 0 || t->rank > MAX_RANK || (t->rank > 0 && !t->dims))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s '%.64s': bad rank %d", what, kind, t->name, (int)t->rank);
    for (int k = 0; k < t->rank; k++) {
        if (t->dims[k] < 0 && !(k == 0 && t->dims[k] == QKRT_DIM_BATCH))
            return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s '%.64s': bad dim %lld at %d", what, kind, t->name,
                             (long long)t->dims[k], k);
    }
    if (!(t->scale >= 0 && t->scale < 1e38) || (t->scale > 0 && !(t->dtype == 2 || t->dtype == 3)) ||
        (t->scale > 0 && (t->zero_point < (t->dtype == 2 ? 0 : -128) || t->zero_point > (t->dtype == 2 ? 255 : 127))))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s '%.64s': bad quantization (scale %g, zero point %d)", what, kind,
                         t->name, t->scale, (int)t->zero_point);
    size_t bytes;
    if (!qkrt_tensor_bytes_checked(t, 1, &bytes))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: %s '%.64s': size overflows", what, kind, t->name);
    return QKRT_OK;
}

static qkrt_status check_launch(const char *what, const qkrt_artifact *a, int i)
{
    const qkrt_gpu_launch *l = &a->launches[i];
    if (!l->kernel)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: launch %d has no kernel name", what, i);
    if (l->work_static < 0 || l->work_batch < 0 || l->block < 1 || l->block > 1024 || l->nargs < 0 ||
        l->nargs > MAX_LAUNCH_ARGS || (l->nargs > 0 && !l->args))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: launch %d (kernel '%.64s'): bad work, block or args", what, i,
                         l->kernel);
    for (int k = 0; k < l->nargs; k++) {
        const qkrt_gpu_arg *g = &l->args[k];
        int ok = g->offset >= 0;
        switch (g->kind) {
        case QKRT_ARG_CONST: ok = ok && (uint64_t)g->offset <= a->consts_size; break;
        case QKRT_ARG_WS_STATIC: ok = ok && (uint64_t)g->offset <= a->ws_static; break;
        case QKRT_ARG_WS_BATCH: ok = ok && (uint64_t)g->offset <= a->ws_batch; break;
        case QKRT_ARG_INPUT: ok = ok && g->index >= 0 && g->index < a->num_inputs; break;
        case QKRT_ARG_OUTPUT: ok = ok && g->index >= 0 && g->index < a->num_outputs; break;
        case QKRT_ARG_BATCH: break;
        default: ok = 0;
        }
        if (!ok)
            return qkrt_fail(QKRT_ERR_FORMAT, "%s: launch %d (kernel '%.64s'): bad argument %d (kind %d, index %d, "
                             "offset %lld)", what, i, l->kernel, k, (int)g->kind, (int)g->index, (long long)g->offset);
    }
    return QKRT_OK;
}

/* The artifact's code runs on this CPU: every feature it was compiled to use
 * is there (else it would stop on an illegal instruction). */
static qkrt_status check_cpu(const qkrt_artifact *a, const char *what)
{
    uint64_t missing = a->cpu_features & ~qkrt_cpu_features();
    if (!missing)
        return QKRT_OK;
    char list[640] = ""; /* every name fits */
    size_t len = 0;
    for (int i = 0; i < QKRT_CPU_COUNT && len < sizeof list; i++)
        if (missing >> i & 1)
            len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", qkrt_cpu_feature_name(i));
    return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s: compiled for CPU '%.40s', which has %s; this CPU does not: "
                     "recompile with --cpu native (or a --cpu this machine has)", what, a->cpu ? a->cpu : "?", list);
}

/* Everything the rest of the runtime relies on. */
static qkrt_status check_artifact(const qkrt_artifact *a, const char *what)
{
    qkrt_status s;
    if (a->magic != QKRT_MAGIC)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: not a qkc artifact (bad magic 0x%08x)", what, (unsigned)a->magic);
    if (a->abi_version != QKRT_ABI_VERSION)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: artifact ABI version %u, this runtime reads %u: recompile the model "
                         "with this qkc", what, (unsigned)a->abi_version, QKRT_ABI_VERSION);
    if (!a->target)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: artifact has no target", what);
    int gpu = !strcmp(a->target, "nvptx");
    if (!gpu && (!RT_TARGET || strcmp(a->target, RT_TARGET)))
        return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s: artifact for target '%.32s'; this runtime runs %s%s", what,
                         a->target, RT_TARGET ? RT_TARGET : "", RT_TARGET ? " and nvptx" : "nvptx only");
    if (a->num_inputs < 0 || a->num_inputs > MAX_TENSORS || a->num_outputs < 1 || a->num_outputs > MAX_TENSORS ||
        (a->num_inputs > 0 && !a->inputs) || !a->outputs)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: bad input/output tables (%d inputs, %d outputs)", what,
                         (int)a->num_inputs, (int)a->num_outputs);
    for (int i = 0; i < a->num_inputs; i++)
        if ((s = check_tensor(what, "input", i, &a->inputs[i])))
            return s;
    for (int i = 0; i < a->num_outputs; i++)
        if ((s = check_tensor(what, "output", i, &a->outputs[i])))
            return s;
    size_t ws;
    if (!qkrt_ws_bytes(a, 1, &ws))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: workspace size overflows", what);
    if (!gpu) {
        if (!a->run)
            return qkrt_fail(QKRT_ERR_FORMAT, "%s: CPU artifact without a run function", what);
        return QKRT_OK;
    }
    if (!a->ptx || (a->consts_size > 0 && !a->consts) || a->num_launches < 1 || !a->launches)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: nvptx artifact without PTX, constants or launches", what);
    for (int i = 0; i < a->num_launches; i++)
        if ((s = check_launch(what, a, i)))
            return s;
    return QKRT_OK;
}

/* ---- loading ---- */

/* The CPU of an ELF machine number, with its article. */
static const char *machine_name(int m)
{
    switch (m) {
    case 3: return "an x86 (32-bit)";
    case 8: return "a MIPS";
    case 20: return "a PowerPC";
    case 21: return "a PowerPC 64";
    case 22: return "an s390";
    case 40: return "an ARM (32-bit)";
    case 62: return "an x86-64";
    case 183: return "an AArch64";
    case 243: return "a RISC-V";
    case 258: return "a LoongArch";
    default: return NULL;
    }
}

/* Refuse what dlopen would refuse with an obscure message: a missing file,
 * not an ELF file, another CPU architecture, not a shared object. */
static qkrt_status check_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        if (errno == ENOENT)
            return qkrt_fail(QKRT_ERR_IO, "%s: no such file", path);
        return qkrt_fail(QKRT_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    unsigned char h[64];
    ssize_t n;
    do
        n = read(fd, h, sizeof h);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return qkrt_fail(QKRT_ERR_IO, "%s: cannot read: %s", path, strerror(e));
    if (n < 20 || memcmp(h, "\177ELF", 4))
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: not a qkc artifact (not an ELF shared object)", path);
    int big = h[5] == 2;
    unsigned type = big ? (unsigned)h[16] << 8 | h[17] : (unsigned)h[17] << 8 | h[16];
    unsigned machine = big ? (unsigned)h[18] << 8 | h[19] : (unsigned)h[19] << 8 | h[18];
    if ((int)machine != RT_MACHINE) {
        char other[48];
        const char *mname = machine_name((int)machine), *self = machine_name(RT_MACHINE);
        if (!mname) {
            snprintf(other, sizeof other, "an ELF machine %u", machine);
            mname = other;
        }
        if (machine == 183 && RT_MACHINE == 62)
            return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s is an AArch64 artifact; this runtime is x86-64 (run it with "
                             "`qkc run`, which uses qemu-aarch64)", path);
        /* "an x86-64" -> "x86-64" */
        return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s is %s artifact; this runtime is %s", path, mname,
                         self ? strchr(self, ' ') + 1 : "for another CPU");
    }
    if (h[4] != 2 || big)
        return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s is a %s-bit %s-endian ELF file; this runtime is 64-bit "
                         "little-endian", path, h[4] == 1 ? "32" : "64", big ? "big" : "little");
    if (type == 1)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s is an object file, not a shared object: link it into your program "
                         "and use qkrt_model_from_artifact", path);
    if (type != 3)
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: not a qkc artifact (ELF type %u, not a shared object)", path, type);
    return QKRT_OK;
}

enum { MAX_VARIANTS = 16 };

/* The variant of a CPU artifact for this CPU: of a fat one (a chain), the
 * one $QKRT_CPU names, else the first this CPU can run; every variant
 * checked as a whole artifact, and like the first (the same inputs, outputs
 * and workspace). An artifact with one CPU ignores QKRT_CPU. */
static qkrt_status pick_variant(qkrt_model *m)
{
    const qkrt_artifact *a = m->a, *pick = NULL;
    const char *want = a->next ? getenv("QKRT_CPU") : NULL;
    if (want && !*want)
        want = NULL;
    char names[256] = "";
    size_t len = 0;
    int n = 0;
    for (const qkrt_artifact *v = a; v; v = v->next, n++) {
        qkrt_status s;
        if (n == MAX_VARIANTS)
            return qkrt_fail(QKRT_ERR_FORMAT, "%s: more than %d CPU variants", m->name, MAX_VARIANTS);
        if (v != a && (s = check_artifact(v, m->name)))
            return s;
        if (v != a && (strcmp(v->target, a->target) || v->num_inputs != a->num_inputs ||
                       v->num_outputs != a->num_outputs || v->ws_static != a->ws_static || v->ws_batch != a->ws_batch))
            return qkrt_fail(QKRT_ERR_FORMAT, "%s: CPU variant %d differs from the first in its target, inputs, "
                             "outputs or workspace", m->name, n);
        if (len < sizeof names)
            len += (size_t)snprintf(names + len, sizeof names - len, "%s'%.40s'", n ? ", " : "", v->cpu ? v->cpu : "?");
        if (!pick && (want ? v->cpu && !strcmp(v->cpu, want) : !(v->cpu_features & ~qkrt_cpu_features())))
            pick = v;
    }
    if (want && !pick)
        return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s: QKRT_CPU=%s, but the artifact was compiled for CPU %s", m->name,
                         want, names);
    if (!pick) { /* none fits: say what the least demanding lacks */
        for (pick = a; pick->next; pick = pick->next)
            ;
    }
    qkrt_status s = check_cpu(pick, m->name);
    if (s)
        return s;
    m->a = pick;
    return QKRT_OK;
}

/* Validate, choose the CPU variant or set up the device for NVPTX, and hand
 * out the model. */
static qkrt_status finish_model(qkrt_model *m, qkrt_model **out)
{
    const qkrt_artifact *a = m->a;
    qkrt_status s = check_artifact(a, m->name);
    if (s)
        return s;
    if (strcmp(a->target, "nvptx") != 0) {
        if ((s = pick_variant(m)))
            return s;
        a = m->a;
    }
    for (int i = 0; i < a->num_inputs; i++)
        m->has_batch |= is_batched(&a->inputs[i]);
    for (int i = 0; i < a->num_outputs; i++)
        m->has_batch |= is_batched(&a->outputs[i]);
    if (!strcmp(a->target, "nvptx") && (s = qkrt_gpu_model_load(a, m->name, &m->gpu)))
        return s;
    *out = m;
    return QKRT_OK;
}

qkrt_status qkrt_model_load(const char *path, qkrt_model **out)
{
    if (!out)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_model_load: out is NULL");
    *out = NULL;
    if (!path || !*path)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_model_load: no path");
    qkrt_status s = check_elf(path);
    if (s)
        return s;

    qkrt_model *m = calloc(1, sizeof *m);
    /* dlopen searches the library path for names without a slash. */
    size_t n = strlen(path);
    char *dlpath = malloc(n + 3);
    if (!m || !dlpath || !(m->name = strdup(path))) {
        free(dlpath);
        qkrt_model_free(m);
        return qkrt_fail(QKRT_ERR_NOMEM, "%s: out of memory", path);
    }
    snprintf(dlpath, n + 3, "%s%s", strchr(path, '/') ? "" : "./", path);
    dlerror();
    m->dl = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
    free(dlpath);
    if (!m->dl) {
        const char *e = dlerror();
        s = qkrt_fail(QKRT_ERR_IO, "%s: cannot load: %s", path, e ? e : "dlopen failed");
        qkrt_model_free(m);
        return s;
    }
    qkrt_artifact_fn fn;
    void *sym = dlsym(m->dl, "qkc_artifact");
    memcpy(&fn, &sym, sizeof fn); /* object pointer to function pointer, as POSIX allows */
    if (!sym) {
        qkrt_model_free(m);
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: not a qkc artifact (no qkc_artifact symbol)", path);
    }
    m->a = fn();
    if (!m->a) {
        qkrt_model_free(m);
        return qkrt_fail(QKRT_ERR_FORMAT, "%s: qkc_artifact() returned no descriptor", path);
    }
    if ((s = finish_model(m, out)))
        qkrt_model_free(m);
    return s;
}

qkrt_status qkrt_model_from_artifact(const qkrt_artifact *a, qkrt_model **out)
{
    if (!out)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_model_from_artifact: out is NULL");
    *out = NULL;
    if (!a)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_model_from_artifact: no artifact");
    qkrt_model *m = calloc(1, sizeof *m);
    /* The name is read only once magic and version say the rest is ours. */
    const char *name = a->magic == QKRT_MAGIC && a->abi_version == QKRT_ABI_VERSION && a->model_name
                           ? a->model_name : "artifact";
    if (!m || !(m->name = strdup(name))) {
        qkrt_model_free(m);
        return qkrt_fail(QKRT_ERR_NOMEM, "%s: out of memory", name);
    }
    m->a = a;
    qkrt_status s = finish_model(m, out);
    if (s)
        qkrt_model_free(m);
    return s;
}

void qkrt_model_free(qkrt_model *m)
{
    if (!m)
        return;
    qkrt_gpu_model_free(m->gpu);
    if (m->dl)
        dlclose(m->dl);
    free(m->name);
    free(m);
}

/* ---- queries ---- */

const qkrt_artifact *qkrt_model_artifact(const qkrt_model *m)
{
    return m ? m->a : NULL;
}

int qkrt_model_num_inputs(const qkrt_model *m)
{
    return m ? m->a->num_inputs : 0;
}

int qkrt_model_num_outputs(const qkrt_model *m)
{
    return m ? m->a->num_outputs : 0;
}

const qkrt_tensor_desc *qkrt_model_input(const qkrt_model *m, int i)
{
    return m && i >= 0 && i < m->a->num_inputs ? &m->a->inputs[i] : NULL;
}

const qkrt_tensor_desc *qkrt_model_output(const qkrt_model *m, int i)
{
    return m && i >= 0 && i < m->a->num_outputs ? &m->a->outputs[i] : NULL;
}

static int find(const qkrt_tensor_desc *t, int n, const char *name)
{
    for (int i = 0; name && i < n; i++)
        if (!strcmp(t[i].name, name))
            return i;
    return -1;
}

int qkrt_model_find_input(const qkrt_model *m, const char *name)
{
    return m ? find(m->a->inputs, m->a->num_inputs, name) : -1;
}

int qkrt_model_find_output(const qkrt_model *m, const char *name)
{
    return m ? find(m->a->outputs, m->a->num_outputs, name) : -1;
}

int qkrt_model_has_batch(const qkrt_model *m)
{
    return m ? m->has_batch : 0;
}

/* ---- contexts ---- */

/* Make the context hold runs up to `batch` (>= 1, already checked). */
static qkrt_status grow(qkrt_context *c, int64_t batch)
{
    if (batch <= c->ws_batch)
        return QKRT_OK;
    if (c->gpu) {
        qkrt_status s = qkrt_gpu_context_reserve(c->gpu, batch);
        if (!s)
            c->ws_batch = batch;
        return s;
    }
    size_t size;
    if (!qkrt_ws_bytes(c->m->a, batch, &size) || size > SIZE_MAX - WS_ALIGN)
        return qkrt_fail(QKRT_ERR_ARG, "batch %lld: workspace size overflows", (long long)batch);
    size_t alloc = (size + WS_ALIGN - 1) / WS_ALIGN * WS_ALIGN;
    void *ws = aligned_alloc(WS_ALIGN, alloc ? alloc : WS_ALIGN);
    if (!ws)
        return qkrt_fail(QKRT_ERR_NOMEM, "batch %lld: cannot allocate a workspace of %zu bytes", (long long)batch,
                         size);
    free(c->ws); /* scratch only: nothing to keep */
    c->ws = ws;
    c->ws_size = size;
    c->ws_batch = batch;
    return QKRT_OK;
}

/* QKRT_NUM_THREADS when it is a number in range, else 1. */
static int default_threads(void)
{
    const char *e = getenv("QKRT_NUM_THREADS");
    if (!e || !*e)
        return 1;
    char *end;
    errno = 0;
    long n = strtol(e, &end, 10);
    if (errno || *end || n < 1 || n > MAX_THREADS)
        return 1;
    return (int)n;
}

qkrt_status qkrt_context_create(qkrt_model *m, qkrt_context **out)
{
    if (!out)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_context_create: out is NULL");
    *out = NULL;
    if (!m)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_context_create: model is NULL");
    qkrt_context *c = calloc(1, sizeof *c);
    if (!c)
        return qkrt_fail(QKRT_ERR_NOMEM, "%s: out of memory", m->name);
    c->m = m;
    c->nthreads = 1;
    qkrt_status s = QKRT_OK;
    if (m->gpu)
        s = qkrt_gpu_context_create(m->gpu, &c->gpu);
    if (!s)
        s = grow(c, 1);
    if (!s)
        s = qkrt_context_set_threads(c, default_threads());
    if (s) {
        qkrt_context_free(c);
        return s;
    }
    *out = c;
    return QKRT_OK;
}

void qkrt_context_free(qkrt_context *c)
{
    if (!c)
        return;
    qkrt_pool_free(c->pool);
    qkrt_gpu_context_free(c->gpu);
    free(c->ws);
    free(c);
}

qkrt_status qkrt_context_set_threads(qkrt_context *c, int nthreads)
{
    if (!c)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_context_set_threads: context is NULL");
    if (nthreads < 1 || nthreads > MAX_THREADS)
        return qkrt_fail(QKRT_ERR_ARG, "threads: %d, want 1..%d", nthreads, MAX_THREADS);
    if (nthreads == c->nthreads)
        return QKRT_OK;
    qkrt_pool_free(c->pool);
    c->pool = NULL;
    c->nthreads = 1;
    /* NVPTX models run on the device: a pool would only sleep. */
    if (nthreads > 1 && !c->gpu) {
        c->pool = qkrt_pool_new(nthreads);
        if (!c->pool)
            return qkrt_fail(QKRT_ERR_NOMEM, "cannot start a pool of %d threads", nthreads);
    }
    c->nthreads = nthreads;
    return QKRT_OK;
}

qkrt_status qkrt_context_reserve(qkrt_context *c, int64_t batch)
{
    if (!c)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_context_reserve: context is NULL");
    if (!c->m->has_batch)
        return QKRT_OK;
    if (batch < 1)
        return qkrt_fail(QKRT_ERR_ARG, "batch %lld: must be at least 1", (long long)batch);
    /* Buffers of this size must be describable too. */
    const qkrt_artifact *a = c->m->a;
    size_t n;
    for (int i = 0; i < a->num_inputs + a->num_outputs; i++) {
        const qkrt_tensor_desc *t = i < a->num_inputs ? &a->inputs[i] : &a->outputs[i - a->num_inputs];
        if (!qkrt_tensor_bytes_checked(t, batch, &n))
            return qkrt_fail(QKRT_ERR_ARG, "batch %lld: size of '%.64s' overflows", (long long)batch, t->name);
    }
    return grow(c, batch);
}

/* ---- running ---- */

static qkrt_status check_buffer(const char *kind, const qkrt_tensor_desc *t, const void *buf, size_t given,
                                int64_t batch, int has_batch)
{
    char shape[160], at[48] = "";
    if (has_batch)
        snprintf(at, sizeof at, " for batch %lld", (long long)batch);
    size_t want;
    if (!qkrt_tensor_bytes_checked(t, batch, &want))
        return qkrt_fail(QKRT_ERR_ARG, "%s '%.64s': size overflows%s (%s)", kind, t->name, at,
                         shape_str(t, batch, shape, sizeof shape));
    if (!buf)
        return qkrt_fail(QKRT_ERR_ARG, "%s '%.64s': buffer is NULL", kind, t->name);
    if (given != want)
        return qkrt_fail(QKRT_ERR_ARG, "%s '%.64s': %zu bytes given, %zu expected%s (%s)", kind, t->name, given, want,
                         at, shape_str(t, batch, shape, sizeof shape));
    return QKRT_OK;
}

qkrt_status qkrt_run(qkrt_context *c, int64_t batch, const void *const *inputs, const size_t *input_bytes,
                     void *const *outputs, const size_t *output_bytes)
{
    if (!c)
        return qkrt_fail(QKRT_ERR_ARG, "qkrt_run: context is NULL");
    const qkrt_model *m = c->m;
    const qkrt_artifact *a = m->a;
    qkrt_status s;
    if (!m->has_batch)
        batch = 1;
    else if (batch < 1)
        return qkrt_fail(QKRT_ERR_ARG, "batch %lld: must be at least 1", (long long)batch);
    if (a->num_inputs > 0 && (!inputs || !input_bytes))
        return qkrt_fail(QKRT_ERR_ARG, "%s is NULL (the model has %d input%s)", !inputs ? "inputs" : "input_bytes",
                         (int)a->num_inputs, a->num_inputs == 1 ? "" : "s");
    if (!outputs || !output_bytes)
        return qkrt_fail(QKRT_ERR_ARG, "%s is NULL (the model has %d output%s)",
                         !outputs ? "outputs" : "output_bytes", (int)a->num_outputs, a->num_outputs == 1 ? "" : "s");
    for (int i = 0; i < a->num_inputs; i++)
        if ((s = check_buffer("input", &a->inputs[i], inputs[i], input_bytes[i], batch, m->has_batch)))
            return s;
    for (int i = 0; i < a->num_outputs; i++)
        if ((s = check_buffer("output", &a->outputs[i], outputs[i], output_bytes[i], batch, m->has_batch)))
            return s;
    if ((s = grow(c, batch)))
        return s;

    if (c->gpu)
        return qkrt_gpu_run(c->gpu, batch, inputs, outputs);
    qkrt_exec exec = {c->pool, c->nthreads, qkrt_pool_parallel_for};
    int r = a->run(c->ws, inputs, outputs, batch, &exec);
    if (r)
        return qkrt_fail(QKRT_ERR_UNSUPPORTED, "%s: the model's run failed with code %d (compiled for %s cpu '%.32s')",
                         m->name, r, a->target, a->cpu ? a->cpu : "?");
    return QKRT_OK;
}

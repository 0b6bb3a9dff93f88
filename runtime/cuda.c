/* cuda.c — NVPTX artifacts on the CUDA driver API, loaded with dlopen.
 *
 * The driver is opened once per process (pthread_once) and its entry
 * points looked up by their versioned names; the prototypes are declared
 * here, so no CUDA header or library is needed to build the runtime. A
 * model JITs its PTX into a module in device 0's primary context, resolves
 * the kernel of every launch and uploads its constants once. A context
 * owns the device workspace and one device buffer per input and output,
 * grown with the batch. A run copies the inputs in, launches the kernels in
 * order on the default stream, synchronizes and copies the outputs out.
 * The primary context is made current on every call, so contexts work
 * from any thread. Every driver error becomes QKRT_ERR_DEVICE with the
 * driver's own words and what was being done. */
#include "cuda.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ---- the driver API, as much of it as we use ---- */

typedef int CUresult; /* 0: CUDA_SUCCESS */
typedef int CUdevice;
typedef unsigned long long CUdeviceptr;
typedef struct CUctx_st *CUcontext;
typedef struct CUmod_st *CUmodule;
typedef struct CUfunc_st *CUfunction;
typedef struct CUstream_st *CUstream;
typedef int CUjit_option;

enum {
    CU_JIT_ERROR_LOG_BUFFER = 5,
    CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6,
    MAX_GRID_X = 2147483647, /* 2^31 - 1 blocks in x */
    JIT_LOG_SIZE = 8192,
};

static const char no_driver[] =
    "no CUDA driver (libcuda.so.1 not found): this artifact needs an NVIDIA GPU and its driver";

typedef struct Driver {
    CUresult (*Init)(unsigned flags);
    CUresult (*DeviceGetCount)(int *count);
    CUresult (*DeviceGet)(CUdevice *dev, int ordinal);
    CUresult (*DevicePrimaryCtxRetain)(CUcontext *ctx, CUdevice dev);
    CUresult (*DevicePrimaryCtxRelease)(CUdevice dev);
    CUresult (*CtxSetCurrent)(CUcontext ctx);
    CUresult (*CtxSynchronize)(void);
    CUresult (*ModuleLoadDataEx)(CUmodule *mod, const void *image, unsigned nopts, CUjit_option *opts, void **vals);
    CUresult (*ModuleUnload)(CUmodule mod);
    CUresult (*ModuleGetFunction)(CUfunction *fn, CUmodule mod, const char *name);
    CUresult (*MemAlloc)(CUdeviceptr *p, size_t bytes);
    CUresult (*MemFree)(CUdeviceptr p);
    CUresult (*MemcpyHtoD)(CUdeviceptr dst, const void *src, size_t bytes);
    CUresult (*MemcpyDtoH)(void *dst, CUdeviceptr src, size_t bytes);
    CUresult (*LaunchKernel)(CUfunction fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                             unsigned bz, unsigned shared_bytes, CUstream stream, void **params, void **extra);
    CUresult (*GetErrorString)(CUresult r, const char **s);
} Driver;

/* Entry points: the versioned name first, then the old one. */
static const struct {
    const char *name, *fallback;
    size_t offset;
} driver_syms[] = {
#define SYM(field, name, fallback) {name, fallback, offsetof(Driver, field)}
    SYM(Init, "cuInit", NULL),
    SYM(DeviceGetCount, "cuDeviceGetCount", NULL),
    SYM(DeviceGet, "cuDeviceGet", NULL),
    SYM(DevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain", NULL),
    SYM(DevicePrimaryCtxRelease, "cuDevicePrimaryCtxRelease_v2", "cuDevicePrimaryCtxRelease"),
    SYM(CtxSetCurrent, "cuCtxSetCurrent", NULL),
    SYM(CtxSynchronize, "cuCtxSynchronize", NULL),
    SYM(ModuleLoadDataEx, "cuModuleLoadDataEx", NULL),
    SYM(ModuleUnload, "cuModuleUnload", NULL),
    SYM(ModuleGetFunction, "cuModuleGetFunction", NULL),
    SYM(MemAlloc, "cuMemAlloc_v2", NULL),
    SYM(MemFree, "cuMemFree_v2", NULL),
    SYM(MemcpyHtoD, "cuMemcpyHtoD_v2", NULL),
    SYM(MemcpyDtoH, "cuMemcpyDtoH_v2", NULL),
    SYM(LaunchKernel, "cuLaunchKernel", NULL),
    SYM(GetErrorString, "cuGetErrorString", NULL),
#undef SYM
};

static Driver cu;
static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static qkrt_status cu_status;   /* of loading the driver, for every later caller */
static char cu_error[256];

/* "an illegal memory access was encountered (CUDA error 700)" */
static const char *cu_str(CUresult r, char *buf, size_t n)
{
    const char *s = NULL;
    if (!cu.GetErrorString || cu.GetErrorString(r, &s) || !s)
        s = "unknown error";
    snprintf(buf, n, "%s (CUDA error %d)", s, r);
    return buf;
}

/* Fail with "what: doing: <driver message>". */
static qkrt_status cu_fail(CUresult r, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static qkrt_status cu_fail(CUresult r, const char *what, const char *fmt, ...)
{
    char doing[256], es[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(doing, sizeof doing, fmt, ap);
    va_end(ap);
    return qkrt_fail(QKRT_ERR_DEVICE, "%s: %s: %s", what, doing, cu_str(r, es, sizeof es));
}

static void load_driver(void)
{
    void *lib = dlopen("libcuda.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        cu_status = QKRT_ERR_DEVICE;
        snprintf(cu_error, sizeof cu_error, "%s", no_driver);
        return;
    }
    Driver d;
    for (size_t i = 0; i < sizeof driver_syms / sizeof driver_syms[0]; i++) {
        void *p = dlsym(lib, driver_syms[i].name);
        if (!p && driver_syms[i].fallback)
            p = dlsym(lib, driver_syms[i].fallback);
        if (!p) {
            cu_status = QKRT_ERR_DEVICE;
            snprintf(cu_error, sizeof cu_error, "the CUDA driver (libcuda.so.1) has no %s: it is too old",
                     driver_syms[i].name);
            dlclose(lib);
            return;
        }
        memcpy((char *)&d + driver_syms[i].offset, &p, sizeof p); /* object to function pointer, as dlsym needs */
    }
    cu = d;
    /* libcuda stays loaded for the life of the process, as is usual. */
    char es[160];
    int count = 0;
    CUresult r = cu.Init(0);
    if (!r)
        r = cu.DeviceGetCount(&count);
    if (r || count < 1) {
        cu_status = QKRT_ERR_DEVICE;
        snprintf(cu_error, sizeof cu_error, "no usable NVIDIA GPU: %s",
                 r ? cu_str(r, es, sizeof es) : "the driver found no device");
    }
}

/* ---- models ---- */

struct QkrtGpuModel {
    const qkrt_artifact *a;
    const char *what;        /* the model's name, owned by the qkrt_model */
    CUdevice dev;
    CUcontext ctx;           /* device 0's primary context, retained */
    CUmodule mod;
    CUfunction *fns;         /* per launch */
    CUdeviceptr consts;      /* 0 when there are none */
    int max_args;            /* of any launch */
};

struct QkrtGpuContext {
    QkrtGpuModel *g;
    int64_t batch;           /* the buffers hold runs up to this batch; 0: none yet */
    CUdeviceptr ws;
    CUdeviceptr *in, *out;   /* per input/output; 0 when empty */
    uint64_t *vals;          /* one launch's parameter values (pointers or the batch) */
    void **params;           /* &vals[i], as cuLaunchKernel wants them */
};

qkrt_status qkrt_gpu_model_load(const qkrt_artifact *a, const char *what, QkrtGpuModel **out)
{
    *out = NULL;
    pthread_once(&cu_once, load_driver);
    if (cu_status)
        return qkrt_fail(cu_status, "%s: %s", what, cu_error);

    QkrtGpuModel *g = calloc(1, sizeof *g);
    if (!g || !(g->fns = calloc((size_t)a->num_launches + 1, sizeof *g->fns))) {
        free(g);
        return qkrt_fail(QKRT_ERR_NOMEM, "%s: out of memory", what);
    }
    g->a = a;
    g->what = what;
    qkrt_status s = QKRT_OK;
    CUresult r;
    if ((r = cu.DeviceGet(&g->dev, 0))) {
        s = cu_fail(r, what, "cuDeviceGet");
        goto bad;
    }
    if ((r = cu.DevicePrimaryCtxRetain(&g->ctx, g->dev))) {
        g->ctx = NULL;
        s = cu_fail(r, what, "cuDevicePrimaryCtxRetain");
        goto bad;
    }
    if ((r = cu.CtxSetCurrent(g->ctx))) {
        s = cu_fail(r, what, "cuCtxSetCurrent");
        goto bad;
    }

    /* The driver JIT-compiles the PTX for this GPU; ptxas's complaints
     * come back in the error log. */
    char *log = calloc(1, JIT_LOG_SIZE);
    CUjit_option opts[] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES};
    void *vals[] = {log, (void *)(uintptr_t)JIT_LOG_SIZE};
    r = cu.ModuleLoadDataEx(&g->mod, a->ptx, log ? 2 : 0, opts, vals);
    if (r) {
        g->mod = NULL;
        if (log) {
            log[JIT_LOG_SIZE - 1] = 0;
            for (size_t n = strlen(log); n && (log[n - 1] == '\n' || log[n - 1] == ' '); n--)
                log[n - 1] = 0;
        }
        char es[160];
        s = qkrt_fail(QKRT_ERR_DEVICE, "%s: loading the PTX (target %s): %s%s%s", what, a->cpu ? a->cpu : "?",
                      cu_str(r, es, sizeof es), log && *log ? ": " : "", log && *log ? log : "");
        free(log);
        goto bad;
    }
    free(log);

    for (int i = 0; i < a->num_launches; i++) {
        const qkrt_gpu_launch *l = &a->launches[i];
        if ((r = cu.ModuleGetFunction(&g->fns[i], g->mod, l->kernel))) {
            s = cu_fail(r, what, "kernel '%.64s' not found in the PTX", l->kernel);
            goto bad;
        }
        if (l->nargs > g->max_args)
            g->max_args = l->nargs;
    }

    if (a->consts_size > 0) {
        if (a->consts_size > SIZE_MAX) {
            s = qkrt_fail(QKRT_ERR_NOMEM, "%s: constants too large", what);
            goto bad;
        }
        if ((r = cu.MemAlloc(&g->consts, (size_t)a->consts_size))) {
            g->consts = 0;
            s = cu_fail(r, what, "allocating %llu bytes of constants", (unsigned long long)a->consts_size);
            goto bad;
        }
        if ((r = cu.MemcpyHtoD(g->consts, a->consts, (size_t)a->consts_size))) {
            s = cu_fail(r, what, "uploading the constants");
            goto bad;
        }
    }
    *out = g;
    return QKRT_OK;
bad:
    qkrt_gpu_model_free(g);
    return s;
}

void qkrt_gpu_model_free(QkrtGpuModel *g)
{
    if (!g)
        return;
    if (g->ctx && !cu.CtxSetCurrent(g->ctx)) {
        if (g->consts)
            cu.MemFree(g->consts);
        if (g->mod)
            cu.ModuleUnload(g->mod);
    }
    if (g->ctx)
        cu.DevicePrimaryCtxRelease(g->dev);
    free(g->fns);
    free(g);
}

/* ---- contexts ---- */

qkrt_status qkrt_gpu_context_create(QkrtGpuModel *g, QkrtGpuContext **out)
{
    const qkrt_artifact *a = g->a;
    QkrtGpuContext *c = calloc(1, sizeof *c);
    *out = NULL;
    if (!c || !(c->in = calloc((size_t)a->num_inputs + 1, sizeof *c->in)) ||
        !(c->out = calloc((size_t)a->num_outputs + 1, sizeof *c->out)) ||
        !(c->vals = calloc((size_t)g->max_args + 1, sizeof *c->vals)) ||
        !(c->params = calloc((size_t)g->max_args + 1, sizeof *c->params))) {
        qkrt_gpu_context_free(c);
        return qkrt_fail(QKRT_ERR_NOMEM, "%s: out of memory", g->what);
    }
    c->g = g;
    for (int i = 0; i < g->max_args; i++)
        c->params[i] = &c->vals[i];
    *out = c;
    return QKRT_OK;
}

/* Free the device buffers (the context must be current). */
static void free_buffers(QkrtGpuContext *c)
{
    const qkrt_artifact *a = c->g->a;
    if (c->ws)
        cu.MemFree(c->ws);
    c->ws = 0;
    for (int i = 0; i < a->num_inputs; i++) {
        if (c->in[i])
            cu.MemFree(c->in[i]);
        c->in[i] = 0;
    }
    for (int i = 0; i < a->num_outputs; i++) {
        if (c->out[i])
            cu.MemFree(c->out[i]);
        c->out[i] = 0;
    }
    c->batch = 0;
}

void qkrt_gpu_context_free(QkrtGpuContext *c)
{
    if (!c)
        return;
    if (c->g && c->in && c->out && !cu.CtxSetCurrent(c->g->ctx))
        free_buffers(c);
    free(c->in);
    free(c->out);
    free(c->vals);
    free(c->params);
    free(c);
}

/* A device buffer of n bytes; none (0) for n == 0, which cuMemAlloc refuses. */
static CUresult dev_alloc(CUdeviceptr *p, size_t n)
{
    *p = 0;
    if (n == 0)
        return 0;
    CUresult r = cu.MemAlloc(p, n);
    if (r)
        *p = 0;
    return r;
}

qkrt_status qkrt_gpu_context_reserve(QkrtGpuContext *c, int64_t batch)
{
    QkrtGpuModel *g = c->g;
    const qkrt_artifact *a = g->a;
    if (batch <= c->batch)
        return QKRT_OK;
    size_t ws, n;
    if (!qkrt_ws_bytes(a, batch, &ws))
        return qkrt_fail(QKRT_ERR_ARG, "batch %lld: workspace size overflows", (long long)batch);
    CUresult r = cu.CtxSetCurrent(g->ctx);
    if (r)
        return cu_fail(r, g->what, "cuCtxSetCurrent");
    /* Old buffers first: device memory is the scarcer. On failure the
     * context holds none and the next run tries again. */
    free_buffers(c);
    if ((r = dev_alloc(&c->ws, ws))) {
        free_buffers(c);
        return cu_fail(r, g->what, "allocating a workspace of %zu bytes for batch %lld", ws, (long long)batch);
    }
    for (int i = 0; i < a->num_inputs + a->num_outputs; i++) {
        int is_in = i < a->num_inputs;
        const qkrt_tensor_desc *t = is_in ? &a->inputs[i] : &a->outputs[i - a->num_inputs];
        CUdeviceptr *p = is_in ? &c->in[i] : &c->out[i - a->num_inputs];
        if (!qkrt_tensor_bytes_checked(t, batch, &n)) {
            free_buffers(c);
            return qkrt_fail(QKRT_ERR_ARG, "batch %lld: size of '%.64s' overflows", (long long)batch, t->name);
        }
        if ((r = dev_alloc(p, n))) {
            free_buffers(c);
            return cu_fail(r, g->what, "allocating %zu bytes for %s '%.64s'", n, is_in ? "input" : "output", t->name);
        }
    }
    c->batch = batch;
    return QKRT_OK;
}

/* ---- running ---- */

/* The value of one kernel parameter at this batch. Offsets were checked
 * against the buffer sizes when the model was loaded. */
static uint64_t arg_value(const QkrtGpuContext *c, const qkrt_gpu_arg *arg, int64_t batch)
{
    const qkrt_artifact *a = c->g->a;
    switch (arg->kind) {
    case QKRT_ARG_CONST: return c->g->consts + (uint64_t)arg->offset;
    case QKRT_ARG_WS_STATIC: return c->ws + (uint64_t)arg->offset;
    case QKRT_ARG_WS_BATCH: return c->ws + a->ws_static + (uint64_t)batch * (uint64_t)arg->offset;
    case QKRT_ARG_INPUT: return c->in[arg->index] + (uint64_t)arg->offset;
    case QKRT_ARG_OUTPUT: return c->out[arg->index] + (uint64_t)arg->offset;
    case QKRT_ARG_BATCH: return (uint64_t)batch;
    }
    return 0;
}

qkrt_status qkrt_gpu_run(QkrtGpuContext *c, int64_t batch, const void *const *inputs, void *const *outputs)
{
    QkrtGpuModel *g = c->g;
    const qkrt_artifact *a = g->a;
    qkrt_status s;
    CUresult r = cu.CtxSetCurrent(g->ctx);
    if (r)
        return cu_fail(r, g->what, "cuCtxSetCurrent");
    if ((s = qkrt_gpu_context_reserve(c, batch)))
        return s;

    size_t n;
    for (int i = 0; i < a->num_inputs; i++) {
        if (qkrt_tensor_bytes_checked(&a->inputs[i], batch, &n) && n &&
            (r = cu.MemcpyHtoD(c->in[i], inputs[i], n)))
            return cu_fail(r, g->what, "copying input '%.64s' to the GPU", a->inputs[i].name);
    }

    const char *last = NULL;
    for (int i = 0; i < a->num_launches; i++) {
        const qkrt_gpu_launch *l = &a->launches[i];
        int64_t work;
        if (__builtin_mul_overflow(batch, l->work_batch, &work) ||
            __builtin_add_overflow(work, l->work_static, &work))
            return qkrt_fail(QKRT_ERR_ARG, "%s: kernel '%.64s': work overflows at batch %lld", g->what, l->kernel,
                             (long long)batch);
        if (work == 0)
            continue;
        /* Kernels stride over their work, so a capped grid is still whole. */
        int64_t blocks = work / l->block + (work % l->block != 0);
        unsigned grid = blocks > MAX_GRID_X ? MAX_GRID_X : (unsigned)blocks;
        for (int k = 0; k < l->nargs; k++)
            c->vals[k] = arg_value(c, &l->args[k], batch);
        r = cu.LaunchKernel(g->fns[i], grid, 1, 1, (unsigned)l->block, 1, 1, 0, NULL, l->nargs ? c->params : NULL,
                            NULL);
        if (r)
            return cu_fail(r, g->what, "launching kernel '%.64s' (%u blocks of %d)", l->kernel, grid, (int)l->block);
        last = l->kernel;
    }
    /* Launches are asynchronous: a kernel's fault shows up here. */
    if ((r = cu.CtxSynchronize()))
        return cu_fail(r, g->what, "running the kernels (the last launched was '%.64s')", last ? last : "none");

    for (int i = 0; i < a->num_outputs; i++) {
        if (qkrt_tensor_bytes_checked(&a->outputs[i], batch, &n) && n &&
            (r = cu.MemcpyDtoH(outputs[i], c->out[i], n)))
            return cu_fail(r, g->what, "copying output '%.64s' from the GPU", a->outputs[i].name);
    }
    return QKRT_OK;
}

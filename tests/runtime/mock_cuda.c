/* mock_cuda.c — a stand-in libcuda.so.1, so that runtime/cuda.c runs in
 * full on machines without a GPU (test_cuda_mock puts it first on
 * LD_LIBRARY_PATH).
 *
 * "Device" memory is host memory, and every device address handed in is
 * checked against the live allocations. Every call but cuInit, cuDevice*,
 * cuCtxSetCurrent and cuGetErrorString needs the primary context current
 * on the calling thread, as the real driver does, so a runtime that
 * forgets cuCtxSetCurrent on some thread fails here too. The module knows
 * the kernels of gpu_kernels.ll and runs them on the host, thread by
 * thread of the grid (grid-stride loops included), in the same float
 * order as the PTX; "never" faults like a trap. Launch errors are sticky
 * until cuCtxSynchronize, as on a GPU. mock_cuda_live() counts what is
 * still allocated, loaded or retained, for leak checks. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef int CUresult;
typedef unsigned long long CUdeviceptr;

enum {
    SUCCESS = 0,
    INVALID_VALUE = 1,
    OUT_OF_MEMORY = 2,
    NOT_INITIALIZED = 3,
    INVALID_DEVICE = 101,
    INVALID_CONTEXT = 201,
    INVALID_PTX = 218,
    INVALID_HANDLE = 400,
    NOT_FOUND = 500,
    ILLEGAL_ADDRESS = 700,
    LAUNCH_FAILED = 719,
};

#define API __attribute__((visibility("default")))

typedef struct Ctx {
    int unused;
} Ctx;

typedef struct Module {
    char *ptx;
} Module;

typedef struct Kernel {
    const char *name;
    CUresult (*run)(void **params, uint64_t threads);
} Kernel;

typedef struct Alloc {
    unsigned char *p;
    size_t n;
} Alloc;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static int initialized, retained, modules;
static Ctx primary;
static _Thread_local Ctx *current;
static Alloc allocs[1024];
static int nallocs;
static CUresult sticky; /* a fault of an earlier launch, reported by the next sync */

/* ---- memory ---- */

/* The host address of device range [p, p + n), or NULL. */
static void *host(CUdeviceptr p, size_t n)
{
    void *r = NULL;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nallocs && !r; i++) {
        uintptr_t b = (uintptr_t)allocs[i].p;
        if (p >= b && p - b <= allocs[i].n && n <= allocs[i].n - (p - b))
            r = (void *)(uintptr_t)p;
    }
    pthread_mutex_unlock(&mu);
    return r;
}

/* ---- the kernels of gpu_kernels.ll, on the host ---- */

static CUdeviceptr ptr_arg(void **params, int i)
{
    CUdeviceptr p;
    memcpy(&p, params[i], sizeof p);
    return p;
}

static int64_t i64_arg(void **params, int i)
{
    int64_t v;
    memcpy(&v, params[i], sizeof v);
    return v;
}

/* tmp[i] = x[i] * c[0] for i < batch * 100 */
static CUresult k_scale(void **params, uint64_t threads)
{
    int64_t batch = i64_arg(params, 3), n = batch * 100;
    const float *x = host(ptr_arg(params, 0), (size_t)n * 4);
    float *tmp = host(ptr_arg(params, 1), (size_t)n * 4);
    const float *c = host(ptr_arg(params, 2), 4);
    if (!x || !tmp || !c)
        return ILLEGAL_ADDRESS;
    for (uint64_t t = 0; t < threads && (int64_t)t < n; t++)
        for (int64_t i = (int64_t)t; i < n; i += (int64_t)threads)
            tmp[i] = x[i] * c[0];
    return SUCCESS;
}

/* y[b,k] = tmp[b,k] + bias[0]; sum[b] = sum over k; scratch[0] = 1 */
static CUresult k_shift_sum(void **params, uint64_t threads)
{
    int64_t batch = i64_arg(params, 4);
    const float *tmp = host(ptr_arg(params, 0), (size_t)batch * 400);
    const float *bias = host(ptr_arg(params, 1), 4);
    float *y = host(ptr_arg(params, 2), (size_t)batch * 400);
    float *sum = host(ptr_arg(params, 3), (size_t)batch * 4);
    float *scratch = host(ptr_arg(params, 5), 4);
    if (!tmp || !bias || !y || !sum || !scratch)
        return ILLEGAL_ADDRESS;
    scratch[0] = 1.0f;
    for (uint64_t t = 0; t < threads && (int64_t)t < batch; t++)
        for (int64_t b = (int64_t)t; b < batch; b += (int64_t)threads) {
            float acc = 0.0f;
            for (int64_t k = 0; k < 100; k++) {
                float w = tmp[b * 100 + k] + bias[0];
                y[b * 100 + k] = w;
                acc = acc + w;
            }
            sum[b] = acc;
        }
    return SUCCESS;
}

static CUresult k_never(void **params, uint64_t threads)
{
    return LAUNCH_FAILED; /* llvm.trap */
}

static const Kernel kernels[] = {{"scale", k_scale}, {"shift_sum", k_shift_sum}, {"never", k_never}};

/* ---- the API ---- */

#define NEED_CONTEXT                                                                                                 \
    do {                                                                                                             \
        if (!initialized)                                                                                            \
            return NOT_INITIALIZED;                                                                                  \
        if (current != &primary || retained == 0)                                                                    \
            return INVALID_CONTEXT;                                                                                  \
    } while (0)

API CUresult cuInit(unsigned flags)
{
    if (flags)
        return INVALID_VALUE;
    initialized = 1;
    return SUCCESS;
}

API CUresult cuDeviceGetCount(int *count)
{
    if (!initialized)
        return NOT_INITIALIZED;
    *count = 1;
    return SUCCESS;
}

API CUresult cuDeviceGet(int *dev, int ordinal)
{
    if (!initialized)
        return NOT_INITIALIZED;
    if (ordinal != 0)
        return INVALID_DEVICE;
    *dev = 0;
    return SUCCESS;
}

API CUresult cuDevicePrimaryCtxRetain(Ctx **ctx, int dev)
{
    if (!initialized)
        return NOT_INITIALIZED;
    if (dev != 0)
        return INVALID_DEVICE;
    pthread_mutex_lock(&mu);
    retained++;
    pthread_mutex_unlock(&mu);
    *ctx = &primary;
    return SUCCESS;
}

API CUresult cuDevicePrimaryCtxRelease_v2(int dev)
{
    CUresult r = SUCCESS;
    pthread_mutex_lock(&mu);
    if (dev != 0 || retained == 0)
        r = INVALID_CONTEXT;
    else
        retained--;
    pthread_mutex_unlock(&mu);
    return r;
}

API CUresult cuCtxSetCurrent(Ctx *ctx)
{
    if (!initialized)
        return NOT_INITIALIZED;
    if (ctx && ctx != &primary)
        return INVALID_CONTEXT;
    current = ctx;
    return SUCCESS;
}

API CUresult cuCtxSynchronize(void)
{
    NEED_CONTEXT;
    pthread_mutex_lock(&mu);
    CUresult r = sticky;
    pthread_mutex_unlock(&mu);
    return r;
}

API CUresult cuModuleLoadDataEx(Module **mod, const void *image, unsigned nopts, int *opts, void **vals)
{
    NEED_CONTEXT;
    const char *ptx = image;
    if (!ptx || strncmp(ptx, "//", 2) || !strstr(ptx, ".version")) {
        for (unsigned i = 0; i < nopts; i++) {
            if (opts[i] != 5) /* CU_JIT_ERROR_LOG_BUFFER */
                continue;
            size_t size = 0;
            for (unsigned j = 0; j < nopts; j++)
                if (opts[j] == 6) /* CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES */
                    size = (size_t)(uintptr_t)vals[j];
            if (size)
                strncpy(vals[i], "ptxas application ptx input, line 4; fatal   : Parsing error near 'garbage'\n",
                        size - 1);
        }
        return INVALID_PTX;
    }
    Module *m = malloc(sizeof *m);
    if (!m || !(m->ptx = strdup(ptx))) {
        free(m);
        return OUT_OF_MEMORY;
    }
    pthread_mutex_lock(&mu);
    modules++;
    pthread_mutex_unlock(&mu);
    *mod = m;
    return SUCCESS;
}

API CUresult cuModuleUnload(Module *m)
{
    NEED_CONTEXT;
    if (!m)
        return INVALID_HANDLE;
    free(m->ptx);
    free(m);
    pthread_mutex_lock(&mu);
    modules--;
    pthread_mutex_unlock(&mu);
    return SUCCESS;
}

API CUresult cuModuleGetFunction(const Kernel **fn, Module *m, const char *name)
{
    NEED_CONTEXT;
    char entry[128];
    snprintf(entry, sizeof entry, ".entry %s(", name);
    for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++)
        if (!strcmp(kernels[i].name, name) && strstr(m->ptx, entry)) {
            *fn = &kernels[i];
            return SUCCESS;
        }
    return NOT_FOUND;
}

API CUresult cuMemAlloc_v2(CUdeviceptr *p, size_t n)
{
    NEED_CONTEXT;
    if (n == 0)
        return INVALID_VALUE;
    unsigned char *b = malloc(n);
    if (!b)
        return OUT_OF_MEMORY;
    memset(b, 0xcd, n); /* device memory is not zeroed */
    pthread_mutex_lock(&mu);
    if (nallocs == (int)(sizeof allocs / sizeof *allocs)) {
        pthread_mutex_unlock(&mu);
        free(b);
        return OUT_OF_MEMORY;
    }
    allocs[nallocs++] = (Alloc){b, n};
    pthread_mutex_unlock(&mu);
    *p = (CUdeviceptr)(uintptr_t)b;
    return SUCCESS;
}

API CUresult cuMemFree_v2(CUdeviceptr p)
{
    NEED_CONTEXT;
    CUresult r = INVALID_VALUE;
    pthread_mutex_lock(&mu);
    for (int i = 0; i < nallocs; i++)
        if ((uintptr_t)allocs[i].p == p) {
            free(allocs[i].p);
            allocs[i] = allocs[--nallocs];
            r = SUCCESS;
            break;
        }
    pthread_mutex_unlock(&mu);
    return r;
}

API CUresult cuMemcpyHtoD_v2(CUdeviceptr dst, const void *src, size_t n)
{
    NEED_CONTEXT;
    void *d = host(dst, n);
    if (!d || !src)
        return INVALID_VALUE;
    memcpy(d, src, n);
    return SUCCESS;
}

API CUresult cuMemcpyDtoH_v2(void *dst, CUdeviceptr src, size_t n)
{
    NEED_CONTEXT;
    void *s = host(src, n);
    if (!s || !dst)
        return INVALID_VALUE;
    memcpy(dst, s, n);
    return SUCCESS;
}

API CUresult cuLaunchKernel(const Kernel *fn, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                            unsigned bz, unsigned shared, void *stream, void **params, void **extra)
{
    NEED_CONTEXT;
    if (!fn || gx == 0 || gx > 2147483647u || gy != 1 || gz != 1 || bx == 0 || bx > 1024 || by != 1 || bz != 1 ||
        extra)
        return INVALID_VALUE;
    CUresult r = fn->run(params, (uint64_t)gx * bx);
    if (r) {
        pthread_mutex_lock(&mu);
        sticky = r;
        pthread_mutex_unlock(&mu);
    }
    return SUCCESS;
}

API CUresult cuGetErrorString(CUresult r, const char **s)
{
    switch (r) {
    case SUCCESS: *s = "no error"; break;
    case INVALID_VALUE: *s = "invalid argument"; break;
    case OUT_OF_MEMORY: *s = "out of memory"; break;
    case NOT_INITIALIZED: *s = "initialization error"; break;
    case INVALID_DEVICE: *s = "invalid device ordinal"; break;
    case INVALID_CONTEXT: *s = "invalid device context"; break;
    case INVALID_PTX: *s = "a PTX JIT compilation failed"; break;
    case INVALID_HANDLE: *s = "invalid resource handle"; break;
    case NOT_FOUND: *s = "named symbol not found"; break;
    case ILLEGAL_ADDRESS: *s = "an illegal memory access was encountered"; break;
    case LAUNCH_FAILED: *s = "unspecified launch failure"; break;
    default: *s = NULL; return INVALID_VALUE;
    }
    return SUCCESS;
}

/* For the tests: allocations, modules and context references still held;
 * clear a sticky fault (a real GPU would need a context reset). */
API int mock_cuda_live(void)
{
    pthread_mutex_lock(&mu);
    int n = nallocs + modules + retained;
    pthread_mutex_unlock(&mu);
    return n;
}

API void mock_cuda_clear_fault(void)
{
    pthread_mutex_lock(&mu);
    sticky = SUCCESS;
    pthread_mutex_unlock(&mu);
}

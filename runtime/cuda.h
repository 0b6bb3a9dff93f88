/* cuda.h — running NVPTX artifacts through the CUDA driver API (internal).
 *
 * libcuda.so.1 is found with dlopen at run time, never linked: a program
 * using the runtime starts on machines without a GPU and fails only when
 * it loads an NVPTX artifact, with QKRT_ERR_DEVICE and a message saying
 * why. Every function returns a status and sets the thread's message. */
#ifndef QKRT_CUDA_H
#define QKRT_CUDA_H

#include "qkc/qkrt.h"

typedef struct QkrtGpuModel QkrtGpuModel;     /* module, kernels, constants on the device */
typedef struct QkrtGpuContext QkrtGpuContext; /* workspace and input/output buffers on the device */

/* Load the driver (once per process), JIT the artifact's PTX, resolve its
 * kernels and upload its constants. `what` names the model in messages. */
qkrt_status qkrt_gpu_model_load(const qkrt_artifact *a, const char *what, QkrtGpuModel **out);
void qkrt_gpu_model_free(QkrtGpuModel *g);

/* Device buffers for batch 1; grown by reserve and run, never shrunk. */
qkrt_status qkrt_gpu_context_create(QkrtGpuModel *g, QkrtGpuContext **out);
void qkrt_gpu_context_free(QkrtGpuContext *c);
qkrt_status qkrt_gpu_context_reserve(QkrtGpuContext *c, int64_t batch);

/* One run: inputs to the device, the launches in order, outputs back. The
 * caller has checked the buffers and their sizes at this batch. */
qkrt_status qkrt_gpu_run(QkrtGpuContext *c, int64_t batch, const void *const *inputs, void *const *outputs);

#endif

/* qkrt.h — the qkc runtime: load a compiled model, query its inputs and
 * outputs, run it on your buffers.
 *
 *     qkrt_model *m;
 *     if (qkrt_model_load("model.so", &m) != QKRT_OK)
 *         fprintf(stderr, "%s\n", qkrt_error_message());
 *     qkrt_context *c;
 *     qkrt_context_create(m, &c);
 *     const void *in[] = {x};           size_t in_bytes[] = {sizeof x};
 *     void *out[] = {y};                size_t out_bytes[] = {sizeof y};
 *     qkrt_run(c, batch, in, in_bytes, out, out_bytes);
 *     qkrt_context_free(c);
 *     qkrt_model_free(m);
 *
 * A model is immutable once loaded and may be shared by threads; a context
 * holds the workspace of one run at a time, so give each thread its own.
 * Functions return a status and never print or abort; the message of the
 * last failure on the calling thread is qkrt_error_message(). */
#ifndef QKRT_H
#define QKRT_H

#include <stddef.h>
#include <stdint.h>

#include "qkrt_abi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* libqkrt.so is built with hidden visibility: what this header declares is
 * its whole interface. */
#if defined(__GNUC__)
#pragma GCC visibility push(default)
#endif

typedef enum qkrt_status {
    QKRT_OK = 0,
    QKRT_ERR_IO = 1,          /* file not found, not loadable */
    QKRT_ERR_FORMAT = 2,      /* not a qkc artifact, or another ABI version */
    QKRT_ERR_ARG = 3,         /* wrong count, size, batch or NULL buffer */
    QKRT_ERR_NOMEM = 4,
    QKRT_ERR_DEVICE = 5,      /* no GPU or driver, or a driver error */
    QKRT_ERR_UNSUPPORTED = 6  /* e.g. an artifact for another CPU architecture */
} qkrt_status;

typedef struct qkrt_model qkrt_model;
typedef struct qkrt_context qkrt_context;

/* The message of the last failing call on this thread ("" if none). */
const char *qkrt_error_message(void);
const char *qkrt_status_name(qkrt_status s);

/* Load a shared-object artifact (dlopen) and check its ABI version. */
qkrt_status qkrt_model_load(const char *path, qkrt_model **out);
/* Wrap a statically linked artifact (`<prefix>_artifact()` of an --emit obj). */
qkrt_status qkrt_model_from_artifact(const qkrt_artifact *a, qkrt_model **out);
void qkrt_model_free(qkrt_model *m);
const qkrt_artifact *qkrt_model_artifact(const qkrt_model *m);

int qkrt_model_num_inputs(const qkrt_model *m);
int qkrt_model_num_outputs(const qkrt_model *m);
/* NULL when i is out of range. */
const qkrt_tensor_desc *qkrt_model_input(const qkrt_model *m, int i);
const qkrt_tensor_desc *qkrt_model_output(const qkrt_model *m, int i);
/* Index of the input/output called `name`, or -1. */
int qkrt_model_find_input(const qkrt_model *m, const char *name);
int qkrt_model_find_output(const qkrt_model *m, const char *name);
/* Whether the batch dim is chosen per run. */
int qkrt_model_has_batch(const qkrt_model *m);
/* Bytes of a tensor at a batch size (batch ignored without a batch dim). */
size_t qkrt_tensor_bytes(const qkrt_tensor_desc *t, int64_t batch);
/* Bytes per element of a dtype code; 0 when unknown. */
size_t qkrt_dtype_size(int32_t dtype);
const char *qkrt_dtype_name(int32_t dtype);

/* A context: workspace (grown to the largest batch seen) and device state. */
qkrt_status qkrt_context_create(qkrt_model *m, qkrt_context **out);
void qkrt_context_free(qkrt_context *c);
/* Threads used by runs of this context (1: no pool). Default: 1, or
 * QKRT_NUM_THREADS from the environment. */
qkrt_status qkrt_context_set_threads(qkrt_context *c, int nthreads);
/* Reserve the workspace for batches up to `batch`, so runs do not allocate. */
qkrt_status qkrt_context_reserve(qkrt_context *c, int64_t batch);

/* Run the model. inputs[i]/outputs[i] are buffers of the i-th input/output
 * in declaration order, with their sizes in bytes, checked against the
 * model's shapes at this batch (batch must be 1.. when the model has a batch
 * dim; it is ignored otherwise). */
qkrt_status qkrt_run(qkrt_context *c, int64_t batch, const void *const *inputs, const size_t *input_bytes,
                     void *const *outputs, const size_t *output_bytes);

#if defined(__GNUC__)
#pragma GCC visibility pop
#endif

#ifdef __cplusplus
}
#endif

#endif

/* internal.h — what the runtime's files share (not installed, not part of
 * the API). */
#ifndef QKRT_INTERNAL_H
#define QKRT_INTERNAL_H

#include "qkc/qkrt.h"
#include "qkc/qkrt_abi.h"

#include <stdint.h>

/* Record the calling thread's error message and return s (qkrt.c). */
qkrt_status qkrt_fail(qkrt_status s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* This machine's CPU features, QKRT_CPU_* bits (cpu.c), and their names. */
uint64_t qkrt_cpu_features(void);
const char *qkrt_cpu_feature_name(int bit);

/* Checked a * b and a + b on sizes; 0 on overflow. */
static inline int qkrt_mul(size_t a, size_t b, size_t *out)
{
    return !__builtin_mul_overflow(a, b, out);
}

static inline int qkrt_add(size_t a, size_t b, size_t *out)
{
    return !__builtin_add_overflow(a, b, out);
}

/* Bytes of tensor t at `batch` into *out; 0 when it overflows or t is bad. */
int qkrt_tensor_bytes_checked(const qkrt_tensor_desc *t, int64_t batch, size_t *out);
/* Workspace bytes ws_static + batch * ws_batch into *out; 0 on overflow. */
int qkrt_ws_bytes(const qkrt_artifact *a, int64_t batch, size_t *out);

#endif

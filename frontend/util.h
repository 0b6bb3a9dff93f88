/* util.h — small helpers shared by the frontends (internal). */
#ifndef QKC_FE_UTIL_H
#define QKC_FE_UTIL_H

#include <stddef.h>

#include "ir/diag.h"

/* Largest model file read into memory (protobuf's own limit is 2 GiB). */
#define FE_MAX_FILE_BYTES ((size_t)2 << 30)

/* The default bound on the constants a model may create beyond those its
 * files store (model_const_bound): max(256 MiB, 64 x the model's bytes). */
#define FE_CONST_BOUND_MIN_MIB 256
#define FE_CONST_BOUND_FACTOR 64

/* Read a whole file (malloc'ed, NUL-terminated); NULL + error on failure. */
char *fe_read_file(const char *path, size_t *len, Diag *d);

#endif

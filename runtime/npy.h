/* npy.h — reading and writing NumPy .npy files (format versions 1.0-3.0).
 *
 * Part of the runtime library (libc only), used by `qkc run`, the AArch64
 * runner, calibration and the tests. Dtype codes are the ONNX TensorProto
 * codes of qkrt_abi.h. Every malformed file is rejected with a reason. */
#ifndef QKC_NPY_H
#define QKC_NPY_H

#include <stddef.h>
#include <stdint.h>

#define NPY_MAX_RANK 8

typedef struct NpyArray {
    int32_t dtype;                 /* ONNX TensorProto code */
    int rank;
    int64_t dims[NPY_MAX_RANK];
    void *data;                    /* C order, little-endian, malloc'ed */
    size_t bytes;
} NpyArray;

/* Read a .npy file. Returns 0, or -1 with a message "path: reason" in err.
 * Accepts little/big-endian and Fortran order (converted to C order, native
 * little-endian); types f2 f4 f8 i1 u1 i2 u2 i4 u4 i8 u8 b1 and bfloat16 as
 * 'V2' is not accepted. Limits: rank <= 8, header <= 64 KiB, data size must
 * match the file exactly. */
int npy_read(const char *path, NpyArray *out, char *err, size_t errlen);
int npy_read_buffer(const char *name, const void *buf, size_t len, NpyArray *out, char *err, size_t errlen);
/* Write a C-order little-endian .npy (version 1.0). Returns 0 or -1.
 * bfloat16 (code 16), which NumPy lacks, is written as '<u2' (its bits). */
int npy_write(const char *path, int32_t dtype, int rank, const int64_t *dims, const void *data, char *err,
              size_t errlen);
void npy_free(NpyArray *a);
/* Number of elements, or -1 on overflow. */
int64_t npy_numel(const NpyArray *a);

#endif

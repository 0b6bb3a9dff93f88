/* onnx_tensor.c — decoding TensorProto (initializers, Constant values, the
 * node tests' .pb files) into concrete tensors. Data may be in raw_data
 * (little-endian, the common case) or in the typed repeated fields. Every
 * size is checked against the dims before anything is copied. */
#include "frontend.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

bool onnx_tensor_decode(const Onnx__TensorProto *tp, Tensor *out, SrcLoc loc, Diag *d)
{
    memset(out, 0, sizeof *out);
    const char *name = tp->name ? tp->name : "";
    int code = tp->has_data_type ? tp->data_type : 0;
    DType dt = dtype_from_onnx(code);
    if (dt == DT_UNDEF)
        return diag_error(d, loc, "tensor '%s': element type %s (%d) is not supported", name,
                          dtype_onnx_code_name(code), code);
    if (tp->n_dims > QK_MAX_RANK)
        return diag_error(d, loc, "tensor '%s': rank %zu exceeds the supported %d", name, tp->n_dims, QK_MAX_RANK);
    if (tp->segment)
        return diag_error(d, loc, "tensor '%s': segmented tensors are not supported", name);
    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
        return diag_error(d, loc, "tensor '%s': external data is not supported", name);
    Shape s = {.rank = (int)tp->n_dims};
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return diag_error(d, loc, "tensor '%s': negative dim %lld", name, (long long)tp->dims[i]);
        s.d[i] = tp->dims[i];
    }
    int64_t numel = shape_numel(&s), bytes;
    if (numel < 0 || !checked_mul(numel, dtype_size(dt), &bytes) || (uint64_t)bytes > FE_MAX_FILE_BYTES)
        return diag_error(d, loc, "tensor '%s': size overflows", name);

    /* which field holds the data, and how many elements it has */
    size_t have;
    const char *field;
    if (tp->has_raw_data) {
        if ((int64_t)tp->raw_data.len != bytes)
            return diag_error(d, loc, "tensor '%s': raw_data has %zu bytes, dims need %lld", name, tp->raw_data.len,
                              (long long)bytes);
        have = (size_t)numel, field = "raw_data";
    } else if (dt == DT_F32) {
        have = tp->n_float_data, field = "float_data";
    } else if (dt == DT_F64) {
        have = tp->n_double_data, field = "double_data";
    } else if (dt == DT_I64) {
        have = tp->n_int64_data, field = "int64_data";
    } else if (dt == DT_U32 || dt == DT_U64) {
        have = tp->n_uint64_data, field = "uint64_data";
    } else {
        have = tp->n_int32_data, field = "int32_data";
    }
    if ((int64_t)have != numel)
        return diag_error(d, loc, "tensor '%s': %s has %zu elements, dims need %lld", name, field, have,
                          (long long)numel);
    if (!tensor_alloc(out, dt, &s))
        return diag_error(d, loc, "tensor '%s': out of memory", name);
    if (tp->has_raw_data) {
        if (bytes)
            memcpy(out->data, tp->raw_data.data, (size_t)bytes);
        return true;
    }
    for (int64_t i = 0; i < numel; i++) {
        switch (dt) {
        case DT_F32: ((float *)out->data)[i] = tp->float_data[i]; break;
        case DT_F64: ((double *)out->data)[i] = tp->double_data[i]; break;
        case DT_I64: ((int64_t *)out->data)[i] = tp->int64_data[i]; break;
        case DT_U64: ((uint64_t *)out->data)[i] = tp->uint64_data[i]; break;
        case DT_U32: ((uint32_t *)out->data)[i] = (uint32_t)tp->uint64_data[i]; break;
        case DT_I32: ((int32_t *)out->data)[i] = tp->int32_data[i]; break;
        case DT_I16: ((int16_t *)out->data)[i] = (int16_t)tp->int32_data[i]; break;
        case DT_U16: case DT_F16: case DT_BF16:
            ((uint16_t *)out->data)[i] = (uint16_t)tp->int32_data[i];
            break;
        case DT_I8: ((int8_t *)out->data)[i] = (int8_t)tp->int32_data[i]; break;
        case DT_U8: ((uint8_t *)out->data)[i] = (uint8_t)tp->int32_data[i]; break;
        case DT_BOOL: ((uint8_t *)out->data)[i] = tp->int32_data[i] != 0; break;
        default: break;
        }
    }
    return true;
}

bool onnx_tensor_read_file(const char *path, Tensor *out, char **name, Diag *d)
{
    size_t len;
    char *buf = fe_read_file(path, &len, d);
    if (!buf)
        return false;
    Onnx__TensorProto *tp = onnx__tensor_proto__unpack(NULL, len, (const uint8_t *)buf);
    free(buf);
    if (!tp)
        return diag_error(d, loc_file(path), "not a serialized ONNX TensorProto");
    bool ok = onnx_tensor_decode(tp, out, loc_file(path), d);
    if (ok && name)
        *name = tp->name ? strdup(tp->name) : NULL;
    onnx__tensor_proto__free_unpacked(tp, NULL);
    return ok;
}

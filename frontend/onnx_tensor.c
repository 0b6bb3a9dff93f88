/* onnx_tensor.c — decoding TensorProto (initializers, Constant values, the
 * node tests' .pb files) into concrete tensors. Data may be in raw_data
 * (little-endian, the common case), in the typed repeated fields, or in a
 * file next to the model (external data, how large models ship weights).
 * Every size is checked against the dims before anything is copied.
 *
 * External data (data_location EXTERNAL) is the list of key/value strings
 * external_data: "location" (a file, relative to the model's folder),
 * "offset" and "length" (decimal bytes; no length: the rest of the file),
 * "checksum" (ignored). The file is confined to the model's folder: an
 * absolute location, a ".." component, a path that resolves (symlinks
 * followed) outside the folder and anything but a regular file are refused;
 * offset and length are checked against the file's size and the tensor's
 * byte size before the tensor is allocated, and the bytes are read straight
 * into it (no other buffer). */
#include "frontend.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

/* ---- external data ------------------------------------------------------- */

/* Where the data of an external tensor is, from its key/value entries. */
typedef struct ExtRef {
    const char *location;
    int64_t offset;          /* 0 when absent */
    int64_t length;          /* -1 when absent: to the end of the file */
} ExtRef;

/* Messages about external data name the tensor in their text; a value's
 * place (its name without an op) would only repeat it. */
#define EXT_ERR(fmt, ...) diag_error(d, el, "%s '%s': " fmt, what, name, __VA_ARGS__)

/* A non-negative decimal integer that fits int64 ("0", "4096"; no sign,
 * blanks or other bytes). */
static bool ext_number(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || !checked_mul(v, 10, &v) || !checked_add(v, *s - '0', &v))
            return false;
    }
    *out = v;
    return true;
}

static bool ext_parse(const Onnx__TensorProto *tp, const char *what, const char *name, SrcLoc el, ExtRef *r,
                      Diag *d)
{
    *r = (ExtRef){NULL, 0, -1};
    bool seen[3] = {false, false, false};
    static const char *keys[3] = {"location", "offset", "length"};
    for (size_t i = 0; i < tp->n_external_data; i++) {
        const char *k = tp->external_data[i]->key ? tp->external_data[i]->key : "";
        const char *v = tp->external_data[i]->value ? tp->external_data[i]->value : "";
        int which = -1;
        for (int j = 0; j < 3; j++)
            if (strcmp(k, keys[j]) == 0)
                which = j;
        if (which < 0)
            continue; /* "checksum", and keys of later ONNX versions */
        if (seen[which])
            return EXT_ERR("external data key '%s' is given twice", k);
        seen[which] = true;
        if (which == 0) {
            r->location = v;
        } else if (!ext_number(v, which == 1 ? &r->offset : &r->length)) {
            return EXT_ERR("external data %s '%s' is not a byte count (a non-negative integer below 2^63)", k, v);
        }
    }
    if (!r->location || !*r->location)
        return EXT_ERR("%s", "external data without a 'location'");
    return true;
}

/* Whether `path` (resolved, absolute) is `dir` (resolved) or inside it. */
static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && (path[n] == '/' || path[n] == 0);
}

/* Read the external data of tp, `bytes` bytes as its dims say, into `out`
 * (dtype and shape set by the caller; its data allocated here once every
 * check has passed). */
static bool ext_read(const Onnx__TensorProto *tp, const char *data_dir, const char *what, const char *name,
                     int64_t bytes, Tensor *out, SrcLoc el, Diag *d)
{
    ExtRef r;
    if (!ext_parse(tp, what, name, el, &r, d))
        return false;
    const char *loc = r.location;
    if (loc[0] == '/')
        return EXT_ERR("external data location '%s' is an absolute path; it must be relative to the model's folder",
                       loc);
    /* no ".." component, wherever it would lead (depth: folders below the
     * model's, for the message) */
    bool dotdot = false;
    int depth = 0;
    for (const char *p = loc; *p;) {
        size_t n = strcspn(p, "/");
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            dotdot = true;
            if (--depth < 0)
                break;
        } else if (n > 0 && !(n == 1 && p[0] == '.')) {
            depth++;
        }
        p += n + (p[n] == '/');
    }
    if (depth < 0)
        return EXT_ERR("external data location '%s' leaves the model's folder", loc);
    if (dotdot)
        return EXT_ERR("external data location '%s' has a '..' component (not allowed, even within the model's "
                       "folder)", loc);
    char *joined = NULL, dir_real[PATH_MAX], file_real[PATH_MAX];
    if (asprintf(&joined, "%s/%s", data_dir, loc) < 0)
        return EXT_ERR("%s", "out of memory");
    if (!realpath(data_dir, dir_real)) {
        bool ok = EXT_ERR("the model's folder '%s' cannot be resolved: %s", data_dir, strerror(errno));
        free(joined);
        return ok;
    }
    if (!realpath(joined, file_real)) {
        bool ok = EXT_ERR("external data location '%s': cannot open %s: %s", loc, joined, strerror(errno));
        free(joined);
        return ok;
    }
    free(joined);
    if (!path_within(file_real, dir_real))
        return EXT_ERR("external data location '%s' leaves the model's folder (it resolves to %s)", loc, file_real);
    /* O_NONBLOCK: a FIFO must not block the open; O_NOFOLLOW: the resolved
     * path must not have become a symlink since */
    int fd = open(file_real, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return EXT_ERR("external data location '%s': cannot open %s: %s", loc, file_real, strerror(errno));
    struct stat st;
    bool ok = true;
    int64_t end;
    if (fstat(fd, &st) != 0) {
        ok = EXT_ERR("external data location '%s': cannot read %s: %s", loc, file_real, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        ok = EXT_ERR("external data location '%s' is not a regular file", loc);
    } else if (r.offset > (int64_t)st.st_size) {
        ok = EXT_ERR("external data offset %lld is beyond the end of '%s' (%lld bytes)", (long long)r.offset, loc,
                     (long long)st.st_size);
    } else if (r.length >= 0 && r.length != bytes) {
        ok = EXT_ERR("external data length %lld does not match the %lld bytes of the tensor's type and dims",
                     (long long)r.length, (long long)bytes);
    } else if (r.length < 0 && (int64_t)st.st_size - r.offset != bytes) {
        ok = EXT_ERR("external data without a length is the rest of '%s' from offset %lld, %lld bytes, not the "
                     "%lld bytes of the tensor's type and dims",
                     loc, (long long)r.offset, (long long)((int64_t)st.st_size - r.offset), (long long)bytes);
    } else if (!checked_add(r.offset, bytes, &end) || end > (int64_t)st.st_size) {
        ok = EXT_ERR("external data at offset %lld, length %lld, runs past the end of '%s' (%lld bytes)",
                     (long long)r.offset, (long long)bytes, loc, (long long)st.st_size);
    } else if (!tensor_alloc(out, out->dtype, &out->shape)) {
        ok = EXT_ERR("%s", "out of memory");
    }
    for (int64_t done = 0; ok && done < bytes;) {
        ssize_t got = pread(fd, (char *)out->data + done, (size_t)(bytes - done), (off_t)(r.offset + done));
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            ok = EXT_ERR("external data location '%s': read error at offset %lld: %s", loc,
                         (long long)(r.offset + done), got < 0 ? strerror(errno) : "the file ended early");
        else
            done += got;
    }
    close(fd);
    return ok;
}

bool onnx_tensor_decode(const Onnx__TensorProto *tp, Tensor *out, SrcLoc loc, Diag *d)
{
    return onnx_tensor_decode_ext(tp, NULL, "tensor", out, loc, d);
}

bool onnx_tensor_decode_ext(const Onnx__TensorProto *tp, const char *data_dir, const char *what, Tensor *out,
                            SrcLoc loc, Diag *d)
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
    Shape s = {.rank = (int)tp->n_dims};
    for (size_t i = 0; i < tp->n_dims; i++) {
        if (tp->dims[i] < 0)
            return diag_error(d, loc, "tensor '%s': negative dim %lld", name, (long long)tp->dims[i]);
        s.d[i] = tp->dims[i];
    }
    int64_t numel = shape_numel(&s), bytes;
    if (numel < 0 || !checked_mul(numel, dtype_size(dt), &bytes) || (uint64_t)bytes > FE_MAX_FILE_BYTES)
        return diag_error(d, loc, "tensor '%s': size overflows", name);

    if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
        SrcLoc el = loc;
        if (!el.op)
            el.node = NULL;
        if (!data_dir)
            return EXT_ERR("%s", "external data is only read for binary models loaded from a file");
        if (tp->has_raw_data)
            return EXT_ERR("%s", "both raw_data and external data");
        out->dtype = dt;
        out->shape = s;
        if (ext_read(tp, data_dir, what, name, bytes, out, el, d))
            return true;
        tensor_free(out);
        memset(out, 0, sizeof *out);
        return false;
    }

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
    /* int32_data holds the narrower integer types (and the bits of f16,
     * bf16): a value outside the element type is a broken file, not one
     * to wrap (the text syntax refuses it too) */
    if (!tp->has_raw_data && have && strcmp(field, "int32_data") == 0 && dt != DT_I32) {
        int64_t lo = dt == DT_I8 ? INT8_MIN : dt == DT_I16 ? INT16_MIN : 0;
        int64_t hi = dt == DT_I8 ? INT8_MAX : dt == DT_U8 ? UINT8_MAX : dt == DT_I16 ? INT16_MAX
                   : dt == DT_BOOL ? 1 : UINT16_MAX;
        for (int64_t i = 0; i < numel; i++)
            if (tp->int32_data[i] < lo || tp->int32_data[i] > hi)
                return diag_error(d, loc, "tensor '%s': int32_data[%lld] = %d is out of range for %s", name,
                                  (long long)i, (int)tp->int32_data[i], dtype_name(dt));
    }
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

/* onnx_read.c — reading binary ONNX models: the whole file into memory,
 * unpacked by protobuf-c (generated at build time from the system's
 * onnx.proto). A model read from a file may have external data, in files
 * of its folder (read by the importer, see onnx_tensor.c). */
#include "frontend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

bool onnx_read_buffer(const char *name, const uint8_t *buf, size_t len, ModelFile *mf, Diag *d)
{
    if (len == 0)
        return diag_error(d, loc_file(name), "empty file: not an ONNX model");
    Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
    if (!m)
        return diag_error(d, loc_file(name), "not a valid ONNX model (the protobuf does not parse)");
    mf->proto = m;
    mf->unpacked = true;
    mf->path = name;
    mf->file_bytes = (int64_t)len;
    return true;
}

bool onnx_read_file(const char *path, ModelFile *mf, Diag *d)
{
    size_t len;
    char *buf = fe_read_file(path, &len, d);
    if (!buf)
        return false;
    bool ok = onnx_read_buffer(path, (const uint8_t *)buf, len, mf, d);
    free(buf);
    if (ok) { /* the model's folder, for external data */
        const char *slash = strrchr(path, '/');
        mf->data_dir = !slash ? strdup(".") : slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
        if (!mf->data_dir)
            return diag_error(d, loc_file(path), "out of memory");
    }
    return ok;
}

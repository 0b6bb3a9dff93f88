/* onnx_read.c — reading binary ONNX models: the whole file into memory,
 * unpacked by protobuf-c (generated at build time from the system's
 * onnx.proto). */
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
    return ok;
}

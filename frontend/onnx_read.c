/* onnx_read.c — reading binary ONNX models: the whole file into memory,
 * unpacked by protobuf-c (generated at build time from the system's
 * onnx.proto). A model read from a file may have external data, in files
 * of its folder (read by the importer, see onnx_tensor.c). */
#include "frontend.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

enum { MAX_MESSAGE_DEPTH = 200 }; /* ~65 levels of subgraphs, as the text parser's 64 */

static bool varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    *v = 0;
    for (int shift = 0; *p < end && shift < 64; shift += 7) {
        uint8_t b = *(*p)++;
        *v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return true;
    }
    return false;
}

/* The deepest nesting of sub-messages in a serialized ModelProto, walked
 * with an explicit stack and onnx.proto's descriptors (which fields are
 * messages), so a message nested tens of thousands deep is refused before
 * protobuf-c's recursive decoder could overflow the stack. Malformed wire
 * data ends the walk; the decoder reports it. */
static int message_depth(const uint8_t *buf, size_t len)
{
    struct Level {
        const uint8_t *end;
        const ProtobufCMessageDescriptor *desc;
    } stack[MAX_MESSAGE_DEPTH + 2];
    int top = 0, deepest = 1;
    stack[0] = (struct Level){buf + len, &onnx__model_proto__descriptor};
    const uint8_t *p = buf;
    while (top >= 0) {
        if (p >= stack[top].end) {
            p = stack[top].end;
            top--;
            continue;
        }
        uint64_t key, v;
        if (!varint(&p, stack[top].end, &key))
            return deepest;
        switch (key & 7) {
        case 0:
            if (!varint(&p, stack[top].end, &v))
                return deepest;
            break;
        case 1:
            p += 8;
            break;
        case 5:
            p += 4;
            break;
        case 2: {
            if (!varint(&p, stack[top].end, &v) || v > (uint64_t)(stack[top].end - p))
                return deepest;
            const ProtobufCFieldDescriptor *f =
                key >> 3 <= UINT32_MAX ? protobuf_c_message_descriptor_get_field(stack[top].desc, (unsigned)(key >> 3)) : NULL;
            if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && f->descriptor) {
                if (top + 1 > MAX_MESSAGE_DEPTH)
                    return top + 2;
                stack[++top] = (struct Level){p + v, f->descriptor};
                deepest = top + 1 > deepest ? top + 1 : deepest;
            } else {
                p += v;
            }
            break;
        }
        default:
            return deepest; /* groups (3, 4) are not in onnx.proto */
        }
    }
    return deepest;
}

bool onnx_read_buffer(const char *name, const uint8_t *buf, size_t len, ModelFile *mf, Diag *d)
{
    if (len == 0)
        return diag_error(d, loc_file(name), "empty file: not an ONNX model");
    int depth = message_depth(buf, len);
    if (depth > MAX_MESSAGE_DEPTH)
        return diag_error(d, loc_file(name),
                          "messages nested more than %d deep (subgraphs inside subgraphs): not a model qkc reads",
                          MAX_MESSAGE_DEPTH);
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

/* text2onnx.c — parse an ONNX text model with text_parse_model and write it
 * as a binary .onnx (onnx__model_proto__pack), for comparison with
 * onnx.parser.parse_model in compare_text_parse.py.
 *
 *     text2onnx model.onnxtxt model.onnx
 *
 * Exit status 0 on success, 1 on a parse error (messages on stderr), 2 on a
 * usage or I/O error. */
#include <stdio.h>
#include <stdlib.h>

#include "frontend/frontend.h"

/* The whole file, malloc'ed; NULL on error. */
static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    for (size_t got; buf && (got = fread(buf + n, 1, cap - n, f)) > 0;) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap *= 2);
            if (!nb)
                free(buf);
            buf = nb;
        }
    }
    if (ferror(f)) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    *len = n;
    return buf;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: text2onnx MODEL.onnxtxt OUT.onnx\n");
        return 2;
    }
    size_t len;
    char *src = read_all(argv[1], &len);
    if (!src) {
        perror(argv[1]);
        return 2;
    }
    Diag d;
    diag_init(&d, stderr);
    ModelFile mf = {.path = argv[1]};
    int rc = 1;
    if (text_parse_model(argv[1], src, len, &mf, &d)) {
        size_t size = onnx__model_proto__get_packed_size(mf.proto);
        uint8_t *out = malloc(size ? size : 1);
        FILE *f = fopen(argv[2], "wb");
        rc = 2;
        if (out && f) {
            onnx__model_proto__pack(mf.proto, out);
            if (fwrite(out, 1, size, f) == size)
                rc = 0;
        }
        if (f && fclose(f) != 0)
            rc = 2;
        if (rc)
            perror(argv[2]);
        free(out);
    }
    arena_free(mf.arena);
    diag_fini(&d);
    free(src);
    return rc;
}

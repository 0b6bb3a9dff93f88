/* fuzz_text.c — libFuzzer target: the ONNX text syntax (frontend/text_lex.re,
 * text_parse.c) and the importer behind it. The input is copied to a buffer
 * of its exact size (no NUL after it), as the lexer must never read past
 * the end. Parse and import either succeed with no error or fail with at
 * least one. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *src = malloc(size ? size : 1);
    if (!src)
        return 0;
    memcpy(src, data, size);
    Diag d;
    diag_init(&d, NULL);
    ModelFile mf;
    memset(&mf, 0, sizeof mf);
    mf.text = src; /* as model_read does: freed by model_file_free */
    mf.text_len = size;
    mf.path = "fuzz.onnxtxt";
    if (text_parse_model("fuzz.onnxtxt", src, size, &mf, &d)) {
        if (d.errors || !mf.proto)
            abort();
        Graph *g = onnx_import(&mf, NULL, &d);
        if (g ? d.errors != 0 : d.errors == 0)
            abort();
        ir_graph_free(g);
    } else if (d.errors == 0 || mf.proto || mf.arena) {
        abort();
    }
    diag_fini(&d);
    model_file_free(&mf);
    return 0;
}

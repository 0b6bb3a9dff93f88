/* fuzz_passes.c — libFuzzer target: import a model and run the whole pass
 * pipeline (shape inference, folding, fusion, Q/DQ folding, memory planning;
 * not codegen, which is too slow to fuzz), with the IR verified after
 * import and after every pass. The input is the text syntax when it starts
 * with '<' or a letter (as model_read decides), else binary ONNX; so
 * malformed but parseable graphs reach the passes. Every failure must be an
 * error message, never an "internal error" (a compiler bug). */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

/* Folding evaluates constants with the interpreter: keep it small. */
enum { FOLD_LIMIT = 1 << 16 };

static void check_no_internal_error(const Diag *d)
{
    if (diag_contains(d, "internal error")) {
        fprintf(stderr, "%s", d->buf);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    Diag d;
    diag_init(&d, NULL);
    ModelFile mf;
    memset(&mf, 0, sizeof mf);
    bool text = size > 0 && (data[0] == '<' || isalpha(data[0]));
    bool ok;
    if (text) {
        char *src = malloc(size);
        if (!src)
            return 0;
        memcpy(src, data, size);
        mf.text = src, mf.text_len = size, mf.path = "fuzz.onnxtxt";
        ok = text_parse_model("fuzz.onnxtxt", src, size, &mf, &d);
    } else {
        ok = onnx_read_buffer("fuzz.onnx", data, size, &mf, &d);
    }
    Graph *g = ok ? onnx_import(&mf, NULL, &d) : NULL;
    if (g) {
        int64_t left = FOLD_LIMIT;
        PassCtx pc = {.d = &d, .verify = true, .const_left = &left};
        if (!ir_verify(g, &d)) {
            fprintf(stderr, "%s", d.buf ? d.buf : "");
            abort(); /* the importer made an invalid graph */
        }
        if (!passes_run(g, &pc, NULL) && d.errors == 0)
            abort();
        check_no_internal_error(&d);
        ir_graph_free(g);
    } else if (d.errors == 0) {
        abort();
    }
    diag_fini(&d);
    model_file_free(&mf);
    return 0;
}

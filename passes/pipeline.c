/* pipeline.c — the default pipeline, one commented line per pass. */
#include "passes.h"

#include <string.h>

const PassInfo pass_pipeline[] = {
    /* types and shapes of every value; attributes normalized */
    {"shape", pass_shape_infer, "infer dtypes and shapes, normalize attributes"},
    /* nodes whose inputs are all constants become constants */
    {"fold", pass_fold, "evaluate nodes whose inputs are all constants"},
    /* nothing reads them: gone (before the rewrites that count readers) */
    {"dce", pass_dce, "remove nodes whose results are unused"},
    /* Conv/Gemm/MatMul -> BatchNormalization: scale the weights instead */
    {"bn-fold", pass_bn_fold, "fold inference BatchNormalization into the Conv/Gemm/MatMul before it"},
    /* Conv with non-overlapping windows (patch embeddings): a MatMul over patches */
    {"patchify", pass_patchify, "turn a Conv whose windows do not overlap (a patch embedding) into a MatMul"},
    /* Conv/Gemm/MatMul -> Add(const) -> activation: one node */
    {"fuse", pass_fuse, "fuse a constant bias Add and an activation into Conv/Gemm/MatMul"},
    /* int8: Q/DQ pairs from calibrated ranges, weights quantized (--precision int8) */
    {"quantize", pass_quantize, "insert QuantizeLinear/DequantizeLinear from calibrated ranges, quantize weights"},
    /* fp16: weights and activations in 16-bit floats (--precision fp16, bf16) */
    {"fp16", pass_fp16, "store weights and activations as fp16 (or bf16)"},
    /* DQ -> op -> Q patterns (ours or the model's) become integer kernels */
    {"qdq-fold", pass_qdq_fold, "fold QuantizeLinear/DequantizeLinear patterns into integer ops"},
    /* --io int8: the entry Q and exit DQ go, the interface stays integer */
    {"io", pass_io, "keep graph inputs/outputs quantized (--io int8)"},
    /* DequantizeLinear of constants left for float ops: plain constants */
    {"fold2", pass_fold_late, "fold the constants the integer rewrite left (Quantize/DequantizeLinear too)"},
    /* what the rewrites left unused */
    {"dce2", pass_dce, "remove nodes the rewrites left unused"},
    /* chains of elementwise ops: one kernel each (GELU's five ops, one pass) */
    {"fuse-eltwise", pass_fuse_eltwise, "merge chains of elementwise ops into one kernel"},
    /* workspace offsets with liveness-based reuse; views alias */
    {"plan", pass_plan, "plan memory: workspace offsets, buffer reuse, views"},
};
const int pass_pipeline_len = (int)(sizeof pass_pipeline / sizeof pass_pipeline[0]);

const PassInfo *pass_find(const char *name)
{
    for (int i = 0; i < pass_pipeline_len; i++)
        if (strcmp(pass_pipeline[i].name, name) == 0)
            return &pass_pipeline[i];
    return NULL;
}

bool passes_run(Graph *g, PassCtx *pc, const char *stop_after) { return passes_run_from(g, pc, NULL, stop_after); }

bool passes_run_from(Graph *g, PassCtx *pc, const char *from, const char *stop_after)
{
    bool started = !from;
    for (int i = 0; i < pass_pipeline_len; i++) {
        const PassInfo *p = &pass_pipeline[i];
        if (!started && strcmp(from, p->name) != 0)
            continue;
        started = true;
        int errors = pc->d->errors;
        if (!p->fn(g, pc) || pc->d->errors != errors)
            return false;
        if (pc->verify && !ir_verify(g, pc->d)) {
            diag_error(pc->d, loc_file(g->file), "internal error: the IR is invalid after pass '%s'", p->name);
            return false;
        }
        if (pc->dump && pc->print_after &&
            (strcmp(pc->print_after, "all") == 0 || strcmp(pc->print_after, p->name) == 0)) {
            if (pc->dump_fn) {
                pc->dump_fn(pc->dump_ctx, g, pc->dump);
            } else {
                fprintf(pc->dump, "# after %s\n", p->name);
                ir_print(g, pc->dump);
            }
        }
        if (stop_after && strcmp(stop_after, p->name) == 0)
            break;
    }
    return true;
}

/* frontend.h — reading models and data into the IR.
 *
 * Both model syntaxes meet in one place: the binary reader unpacks the
 * protobuf, the text parser builds the same protobuf-c structures (with the
 * source position of every node, input, output and initializer), and
 * onnx_import() lowers either into the IR, so ONNX semantics (opset
 * differences, initializers, attribute defaults) are written once. */
#ifndef QKC_FRONTEND_H
#define QKC_FRONTEND_H

#include "ir/ir.h"
#include "onnx.pb-c.h"

/* Source positions of a model's parts, parallel to the protobuf arrays.
 * Absent (NULL) for binary models. */
typedef struct ModelLocs {
    SrcLoc *nodes;   /* graph->node[i] */
    SrcLoc *inputs;  /* graph->input[i] */
    SrcLoc *outputs; /* graph->output[i] */
    SrcLoc *inits;   /* graph->initializer[i] */
    SrcLoc model;    /* the model header */
} ModelLocs;

/* A parsed model: the protobuf structures and where they came from. */
typedef struct ModelFile {
    Onnx__ModelProto *proto; /* owned: unpacked (binary) or arena-built (text) */
    bool unpacked;           /* free with onnx__model_proto__free_unpacked */
    ModelLocs locs;
    const char *path;
    /* The folder that tensors with external data are read from (the model
     * file's folder), malloc'ed; NULL: external data is refused (models
     * from a buffer, the text syntax). */
    char *data_dir;
    char *text;              /* text source (kept for carets), malloc'ed */
    size_t text_len;
    int64_t file_bytes;      /* the model file's (or buffer's) size */
    Arena *arena;            /* text parser allocations */
} ModelFile;

/* ---- onnx_read.c: binary ONNX ---------------------------------------- */
/* Read and unpack a binary .onnx file. */
bool onnx_read_file(const char *path, ModelFile *mf, Diag *d);
bool onnx_read_buffer(const char *name, const uint8_t *buf, size_t len, ModelFile *mf, Diag *d);

/* ---- text_parse.c: the ONNX text syntax (onnx.parser.parse_model) ----- */
/* Parse `src` (not necessarily NUL-terminated) into mf->proto with
 * locations; errors as file:line:col with a caret. The source must outlive
 * the Diag (carets point into it). */
bool text_parse_model(const char *file, const char *src, size_t len, ModelFile *mf, Diag *d);

/* ---- model.c: either syntax ------------------------------------------- */
/* Read a model: ".onnxtxt"/".txt" or content starting with '<' or a letter
 * is the text syntax, anything else binary ONNX. */
bool model_read(const char *path, ModelFile *mf, Diag *d);
void model_file_free(ModelFile *mf);

/* ---- onnx_import.c: protobuf -> IR ------------------------------------ */
typedef struct ImportOptions {
    int64_t batch;            /* >0: fix the symbolic batch dim to this size */
    /* Symbolic dims fixed by name (--dim NAME=N): a sequence length, ... */
    int ndims;
    const char *const *dim_names;
    const int64_t *dim_values;
    /* Inputs bound to constants (e.g. a Reshape's shape fed as an input). */
    int nbind;
    const char *const *bind_names;
    const Tensor *bind_values;
    /* The bound on the bytes of constants a model may create beyond those
     * its files store (ConstantOfShape at import, then constant folding):
     * > 0 as given (--max-const-bytes), 0: model_const_bound() of the
     * model's size. */
    int64_t max_const_bytes;
    /* Out, when not NULL: what import left of that bound, for folding
     * (PassCtx.const_left). */
    int64_t *const_left;
} ImportOptions;

/* The default bound on created constants for a model of `model_bytes`
 * bytes (its file and its external data): max(256 MiB, 64 x model_bytes). */
int64_t model_const_bound(int64_t model_bytes);

/* Lower a model into a new graph. Unsupported ops are all listed in one
 * message; other problems name the node and op (and text position). */
Graph *onnx_import(const ModelFile *mf, const ImportOptions *opt, Diag *d);
/* Whether qkc imports ONNX op type `op_type` of `domain` ("" or NULL: the
 * default domain); whether its input k must be a constant at compile time
 * (it determines shapes: a test binds such inputs, --bind does for users). */
bool onnx_op_supported(const char *op_type, const char *domain);
/* The i-th entry of the import table: an ONNX op type ("" for an entry
 * without an ONNX form), its domain in *domain (NULL: the default); NULL
 * past the end. An op type may appear more than once. */
const char *onnx_op_at(int i, const char **domain);
bool onnx_input_is_static(const char *op_type, const char *domain, int k);
/* model_read + onnx_import. */
Graph *model_load(const char *path, const ImportOptions *opt, Diag *d);

/* ---- onnx_tensor.c: TensorProto <-> Tensor ---------------------------- */
/* Decode a TensorProto (raw_data or typed fields) into a malloc'ed tensor;
 * external data is refused. */
bool onnx_tensor_decode(const Onnx__TensorProto *tp, Tensor *out, SrcLoc loc, Diag *d);
/* The same, with external data (data_location EXTERNAL) read from a file
 * of the folder data_dir (NULL: refused), confined to that folder; `what`
 * names the tensor in messages ("initializer", "tensor"). */
bool onnx_tensor_decode_ext(const Onnx__TensorProto *tp, const char *data_dir, const char *what, Tensor *out,
                            SrcLoc loc, Diag *d);
/* Read a serialized TensorProto file (the node tests' input_N.pb). */
bool onnx_tensor_read_file(const char *path, Tensor *out, char **name, Diag *d);

#endif

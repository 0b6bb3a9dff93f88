/* test_onnx_import.c — ONNX -> IR: opset forms, Constant/Dropout/Clip
 * rewrites, initializers, inputs (batch, --batch, --bind), topological
 * sorting, and the importer's errors, each with its place. Models are
 * written in the text syntax (its parser is tested on its own against
 * onnx.parser) and, where it matters, read from binary ONNX. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frontend/frontend.h"
#include "passes/passes.h"

typedef struct Imported {
    Graph *g;
    Diag d;
    ModelFile mf;
} Imported;

static bool import_text(Imported *r, const char *src, const ImportOptions *opt)
{
    diag_init(&r->d, NULL);
    memset(&r->mf, 0, sizeof r->mf);
    r->g = NULL;
    if (!text_parse_model("m.onnxtxt", src, strlen(src), &r->mf, &r->d))
        return false;
    r->mf.path = "m.onnxtxt";
    r->g = onnx_import(&r->mf, opt, &r->d);
    return r->g != NULL;
}

/* import_text, then shape inference: the constant inputs that determine
 * shapes are read into the attributes there. */
static bool import_shaped(Imported *r, const char *src, const ImportOptions *opt)
{
    if (!import_text(r, src, opt))
        return false;
    PassCtx pc = {.d = &r->d};
    return pass_shape_infer(r->g, &pc);
}

static void release(Imported *r)
{
    ir_graph_free(r->g);
    model_file_free(&r->mf);
    diag_fini(&r->d);
}

static int count_op(const Graph *g, OpKind op)
{
    int n = 0;
    for (int i = 0; i < g->nnodes; i++)
        n += g->nodes[i]->op == op;
    return n;
}

static void test_softmax_opsets(void **state)
{
    (void)state;
    Imported r;
    assert_true(import_text(&r, "<ir_version: 7, opset_import: [\"\" : 11]>\n"
                                "g (float[2,3,4] x) => (float[2,3,4] y) { y = Softmax(x) }\n",
                            NULL));
    PassCtx pc = {.d = &r.d};
    assert_true(pass_shape_infer(r.g, &pc));
    /* opset 11: default axis 1, normalized over all dims from it */
    assert_int_equal(r.g->nodes[0]->a.axis, 1);
    assert_int_equal(r.g->nodes[0]->a.axis2, 3);
    release(&r);
    assert_true(import_text(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                "g (float[2,3,4] x) => (float[2,3,4] y) { y = Softmax(x) }\n",
                            NULL));
    pc = (PassCtx){.d = &r.d};
    assert_true(pass_shape_infer(r.g, &pc));
    assert_int_equal(r.g->nodes[0]->a.axis, 2);
    assert_int_equal(r.g->nodes[0]->a.axis2, 3);
    release(&r);
}

static void test_clip_forms(void **state)
{
    (void)state;
    Imported r;
    /* opset 6: attributes */
    assert_true(import_text(&r, "<ir_version: 3, opset_import: [\"\" : 6]>\n"
                                "g (float[4] x) => (float[4] y) { y = Clip<min = -1.0, max = 2.5>(x) }\n",
                            NULL));
    assert_int_equal(r.g->nodes[0]->op, OP_CLIP);
    assert_true(r.g->nodes[0]->a.p[0] == -1.0f && r.g->nodes[0]->a.p[1] == 2.5f);
    release(&r);
    /* opset 13: constant inputs become attributes; a missing max is +inf */
    assert_true(import_shaped(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                  "g (float[4] x) => (float[4] y) <float lo = {0.5}> { y = Clip(x, lo) }\n",
                              NULL));
    assert_int_equal(r.g->nnodes, 1);
    assert_true(r.g->nodes[0]->a.p[0] == 0.5f && r.g->nodes[0]->a.p[1] == INFINITY);
    release(&r);
    /* run-time bounds become Max then Min */
    assert_true(import_text(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                "g (float[4] x, float lo, float hi) => (float[4] y) { y = Clip(x, lo, hi) }\n",
                            NULL));
    assert_int_equal(r.g->nnodes, 2);
    assert_int_equal(r.g->nodes[0]->op, OP_MAX);
    assert_int_equal(r.g->nodes[1]->op, OP_MIN);
    release(&r);
}

static void test_constants_and_dropout(void **state)
{
    (void)state;
    Imported r;
    assert_true(import_shaped(&r,
                            "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                            "g (float[2,6] x) => (float[3,4] y) {\n"
                            "  s = Constant<value = int64[2] {3, 4}>()\n"
                            "  d = Dropout(x)\n"
                            "  y = Reshape(d, s)\n"
                            "}\n",
                            NULL));
    assert_int_equal(r.g->nnodes, 2); /* Constant is a value, not a node */
    assert_int_equal(count_op(r.g, OP_IDENTITY), 1);
    assert_int_equal(r.g->nodes[0]->op, OP_IDENTITY);
    assert_int_equal(r.g->nodes[1]->op, OP_RESHAPE);
    assert_int_equal(r.g->nodes[1]->a.nints, 2);
    assert_int_equal(r.g->nodes[1]->a.ints[1], 4);
    release(&r);
}

static void test_squeeze_opsets(void **state)
{
    (void)state;
    Imported r;
    assert_true(import_text(&r, "<ir_version: 6, opset_import: [\"\" : 11]>\n"
                                "g (float[1,3,1] x) => (float[3] y) { y = Squeeze<axes = [0, -1]>(x) }\n",
                            NULL));
    assert_int_equal(r.g->nodes[0]->a.nints, 2);
    release(&r);
    assert_true(import_shaped(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                  "g (float[1,3,1] x) => (float[3,1] y) <int64[1] ax = {0}> { y = Squeeze(x, ax) }\n",
                              NULL));
    assert_int_equal(r.g->nodes[0]->a.nints, 1);
    assert_int_equal(r.g->nodes[0]->nin, 1); /* the axes input became the attribute */
    release(&r);
}

static void test_batch_and_bind(void **state)
{
    (void)state;
    const char *src = "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                      "g (float[N,4] x, int64[2] shape) => (float[N,2,2] y) { y = Reshape(x, shape) }\n";
    Imported r;
    /* a shape input must be constant: the message suggests --bind */
    assert_false(import_shaped(&r, src, NULL));
    assert_true(diag_contains(&r.d, "m.onnxtxt:2:60: error: node '#0' (Reshape): input 'shape' (shape) must be a constant"));
    assert_true(diag_contains(&r.d, "--bind shape=FILE.npy"));
    release(&r);
    int64_t target[3] = {-1, 2, 2};
    Tensor t = {.dtype = DT_I64, .shape = {.rank = 1, .d = {3}}, .data = target};
    const char *names[] = {"shape"};
    ImportOptions o = {.nbind = 1, .bind_names = names, .bind_values = &t};
    /* the bound tensor must match the input's declared type */
    assert_false(import_text(&r, src, &o));
    assert_true(diag_contains(&r.d, "--bind shape: the data is i64 [3], the input is i64 [2]"));
    release(&r);
    t.shape.d[0] = 2;
    target[0] = 0; /* keep the batch dim */
    target[1] = 4;
    assert_true(import_text(&r, src, &o));
    assert_int_equal(r.g->ninputs, 1);
    assert_int_equal(r.g->inputs[0]->shape.d[0], DIM_BATCH);
    release(&r);
    /* --batch fixes the symbolic dim */
    ImportOptions ob = {.batch = 8, .nbind = 1, .bind_names = names, .bind_values = &t};
    assert_true(import_text(&r, src, &ob));
    assert_int_equal(r.g->inputs[0]->shape.d[0], 8);
    release(&r);
    /* an unknown --bind name */
    const char *wrong[] = {"nope"};
    ImportOptions ow = {.nbind = 1, .bind_names = wrong, .bind_values = &t};
    assert_false(import_text(&r, src, &ow));
    assert_true(diag_contains(&r.d, "--bind nope: the model has no input of that name"));
    release(&r);
}

static void test_topological_sort_and_cycle(void **state)
{
    (void)state;
    Imported r;
    /* out of order: accepted and sorted */
    assert_true(import_text(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                "g (float[4] x) => (float[4] y) {\n"
                                "  y = Relu(a)\n"
                                "  a = Sigmoid(x)\n"
                                "}\n",
                            NULL));
    assert_int_equal(r.g->nodes[0]->op, OP_SIGMOID);
    release(&r);
    assert_false(import_text(&r, "<ir_version: 7, opset_import: [\"\" : 13]>\n"
                                 "g (float[4] x) => (float[4] y) {\n"
                                 "  a = Add(x, b)\n"
                                 "  b = Relu(a)\n"
                                 "  y = Relu(b)\n"
                                 "}\n",
                             NULL));
    assert_true(diag_contains(&r.d, "m.onnxtxt:3:7: error: node '#0' (Add): the graph has a cycle through this node"));
    release(&r);
}

static void test_errors_with_places(void **state)
{
    (void)state;
    static const struct {
        const char *src, *want;
    } cases[] = {
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Relu(z)\n}\n",
         "m.onnxtxt:3:7: error: node '#0' (Relu): input 'z' is not defined"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Relu(x)\n  y = "
         "Tanh(x)\n}\n",
         "output 'y' is already defined"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Relu<foo = 1>(x)\n}\n",
         "m.onnxtxt:3:7: error: node '#0' (Relu): unknown attribute 'foo'"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = LeakyRelu<alpha = "
         "\"big\">(x)\n}\n",
         "attribute 'alpha' must be float, not string"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4,H] x) => (float[4] y) {\n  y = Relu(x)\n}\n",
         "input 'x': dim 1 is symbolic ('H'); qkc compiles for known sizes except the leading (batch) dim: fix it with --dim H=N"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  a = Relu(x)\n}\n",
         "output 'y' is not produced by any node"},
        {"<ir_version: 7, opset_import: [\"\" : 25]>\ng (float[4] x) => (float[4] y) {\n  y = Relu(x)\n}\n",
         "opset 25 is not supported (qkc reads opsets 1 to 21)"},
        {"<ir_version: 7, opset_import: [\"com.x\" : 1]>\ng (float[4] x) => (float[4] y) {\n  y = Relu(x)\n}\n",
         "the model imports no version of the default ONNX opset"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Relu(x, x)\n}\n",
         "node '#0' (Relu): takes 1 input, got 2"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Concat(x, x)\n}\n",
         "node '#0' (Concat): attribute 'axis' is required"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[1,1,4,4] x) => (float[1,1,4,4] y) {\n  y = "
         "MaxPool<kernel_shape = [2, 2], auto_pad = \"SAME\">(x)\n}\n",
         "auto_pad 'SAME' is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Cast<to = 8>(x)\n}\n",
         "cast to STRING (8) is not supported"},
        /* required operands the IR may hold as attributes must still be given (the fuzzer found these) */
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = ConstantOfShape()\n}\n",
         "node '#0' (ConstantOfShape): input 0 (input) is required but missing"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Range()\n}\n",
         "node '#0' (Range): input 0 (start) is required but missing"},
        {"<ir_version: 7, opset_import: [\"\" : 13]>\ng (float[4] x) => (float[4] y) {\n  y = Slice(x)\n}\n",
         "node '#0' (Slice): input 1 (starts) is required but missing"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        Imported r;
        bool ok = import_text(&r, cases[i].src, NULL);
        if (ok || !diag_contains(&r.d, cases[i].want))
            fail_msg("case %zu: want \"%s\", got ok=%d:\n%s", i, cases[i].want, ok, r.d.buf ? r.d.buf : "");
        release(&r);
    }
}

static void test_unsupported_listed_once(void **state)
{
    (void)state;
    Imported r;
    assert_false(import_text(&r,
                             "<ir_version: 7, opset_import: [\"\" : 13, \"com.microsoft\" : 1]>\n"
                             "g (float[4] x) => (float[4] y) {\n"
                             "  a = Erfc(x)\n"
                             "  b = com.microsoft.Gelu(a)\n"
                             "  c = Erfc(b)\n"
                             "  y = Relu(c)\n"
                             "}\n",
                             NULL));
    assert_int_equal(r.d.errors, 1);
    assert_true(diag_contains(&r.d, "unsupported ops: Erfc (node '#0' at line 3, node '#2' at line 5), "
                                    "com.microsoft.Gelu (node '#1' at line 4)"));
    release(&r);
}

/* The same small model as binary ONNX (written by Debian's onnx at test
 * time) must import exactly like the text form, and binary errors name
 * the node and op. */
static void test_binary_model(void **state)
{
    (void)state;
    char dir[] = "/tmp/qkc-import-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char cmd[2048], path[64], bad[64];
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(bad, sizeof bad, "%s/bad.onnx", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import onnx, onnx.helper as h;"
             "n=h.make_node('Gemm',['x','w'],['y'],name='fc',transB=1);"
             "g=h.make_graph([n],'g',[h.make_tensor_value_info('x',1,['N',3])],[h.make_tensor_value_info('y',1,['N',2])],"
             "[h.make_tensor('w',1,[2,3],[1,2,3,4,5,6])]);"
             "onnx.save(h.make_model(g,opset_imports=[h.make_opsetid('',13)]),'%s');"
             "n2=h.make_node('Gemm',['x','w'],['y'],name='fc',transB=0);"
             "g2=h.make_graph([n2],'g',[h.make_tensor_value_info('x',1,['N',3])],[h.make_tensor_value_info('y',1,['N',2])],"
             "[h.make_tensor('w',1,[2,3],[1,2,3,4,5,6])]);"
             "onnx.save(h.make_model(g2,opset_imports=[h.make_opsetid('',13)]),'%s')\"",
             path, bad);
    if (system(cmd) != 0)
        skip(); /* Debian's python3-onnx is needed to write the model */
    Diag d;
    diag_init(&d, NULL);
    Graph *g = model_load(path, NULL, &d);
    assert_non_null(g);
    assert_int_equal(g->nnodes, 1);
    assert_int_equal(g->nodes[0]->op, OP_GEMM);
    assert_true(g->nodes[0]->a.trans_b);
    assert_int_equal(g->inputs[0]->shape.d[0], DIM_BATCH);
    ir_graph_free(g);
    g = model_load(bad, NULL, &d);
    PassCtx pc = {.d = &d};
    assert_false(pass_shape_infer(g, &pc));
    char want[1024];
    snprintf(want, sizeof want, "%s: error: node 'fc' (Gemm): inner dims differ: [N,3] @ [2,3]", bad);
    assert_true(diag_contains(&d, want));
    ir_graph_free(g);
    diag_fini(&d);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* External data from C: the initializer's bytes in a file next to the
 * model (read by model_load), refused for a model read from a buffer. The
 * Python test (external_data.py) covers models written by onnx and the
 * refusals one by one. */
static void test_external_data(void **state)
{
    (void)state;
    static const char src[] = "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                              "g (float[N,2] x) => (float[N,3] y) <float[2,3] w = {1, 2, 3, 4, 5, 6}> {\n"
                              "  y = MatMul(x, w)\n}\n";
    Imported r = {0};
    diag_init(&r.d, NULL);
    assert_true(text_parse_model("m.onnxtxt", src, strlen(src), &r.mf, &r.d));
    Onnx__TensorProto *w = r.mf.proto->graph->initializer[0];
    assert_string_equal(w->name, "w");
    w->n_float_data = 0;
    w->has_data_location = true;
    w->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
    Onnx__StringStringEntryProto e[3] = {ONNX__STRING_STRING_ENTRY_PROTO__INIT, ONNX__STRING_STRING_ENTRY_PROTO__INIT,
                                         ONNX__STRING_STRING_ENTRY_PROTO__INIT};
    e[0].key = "location", e[0].value = "weights.bin";
    e[1].key = "offset", e[1].value = "8";
    e[2].key = "length", e[2].value = "24";
    Onnx__StringStringEntryProto *ep[3] = {&e[0], &e[1], &e[2]};
    w->external_data = ep;
    w->n_external_data = 3;
    size_t n = onnx__model_proto__get_packed_size(r.mf.proto);
    uint8_t *buf = malloc(n);
    assert_non_null(buf);
    onnx__model_proto__pack(r.mf.proto, buf);
    w->external_data = NULL, w->n_external_data = 0; /* the arena does not own them */
    release(&r);

    char dir[] = "/tmp/qkc-test-extdata-XXXXXX", path[128], data[128];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/m.onnx", dir);
    snprintf(data, sizeof data, "%s/weights.bin", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, n, f), n);
    fclose(f);
    float vals[8] = {-1, -1, 6, 5, 4, 3, 2, 1}; /* 8 bytes of padding, then w */
    f = fopen(data, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(vals, sizeof vals, 1, f), 1);
    fclose(f);

    Diag d;
    diag_init(&d, NULL);
    Graph *g = model_load(path, NULL, &d);
    assert_non_null(g);
    const Value *wv = NULL;
    for (int i = 0; i < g->nvalues; i++)
        if (strcmp(g->values[i]->name, "w") == 0)
            wv = g->values[i];
    assert_non_null(wv);
    assert_int_equal(wv->kind, VAL_CONST);
    assert_memory_equal(wv->data, vals + 2, 6 * sizeof(float));
    ir_graph_free(g);

    /* the same model from memory has no folder to read from */
    ModelFile mf;
    memset(&mf, 0, sizeof mf);
    assert_true(onnx_read_buffer("mem.onnx", buf, n, &mf, &d));
    assert_null(onnx_import(&mf, NULL, &d));
    assert_true(diag_contains(&d, "mem.onnx: error: initializer 'w': external data is only read for binary models "
                                  "loaded from a file"));
    model_file_free(&mf);
    diag_fini(&d);
    free(buf);
    unlink(data);
    unlink(path);
    assert_int_equal(rmdir(dir), 0);
}

/* ConstantOfShape: the value fills every element (filled by doubling
 * copies since the fuzzer found one memcpy per element too slow for large
 * shapes); no value: float zeros. Sizes not a power of two. */
static void test_constant_of_shape_fill(void **state)
{
    (void)state;
    Imported r;
    assert_true(import_text(&r, "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                "g (float[1] x) => (int8[3,5,7] y, float[3,5,7] z, float[2,3] o)\n"
                                "  <int64[3] s = {3, 5, 7}, int64[2] s2 = {2, 3}> {\n"
                                "  y = ConstantOfShape <value = int8[1] {-7}> (s)\n"
                                "  z = ConstantOfShape <value = float[1] {0.5}> (s)\n"
                                "  o = ConstantOfShape (s2)\n"
                                "}\n",
                            NULL));
    int seen = 0;
    for (int i = 0; i < r.g->nvalues; i++) {
        const Value *v = r.g->values[i];
        /* the constants of the outputs y, z, o (renamed: the outputs' copies take the names) */
        if (v->kind != VAL_CONST || (strcmp(v->name, "y_value") && strcmp(v->name, "z_value") && strcmp(v->name, "o_value")))
            continue;
        seen++;
        int64_t n = shape_numel(&v->shape);
        assert_int_equal(n, v->name[0] == 'o' ? 6 : 105);
        for (int64_t k = 0; k < n; k++) {
            if (v->name[0] == 'y')
                assert_int_equal(((const int8_t *)v->data)[k], -7);
            else
                assert_true(((const float *)v->data)[k] == (v->name[0] == 'z' ? 0.5f : 0.0f));
        }
    }
    assert_int_equal(seen, 3);
    release(&r);
}

/* Einsum's implicit output: the labels seen once, in ASCII order (NumPy's
 * and ONNX's reference: capitals first), after the ellipsis. The shapes
 * come out in that order. */
static void test_einsum_implicit(void **state)
{
    (void)state;
    Imported r;
    assert_true(import_shaped(&r, "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                  "g (float[2,3] a, float[3,4,5] b) => (float[] y, float[] z)\n{\n"
                                  "  y = Einsum <equation = \"aB\"> (a)\n"
                                  "  z = Einsum <equation = \"...j,jkA\"> (a, b)\n"
                                  "}\n",
                              NULL));
    const Value *y = r.g->outputs[0], *z = r.g->outputs[1];
    assert_int_equal(y->shape.rank, 2); /* 'aB' -> 'Ba' */
    assert_int_equal(y->shape.d[0], 3);
    assert_int_equal(y->shape.d[1], 2);
    assert_int_equal(z->shape.rank, 3); /* '...j,jkA' -> '...Ak' */
    assert_int_equal(z->shape.d[0], 2);
    assert_int_equal(z->shape.d[1], 5);
    assert_int_equal(z->shape.d[2], 4);
    release(&r);
}

/* The bound on created constants: max(256 MiB, 64 x the model's bytes) by
 * default, or as given; ConstantOfShape past it is an error naming the node
 * and the option; folding draws from what import left and leaves a node
 * that does not fit to run time, with a warning. */
static void test_const_bound(void **state)
{
    (void)state;
    assert_int_equal(model_const_bound(0), (int64_t)256 << 20);
    assert_int_equal(model_const_bound((int64_t)4 << 20), (int64_t)256 << 20);
    assert_int_equal(model_const_bound((int64_t)5 << 20), (int64_t)320 << 20);
    assert_int_equal(model_const_bound(INT64_MAX / 2), INT64_MAX);
    const char *two = "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                      "g (float[1] x) => (float[1024] y, float[512] z) <int64[1] s = {1024}, int64[1] t = {512}> {\n"
                      "  y = ConstantOfShape (s)\n"
                      "  big = ConstantOfShape (t)\n"
                      "  z = Identity (big)\n"
                      "}\n";
    Imported r;
    int64_t left = -1;
    ImportOptions opt = {.max_const_bytes = 5000, .const_left = &left};
    assert_false(import_text(&r, two, &opt));
    assert_true(diag_contains(&r.d, "ConstantOfShape"));
    assert_true(diag_contains(&r.d, "makes a constant of 2048 bytes"));
    assert_true(diag_contains(&r.d, "--max-const-bytes 5000, 4096 bytes of it already used"));
    assert_int_equal(left, -1);
    release(&r);
    opt.max_const_bytes = 8192;
    assert_true(import_text(&r, two, &opt));
    assert_int_equal(left, 8192 - 6144);
    release(&r);
    /* the default, from the model's size: 2 GiB from a few bytes is refused */
    assert_false(import_text(&r, "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                                 "g (float[1] x) => (float[536870912] y) <int64[1] s = {536870912}> {\n"
                                 "  y = ConstantOfShape (s)\n"
                                 "}\n",
                             NULL));
    assert_true(diag_contains(&r.d, "max(256 MiB, 64 x the model's"));
    release(&r);

    /* folding: a 64x64 broadcast Add of two small constants is 16 KiB */
    const char *grow = "<ir_version: 8, opset_import: [\"\" : 13]>\n"
                       "g (float[64,64] x) => (float[64,64] y) <float[64,1] a = {%s}, float[1,64] b = {%s}> {\n"
                       "  c = Add (a, b)\n"
                       "  y = Mul (x, c)\n"
                       "}\n";
    char ones[64 * 2] = "1", src[1024];
    for (int i = 1; i < 64; i++)
        strcat(ones, ",1");
    snprintf(src, sizeof src, grow, ones, ones);
    for (int fits = 0; fits < 2; fits++) {
        assert_true(import_text(&r, src, NULL));
        left = fits ? 20000 : 1000;
        PassCtx pc = {.d = &r.d, .const_left = &left};
        assert_true(pass_shape_infer(r.g, &pc) && pass_fold(r.g, &pc));
        assert_int_equal(count_op(r.g, OP_ADD), fits ? 0 : 1);
        assert_int_equal(left, fits ? 20000 - 64 * 64 * 4 : 1000);
        assert_true(diag_contains(&r.d, "not folded") == !fits);
        release(&r);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_softmax_opsets),    cmocka_unit_test(test_clip_forms),
        cmocka_unit_test(test_constants_and_dropout), cmocka_unit_test(test_squeeze_opsets),
        cmocka_unit_test(test_batch_and_bind),    cmocka_unit_test(test_topological_sort_and_cycle),
        cmocka_unit_test(test_errors_with_places), cmocka_unit_test(test_unsupported_listed_once),
        cmocka_unit_test(test_binary_model),      cmocka_unit_test(test_external_data),
        cmocka_unit_test(test_constant_of_shape_fill), cmocka_unit_test(test_const_bound),
        cmocka_unit_test(test_einsum_implicit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

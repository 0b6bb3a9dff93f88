/* test_ir.c — the IR core: shapes, the graph builder and editing, name
 * maps, the shape rules (ir/infer.c) and their messages, the verifier
 * catching broken graphs, the printer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ir/ir.h"

static Shape S(int rank, ...)
{
    Shape s = {.rank = rank};
    va_list ap;
    va_start(ap, rank);
    for (int i = 0; i < rank; i++)
        s.d[i] = va_arg(ap, int64_t);
    va_end(ap);
    return s;
}
#define SH(...) S(__VA_ARGS__)
#define N DIM_BATCH

static void test_shapes(void **state)
{
    (void)state;
    Shape a = SH(3, (int64_t)N, (int64_t)3, (int64_t)4), b = SH(1, (int64_t)4), o;
    assert_int_equal(shape_numel(&a), 12);
    assert_int_equal(shape_numel_at(&a, 5), 60);
    assert_true(shape_broadcast(&a, &b, &o));
    assert_true(shape_eq(&o, &a));
    /* the batch broadcasts only against itself or 1 and stays leading */
    Shape c = SH(2, (int64_t)N, (int64_t)4);
    assert_false(shape_broadcast(&a, &c, &o));
    Shape d = SH(2, (int64_t)5, (int64_t)4);
    assert_false(shape_broadcast(&a, &d, &o));
    Shape e = SH(3, (int64_t)1, (int64_t)3, (int64_t)1);
    assert_true(shape_broadcast(&a, &e, &o));
    assert_int_equal(o.d[0], N);
    char buf[64];
    assert_string_equal(shape_str(&a, buf, sizeof buf), "[N,3,4]");
    int64_t st[3];
    Shape f = SH(3, (int64_t)2, (int64_t)3, (int64_t)4);
    shape_strides(&f, st);
    assert_int_equal(st[0], 12);
    assert_int_equal(st[2], 1);
    /* overflow is reported, not wrapped */
    Shape big = SH(3, (int64_t)1 << 40, (int64_t)1 << 30, (int64_t)4);
    assert_int_equal(shape_numel(&big), -1);
    int64_t r;
    assert_false(checked_mul(INT64_MAX, 2, &r));
    assert_true(checked_add(1, 2, &r) && r == 3);
}

static void test_dtypes(void **state)
{
    (void)state;
    assert_int_equal(dtype_from_onnx(1), DT_F32);
    assert_int_equal(dtype_from_onnx(8), DT_UNDEF); /* string */
    assert_int_equal(dtype_size(DT_BF16), 2);
    assert_string_equal(dtype_name(DT_U8), "u8");
    assert_int_equal(dtype_from_name("i64"), DT_I64);
    /* binary16 edge values */
    assert_int_equal(f32_to_f16(65504.0f), 0x7bff);
    assert_int_equal(f32_to_f16(65520.0f), 0x7c00);         /* rounds to inf */
    assert_int_equal(f32_to_f16(65519.0f), 0x7bff);
    assert_int_equal(f32_to_f16(5.9604645e-8f), 0x0001);    /* smallest subnormal */
    assert_int_equal(f32_to_f16(2.98023224e-8f), 0x0000);   /* the tie rounds to even (0) */
    assert_int_equal(f32_to_f16(-0.0f), 0x8000);
    assert_true(f16_to_f32(0x7e00) != f16_to_f32(0x7e00)); /* NaN */
    assert_true(f16_to_f32(0x0001) == 5.9604645e-8f);
    /* bfloat16: nearest even */
    assert_int_equal(f32_to_bf16(1.0f), 0x3f80);
    assert_int_equal(f32_to_bf16(0.48033667f), 0x3ef6); /* 0x3ef5eeb0 rounds up */
    assert_true(bf16_to_f32(0x3f80) == 1.0f);
}

static void test_graph_edit(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    Shape s = SH(2, (int64_t)N, (int64_t)4);
    Value *x = ir_value_new(g, "x", DT_F32, &s, VAL_INPUT);
    ir_graph_add_input(g, x);
    Value *a = ir_value_new(g, "a", DT_F32, &s, VAL_TEMP);
    Value *b = ir_value_new(g, "b", DT_F32, &s, VAL_TEMP);
    Value *dead = ir_value_new(g, "dead", DT_F32, &s, VAL_TEMP);
    Node *n1 = ir_node_new(g, OP_RELU, "r", &x, 1, &a, 1);
    Node *n2 = ir_node_new(g, OP_SIGMOID, NULL, &a, 1, &b, 1);
    Node *n3 = ir_node_new(g, OP_TANH, "unused", &x, 1, &dead, 1);
    ir_graph_add_output(g, b);
    assert_string_equal(n2->name, "#1"); /* unnamed nodes get their number */
    assert_ptr_equal(a->def, n1);
    assert_ptr_equal(ir_graph_find_value(g, "b"), b);
    assert_string_equal(ir_unique_name(g, "b"), "b_1");
    assert_string_equal(ir_unique_name(g, "fresh"), "fresh");
    ir_graph_count_uses(g);
    assert_int_equal(a->nuses, 1);
    assert_int_equal(b->nuses, 1); /* a graph output counts */
    assert_int_equal(dead->nuses, 0);
    /* move, remove, compact */
    ir_node_move_before(g, n3, n1);
    assert_ptr_equal(g->nodes[0], n3);
    ir_node_remove(g, n3);
    assert_int_equal(g->nnodes, 2);
    ir_graph_compact(g);
    assert_null(ir_graph_find_value(g, "dead") == dead ? (void *)1 : NULL);
    for (int i = 0; i < g->nvalues; i++)
        assert_int_equal(g->values[i]->id, i);
    /* replacing a graph output keeps its public name */
    Value *c = ir_value_new(g, "c", DT_F32, &s, VAL_TEMP);
    ir_node_new(g, OP_RELU, NULL, &b, 1, &c, 1);
    ir_replace_uses(g, b, c);
    assert_ptr_equal(g->outputs[0], c);
    assert_string_equal(c->name, "b");
    assert_ptr_equal(ir_graph_find_value(g, "b"), c);
    ir_graph_free(g);
}

static void test_strmap_many(void **state)
{
    (void)state;
    Arena *a = arena_new();
    StrMap m;
    strmap_init(&m, a);
    char *keys[5000];
    for (int i = 0; i < 5000; i++) {
        keys[i] = arena_printf(a, "v%d", i);
        strmap_put(&m, keys[i], (void *)(intptr_t)(i + 1));
    }
    for (int i = 0; i < 5000; i++)
        assert_int_equal((intptr_t)strmap_get(&m, keys[i]), i + 1);
    assert_null(strmap_get(&m, "nope"));
    strmap_put(&m, keys[7], (void *)(intptr_t)99);
    assert_int_equal((intptr_t)strmap_get(&m, "v7"), 99);
    arena_free(a);
}

/* ---- shape rules -------------------------------------------------------- */

typedef struct G1 {
    Graph *g;
    Node *n;
    Diag d;
} G1;

/* A one-node graph: op over inputs of the given shapes (f32). */
static void one(G1 *t, OpKind op, int nin, const Shape *ins, int nout)
{
    t->g = ir_graph_new("t");
    diag_init(&t->d, NULL);
    Value *in[8], *out[4];
    for (int i = 0; i < nin; i++) {
        char name[8];
        snprintf(name, sizeof name, "i%d", i);
        in[i] = ir_value_new(t->g, name, DT_F32, &ins[i], i ? VAL_CONST : VAL_INPUT);
        if (i)
            in[i]->data = arena_alloc(t->g->arena, (size_t)(shape_numel(&ins[i]) * 4 + 4));
    }
    for (int i = 0; i < nout; i++) {
        char name[8];
        snprintf(name, sizeof name, "o%d", i);
        out[i] = ir_value_new(t->g, name, DT_UNDEF, NULL, VAL_TEMP);
        out[i]->shape.rank = RANK_UNKNOWN;
    }
    t->n = ir_node_new(t->g, op, "n", in, nin, out, nout);
}

static bool infer(G1 *t, DType *dt, Shape *sh)
{
    Attrs a;
    bool ok = ir_infer_node(t->n, &a, dt, sh, &t->d);
    if (ok)
        t->n->a = a;
    return ok;
}

static void done(G1 *t)
{
    diag_fini(&t->d);
    ir_graph_free(t->g);
}

static void test_infer_conv(void **state)
{
    (void)state;
    G1 t;
    Shape ins[3] = {SH(4, (int64_t)N, (int64_t)3, (int64_t)10, (int64_t)11),
                    SH(4, (int64_t)8, (int64_t)3, (int64_t)3, (int64_t)3), SH(1, (int64_t)8)};
    one(&t, OP_CONV, 3, ins, 1);
    t.n->a.group = 1;
    t.n->a.nsp = 2;
    for (int i = 0; i < 2; i++)
        t.n->a.strides[i] = 2, t.n->a.dilations[i] = 1;
    t.n->a.auto_pad = AUTOPAD_SAME_UPPER;
    DType dt[1];
    Shape sh[1];
    assert_true(infer(&t, dt, sh));
    /* SAME_UPPER: out = ceil(in / stride); the odd pad goes to the end */
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(sh[0].d[1], 8);
    assert_int_equal(sh[0].d[2], 5);
    assert_int_equal(sh[0].d[3], 6);
    assert_int_equal(t.n->a.kernel[0], 3); /* taken from the weight */
    /* pads are in the ONNX layout: begins, then ends */
    assert_int_equal(t.n->a.pads[1], 1); /* W=11, s=2: total 2 -> 1 + 1 */
    assert_int_equal(t.n->a.pads[3], 1);
    assert_int_equal(t.n->a.pads[0], 0); /* H=10: total 1 -> 0 + 1 */
    assert_int_equal(t.n->a.pads[2], 1);
    done(&t);

    /* channel mismatch is reported with the numbers */
    Shape bad[2] = {SH(4, (int64_t)1, (int64_t)3, (int64_t)8, (int64_t)8),
                    SH(4, (int64_t)16, (int64_t)4, (int64_t)3, (int64_t)3)};
    one(&t, OP_CONV, 2, bad, 1);
    t.n->a.group = 1;
    for (int i = 0; i < 3; i++)
        t.n->a.strides[i] = t.n->a.dilations[i] = 1;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "input has 3 channels"));
    assert_true(diag_contains(&t.d, "needs 4"));
    done(&t);
}

static void test_infer_pool_ceil(void **state)
{
    (void)state;
    G1 t;
    Shape ins[1] = {SH(4, (int64_t)1, (int64_t)1, (int64_t)4, (int64_t)4)};
    one(&t, OP_MAXPOOL, 1, ins, 1);
    Attrs *a = &t.n->a;
    a->nsp = 2;
    for (int i = 0; i < 2; i++)
        a->kernel[i] = 3, a->strides[i] = 2, a->dilations[i] = 1;
    a->ceil_mode = 1;
    DType dt[1];
    Shape sh[1];
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].d[2], 2); /* (4-3)/2+1 = 1.5 -> 2 */
    done(&t);
    /* a window that does not fit */
    Shape tiny[1] = {SH(4, (int64_t)1, (int64_t)1, (int64_t)2, (int64_t)2)};
    one(&t, OP_MAXPOOL, 1, tiny, 1);
    a = &t.n->a;
    a->nsp = 2;
    for (int i = 0; i < 2; i++)
        a->kernel[i] = 3, a->strides[i] = 1, a->dilations[i] = 1;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "does not fit"));
    done(&t);
}

static void test_infer_matmul_gemm(void **state)
{
    (void)state;
    G1 t;
    DType dt[1];
    Shape sh[1];
    Shape mm[2] = {SH(3, (int64_t)N, (int64_t)5, (int64_t)7), SH(2, (int64_t)7, (int64_t)2)};
    one(&t, OP_MATMUL, 2, mm, 1);
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].rank, 3);
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(sh[0].d[2], 2);
    done(&t);
    Shape vec[2] = {SH(1, (int64_t)7), SH(3, (int64_t)4, (int64_t)7, (int64_t)2)};
    one(&t, OP_MATMUL, 2, vec, 1);
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].rank, 2); /* [4, 2]: the promoted dim is removed */
    assert_int_equal(sh[0].d[0], 4);
    done(&t);
    Shape bad[2] = {SH(2, (int64_t)3, (int64_t)5), SH(2, (int64_t)6, (int64_t)2)};
    one(&t, OP_MATMUL, 2, bad, 1);
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "inner dims differ: [3,5] @ [6,2]"));
    done(&t);
    Shape gm[3] = {SH(2, (int64_t)N, (int64_t)6), SH(2, (int64_t)4, (int64_t)6), SH(2, (int64_t)3, (int64_t)4)};
    one(&t, OP_GEMM, 3, gm, 1);
    t.n->a.trans_b = 1;
    assert_false(infer(&t, dt, sh)); /* C [3,4] does not broadcast to [N,4] */
    assert_true(diag_contains(&t.d, "does not broadcast"));
    done(&t);
}

static void test_infer_batch_rules(void **state)
{
    (void)state;
    G1 t;
    DType dt[1];
    Shape sh[1];
    Shape x[1] = {SH(3, (int64_t)N, (int64_t)4, (int64_t)5)};
    /* Flatten at axis 1 keeps the batch; at axis 2 it merges it: [N*4, 5] */
    one(&t, OP_FLATTEN, 1, x, 1);
    t.n->a.axis = 1;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(sh[0].d[1], 20);
    assert_int_equal(shape_rows(&sh[0]), 1);
    done(&t);
    one(&t, OP_FLATTEN, 1, x, 1);
    t.n->a.axis = 2;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(shape_rows(&sh[0]), 4);
    assert_int_equal(sh[0].d[1], 5);
    assert_int_equal(shape_numel(&sh[0]), 20); /* per batch item */
    done(&t);
    /* a merged batch goes only through ops that take rows: not MaxPool */
    Shape merged[1] = {SH(4, (int64_t)N, (int64_t)4, (int64_t)5, (int64_t)5)};
    merged[0].bmul = 3;
    one(&t, OP_MAXPOOL, 1, merged, 1);
    t.n->a.nsp = 2, t.n->a.kernel[0] = t.n->a.kernel[1] = 2;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "the batch merged with other dims"));
    assert_true(diag_contains(&t.d, "--batch N"));
    done(&t);
    /* Transpose moving the batch */
    one(&t, OP_TRANSPOSE, 1, x, 1);
    t.n->a.nints = 3;
    t.n->a.ints[0] = 1, t.n->a.ints[1] = 0, t.n->a.ints[2] = 2;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "moves the batch dim"));
    done(&t);
    /* Reshape [-1, 20] keeps the batch, [-1, 10] merges it ([N*2, 10]),
     * [2*N, 2, 5] (a symbolic 2N from Shape arithmetic) splits it again */
    one(&t, OP_RESHAPE, 1, x, 1);
    t.n->a.nints = 2, t.n->a.ints[0] = -1, t.n->a.ints[1] = 20;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(shape_rows(&sh[0]), 1);
    done(&t);
    one(&t, OP_RESHAPE, 1, x, 1);
    t.n->a.nints = 2, t.n->a.ints[0] = -1, t.n->a.ints[1] = 10;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(sh[0].d[0], N);
    assert_int_equal(shape_rows(&sh[0]), 2);
    done(&t);
    one(&t, OP_RESHAPE, 1, x, 1);
    t.n->a.nints = 3, t.n->a.ints[0] = DIM_SYM_BATCH_BASE + 2, t.n->a.ints[1] = 2, t.n->a.ints[2] = 5;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(shape_rows(&sh[0]), 2);
    assert_int_equal(sh[0].d[1], 2);
    done(&t);
    /* the batch cannot move behind another dim */
    one(&t, OP_RESHAPE, 1, x, 1);
    t.n->a.nints = 2, t.n->a.ints[0] = 4, t.n->a.ints[1] = -1;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "moves the batch dim"));
    done(&t);
    /* Softmax axis normalization: opset-13 style (AXIS_NEXT) and legacy */
    one(&t, OP_SOFTMAX, 1, x, 1);
    t.n->a.axis = -1, t.n->a.axis2 = AXIS_NEXT;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(t.n->a.axis, 2);
    assert_int_equal(t.n->a.axis2, 3);
    done(&t);
    one(&t, OP_SOFTMAX, 1, x, 1);
    t.n->a.axis = 1, t.n->a.axis2 = AXIS_END;
    assert_true(infer(&t, dt, sh));
    assert_int_equal(t.n->a.axis2, 3);
    done(&t);
    one(&t, OP_SOFTMAX, 1, x, 1);
    t.n->a.axis = 3, t.n->a.axis2 = AXIS_NEXT;
    assert_false(infer(&t, dt, sh));
    assert_true(diag_contains(&t.d, "axis 3 is out of range for rank 3"));
    done(&t);
}

static void test_infer_binary_types(void **state)
{
    (void)state;
    Graph *g = ir_graph_new("t");
    Diag d;
    diag_init(&d, NULL);
    Shape s = SH(1, (int64_t)4);
    Value *in[2] = {ir_value_new(g, "a", DT_F32, &s, VAL_INPUT), ir_value_new(g, "b", DT_I64, &s, VAL_INPUT)};
    Value *o = ir_value_new(g, "o", DT_UNDEF, NULL, VAL_TEMP);
    Node *n = ir_node_new(g, OP_ADD, "add", in, 2, &o, 1);
    Attrs a;
    DType dt[1];
    Shape sh[1];
    assert_false(ir_infer_node(n, &a, dt, sh, &d));
    assert_true(diag_contains(&d, "node 'add' (Add): input types differ: f32 and i64"));
    diag_fini(&d);
    ir_graph_free(g);
}

/* ---- verifier ------------------------------------------------------------ */

static Graph *chain(void)
{
    Graph *g = ir_graph_new("v");
    Shape s = SH(2, (int64_t)2, (int64_t)3);
    Value *x = ir_value_new(g, "x", DT_F32, &s, VAL_INPUT);
    ir_graph_add_input(g, x);
    Value *a = ir_value_new(g, "a", DT_F32, &s, VAL_TEMP);
    Value *y = ir_value_new(g, "y", DT_F32, &s, VAL_TEMP);
    ir_node_new(g, OP_RELU, "r1", &x, 1, &a, 1);
    ir_node_new(g, OP_TANH, "t1", &a, 1, &y, 1);
    ir_graph_add_output(g, y);
    return g;
}

static void test_verify(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    Graph *g = chain();
    assert_true(ir_verify(g, &d));
    /* use before definition */
    Node *tmp = g->nodes[0];
    g->nodes[0] = g->nodes[1];
    g->nodes[1] = tmp;
    assert_false(ir_verify(g, &d));
    assert_true(diag_contains(&d, "input 'a' is used before it is defined"));
    ir_graph_free(g);
    diag_fini(&d);

    /* a stale shape left by a "pass" */
    diag_init(&d, NULL);
    g = chain();
    g->values[2]->shape.d[1] = 4;
    assert_false(ir_verify(g, &d));
    assert_true(diag_contains(&d, "but the op gives f32[2,3]"));
    ir_graph_free(g);
    diag_fini(&d);

    /* arity */
    diag_init(&d, NULL);
    g = chain();
    g->nodes[1]->nin = 2;
    g->nodes[1]->in = arena_grow(g->arena, g->nodes[1]->in, 1, 2, sizeof(Value *));
    g->nodes[1]->in[1] = g->values[0];
    assert_false(ir_verify(g, &d));
    assert_true(diag_contains(&d, "2 inputs; Tanh takes 1 to 1"));
    ir_graph_free(g);
    diag_fini(&d);
}

static void test_print(void **state)
{
    (void)state;
    Graph *g = chain();
    g->nodes[0]->op = OP_LEAKY_RELU;
    g->nodes[0]->a.p[0] = 0.25;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    ir_print(g, f);
    fclose(f);
    assert_non_null(strstr(buf, "graph v (opset 0)\n  input  %x: f32[2,3]\n"));
    assert_non_null(strstr(buf, "  %a: f32[2,3] = LeakyRelu(%x) { alpha=0.25 }  # 'r1'\n"));
    assert_non_null(strstr(buf, "  %y: f32[2,3] = Tanh(%a)  # 't1'\n"));
    assert_non_null(strstr(buf, "  output %y\n"));
    free(buf);
    ir_graph_free(g);
}

static void test_diag_format(void **state)
{
    (void)state;
    Diag d;
    diag_init(&d, NULL);
    const char *src = "line one\n  bad token here\n";
    diag_add_source(&d, "m.onnxtxt", src, strlen(src));
    diag_error(&d, (SrcLoc){"m.onnxtxt", 2, 7, NULL, NULL}, "unexpected '%s'", "token");
    assert_string_equal(d.buf, "m.onnxtxt:2:7: error: unexpected 'token'\n    bad token here\n        ^\n");
    diag_fini(&d);
    diag_init(&d, NULL);
    diag_error(&d, (SrcLoc){"m.onnx", 0, 0, "conv1", "Conv"}, "boom");
    assert_string_equal(d.buf, "m.onnx: error: node 'conv1' (Conv): boom\n");
    assert_int_equal(d.errors, 1);
    diag_fini(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shapes),          cmocka_unit_test(test_dtypes),
        cmocka_unit_test(test_graph_edit),      cmocka_unit_test(test_strmap_many),
        cmocka_unit_test(test_infer_conv),      cmocka_unit_test(test_infer_pool_ceil),
        cmocka_unit_test(test_infer_matmul_gemm), cmocka_unit_test(test_infer_batch_rules),
        cmocka_unit_test(test_infer_binary_types), cmocka_unit_test(test_verify),
        cmocka_unit_test(test_print),           cmocka_unit_test(test_diag_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

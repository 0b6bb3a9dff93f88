/* test_kernels.c — every kernel family of codegen/ against the reference
 * interpreter, on edge sizes, on every target (see kt.h for how a case is
 * run and compared, kt_*.c for the cases of each family). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kt.h"

/* Every family: the function that runs its cases and its name (KT_ONLY). */
#define FAMILIES(X)                                                                                             \
    X(unary, "unary")                                                                                           \
    X(cast, "cast")                                                                                             \
    X(binary, "binary")                                                                                         \
    X(matmul, "matmul")                                                                                         \
    X(gemm, "gemm")                                                                                             \
    X(conv, "conv")                                                                                             \
    X(pool, "pool")                                                                                             \
    X(softmax, "softmax")                                                                                       \
    X(batchnorm, "batchnorm")                                                                                   \
    X(transpose, "transpose")                                                                                   \
    X(concat, "concat")                                                                                         \
    X(views, "views")                                                                                           \
    X(threads, "threads")                                                                                       \
    X(qdq, "qdq")           /* QuantizeLinear, DequantizeLinear (kt_quant.c) */                                 \
    X(qmatmul, "qmatmul")   /* MatMulInteger, QLinearMatMul, QGemm, fused */                                    \
    X(qconv, "qconv")       /* ConvInteger, QLinearConv, fused */                                               \
    X(qeltwise, "qeltwise") /* QLinearAdd, QLinearGlobalAveragePool */                                          \
    X(qref, "qref")         /* the hand-computed cases, through the kernels */                                  \
    X(eltwise2, "eltwise2") /* the elementwise ops by expression (kt_ops.c) */                                  \
    X(reduce, "reduce")     /* Reduce*, ArgMax/ArgMin, CumSum */                                                \
    X(norm, "norm")         /* Layer/Instance/GroupNormalization, LogSoftmax, Hardmax, GlobalMaxPool */          \
    X(index, "index")       /* Slice, Expand, Tile, Pad, space ops, Trilu, Split, Shape, Size, ConstantOfShape, \
                             * Range */                                                                         \
    X(gather, "gather")     /* Gather, GatherElements, GatherND */                                              \
    X(resize, "resize")                                                                                         \
    X(einsum, "einsum")                                                                                         \
    X(repro, "repro") /* minimal reproducers of the bugs found (kt_repro.c) */

#define FAMILY(fn, label)                          \
    static void test_##fn(void **state)            \
    {                                              \
        (void)state;                               \
        kt_family_begin(label);                    \
        kt_##fn();                                 \
        assert_int_equal(kt_family_end(), 0);      \
    }
FAMILIES(FAMILY)
#undef FAMILY

/* The interpreter (the oracle) against values worked out from
 * docs/quantization.md in kt_quant.c: a bug shared with the kernels. */
static void test_quant_ref(void **state)
{
    (void)state;
    assert_int_equal(kt_quant_ref(), 0);
}

/* Every op of ir/ops.def has kernel cases: the families' models are
 * imported (nothing compiles) and the ops of their graphs recorded; an op
 * no model holds fails the test, named. Runs whatever KT_ONLY says. */
static void test_every_op_has_cases(void **state)
{
    (void)state;
    kt_collect_begin();
#define COLLECT(fn, label) kt_##fn();
    FAMILIES(COLLECT)
#undef COLLECT
    int bad, missing = 0;
    const bool *seen = kt_collect_end(&bad);
    for (int k = 0; k < OP_COUNT; k++)
        if (!seen[k]) {
            print_error("no kernel test case holds op %s (ir/ops.def)\n", op_info[k].name);
            missing++;
        }
    assert_int_equal(bad, 0);
    assert_int_equal(missing, 0);
}

int main(void)
{
    if (!kt_init())
        return 1;
#define TEST(fn, label) cmocka_unit_test(test_##fn),
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quant_ref), FAMILIES(TEST) cmocka_unit_test(test_every_op_has_cases),
    };
#undef TEST
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kt_fini();
    return rc;
}

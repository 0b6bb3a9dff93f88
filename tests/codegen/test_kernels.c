/* test_kernels.c — every kernel family of codegen/ against the reference
 * interpreter, on edge sizes, on every target (see kt.h for how a case is
 * run and compared, kt_*.c for the cases of each family). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "kt.h"

#define FAMILY(fn, label)                          \
    static void test_##fn(void **state)            \
    {                                              \
        (void)state;                               \
        kt_family_begin(label);                    \
        kt_##fn();                                 \
        assert_int_equal(kt_family_end(), 0);      \
    }

FAMILY(unary, "unary")
FAMILY(cast, "cast")
FAMILY(binary, "binary")
FAMILY(matmul, "matmul")
FAMILY(gemm, "gemm")
FAMILY(conv, "conv")
FAMILY(pool, "pool")
FAMILY(softmax, "softmax")
FAMILY(batchnorm, "batchnorm")
FAMILY(transpose, "transpose")
FAMILY(concat, "concat")
FAMILY(views, "views")
FAMILY(threads, "threads")
FAMILY(qdq, "qdq")           /* QuantizeLinear, DequantizeLinear (kt_quant.c) */
FAMILY(qmatmul, "qmatmul")   /* MatMulInteger, QLinearMatMul, QGemm, fused */
FAMILY(qconv, "qconv")       /* ConvInteger, QLinearConv, fused */
FAMILY(qeltwise, "qeltwise") /* QLinearAdd, QLinearGlobalAveragePool */
FAMILY(qref, "qref")         /* the hand-computed cases, through the kernels */
FAMILY(repro, "repro") /* minimal reproducers of the bugs found (kt_repro.c) */

/* The interpreter (the oracle) against values worked out from
 * docs/quantization.md in kt_quant.c: a bug shared with the kernels. */
static void test_quant_ref(void **state)
{
    (void)state;
    assert_int_equal(kt_quant_ref(), 0);
}

int main(void)
{
    if (!kt_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unary),     cmocka_unit_test(test_cast),      cmocka_unit_test(test_binary),
        cmocka_unit_test(test_matmul),    cmocka_unit_test(test_gemm),      cmocka_unit_test(test_conv),
        cmocka_unit_test(test_pool),      cmocka_unit_test(test_softmax),   cmocka_unit_test(test_batchnorm),
        cmocka_unit_test(test_transpose), cmocka_unit_test(test_concat),    cmocka_unit_test(test_views),
        cmocka_unit_test(test_threads),   cmocka_unit_test(test_quant_ref), cmocka_unit_test(test_qdq),
        cmocka_unit_test(test_qmatmul),   cmocka_unit_test(test_qconv),     cmocka_unit_test(test_qeltwise),
        cmocka_unit_test(test_qref),      cmocka_unit_test(test_repro),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    kt_fini();
    return rc;
}

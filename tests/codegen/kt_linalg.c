/* kt_linalg.c — cases for codegen/k_gemm.c: MatMul (1-D promotions, batch
 * dims with broadcasting, the symbolic batch, sizes 1..65 that are not
 * multiples of any vector width) and Gemm (transA/transB, alpha/beta, every
 * shape of C, no C), with the fused bias and activation epilogues. */
#include <stdio.h>

#include "kt.h"

/* An operand: a graph input, or a constant initializer (weights). */
typedef struct Opnd {
    int rank;
    int64_t d[6];
    bool is_const;
} Opnd;

static const int64_t sizes[] = {1, 3, 7, 17, 33, 65};

/* Declares `name` as a graph input (into `ins`) or an initializer (into
 * `inits`). */
static void declare(KtText *ins, KtText *inits, const char *name, const Opnd *o)
{
    char d[96];
    if (o->is_const) {
        if (inits->n)
            kt_printf(inits, ", ");
        kt_init_values(inits, "float", name, o->rank, o->d, false);
    } else {
        kt_printf(ins, "%sfloat%s %s", ins->n ? ", " : "", kt_dims(d, sizeof d, o->rank, o->d), name);
    }
}

/* A model `y = MatMul(a, b)`, then `extra` (text of further nodes reading
 * `mm` and writing `y`, with initializers `extra_inits`), if given. */
static void matmul_case(const char *name, Opnd a, Opnd b, const char *extra, const char *extra_inits, bool arm)
{
    KtText ins = {0}, inits = {0}, m = {0};
    declare(&ins, &inits, "a", &a);
    declare(&ins, &inits, "b", &b);
    if (extra_inits)
        kt_printf(&inits, "%s%s", inits.n ? ", " : "", extra_inits);
    kt_header(&m, 13);
    kt_printf(&m, "matmul (%s) => (float[] y)\n", ins.s);
    if (inits.n)
        kt_printf(&m, "<%s>\n", inits.s);
    kt_printf(&m, "{\n  %s = MatMul(a, b)\n%s}\n", extra ? "mm" : "y", extra ? extra : "");
    KtOpts o = {.arm = arm};
    kt_case(name, &o, m.s);
    kt_text_free(&ins);
    kt_text_free(&inits);
    kt_text_free(&m);
}

/* Random batched MatMuls: batch dims (maybe the symbolic batch) with
 * broadcasting on either side, M, N, K in 1..9 or 16, 17, 33. */
static void matmul_sweep(int count)
{
    static const int64_t mnk[] = {1, 2, 3, 4, 5, 7, 9, 16, 17, 33};
    for (int c = 0; c < count; c++) {
        char name[32];
        snprintf(name, sizeof name, "sweep%d", c);
        int nb = kt_pick(0, 3);
        bool batch = nb > 0 && kt_pick(0, 2) == 0;
        Opnd a = {0}, b = {0};
        int ra = kt_pick(0, 3) ? nb : kt_pick(0, nb), rb = kt_pick(0, 3) ? nb : kt_pick(0, nb);
        if (batch)
            ra = nb; /* the batch is a's leading dim */
        int64_t bd[3];
        for (int i = 0; i < nb; i++)
            bd[i] = kt_pick(1, 4);
        for (int i = 0; i < ra; i++)
            a.d[i] = batch && i == 0 ? -1 : kt_pick(0, 2) ? bd[nb - ra + i] : 1;
        for (int i = 0; i < rb; i++)
            b.d[i] = batch && nb - rb + i == 0 ? (kt_pick(0, 1) ? -1 : 1) : kt_pick(0, 2) ? bd[nb - rb + i] : 1;
        int64_t M = mnk[kt_pick(0, 9)], N = mnk[kt_pick(0, 9)], K = mnk[kt_pick(0, 9)];
        a.rank = ra + 2, a.d[ra] = M, a.d[ra + 1] = K;
        b.rank = rb + 2, b.d[rb] = K, b.d[rb + 1] = N;
        b.is_const = rb == 0 && K * N <= 600 && kt_pick(0, 1);
        matmul_case(name, a, b, NULL, NULL, c % 6 == 0);
    }
}

void kt_matmul(void)
{
    char name[96];
    /* numpy's 1-D promotions */
    matmul_case("vec_mat_17x33", (Opnd){1, {17}}, (Opnd){2, {17, 33}}, NULL, NULL, true);
    matmul_case("mat_vec_7x65", (Opnd){2, {7, 65}}, (Opnd){1, {65}, true}, NULL, NULL, false);
    matmul_case("vec_vec_33", (Opnd){1, {33}}, (Opnd){1, {33}}, NULL, NULL, false);
    matmul_case("vec_vec_1", (Opnd){1, {1}}, (Opnd){1, {1}}, NULL, NULL, false);
    matmul_case("vec_batched_mat", (Opnd){1, {7}}, (Opnd){3, {2, 7, 17}}, NULL, NULL, false);
    matmul_case("batched_mat_vec", (Opnd){3, {3, 5, 17}}, (Opnd){1, {17}}, NULL, NULL, true);
    matmul_case("batchN_rows_vec", (Opnd){2, {-1, 9}}, (Opnd){1, {9}, true}, NULL, NULL, false);
    matmul_case("batchN_vec_batched", (Opnd){3, {-1, 3, 7}}, (Opnd){1, {7}}, NULL, NULL, false);
    matmul_case("vec_x_batchN", (Opnd){1, {7}}, (Opnd){3, {-1, 7, 5}}, NULL, NULL, false);
    matmul_case("k0_empty_sum", (Opnd){2, {3, 0}}, (Opnd){2, {0, 4}}, NULL, NULL, false);

    /* M, N, K over 1, 3, 7, 17, 33, 65: each size in each role, with
     * different partners, B as an input or as constant weights */
    for (int i = 0; i < 6; i++)
        for (int r = 0; r < 2; r++) {
            int64_t M = sizes[i], N = sizes[(i + 1 + 2 * r) % 6], K = sizes[(i + 3 + r) % 6];
            bool wconst = (i + r) % 2 == 0 && K * N <= 1200;
            snprintf(name, sizeof name, "m%lld_n%lld_k%lld%s", (long long)M, (long long)N, (long long)K,
                     wconst ? "_wconst" : "");
            matmul_case(name, (Opnd){2, {M, K}}, (Opnd){2, {K, N}, wconst}, NULL, NULL, i == 2 && r == 0);
        }
    matmul_case("m1_n1_k1", (Opnd){2, {1, 1}}, (Opnd){2, {1, 1}}, NULL, NULL, false);
    matmul_case("m65_n65_k65", (Opnd){2, {65, 65}}, (Opnd){2, {65, 65}}, NULL, NULL, false);
    matmul_case("m3_n130_k9", (Opnd){2, {3, 9}}, (Opnd){2, {9, 130}}, NULL, NULL, false);

    /* batch dims, broadcast on either side */
    matmul_case("b2x3_mat_x_2d", (Opnd){4, {2, 3, 5, 7}}, (Opnd){2, {7, 17}}, NULL, NULL, true);
    matmul_case("b2x1_x_b3", (Opnd){4, {2, 1, 3, 7}}, (Opnd){3, {3, 7, 5}}, NULL, NULL, false);
    matmul_case("2d_x_b4", (Opnd){2, {3, 7}}, (Opnd){3, {4, 7, 17}}, NULL, NULL, false);
    matmul_case("b1_x_b5", (Opnd){3, {1, 7, 3}}, (Opnd){3, {5, 3, 9}}, NULL, NULL, false);
    matmul_case("b2x3_x_b2x3", (Opnd){4, {2, 3, 4, 5}}, (Opnd){4, {2, 3, 5, 6}}, NULL, NULL, false);
    matmul_case("b3x1_x_b1x2", (Opnd){4, {3, 1, 4, 5}}, (Opnd){4, {1, 2, 5, 3}}, NULL, NULL, false);
    matmul_case("b6_rank5", (Opnd){5, {2, 1, 3, 2, 3}}, (Opnd){3, {1, 3, 4}}, NULL, NULL, false);

    /* the symbolic batch */
    matmul_case("batchN_x_wconst", (Opnd){3, {-1, 5, 17}}, (Opnd){2, {17, 9}, true}, NULL, NULL, true);
    matmul_case("batchN_rows_x_wconst", (Opnd){2, {-1, 33}}, (Opnd){2, {33, 7}, true}, NULL, NULL, false);
    matmul_case("batchN_b3_x_b3", (Opnd){4, {-1, 3, 4, 7}}, (Opnd){3, {3, 7, 5}}, NULL, NULL, false);
    matmul_case("batchN_x_batchN", (Opnd){3, {-1, 3, 7}}, (Opnd){3, {-1, 7, 5}}, NULL, NULL, true);
    matmul_case("batchN_b1_x_b3", (Opnd){4, {-1, 1, 4, 7}}, (Opnd){3, {3, 7, 5}}, NULL, NULL, false);
    matmul_case("batchN_b2_x_b1", (Opnd){4, {-1, 2, 3, 5}}, (Opnd){3, {1, 5, 4}}, NULL, NULL, false);
    /* attention's products (B an input: k_gemm.c's register tiles) */
    matmul_case("attn_qk_batchN", (Opnd){4, {-1, 2, 29, 16}}, (Opnd){4, {-1, 2, 16, 29}}, NULL, NULL, true);
    matmul_case("attn_pv_bcast_b", (Opnd){4, {2, 3, 12, 40}}, (Opnd){3, {3, 40, 48}}, NULL, NULL, false);

    matmul_sweep(16);

    /* the microkernels (k_mm.c: constant weights, K*N >= 4096): rows in
     * full tiles and every remainder shape, N not a multiple of the tile's
     * width (a partial last group), odd K, batch dims as rows; on an
     * AVX-512 host N 70, 33 and 40 take the 9x48 f32 tiles, N 100 and 64
     * the 14x32 ones */
    matmul_case("mk_m1_n100_k65", (Opnd){2, {1, 65}}, (Opnd){2, {65, 100}, true}, NULL, NULL, true);
    matmul_case("mk_m29_n70_k67", (Opnd){2, {29, 67}}, (Opnd){2, {67, 70}, true}, NULL, NULL, false);
    matmul_case("mk_m13_n33_k131", (Opnd){2, {13, 131}}, (Opnd){2, {131, 33}, true}, NULL, NULL, false);
    matmul_case("mk_batchN_n64_k97", (Opnd){2, {-1, 97}}, (Opnd){2, {97, 64}, true}, NULL, NULL, true);
    matmul_case("mk_b3_m5_n40_k129", (Opnd){3, {3, 5, 129}}, (Opnd){2, {129, 40}, true}, NULL, NULL, false);

    /* fused epilogues: a per-column constant bias, then an activation */
    KtText e = {0};
    int64_t d9[] = {9}, d19[] = {1, 9}, d51[] = {5, 1};
    kt_init_values(&e, "float", "bias", 1, d9, false);
    matmul_case("fused_bias_relu", (Opnd){3, {-1, 5, 17}}, (Opnd){2, {17, 9}, true},
                "  t = Add(mm, bias)\n  y = Relu(t)\n", e.s, true);
    kt_text_free(&e);
    kt_init_values(&e, "float", "bias", 2, d19, false);
    matmul_case("fused_bias_row_tanh", (Opnd){2, {7, 33}}, (Opnd){2, {33, 9}, true},
                "  t = Add(bias, mm)\n  y = Tanh(t)\n", e.s, false);
    kt_text_free(&e);
    kt_init_values(&e, "float", "bias", 0, NULL, false);
    matmul_case("fused_scalar_bias_sigmoid", (Opnd){2, {-1, 17}}, (Opnd){2, {17, 9}, true},
                "  t = Add(mm, bias)\n  y = Sigmoid(t)\n", e.s, false);
    kt_text_free(&e);
    kt_init_values(&e, "float", "bias", 2, d51, false); /* per row: not a bias, stays an Add */
    matmul_case("unfused_column_add_relu", (Opnd){2, {5, 17}}, (Opnd){2, {17, 9}, true},
                "  t = Add(mm, bias)\n  y = Relu(t)\n", e.s, false);
    kt_text_free(&e);
    /* a matrix-vector product has no column dim: its last dim is M, so a
     * constant added over it is per row, not a bias per column */
    kt_init_values(&e, "float", "bias", 1, (int64_t[]){5}, false);
    matmul_case("mat_vec_add_row_const", (Opnd){2, {5, 7}}, (Opnd){1, {7}, true}, "  y = Add(mm, bias)\n", e.s,
                true);
    kt_text_free(&e);
    kt_init_values(&e, "float", "bias", 1, (int64_t[]){4}, false);
    matmul_case("batched_mat_vec_add_relu", (Opnd){3, {-1, 4, 9}}, (Opnd){1, {9}, true},
                "  t = Add(mm, bias)\n  y = Relu(t)\n", e.s, false);
    kt_text_free(&e);
    kt_init_values(&e, "float", "bias", 0, NULL, false);
    matmul_case("vec_vec_add_scalar", (Opnd){1, {7}}, (Opnd){1, {7}, true}, "  y = Add(mm, bias)\n", e.s, false);
    kt_text_free(&e);
    matmul_case("fused_clip", (Opnd){3, {2, 3, 17}}, (Opnd){2, {17, 7}}, "  y = Clip(mm, lo, hi)\n",
                "float lo = {-0.5}, float hi = {0.5}", false);
    matmul_case("fused_leaky_relu", (Opnd){2, {-1, 65}}, (Opnd){2, {65, 3}, true},
                "  y = LeakyRelu<alpha = 0.2>(mm)\n", NULL, false);
    /* BatchNormalization folded into the weights (2-D), then LeakyRelu */
    int64_t d7[] = {7};
    kt_init_values(&e, "float", "s", 1, d7, false);
    kt_printf(&e, ", ");
    kt_init_values(&e, "float", "bb", 1, d7, false);
    kt_printf(&e, ", ");
    kt_init_values(&e, "float", "mu", 1, d7, false);
    kt_printf(&e, ", ");
    kt_init_values(&e, "float", "var", 1, d7, true);
    matmul_case("bn_folded_leaky", (Opnd){2, {-1, 17}}, (Opnd){2, {17, 7}, true},
                "  t = BatchNormalization(mm, s, bb, mu, var)\n  y = LeakyRelu(t)\n", e.s, false);
    kt_text_free(&e);
}

/* ---- Gemm --------------------------------------------------------------- */

static void gemm_case(const char *name, int64_t M, int64_t N, int64_t K, int ta, int tb, int crank,
                      const int64_t *cd, bool c_const, bool b_const, float alpha, float beta, const char *act,
                      bool arm)
{
    KtText ins = {0}, inits = {0}, m = {0};
    Opnd a = {2, {ta ? K : M, ta ? M : K}}, b = {2, {tb ? N : K, tb ? K : N}, b_const};
    declare(&ins, &inits, "a", &a);
    declare(&ins, &inits, "b", &b);
    if (crank >= 0) {
        Opnd c = {crank, {0}, c_const};
        for (int i = 0; i < crank; i++)
            c.d[i] = cd[i];
        declare(&ins, &inits, "c", &c);
    }
    kt_header(&m, 13);
    kt_printf(&m, "gemm (%s) => (float[] y)\n", ins.s);
    if (inits.n)
        kt_printf(&m, "<%s>\n", inits.s);
    char fa[32], fb[32];
    kt_printf(&m, "{\n  %s = Gemm<alpha = %s, beta = %s, transA = %d, transB = %d>(a, b%s)\n", act ? "g" : "y",
              kt_float(fa, sizeof fa, alpha), kt_float(fb, sizeof fb, beta), ta, tb, crank >= 0 ? ", c" : "");
    if (act)
        kt_printf(&m, "  y = %s(g)\n", act);
    kt_printf(&m, "}\n");
    KtOpts o = {.arm = arm};
    kt_case(name, &o, m.s);
    kt_text_free(&ins);
    kt_text_free(&inits);
    kt_text_free(&m);
}

void kt_gemm(void)
{
    static const char *const cname[] = {"noC", "scalar", "one", "row", "row1xN", "col", "full"};
    static const float ab[4][2] = {{1, 1}, {0.5f, 2}, {-1.25f, 0}, {2, -0.5f}};
    char name[128];
    int k = 0;
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int cv = 0; cv < 7; cv++, k++) {
                int64_t M = sizes[k % 6], N = sizes[(k + 2) % 6], K = sizes[(k + 4) % 6];
                int64_t cd[2];
                int cr;
                switch (cv) {
                case 0: cr = -1; break;
                case 1: cr = 0; break;
                case 2: cr = 1, cd[0] = 1; break;
                case 3: cr = 1, cd[0] = N; break;
                case 4: cr = 2, cd[0] = 1, cd[1] = N; break;
                case 5: cr = 2, cd[0] = M, cd[1] = 1; break;
                default: cr = 2, cd[0] = M, cd[1] = N; break;
                }
                bool bconst = k % 2 == 0 && K * N <= 1200, cconst = k % 3 != 0;
                const float *s = ab[k % 4];
                snprintf(name, sizeof name, "ta%d_tb%d_c%s_m%lld_n%lld_k%lld%s_a%g_b%g", ta, tb, cname[cv],
                         (long long)M, (long long)N, (long long)K, bconst ? "_wconst" : "", s[0], s[1]);
                gemm_case(name, M, N, K, ta, tb, cr, cd, cconst, bconst, s[0], s[1], NULL, cv == 6 || k == 3);
            }
    /* the symbolic batch as Gemm's rows (fully connected layers) */
    int64_t c9[] = {9}, cn9[] = {-1, 9}, c19[] = {1, 9};
    gemm_case("batchN_tb_wconst_crow", -1, 9, 17, 0, 1, 1, c9, true, true, 1, 1, NULL, true);
    gemm_case("batchN_wconst_c1xN", -1, 9, 33, 0, 0, 2, c19, true, true, 0.5f, 2, NULL, false);
    gemm_case("batchN_c_batch_input", -1, 9, 7, 0, 1, 2, cn9, false, true, 1, -1, NULL, false);
    gemm_case("batchN_c_col_input", -1, 5, 7, 0, 0, 2, (int64_t[]){-1, 1}, false, true, 2, 0.5f, NULL, false);
    gemm_case("batchN_noC_input_b", -1, 65, 3, 0, 0, -1, NULL, false, false, 1, 1, NULL, false);
    /* fused: Gemm + bias Add + activation; Gemm with C + activation */
    gemm_case("batchN_tb_crow_relu", -1, 17, 33, 0, 1, 1, (int64_t[]){17}, true, true, 1, 1, "Relu", true);
    gemm_case("crow_scaled_sigmoid", 7, 17, 9, 0, 1, 1, (int64_t[]){17}, true, true, 0.5f, 3, "Sigmoid", false);
    gemm_case("cfull_input_tanh", 5, 7, 9, 1, 0, 2, (int64_t[]){5, 7}, false, false, 1, 1, "Tanh", false);
    /* the microkernels (k_mm.c: C along N only): bias rows, alpha/beta,
     * activations; a full C falls back to the plain kernel */
    gemm_case("mk_batchN_tb_crow_relu", -1, 70, 67, 0, 1, 1, (int64_t[]){70}, true, true, 1, 1, "Relu", true);
    gemm_case("mk_m20_crow_scaled", 20, 40, 130, 0, 0, 1, (int64_t[]){40}, true, true, 0.5f, 2, NULL, false);
    gemm_case("mk_m3_tb_c1xN_sigmoid", 3, 100, 65, 0, 1, 2, (int64_t[]){1, 100}, true, true, -1.25f, 0.5f,
              "Sigmoid", false);
    gemm_case("mk_m20_cfull_fallback", 20, 40, 130, 0, 0, 2, (int64_t[]){20, 40}, true, true, 0.5f, 2, NULL, false);
    /* B an input (k_gemm.c's register tiles: rows in tiles and alone,
     * columns in blocks and past them) with every epilogue term */
    gemm_case("tiled_m13_n70_cfull_scaled_relu", 13, 70, 19, 0, 0, 2, (int64_t[]){13, 70}, false, false, 0.5f, -2, "Relu",
              true);
    gemm_case("tiled_ta_m6_n33_crow_sigmoid", 6, 33, 40, 1, 0, 1, (int64_t[]){33}, true, false, -1.25f, 1, "Sigmoid",
              false);
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "gemm_bias (float[N,17] a) => (float[] y)\n<");
    kt_init_values(&m, "float", "w", 2, (int64_t[]){9, 17}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "bias", 1, (int64_t[]){9}, false);
    kt_printf(&m, ", float lo = {-1}, float hi = {1}>\n{\n  g = Gemm<transB = 1, alpha = 0.75>(a, w)\n");
    kt_printf(&m, "  t = Add(g, bias)\n  y = Clip(t, lo, hi)\n}\n");
    KtOpts o = {.arm = true};
    kt_case("noC_bias_add_clip_fused", &o, m.s);
    kt_text_free(&m);
    /* BatchNormalization folded into Gemm (C per column, alpha, beta) */
    kt_header(&m, 13);
    kt_printf(&m, "gemm_bn (float[N,9] a) => (float[] y)\n<");
    kt_init_values(&m, "float", "w", 2, (int64_t[]){9, 5}, false);
    kt_printf(&m, ", ");
    kt_init_values(&m, "float", "c", 1, (int64_t[]){5}, false);
    const char *pn[] = {"s", "bb", "mu", "var"};
    for (int i = 0; i < 4; i++) {
        kt_printf(&m, ", ");
        kt_init_values(&m, "float", pn[i], 1, (int64_t[]){5}, i == 3);
    }
    kt_printf(&m, ">\n{\n  g = Gemm<alpha = 1.5, beta = 0.5>(a, w, c)\n");
    kt_printf(&m, "  t = BatchNormalization<epsilon = 0.01>(g, s, bb, mu, var)\n  y = Relu(t)\n}\n");
    kt_case("bn_folded_relu", &o, m.s);
    kt_text_free(&m);
}

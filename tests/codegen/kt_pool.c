/* kt_pool.c — cases for codegen/k_pool.c: MaxPool (argmax indices in both
 * storage orders, ceil_mode, dilations, pads, 1-D/3-D, u8/i8/f16, NaN and
 * ties), AveragePool (count_include_pad both ways, ceil_mode overhang,
 * auto_pad) and GlobalAveragePool. */
#include <stdio.h>

#include "kt.h"

typedef struct PoolSpec {
    const char *name;
    bool avg;
    const char *type;        /* ONNX type name of x */
    int nsp;
    int64_t x[5];            /* x[0] -1: the symbolic batch */
    int64_t k[3], s[3], d[3], p[6];
    const char *auto_pad;
    int ceil, cip, order;    /* ceil_mode, count_include_pad, storage_order */
    bool indices;            /* MaxPool's second output */
    KtFill fill;
    bool arm;
} PoolSpec;

static void ints(KtText *t, const char *attr, int n, const int64_t *v)
{
    kt_printf(t, ", %s = [", attr);
    for (int i = 0; i < n; i++)
        kt_printf(t, "%s%lld", i ? ", " : "", (long long)v[i]);
    kt_printf(t, "]");
}

static void pool_case(const PoolSpec *ps)
{
    KtText m = {0};
    char dx[96];
    bool dil = ps->d[0] != 0;
    /* AveragePool has dilations from opset 19 */
    kt_header(&m, ps->avg && dil ? 19 : 13);
    kt_printf(&m, "pool (%s%s x) => (%s[] y%s)\n{\n  y%s = %s<ceil_mode = %d", ps->type,
              kt_dims(dx, sizeof dx, 2 + ps->nsp, ps->x), ps->type, ps->indices ? ", int64[] idx" : "",
              ps->indices ? ", idx" : "", ps->avg ? "AveragePool" : "MaxPool", ps->ceil);
    ints(&m, "kernel_shape", ps->nsp, ps->k);
    if (ps->s[0])
        ints(&m, "strides", ps->nsp, ps->s);
    if (dil)
        ints(&m, "dilations", ps->nsp, ps->d);
    if (ps->auto_pad)
        kt_printf(&m, ", auto_pad = \"%s\"", ps->auto_pad);
    else
        ints(&m, "pads", 2 * ps->nsp, ps->p);
    if (ps->avg)
        kt_printf(&m, ", count_include_pad = %d", ps->cip);
    else
        kt_printf(&m, ", storage_order = %d", ps->order);
    kt_printf(&m, ">(x)\n}\n");
    /* MaxPool only selects: bit-exact, indices too */
    KtOpts o = {.exact = ps->avg ? 0 : KT_ALL_EXACT, .arm = ps->arm, .fill = {ps->fill}};
    kt_case(ps->name, &o, m.s);
    kt_text_free(&m);
}

/* Random valid pools: max (f32, f16, u8, i8; indices, storage order) or
 * average (f32, f16; count_include_pad), 1 to 3 spatial dims, ceil_mode,
 * pads smaller than the kernel (see kt_repro.c for larger ones). */
static void pool_sweep(int count)
{
    static const char *const maxtypes[] = {"float", "float", "float16", "uint8", "int8"};
    static const char *const pads[] = {NULL, NULL, NULL, "SAME_UPPER", "SAME_LOWER", "VALID"};
    for (int c = 0; c < count; c++) {
        static char names[64][24];
        bool avg = kt_pick(0, 1);
        PoolSpec ps = {.name = names[c % 64], .avg = avg, .nsp = kt_pick(1, 3)};
        snprintf(names[c % 64], sizeof names[0], "sweep%d_%s", c, avg ? "avg" : "max");
        ps.type = avg ? (kt_pick(0, 3) ? "float" : "float16") : maxtypes[kt_pick(0, 4)];
        ps.x[0] = kt_pick(0, 2) ? kt_pick(1, 2) : -1;
        ps.x[1] = kt_pick(1, 4);
        int big = ps.nsp == 3 ? 6 : 12;
        bool dil = kt_pick(0, 2) == 0;
        for (int i = 0; i < ps.nsp; i++) {
            ps.x[2 + i] = kt_pick(2, big);
            ps.k[i] = kt_pick(1, 4);
            ps.s[i] = kt_pick(1, 3);
            ps.d[i] = dil ? kt_pick(1, 2) : 0;
            ps.p[i] = kt_pick(0, (int)ps.k[i] - 1);
            ps.p[ps.nsp + i] = kt_pick(0, (int)ps.k[i] - 1);
            int64_t span = (ps.k[i] - 1) * (dil ? ps.d[i] : 1) + 1;
            while (ps.x[2 + i] < span) /* fits without pads too (auto_pad VALID) */
                ps.x[2 + i]++;
        }
        ps.auto_pad = pads[kt_pick(0, 5)];
        ps.ceil = kt_pick(0, 1);
        ps.cip = kt_pick(0, 1);
        ps.order = kt_pick(0, 1);
        ps.indices = !avg && kt_pick(0, 1);
        ps.fill = ps.type[0] == 'f' ? KT_RAND : KT_WIDE;
        ps.arm = c % 6 == 0;
        pool_case(&ps);
    }
}

void kt_pool(void)
{
    static const PoolSpec specs[] = {
        /* MaxPool */
        {"max_2d_k2_s2_idx", 0, "float", 2, {-1, 3, 8, 8}, {2, 2}, {2, 2}, {0}, {0}, NULL, 0, 0, 0, 1, KT_RAND, 1},
        {"max_2d_k3_p1_idx_colmajor", 0, "float", 2, {1, 2, 7, 9}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 1,
         1, KT_RAND, 1},
        {"max_2d_k3_s2_ceil_idx", 0, "float", 2, {1, 2, 8, 8}, {3, 3}, {2, 2}, {0}, {0}, NULL, 1, 0, 0, 1, KT_RAND, 0},
        {"max_2d_k3_s2_ceil_pads", 0, "float", 2, {2, 1, 9, 10}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, 0, 1, 1,
         KT_RAND, 0},
        {"max_2d_d2_idx_colmajor", 0, "float", 2, {1, 2, 9, 9}, {3, 3}, {1, 1}, {2, 2}, {0}, NULL, 0, 0, 1, 1,
         KT_RAND, 0},
        {"max_2d_d2_s2_ceil_pads", 0, "float", 2, {1, 2, 10, 11}, {2, 3}, {2, 2}, {2, 2}, {1, 0, 1, 2}, NULL, 1, 0, 0,
         1, KT_RAND, 1},
        {"max_2d_asym_pads", 0, "float", 2, {1, 1, 6, 7}, {2, 3}, {2, 1}, {0}, {0, 1, 1, 0}, NULL, 0, 0, 0, 1, KT_RAND,
         0},
        {"max_2d_same_upper_s2", 0, "float", 2, {1, 2, 7, 7}, {3, 3}, {2, 2}, {0}, {0}, "SAME_UPPER", 0, 0, 0, 0,
         KT_RAND, 0},
        {"max_2d_same_lower_k2", 0, "float", 2, {-1, 2, 5, 5}, {2, 2}, {1, 1}, {0}, {0}, "SAME_LOWER", 0, 0, 0, 1,
         KT_RAND, 0},
        {"max_2d_valid_s3", 0, "float", 2, {1, 3, 10, 11}, {2, 2}, {3, 3}, {0}, {0}, "VALID", 0, 0, 0, 0, KT_RAND, 0},
        {"max_1d_k3_s2_p1_idx", 0, "float", 1, {-1, 3, 17}, {3}, {2}, {0}, {1, 1}, NULL, 0, 0, 0, 1, KT_RAND, 1},
        {"max_1d_ceil_colmajor", 0, "float", 1, {2, 2, 10}, {4}, {3}, {0}, {0, 2}, NULL, 1, 0, 1, 1, KT_RAND, 0},
        {"max_3d_idx", 0, "float", 3, {1, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 1}, {0}, {0, 1, 0, 1, 1, 1}, NULL, 0, 0, 0,
         1, KT_RAND, 1},
        {"max_3d_idx_colmajor", 0, "float", 3, {1, 2, 5, 6, 7}, {2, 3, 2}, {2, 2, 1}, {0}, {0, 1, 0, 1, 1, 1}, NULL, 0,
         0, 1, 1, KT_RAND, 0},
        {"max_3d_ceil_d2", 0, "float", 3, {-1, 1, 6, 5, 7}, {2, 2, 2}, {2, 2, 2}, {2, 1, 2}, {0}, NULL, 1, 0, 0, 1,
         KT_RAND, 0},
        {"max_u8_k3_s2_idx", 0, "uint8", 2, {2, 3, 9, 9}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 1, KT_RAND,
         1},
        {"max_u8_ties", 0, "uint8", 2, {1, 2, 6, 6}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 1, 1, KT_SMALL, 0},
        {"max_i8_pads_idx", 0, "int8", 2, {-1, 2, 6, 6}, {2, 2}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 1, KT_WIDE,
         1},
        {"max_i8_1d_ceil", 0, "int8", 1, {2, 3, 11}, {3}, {2}, {0}, {1, 0}, NULL, 1, 0, 0, 1, KT_SMALL, 0},
        {"max_f16_k3_s2_p1", 0, "float16", 2, {1, 2, 8, 8}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 1,
         KT_RAND, 1},
        {"max_f32_ties_idx", 0, "float", 2, {1, 2, 6, 6}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 1,
         KT_SMALL, 0},
        {"max_f32_specials_idx", 0, "float", 2, {1, 2, 8, 8}, {2, 2}, {2, 2}, {0}, {0}, NULL, 0, 0, 0, 1, KT_WIDE, 0},
        {"max_f64_d2", 0, "double", 2, {-1, 2, 7, 6}, {2, 2}, {1, 2}, {2, 1}, {1, 0, 0, 1}, NULL, 0, 0, 0, 1, KT_RAND,
         0},
        {"max_window_all_pad", 0, "float", 2, {1, 1, 3, 3}, {2, 2}, {1, 1}, {0}, {2, 2, 2, 2}, NULL, 0, 0, 0, 1,
         KT_RAND, 0},
        {"max_window_all_pad_noidx", 0, "float", 2, {1, 1, 3, 3}, {2, 2}, {1, 1}, {0}, {2, 2, 2, 2}, NULL, 0, 0, 0, 0,
         KT_RAND, 0},
        /* without indices: the row-wise kernel (rows wider than a vector,
         * their remainders; specials; ResNet's 3x3 s2 p1 on u8) */
        {"max_u8_k3_s2_p1_rows", 0, "uint8", 2, {-1, 4, 21, 37}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 0,
         KT_WIDE, 1},
        {"max_i8_k2_s2_ceil_rows", 0, "int8", 2, {2, 3, 17, 33}, {2, 2}, {2, 2}, {0}, {0}, NULL, 1, 0, 0, 0, KT_WIDE,
         1},
        {"max_f32_specials_rows", 0, "float", 2, {1, 2, 9, 40}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 0,
         KT_WIDE, 1},
        {"max_f32_d2_asym_rows", 0, "float", 2, {-1, 2, 11, 45}, {2, 3}, {1, 2}, {2, 2}, {1, 0, 0, 2}, NULL, 1, 0, 0,
         0, KT_WIDE, 0},
        {"max_f16_1d_rows", 0, "float16", 1, {2, 3, 50}, {3}, {1}, {0}, {1, 1}, NULL, 0, 0, 0, 0, KT_WIDE, 0},
        {"max_kernel_is_input", 0, "float", 2, {-1, 4, 5, 5}, {5, 5}, {1, 1}, {0}, {0}, NULL, 0, 0, 0, 1, KT_RAND, 0},
        /* AveragePool */
        {"avg_2d_k2_s2", 1, "float", 2, {-1, 3, 8, 8}, {2, 2}, {2, 2}, {0}, {0}, NULL, 0, 0, 0, 0, KT_RAND, 1},
        {"avg_2d_k3_p1_exclude_pad", 1, "float", 2, {1, 2, 7, 9}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 0,
         KT_RAND, 0},
        {"avg_2d_k3_p1_include_pad", 1, "float", 2, {1, 2, 7, 9}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 1, 0, 0,
         KT_RAND, 1},
        {"avg_2d_ceil_exclude", 1, "float", 2, {1, 2, 8, 8}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, 0, 0, 0,
         KT_RAND, 0},
        {"avg_2d_ceil_include", 1, "float", 2, {1, 2, 8, 8}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, 1, 0, 0,
         KT_RAND, 1},
        {"avg_2d_ceil_include_nopad", 1, "float", 2, {2, 1, 9, 10}, {3, 2}, {2, 3}, {0}, {0}, NULL, 1, 1, 0, 0,
         KT_RAND, 0},
        {"avg_2d_asym_include", 1, "float", 2, {1, 1, 6, 7}, {2, 3}, {2, 1}, {0}, {0, 1, 1, 0}, NULL, 0, 1, 0, 0,
         KT_RAND, 0},
        {"avg_2d_same_upper_exclude", 1, "float", 2, {1, 2, 7, 7}, {3, 3}, {2, 2}, {0}, {0}, "SAME_UPPER", 0, 0, 0, 0,
         KT_RAND, 0},
        {"avg_2d_same_lower_include", 1, "float", 2, {-1, 2, 6, 6}, {4, 4}, {1, 1}, {0}, {0}, "SAME_LOWER", 0, 1, 0, 0,
         KT_RAND, 0},
        {"avg_2d_dilations", 1, "float", 2, {1, 2, 9, 8}, {2, 2}, {1, 2}, {2, 2}, {1, 1, 1, 1}, NULL, 0, 1, 0, 0,
         KT_RAND, 0},
        {"avg_1d_include", 1, "float", 1, {-1, 3, 17}, {3}, {2}, {0}, {1, 1}, NULL, 0, 1, 0, 0, KT_RAND, 1},
        {"avg_1d_ceil_exclude", 1, "float", 1, {2, 2, 10}, {4}, {3}, {0}, {2, 1}, NULL, 1, 0, 0, 0, KT_RAND, 0},
        {"avg_3d_exclude", 1, "float", 3, {1, 2, 5, 6, 7}, {2, 2, 2}, {2, 2, 2}, {0}, {1, 0, 1, 0, 1, 0}, NULL, 0, 0,
         0, 0, KT_RAND, 1},
        {"avg_3d_ceil_include", 1, "float", 3, {1, 1, 5, 5, 5}, {3, 3, 3}, {2, 2, 2}, {0}, {1, 1, 1, 1, 1, 1}, NULL, 1,
         1, 0, 0, KT_RAND, 0},
        {"avg_f16_k3_p1", 1, "float16", 2, {1, 2, 7, 7}, {3, 3}, {1, 1}, {0}, {1, 1, 1, 1}, NULL, 0, 0, 0, 0, KT_RAND,
         0},
        {"avg_bf16_ceil_include", 1, "bfloat16", 2, {1, 2, 8, 7}, {3, 3}, {2, 2}, {0}, {1, 1, 1, 1}, NULL, 1, 1, 0, 0,
         KT_RAND, 0},
        {"avg_f64_1d", 1, "double", 1, {-1, 2, 9}, {2}, {1}, {0}, {0, 1}, NULL, 0, 0, 0, 0, KT_RAND, 0},
        {"avg_window_all_pad", 1, "float", 2, {1, 1, 3, 3}, {2, 2}, {1, 1}, {0}, {2, 2, 2, 2}, NULL, 0, 0, 0, 0,
         KT_RAND, 0},
    };
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++)
        pool_case(&specs[i]);
    pool_sweep(24);

    /* GlobalAveragePool */
    static const struct {
        const char *name, *type;
        int rank;
        int64_t x[5];
        bool arm;
    } gap[] = {
        {"gap_1d", "float", 3, {-1, 3, 17}, true},     {"gap_2d", "float", 4, {2, 5, 7, 9}, false},
        {"gap_3d", "float", 5, {1, 2, 3, 4, 5}, true}, {"gap_1x1", "float", 4, {-1, 4, 1, 1}, false},
        {"gap_67x33", "float", 4, {1, 2, 67, 33}, false}, {"gap_f16", "float16", 4, {1, 3, 9, 9}, false},
        {"gap_f64", "double", 4, {-1, 3, 5, 5}, false}, {"gap_bf16", "bfloat16", 3, {2, 3, 40}, false},
    };
    for (size_t i = 0; i < sizeof gap / sizeof gap[0]; i++) {
        KtText m = {0};
        char dx[96];
        kt_header(&m, 13);
        kt_printf(&m, "gap (%s%s x) => (%s[] y)\n{\n  y = GlobalAveragePool(x)\n}\n", gap[i].type,
                  kt_dims(dx, sizeof dx, gap[i].rank, gap[i].x), gap[i].type);
        KtOpts o = {.arm = gap[i].arm};
        kt_case(gap[i].name, &o, m.s);
        kt_text_free(&m);
    }
}

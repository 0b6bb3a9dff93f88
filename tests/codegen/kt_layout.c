/* kt_layout.c — cases for the data-movement kernels of codegen/k_eltwise.c
 * and the memory plan's views: Transpose (every permutation of rank 4,
 * size-1 dims, the batch, 1- to 8-byte elements), Concat (every axis,
 * several inputs, the batch), and Flatten/Reshape/Squeeze/Unsqueeze/
 * Identity as graph outputs (materialized copies) and inside graphs
 * (aliases of their input's bytes). All bit-exact. */
#include <stdio.h>

#include "kt.h"

/* Every permutation of 0..n-1 in lexicographic order (n <= 4). */
static int perms(int n, int out[][4])
{
    int cnt = 0;
    for (int a = 0; a < n; a++)
        for (int b = 0; b < n; b++)
            for (int c = 0; c < n; c++)
                for (int d = 0; d < n; d++) {
                    int p[4] = {a, b, c, d}, seen = 0, ok = 1;
                    for (int i = 0; i < n; i++) {
                        ok &= !(seen >> p[i] & 1);
                        seen |= 1 << p[i];
                    }
                    if (!ok || (n < 4 && (d || (n < 3 && c) || (n < 2 && b))))
                        continue;
                    for (int i = 0; i < 4; i++)
                        out[cnt][i] = p[i];
                    cnt++;
                }
    return cnt;
}

/* One model: every permutation of rank 4 (keeping dim 0 first when the
 * input has the batch dim) as its own output. */
static void transpose_all(const char *name, const char *type, const int64_t *x, bool arm)
{
    int p[24][4], n = perms(4, p);
    bool batch = x[0] < 0;
    KtText m = {0};
    char dx[64];
    kt_header(&m, 13);
    kt_printf(&m, "transpose (%s%s x) => (", type, kt_dims(dx, sizeof dx, 4, x));
    int k = 0;
    for (int i = 0; i < n; i++)
        if (!batch || p[i][0] == 0)
            kt_printf(&m, "%s%s[] t%d%d%d%d", k++ ? ", " : "", type, p[i][0], p[i][1], p[i][2], p[i][3]);
    kt_printf(&m, ")\n{\n");
    for (int i = 0; i < n; i++)
        if (!batch || p[i][0] == 0)
            kt_printf(&m, "  t%d%d%d%d = Transpose<perm = [%d, %d, %d, %d]>(x)\n", p[i][0], p[i][1], p[i][2], p[i][3],
                      p[i][0], p[i][1], p[i][2], p[i][3]);
    kt_printf(&m, "}\n");
    KtOpts o = {.exact = KT_ALL_EXACT, .arm = arm, .fill = {KT_WIDE}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

/* A model from its parts; `inits` may be NULL. Bit-exact unless `math`. */
static void model(const char *name, const char *inputs, const char *outputs, const char *inits, const char *body,
                  bool arm, bool math)
{
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "g (%s) => (%s)\n", inputs, outputs);
    if (inits)
        kt_printf(&m, "<%s>\n", inits);
    kt_printf(&m, "{\n%s}\n", body);
    KtOpts o = {.exact = math ? 0 : KT_ALL_EXACT, .arm = arm,
                .fill = {KT_WIDE, KT_WIDE, KT_WIDE, KT_WIDE, KT_WIDE, KT_WIDE}};
    kt_case(name, &o, m.s);
    kt_text_free(&m);
}

static void one_op(const char *name, const char *inputs, const char *outputs, const char *inits, const char *body,
                   bool arm)
{
    model(name, inputs, outputs, inits, body, arm, false);
}

void kt_transpose(void)
{
    static const int64_t a[] = {2, 3, 4, 5}, b[] = {3, 1, 4, 2}, c[] = {-1, 3, 4, 5}, d[] = {1, 1, 7, 1};
    transpose_all("all_perms_f32_2x3x4x5", "float", a, true);
    transpose_all("all_perms_i8_3x1x4x2", "int8", b, false);
    transpose_all("all_perms_f16_batchN", "float16", c, true);
    transpose_all("all_perms_i64_1x1x7x1", "int64", d, false);
    transpose_all("all_perms_u8_2x3x4x5", "uint8", a, false);
    one_op("2d_i64_default_perm", "int64[17,33] x", "int64[] y", NULL, "  y = Transpose(x)\n", true);
    one_op("2d_batchN_u8_3d", "uint8[N,67,5] x", "uint8[] y", NULL, "  y = Transpose<perm = [0, 2, 1]>(x)\n", false);
    one_op("r6_f64", "double[2,3,1,2,3,2] x", "double[] y", NULL, "  y = Transpose<perm = [5, 3, 1, 0, 2, 4]>(x)\n",
           false);
    one_op("r5_bool_batchN", "bool[N,2,3,1,4] x", "bool[] y", NULL, "  y = Transpose<perm = [0, 4, 2, 3, 1]>(x)\n",
           false);
    one_op("r7_i16", "int16[2,1,3,2,1,2,3] x", "int16[] y", NULL,
           "  y = Transpose<perm = [6, 0, 2, 4, 1, 5, 3]>(x)\n", false);
    one_op("bf16_wide", "bfloat16[3,130] x", "bfloat16[] y", NULL, "  y = Transpose<perm = [1, 0]>(x)\n", false);
    one_op("then_relu", "float[N,4,5] x", "float[] y", NULL, "  t = Transpose<perm = [0, 2, 1]>(x)\n  y = Relu(t)\n",
           false);
}

/* Concat along `axis` of inputs whose extent there is ext[i]. */
static void concat_case(const char *name, const char *type, int rank, const int64_t *shape, int axis,
                        const int64_t *ext, int nin, bool arm)
{
    KtText ins = {0}, m = {0};
    char d[64];
    for (int i = 0; i < nin; i++) {
        int64_t s[6];
        for (int k = 0; k < rank; k++)
            s[k] = shape[k];
        s[axis < 0 ? axis + rank : axis] = ext[i];
        kt_printf(&ins, "%s%s%s x%d", i ? ", " : "", type, kt_dims(d, sizeof d, rank, s), i);
    }
    kt_header(&m, 13);
    kt_printf(&m, "concat (%s) => (%s[] y)\n{\n  y = Concat<axis = %d>(", ins.s, type, axis);
    for (int i = 0; i < nin; i++)
        kt_printf(&m, "%sx%d", i ? ", " : "", i);
    kt_printf(&m, ")\n}\n");
    KtOpts o = {.exact = KT_ALL_EXACT, .arm = arm};
    for (int i = 0; i < nin; i++)
        o.fill[i] = KT_WIDE;
    kt_case(name, &o, m.s);
    kt_text_free(&ins);
    kt_text_free(&m);
}

void kt_concat(void)
{
    static const int64_t s4[] = {2, 3, 4, 5}, n4[] = {-1, 3, 4, 5}, e3[] = {1, 2, 3}, e5[] = {1, 1, 3, 1, 7},
                         s2[] = {3, 7}, e2[] = {5, 1};
    char name[64];
    for (int axis = -1; axis < 4; axis++) {
        snprintf(name, sizeof name, "f32_r4_axis%d", axis);
        concat_case(name, "float", 4, s4, axis, e3, 3, axis == 1);
    }
    for (int axis = 1; axis < 4; axis++) {
        snprintf(name, sizeof name, "f32_batchN_axis%d", axis);
        concat_case(name, "float", 4, n4, axis, e3, 3, axis == 3);
    }
    concat_case("i8_batchN_5_inputs_axis1", "int8", 4, n4, 1, e5, 5, true);
    concat_case("f16_5_inputs_axis3", "float16", 4, s4, 3, e5, 5, false);
    concat_case("i64_2d_axis0", "int64", 2, s2, 0, e2, 2, false);
    concat_case("bool_2d_axis1", "bool", 2, s2, 1, e2, 2, false);
    static const int64_t e12[] = {1, 2, 1, 1, 3, 1, 1, 2, 1, 1, 1, 4};
    concat_case("i8_12_inputs_axis2", "int8", 4, n4, 2, e12, 12, false);
    concat_case("f32_empty_input_axis1", "float", 4, s4, 1, (int64_t[]){2, 0, 1}, 3, false);
    concat_case("u8_single_input", "uint8", 2, s2, 1, e2, 1, false);
    one_op("same_input_twice", "float[N,3] x, float[N,2] z", "float[] y", NULL, "  y = Concat<axis = 1>(x, z, x)\n",
           false);
    KtText m = {0};
    kt_header(&m, 13);
    kt_printf(&m, "concat_const (float[2,3] x) => (float[] y)\n<");
    kt_init_values(&m, "float", "c", 2, (int64_t[]){2, 4}, false);
    kt_printf(&m, ">\n{\n  y = Concat<axis = 1>(c, x)\n}\n");
    KtOpts o = {.exact = KT_ALL_EXACT, .fill = {KT_WIDE}};
    kt_case("with_constant", &o, m.s);
    kt_text_free(&m);
}

/* ---- views -------------------------------------------------------------- */

void kt_views(void)
{
    /* as graph outputs: copies, from an input or from the workspace */
    one_op("reshape_of_input_out", "float[N,3,4] x", "float[] y", "int64[2] shp = {-1, 12}",
           "  y = Reshape(x, shp)\n", true);
    one_op("flatten_of_workspace_out", "float[N,3,4,5] x", "float[] y", NULL,
           "  r = Relu(x)\n  y = Flatten<axis = 1>(r)\n", true);
    one_op("flatten_axis2_static_out", "int8[2,3,4,5] x", "int8[] y", NULL, "  y = Flatten<axis = 2>(x)\n", false);
    one_op("flatten_axis0_out", "float16[3,5,7] x", "float16[] y", NULL, "  y = Flatten<axis = 0>(x)\n", false);
    one_op("squeeze_out", "float[N,1,5,1] x", "float[] y", "int64[2] ax = {1, 3}", "  y = Squeeze(x, ax)\n",
           false);
    one_op("squeeze_all_ones_out", "int64[1,1,7,1] x", "int64[] y", NULL, "  y = Squeeze(x)\n", false);
    one_op("unsqueeze_out", "float[N,5] x", "float[] y", "int64[2] ax = {1, 3}", "  y = Unsqueeze(x, ax)\n",
           true);
    one_op("unsqueeze_of_workspace_out", "double[N,5,3] x", "double[] y", "int64[1] ax = {-1}",
           "  r = Relu(x)\n  y = Unsqueeze(r, ax)\n", false);
    one_op("identity_out", "bool[N,9] x", "bool[] y", NULL, "  y = Identity(x)\n", false);
    one_op("identity_and_dropout_out", "uint8[4,33] x", "uint8[] y, uint8[] z", NULL,
           "  y = Identity(x)\n  z = Dropout(x)\n", false);
    one_op("constant_as_output", "float[2,3] x", "float[] y, float[] c", "float[3] c = {1.5, -2, 0.25}",
           "  y = Relu(x)\n", false);
    one_op("input_as_output", "float[N,3] x, int8[4] z", "float[] x_again, int8[] z", NULL,
           "  x_again = Identity(x)\n", false);
    one_op("empty_reshape_out", "float[3,0,4] x", "float[] y", "int64[2] shp = {0, -1}", "  y = Reshape(x, shp)\n",
           false);
    one_op("constants_reshaped_transposed_out", "float[2,3] x", "float[] y, float[] r, float[] t",
           "float[2,3] c = {1, 2, 3, 4, 5, 6}, int64[1] shp = {6}",
           "  y = Relu(x)\n  r = Reshape(c, shp)\n  t = Transpose(c)\n", false);
    /* static and batch-scaled workspace in one plan */
    model("static_and_batch_workspace", "float[N,4] x, float[4] z", "float[] y", NULL,
          "  t = Sigmoid(z)\n  u = Relu(x)\n  v = Mul(u, t)\n  w = Tanh(t)\n  y = Add(v, w)\n", true, true);
    one_op("reshape_zero_copies_dim", "float[N,6,4] x", "float[] y", "int64[3] shp = {0, 3, -1}",
           "  y = Reshape(x, shp)\n", false);
    /* a view of a view as the output; a view of an output as an output */
    one_op("view_of_view_out", "float[N,2,3,4] x", "float[] y", "int64[3] shp = {-1, 6, 4}",
           "  v = Reshape(x, shp)\n  y = Flatten<axis = 1>(v)\n", false);
    one_op("view_of_an_output_out", "float[N,12] x", "float[] r, float[] y", "int64[3] shp = {-1, 3, 4}",
           "  r = Relu(x)\n  y = Reshape(r, shp)\n", true);
    /* inside the graph: aliases read by later kernels */
    model("views_in_the_middle", "float[N,3,4] x", "float[] y",
          "int64[2] s12 = {-1, 12}, int64[1] ax1 = {1}, int64[1] ax2 = {2}",
          "  a = Reshape(x, s12)\n  b = Sigmoid(a)\n  c = Unsqueeze(b, ax1)\n  d = Tanh(c)\n"
          "  e = Squeeze(d, ax1)\n  f = Unsqueeze(e, ax2)\n  g2 = Flatten<axis = 1>(f)\n  y = Relu(g2)\n",
          true, true);
    /* the root of an alias must outlive the alias's last reader (plan) */
    model("alias_keeps_root_alive", "float[N,12] x", "float[] y", "int64[3] shp = {-1, 3, 4}",
          "  a = Relu(x)\n  v = Reshape(a, shp)\n  b = Sigmoid(v)\n  c = Tanh(b)\n  w = Flatten<axis = 1>(c)\n"
          "  y = Add(w, a)\n",
          false, true);
    one_op("alias_of_input_read_twice", "float[2,6] x, float[3,4] z", "float[] y, float[] k",
           "int64[2] shp = {3, 4}", "  v = Reshape(x, shp)\n  y = Add(v, z)\n  k = Mul(v, v)\n", false);
}

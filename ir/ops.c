/* ops.c — the op table (ops.def) expanded: op_info[] for everyone, and
 * each op's shape rule and interpreter rule (op_rules[], ir-internal). */
#include "expr.h"
#include "oprules.h"

#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    [OP_##id] = {name, min_in, max_in, min_out, max_out, flags, attrs, operands, T_NUM, NULL, NULL, sem},
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem) \
    [OP_##id] = {name, min_in, max_in, 1, 1, OPF_ELTWISE | OPF_ROWS, A_ELT, operands, types, params, expr, sem},
#include "ops.def"
#undef OP
#undef E
};

const OpRules op_rules[OP_COUNT] = {
#define OP(id, name, min_in, max_in, min_out, max_out, flags, attrs, operands, import, rule, kernel, sem) \
    [OP_##id] = {infer_##rule, interp_##rule},
#define E(id, name, min_in, max_in, operands, types, import, params, expr, sem) \
    [OP_##id] = {infer_eltwise, interp_eltwise},
#include "ops.def"
#undef OP
#undef E
};

const char *const act_name[ACT_COUNT] = {
#define X(e, n) [ACT_##e] = n,
    QK_ACTS(X)
#undef X
};

bool op_role(int op, int k, OpRole *r)
{
    memset(r, 0, sizeof *r);
    if (op < 0 || op >= OP_COUNT || k < 0)
        return false;
    const char *s = op_info[op].operands;
    if (!s)
        return false;
    int i = 0;
    OpRole last = {0};
    bool have_last = false;
    while (*s) {
        while (*s == ' ')
            s++;
        if (!*s)
            break;
        OpRole cur = {0};
        size_t n = 0;
        while (*s && *s != ' ') {
            if (*s == '?')
                cur.optional = true;
            else if (*s == '!')
                cur.constant = true;
            else if (*s == '*')
                cur.repeated = true;
            else if (*s == '+')
                cur.extension = true;
            else if (n + 1 < sizeof cur.name)
                cur.name[n++] = *s;
            s++;
        }
        cur.name[n] = 0;
        if (i == k) {
            *r = cur;
            return true;
        }
        last = cur;
        have_last = true;
        i++;
    }
    if (have_last && last.repeated) {
        *r = last;
        return true;
    }
    return false;
}

void ir_attrs_default(OpKind op, Attrs *a)
{
    memset(a, 0, sizeof *a);
    a->nints = -1;
    a->nsizes = -1;
    a->group = 1;
    a->keepdims = 1;
    a->alpha = a->beta = 1.0f;
    a->eps = 1e-5f;
    a->momentum = 0.9f;
    for (int i = 0; i < QK_MAX_RANK; i++)
        a->steps[i] = 1, a->scales[i] = 1.0, a->ends[i] = INT64_MAX;
    a->cubic_a = -0.75f;
    a->nein[0] = a->nein[1] = a->nein[2] = -1;
    if (op_info[op].expr) {
        char names[3][32];
        expr_params(op, names, a->p);
    }
}

/* expr.c — the expression language of the elementwise ops (expr.h):
 * parsing (recursive descent), typing, and evaluation for the reference
 * interpreter. codegen/k_eltwise.c emits the same typed programs. */
#include "expr.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- parsing ------------------------------------------------------------ */

typedef struct Parser {
    const char *s;
    const char *const *in;
    int nin;
    const char *const *par;
    int npar;
    Expr *e;
    char *err;
    size_t errlen;
    bool failed;
} Parser;

static const struct {
    const char *name;
    XOp op;
    int nargs;
} funcs[] = {
    {"exp", XK_EXP, 1},     {"log", XK_LOG, 1},     {"log1p", XK_LOG1P, 1}, {"sqrt", XK_SQRT, 1},
    {"erf", XK_ERF, 1},     {"tanh", XK_TANH, 1},   {"sigmoid", XK_SIGMOID, 1}, {"sin", XK_SIN, 1},
    {"cos", XK_COS, 1},     {"tan", XK_TAN, 1},     {"floor", XK_FLOOR, 1}, {"ceil", XK_CEIL, 1},
    {"rne", XK_RNE, 1},     {"abs", XK_ABS, 1},     {"sign", XK_SIGN, 1},   {"isnan", XK_ISNAN, 1},
    {"isinf", XK_ISINF, 1}, {"min", XK_MIN, 2},     {"max", XK_MAX, 2},     {"pow", XK_POW, 2},
    {"fmod", XK_FMOD, 2},   {"pymod", XK_PYMOD, 2},
};

static int fail(Parser *p, const char *msg)
{
    if (!p->failed)
        snprintf(p->err, p->errlen, "%s at '%.20s'", msg, p->s);
    p->failed = true;
    return -1;
}

static int add(Parser *p, XOp op, int a, int b, int c)
{
    if (p->failed || a < -1 || b < -1 || c < -1)
        return -1;
    if (p->e->n >= EXPR_MAX)
        return fail(p, "expression too long");
    XNode *x = &p->e->x[p->e->n];
    *x = (XNode){.op = (uint8_t)op, .a = (int8_t)a, .b = (int8_t)b, .c = (int8_t)c};
    return p->e->n++;
}

static void skip(Parser *p)
{
    while (*p->s == ' ' || *p->s == '\t' || *p->s == '\n')
        p->s++;
}

static bool eat(Parser *p, const char *tok)
{
    skip(p);
    size_t n = strlen(tok);
    if (strncmp(p->s, tok, n) != 0)
        return false;
    /* "<" must not take the first char of "<=", "!" of "!=", "|" ... */
    if (n == 1 && (tok[0] == '<' || tok[0] == '>' || tok[0] == '!' || tok[0] == '=') && p->s[1] == '=')
        return false;
    p->s += n;
    return true;
}

static int ternary(Parser *p);

static int primary(Parser *p)
{
    skip(p);
    if (eat(p, "(")) {
        int r = ternary(p);
        if (!eat(p, ")"))
            return fail(p, "expected ')'");
        return r;
    }
    const char *s = p->s;
    if ((*s >= '0' && *s <= '9') || *s == '.') {
        char *end;
        double v = strtod(s, &end);
        if (end == s)
            return fail(p, "bad number");
        p->s = end;
        int r = add(p, XK_CONST, -1, -1, -1);
        if (r >= 0)
            p->e->x[r].k = v;
        return r;
    }
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || *s == '_'))
        return fail(p, "expected a value");
    size_t n = 0;
    while ((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9') ||
           s[n] == '_')
        n++;
    p->s += n;
    skip(p);
    if (*p->s == '(') { /* a function */
        p->s++;
        for (size_t f = 0; f < sizeof funcs / sizeof funcs[0]; f++) {
            if (strlen(funcs[f].name) != n || strncmp(funcs[f].name, s, n) != 0)
                continue;
            int args[2] = {-1, -1};
            for (int i = 0; i < funcs[f].nargs; i++) {
                if (i && !eat(p, ","))
                    return fail(p, "expected ','");
                args[i] = ternary(p);
            }
            if (!eat(p, ")"))
                return fail(p, "expected ')'");
            return add(p, funcs[f].op, args[0], args[1], -1);
        }
        p->s = s;
        return fail(p, "unknown function");
    }
    for (int i = 0; i < p->nin; i++)
        if (strlen(p->in[i]) == n && strncmp(p->in[i], s, n) == 0) {
            int r = add(p, XK_IN, -1, -1, -1);
            if (r >= 0)
                p->e->x[r].arg = i;
            if (i + 1 > p->e->nin)
                p->e->nin = i + 1;
            return r;
        }
    for (int i = 0; i < p->npar; i++)
        if (strlen(p->par[i]) == n && strncmp(p->par[i], s, n) == 0) {
            int r = add(p, XK_PARAM, -1, -1, -1);
            if (r >= 0)
                p->e->x[r].arg = i;
            return r;
        }
    double k = (n == 3 && strncmp(s, "inf", 3) == 0) ? INFINITY : (n == 3 && strncmp(s, "nan", 3) == 0) ? NAN : 0;
    if (k != 0 || isnan(k)) {
        int r = add(p, XK_CONST, -1, -1, -1);
        if (r >= 0)
            p->e->x[r].k = k;
        return r;
    }
    p->s = s;
    return fail(p, "unknown name");
}

static int unary(Parser *p)
{
    if (eat(p, "-"))
        return add(p, XK_NEG, unary(p), -1, -1);
    if (eat(p, "!"))
        return add(p, XK_NOT, unary(p), -1, -1);
    return primary(p);
}

static int mult(Parser *p)
{
    int l = unary(p);
    for (;;) {
        if (eat(p, "*"))
            l = add(p, XK_MUL, l, unary(p), -1);
        else if (eat(p, "/"))
            l = add(p, XK_DIV, l, unary(p), -1);
        else
            return l;
    }
}

static int additive(Parser *p)
{
    int l = mult(p);
    for (;;) {
        if (eat(p, "+"))
            l = add(p, XK_ADD, l, mult(p), -1);
        else if (eat(p, "-"))
            l = add(p, XK_SUB, l, mult(p), -1);
        else
            return l;
    }
}

static int relational(Parser *p)
{
    int l = additive(p);
    for (;;) {
        if (eat(p, "<="))
            l = add(p, XK_LE, l, additive(p), -1);
        else if (eat(p, ">="))
            l = add(p, XK_GE, l, additive(p), -1);
        else if (eat(p, "<"))
            l = add(p, XK_LT, l, additive(p), -1);
        else if (eat(p, ">"))
            l = add(p, XK_GT, l, additive(p), -1);
        else
            return l;
    }
}

static int equality(Parser *p)
{
    int l = relational(p);
    for (;;) {
        if (eat(p, "=="))
            l = add(p, XK_EQ, l, relational(p), -1);
        else if (eat(p, "!="))
            l = add(p, XK_NE, l, relational(p), -1);
        else
            return l;
    }
}

static int land(Parser *p)
{
    int l = equality(p);
    while (eat(p, "&&"))
        l = add(p, XK_AND, l, equality(p), -1);
    return l;
}

static int lor(Parser *p)
{
    int l = land(p);
    while (eat(p, "||"))
        l = add(p, XK_OR, l, land(p), -1);
    return l;
}

static int ternary(Parser *p)
{
    int c = lor(p);
    if (!eat(p, "?"))
        return c;
    int a = ternary(p);
    if (!eat(p, ":"))
        return fail(p, "expected ':'");
    int b = ternary(p);
    return add(p, XK_SELECT, c, a, b);
}

bool expr_parse(const char *src, const char *const *in, int nin, const char *const *par, int npar, Expr *e,
                char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    Parser p = {src, in, nin, par, npar, e, err, errlen, false};
    int r = ternary(&p);
    skip(&p);
    if (!p.failed && *p.s)
        fail(&p, "unexpected text");
    if (p.failed || r != e->n - 1)
        return false;
    return true;
}

int expr_params(int op, char names[3][32], double *def)
{
    const char *s = op_info[op].params;
    int n = 0;
    while (s && *s && n < 3) {
        const char *eq = strchr(s, '='), *comma = strchr(s, ',');
        size_t len = (size_t)((eq && (!comma || eq < comma) ? eq : comma ? comma : s + strlen(s)) - s);
        if (len >= 32)
            len = 31;
        memcpy(names[n], s, len);
        names[n][len] = 0;
        def[n] = 0;
        if (eq && (!comma || eq < comma)) {
            const char *v = eq + 1;
            if (strncmp(v, "-inf", 4) == 0)
                def[n] = -INFINITY;
            else if (strncmp(v, "inf", 3) == 0)
                def[n] = INFINITY;
            else
                def[n] = strtod(v, NULL);
        }
        n++;
        s = comma ? comma + 1 : NULL;
    }
    return n;
}

bool expr_of_op(int op, Expr *e, char *err, size_t errlen)
{
    const char *src = op_info[op].expr;
    if (!src) {
        snprintf(err, errlen, "%s is not an elementwise op", op_info[op].name);
        return false;
    }
    char innames[4][32], parnames[3][32];
    const char *in[4], *par[3];
    int nin = 0;
    OpRole r;
    for (int k = 0; nin < 4 && op_role(op, k, &r); k++) {
        if (r.constant)
            continue;
        snprintf(innames[nin], sizeof innames[nin], "%s", r.name);
        in[nin] = innames[nin];
        nin++;
    }
    double def[3];
    int npar = expr_params(op, parnames, def);
    for (int i = 0; i < npar; i++)
        par[i] = parnames[i];
    if (!expr_parse(src, in, nin, par, npar, e, err, errlen))
        return false;
    e->nin = nin;
    return true;
}

/* ---- typing ------------------------------------------------------------- */

XDom expr_dom(DType t)
{
    if (dtype_is_float(t))
        return XD_F;
    if (t == DT_BOOL)
        return XD_B;
    if (dtype_is_unsigned_int(t))
        return XD_U;
    return XD_I;
}

static bool is_lit(const XNode *x) { return x->op == XK_CONST || x->op == XK_PARAM; }

static XDom common(XDom a, XDom b)
{
    if (a == XD_NONE)
        return b == XD_NONE ? XD_F : b;
    if (b == XD_NONE)
        return a;
    if (a == XD_F || b == XD_F)
        return XD_F;
    if (a == XD_I || b == XD_I)
        return XD_I;
    if (a == XD_U || b == XD_U)
        return XD_U;
    return XD_B;
}

/* The domain node i computes in: its operands are converted to it. */
static XDom compute_dom(const Expr *e, int i)
{
    const XNode *x = &e->x[i];
    XDom a = x->a >= 0 ? e->x[x->a].dom : XD_NONE, b = x->b >= 0 ? e->x[x->b].dom : XD_NONE;
    switch (x->op) {
    case XK_NOT: case XK_AND: case XK_OR: return XD_B;
    case XK_SELECT: return x->dom;
    case XK_EXP: case XK_LOG: case XK_LOG1P: case XK_SQRT: case XK_ERF: case XK_TANH: case XK_SIGMOID:
    case XK_SIN: case XK_COS: case XK_TAN: case XK_FLOOR: case XK_CEIL: case XK_RNE: case XK_ISNAN: case XK_ISINF:
        return XD_F;
    case XK_POW: return a == XD_F || b == XD_F || (a == XD_NONE && b == XD_NONE) ? XD_F : a == XD_NONE ? b : a;
    case XK_LT: case XK_LE: case XK_GT: case XK_GE: case XK_EQ: case XK_NE: return common(a, b);
    default: return x->b >= 0 ? common(a, b) : (a == XD_NONE ? XD_F : a);
    }
}

void expr_type(Expr *e, const DType *in_dt)
{
    for (int i = 0; i < e->n; i++) {
        XNode *x = &e->x[i];
        switch (x->op) {
        case XK_IN: x->dom = (uint8_t)expr_dom(in_dt[x->arg]); continue;
        case XK_CONST: case XK_PARAM: x->dom = XD_NONE; continue;
        default: break;
        }
        XDom cd = x->op == XK_SELECT ? common(e->x[x->b].dom, e->x[x->c].dom) : XD_NONE;
        if (x->op == XK_SELECT)
            x->dom = (uint8_t)cd;
        cd = compute_dom(e, i);
        /* literals take the domain they are used in */
        int ops[3] = {x->a, x->b, x->c};
        for (int k = 0; k < 3; k++) {
            if (ops[k] < 0 || !is_lit(&e->x[ops[k]]))
                continue;
            XDom want = cd;
            if (x->op == XK_SELECT && k == 0)
                want = XD_B;
            e->x[ops[k]].dom = (uint8_t)(want == XD_B && x->op != XK_SELECT && x->op != XK_NOT && x->op != XK_AND &&
                                                 x->op != XK_OR
                                             ? XD_I
                                             : want);
        }
        switch (x->op) {
        case XK_LT: case XK_LE: case XK_GT: case XK_GE: case XK_EQ: case XK_NE: case XK_NOT: case XK_AND:
        case XK_OR: case XK_ISNAN: case XK_ISINF:
            x->dom = XD_B;
            break;
        case XK_SELECT: break;
        default: x->dom = (uint8_t)cd; break;
        }
    }
    if (e->n > 0 && e->x[e->n - 1].dom == XD_NONE)
        e->x[e->n - 1].dom = XD_F;
}

/* ---- evaluation --------------------------------------------------------- */

static int64_t f2i(double v)
{
    if (isnan(v))
        return 0;
    v = trunc(v);
    if (v >= 9223372036854775807.0)
        return INT64_MAX;
    if (v <= -9223372036854775808.0)
        return INT64_MIN;
    return (int64_t)v;
}

static uint64_t f2u(double v)
{
    if (isnan(v) || v <= 0)
        return 0;
    v = trunc(v);
    if (v >= 18446744073709551615.0)
        return UINT64_MAX;
    return (uint64_t)v;
}

XVal expr_convert(XVal v, XDom from, XDom to)
{
    XVal r = {0, 0};
    if (from == to || from == XD_NONE)
        return v;
    switch (to) {
    case XD_F:
        r.f = from == XD_U ? (double)(uint64_t)v.i : (double)v.i;
        return r;
    case XD_B:
        r.i = from == XD_F ? v.f != 0 : v.i != 0; /* NaN is nonzero */
        return r;
    case XD_I:
        r.i = from == XD_F ? f2i(v.f) : v.i;
        return r;
    case XD_U:
        r.i = from == XD_F ? (int64_t)f2u(v.f) : v.i;
        return r;
    default:
        return v;
    }
}

static XVal F(double f)
{
    XVal r = {f, 0};
    return r;
}

static XVal I(int64_t i)
{
    XVal r = {0, i};
    return r;
}

static double fmax_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : a >= b ? a : b; }
static double fmin_nan(double a, double b) { return isnan(a) || isnan(b) ? NAN : a <= b ? a : b; }

/* a^b wrapping; au, bu: a, b of an unsigned domain (b then is never
 * negative, and a is never -1). */
static int64_t ipow(int64_t a, int64_t b, bool au, bool bu)
{
    if (!bu && b < 0)
        return a == 1 ? 1 : !au && a == -1 ? ((b & 1) ? -1 : 1) : 0;
    uint64_t r = 1, base = (uint64_t)a, e = (uint64_t)b;
    for (int i = 0; i < 64; i++) {
        if (e >> i & 1)
            r *= base;
        base *= base;
    }
    return (int64_t)r;
}

static XVal eval_node(const XNode *x, XDom cd, XDom db, XVal a, XVal b, XVal c)
{
    bool bu = db == XD_U;
    bool fl = cd == XD_F, u = cd == XD_U;
    switch (x->op) {
    case XK_NEG: return fl ? F(-a.f) : I((int64_t)(0 - (uint64_t)a.i));
    case XK_NOT: return I(!a.i);
    case XK_ADD: return fl ? F(a.f + b.f) : I((int64_t)((uint64_t)a.i + (uint64_t)b.i));
    case XK_SUB: return fl ? F(a.f - b.f) : I((int64_t)((uint64_t)a.i - (uint64_t)b.i));
    case XK_MUL: return fl ? F(a.f * b.f) : I((int64_t)((uint64_t)a.i * (uint64_t)b.i));
    case XK_DIV:
        if (fl)
            return F(a.f / b.f);
        if (b.i == 0)
            return I(0);
        if (u)
            return I((int64_t)((uint64_t)a.i / (uint64_t)b.i));
        if (b.i == -1)
            return I((int64_t)(0 - (uint64_t)a.i));
        return I(a.i / b.i);
    case XK_LT: return I(fl ? a.f < b.f : u ? (uint64_t)a.i < (uint64_t)b.i : a.i < b.i);
    case XK_LE: return I(fl ? a.f <= b.f : u ? (uint64_t)a.i <= (uint64_t)b.i : a.i <= b.i);
    case XK_GT: return I(fl ? a.f > b.f : u ? (uint64_t)a.i > (uint64_t)b.i : a.i > b.i);
    case XK_GE: return I(fl ? a.f >= b.f : u ? (uint64_t)a.i >= (uint64_t)b.i : a.i >= b.i);
    case XK_EQ: return I(fl ? a.f == b.f : a.i == b.i);
    case XK_NE: return I(fl ? a.f != b.f : a.i != b.i);
    case XK_AND: return I(a.i && b.i);
    case XK_OR: return I(a.i || b.i);
    case XK_SELECT: return a.i ? b : c;
    case XK_EXP: return F(exp(a.f));
    case XK_LOG: return F(log(a.f));
    case XK_LOG1P: return F(log1p(a.f));
    case XK_SQRT: return F(sqrt(a.f));
    case XK_ERF: return F(erf(a.f));
    case XK_TANH: return F(tanh(a.f));
    case XK_SIGMOID: return F(a.f >= 0 ? 1 / (1 + exp(-a.f)) : exp(a.f) / (1 + exp(a.f)));
    case XK_SIN: return F(sin(a.f));
    case XK_COS: return F(cos(a.f));
    case XK_TAN: return F(tan(a.f));
    case XK_FLOOR: return F(floor(a.f));
    case XK_CEIL: return F(ceil(a.f));
    case XK_RNE: return F(nearbyint(a.f));
    case XK_ABS:
        if (fl)
            return F(fabs(a.f));
        return u ? a : I(a.i < 0 ? (int64_t)(0 - (uint64_t)a.i) : a.i);
    case XK_SIGN:
        if (fl)
            return F(isnan(a.f) ? a.f : a.f > 0 ? 1.0 : a.f < 0 ? -1.0 : 0.0);
        return I(u ? a.i != 0 : (a.i > 0) - (a.i < 0));
    case XK_ISNAN: return I(isnan(a.f));
    case XK_ISINF: return I(isinf(a.f));
    case XK_MIN:
        if (fl)
            return F(fmin_nan(a.f, b.f));
        return (u ? (uint64_t)a.i <= (uint64_t)b.i : a.i <= b.i) ? a : b;
    case XK_MAX:
        if (fl)
            return F(fmax_nan(a.f, b.f));
        return (u ? (uint64_t)a.i >= (uint64_t)b.i : a.i >= b.i) ? a : b;
    case XK_POW: return fl ? F(pow(a.f, b.f)) : I(ipow(a.i, b.i, u, bu));
    case XK_FMOD:
        if (fl)
            return F(fmod(a.f, b.f));
        if (b.i == 0)
            return I(0);
        if (u)
            return I((int64_t)((uint64_t)a.i % (uint64_t)b.i));
        return I(b.i == -1 ? 0 : a.i % b.i);
    case XK_PYMOD: {
        if (fl) { /* numpy's mod: a zero takes the sign of b too */
            double r = fmod(a.f, b.f);
            if (r != 0 && ((r < 0) != (b.f < 0)))
                r += b.f;
            return F(r == 0 ? copysign(0.0, b.f) : r);
        }
        if (b.i == 0)
            return I(0);
        if (u)
            return I((int64_t)((uint64_t)a.i % (uint64_t)b.i));
        int64_t r = b.i == -1 ? 0 : a.i % b.i;
        if (r != 0 && ((r < 0) != (b.i < 0)))
            r += b.i;
        return I(r);
    }
    default: return a;
    }
}

XVal expr_eval(const Expr *e, const XVal *in, const double *par)
{
    XVal v[EXPR_MAX];
    for (int i = 0; i < e->n; i++) {
        const XNode *x = &e->x[i];
        switch (x->op) {
        case XK_IN: v[i] = in[x->arg]; continue;
        case XK_CONST: v[i] = expr_convert(F(x->k), XD_F, (XDom)x->dom); continue;
        case XK_PARAM: v[i] = expr_convert(F(par[x->arg]), XD_F, (XDom)x->dom); continue;
        default: break;
        }
        XDom cd = compute_dom(e, i);
        XVal a = {0, 0}, b = {0, 0}, c = {0, 0};
        XDom da = cd, db = cd;
        if (x->op == XK_SELECT)
            da = XD_B, db = cd;
        if (x->op == XK_POW && cd != XD_F)
            db = (XDom)e->x[x->b].dom == XD_U ? XD_U : XD_I;
        if (x->a >= 0)
            a = expr_convert(v[x->a], (XDom)e->x[x->a].dom, da);
        if (x->b >= 0)
            b = expr_convert(v[x->b], (XDom)e->x[x->b].dom, db);
        if (x->c >= 0)
            c = expr_convert(v[x->c], (XDom)e->x[x->c].dom, cd);
        v[i] = eval_node(x, cd, db, a, b, c);
    }
    return v[e->n - 1];
}

/* ---- programs of nodes, splicing, printing --------------------------------- */

bool expr_of_node(const Node *n, Expr *e, char *err, size_t errlen)
{
    if (n->prog) {
        *e = *n->prog;
        return true;
    }
    return expr_of_op(n->op, e, err, errlen);
}

void expr_bake_params(Expr *e, const double *par)
{
    for (int i = 0; i < e->n; i++)
        if (e->x[i].op == XK_PARAM) {
            e->x[i].op = XK_CONST;
            e->x[i].k = par[e->x[i].arg];
        }
}

bool expr_splice(const Expr *outer, int at, const int *out_map, const Expr *inner, const int *in_map, Expr *res)
{
    if (inner->n + outer->n > EXPR_MAX)
        return false;
    memset(res, 0, sizeof *res);
    for (int i = 0; i < inner->n; i++) {
        XNode x = inner->x[i];
        if (x.op == XK_IN)
            x.arg = in_map[x.arg];
        res->x[res->n++] = x;
    }
    int base = inner->n, root = inner->n - 1;
    int remap[EXPR_MAX];
    for (int i = 0; i < outer->n; i++) {
        XNode x = outer->x[i];
        if (x.op == XK_IN && x.arg == at) {
            remap[i] = root; /* this operand is the inner program's result */
            continue;
        }
        if (x.op == XK_IN)
            x.arg = out_map[x.arg];
        if (x.a >= 0)
            x.a = (int8_t)remap[x.a];
        if (x.b >= 0)
            x.b = (int8_t)remap[x.b];
        if (x.c >= 0)
            x.c = (int8_t)remap[x.c];
        remap[i] = res->n;
        res->x[res->n++] = x;
    }
    (void)base;
    /* the result must be the last node (an outer program that is only its
     * operand `at` would not be: no elementwise op is the identity) */
    if (remap[outer->n - 1] != res->n - 1)
        return false;
    int nin = 0;
    for (int i = 0; i < res->n; i++)
        if (res->x[i].op == XK_IN && res->x[i].arg + 1 > nin)
            nin = res->x[i].arg + 1;
    res->nin = nin;
    return true;
}

static void print_node(const Expr *e, int i, FILE *f)
{
    static const char *const fn[XK_COUNT] = {
        [XK_EXP] = "exp", [XK_LOG] = "log", [XK_LOG1P] = "log1p", [XK_SQRT] = "sqrt", [XK_ERF] = "erf",
        [XK_TANH] = "tanh", [XK_SIGMOID] = "sigmoid", [XK_SIN] = "sin", [XK_COS] = "cos", [XK_TAN] = "tan",
        [XK_FLOOR] = "floor", [XK_CEIL] = "ceil", [XK_RNE] = "rne", [XK_ABS] = "abs", [XK_SIGN] = "sign",
        [XK_ISNAN] = "isnan", [XK_ISINF] = "isinf", [XK_MIN] = "min", [XK_MAX] = "max", [XK_POW] = "pow",
        [XK_FMOD] = "fmod", [XK_PYMOD] = "pymod"};
    static const char *const bin[XK_COUNT] = {
        [XK_ADD] = "+", [XK_SUB] = "-", [XK_MUL] = "*", [XK_DIV] = "/", [XK_LT] = "<", [XK_LE] = "<=",
        [XK_GT] = ">", [XK_GE] = ">=", [XK_EQ] = "==", [XK_NE] = "!=", [XK_AND] = "&&", [XK_OR] = "||"};
    const XNode *x = &e->x[i];
    switch (x->op) {
    case XK_IN: fprintf(f, "in%d", x->arg); return;
    case XK_PARAM: fprintf(f, "p%d", x->arg); return;
    case XK_CONST: fprintf(f, "%.9g", x->k); return;
    case XK_NEG: fprintf(f, "-("); print_node(e, x->a, f); fprintf(f, ")"); return;
    case XK_NOT: fprintf(f, "!("); print_node(e, x->a, f); fprintf(f, ")"); return;
    case XK_SELECT:
        fprintf(f, "(");
        print_node(e, x->a, f);
        fprintf(f, " ? ");
        print_node(e, x->b, f);
        fprintf(f, " : ");
        print_node(e, x->c, f);
        fprintf(f, ")");
        return;
    default: break;
    }
    if (x->op < XK_COUNT && bin[x->op]) {
        fprintf(f, "(");
        print_node(e, x->a, f);
        fprintf(f, " %s ", bin[x->op]);
        print_node(e, x->b, f);
        fprintf(f, ")");
        return;
    }
    fprintf(f, "%s(", x->op < XK_COUNT && fn[x->op] ? fn[x->op] : "?");
    print_node(e, x->a, f);
    if (x->b >= 0) {
        fprintf(f, ", ");
        print_node(e, x->b, f);
    }
    fprintf(f, ")");
}

void expr_print(const Expr *e, FILE *f)
{
    if (e->n > 0)
        print_node(e, e->n - 1, f);
}

/* text_parse.c — the ONNX text syntax (onnx.parser.parse_model of ONNX 1.12)
 * into the protobuf-c structures a binary .onnx unpacks to.
 *
 * Design note. A recursive-descent parser over the tokens of text_lex.re,
 * one token of lookahead, one function per rule of the grammar:
 *
 *   model     = ['<' key ':' value {',' key ':' value} '>'] graph {function}
 *   graph     = [name] ['(' [input {',' input}] ')'] '=>' '(' [vinfo {',' vinfo}] ')'
 *               ['<' [vinfo ['=' values] {',' vinfo ['=' values]}] '>'] nodes
 *   input     = vinfo ['=' values]            (an initializer too)
 *   vinfo     = [type] name                   (type only when a primitive type name)
 *   type      = prim ['[' [dim {',' dim}] ']']  dim = int | name | '?'
 *   nodes     = '{' {node} '}'
 *   node      = ids '=' [name '.' ...] op [attrs] '(' ids ')' [attrs]
 *   ids       = [name {',' [name]}]           (holes are empty names)
 *   attrs     = '<' attr {',' attr} '>'       attr = name [':' atype] '=' avalue
 *   avalue    = int | float | string | '[' literal {',' literal} ']' | '@' name
 *             | prim-type-tensor | graph
 *   values    = '{' [literal {',' literal}] '}'
 *   function  = ['<' key ':' value ... '>'] name ['<' ids '>'] ['(' ids ')'] '=>'
 *               ['(' ids ')'] nodes
 *
 * Every structure is initialized with its ONNX__..._INIT macro and takes its
 * memory from one arena. Which fields are *present* follows onnx's parser
 * exactly (node domain always, tensor attribute names always, the shape of a
 * scalar type as an empty message, of `float[]` not at all), since callers
 * and tests compare messages, where presence counts.
 *
 * Errors. Syntax errors return false up to the nearest node list, which
 * skips the rest of the bad node (to the next line that starts at the node
 * list's own bracket depth, or its closing '}') and goes on, so one run
 * reports the problems of many nodes. Elsewhere (header, graph signature,
 * function header) the first syntax error ends the parse. Errors of value
 * (numbers out of range, a value count that does not fit a shape, a declared
 * attribute type its value does not have) are reported where found and
 * parsing goes on.
 *
 * Where onnx 1.12 accepts nonsense, this parser says so instead (listed in
 * tests/frontend/README.md): an empty operator name, values outside their
 * element type (int8 300, uint64 -1, bool 2), a value count unlike the
 * shape, mixed int/float lists, lists of tensors/graphs/references (which
 * onnx silently drops), `x: float = 3` (onnx makes it an INT), "1e" with no
 * exponent digits, and errors inside tensor and graph attribute values,
 * which onnx ignores and parses on. */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frontend.h"
#include "text.h"

enum { MAX_DEPTH = 64 }; /* subgraph nesting */

typedef struct Parser {
    Lexer lx;
    Token tok;         /* the current token */
    Arena *a;          /* everything built goes here */
    Diag *d;
    const char *file;  /* for messages */
    int depth;         /* graphs being parsed, the main graph included */
    int nest;          /* open brackets consumed so far (for recovery) */
    int errors0;       /* d->errors when parsing began */
} Parser;

/* Source positions of the main graph's parts, parallel to its arrays. */
typedef struct GraphLocs {
    SrcLoc *nodes, *inputs, *outputs, *inits;
    size_t ncap, icap, ocap, zcap;
} GraphLocs;

/* ---- small helpers -------------------------------------------------------- */

/* Room for element n of an arena array with capacity *cap. */
static void *grow(Parser *p, void *arr, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap)
        return arr;
    *cap = n < 4 ? 4 : n * 2;
    return arena_grow(p->a, arr, n, *cap, elem);
}
/* Append to an arena array: PUSH(p, arr, n, cap) = value; */
#define PUSH(p, arr, n, cap) (*((arr) = grow((p), (arr), (n), &(cap), sizeof *(arr)), &(arr)[(n)++]))

/* Record where element i of a main-graph array came from. */
static void put_loc(Parser *p, SrcLoc **locs, size_t *cap, size_t i, SrcLoc loc)
{
    *locs = grow(p, *locs, i, cap, sizeof **locs);
    (*locs)[i] = loc;
}

static SrcLoc tok_loc(const Parser *p, const Token *t)
{
    return (SrcLoc){p->file, t->line, t->col, NULL, NULL};
}

static bool at(const Parser *p, TokKind k) { return p->tok.kind == k; }

static void advance(Parser *p)
{
    switch (p->tok.kind) {
    case TK_LPAREN: case TK_LBRACK: case TK_LBRACE: case TK_LT:
        p->nest++;
        break;
    case TK_RPAREN: case TK_RBRACK: case TK_RBRACE: case TK_GT:
        p->nest--;
        break;
    case TK_EOF:
        return;
    default:
        break;
    }
    p->tok = text_lex_next(&p->lx);
}

static bool accept(Parser *p, TokKind k)
{
    if (!at(p, k))
        return false;
    advance(p);
    return true;
}

static bool is_tok(const Token *t, const char *word)
{
    size_t n = strlen(word);
    return t->kind == TK_IDENT && t->len == n && memcmp(t->s, word, n) == 0;
}

/* How many bytes of a token to quote in a message. */
static int clip(const Token *t)
{
    size_t n = 0;
    while (n < t->len && n < 40 && t->s[n] != '\n' && t->s[n] != '\r')
        n++;
    return (int)n;
}

/* "identifier 'x'", "number '12'", "string "ab"", "'=>'", "end of input". */
static const char *describe(const Token *t, char *buf, size_t n)
{
    const char *more = (size_t)clip(t) < t->len ? "..." : "";
    switch (t->kind) {
    case TK_IDENT:
        snprintf(buf, n, "identifier '%.*s'", clip(t), t->s);
        return buf;
    case TK_INT:
    case TK_FLOAT:
        snprintf(buf, n, "number '%.*s%s'", clip(t), t->s, more);
        return buf;
    case TK_STRING:
        snprintf(buf, n, "string %.*s%s", clip(t), t->s, more);
        return buf;
    default:
        return text_tok_kind_name(t->kind);
    }
}

static bool error_at(Parser *p, const Token *t, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool error_at(Parser *p, const Token *t, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return diag_error(p->d, tok_loc(p, t), "%s", msg);
}

/* The current token is not what the grammar wants: say what was expected. */
static bool expected(Parser *p, const char *what)
{
    char buf[96];
    if (at(p, TK_ERROR))
        return error_at(p, &p->tok, "%s", p->tok.msg);
    return error_at(p, &p->tok, "expected %s, found %s", what, describe(&p->tok, buf, sizeof buf));
}

static bool expect(Parser *p, TokKind k, const char *what)
{
    return accept(p, k) || expected(p, what);
}

static char *tok_ident(Parser *p, const Token *t) { return arena_strndup(p->a, t->s, t->len); }
static char *tok_string(Parser *p, const Token *t) { return arena_strndup(p->a, t->s + 1, t->len - 2); }

/* The token's text as a C string (numbers for strtod and friends). */
static const char *tok_cstr(Parser *p, const Token *t, char *buf, size_t n)
{
    if (t->len < n) {
        memcpy(buf, t->s, t->len);
        buf[t->len] = 0;
        return buf;
    }
    return arena_strndup(p->a, t->s, t->len);
}

/* ---- types ---------------------------------------------------------------- */

/* ONNX TensorProto data types by name, as onnx's PrimitiveTypeNameMap. */
static const char *const dtype_names[] = {
    [1] = "float", [2] = "uint8", [3] = "int8", [4] = "uint16", [5] = "int16",
    [6] = "int32", [7] = "int64", [8] = "string", [9] = "bool", [10] = "float16",
    [11] = "double", [12] = "uint32", [13] = "uint64", [14] = "complex64",
    [15] = "complex128", [16] = "bfloat16",
};
enum { NDTYPE = sizeof dtype_names / sizeof dtype_names[0] };

/* AttributeProto types by the names of `name: type = value`. */
static const char *const atype_names[] = {
    [1] = "float", [2] = "int", [3] = "string", [4] = "tensor", [5] = "graph",
    [6] = "floats", [7] = "ints", [8] = "strings", [9] = "tensors", [10] = "graphs",
    [11] = "sparse_tensor", [12] = "sparse_tensors", [13] = "type_proto", [14] = "type_protos",
};
enum { NATYPE = sizeof atype_names / sizeof atype_names[0] };

static int lookup(const char *const *names, int n, const Token *t)
{
    for (int i = 1; i < n; i++)
        if (is_tok(t, names[i]))
            return i;
    return 0;
}

/* Data type of a primitive type name token, or 0. */
static int prim_type(const Token *t) { return lookup(dtype_names, NDTYPE, t); }

static Onnx__TensorShapeProto__Dimension *parse_dim(Parser *p);

/* type = prim ['[' [dim {',' dim}] ']'], at a primitive type name.
 * `float` is a scalar (an empty shape), `float[]` has no shape. */
static Onnx__TypeProto *parse_type(Parser *p)
{
    Onnx__TypeProto *tp = arena_alloc(p->a, sizeof *tp);
    Onnx__TypeProto__Tensor *tt = arena_alloc(p->a, sizeof *tt);
    Onnx__TensorShapeProto *shape = arena_alloc(p->a, sizeof *shape);
    *tp = (Onnx__TypeProto)ONNX__TYPE_PROTO__INIT;
    *tt = (Onnx__TypeProto__Tensor)ONNX__TYPE_PROTO__TENSOR__INIT;
    *shape = (Onnx__TensorShapeProto)ONNX__TENSOR_SHAPE_PROTO__INIT;
    tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
    tp->tensor_type = tt;
    tt->has_elem_type = true;
    tt->elem_type = prim_type(&p->tok);
    advance(p);
    tt->shape = shape;
    if (!accept(p, TK_LBRACK))
        return tp;
    if (accept(p, TK_RBRACK)) {
        tt->shape = NULL;
        return tp;
    }
    size_t cap = 0;
    do {
        Onnx__TensorShapeProto__Dimension *dim = parse_dim(p);
        if (!dim)
            return NULL;
        PUSH(p, shape->dim, shape->n_dim, cap) = dim;
    } while (accept(p, TK_COMMA));
    return expect(p, TK_RBRACK, "',' or ']' after a dimension") ? tp : NULL;
}

static bool parse_int(Parser *p, int64_t lo, int64_t hi, const char *what, int64_t *out);

/* dim = int | name | '?' */
static Onnx__TensorShapeProto__Dimension *parse_dim(Parser *p)
{
    Onnx__TensorShapeProto__Dimension *dim = arena_alloc(p->a, sizeof *dim);
    *dim = (Onnx__TensorShapeProto__Dimension)ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;
    if (accept(p, TK_QUEST))
        return dim;
    if (at(p, TK_IDENT)) {
        dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        dim->dim_param = tok_ident(p, &p->tok);
        advance(p);
        return dim;
    }
    if (!at(p, TK_INT) && !at(p, TK_FLOAT))
        return expected(p, "a dimension (a number, a name or '?')"), NULL;
    dim->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
    parse_int(p, INT64_MIN, INT64_MAX, "a dimension", &dim->dim_value);
    return dim;
}

/* ---- literals ------------------------------------------------------------- */

/* An integer in [lo, hi]. A number that is no integer or out of range is
 * reported and read as 0; false only when the token is no number. */
static bool parse_int(Parser *p, int64_t lo, int64_t hi, const char *what, int64_t *out)
{
    Token t = p->tok;
    char buf[64], what_buf[96];
    *out = 0;
    if (t.kind == TK_FLOAT) {
        error_at(p, &t, "expected an integer for %s, found %s", what, describe(&t, buf, sizeof buf));
        advance(p);
        return true;
    }
    if (t.kind != TK_INT) {
        snprintf(what_buf, sizeof what_buf, "an integer for %s", what);
        return expected(p, what_buf);
    }
    const char *s = tok_cstr(p, &t, buf, sizeof buf);
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE || v < lo || v > hi)
        error_at(p, &t, "integer %.*s%s is out of range for %s", clip(&t), t.s,
                 (size_t)clip(&t) < t.len ? "..." : "", what);
    else
        *out = v;
    advance(p);
    return true;
}

/* An unsigned integer up to hi (uint32, uint64 tensor values). */
static bool parse_uint(Parser *p, uint64_t hi, const char *what, uint64_t *out)
{
    Token t = p->tok;
    char buf[64];
    *out = 0;
    if (t.kind != TK_INT) {
        int64_t dummy;
        return parse_int(p, 0, 0, what, &dummy);
    }
    const char *s = tok_cstr(p, &t, buf, sizeof buf);
    bool neg = s[0] == '-';
    errno = 0;
    unsigned long long v = strtoull(neg ? s + 1 : s, NULL, 10);
    if (errno == ERANGE || v > hi || (neg && v != 0))
        error_at(p, &t, "integer %.*s%s is out of range for %s", clip(&t), t.s,
                 (size_t)clip(&t) < t.len ? "..." : "", what);
    else
        *out = v;
    advance(p);
    return true;
}

/* A float (strtof, as onnx's std::stof) or double (strtod); either literal
 * kind. Out of range (overflow, or underflow to a subnormal or zero) is an
 * error, as std::stof throws there. */
static bool parse_real(Parser *p, bool dbl, const char *what, double *out)
{
    Token t = p->tok;
    char buf[64], what_buf[96];
    *out = 0;
    if (t.kind != TK_INT && t.kind != TK_FLOAT) {
        snprintf(what_buf, sizeof what_buf, "a number for %s", what);
        return expected(p, what_buf);
    }
    const char *s = tok_cstr(p, &t, buf, sizeof buf);
    errno = 0;
    double v = dbl ? strtod(s, NULL) : (double)strtof(s, NULL);
    if (errno == ERANGE)
        error_at(p, &t, "number %.*s%s is out of range for %s", clip(&t), t.s,
                 (size_t)clip(&t) < t.len ? "..." : "", dbl ? "double" : "float");
    else
        *out = v;
    advance(p);
    return true;
}

static bool parse_string(Parser *p, const char *what, char **out)
{
    if (!at(p, TK_STRING))
        return expected(p, what);
    *out = tok_string(p, &p->tok);
    advance(p);
    return true;
}

/* ---- tensors -------------------------------------------------------------- */

/* values = '{' [literal {',' literal}] '}', the data of a tensor of `type`
 * (which also gives tp its data type and dims). `at` is where the tensor
 * began and `what` names it, for messages. */
static bool parse_tensor_values(Parser *p, Onnx__TensorProto *tp, const Onnx__TypeProto *type,
                                const Token *at_tok, const char *what)
{
    bool ok = true;   /* values can be stored */
    uint64_t n = 1;   /* values the shape needs */
    int dt = 0;
    if (!type || type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
        ok = error_at(p, at_tok, "%s needs a tensor type to hold values", what);
    } else {
        const Onnx__TypeProto__Tensor *tt = type->tensor_type;
        dt = tt->elem_type;
        tp->has_data_type = true;
        tp->data_type = dt;
        if (!tt->shape) {
            ok = error_at(p, at_tok, "%s needs a shape with known dimensions, not '[]'", what);
        } else {
            size_t cap = 0;
            for (size_t i = 0; i < tt->shape->n_dim; i++) {
                const Onnx__TensorShapeProto__Dimension *dim = tt->shape->dim[i];
                if (dim->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE) {
                    ok = error_at(p, at_tok, "%s needs numeric dimensions, found %s%s%s", what,
                                  dim->dim_param ? "'" : "'?'", dim->dim_param ? dim->dim_param : "",
                                  dim->dim_param ? "'" : "");
                    break;
                }
                if (dim->dim_value < 0) {
                    ok = error_at(p, at_tok, "%s has a negative dimension %lld", what,
                                  (long long)dim->dim_value);
                    break;
                }
                PUSH(p, tp->dims, tp->n_dims, cap) = dim->dim_value;
                n = n && (uint64_t)dim->dim_value > UINT64_MAX / n ? UINT64_MAX : n * (uint64_t)dim->dim_value;
            }
        }
    }
    Token lb = p->tok;
    if (!expect(p, TK_LBRACE, "'{' before the tensor values"))
        return false;
    if (accept(p, TK_RBRACE)) {
        if (ok && n != 0)
            error_at(p, &lb, "%s has no values, but its shape needs %llu", what, (unsigned long long)n);
        return true;
    }
    /* Reserve what the shape asks for, as far as the rest of the source
     * could hold (each value takes two bytes at least). */
    size_t hint = (size_t)(p->lx.lim - p->tok.s) / 2 + 1;
    size_t cap = ok && n < hint ? (size_t)n : hint;
    switch (ok ? dt : 0) {
    case 1: tp->float_data = arena_alloc(p->a, cap * sizeof(float)); break;
    case 7: tp->int64_data = arena_alloc(p->a, cap * sizeof(int64_t)); break;
    case 11: tp->double_data = arena_alloc(p->a, cap * sizeof(double)); break;
    case 12: case 13: tp->uint64_data = arena_alloc(p->a, cap * sizeof(uint64_t)); break;
    case 2: case 3: case 4: case 5: case 6: case 9:
        tp->int32_data = arena_alloc(p->a, cap * sizeof(int32_t));
        break;
    default: cap = 0; break;
    }
    size_t count = 0;
    do {
        Token vt = p->tok;
        int64_t i;
        uint64_t u;
        double f;
        char *s = NULL;
        switch (ok ? dt : 0) {
        case 2: case 3: case 4: case 5: case 6: case 9: { /* int32_data */
            static const int64_t lo[] = {[2] = 0, [3] = INT8_MIN, [4] = 0, [5] = INT16_MIN, [6] = INT32_MIN, [9] = 0};
            static const int64_t hi[] = {[2] = UINT8_MAX, [3] = INT8_MAX, [4] = UINT16_MAX,
                                         [5] = INT16_MAX, [6] = INT32_MAX, [9] = 1};
            if (!parse_int(p, lo[dt], hi[dt], dtype_names[dt], &i))
                return false;
            PUSH(p, tp->int32_data, tp->n_int32_data, cap) = (int32_t)i;
            break;
        }
        case 7:
            if (!parse_int(p, INT64_MIN, INT64_MAX, "int64", &i))
                return false;
            PUSH(p, tp->int64_data, tp->n_int64_data, cap) = i;
            break;
        case 12: case 13:
            if (!parse_uint(p, dt == 12 ? UINT32_MAX : UINT64_MAX, dtype_names[dt], &u))
                return false;
            PUSH(p, tp->uint64_data, tp->n_uint64_data, cap) = u;
            break;
        case 1:
            if (!parse_real(p, false, "float", &f))
                return false;
            PUSH(p, tp->float_data, tp->n_float_data, cap) = (float)f;
            break;
        case 11:
            if (!parse_real(p, true, "double", &f))
                return false;
            PUSH(p, tp->double_data, tp->n_double_data, cap) = f;
            break;
        case 8:
            if (!parse_string(p, "a string value", &s))
                return false;
            PUSH(p, tp->string_data, tp->n_string_data, cap) =
                (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
            break;
        default:
            /* Unstorable: say why once, then only check the syntax. */
            if (ok) {
                ok = error_at(p, &vt, "tensor values of type %s are not supported by the ONNX 1.12 text syntax",
                              dtype_names[dt]);
            }
            if (!at(p, TK_INT) && !at(p, TK_FLOAT) && !at(p, TK_STRING))
                return expected(p, "a tensor value");
            advance(p);
            break;
        }
        count++;
    } while (accept(p, TK_COMMA));
    if (!expect(p, TK_RBRACE, "',' or '}' after a tensor value"))
        return false;
    if (ok && count != n)
        error_at(p, &lb, "%s has %zu value%s, but its shape needs %llu", what, count,
                 count == 1 ? "" : "s", (unsigned long long)n);
    return true;
}

/* A tensor attribute value: type [name] ['='] values. */
static Onnx__TensorProto *parse_tensor_literal(Parser *p)
{
    Token start = p->tok;
    Onnx__TensorProto *tp = arena_alloc(p->a, sizeof *tp);
    *tp = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    Onnx__TypeProto *type = parse_type(p);
    if (!type)
        return NULL;
    tp->name = "";  /* onnx always sets it */
    if (at(p, TK_IDENT)) {
        tp->name = tok_ident(p, &p->tok);
        advance(p);
    }
    accept(p, TK_EQ);
    const char *what = *tp->name ? arena_printf(p->a, "tensor '%s'", tp->name) : "the tensor";
    return parse_tensor_values(p, tp, type, &start, what) ? tp : NULL;
}

/* ---- graphs --------------------------------------------------------------- */

static Onnx__GraphProto *parse_graph(Parser *p, GraphLocs *gl);

/* vinfo = [type] name. A name like `seq` followed by '(' is a type of
 * ONNX's that the 1.12 syntax cannot write. */
static Onnx__ValueInfoProto *parse_value_info(Parser *p, SrcLoc *loc)
{
    Onnx__ValueInfoProto *vi = arena_alloc(p->a, sizeof *vi);
    *vi = (Onnx__ValueInfoProto)ONNX__VALUE_INFO_PROTO__INIT;
    *loc = tok_loc(p, &p->tok);
    if (at(p, TK_IDENT) && prim_type(&p->tok)) {
        vi->type = parse_type(p);
        if (!vi->type)
            return NULL;
    }
    Token name = p->tok;
    if (!at(p, TK_IDENT))
        return expected(p, vi->type ? "a value name after its type" : "a value name or type"), NULL;
    vi->name = tok_ident(p, &name);
    advance(p);
    if (at(p, TK_LBRACK)) {
        error_at(p, &name, "unknown type '%s' (float, double, float16, bfloat16, int8, ..., uint64, bool, string)",
                 vi->name);
        return NULL;
    }
    if (at(p, TK_LPAREN) && (is_tok(&name, "seq") || is_tok(&name, "map") || is_tok(&name, "optional") ||
                             is_tok(&name, "sparse_tensor"))) {
        error_at(p, &name, "%s types cannot be written in the ONNX 1.12 text syntax (only tensor types)",
                 vi->name);
        return NULL;
    }
    return vi;
}

/* An initializer `vinfo = values`, with the value info's name and type. */
static Onnx__TensorProto *parse_initializer(Parser *p, const Onnx__ValueInfoProto *vi, const Token *eq)
{
    Onnx__TensorProto *tp = arena_alloc(p->a, sizeof *tp);
    *tp = (Onnx__TensorProto)ONNX__TENSOR_PROTO__INIT;
    tp->name = vi->name;
    const char *what = arena_printf(p->a, "initializer '%s'", vi->name);
    return parse_tensor_values(p, tp, vi->type, eq, what) ? tp : NULL;
}

/* ids = [name {',' [name]}]: a missing name after ',' is an empty one (an
 * omitted optional input); a list that starts with no name is empty. */
static void parse_ids(Parser *p, char ***ids, size_t *n)
{
    size_t cap = 0;
    if (!at(p, TK_IDENT))
        return;
    PUSH(p, *ids, *n, cap) = tok_ident(p, &p->tok);
    advance(p);
    while (accept(p, TK_COMMA)) {
        char *id = "";
        if (at(p, TK_IDENT)) {
            id = tok_ident(p, &p->tok);
            advance(p);
        }
        PUSH(p, *ids, *n, cap) = id;
    }
}

static bool parse_attrs(Parser *p, Onnx__NodeProto *node);

/* node = ids '=' [domain '.'] op [attrs] '(' ids ')' [attrs] */
static Onnx__NodeProto *parse_node(Parser *p, SrcLoc *loc)
{
    Onnx__NodeProto *node = arena_alloc(p->a, sizeof *node);
    *node = (Onnx__NodeProto)ONNX__NODE_PROTO__INIT;
    parse_ids(p, &node->output, &node->n_output);
    if (!expect(p, TK_EQ, node->n_output ? "',' or '=' after node outputs" : "a node (outputs '=' operator)"))
        return NULL;
    Token op = p->tok;
    *loc = tok_loc(p, &op);
    if (!expect(p, TK_IDENT, "an operator name after '='"))
        return NULL;
    node->domain = "";
    node->op_type = tok_ident(p, &op);
    while (accept(p, TK_DOT)) {
        /* The last name is the op, the ones before it the domain. */
        node->domain = *node->domain ? arena_printf(p->a, "%s.%s", node->domain, node->op_type)
                                     : node->op_type;
        op = p->tok;
        if (!expect(p, TK_IDENT, "an operator name after '.'"))
            return NULL;
        node->op_type = tok_ident(p, &op);
    }
    if (at(p, TK_LT) && !parse_attrs(p, node))
        return NULL;
    char what[160];
    snprintf(what, sizeof what, "'(' after operator '%s'%s", node->op_type,
             node->n_attribute ? " and its attributes" : "");
    if (!expect(p, TK_LPAREN, what))
        return NULL;
    parse_ids(p, &node->input, &node->n_input);
    if (!expect(p, TK_RPAREN, node->n_input ? "',' or ')' after node inputs" : "node inputs or ')'"))
        return NULL;
    if (node->n_attribute == 0 && at(p, TK_LT) && !parse_attrs(p, node))
        return NULL;
    return node;
}

/* After a syntax error in a node: skip to the next node, that is to a token
 * at the node list's bracket depth `base` that starts a line, or to the '}'
 * that closes the list. An error found at the start of a line (a node left
 * unclosed) resumes right there. */
static void sync_node(Parser *p, int base, const Token *start)
{
    if (p->tok.bol && p->tok.s != start->s &&
        (at(p, TK_IDENT) || at(p, TK_EQ) || at(p, TK_RBRACE))) {
        p->nest = base;
        return;
    }
    for (bool first = true; !at(p, TK_EOF); first = false) {
        if (p->nest <= base && (at(p, TK_RBRACE) || (p->tok.bol && !first))) {
            p->nest = base;
            return;
        }
        advance(p);
    }
}

/* nodes = '{' {node} '}'. False only when the list is cut off (at the end
 * of the input); bad nodes are reported and skipped. */
static bool parse_nodes(Parser *p, Onnx__NodeProto ***nodes, size_t *n, GraphLocs *gl)
{
    size_t cap = 0;
    if (!expect(p, TK_LBRACE, "'{' before the nodes"))
        return false;
    int base = p->nest;
    bool skipped = false;
    while (!accept(p, TK_RBRACE)) {
        if (at(p, TK_EOF))
            return skipped ? false : expected(p, "a node or '}'");
        Token start = p->tok;
        SrcLoc loc = tok_loc(p, &start);
        Onnx__NodeProto *node = parse_node(p, &loc);
        if (!node) {
            sync_node(p, base, &start);
            skipped = true;
            continue;
        }
        if (gl)
            put_loc(p, &gl->nodes, &gl->ncap, *n, loc);
        PUSH(p, *nodes, *n, cap) = node;
    }
    return true;
}

static Onnx__GraphProto *parse_graph_body(Parser *p, GraphLocs *gl)
{
    Onnx__GraphProto *g = arena_alloc(p->a, sizeof *g);
    *g = (Onnx__GraphProto)ONNX__GRAPH_PROTO__INIT;
    size_t icap = 0, ocap = 0, zcap = 0, vcap = 0;
    g->name = "";
    if (at(p, TK_IDENT)) {
        g->name = tok_ident(p, &p->tok);
        advance(p);
    }
    if (accept(p, TK_LPAREN) && !accept(p, TK_RPAREN)) {
        do {
            SrcLoc loc;
            Onnx__ValueInfoProto *vi = parse_value_info(p, &loc);
            if (!vi)
                return NULL;
            if (gl)
                put_loc(p, &gl->inputs, &gl->icap, g->n_input, loc);
            PUSH(p, g->input, g->n_input, icap) = vi;
            Token eq = p->tok;
            if (accept(p, TK_EQ)) {
                Onnx__TensorProto *tp = parse_initializer(p, vi, &eq);
                if (!tp)
                    return NULL;
                if (gl)
                    put_loc(p, &gl->inits, &gl->zcap, g->n_initializer, loc);
                PUSH(p, g->initializer, g->n_initializer, zcap) = tp;
            }
        } while (accept(p, TK_COMMA));
        if (!expect(p, TK_RPAREN, "',' or ')' after a graph input"))
            return NULL;
    }
    if (!expect(p, TK_ARROW, "'=>' after the graph inputs"))
        return NULL;
    if (!expect(p, TK_LPAREN, "'(' before the graph outputs"))
        return NULL;
    if (!accept(p, TK_RPAREN)) {
        do {
            SrcLoc loc;
            Onnx__ValueInfoProto *vi = parse_value_info(p, &loc);
            if (!vi)
                return NULL;
            if (gl)
                put_loc(p, &gl->outputs, &gl->ocap, g->n_output, loc);
            PUSH(p, g->output, g->n_output, ocap) = vi;
        } while (accept(p, TK_COMMA));
        if (!expect(p, TK_RPAREN, "',' or ')' after a graph output"))
            return NULL;
    }
    /* Value infos, or initializers when they have values. */
    if (accept(p, TK_LT) && !accept(p, TK_GT)) {
        do {
            SrcLoc loc;
            Onnx__ValueInfoProto *vi = parse_value_info(p, &loc);
            if (!vi)
                return NULL;
            Token eq = p->tok;
            if (accept(p, TK_EQ)) {
                Onnx__TensorProto *tp = parse_initializer(p, vi, &eq);
                if (!tp)
                    return NULL;
                if (gl)
                    put_loc(p, &gl->inits, &gl->zcap, g->n_initializer, loc);
                PUSH(p, g->initializer, g->n_initializer, zcap) = tp;
            } else {
                PUSH(p, g->value_info, g->n_value_info, vcap) = vi;
            }
        } while (accept(p, TK_COMMA));
        if (!expect(p, TK_GT, "',' or '>' after a value info or initializer"))
            return NULL;
    }
    return parse_nodes(p, &g->node, &g->n_node, gl) ? g : NULL;
}

/* graph (gl: record the locations of its parts; the main graph only). */
static Onnx__GraphProto *parse_graph(Parser *p, GraphLocs *gl)
{
    if (p->depth >= MAX_DEPTH) {
        error_at(p, &p->tok, "graphs nested more than %d levels deep", MAX_DEPTH);
        return NULL;
    }
    p->depth++;
    Onnx__GraphProto *g = parse_graph_body(p, gl);
    p->depth--;
    return g;
}

/* ---- attributes ----------------------------------------------------------- */

/* Attribute types by their short names. */
#define AT_FLOAT ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT
#define AT_INT ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT
#define AT_STRING ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING
#define AT_TENSOR ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR
#define AT_GRAPH ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH
#define AT_FLOATS ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS
#define AT_INTS ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS
#define AT_STRINGS ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS

/* '[' literal {',' literal} ']': ints, floats or strings, not mixed. */
static bool parse_attr_list(Parser *p, Onnx__AttributeProto *attr)
{
    size_t icap = 0, fcap = 0, scap = 0;
    Onnx__AttributeProto__AttributeType kind = 0;
    Token lb = p->tok;
    advance(p);
    if (at(p, TK_RBRACK)) {
        error_at(p, &lb, "attribute '%s' is an empty list, whose type the ONNX 1.12 text syntax cannot tell",
                 attr->name);
        advance(p);
        return true;
    }
    do {
        Token et = p->tok;
        Onnx__AttributeProto__AttributeType k;
        int64_t i;
        double f;
        if (at(p, TK_INT)) {
            k = AT_INT;
            parse_int(p, INT64_MIN, INT64_MAX, "an int attribute", &i);
            PUSH(p, attr->ints, attr->n_ints, icap) = i;
        } else if (at(p, TK_FLOAT)) {
            k = AT_FLOAT;
            parse_real(p, false, "a float attribute", &f);
            PUSH(p, attr->floats, attr->n_floats, fcap) = (float)f;
        } else if (at(p, TK_STRING)) {
            k = AT_STRING;
            char *s = tok_string(p, &p->tok);
            advance(p);
            PUSH(p, attr->strings, attr->n_strings, scap) = (ProtobufCBinaryData){strlen(s), (uint8_t *)s};
        } else if (at(p, TK_IDENT) || at(p, TK_AT)) {
            return error_at(p, &et, "attribute '%s': lists of tensors, graphs or references are not "
                            "supported by the ONNX 1.12 text syntax", attr->name);
        } else {
            return expected(p, "an int, float or string in the list");
        }
        if (kind && k != kind)
            error_at(p, &et, "attribute '%s' mixes %s and %s values%s", attr->name, atype_names[kind],
                     atype_names[k], k == AT_STRING || kind == AT_STRING ? "" : " (write floats with a '.')");
        else
            kind = k;
    } while (accept(p, TK_COMMA));
    attr->has_type = true;
    attr->type = kind == AT_INT ? AT_INTS : kind == AT_FLOAT ? AT_FLOATS : AT_STRINGS;
    return expect(p, TK_RBRACK, "',' or ']' after a list element");
}

/* attr = name [':' atype] '=' avalue */
static Onnx__AttributeProto *parse_attr(Parser *p)
{
    Onnx__AttributeProto *attr = arena_alloc(p->a, sizeof *attr);
    *attr = (Onnx__AttributeProto)ONNX__ATTRIBUTE_PROTO__INIT;
    Token name = p->tok;
    if (!expect(p, TK_IDENT, "an attribute name"))
        return NULL;
    attr->name = tok_ident(p, &name);
    Onnx__AttributeProto__AttributeType declared = 0;
    if (accept(p, TK_COLON)) {
        Token tt = p->tok;
        if (!expect(p, TK_IDENT, "an attribute type after ':'"))
            return NULL;
        declared = (Onnx__AttributeProto__AttributeType)lookup(atype_names, NATYPE, &tt);
        if (!declared)
            error_at(p, &tt, "unknown attribute type '%.*s' (int, float, string, tensor, graph, ints, "
                     "floats, strings, ...)", clip(&tt), tt.s);
    }
    char what[160];
    snprintf(what, sizeof what, "'=' after attribute name '%s'", attr->name);
    if (!expect(p, TK_EQ, what))
        return NULL;
    Token vt = p->tok;
    double f;
    switch (vt.kind) {
    case TK_LBRACK:
        if (!parse_attr_list(p, attr))
            return NULL;
        break;
    case TK_AT:
        /* A reference to an attribute of the enclosing function: the type
         * is the declared one, if any. */
        advance(p);
        name = p->tok;
        if (!expect(p, TK_IDENT, "an attribute name after '@'"))
            return NULL;
        attr->ref_attr_name = tok_ident(p, &name);
        attr->has_type = declared != 0;
        attr->type = declared;
        return attr;
    case TK_IDENT:
        attr->has_type = true;
        if (prim_type(&vt)) {
            attr->type = AT_TENSOR;
            attr->t = parse_tensor_literal(p);
            if (!attr->t)
                return NULL;
        } else {
            attr->type = AT_GRAPH;
            attr->g = parse_graph(p, NULL);
            if (!attr->g)
                return NULL;
        }
        break;
    case TK_INT:
        attr->has_type = attr->has_i = true;
        attr->type = AT_INT;
        parse_int(p, INT64_MIN, INT64_MAX, "an int attribute", &attr->i);
        break;
    case TK_FLOAT:
        attr->has_type = attr->has_f = true;
        attr->type = AT_FLOAT;
        parse_real(p, false, "a float attribute", &f);
        attr->f = (float)f;
        break;
    case TK_STRING:
        attr->has_type = attr->has_s = true;
        attr->type = AT_STRING;
        attr->s.data = (uint8_t *)tok_string(p, &vt);
        attr->s.len = vt.len - 2;
        advance(p);
        break;
    default:
        snprintf(what, sizeof what, "a value for attribute '%s'", attr->name);
        return expected(p, what), NULL;
    }
    if (declared && attr->type != declared)
        error_at(p, &vt, "attribute '%s' is declared '%s' but its value has type '%s'", attr->name,
                 atype_names[declared], atype_names[attr->type]);
    return attr;
}

/* attrs = '<' attr {',' attr} '>' */
static bool parse_attrs(Parser *p, Onnx__NodeProto *node)
{
    size_t cap = 0;
    advance(p);
    do {
        Onnx__AttributeProto *attr = parse_attr(p);
        if (!attr)
            return false;
        PUSH(p, node->attribute, node->n_attribute, cap) = attr;
    } while (accept(p, TK_COMMA));
    return expect(p, TK_GT, "',' or '>' after an attribute");
}

/* ---- model and functions -------------------------------------------------- */

/* '[' [string ':' int {',' string ':' int}] ']' */
static bool parse_opsets(Parser *p, Onnx__OperatorSetIdProto ***sets, size_t *n)
{
    size_t cap = *n;
    if (!expect(p, TK_LBRACK, "'[' before the opset imports"))
        return false;
    if (accept(p, TK_RBRACK))
        return true;
    do {
        Onnx__OperatorSetIdProto *os = arena_alloc(p->a, sizeof *os);
        *os = (Onnx__OperatorSetIdProto)ONNX__OPERATOR_SET_ID_PROTO__INIT;
        if (!parse_string(p, "an opset domain string (\"\" for the default domain)", &os->domain) ||
            !expect(p, TK_COLON, "':' after the opset domain") ||
            !parse_int(p, INT64_MIN, INT64_MAX, "an opset version", &os->version))
            return false;
        os->has_version = true;
        PUSH(p, *sets, *n, cap) = os;
    } while (accept(p, TK_COMMA));
    return expect(p, TK_RBRACK, "',' or ']' after an opset import");
}

/* '<' key ':' value {',' key ':' value} '>' of the model. */
static bool parse_model_header(Parser *p, Onnx__ModelProto *m)
{
    size_t mcap = 0;
    advance(p);
    do {
        Token key = p->tok;
        if (!expect(p, TK_IDENT, "a model header key") ||
            !expect(p, TK_COLON, "':' after the header key"))
            return false;
        bool ok;
        if (is_tok(&key, "ir_version")) {
            m->has_ir_version = true;
            ok = parse_int(p, INT64_MIN, INT64_MAX, "ir_version", &m->ir_version);
        } else if (is_tok(&key, "model_version")) {
            m->has_model_version = true;
            ok = parse_int(p, INT64_MIN, INT64_MAX, "model_version", &m->model_version);
        } else if (is_tok(&key, "opset_import")) {
            ok = parse_opsets(p, &m->opset_import, &m->n_opset_import);
        } else if (is_tok(&key, "producer_name")) {
            ok = parse_string(p, "a string for producer_name", &m->producer_name);
        } else if (is_tok(&key, "producer_version")) {
            ok = parse_string(p, "a string for producer_version", &m->producer_version);
        } else if (is_tok(&key, "domain")) {
            ok = parse_string(p, "a string for domain", &m->domain);
        } else if (is_tok(&key, "doc_string")) {
            ok = parse_string(p, "a string for doc_string", &m->doc_string);
        } else if (is_tok(&key, "metadata_props")) {
            ok = expect(p, TK_LBRACK, "'[' before metadata_props");
            if (ok && !accept(p, TK_RBRACK)) {
                do {
                    Onnx__StringStringEntryProto *e = arena_alloc(p->a, sizeof *e);
                    *e = (Onnx__StringStringEntryProto)ONNX__STRING_STRING_ENTRY_PROTO__INIT;
                    ok = parse_string(p, "a metadata key string", &e->key) &&
                         expect(p, TK_COLON, "':' after the metadata key") &&
                         parse_string(p, "a metadata value string", &e->value);
                    if (!ok)
                        return false;
                    PUSH(p, m->metadata_props, m->n_metadata_props, mcap) = e;
                } while (accept(p, TK_COMMA));
                ok = expect(p, TK_RBRACK, "',' or ']' after a metadata entry");
            }
        } else {
            return error_at(p, &key, "unknown model header key '%.*s' (ir_version, opset_import, producer_name, "
                            "producer_version, domain, model_version, doc_string or metadata_props)",
                            clip(&key), key.s);
        }
        if (!ok)
            return false;
    } while (accept(p, TK_COMMA));
    return expect(p, TK_GT, "',' or '>' after a model header entry");
}

/* function = ['<' key ':' value ... '>'] name ['<' ids '>'] ['(' ids ')'] '=>' ['(' ids ')'] nodes */
static Onnx__FunctionProto *parse_function(Parser *p)
{
    Onnx__FunctionProto *fn = arena_alloc(p->a, sizeof *fn);
    *fn = (Onnx__FunctionProto)ONNX__FUNCTION_PROTO__INIT;
    if (accept(p, TK_LT)) {
        do {
            Token key = p->tok;
            if (!expect(p, TK_IDENT, "a function header key") ||
                !expect(p, TK_COLON, "':' after the header key"))
                return NULL;
            bool ok;
            if (is_tok(&key, "opset_import"))
                ok = parse_opsets(p, &fn->opset_import, &fn->n_opset_import);
            else if (is_tok(&key, "domain"))
                ok = parse_string(p, "a string for domain", &fn->domain);
            else if (is_tok(&key, "doc_string"))
                ok = parse_string(p, "a string for doc_string", &fn->doc_string);
            else
                return error_at(p, &key, "unknown function header key '%.*s' (opset_import, domain or doc_string)",
                                clip(&key), key.s), NULL;
            if (!ok)
                return NULL;
        } while (accept(p, TK_COMMA));
        if (!expect(p, TK_GT, "',' or '>' after a function header entry"))
            return NULL;
    }
    Token name = p->tok;
    if (!expect(p, TK_IDENT, "a function name (or the end of the model)"))
        return NULL;
    fn->name = tok_ident(p, &name);
    if (accept(p, TK_LT)) {
        parse_ids(p, &fn->attribute, &fn->n_attribute);
        if (!expect(p, TK_GT, "',' or '>' after the function's attribute names"))
            return NULL;
    }
    if (accept(p, TK_LPAREN)) {
        parse_ids(p, &fn->input, &fn->n_input);
        if (!expect(p, TK_RPAREN, "',' or ')' after the function inputs"))
            return NULL;
    }
    if (!expect(p, TK_ARROW, "'=>' after the function inputs"))
        return NULL;
    if (accept(p, TK_LPAREN)) {
        parse_ids(p, &fn->output, &fn->n_output);
        if (!expect(p, TK_RPAREN, "',' or ')' after the function outputs"))
            return NULL;
    }
    return parse_nodes(p, &fn->node, &fn->n_node, NULL) ? fn : NULL;
}

/* model = [header] graph {function} */
static Onnx__ModelProto *parse_model(Parser *p, ModelLocs *locs)
{
    Onnx__ModelProto *m = arena_alloc(p->a, sizeof *m);
    *m = (Onnx__ModelProto)ONNX__MODEL_PROTO__INIT;
    locs->model = tok_loc(p, &p->tok);
    if (at(p, TK_EOF))
        return error_at(p, &p->tok, "empty model: expected a graph, name (inputs) => (outputs) { nodes }"), NULL;
    if (at(p, TK_LT) && !parse_model_header(p, m))
        return NULL;
    GraphLocs gl = {0};
    m->graph = parse_graph(p, &gl);
    if (!m->graph)
        return NULL;
    locs->nodes = gl.nodes;
    locs->inputs = gl.inputs;
    locs->outputs = gl.outputs;
    locs->inits = gl.inits;
    size_t cap = 0;
    while (!at(p, TK_EOF)) {
        Onnx__FunctionProto *fn = parse_function(p);
        if (!fn)
            return NULL;
        PUSH(p, m->functions, m->n_functions, cap) = fn;
    }
    return m;
}

bool text_parse_model(const char *file, const char *src, size_t len, ModelFile *mf, Diag *d)
{
    if (!file)
        file = "<text>";
    diag_add_source(d, file, src, len); /* for carets; replaces an older copy */

    mf->proto = NULL;
    mf->unpacked = false;
    memset(&mf->locs, 0, sizeof mf->locs);
    mf->arena = NULL;
    if (len > INT_MAX)
        return diag_error(d, loc_file(file), "text model too large (%zu bytes; at most %d)", len, INT_MAX);

    Parser p = {.d = d, .errors0 = d->errors, .a = arena_new()};
    p.file = arena_strdup(p.a, file); /* locations outlive the caller's string */
    text_lex_init(&p.lx, src, len);
    p.tok = text_lex_next(&p.lx);
    Onnx__ModelProto *m = parse_model(&p, &mf->locs);
    if (!m || d->errors != p.errors0) {
        if (d->errors == p.errors0) /* cannot happen: every failure reports */
            diag_error(d, loc_file(file), "text model could not be parsed");
        arena_free(p.a);
        memset(&mf->locs, 0, sizeof mf->locs);
        return false;
    }
    mf->proto = m;
    mf->arena = p.a;
    mf->file_bytes = (int64_t)len;
    return true;
}

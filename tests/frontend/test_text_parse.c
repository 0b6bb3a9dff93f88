/* test_text_parse.c — error handling and source locations of the ONNX text
 * parser (frontend/text_parse.c, frontend/text_lex.re).
 *
 * What it parses into is checked against onnx.parser itself by
 * compare_text_parse.py; here: every malformed input is refused with a
 * message at the right file:line:col that says what was expected and what
 * was found, several errors are reported in one run, the locations of a good
 * model are right, and no prefix or mutation of the corpus crashes or fails
 * without a message. */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frontend/frontend.h"

#define FILE_NAME "m.onnxtxt"

/* ---- malformed inputs: one table, one cmocka test each ------------------- */

typedef struct ErrorCase {
    const char *name;
    const char *src;
    size_t len;          /* sizeof: sources may hold NUL bytes */
    const char *where;   /* "line:col" of the first error */
    const char *words[3]; /* phrases its message must contain */
} ErrorCase;

#define CASE(name, src, where, ...) {name, src, sizeof(src) - 1, where, {__VA_ARGS__}}

static const ErrorCase error_cases[] = {
    CASE("empty file", "", "1:1", "empty model"),
    CASE("only a comment", "# nothing here\n", "2:1", "empty model"),
    CASE("truncated after header", "<ir_version: 7>", "1:16", "expected '=>' after the graph inputs",
         "found end of input"),
    CASE("truncated in graph inputs", "g (float[N, 3", "1:14", "expected ',' or ']' after a dimension",
         "found end of input"),
    CASE("truncated in nodes", "g (x) => (y) {\n  y = Relu(x)\n", "3:1", "expected a node or '}'",
         "found end of input"),
    CASE("truncated in attributes", "g (x) => (y) { y = Relu<alpha = ", "1:33",
         "expected a value for attribute 'alpha'", "found end of input"),
    CASE("truncated in tensor values", "g () => (y) <float[2] w = {1,", "1:30",
         "expected a number for float", "found end of input"),
    CASE("truncated in function", "g () => () {}\nF (a) => (b) { b = Neg(a)", "2:26",
         "expected a node or '}'", "found end of input"),
    CASE("unterminated string", "<producer_name: \"qkc>\ng () => () {}", "1:17", "unterminated string"),
    CASE("missing =>", "g (x) (y) { }", "1:7", "expected '=>' after the graph inputs", "found '('"),
    CASE("= and > apart", "g (x) = > (y) { }", "1:7", "expected '=>' after the graph inputs", "found '='"),
    CASE("node inputs not closed", "g (x) => (y) { y = Relu(x => }", "1:27",
         "expected ',' or ')' after node inputs, found '=>'"),
    CASE("bad type", "g (floot[3] x) => (y) { }", "1:4", "unknown type 'floot'"),
    CASE("sequence type", "g (seq(float) x) => (y) { }", "1:4", "seq types cannot be written",
         "only tensor types"),
    CASE("bad character", "g (x) => (y) {\n  y = Relu(x) $\n}", "2:15", "unexpected character '$'"),
    CASE("NUL byte", "g (x) => (y) { y = Relu(x\0) }", "1:26", "NUL byte in input"),
    CASE("NUL byte in string", "<doc_string: \"a\0b\"> g () => () {}", "1:16", "NUL byte in string"),
    CASE("invalid UTF-8 in string", "<doc_string: \"caf\xc3(\"> g () => () {}", "1:18",
         "invalid UTF-8 byte 0xC3 in string"),
    CASE("non-ASCII outside strings", "g (x) => (y) { y = \xc3\xa9(x) }", "1:20", "unexpected byte 0xC3"),
    CASE("dimension overflow", "g (float[99999999999999999999] x) => () {}", "1:10",
         "integer 99999999999999999999 is out of range for a dimension"),
    CASE("int64 overflow", "g () => () <int64[1] w = {9223372036854775808}> {}", "1:27",
         "out of range for int64"),
    CASE("float overflow", "g () => () <float[1] w = {3.5e38}> {}", "1:27", "number 3.5e38 is out of range for float"),
    CASE("float underflow", "g (x) => (y) { y = Relu<a = 1e-50>(x) }", "1:29", "out of range for float"),
    CASE("double overflow", "g () => () <double[1] w = {1e999}> {}", "1:28", "out of range for double"),
    CASE("int8 out of range", "g () => () <int8[2] w = {1, 128}> {}", "1:29", "integer 128 is out of range for int8"),
    CASE("uint64 negative", "g () => () <uint64[1] w = {-1}> {}", "1:28", "integer -1 is out of range for uint64"),
    CASE("bool out of range", "g () => () <bool[1] w = {2}> {}", "1:26", "out of range for bool"),
    CASE("value count", "g () => ()\n<float[2, 2] w = {1, 2, 3}> {}", "2:18", "initializer 'w' has 3 values",
         "its shape needs 4"),
    CASE("no values for a shape", "g () => () <float[3] w = {}> {}", "1:26", "initializer 'w' has no values"),
    CASE("symbolic initializer", "g (float[N] w = {1}) => () {}", "1:15", "needs numeric dimensions, found 'N'"),
    CASE("unknown-rank initializer", "g (float[] w = {1}) => () {}", "1:14", "needs a shape with known dimensions"),
    CASE("untyped initializer", "g (w = {1}) => () {}", "1:6", "initializer 'w' needs a tensor type"),
    CASE("float16 values", "g () => () <float16[1] h = {1}> {}", "1:29",
         "values of type float16 are not supported"),
    CASE("negative initializer dim", "g () => () <float[-1] w = {}> {}", "1:25", "negative dimension -1"),
    CASE("integer expected", "g (float[2.5] x) => () {}", "1:10", "expected an integer for a dimension",
         "found number '2.5'"),
    CASE("unknown header key", "<ir_vers: 7> g () => () {}", "1:2", "unknown model header key 'ir_vers'"),
    CASE("empty header", "<> g () => () {}", "1:2", "expected a model header key", "found '>'"),
    CASE("opset without colon", "<opset_import: [\"\" 13]> g () => () {}", "1:20",
         "expected ':' after the opset domain", "found number '13'"),
    CASE("opset version not a number", "<opset_import: [\"\" : \"13\"]> g () => () {}", "1:22",
         "expected an integer for an opset version", "found string \"13\""),
    CASE("declared type mismatch", "g (x) => (y) { y = Elu<alpha: float = 3>(x) }", "1:39",
         "attribute 'alpha' is declared 'float' but its value has type 'int'"),
    CASE("unknown attribute type", "g (x) => (y) { y = Elu<alpha: real = 3.0>(x) }", "1:31",
         "unknown attribute type 'real'"),
    CASE("mixed list", "g (x) => (y) { y = Resize<scales = [1, 1.5]>(x) }", "1:40",
         "attribute 'scales' mixes int and float values"),
    CASE("empty list", "g (x) => (y) { y = Op<a = []>(x) }", "1:27", "attribute 'a' is an empty list"),
    CASE("list of graphs", "g (x) => (y) { y = Op<a = [g1 () => () {}]>(x) }", "1:28",
         "lists of tensors, graphs or references are not supported"),
    CASE("missing operator", "g (x) => (y) { y = (x) }", "1:20", "expected an operator name after '='", "found '('"),
    CASE("empty domain part", "g (x) => (y) { y = com..Op(x) }", "1:24", "expected an operator name after '.'"),
    CASE("attributes twice", "g (x) => (y) { y = Op<a = 1>(x)<b = 2> }", "1:32", "expected a node", "found '<'"),
    CASE("number without exponent digits", "g (x) => (y) { y = Op<a = 1e>(x) }", "1:27",
         "expected digits after the exponent"),
    CASE("lone minus", "g (x) => (y) { y = Op<a = - 1>(x) }", "1:27", "expected a digit after '-'"),
    CASE("number without leading digit", "g (x) => (y) { y = Op<a = .5>(x) }", "1:27",
         "expected a value for attribute 'a'", "found '.'"),
    CASE("value name missing", "g (float[2]) => () {}", "1:12", "expected a value name after its type", "found ')'"),
    CASE("garbage after graph", "g () => () {}\n)", "2:1", "expected a function name", "found ')'"),
    CASE("unknown function key", "g () => () {}\n<dom: \"x\"> F () => () {}", "2:2",
         "unknown function header key 'dom'"),
    CASE("function without =>", "g () => () {}\nF (a) (b) {}", "2:7", "expected '=>' after the function inputs"),
    CASE("node outputs without =", "g (x) => (y) { y Relu(x) }", "1:18", "expected ',' or '=' after node outputs",
         "found identifier 'Relu'"),
    CASE("graph outputs missing", "g (x) => { }", "1:10", "expected '(' before the graph outputs", "found '{'"),
};
enum { NERROR_CASES = sizeof error_cases / sizeof error_cases[0] };

static void test_error_case(void **state)
{
    const ErrorCase *c = *state;
    Diag d;
    diag_init(&d, NULL);
    ModelFile mf = {0};
    bool ok = text_parse_model(FILE_NAME, c->src, c->len, &mf, &d);
    char where[64];
    snprintf(where, sizeof where, FILE_NAME ":%s: error: ", c->where);
    if (ok || !diag_contains(&d, where))
        print_error("case '%s': want an error at %s, got:\n%s", c->name, c->where, d.buf ? d.buf : "(nothing)\n");
    assert_false(ok);
    assert_null(mf.proto);
    assert_null(mf.arena); /* nothing left to free after a failure */
    assert_true(d.errors > 0);
    assert_true(diag_contains(&d, where));
    for (int i = 0; i < 3 && c->words[i]; i++) {
        if (!diag_contains(&d, c->words[i]))
            print_error("case '%s': message lacks \"%s\":\n%s", c->name, c->words[i], d.buf);
        assert_true(diag_contains(&d, c->words[i]));
    }
    diag_fini(&d);
}

/* ---- helpers --------------------------------------------------------------- */

static bool parse_str(const char *src, ModelFile *mf, Diag *d)
{
    diag_init(d, NULL);
    memset(mf, 0, sizeof *mf);
    return text_parse_model(FILE_NAME, src, strlen(src), mf, d);
}

static void expect_loc(SrcLoc loc, int line, int col)
{
    assert_non_null(loc.file);
    assert_string_equal(loc.file, FILE_NAME);
    assert_int_equal(loc.line, line);
    assert_int_equal(loc.col, col);
}

/* ---- several errors in one run --------------------------------------------- */

static void test_recovers_at_next_node(void **state)
{
    (void)state;
    static const char src[] =
        "g (x) => (y) {\n"
        "  a = Relu(x\n"                 /* 3:3: unclosed: resumes at the next line */
        "  b = Add(a, $)\n"              /* 3:14: bad character */
        "  c = Mul<k = >(b, b)\n"        /* 4:15: missing value */
        "  d = Relu<t = int8[1] {300}>(c)\n" /* 5:25: range error, parsing goes on */
        "  y = Identity(d)\n"
        "}\n";
    ModelFile mf;
    Diag d;
    assert_false(parse_str(src, &mf, &d));
    assert_int_equal(d.errors, 4);
    assert_true(diag_contains(&d, FILE_NAME ":3:3: error: expected ',' or ')' after node inputs, found identifier 'b'"));
    assert_true(diag_contains(&d, FILE_NAME ":3:14: error: unexpected character '$'"));
    assert_true(diag_contains(&d, FILE_NAME ":4:15: error: expected a value for attribute 'k', found '>'"));
    assert_true(diag_contains(&d, FILE_NAME ":5:25: error: integer 300 is out of range for int8"));
    /* the source line and a caret under the column */
    assert_true(diag_contains(&d, "\n    b = Add(a, $)\n               ^\n"));
    diag_fini(&d);
}

static void test_recovers_inside_subgraph(void **state)
{
    (void)state;
    static const char src[] =
        "g (c, x) => (y) {\n"
        "  y = If(c) <then_branch = t () => (z) {\n"
        "      z = Neg(x,, ]\n"           /* 3:19 */
        "      w = Abs(x)\n"
        "    }, else_branch = e () => (z) { z = Identity(x) }>\n"
        "  q = Relu(x) <alpha = 1.0.5>\n"  /* 6:27: '.' after 1.0 */
        "}\n";
    ModelFile mf;
    Diag d;
    assert_false(parse_str(src, &mf, &d));
    assert_int_equal(d.errors, 2);
    assert_true(diag_contains(&d, FILE_NAME ":3:19: error: expected ',' or ')' after node inputs, found ']'"));
    assert_true(diag_contains(&d, FILE_NAME ":6:27: error: expected ',' or '>' after an attribute, found '.'"));
    diag_fini(&d);
}

/* Subgraphs nest 64 deep at most; deeper input is refused, without using
 * the stack up. */
static char *nested(int depth)
{
    size_t cap = (size_t)depth * 64 + 64, n = 0;
    char *s = malloc(cap);
    n += (size_t)sprintf(s + n, "g0 (c) => (y) {\n");
    for (int i = 1; i < depth; i++)
        n += (size_t)sprintf(s + n, " y = If(c) <then_branch = g%d () => (y) {\n", i);
    n += (size_t)sprintf(s + n, " y = Neg(c)\n");
    for (int i = 1; i < depth; i++)
        n += (size_t)sprintf(s + n, "}>\n");
    sprintf(s + n, "}\n");
    return s;
}

static void test_nesting_limit(void **state)
{
    (void)state;
    ModelFile mf;
    Diag d;
    char *ok64 = nested(64);
    assert_true(parse_str(ok64, &mf, &d));
    arena_free(mf.arena);
    diag_fini(&d);
    free(ok64);

    char *deep = nested(65);
    assert_false(parse_str(deep, &mf, &d));
    assert_int_equal(d.errors, 1);
    assert_true(diag_contains(&d, FILE_NAME ":65:27: error: graphs nested more than 64 levels deep"));
    diag_fini(&d);
    free(deep);

    char *very = nested(100000);
    assert_false(parse_str(very, &mf, &d));
    assert_int_equal(d.errors, 1);
    assert_true(diag_contains(&d, "nested more than 64 levels deep"));
    diag_fini(&d);
    free(very);
}

/* ---- a good model: structures and locations -------------------------------- */

static void test_locations(void **state)
{
    (void)state;
    static const char src[] =
        "<ir_version: 8, opset_import: [\"\" : 13]>\n"
        "g (float[N, 2] x,\n"
        "   float[2] b = {1, 2}) => (float[N, 2] y,\n"
        "                            z)\n"
        "<int64[1] axes = {1}, float[N, 2] t>\n"
        "{\n"
        "  t = Add(x, b)\n"
        "\ty = com.ms.Gelu(t)\n"
        "  z = ReduceSum<keepdims = 0>(y, axes)\n"
        "}\n";
    ModelFile mf;
    Diag d;
    assert_true(parse_str(src, &mf, &d));
    assert_int_equal(d.errors, 0);
    assert_false(mf.unpacked);
    assert_non_null(mf.arena);
    const Onnx__ModelProto *m = mf.proto;
    assert_non_null(m);
    assert_true(m->has_ir_version);
    assert_int_equal(m->ir_version, 8);
    expect_loc(mf.locs.model, 1, 1);

    const Onnx__GraphProto *g = m->graph;
    assert_string_equal(g->name, "g");
    assert_int_equal(g->n_input, 2);
    expect_loc(mf.locs.inputs[0], 2, 4);
    expect_loc(mf.locs.inputs[1], 3, 4);
    assert_int_equal(g->n_output, 2);
    expect_loc(mf.locs.outputs[0], 3, 29);
    expect_loc(mf.locs.outputs[1], 4, 29);
    assert_int_equal(g->n_initializer, 2);
    assert_string_equal(g->initializer[0]->name, "b");
    expect_loc(mf.locs.inits[0], 3, 4);
    assert_string_equal(g->initializer[1]->name, "axes");
    expect_loc(mf.locs.inits[1], 5, 2);
    assert_int_equal(g->initializer[1]->n_int64_data, 1);
    assert_int_equal(g->n_value_info, 1);

    assert_int_equal(g->n_node, 3);
    expect_loc(mf.locs.nodes[0], 7, 7);   /* at the operator */
    expect_loc(mf.locs.nodes[1], 8, 6);   /* a tab is one column */
    expect_loc(mf.locs.nodes[2], 9, 7);
    assert_string_equal(g->node[1]->domain, "com.ms");
    assert_string_equal(g->node[1]->op_type, "Gelu");
    assert_string_equal(g->node[0]->domain, "");
    assert_int_equal(g->node[2]->n_attribute, 1);
    assert_true(g->node[2]->attribute[0]->has_i);
    assert_int_equal(g->node[2]->attribute[0]->i, 0);
    arena_free(mf.arena);
    diag_fini(&d);
}

/* A source that is no C string: exactly len bytes are read. */
static void test_not_nul_terminated(void **state)
{
    (void)state;
    static const char src[] = "g (x) => (y) { y = Relu(x) }GARBAGE";
    ModelFile mf = {0};
    Diag d;
    diag_init(&d, NULL);
    size_t len = strlen("g (x) => (y) { y = Relu(x) }");
    char *copy = malloc(len); /* so ASan sees a read past the end */
    memcpy(copy, src, len);
    assert_true(text_parse_model(FILE_NAME, copy, len, &mf, &d));
    assert_int_equal(mf.proto->graph->n_node, 1);
    arena_free(mf.arena);
    assert_false(text_parse_model(FILE_NAME, copy, len - 1, &mf, &d));
    assert_true(diag_contains(&d, FILE_NAME ":1:28: error: expected a node or '}', found end of input"));
    diag_fini(&d);
    free(copy);
}

/* ---- robustness over the corpus --------------------------------------------- */

/* Parse src[0..len) into a fresh buffer of exactly len bytes; the result and
 * the messages must agree. */
static void parse_checked(const char *src, size_t len)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, src, len);
    ModelFile mf = {0};
    Diag d;
    diag_init(&d, NULL);
    bool ok = text_parse_model(FILE_NAME, copy, len, &mf, &d);
    if (ok) {
        assert_int_equal(d.errors, 0);
        assert_non_null(mf.proto);
        assert_non_null(mf.proto->graph);
    } else {
        assert_true(d.errors > 0);
        assert_true(diag_contains(&d, FILE_NAME ":"));
        assert_null(mf.arena);
    }
    arena_free(mf.arena);
    diag_fini(&d);
    free(copy);
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Every corpus model parses; every prefix of it and a few thousand random
 * edits of it are handled without a crash and without silent failure. */
static void test_corpus_prefixes_and_mutations(void **state)
{
    (void)state;
    const char *dir = QKC_SOURCE_DIR "/tests/frontend/text";
    DIR *dp = opendir(dir);
    assert_non_null(dp);
    static const char alphabet[] = "()[]{}<>,:=.?@\"#-e 09\nfx_\t\0\xff\xc3";
    uint64_t rng = 0x9e3779b97f4a7c15u;
    int files = 0;
    for (struct dirent *de; (de = readdir(dp));) {
        size_t nl = strlen(de->d_name);
        if (nl < 9 || strcmp(de->d_name + nl - 8, ".onnxtxt") != 0)
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        size_t len;
        char *src = read_file(path, &len);
        Diag d;
        ModelFile mf = {0};
        diag_init(&d, NULL);
        if (!text_parse_model(path, src, len, &mf, &d))
            print_error("%s", d.buf);
        assert_int_equal(d.errors, 0);
        arena_free(mf.arena);
        diag_fini(&d);
        for (size_t i = 0; i < len; i++)
            parse_checked(src, i);
        char *buf = malloc(len + 8);
        for (int k = 0; k < 300; k++) {
            memcpy(buf, src, len);
            size_t n = len;
            for (int e = 0; e < 3; e++) {
                rng = rng * 6364136223846793005u + 1442695040888963407u;
                size_t pos = (size_t)(rng >> 33) % (n + 1);
                char c = alphabet[(rng >> 20) % (sizeof alphabet - 1)];
                if (pos < n && (rng & 1))
                    buf[pos] = c;
                else if (pos < n && (rng & 2))
                    memmove(buf + pos, buf + pos + 1, --n - pos);
                else {
                    memmove(buf + pos + 1, buf + pos, n - pos);
                    buf[pos] = c;
                    n++;
                }
            }
            parse_checked(buf, n);
        }
        free(buf);
        free(src);
        files++;
    }
    closedir(dp);
    assert_true(files >= 15);
}

int main(void)
{
    enum { NOTHER = 6 };
    struct CMUnitTest tests[NERROR_CASES + NOTHER] = {
        cmocka_unit_test(test_recovers_at_next_node),
        cmocka_unit_test(test_recovers_inside_subgraph),
        cmocka_unit_test(test_nesting_limit),
        cmocka_unit_test(test_locations),
        cmocka_unit_test(test_not_nul_terminated),
        cmocka_unit_test(test_corpus_prefixes_and_mutations),
    };
    for (int i = 0; i < NERROR_CASES; i++)
        tests[NOTHER + i] = (struct CMUnitTest){error_cases[i].name, test_error_case, NULL, NULL,
                                                 (void *)&error_cases[i]};
    return cmocka_run_group_tests_name("text_parse", tests, NULL, NULL);
}

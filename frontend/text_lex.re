/* text_lex.re — the lexer of the ONNX text syntax (re2c 3.0 input).
 *
 * Tokens follow onnx/defs/parser.cc of ONNX 1.12, which reads characters
 * rather than tokens: blanks are C isspace(), '#' starts a comment to the end
 * of the line, identifiers are ASCII [A-Za-z_][A-Za-z0-9_]*, a number starts
 * with a digit or '-' and holds at most one '.' and an optional exponent
 * (".5" is no number, "-.5" is), strings run to the next '"' with no escapes.
 * "=>" is one token: onnx reads '>' right after '=' without skipping blanks,
 * and no other place in the grammar puts '>' right after '='.
 *
 * The input is not NUL-terminated: re2c's generic API reads through YYPEEK,
 * which returns 0 at the end, and the eof rule ($) checks the limit whenever
 * it sees a 0, so NUL bytes inside the input are ordinary (bad) bytes. */
#include <stdio.h>
#include <string.h>

#include "text.h"

void text_lex_init(Lexer *lx, const char *src, size_t len)
{
    memset(lx, 0, sizeof *lx);
    lx->cur = src;
    lx->lim = src + len;
    lx->bol = src;
    lx->line = 1;
}

const char *text_tok_kind_name(TokKind k)
{
    static const char *names[] = {
        [TK_EOF] = "end of input", [TK_IDENT] = "identifier", [TK_INT] = "integer",
        [TK_FLOAT] = "number", [TK_STRING] = "string", [TK_LPAREN] = "'('",
        [TK_RPAREN] = "')'", [TK_LBRACK] = "'['", [TK_RBRACK] = "']'", [TK_LBRACE] = "'{'",
        [TK_RBRACE] = "'}'", [TK_LT] = "'<'", [TK_GT] = "'>'", [TK_COMMA] = "','",
        [TK_COLON] = "':'", [TK_EQ] = "'='", [TK_ARROW] = "'=>'", [TK_DOT] = "'.'",
        [TK_QUEST] = "'?'", [TK_AT] = "'@'", [TK_ERROR] = "bad token",
    };
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "token";
}

/* Advance line counting over s[0..n). */
static void count_lines(Lexer *lx, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\n') {
            lx->line++;
            lx->bol = s + i + 1;
        }
}

/* Line and column of `at`, a byte inside token `tok` (whose own line and
 * column are known). */
static void locate(const Token *tok, const char *at, int *line, int *col)
{
    int l = tok->line, c = tok->col;
    for (const char *q = tok->s; q < at; q++) {
        if (*q == '\n') {
            l++;
            c = 1;
        } else {
            c++;
        }
    }
    *line = l;
    *col = c;
}

/* A string literal stopped at lx->cur before its closing quote: say why,
 * and skip to its closing quote (or the end) so lexing goes on after it. */
static void bad_string(Lexer *lx, Token *t)
{
    t->kind = TK_ERROR;
    if (lx->cur >= lx->lim) {
        t->msg = "unterminated string (missing closing '\"')";
        return;
    }
    locate(t, lx->cur, &t->line, &t->col);
    if (*lx->cur == 0)
        t->msg = "NUL byte in string";
    else {
        snprintf(lx->msgbuf, sizeof lx->msgbuf, "invalid UTF-8 byte 0x%02X in string",
                 (unsigned char)*lx->cur);
        t->msg = lx->msgbuf;
    }
    while (lx->cur < lx->lim && *lx->cur != '"')
        lx->cur++;
    if (lx->cur < lx->lim)
        lx->cur++;
}

Token text_lex_next(Lexer *lx)
{
    Token t;
    const char *start;
    for (;;) {
        start = lx->cur;
        memset(&t, 0, sizeof t);
        t.s = start;
        t.line = lx->line;
        t.col = (int)(start - lx->bol) + 1;
        /*!re2c
            re2c:api = custom;
            re2c:api:style = free-form;
            re2c:define:YYCTYPE = "unsigned char";
            re2c:define:YYPEEK = "(lx->cur < lx->lim ? (unsigned char)*lx->cur : 0)";
            re2c:define:YYSKIP = "++lx->cur;";
            re2c:define:YYBACKUP = "lx->mar = lx->cur;";
            re2c:define:YYRESTORE = "lx->cur = lx->mar;";
            re2c:define:YYLESSTHAN = "(lx->lim - lx->cur < @@{len})";
            re2c:yyfill:enable = 0;
            re2c:eof = 0;

            dig    = [0-9];
            exp    = [eE] [+-]? dig+;
            mant   = "-"? dig+ "." dig* | "-" "." dig+;
            ident  = [a-zA-Z_] [a-zA-Z_0-9]*;
            u8     = [\x01-\x21\x23-\x7f]
                   | [\xc2-\xdf] [\x80-\xbf]
                   | "\xe0" [\xa0-\xbf] [\x80-\xbf]
                   | [\xe1-\xec\xee\xef] [\x80-\xbf]{2}
                   | "\xed" [\x80-\x9f] [\x80-\xbf]
                   | "\xf0" [\x90-\xbf] [\x80-\xbf]{2}
                   | [\xf1-\xf3] [\x80-\xbf]{3}
                   | "\xf4" [\x80-\x8f] [\x80-\xbf]{2};

            $                   { t.kind = TK_EOF; break; }
            [ \t\v\f\r]+        { continue; }
            "\n"                { lx->line++; lx->bol = lx->cur; continue; }
            "#" [^\n\x00]*      { continue; }

            ident               { t.kind = TK_IDENT; break; }
            "-"? dig+           { t.kind = TK_INT; break; }
            mant exp? | "-"? dig+ exp { t.kind = TK_FLOAT; break; }
            (mant | "-"? dig+) [eE] [+-]? {
                t.kind = TK_ERROR;
                t.msg = "expected digits after the exponent of a number";
                break;
            }
            "-"                 { t.kind = TK_ERROR; t.msg = "expected a digit after '-'"; break; }
            ["] u8* ["]         { t.kind = TK_STRING; break; }
            ["] u8*             { bad_string(lx, &t); break; }

            "("  { t.kind = TK_LPAREN; break; }
            ")"  { t.kind = TK_RPAREN; break; }
            "["  { t.kind = TK_LBRACK; break; }
            "]"  { t.kind = TK_RBRACK; break; }
            "{"  { t.kind = TK_LBRACE; break; }
            "}"  { t.kind = TK_RBRACE; break; }
            "<"  { t.kind = TK_LT; break; }
            ">"  { t.kind = TK_GT; break; }
            ","  { t.kind = TK_COMMA; break; }
            ":"  { t.kind = TK_COLON; break; }
            "="  { t.kind = TK_EQ; break; }
            "=>" { t.kind = TK_ARROW; break; }
            "."  { t.kind = TK_DOT; break; }
            "?"  { t.kind = TK_QUEST; break; }
            "@"  { t.kind = TK_AT; break; }

            "\x00" { t.kind = TK_ERROR; t.msg = "NUL byte in input"; break; }
            * {
                unsigned char c = (unsigned char)*start;
                t.kind = TK_ERROR;
                if (c >= 0x21 && c < 0x7f)
                    snprintf(lx->msgbuf, sizeof lx->msgbuf, "unexpected character '%c'", c);
                else
                    snprintf(lx->msgbuf, sizeof lx->msgbuf,
                             "unexpected byte 0x%02X (outside strings and comments only ASCII is allowed)", c);
                t.msg = lx->msgbuf;
                break;
            }
        */
    }
    t.len = (size_t)(lx->cur - start);
    if (t.kind == TK_STRING || t.kind == TK_ERROR) /* strings may span lines */
        count_lines(lx, start, t.len);
    t.bol = t.line > lx->last_line;
    lx->last_line = lx->line;
    return t;
}

/* text.h — tokens of the ONNX text syntax (internal to frontend/).
 *
 * text_lex.re (re2c) turns a source buffer into tokens; text_parse.c reads
 * them. The buffer need not be NUL-terminated and may hold any bytes: the
 * lexer never reads past its end, and every byte it cannot place becomes a
 * TK_ERROR token that says what is wrong, so the parser reports it where the
 * grammar meets it. */
#ifndef QKC_TEXT_H
#define QKC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

typedef enum TokKind {
    TK_EOF,
    TK_IDENT,  /* [A-Za-z_][A-Za-z0-9_]* (keywords and type names too) */
    TK_INT,    /* -?[0-9]+ */
    TK_FLOAT,  /* a number with '.' or an exponent: 1.5  -.5  5.  2e-3 */
    TK_STRING, /* "..." without escapes, valid UTF-8; s/len include the quotes */
    TK_LPAREN, TK_RPAREN, TK_LBRACK, TK_RBRACK, TK_LBRACE, TK_RBRACE,
    TK_LT, TK_GT, TK_COMMA, TK_COLON, TK_EQ, TK_ARROW, TK_DOT, TK_QUEST, TK_AT,
    TK_ERROR   /* a byte sequence that is no token; msg says why */
} TokKind;

typedef struct Token {
    TokKind kind;
    const char *s;   /* first byte in the source */
    size_t len;      /* bytes */
    int line, col;   /* 1-based; col in bytes (TK_ERROR: of the bad byte) */
    bool bol;        /* first token on its line */
    const char *msg; /* TK_ERROR: the problem; valid until the next token */
} Token;

typedef struct Lexer {
    const char *cur, *lim; /* next byte, end of input */
    const char *mar;       /* re2c backtracking marker */
    const char *bol;       /* first byte of the current line */
    int line;              /* line of `cur` */
    int last_line;         /* line on which the previous token ended */
    char msgbuf[96];       /* formatted TK_ERROR messages */
} Lexer;

/* Start lexing src[0..len). */
void text_lex_init(Lexer *lx, const char *src, size_t len);
/* The next token; TK_EOF forever at the end. Skips blanks and # comments. */
Token text_lex_next(Lexer *lx);
/* How a token kind is named in messages: "'('", "identifier", ... */
const char *text_tok_kind_name(TokKind k);

#endif

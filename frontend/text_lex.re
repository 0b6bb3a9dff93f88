/* frontend/text_lex.re — not written yet */

/* frontend/text_parse.c — not written yet */

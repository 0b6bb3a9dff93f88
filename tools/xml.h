/* xml.h — text escaped for XML: the SVG plot (qkc eval --plot) and the
 * HTML-like labels of the DOT graph (qkc inspect --dot). */
#ifndef QKC_XML_H
#define QKC_XML_H

#include <stdio.h>

/* Write s as XML character data (also fit for a quoted attribute value):
 * & < > " ' as entities; control characters and bytes that are not valid
 * UTF-8 as '?' (XML 1.0 admits neither). At most max characters, the last
 * three "..." when s is longer; max <= 0: all of s. */
void drv_xml_text(FILE *f, const char *s, int max);
/* The same, keeping the end of a longer s ("..." first): the informative
 * part of a path-like name ("/blocks/blocks.3/expand/Conv"). */
void drv_xml_tail(FILE *f, const char *s, int max);

#endif

/* xml.c — XML text escaping (xml.h). Model names come from the model file
 * and may hold anything: markup characters, control bytes, broken UTF-8. */
#include "xml.h"

#include <stddef.h>
#include <string.h>

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static int utf8_len(const unsigned char *s)
{
    int n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (n == 2 && s[0] < 0xc2)
        return 0; /* overlong */
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if (n == 3) {
        unsigned cp = (s[0] & 0x0fu) << 12 | (s[1] & 0x3fu) << 6 | (s[2] & 0x3fu);
        if (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff) || cp >= 0xfffe)
            return 0; /* overlong, a surrogate, or a noncharacter XML refuses */
    }
    if (n == 4) {
        unsigned cp = (s[0] & 0x07u) << 18 | (s[1] & 0x3fu) << 12 | (s[2] & 0x3fu) << 6 | (s[3] & 0x3fu);
        if (cp < 0x10000 || cp > 0x10ffff)
            return 0;
    }
    return n;
}

static int chars(const unsigned char *s)
{
    int n = 0;
    while (*s) {
        int k = utf8_len(s);
        s += k ? k : 1;
        n++;
    }
    return n;
}

void drv_xml_text(FILE *f, const char *str, int max)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    int keep = max > 3 && chars(s) > max ? max - 3 : -1;
    for (int n = 0; *s && n != keep; n++) {
        int k = utf8_len(s);
        switch (k == 1 ? *s : 0) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        case '\'': fputs("&#39;", f); break;
        default:
            if (k == 0 || (k == 1 && (*s < 0x20 || *s == 0x7f)))
                fputc('?', f);
            else
                fwrite(s, 1, (size_t)k, f);
        }
        s += k ? k : 1;
    }
    if (keep >= 0)
        fputs("...", f);
}

void drv_xml_tail(FILE *f, const char *str, int max)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");
    int n = chars(s);
    if (max <= 3 || n <= max) {
        drv_xml_text(f, str, 0);
        return;
    }
    for (int skip = n - (max - 3); skip > 0; skip--) {
        int k = utf8_len(s);
        s += k ? k : 1;
    }
    fputs("...", f);
    drv_xml_text(f, (const char *)s, 0);
}

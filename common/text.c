/* text.c: neutralising guest-supplied text (text.h). */
#include "text.h"

#include <stdint.h>

/* The length (2-4) of the valid UTF-8 sequence starting at p, with its code point in *cp; 0 when
 * p does not start one (stray continuation, overlong form, surrogate, past U+10FFFF, cut short). */
static size_t utf8_sequence(const unsigned char *p, uint32_t *cp)
{
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
    if (n == 0 || p[0] > 0xf4)
        return 0;
    uint32_t c = p[0] & (0x7fu >> n);
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) /* also stops at the terminating NUL */
            return 0;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

size_t hl__text_neutralise(char *s)
{
    unsigned char *in = (unsigned char *)s, *out = in;
    while (*in) {
        uint32_t cp = 0;
        size_t n = *in < 0x80 ? 1 : utf8_sequence(in, &cp);
        if (n == 1 && (*in < 0x20 || *in == 0x7f)) {
            *out++ = '?', in++;
        } else if (n == 0 || (cp >= 0x80 && cp <= 0x9f)) {
            *out++ = '?', in += n ? n : 1; /* C1 control, or one bad byte */
        } else {
            for (size_t i = 0; i < n; i++)
                *out++ = *in++;
        }
    }
    *out = '\0';
    return (size_t)(out - (unsigned char *)s);
}

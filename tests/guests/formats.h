/* formats.h: how the libm test reads its printf and scanf formats: the conversion of a printf
 * format, and which destination each conversion of a scanf format needs. Shared by the libm
 * guest (tests/guests/mathguest.c), which runs sscanf, and its host test (tests/kvm/test_libm.c),
 * which runs glibc's and compares, so that both read the formats the same way. */
#ifndef HL_TEST_FORMATS_H
#define HL_TEST_FORMATS_H

#include <stddef.h>
#include <string.h>

/* One conversion's destination. The test formats use at most MAX_SCAN of them, strings shorter
 * than SCAN_TEXT bytes, and the kinds below. */
#define MAX_SCAN 6
#define SCAN_TEXT 64
typedef enum {
    SLOT_INT,
    SLOT_UINT,
    SLOT_LONG,
    SLOT_SCHAR,
    SLOT_DOUBLE,
    SLOT_FLOAT,
    SLOT_TEXT
} slot_kind;
typedef struct scan_slot {
    slot_kind kind;
    union {
        int i;
        unsigned u;
        long long l;
        signed char c;
        double d;
        float f;
        char text[SCAN_TEXT];
    } as;
} scan_slot;

/* The kind of destination of the conversion at *p (just after its '%' and any width), moving *p
 * past it. */
static inline slot_kind scan_kind(const char **p)
{
    const char *s = *p;
    int ll = 0, hh = 0, l = 0;
    if (s[0] == 'h' && s[1] == 'h')
        hh = 1, s += 2;
    else if (s[0] == 'l' && s[1] == 'l')
        ll = 1, s += 2;
    else if (s[0] == 'l')
        l = 1, s += 1;
    char conv = *s++;
    if (conv == '[') {
        s += *s == '^';
        s += *s == ']';
        s = strchr(s, ']');
        s = s ? s + 1 : *p + strlen(*p);
    }
    *p = s;
    if (conv == 's' || conv == 'c' || conv == '[')
        return SLOT_TEXT;
    if (conv == 'e' || conv == 'f' || conv == 'g' || conv == 'a')
        return l ? SLOT_DOUBLE : SLOT_FLOAT;
    if (ll)
        return SLOT_LONG;
    if (hh)
        return SLOT_SCHAR;
    return (conv == 'd' || conv == 'i' || conv == 'n') ? SLOT_INT : SLOT_UINT;
}

/* The destinations of fmt's conversions (not of "%%" or "%*..."), in order; returns their count. */
static inline size_t scan_slots(const char *fmt, scan_slot *slots)
{
    size_t n = 0;
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL;) {
        p++;
        if (*p == '%') {
            p++;
            continue;
        }
        int suppressed = *p == '*';
        p += suppressed;
        p += strspn(p, "0123456789");
        slot_kind k = scan_kind(&p);
        if (!suppressed && n < MAX_SCAN)
            slots[n++].kind = k;
    }
    return n;
}

/* The conversion of a one-conversion format (after "%%"s): its length modifier ("" when none)
 * in len[] and its conversion character, or 0 when fmt has none. */
static inline char conversion_of(const char *fmt, char len[3])
{
    const char *p = fmt;
    while ((p = strchr(p, '%')) != NULL && p[1] == '%')
        p += 2;
    len[0] = len[1] = len[2] = 0;
    if (!p)
        return 0;
    p += 1 + strspn(p + 1, "-+ #0");
    p += strspn(p, "0123456789.");
    size_t n = strspn(p, "hljzt");
    memcpy(len, p, n < 2 ? n : 2);
    return p[n];
}

#endif

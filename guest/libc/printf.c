/* printf.c: vsnprintf and friends for guests, with exact (glibc-identical) double formatting. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "libc_internal.h"

/* ---- output sink: counts every byte, stores those that fit ---- */

typedef struct out {
    char *buf;
    size_t cap; /* bytes buf can hold, the terminating NUL included */
    size_t len; /* bytes produced so far, stored or not */
} out;

static void put(out *o, char c)
{
    if (o->len + 1 < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static void put_n(out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        put(o, s[i]);
}

static void put_rep(out *o, char c, size_t n)
{
    while (n--)
        put(o, c);
}

/* ---- conversion specifications ---- */

#define F_MINUS 1u
#define F_PLUS 2u
#define F_SPACE 4u
#define F_HASH 8u
#define F_ZERO 16u

enum length { LEN_NONE, LEN_HH, LEN_H, LEN_L, LEN_LL, LEN_Z, LEN_T, LEN_J, LEN_BIG_L };

typedef struct spec {
    unsigned flags; /* F_* */
    size_t width;
    long prec; /* -1 when absent */
    enum length length;
    char conv; /* the conversion character ('\0' when the format ended early) */
} spec;

static unsigned flag_of(char c)
{
    switch (c) {
    case '-':
        return F_MINUS;
    case '+':
        return F_PLUS;
    case ' ':
        return F_SPACE;
    case '#':
        return F_HASH;
    case '0':
        return F_ZERO;
    default:
        return 0;
    }
}

/* Reads a decimal number, saturating at INT_MAX. */
static int parse_num(const char **f)
{
    int v = 0;
    for (; isdigit((unsigned char)**f); (*f)++)
        v = v > (INT_MAX - 9) / 10 ? INT_MAX : v * 10 + (**f - '0');
    return v;
}

static enum length parse_length(const char **f)
{
    char c = **f, c2 = c ? (*f)[1] : 0;
    enum length len = c == 'h'   ? (c2 == 'h' ? LEN_HH : LEN_H)
                      : c == 'l' ? (c2 == 'l' ? LEN_LL : LEN_L)
                      : c == 'z' ? LEN_Z
                      : c == 't' ? LEN_T
                      : c == 'j' ? LEN_J
                      : c == 'L' ? LEN_BIG_L
                                 : LEN_NONE;
    *f += (len == LEN_HH || len == LEN_LL) ? 2 : len != LEN_NONE;
    return len;
}

/* Parses the specification after a '%'; returns a pointer to its conversion character. */
static const char *parse_spec(const char *f, spec *sp, va_list *ap)
{
    sp->flags = 0;
    for (unsigned fl; (fl = flag_of(*f)) != 0; f++)
        sp->flags |= fl;
    if (*f == '*') {
        int w = va_arg(*ap, int);
        if (w < 0)
            sp->flags |= F_MINUS;
        sp->width = w < 0 ? 0u - (size_t)w : (size_t)w;
        f++;
    } else {
        sp->width = (size_t)parse_num(&f);
    }
    sp->prec = -1;
    if (*f == '.') {
        f++;
        if (*f == '*') {
            int p = va_arg(*ap, int);
            sp->prec = p < 0 ? -1 : p;
            f++;
        } else {
            sp->prec = parse_num(&f);
        }
    }
    sp->length = parse_length(&f);
    sp->conv = *f;
    return f;
}

/* ---- fields: [spaces] prefix [zeros] body [spaces] ---- */

/* Writes what precedes a body of blen bytes: padding up to the width (zeros after the prefix
 * when zero_ok and the 0 flag ask for it) and the prefix. Returns the padding still owed after
 * the body (for the - flag), to be passed to field_end. */
static size_t field_start(out *o, const spec *sp, const char *prefix, size_t blen, int zero_ok)
{
    size_t plen = strlen(prefix), total = plen + blen;
    size_t fill = sp->width > total ? sp->width - total : 0;
    int zeros = zero_ok && (sp->flags & F_ZERO) && !(sp->flags & F_MINUS);
    if (!(sp->flags & F_MINUS) && !zeros)
        put_rep(o, ' ', fill);
    put_n(o, prefix, plen);
    if (zeros)
        put_rep(o, '0', fill);
    return sp->flags & F_MINUS ? fill : 0;
}

static void field_end(out *o, size_t fill)
{
    put_rep(o, ' ', fill);
}

static void string_field(out *o, const spec *sp, const char *s, size_t n)
{
    size_t fill = field_start(o, sp, "", n, 0);
    put_n(o, s, n);
    field_end(o, fill);
}

static char sign_char(int negative, unsigned flags)
{
    return negative ? '-' : (flags & F_PLUS) ? '+' : (flags & F_SPACE) ? ' ' : 0;
}

/* ---- integers ---- */

static intmax_t arg_signed(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH:
        return (signed char)va_arg(*ap, int);
    case LEN_H:
        return (short)va_arg(*ap, int);
    case LEN_L:
        return va_arg(*ap, long);
    case LEN_LL:
        return va_arg(*ap, long long);
    case LEN_Z: /* the signed type of size_t's width */
    case LEN_T:
        return va_arg(*ap, ptrdiff_t);
    case LEN_J:
        return va_arg(*ap, intmax_t);
    default:
        return va_arg(*ap, int);
    }
}

static uintmax_t arg_unsigned(va_list *ap, enum length len)
{
    switch (len) {
    case LEN_HH:
        return (unsigned char)va_arg(*ap, unsigned);
    case LEN_H:
        return (unsigned short)va_arg(*ap, unsigned);
    case LEN_L:
        return va_arg(*ap, unsigned long);
    case LEN_LL:
        return va_arg(*ap, unsigned long long);
    case LEN_Z:
    case LEN_T:
        return va_arg(*ap, size_t);
    case LEN_J:
        return va_arg(*ap, uintmax_t);
    default:
        return va_arg(*ap, unsigned);
    }
}

static unsigned base_of(char conv)
{
    return conv == 'o' ? 8 : (conv == 'x' || conv == 'X' || conv == 'p') ? 16 : 10;
}

/* Writes v in the base of the conversion with the precision, the # flag's leading octal zero, and
 * `prefix` (sign or 0x). */
static void int_field(out *o, const spec *sp, uintmax_t v, const char *prefix)
{
    const char *digits = sp->conv == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
    unsigned base = base_of(sp->conv);
    char buf[sizeof(uintmax_t) * 3];
    char *p = buf + sizeof(buf);
    for (; v; v /= base)
        *--p = digits[v % base];
    size_t n = (size_t)(buf + sizeof(buf) - p);
    size_t prec = sp->prec < 0 ? 1 : (size_t)sp->prec;
    size_t zeros = prec > n ? prec - n : 0;
    if (sp->conv == 'o' && (sp->flags & F_HASH) && zeros == 0 && (n == 0 || *p != '0'))
        zeros = 1;
    size_t fill = field_start(o, sp, prefix, zeros + n, sp->prec < 0);
    put_rep(o, '0', zeros);
    put_n(o, p, n);
    field_end(o, fill);
}

static void signed_field(out *o, const spec *sp, va_list *ap)
{
    intmax_t v = arg_signed(ap, sp->length);
    char prefix[2] = {sign_char(v < 0, sp->flags), 0};
    int_field(o, sp, v < 0 ? 0 - (uintmax_t)v : (uintmax_t)v, prefix);
}

static void unsigned_field(out *o, const spec *sp, va_list *ap)
{
    uintmax_t v = arg_unsigned(ap, sp->length);
    int hex_prefix = (sp->flags & F_HASH) && v != 0 && (sp->conv == 'x' || sp->conv == 'X');
    int_field(o, sp, v, hex_prefix ? (sp->conv == 'X' ? "0X" : "0x") : "");
}

/* %p as glibc prints it: "(nil)" for NULL, else 0x and lower-case hex digits. */
static void pointer_field(out *o, const spec *sp, va_list *ap)
{
    void *ptr = va_arg(*ap, void *);
    if (!ptr) {
        string_field(o, sp, "(nil)", 5);
        return;
    }
    char prefix[4] = {sign_char(0, sp->flags), 0, 0, 0};
    strcat(prefix, "0x");
    int_field(o, sp, (uintptr_t)ptr, prefix);
}

static void str_field(out *o, const spec *sp, va_list *ap)
{
    const char *s = va_arg(*ap, const char *);
    if (!s) /* as glibc: "(null)" unless the precision is too small for it */
        s = sp->prec < 0 || sp->prec >= 6 ? "(null)" : "";
    string_field(o, sp, s, strnlen(s, sp->prec < 0 ? SIZE_MAX : (size_t)sp->prec));
}

/* ---- doubles: exact decimal expansion in base 10^9 limbs ---- */

#define LIMB_BASE 1000000000u
#define LIMBS 90 /* (2^53 - 1) * 5^1074 has 767 digits: 86 limbs */
#define MAX_DIGITS (LIMBS * 9)

typedef struct big {
    uint32_t limb[LIMBS]; /* little-endian, each < LIMB_BASE; the top one non-zero */
    int n;
} big;

/* A non-negative finite double as d[0].d[1]...d[n-1] x 10^exp, exactly; n = 0 for zero. */
typedef struct decimal {
    char d[MAX_DIGITS]; /* '0'..'9', first and last non-zero */
    int n;
    int exp;
} decimal;

static void big_mul(big *b, uint32_t m)
{
    uint64_t carry = 0;
    for (int i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->limb[i] * m + carry;
        b->limb[i] = (uint32_t)(t % LIMB_BASE);
        carry = t / LIMB_BASE;
    }
    for (; carry; carry /= LIMB_BASE)
        b->limb[b->n++] = (uint32_t)(carry % LIMB_BASE);
}

/* Writes b's decimal digits (no leading zeros) to s and returns their number. */
static int big_digits(const big *b, char *s)
{
    int n = 0;
    for (int i = b->n - 1; i >= 0; i--) {
        char tmp[9];
        uint32_t l = b->limb[i];
        for (int j = 8; j >= 0; j--, l /= 10)
            tmp[j] = (char)('0' + l % 10);
        int skip = 0;
        while (n == 0 && skip < 8 && tmp[skip] == '0')
            skip++;
        memcpy(s + n, tmp + skip, (size_t)(9 - skip));
        n += 9 - skip;
    }
    return n;
}

/* Expands |v| = m * 2^e: times 2^e as an integer, or times 5^-e with -e digits after the point. */
static void to_decimal(double v, decimal *x)
{
    union {
        double d;
        uint64_t u;
    } bits = {.d = v};
    uint64_t m = bits.u & ((1ull << 52) - 1);
    int e = (int)((bits.u >> 52) & 0x7ff), point = 0;
    x->n = x->exp = 0;
    if (e == 0 && m == 0)
        return;
    if (e)
        m |= 1ull << 52;
    e = (e ? e : 1) - 1075;
    big b;
    b.limb[0] = (uint32_t)(m % LIMB_BASE);
    b.limb[1] = (uint32_t)(m / LIMB_BASE);
    b.n = b.limb[1] ? 2 : 1;
    for (int k; e > 0; e -= k) {
        k = e < 29 ? e : 29;
        big_mul(&b, 1u << k);
    }
    for (int k; e < 0; e += k) {
        k = -e < 13 ? -e : 13;
        uint32_t p5 = 1;
        for (int i = 0; i < k; i++)
            p5 *= 5;
        big_mul(&b, p5);
        point += k;
    }
    x->n = big_digits(&b, x->d);
    x->exp = x->n - 1 - point;
    while (x->d[x->n - 1] == '0')
        x->n--;
}

/* The digit of x at the 10^k place. */
static char digit_at(const decimal *x, long k)
{
    long i = (long)x->exp - k;
    return i >= 0 && i < x->n ? x->d[i] : '0';
}

/* Adds one unit in the last place of d[0..n), carrying; all nines (or n = 0) become
 * 1 x 10^(exp + 1). */
static void increment(decimal *x)
{
    int i = x->n - 1;
    while (i >= 0 && x->d[i] == '9')
        x->d[i--] = '0';
    if (i >= 0) {
        x->d[i]++;
        return;
    }
    x->d[0] = '1';
    x->n = x->n ? x->n : 1;
    x->exp++;
}

/* Rounds x to a multiple of 10^k, halves to even (glibc's result in the default rounding mode). */
static void round_at(decimal *x, long k)
{
    long keep = (long)x->exp - k + 1; /* digits at places >= 10^k */
    if (keep >= x->n)
        return;
    if (keep < 0) {
        x->n = x->exp = 0;
        return;
    }
    char first = x->d[keep];
    int odd = keep > 0 && (x->d[keep - 1] - '0') % 2;
    int up = first > '5' || (first == '5' && (x->n > keep + 1 || odd));
    x->n = (int)keep;
    if (up)
        increment(x);
    while (x->n > 0 && x->d[x->n - 1] == '0')
        x->n--;
    if (x->n == 0)
        x->exp = 0;
}

/* Fraction digits actually needed (for %g without #: trailing zeros dropped), capped at prec. */
static long needed(long prec, long last_place)
{
    long need = last_place > 0 ? last_place : 0;
    return need < prec ? need : prec;
}

static size_t fixed_len(const decimal *x, long prec, int hash)
{
    size_t int_digits = x->exp > 0 ? (size_t)x->exp + 1 : 1;
    return int_digits + (prec > 0 || hash ? 1 + (size_t)prec : 0);
}

static void put_fixed(out *o, const decimal *x, long prec, int hash)
{
    for (long k = x->exp > 0 ? x->exp : 0; k >= 0; k--)
        put(o, digit_at(x, k));
    if (prec > 0 || hash)
        put(o, '.');
    for (long k = -1; k >= -prec; k--)
        put(o, digit_at(x, k));
}

static size_t exp_len(const decimal *x, long prec, int hash)
{
    int e = x->exp < 0 ? -x->exp : x->exp;
    return 1 + (prec > 0 || hash ? 1 + (size_t)prec : 0) + 2 + (e >= 100 ? 3 : 2);
}

static void put_exp(out *o, const decimal *x, long prec, int hash, char echar)
{
    int e = x->exp < 0 ? -x->exp : x->exp;
    put(o, digit_at(x, x->exp));
    if (prec > 0 || hash)
        put(o, '.');
    for (long i = 1; i <= prec; i++)
        put(o, digit_at(x, (long)x->exp - i));
    put(o, echar);
    put(o, x->exp < 0 ? '-' : '+');
    if (e >= 100)
        put(o, (char)('0' + e / 100));
    put(o, (char)('0' + e / 10 % 10));
    put(o, (char)('0' + e % 10));
}

/* %g: rounds to P significant digits, then picks %f or %e style; returns the precision to use
 * and sets *style to 'f' or 'e'. */
static long g_style(decimal *x, long prec, int hash, char *style)
{
    long p = prec == 0 ? 1 : prec;
    round_at(x, (long)x->exp - (p - 1));
    long e = x->exp;
    if (p > e && e >= -4) {
        *style = 'f';
        return hash ? p - 1 - e : needed(p - 1 - e, x->n - 1 - e);
    }
    *style = 'e';
    return hash ? p - 1 : needed(p - 1, x->n - 1);
}

static void float_field(out *o, const spec *sp, double v)
{
    int upper = isupper((unsigned char)sp->conv), hash = (sp->flags & F_HASH) != 0;
    char prefix[2] = {sign_char(signbit(v), sp->flags), 0};
    if (!isfinite(v)) {
        const char *s = isnan(v) ? (upper ? "NAN" : "nan") : (upper ? "INF" : "inf");
        size_t fill = field_start(o, sp, prefix, 3, 0);
        put_n(o, s, 3);
        field_end(o, fill);
        return;
    }
    decimal x;
    to_decimal(v, &x);
    long prec = sp->prec < 0 ? 6 : sp->prec;
    char style = (char)tolower((unsigned char)sp->conv);
    if (style == 'g')
        prec = g_style(&x, prec, hash, &style);
    else
        round_at(&x, style == 'f' ? -prec : (long)x.exp - prec);
    size_t len = style == 'f' ? fixed_len(&x, prec, hash) : exp_len(&x, prec, hash);
    size_t fill = field_start(o, sp, prefix, len, 1);
    if (style == 'f')
        put_fixed(o, &x, prec, hash);
    else
        put_exp(o, &x, prec, hash, upper ? 'E' : 'e');
    field_end(o, fill);
}

static double arg_double(va_list *ap, enum length len)
{
    return len == LEN_BIG_L ? (double)va_arg(*ap, long double) : va_arg(*ap, double);
}

/* ---- the driver ---- */

static void char_field(out *o, const spec *sp, va_list *ap)
{
    char c = (char)va_arg(*ap, int);
    string_field(o, sp, &c, 1);
}

/* Performs one conversion; returns 0 when it is not supported (the caller copies it as is). */
static int convert(out *o, const spec *sp, va_list *ap)
{
    switch (sp->conv) {
    case 'd':
    case 'i':
        signed_field(o, sp, ap);
        break;
    case 'u':
    case 'o':
    case 'x':
    case 'X':
        unsigned_field(o, sp, ap);
        break;
    case 'p':
        pointer_field(o, sp, ap);
        break;
    case 's':
        str_field(o, sp, ap);
        break;
    case 'c':
        char_field(o, sp, ap);
        break;
    case '%':
        put(o, '%');
        break;
    case 'n': /* deliberately not supported: consumed so later arguments stay in step */
        (void)va_arg(*ap, void *);
        break;
    case 'f':
    case 'F':
    case 'e':
    case 'E':
    case 'g':
    case 'G':
        float_field(o, sp, arg_double(ap, sp->length));
        break;
    case 'a':
    case 'A':
        (void)arg_double(ap, sp->length);
        return 0;
    default:
        return 0;
    }
    return 1;
}

static void format(out *o, const char *fmt, va_list *ap)
{
    while (*fmt) {
        if (*fmt != '%') {
            put(o, *fmt++);
            continue;
        }
        spec sp;
        const char *start = fmt;
        fmt = parse_spec(fmt + 1, &sp, ap);
        if (!convert(o, &sp, ap))
            put_n(o, start, (size_t)(fmt - start) + (*fmt != '\0'));
        if (*fmt)
            fmt++;
    }
}

int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt, va_list ap)
{
    out o = {buf, n, 0};
    va_list args;
    va_copy(args, ap);
    format(&o, fmt, &args);
    va_end(args);
    if (n > 0)
        buf[o.len < n ? o.len : n - 1] = '\0';
    if (o.len > INT_MAX) {
        errno = EOVERFLOW;
        return -1;
    }
    return (int)o.len;
}

int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

/* ---- console output ---- */

#define PRINT_MAX 4000

static char print_buf[PRINT_MAX + 1];

int vprintf(const char *restrict fmt, va_list ap)
{
    int n = vsnprintf(print_buf, sizeof(print_buf), fmt, ap);
    if (n < 0)
        return -1;
    size_t len = (size_t)n < PRINT_MAX ? (size_t)n : PRINT_MAX;
    if (len)
        hlg__print(print_buf, len);
    return (int)len;
}

int printf(const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vprintf(fmt, ap);
    va_end(ap);
    return r;
}

int puts(const char *s)
{
    return printf("%s\n", s) < 0 ? EOF : 0;
}

int putchar(int c)
{
    char ch = (char)c;
    hlg__print(&ch, 1);
    return (unsigned char)c;
}

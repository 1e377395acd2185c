/* stdlib.c: errno, strto* number parsing, abs, qsort/bsearch, rand and abort for guests. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include "libc_internal.h"

HLG_HOT int errno;

/* Value of digit character c in bases up to 36, or 36 when c is not a digit. */
static int digit_value(unsigned char c)
{
    if (isdigit(c))
        return c - '0';
    if (isalpha(c))
        return tolower(c) - 'a' + 10;
    return 36;
}

/* Skips a "0x"/"0X" prefix (when base is 0 or 16 and a hex digit follows) and resolves base 0. */
static const char *parse_base(const char *s, int *base)
{
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && digit_value(s[2]) < 16;
    if ((*base == 0 || *base == 16) && hex) {
        *base = 16;
        return s + 2;
    }
    if (*base == 0)
        *base = s[0] == '0' ? 8 : 10;
    return s;
}

/* The common part of strto*: parses the magnitude, saturating at ULLONG_MAX (then *overflow is
 * set), and sets *neg for a leading '-'. Sets *endptr as C11 asks. */
static unsigned long long parse(const char *nptr, char **endptr, int base, int *neg, int *overflow)
{
    const char *s = nptr, *digits;
    unsigned long long v = 0;
    *neg = *overflow = 0;
    if (base < 0 || base == 1 || base > 36) {
        errno = EINVAL;
        s = NULL;
    } else {
        while (isspace((unsigned char)*s))
            s++;
        if (*s == '+' || *s == '-')
            *neg = *s++ == '-';
        s = digits = parse_base(s, &base);
        for (int d; (d = digit_value((unsigned char)*s)) < base; s++) {
            if (v > (ULLONG_MAX - (unsigned)d) / (unsigned)base)
                *overflow = 1;
            v = *overflow ? ULLONG_MAX : v * (unsigned)base + (unsigned)d;
        }
        if (s == digits)
            s = NULL;
    }
    if (endptr)
        *endptr = (char *)(s ? s : nptr);
    return v;
}

/* Signed result in [-max - 1, max], clamping with ERANGE. */
static long long to_signed(unsigned long long v, int neg, int overflow, long long max)
{
    unsigned long long limit = (unsigned long long)max + neg;
    if (overflow || v > limit) {
        errno = ERANGE;
        return neg ? -max - 1 : max;
    }
    return neg ? (long long)(0 - v) : (long long)v;
}

/* Unsigned result: a negated magnitude wraps as C11 says; clamps to max with ERANGE. */
static unsigned long long to_unsigned(unsigned long long v, int neg, int overflow,
                                      unsigned long long max)
{
    if (overflow || v > max) {
        errno = ERANGE;
        return max;
    }
    return neg ? (0 - v) & max : v;
}

long long strtoll(const char *restrict nptr, char **restrict endptr, int base)
{
    int neg, overflow;
    unsigned long long v = parse(nptr, endptr, base, &neg, &overflow);
    return to_signed(v, neg, overflow, LLONG_MAX);
}

long strtol(const char *restrict nptr, char **restrict endptr, int base)
{
    int neg, overflow;
    unsigned long long v = parse(nptr, endptr, base, &neg, &overflow);
    return (long)to_signed(v, neg, overflow, LONG_MAX);
}

unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base)
{
    int neg, overflow;
    unsigned long long v = parse(nptr, endptr, base, &neg, &overflow);
    return to_unsigned(v, neg, overflow, ULLONG_MAX);
}

unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base)
{
    int neg, overflow;
    unsigned long long v = parse(nptr, endptr, base, &neg, &overflow);
    return (unsigned long)to_unsigned(v, neg, overflow, ULONG_MAX);
}

int atoi(const char *nptr)
{
    return (int)strtol(nptr, NULL, 10);
}

long atol(const char *nptr)
{
    return strtol(nptr, NULL, 10);
}

int abs(int x)
{
    return x < 0 ? -x : x;
}

long labs(long x)
{
    return x < 0 ? -x : x;
}

long long llabs(long long x)
{
    return x < 0 ? -x : x;
}

static void swap_bytes(char *a, char *b, size_t size)
{
    while (size--) {
        char t = *a;
        *a++ = *b;
        *b++ = t;
    }
}

/* Moves element i of the heap [0, n) down until it is no smaller than its children. */
static void sift_down(char *base, size_t i, size_t n, size_t size,
                      int (*compar)(const void *, const void *))
{
    for (size_t child; (child = 2 * i + 1) < n; i = child) {
        if (child + 1 < n && compar(base + child * size, base + (child + 1) * size) < 0)
            child++;
        if (compar(base + i * size, base + child * size) >= 0)
            return;
        swap_bytes(base + i * size, base + child * size, size);
    }
}

void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *))
{
    char *b = base;
    for (size_t i = nmemb / 2; i-- > 0;)
        sift_down(b, i, nmemb, size, compar);
    for (size_t n = nmemb; n > 1; n--) {
        swap_bytes(b, b + (n - 1) * size, size);
        sift_down(b, 0, n - 1, size, compar);
    }
}

void *bsearch(const void *key, const void *base, size_t nmemb, size_t size,
              int (*compar)(const void *, const void *))
{
    const char *lo = base;
    while (nmemb > 0) {
        const char *mid = lo + (nmemb / 2) * size;
        int c = compar(key, mid);
        if (c == 0)
            return (void *)mid;
        if (c > 0) {
            lo = mid + size;
            nmemb -= nmemb / 2 + 1;
        } else {
            nmemb /= 2;
        }
    }
    return NULL;
}

static uint64_t rand_state = 1;

void srand(unsigned seed)
{
    rand_state = seed;
}

/* splitmix64 (Steele, Lea, Flood 2014): one add and a strong mix per number. */
int rand(void)
{
    uint64_t z = (rand_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    z ^= z >> 31;
    return (int)(z >> 33);
}

void abort(void)
{
    hlg_abort(HLG_LIBC_ABORT_CODE, "abort() called");
}

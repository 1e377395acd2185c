/* stdio.h: formatted output for guests: snprintf into buffers, printf to the host's console. */
#ifndef HLG_STDIO_H
#define HLG_STDIO_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EOF (-1)

/* Formats like C11 snprintf: flags "-+ #0", width and precision (also `*`), length modifiers
 * hh h l ll z t j L, conversions d i u o x X c s p % f F e E g G (L converts a long double
 * argument to double first). Doubles are printed exactly and rounded half-to-even, as glibc
 * does. Not supported: %n (its argument is consumed and nothing is stored), %a/%A (the argument
 * is consumed and the directive is printed as is), wide characters (%lc/%ls print as %c/%s) and
 * positional arguments (%1$d). An unknown conversion is printed as is. Writes at most n bytes
 * including the terminating NUL (nothing when n is 0, so buf may then be NULL) and returns the
 * length the complete output would have had, or -1 with errno = EOVERFLOW when that exceeds
 * INT_MAX. */
int snprintf(char *restrict buf, size_t n, const char *restrict fmt, ...)
    __attribute__((format(printf, 3, 4)));
int vsnprintf(char *restrict buf, size_t n, const char *restrict fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* Console output: each call formats into one buffer (output beyond 4000 bytes is cut off) and
 * hands it to the host in one piece. printf/vprintf return the number of bytes handed over
 * (after truncation) or -1 on a format error; puts appends a newline and returns 0; putchar
 * returns c as an unsigned char. Not reentrant. */
int printf(const char *restrict fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *restrict fmt, va_list ap) __attribute__((format(printf, 1, 0)));
int puts(const char *s);
int putchar(int c);

#ifdef __cplusplus
}
#endif
#endif

/* stdlib.h: heap, number parsing, sorting, rand and abort for guests. */
#ifndef HLG_STDLIB_H
#define HLG_STDLIB_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define EXIT_SUCCESS 0
#define EXIT_FAILURE 1
#define RAND_MAX 0x7fffffff

/* Heap: one region the runtime hands over at start-up. Results are 16-byte aligned. Out of
 * memory yields NULL with errno = ENOMEM (never an abort). malloc(0) returns a unique pointer
 * that must be freed. calloc returns NULL when nmemb * size overflows. realloc(NULL, n) is
 * malloc(n); realloc(p, 0) shrinks p to the minimum block and returns it (it never frees);
 * when realloc fails, p is left untouched. free(NULL) does nothing. free or realloc of a
 * pointer that is not a live block from this heap (double free, overwritten block header) is
 * detected where possible and aborts the call with code 135. Not thread-safe. */
void *malloc(size_t size);
void *calloc(size_t nmemb, size_t size);
void *realloc(void *ptr, size_t size);
void free(void *ptr);

/* Number parsing as in C11: leading white space, optional sign, base 0 (auto: 0x.. hex, 0..
 * octal, else decimal) or 2..36. Out-of-range values clamp to the type's limit and set errno =
 * ERANGE; an invalid base returns 0 and sets errno = EINVAL. *endptr (when not NULL) is set to
 * the first unparsed character, or to nptr when no digits were found. atoi/atol do not report
 * errors. */
int atoi(const char *nptr);
long atol(const char *nptr);
long strtol(const char *restrict nptr, char **restrict endptr, int base);
unsigned long strtoul(const char *restrict nptr, char **restrict endptr, int base);
long long strtoll(const char *restrict nptr, char **restrict endptr, int base);
unsigned long long strtoull(const char *restrict nptr, char **restrict endptr, int base);

int abs(int x);
long labs(long x);
long long llabs(long long x);

/* Sorting (heapsort: O(n log n), not stable, no recursion, no allocation) and binary search. */
void qsort(void *base, size_t nmemb, size_t size, int (*compar)(const void *, const void *));
void *bsearch(const void *key, const void *base, size_t nmemb, size_t size,
              int (*compar)(const void *, const void *));

/* Pseudo-random numbers in 0..RAND_MAX (splitmix64; not cryptographic). The runtime seeds the
 * generator from the host's random seed with srand before hlg_main; without a seed the sequence
 * is the one of srand(1). */
int rand(void);
void srand(unsigned seed);

/* Ends the running call with abort code 136 ("abort() called"). */
_Noreturn void abort(void);

#ifdef __cplusplus
}
#endif
#endif

/* libc_probe.c: built like the guest libc (freestanding, guest headers only) to show that each
 * guest header compiles on its own; libc_test.c calls these probes to check the macros. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static_assert(CHAR_BIT == 8 && SCHAR_MIN == -128 && SCHAR_MAX == 127 && UCHAR_MAX == 255,
              "char limits");
static_assert(CHAR_MIN == SCHAR_MIN && CHAR_MAX == SCHAR_MAX, "x86-64 char is signed");
static_assert(SHRT_MIN == -32768 && SHRT_MAX == 32767 && USHRT_MAX == 65535, "short limits");
static_assert(INT_MIN == -2147483647 - 1 && INT_MAX == 2147483647 && UINT_MAX == 4294967295u,
              "int limits");
static_assert(LONG_MAX == 9223372036854775807L && LONG_MIN == -LONG_MAX - 1 &&
                  ULONG_MAX == 18446744073709551615ul,
              "long limits");
static_assert(LLONG_MAX == LONG_MAX && LLONG_MIN == LONG_MIN && ULLONG_MAX == ULONG_MAX,
              "long long limits");
static_assert(ENOMEM == 12 && EINVAL == 22 && EDOM == 33 && ERANGE == 34 && EOVERFLOW == 75,
              "Linux errno numbers");
static_assert(EOF == -1 && RAND_MAX == 2147483647 && EXIT_FAILURE == 1, "stdio/stdlib macros");

int probe_assert(int v);
int probe_assert_ndebug(int v);
int probe_math_macros(void);

int probe_assert(int v)
{
    assert(v > 0);
    return v;
}

/* Each check sets one bit; all 11 bits set means every macro behaved. */
int probe_math_macros(void)
{
    volatile double zero = 0.0, minus_zero = -0.0;
    int bits = 0, i = 0;
    bits |= (isnan(NAN) != 0) << i++;
    bits |= (isnan(zero / zero) != 0) << i++;
    bits |= (!isnan(1.0)) << i++;
    bits |= (isinf(INFINITY) != 0) << i++;
    bits |= (isinf(-HUGE_VAL) != 0) << i++;
    bits |= (isinf(HUGE_VALF) != 0) << i++;
    bits |= (!isinf(1e308)) << i++;
    bits |= (isfinite(1e308) != 0) << i++;
    bits |= (!isfinite(NAN)) << i++;
    bits |= (signbit(minus_zero) != 0) << i++;
    bits |= (!signbit(zero)) << i++;
    return bits;
}

/* assert.h may be included again after defining NDEBUG; assert must then vanish. */
#define NDEBUG
#include <assert.h>

int probe_assert_ndebug(int v)
{
    assert(v > 0);
    return v;
}

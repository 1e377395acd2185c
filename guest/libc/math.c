/* math.c: exact double/float functions for guests (bit manipulation and SSE, no libcalls). */
#include <math.h>
#include <stdint.h>

#define SIGN_BIT 0x8000000000000000ull
#define FRAC_BITS 52
#define FRAC_MASK ((1ull << FRAC_BITS) - 1)
#define EXP_MASK 0x7ffull
#define EXP_BIAS 1023
#define MIN_EXP (-1074)           /* exponent of the mantissa's unit for subnormals */
#define TWO_52 4503599627370496.0 /* every double at least this large is an integer */

typedef union {
    double d;
    uint64_t u;
} bits64;

static uint64_t to_bits(double x)
{
    bits64 b = {.d = x};
    return b.u;
}

static double from_bits(uint64_t u)
{
    bits64 b = {.u = u};
    return b.d;
}

double fabs(double x)
{
    return from_bits(to_bits(x) & ~SIGN_BIT);
}

float fabsf(float x)
{
    return (float)fabs(x);
}

double copysign(double x, double y)
{
    return from_bits((to_bits(x) & ~SIGN_BIT) | (to_bits(y) & SIGN_BIT));
}

double trunc(double x)
{
    if (!(fabs(x) < TWO_52)) /* already an integer, infinite or NaN */
        return x;
    return copysign((double)(int64_t)x, x);
}

double floor(double x)
{
    double t = trunc(x);
    return t > x ? t - 1.0 : t;
}

double ceil(double x)
{
    double t = trunc(x);
    return t < x ? t + 1.0 : t;
}

double round(double x)
{
    double t = trunc(x);
    /* x - t is exact: both lie in the same binade or t is zero. */
    return fabs(x - t) >= 0.5 ? t + copysign(1.0, x) : t;
}

/* The float versions go through double: every float is a double, and each result is a float. */
float floorf(float x)
{
    return (float)floor(x);
}

float ceilf(float x)
{
    return (float)ceil(x);
}

float truncf(float x)
{
    return (float)trunc(x);
}

float roundf(float x)
{
    return (float)round(x);
}

/* sqrtsd/sqrtss are correctly rounded; inline asm because __builtin_sqrt may call sqrt() to set
 * errno unless -fno-math-errno is given. */
double sqrt(double x)
{
    double r;
    __asm__("sqrtsd %1, %0" : "=x"(r) : "x"(x));
    return r;
}

float sqrtf(float x)
{
    float r;
    __asm__("sqrtss %1, %0" : "=x"(r) : "x"(x));
    return r;
}

/* Splits finite non-zero |x| into mant * 2^exp with mant < 2^53. */
static void split(double x, uint64_t *mant, int *exp)
{
    uint64_t u = to_bits(x);
    int e = (int)((u >> FRAC_BITS) & EXP_MASK);
    *mant = u & FRAC_MASK;
    if (e == 0) {
        *exp = MIN_EXP;
    } else {
        *mant |= 1ull << FRAC_BITS;
        *exp = e - EXP_BIAS - FRAC_BITS;
    }
}

/* Builds mant * 2^exp (exactly representable: mant < 2^53, exp >= MIN_EXP) with x's sign. */
static double join(uint64_t mant, int exp, double sign)
{
    if (mant == 0)
        return copysign(0.0, sign);
    while (mant < (1ull << FRAC_BITS) && exp > MIN_EXP) {
        mant <<= 1;
        exp--;
    }
    uint64_t u = mant & FRAC_MASK;
    if (mant >> FRAC_BITS) /* normal; otherwise subnormal with biased exponent 0 */
        u |= (uint64_t)(exp + EXP_BIAS + FRAC_BITS) << FRAC_BITS;
    return copysign(from_bits(u), sign);
}

/* Exact remainder x - n * y with n = trunc(x / y): long division of the mantissas, shifting
 * the dividend by at most 11 bits at a time so it stays within 64 bits. */
double fmod(double x, double y)
{
    if (isnan(x) || isnan(y) || isinf(x) || y == 0.0)
        return (x * y) / (x * y); /* NaN */
    if (isinf(y) || fabs(x) < fabs(y))
        return x;
    uint64_t mx, my;
    int ex, ey;
    split(x, &mx, &ex);
    split(y, &my, &ey);
    mx %= my;
    while (ex > ey && mx != 0) {
        int s = ex - ey < 11 ? ex - ey : 11;
        mx = (mx << s) % my;
        ex -= s;
    }
    return join(mx, ey, x);
}

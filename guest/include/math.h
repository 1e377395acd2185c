/* math.h: the small set of double/float functions guests get, plus classification macros. */
#ifndef HLG_MATH_H
#define HLG_MATH_H

#ifdef __cplusplus
extern "C" {
#endif

/* Compiler built-ins: constants and classification never call a library. */
#define NAN (__builtin_nanf(""))
#define INFINITY (__builtin_inff())
#define HUGE_VAL (__builtin_huge_val())
#define HUGE_VALF (__builtin_huge_valf())
#define isnan(x) __builtin_isnan(x)
#define isinf(x) __builtin_isinf(x)
#define isfinite(x) __builtin_isfinite(x)
#define signbit(x) __builtin_signbit(x)

/* Exact results (IEEE 754) for every input, NaN and infinities included; errno is never set.
 * sqrt of a negative number is NaN; fmod(x, 0) and fmod(inf, y) are NaN. round rounds halves
 * away from zero. */
double fabs(double x);
float fabsf(float x);
double copysign(double x, double y);
double floor(double x);
float floorf(float x);
double ceil(double x);
float ceilf(float x);
double trunc(double x);
float truncf(float x);
double round(double x);
float roundf(float x);
double sqrt(double x);
float sqrtf(float x);
double fmod(double x, double y);

#ifdef __cplusplus
}
#endif
#endif

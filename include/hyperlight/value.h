/* hyperlight/value.h: typed values that cross the host/guest boundary (shared by both sides). */
#ifndef HYPERLIGHT_VALUE_H
#define HYPERLIGHT_VALUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The type of a value. The numbers are part of the wire format (docs/ABI.md): never renumber. */
typedef enum hl_type {
    HL_TYPE_VOID = 0,
    HL_TYPE_BOOL = 1,
    HL_TYPE_I32 = 2,
    HL_TYPE_U32 = 3,
    HL_TYPE_I64 = 4,
    HL_TYPE_U64 = 5,
    HL_TYPE_F32 = 6,
    HL_TYPE_F64 = 7,
    /* UTF-8, explicit length, no interior NUL; always NUL-terminated in memory */
    HL_TYPE_STRING = 8,
    HL_TYPE_BYTES = 9,
} hl_type;

#define HL_TYPE_COUNT 10

/* Most parameters a function may declare or a call may pass. */
#define HL_MAX_PARAMS 32

/* One typed value. For STRING and BYTES the value borrows memory it does not own: who owns it and
 * for how long is stated by each function that hands one out. A STRING's bytes are followed by a
 * NUL at str.ptr[str.len] whenever the library produced it. */
typedef struct hl_value {
    hl_type type;
    union {
        bool b;
        int32_t i32;
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        float f32;
        double f64;
        struct {
            const char *ptr;
            size_t len;
        } str;
        struct {
            const uint8_t *ptr;
            size_t len;
        } bytes;
    } as;
} hl_value;

/* Constructors, e.g. hl_sandbox_call(sb, "Add", HL_ARGS(hl_i32(1), hl_i32(2)), &out). */
static inline hl_value hl_void(void)
{
    hl_value v = {HL_TYPE_VOID, {0}};
    return v;
}
static inline hl_value hl_bool(bool b)
{
    hl_value v = {HL_TYPE_BOOL, {0}};
    v.as.b = b;
    return v;
}
static inline hl_value hl_i32(int32_t x)
{
    hl_value v = {HL_TYPE_I32, {0}};
    v.as.i32 = x;
    return v;
}
static inline hl_value hl_u32(uint32_t x)
{
    hl_value v = {HL_TYPE_U32, {0}};
    v.as.u32 = x;
    return v;
}
static inline hl_value hl_i64(int64_t x)
{
    hl_value v = {HL_TYPE_I64, {0}};
    v.as.i64 = x;
    return v;
}
static inline hl_value hl_u64(uint64_t x)
{
    hl_value v = {HL_TYPE_U64, {0}};
    v.as.u64 = x;
    return v;
}
static inline hl_value hl_f32(float x)
{
    hl_value v = {HL_TYPE_F32, {0}};
    v.as.f32 = x;
    return v;
}
static inline hl_value hl_f64(double x)
{
    hl_value v = {HL_TYPE_F64, {0}};
    v.as.f64 = x;
    return v;
}
/* A string of len bytes (no NUL needed at ptr[len]; the library adds one when it copies). */
static inline hl_value hl_strn(const char *s, size_t len)
{
    hl_value v = {HL_TYPE_STRING, {0}};
    v.as.str.ptr = s;
    v.as.str.len = len;
    return v;
}
static inline hl_value hl_str(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return hl_strn(s, n);
}
static inline hl_value hl_bytes(const void *p, size_t len)
{
    hl_value v = {HL_TYPE_BYTES, {0}};
    v.as.bytes.ptr = (const uint8_t *)p;
    v.as.bytes.len = len;
    return v;
}

/* An argument list for a call: expands to `array, count`. At least one value is required; pass
 * NULL, 0 for a call without arguments. */
#define HL_ARGS(...)                                                                               \
    ((const hl_value[]){__VA_ARGS__}), (sizeof((hl_value[]){__VA_ARGS__}) / sizeof(hl_value))

/* A parameter list for a signature: expands to `array, count` (use NULL, 0 for none). */
#define HL_PARAMS(...)                                                                             \
    ((const hl_type[]){__VA_ARGS__}), (sizeof((hl_type[]){__VA_ARGS__}) / sizeof(hl_type))

/* "i32", "string", ...; "?" for a number that is not a type. Never NULL. */
static inline const char *hl_type_name(int t)
{
    static const char *const names[HL_TYPE_COUNT] = {"void", "bool", "i32", "u32",    "i64",
                                                     "u64",  "f32",  "f64", "string", "bytes"};
    return (t >= 0 && t < HL_TYPE_COUNT) ? names[t] : "?";
}

#ifdef __cplusplus
}
#endif
#endif

/* mathguest.c: the guest side of tests/kvm/test_libm.c: runs newlib's libm functions, printf,
 * strtod and sscanf over batches of inputs the host sends, so that the host can compare every
 * result with its own glibc. One call handles a whole batch (VM exits are slow under emulation):
 *   Math(name, bytes doubles)           -> bytes doubles: name(x) for each x, or name(x, y) for
 * each pair; float functions (sinf...) take (float)x and return their float result widened to
 * double FormatF64(bytes fmts, bytes doubles) -> bytes: snprintf(fmt, v) for each fmt, for each v
 *   FormatI64(bytes fmts, bytes int64s)  -> likewise; v is cast to the type the fmt's conversion
 *                                          and length modifier expect
 *   FormatStr(bytes fmts, bytes strings) -> likewise with strings
 *   Strtod(bytes strings)                -> bytes: {double value, i64 end offset, i64 errno} each
 *   Scan(bytes fmt/input pairs)          -> bytes: a text rendering of each sscanf's results
 * Lists of strings travel as NUL-terminated strings one after another ("NUL-separated"). */
#include <errno.h>
#include <hyperlight/guest.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "formats.h"

#define UNUSED_ARGS (void)nargs

/* ---- results: built in one static buffer (static storage outlives the call) ---- */
#define OUT_CAP (256u * 1024)
static uint8_t out_buf[OUT_CAP];
static size_t out_len;

static void out_reset(void)
{
    out_len = 0;
}

static int out_put(const void *p, size_t n)
{
    if (n > OUT_CAP - out_len)
        return hlg_fail("results exceed %u bytes", OUT_CAP);
    memcpy(out_buf + out_len, p, n);
    out_len += n;
    return 0;
}

/* Appends printf's output for `fmt` and the NUL after it. */
static int out_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int out_printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = OUT_CAP - out_len;
    int n = vsnprintf((char *)out_buf + out_len, room, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= room)
        return hlg_fail("results exceed %u bytes", OUT_CAP);
    out_len += (size_t)n + 1;
    return 0;
}

static hl_value out_value(void)
{
    return hl_bytes(out_buf, out_len);
}

/* The next string of a NUL-separated list at *pos in b, or NULL at its end. */
static const char *next_string(hl_value b, size_t *pos)
{
    if (*pos >= b.as.bytes.len)
        return NULL;
    const char *s = (const char *)b.as.bytes.ptr + *pos;
    size_t left = b.as.bytes.len - *pos, n = strnlen(s, left);
    if (n == left)
        return NULL;
    *pos += n + 1;
    return s;
}

/* ---- Math ---- */
typedef struct math_fn {
    const char *name;
    double (*d1)(double);
    double (*d2)(double, double);
    float (*f1)(float);
    float (*f2)(float, float);
} math_fn;

static const math_fn math_fns[] = {
    {"sin", sin, 0, 0, 0},       {"cos", cos, 0, 0, 0},     {"tan", tan, 0, 0, 0},
    {"asin", asin, 0, 0, 0},     {"acos", acos, 0, 0, 0},   {"atan", atan, 0, 0, 0},
    {"atan2", 0, atan2, 0, 0},   {"sinh", sinh, 0, 0, 0},   {"cosh", cosh, 0, 0, 0},
    {"tanh", tanh, 0, 0, 0},     {"exp", exp, 0, 0, 0},     {"exp2", exp2, 0, 0, 0},
    {"expm1", expm1, 0, 0, 0},   {"log", log, 0, 0, 0},     {"log2", log2, 0, 0, 0},
    {"log10", log10, 0, 0, 0},   {"log1p", log1p, 0, 0, 0}, {"pow", 0, pow, 0, 0},
    {"sqrt", sqrt, 0, 0, 0},     {"cbrt", cbrt, 0, 0, 0},   {"hypot", 0, hypot, 0, 0},
    {"erf", erf, 0, 0, 0},       {"erfc", erfc, 0, 0, 0},   {"lgamma", lgamma, 0, 0, 0},
    {"tgamma", tgamma, 0, 0, 0}, {"fmod", 0, fmod, 0, 0},   {"floor", floor, 0, 0, 0},
    {"ceil", ceil, 0, 0, 0},     {"round", round, 0, 0, 0}, {"trunc", trunc, 0, 0, 0},
    {"sinf", 0, 0, sinf, 0},     {"cosf", 0, 0, cosf, 0},   {"expf", 0, 0, expf, 0},
    {"logf", 0, 0, logf, 0},     {"powf", 0, 0, 0, powf},   {"sqrtf", 0, 0, sqrtf, 0},
};

static const math_fn *find_math_fn(const char *name)
{
    for (size_t i = 0; i < sizeof math_fns / sizeof math_fns[0]; i++)
        if (strcmp(math_fns[i].name, name) == 0)
            return &math_fns[i];
    return NULL;
}

static double apply(const math_fn *f, const double *x)
{
    if (f->d1)
        return f->d1(x[0]);
    if (f->d2)
        return f->d2(x[0], x[1]);
    if (f->f1)
        return (double)f->f1((float)x[0]);
    return (double)f->f2((float)x[0], (float)x[1]);
}

static int math_batch(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    const math_fn *f = find_math_fn(args[0].as.str.ptr);
    if (!f)
        return hlg_fail("no math function %s", args[0].as.str.ptr);
    size_t arity = (f->d2 || f->f2) ? 2 : 1, n = args[1].as.bytes.len / (8 * arity);
    out_reset();
    for (size_t i = 0; i < n; i++) {
        double x[2], y;
        memcpy(x, args[1].as.bytes.ptr + i * 8 * arity, 8 * arity);
        y = apply(f, x);
        if (out_put(&y, sizeof y) != 0)
            return -1;
    }
    *ret = out_value();
    return 0;
}

/* ---- printf ---- */

/* snprintf of one integer, cast to what the conversion and length modifier expect. */
static int out_int(const char *fmt, int64_t v)
{
    char len[3];
    char conv = conversion_of(fmt, len);
    int is_signed = conv == 'd' || conv == 'i';
    if (conv == 'c')
        return out_printf(fmt, (int)v);
    if (conv == 'p')
        return out_printf(fmt, (void *)(uintptr_t)v);
    if (conv == 0)
        return out_printf(fmt, 0);
    switch (len[0]) {
    case 'l':
        if (len[1] == 'l')
            return is_signed ? out_printf(fmt, (long long)v)
                             : out_printf(fmt, (unsigned long long)v);
        return is_signed ? out_printf(fmt, (long)v) : out_printf(fmt, (unsigned long)v);
    case 'j':
        return is_signed ? out_printf(fmt, (intmax_t)v) : out_printf(fmt, (uintmax_t)v);
    case 'z':
        return is_signed ? out_printf(fmt, (ssize_t)v) : out_printf(fmt, (size_t)v);
    case 't':
        return is_signed ? out_printf(fmt, (ptrdiff_t)v) : out_printf(fmt, (size_t)v);
    default: /* none, h and hh: the argument is promoted to (unsigned) int */
        return is_signed ? out_printf(fmt, (int)v) : out_printf(fmt, (unsigned)v);
    }
}

typedef enum { VALUES_F64, VALUES_I64, VALUES_STR } values_kind;

/* Formats every value of args[1] with every format of args[0]. */
static int format_all(const hl_value *args, hl_value *ret, values_kind kind)
{
    size_t fpos = 0, nvals = args[1].as.bytes.len / 8;
    const char *fmt;
    out_reset();
    while ((fmt = next_string(args[0], &fpos)) != NULL) {
        size_t vpos = 0;
        const char *s;
        if (kind == VALUES_STR) {
            while ((s = next_string(args[1], &vpos)) != NULL)
                if (out_printf(fmt, s) != 0)
                    return -1;
            continue;
        }
        for (size_t i = 0; i < nvals; i++) {
            double d;
            int64_t v;
            memcpy(&d, args[1].as.bytes.ptr + 8 * i, 8);
            memcpy(&v, args[1].as.bytes.ptr + 8 * i, 8);
            if ((kind == VALUES_F64 ? out_printf(fmt, d) : out_int(fmt, v)) != 0)
                return -1;
        }
    }
    *ret = out_value();
    return 0;
}

static int format_f64(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    return format_all(args, ret, VALUES_F64);
}

static int format_i64(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    return format_all(args, ret, VALUES_I64);
}

static int format_str(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    return format_all(args, ret, VALUES_STR);
}

/* ---- strtod ---- */
static int strtod_all(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    size_t pos = 0;
    const char *s;
    out_reset();
    while ((s = next_string(args[0], &pos)) != NULL) {
        char *end = NULL;
        errno = 0;
        double d = strtod(s, &end);
        int64_t rec[3];
        memcpy(&rec[0], &d, 8);
        rec[1] = end - s;
        rec[2] = errno;
        if (out_put(rec, sizeof rec) != 0)
            return -1;
    }
    *ret = out_value();
    return 0;
}

/* ---- sscanf (destinations: formats.h) ---- */
static int out_slot(const scan_slot *s)
{
    uint64_t bits = 0;
    switch (s->kind) {
    case SLOT_INT:
        return out_printf("%d", s->as.i);
    case SLOT_UINT:
        return out_printf("%u", s->as.u);
    case SLOT_LONG:
        return out_printf("%lld", s->as.l);
    case SLOT_SCHAR:
        return out_printf("%d", s->as.c);
    case SLOT_DOUBLE:
        memcpy(&bits, &s->as.d, 8);
        return out_printf("%016llx", (unsigned long long)bits);
    case SLOT_FLOAT:
        memcpy(&bits, &s->as.f, 4);
        return out_printf("%08llx", (unsigned long long)bits);
    default:
        return out_printf("%.*s", SCAN_TEXT - 1, s->as.text);
    }
}

/* sscanf(input, fmt, ...) into zeroed slots; appends its return value then each slot. */
static int scan_one(const char *fmt, const char *input)
{
    scan_slot s[MAX_SCAN];
    memset(s, 0, sizeof s);
    size_t n = scan_slots(fmt, s);
    int r = sscanf(input, fmt, &s[0].as, &s[1].as, &s[2].as, &s[3].as, &s[4].as, &s[5].as);
    if (out_printf("%d", r) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (out_slot(&s[i]) != 0)
            return -1;
    return 0;
}

static int scan_all(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    size_t pos = 0;
    const char *fmt, *input;
    out_reset();
    while ((fmt = next_string(args[0], &pos)) != NULL && (input = next_string(args[0], &pos)))
        if (scan_one(fmt, input) != 0)
            return -1;
    *ret = out_value();
    return 0;
}

static void reg(const char *name, const hl_type *params, size_t n, hlg_fn fn)
{
    int rc = hlg_register(name, HL_TYPE_BYTES, params, n, fn);
    hlg_assert(rc == 0);
}

void hlg_main(void)
{
    const hl_type B = HL_TYPE_BYTES;
    reg("Math", HL_PARAMS(HL_TYPE_STRING, HL_TYPE_BYTES), math_batch);
    reg("FormatF64", HL_PARAMS(B, B), format_f64);
    reg("FormatI64", HL_PARAMS(B, B), format_i64);
    reg("FormatStr", HL_PARAMS(B, B), format_str);
    reg("Strtod", HL_PARAMS(B), strtod_all);
    reg("Scan", HL_PARAMS(B), scan_all);
}

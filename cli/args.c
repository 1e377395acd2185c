/* args.c: parsing hl-run's typed arguments, sizes and levels. */
#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_BYTES_FILE (256u * 1024 * 1024)

static int err_out(char *err, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, len, fmt, ap);
    va_end(ap);
    return -1;
}

static int parse_i64(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 0);
    if (!*s || *end || errno || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_u64(const char *s, unsigned long long hi, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s)) /* strtoull would skip any whitespace, then negate "-1" */
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (*end || errno || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_double(const char *s, double *out)
{
    char *end;
    errno = 0;
    if (!*s || *s == ' ')
        return -1;
    double v = strtod(s, &end);
    if (*end || (errno && !(errno == ERANGE && (v == 0 || isinf(v)))))
        return -1;
    *out = v;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int parse_hex(const char *s, hl_value *out, void **owned, char *err, size_t errlen)
{
    size_t n = strlen(s);
    if (n % 2)
        return err_out(err, errlen, "bytes:%s: odd number of hex digits", s);
    uint8_t *buf = malloc(n / 2 + 1);
    if (!buf)
        return err_out(err, errlen, "out of memory");
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            free(buf);
            return err_out(err, errlen, "bytes:%s: not a hex digit at position %zu", s,
                           2 * i + (hi < 0 ? 1 : 2));
        }
        buf[i] = (uint8_t)(hi << 4 | lo);
    }
    *owned = buf;
    *out = hl_bytes(buf, n / 2);
    return 0;
}

static int read_bytes_file(const char *path, hl_value *out, void **owned, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return err_out(err, errlen, "bytes:@%s: %s", path, strerror(errno));
    if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size > MAX_BYTES_FILE) {
        close(fd);
        return err_out(err, errlen, "bytes:@%s: not a regular file of at most %u bytes", path,
                       MAX_BYTES_FILE);
    }
    size_t n = (size_t)st.st_size, got = 0;
    uint8_t *buf = malloc(n + 1);
    while (buf && got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0 && !(r < 0 && errno == EINTR))
            break;
        got += r > 0 ? (size_t)r : 0;
    }
    close(fd);
    if (!buf || got != n) {
        free(buf);
        return err_out(err, errlen, "bytes:@%s: cannot read", path);
    }
    *owned = buf;
    *out = hl_bytes(buf, n);
    return 0;
}

static int parse_typed(hl_type t, const char *s, hl_value *out, char *err, size_t errlen)
{
    long long i;
    unsigned long long u;
    double d;
    switch (t) {
    case HL_TYPE_I32:
        if (parse_i64(s, INT32_MIN, INT32_MAX, &i) == 0)
            return *out = hl_i32((int32_t)i), 0;
        break;
    case HL_TYPE_I64:
        if (parse_i64(s, INT64_MIN, INT64_MAX, &i) == 0)
            return *out = hl_i64(i), 0;
        break;
    case HL_TYPE_U32:
        if (parse_u64(s, UINT32_MAX, &u) == 0)
            return *out = hl_u32((uint32_t)u), 0;
        break;
    case HL_TYPE_U64:
        if (parse_u64(s, UINT64_MAX, &u) == 0)
            return *out = hl_u64(u), 0;
        break;
    case HL_TYPE_F32:
        if (parse_double(s, &d) == 0)
            return *out = hl_f32((float)d), 0;
        break;
    case HL_TYPE_F64:
        if (parse_double(s, &d) == 0)
            return *out = hl_f64(d), 0;
        break;
    case HL_TYPE_BOOL:
        if (!strcmp(s, "true") || !strcmp(s, "false"))
            return *out = hl_bool(s[0] == 't'), 0;
        break;
    default:
        break;
    }
    return err_out(err, errlen, "'%s' is not a valid %s", s, hl_type_name(t));
}

static const struct {
    const char *prefix;
    hl_type type;
} prefixes[] = {{"i32:", HL_TYPE_I32},  {"u32:", HL_TYPE_U32}, {"i64:", HL_TYPE_I64},
                {"u64:", HL_TYPE_U64},  {"f32:", HL_TYPE_F32}, {"f64:", HL_TYPE_F64},
                {"bool:", HL_TYPE_BOOL}};

static int is_number_hint(hl_type t)
{
    return t >= HL_TYPE_I32 && t <= HL_TYPE_F64;
}

static int parse_bare(const char *s, hl_type hint, hl_value *out, char *err, size_t errlen)
{
    long long i;
    double d;
    if (!strcmp(s, "true") || !strcmp(s, "false"))
        return *out = hl_bool(s[0] == 't'), 0;
    if (is_number_hint(hint) && parse_double(s, &d) == 0)
        return parse_typed(hint, s, out, err, errlen);
    if (parse_i64(s, INT64_MIN, INT64_MAX, &i) == 0) {
        if (i < INT32_MIN || i > INT32_MAX)
            return err_out(err, errlen, "'%s' does not fit in i32 (write i64:%s)", s, s);
        return *out = hl_i32((int32_t)i), 0;
    }
    if (parse_double(s, &d) == 0 && strpbrk(s, "0123456789"))
        return *out = hl_f64(d), 0;
    *out = hl_str(s);
    return 0;
}

int hl_cli_parse_value(const char *s, hl_type hint, hl_value *out, void **owned, char *err,
                       size_t errlen)
{
    *owned = NULL;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        size_t n = strlen(prefixes[i].prefix);
        if (!strncmp(s, prefixes[i].prefix, n))
            return parse_typed(prefixes[i].type, s + n, out, err, errlen);
    }
    if (!strncmp(s, "str:", 4))
        return *out = hl_str(s + 4), 0;
    if (!strncmp(s, "bytes:@", 7))
        return read_bytes_file(s + 7, out, owned, err, errlen);
    if (!strncmp(s, "bytes:", 6))
        return parse_hex(s + 6, out, owned, err, errlen);
    return parse_bare(s, hint, out, err, errlen);
}

int hl_cli_parse_size(const char *s, size_t *out)
{
    char *end;
    errno = 0;
    if (!isdigit((unsigned char)*s)) /* as parse_u64: no sign, no whitespace of any kind */
        return -1;
    unsigned long long v = strtoull(s, &end, 10), mul = 1;
    if (errno || end == s)
        return -1;
    if (*end == 'K' || *end == 'k')
        mul = 1ull << 10, end++;
    else if (*end == 'M' || *end == 'm')
        mul = 1ull << 20, end++;
    else if (*end == 'G' || *end == 'g')
        mul = 1ull << 30, end++;
    if (*end || (mul > 1 && v > SIZE_MAX / mul))
        return -1;
    *out = (size_t)(v * mul);
    return 0;
}

int hl_cli_parse_u32(const char *s, uint32_t *out)
{
    unsigned long long v;
    if (parse_u64(s, UINT32_MAX, &v))
        return -1;
    *out = (uint32_t)v;
    return 0;
}

int hl_cli_parse_port(const char *s, uint16_t *out)
{
    unsigned long long v;
    if (parse_u64(s, UINT16_MAX, &v) || v == 0)
        return -1;
    *out = (uint16_t)v;
    return 0;
}

int hl_cli_parse_log_level(const char *s, hl_log_level *out)
{
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    for (int i = 0; i < 6; i++)
        if (!strcmp(s, names[i]))
            return *out = (hl_log_level)i, 0;
    return -1;
}

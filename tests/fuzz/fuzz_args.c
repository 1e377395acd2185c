/* fuzz_args.c: libFuzzer target for hl-run's argument parser (cli/args.c). The input, cut at its
 * first NUL, goes to hl_cli_parse_value with every hint type, hl_cli_parse_size,
 * hl_cli_parse_u32 and hl_cli_parse_log_level. `bytes:@FILE` is pointed at one fixed small memfd
 * (the fuzzer must not read arbitrary paths). Properties: a parsed value has a real
 * type, a STRING lies inside the argument, BYTES (and only BYTES) are owned and hold the file or
 * the hex digits; typed numbers print and parse back to the same bits; unsigned numbers and sizes
 * start with a digit (no sign, no whitespace); a failure leaves a message. Run with `make fuzz`
 * (mk/fuzz.mk); corpus: tests/fuzz/corpus/args/. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "args.h"
#include "fuzz.h"

#define MAX_ARG 4096

static const uint8_t file_bytes[] = {0xde, 0xad, 0xbe, 0xef, 0x00, 0x7f};
static char file_arg[64]; /* "bytes:@/proc/self/fd/N", N a memfd holding file_bytes */

static void setup(void)
{
    int fd = memfd_create("hl-fuzz-args", MFD_CLOEXEC);
    REQUIRE(fd >= 0 && write(fd, file_bytes, sizeof file_bytes) == (ssize_t)sizeof file_bytes);
    snprintf(file_arg, sizeof file_arg, "bytes:@/proc/self/fd/%d", fd);
}

static const char *const typed_prefix[HL_TYPE_COUNT] = {
    [HL_TYPE_BOOL] = "bool:", [HL_TYPE_I32] = "i32:", [HL_TYPE_U32] = "u32:",
    [HL_TYPE_I64] = "i64:",   [HL_TYPE_U64] = "u64:", [HL_TYPE_F32] = "f32:",
    [HL_TYPE_F64] = "f64:"};

/* Prints v the way a user would type it back, with its type prefix. */
static void format_typed(const hl_value *v, char *buf, size_t len)
{
    const char *p = typed_prefix[v->type];
    switch (v->type) {
    case HL_TYPE_BOOL:
        snprintf(buf, len, "%s%s", p, v->as.b ? "true" : "false");
        break;
    case HL_TYPE_I32:
        snprintf(buf, len, "%s%" PRId32, p, v->as.i32);
        break;
    case HL_TYPE_U32:
        snprintf(buf, len, "%s%" PRIu32, p, v->as.u32);
        break;
    case HL_TYPE_I64:
        snprintf(buf, len, "%s%" PRId64, p, v->as.i64);
        break;
    case HL_TYPE_U64:
        snprintf(buf, len, "%s%" PRIu64, p, v->as.u64);
        break;
    case HL_TYPE_F32:
        snprintf(buf, len, "%s%a", p, (double)v->as.f32);
        break;
    default:
        snprintf(buf, len, "%s%a", p, v->as.f64);
        break;
    }
}

static int same_number(const hl_value *a, const hl_value *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == HL_TYPE_F32 && isnan(a->as.f32))
        return isnan(b->as.f32);
    if (a->type == HL_TYPE_F64 && isnan(a->as.f64))
        return isnan(b->as.f64);
    if (a->type == HL_TYPE_BOOL)
        return a->as.b == b->as.b;
    if (a->type == HL_TYPE_I64 || a->type == HL_TYPE_U64 || a->type == HL_TYPE_F64)
        return a->as.u64 == b->as.u64;
    return a->as.u32 == b->as.u32;
}

static void check_number_round_trip(const hl_value *v)
{
    char text[128], err[256];
    hl_value again;
    void *owned;
    format_typed(v, text, sizeof text);
    int rc = hl_cli_parse_value(text, HL_TYPE_VOID, &again, &owned, err, sizeof err);
    if (rc)
        fprintf(stderr, "'%s' does not parse back: %s\n", text, err);
    REQUIRE(rc == 0 && owned == NULL && same_number(v, &again));
}

static void check_bytes(const char *s, const hl_value *v)
{
    if (strcmp(s, file_arg) == 0) {
        REQUIRE(v->as.bytes.len == sizeof file_bytes &&
                memcmp(v->as.bytes.ptr, file_bytes, sizeof file_bytes) == 0);
        return;
    }
    const char *hex = s + 6; /* "bytes:" */
    static const char digits[] = "0123456789abcdef";
    REQUIRE(strncmp(s, "bytes:", 6) == 0 && strlen(hex) == 2 * v->as.bytes.len);
    for (size_t i = 0; i < v->as.bytes.len; i++) {
        REQUIRE(tolower((unsigned char)hex[2 * i]) == digits[v->as.bytes.ptr[i] >> 4]);
        REQUIRE(tolower((unsigned char)hex[2 * i + 1]) == digits[v->as.bytes.ptr[i] & 15]);
    }
}

static void check_value(const char *s, hl_type hint)
{
    hl_value v;
    void *owned = (void *)1;
    char err[256] = "";
    if (hl_cli_parse_value(s, hint, &v, &owned, err, sizeof err) != 0) {
        REQUIRE(owned == NULL && err[0] != 0);
        return;
    }
    REQUIRE(v.type > HL_TYPE_VOID && v.type < HL_TYPE_COUNT);
    REQUIRE((owned != NULL) == (v.type == HL_TYPE_BYTES));
    switch (v.type) {
    case HL_TYPE_STRING:
        REQUIRE(v.as.str.ptr >= s && v.as.str.ptr + v.as.str.len == s + strlen(s));
        break;
    case HL_TYPE_BYTES:
        REQUIRE(v.as.bytes.ptr == owned);
        check_bytes(s, &v);
        break;
    case HL_TYPE_U32:
    case HL_TYPE_U64:
        /* "u32:N", "u64:N", or a bare N with an unsigned hint */
        REQUIRE(isdigit((unsigned char)s[strncmp(s, "u32:", 4) && strncmp(s, "u64:", 4) ? 0 : 4]));
        check_number_round_trip(&v);
        break;
    default:
        check_number_round_trip(&v);
        break;
    }
    free(owned);
}

static void check_size(const char *s)
{
    size_t v;
    if (hl_cli_parse_size(s, &v) != 0)
        return;
    /* Digits, then at most one suffix; the value is what they say (no wrap-around). */
    size_t i = 0, n = 0;
    int overflow = 0;
    for (; isdigit((unsigned char)s[i]); i++)
        overflow |= __builtin_mul_overflow(n, 10, &n) || __builtin_add_overflow(n, s[i] - '0', &n);
    REQUIRE(i > 0 && !overflow);
    unsigned shift = 0;
    switch (s[i]) {
    case 'k':
    case 'K':
        shift = 10, i++;
        break;
    case 'm':
    case 'M':
        shift = 20, i++;
        break;
    case 'g':
    case 'G':
        shift = 30, i++;
        break;
    default:
        break;
    }
    REQUIRE(s[i] == 0 && n <= (SIZE_MAX >> shift) && v == n << shift);
}

static void check_u32(const char *s)
{
    uint32_t v;
    if (hl_cli_parse_u32(s, &v) != 0)
        return;
    REQUIRE(isdigit((unsigned char)s[0]));
}

static void check_log_level(const char *s)
{
    static const char *const names[] = {"off", "error", "warn", "info", "debug", "trace"};
    hl_log_level l;
    if (hl_cli_parse_log_level(s, &l) != 0)
        return;
    REQUIRE((unsigned)l < 6 && strcmp(s, names[l]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!file_arg[0])
        setup();
    if (size > MAX_ARG)
        return 0;
    char *s = malloc(size + 1); /* exact size: a read past the NUL is caught */
    REQUIRE(s);
    memcpy(s, data, size);
    s[size] = 0;
    if (strncmp(s, "bytes:@", 7) == 0) {
        free(s);
        s = strdup(file_arg);
        REQUIRE(s);
    }
    for (int t = HL_TYPE_VOID; t < HL_TYPE_COUNT; t++)
        check_value(s, (hl_type)t);
    check_size(s);
    check_u32(s);
    check_log_level(s);
    free(s);
    return 0;
}

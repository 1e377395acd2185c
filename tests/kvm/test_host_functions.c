/* test_host_functions.c: guests calling host functions: every type both ways, deny-by-default,
 * wrong types, failing host functions and their messages reaching the guest as errors it can
 * handle, bad results, re-entrant calls, and many host calls within one guest call. */
#include <math.h>

#include "kvm_common.h"

/* What the host functions saw (passed as `user`). */
typedef struct seen {
    int calls;
    char text[512];
    hl_sandbox *sb;
    int reenter_rc;
    char reenter_error[256];
    char *big;
} seen;

static int host_echo(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    CHECK_EQ(nargs, 1);
    CHECK_TYPE(args[0], HL_TYPE_STRING);
    CHECK(args[0].as.str.len < sizeof s->text);
    CHECK_EQ(args[0].as.str.ptr[args[0].as.str.len], '\0'); /* NUL-terminated for the host */
    memcpy(s->text, args[0].as.str.ptr, args[0].as.str.len + 1);
    s->calls++;
    *ret = hl_strn(s->text, args[0].as.str.len); /* owned via user: valid after we return */
    return 0;
}

static int host_add(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    (void)nargs;
    s->calls++;
    *ret = hl_i32((int32_t)((uint32_t)args[0].as.i32 + (uint32_t)args[1].as.i32));
    return 0;
}

static void hex(char *out, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = '\0';
}

/* (bool, i32, u32, i64, u64, f32, f64, string, bytes) -> string describing them exactly. */
static int host_all_types(void *user, const hl_value *a, size_t nargs, hl_value *ret)
{
    static const hl_type types[] = {HL_TYPE_BOOL, HL_TYPE_I32,    HL_TYPE_U32,
                                    HL_TYPE_I64,  HL_TYPE_U64,    HL_TYPE_F32,
                                    HL_TYPE_F64,  HL_TYPE_STRING, HL_TYPE_BYTES};
    seen *s = user;
    char bytes[64];
    uint32_t f32;
    uint64_t f64;
    CHECK_EQ(nargs, 9);
    for (size_t i = 0; i < nargs; i++)
        CHECK_TYPE(a[i], types[i]);
    CHECK(a[8].as.bytes.len < 32);
    hex(bytes, a[8].as.bytes.ptr, a[8].as.bytes.len);
    memcpy(&f32, &a[5].as.f32, 4);
    memcpy(&f64, &a[6].as.f64, 8);
    snprintf(s->text, sizeof s->text, "%s %d %u %lld %llu %g/%08x %g/%016llx %s/%zu %s/%zu",
             a[0].as.b ? "true" : "false", a[1].as.i32, a[2].as.u32, (long long)a[3].as.i64,
             (unsigned long long)a[4].as.u64, (double)a[5].as.f32, f32, a[6].as.f64,
             (unsigned long long)f64, a[7].as.str.ptr, a[7].as.str.len, bytes, a[8].as.bytes.len);
    s->calls++;
    *ret = hl_str(s->text);
    return 0;
}

static int host_echo_bytes(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    (void)nargs;
    CHECK(args[0].as.bytes.len <= sizeof s->text);
    memcpy(s->text, args[0].as.bytes.ptr, args[0].as.bytes.len);
    *ret = hl_bytes(s->text, args[0].as.bytes.len);
    return 0;
}

static int host_echo_double(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)nargs;
    *ret = args[0];
    return 0;
}

static int host_failing(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_str("the host says no");
    return -1;
}

static int host_failing_silently(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs, (void)ret;
    return 1;
}

static int host_wrong_type(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(5); /* registered as returning string */
    return 0;
}

static int host_null_string(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_strn(NULL, 5);
    return 0;
}

static int host_null_bytes(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_bytes(NULL, 5);
    return 0;
}

static int host_bad_utf8(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_str("caf\xe9"); /* Latin-1, not UTF-8 */
    return 0;
}

static int host_failing_bad_utf8(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_str("no \xff way");
    return -1;
}

static int host_void(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    (void)args, (void)nargs, (void)ret; /* ret stays void */
    s->calls++;
    return 0;
}

static int host_big(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    (void)args, (void)nargs;
    *ret = hl_str(s->big);
    return 0;
}

static int host_reenter(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    seen *s = user;
    hl_value r;
    (void)args, (void)nargs;
    s->reenter_rc = hl_sandbox_call(s->sb, "Echo", HL_ARGS(hl_str("inner")), &r);
    snprintf(s->reenter_error, sizeof s->reenter_error, "%s", hl_last_error());
    *ret = hl_str("outer");
    return 0;
}

/* A sandbox with every host function above registered, user = s. */
static hl_sandbox *host_sandbox(const hl_config *cfg, seen *s)
{
    static const hl_type all[] = {HL_TYPE_BOOL, HL_TYPE_I32,    HL_TYPE_U32,
                                  HL_TYPE_I64,  HL_TYPE_U64,    HL_TYPE_F32,
                                  HL_TYPE_F64,  HL_TYPE_STRING, HL_TYPE_BYTES};
    hl_sandbox *sb = new_sandbox(cfg);
    memset(s, 0, sizeof *s);
    s->sb = sb;
    CHECK_OK(hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, s));
    CHECK_OK(hl_sandbox_register(sb, "HostAdd", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32),
                                 host_add, s));
    CHECK_OK(hl_sandbox_register(sb, "HostAllTypes", HL_TYPE_STRING, all, COUNT_OF(all),
                                 host_all_types, s));
    CHECK_OK(hl_sandbox_register(sb, "HostEchoBytes", HL_TYPE_BYTES, HL_PARAMS(HL_TYPE_BYTES),
                                 host_echo_bytes, s));
    CHECK_OK(hl_sandbox_register(sb, "HostEchoDouble", HL_TYPE_F64, HL_PARAMS(HL_TYPE_F64),
                                 host_echo_double, s));
    CHECK_OK(hl_sandbox_register(sb, "HostFailing", HL_TYPE_STRING, NULL, 0, host_failing, s));
    CHECK_OK(hl_sandbox_register(sb, "HostFailingSilently", HL_TYPE_STRING, NULL, 0,
                                 host_failing_silently, s));
    CHECK_OK(hl_sandbox_register(sb, "HostWrongType", HL_TYPE_STRING, NULL, 0, host_wrong_type, s));
    CHECK_OK(
        hl_sandbox_register(sb, "HostNullString", HL_TYPE_STRING, NULL, 0, host_null_string, s));
    CHECK_OK(hl_sandbox_register(sb, "HostNullBytes", HL_TYPE_BYTES, NULL, 0, host_null_bytes, s));
    CHECK_OK(hl_sandbox_register(sb, "HostBadUtf8", HL_TYPE_STRING, NULL, 0, host_bad_utf8, s));
    CHECK_OK(hl_sandbox_register(sb, "HostFailingBadUtf8", HL_TYPE_STRING, NULL, 0,
                                 host_failing_bad_utf8, s));
    CHECK_OK(hl_sandbox_register(sb, "HostVoid", HL_TYPE_VOID, NULL, 0, host_void, s));
    CHECK_OK(hl_sandbox_register(sb, "HostBig", HL_TYPE_STRING, NULL, 0, host_big, s));
    CHECK_OK(hl_sandbox_register(sb, "HostReenter", HL_TYPE_STRING, NULL, 0, host_reenter, s));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

/* The text CallHostNamed(name) returned. */
static hl_value call_named(hl_sandbox *sb, const char *name)
{
    return CALL_OK(sb, HL_TYPE_STRING, "CallHostNamed", HL_ARGS(hl_str(name)));
}

/* ---- every type, both ways ---- */
TEST(host_echo_roundtrips_strings)
{
    static const char utf8[] = "gr\xc3\xbc\xc3\x9f \xf0\x9f\x98\x80";
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("hello"))), "hello");
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str(""))), "");
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str(utf8))), utf8);
    CHECK_EQ(s.calls, 3);
    hl_sandbox_destroy(sb);
}

TEST(host_add_receives_and_returns_i32)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostAdd", HL_ARGS(hl_i32(40), hl_i32(2))).as.i32, 42);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostAdd", HL_ARGS(hl_i32(-7), hl_i32(-8))).as.i32, -15);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostAdd", HL_ARGS(hl_i32(INT32_MAX), hl_i32(1))).as.i32,
             INT32_MIN);
    CHECK_EQ(s.calls, 3);
    hl_sandbox_destroy(sb);
}

TEST(host_all_types_receive_exact_values)
{
    static const uint8_t raw[] = {0x0a, 0x0b, 0x00, 0xff};
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    hl_value r = CALL_OK(sb, HL_TYPE_STRING, "CallHostAllTypes",
                         HL_ARGS(hl_bool(true), hl_i32(-5), hl_u32(UINT32_MAX), hl_i64(INT64_MIN),
                                 hl_u64(UINT64_MAX), hl_f32(1.5f), hl_f64(-0.0),
                                 hl_str("h\xc3\xa9llo"), hl_bytes(raw, sizeof raw)));
    CHECK_STR_VALUE(r, "true -5 4294967295 -9223372036854775808 18446744073709551615 "
                       "1.5/3fc00000 -0/8000000000000000 h\xc3\xa9llo/6 0a0b00ff/4");
    r = CALL_OK(sb, HL_TYPE_STRING, "CallHostAllTypes",
                HL_ARGS(hl_bool(false), hl_i32(0), hl_u32(0), hl_i64(0), hl_u64(0),
                        hl_f32(-INFINITY), hl_f64(NAN), hl_str(""), hl_bytes(NULL, 0)));
    CHECK_STR_VALUE(r, "false 0 0 0 0 -inf/ff800000 nan/7ff8000000000000 /0 /0");
    CHECK_EQ(s.calls, 2);
    hl_sandbox_destroy(sb);
}

TEST(host_echo_bytes_roundtrips_every_byte_value)
{
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)i;
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    hl_value r = CALL_OK(sb, HL_TYPE_BYTES, "CallHostEchoBytes", HL_ARGS(hl_bytes(all, 256)));
    CHECK_EQ(r.as.bytes.len, 256);
    CHECK_MEMEQ(r.as.bytes.ptr, all, 256);
    r = CALL_OK(sb, HL_TYPE_BYTES, "CallHostEchoBytes", HL_ARGS(hl_bytes(NULL, 0)));
    CHECK_EQ(r.as.bytes.len, 0);
    hl_sandbox_destroy(sb);
}

TEST(host_echo_double_is_bit_exact)
{
    static const uint64_t bits[] = {0x8000000000000000ull, 0x7ff0000000000000ull,
                                    0x7ff8dead0000beefull, 0x0000000000000001ull,
                                    0x400921fb54442d18ull};
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    for (size_t i = 0; i < COUNT_OF(bits); i++) {
        hl_value arg = hl_f64(0);
        uint64_t got;
        memcpy(&arg.as.f64, &bits[i], 8);
        hl_value r = CALL_OK(sb, HL_TYPE_F64, "CallHostEchoDouble", &arg, 1);
        memcpy(&got, &r.as.f64, 8);
        CHECK_U64_EQ(got, bits[i]);
    }
    hl_sandbox_destroy(sb);
}

TEST(host_void_function_returns_void)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(call_named(sb, "HostVoid"), "ok: void");
    CHECK_EQ(s.calls, 1);
    hl_sandbox_destroy(sb);
}

TEST(host_called_many_times_within_one_guest_call)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostMany", HL_ARGS(hl_i32(1000))).as.i32, 1000);
    CHECK_EQ(s.calls, 1000);
    CHECK_STREQ(s.text, "call 999");
    hl_sandbox_destroy(sb);
}

/* ---- errors the guest sees and handles ---- */
TEST(host_unknown_function_is_a_clean_error_in_the_guest)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostUnknown", NULL, 0),
                    "NoSuchHostFunction: rc=-5: host function 'NoSuchHostFunction' is not "
                    "registered");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("after"))), "after");
    hl_sandbox_destroy(sb);
}

TEST(host_functions_are_deny_by_default)
{
    hl_sandbox *sb = ready_sandbox(NULL); /* nothing registered */
    CALL_FAILS(sb, HL_EGUEST, "CallHostEcho", HL_ARGS(hl_str("x")));
    CHECK_ERROR_IS("guest function 'CallHostEcho' failed: HostEcho failed (-5): host function "
                   "'HostEcho' is not registered");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(host_function_with_wrong_argument_types_is_denied)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostWrongTypes", NULL, 0),
                    "HostAdd: rc=-5: argument 1 of host function 'HostAdd' must be i32, got "
                    "string");
    CHECK_EQ(s.calls, 0); /* the host function never ran */
    hl_sandbox_destroy(sb);
}

TEST(host_function_failure_message_reaches_the_guest)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostFailing", NULL, 0),
                    "HostFailing: rc=-4: the host says no");
    CHECK_STR_VALUE(call_named(sb, "HostFailingSilently"),
                    "HostFailingSilently: rc=-4: host function 'HostFailingSilently' failed");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(host_function_returning_undeclared_type_is_an_error_in_the_guest)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(call_named(sb, "HostWrongType"),
                    "HostWrongType: rc=-4: host function 'HostWrongType' returned i32, not its "
                    "declared string");
    CHECK_STR_VALUE(call_named(sb, "HostNullString"),
                    "HostNullString: rc=-4: host function 'HostNullString' returned a NULL string");
    CHECK_STR_VALUE(call_named(sb, "HostNullBytes"),
                    "HostNullBytes: rc=-4: host function 'HostNullBytes' returned a NULL bytes");
    CHECK_STR_VALUE(call_named(sb, "HostBadUtf8"),
                    "HostBadUtf8: rc=-4: host function 'HostBadUtf8' returned a string that is "
                    "not UTF-8");
    CHECK_STR_VALUE(call_named(sb, "HostFailingBadUtf8"),
                    "HostFailingBadUtf8: rc=-4: host function 'HostFailingBadUtf8' failed");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(host_result_bigger_than_input_buffer_is_an_error_in_the_guest)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    char *big = malloc(100 * 1024);
    CHECK(big);
    memset(big, 'b', 100 * 1024 - 1);
    big[100 * 1024 - 1] = '\0';
    s.big = big;
    CHECK_STR_VALUE(call_named(sb, "HostBig"),
                    "HostBig: rc=-7: result of host function 'HostBig' does not fit the input "
                    "buffer");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
    free(big);
}

TEST(host_function_cannot_reenter_its_sandbox)
{
    seen s;
    hl_sandbox *sb = host_sandbox(NULL, &s);
    CHECK_STR_VALUE(call_named(sb, "HostReenter"), "ok: outer");
    CHECK_EQ(s.reenter_rc, HL_ESTATE);
    CHECK_STREQ(s.reenter_error, "re-entrant call: the sandbox is already running a call");
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("after"))), "after");
    hl_sandbox_destroy(sb);
}

TEST(host_functions_are_per_sandbox)
{
    seen s1, s2;
    hl_sandbox *a = host_sandbox(NULL, &s1), *b = host_sandbox(NULL, &s2);
    CHECK_STR_VALUE(CALL_OK(a, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("to a"))), "to a");
    CHECK_EQ(s1.calls, 1);
    CHECK_EQ(s2.calls, 0);
    CHECK_STR_VALUE(CALL_OK(b, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("to b"))), "to b");
    CHECK_EQ(s1.calls, 1);
    CHECK_EQ(s2.calls, 1);
    hl_sandbox_destroy(a);
    hl_sandbox_destroy(b);
}

static int host_calls_other_sandbox(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    hl_sandbox *other = user;
    hl_value r;
    (void)nargs;
    if (hl_sandbox_call(other, "Echo", args, 1, &r) != 0) {
        *ret = hl_str("inner call failed");
        return -1;
    }
    *ret = r; /* owned by `other` until its next call: still valid when this returns */
    return 0;
}

TEST(host_function_may_call_another_sandbox)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 1000;
    hl_sandbox *inner = ready_sandbox(&cfg), *outer = new_sandbox(&cfg);
    CHECK_OK(hl_sandbox_register(outer, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_calls_other_sandbox, inner));
    CHECK_OK(hl_sandbox_init(outer));
    for (int i = 0; i < 50; i++)
        CHECK_STR_VALUE(CALL_OK(outer, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("nested"))),
                        "nested");
    CHECK_EQ(CALL_OK(outer, HL_TYPE_I32, "CallHostMany", HL_ARGS(hl_i32(100))).as.i32, 100);
    CHECK(!hl_sandbox_is_poisoned(inner));
    CHECK(!hl_sandbox_is_poisoned(outer));
    hl_sandbox_destroy(outer);
    hl_sandbox_destroy(inner);
}

static const hl_test tests[] = {
    TEST_ENTRY(host_echo_roundtrips_strings),
    TEST_ENTRY(host_add_receives_and_returns_i32),
    TEST_ENTRY(host_all_types_receive_exact_values),
    TEST_ENTRY(host_echo_bytes_roundtrips_every_byte_value),
    TEST_ENTRY(host_echo_double_is_bit_exact),
    TEST_ENTRY(host_void_function_returns_void),
    TEST_ENTRY(host_called_many_times_within_one_guest_call),
    TEST_ENTRY(host_unknown_function_is_a_clean_error_in_the_guest),
    TEST_ENTRY(host_functions_are_deny_by_default),
    TEST_ENTRY(host_function_with_wrong_argument_types_is_denied),
    TEST_ENTRY(host_function_failure_message_reaches_the_guest),
    TEST_ENTRY(host_function_returning_undeclared_type_is_an_error_in_the_guest),
    TEST_ENTRY(host_result_bigger_than_input_buffer_is_an_error_in_the_guest),
    TEST_ENTRY(host_function_cannot_reenter_its_sandbox),
    TEST_ENTRY(host_functions_are_per_sandbox),
    TEST_ENTRY(host_function_may_call_another_sandbox),
};

RUN_TESTS(tests)

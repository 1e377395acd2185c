/* test_calls.c: calling guest functions: every type round-trips bit-exactly, many-argument calls,
 * argument checks and their exact errors, big arguments, guest failures, state across calls. */

#include "hyperlight/abi.h"
#include "kvm_common.h"

/* ---- round trips of every type ---- */
TEST(call_echo_roundtrips_string)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("hello"))), "hello");
    hl_sandbox_destroy(sb);
}

TEST(call_echo_roundtrips_empty_string)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str(""))), "");
    /* a zero-length string may even have a NULL pointer */
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_strn(NULL, 0))), "");
    hl_sandbox_destroy(sb);
}

TEST(call_echo_roundtrips_utf8_string)
{
    static const char text[] =
        "h\xc3\xa9llo w\xc3\xb6rld \xe2\x9c\x93 \xf0\x9d\x84\x9e \xe4\xb8\xad";
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str(text))), text);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_string_without_nul_terminator_gets_one)
{
    const char text[] = {'a', 'b', 'c', 'X'}; /* only the first 3 bytes are passed */
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_strn(text, 3))), "abc");
    hl_sandbox_destroy(sb);
}

TEST(call_echo_bytes_roundtrips_every_byte_value)
{
    uint8_t all[256];
    for (int i = 0; i < 256; i++)
        all[i] = (uint8_t)(255 - i);
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_value r = CALL_OK(sb, HL_TYPE_BYTES, "EchoBytes", HL_ARGS(hl_bytes(all, sizeof all)));
    CHECK_EQ(r.as.bytes.len, 256);
    CHECK_MEMEQ(r.as.bytes.ptr, all, sizeof all);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_bytes_roundtrips_empty_bytes)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_value r = CALL_OK(sb, HL_TYPE_BYTES, "EchoBytes", HL_ARGS(hl_bytes(NULL, 0)));
    CHECK_EQ(r.as.bytes.len, 0);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_i32_roundtrips_extremes)
{
    static const int32_t v[] = {0, 1, -1, 42, INT32_MIN, INT32_MAX};
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(v); i++)
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "EchoI32", HL_ARGS(hl_i32(v[i]))).as.i32, v[i]);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_u32_roundtrips_extremes)
{
    static const uint32_t v[] = {0, 1, 0x80000000u, UINT32_MAX};
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(v); i++)
        CHECK_U64_EQ(CALL_OK(sb, HL_TYPE_U32, "EchoU32", HL_ARGS(hl_u32(v[i]))).as.u32, v[i]);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_i64_roundtrips_extremes)
{
    static const int64_t v[] = {0, -1, INT64_MIN, INT64_MAX, 0x123456789abcdefll};
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(v); i++)
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I64, "EchoI64", HL_ARGS(hl_i64(v[i]))).as.i64, v[i]);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_u64_roundtrips_extremes)
{
    static const uint64_t v[] = {0, 1, 0x8000000000000000ull, UINT64_MAX};
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(v); i++)
        CHECK_U64_EQ(CALL_OK(sb, HL_TYPE_U64, "EchoU64", HL_ARGS(hl_u64(v[i]))).as.u64, v[i]);
    hl_sandbox_destroy(sb);
}

TEST(call_echo_bool_roundtrips_both_values)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_BOOL, "EchoBool", HL_ARGS(hl_bool(true))).as.b, true);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_BOOL, "EchoBool", HL_ARGS(hl_bool(false))).as.b, false);
    hl_sandbox_destroy(sb);
}

/* f32 bit patterns: 0, -0, 1.5, FLT_MIN, smallest denormal, FLT_MAX, +inf, -inf, quiet NaN,
 * NaN with a payload, negative NaN, signalling NaN. */
static const uint32_t f32_bits[] = {0x00000000, 0x80000000, 0x3fc00000, 0x00800000,
                                    0x00000001, 0x7f7fffff, 0x7f800000, 0xff800000,
                                    0x7fc00000, 0x7fc12345, 0xffc00001, 0x7fa00000};

TEST(call_echo_float_roundtrips_bit_exact_incl_nan_inf_negative_zero)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(f32_bits); i++) {
        hl_value arg = hl_f32(0);
        uint32_t got;
        memcpy(&arg.as.f32, &f32_bits[i], 4);
        hl_value r = CALL_OK(sb, HL_TYPE_F32, "EchoFloat", &arg, 1);
        memcpy(&got, &r.as.f32, 4);
        CHECK_U64_EQ(got, f32_bits[i]);
    }
    hl_sandbox_destroy(sb);
}

static const uint64_t f64_bits[] = {
    0x0000000000000000ull, 0x8000000000000000ull, 0x4002000000000000ull, /* 0, -0, 2.25 */
    0x0010000000000000ull, 0x0000000000000001ull, 0x7fefffffffffffffull, /* min, denormal, max */
    0x7ff0000000000000ull, 0xfff0000000000000ull, 0x7ff8000000000000ull, /* inf, -inf, NaN */
    0x7ff8dead0000beefull, 0xfff8000000000001ull, 0x7ff4000000000000ull, /* NaNs */
};

TEST(call_echo_double_roundtrips_bit_exact_incl_nan_inf_negative_zero)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(f64_bits); i++) {
        hl_value arg = hl_f64(0);
        uint64_t got;
        memcpy(&arg.as.f64, &f64_bits[i], 8);
        hl_value r = CALL_OK(sb, HL_TYPE_F64, "EchoDouble", &arg, 1);
        memcpy(&got, &r.as.f64, 8);
        CHECK_U64_EQ(got, f64_bits[i]);
    }
    hl_sandbox_destroy(sb);
}

TEST(call_set_byte_array_to_zero_returns_zeroed_copy)
{
    uint8_t in[100], zero[100] = {0};
    memset(in, 0xab, sizeof in);
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_value r = CALL_OK(sb, HL_TYPE_BYTES, "SetByteArrayToZero", HL_ARGS(hl_bytes(in, 100)));
    CHECK_EQ(r.as.bytes.len, 100);
    CHECK_MEMEQ(r.as.bytes.ptr, zero, 100);
    CHECK_EQ(in[0], 0xab); /* the caller's bytes were copied, not changed */
    CHECK_EQ(in[99], 0xab);
    hl_sandbox_destroy(sb);
}

/* ---- many arguments ---- */
TEST(call_print_two_to_eleven_args_formats_every_type)
{
    static const char *const names[] = {
        "PrintTwoArgs",   "PrintThreeArgs", "PrintFourArgs", "PrintFiveArgs", "PrintSixArgs",
        "PrintSevenArgs", "PrintEightArgs", "PrintNineArgs", "PrintTenArgs",  "PrintElevenArgs"};
    static const char *const expect[] = {
        "msg:hello 42",
        "msg:hello 42 -9000000000",
        "msg:hello 42 -9000000000 four",
        "msg:hello 42 -9000000000 four five",
        "msg:hello 42 -9000000000 four five true",
        "msg:hello 42 -9000000000 four five true false",
        "msg:hello 42 -9000000000 four five true false 4000000000",
        "msg:hello 42 -9000000000 four five true false 4000000000 18446744073709551615",
        "msg:hello 42 -9000000000 four five true false 4000000000 18446744073709551615 1.500",
        ("msg:hello 42 -9000000000 four five true false 4000000000 18446744073709551615 1.500 "
         "-2.250"),
    };
    const hl_value args[] = {hl_str("hello"), hl_i32(42),          hl_i64(-9000000000ll),
                             hl_str("four"),  hl_str("five"),      hl_bool(true),
                             hl_bool(false),  hl_u32(4000000000u), hl_u64(UINT64_MAX),
                             hl_f32(1.5f),    hl_f64(-2.25)};
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(names); i++)
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, names[i], args, i + 2), expect[i]);
    hl_sandbox_destroy(sb);
}

TEST(call_sum16_passes_sixteen_arguments_in_order)
{
    hl_value args[16];
    int64_t want = 0;
    for (int i = 0; i < 16; i++) {
        int32_t v = (i % 2 ? -1 : 1) * (INT32_MAX - i);
        args[i] = hl_i32(v);
        want += (int64_t)v * (i + 1);
    }
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I64, "Sum16", args, 16).as.i64, want);
    hl_sandbox_destroy(sb);
}

/* ---- argument errors ---- */
TEST(call_with_wrong_argument_count_fails_with_EARGCOUNT)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EARGCOUNT, "Echo", HL_ARGS(hl_str("a"), hl_str("b")));
    CHECK_ERROR_IS("guest function 'Echo' takes 1 argument, 2 given");
    CALL_FAILS(sb, HL_EARGCOUNT, "Echo", NULL, 0);
    CHECK_ERROR_IS("guest function 'Echo' takes 1 argument, 0 given");
    CALL_FAILS(sb, HL_EARGCOUNT, "GetStatic", HL_ARGS(hl_i32(1)));
    CHECK_ERROR_IS("guest function 'GetStatic' takes 0 arguments, 1 given");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("still fine"))),
                    "still fine");
    hl_sandbox_destroy(sb);
}

TEST(call_with_more_than_max_params_fails_with_EARGCOUNT)
{
    hl_value args[HL_MAX_PARAMS + 1];
    for (int i = 0; i <= HL_MAX_PARAMS; i++)
        args[i] = hl_i32(i);
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EARGCOUNT, "Sum16", args, HL_MAX_PARAMS + 1);
    CHECK_ERROR_IS("33 arguments; at most 32");
    hl_sandbox_destroy(sb);
}

TEST(call_with_wrong_argument_type_fails_with_EARGTYPE)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EARGTYPE, "PrintTwoArgs", HL_ARGS(hl_str("x"), hl_str("42")));
    CHECK_ERROR_IS("argument 2 of guest function 'PrintTwoArgs' must be i32, got string");
    CALL_FAILS(sb, HL_EARGTYPE, "EchoU32", HL_ARGS(hl_i32(1)));
    CHECK_ERROR_IS("argument 1 of guest function 'EchoU32' must be u32, got i32");
    CALL_FAILS(sb, HL_EARGTYPE, "EchoDouble", HL_ARGS(hl_f32(1)));
    CHECK_ERROR_IS("argument 1 of guest function 'EchoDouble' must be f64, got f32");
    CALL_FAILS(sb, HL_EARGTYPE, "EchoBytes", HL_ARGS(hl_str("")));
    CHECK_ERROR_IS("argument 1 of guest function 'EchoBytes' must be bytes, got string");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(call_unknown_function_fails_with_ENOTFOUND)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_ENOTFOUND, "NoSuchFunction", NULL, 0);
    CHECK_ERROR_IS("guest function 'NoSuchFunction' not found");
    CALL_FAILS(sb, HL_ENOTFOUND, "echo", HL_ARGS(hl_str("names are case-sensitive")));
    CALL_FAILS(sb, HL_ENOTFOUND, "", NULL, 0);
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(call_rejects_null_sandbox_name_and_args_with_EINVAL)
{
    hl_value r;
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_RC(hl_sandbox_call(NULL, "Echo", HL_ARGS(hl_str("x")), &r), HL_EINVAL);
    CHECK_ERROR_HAS("must not be NULL");
    CHECK_RC(hl_sandbox_call(sb, NULL, HL_ARGS(hl_str("x")), &r), HL_EINVAL);
    CHECK_RC(hl_sandbox_call(sb, "Echo", NULL, 1, &r), HL_EINVAL);
    CHECK_RC(hl_sandbox_call(sb, "Echo", HL_ARGS(hl_strn(NULL, 3)), &r), HL_EINVAL);
    CHECK_ERROR_IS("argument 1: NULL string");
    CHECK_RC(hl_sandbox_call(sb, "EchoBytes", HL_ARGS(hl_bytes(NULL, 3)), &r), HL_EINVAL);
    CHECK_ERROR_IS("argument 1: NULL bytes");
    CHECK(!hl_sandbox_is_poisoned(sb));
    /* a NULL result pointer is allowed: the result is dropped */
    CHECK_OK(hl_sandbox_call(sb, "Echo", HL_ARGS(hl_str("x")), NULL));
    hl_sandbox_destroy(sb);
}

TEST(call_rejects_invalid_utf8_string_with_EINVAL)
{
    static const char *const bad[] = {
        "\xff",             /* never valid */
        "\xc0\xaf",         /* overlong '/' */
        "\xed\xa0\x80",     /* surrogate */
        "\xf4\x90\x80\x80", /* above U+10FFFF */
        "abc\xe2\x9c",      /* truncated sequence */
    };
    hl_sandbox *sb = ready_sandbox(NULL);
    for (size_t i = 0; i < COUNT_OF(bad); i++) {
        CALL_FAILS(sb, HL_EINVAL, "Echo", HL_ARGS(hl_str(bad[i])));
        CHECK_ERROR_IS("argument 1: string is not UTF-8 or contains NUL");
    }
    CALL_FAILS(sb, HL_EINVAL, "PrintTwoArgs", HL_ARGS(hl_strn("a\0b", 3), hl_i32(1)));
    CHECK_ERROR_IS("argument 1: string is not UTF-8 or contains NUL");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(call_rejects_void_and_invalid_value_types_with_EINVAL)
{
    hl_value bogus = hl_i32(1);
    bogus.type = (hl_type)77;
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EINVAL, "EchoI32", HL_ARGS(hl_void()));
    CHECK_ERROR_IS("argument 1: void is not a value");
    CALL_FAILS(sb, HL_EINVAL, "EchoI32", &bogus, 1);
    CHECK_ERROR_IS("argument 1: invalid type 77");
    hl_sandbox_destroy(sb);
}

TEST(call_before_init_fails_with_ESTATE)
{
    hl_sandbox *sb = new_sandbox(NULL);
    CALL_FAILS(sb, HL_ESTATE, "Echo", HL_ARGS(hl_str("x")));
    CHECK_ERROR_IS("sandbox is not initialised (call hl_sandbox_init first)");
    CHECK_OK(hl_sandbox_init(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("x"))), "x");
    hl_sandbox_destroy(sb);
}

TEST(init_twice_fails_with_ESTATE)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_RC(hl_sandbox_init(sb), HL_ESTATE);
    CHECK_ERROR_IS("sandbox is already initialised");
    CHECK_RC(hl_sandbox_init(NULL), HL_EINVAL);
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(guest_function_reports_registered_signature)
{
    const hl_type *params = NULL;
    size_t n = 99;
    hl_type ret = HL_TYPE_VOID;
    static const hl_type eleven[] = {HL_TYPE_STRING, HL_TYPE_I32,  HL_TYPE_I64,  HL_TYPE_STRING,
                                     HL_TYPE_STRING, HL_TYPE_BOOL, HL_TYPE_BOOL, HL_TYPE_U32,
                                     HL_TYPE_U64,    HL_TYPE_F32,  HL_TYPE_F64};
    hl_sandbox *sb = new_sandbox(NULL);
    CHECK_RC(hl_sandbox_guest_function(sb, "Echo", &ret, &params, &n), HL_ESTATE);
    CHECK_OK(hl_sandbox_init(sb));
    CHECK_OK(hl_sandbox_guest_function(sb, "PrintElevenArgs", &ret, &params, &n));
    CHECK_EQ(ret, HL_TYPE_STRING);
    CHECK_EQ(n, 11);
    CHECK_MEMEQ(params, eleven, sizeof eleven);
    CHECK_OK(hl_sandbox_guest_function(sb, "Spin", &ret, &params, &n));
    CHECK_EQ(ret, HL_TYPE_VOID);
    CHECK_EQ(n, 0);
    CHECK_OK(hl_sandbox_guest_function(sb, "Sum16", NULL, NULL, NULL));
    CHECK_RC(hl_sandbox_guest_function(sb, "Nope", &ret, &params, &n), HL_ENOTFOUND);
    CHECK_ERROR_IS("guest function 'Nope' not found");
    CHECK_RC(hl_sandbox_guest_function(sb, NULL, &ret, &params, &n), HL_EINVAL);
    CHECK_RC(hl_sandbox_guest_function(NULL, "Echo", &ret, &params, &n), HL_EINVAL);
    hl_sandbox_destroy(sb);
}

/* ---- guest-reported failures ---- */
TEST(call_guest_fail_returns_EGUEST_with_message_and_sandbox_stays_usable)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EGUEST, "Fail", HL_ARGS(hl_str("boom: 42 is not allowed")));
    CHECK_ERROR_IS("guest function 'Fail' failed: boom: 42 is not allowed");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 5);
    CALL_FAILS(sb, HL_EGUEST, "Fail", HL_ARGS(hl_str("again")));
    CHECK_ERROR_IS("guest function 'Fail' failed: again");
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 10);
    hl_sandbox_destroy(sb);
}

TEST(call_guest_returning_undeclared_type_is_EGUEST)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EGUEST, "ReturnWrongType", NULL, 0);
    CHECK_ERROR_IS("guest function 'ReturnWrongType' failed: guest function 'ReturnWrongType' "
                   "returned i32, not its declared string");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(call_guest_malloc_failure_is_EGUEST)
{
    hl_sandbox *sb = ready_sandbox(NULL); /* 1 MiB heap */
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallMalloc", HL_ARGS(hl_i32(512 * 1024))).as.i32,
             512 * 1024);
    CALL_FAILS(sb, HL_EGUEST, "CallMalloc", HL_ARGS(hl_i32(2 * 1024 * 1024)));
    CHECK_ERROR_IS("guest function 'CallMalloc' failed: malloc(2097152) failed");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(call_malloc_and_free_repeatedly_does_not_exhaust_heap)
{
    hl_sandbox *sb = ready_sandbox(NULL); /* 1 MiB heap; 100 x 256 KiB would not fit if leaked */
    for (int i = 0; i < 100; i++)
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "MallocAndFree", HL_ARGS(hl_i32(256 * 1024))).as.i32,
                 256 * 1024);
    hl_sandbox_destroy(sb);
}

TEST(call_with_bigger_heap_can_malloc_more)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.heap_size = 16u * 1024 * 1024;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallMalloc", HL_ARGS(hl_i32(12 * 1024 * 1024))).as.i32,
             12 * 1024 * 1024);
    hl_sandbox_destroy(sb);
}

/* ---- sizes ---- */
TEST(call_one_mib_string_and_bytes_roundtrip_with_4_mib_buffers)
{
    const size_t n = 1024 * 1024;
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.input_size = cfg.output_size = 4u * 1024 * 1024;
    char *text = malloc(n);
    uint8_t *bytes = malloc(n);
    CHECK(text && bytes);
    for (size_t i = 0; i < n; i++) {
        text[i] = (char)('a' + i % 26);
        bytes[i] = (uint8_t)(i * 7 + (i >> 12));
    }
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_value r = CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_strn(text, n)));
    CHECK_EQ(r.as.str.len, n);
    CHECK_MEMEQ(r.as.str.ptr, text, n);
    CHECK_EQ(r.as.str.ptr[n], '\0');
    r = CALL_OK(sb, HL_TYPE_BYTES, "EchoBytes", HL_ARGS(hl_bytes(bytes, n)));
    CHECK_EQ(r.as.bytes.len, n);
    CHECK_MEMEQ(r.as.bytes.ptr, bytes, n);
    hl_sandbox_destroy(sb);
    free(text);
    free(bytes);
}

TEST(call_argument_bigger_than_input_buffer_fails_with_ETOOBIG)
{
    const size_t n = 100 * 1024; /* the default input buffer is 64 KiB */
    char *text = malloc(n);
    CHECK(text);
    memset(text, 'x', n);
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_ETOOBIG, "Echo", HL_ARGS(hl_strn(text, n)));
    CHECK_ERROR_IS("arguments to 'Echo' do not fit the 65536-byte input buffer");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_strn(text, 1))), "x");
    hl_sandbox_destroy(sb);
    free(text);
}

TEST(call_argument_exactly_filling_input_buffer_works_and_one_more_byte_fails)
{
    /* CALL message: kind, nargs, u16 name_len, "EchoBytes", then the value: type, u32 len, data;
     * the stack holds it after the 8-byte stack pointer and before an 8-byte back-pointer, and
     * the CONTEXT message with its back-pointer above it. */
    const size_t input = 64 * 1024, overhead = 1 + 1 + 2 + 9 + 1 + 4;
    const size_t room = input - 16 - (HL_ABI_CONTEXT_SIZE + 8);
    uint8_t *data = calloc(1, input);
    CHECK(data);
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_value r = CALL_OK(sb, HL_TYPE_BYTES, "EchoBytes", HL_ARGS(hl_bytes(data, room - overhead)));
    CHECK_EQ(r.as.bytes.len, room - overhead);
    CALL_FAILS(sb, HL_ETOOBIG, "EchoBytes", HL_ARGS(hl_bytes(data, room - overhead + 1)));
    hl_sandbox_destroy(sb);
    free(data);
}

TEST(call_result_bigger_than_output_buffer_is_EGUEST)
{
    const size_t n = 100 * 1024;
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.input_size = 256u * 1024; /* the argument fits, the echoed result (64 KiB out) does not */
    char *text = malloc(n);
    CHECK(text);
    memset(text, 'y', n);
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_FAILS(sb, HL_EGUEST, "Echo", HL_ARGS(hl_strn(text, n)));
    CHECK_ERROR_IS("guest function 'Echo' failed: the result does not fit the output buffer");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("small"))), "small");
    hl_sandbox_destroy(sb);
    free(text);
}

/* ---- state ---- */
TEST(call_static_state_persists_across_calls)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 0);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 5);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(-2))).as.i32, 3);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 3);
    for (int i = 0; i < 1000; i++)
        CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1)));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 1003);
    hl_sandbox_destroy(sb);
}

TEST(call_set_static_writes_one_mib_static_array)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    hl_sandbox_destroy(sb);
}

/* ---- stack use within the limits ---- */
TEST(call_stack_use_within_limit_succeeds)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SmallVar", NULL, 0).as.i32, 1024);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "StackAllocate", HL_ARGS(hl_i32(100000))).as.i32, 100000);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "StackOverflow", HL_ARGS(hl_i32(100))).as.i32, 100);
    hl_sandbox_destroy(sb);
}

TEST(call_large_var_succeeds_with_bigger_stack)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.stack_size = 1024u * 1024;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "LargeVar", NULL, 0).as.i32, 300 * 1024);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "StackOverflow", HL_ARGS(hl_i32(800))).as.i32, 800);
    hl_sandbox_destroy(sb);
}

/* ---- the guest libc ---- */
TEST(guest_libc_self_test_passes_in_the_vm)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "LibcSelfTest", NULL, 0), "ok");
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "LibcSelfTest", NULL, 0), "ok"); /* no leaks */
    hl_sandbox_destroy(sb);
}

static const hl_test tests[] = {
    TEST_ENTRY(call_echo_roundtrips_string),
    TEST_ENTRY(call_echo_roundtrips_empty_string),
    TEST_ENTRY(call_echo_roundtrips_utf8_string),
    TEST_ENTRY(call_echo_string_without_nul_terminator_gets_one),
    TEST_ENTRY(call_echo_bytes_roundtrips_every_byte_value),
    TEST_ENTRY(call_echo_bytes_roundtrips_empty_bytes),
    TEST_ENTRY(call_echo_i32_roundtrips_extremes),
    TEST_ENTRY(call_echo_u32_roundtrips_extremes),
    TEST_ENTRY(call_echo_i64_roundtrips_extremes),
    TEST_ENTRY(call_echo_u64_roundtrips_extremes),
    TEST_ENTRY(call_echo_bool_roundtrips_both_values),
    TEST_ENTRY(call_echo_float_roundtrips_bit_exact_incl_nan_inf_negative_zero),
    TEST_ENTRY(call_echo_double_roundtrips_bit_exact_incl_nan_inf_negative_zero),
    TEST_ENTRY(call_set_byte_array_to_zero_returns_zeroed_copy),
    TEST_ENTRY(call_print_two_to_eleven_args_formats_every_type),
    TEST_ENTRY(call_sum16_passes_sixteen_arguments_in_order),
    TEST_ENTRY(call_with_wrong_argument_count_fails_with_EARGCOUNT),
    TEST_ENTRY(call_with_more_than_max_params_fails_with_EARGCOUNT),
    TEST_ENTRY(call_with_wrong_argument_type_fails_with_EARGTYPE),
    TEST_ENTRY(call_unknown_function_fails_with_ENOTFOUND),
    TEST_ENTRY(call_rejects_null_sandbox_name_and_args_with_EINVAL),
    TEST_ENTRY(call_rejects_invalid_utf8_string_with_EINVAL),
    TEST_ENTRY(call_rejects_void_and_invalid_value_types_with_EINVAL),
    TEST_ENTRY(call_before_init_fails_with_ESTATE),
    TEST_ENTRY(init_twice_fails_with_ESTATE),
    TEST_ENTRY(guest_function_reports_registered_signature),
    TEST_ENTRY(call_guest_fail_returns_EGUEST_with_message_and_sandbox_stays_usable),
    TEST_ENTRY(call_guest_returning_undeclared_type_is_EGUEST),
    TEST_ENTRY(call_guest_malloc_failure_is_EGUEST),
    TEST_ENTRY(call_malloc_and_free_repeatedly_does_not_exhaust_heap),
    TEST_ENTRY(call_with_bigger_heap_can_malloc_more),
    TEST_ENTRY(call_one_mib_string_and_bytes_roundtrip_with_4_mib_buffers),
    TEST_ENTRY(call_argument_bigger_than_input_buffer_fails_with_ETOOBIG),
    TEST_ENTRY(call_argument_exactly_filling_input_buffer_works_and_one_more_byte_fails),
    TEST_ENTRY(call_result_bigger_than_output_buffer_is_EGUEST),
    TEST_ENTRY(call_static_state_persists_across_calls),
    TEST_ENTRY(call_set_static_writes_one_mib_static_array),
    TEST_ENTRY(call_stack_use_within_limit_succeeds),
    TEST_ENTRY(call_large_var_succeeds_with_bigger_stack),
    TEST_ENTRY(guest_libc_self_test_passes_in_the_vm),
};

RUN_TESTS(tests)

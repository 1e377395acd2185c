/* test_wire.c: the wire codec: round trips of every type, and rejection of malformed messages. */
#include <math.h>
#include <string.h>

#include "harness.h"
#include "wire.h"

static uint8_t buf[4096];

static size_t encode_all_types(void)
{
    static const uint8_t raw[] = {0, 1, 255};
    hl_value args[] = {hl_bool(true),      hl_i32(INT32_MIN), hl_u32(UINT32_MAX), hl_i64(INT64_MIN),
                       hl_u64(UINT64_MAX), hl_f32(-0.0f),     hl_f64(NAN),        hl_str("héllo"),
                       hl_bytes(raw, 3),   hl_str("")};
    return hl__wire_encode_call(buf, sizeof buf, "Fn", 2, args, 10);
}

TEST(call_roundtrips_every_type)
{
    size_t n = encode_all_types();
    hl__wire_reader r;
    hl__wire_call c;
    CHECK(n > 0);
    hl__wire_reader_init(&r, buf, n);
    CHECK_EQ(hl__wire_decode_call(&r, &c), 0);
    CHECK_EQ(c.name_len, 2);
    CHECK_MEMEQ(c.name, "Fn", 2);
    CHECK_EQ(c.nargs, 10);
    CHECK_EQ(c.args[0].as.b, 1);
    CHECK_EQ(c.args[1].as.i32, INT32_MIN);
    CHECK_U64_EQ(c.args[2].as.u32, UINT32_MAX);
    CHECK_EQ(c.args[3].as.i64, INT64_MIN);
    CHECK_U64_EQ(c.args[4].as.u64, UINT64_MAX);
    CHECK(signbit(c.args[5].as.f32) && c.args[5].as.f32 == 0.0f);
    CHECK(isnan(c.args[6].as.f64));
    CHECK_STREQ(c.args[7].as.str.ptr, "héllo");
    CHECK_EQ(c.args[8].as.bytes.len, 3);
    CHECK_EQ(c.args[8].as.bytes.ptr[2], 255);
    CHECK_EQ(c.args[9].as.str.len, 0);
    CHECK_EQ(c.args[9].as.str.ptr[0], '\0');
}

TEST(truncation_at_every_length_is_rejected)
{
    size_t n = encode_all_types();
    for (size_t len = 0; len < n; len++) {
        hl__wire_reader r;
        hl__wire_call c;
        hl__wire_reader_init(&r, buf, len);
        CHECK_EQ(hl__wire_decode_call(&r, &c), -1);
        CHECK(r.why != NULL);
    }
}

TEST(trailing_bytes_are_rejected)
{
    hl_value v = hl_i32(7);
    size_t n = hl__wire_encode_result(buf, sizeof buf, &v);
    hl__wire_reader r;
    hl_value out;
    hl__wire_reader_init(&r, buf, n + 1);
    CHECK_EQ(hl__wire_decode_result(&r, &out), -1);
    CHECK_STREQ(r.why, "trailing bytes after message");
}

static const char *decode_result_why(const uint8_t *msg, size_t n)
{
    hl__wire_reader r;
    hl_value out;
    hl__wire_reader_init(&r, msg, n);
    return hl__wire_decode_result(&r, &out) ? r.why : "ok";
}

TEST(bad_values_are_rejected)
{
    static const uint8_t bool2[] = {HL_ABI_MSG_RESULT, HL_TYPE_BOOL, 2};
    static const uint8_t type99[] = {HL_ABI_MSG_RESULT, 99};
    static const uint8_t bad_utf8[] = {
        HL_ABI_MSG_RESULT, HL_TYPE_STRING, 2, 0, 0, 0, 0xc3, 0x28, 0};
    static const uint8_t overlong[] = {
        HL_ABI_MSG_RESULT, HL_TYPE_STRING, 2, 0, 0, 0, 0xc0, 0xaf, 0};
    static const uint8_t surrogate[] = {
        HL_ABI_MSG_RESULT, HL_TYPE_STRING, 3, 0, 0, 0, 0xed, 0xa0, 0x80, 0};
    static const uint8_t inner_nul[] = {HL_ABI_MSG_RESULT, HL_TYPE_STRING, 2, 0, 0, 0, 'a', 0, 0};
    static const uint8_t no_term[] = {HL_ABI_MSG_RESULT, HL_TYPE_STRING, 1, 0, 0, 0, 'a', 'b'};
    static const uint8_t huge_len[] = {HL_ABI_MSG_RESULT, HL_TYPE_BYTES, 0xff, 0xff, 0xff, 0xff, 1};
    static const uint8_t wrong_kind[] = {HL_ABI_MSG_LOG, HL_TYPE_VOID};
    CHECK_STREQ(decode_result_why(bool2, sizeof bool2), "bool is neither 0 nor 1");
    CHECK_STREQ(decode_result_why(type99, sizeof type99), "unknown value type");
    CHECK_STREQ(decode_result_why(bad_utf8, sizeof bad_utf8),
                "string is not valid UTF-8 or contains NUL");
    CHECK_STREQ(decode_result_why(overlong, sizeof overlong),
                "string is not valid UTF-8 or contains NUL");
    CHECK_STREQ(decode_result_why(surrogate, sizeof surrogate),
                "string is not valid UTF-8 or contains NUL");
    CHECK_STREQ(decode_result_why(inner_nul, sizeof inner_nul),
                "string is not valid UTF-8 or contains NUL");
    CHECK_STREQ(decode_result_why(no_term, sizeof no_term), "string lacks its terminating NUL");
    CHECK_STREQ(decode_result_why(huge_len, sizeof huge_len), "message truncated");
    CHECK_STREQ(decode_result_why(wrong_kind, sizeof wrong_kind), "unexpected message kind");
    CHECK_STREQ(decode_result_why(buf, 0), "empty message");
}

TEST(names_are_checked)
{
    CHECK(hl__wire_name_ok("Echo", 4));
    CHECK(!hl__wire_name_ok("", 0));
    CHECK(!hl__wire_name_ok("a b", 3));
    CHECK(!hl__wire_name_ok("a\n", 2));
    char longname[HL_ABI_MAX_NAME + 1];
    memset(longname, 'x', sizeof longname);
    CHECK(hl__wire_name_ok(longname, HL_ABI_MAX_NAME));
    CHECK(!hl__wire_name_ok(longname, HL_ABI_MAX_NAME + 1));
    CHECK_EQ(hl__wire_encode_call(buf, sizeof buf, "a b", 3, NULL, 0), 0);
}

TEST(encoding_reports_overflow)
{
    hl_value v = hl_str("0123456789");
    CHECK_EQ(hl__wire_encode_result(buf, 10, &v), 0);
    CHECK(hl__wire_encode_result(buf, 17, &v) == 17);
}

TEST(error_and_log_roundtrip)
{
    hl__wire_reader r;
    int32_t code;
    const char *msg;
    size_t len;
    size_t n = hl__wire_encode_error(buf, sizeof buf, HL_ABI_ERR_DENIED, "nope", 4);
    hl__wire_reader_init(&r, buf, n);
    CHECK_EQ(hl__wire_decode_error(&r, &code, &msg, &len), 0);
    CHECK_EQ(code, HL_ABI_ERR_DENIED);
    CHECK_STREQ(msg, "nope");
    hl__wire_log log;
    n = hl__wire_encode_log(buf, sizeof buf, HL_ABI_LOG_WARN, 42, "f.c", 3, "careful", 7);
    hl__wire_reader_init(&r, buf, n);
    CHECK_EQ(hl__wire_decode_log(&r, &log), 0);
    CHECK_EQ(log.level, HL_ABI_LOG_WARN);
    CHECK_EQ(log.line, 42);
    CHECK_STREQ(log.file, "f.c");
    CHECK_STREQ(log.message, "careful");
    n = hl__wire_encode_log(buf, sizeof buf, 9, 1, "", 0, "x", 1);
    hl__wire_reader_init(&r, buf, n);
    CHECK_EQ(hl__wire_decode_log(&r, &log), -1);
    CHECK_STREQ(r.why, "log level out of range");
}

TEST(context_roundtrips_and_stream_carries_any_bytes)
{
    hl__wire_context c = {UINT64_MAX, 12345, 2999999, HL_ABI_CONTEXT_STREAMS,
                          0x0123456789abcdefull};
    hl__wire_context back;
    hl__wire_reader r;
    size_t n = hl__wire_encode_context(buf, sizeof buf, &c);
    CHECK_EQ(n, HL_ABI_CONTEXT_SIZE);
    CHECK_EQ(hl__wire_encode_context(buf, n - 1, &c), 0);
    hl__wire_reader_init(&r, buf, n);
    CHECK_EQ(hl__wire_decode_context(&r, &back), 0);
    CHECK(back.realtime_ns == c.realtime_ns && back.monotonic_ns == c.monotonic_ns &&
          back.tsc_khz == c.tsc_khz && back.flags == c.flags && back.seed == c.seed);
    hl__wire_reader_init(&r, buf, n - 1);
    CHECK(hl__wire_decode_context(&r, &back) != 0);

    static const uint8_t stream[] = {HL_ABI_MSG_STREAM, 2, 3, 0, 0, 0, 0, 0xff, '\n'};
    hl__wire_stream out;
    hl__wire_reader_init(&r, stream, sizeof stream);
    CHECK_EQ(hl__wire_decode_stream(&r, &out), 0);
    CHECK(out.stream == HL_ABI_STREAM_STDERR && out.len == 3 && out.bytes == stream + 6);
    uint8_t bad[sizeof stream];
    memcpy(bad, stream, sizeof bad);
    bad[1] = 3; /* no third stream */
    hl__wire_reader_init(&r, bad, sizeof bad);
    CHECK(hl__wire_decode_stream(&r, &out) != 0);
    CHECK_STREQ(r.why, "unknown output stream");
    hl__wire_reader_init(&r, stream, sizeof stream - 1); /* one byte short of its length */
    CHECK(hl__wire_decode_stream(&r, &out) != 0);
}

TEST(signatures_roundtrip_and_reject_void_params)
{
    hl__wire_writer w;
    hl__wire_reader r;
    hl__wire_sig s;
    size_t count;
    hl_type p[] = {HL_TYPE_STRING, HL_TYPE_I32};
    hl__wire_writer_init(&w, buf, sizeof buf);
    hl__wire_begin_sigs_writer(&w, 1);
    hl__wire_put_sig(&w, "Print", 5, HL_TYPE_I32, p, 2);
    hl__wire_reader_init(&r, buf, w.len);
    CHECK_EQ(hl__wire_begin_sigs(&r, &count), 0);
    CHECK_EQ(count, 1);
    CHECK_EQ(hl__wire_next_sig(&r, &s), 0);
    CHECK_EQ(s.nparams, 2);
    CHECK_EQ(s.params[1], HL_TYPE_I32);
    CHECK_EQ(hl__wire_end(&r), 0);
    hl_type v[] = {HL_TYPE_VOID};
    hl__wire_writer_init(&w, buf, sizeof buf);
    hl__wire_begin_sigs_writer(&w, 1);
    hl__wire_put_sig(&w, "Bad", 3, HL_TYPE_I32, v, 1);
    hl__wire_reader_init(&r, buf, w.len);
    CHECK_EQ(hl__wire_begin_sigs(&r, &count), 0);
    CHECK_EQ(hl__wire_next_sig(&r, &s), -1);
    CHECK_STREQ(r.why, "invalid parameter type");
}

TEST(random_bytes_never_crash_the_decoders)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(x % 64);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)(i == 0 ? 1 + x % 5 : (x % 4 == 0 ? x % 11 : x >> 8));
        }
        hl__wire_reader r;
        hl__wire_call c;
        hl_value v;
        hl__wire_log l;
        hl__wire_reader_init(&r, buf, n);
        (void)hl__wire_decode_call(&r, &c);
        hl__wire_reader_init(&r, buf, n);
        (void)hl__wire_decode_result(&r, &v);
        hl__wire_reader_init(&r, buf, n);
        (void)hl__wire_decode_log(&r, &l);
    }
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(call_roundtrips_every_type),
        TEST_ENTRY(truncation_at_every_length_is_rejected),
        TEST_ENTRY(trailing_bytes_are_rejected),
        TEST_ENTRY(bad_values_are_rejected),
        TEST_ENTRY(names_are_checked),
        TEST_ENTRY(encoding_reports_overflow),
        TEST_ENTRY(error_and_log_roundtrip),
        TEST_ENTRY(context_roundtrips_and_stream_carries_any_bytes),
        TEST_ENTRY(signatures_roundtrip_and_reject_void_params),
        TEST_ENTRY(random_bytes_never_crash_the_decoders),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

/* fuzz_wire.c: libFuzzer target for the wire decoder (common/wire.c). Runs every decoder over the
 * input; whatever decodes must re-encode to exactly the input bytes (the encoding is canonical),
 * decode again to the same values (floats compared bit for bit), and not fit one byte shorter.
 * Failures must say why. Run with `make fuzz` (mk/fuzz.mk); corpus: tests/fuzz/corpus/wire/. */
#include <string.h>

#include "fuzz.h"
#include "wire.h"

static int same_value(const hl_value *a, const hl_value *b)
{
    if (a->type != b->type)
        return 0;
    switch (a->type) {
    case HL_TYPE_VOID:
        return 1;
    case HL_TYPE_BOOL:
        return a->as.b == b->as.b;
    case HL_TYPE_I32:
    case HL_TYPE_U32:
    case HL_TYPE_F32: /* the bits, so NaN payloads and -0.0 count */
        return a->as.u32 == b->as.u32;
    case HL_TYPE_I64:
    case HL_TYPE_U64:
    case HL_TYPE_F64:
        return a->as.u64 == b->as.u64;
    case HL_TYPE_STRING:
        return a->as.str.len == b->as.str.len &&
               memcmp(a->as.str.ptr, b->as.str.ptr, a->as.str.len) == 0 &&
               a->as.str.ptr[a->as.str.len] == 0 && b->as.str.ptr[b->as.str.len] == 0;
    case HL_TYPE_BYTES:
        return a->as.bytes.len == b->as.bytes.len &&
               (a->as.bytes.len == 0 ||
                memcmp(a->as.bytes.ptr, b->as.bytes.ptr, a->as.bytes.len) == 0);
    default:
        return 0;
    }
}

/* The re-encoding must be byte-identical to the decoded message. Callers encode into a heap
 * block of exactly size bytes, so an encoder writing past its cap is caught by ASan. */
static void require_same_bytes(const uint8_t *data, size_t size, const uint8_t *buf, size_t len)
{
    REQUIRE(len == size);
    REQUIRE(memcmp(buf, data, size) == 0);
}

/* A decoder's verdict: a failure must leave r->why set, a success must leave it NULL. */
static int decoded(int rc, const hl__wire_reader *r)
{
    if (rc == 0) {
        REQUIRE(!r->why);
        return 1;
    }
    REQUIRE(rc == -1 && r->why);
    return 0;
}

static void check_call(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    hl__wire_call c, again;
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_call(&r, &c), &r))
        return;
    REQUIRE(hl__wire_kind(data, size) == HL_ABI_MSG_CALL);
    REQUIRE(c.nargs <= HL_MAX_PARAMS && hl__wire_name_ok(c.name, c.name_len));
    uint8_t *buf = malloc(size);
    REQUIRE(buf);
    size_t len = hl__wire_encode_call(buf, size, c.name, c.name_len, c.args, c.nargs);
    require_same_bytes(data, size, buf, len);
    REQUIRE(hl__wire_encode_call(buf, size - 1, c.name, c.name_len, c.args, c.nargs) == 0);
    REQUIRE(hl__wire_encode_call(buf, size, c.name, c.name_len, c.args, c.nargs) == size);
    hl__wire_reader_init(&r, buf, size);
    REQUIRE(hl__wire_decode_call(&r, &again) == 0);
    REQUIRE(again.name_len == c.name_len && memcmp(again.name, c.name, c.name_len) == 0);
    REQUIRE(again.nargs == c.nargs);
    for (size_t i = 0; i < c.nargs; i++)
        REQUIRE(c.args[i].type != HL_TYPE_VOID && same_value(&c.args[i], &again.args[i]));
    free(buf);
}

static void check_result(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    hl_value v, again;
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_result(&r, &v), &r))
        return;
    REQUIRE(hl__wire_kind(data, size) == HL_ABI_MSG_RESULT);
    uint8_t *buf = malloc(size);
    REQUIRE(buf);
    size_t len = hl__wire_encode_result(buf, size, &v);
    require_same_bytes(data, size, buf, len);
    REQUIRE(hl__wire_encode_result(buf, size - 1, &v) == 0);
    hl__wire_reader_init(&r, buf, len);
    REQUIRE(hl__wire_decode_result(&r, &again) == 0);
    REQUIRE(same_value(&v, &again));
    free(buf);
}

static void check_error(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    int32_t code, code2;
    const char *msg, *msg2;
    size_t msg_len, msg_len2;
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_error(&r, &code, &msg, &msg_len), &r))
        return;
    REQUIRE(msg[msg_len] == 0 && strlen(msg) == msg_len);
    uint8_t *buf = malloc(size);
    REQUIRE(buf);
    size_t len = hl__wire_encode_error(buf, size, code, msg, msg_len);
    require_same_bytes(data, size, buf, len);
    REQUIRE(hl__wire_encode_error(buf, size - 1, code, msg, msg_len) == 0);
    hl__wire_reader_init(&r, buf, len);
    REQUIRE(hl__wire_decode_error(&r, &code2, &msg2, &msg_len2) == 0);
    REQUIRE(code2 == code && msg_len2 == msg_len && memcmp(msg2, msg, msg_len) == 0);
    free(buf);
}

static void check_log(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    hl__wire_log l, again;
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_log(&r, &l), &r))
        return;
    REQUIRE(l.level >= HL_ABI_LOG_ERROR && l.level <= HL_ABI_LOG_TRACE);
    REQUIRE(l.message[l.message_len] == 0 && strlen(l.message) == l.message_len);
    size_t file_len = strlen(l.file); /* NUL-terminated and free of interior NULs */
    uint8_t *buf = malloc(size);
    REQUIRE(buf);
    size_t len =
        hl__wire_encode_log(buf, size, l.level, l.line, l.file, file_len, l.message, l.message_len);
    require_same_bytes(data, size, buf, len);
    REQUIRE(hl__wire_encode_log(buf, size - 1, l.level, l.line, l.file, file_len, l.message,
                                l.message_len) == 0);
    hl__wire_reader_init(&r, buf, len);
    REQUIRE(hl__wire_decode_log(&r, &again) == 0);
    REQUIRE(again.level == l.level && again.line == l.line && strcmp(again.file, l.file) == 0 &&
            again.message_len == l.message_len &&
            memcmp(again.message, l.message, l.message_len) == 0);
    free(buf);
}

/* STREAM: any bytes; the view lies inside the input and covers exactly its tail. */
static void check_stream(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    hl__wire_stream out;
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_stream(&r, &out), &r))
        return;
    REQUIRE(out.stream == HL_ABI_STREAM_STDOUT || out.stream == HL_ABI_STREAM_STDERR);
    REQUIRE(size == 6 + out.len && out.bytes == data + 6);
}

/* CONTEXT: fixed size; re-encoding gives the same bytes, and one byte less does not fit. */
static void check_context(const uint8_t *data, size_t size)
{
    hl__wire_reader r;
    hl__wire_context c;
    uint8_t buf[HL_ABI_CONTEXT_SIZE];
    hl__wire_reader_init(&r, data, size);
    if (!decoded(hl__wire_decode_context(&r, &c), &r))
        return;
    REQUIRE(size == HL_ABI_CONTEXT_SIZE);
    size_t len = hl__wire_encode_context(buf, sizeof buf, &c);
    require_same_bytes(data, size, buf, len);
    REQUIRE(hl__wire_encode_context(buf, sizeof buf - 1, &c) == 0);
}

/* SIGS: a header, then count signatures, then nothing. Re-encoded with the writer. */
static void check_sigs(const uint8_t *data, size_t size)
{
    static hl__wire_sig sigs[HL_ABI_MAX_FUNCTIONS];
    hl__wire_reader r;
    size_t count;
    hl__wire_reader_init(&r, data, size);
    if (hl__wire_begin_sigs(&r, &count)) {
        REQUIRE(r.why);
        return;
    }
    REQUIRE(count <= HL_ABI_MAX_FUNCTIONS);
    for (size_t i = 0; i < count; i++) {
        if (hl__wire_next_sig(&r, &sigs[i])) {
            REQUIRE(r.why);
            return;
        }
        REQUIRE(hl__wire_name_ok(sigs[i].name, sigs[i].name_len));
        REQUIRE(sigs[i].ret < HL_TYPE_COUNT && sigs[i].nparams <= HL_MAX_PARAMS);
    }
    if (hl__wire_end(&r)) {
        REQUIRE(r.why);
        return;
    }
    uint8_t *buf = malloc(size);
    REQUIRE(buf);
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, size);
    hl__wire_begin_sigs_writer(&w, (uint16_t)count);
    for (size_t i = 0; i < count; i++) {
        hl_type params[HL_MAX_PARAMS];
        for (size_t k = 0; k < sigs[i].nparams; k++) {
            REQUIRE(sigs[i].params[k] != HL_TYPE_VOID && sigs[i].params[k] < HL_TYPE_COUNT);
            params[k] = (hl_type)sigs[i].params[k];
        }
        hl__wire_put_sig(&w, sigs[i].name, sigs[i].name_len, sigs[i].ret, params, sigs[i].nparams);
    }
    REQUIRE(!w.overflow);
    require_same_bytes(data, size, buf, w.len);
    free(buf);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_call(data, size);
    check_result(data, size);
    check_error(data, size);
    check_log(data, size);
    check_stream(data, size);
    check_context(data, size);
    check_sigs(data, size);
    return 0;
}

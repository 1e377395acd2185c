/* wire.h: encoder and validating decoder of the host/guest wire format (abi.h, docs/ABI.md).
 * Compiled into both the host library and the guest runtime. Decoders are total functions over
 * arbitrary bytes: they return 0 with a fully validated view, or -1 with r->why explaining. */
#ifndef HL_COMMON_WIRE_H
#define HL_COMMON_WIRE_H

#include <stddef.h>
#include <stdint.h>

#include "hyperlight/abi.h"
#include "hyperlight/value.h"

/* ---- encoding ---- */
typedef struct hl__wire_writer {
    uint8_t *buf;
    size_t cap;
    size_t len;
    int overflow; /* set when a put did not fit; later puts are dropped */
} hl__wire_writer;

typedef struct hl__wire_stream {
    uint8_t stream; /* HL_ABI_STREAM_STDOUT or HL_ABI_STREAM_STDERR */
    const uint8_t *bytes;
    size_t len;
} hl__wire_stream;

typedef struct hl__wire_context {
    uint64_t realtime_ns;
    uint64_t monotonic_ns;
    uint32_t tsc_khz;
    uint32_t flags; /* HL_ABI_CONTEXT_* */
    uint64_t seed;
} hl__wire_context;

void hl__wire_writer_init(hl__wire_writer *w, void *buf, size_t cap);
void hl__wire_put_u8(hl__wire_writer *w, uint8_t v);
void hl__wire_put_u16(hl__wire_writer *w, uint16_t v);
void hl__wire_put_u32(hl__wire_writer *w, uint32_t v);
void hl__wire_put_u64(hl__wire_writer *w, uint64_t v);
void hl__wire_put_raw(hl__wire_writer *w, const void *p, size_t n);
/* string-body: u32 len, bytes, NUL. */
void hl__wire_put_string(hl__wire_writer *w, const char *s, size_t n);
void hl__wire_put_name(hl__wire_writer *w, const char *name, size_t n);
void hl__wire_put_value(hl__wire_writer *w, const hl_value *v);

/* Whole messages. Each returns the encoded length, or 0 if it does not fit in cap. */
size_t hl__wire_encode_call(void *buf, size_t cap, const char *name, size_t name_len,
                            const hl_value *args, size_t nargs);
size_t hl__wire_encode_result(void *buf, size_t cap, const hl_value *v);
size_t hl__wire_encode_error(void *buf, size_t cap, int32_t code, const char *msg, size_t len);
size_t hl__wire_encode_context(void *buf, size_t cap, const hl__wire_context *c);
size_t hl__wire_encode_log(void *buf, size_t cap, uint8_t level, uint32_t line, const char *file,
                           size_t file_len, const char *msg, size_t msg_len);

/* ---- decoding ---- */
typedef struct hl__wire_reader {
    const uint8_t *p;
    size_t len;
    size_t pos;
    const char *why; /* static text naming the first problem found */
} hl__wire_reader;

void hl__wire_reader_init(hl__wire_reader *r, const void *p, size_t len);

typedef struct hl__wire_call {
    const char *name; /* not NUL-terminated: name_len bytes */
    size_t name_len;
    size_t nargs;
    hl_value args[HL_MAX_PARAMS]; /* STRING/BYTES point into the message bytes */
} hl__wire_call;

typedef struct hl__wire_log {
    uint8_t level;
    uint32_t line;
    const char *file; /* NUL-terminated, points into the message */
    const char *message;
    size_t message_len;
} hl__wire_log;

typedef struct hl__wire_sig {
    const char *name; /* not NUL-terminated */
    size_t name_len;
    hl_type ret;
    size_t nparams;
    const uint8_t *params; /* nparams validated hl_type bytes, none of them VOID */
} hl__wire_sig;

/* The message kind (first byte), or -1 for an empty message. */
int hl__wire_kind(const void *msg, size_t len);

/* Each checks the kind byte, every field and that no bytes trail. */
int hl__wire_decode_call(hl__wire_reader *r, hl__wire_call *out);
int hl__wire_decode_result(hl__wire_reader *r, hl_value *out);
int hl__wire_decode_error(hl__wire_reader *r, int32_t *code, const char **msg, size_t *msg_len);
int hl__wire_decode_log(hl__wire_reader *r, hl__wire_log *out);
int hl__wire_decode_stream(hl__wire_reader *r, hl__wire_stream *out);
int hl__wire_decode_context(hl__wire_reader *r, hl__wire_context *out);

/* SIGS: hl__wire_begin_sigs reads the header and count; then hl__wire_next_sig count times; then
 * hl__wire_end checks that nothing trails. */
void hl__wire_begin_sigs_writer(hl__wire_writer *w, uint16_t count);
void hl__wire_put_sig(hl__wire_writer *w, const char *name, size_t name_len, hl_type ret,
                      const hl_type *params, size_t nparams);
int hl__wire_begin_sigs(hl__wire_reader *r, size_t *count);
int hl__wire_next_sig(hl__wire_reader *r, hl__wire_sig *out);
int hl__wire_end(hl__wire_reader *r);

/* 1 if name[0..len) is a valid function name (1..HL_ABI_MAX_NAME printable non-space ASCII). */
int hl__wire_name_ok(const char *name, size_t len);
/* 1 if s[0..len) is valid UTF-8 without NUL bytes. */
int hl__wire_utf8_ok(const uint8_t *s, size_t len);

#endif

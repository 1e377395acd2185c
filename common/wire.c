/* wire.c: encoder and validating decoder of the host/guest wire format (see wire.h). */
#include "wire.h"

#include <string.h>

/* ---------------------------------------------------------------- encoding */

void hl__wire_writer_init(hl__wire_writer *w, void *buf, size_t cap)
{
    w->buf = buf;
    w->cap = cap;
    w->len = 0;
    w->overflow = 0;
}

void hl__wire_put_raw(hl__wire_writer *w, const void *p, size_t n)
{
    if (w->overflow || n > w->cap - w->len) {
        w->overflow = 1;
        return;
    }
    if (n)
        memcpy(w->buf + w->len, p, n);
    w->len += n;
}

void hl__wire_put_u8(hl__wire_writer *w, uint8_t v)
{
    hl__wire_put_raw(w, &v, 1);
}

void hl__wire_put_u16(hl__wire_writer *w, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    hl__wire_put_raw(w, b, 2);
}

void hl__wire_put_u32(hl__wire_writer *w, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    hl__wire_put_raw(w, b, 4);
}

void hl__wire_put_u64(hl__wire_writer *w, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    hl__wire_put_raw(w, b, 8);
}

void hl__wire_put_string(hl__wire_writer *w, const char *s, size_t n)
{
    if (n > UINT32_MAX) {
        w->overflow = 1;
        return;
    }
    hl__wire_put_u32(w, (uint32_t)n);
    hl__wire_put_raw(w, s, n);
    hl__wire_put_u8(w, 0);
}

void hl__wire_put_name(hl__wire_writer *w, const char *name, size_t n)
{
    hl__wire_put_u16(w, (uint16_t)n);
    hl__wire_put_raw(w, name, n);
}

void hl__wire_put_value(hl__wire_writer *w, const hl_value *v)
{
    uint32_t b32;
    uint64_t b64;
    hl__wire_put_u8(w, (uint8_t)v->type);
    switch (v->type) {
    case HL_TYPE_VOID:
        break;
    case HL_TYPE_BOOL:
        hl__wire_put_u8(w, v->as.b ? 1 : 0);
        break;
    case HL_TYPE_I32:
    case HL_TYPE_U32:
        hl__wire_put_u32(w, v->as.u32);
        break;
    case HL_TYPE_F32:
        memcpy(&b32, &v->as.f32, 4);
        hl__wire_put_u32(w, b32);
        break;
    case HL_TYPE_I64:
    case HL_TYPE_U64:
        hl__wire_put_u64(w, v->as.u64);
        break;
    case HL_TYPE_F64:
        memcpy(&b64, &v->as.f64, 8);
        hl__wire_put_u64(w, b64);
        break;
    case HL_TYPE_STRING:
        hl__wire_put_string(w, v->as.str.ptr, v->as.str.len);
        break;
    case HL_TYPE_BYTES:
        if (v->as.bytes.len > UINT32_MAX) {
            w->overflow = 1;
            return;
        }
        hl__wire_put_u32(w, (uint32_t)v->as.bytes.len);
        hl__wire_put_raw(w, v->as.bytes.ptr, v->as.bytes.len);
        break;
    default:
        w->overflow = 1; /* not a type: refuse to encode */
        break;
    }
}

static size_t finish(const hl__wire_writer *w)
{
    return w->overflow ? 0 : w->len;
}

size_t hl__wire_encode_call(void *buf, size_t cap, const char *name, size_t name_len,
                            const hl_value *args, size_t nargs)
{
    hl__wire_writer w;
    if (nargs > HL_MAX_PARAMS || !hl__wire_name_ok(name, name_len))
        return 0;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_put_u8(&w, HL_ABI_MSG_CALL);
    hl__wire_put_u8(&w, (uint8_t)nargs);
    hl__wire_put_name(&w, name, name_len);
    for (size_t i = 0; i < nargs; i++)
        hl__wire_put_value(&w, &args[i]);
    return finish(&w);
}

size_t hl__wire_encode_result(void *buf, size_t cap, const hl_value *v)
{
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_put_u8(&w, HL_ABI_MSG_RESULT);
    hl__wire_put_value(&w, v);
    return finish(&w);
}

size_t hl__wire_encode_error(void *buf, size_t cap, int32_t code, const char *msg, size_t len)
{
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_put_u8(&w, HL_ABI_MSG_ERROR);
    hl__wire_put_u32(&w, (uint32_t)code);
    hl__wire_put_string(&w, msg, len);
    return finish(&w);
}

size_t hl__wire_encode_log(void *buf, size_t cap, uint8_t level, uint32_t line, const char *file,
                           size_t file_len, const char *msg, size_t msg_len)
{
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_put_u8(&w, HL_ABI_MSG_LOG);
    hl__wire_put_u8(&w, level);
    hl__wire_put_u32(&w, line);
    hl__wire_put_string(&w, file, file_len);
    hl__wire_put_string(&w, msg, msg_len);
    return finish(&w);
}

size_t hl__wire_encode_context(void *buf, size_t cap, const hl__wire_context *c)
{
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_put_u8(&w, HL_ABI_MSG_CONTEXT);
    hl__wire_put_u64(&w, c->realtime_ns);
    hl__wire_put_u64(&w, c->monotonic_ns);
    hl__wire_put_u32(&w, c->tsc_khz);
    hl__wire_put_u32(&w, c->flags);
    hl__wire_put_u64(&w, c->seed);
    return finish(&w);
}

void hl__wire_begin_sigs_writer(hl__wire_writer *w, uint16_t count)
{
    hl__wire_put_u8(w, HL_ABI_MSG_SIGS);
    hl__wire_put_u16(w, count);
}

void hl__wire_put_sig(hl__wire_writer *w, const char *name, size_t name_len, hl_type ret,
                      const hl_type *params, size_t nparams)
{
    hl__wire_put_name(w, name, name_len);
    hl__wire_put_u8(w, (uint8_t)ret);
    hl__wire_put_u8(w, (uint8_t)nparams);
    for (size_t i = 0; i < nparams; i++)
        hl__wire_put_u8(w, (uint8_t)params[i]);
}

/* ---------------------------------------------------------------- validation helpers */

int hl__wire_name_ok(const char *name, size_t len)
{
    if (len == 0 || len > HL_ABI_MAX_NAME)
        return 0;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e)
            return 0;
    return 1;
}

/* Length of the UTF-8 sequence starting at s[0..len), or 0 if it is invalid (overlong,
 * surrogate, above U+10FFFF, truncated, NUL). */
static size_t utf8_seq(const uint8_t *s, size_t len)
{
    uint8_t c = s[0];
    size_t n;
    uint32_t cp, min;
    if (c == 0)
        return 0;
    if (c < 0x80)
        return 1;
    if ((c & 0xe0) == 0xc0)
        n = 2, cp = c & 0x1f, min = 0x80;
    else if ((c & 0xf0) == 0xe0)
        n = 3, cp = c & 0x0f, min = 0x800;
    else if ((c & 0xf8) == 0xf0)
        n = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (n > len)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

int hl__wire_utf8_ok(const uint8_t *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_seq(s + i, len - i);
        if (n == 0)
            return 0;
        i += n;
    }
    return 1;
}

/* ---------------------------------------------------------------- decoding */

void hl__wire_reader_init(hl__wire_reader *r, const void *p, size_t len)
{
    r->p = p;
    r->len = len;
    r->pos = 0;
    r->why = NULL;
}

static int bad(hl__wire_reader *r, const char *why)
{
    if (!r->why)
        r->why = why;
    return -1;
}

static int take(hl__wire_reader *r, size_t n, const uint8_t **out)
{
    if (n > r->len - r->pos)
        return bad(r, "message truncated");
    *out = r->p + r->pos;
    r->pos += n;
    return 0;
}

static int get_u8(hl__wire_reader *r, uint8_t *v)
{
    const uint8_t *b;
    if (take(r, 1, &b))
        return -1;
    *v = b[0];
    return 0;
}

static int get_le(hl__wire_reader *r, size_t n, uint64_t *v)
{
    const uint8_t *b;
    if (take(r, n, &b))
        return -1;
    *v = 0;
    for (size_t i = 0; i < n; i++)
        *v |= (uint64_t)b[i] << (8 * i);
    return 0;
}

static int get_string(hl__wire_reader *r, const char **s, size_t *n)
{
    uint64_t len;
    const uint8_t *b;
    if (get_le(r, 4, &len) || take(r, len, &b))
        return bad(r, "string truncated");
    if (!hl__wire_utf8_ok(b, len))
        return bad(r, "string is not valid UTF-8 or contains NUL");
    const uint8_t *nul;
    if (take(r, 1, &nul) || *nul != 0)
        return bad(r, "string lacks its terminating NUL");
    *s = (const char *)b;
    *n = len;
    return 0;
}

static int get_name(hl__wire_reader *r, const char **name, size_t *n)
{
    uint64_t len;
    const uint8_t *b;
    if (get_le(r, 2, &len) || take(r, len, &b))
        return bad(r, "name truncated");
    if (!hl__wire_name_ok((const char *)b, len))
        return bad(r, "invalid function name");
    *name = (const char *)b;
    *n = len;
    return 0;
}

static int get_value(hl__wire_reader *r, hl_value *v)
{
    uint8_t t, b;
    uint64_t x;
    const uint8_t *p;
    if (get_u8(r, &t))
        return -1;
    memset(v, 0, sizeof *v);
    v->type = (hl_type)t;
    switch (t) {
    case HL_TYPE_VOID:
        return 0;
    case HL_TYPE_BOOL:
        if (get_u8(r, &b))
            return -1;
        if (b > 1)
            return bad(r, "bool is neither 0 nor 1");
        v->as.b = b;
        return 0;
    case HL_TYPE_I32:
    case HL_TYPE_U32:
    case HL_TYPE_F32:
        if (get_le(r, 4, &x))
            return -1;
        v->as.u32 = (uint32_t)x; /* f32 shares the bits (memcpy-equivalent through the union) */
        return 0;
    case HL_TYPE_I64:
    case HL_TYPE_U64:
    case HL_TYPE_F64:
        if (get_le(r, 8, &x))
            return -1;
        v->as.u64 = x;
        return 0;
    case HL_TYPE_STRING:
        return get_string(r, &v->as.str.ptr, &v->as.str.len);
    case HL_TYPE_BYTES:
        if (get_le(r, 4, &x) || take(r, x, &p))
            return bad(r, "bytes truncated");
        v->as.bytes.ptr = p;
        v->as.bytes.len = x;
        return 0;
    default:
        return bad(r, "unknown value type");
    }
}

static int expect_kind(hl__wire_reader *r, uint8_t kind)
{
    uint8_t k;
    if (r->len == 0)
        return bad(r, "empty message");
    if (get_u8(r, &k))
        return -1;
    if (k != kind)
        return bad(r, "unexpected message kind");
    return 0;
}

int hl__wire_end(hl__wire_reader *r)
{
    if (r->why)
        return -1;
    if (r->pos != r->len)
        return bad(r, "trailing bytes after message");
    return 0;
}

int hl__wire_kind(const void *msg, size_t len)
{
    return len ? ((const uint8_t *)msg)[0] : -1;
}

int hl__wire_decode_call(hl__wire_reader *r, hl__wire_call *out)
{
    uint8_t n;
    if (expect_kind(r, HL_ABI_MSG_CALL) || get_u8(r, &n))
        return -1;
    if (n > HL_MAX_PARAMS)
        return bad(r, "too many arguments");
    if (get_name(r, &out->name, &out->name_len))
        return -1;
    out->nargs = n;
    for (size_t i = 0; i < n; i++) {
        if (get_value(r, &out->args[i]))
            return -1;
        if (out->args[i].type == HL_TYPE_VOID)
            return bad(r, "void argument");
    }
    return hl__wire_end(r);
}

int hl__wire_decode_result(hl__wire_reader *r, hl_value *out)
{
    if (expect_kind(r, HL_ABI_MSG_RESULT) || get_value(r, out))
        return -1;
    return hl__wire_end(r);
}

int hl__wire_decode_error(hl__wire_reader *r, int32_t *code, const char **msg, size_t *msg_len)
{
    uint64_t c;
    if (expect_kind(r, HL_ABI_MSG_ERROR) || get_le(r, 4, &c) || get_string(r, msg, msg_len))
        return -1;
    *code = (int32_t)(uint32_t)c;
    return hl__wire_end(r);
}

int hl__wire_decode_log(hl__wire_reader *r, hl__wire_log *out)
{
    uint64_t line;
    size_t file_len;
    if (expect_kind(r, HL_ABI_MSG_LOG) || get_u8(r, &out->level) || get_le(r, 4, &line) ||
        get_string(r, &out->file, &file_len) || get_string(r, &out->message, &out->message_len))
        return -1;
    if (out->level < HL_ABI_LOG_ERROR || out->level > HL_ABI_LOG_TRACE)
        return bad(r, "log level out of range");
    out->line = (uint32_t)line;
    return hl__wire_end(r);
}

int hl__wire_decode_stream(hl__wire_reader *r, hl__wire_stream *out)
{
    uint64_t len;
    if (expect_kind(r, HL_ABI_MSG_STREAM) || get_u8(r, &out->stream) || get_le(r, 4, &len) ||
        take(r, (size_t)len, &out->bytes))
        return -1;
    if (out->stream != HL_ABI_STREAM_STDOUT && out->stream != HL_ABI_STREAM_STDERR)
        return bad(r, "unknown output stream");
    out->len = (size_t)len;
    return hl__wire_end(r);
}

int hl__wire_decode_context(hl__wire_reader *r, hl__wire_context *out)
{
    uint64_t khz, flags;
    if (expect_kind(r, HL_ABI_MSG_CONTEXT) || get_le(r, 8, &out->realtime_ns) ||
        get_le(r, 8, &out->monotonic_ns) || get_le(r, 4, &khz) || get_le(r, 4, &flags) ||
        get_le(r, 8, &out->seed))
        return -1;
    out->tsc_khz = (uint32_t)khz;
    out->flags = (uint32_t)flags;
    return hl__wire_end(r);
}

int hl__wire_begin_sigs(hl__wire_reader *r, size_t *count)
{
    uint64_t n;
    if (expect_kind(r, HL_ABI_MSG_SIGS) || get_le(r, 2, &n))
        return -1;
    if (n > HL_ABI_MAX_FUNCTIONS)
        return bad(r, "too many functions");
    *count = n;
    return 0;
}

int hl__wire_next_sig(hl__wire_reader *r, hl__wire_sig *out)
{
    uint8_t ret, n;
    if (get_name(r, &out->name, &out->name_len) || get_u8(r, &ret) || get_u8(r, &n))
        return -1;
    if (ret >= HL_TYPE_COUNT)
        return bad(r, "unknown return type");
    if (n > HL_MAX_PARAMS)
        return bad(r, "too many parameters");
    if (take(r, n, &out->params))
        return -1;
    for (size_t i = 0; i < n; i++)
        if (out->params[i] == HL_TYPE_VOID || out->params[i] >= HL_TYPE_COUNT)
            return bad(r, "invalid parameter type");
    out->ret = (hl_type)ret;
    out->nparams = n;
    return 0;
}

/* js_host.c: `host.<name>(...)` in the JavaScript guest: prelude.js turns the arguments into JSON
 * plus binary parts, and native.hostCall sends them to the host's one dispatcher (js/js_wire.h). */
#include "js_guest.h"

#include <stdlib.h>
#include <string.h>

static uint8_t *put_u32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return p + 4;
}

static uint8_t *put_block(uint8_t *p, const void *data, size_t len)
{
    p = put_u32(p, (uint32_t)len);
    if (len)
        memcpy(p, data, len);
    return p + len;
}

typedef struct part {
    const uint8_t *p;
    size_t len;
} part;

/* The binary parts (Uint8Arrays): their bytes are read in place. 0 or -1 (exception). */
static int read_parts(JSContext *ctx, JSValueConst array, part *parts, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        JSValue v = JS_GetPropertyUint32(ctx, array, i);
        parts[i].p = js_view_bytes(ctx, v, &parts[i].len);
        JS_FreeValue(ctx, v); /* the array keeps the view, and the view its buffer, alive */
        if (!parts[i].p)
            return -1;
    }
    return 0;
}

static JSValue send(JSContext *ctx, const char *name, size_t nlen, const char *json, size_t jlen,
                    const part *parts, uint32_t n)
{
    size_t size = 12 + nlen + jlen;
    for (uint32_t i = 0; i < n; i++)
        size += 4 + parts[i].len;
    uint8_t *req = malloc(size);
    if (!req)
        return JS_ThrowOutOfMemory(ctx);
    uint8_t *q = put_block(put_block(req, name, nlen), json, jlen);
    q = put_u32(q, n);
    for (uint32_t i = 0; i < n; i++)
        q = put_block(q, parts[i].p, parts[i].len);
    hl_value out;
    int rc = hlg_call_host(HL_JS_FN_HOST, HL_ARGS(hl_bytes(req, size)), &out);
    free(req);
    if (rc != 0)
        return JS_ThrowInternalError(ctx, "host.%s: %s", name, hlg_last_error());
    if (out.type != HL_TYPE_BYTES || out.as.bytes.len == 0)
        return JS_ThrowInternalError(ctx, "host.%s: the host's reply has no kind", name);
    const uint8_t *p = out.as.bytes.ptr;
    size_t len = out.as.bytes.len - 1;
    if (p[0] == HL_JS_KIND_JSON)
        return JS_NewStringLen(ctx, (const char *)p + 1, len);
    if (p[0] == HL_JS_KIND_BYTES)
        return JS_NewArrayBufferCopy(ctx, p + 1, len);
    if (p[0] == HL_JS_KIND_UNDEFINED)
        return JS_UNDEFINED;
    return JS_ThrowInternalError(ctx, "host.%s: unknown reply kind 0x%02x", name, p[0]);
}

/* native.hostCall(name, argsJson, parts): a string (JSON text), an ArrayBuffer or undefined. */
JSValue js_host_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    uint32_t n;
    size_t nlen, jlen;
    JSValue count = JS_GetPropertyStr(ctx, argv[2], "length");
    int bad = JS_ToUint32(ctx, &n, count);
    JS_FreeValue(ctx, count);
    if (bad)
        return JS_EXCEPTION;
    part *parts = calloc(n ? n : 1, sizeof *parts);
    if (!parts)
        return JS_ThrowOutOfMemory(ctx);
    const char *name = JS_ToCStringLen(ctx, &nlen, argv[0]);
    const char *json = name ? JS_ToCStringLen(ctx, &jlen, argv[1]) : NULL;
    JSValue r = JS_EXCEPTION;
    if (json && read_parts(ctx, argv[2], parts, n) == 0)
        r = send(ctx, name, nlen, json, jlen, parts, n);
    JS_FreeCString(ctx, json);
    JS_FreeCString(ctx, name);
    free(parts);
    return r;
}

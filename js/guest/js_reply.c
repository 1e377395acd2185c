/* js_reply.c: the replies of the JavaScript guest's functions (js/js_wire.h): a kind byte, then
 * JSON text, bytes, or an exception's name, message and stack. Built in hlg_scratch memory, which
 * lives until the host has the result. */
#include "js_guest.h"

#include <string.h>

static int reply(hl_value *ret, char kind, const void *a, size_t alen)
{
    uint8_t *p = hlg_scratch(1 + alen);
    if (!p)
        return hlg_fail("JS guest: no memory for a %zu-byte reply", alen);
    p[0] = (uint8_t)kind;
    if (alen)
        memcpy(p + 1, a, alen);
    *ret = hl_bytes(p, 1 + alen);
    return 0;
}

int js_reply_ok(hl_value *ret)
{
    return reply(ret, HL_JS_KIND_OK, NULL, 0);
}

/* The bytes of a typed array or ArrayBuffer result; NULL (no exception left) for anything else. */
static const uint8_t *result_bytes(JSValueConst v, size_t *len)
{
    const uint8_t *p = js_view_bytes(js_ctx, v, len);
    if (!p)
        JS_FreeValue(js_ctx, JS_GetException(js_ctx));
    return p;
}

int js_reply_value(JSValueConst v, hl_value *ret)
{
    if (JS_IsUndefined(v))
        return reply(ret, HL_JS_KIND_UNDEFINED, NULL, 0);
    size_t len;
    const uint8_t *bytes = JS_IsObject(v) ? result_bytes(v, &len) : NULL;
    if (bytes)
        return reply(ret, HL_JS_KIND_BYTES, bytes, len);
    JSValue json = JS_JSONStringify(js_ctx, v, JS_UNDEFINED, JS_UNDEFINED);
    if (JS_IsException(json))
        return js_reply_exception(ret);
    if (JS_IsUndefined(json)) /* a function or a symbol */
        return reply(ret, HL_JS_KIND_UNDEFINED, NULL, 0);
    const char *s = JS_ToCStringLen(js_ctx, &len, json);
    JS_FreeValue(js_ctx, json);
    if (!s)
        return js_reply_exception(ret);
    int rc = reply(ret, HL_JS_KIND_JSON, s, len + 1); /* with its NUL, for the host */
    JS_FreeCString(js_ctx, s);
    return rc;
}

/* A C string from the context (JS_FreeCString) or a literal. */
typedef struct text {
    const char *s;
    size_t len;
    int owned;
} text;

static text text_of(JSValueConst v)
{
    text t = {"", 0, 0};
    const char *s = JS_ToCStringLen(js_ctx, &t.len, v);
    if (s) {
        t.s = s, t.owned = 1;
    } else {
        JS_FreeValue(js_ctx, JS_GetException(js_ctx));
        t.s = "(unprintable)", t.len = strlen(t.s);
    }
    return t;
}

/* String(v[key]), "" when v is no object or has no such property. */
static text field(JSValueConst v, const char *key)
{
    text t = {"", 0, 0};
    if (!JS_IsObject(v))
        return t;
    JSValue f = JS_GetPropertyStr(js_ctx, v, key);
    if (JS_IsException(f))
        JS_FreeValue(js_ctx, JS_GetException(js_ctx));
    else if (!JS_IsUndefined(f))
        t = text_of(f);
    JS_FreeValue(js_ctx, f);
    return t;
}

static void text_free(text t)
{
    if (t.owned)
        JS_FreeCString(js_ctx, t.s);
}

static uint8_t *put(uint8_t *q, text t)
{
    memcpy(q, t.s, t.len);
    q[t.len] = 0;
    return q + t.len + 1;
}

int js_reply_exception(hl_value *ret)
{
    JSValue ex = JS_GetException(js_ctx);
    text none = {"", 0, 0};
    int is_error = JS_IsError(js_ctx, ex);
    /* `throw 42` has no name: the value as text is the message */
    text name = is_error ? field(ex, "name") : none;
    text message = is_error ? field(ex, "message") : text_of(ex);
    text stack = field(ex, "stack");
    JS_FreeValue(js_ctx, ex);
    uint8_t *p = hlg_scratch(1 + name.len + message.len + stack.len + 3);
    int rc = 0;
    if (!p) {
        rc = hlg_fail("JS guest: no memory for an error reply");
    } else {
        p[0] = HL_JS_KIND_ERROR;
        uint8_t *end = put(put(put(p + 1, name), message), stack);
        *ret = hl_bytes(p, (size_t)(end - p));
    }
    text_free(name), text_free(message), text_free(stack);
    return rc;
}

/* js_common.h: what the JavaScript sandbox tests share: skipping without KVM or without the JS
 * guest, making a sandbox with modules, and checked calls that print the JS error. */
#ifndef HL_TEST_JS_COMMON_H
#define HL_TEST_JS_COMMON_H

#include <hyperlight/js.h>

#include "kvm_common.h"

/* Skips (never passes) without KVM or without the JS guest, saying which and why. */
static inline void require_js(void)
{
    require_kvm();
    if (!hl_js_available())
        SKIP("the JS guest was not built: %s", hl_js_guest_missing());
}

/* A JS sandbox with cfg (NULL = defaults). */
static inline hl_js *new_js(const hl_js_config *cfg)
{
    hl_js *js = NULL;
    require_js();
    CHECK_OK(hl_js_new(cfg, &js));
    CHECK(js != NULL);
    return js;
}

#define CHECK_JS_OK(js, expr)                                                                      \
    do {                                                                                           \
        int hl_rc_ = (expr);                                                                       \
        if (hl_rc_ != 0)                                                                           \
            hl_test_fail(__FILE__, __LINE__, "%s returned %s; JS error: %s", #expr,                \
                         hl_errname(hl_rc_), hl_js_last_error(js)->text);                          \
    } while (0)

#define CHECK_JS_RC(js, expr, want)                                                                \
    do {                                                                                           \
        int hl_rc_ = (expr), hl_want_ = (want);                                                    \
        if (hl_rc_ != hl_want_)                                                                    \
            hl_test_fail(__FILE__, __LINE__, "%s returned %s, expected %s; JS error: %s", #expr,   \
                         hl_errname(hl_rc_), hl_errname(hl_want_), hl_js_last_error(js)->text);    \
    } while (0)

static inline void load(hl_js *js, const char *name, const char *source)
{
    CHECK_JS_OK(js, hl_js_load_module(js, name, source, strlen(source)));
}

/* A JS sandbox (cfg) with module "m" = source. */
static inline hl_js *js_with(const hl_js_config *cfg, const char *source)
{
    hl_js *js = new_js(cfg);
    load(js, "m", source);
    return js;
}

/* Calls m's `handler` with JSON `event`; checks success and JSON result text == want. */
static inline void call_json_at(const char *file, int line, hl_js *js, const char *handler,
                                const char *event, const char *want)
{
    hl_js_data ev = hl_js_json(event), r;
    int rc = hl_js_call(js, "m", handler, &ev, &r);
    if (rc)
        hl_test_fail(file, line, "%s(%.200s) returned %s; JS error: %s", handler, event,
                     hl_errname(rc), hl_js_last_error(js)->text);
    if (r.kind != HL_JS_JSON)
        hl_test_fail(file, line, "%s(%.200s) returned kind %d, not JSON", handler, event,
                     (int)r.kind);
    const char *s = r.data;
    if (r.len != strlen(want) || memcmp(s, want, r.len) != 0 || s[r.len] != 0)
        hl_test_fail(file, line, "%s(%.200s) returned %.*s, expected %s", handler, event,
                     (int)(r.len > 400 ? 400 : r.len), s, want);
}
#define CALL_JSON(js, handler, event, want)                                                        \
    call_json_at(__FILE__, __LINE__, js, handler, event, want)

/* Calls m's `handler` with JSON `event` and returns the result text (copied into buf). */
static inline const char *call_text(hl_js *js, const char *handler, const char *event, char *buf,
                                    size_t size)
{
    hl_js_data ev = hl_js_json(event), r;
    CHECK_JS_OK(js, hl_js_call(js, "m", handler, &ev, &r));
    CHECK_EQ(r.kind, HL_JS_JSON);
    snprintf(buf, size, "%.*s", (int)r.len, (const char *)r.data);
    return buf;
}

/* Calls m's `handler` with JSON `event` and checks it fails with `code`. */
static inline const hl_js_error *call_fails(hl_js *js, const char *handler, const char *event,
                                            int code)
{
    hl_js_data ev = hl_js_json(event), r;
    CHECK_JS_RC(js, hl_js_call(js, "m", handler, &ev, &r), code);
    const hl_js_error *e = hl_js_last_error(js);
    CHECK_EQ(e->code, code);
    return e;
}

#endif

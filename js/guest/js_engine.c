/* js_engine.c: the JavaScript guest's one QuickJS runtime and context, the standard globals a
 * handler author expects (prelude.js, over the natives below), and running promise jobs. */
#include "js_guest.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

JSRuntime *js_rt;
JSContext *js_ctx;

/* prelude.js, linked in by prelude.S. */
extern const char hljs_prelude[];
extern const char hljs_prelude_end[];

/* What prelude.js returns: { defineHost(names) }. */
static JSValue prelude_api; /* set by run_prelude */

#define NATIVE_RANDOM_BYTES_MAX 65536 /* crypto.getRandomValues' limit */

/* ---- Math.random: xoshiro256** seeded from the CPU's entropy at each timeline ---- */
static uint64_t rng[4];
static uint64_t rng_timeline;
static int rng_seeded;

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A new sequence for every timeline: the same state restored twice would otherwise repeat it. */
static void rng_reseed_if_new_timeline(void)
{
    uint64_t t = hlg_timeline_seed();
    if (rng_seeded && t == rng_timeline)
        return;
    if (getentropy(rng, sizeof rng) != 0) {
        uint64_t x = t; /* no RDRAND: the host's per-timeline seed, still fresh per restore */
        for (int i = 0; i < 4; i++)
            rng[i] = splitmix64(&x);
    }
    rng_timeline = t;
    rng_seeded = 1;
}

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void)
{
    uint64_t result = rotl(rng[1] * 5, 7) * 9, t = rng[1] << 17;
    rng[2] ^= rng[0];
    rng[3] ^= rng[1];
    rng[1] ^= rng[2];
    rng[0] ^= rng[3];
    rng[2] ^= t;
    rng[3] = rotl(rng[3], 45);
    return result;
}

static JSValue native_random(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc, (void)argv;
    rng_reseed_if_new_timeline();
    return JS_NewFloat64(ctx, (double)(rng_next() >> 11) * 0x1.0p-53);
}

/* ---- byte views ---- */
uint8_t *js_view_bytes(JSContext *ctx, JSValueConst v, size_t *len)
{
    size_t offset, size, per;
    JSValue ab = JS_GetTypedArrayBuffer(ctx, v, &offset, len, &per);
    if (JS_IsException(ab)) {
        JS_FreeValue(ctx, JS_GetException(ctx));
        return JS_GetArrayBuffer(ctx, len, v); /* NULL with a TypeError if not one either */
    }
    uint8_t *p = JS_GetArrayBuffer(ctx, &size, ab);
    JS_FreeValue(ctx, ab);
    if (!p)
        return NULL;
    return p + offset;
}

/* native.fillRandom(view): fills a typed array with bytes from the CPU's RDRAND. */
static JSValue native_fill_random(JSContext *ctx, JSValueConst this_val, int argc,
                                  JSValueConst *argv)
{
    (void)this_val, (void)argc;
    size_t len;
    uint8_t *p = js_view_bytes(ctx, argv[0], &len);
    if (!p)
        return JS_EXCEPTION;
    if (len > NATIVE_RANDOM_BYTES_MAX)
        return JS_ThrowRangeError(ctx, "getRandomValues: %zu bytes asked, at most %d", len,
                                  NATIVE_RANDOM_BYTES_MAX);
    for (size_t done = 0; done < len;) {
        size_t n = len - done > 256 ? 256 : len - done;
        if (getentropy(p + done, n) != 0)
            return JS_ThrowInternalError(ctx, "getRandomValues: the CPU offers no RDRAND");
        done += n;
    }
    return JS_DupValue(ctx, argv[0]);
}

/* native.utf8Encode(string) -> ArrayBuffer of its UTF-8. */
static JSValue native_utf8_encode(JSContext *ctx, JSValueConst this_val, int argc,
                                  JSValueConst *argv)
{
    (void)this_val, (void)argc;
    size_t len;
    const char *s = JS_ToCStringLen(ctx, &len, argv[0]);
    if (!s)
        return JS_EXCEPTION;
    JSValue ab = JS_NewArrayBufferCopy(ctx, (const uint8_t *)s, len);
    JS_FreeCString(ctx, s);
    return ab;
}

/* native.utf8Decode(view) -> string. */
static JSValue native_utf8_decode(JSContext *ctx, JSValueConst this_val, int argc,
                                  JSValueConst *argv)
{
    (void)this_val, (void)argc;
    size_t len;
    uint8_t *p = js_view_bytes(ctx, argv[0], &len);
    if (!p)
        return JS_EXCEPTION;
    return JS_NewStringLen(ctx, (const char *)p, len);
}

/* native.write(stream, level, text): console output to stdout (1) or stderr (2), and a log
 * record at `level` (sent only when the host asked for logs at that level). */
static JSValue native_write(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv)
{
    (void)this_val, (void)argc;
    int32_t stream, level;
    size_t len;
    if (JS_ToInt32(ctx, &stream, argv[0]) || JS_ToInt32(ctx, &level, argv[1]))
        return JS_EXCEPTION;
    const char *s = JS_ToCStringLen(ctx, &len, argv[2]);
    if (!s)
        return JS_EXCEPTION;
    FILE *f = stream == 2 ? stderr : stdout;
    fwrite(s, 1, len, f);
    fputc('\n', f);
    hlg_log((unsigned)level, "console", 0, "%s", s);
    JS_FreeCString(ctx, s);
    return JS_UNDEFINED;
}

JSValue js_host_call(JSContext *ctx, JSValueConst this_val, int argc, JSValueConst *argv);

static const JSCFunctionListEntry natives[] = {
    JS_CFUNC_DEF("random", 0, native_random),
    JS_CFUNC_DEF("fillRandom", 1, native_fill_random),
    JS_CFUNC_DEF("utf8Encode", 1, native_utf8_encode),
    JS_CFUNC_DEF("utf8Decode", 1, native_utf8_decode),
    JS_CFUNC_DEF("write", 3, native_write),
    JS_CFUNC_DEF("hostCall", 3, js_host_call),
};

/* Runs prelude.js (a function of the natives) and keeps what it returns. */
static int run_prelude(void)
{
    size_t len = (size_t)(hljs_prelude_end - hljs_prelude);
    JSValue fn = JS_Eval(js_ctx, hljs_prelude, len, "prelude.js", JS_EVAL_TYPE_GLOBAL);
    if (JS_IsException(fn))
        return -1;
    JSValue native = JS_NewObject(js_ctx);
    JS_SetPropertyFunctionList(js_ctx, native, natives, sizeof natives / sizeof natives[0]);
    prelude_api = JS_Call(js_ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&native);
    JS_FreeValue(js_ctx, native);
    JS_FreeValue(js_ctx, fn);
    return JS_IsException(prelude_api) ? -1 : 0;
}

int js_engine_start(void)
{
    js_rt = JS_NewRuntime();
    if (!js_rt)
        return -1;
    JS_SetCanBlock(js_rt, 0); /* one thread: Atomics.wait would wait forever */
    js_ctx = JS_NewContext(js_rt);
    if (!js_ctx)
        return -1;
    return run_prelude();
}

int js_engine_setup(uint64_t memory_limit, uint64_t stack_limit, const char *names)
{
    JS_SetMemoryLimit(js_rt, (size_t)memory_limit);
    JS_SetMaxStackSize(js_rt, (size_t)stack_limit);
    JSValue define = JS_GetPropertyStr(js_ctx, prelude_api, "defineHost");
    JSValue arg = JS_NewString(js_ctx, names);
    JSValue r = JS_Call(js_ctx, define, JS_UNDEFINED, 1, (JSValueConst *)&arg);
    JS_FreeValue(js_ctx, arg);
    JS_FreeValue(js_ctx, define);
    if (JS_IsException(r))
        return -1;
    JS_FreeValue(js_ctx, r);
    return 0;
}

int js_engine_drain_jobs(void)
{
    JSContext *c;
    int r;
    while ((r = JS_ExecutePendingJob(js_rt, &c)) > 0)
        ;
    return r < 0 ? -1 : 0;
}

JSValue js_engine_settle(JSValue v)
{
    if (JS_IsException(v))
        return v;
    if (js_engine_drain_jobs() != 0) {
        JS_FreeValue(js_ctx, v);
        return JS_EXCEPTION;
    }
    int state = JS_PromiseState(js_ctx, v);
    if (state < 0)
        return v;
    if (state == JS_PROMISE_PENDING) {
        JS_FreeValue(js_ctx, v);
        return JS_ThrowInternalError(js_ctx, "the promise never settled: a JS guest has no "
                                             "event loop (no timers, no I/O)");
    }
    JSValue result = JS_PromiseResult(js_ctx, v);
    JS_FreeValue(js_ctx, v);
    if (state == JS_PROMISE_REJECTED)
        return JS_Throw(js_ctx, result);
    return result;
}

/* js_main.c: the JavaScript guest's entry points: hlg_main starts QuickJS; the guest functions of
 * js/js_wire.h load modules, call their exports with events and evaluate scripts. */
#include "js_guest.h"

#include <stdlib.h>
#include <string.h>

static uint64_t memory_limit = (uint64_t)-1;

/* Every call starts on the runtime's stack anew: QuickJS measures its depth from here. */
static void enter(void)
{
    JS_UpdateStackTop(js_rt);
}

/* Replies with the pending exception. Its text may need memory the script used up: the limit is
 * lifted while the reply is made. */
static int fail_with_exception(hl_value *ret)
{
    JS_SetMemoryLimit(js_rt, (size_t)-1);
    int rc = js_reply_exception(ret);
    JS_SetMemoryLimit(js_rt, (size_t)memory_limit);
    return rc;
}

/* Replies with what `r` (consumed: a value, a promise, or JS_EXCEPTION) settles to. */
static int reply_settled(JSValue r, hl_value *ret)
{
    r = js_engine_settle(r);
    if (JS_IsException(r))
        return fail_with_exception(ret);
    int rc = js_reply_value(r, ret);
    JS_FreeValue(js_ctx, r);
    return rc;
}

static int js_setup(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    enter();
    memory_limit = args[0].as.u64;
    if (js_engine_setup(args[0].as.u64, args[1].as.u64, args[2].as.str.ptr) != 0)
        return fail_with_exception(ret);
    return js_reply_ok(ret);
}

static int js_load(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    enter();
    if (js_modules_load(args[0].as.str.ptr, args[1].as.str.ptr, args[1].as.str.len) != 0)
        return fail_with_exception(ret);
    return js_reply_ok(ret);
}

/* Before a snapshot: every module body run, then a garbage collection, with the next one as far
 * away as QuickJS puts it after any collection (half the heap in use again). Otherwise the first
 * call of every sandbox made from the snapshot may collect, and QuickJS's collector writes to
 * every object: each sandbox would copy the whole heap. */
static int js_link(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    enter();
    if (js_modules_link_all() != 0)
        return fail_with_exception(ret);
    JS_RunGC(js_rt);
    JSMemoryUsage use;
    JS_ComputeMemoryUsage(js_rt, &use);
    JS_SetGCThreshold(js_rt, (size_t)(use.malloc_size + use.malloc_size / 2));
    return js_reply_ok(ret);
}

/* A Uint8Array holding a copy of p[0..len). */
static JSValue new_uint8array(const uint8_t *p, size_t len)
{
    JSValue ab = JS_NewArrayBufferCopy(js_ctx, p, len);
    if (JS_IsException(ab))
        return ab;
    /* JS_NewTypedArray reads all three of (buffer, offset, length), whatever argc says */
    JSValue argv[3] = {ab, JS_NewInt32(js_ctx, 0), JS_NewInt64(js_ctx, (int64_t)len)};
    JSValue u8 = JS_NewTypedArray(js_ctx, 3, argv, JS_TYPED_ARRAY_UINT8);
    JS_FreeValue(js_ctx, ab);
    return u8;
}

/* Calls export args[1] of module args[0] with `event` (consumed) and replies with its result. */
static int call_export(const hl_value *args, JSValue event, hl_value *ret)
{
    if (JS_IsException(event))
        return fail_with_exception(ret);
    JSValue fn = js_modules_export(args[0].as.str.ptr, args[1].as.str.ptr);
    if (!JS_IsException(fn) && !JS_IsFunction(js_ctx, fn)) {
        JS_FreeValue(js_ctx, fn);
        fn = JS_ThrowTypeError(js_ctx, "module '%s' exports no function '%s'", args[0].as.str.ptr,
                               args[1].as.str.ptr);
    }
    if (JS_IsException(fn)) {
        JS_FreeValue(js_ctx, event);
        return fail_with_exception(ret);
    }
    JSValue r = JS_Call(js_ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&event);
    JS_FreeValue(js_ctx, event);
    JS_FreeValue(js_ctx, fn);
    return reply_settled(r, ret);
}

static int js_call(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    enter();
    /* strings arrive NUL-terminated, as JS_ParseJSON needs */
    return call_export(
        args, JS_ParseJSON(js_ctx, args[2].as.str.ptr, args[2].as.str.len, "<event>"), ret);
}

static int js_call_bytes(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    enter();
    return call_export(args, new_uint8array(args[2].as.bytes.ptr, args[2].as.bytes.len), ret);
}

static int js_eval(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    enter();
    return reply_settled(
        JS_Eval(js_ctx, args[0].as.str.ptr, args[0].as.str.len, "<eval>", JS_EVAL_TYPE_GLOBAL),
        ret);
}

static void reg(const char *name, const hl_type *params, size_t n, hlg_fn fn)
{
    if (hlg_register(name, HL_TYPE_BYTES, params, n, fn) != 0)
        hlg_abort(1, "JS guest: cannot register %s", name);
}

void hlg_main(void)
{
    if (js_engine_start() != 0)
        hlg_abort(1, "JS guest: QuickJS did not start (heap too small?)");
    reg(HL_JS_FN_SETUP, HL_PARAMS(HL_TYPE_U64, HL_TYPE_U64, HL_TYPE_STRING), js_setup);
    reg(HL_JS_FN_LOAD, HL_PARAMS(HL_TYPE_STRING, HL_TYPE_STRING), js_load);
    reg(HL_JS_FN_LINK, NULL, 0, js_link);
    reg(HL_JS_FN_CALL, HL_PARAMS(HL_TYPE_STRING, HL_TYPE_STRING, HL_TYPE_STRING), js_call);
    reg(HL_JS_FN_CALL_BYTES, HL_PARAMS(HL_TYPE_STRING, HL_TYPE_STRING, HL_TYPE_BYTES),
        js_call_bytes);
    reg(HL_JS_FN_EVAL, HL_PARAMS(HL_TYPE_STRING), js_eval);
}

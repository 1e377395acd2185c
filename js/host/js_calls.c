/* js_calls.c: what a JS sandbox asks of its guest (js/js_wire.h): setup at first use, loading
 * modules, calling exports, evaluating scripts; the replies become results or hl_js_errors. The
 * clean snapshot of reset_after_call and the snapshot functions live here too. */
#include "js_internal.h"

#include <stdlib.h>
#include <string.h>

/* A guest reply (BYTES) of a successful hl_sandbox_call, as a result or js's error. */
static int take_reply(hl_js *js, const hl_value *v, hl_js_data *result)
{
    const uint8_t *p = v->as.bytes.ptr;
    size_t n = v->as.bytes.len;
    if (n == 0)
        return hljs__error_set(js, HL_EPROTOCOL, "the JS guest sent an empty reply");
    hl_js_data d = {HL_JS_UNDEFINED, p + 1, n - 1};
    switch (p[0]) {
    case HL_JS_KIND_ERROR:
        return hljs__error_js(js, p + 1, n - 1);
    case HL_JS_KIND_JSON: /* the guest sends the text's NUL too */
        if (n < 2 || p[n - 1] != 0)
            return hljs__error_set(js, HL_EPROTOCOL, "the JS guest sent JSON without its NUL");
        d.kind = HL_JS_JSON;
        d.len = n - 2;
        break;
    case HL_JS_KIND_BYTES:
        d.kind = HL_JS_BYTES;
        break;
    case HL_JS_KIND_UNDEFINED:
    case HL_JS_KIND_OK:
        break;
    default:
        return hljs__error_set(js, HL_EPROTOCOL, "the JS guest sent a reply of kind 0x%02x", p[0]);
    }
    if (result)
        *result = d;
    return 0;
}

/* What an operation that one of js's callbacks destroyed ends with. */
static int destroyed(hl_js *js)
{
    return hljs__error_set(js, HL_ECANCELLED,
                           "the JS sandbox was destroyed by one of its callbacks");
}

/* Calls guest function `fn` and takes its reply. A call that one of js's callbacks cut short by
 * hl_js_destroy ends with HL_ECANCELLED. */
static int guest(hl_js *js, const char *fn, const hl_value *args, size_t nargs, hl_js_data *result)
{
    hl_value v;
    js->busy++;
    int rc = hl_sandbox_call(js->sb, fn, args, nargs, &v);
    js->busy--;
    if (js->destroy_requested)
        return destroyed(js);
    if (rc)
        return hljs__error_hl(js, rc);
    return take_reply(js, &v, result);
}

/* The end of a public operation: a destroy its callbacks asked for happens now. */
static int leave(hl_js *js, int rc)
{
    if (js->destroy_requested && !js->busy)
        hljs__free(js);
    return rc;
}

static int check_js_guest(hl_js *js)
{
    hl_type ret;
    const hl_type *params;
    size_t n;
    if (hl_sandbox_guest_function(js->sb, HL_JS_FN_CALL, &ret, &params, &n) != 0 ||
        ret != HL_TYPE_BYTES || n != 3)
        return hljs__error_set(js, HL_EMISMATCH, "the snapshot is not of a JS guest (%s)",
                               "no " HL_JS_FN_CALL);
    return 0;
}

int hljs__start(hl_js *js)
{
    hljs__error_clear(js);
    if (!js->inited) {
        js->busy++;
        int rc = hl_sandbox_init(js->sb);
        js->busy--;
        if (js->destroy_requested)
            return destroyed(js);
        if (rc)
            return hljs__error_hl(js, rc);
        js->inited = 1;
        if (js->from_snapshot && (rc = check_js_guest(js)))
            return rc;
    }
    if (js->started)
        return 0;
    char *names = hljs__host_names(js);
    if (!names)
        return hljs__error_set(js, HL_ENOMEM, "no memory for the host function names");
    uint64_t stack_limit = js->cfg.stack_size - HL_JS_STACK_MARGIN;
    int rc = guest(js, HL_JS_FN_SETUP,
                   HL_ARGS(hl_u64(js->cfg.memory_limit), hl_u64(stack_limit), hl_str(names)), NULL);
    free(names);
    if (!rc)
        js->started = 1;
    return rc;
}

HL_API int hl_js_load_module(hl_js *js, const char *name, const char *source, size_t len)
{
    if (!js || !name || (!source && len))
        return HL_EINVAL;
    if (!*name || strlen(name) > HL_JS_MODULE_NAME_MAX)
        return hljs__error_set(js, HL_EINVAL, "a module name has 1 to %d bytes",
                               HL_JS_MODULE_NAME_MAX);
    int rc = hljs__start(js);
    if (!rc)
        rc = guest(js, HL_JS_FN_LOAD, HL_ARGS(hl_str(name), hl_strn(source ? source : "", len)),
                   NULL);
    if (!rc)
        js->modules_pending = 1;
    return leave(js, rc);
}

/* reset_after_call: the clean state is taken once every module loaded so far has run. */
/* If running the module bodies fails (a body throws, loops past the time limit), the sandbox
 * goes back to where it was before, so that reset_after_call still leaves no state and no poison
 * behind: the snapshot taken first is that state. */
static int take_clean_snapshot(hl_js *js)
{
    if (js->clean && !js->modules_pending)
        return 0;
    hl_snapshot *before, *snap;
    int rc = hljs__start(js);
    if (!rc && (rc = hl_sandbox_snapshot(js->sb, &before)))
        return hljs__error_hl(js, rc);
    if (rc)
        return rc;
    rc = hl_js_snapshot(js, &snap);
    if (rc) { /* js's error stays the bodies' */
        if (hl_sandbox_restore(js->sb, before) != 0 && !hl_sandbox_is_poisoned(js->sb))
            rc = hljs__error_hl(js, HL_EKVM);
        hl_snapshot_release(before);
        return rc;
    }
    hl_snapshot_release(before);
    hl_snapshot_release(js->clean);
    js->clean = snap;
    return 0;
}

/* After a call with reset_after_call: back to the clean state, whatever the call did. */
static int finish_call(hl_js *js, int rc)
{
    if (!js->cfg.reset_after_call || !js->clean || js->destroy_requested)
        return leave(js, rc);
    int r = hl_sandbox_restore(js->sb, js->clean);
    if (r && !rc) /* the call's own error says more; a failed restore poisons, as it says */
        rc = hljs__error_hl(js, r);
    return leave(js, rc);
}

static int prepare_call(hl_js *js)
{
    int rc = hljs__start(js);
    if (!rc && js->cfg.reset_after_call)
        rc = take_clean_snapshot(js);
    if (!rc)
        hljs__error_clear(js);
    return rc;
}

HL_API int hl_js_call(hl_js *js, const char *module, const char *handler, const hl_js_data *event,
                      hl_js_data *result)
{
    if (!js || !event || (!event->data && event->len))
        return HL_EINVAL;
    if (event->kind != HL_JS_JSON && event->kind != HL_JS_BYTES)
        return hljs__error_set(js, HL_EINVAL, "an event is JSON text or bytes");
    int rc = prepare_call(js);
    if (rc)
        return leave(js, rc);
    const char *fn = event->kind == HL_JS_JSON ? HL_JS_FN_CALL : HL_JS_FN_CALL_BYTES;
    hl_value ev = event->kind == HL_JS_JSON ? hl_strn(event->data ? event->data : "", event->len)
                                            : hl_bytes(event->data, event->len);
    rc = guest(js, fn,
               HL_ARGS(hl_str(module ? module : ""), hl_str(handler ? handler : "handler"), ev),
               result);
    return finish_call(js, rc);
}

HL_API int hl_js_eval(hl_js *js, const char *source, size_t len, hl_js_data *result)
{
    if (!js || (!source && len))
        return HL_EINVAL;
    int rc = prepare_call(js);
    if (rc)
        return leave(js, rc);
    rc = guest(js, HL_JS_FN_EVAL, HL_ARGS(hl_strn(source ? source : "", len)), result);
    return finish_call(js, rc);
}

HL_API int hl_js_snapshot(hl_js *js, hl_snapshot **out)
{
    if (!js || !out)
        return HL_EINVAL;
    int rc = hljs__start(js);
    if (!rc && !(rc = guest(js, HL_JS_FN_LINK, NULL, 0, NULL)))
        js->modules_pending = 0;
    if (rc)
        return leave(js, rc);
    rc = hl_sandbox_snapshot(js->sb, out);
    return rc ? hljs__error_hl(js, rc) : 0;
}

HL_API int hl_js_restore(hl_js *js, hl_snapshot *snap)
{
    if (!js || !snap)
        return HL_EINVAL;
    int rc = hl_sandbox_restore(js->sb, snap);
    if (rc)
        return hljs__error_hl(js, rc);
    if (js->cfg.reset_after_call) { /* snap is the clean state from now on */
        hl_snapshot *clean;
        if ((rc = hl_sandbox_snapshot(js->sb, &clean)))
            return hljs__error_hl(js, rc);
        hl_snapshot_release(js->clean);
        js->clean = clean;
        js->modules_pending = 0;
    }
    return 0;
}

HL_API bool hl_js_interrupt(hl_js *js)
{
    return js && hl_sandbox_interrupt(js->sb);
}

HL_API hl_sandbox *hl_js_sandbox(hl_js *js)
{
    return js ? js->sb : NULL;
}

/* ops_js.c: the JavaScript rows of hl-bench: JS sandboxes (libhyperlight_js) cold, called,
 * fresh per request and cloned from a loaded snapshot; the same handler in QuickJS compiled
 * natively into hl-bench (no isolation: the floor); and, when Node.js is there, Node's
 * vm.createContext and quickjs-emscripten with a fresh context per request (the peers). */
#include <stdlib.h>
#include <string.h>

#include <hyperlight/js.h>

#include "bench.h"

#ifndef HL_BENCH_NO_QJS
#include "quickjs.h"
#endif

/* One handler and one event for every row. */
#define HANDLER_FN                                                                                 \
    "function handler(e) {\n"                                                                      \
    "  const total = e.items.reduce((s, x) => s + x.price * x.qty, 0);\n"                          \
    "  return { id: e.id, total, tag: `order-${e.id}` };\n"                                        \
    "}\n"
#define EVENT "{\"id\":7,\"items\":[{\"price\":3,\"qty\":2},{\"price\":5,\"qty\":1}]}"
#define RESULT "{\"id\":7,\"total\":11,\"tag\":\"order-7\"}"
#define PEER_SAMPLES 4000 /* measured per node run, handed out one per sample */
#define PEER_SAMPLES_QUICK 200

static const char module_source[] = "export " HANDLER_FN;

/* The JS rows' state, in bench_ctx's src (the sandbox, its snapshot, peer samples). */
typedef struct js_state {
    hl_js *js;
    hl_snapshot *snap;
    uint64_t *peer_ns;
    size_t npeer, next;
#ifndef HL_BENCH_NO_QJS
    JSRuntime *rt;
    JSContext *ctx;
    JSValue fn;
#endif
} js_state;

static js_state *state(bench_ctx *c)
{
    return (js_state *)c->src;
}

static int js_fail(bench_ctx *c, const char *what, hl_js *js, int rc)
{
    return bench_fail(c, "%s: %s (%s)", what, hl_js_last_error(js)->text, hl_errname(rc));
}

static void js_teardown(bench_ctx *c)
{
    js_state *s = state(c);
    if (!s)
        return;
    hl_js_destroy(s->js);
    hl_snapshot_release(s->snap);
    free(s->peer_ns);
#ifndef HL_BENCH_NO_QJS
    if (s->ctx) {
        JS_FreeValue(s->ctx, s->fn);
        JS_FreeContext(s->ctx);
    }
    if (s->rt)
        JS_FreeRuntime(s->rt);
#endif
    free(s);
    c->src = NULL;
}

static int js_setup_state(bench_ctx *c)
{
    c->src = calloc(1, sizeof(js_state));
    return c->src ? 0 : bench_fail(c, "out of memory");
}

/* ---------------------------------------------------------------- JS sandboxes */

/* A JS sandbox with the handler module loaded and called once (its body run). */
int bench_js_new_loaded(bench_ctx *c, bool reset, hl_js **out)
{
    hl_js_config cfg;
    hl_js_config_init(&cfg);
    cfg.reset_after_call = reset;
    int rc = hl_js_new(&cfg, out);
    if (rc)
        return js_fail(c, "hl_js_new", NULL, rc);
    rc = hl_js_load_module(*out, "bench.js", module_source, sizeof module_source - 1);
    if (rc)
        return js_fail(c, "hl_js_load_module", *out, rc);
    return 0;
}

int bench_js_request(bench_ctx *c, hl_js *js)
{
    hl_js_data ev = hl_js_json(EVENT), r;
    int rc = hl_js_call(js, "bench.js", "handler", &ev, &r);
    if (rc)
        return js_fail(c, "hl_js_call", js, rc);
    if (r.kind != HL_JS_JSON || strcmp(r.data, RESULT) != 0)
        return bench_fail(c, "the handler returned %.*s", (int)r.len, (const char *)r.data);
    return 0;
}

static int setup_loaded(bench_ctx *c)
{
    if (js_setup_state(c) || bench_js_new_loaded(c, c->op->param != 0, &state(c)->js))
        return -1;
    return bench_js_request(c, state(c)->js);
}

static int setup_snapshot(bench_ctx *c)
{
    if (setup_loaded(c))
        return -1;
    int rc = hl_js_snapshot(state(c)->js, &state(c)->snap);
    return rc ? js_fail(c, "hl_js_snapshot", state(c)->js, rc) : 0;
}

/* new + load + first call, the sandbox destroyed untimed. */
static int cold_sample(bench_ctx *c, uint64_t *ns)
{
    hl_js *js = NULL;
    uint64_t t0 = bench_now_ns();
    int rc = bench_js_new_loaded(c, false, &js);
    if (!rc)
        rc = bench_js_request(c, js);
    *ns = bench_now_ns() - t0;
    hl_js_destroy(js);
    return rc;
}

static int call_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = bench_js_request(c, state(c)->js);
    *ns = bench_now_ns() - t0;
    return rc;
}

/* hl_js_new_from_snapshot + first call, destroyed untimed. */
static int clone_sample(bench_ctx *c, uint64_t *ns)
{
    hl_js *js = NULL;
    uint64_t t0 = bench_now_ns();
    int rc = hl_js_new_from_snapshot(NULL, state(c)->snap, &js);
    if (rc)
        return js_fail(c, "hl_js_new_from_snapshot", NULL, rc);
    rc = bench_js_request(c, js);
    *ns = bench_now_ns() - t0;
    hl_js_destroy(js);
    return rc;
}

/* ---------------------------------------------------------------- native QuickJS */
#ifndef HL_BENCH_NO_QJS
/* JSON.stringify(handler(JSON.parse(EVENT))) in ctx with `fn`, checked. */
static int native_request(bench_ctx *c, JSContext *ctx, JSValueConst fn)
{
    JSValue ev = JS_ParseJSON(ctx, EVENT, sizeof EVENT - 1, "<event>");
    JSValue r = JS_Call(ctx, fn, JS_UNDEFINED, 1, (JSValueConst *)&ev);
    JSValue json = JS_JSONStringify(ctx, r, JS_UNDEFINED, JS_UNDEFINED);
    const char *s = JS_ToCString(ctx, json);
    int ok = s && strcmp(s, RESULT) == 0;
    JS_FreeCString(ctx, s);
    JS_FreeValue(ctx, json), JS_FreeValue(ctx, r), JS_FreeValue(ctx, ev);
    return ok ? 0 : bench_fail(c, "native QuickJS did not return %s", RESULT);
}

/* A runtime and context with handler defined; its function in *fn. */
static int native_context(bench_ctx *c, JSRuntime **rt, JSContext **ctx, JSValue *fn)
{
    *rt = JS_NewRuntime();
    *ctx = *rt ? JS_NewContext(*rt) : NULL;
    if (!*ctx)
        return bench_fail(c, "native QuickJS: no runtime");
    JSValue v = JS_Eval(*ctx, HANDLER_FN, sizeof HANDLER_FN - 1, "bench.js", JS_EVAL_TYPE_GLOBAL);
    JS_FreeValue(*ctx, v);
    JSValue global = JS_GetGlobalObject(*ctx);
    *fn = JS_GetPropertyStr(*ctx, global, "handler");
    JS_FreeValue(*ctx, global);
    return JS_IsFunction(*ctx, *fn) ? 0 : bench_fail(c, "native QuickJS: no handler");
}

static int setup_native(bench_ctx *c)
{
    if (js_setup_state(c))
        return -1;
    js_state *s = state(c);
    return native_context(c, &s->rt, &s->ctx, &s->fn);
}

static int native_call_sample(bench_ctx *c, uint64_t *ns)
{
    js_state *s = state(c);
    uint64_t t0 = bench_now_ns();
    int rc = native_request(c, s->ctx, s->fn);
    *ns = bench_now_ns() - t0;
    return rc;
}

/* A new runtime + context per request: what isolation costs without a VM. */
static int native_fresh_sample(bench_ctx *c, uint64_t *ns)
{
    JSRuntime *rt;
    JSContext *ctx;
    JSValue fn = JS_UNDEFINED;
    uint64_t t0 = bench_now_ns();
    int rc = native_context(c, &rt, &ctx, &fn);
    if (!rc)
        rc = native_request(c, ctx, fn);
    if (ctx) {
        JS_FreeValue(ctx, fn);
        JS_FreeContext(ctx);
    }
    if (rt)
        JS_FreeRuntime(rt);
    *ns = bench_now_ns() - t0;
    return rc;
}
#else
static int setup_native(bench_ctx *c)
{
    return bench_fail(c, "hl-bench was built without QuickJS's source (see make quickjs)");
}
#define native_call_sample NULL
#define native_fresh_sample NULL
#endif

/* ---------------------------------------------------------------- Node.js peers */

/* Runs bench/js_peer.mjs MODE for PEER_SAMPLES requests (quick: PEER_SAMPLES_QUICK); BENCH_SKIP
 * when Node.js (or the npm package) is not there. */
static int run_peer(bench_ctx *c, const char *mode)
{
    js_state *s = state(c);
    int want = c->opt->quick ? PEER_SAMPLES_QUICK : PEER_SAMPLES;
    if (system("node --version > /dev/null 2>&1") != 0)
        return bench_skip(c, "Node.js is not installed");
    if (strcmp(mode, "qjs-emscripten") == 0 && !c->opt->qjs_emscripten)
        return bench_skip(c, "quickjs-emscripten is not installed (make bench installs it with "
                             "npm into build/npm)");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "HL_BENCH_QJS_EMSCRIPTEN='%s' node '%s' %s %d '%s' '%s'",
             c->opt->qjs_emscripten ? c->opt->qjs_emscripten : "", c->opt->js_peer, mode, want,
             HANDLER_FN, EVENT);
    FILE *p = popen(cmd, "r");
    if (!p)
        return bench_fail(c, "cannot run node");
    s->peer_ns = calloc((size_t)want, sizeof *s->peer_ns);
    unsigned long long v;
    while (s->peer_ns && s->npeer < (size_t)want && fscanf(p, "%llu", &v) == 1)
        s->peer_ns[s->npeer++] = v;
    int status = pclose(p);
    if (status != 0 || s->npeer < (size_t)want)
        return bench_fail(c, "node %s gave %zu of %d samples (status %d)", mode, s->npeer, want,
                          status);
    return 0;
}

static int setup_node_vm(bench_ctx *c)
{
    return js_setup_state(c) ? -1 : run_peer(c, "node-vm");
}

static int setup_qjs_emscripten(bench_ctx *c)
{
    return js_setup_state(c) ? -1 : run_peer(c, "qjs-emscripten");
}

static int peer_sample(bench_ctx *c, uint64_t *ns)
{
    js_state *s = state(c);
    *ns = s->peer_ns[s->next++ % s->npeer];
    return 0;
}

/* ---------------------------------------------------------------- the table */

#define ROW(id, label, floor, peer, full, quick, param, setup, sample)                             \
    {                                                                                              \
        id, label, floor, peer, full, quick, 1, param, setup, sample, js_teardown                  \
    }

const bench_op bench_js_ops[] = {
    ROW("js.cold", "JS sandbox cold: new + load module + first call", NULL, NULL, 100, 5, 0,
        js_setup_state, cold_sample),
    ROW("js.call", "JS handler call on a loaded sandbox (JSON in and out)", "js.native.call", NULL,
        5000, 100, 0, setup_loaded, call_sample),
    ROW("js.fresh", "JS fresh request: handler call + restore (reset_after_call)",
        "js.native.fresh", "js.peer.qjs_emscripten", 3000, 60, 1, setup_loaded, call_sample),
    ROW("js.clone", "JS sandbox from the loaded snapshot + first call", NULL, NULL, 500, 10, 0,
        setup_snapshot, clone_sample),
    ROW("js.native.call", "native QuickJS in-process handler call (no isolation)", NULL, NULL,
        20000, 400, 0, setup_native, native_call_sample),
    ROW("js.native.fresh", "native QuickJS: new runtime + context per request", NULL, NULL, 3000,
        60, 0, setup_native, native_fresh_sample),
    ROW("js.peer.node_vm", "Node vm.createContext + run per request", NULL, NULL, 2000, 40, 0,
        setup_node_vm, peer_sample),
    ROW("js.peer.qjs_emscripten", "quickjs-emscripten: new runtime + context per request", NULL,
        NULL, 2000, 40, 0, setup_qjs_emscripten, peer_sample),
};
const size_t bench_njs_ops = sizeof bench_js_ops / sizeof bench_js_ops[0];

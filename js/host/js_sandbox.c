/* js_sandbox.c: the JS sandbox object: a hyperlight sandbox running the built-in JS guest, its
 * configuration, the guest's setup at first use, and the loads, calls and evals of js.h, with the
 * clean snapshot of reset_after_call. */
#include "js_internal.h"

#include <stdlib.h>
#include <string.h>

#define MIB (1024u * 1024)
#define DEFAULT_TIME_LIMIT_MS 5000

HL_API bool hl_js_available(void)
{
    return (size_t)(hljs__image_end - &hljs__image[0]) > 0;
}

HL_API const char *hl_js_guest_missing(void)
{
    return hl_js_available() ? "" : hljs__missing;
}

HL_API void hl_js_config_init(hl_js_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->heap_size = HL_JS_DEFAULT_HEAP_SIZE;
    cfg->stack_size = HL_JS_DEFAULT_STACK_SIZE;
    cfg->buffer_size = HL_JS_DEFAULT_BUFFER_SIZE;
    cfg->time_limit_ms = DEFAULT_TIME_LIMIT_MS;
    cfg->log_level = HL_LOG_INFO;
}

/* Checks and completes a copy of the caller's configuration. */
static int check_config(hl_js *js, const hl_js_config *cfg)
{
    if (cfg)
        js->cfg = *cfg;
    else
        hl_js_config_init(&js->cfg);
    hl_js_config *c = &js->cfg;
    if (c->reserved8)
        return hljs__error_set(js, HL_ECONFIG, "hl_js_config.reserved8 is not 0");
    for (size_t i = 0; i < sizeof c->reserved / sizeof c->reserved[0]; i++)
        if (c->reserved[i])
            return hljs__error_set(js, HL_ECONFIG, "hl_js_config.reserved[%zu] is not 0", i);
    if (c->heap_size < HL_JS_MIN_HEAP_SIZE)
        return hljs__error_set(js, HL_ECONFIG, "heap_size %zu is below the JS minimum %u",
                               c->heap_size, HL_JS_MIN_HEAP_SIZE);
    if (c->stack_size < HL_JS_MIN_STACK_SIZE)
        return hljs__error_set(js, HL_ECONFIG, "stack_size %zu is below the JS minimum %u",
                               c->stack_size, HL_JS_MIN_STACK_SIZE);
    if (c->memory_limit == 0)
        c->memory_limit = c->heap_size / 4 * 3;
    if (c->memory_limit > c->heap_size - MIB)
        return hljs__error_set(js, HL_ECONFIG,
                               "memory_limit %zu leaves QuickJS less than 1 MiB of the %zu-byte "
                               "heap for itself",
                               c->memory_limit, c->heap_size);
    if (c->buffer_size < HL_MIN_BUFFER_SIZE || c->buffer_size > HL_MAX_BUFFER_SIZE)
        return hljs__error_set(js, HL_ECONFIG, "buffer_size %zu is outside %u..%u", c->buffer_size,
                               HL_MIN_BUFFER_SIZE, HL_MAX_BUFFER_SIZE);
    return 0;
}

static void sandbox_config(const hl_js_config *c, hl_config *h)
{
    hl_config_init(h);
    h->heap_size = c->heap_size;
    h->stack_size = c->stack_size;
    h->input_size = h->output_size = c->buffer_size;
    h->time_limit_ms = c->time_limit_ms;
    h->log_level = c->log_level;
    h->log_fn = c->log_fn;
    h->log_user = c->log_user;
    h->output_fn = c->output_fn;
    h->output_user = c->output_user;
    h->core_dir = c->core_dir;
    h->gdb_port = c->gdb_port;
    h->hot = c->hot;
    if (c->hot_spin_us)
        h->hot_spin_us = c->hot_spin_us;
    size_t need = c->heap_size + c->stack_size + 2 * c->buffer_size + 64 * MIB;
    h->memory_limit = need > HL_MAX_GUEST_MEMORY ? HL_MAX_GUEST_MEMORY : need;
}

static hl_js *js_alloc(void)
{
    hl_js *js = calloc(1, sizeof *js);
    if (js)
        hljs__error_clear(js);
    return js;
}

HL_API void hl_js_destroy(hl_js *js)
{
    if (!js)
        return;
    if (js->busy) { /* from one of its callbacks: the running operation ends and frees it */
        js->destroy_requested = 1;
        hl_sandbox_interrupt(js->sb);
        return;
    }
    hljs__free(js);
}

void hljs__free(hl_js *js)
{
    hl_sandbox_destroy(js->sb);
    hl_snapshot_release(js->clean);
    hljs__free_host_fns(js);
    hljs__error_free(js);
    free(js);
}

/* The rest of creation, for both kinds: the dispatcher every JS guest calls. A snapshot whose
 * guest had no host functions at all is ready to call, so it refuses the registration: it is no
 * JS guest's. */
static int finish_new(hl_js *js, int rc, hl_js **out)
{
    if (!rc && (rc = hljs__register_dispatcher(js)) == HL_ESTATE && js->from_snapshot)
        rc = hljs__error_set(js, HL_EMISMATCH, "the snapshot is not of a JS guest");
    if (rc) {
        if (!js->err.view.code) /* a failure of libhyperlight: its detail */
            hljs__error_hl(js, rc);
        hljs__error_keep_creation(js);
        hl_js_destroy(js);
        return rc;
    }
    *out = js;
    return 0;
}

/* The object and its checked config, and the hyperlight config it makes; NULL when out of
 * memory (*rc is then HL_ENOMEM). */
static hl_js *begin_new(const hl_js_config *cfg, hl_config *h, int *rc)
{
    hl_js *js = js_alloc();
    if (!js) {
        *rc = HL_ENOMEM;
        return NULL;
    }
    if (!(*rc = check_config(js, cfg)))
        sandbox_config(&js->cfg, h);
    return js;
}

HL_API int hl_js_new(const hl_js_config *cfg, hl_js **out)
{
    if (!out)
        return HL_EINVAL;
    if (!hl_js_available())
        return HL_ENOTFOUND;
    hl_config h;
    int rc;
    hl_js *js = begin_new(cfg, &h, &rc);
    if (!js)
        return rc;
    if (!rc)
        rc = hl_sandbox_new_from_memory(&h, hljs__image, (size_t)(hljs__image_end - hljs__image),
                                        &js->sb);
    return finish_new(js, rc, out);
}

HL_API int hl_js_new_from_snapshot(const hl_js_config *cfg, hl_snapshot *snap, hl_js **out)
{
    if (!out || !snap)
        return HL_EINVAL;
    hl_config h;
    int rc;
    hl_js *js = begin_new(cfg, &h, &rc);
    if (!js)
        return rc;
    if (!rc) {
        h.memory_limit = HL_MAX_GUEST_MEMORY; /* the snapshot's sizes, not cfg's, apply */
        rc = hl_sandbox_new_from_snapshot(&h, snap, &js->sb);
    }
    js->started = 1; /* the guest's setup is part of the snapshot */
    js->from_snapshot = 1;
    return finish_new(js, rc, out);
}

/* js_guest.h: what the parts of the JavaScript guest (QuickJS over newlib, in a hyperlight guest)
 * share: the one runtime and context, the module table, and the reply encoding of js/js_wire.h. */
#ifndef HL_JS_GUEST_H
#define HL_JS_GUEST_H

#include <hyperlight/guest.h>
#include <stddef.h>
#include <stdint.h>

#include "quickjs.h"
#include "js_wire.h"

/* The guest's single QuickJS runtime and context, made by hlg_main (js_engine.c). */
extern JSRuntime *js_rt;
extern JSContext *js_ctx;

/* js_engine.c: creates the runtime, the context and the standard globals (prelude.js). 0 or -1. */
int js_engine_start(void);
/* Applies the host's limits and defines `host.<name>` for each '\n'-separated name. 0 or -1
 * with a pending JS exception. */
int js_engine_setup(uint64_t memory_limit, uint64_t stack_limit, const char *names);
/* Runs queued promise jobs until none is left. Returns 0, or -1 when a job threw (the exception
 * is pending). */
int js_engine_drain_jobs(void);
/* The bytes of a typed array (any view) or ArrayBuffer, in place; NULL with an exception pending
 * for anything else or a detached buffer. */
uint8_t *js_view_bytes(JSContext *ctx, JSValueConst v, size_t *len);
/* Settles `v` if it is a promise (running jobs), returning its value or the exception pending
 * (JS_EXCEPTION). Takes ownership of v. */
JSValue js_engine_settle(JSValue v);

/* js_modules.c: the named ES modules. */
/* Compiles `source` as module `name` (replacing any earlier one of that name for later
 * imports and calls); its body runs at its first use. 0, or -1 with a JS exception pending. */
int js_modules_load(const char *name, const char *source, size_t len);
/* Runs the bodies of every loaded module (its newest version) not yet run; one that fails
 * throws again at each use (js_modules_export). Returns 0. */
int js_modules_link_all(void);
/* The name of the module `module` means ("" means the one loaded last). */
const char *js_modules_name(const char *module);
/* The export `name` of module `module` (run first if needed), or JS_EXCEPTION. */
JSValue js_modules_export(const char *module, const char *name);

/* js_reply.c: the bytes a guest function returns (js/js_wire.h), in hlg_scratch memory. */
/* A reply with the value `v` (not consumed): JSON text, bytes, or undefined; an exception from
 * JSON.stringify becomes an error reply. */
int js_reply_value(JSValueConst v, hl_value *ret);
/* A reply describing the pending exception (which is cleared). */
int js_reply_exception(hl_value *ret);
/* An empty success reply. */
int js_reply_ok(hl_value *ret);

#endif

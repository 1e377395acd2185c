/* hyperlight/js.h: the public API of libhyperlight_js: JavaScript (QuickJS, ES2023) sandboxes on
 * libhyperlight. Each JS sandbox is a hyperlight sandbox running the JS guest that is built into
 * this library, so a host needs no file. docs/JS.md has a walk-through. */
#ifndef HYPERLIGHT_JS_H
#define HYPERLIGHT_JS_H

#include "hyperlight.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this library was built with its JS guest (make builds it when QuickJS's source could
 * be had); when not, every hl_js_new fails with HL_ENOTFOUND and hl_js_guest_missing() says why.
 * The guest itself also needs KVM (hl_kvm_available). */
HL_API bool hl_js_available(void);
/* Why the JS guest is missing ("" when it is not). Never NULL. */
HL_API const char *hl_js_guest_missing(void);

/* Defaults of hl_js_config. */
#define HL_JS_DEFAULT_HEAP_SIZE (64u * 1024 * 1024)
#define HL_JS_DEFAULT_STACK_SIZE (1024u * 1024)
#define HL_JS_DEFAULT_BUFFER_SIZE (4u * 1024 * 1024)
#define HL_JS_MIN_HEAP_SIZE (4u * 1024 * 1024) /* QuickJS and its globals need ~1 MiB */
#define HL_JS_MIN_STACK_SIZE (128u * 1024)
#define HL_JS_STACK_MARGIN (64u * 1024) /* stack kept free below the deepest JS frame */

typedef struct hl_js_config {
    size_t heap_size;       /* guest heap; default 64 MiB, at least HL_JS_MIN_HEAP_SIZE */
    size_t stack_size;      /* guest stack; default 1 MiB. JS recursion stops HL_JS_STACK_MARGIN
                               before its end with a catchable InternalError "stack overflow"
                               (QuickJS's name for it) */
    size_t memory_limit;    /* most memory QuickJS may allocate; beyond it a script gets a
                               catchable InternalError "out of memory". Default (0): 3/4 of the
                               heap; at most the heap less 1 MiB */
    size_t buffer_size;     /* each of the input and output buffers: bounds an event, a result,
                               and the arguments and result of a host function; default 4 MiB */
    uint32_t time_limit_ms; /* per call (load, call, eval); 0 = none; default 5000 */
    bool reset_after_call;  /* every hl_js_call starts from the clean state: see hl_js_call */
    hl_output_fn output_fn; /* console.log/info/debug (stdout), console.warn/error (stderr);
                               NULL (default): dropped inside the guest */
    void *output_user;
    hl_log_fn log_fn; /* console methods also log at info/debug/warn/error (console.log:
                         info), sent only at or below log_level; NULL (default): none */
    void *log_user;
    hl_log_level log_level; /* default HL_LOG_INFO */
    const char *core_dir;   /* hl_config.core_dir: core files of the JS guest after a fault */
    uint16_t gdb_port;      /* hl_config.gdb_port: hl_js_new waits for gdb (docs/DEBUGGING.md;
                               the JS guest's symbols are in js.elf, see there) */
    bool hot;               /* hl_config.hot: a hot JS sandbox (docs/HOT.md) */
    uint8_t reserved8;      /* 0 */
    uint32_t hot_spin_us;   /* hl_config.hot_spin_us; 0 (default): the library's default */
    uint64_t reserved[4];   /* 0 (hl_js_config_init): room for later fields; non-zero is
                               refused with HL_ECONFIG */
} hl_js_config;

HL_API void hl_js_config_init(hl_js_config *cfg);

/* ------------------------------------------------------------------------------------------ */
/* Values that cross: JSON text, or bytes (a Uint8Array in JS). */
typedef enum hl_js_kind {
    HL_JS_UNDEFINED = 0, /* a result only: the handler returned undefined (or a function) */
    HL_JS_JSON = 1,      /* `data` is JSON text (UTF-8), `len` bytes, NUL-terminated in memory */
    HL_JS_BYTES = 2,     /* `data` is `len` raw bytes */
} hl_js_kind;

typedef struct hl_js_data {
    hl_js_kind kind;
    const void *data;
    size_t len;
} hl_js_data;

/* Constructors: hl_js_json("{\"a\":1}"), hl_js_bytes(p, n). */
static inline hl_js_data hl_js_json(const char *text)
{
    size_t n = 0;
    while (text[n])
        n++;
    hl_js_data d = {HL_JS_JSON, text, n};
    return d;
}
static inline hl_js_data hl_js_bytes(const void *p, size_t len)
{
    hl_js_data d = {HL_JS_BYTES, p, len};
    return d;
}

/* A JavaScript error, as thrown: `name` ("TypeError"; "" when a non-Error was thrown),
 * `message`, `stack` (QuickJS's "    at f (module:line:column)" lines), and where it was thrown:
 * the first frame's `file` (a module name, "<eval>", "<event>") with its 1-based `line` and
 * `column` (0 when unknown). `text` is the one-line form: "TypeError: x is undefined at handler
 * (script.js:3:12)". For errors that are not JS exceptions (a time limit, a dead guest), `name`
 * is "" and `text` is hl_last_error's detail. Strings are never NULL. */
typedef struct hl_js_error {
    int code; /* the HL_E code of the failed call; HL_EGUEST for a JS exception */
    const char *name;
    const char *message;
    const char *stack;
    const char *file;
    uint32_t line;
    uint32_t column;
    const char *text;
} hl_js_error;

/* ------------------------------------------------------------------------------------------ */
/* JS sandboxes. Like hl_sandbox (one thread at a time; different ones on different threads at
 * once). Lifecycle: hl_js_new -> hl_js_register ... -> hl_js_load_module ... -> hl_js_call ...
 * -> hl_js_destroy. */
typedef struct hl_js hl_js;

/* Creates a JS sandbox (NULL cfg = defaults; cfg is copied). The guest starts QuickJS at the
 * first load or call, so host functions can be registered before. On success *out owns it.
 * Returns 0, HL_EINVAL, HL_ECONFIG, HL_ENOTFOUND (no JS guest: hl_js_guest_missing), and the
 * codes of hl_sandbox_new (HL_ENOKVM, HL_EKVM, HL_ENOMEM ...). */
HL_API HL_WARN_UNUSED int hl_js_new(const hl_js_config *cfg, hl_js **out);

/* A host function callable from JS as host.<name>(...args). `args` is the JSON text of the
 * argument array (args->kind HL_JS_JSON), in which binary arguments (Uint8Array, any typed array
 * view or ArrayBuffer, at any depth) appear as {"__bytes__": i}: part i is parts[i] (npart of
 * them). All of it is valid only during the callback. Answer with hl_js_reply_json,
 * hl_js_reply_bytes or nothing (undefined) and return 0; or return non-zero after
 * hl_js_reply_error: the script gets an exception it can catch, with that message. */
typedef struct hl_js_reply hl_js_reply;
typedef int (*hl_js_host_fn)(void *user, const hl_js_data *args, const hl_js_data *parts,
                             size_t nparts, hl_js_reply *reply);

/* Each copies what it is given. Return 0, or HL_ENOMEM / HL_ETOOBIG (over buffer_size). */
HL_API int hl_js_reply_json(hl_js_reply *r, const char *json, size_t len);
HL_API int hl_js_reply_bytes(hl_js_reply *r, const void *bytes, size_t len);
HL_API int hl_js_reply_error(hl_js_reply *r, const char *message);

/* Makes `fn` callable as host.<name> (name: 1..128 characters of [A-Za-z0-9_$]). Deny by
 * default: JS can call nothing else. Only before the first load, call or eval (the guest defines
 * the `host` object then). Returns 0, HL_EINVAL, HL_EEXIST, HL_ESTATE, HL_ENOMEM. */
HL_API HL_WARN_UNUSED int hl_js_register(hl_js *js, const char *name, hl_js_host_fn fn, void *user);

/* Compiles `source` (len bytes of UTF-8) as the ES module `name` (1..256 bytes, no NUL); its
 * body runs at its first use (an import, a call, or the clean snapshot). Modules import each
 * other by these names (`import { f } from "util"`), in any order, cycles included. Loading a name
 * again replaces that module for later imports and calls without compiling any other (modules
 * already run keep what they imported; its stack frames then say "name@2", "name@3" ...).
 * A syntax error fails with HL_EGUEST and its line and column in hl_js_last_error.
 * Returns 0, HL_EINVAL, HL_EGUEST, HL_ETOOBIG, HL_ESTATE, and the codes of hl_sandbox_call. */
HL_API HL_WARN_UNUSED int hl_js_load_module(hl_js *js, const char *name, const char *source,
                                            size_t len);

/* Calls export `handler` (NULL: "handler") of module `module` (NULL: the module loaded last,
 * also when that was before a snapshot this sandbox came from) with `event` (JSON: JSON.parse'd;
 * bytes: a Uint8Array) and waits for its result, awaiting a returned promise (there is no event
 * loop: a promise that needs a timer never settles and fails the call). The result is JSON text
 * (JSON.stringify of the value), bytes (a typed array or ArrayBuffer was returned; a DataView
 * is an object like any other) or HL_JS_UNDEFINED; *result points into memory of the sandbox, valid
 * until its next call or destroy. With reset_after_call, the first call takes the clean snapshot
 * (every module run) and every call ends by restoring it, also a failed one: no state of one call
 * reaches the next. Returns 0, HL_EINVAL, HL_EGUEST (a JS exception: hl_js_last_error; also a
 * result larger than buffer_size; the sandbox stays usable), HL_ETOOBIG (the event is larger), and
 * the codes of hl_sandbox_call: HL_ETIMEOUT, HL_ECANCELLED (hl_js_interrupt), HL_EABORT ... poison
 * the sandbox until hl_js_restore (or, with reset_after_call, until the automatic restore, which
 * happens before the call returns). */
HL_API HL_WARN_UNUSED int hl_js_call(hl_js *js, const char *module, const char *handler,
                                     const hl_js_data *event, hl_js_data *result);

/* Evaluates `source` as a global script (not a module) and returns its completion value as
 * hl_js_call returns a result. Returns as hl_js_call. */
HL_API HL_WARN_UNUSED int hl_js_eval(hl_js *js, const char *source, size_t len, hl_js_data *result);

/* The error of js's last failed load, call or eval (code 0 and "" strings when it succeeded),
 * valid until its next load, call, eval or destroy. With js NULL: why the calling thread's last
 * hl_js_new or hl_js_new_from_snapshot failed (e.g. which config value), valid until its next
 * failure. Never NULL. */
HL_API const hl_js_error *hl_js_last_error(const hl_js *js);

/* A snapshot of js's state now (every loaded module run first), for hl_js_restore,
 * hl_js_new_from_snapshot and hl_snapshot_save. Release with hl_snapshot_release.
 * A module whose body throws (or whose import is still missing) does not fail the snapshot: each
 * use of it throws that error again. Returns 0 and the codes of hl_sandbox_snapshot (HL_ETIMEOUT
 * when a body runs past the time limit). */
HL_API HL_WARN_UNUSED int hl_js_snapshot(hl_js *js, hl_snapshot **out);

/* Brings js back to snap (from this sandbox, or another JS sandbox of the same config), also
 * after a time limit or interrupt. With reset_after_call, snap becomes the clean state later
 * calls return to. Returns the codes of hl_sandbox_restore and hl_sandbox_snapshot. */
HL_API HL_WARN_UNUSED int hl_js_restore(hl_js *js, hl_snapshot *snap);

/* A new JS sandbox in the state of snap (from hl_js_snapshot, or hl_snapshot_load of a file it
 * saved), sharing its memory copy-on-write. Its sizes are the snapshot's: from cfg (NULL =
 * defaults, checked as for hl_js_new) only time_limit_ms, reset_after_call, log_level, the
 * callbacks and buffer_size (the largest reply of a host function) are used. Register the same host
 * functions as the snapshot's sandbox had (the `host` object comes from the snapshot) before the
 * first call. Returns 0, HL_EMISMATCH (not a JS guest's snapshot), and the codes of
 * hl_sandbox_new_from_snapshot. */
HL_API HL_WARN_UNUSED int hl_js_new_from_snapshot(const hl_js_config *cfg, hl_snapshot *snap,
                                                  hl_js **out);

/* Stops js's running call from another thread, as hl_interrupt does. */
HL_API bool hl_js_interrupt(hl_js *js);
/* The underlying hyperlight sandbox (for hl_sandbox_interrupt_handle and the like); owned by js. */
HL_API hl_sandbox *hl_js_sandbox(hl_js *js);

/* Frees everything of js. NULL is a no-op. From one of js's own callbacks (host functions,
 * output, log) it only marks js: the running call is cancelled and ends with HL_ECANCELLED, and js
 * is freed as that operation returns (its result and hl_js_last_error(js) are then gone). */
HL_API void hl_js_destroy(hl_js *js);

#ifdef __cplusplus
}
#endif
#endif

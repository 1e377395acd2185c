/* js_internal.h: what the files of libhyperlight_js share: the JS sandbox object, its host
 * function table, its last error, and the JS guest image built into the library. libhyperlight_js
 * uses libhyperlight only through its public API (hyperlight.h). */
#ifndef HL_JS_INTERNAL_H
#define HL_JS_INTERNAL_H

#include <hyperlight/js.h>

#include "js_wire.h"

/* The JS guest (js.elf) as bytes, from js_image.S; hljs__missing says why when it is empty. */
extern const unsigned char hljs__image[];
extern const unsigned char hljs__image_end[];
extern const char hljs__missing[];

typedef struct hljs_host_fn {
    char *name;
    hl_js_host_fn fn;
    void *user;
} hljs_host_fn;

struct hl_js_reply {
    uint8_t *buf; /* kind byte + payload: the JsHost result */
    size_t len, cap, max;
    char *error; /* hl_js_reply_error's message */
};

/* Owned copies behind hl_js_error's strings. */
typedef struct hljs_error_store {
    hl_js_error view;
    char *raw; /* name NUL message NUL stack NUL */
    char *file;
    char *text;
} hljs_error_store;

struct hl_js {
    hl_sandbox *sb;
    hl_js_config cfg;
    int inited;  /* hl_sandbox_init has run */
    int started; /* the guest's setup has run (or came with the snapshot) */
    int from_snapshot;
    int modules_pending; /* a module was loaded since the clean snapshot was taken */
    hl_snapshot *clean;  /* reset_after_call: the state every call starts from */
    hljs_host_fn *fns;
    size_t nfns, fns_cap;
    struct hl_js_reply reply;
    uint8_t *scratch; /* the arguments' JSON, NUL-terminated, for a host function */
    hl_js_data *parts;
    size_t scratch_cap, parts_cap;
    hljs_error_store err;
    int busy;              /* operations running the guest (js_calls.c: enter/leave) */
    int destroy_requested; /* hl_js_destroy from one of js's callbacks: freed when they end */
};

/* js_sandbox.c: frees everything of js, now. */
void hljs__free(hl_js *js);

/* js_host_fn.c: the JsHost dispatcher (registered on every JS sandbox) and the table. */
int hljs__register_dispatcher(hl_js *js);
void hljs__free_host_fns(hl_js *js);
/* The registered names, '\n'-separated, in malloc'd memory (NULL when out of memory). */
char *hljs__host_names(const hl_js *js);

/* js_calls.c: runs hl_sandbox_init and the guest's setup if not yet done. 0 or an HL_E code
 * (recorded as js's error). */
int hljs__start(hl_js *js);

/* js_error.c */
/* Forgets the last error (code 0). */
void hljs__error_clear(hl_js *js);
/* Records a failure of libhyperlight (hl_last_error's detail) as js's error; returns code. */
int hljs__error_hl(hl_js *js, int code);
/* Records a JS exception from an error reply (after its kind byte); returns HL_EGUEST. */
int hljs__error_js(hl_js *js, const uint8_t *p, size_t len);
/* Records an error of this library; returns code. */
int hljs__error_set(hl_js *js, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void hljs__error_free(hl_js *js);
/* Moves js's error to the calling thread's creation error (hl_js_last_error(NULL)). */
void hljs__error_keep_creation(hl_js *js);

#endif

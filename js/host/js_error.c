/* js_error.c: a JS sandbox's last error: a JS exception (name, message, stack, and the first
 * frame's file:line:column) or a failure of libhyperlight, with a one-line text safe to print. */
#include "js_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text.h"

static const char empty[] = "";

static void store_free(hljs_error_store *e)
{
    free(e->raw), free(e->file), free(e->text);
    memset(e, 0, sizeof *e);
}

void hljs__error_free(hl_js *js)
{
    store_free(&js->err);
}

void hljs__error_clear(hl_js *js)
{
    hljs__error_free(js);
    hl_js_error *e = &js->err.view;
    e->name = e->message = e->stack = e->file = e->text = empty;
}

/* text becomes js's error text (neutralised: guest text cannot drive a terminal). */
static int set_text(hl_js *js, int code, char *text)
{
    hljs__error_clear(js);
    if (text)
        hl__text_neutralise(text);
    js->err.text = text;
    js->err.view.code = code;
    js->err.view.text = text ? text : hl_strerror(code);
    js->err.view.message = js->err.view.text;
    return code;
}

int hljs__error_hl(hl_js *js, int code)
{
    return set_text(js, code, strdup(*hl_last_error() ? hl_last_error() : hl_strerror(code)));
}

int hljs__error_set(hl_js *js, int code, const char *fmt, ...)
{
    char *text = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&text, fmt, ap) < 0)
        text = NULL;
    va_end(ap);
    return set_text(js, code, text);
}

/* Frames of the guest's own machinery: a host function's exception is the caller's. */
static int own_frame(const char *frame, size_t n)
{
    return (n >= 8 && memcmp(frame + n - 8, "(native)", 8) == 0) ||
           memmem(frame, n, "(prelude.js:", 12);
}

/* The first frame of a QuickJS stack ("    at f (file:3:12)" or "    at file:3:12") that is
 * the script's. Writes its location ("file:3:12") into loc; returns the frame text's length
 * ("f (file:3:12)"), 0 when there is none. */
static size_t first_frame(const char *stack, const char **frame, const char **loc, size_t *loclen)
{
    for (const char *at = strstr(stack, "at "); at; at = strstr(at, "\n    at ")) {
        at += at[0] == '\n' ? 8 : 3;
        size_t n = strcspn(at, "\n");
        if (n == 0 || own_frame(at, n))
            continue;
        *frame = at;
        const char *open = memchr(at, '(', n);
        if (open && at[n - 1] == ')') {
            *loc = open + 1;
            *loclen = (size_t)(at + n - 1 - *loc);
        } else {
            *loc = at;
            *loclen = n;
        }
        return n;
    }
    return 0;
}

/* "file:line:column" split from the right; line and column stay 0 unless both parse. */
static void parse_location(hl_js *js, const char *loc, size_t len)
{
    hl_js_error *e = &js->err.view;
    char *s = strndup(loc, len);
    if (!s)
        return;
    char *c2 = strrchr(s, ':');
    char *c1 = NULL;
    if (c2) {
        *c2 = 0;
        c1 = strrchr(s, ':');
        if (c1) {
            unsigned long line = strtoul(c1 + 1, NULL, 10), col = strtoul(c2 + 1, NULL, 10);
            *c1 = 0;
            e->line = (uint32_t)line, e->column = (uint32_t)col;
        }
    }
    if (!c1) { /* no line and column: the whole location is the file */
        free(s);
        s = strndup(loc, len);
        e->line = e->column = 0;
    }
    js->err.file = s;
    e->file = s ? s : empty;
}

int hljs__error_js(hl_js *js, const uint8_t *p, size_t len)
{
    hljs__error_clear(js);
    char *raw = malloc(len + 3);
    if (!raw)
        return set_text(js, HL_EGUEST, NULL);
    memcpy(raw, p, len);
    raw[len] = raw[len + 1] = raw[len + 2] = 0; /* a short reply still has three strings */
    js->err.raw = raw;
    hl_js_error *e = &js->err.view;
    e->code = HL_EGUEST;
    e->name = raw;
    e->message = e->name + strlen(e->name) + 1;
    e->stack = e->message + strlen(e->message) + 1;
    if (e->stack > raw + len)
        e->stack = empty;
    const char *frame = NULL, *loc = NULL;
    size_t loclen = 0, n = first_frame(e->stack, &frame, &loc, &loclen);
    if (n)
        parse_location(js, loc, loclen);
    char *text = NULL;
    int w = asprintf(&text, "%s%s%s%s%.*s", e->name, *e->name ? ": " : "", e->message,
                     n ? " at " : "", (int)n, n ? frame : "");
    if (w >= 0 && text && !*text) { /* `throw ""` */
        free(text);
        w = asprintf(&text, "(an empty string was thrown)%s%.*s", n ? " at " : "", (int)n,
                     n ? frame : "");
    }
    if (w >= 0 && text) {
        hl__text_neutralise(text);
        js->err.text = text;
        e->text = text;
    }
    return HL_EGUEST;
}

/* Why the calling thread's last hl_js_new or hl_js_new_from_snapshot failed. */
static _Thread_local hljs_error_store creation;
static _Thread_local int creation_set;

void hljs__error_keep_creation(hl_js *js)
{
    store_free(&creation);
    creation = js->err;
    memset(&js->err, 0, sizeof js->err);
    creation_set = 1;
}

HL_API const hl_js_error *hl_js_last_error(const hl_js *js)
{
    static const hl_js_error none = {0, empty, empty, empty, empty, 0, 0, empty};
    if (js)
        return &js->err.view;
    return creation_set ? &creation.view : &none;
}

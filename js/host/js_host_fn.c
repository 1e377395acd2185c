/* js_host_fn.c: host functions of JS sandboxes. One hyperlight host function, JsHost, carries
 * every host.<name>(...) call (js/js_wire.h); this file decodes the guest's request (hostile bytes:
 * every length is checked), finds the JS host function by name and encodes its reply. */
#include "js_internal.h"

#include <stdlib.h>
#include <string.h>

#include "text.h"

#define HOST_NAME_MAX_LEN 128
/* What hyperlight's wire adds around a BYTES result (message kind, type, length): a reply this
 * much under buffer_size fits the output buffer. */
#define REPLY_FRAMING 64

static int valid_name(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > HOST_NAME_MAX_LEN)
        return 0;
    for (const char *p = name; *p; p++)
        if (!(*p == '_' || *p == '$' || (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
              (*p >= 'A' && *p <= 'Z')))
            return 0;
    return 1;
}

static hljs_host_fn *find(hl_js *js, const char *name, size_t len)
{
    for (size_t i = 0; i < js->nfns; i++)
        if (strlen(js->fns[i].name) == len && memcmp(js->fns[i].name, name, len) == 0)
            return &js->fns[i];
    return NULL;
}

HL_API int hl_js_register(hl_js *js, const char *name, hl_js_host_fn fn, void *user)
{
    if (!js || !name || !fn || !valid_name(name))
        return HL_EINVAL;
    if (js->inited) /* the guest has its `host` object (or checked the dispatcher) */
        return HL_ESTATE;
    if (find(js, name, strlen(name)))
        return HL_EEXIST;
    if (js->nfns == js->fns_cap) {
        size_t cap = js->fns_cap ? js->fns_cap * 2 : 8;
        hljs_host_fn *p = realloc(js->fns, cap * sizeof *p);
        if (!p)
            return HL_ENOMEM;
        js->fns = p, js->fns_cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return HL_ENOMEM;
    js->fns[js->nfns++] = (hljs_host_fn){copy, fn, user};
    return 0;
}

void hljs__free_host_fns(hl_js *js)
{
    for (size_t i = 0; i < js->nfns; i++)
        free(js->fns[i].name);
    free(js->fns);
    free(js->reply.buf), free(js->reply.error);
    free(js->scratch), free(js->parts);
}

char *hljs__host_names(const hl_js *js)
{
    size_t n = 1;
    for (size_t i = 0; i < js->nfns; i++)
        n += strlen(js->fns[i].name) + 1;
    char *s = malloc(n), *q = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < js->nfns; i++) {
        size_t len = strlen(js->fns[i].name);
        memcpy(q, js->fns[i].name, len);
        q[len] = '\n';
        q += len + 1;
    }
    *q = 0;
    return s;
}

/* ---- replies ---- */
static int reply_put(hl_js_reply *r, uint8_t kind, const void *p, size_t len)
{
    if (len + 1 > r->max)
        return HL_ETOOBIG;
    if (len + 1 > r->cap) {
        uint8_t *b = realloc(r->buf, len + 1);
        if (!b)
            return HL_ENOMEM;
        r->buf = b, r->cap = len + 1;
    }
    r->buf[0] = kind;
    if (len)
        memcpy(r->buf + 1, p, len);
    r->len = len + 1;
    return 0;
}

HL_API int hl_js_reply_json(hl_js_reply *r, const char *json, size_t len)
{
    return r && (json || !len) ? reply_put(r, HL_JS_KIND_JSON, json, len) : HL_EINVAL;
}

HL_API int hl_js_reply_bytes(hl_js_reply *r, const void *bytes, size_t len)
{
    return r && (bytes || !len) ? reply_put(r, HL_JS_KIND_BYTES, bytes, len) : HL_EINVAL;
}

HL_API int hl_js_reply_error(hl_js_reply *r, const char *message)
{
    if (!r || !message)
        return HL_EINVAL;
    char *copy = strdup(message);
    if (!copy)
        return HL_ENOMEM;
    free(r->error);
    r->error = copy;
    return 0;
}

/* ---- the request: u32 name length, name, u32 JSON length, JSON, u32 parts, parts ---- */
typedef struct cursor {
    const uint8_t *p, *end;
} cursor;

static int take_block(cursor *c, const uint8_t **out, size_t *len)
{
    uint32_t n;
    if ((size_t)(c->end - c->p) < 4)
        return -1;
    memcpy(&n, c->p, 4);
    c->p += 4;
    if ((size_t)(c->end - c->p) < n)
        return -1;
    *out = c->p, *len = n;
    c->p += n;
    return 0;
}

static int grow(void **p, size_t *cap, size_t need, size_t unit)
{
    if (need <= *cap)
        return 0;
    void *q = realloc(*p, need * unit);
    if (!q)
        return -1;
    *p = q, *cap = need;
    return 0;
}

/* Decodes the request into js->scratch (JSON + NUL) and js->parts. NULL, or why not. */
static const char *decode(hl_js *js, const uint8_t *req, size_t len, const uint8_t **name,
                          size_t *nlen, hl_js_data *args, size_t *nparts)
{
    cursor c = {req, req + len};
    const uint8_t *json, *count;
    size_t jlen, unused;
    uint32_t n;
    if (take_block(&c, name, nlen) || take_block(&c, &json, &jlen))
        return "truncated name or arguments";
    if ((size_t)(c.end - c.p) < 4)
        return "truncated part count";
    count = c.p, unused = 0;
    memcpy(&n, count, 4);
    c.p += 4;
    if (n > (size_t)(c.end - c.p) / 4)
        return "more parts than bytes";
    if (grow((void **)&js->scratch, &js->scratch_cap, jlen + 1, 1) ||
        grow((void **)&js->parts, &js->parts_cap, n ? n : 1, sizeof(hl_js_data)))
        return "out of memory";
    memcpy(js->scratch, json, jlen);
    js->scratch[jlen] = 0;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *p;
        if (take_block(&c, &p, &unused))
            return "truncated part";
        js->parts[i] = hl_js_bytes(p, unused);
    }
    if (c.p != c.end)
        return "trailing bytes";
    *args = (hl_js_data){HL_JS_JSON, js->scratch, jlen};
    *nparts = n;
    return NULL;
}

/* Fails the guest's host call with `msg` (the guest's exception message). */
static int refuse(hl_js *js, hl_value *ret, const char *msg)
{
    char *copy = strdup(msg); /* msg may be the reply's own error message */
    free(js->reply.error);
    js->reply.error = copy;
    if (js->reply.error) /* the guest gets it as a STRING: valid UTF-8 */
        hl__text_neutralise(js->reply.error);
    *ret = hl_str(js->reply.error ? js->reply.error : "out of memory");
    return -1;
}

static int dispatch(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_js *js = user;
    const uint8_t *name;
    size_t nlen, nparts;
    hl_js_data json;
    const char *why =
        decode(js, args[0].as.bytes.ptr, args[0].as.bytes.len, &name, &nlen, &json, &nparts);
    if (why)
        return refuse(js, ret, why);
    hljs_host_fn *f = find(js, (const char *)name, nlen);
    if (!f)
        return refuse(js, ret, "no host function of that name is registered");
    hl_js_reply *r = &js->reply;
    r->len = 0;
    free(r->error), r->error = NULL;
    int rc = f->fn(f->user, &json, js->parts, nparts, r);
    if (rc != 0)
        return refuse(js, ret, r->error ? r->error : "the host function failed");
    if (r->len == 0)
        reply_put(r, HL_JS_KIND_UNDEFINED, NULL, 0);
    *ret = hl_bytes(r->buf, r->len);
    return 0;
}

int hljs__register_dispatcher(hl_js *js)
{
    js->reply.max = js->cfg.buffer_size - REPLY_FRAMING;
    return hl_sandbox_register(js->sb, HL_JS_FN_HOST, HL_TYPE_BYTES, HL_PARAMS(HL_TYPE_BYTES),
                               dispatch, js);
}

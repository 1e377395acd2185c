/* fuzz_js.c: libFuzzer target for JavaScript sandboxes (include/hyperlight/js.h: js/host and the
 * JS guest of js/guest). An input is a module's source, a NUL byte, then an event: JSON text, or
 * bytes after a first byte 0x01 (no NUL: all of it is source and the event is null); bytes that
 * are not UTF-8 become '?' unless the input ends with a byte 0xff (dropped).
 * Where /dev/kvm and the JS guest can be used, one JS sandbox (made at the first input from a
 * snapshot taken right after loading module "ok", with a host function "echo") is restored to
 * that snapshot, loads the source as module "f", calls f's handler with the event and evaluates
 * the source as a script. Properties: every code is one the function documents; errors look as
 * js.h says (strings never NULL, code = the call's, a JS exception has a text, the text is safe
 * to print, "" strings after a success); a JSON result is UTF-8 with a NUL after it; results are
 * written only on success; "ok" still answers 42, after hl_js_restore when poisoned; no
 * descriptor leaks; with reset_after_call no call leaves the sandbox poisoned. FUZZ_JS_STRICT=1
 * also fails on codes only a broken JS guest gives (a fault, an abort, a guest stack overflow, a
 * protocol error ...).
 * FUZZ_JS_TIME_LIMIT_MS changes the 200 ms limit.
 * Without KVM, what the host decides alone: hl_js_new's configuration checks on fuzzed values.
 * In both modes the input also goes, as a guest's error reply, through js_error.c's decoder.
 * A summary of the codes seen is printed at exit. Run with `make fuzz` (mk/fuzz.mk); corpus:
 * tests/fuzz/corpus/js/. */
#include <dirent.h>
#include <string.h>

#include "fuzz.h"
#include "host/js_internal.h" /* hljs__error_js: the decoder of a guest's error reply */
#include "wire.h"             /* hl__wire_utf8_ok */

#define MIB (1024u * 1024)
#define DEFAULT_TIME_LIMIT_MS 200
#define BOOT_TIME_LIMIT_MS 60000 /* starting QuickJS: slow in an emulated machine */
#define OK_SOURCE "export const handler = () => 42;"

#define CODE(rc) (1ull << -(rc))
/* hl_sandbox_call's codes, which js.h documents for hl_js_load_module, _call and _eval besides
 * their own HL_EINVAL, HL_EGUEST, HL_ETOOBIG and HL_ESTATE (all among them). */
#define DOCUMENTED                                                                                 \
    (CODE(HL_EINVAL) | CODE(HL_ESTATE) | CODE(HL_EPOISONED) | CODE(HL_ENOTFOUND) |                 \
     CODE(HL_EARGCOUNT) | CODE(HL_EARGTYPE) | CODE(HL_ETOOBIG) | CODE(HL_EGUEST) |                 \
     CODE(HL_ESIGNAL) | CODE(HL_ENOMEM) | CODE(HL_EABORT) | CODE(HL_EFAULT) |                      \
     CODE(HL_ESTACKOVERFLOW) | CODE(HL_ECOOKIE) | CODE(HL_ETIMEOUT) | CODE(HL_ECANCELLED) |        \
     CODE(HL_EPROTOCOL) | CODE(HL_EKVM))
/* What no script can ask for: only a broken guest (or host) gives these here. */
#define GUEST_BUG                                                                                  \
    (CODE(HL_ESTATE) | CODE(HL_ENOTFOUND) | CODE(HL_EARGCOUNT) | CODE(HL_EARGTYPE) |               \
     CODE(HL_ESIGNAL) | CODE(HL_ENOMEM) | CODE(HL_EABORT) | CODE(HL_EFAULT) |                      \
     CODE(HL_ESTACKOVERFLOW) | CODE(HL_ECOOKIE) | CODE(HL_ECANCELLED) | CODE(HL_EPROTOCOL) |       \
     CODE(HL_EKVM))

enum { OP_LOAD, OP_CALL, OP_EVAL, OP_OK, OP_NEW, OP_COUNT };
static const char *const op_names[OP_COUNT] = {"load", "call", "eval", "ok", "new"};

static int mode; /* 0 until the first input; 1: JS sandbox; 2: host only */
static int strict;
static hl_js *js;
static hl_snapshot *base;
static unsigned counts[OP_COUNT][64];
static const char sentinel[1]; /* what an unwritten result points to */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    REQUIRE(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static int poisoned(void)
{
    return hl_sandbox_is_poisoned(hl_js_sandbox(js));
}

/* Text safe to print: valid UTF-8 without C0, DEL or C1 controls (what js_error.c promises). */
static void check_printable(const char *s)
{
    size_t n = strlen(s);
    REQUIRE(hl__wire_utf8_ok((const uint8_t *)s, n));
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        REQUIRE(c >= 0x20 && c != 0x7f);
        REQUIRE(!(c == 0xc2 && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f));
    }
}

static void check_error_view(const hl_js_error *e, int rc)
{
    REQUIRE(e && e->name && e->message && e->stack && e->file && e->text);
    REQUIRE(e->code == rc);
    if (rc == 0) {
        REQUIRE(!*e->name && !*e->message && !*e->stack && !*e->file && !*e->text);
        return;
    }
    check_printable(e->text);
    if (rc == HL_EGUEST && !*e->text) /* also `throw ""`, which has no name, message or stack */
        fprintf(stderr, "HL_EGUEST with an empty text (name '%s', message '%s', stack '%s')\n",
                e->name, e->message, e->stack);
    REQUIRE(rc != HL_EGUEST || *e->text);
}

/* The code rc of operation op: counted, documented, and the error it left. */
static void check_code(int op, int rc)
{
    REQUIRE(rc <= 0 && rc > -64);
    counts[op][-rc]++;
    int bad = rc && (!(DOCUMENTED & CODE(rc)) || (strict && (GUEST_BUG & CODE(rc))));
    if (bad)
        fprintf(stderr, "%s returned %s: %s\n", op_names[op], hl_errname(rc),
                hl_js_last_error(js)->text);
    REQUIRE(!bad);
    check_error_view(hl_js_last_error(js), rc);
}

/* A result: written only on success (r was `unset` before), and well-formed. */
static void check_result(int rc, const hl_js_data *r, const hl_js_data *unset)
{
    if (rc) {
        REQUIRE(r->kind == unset->kind && r->data == unset->data && r->len == unset->len);
        return;
    }
    REQUIRE(r->kind == HL_JS_UNDEFINED || r->kind == HL_JS_JSON || r->kind == HL_JS_BYTES);
    REQUIRE(r->data || r->len == 0);
    if (r->kind == HL_JS_JSON) {
        const uint8_t *p = r->data;
        REQUIRE(p && r->len > 0 && p[r->len] == 0);
        REQUIRE(hl__wire_utf8_ok(p, r->len)); /* JSON.stringify escapes lone surrogates */
    }
}

/* reset_after_call promises a call never leaves the sandbox poisoned (a module body that times
 * out included). */
static void check_unpoisoned(int op, int rc)
{
    if (poisoned())
        fprintf(stderr, "%s returned %s with the sandbox poisoned: %s\n", op_names[op],
                hl_errname(rc), hl_js_last_error(js)->text);
    REQUIRE(!poisoned());
}

static void discard_output(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    (void)user;
    REQUIRE(stream == HL_STREAM_STDOUT || stream == HL_STREAM_STDERR);
    REQUIRE(bytes || len == 0);
}

/* host.echo(...args): the arguments' JSON back; the first argument's bytes when it is binary;
 * host.echo("fail", ...) throws in JS with the arguments as its message. */
static int echo(void *user, const hl_js_data *args, const hl_js_data *parts, size_t nparts,
                hl_js_reply *reply)
{
    (void)user;
    REQUIRE(args && args->kind == HL_JS_JSON && args->data);
    const char *json = args->data;
    REQUIRE(json[args->len] == 0 && hl__wire_utf8_ok(args->data, args->len));
    REQUIRE(nparts == 0 || parts);
    for (size_t i = 0; i < nparts; i++)
        REQUIRE(parts[i].kind == HL_JS_BYTES && (parts[i].data || parts[i].len == 0));
    if (strncmp(json, "[\"fail\"", 7) == 0) {
        REQUIRE(hl_js_reply_error(reply, json) == 0);
        return -1;
    }
    int rc;
    if (nparts && strncmp(json, "[{\"__bytes__\":0}", 16) == 0)
        rc = hl_js_reply_bytes(reply, parts[0].data, parts[0].len);
    else
        rc = hl_js_reply_json(reply, json, args->len);
    if (rc == 0)
        return 0;
    REQUIRE(rc == HL_ETOOBIG || rc == HL_ENOMEM);
    REQUIRE(hl_js_reply_error(reply, hl_strerror(rc)) == 0);
    return -1;
}

static hl_js_config js_config(uint32_t time_limit_ms)
{
    hl_js_config c;
    hl_js_config_init(&c);
    c.heap_size = 8 * MIB;
    c.memory_limit = 4 * MIB;
    c.buffer_size = 64 * 1024;
    c.time_limit_ms = time_limit_ms;
    c.reset_after_call = true;
    c.output_fn = discard_output;
    return c;
}

/* The state every input starts from: QuickJS set up, "echo" defined, module "ok" run. Made in a
 * sandbox of its own without the tight time limit. */
static hl_snapshot *make_base(void)
{
    hl_js_config c = js_config(BOOT_TIME_LIMIT_MS);
    hl_js *boot = NULL;
    hl_snapshot *s = NULL;
    REQUIRE(hl_js_new(&c, &boot) == 0);
    REQUIRE(hl_js_register(boot, "echo", echo, NULL) == 0);
    int rc = hl_js_load_module(boot, "ok", OK_SOURCE, strlen(OK_SOURCE));
    if (rc == 0)
        rc = hl_js_snapshot(boot, &s);
    if (rc)
        fprintf(stderr, "fuzz_js: setting up: %s\n", hl_js_last_error(boot)->text);
    REQUIRE(rc == 0);
    hl_js_destroy(boot);
    return s;
}

/* Back to the base state with an empty module "f": the next call then takes a fresh clean
 * snapshot (the clean snapshot of an earlier input would bring that input's state back). */
static void fresh_f(void)
{
    REQUIRE(hl_js_restore(js, base) == 0);
    REQUIRE(!poisoned());
    REQUIRE(hl_js_load_module(js, "f", "", 0) == 0);
}

/* The known-good call: "ok" answers (any documented way: module "f" may have changed what
 * JSON.stringify(42) gives), and from the base state answers 42. */
static void check_ok(void)
{
    hl_js_data ev = hl_js_json("null"), unset = hl_js_bytes(sentinel, 12345), r = unset;
    int rc = poisoned() ? HL_EPOISONED : hl_js_call(js, "ok", "handler", &ev, &r);
    if (rc != HL_EPOISONED) {
        check_code(OP_OK, rc);
        check_result(rc, &r, &unset);
    }
    if (rc == 0 && r.kind == HL_JS_JSON && r.len == 2 && memcmp(r.data, "42", 2) == 0)
        return;
    REQUIRE(hl_js_restore(js, base) == 0);
    r = unset;
    rc = hl_js_call(js, "ok", "handler", &ev, &r);
    if (rc)
        fprintf(stderr, "ok after a restore: %s: %s\n", hl_errname(rc), hl_js_last_error(js)->text);
    REQUIRE(rc == 0 && r.kind == HL_JS_JSON && r.len == 2 && memcmp(r.data, "42", 3) == 0);
}

/* Loads the source as "f" (an empty "f" when that fails), calls f.handler(event), evaluates the
 * source as a script, then checks "ok". */
static void run_js(const char *src, size_t len, const hl_js_data *event)
{
    REQUIRE(hl_js_restore(js, base) == 0);
    int rc = hl_js_load_module(js, "f", src, len);
    check_code(OP_LOAD, rc);
    if (rc)
        fresh_f();
    hl_js_data unset = hl_js_bytes(sentinel, 12345), r = unset;
    rc = hl_js_call(js, "f", "handler", event, &r);
    check_code(OP_CALL, rc);
    check_result(rc, &r, &unset);
    check_unpoisoned(OP_CALL, rc);
    if (poisoned())
        fresh_f();
    r = unset;
    rc = hl_js_eval(js, src, len, &r);
    check_code(OP_EVAL, rc);
    check_result(rc, &r, &unset);
    check_unpoisoned(OP_EVAL, rc);
    check_ok();
}

static void print_counts(void)
{
    for (int op = 0; op < OP_COUNT; op++) {
        int any = 0;
        for (int c = 0; c < 64; c++) {
            if (!counts[op][c])
                continue;
            if (!any)
                fprintf(stderr, "fuzz_js: %s:", op_names[op]);
            fprintf(stderr, "%s %s %u", any ? "," : "", c ? hl_errname(-c) : "0", counts[op][c]);
            any = 1;
        }
        if (any)
            fputc('\n', stderr);
    }
}

static void setup(void)
{
    const char *t = getenv("FUZZ_JS_TIME_LIMIT_MS");
    strict = getenv("FUZZ_JS_STRICT") && *getenv("FUZZ_JS_STRICT") == '1';
    mode = hl_kvm_available() && hl_js_available() ? 1 : 2;
    atexit(print_counts);
    if (mode == 2)
        return;
    base = make_base();
    hl_js_config c = js_config(t ? (uint32_t)strtoul(t, NULL, 10) : DEFAULT_TIME_LIMIT_MS);
    REQUIRE(hl_js_new_from_snapshot(&c, base, &js) == 0);
    REQUIRE(hl_js_register(js, "echo", echo, NULL) == 0);
    check_ok(); /* the sandbox starts, and has its clean snapshot, before descriptors count */
    hl_js_data ev = hl_js_json("null");
    run_js("", 0, &ev);
}

/* ---- without KVM: hl_js_new's checks ---- */
typedef struct cursor {
    const uint8_t *p;
    size_t n;
} cursor;

/* The next `bytes` bytes of the input, little-endian; 0 past its end. */
static uint64_t take(cursor *c, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes && c->n; i++, c->p++, c->n--)
        v |= (uint64_t)*c->p << (8 * i);
    return v;
}

/* A size: mostly a 16-bit count of bytes, KiB or 64 KiB (near the limits), sometimes any value. */
static size_t take_size(cursor *c)
{
    static const size_t unit[3] = {1, 1024, 64 * 1024};
    unsigned sel = (unsigned)take(c, 1) % 4;
    return sel == 3 ? (size_t)take(c, 8) : (size_t)take(c, 2) * unit[sel];
}

/* Whether js.h (its minimums, memory_limit at most the heap less 1 MiB, reserved 0) or
 * hyperlight.h (hl_config's ranges, which hl_js_new passes on) refuses cfg. */
static int refused(const hl_js_config *c)
{
    if (c->reserved8 || (c->hot && c->hot_spin_us > HL_MAX_HOT_SPIN_US))
        return 1;
    for (size_t i = 0; i < sizeof c->reserved / sizeof c->reserved[0]; i++)
        if (c->reserved[i])
            return 1;
    if (c->heap_size < HL_JS_MIN_HEAP_SIZE || c->stack_size < HL_JS_MIN_STACK_SIZE)
        return 1;
    size_t limit = c->memory_limit ? c->memory_limit : c->heap_size / 4 * 3;
    return limit > c->heap_size - MIB || c->heap_size > HL_MAX_HEAP_SIZE ||
           c->stack_size > HL_MAX_STACK_SIZE || c->buffer_size < HL_MIN_BUFFER_SIZE ||
           c->buffer_size > HL_MAX_BUFFER_SIZE || c->time_limit_ms > HL_MAX_TIME_LIMIT_MS ||
           (unsigned)c->log_level > HL_LOG_TRACE;
}

/* hl_js_new with a fuzzed configuration: refused ones fail with HL_ECONFIG, small valid ones
 * get as far as KVM; hl_js_last_error(NULL) says why, nothing is written to *out and no
 * descriptor leaks. */
static void fuzz_new(const uint8_t *data, size_t size)
{
    cursor c = {data, size};
    hl_js_config cfg;
    hl_js_config_init(&cfg);
    cfg.heap_size = take_size(&c);
    cfg.stack_size = take_size(&c);
    cfg.memory_limit = take_size(&c);
    cfg.buffer_size = take_size(&c);
    cfg.time_limit_ms = (uint32_t)take(&c, 4);
    cfg.reset_after_call = take(&c, 1) & 1;
    cfg.log_level = (hl_log_level)(take(&c, 1) % 8);
    unsigned reserved = (unsigned)take(&c, 1);
    for (size_t i = 0; i < sizeof cfg.reserved / sizeof cfg.reserved[0]; i++)
        cfg.reserved[i] = reserved >> i & 1 ? take(&c, 8) | 1 : 0;
    cfg.reserved8 = reserved >> 7 & 1 ? (uint8_t)(take(&c, 1) | 1) : 0;
    cfg.hot = reserved >> 6 & 1;
    cfg.hot_spin_us = cfg.hot ? (uint32_t)take(&c, 4) : 0;
    int fds = count_fds(), want = refused(&cfg) ? HL_ECONFIG : 0;
    int small = cfg.heap_size + cfg.stack_size + 2 * (uint64_t)cfg.buffer_size < 512 * MIB;
    hl_js *out = (hl_js *)&cfg;
    int rc = hl_js_new(&cfg, &out);
    REQUIRE(rc <= 0 && rc > -64);
    counts[OP_NEW][-rc]++;
    REQUIRE(out == (hl_js *)&cfg && count_fds() == fds);
    if (!hl_js_available()) {
        REQUIRE(rc == HL_ENOTFOUND);
        return;
    }
    const hl_js_error *e = hl_js_last_error(NULL); /* why hl_js_new failed */
    REQUIRE(e->code == rc && *e->text);
    check_printable(e->text);
    if (want)
        REQUIRE(rc == want);
    else
        REQUIRE(rc == HL_ENOKVM || rc == HL_EKVM || rc == HL_ENOMEM ||
                (!small && rc == HL_ECONFIG));
}

/* The input as the rest of a guest's error reply (any bytes a guest may send): decoded into
 * strings that are never NULL, a name that is the bytes up to the first NUL, a safe text. */
static void fuzz_error_reply(const uint8_t *data, size_t size)
{
    hl_js *fake = calloc(1, sizeof *fake);
    REQUIRE(fake);
    REQUIRE(hljs__error_js(fake, data, size) == HL_EGUEST);
    const hl_js_error *e = hl_js_last_error(fake);
    REQUIRE(e->code == HL_EGUEST && e->name && e->message && e->stack && e->file && e->text);
    size_t n = strnlen((const char *)data, size);
    REQUIRE(strlen(e->name) == n && memcmp(e->name, data, n) == 0);
    check_printable(e->text);
    hljs__error_free(fake);
    free(fake);
}

/* Text that is not UTF-8 (or holds a NUL) is refused before any JS runs (HL_EINVAL): its bad
 * bytes become '?' (in place), so that fuzzing time goes to JS. */
static void mend_utf8(uint8_t *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t k = s[i] < 0x80 ? 1 : s[i] >= 0xf0 ? 4 : s[i] >= 0xe0 ? 3 : 2;
        if (k <= n - i && hl__wire_utf8_ok(s + i, k))
            i += k;
        else
            s[i++] = '?';
    }
}

/* buf[0..size) (a copy of the input) as source and event; unless the input ended with 0xff
 * (dropped), the source and a JSON event are mended into UTF-8. Returns the source's length. */
static size_t split_input(uint8_t *buf, size_t size, int raw, hl_js_data *event)
{
    uint8_t *nul = memchr(buf, 0, size), *ev = nul ? nul + 1 : NULL;
    size_t src_len = nul ? (size_t)(nul - buf) : size, ev_len = nul ? size - src_len - 1 : 0;
    *event = hl_js_json("null");
    if (ev && ev_len && ev[0] == 1) {
        *event = hl_js_bytes(ev + 1, ev_len - 1);
    } else if (ev) {
        if (!raw)
            mend_utf8(ev, ev_len);
        *event = (hl_js_data){HL_JS_JSON, ev, ev_len};
    }
    if (!raw)
        mend_utf8(buf, src_len);
    return src_len;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mode)
        setup();
    fuzz_error_reply(data, size);
    if (mode == 2) {
        fuzz_new(data, size);
        return 0;
    }
    int raw = size && data[size - 1] == 0xff;
    size -= raw;
    uint8_t *buf = malloc(size ? size : 1); /* exactly size: ASan sees any read past it */
    REQUIRE(buf);
    memcpy(buf, data, size);
    hl_js_data event;
    size_t src_len = split_input(buf, size, raw, &event);
    /* Counted with the sandbox at base: a clean snapshot taken during the input (held until the
     * next restore) has a descriptor of its own. */
    REQUIRE(hl_js_restore(js, base) == 0);
    int fds = count_fds();
    run_js((const char *)buf, src_len, &event);
    REQUIRE(hl_js_restore(js, base) == 0);
    REQUIRE(count_fds() <= fds); /* no descriptor leaked */
    free(buf);
    return 0;
}

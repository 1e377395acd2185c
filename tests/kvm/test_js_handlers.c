/* test_js_handlers.c: JavaScript handlers in JS sandboxes: the language (ES2023), JSON and binary
 * events and results, exceptions and syntax errors with their positions, async handlers, modules
 * importing each other, the standard globals, console output, and hl-js. */
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "js_common.h"

TEST(es2023_features_work)
{
    hl_js *js = js_with(
        NULL, "class Counter { #n = 0; static #made = 0;\n"
              "  constructor() { Counter.#made++; }\n"
              "  inc() { return ++this.#n; } static made() { return Counter.#made; }\n"
              "  get #secret() { return 7; } peek() { return #n in this && this.#secret; } }\n"
              "export function handler(e) {\n"
              "  const c = new Counter(); c.inc(); c.inc(); new Counter();\n"
              "  const big = 2n ** 70n;\n"
              "  const a = [3, 1, 2];\n"
              "  const { x = 'dflt', ...rest } = { y: 1, z: 2 };\n"
              "  return { n: c.inc(), made: Counter.made(), peek: c.peek(),\n"
              "    big: big.toString(), spread: [...a, ...'hi'], rest, x,\n"
              "    opt: e?.missing?.deep ?? 'nullish', sorted: a.toSorted(),\n"
              "    last: a.findLast((v) => v > 1), at: a.at(-1), own: Object.hasOwn(rest, 'y'),\n"
              "    grouped: Object.groupBy ? 'has groupBy' : 'no groupBy',\n"
              "    re: 'a1b2'.replaceAll(/\\d/g, '#'), flat: [[1, [2]], 3].flat(2),\n"
              "    entries: Object.fromEntries([['k', 1]]), logical: (e.v ||= 5) };\n"
              "}\n");
    CALL_JSON(js, "handler", "{}",
              "{\"n\":3,\"made\":2,\"peek\":7,\"big\":\"1180591620717411303424\","
              "\"spread\":[3,1,2,\"h\",\"i\"],\"rest\":{\"y\":1,\"z\":2},\"x\":\"dflt\","
              "\"opt\":\"nullish\",\"sorted\":[1,2,3],\"last\":2,\"at\":2,\"own\":true,"
              "\"grouped\":\"has groupBy\",\"re\":\"a#b#\",\"flat\":[1,2,3],"
              "\"entries\":{\"k\":1},\"logical\":5}");
    hl_js_destroy(js);
}

TEST(async_handlers_and_top_level_await_settle)
{
    hl_js *js = js_with(
        NULL, "const base = await Promise.resolve(40);\n"
              "async function twice(x) { await null; return x * 2; }\n"
              "export async function handler(e) { return base + await twice(e); }\n"
              "export async function rejects() { await 0; throw new RangeError('no'); }\n"
              "export function never() { return new Promise(() => {}); }\n"
              "export function micro() { const log = [];\n"
              "  queueMicrotask(() => log.push('micro'));\n"
              "  return Promise.resolve().then(() => { log.push('then'); return log; }); }\n");
    CALL_JSON(js, "handler", "1", "42");
    const hl_js_error *e = call_fails(js, "rejects", "null", HL_EGUEST);
    CHECK_STREQ(e->name, "RangeError");
    CHECK_STREQ(e->message, "no");
    e = call_fails(js, "never", "null", HL_EGUEST);
    CHECK_CONTAINS(e->message, "never settled");
    CALL_JSON(js, "micro", "null", "[\"micro\",\"then\"]");
    hl_js_destroy(js);
}

TEST(json_events_keep_unicode_deep_nesting_and_a_mebibyte)
{
    hl_js *js = js_with(NULL, "export const handler = (e) => e;\n"
                              "export const len = (e) => e.s.length;\n"
                              "export const depth = (e) => { let d = 0; while (Array.isArray(e)) { "
                              "e = e[0]; d++; } return d; };\n");
    const char *unicode = "{\"s\":\"h\\u00e9llo \\u4e16\\u754c \\ud83d\\ude00 \\u0000 tab\\t\"}";
    CALL_JSON(js, "handler", "{\"s\":\"héllo 世界 😀\"}", "{\"s\":\"héllo 世界 😀\"}");
    CALL_JSON(js, "handler", unicode, "{\"s\":\"héllo 世界 😀 \\u0000 tab\\t\"}");
    enum { DEPTH = 500 };
    char nested[2 * DEPTH + 8];
    memset(nested, '[', DEPTH);
    memset(nested + DEPTH, ']', DEPTH);
    nested[2 * DEPTH] = 0;
    CALL_JSON(js, "depth", nested, "500");
    size_t n = 1024 * 1024;
    char *big = malloc(n + 16);
    CHECK(big != NULL);
    memcpy(big, "{\"s\":\"", 6);
    for (size_t i = 0; i < n; i++)
        big[6 + i] = (char)('a' + i % 26);
    memcpy(big + 6 + n, "\"}", 3);
    CALL_JSON(js, "len", big, "1048576");
    hl_js_data ev = hl_js_json(big), r;
    CHECK_JS_OK(js, hl_js_call(js, "m", "handler", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_JSON);
    CHECK_EQ(r.len, n + 8);
    CHECK_MEMEQ(r.data, big, n + 8);
    free(big);
    hl_js_destroy(js);
}

TEST(binary_events_and_results_cross_without_encoding)
{
    hl_js *js = js_with(
        NULL, "export function handler(b) { return b.slice().reverse(); }\n"
              "export function kind(b) { return [b instanceof Uint8Array, b.length]; }\n"
              "export function ab() { return new Uint16Array([0x0201, 0x0403]).buffer; }\n"
              "export function view() { return new Uint8Array([9, 8, 7, 6]).subarray(1, 3); }\n");
    uint8_t in[256], want[256];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i, want[i] = (uint8_t)(255 - i);
    hl_js_data ev = hl_js_bytes(in, sizeof in), r;
    CHECK_JS_OK(js, hl_js_call(js, "m", "handler", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_BYTES);
    CHECK_EQ(r.len, 256);
    CHECK_MEMEQ(r.data, want, 256);
    CHECK_JS_OK(js, hl_js_call(js, "m", "kind", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_JSON);
    CHECK_STREQ(r.data, "[true,256]");
    hl_js_data empty = hl_js_bytes(NULL, 0);
    CHECK_JS_OK(js, hl_js_call(js, "m", "kind", &empty, &r));
    CHECK_STREQ(r.data, "[true,0]");
    CHECK_JS_OK(js, hl_js_call(js, "m", "ab", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_BYTES);
    CHECK_EQ(r.len, 4);
    CHECK_MEMEQ(r.data, "\x01\x02\x03\x04", 4);
    CHECK_JS_OK(js, hl_js_call(js, "m", "view", &ev, &r));
    CHECK_EQ(r.len, 2);
    CHECK_MEMEQ(r.data, "\x08\x07", 2);
    hl_js_destroy(js);
}

TEST(undefined_and_unserialisable_results)
{
    hl_js *js = js_with(NULL, "export function handler() {}\n"
                              "export function fn() { return () => 1; }\n"
                              "export function cyc() { const o = {}; o.o = o; return o; }\n"
                              "export function big() { return 1n; }\n");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_OK(js, hl_js_call(js, "m", "handler", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_UNDEFINED);
    CHECK_JS_OK(js, hl_js_call(js, "m", "fn", &ev, &r));
    CHECK_EQ(r.kind, HL_JS_UNDEFINED);
    CHECK_STREQ(call_fails(js, "cyc", "null", HL_EGUEST)->name, "TypeError");
    CHECK_STREQ(call_fails(js, "big", "null", HL_EGUEST)->name, "TypeError");
    hl_js_destroy(js);
}

TEST(exceptions_reach_the_host_with_name_message_stack_and_position)
{
    hl_js *js = js_with(NULL, "function inner(e) {\n"
                              "  return e.x.y;\n"
                              "}\n"
                              "export function handler(e) {\n"
                              "    return inner(e);\n"
                              "}\n"
                              "export function custom() { const err = new Error('bad cheese'); "
                              "err.name = 'CheeseError'; throw err; }\n"
                              "export function value() { throw 42; }\n"
                              "export function empty() { throw ''; }\n");
    const hl_js_error *e = call_fails(js, "handler", "{}", HL_EGUEST);
    CHECK_STREQ(e->name, "TypeError");
    CHECK_STREQ(e->message, "cannot read property 'y' of undefined");
    CHECK_STREQ(e->file, "m");
    CHECK_EQ(e->line, 2);
    CHECK_EQ(e->column, 13);
    CHECK_CONTAINS(e->stack, "at inner (m:2:13)");
    CHECK_CONTAINS(e->stack, "at handler (m:5:");
    CHECK_STREQ(e->text, "TypeError: cannot read property 'y' of undefined at inner (m:2:13)");
    e = call_fails(js, "custom", "null", HL_EGUEST);
    CHECK_STREQ(e->name, "CheeseError");
    CHECK_STREQ(e->message, "bad cheese");
    CHECK_EQ(e->line, 7);
    e = call_fails(js, "value", "null", HL_EGUEST);
    CHECK_STREQ(e->name, "");
    CHECK_STREQ(e->message, "42");
    e = call_fails(js, "empty", "null", HL_EGUEST);
    CHECK_STREQ(e->message, "");
    CHECK_STREQ(e->text, "(an empty string was thrown)"); /* a string has no stack */
    /* the sandbox is not poisoned by a JS exception */
    CHECK(!hl_sandbox_is_poisoned(hl_js_sandbox(js)));
    e = call_fails(js, "nothere", "null", HL_EGUEST);
    CHECK_CONTAINS(e->message, "exports no function 'nothere'");
    hl_js_data ev = hl_js_json("{bad json"), r;
    CHECK_JS_RC(js, hl_js_call(js, "m", "handler", &ev, &r), HL_EGUEST);
    CHECK_STREQ(hl_js_last_error(js)->name, "SyntaxError");
    CHECK_STREQ(hl_js_last_error(js)->file, "<event>");
    hl_js_destroy(js);
}

TEST(syntax_errors_name_line_and_column)
{
    hl_js *js = new_js(NULL);
    const char *src = "export function handler(e) {\n  let x = 1;\n  x = x +* 2;\n}\n";
    CHECK_JS_RC(js, hl_js_load_module(js, "broken.js", src, strlen(src)), HL_EGUEST);
    const hl_js_error *e = hl_js_last_error(js);
    CHECK_STREQ(e->name, "SyntaxError");
    CHECK_STREQ(e->file, "broken.js");
    CHECK_EQ(e->line, 3);
    CHECK_EQ(e->column, 10);
    CHECK_CONTAINS(e->text, "SyntaxError: ");
    CHECK_CONTAINS(e->text, "broken.js:3:10");
    /* nothing of the broken module remains: the name is free, the sandbox works */
    load(js, "broken.js", "export const handler = () => 'fixed';");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_OK(js, hl_js_call(js, "broken.js", NULL, &ev, &r));
    CHECK_STREQ(r.data, "\"fixed\"");
    hl_js_destroy(js);
}

TEST(modules_import_each_other_by_name_in_any_order_and_in_cycles)
{
    hl_js *js = new_js(NULL);
    load(js, "main",
         "import { double } from 'math';\nimport * as cfg from 'config';\n"
         "export function handler(e) { return double(e) + cfg.offset; }\n");
    load(js, "math",
         "import { isEven } from 'parity';\nexport const double = (x) => 2 * x;\n"
         "export const even = (x) => isEven(x);\n");
    load(js, "parity",
         "import { even } from 'math';\n"
         "export const isEven = (x) => x === 0 ? true : isOdd(x - 1);\n"
         "const isOdd = (x) => x === 0 ? false : isEven(x - 1);\n"
         "export const viaCycle = (x) => even(x);\n");
    load(js, "config", "export const offset = 100;");
    hl_js_data ev = hl_js_json("21"), r;
    CHECK_JS_OK(js, hl_js_call(js, "main", NULL, &ev, &r));
    CHECK_STREQ(r.data, "142");
    CHECK_JS_OK(js, hl_js_call(js, "parity", "viaCycle", &ev, &r));
    CHECK_STREQ(r.data, "false");
    /* replacing one module: later imports and calls see the new one; nothing else recompiles */
    load(js, "config", "export const offset = 1000;");
    load(js, "main2", "import { offset } from 'config'; export const handler = () => offset;");
    CHECK_JS_OK(js, hl_js_call(js, "main2", NULL, &ev, &r));
    CHECK_STREQ(r.data, "1000");
    CHECK_JS_OK(js, hl_js_call(js, "main", NULL, &ev, &r));
    CHECK_STREQ(r.data, "142"); /* main linked the first config */
    /* NULL module: the one loaded last */
    CHECK_JS_OK(js, hl_js_call(js, NULL, NULL, &ev, &r));
    CHECK_STREQ(r.data, "1000");
    load(js, "self", "import * as me from 'self'; export const handler = () => Object.keys(me);");
    CHECK_JS_OK(js, hl_js_call(js, "self", NULL, &ev, &r));
    CHECK_STREQ(r.data, "[\"handler\"]");
    /* a body that throws throws again at every use, as in any ES host */
    load(js, "throws", "export const handler = () => 1;\nthrow new Error('body fails');");
    for (int i = 0; i < 2; i++) {
        CHECK_JS_RC(js, hl_js_call(js, "throws", NULL, &ev, &r), HL_EGUEST);
        CHECK_STREQ(hl_js_last_error(js)->message, "body fails");
        CHECK_EQ(hl_js_last_error(js)->line, 2);
    }
    load(js, "lonely", "import { x } from 'nowhere'; export const handler = () => x;");
    CHECK_JS_RC(js, hl_js_call(js, "lonely", NULL, &ev, &r), HL_EGUEST);
    CHECK_CONTAINS(hl_js_last_error(js)->message, "nowhere");
    hl_js_destroy(js);
}

TEST(standard_globals_are_there)
{
    hl_js *js = js_with(
        NULL,
        "export function handler() {\n"
        "  const enc = new TextEncoder().encode('h\\u00e9\\u{1F600}');\n"
        "  const uuid = crypto.randomUUID();\n"
        "  const r = crypto.getRandomValues(new Uint32Array(4));\n"
        "  let atobErr = ''; try { atob('!!'); } catch (e) { atobErr = e.name; }\n"
        "  return { enc: [...enc], dec: new TextDecoder().decode(enc),\n"
        "    b64: btoa('any carnal pleas'), unb64: atob('YW55IGNhcm5hbCBwbGVhcw=='),\n"
        "    uuid: "
        "/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid),\n"
        "    rand: r.some((x) => x !== 0), atobErr,\n"
        "    mr: Math.random() >= 0 && Math.random() < 1,\n"
        "    types: [typeof console.log, typeof console.warn, typeof console.error,\n"
        "      typeof console.info, typeof console.debug, typeof queueMicrotask,\n"
        "      typeof setTimeout, typeof fetch, typeof require, typeof host] };\n"
        "}\n"
        "export const now = () => Date.now();\n"
        "export const tz = () => [new Date(0).getTimezoneOffset(), new "
        "Date(86400000).getHours()];\n");
    CALL_JSON(js, "handler", "null",
              "{\"enc\":[104,195,169,240,159,152,128],\"dec\":\"hé😀\","
              "\"b64\":\"YW55IGNhcm5hbCBwbGVhcw==\",\"unb64\":\"any carnal pleas\",\"uuid\":true,"
              "\"rand\":true,\"atobErr\":\"InvalidCharacterError\",\"mr\":true,\"types\":["
              "\"function\",\"function\","
              "\"function\",\"function\",\"function\",\"function\",\"undefined\",\"undefined\","
              "\"undefined\",\"object\"]}");
    char buf[64];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    long long host_ms = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    long long guest_ms = atoll(call_text(js, "now", "null", buf, sizeof buf));
    CHECK(llabs(guest_ms - host_ms) < 10000);
    CALL_JSON(js, "tz", "null", "[0,0]");
    hl_js_destroy(js);
}

typedef struct captured {
    char out[256], err[256];
    size_t nout, nerr;
    int logs;
    char last_log[128];
    hl_log_level last_level;
} captured;

static void capture_output(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    captured *c = user;
    char *to = stream == HL_STREAM_STDERR ? c->err : c->out;
    size_t *n = stream == HL_STREAM_STDERR ? &c->nerr : &c->nout;
    for (size_t i = 0; i < len && *n + 1 < sizeof c->out; i++)
        to[(*n)++] = (char)bytes[i];
    to[*n] = 0;
}

static void capture_log(void *user, const hl_log_record *rec)
{
    captured *c = user;
    c->logs++;
    c->last_level = rec->level;
    snprintf(c->last_log, sizeof c->last_log, "%s", rec->message);
}

TEST(console_goes_to_stdout_stderr_and_logs_at_its_levels)
{
    captured c = {0};
    hl_js_config cfg;
    hl_js_config_init(&cfg);
    cfg.output_fn = capture_output;
    cfg.output_user = &c;
    cfg.log_fn = capture_log;
    cfg.log_user = &c;
    cfg.log_level = HL_LOG_WARN;
    hl_js *js = js_with(&cfg, "export function handler() {\n"
                              "  console.log('one', 2, {three: [3]}, null, undefined);\n"
                              "  console.info('info'); console.debug('debug');\n"
                              "  console.warn('careful'); console.error(new TypeError('bad'));\n"
                              "}\n");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_OK(js, hl_js_call(js, "m", NULL, &ev, &r));
    CHECK_STREQ(c.out, "one 2 {\"three\":[3]} null undefined\ninfo\ndebug\n");
    CHECK_CONTAINS(c.err, "careful\nTypeError: bad\n");
    CHECK_EQ(c.logs, 2); /* warn and error only: log_level is WARN */
    CHECK_EQ(c.last_level, HL_LOG_ERROR);
    CHECK_CONTAINS(c.last_log, "TypeError: bad");
    hl_js_destroy(js);
}

TEST(eval_returns_the_completion_value)
{
    hl_js *js = new_js(NULL);
    hl_js_data r;
    const char *src = "const o = { a: [1, 2, 3].map((x) => x * x) }; o";
    CHECK_JS_OK(js, hl_js_eval(js, src, strlen(src), &r));
    CHECK_EQ(r.kind, HL_JS_JSON);
    CHECK_STREQ(r.data, "{\"a\":[1,4,9]}");
    CHECK_JS_RC(js, hl_js_eval(js, "(", 1, &r), HL_EGUEST);
    CHECK_STREQ(hl_js_last_error(js)->name, "SyntaxError");
    CHECK_STREQ(hl_js_last_error(js)->file, "<eval>");
    hl_js_destroy(js);
}

TEST(arguments_are_checked)
{
    require_js();
    hl_js_config cfg;
    hl_js *js = NULL;
    hl_js_config_init(&cfg);
    cfg.heap_size = 1024 * 1024;
    CHECK_RC(hl_js_new(&cfg, &js), HL_ECONFIG);
    CHECK_EQ(hl_js_last_error(NULL)->code, HL_ECONFIG);
    CHECK_CONTAINS(hl_js_last_error(NULL)->text, "heap_size 1048576 is below");
    hl_js_config_init(&cfg);
    cfg.memory_limit = cfg.heap_size;
    CHECK_RC(hl_js_new(&cfg, &js), HL_ECONFIG);
    hl_js_config_init(&cfg);
    cfg.reserved[2] = 1;
    CHECK_RC(hl_js_new(&cfg, &js), HL_ECONFIG);
    CHECK_RC(hl_js_new(NULL, NULL), HL_EINVAL);
    js = new_js(NULL);
    hl_js_data ev = {(hl_js_kind)7, "x", 1}, r;
    CHECK_RC(hl_js_call(js, "m", NULL, &ev, &r), HL_EINVAL);
    CHECK_RC(hl_js_call(js, "m", NULL, NULL, &r), HL_EINVAL);
    CHECK_RC(hl_js_load_module(js, "x", NULL, 3), HL_EINVAL);
    CHECK_RC(hl_js_load_module(js, "", "1", 1), HL_EINVAL);
    hl_js_destroy(js);
    hl_js_destroy(NULL);
}

/* ---- hl-js ---- */
static int run_hljs(const char *args, const char *stdin_text, char *out, size_t size)
{
    char path[4096], cmd[8192], in[256];
    test_file_path(path, sizeof path, "HL_TEST_BIN_DIR", "build/bin", "hl-js");
    snprintf(in, sizeof in, "%s/hljs-in-%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    FILE *f = fopen(in, "w");
    CHECK(f != NULL);
    fputs(stdin_text ? stdin_text : "", f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s %s < %s 2>&1", path, args, in);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, size - 1, p);
    out[n] = 0;
    int status = pclose(p);
    unlink(in);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static const char *write_script(const char *name, const char *text)
{
    static char path[4096];
    snprintf(path, sizeof path, "%s/%d-%s", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid(), name);
    FILE *f = fopen(path, "w");
    CHECK(f != NULL);
    fputs(text, f);
    fclose(f);
    return path;
}

TEST(hljs_runs_handlers_expressions_and_event_streams)
{
    require_js();
    char out[4096], args[8192];
    const char *script = write_script(
        "script.js",
        "let n = 0;\n"
        "export function handler(e) { n++; return { n, e }; }\n"
        "export function bad(e) {\n"
        "  return x.y;\n}\n"
        "export function shout(e) { console.log('hi', e); return e.toUpperCase(); }\n");
    snprintf(args, sizeof args, "%s handler '{\"a\":[1,2]}'", script);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "{\"n\":1,\"e\":{\"a\":[1,2]}}\n");
    snprintf(args, sizeof args, "%s", script);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "{\"n\":1,\"e\":null}\n");
    snprintf(args, sizeof args, "%s handler -", script);
    CHECK_EQ(run_hljs(args, "1\n\"two\"\n{not json\n[3]\n", out, sizeof out), 1);
    CHECK_CONTAINS(out, "{\"n\":1,\"e\":1}\n{\"n\":1,\"e\":\"two\"}\n{\"error\":\"SyntaxError: ");
    CHECK_CONTAINS(out, "}\n{\"n\":1,\"e\":[3]}\n");
    snprintf(args, sizeof args, "%s bad", script);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 1);
    char want[512];
    snprintf(want, sizeof want,
             "hl-js: ReferenceError: 'x' is not defined at bad (%d-script.js:4:10)\n",
             (int)getpid());
    CHECK_STREQ(out, want);
    snprintf(args, sizeof args, "%s shout '\"abc\"'", script);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "hi abc\n\"ABC\"\n");
    CHECK_EQ(run_hljs("-e '[1, 2].map((x) => x * 10)'", NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "[10,20]\n");
    CHECK_EQ(run_hljs("-e 'new Uint8Array([1,2,255])'", NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "[1,2,255]\n");
    CHECK_EQ(run_hljs("--time-limit-ms 200 -e 'for (;;);'", NULL, out, sizeof out), 1);
    CHECK_CONTAINS(out, "time limit");
    CHECK_EQ(run_hljs("--heap 1x x.js", NULL, out, sizeof out), 2);
    CHECK_EQ(run_hljs("", NULL, out, sizeof out), 2);
    CHECK_EQ(run_hljs("/nonexistent/x.js", NULL, out, sizeof out), 1);
    CHECK_CONTAINS(out, "cannot open");
    CHECK_EQ(run_hljs("--help", NULL, out, sizeof out), 0);
    CHECK_CONTAINS(out, "usage: hl-js");
    unlink(script);
}

TEST(hljs_hot_runs_the_same_handlers)
{
    require_js();
    char out[4096], args[8192];
    const char *script = write_script(
        "hot.js", "export function handler(e) { console.log('seen', e.n); return e.n * 2; }\n");
    snprintf(args, sizeof args, "--hot %s handler -", script);
    CHECK_EQ(run_hljs(args, "{\"n\":1}\n{\"n\":21}\n", out, sizeof out), 0);
    CHECK_STREQ(out, "seen 1\n2\nseen 21\n42\n");
    snprintf(args, sizeof args, "--hot --hot-spin-us 5 --time-limit-ms 200 -e 'for (;;);'");
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 1);
    CHECK_CONTAINS(out, "time limit");
    CHECK_EQ(run_hljs("--hot-spin-us 0 -e 1", NULL, out, sizeof out), 2);
    unlink(script);
}

TEST(hljs_saves_and_starts_from_snapshot_files)
{
    require_js();
    char out[4096], args[8192], snap[4096];
    const char *script = write_script("snap.js", "const t0 = 'made at load';\n"
                                                 "export const handler = (e) => [t0, e];\n");
    snprintf(snap, sizeof snap, "%s.hls", script);
    snprintf(args, sizeof args, "--save-snapshot %s %s handler 1", snap, script);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "[\"made at load\",1]\n");
    snprintf(args, sizeof args, "--snapshot %s handler 2", snap);
    CHECK_EQ(run_hljs(args, NULL, out, sizeof out), 0);
    CHECK_STREQ(out, "[\"made at load\",2]\n");
    snprintf(args, sizeof args, "--snapshot %s handler -", snap);
    CHECK_EQ(run_hljs(args, "3\n4\n", out, sizeof out), 0);
    CHECK_STREQ(out, "[\"made at load\",3]\n[\"made at load\",4]\n");
    unlink(snap);
    unlink(script);
}

static const hl_test tests[] = {
    TEST_ENTRY(es2023_features_work),
    TEST_ENTRY(async_handlers_and_top_level_await_settle),
    TEST_ENTRY(json_events_keep_unicode_deep_nesting_and_a_mebibyte),
    TEST_ENTRY(binary_events_and_results_cross_without_encoding),
    TEST_ENTRY(undefined_and_unserialisable_results),
    TEST_ENTRY(exceptions_reach_the_host_with_name_message_stack_and_position),
    TEST_ENTRY(syntax_errors_name_line_and_column),
    TEST_ENTRY(modules_import_each_other_by_name_in_any_order_and_in_cycles),
    TEST_ENTRY(standard_globals_are_there),
    TEST_ENTRY(console_goes_to_stdout_stderr_and_logs_at_its_levels),
    TEST_ENTRY(eval_returns_the_completion_value),
    TEST_ENTRY(arguments_are_checked),
    TEST_ENTRY(hljs_runs_handlers_expressions_and_event_streams),
    TEST_ENTRY(hljs_hot_runs_the_same_handlers),
    TEST_ENTRY(hljs_saves_and_starts_from_snapshot_files),
};

RUN_TESTS(tests)

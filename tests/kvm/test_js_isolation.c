/* test_js_isolation.c: what keeps JS sandboxes apart and bounded: host functions (deny by
 * default, types, errors, binary), per-request isolation (reset_after_call, snapshots, snapshot
 * files), fresh randomness, time limits and interrupts, memory and stack limits, many sandboxes
 * from one snapshot and sandboxes on many threads. */
#include <pthread.h>
#include <sys/resource.h>
#include <unistd.h>

#include "js_common.h"

/* host.echo(...args): the JSON argument array back, with the binary parts' lengths. */
static int echo_args(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                     hl_js_reply *reply)
{
    (void)user;
    char buf[4096];
    int len = snprintf(buf, sizeof buf, "{\"args\":%.*s,\"parts\":[", (int)args->len,
                       (const char *)args->data);
    for (size_t i = 0; i < n; i++)
        len += snprintf(buf + len, sizeof buf - (size_t)len, i ? ",%zu" : "%zu", parts[i].len);
    len += snprintf(buf + len, sizeof buf - (size_t)len, "]}");
    return hl_js_reply_json(reply, buf, (size_t)len);
}

/* host.sum(bytes): the sum of the bytes of the first part; host.rev(bytes): reversed bytes. */
static int sum_bytes(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                     hl_js_reply *reply)
{
    (void)user, (void)args;
    unsigned sum = 0;
    if (n < 1)
        return hl_js_reply_error(reply, "sum needs bytes"), 1;
    for (size_t i = 0; i < parts[0].len; i++)
        sum += ((const uint8_t *)parts[0].data)[i];
    char buf[32];
    int len = snprintf(buf, sizeof buf, "%u", sum);
    return hl_js_reply_json(reply, buf, (size_t)len);
}

static int reverse_bytes(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                         hl_js_reply *reply)
{
    (void)user, (void)args;
    uint8_t buf[256];
    size_t len = n && parts[0].len <= sizeof buf ? parts[0].len : 0;
    for (size_t i = 0; i < len; i++)
        buf[i] = ((const uint8_t *)parts[0].data)[len - 1 - i];
    return hl_js_reply_bytes(reply, buf, len);
}

static int always_fails(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                        hl_js_reply *reply)
{
    (void)user, (void)args, (void)parts, (void)n;
    hl_js_reply_error(reply, "the database is on fire");
    return -1;
}

static int count_calls(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                       hl_js_reply *reply)
{
    (void)args, (void)parts, (void)n, (void)reply;
    (*(int *)user)++;
    return 0; /* no reply: undefined */
}

TEST(host_functions_take_json_and_binary_and_fail_catchably)
{
    int calls = 0;
    hl_js *js = new_js(NULL);
    CHECK_OK(hl_js_register(js, "echo", echo_args, NULL));
    CHECK_OK(hl_js_register(js, "sum", sum_bytes, NULL));
    CHECK_OK(hl_js_register(js, "rev", reverse_bytes, NULL));
    CHECK_OK(hl_js_register(js, "fails", always_fails, NULL));
    CHECK_OK(hl_js_register(js, "count", count_calls, &calls));
    CHECK_RC(hl_js_register(js, "echo", echo_args, NULL), HL_EEXIST);
    CHECK_RC(hl_js_register(js, "bad name", echo_args, NULL), HL_EINVAL);
    CHECK_RC(hl_js_register(js, "", echo_args, NULL), HL_EINVAL);
    load(js, "m",
         "export function handler() {\n"
         "  const r = host.echo(1, 'two', { three: [3, true, null] }, 1.5);\n"
         "  const b = host.echo('x', { nested: new Uint8Array([1, 2, 3]) }, new ArrayBuffer(5));\n"
         "  let caught = null;\n"
         "  try { host.fails(); } catch (e) { caught = [e.name, e.message]; }\n"
         "  return { r, b, sum: host.sum(new Uint8Array([100, 200, 255])),\n"
         "    rev: [...host.rev(new Uint8Array([1, 2, 3]))], caught,\n"
         "    none: host.count(), frozen: Object.isFrozen(host),\n"
         "    names: Object.keys(host).sort(), nope: typeof host.nope };\n"
         "}\n"
         "export function unregistered() { return host.nope(); }\n"
         "export function tamper() { try { host.extra = () => 1; } catch (e) { return e.name; } "
         "}\n");
    CALL_JSON(js, "handler", "null",
              "{\"r\":{\"args\":[1,\"two\",{\"three\":[3,true,null]},1.5],\"parts\":[]},"
              "\"b\":{\"args\":[\"x\",{\"nested\":{\"__bytes__\":0}},{\"__bytes__\":1}],"
              "\"parts\":[3,5]},\"sum\":555,\"rev\":[3,2,1],"
              "\"caught\":[\"InternalError\",\"host.fails: the database is on fire\"],"
              "\"frozen\":true,\"names\":[\"count\",\"echo\",\"fails\",\"rev\",\"sum\"],"
              "\"nope\":\"undefined\"}");
    CHECK_EQ(calls, 1);
    /* a host function's exception points at the script's frame, not the guest's machinery */
    load(js, "w", "export function handler() {\n  return host.fails();\n}\n");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_RC(js, hl_js_call(js, "w", NULL, &ev, &r), HL_EGUEST);
    CHECK_STREQ(hl_js_last_error(js)->file, "w");
    CHECK_EQ(hl_js_last_error(js)->line, 2);
    CHECK_STREQ(call_fails(js, "unregistered", "null", HL_EGUEST)->name, "TypeError");
    CALL_JSON(js, "tamper", "null", "\"TypeError\""); /* modules are strict; host is frozen */
    /* registration is closed once the guest has defined `host` */
    CHECK_RC(hl_js_register(js, "late", echo_args, NULL), HL_ESTATE);
    hl_js_destroy(js);
}

TEST(a_sandbox_without_host_functions_has_an_empty_host)
{
    hl_js *js = js_with(NULL, "export const handler = () => Object.keys(host).length;");
    CALL_JSON(js, "handler", "null", "0");
    hl_js_destroy(js);
}

static hl_js_config reset_config(void)
{
    hl_js_config cfg;
    hl_js_config_init(&cfg);
    cfg.reset_after_call = true;
    return cfg;
}

static const char *const stateful =
    "let counter = 0;\n"
    "export function handler(e) { counter++; globalThis.leak = e; return [counter, globalThis.seen "
    "?? null]; }\n"
    "export function peek() { globalThis.seen = globalThis.leak ?? 'clean'; return [counter, "
    "globalThis.seen]; }\n"
    "export function rand() { return [Math.random(), [...crypto.getRandomValues(new "
    "Uint8Array(8))], crypto.randomUUID()]; }\n"
    "export function spin() { for (;;); }\n"
    "export function hog() { const a = []; for (;;) a.push(new Array(100000).fill(1)); }\n"
    "export function hogCaught() { const a = []; try { for (;;) a.push(new Array(100000).fill(1)); "
    "}\n"
    "  catch (e) { a.length = 0; return [e.name, e.message]; } }\n"
    "export function recurse() { const f = (n) => f(n + 1) + 1; try { f(0); } catch (e) { return "
    "[e.name, e.message]; } }\n"
    "export function recurseUncaught() { const f = (n) => f(n + 1) + 1; return f(0); }\n";

TEST(with_reset_after_call_no_request_sees_another)
{
    hl_js_config cfg = reset_config();
    hl_js *js = js_with(&cfg, stateful);
    CALL_JSON(js, "handler", "\"secret-of-tenant-a\"", "[1,null]");
    CALL_JSON(js, "peek", "null", "[0,\"clean\"]");
    CALL_JSON(js, "handler", "2", "[1,null]");
    /* a failed call is rolled back too */
    call_fails(js, "recurseUncaught", "null", HL_EGUEST);
    CALL_JSON(js, "handler", "3", "[1,null]");
    hl_js_destroy(js);
}

TEST(without_reset_state_persists_between_calls)
{
    hl_js *js = js_with(NULL, stateful);
    CALL_JSON(js, "handler", "1", "[1,null]");
    CALL_JSON(js, "handler", "2", "[2,null]");
    CALL_JSON(js, "peek", "null", "[2,2]");
    hl_js_destroy(js);
}

TEST(randomness_differs_across_restores_and_sandboxes_from_one_snapshot)
{
    hl_js_config cfg = reset_config();
    hl_js *js = js_with(&cfg, stateful);
    char a[512], b[512], c[512], d[512];
    call_text(js, "rand", "null", a, sizeof a);
    call_text(js, "rand", "null", b, sizeof b);
    CHECK(strcmp(a, b) != 0);
    hl_snapshot *snap;
    CHECK_JS_OK(js, hl_js_snapshot(js, &snap));
    hl_js *one = NULL, *two = NULL;
    CHECK_OK(hl_js_new_from_snapshot(&cfg, snap, &one));
    CHECK_OK(hl_js_new_from_snapshot(&cfg, snap, &two));
    call_text(one, "rand", "null", c, sizeof c);
    call_text(two, "rand", "null", d, sizeof d);
    CHECK(strcmp(c, d) != 0 && strcmp(a, c) != 0 && strcmp(b, d) != 0);
    /* an explicit restore also starts a new sequence */
    hl_js_config plain;
    hl_js_config_init(&plain);
    hl_js *three = NULL;
    CHECK_OK(hl_js_new_from_snapshot(&plain, snap, &three));
    call_text(three, "rand", "null", c, sizeof c);
    CHECK_JS_OK(three, hl_js_restore(three, snap));
    call_text(three, "rand", "null", d, sizeof d);
    CHECK(strcmp(c, d) != 0);
    hl_js_destroy(one), hl_js_destroy(two), hl_js_destroy(three), hl_js_destroy(js);
    hl_snapshot_release(snap);
}

TEST(snapshot_files_make_js_sandboxes_in_other_processes)
{
    hl_js *js = js_with(NULL, stateful);
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_snapshot *snap, *loaded;
    CHECK_JS_OK(js, hl_js_snapshot(js, &snap));
    char path[4096];
    snprintf(path, sizeof path, "%s/js-%d.hls", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    CHECK_OK(hl_snapshot_save(snap, path));
    CHECK_OK(hl_snapshot_load(path, &loaded));
    unlink(path);
    hl_js *copy = NULL;
    CHECK_OK(hl_js_new_from_snapshot(NULL, loaded, &copy));
    CALL_JSON(copy, "handler", "2", "[2,null]");
    hl_js_destroy(copy), hl_js_destroy(js);
    hl_snapshot_release(snap), hl_snapshot_release(loaded);
}

TEST(a_snapshot_of_a_c_guest_is_not_a_js_sandbox)
{
    require_js();
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *snap;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    hl_js *js = NULL;
    CHECK_RC(hl_js_new_from_snapshot(NULL, snap, &js), HL_EMISMATCH);
    CHECK(js == NULL);
    hl_sandbox_destroy(sb);
    hl_snapshot_release(snap);
}

TEST(an_endless_loop_hits_the_time_limit_and_a_restore_recovers)
{
    hl_js_config cfg;
    hl_js_config_init(&cfg);
    cfg.time_limit_ms = 300;
    hl_js *js = js_with(&cfg, stateful);
    hl_snapshot *snap;
    CHECK_JS_OK(js, hl_js_snapshot(js, &snap));
    call_fails(js, "spin", "null", HL_ETIMEOUT);
    CHECK(hl_sandbox_is_poisoned(hl_js_sandbox(js)));
    call_fails(js, "handler", "1", HL_EPOISONED);
    CHECK_JS_OK(js, hl_js_restore(js, snap));
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
    /* with reset_after_call the sandbox recovers by itself */
    cfg.reset_after_call = true;
    js = js_with(&cfg, stateful);
    call_fails(js, "spin", "null", HL_ETIMEOUT);
    CHECK(!hl_sandbox_is_poisoned(hl_js_sandbox(js)));
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
    hl_snapshot_release(snap);
}

TEST(a_module_body_past_the_time_limit_leaves_no_poison_with_reset)
{
    hl_js_config cfg = reset_config();
    cfg.time_limit_ms = 300;
    hl_js *js = new_js(&cfg);
    load(js, "slow", "while (true) {}\nexport const handler = () => 1;");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_RC(js, hl_js_call(js, "slow", NULL, &ev, &r), HL_ETIMEOUT);
    CHECK(!hl_sandbox_is_poisoned(hl_js_sandbox(js)));
    load(js, "slow", "export const handler = () => 'fixed';"); /* the old body never runs again */
    CHECK_JS_OK(js, hl_js_call(js, "slow", NULL, &ev, &r));
    CHECK_STREQ(r.data, "\"fixed\"");
    hl_js_destroy(js);
}

TEST(with_reset_a_module_whose_body_throws_fails_only_its_own_calls)
{
    hl_js_config cfg = reset_config();
    hl_js *js = js_with(&cfg, stateful);
    load(js, "bad", "export const handler = () => 1;\nthrow new TypeError('bad body');");
    load(js, "needs", "import { x } from 'missing'; export const handler = () => x;");
    hl_js_data ev = hl_js_json("null"), r;
    for (int i = 0; i < 2; i++) {
        CHECK_JS_RC(js, hl_js_call(js, "bad", NULL, &ev, &r), HL_EGUEST);
        CHECK_STREQ(hl_js_last_error(js)->message, "bad body");
        CHECK_JS_RC(js, hl_js_call(js, "needs", NULL, &ev, &r), HL_EGUEST);
        CHECK_CONTAINS(hl_js_last_error(js)->message, "'missing'");
        CALL_JSON(js, "handler", "1", "[1,null]");
    }
    load(js, "missing", "export const x = 'found';");
    CHECK_JS_OK(js, hl_js_call(js, "needs", NULL, &ev, &r));
    CHECK_STREQ(r.data, "\"found\"");
    hl_js_destroy(js);
}

TEST(with_reset_a_restored_snapshot_becomes_the_clean_state)
{
    hl_js_config cfg = reset_config();
    hl_js *js = js_with(&cfg, stateful);
    hl_snapshot *s0;
    CHECK_JS_OK(js, hl_js_snapshot(js, &s0));
    load(js, "later", "export const handler = () => 'later';");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_JS_OK(js, hl_js_call(js, "later", NULL, &ev, &r));
    CHECK_JS_OK(js, hl_js_restore(js, s0));
    for (int i = 0; i < 2; i++) /* every call now starts from s0, which has no module "later" */
        CHECK_JS_RC(js, hl_js_call(js, "later", NULL, &ev, &r), HL_EGUEST);
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
    hl_snapshot_release(s0);
}

static void *interrupt_soon(void *arg)
{
    usleep(200 * 1000);
    while (!hl_js_interrupt(arg))
        usleep(10 * 1000);
    return NULL;
}

TEST(an_interrupt_stops_a_script_and_reset_recovers)
{
    hl_js_config cfg = reset_config();
    cfg.time_limit_ms = 0;
    hl_js *js = js_with(&cfg, stateful);
    CALL_JSON(js, "handler", "1", "[1,null]"); /* takes the clean snapshot */
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, interrupt_soon, js), 0);
    call_fails(js, "spin", "null", HL_ECANCELLED);
    pthread_join(t, NULL);
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
}

TEST(memory_limit_gives_a_catchable_error_not_a_dead_guest)
{
    hl_js_config cfg = reset_config();
    cfg.heap_size = 32u * 1024 * 1024;
    cfg.memory_limit = 16u * 1024 * 1024;
    hl_js *js = js_with(&cfg, stateful);
    CALL_JSON(js, "hogCaught", "null", "[\"InternalError\",\"out of memory\"]");
    const hl_js_error *e = call_fails(js, "hog", "null", HL_EGUEST);
    CHECK_STREQ(e->message, "out of memory");
    CHECK(!hl_sandbox_is_poisoned(hl_js_sandbox(js)));
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
}

/* QuickJS 2025-04-26 names its stack limit InternalError "stack overflow" (quickjs-ng: RangeError);
 * either way a catchable exception, well before the guest's stack ends. */
TEST(deep_recursion_is_a_catchable_error_not_a_stack_overflow)
{
    hl_js_config cfg = reset_config();
    hl_js *js = js_with(&cfg, stateful);
    CALL_JSON(js, "recurse", "null", "[\"InternalError\",\"stack overflow\"]");
    CHECK_STREQ(call_fails(js, "recurseUncaught", "null", HL_EGUEST)->name, "InternalError");
    CALL_JSON(js, "handler", "1", "[1,null]");
    hl_js_destroy(js);
}

static size_t sandbox_count(void)
{
    const char *s = getenv("HL_TEST_JS_SANDBOXES");
    return s && *s ? (size_t)strtoul(s, NULL, 10) : 1000;
}

TEST(a_thousand_js_sandboxes_from_one_snapshot)
{
    size_t n = sandbox_count();
    struct rlimit lim = {4 * n + 256, 4 * n + 256};
    if (setrlimit(RLIMIT_NOFILE, &lim) != 0) /* two descriptors per sandbox */
        SKIP("cannot raise the descriptor limit to %zu", (size_t)lim.rlim_cur);
    hl_js *js = js_with(NULL, stateful);
    hl_snapshot *snap;
    CHECK_JS_OK(js, hl_js_snapshot(js, &snap));
    hl_js **all = calloc(n, sizeof *all);
    CHECK(all != NULL);
    for (size_t i = 0; i < n; i++)
        CHECK_OK(hl_js_new_from_snapshot(NULL, snap, &all[i]));
    char want[64], event[32];
    for (size_t i = 0; i < n; i++) {
        snprintf(event, sizeof event, "%zu", i);
        CALL_JSON(all[i], "handler", event, "[1,null]");
    }
    for (size_t i = 0; i < n; i++) { /* each kept its own state */
        snprintf(want, sizeof want, "[1,%zu]", i);
        CALL_JSON(all[i], "peek", "null", want);
    }
    for (size_t i = 0; i < n; i++)
        hl_js_destroy(all[i]);
    free(all);
    hl_js_destroy(js);
    hl_snapshot_release(snap);
}

typedef struct worker {
    hl_snapshot *snap;
    int id, failures;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    hl_js_config cfg = reset_config();
    hl_js *js = NULL;
    if (hl_js_new_from_snapshot(&cfg, w->snap, &js) != 0) {
        w->failures = 1000;
        return NULL;
    }
    char event[32], want[64];
    for (int i = 0; i < 20; i++) {
        snprintf(event, sizeof event, "%d", w->id * 100 + i);
        hl_js_data ev = hl_js_json(event), r;
        int rc = hl_js_call(js, "m", "handler", &ev, &r);
        snprintf(want, sizeof want, "[1,null]");
        if (rc || r.kind != HL_JS_JSON || strcmp(r.data, want) != 0)
            w->failures++;
    }
    hl_js_destroy(js);
    return NULL;
}

TEST(js_sandboxes_run_on_many_threads_at_once)
{
    enum { THREADS = 4 };
    hl_js *js = js_with(NULL, stateful);
    hl_snapshot *snap;
    CHECK_JS_OK(js, hl_js_snapshot(js, &snap));
    pthread_t t[THREADS];
    worker w[THREADS];
    for (int i = 0; i < THREADS; i++) {
        w[i] = (worker){snap, i, 0};
        CHECK_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        CHECK_EQ(w[i].failures, 0);
    }
    hl_js_destroy(js);
    hl_snapshot_release(snap);
}

/* hl_js_destroy from one of the sandbox's own host functions: the call ends with HL_ECANCELLED
 * and the sandbox is freed as it returns (valgrind and ASan see no use after free). */
static int destroy_own(void *user, const hl_js_data *args, const hl_js_data *parts, size_t n,
                       hl_js_reply *reply)
{
    (void)args, (void)parts, (void)n, (void)reply;
    hl_js_destroy(*(hl_js **)user);
    return 0;
}

TEST(destroy_from_a_host_function_cancels_the_call)
{
    hl_js *js = new_js(NULL);
    CHECK_OK(hl_js_register(js, "bye", destroy_own, &js));
    load(js, "m", "export function handler() { host.bye(); for (;;) {} }\n");
    hl_js_data ev = hl_js_json("null"), r;
    CHECK_RC(hl_js_call(js, "m", "handler", &ev, &r), HL_ECANCELLED);
}

static const hl_test tests[] = {
    TEST_ENTRY(destroy_from_a_host_function_cancels_the_call),
    TEST_ENTRY(host_functions_take_json_and_binary_and_fail_catchably),
    TEST_ENTRY(a_sandbox_without_host_functions_has_an_empty_host),
    TEST_ENTRY(with_reset_after_call_no_request_sees_another),
    TEST_ENTRY(without_reset_state_persists_between_calls),
    TEST_ENTRY(randomness_differs_across_restores_and_sandboxes_from_one_snapshot),
    TEST_ENTRY(snapshot_files_make_js_sandboxes_in_other_processes),
    TEST_ENTRY(a_snapshot_of_a_c_guest_is_not_a_js_sandbox),
    TEST_ENTRY(an_endless_loop_hits_the_time_limit_and_a_restore_recovers),
    TEST_ENTRY(a_module_body_past_the_time_limit_leaves_no_poison_with_reset),
    TEST_ENTRY(with_reset_a_module_whose_body_throws_fails_only_its_own_calls),
    TEST_ENTRY(with_reset_a_restored_snapshot_becomes_the_clean_state),
    TEST_ENTRY(an_interrupt_stops_a_script_and_reset_recovers),
    TEST_ENTRY(memory_limit_gives_a_catchable_error_not_a_dead_guest),
    TEST_ENTRY(deep_recursion_is_a_catchable_error_not_a_stack_overflow),
    TEST_ENTRY(a_thousand_js_sandboxes_from_one_snapshot),
    TEST_ENTRY(js_sandboxes_run_on_many_threads_at_once),
};

RUN_TESTS(tests)

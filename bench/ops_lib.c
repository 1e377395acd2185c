/* ops_lib.c: the library's rows of hl-bench: creating, destroying, calling and restoring
 * sandboxes of bench_guest.elf through the public API only. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"

#define MIB (1024u * 1024)
#define POOL_SIZE 16 /* the library's default (hyperlight.h) */
#define ECHO_TEXT "hello, world"

/* op->param: flags in the low byte, pages to touch above it. */
#define P_POOL_OFF 0x01    /* hl_vm_pool_set_size(0) while the row runs */
#define P_BIG_BUFFERS 0x02 /* input and output buffers of 4 MiB (1 MiB arguments) */
#define P_BIG_HEAP 0x04    /* 64 MiB heap (the restore rows' sandbox) */
#define P_NO_LIMIT 0x08    /* time_limit_ms = 0: no timer armed per call */
#define P_RESET 0x10       /* reset_after_call */
#define P_HOT 0x20         /* hot (docs/HOT.md): calls through the doorbell, default spin window */
#define P_PARKED 0x40      /* hot, spin window WAKE_SPIN_US, and each call after WAKE_SLEEP_US */
#define PAGES(n) ((long)(n) << 8)
#define PARAM_PAGES(p) ((int32_t)((p) >> 8))

/* The wake-up row: a short spin window, and a sleep 100 times as long before each call, so the
 * guest has surely given up spinning and parked (a real VM exit) when the call comes. */
#define WAKE_SPIN_US 20
#define WAKE_SLEEP_US 2000
_Static_assert(WAKE_SLEEP_US >= 100 * WAKE_SPIN_US, "the wake-up row's guest must have parked");
#define STR(x) #x
#define XSTR(x) STR(x)
/* The row's label says what the two numbers are. */
#define WAKE_WINDOW XSTR(WAKE_SPIN_US) " us window"
#define WAKE_IDLE "idle " XSTR(WAKE_SLEEP_US) " us"
#define WAKE_LABEL "hot: Nop() to a parked guest (" WAKE_WINDOW ", " WAKE_IDLE ")"

static int host_nop(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(0);
    return 0;
}

static void config_for(const bench_ctx *c, hl_config *cfg)
{
    long p = c->op->param;
    hl_config_init(cfg);
    if (p & P_BIG_BUFFERS)
        cfg->input_size = cfg->output_size = 4 * MIB;
    if (p & P_BIG_HEAP)
        cfg->heap_size = 64 * MIB;
    if (p & P_NO_LIMIT)
        cfg->time_limit_ms = 0;
    cfg->reset_after_call = (p & P_RESET) != 0;
    cfg->hot = (p & (P_HOT | P_PARKED)) != 0;
    if (p & P_PARKED)
        cfg->hot_spin_us = WAKE_SPIN_US;
}

static void pool_for(const bench_ctx *c)
{
    hl_vm_pool_set_size(c->op->param & P_POOL_OFF ? 0 : POOL_SIZE);
}

/* register HostNop + init: what makes a new sandbox ready to call. */
static int make_ready(bench_ctx *c, hl_sandbox *sb)
{
    int rc = hl_sandbox_register(sb, "HostNop", HL_TYPE_I32, NULL, 0, host_nop, NULL);
    if (rc)
        return bench_lib_fail(c, "hl_sandbox_register", rc);
    rc = hl_sandbox_init(sb);
    return rc ? bench_lib_fail(c, "hl_sandbox_init", rc) : 0;
}

/* Cold create: ELF file -> ready (new + register + init). */
static int cold_create(bench_ctx *c, hl_sandbox **out)
{
    hl_config cfg;
    config_for(c, &cfg);
    int rc = hl_sandbox_new(&cfg, c->opt->guest, out);
    if (rc)
        return bench_lib_fail(c, "hl_sandbox_new", rc);
    if (make_ready(c, *out)) {
        hl_sandbox_destroy(*out);
        return -1;
    }
    return 0;
}

static int snap_create(bench_ctx *c, hl_sandbox **out)
{
    hl_config cfg;
    config_for(c, &cfg);
    int rc = hl_sandbox_new_from_snapshot(&cfg, c->snap, out);
    if (rc)
        return bench_lib_fail(c, "hl_sandbox_new_from_snapshot", rc);
    if (make_ready(c, *out)) {
        hl_sandbox_destroy(*out);
        return -1;
    }
    return 0;
}

static int call(bench_ctx *c, const char *name, const hl_value *args, size_t nargs)
{
    hl_value out;
    int rc = hl_sandbox_call(c->sb, name, args, nargs, &out);
    return rc ? bench_fail(c, "%s: %s (%s)", name, hl_last_error(), hl_errname(rc)) : 0;
}

static int touch(bench_ctx *c, int32_t pages)
{
    return call(c, "TouchPages", HL_ARGS(hl_i32(pages)));
}

static int restore(bench_ctx *c)
{
    int rc = hl_sandbox_restore(c->sb, c->snap);
    return rc ? bench_lib_fail(c, "hl_sandbox_restore", rc) : 0;
}

/* ---------------------------------------------------------------- set-up and tear-down */

static void teardown(bench_ctx *c)
{
    hl_sandbox_destroy(c->sb);
    hl_snapshot_release(c->snap);
    free(c->src);
    c->sb = NULL;
    c->snap = NULL;
    c->src = NULL;
    hl_vm_pool_set_size(POOL_SIZE);
}

static int setup_pool(bench_ctx *c)
{
    pool_for(c);
    return 0;
}

/* One sandbox, ready to call (plus the 1 MiB argument for the bytes row). */
static int setup_sandbox(bench_ctx *c)
{
    pool_for(c);
    if (c->op->param & P_BIG_BUFFERS) {
        c->len = MIB;
        if (!(c->src = malloc(c->len)))
            return bench_fail(c, "out of memory");
        memset(c->src, 0xa5, c->len);
    }
    return cold_create(c, &c->sb);
}

/* A sandbox ready to call and a snapshot of it, its base for restores. */
static int setup_snapshot(bench_ctx *c)
{
    if (setup_sandbox(c))
        return -1;
    int rc = hl_sandbox_snapshot(c->sb, &c->snap);
    return rc ? bench_lib_fail(c, "hl_sandbox_snapshot", rc) : 0;
}

/* Only the snapshot: the sandbox it was taken from is gone. */
static int setup_snapshot_only(bench_ctx *c)
{
    if (setup_snapshot(c))
        return -1;
    hl_sandbox_destroy(c->sb);
    c->sb = NULL;
    return 0;
}

/* ---------------------------------------------------------------- samples */

static int cold_create_sample(bench_ctx *c, uint64_t *ns)
{
    hl_sandbox *sb;
    uint64_t t0 = bench_now_ns();
    int rc = cold_create(c, &sb);
    *ns = bench_now_ns() - t0;
    if (!rc)
        hl_sandbox_destroy(sb);
    return rc;
}

static int snap_create_sample(bench_ctx *c, uint64_t *ns)
{
    hl_sandbox *sb;
    uint64_t t0 = bench_now_ns();
    int rc = snap_create(c, &sb);
    *ns = bench_now_ns() - t0;
    if (!rc)
        hl_sandbox_destroy(sb);
    return rc;
}

/* Destroys a sandbox made from the snapshot that has answered one call. */
static int destroy_sample(bench_ctx *c, uint64_t *ns)
{
    if (snap_create(c, &c->sb) || call(c, "Nop", NULL, 0))
        return -1;
    uint64_t t0 = bench_now_ns();
    hl_sandbox_destroy(c->sb);
    *ns = bench_now_ns() - t0;
    c->sb = NULL;
    return 0;
}

static int timed_call(bench_ctx *c, uint64_t *ns, const char *name, const hl_value *args,
                      size_t nargs)
{
    uint64_t t0 = bench_now_ns();
    int rc = call(c, name, args, nargs);
    *ns = bench_now_ns() - t0;
    return rc;
}

static int nop_sample(bench_ctx *c, uint64_t *ns)
{
    return timed_call(c, ns, "Nop", NULL, 0);
}

static int echo_sample(bench_ctx *c, uint64_t *ns)
{
    return timed_call(c, ns, "Echo", HL_ARGS(hl_str(ECHO_TEXT)));
}

static int host_call_sample(bench_ctx *c, uint64_t *ns)
{
    return timed_call(c, ns, "CallHost", NULL, 0);
}

static int bytes_sample(bench_ctx *c, uint64_t *ns)
{
    return timed_call(c, ns, "Bytes", HL_ARGS(hl_bytes(c->src, c->len)));
}

static int touch_sample(bench_ctx *c, uint64_t *ns)
{
    return timed_call(c, ns, "TouchPages", HL_ARGS(hl_i32(PARAM_PAGES(c->op->param))));
}

/* A call dirties pages (untimed), then the restore is timed. */
static int restore_sample(bench_ctx *c, uint64_t *ns)
{
    if (touch(c, PARAM_PAGES(c->op->param)))
        return -1;
    uint64_t t0 = bench_now_ns();
    int rc = restore(c);
    *ns = bench_now_ns() - t0;
    return rc;
}

/* Restore (untimed), then the call touching pages: does it pay a fault per page? */
static int touch_after_restore_sample(bench_ctx *c, uint64_t *ns)
{
    return restore(c) ? -1 : touch_sample(c, ns);
}

/* A fresh, isolated execution: back to the snapshot, then one Echo. */
static int restore_call_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = restore(c);
    if (!rc)
        rc = call(c, "Echo", HL_ARGS(hl_str(ECHO_TEXT)));
    *ns = bench_now_ns() - t0;
    return rc;
}

/* The first call to a hot sandbox whose guest has parked: what waking it costs. */
static int wake_sample(bench_ctx *c, uint64_t *ns)
{
    struct timespec parked = {0, WAKE_SLEEP_US * 1000L};
    nanosleep(&parked, NULL);
    return nop_sample(c, ns);
}

/* Interrupt latency: a thread lets Spin run for a millisecond, then interrupts it; the sample
 * is the time from hl_interrupt to the call's return. */
typedef struct interrupter {
    hl_interrupt_handle *handle;
    uint64_t sent_ns;
} interrupter;

static void *interrupt_later(void *arg)
{
    interrupter *it = arg;
    struct timespec ms = {0, 1000000}, retry = {0, 50000};
    nanosleep(&ms, NULL);
    for (;;) { /* until the call is running: an interrupt between calls does nothing */
        it->sent_ns = bench_now_ns();
        if (hl_interrupt(it->handle))
            return NULL;
        nanosleep(&retry, NULL);
    }
}

static int interrupt_sample(bench_ctx *c, uint64_t *ns)
{
    interrupter it = {hl_sandbox_interrupt_handle(c->sb), 0};
    pthread_t t;
    if (restore(c) || pthread_create(&t, NULL, interrupt_later, &it)) {
        hl_interrupt_release(it.handle);
        return bench_fail(c, "cannot start the interrupting thread");
    }
    int rc = hl_sandbox_call(c->sb, "Spin", NULL, 0, NULL);
    uint64_t done = bench_now_ns();
    pthread_join(t, NULL);
    hl_interrupt_release(it.handle);
    if (rc != HL_ECANCELLED)
        return bench_lib_fail(c, "Spin was not cancelled", rc);
    *ns = done - it.sent_ns;
    return 0;
}

/* ---------------------------------------------------------------- the table */

#define ROW(id, label, floor, peer, full, quick, param, setup, sample)                             \
    {                                                                                              \
        id, label, floor, peer, full, quick, 1, param, setup, sample, teardown                     \
    }

const bench_op bench_lib_ops[] = {
    ROW("create.cold", "create cold: ELF -> ready (new+register+init), VM pool off",
        "floor.vm_cold", "peer.posix_spawn", 500, 20, P_POOL_OFF, setup_pool, cold_create_sample),
    ROW("create.cold_pool", "create cold: ELF -> ready, recycled VM (pool on)", "floor.vm_cold",
        "peer.posix_spawn", 1000, 20, 0, setup_pool, cold_create_sample),
    ROW("create.snapshot_nopool", "create from snapshot -> ready, VM pool off", "floor.vm_create",
        "peer.posix_spawn", 1000, 20, P_POOL_OFF, setup_snapshot_only, snap_create_sample),
    ROW("create.snapshot", "create from snapshot -> ready, recycled VM (pool on)",
        "floor.vm_create", "peer.posix_spawn", 2000, 40, 0, setup_snapshot_only,
        snap_create_sample),
    ROW("destroy.nopool", "destroy (after one call), VM pool off", "floor.vm_destroy_ran", NULL,
        1000, 20, P_POOL_OFF, setup_snapshot_only, destroy_sample),
    ROW("destroy.pool", "destroy (after one call), VM kept in the pool", "floor.vm_destroy", NULL,
        2000, 40, 0, setup_snapshot_only, destroy_sample),
    ROW("call.nop", "call Nop(): no arguments", "floor.exit", NULL, 20000, 400, 0, setup_sandbox,
        nop_sample),
    ROW("call.nop_nolimit", "call Nop() with time_limit_ms = 0 (no timer)", "floor.exit", NULL,
        20000, 400, P_NO_LIMIT, setup_sandbox, nop_sample),
    ROW("call.echo", "call Echo(\"" ECHO_TEXT "\")", "floor.exit", "peer.posix_spawn", 20000, 400,
        0, setup_sandbox, echo_sample),
    ROW("call.host", "call CallHost(): one host call inside", "floor.exit", NULL, 20000, 400, 0,
        setup_sandbox, host_call_sample),
    ROW("call.bytes_1m", "call Bytes(1 MiB) (4 MiB buffers)", "floor.exit+floor.memcpy_1m", NULL,
        2000, 40, P_BIG_BUFFERS, setup_sandbox, bytes_sample),
    ROW("call.touch64", "call TouchPages(64), no restore between calls", "floor.exit", NULL, 5000,
        100, P_BIG_HEAP | PAGES(64), setup_sandbox, touch_sample),
    ROW("restore.pages_1", "restore 64 MiB sandbox after a call dirtying 1 page", "floor.memcpy_4k",
        NULL, 5000, 100, P_BIG_HEAP | PAGES(1), setup_snapshot, restore_sample),
    ROW("restore.pages_4", "restore 64 MiB sandbox after a call dirtying 4 pages",
        "floor.memcpy_16k", NULL, 5000, 100, P_BIG_HEAP | PAGES(4), setup_snapshot, restore_sample),
    ROW("restore.pages_64", "restore 64 MiB sandbox after a call dirtying 64 pages",
        "floor.memcpy_256k", NULL, 5000, 100, P_BIG_HEAP | PAGES(64), setup_snapshot,
        restore_sample),
    ROW("restore.then_touch64", "call TouchPages(64) right after a restore", "floor.exit", NULL,
        5000, 100, P_BIG_HEAP | PAGES(64), setup_snapshot, touch_after_restore_sample),
    ROW("restore.call", "restore + call Echo (fresh execution per request)", "floor.exit",
        "peer.posix_spawn", 10000, 200, 0, setup_snapshot, restore_call_sample),
    ROW("call.reset", "call Echo with reset_after_call (call + restore)", "floor.exit",
        "peer.posix_spawn", 10000, 200, P_RESET, setup_sandbox, echo_sample),
    ROW("interrupt.latency", "interrupt latency: hl_interrupt -> spinning call returns",
        "floor.exit", NULL, 300, 10, 0, setup_snapshot, interrupt_sample),
    /* Hot sandboxes: the guest waits for calls spinning on the doorbell page, so a call is a
     * round trip through shared memory (floor.shm), not an exit; a restore parks the guest first
     * and the call after it wakes it with a KVM_RUN (floor.exit). */
    ROW("hot.nop", "hot: call Nop(): no arguments", "floor.shm", NULL, 20000, 400, P_HOT,
        setup_sandbox, nop_sample),
    ROW("hot.echo", "hot: call Echo(\"" ECHO_TEXT "\")", "floor.shm", "peer.posix_spawn", 20000,
        400, P_HOT, setup_sandbox, echo_sample),
    ROW("hot.host", "hot: call CallHost(): one host call inside", "floor.shm", NULL, 20000, 400,
        P_HOT, setup_sandbox, host_call_sample),
    ROW("hot.restore_call", "hot: restore + call Echo (fresh execution per request)", "floor.exit",
        "peer.posix_spawn", 10000, 200, P_HOT, setup_snapshot, restore_call_sample),
    ROW("hot.wake", WAKE_LABEL, "floor.exit", NULL, 1000, 20, P_PARKED, setup_sandbox, wake_sample),
};
const size_t bench_nlib_ops = sizeof bench_lib_ops / sizeof bench_lib_ops[0];

/* test_interrupt.c: stopping running calls from other threads with hl_interrupt: latency, a guest
 * spinning, looping on host calls, storming logs or waiting inside a host function (which is not
 * cut short and after which the guest is not re-entered); interrupts between calls, after destroy,
 * during init, with reset_after_call and with time limits; other sandboxes untouched also when
 * sandboxes migrate between threads; and a stress run of thousands of random interrupts against
 * sandboxes being created, called, restored and destroyed on several threads. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

#define CANCELLED_DETAIL "call cancelled by hl_interrupt"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(double ms)
{
    struct timespec ts = {(time_t)(ms / 1000),
                          (long)((ms - (double)(time_t)(ms / 1000) * 1000) * 1e6)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int slow_machine(void)
{
    return getenv("HL_TEST_UNDER_VALGRIND") != NULL;
}

static int load_int(const int *p)
{
    return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static void add_int(int *p, int n)
{
    __atomic_add_fetch(p, n, __ATOMIC_ACQ_REL);
}

/* Waits (up to 10 s) until *p >= n. */
static void wait_for(const int *p, int n)
{
    double end = now_ms() + 10000;
    while (load_int(p) < n) {
        if (now_ms() > end)
            hl_test_fail(__FILE__, __LINE__, "waited 10 s for a counter to reach %d (it is %d)", n,
                         load_int(p));
        sleep_ms(0.2);
    }
}

/* Interrupts a call another thread is starting, retrying until the call runs (an interrupt while
 * none runs returns false and does nothing): a fixed sleep before a single attempt is not enough
 * on a loaded machine (seen in CI under ASan). Fails the test if no call runs within 10 s.
 * Returns the time of the interrupt that found the call. */
static bool by_handle(void *h)
{
    return hl_interrupt(h);
}

static bool by_sandbox(void *sb)
{
    return hl_sandbox_interrupt(sb);
}

static double interrupt_when_running(bool (*interrupt)(void *), void *target, int line)
{
    double end = now_ms() + 10000;
    for (;;) {
        double t = now_ms();
        if (interrupt(target))
            return t;
        if (t > end)
            hl_test_fail(__FILE__, line, "no call was running to interrupt for 10 s");
        sleep_ms(0.2);
    }
}

#define INTERRUPT_HANDLE(h) interrupt_when_running(by_handle, (h), __LINE__)
#define INTERRUPT_SANDBOX(sb) interrupt_when_running(by_sandbox, (sb), __LINE__)

static hl_sandbox *hostile_sandbox(const hl_config *cfg)
{
    hl_sandbox *sb = NULL;
    require_kvm();
    CHECK_OK(hl_sandbox_new(cfg, hostile_path(), &sb));
    return sb;
}

static hl_snapshot *snap(hl_sandbox *sb)
{
    hl_snapshot *s = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &s));
    return s;
}

static hl_config limit_cfg(uint32_t ms)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = ms;
    return cfg;
}

/* One hl_sandbox_call on its own thread: what it returned, its detail and when it returned. */
typedef struct bg_call {
    hl_sandbox *sb;
    const char *name;
    hl_value args[2];
    size_t nargs;
    pthread_t thread;
    int rc;
    hl_value result;
    char detail[512];
    double end_ms;
    int block_signals;
} bg_call;

static void *bg_run(void *arg)
{
    bg_call *c = arg;
    sigset_t all, before, after;
    if (c->block_signals) {
        sigfillset(&all);
        sigdelset(&all, SIGALRM); /* the harness's own timeout */
        CHECK_EQ(pthread_sigmask(SIG_BLOCK, &all, &before), 0);
    }
    c->rc = hl_sandbox_call(c->sb, c->name, c->nargs ? c->args : NULL, c->nargs, &c->result);
    c->end_ms = now_ms();
    snprintf(c->detail, sizeof c->detail, "%s", hl_last_error());
    if (c->block_signals) {
        CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &after), 0);
        CHECK_EQ(sigismember(&after, SIGRTMIN + 5), 1); /* the caller's mask is as it was */
        CHECK_EQ(sigismember(&after, SIGTERM), 1);
    }
    return NULL;
}

static void bg_start(bg_call *c, hl_sandbox *sb, const char *name)
{
    c->sb = sb;
    c->name = name;
    c->rc = 1;
    c->detail[0] = '\0';
    CHECK_EQ(pthread_create(&c->thread, NULL, bg_run, c), 0);
}

static void bg_join(bg_call *c)
{
    CHECK_EQ(pthread_join(c->thread, NULL), 0);
}

/* The call ended with HL_ECANCELLED and the exact detail, and the sandbox refuses calls. */
static void check_cancelled(const bg_call *c)
{
    if (c->rc != HL_ECANCELLED)
        hl_test_fail(__FILE__, __LINE__, "%s returned %d (%s), expected HL_ECANCELLED; detail: %s",
                     c->name, c->rc, hl_errname(c->rc), c->detail);
    CHECK_STREQ(c->detail, CANCELLED_DETAIL);
    CHECK_CONTAINS(c->detail, "cancelled");
    CHECK(hl_sandbox_is_poisoned(c->sb));
    CALL_FAILS(c->sb, HL_EPOISONED, "Echo", HL_ARGS(hl_str("x")));
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* ---- stopping a spinning guest ---- */
TEST(interrupt_stops_spin_promptly_and_restore_makes_the_sandbox_usable)
{
    enum { RUNS = 50 };
    double latency[RUNS];
    hl_config cfg = limit_cfg(0); /* no time limit: only the interrupt can stop it */
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *clean = snap(sb);
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(sb);
    CHECK(h != NULL);
    for (int i = 0; i < RUNS; i++) {
        bg_call c = {0};
        bg_start(&c, sb, "Spin");
        sleep_ms(10);
        double t0 = INTERRUPT_HANDLE(h);
        bg_join(&c);
        latency[i] = c.end_ms - t0;
        check_cancelled(&c);
        CHECK_OK(hl_sandbox_restore(sb, clean));
        CHECK(!hl_sandbox_is_poisoned(sb));
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("again"))), "again");
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 1);
    }
    qsort(latency, RUNS, sizeof latency[0], cmp_double);
    printf("    interrupt latency over %d runs: min %.3f ms, median %.3f ms, max %.3f ms\n", RUNS,
           latency[0], latency[RUNS / 2], latency[RUNS - 1]);
    if (latency[RUNS - 1] >= 100)
        hl_test_fail(__FILE__, __LINE__, "slowest interrupt took %.3f ms", latency[RUNS - 1]);
    hl_interrupt_release(h);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

TEST(sandbox_interrupt_stops_spin_when_the_calling_thread_blocks_every_signal)
{
    hl_config cfg = limit_cfg(0);
    hl_sandbox *sb = ready_sandbox(&cfg);
    bg_call c = {0};
    c.block_signals = 1;
    bg_start(&c, sb, "Spin");
    sleep_ms(20);
    double t0 = INTERRUPT_SANDBOX(sb);
    bg_join(&c);
    check_cancelled(&c);
    CHECK(c.end_ms - t0 < 100);
    hl_sandbox_destroy(sb);
}

/* ---- a guest looping on host calls, a log storm ---- */
typedef struct counts {
    int ticks;          /* HostTick calls */
    int logs;           /* log records delivered */
    int slow_calls;     /* HostSlow calls */
    int inside;         /* 1 while HostSlow runs */
    int eintr;          /* EINTRs HostSlow's sleep saw */
    double slow_end_ms; /* when HostSlow returned */
    hl_interrupt_handle *self;
    int self_rc;
} counts;

static int host_tick(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    counts *c = user;
    (void)args, (void)nargs;
    add_int(&c->ticks, 1);
    *ret = hl_i32(0);
    return 0;
}

/* Sleeps 200 ms in full, however often a signal interrupts the sleep. */
static int host_slow(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    counts *c = user;
    (void)args, (void)nargs;
    add_int(&c->slow_calls, 1);
    __atomic_store_n(&c->inside, 1, __ATOMIC_RELEASE);
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += 200 * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    int rc;
    while ((rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL)) == EINTR)
        c->eintr++;
    CHECK_EQ(rc, 0);
    c->slow_end_ms = now_ms();
    __atomic_store_n(&c->inside, 0, __ATOMIC_RELEASE);
    *ret = hl_i32(0);
    return 0;
}

/* Interrupts its own call from inside, then returns normally. */
static int host_cancel_self(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    counts *c = user;
    (void)args, (void)nargs;
    add_int(&c->slow_calls, 1);
    c->self_rc = hl_interrupt(c->self);
    *ret = hl_i32(0);
    return 0;
}

static void count_log(void *user, const hl_log_record *rec)
{
    counts *c = user;
    (void)rec;
    add_int(&c->logs, 1);
}

/* A hostile-guest sandbox with HostTick, HostSlow and HostCancelSelf and a counting log callback,
 * initialised. */
static hl_sandbox *counting_sandbox(counts *c, uint32_t time_limit_ms)
{
    hl_config cfg = limit_cfg(time_limit_ms);
    cfg.log_fn = count_log;
    cfg.log_user = c;
    memset(c, 0, sizeof *c);
    hl_sandbox *sb = hostile_sandbox(&cfg);
    CHECK_OK(hl_sandbox_register(sb, "HostTick", HL_TYPE_I32, NULL, 0, host_tick, c));
    CHECK_OK(hl_sandbox_register(sb, "HostSlow", HL_TYPE_I32, NULL, 0, host_slow, c));
    CHECK_OK(hl_sandbox_register(sb, "HostCancelSelf", HL_TYPE_I32, NULL, 0, host_cancel_self, c));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

TEST(interrupt_stops_a_guest_looping_on_host_calls)
{
    counts n;
    hl_sandbox *sb = counting_sandbox(&n, 0);
    hl_snapshot *clean = snap(sb);
    bg_call c = {0};
    c.args[0] = hl_str("HostTick");
    c.args[1] = hl_i32(0); /* forever */
    c.nargs = 2;
    bg_start(&c, sb, "HostLoop");
    wait_for(&n.ticks, 200);
    CHECK(hl_sandbox_interrupt(sb));
    int ticks = load_int(&n.ticks), logs = load_int(&n.logs);
    bg_join(&c);
    check_cancelled(&c);
    /* at most the exit already under way when the interrupt came is served */
    CHECK(n.ticks - ticks <= 1);
    CHECK(n.logs - logs <= 1);
    CHECK_OK(hl_sandbox_restore(sb, clean));
    int before = n.ticks;
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "HostLoop", HL_ARGS(hl_str("HostTick"), hl_i32(5))).as.i32,
             5);
    CHECK_EQ(n.ticks - before, 5);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

TEST(interrupt_stops_a_log_storm)
{
    counts n;
    hl_sandbox *sb = counting_sandbox(&n, 0);
    hl_snapshot *clean = snap(sb);
    bg_call c = {0};
    c.args[0] = hl_i32(0); /* forever */
    c.nargs = 1;
    bg_start(&c, sb, "LogStorm");
    wait_for(&n.logs, 500);
    CHECK(hl_sandbox_interrupt(sb));
    int logs = load_int(&n.logs);
    bg_join(&c);
    check_cancelled(&c);
    CHECK(n.logs - logs <= 1);
    CHECK_OK(hl_sandbox_restore(sb, clean));
    int before = n.logs;
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "LogStorm", HL_ARGS(hl_i32(3))).as.i32, 3);
    CHECK_EQ(n.logs - before, 3);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

/* ---- inside a host function ---- */
TEST(interrupt_inside_a_host_function_ends_the_call_after_it_without_reentering_the_guest)
{
    counts n;
    hl_sandbox *sb = counting_sandbox(&n, 0);
    hl_snapshot *clean = snap(sb);
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(sb);
    bg_call c = {0};
    c.args[0] = hl_str("HostSlow");
    c.args[1] = hl_i32(0); /* the guest would call HostSlow forever, logging after each */
    c.nargs = 2;
    bg_start(&c, sb, "HostLoop");
    wait_for(&n.inside, 1);
    sleep_ms(50);
    double t0 = now_ms();
    CHECK(hl_interrupt(h));
    CHECK_EQ(load_int(&n.inside), 1); /* the interrupt arrived while HostSlow ran */
    bg_join(&c);
    check_cancelled(&c);
    /* HostSlow ran its full 200 ms (about 150 after the interrupt), and the call ended at once
     * after it returned. */
    CHECK(c.end_ms - t0 >= 100);
    CHECK(c.end_ms - n.slow_end_ms < 100);
    /* The guest was not re-entered: it would have logged "after host call 0" and called HostSlow
     * again. */
    CHECK_EQ(n.slow_calls, 1);
    CHECK_EQ(n.logs, 0);
    printf("    HostSlow's sleep was interrupted by %d signal(s) (EINTR) and resumed\n", n.eintr);
    CHECK(!hl_interrupt(h)); /* the call is over */
    CHECK_OK(hl_sandbox_restore(sb, clean));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "HostLoop", HL_ARGS(hl_str("HostTick"), hl_i32(2))).as.i32,
             2);
    CHECK_EQ(n.logs, 2);
    hl_interrupt_release(h);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

TEST(host_function_that_interrupts_its_own_call_ends_it_after_returning)
{
    counts n;
    hl_sandbox *sb = counting_sandbox(&n, 0);
    hl_snapshot *clean = snap(sb);
    n.self = hl_sandbox_interrupt_handle(sb);
    CALL_FAILS(sb, HL_ECANCELLED, "HostLoop", HL_ARGS(hl_str("HostCancelSelf"), hl_i32(3)));
    CHECK_ERROR_IS(CANCELLED_DETAIL);
    CHECK_EQ(n.self_rc, 1);
    CHECK_EQ(n.slow_calls, 1);
    CHECK_EQ(n.logs, 0);
    CHECK(hl_sandbox_is_poisoned(sb));
    CHECK_OK(hl_sandbox_restore(sb, clean));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("ok"))), "ok");
    hl_interrupt_release(n.self);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

/* ---- when no call runs ---- */
TEST(interrupt_while_no_call_runs_returns_false_and_does_not_cancel_the_next_call)
{
    hl_sandbox *sb = new_sandbox(NULL);
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(sb);
    CHECK(!hl_interrupt(h)); /* before init */
    CHECK(!hl_sandbox_interrupt(sb));
    CHECK_OK(hl_sandbox_init(sb));
    hl_snapshot *clean = snap(sb);
    for (int i = 0; i < 100; i++) {
        CHECK(!hl_interrupt(h));
        CHECK(!hl_sandbox_interrupt(sb));
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, i + 1);
    }
    /* after a cancelled call and a restore, too */
    bg_call c = {0};
    bg_start(&c, sb, "Spin");
    sleep_ms(10);
    INTERRUPT_HANDLE(h);
    bg_join(&c);
    check_cancelled(&c);
    CHECK(!hl_interrupt(h));
    CHECK_OK(hl_sandbox_restore(sb, clean));
    CHECK(!hl_interrupt(h));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 5);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("fine"))), "fine");
    hl_interrupt_release(h);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

TEST(handles_stay_valid_after_destroy_and_may_be_released_in_any_order)
{
    CHECK(hl_sandbox_interrupt_handle(NULL) == NULL);
    CHECK(!hl_interrupt(NULL));
    CHECK(!hl_sandbox_interrupt(NULL));
    hl_interrupt_release(NULL);
    /* released after destroy */
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_interrupt_handle *h[20];
    for (int i = 0; i < 20; i++)
        CHECK((h[i] = hl_sandbox_interrupt_handle(sb)) == h[0]);
    for (int i = 0; i < 10; i++)
        hl_interrupt_release(h[i]); /* some before destroy */
    hl_sandbox_destroy(sb);
    for (int i = 10; i < 20; i++) {
        CHECK(!hl_interrupt(h[i])); /* no crash, nothing to stop */
        hl_interrupt_release(h[i]);
    }
    /* released before destroy: the sandbox keeps its own reference */
    sb = ready_sandbox(NULL);
    hl_interrupt_release(hl_sandbox_interrupt_handle(sb));
    CHECK(!hl_sandbox_interrupt(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("still"))), "still");
    hl_sandbox_destroy(sb);
    /* a handle of a destroyed sandbox never reaches the sandbox that reuses its VM */
    hl_config cfg = limit_cfg(0);
    sb = ready_sandbox(&cfg);
    hl_interrupt_handle *old = hl_sandbox_interrupt_handle(sb);
    hl_sandbox_destroy(sb);
    sb = ready_sandbox(&cfg); /* probably on the recycled VM */
    CHECK(!hl_interrupt(old));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("new"))), "new");
    hl_interrupt_release(old);
    hl_sandbox_destroy(sb);
}

/* ---- init, reset_after_call ---- */
static int init_mode_spin(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(2); /* simpleguest's init then spins */
    return 0;
}

static void *init_on_thread(void *arg)
{
    hl_sandbox *sb = arg;
    CHECK_RC(hl_sandbox_init(sb), HL_ECANCELLED);
    CHECK_ERROR_IS(CANCELLED_DETAIL);
    return NULL;
}

TEST(interrupt_stops_a_spinning_init)
{
    hl_config cfg = limit_cfg(0);
    hl_sandbox *sb = new_sandbox(&cfg);
    CHECK_OK(hl_sandbox_register(sb, "InitMode", HL_TYPE_I32, NULL, 0, init_mode_spin, NULL));
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, init_on_thread, sb), 0);
    sleep_ms(30);
    INTERRUPT_SANDBOX(sb);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(hl_sandbox_is_poisoned(sb));
    CHECK_RC(hl_sandbox_init(sb), HL_EPOISONED);
    hl_snapshot *s = NULL;
    CHECK_RC(hl_sandbox_snapshot(sb, &s), HL_EPOISONED);
    hl_sandbox_destroy(sb);
}

TEST(interrupt_with_reset_after_call_keeps_the_error_and_leaves_the_sandbox_clean)
{
    hl_config cfg = limit_cfg(0);
    cfg.reset_after_call = true;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(4))).as.i32, 4);
    bg_call c = {0};
    bg_start(&c, sb, "Spin");
    sleep_ms(10);
    INTERRUPT_SANDBOX(sb);
    bg_join(&c);
    CHECK_EQ(c.rc, HL_ECANCELLED);
    CHECK_STREQ(c.detail, CANCELLED_DETAIL);
    CHECK(!hl_sandbox_is_poisoned(sb)); /* reset after the call */
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(4))).as.i32, 4);
    hl_sandbox_destroy(sb);
}

/* ---- time limits ---- */
static void interrupt_spin_after(hl_sandbox *sb, double ms, double *elapsed)
{
    bg_call c = {0};
    double t0 = now_ms();
    bg_start(&c, sb, "Spin");
    sleep_ms(ms);
    INTERRUPT_SANDBOX(sb);
    bg_join(&c);
    check_cancelled(&c);
    *elapsed = c.end_ms - t0;
}

TEST(time_limit_and_interrupt_do_not_confuse_each_other)
{
    hl_config cfg = limit_cfg(300);
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *clean = snap(sb);
    double elapsed;
    /* an interrupt well before the limit is a cancellation, not a time-out */
    interrupt_spin_after(sb, 50, &elapsed);
    CHECK(elapsed < 250);
    CHECK_OK(hl_sandbox_restore(sb, clean));
    /* the limit still works afterwards, on its own */
    double t0 = now_ms();
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    CHECK_ERROR_IS("time limit of 300 ms exceeded");
    CHECK(now_ms() - t0 >= 295);
    CHECK(!hl_sandbox_interrupt(sb));
    CHECK_OK(hl_sandbox_restore(sb, clean));
    /* and a time-out leaves nothing behind for the next interrupt */
    interrupt_spin_after(sb, 100, &elapsed);
    CHECK(elapsed < 250);
    CHECK_OK(hl_sandbox_restore(sb, clean));
    /* neither fires between calls */
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, i + 1);
        sleep_ms(100);
    }
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

TEST(interrupt_racing_the_time_limit_gives_one_of_the_two_exact_errors)
{
    enum { RUNS = 20 };
    /* Init runs under the default limit (under ASan in an emulated machine it takes longer than
     * 30 ms); the racing sandbox is made from its snapshot with the 30 ms limit. */
    hl_config cfg = limit_cfg(30);
    hl_sandbox *first = ready_sandbox(NULL), *sb = NULL;
    hl_snapshot *clean = snap(first);
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, clean, &sb));
    hl_sandbox_destroy(first);
    int cancelled = 0, timed_out = 0;
    for (int i = 0; i < RUNS; i++) {
        bg_call c = {0};
        bg_start(&c, sb, "Spin");
        sleep_ms(27 + i % 6); /* around the limit */
        hl_sandbox_interrupt(sb);
        bg_join(&c);
        if (c.rc == HL_ECANCELLED) {
            CHECK_STREQ(c.detail, CANCELLED_DETAIL);
            cancelled++;
        } else if (c.rc == HL_ETIMEOUT) {
            CHECK_STREQ(c.detail, "time limit of 30 ms exceeded");
            timed_out++;
        } else {
            hl_test_fail(__FILE__, __LINE__, "Spin returned %d (%s): %s", c.rc, hl_errname(c.rc),
                         c.detail);
        }
        CHECK(hl_sandbox_is_poisoned(sb));
        CHECK_OK(hl_sandbox_restore(sb, clean));
    }
    printf("    %d cancelled, %d timed out\n", cancelled, timed_out);
    CHECK_EQ(cancelled + timed_out, RUNS);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(sb);
}

/* ---- other sandboxes, threads ---- */
/* Two sandboxes swap between two threads every round: X always spins (and is interrupted by the
 * main thread, over and over), Y always makes quick calls, which must all succeed exactly. */
typedef struct migrate {
    hl_sandbox *sb[2]; /* [0] = X (spins), [1] = Y (quick calls) */
    hl_snapshot *x_clean;
    pthread_barrier_t round;
    int rounds;
    int y_calls;
    int x_cancelled;
    int done;
} migrate;

typedef struct migrate_worker {
    migrate *m;
    int id;
} migrate_worker;

static void *migrate_run(void *arg)
{
    migrate_worker *w = arg;
    migrate *m = w->m;
    for (int r = 0; r < m->rounds; r++) {
        pthread_barrier_wait(&m->round);
        if ((r + w->id) % 2 == 0) { /* X this round */
            int rc = hl_sandbox_call(m->sb[0], "Spin", NULL, 0, NULL);
            if (rc != HL_ECANCELLED)
                hl_test_fail(__FILE__, __LINE__, "X's Spin returned %d (%s): %s", rc,
                             hl_errname(rc), hl_last_error());
            add_int(&m->x_cancelled, 1);
            CHECK_OK(hl_sandbox_restore(m->sb[0], m->x_clean));
        } else { /* Y this round */
            for (int i = 0; i < 25; i++) {
                int n = __atomic_add_fetch(&m->y_calls, 1, __ATOMIC_ACQ_REL);
                CHECK_EQ(CALL_OK(m->sb[1], HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32,
                         n);
            }
        }
        pthread_barrier_wait(&m->round);
    }
    return NULL;
}

TEST(interrupting_one_sandbox_never_touches_another_also_when_they_migrate_between_threads)
{
    migrate m;
    memset(&m, 0, sizeof m);
    hl_config cfg = limit_cfg(0);
    m.sb[0] = ready_sandbox(&cfg);
    m.sb[1] = ready_sandbox(&cfg);
    m.x_clean = snap(m.sb[0]);
    m.rounds = slow_machine() ? 6 : 40;
    CHECK_EQ(pthread_barrier_init(&m.round, NULL, 2), 0);
    hl_interrupt_handle *x = hl_sandbox_interrupt_handle(m.sb[0]);
    pthread_t t[2];
    migrate_worker w[2] = {{&m, 0}, {&m, 1}};
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, migrate_run, &w[i]), 0);
    int hits = 0;
    while (load_int(&m.x_cancelled) < m.rounds) {
        hits += hl_interrupt(x);
        sleep_ms(0.3);
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    CHECK_EQ(m.x_cancelled, m.rounds);
    CHECK_EQ(m.y_calls, 25 * m.rounds);
    CHECK(hits >= m.rounds);
    CHECK(!hl_sandbox_is_poisoned(m.sb[1]));
    hl_interrupt_release(x);
    pthread_barrier_destroy(&m.round);
    hl_snapshot_release(m.x_clean);
    hl_sandbox_destroy(m.sb[0]);
    hl_sandbox_destroy(m.sb[1]);
}

/* ---- races with the end of a call ---- */
/* One thread makes quick calls; another interrupts as fast as it can. Every call returns its exact
 * result or HL_ECANCELLED, and a call that an interrupt reported as running (hl_interrupt returned
 * true while that call was in flight throughout) returns HL_ECANCELLED, also when the interrupt
 * landed after the guest's last exit. */
typedef struct race {
    hl_sandbox *sb;
    int seq; /* number of the call in flight (odd), 0 between calls */
    int stop;
    char *hit; /* hit[seq]: an interrupt returned true while call seq was in flight throughout */
    int *outcome;
    int calls;
    int trues, falses;
} race;

static void *race_interrupter(void *arg)
{
    race *r = arg;
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(r->sb);
    unsigned x = 12345;
    while (!load_int(&r->stop)) {
        int s1 = load_int(&r->seq);
        int got = hl_interrupt(h);
        int s2 = load_int(&r->seq);
        if (got && s1 == s2 && s1)
            r->hit[s1] = 1;
        got ? r->trues++ : r->falses++;
        x = x * 1103515245u + 12345u;
        if ((x >> 16) % 4 == 0)
            sleep_ms(((x >> 8) % 100) / 1000.0);
    }
    hl_interrupt_release(h);
    return NULL;
}

TEST(interrupts_racing_the_end_of_calls_give_the_result_or_ECANCELLED)
{
    race r;
    memset(&r, 0, sizeof r);
    r.calls = slow_machine() ? 300 : 3000;
    r.hit = calloc((size_t)r.calls * 2 + 2, 1);
    r.outcome = calloc((size_t)r.calls * 2 + 2, sizeof(int));
    r.sb = ready_sandbox(NULL);
    hl_snapshot *clean = snap(r.sb);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, race_interrupter, &r), 0);
    int expect = 0, ok = 0, cancelled = 0;
    for (int i = 0; i < r.calls; i++) {
        int s = 2 * i + 1;
        hl_value v = {HL_TYPE_VOID, {0}};
        __atomic_store_n(&r.seq, s, __ATOMIC_RELEASE);
        int rc = hl_sandbox_call(r.sb, "AddToStatic", HL_ARGS(hl_i32(1)), &v);
        __atomic_store_n(&r.seq, 0, __ATOMIC_RELEASE);
        r.outcome[s] = rc;
        if (rc == 0) {
            CHECK_TYPE(v, HL_TYPE_I32);
            CHECK_EQ(v.as.i32, ++expect);
            ok++;
        } else if (rc == HL_ECANCELLED) {
            CHECK_ERROR_IS(CANCELLED_DETAIL);
            CHECK(hl_sandbox_is_poisoned(r.sb));
            CHECK_OK(hl_sandbox_restore(r.sb, clean));
            expect = 0;
            cancelled++;
        } else {
            hl_test_fail(__FILE__, __LINE__, "call %d returned %d (%s): %s", i, rc, hl_errname(rc),
                         hl_last_error());
        }
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELEASE);
    CHECK_EQ(pthread_join(t, NULL), 0);
    int absorbed = 0;
    for (int s = 1; s < 2 * r.calls + 1; s += 2)
        absorbed += r.hit[s] && r.outcome[s] == 0;
    printf(
        "    %d calls: %d results, %d cancelled; %d interrupts returned true, %d false; %d calls "
        "returned their result after an interrupt returned true for them\n",
        r.calls, ok, cancelled, r.trues, r.falses, absorbed);
    CHECK_EQ(ok + cancelled, r.calls);
    CHECK_EQ(absorbed, 0);
    hl_snapshot_release(clean);
    hl_sandbox_destroy(r.sb);
    free(r.hit);
    free(r.outcome);
}

/* ---- stress ---- */
/* Callers create (from the ELF or from a shared snapshot), call (quick calls, and Spin under a
 * 100 ms limit), restore and destroy sandboxes; each publishes its sandbox's interrupt handle in a
 * slot, which interrupters hit at random. A slot keeps a destroyed sandbox's handle for a while, so
 * interrupts race with destroy too. Every outcome is counted; any other outcome fails the test. */
enum { CALLERS = 4, INTERRUPTERS = 2, STRESS_LIMIT_MS = 100 };

typedef struct slot {
    pthread_mutex_t lock;
    hl_interrupt_handle *h;
} slot;

typedef struct stress {
    slot slots[CALLERS];
    hl_snapshot *shared;
    double end_ms;
    int stop;
    /* outcomes */
    int created_elf, created_snap, init_cancelled, destroyed, restores;
    int ok, cancelled, spin_cancelled, spin_timeout, quick_timeout, poisoned_checked;
    int intr_true, intr_false;
} stress;

typedef struct caller {
    stress *s;
    int id;
    unsigned rng;
} caller;

static unsigned next_rand(unsigned *x)
{
    *x = *x * 1103515245u + 12345u;
    return *x >> 8;
}

static void publish(stress *s, int id, hl_interrupt_handle *h)
{
    pthread_mutex_lock(&s->slots[id].lock);
    hl_interrupt_handle *old = s->slots[id].h;
    s->slots[id].h = h;
    pthread_mutex_unlock(&s->slots[id].lock);
    hl_interrupt_release(old);
}

/* A new sandbox for caller c, with the snapshot to restore in *clean (owned when *owned), or NULL
 * if its init was cancelled (counted). */
static hl_sandbox *stress_create(caller *c, hl_snapshot **clean, int *owned)
{
    stress *s = c->s;
    hl_config cfg = limit_cfg(STRESS_LIMIT_MS);
    hl_sandbox *sb = NULL;
    if (next_rand(&c->rng) % 2) {
        CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, s->shared, &sb));
        publish(s, c->id, hl_sandbox_interrupt_handle(sb));
        *clean = s->shared;
        *owned = 0;
        add_int(&s->created_snap, 1);
        return sb;
    }
    CHECK_OK(hl_sandbox_new(&cfg, guest_path(), &sb));
    publish(s, c->id, hl_sandbox_interrupt_handle(sb)); /* interrupts may hit init */
    add_int(&s->created_elf, 1);
    double t0 = now_ms();
    int rc = hl_sandbox_init(sb);
    if (rc == HL_ECANCELLED || (rc == HL_ETIMEOUT && now_ms() - t0 >= STRESS_LIMIT_MS - 1)) {
        if (rc == HL_ECANCELLED)
            CHECK_ERROR_IS(CANCELLED_DETAIL);
        CHECK(hl_sandbox_is_poisoned(sb));
        add_int(rc == HL_ECANCELLED ? &s->init_cancelled : &s->quick_timeout, 1);
        hl_sandbox_destroy(sb);
        add_int(&s->destroyed, 1);
        return NULL;
    }
    CHECK_RC(rc, 0);
    CHECK_OK(hl_sandbox_snapshot(sb, clean));
    *owned = 1;
    return sb;
}

/* After a call that failed with rc (cancelled or timed out): poisoned, sometimes proven by a
 * refused call, then restored. */
static void stress_recover(caller *c, hl_sandbox *sb, hl_snapshot *clean)
{
    CHECK(hl_sandbox_is_poisoned(sb));
    if (next_rand(&c->rng) % 4 == 0) {
        CALL_FAILS(sb, HL_EPOISONED, "Echo", HL_ARGS(hl_str("x")));
        add_int(&c->s->poisoned_checked, 1);
    }
    CHECK_OK(hl_sandbox_restore(sb, clean));
    add_int(&c->s->restores, 1);
}

/* One call of a random kind; returns 1 if it failed (the sandbox then needs a restore). */
static int stress_call(caller *c, hl_sandbox *sb, int *counter)
{
    stress *s = c->s;
    unsigned r = next_rand(&c->rng) % 100;
    hl_value v = {HL_TYPE_VOID, {0}};
    char text[32];
    double t0 = now_ms();
    int rc;
    if (r < 10) { /* Spin: only an interrupt or the time limit ends it */
        rc = hl_sandbox_call(sb, "Spin", NULL, 0, &v);
        if (rc == HL_ETIMEOUT) {
            CHECK_ERROR_IS("time limit of 100 ms exceeded");
            add_int(&s->spin_timeout, 1);
        } else {
            CHECK_RC(rc, HL_ECANCELLED);
            CHECK_ERROR_IS(CANCELLED_DETAIL);
            add_int(&s->spin_cancelled, 1);
        }
        return 1;
    }
    if (r < 60) {
        snprintf(text, sizeof text, "caller %d says %u", c->id, r);
        rc = hl_sandbox_call(sb, "Echo", HL_ARGS(hl_str(text)), &v);
        if (rc == 0)
            CHECK_STR_VALUE(v, text);
    } else {
        rc = hl_sandbox_call(sb, "AddToStatic", HL_ARGS(hl_i32(1)), &v);
        if (rc == 0) {
            CHECK_TYPE(v, HL_TYPE_I32);
            CHECK_EQ(v.as.i32, ++*counter);
        }
    }
    if (rc == 0) {
        add_int(&s->ok, 1);
        return 0;
    }
    if (rc == HL_ETIMEOUT && now_ms() - t0 >= STRESS_LIMIT_MS - 1) {
        add_int(&s->quick_timeout, 1); /* descheduled for the whole limit: the designed error */
        return 1;
    }
    CHECK_RC(rc, HL_ECANCELLED);
    CHECK_ERROR_IS(CANCELLED_DETAIL);
    add_int(&s->cancelled, 1);
    return 1;
}

static void *stress_caller(void *arg)
{
    caller *c = arg;
    stress *s = c->s;
    hl_sandbox *sb = NULL;
    hl_snapshot *clean = NULL;
    int owned = 0, counter = 0;
    while (now_ms() < s->end_ms) {
        if (!sb) {
            sb = stress_create(c, &clean, &owned);
            counter = 0;
            continue;
        }
        unsigned r = next_rand(&c->rng) % 100;
        if (r < 3) { /* destroy: the slot keeps the old handle until the next sandbox */
            hl_sandbox_destroy(sb);
            if (owned)
                hl_snapshot_release(clean);
            sb = NULL;
            add_int(&s->destroyed, 1);
        } else if (r < 8) {
            CHECK_OK(hl_sandbox_restore(sb, clean));
            add_int(&s->restores, 1);
            counter = 0;
        } else if (stress_call(c, sb, &counter)) {
            stress_recover(c, sb, clean);
            counter = 0;
        }
    }
    if (sb) {
        hl_sandbox_destroy(sb);
        if (owned)
            hl_snapshot_release(clean);
        add_int(&s->destroyed, 1);
    }
    return NULL;
}

static void *stress_interrupter(void *arg)
{
    stress *s = arg;
    unsigned x = (unsigned)(uintptr_t)&x;
    int trues = 0, falses = 0;
    while (!load_int(&s->stop)) {
        slot *sl = &s->slots[next_rand(&x) % CALLERS];
        pthread_mutex_lock(&sl->lock);
        int got = hl_interrupt(sl->h); /* NULL before the first sandbox: false */
        pthread_mutex_unlock(&sl->lock);
        got ? trues++ : falses++;
        unsigned pause = next_rand(&x) % 8;
        if (pause < 6)
            sleep_ms(pause * 0.1);
    }
    add_int(&s->intr_true, trues);
    add_int(&s->intr_false, falses);
    return NULL;
}

TEST(stress_random_interrupts_against_sandboxes_created_called_restored_and_destroyed)
{
    static stress s;
    const char *secs = getenv("HL_TEST_STRESS_SECONDS");
    double seconds = secs ? atof(secs) : slow_machine() ? 3 : 7;
    hl_sandbox *seed = ready_sandbox(NULL);
    s.shared = snap(seed);
    hl_sandbox_destroy(seed);
    for (int i = 0; i < CALLERS; i++)
        pthread_mutex_init(&s.slots[i].lock, NULL);
    pthread_t callers[CALLERS], interrupters[INTERRUPTERS];
    caller c[CALLERS];
    s.end_ms = now_ms() + seconds * 1000;
    for (int i = 0; i < CALLERS; i++) {
        c[i] = (caller){&s, i, 77u * (unsigned)i + 1};
        CHECK_EQ(pthread_create(&callers[i], NULL, stress_caller, &c[i]), 0);
    }
    for (int i = 0; i < INTERRUPTERS; i++)
        CHECK_EQ(pthread_create(&interrupters[i], NULL, stress_interrupter, &s), 0);
    for (int i = 0; i < CALLERS; i++)
        CHECK_EQ(pthread_join(callers[i], NULL), 0);
    __atomic_store_n(&s.stop, 1, __ATOMIC_RELEASE);
    for (int i = 0; i < INTERRUPTERS; i++)
        CHECK_EQ(pthread_join(interrupters[i], NULL), 0);
    for (int i = 0; i < CALLERS; i++) {
        CHECK(!hl_interrupt(s.slots[i].h)); /* every sandbox is gone */
        hl_interrupt_release(s.slots[i].h);
        pthread_mutex_destroy(&s.slots[i].lock);
    }
    hl_snapshot_release(s.shared);
    printf("    %.0f s, %d callers, %d interrupters: %d interrupts (%d hit a running call, %d "
           "did not)\n",
           seconds, CALLERS, INTERRUPTERS, s.intr_true + s.intr_false, s.intr_true, s.intr_false);
    printf("    sandboxes: %d from the ELF (%d inits cancelled), %d from a snapshot, %d destroyed, "
           "%d restores\n",
           s.created_elf, s.init_cancelled, s.created_snap, s.destroyed, s.restores);
    printf("    quick calls: %d results, %d cancelled, %d timed out (descheduled); Spin: %d "
           "cancelled, %d timed out; %d HL_EPOISONED checks\n",
           s.ok, s.cancelled, s.quick_timeout, s.spin_cancelled, s.spin_timeout,
           s.poisoned_checked);
    CHECK_EQ(s.created_elf + s.created_snap, s.destroyed);
    CHECK(s.ok > 0 && s.cancelled + s.spin_cancelled > 0 && s.intr_true > 0);
}

static const hl_test tests[] = {
    TEST_ENTRY(interrupt_stops_spin_promptly_and_restore_makes_the_sandbox_usable),
    TEST_ENTRY(sandbox_interrupt_stops_spin_when_the_calling_thread_blocks_every_signal),
    TEST_ENTRY(interrupt_stops_a_guest_looping_on_host_calls),
    TEST_ENTRY(interrupt_stops_a_log_storm),
    TEST_ENTRY(
        interrupt_inside_a_host_function_ends_the_call_after_it_without_reentering_the_guest),
    TEST_ENTRY(host_function_that_interrupts_its_own_call_ends_it_after_returning),
    TEST_ENTRY(interrupt_while_no_call_runs_returns_false_and_does_not_cancel_the_next_call),
    TEST_ENTRY(handles_stay_valid_after_destroy_and_may_be_released_in_any_order),
    TEST_ENTRY(interrupt_stops_a_spinning_init),
    TEST_ENTRY(interrupt_with_reset_after_call_keeps_the_error_and_leaves_the_sandbox_clean),
    TEST_ENTRY(time_limit_and_interrupt_do_not_confuse_each_other),
    TEST_ENTRY(interrupt_racing_the_time_limit_gives_one_of_the_two_exact_errors),
    TEST_ENTRY(
        interrupting_one_sandbox_never_touches_another_also_when_they_migrate_between_threads),
    TEST_ENTRY(interrupts_racing_the_end_of_calls_give_the_result_or_ECANCELLED),
    TEST_ENTRY(stress_random_interrupts_against_sandboxes_created_called_restored_and_destroyed),
};

RUN_TESTS(tests)

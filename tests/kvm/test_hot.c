/* test_hot.c: hot sandboxes (cfg.hot, docs/HOT.md): the configuration's checks; calls, host calls
 * and logs through the doorbell, spinning and parked; the vCPU thread's life; time limits,
 * hl_interrupt, snapshots, restores, reset_after_call, core files and the VM pool; snapshots
 * between hot and cold sandboxes; and hostile hot guests: one that rewrites its host call while the
 * host copies it, one that flips the doorbell at random, one that parks unasked, one that posts and
 * never looks again, one that floods host calls. The call suites themselves also run hot
 * (HL_TEST_HOT=1, kvm_common.h). */
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

static hl_config hot_config(uint32_t spin_us)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.hot = true;
    cfg.hot_spin_us = spin_us;
    return cfg;
}

static int host_echo(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)nargs;
    *ret = args[0];
    return 0;
}

static int host_calls;
static int host_count(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    host_calls++;
    *ret = hl_i32(host_calls);
    return 0;
}

static int logs;
static void count_log(void *user, const hl_log_record *rec)
{
    (void)user, (void)rec;
    logs++;
}

static hl_sandbox *hot_simple(uint32_t spin_us)
{
    hl_config cfg = hot_config(spin_us);
    cfg.log_fn = count_log;
    hl_sandbox *sb = new_sandbox(&cfg);
    CHECK_OK(hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, NULL));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

static hl_sandbox *hot_hostile(hl_config *cfg)
{
    hl_sandbox *sb = NULL;
    require_kvm();
    CHECK_OK(hl_sandbox_new(cfg, hostile_path(), &sb));
    CHECK_OK(hl_sandbox_register(sb, "HostCount", HL_TYPE_I32, NULL, 0, host_count, NULL));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

/* Threads of this process (/proc/self/task). */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts))
        ;
}

/* Threads once a joined thread has left /proc too (pthread_join returns when the thread has
 * cleared its id, a moment before the kernel removes it): the count, within a second, of n. */
static int thread_count_settles_at(int n)
{
    int now = thread_count();
    for (int i = 0; i < 100 && now != n; i++) {
        sleep_ms(10);
        now = thread_count();
    }
    return now;
}

/* ---- configuration ---- */
TEST(hot_config_is_checked)
{
    hl_sandbox *sb = NULL;
    hl_config cfg = hot_config(0);
    CHECK_RC(hl_sandbox_new(&cfg, guest_path(), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("hot_spin_us = 0 is out of range");
    cfg = hot_config(HL_MAX_HOT_SPIN_US + 1);
    CHECK_RC(hl_sandbox_new(&cfg, guest_path(), &sb), HL_ECONFIG);
    cfg = hot_config(100);
    cfg.gdb_port = 1234;
    CHECK_RC(hl_sandbox_new(&cfg, guest_path(), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("hot and gdb_port do not go together");
    cfg = hot_config(100);
    cfg.reserved8 = 1;
    CHECK_RC(hl_sandbox_new(&cfg, guest_path(), &sb), HL_ECONFIG);
    CHECK(sb == NULL);
    (hl_config_init)(&cfg); /* the library's defaults, not the tests' */
    CHECK_EQ(cfg.hot_spin_us, HL_DEFAULT_HOT_SPIN_US);
}

/* ---- calls ---- */
TEST(hot_calls_host_calls_and_logs_return_what_cold_ones_do)
{
    hl_sandbox *sb = hot_simple(HL_DEFAULT_HOT_SPIN_US);
    for (int i = 0; i < 200; i++) {
        char text[32];
        snprintf(text, sizeof text, "call %d", i);
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str(text))), text);
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str(text))), text);
    }
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostMany", HL_ARGS(hl_i32(500))).as.i32, 500);
    logs = 0;
    CALL_OK(sb, HL_TYPE_VOID, "LogMessage", HL_ARGS(hl_str("hot log"), hl_i32(HL_LOG_INFO)));
    CHECK_EQ(logs, 1);
    CALL_FAILS(sb, HL_EGUEST, "Fail", HL_ARGS(hl_str("no")));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 5);
    hl_sandbox_destroy(sb);
}

TEST(hot_sandbox_that_parks_every_time_still_answers)
{
    hl_sandbox *sb = hot_simple(1); /* 1 us: both sides give up spinning almost at once */
    for (int i = 0; i < 20; i++) {
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("p"))), "p");
        if (i % 5 == 0)
            sleep_ms(5); /* long past the window: the guest has parked */
    }
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "CallHostMany", HL_ARGS(hl_i32(50))).as.i32, 50);
    hl_sandbox_destroy(sb);
}

TEST(hot_sandbox_runs_its_vcpu_on_one_thread_that_ends_with_it)
{
    require_kvm();
    int before = thread_count();
    hl_sandbox *sb = hot_simple(HL_DEFAULT_HOT_SPIN_US);
    CHECK_EQ(thread_count(), before + 1);
    for (int i = 0; i < 10; i++)
        CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("x")));
    CHECK_EQ(thread_count(), before + 1);
    hl_sandbox_destroy(sb);
    CHECK_EQ(thread_count_settles_at(before), before);
    hl_config cold;
    hl_config_init(&cold);
    cold.hot = false;
    sb = ready_sandbox(&cold);
    CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("cold")));
    CHECK_EQ(thread_count(), before); /* a cold sandbox runs on the caller's thread */
    hl_sandbox_destroy(sb);
}

TEST(several_hot_sandboxes_do_not_mix)
{
    enum { N = 3 };
    hl_sandbox *sb[N];
    for (int i = 0; i < N; i++)
        sb[i] = hot_simple(50);
    for (int round = 0; round < 30; round++)
        for (int i = 0; i < N; i++)
            CHECK_EQ(CALL_OK(sb[i], HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(i + 1))).as.i32,
                     (round + 1) * (i + 1));
    for (int i = 0; i < N; i++)
        hl_sandbox_destroy(sb[i]);
}

/* More hot sandboxes than CPUs, each called from its own thread as fast as it answers: every one
 * keeps making progress (the spinning sides give up their CPU after their window). Prints what
 * each managed, which is the figure docs/HOT.md quotes for oversubscribed machines. */
typedef struct busy_caller {
    hl_sandbox *sb;
    uint64_t stop_ns;
    int calls, failures;
} busy_caller;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *call_until_stop(void *arg)
{
    busy_caller *c = arg;
    while (now_ns() < c->stop_ns) {
        hl_value r;
        if (hl_sandbox_call(c->sb, "CallHostEcho", HL_ARGS(hl_str("busy")), &r))
            c->failures++;
        else
            c->calls++;
    }
    return NULL;
}

TEST(more_hot_sandboxes_than_cpus_all_make_progress)
{
    enum { N = 4 };
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    busy_caller c[N];
    pthread_t t[N];
    for (int n = 1; n <= N; n *= 2) {
        uint64_t stop = now_ns() + 1500000000ull;
        for (int i = 0; i < n; i++) {
            c[i] = (busy_caller){hot_simple(HL_DEFAULT_HOT_SPIN_US), stop, 0, 0};
            CHECK_EQ(pthread_create(&t[i], NULL, call_until_stop, &c[i]), 0);
        }
        int least = -1, most = 0;
        for (int i = 0; i < n; i++) {
            pthread_join(t[i], NULL);
            CHECK_EQ(c[i].failures, 0);
            CHECK(c[i].calls > 0); /* nobody starves */
            least = least < 0 || c[i].calls < least ? c[i].calls : least;
            most = c[i].calls > most ? c[i].calls : most;
            hl_sandbox_destroy(c[i].sb);
        }
        printf("    %d hot sandbox(es) on %ld CPU(s), 1.5 s: %d to %d calls each\n", n, cpus, least,
               most);
    }
}

/* ---- limits and interrupts ---- */
TEST(hot_time_limit_stops_a_spinning_guest_and_restore_revives_it)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 200;
    cfg.reset_after_call = false;
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *snap = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    CHECK(hl_sandbox_is_poisoned(sb));
    CALL_FAILS(sb, HL_EPOISONED, "Echo", HL_ARGS(hl_str("x")));
    CHECK_OK(hl_sandbox_restore(sb, snap));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("back"))), "back");
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

static void *interrupt_later(void *arg)
{
    sleep_ms(100);
    hl_interrupt((hl_interrupt_handle *)arg);
    return NULL;
}

TEST(hot_interrupt_stops_a_spinning_guest)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 0;
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(sb);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, interrupt_later, h), 0);
    CALL_FAILS(sb, HL_ECANCELLED, "Spin", NULL, 0);
    pthread_join(t, NULL);
    hl_interrupt_release(h);
    hl_sandbox_destroy(sb);
}

/* ---- state ---- */
TEST(hot_snapshot_restore_and_reset_after_call)
{
    hl_config cfg = hot_config(100);
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *snap = NULL;
    CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(10)));
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    for (int i = 0; i < 20; i++) {
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 11);
        CHECK_OK(hl_sandbox_restore(sb, snap));
    }
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 10);
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);

    cfg.reset_after_call = true;
    sb = ready_sandbox(&cfg);
    for (int i = 0; i < 20; i++)
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(3))).as.i32, 3);
    hl_sandbox_destroy(sb);
}

TEST(hot_and_cold_sandboxes_share_snapshots_both_ways)
{
    hl_config hot = hot_config(100), cold;
    hl_config_init(&cold);
    cold.hot = false;
    hl_sandbox *sb = ready_sandbox(&hot), *other = NULL, *back = NULL;
    hl_snapshot *snap = NULL, *snap2 = NULL;
    CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(7)));
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    CHECK_OK(hl_sandbox_new_from_snapshot(&cold, snap, &other));
    CHECK_OK(hl_sandbox_init(other));
    CHECK_EQ(CALL_OK(other, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 8);
    CHECK_OK(hl_sandbox_snapshot(other, &snap2));
    CHECK_OK(hl_sandbox_new_from_snapshot(&hot, snap2, &back));
    CHECK_OK(hl_sandbox_init(back));
    CHECK_EQ(CALL_OK(back, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 9);
    CHECK_STR_VALUE(CALL_OK(back, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("ok"))), "ok");
    hl_snapshot_release(snap);
    hl_snapshot_release(snap2);
    hl_sandbox_destroy(back);
    hl_sandbox_destroy(other);
    hl_sandbox_destroy(sb);
}

TEST(hot_core_file_between_calls_and_pooled_vm_reuse)
{
    char path[256];
    snprintf(path, sizeof path, "%s/hl-hot-%d.core", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
             (int)getpid());
    hl_config cfg = hot_config(100);
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("x")));
    unlink(path);
    CHECK_OK(hl_sandbox_write_core(sb, path));
    CHECK(access(path, R_OK) == 0);
    unlink(path);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("after"))), "after");
    hl_sandbox_destroy(sb);
    for (int i = 0; i < 5; i++) { /* the pooled VM goes to cold and hot sandboxes alike */
        hl_config c = hot_config(100);
        c.hot = i % 2;
        sb = ready_sandbox(&c);
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("pool"))), "pool");
        hl_sandbox_destroy(sb);
    }
}

/* ---- hostile hot guests ---- */
static void check_defined(int rc)
{
    if (rc != 0 && rc != HL_EPROTOCOL)
        hl_test_fail(__FILE__, __LINE__, "rc %d (%s): %s", rc, hl_errname(rc), hl_last_error());
}

TEST(hot_guest_rewriting_its_host_call_while_the_host_copies_it)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 20000;
    hl_sandbox *sb = hot_hostile(&cfg);
    hl_snapshot *snap = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    for (uint64_t seed = 1; seed <= 6; seed++) {
        hl_value r;
        host_calls = 0;
        int rc = hl_sandbox_call(sb, "HotRewriteHostCall", HL_ARGS(hl_i32(40), hl_u64(seed)), &r);
        check_defined(rc);
        CHECK(host_calls <= 40);
        CHECK_OK(hl_sandbox_restore(sb, snap));
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("ok"))), "ok");
    }
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

TEST(hot_guest_flipping_the_doorbell_at_random)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 20000;
    cfg.log_fn = count_log;
    hl_sandbox *sb = hot_hostile(&cfg);
    hl_snapshot *snap = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    int protocol = 0;
    for (uint64_t seed = 1; seed <= 12; seed++) {
        hl_value r;
        int rc = hl_sandbox_call(sb, "HotFlipBell", HL_ARGS(hl_i32(2000), hl_u64(seed)), &r);
        check_defined(rc);
        protocol += rc == HL_EPROTOCOL;
        CHECK_OK(hl_sandbox_restore(sb, snap));
        CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("ok"))), "ok");
    }
    CHECK(protocol > 0); /* a bad port with the expected number is caught */
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

TEST(hot_guest_parking_unasked_is_only_resumed)
{
    hl_config cfg = hot_config(100);
    hl_sandbox *sb = hot_hostile(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "HotParkUnasked", HL_ARGS(hl_i32(100))).as.i32, 100);
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("ok"))), "ok");
    hl_sandbox_destroy(sb);
}

TEST(hot_guest_that_posts_and_never_looks_again_is_stopped)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 2000;
    hl_sandbox *sb = hot_hostile(&cfg);
    CALL_FAILS(sb, HL_EPROTOCOL, "HotPostAndSpin", NULL, 0); /* its LOG message is not there */
    hl_sandbox_destroy(sb);
}

TEST(hot_guest_flooding_host_calls)
{
    hl_config cfg = hot_config(100);
    cfg.time_limit_ms = 300;
    hl_sandbox *sb = hot_hostile(&cfg);
    host_calls = 0;
    CALL_FAILS(sb, HL_ETIMEOUT, "HostLoop", HL_ARGS(hl_str("HostCount"), hl_i32(0)));
    CHECK(host_calls > 0);
    hl_sandbox_destroy(sb);
    cfg.time_limit_ms = 60000;
    sb = hot_hostile(&cfg);
    host_calls = 0;
    CHECK_EQ(
        CALL_OK(sb, HL_TYPE_I32, "HostLoop", HL_ARGS(hl_str("HostCount"), hl_i32(5000))).as.i32,
        5000);
    CHECK_EQ(host_calls, 5000);
    hl_sandbox_destroy(sb);
}

static const hl_test tests[] = {
    TEST_ENTRY(hot_config_is_checked),
    TEST_ENTRY(hot_calls_host_calls_and_logs_return_what_cold_ones_do),
    TEST_ENTRY(hot_sandbox_that_parks_every_time_still_answers),
    TEST_ENTRY(hot_sandbox_runs_its_vcpu_on_one_thread_that_ends_with_it),
    TEST_ENTRY(several_hot_sandboxes_do_not_mix),
    TEST_ENTRY(more_hot_sandboxes_than_cpus_all_make_progress),
    TEST_ENTRY(hot_time_limit_stops_a_spinning_guest_and_restore_revives_it),
    TEST_ENTRY(hot_interrupt_stops_a_spinning_guest),
    TEST_ENTRY(hot_snapshot_restore_and_reset_after_call),
    TEST_ENTRY(hot_and_cold_sandboxes_share_snapshots_both_ways),
    TEST_ENTRY(hot_core_file_between_calls_and_pooled_vm_reuse),
    TEST_ENTRY(hot_guest_rewriting_its_host_call_while_the_host_copies_it),
    TEST_ENTRY(hot_guest_flipping_the_doorbell_at_random),
    TEST_ENTRY(hot_guest_parking_unasked_is_only_resumed),
    TEST_ENTRY(hot_guest_that_posts_and_never_looks_again_is_stopped),
    TEST_ENTRY(hot_guest_flooding_host_calls),
};

RUN_TESTS(tests)

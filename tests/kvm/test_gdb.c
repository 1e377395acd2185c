/* test_gdb.c: the gdb stub (cfg.gdb_port) against Debian's gdb in batch mode: breakpoints, the
 * call chain, arguments and return values, stepping, watchpoints, faults, interrupts, detach;
 * and hostile bytes and disconnects on the socket. Each test forks a host program (the
 * debuggee: a sandbox of the debug guest that calls one function) and debugs it from here. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "debug_common.h"

typedef struct debuggee {
    pid_t pid;
    int results; /* the host program's "RC VALUE" line */
    uint16_t port;
} debuggee;

/* A loopback port nobody listens on now. */
static uint16_t free_port(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_EQ(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    CHECK_EQ(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void say(int fd, const char *s)
{
    CHECK_EQ(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* The host program: a sandbox waiting for gdb on port; "R" once it listens; init; the call. */
static void debuggee_main(int out, uint16_t port, const char *fn, const hl_value *args, size_t n)
{
    hl_config cfg;
    hl_sandbox *sb = NULL;
    hl_value r = {HL_TYPE_VOID, {0}};
    char line[64];
    alarm(600); /* never outlive a broken test */
    hl_config_init(&cfg);
    cfg.gdb_port = port;
    cfg.reset_after_call = true; /* a restore after every call: gdb's state must not upset it */
    if (hl_sandbox_new(&cfg, debug_guest_path(), &sb) != 0)
        _exit(3);
    say(out, "R\n");
    int rc = hl_sandbox_init(sb);
    if (!rc)
        rc = hl_sandbox_call(sb, fn, args, n, &r);
    if (rc)
        fprintf(stderr, "    debuggee: %s\n", hl_last_error());
    snprintf(line, sizeof line, "%d %d\n", rc, r.type == HL_TYPE_I32 ? r.as.i32 : -1);
    say(out, line);
    hl_sandbox_destroy(sb);
    _exit(0);
}

/* Starts the debuggee and returns once its sandbox listens for gdb. */
static debuggee start(const char *fn, const hl_value *args, size_t n)
{
    int p[2];
    char c = 0;
    debuggee d = {.port = free_port()};
    require_kvm();
    CHECK_EQ(pipe(p), 0);
    d.pid = fork();
    CHECK(d.pid >= 0);
    if (d.pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed test takes its debuggee with it */
        close(p[0]);
        debuggee_main(p[1], d.port, fn, args, n);
    }
    close(p[1]);
    d.results = p[0];
    CHECK_EQ(read(d.results, &c, 1), 1);
    CHECK_EQ(c, 'R');
    CHECK_EQ(read(d.results, &c, 1), 1);
    return d;
}

/* Waits for the debuggee and checks its call's result code and i32 value. */
static void finish(debuggee *d, int want_rc, int32_t want_value)
{
    char line[64] = {0};
    size_t n = 0;
    ssize_t r;
    while (n < sizeof line - 1 && (r = read(d->results, line + n, sizeof line - 1 - n)) > 0)
        n += (size_t)r;
    int status = 0;
    CHECK_EQ(waitpid(d->pid, &status, 0), d->pid);
    close(d->results);
    int rc = 1, value = 0;
    CHECK_EQ(sscanf(line, "%d %d", &rc, &value), 2);
    CHECK_EQ(rc, want_rc);
    CHECK_EQ(value, want_value);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* gdb in batch mode attached to the debuggee, running `commands` (-ex ... options). */
static const char *gdb_session(const debuggee *d, const char *commands)
{
    char args[6000];
    snprintf(args, sizeof args,
             "-ex 'set confirm off' -ex 'target remote 127.0.0.1:%u' %s -ex detach '%s'", d->port,
             commands, debug_guest_path());
    return run_gdb(args);
}

TEST(test_break_backtrace_args_finish_detach)
{
    require_gdb();
    debuggee d = start("Through", HL_ARGS(hl_i32(5)));
    const char *out = gdb_session(&d, "-ex 'break add3' -ex continue -ex bt -ex 'info args' "
                                      "-ex 'print a + b' -ex finish");
    CHECK_CONTAINS(out, "Breakpoint 1, add3 (a=5, b=10, c=3)");
    CHECK_CONTAINS(out, "in through (x=5)");
    CHECK_CONTAINS(out, "in fn_through");
    CHECK_CONTAINS(out, "a = 5\nb = 10\nc = 3");
    CHECK_CONTAINS(out, "$1 = 15");
    CHECK_CONTAINS(out, "Value returned is $2 = 18");
    finish(&d, 0, 19); /* detached: the call ends as it would without gdb */
}

TEST(test_step_through_a_loop)
{
    require_gdb();
    debuggee d = start("SumTo", HL_ARGS(hl_i32(4)));
    const char *out = gdb_session(&d, "-ex 'break sum_to' -ex continue -ex 'print n' -ex next "
                                      "-ex next -ex next -ex next -ex next -ex 'print s' "
                                      "-ex 'print i' -ex stepi -ex 'info line *$pc'");
    CHECK_CONTAINS(out, "Breakpoint 1, sum_to (n=4)");
    CHECK_CONTAINS(out, "$1 = 4");
    CHECK_CONTAINS(out, "s += i; /* LOOP_BODY */");
    CHECK_CONTAINS(out, "$2 = 3"); /* s after two passes */
    CHECK_CONTAINS(out, "$3 = 2"); /* i, before the third pass's increment */
    finish(&d, 0, 10);
}

TEST(test_fault_stops_at_the_faulting_line)
{
    char where[64];
    require_gdb();
    debuggee d = start("Store", HL_ARGS(hl_u64(0x10), hl_i32(7)));
    const char *out = gdb_session(&d, "-ex continue -ex bt -ex 'print p' -ex 'print v'");
    CHECK_CONTAINS(out, "Program received signal SIGSEGV");
    CHECK_CONTAINS(out, "store_at");
    CHECK_CONTAINS(out, marker_line("FAULT_STORE", where, sizeof where));
    CHECK_CONTAINS(out, "(volatile int32_t *) 0x10");
    CHECK_CONTAINS(out, "$2 = 7");
    finish(&d, HL_EFAULT, -1); /* and the call fails as without gdb */
}

TEST(test_abort_stops_with_sigabrt)
{
    require_gdb();
    debuggee d = start("Abort", NULL, 0);
    const char *out = gdb_session(&d, "-ex continue -ex bt");
    CHECK_CONTAINS(out, "Program received signal SIGABRT");
    CHECK_CONTAINS(out, "abort_now");
    finish(&d, HL_EABORT, -1);
}

TEST(test_software_watchpoint_by_single_steps)
{
    require_gdb();
    debuggee d = start("Watch", HL_ARGS(hl_i32(77)));
    const char *out = gdb_session(&d, "-ex 'break fn_watch' -ex continue "
                                      "-ex 'set can-use-hw-watchpoints 0' -ex 'watch watched' "
                                      "-ex continue");
    CHECK_CONTAINS(out, "Watchpoint 2: watched");
    CHECK_CONTAINS(out, "Old value = 0\nNew value = 77");
    finish(&d, 0, 77);
}

/* Skips the running test where KVM does not stop at hardware breakpoints. */
static void require_hw_breakpoints(void)
{
    require_gdb();
    require_kvm();
    if (!kvm_hw_breakpoints_work())
        SKIP("this machine's KVM does not stop at hardware breakpoints (KVM_SET_GUEST_DEBUG "
             "debug registers; QEMU's emulated CPU lacks them)");
}

TEST(test_hardware_watchpoint_fires_on_a_write)
{
    require_hw_breakpoints();
    debuggee d = start("Watch", HL_ARGS(hl_i32(77)));
    const char *out = gdb_session(&d, "-ex 'watch watched' -ex continue -ex 'hbreak add3'");
    CHECK_CONTAINS(out, "Hardware watchpoint 1: watched");
    CHECK_CONTAINS(out, "Old value = 0\nNew value = 77");
    finish(&d, 0, 77);
}

TEST(test_hardware_breakpoints)
{
    require_hw_breakpoints();
    debuggee d = start("Through", HL_ARGS(hl_i32(1)));
    const char *out = gdb_session(&d, "-ex 'hbreak through' -ex 'hbreak add3' -ex 'hbreak sum_to' "
                                      "-ex 'hbreak fn_watch' -ex continue -ex continue -ex bt");
    CHECK_CONTAINS(out, "Breakpoint 1, through (x=1)");
    CHECK_CONTAINS(out, "Breakpoint 2, add3 (a=1, b=2, c=3)");
    finish(&d, 0, 7);
}

/* ---------------------------------------------------------------- the protocol by hand */

static int connect_to(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(fd >= 0);
    CHECK_EQ(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    return fd;
}

static void send_packet(int fd, const char *payload)
{
    char buf[512];
    unsigned sum = 0;
    for (const char *p = payload; *p; p++)
        sum += (uint8_t)*p;
    int n = snprintf(buf, sizeof buf, "$%s#%02x", payload, sum & 0xff);
    CHECK_EQ(write(fd, buf, (size_t)n), n);
}

static char seen[65536]; /* what the last await read */

/* Reads until `want` has arrived; 0 when the peer closes or a read times out. */
static int await_quietly(int fd, const char *want)
{
    size_t n = 0;
    ssize_t r;
    while (n < sizeof seen - 1 && (r = read(fd, seen + n, sizeof seen - 1 - n)) > 0) {
        n += (size_t)r;
        seen[n] = '\0';
        if (memmem(seen, n, want, strlen(want)))
            return 1;
    }
    return 0;
}

static const char *await_seen(void)
{
    return seen;
}

/* Reads until `want` has arrived (or the peer closes); 1 if it did, else says what came. */
static int await(int fd, const char *want)
{
    if (await_quietly(fd, want))
        return 1;
    fprintf(stderr, "    awaited \"%s\", got \"%s\"\n", want, seen);
    return 0;
}

/* The link-time address of a symbol of the debug guest, by nm. */
static uint64_t symbol_address(const char *name)
{
    char cmd[4200], line[256];
    unsigned long long addr = 0;
    snprintf(cmd, sizeof cmd, "nm '%s'", debug_guest_path());
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    while (fgets(line, sizeof line, p)) {
        char sym[128];
        unsigned long long a;
        if (sscanf(line, "%llx %*s %127s", &a, sym) == 2 && !strcmp(sym, name))
            addr = a;
    }
    pclose(p);
    CHECK(addr != 0);
    return addr;
}

/* gdb's Ctrl-C (0x03) stops a spinning guest with SIGINT; an M write then releases it. */
TEST(test_interrupt_and_write_memory)
{
    char m[128], *text;
    debuggee d = start("Spin", NULL, 0);
    int fd = connect_to(d.port);
    send_packet(fd, "qOffsets");
    CHECK(await(fd, ";Bss="));
    text = strstr(await_seen(), "Text=");
    CHECK(text != NULL);
    uint64_t release = strtoull(text + 5, NULL, 16) + symbol_address("release");
    send_packet(fd, "c");
    usleep(1500 * 1000); /* init, then Spin spinning */
    CHECK_EQ(write(fd, "\x03", 1), 1);
    CHECK(await(fd, "$T02"));
    snprintf(m, sizeof m, "m%llx,4", (unsigned long long)release);
    send_packet(fd, m);
    CHECK(await(fd, "$00000000#"));
    snprintf(m, sizeof m, "M%llx,4:01000000", (unsigned long long)release);
    send_packet(fd, m);
    CHECK(await(fd, "$OK#"));
    send_packet(fd, "D");
    CHECK(await(fd, "$OK#"));
    close(fd);
    finish(&d, 0, 1); /* Spin saw the write and returned */
}

/* Each kind of fault stops the guest with its signal; after a detach the call fails as without
 * gdb. */
TEST(test_faults_stop_with_their_signals)
{
    static const struct {
        int32_t kind;
        const char *stop;
    } faults[] = {{0, "$T04"}, {1, "$T08"}, {2, "$T05"}}; /* SIGILL, SIGFPE, SIGTRAP */
    for (size_t i = 0; i < COUNT_OF(faults); i++) {
        debuggee d = start("Trap", HL_ARGS(hl_i32(faults[i].kind)));
        int fd = connect_to(d.port);
        send_packet(fd, "c");
        CHECK(await(fd, faults[i].stop));
        send_packet(fd, "g"); /* registers are readable at the fault */
        CHECK(await(fd, "#"));
        send_packet(fd, "D");
        CHECK(await(fd, "$OK#"));
        close(fd);
        finish(&d, HL_EFAULT, -1);
    }
}

/* One host program, two sandboxes on their own ports, each on its own thread and debugger. */
static void *init_and_call(void *arg)
{
    hl_sandbox *sb = arg;
    hl_value r = {HL_TYPE_VOID, {0}};
    int rc = hl_sandbox_init(sb);
    if (!rc)
        rc = hl_sandbox_call(sb, "Through", HL_ARGS(hl_i32(2)), &r);
    return (void *)(intptr_t)(rc ? rc : r.as.i32);
}

TEST(test_two_sandboxes_two_debuggers)
{
    hl_config cfg;
    hl_sandbox *sb[2];
    pthread_t t[2];
    require_kvm();
    hl_config_init(&cfg);
    for (int i = 0; i < 2; i++) {
        cfg.gdb_port = free_port();
        CHECK_OK(hl_sandbox_new(&cfg, debug_guest_path(), &sb[i]));
        CHECK_EQ(pthread_create(&t[i], NULL, init_and_call, sb[i]), 0);
        int fd = connect_to(cfg.gdb_port);
        send_packet(fd, "?");
        CHECK(await(fd, "$T05"));
        send_packet(fd, "D");
        CHECK(await(fd, "$OK#"));
        close(fd);
    }
    for (int i = 0; i < 2; i++) {
        void *v;
        CHECK_EQ(pthread_join(t[i], &v), 0);
        CHECK_EQ((intptr_t)v, 10); /* add3(2, 4, 3) + 1 */
        hl_sandbox_destroy(sb[i]);
    }
}

/* The load offset gdb would be told (qOffsets), asked on fd. */
static uint64_t load_offset(int fd)
{
    send_packet(fd, "qOffsets");
    CHECK(await(fd, ";Bss="));
    const char *text = strstr(await_seen(), "Text=");
    CHECK(text != NULL);
    return strtoull(text + 5, NULL, 16);
}

/* A session cut off after each of its packets in turn: wherever gdb goes away (stopped at a
 * breakpoint, single-stepping, with registers or memory half read), the call ends normally. */
TEST(test_disconnect_at_any_point_detaches)
{
    char bp[64], rbp[64];
    const char *session[] = {"qSupported:swbreak+;hwbreak+",
                             "?",
                             "g",
                             bp,
                             "c",
                             "g",
                             rbp,
                             "s",
                             "s",
                             "p10",
                             "Z1,0,1",
                             bp,
                             "c"};
    size_t n = COUNT_OF(session);
    uint64_t add3_linked = symbol_address("add3");
    for (size_t cut = 0; cut <= n; cut++) {
        debuggee d = start("Through", HL_ARGS(hl_i32(5)));
        int fd = connect_to(d.port);
        uint64_t add3 = load_offset(fd) + add3_linked;
        snprintf(bp, sizeof bp, "Z0,%llx,1", (unsigned long long)add3);
        snprintf(rbp, sizeof rbp, "z0,%llx,1", (unsigned long long)add3);
        for (size_t i = 0; i < cut; i++) {
            send_packet(fd, session[i]);
            if (i + 1 < n) /* the last continue runs to the end: no reply */
                CHECK(await(fd, "#"));
        }
        close(fd);
        finish(&d, 0, 19);
    }
}

/* RSP at the first stop (the stack's top), from a `g` reply: register 7, little-endian hex. */
static uint64_t initial_rsp(int fd)
{
    uint8_t b[8];
    send_packet(fd, "g");
    CHECK(await(fd, "#"));
    const char *p = strchr(await_seen(), '$');
    CHECK(p != NULL && strlen(p) > 1 + 16 * 8);
    for (int i = 0; i < 8; i++) {
        unsigned v;
        CHECK_EQ(sscanf(p + 1 + 16 * 7 + 2 * i, "%2x", &v), 1);
        b[i] = (uint8_t)v;
    }
    uint64_t rsp;
    memcpy(&rsp, b, sizeof rsp);
    return rsp;
}

/* gdb reaches only what the guest reaches: not the descriptor tables, stub and kernel stack
 * above the stack (whose rewrite would run the guest at ring 0), nor the guard page. */
TEST(test_gdb_cannot_touch_the_system_area)
{
    static const char *const what[] = {
        "m%llx,8", "M%llx,1:00", "X%llx,0:", "Z0,%llx,1", "Z1,%llx,1", "Z2,%llx,8"};
    debuggee d = start("Through", HL_ARGS(hl_i32(5)));
    int fd = connect_to(d.port);
    uint64_t top = initial_rsp(fd);
    for (uint64_t page = top; page < top + 6 * 4096; page += 4096) /* guard, GDT, IDT, stub .. */
        for (size_t i = 0; i < COUNT_OF(what); i++) {
            char pkt[64];
            snprintf(pkt, sizeof pkt, what[i], (unsigned long long)page);
            send_packet(fd, pkt);
            CHECK(await(fd, i == 2 ? "$OK#" : "$E")); /* a zero-length write touches nothing */
        }
    send_packet(fd, "D");
    CHECK(await(fd, "$OK#"));
    close(fd);
    finish(&d, 0, 19);
}

/* Single steps from add3 on until the call has ended (no stop reply comes): stepping over the
 * guest's last `out` must leave nothing that breaks the restore after the call. */
TEST(test_stepping_through_the_end_of_a_call)
{
    char bp[64], rbp[64];
    debuggee d = start("Through", HL_ARGS(hl_i32(5)));
    int fd = connect_to(d.port);
    uint64_t add3 = load_offset(fd) + symbol_address("add3");
    snprintf(bp, sizeof bp, "Z0,%llx,1", (unsigned long long)add3);
    snprintf(rbp, sizeof rbp, "z0,%llx,1", (unsigned long long)add3);
    send_packet(fd, bp);
    CHECK(await(fd, "$OK#"));
    send_packet(fd, "c");
    CHECK(await(fd, "$T05"));
    send_packet(fd, rbp);
    CHECK(await(fd, "$OK#"));
    struct timeval quiet = {.tv_sec = 3};
    CHECK_EQ(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &quiet, sizeof quiet), 0);
    int steps = 0;
    do
        send_packet(fd, "s");
    while (++steps < 50000 && await_quietly(fd, "$T05"));
    CHECK(steps > 10 && steps < 50000);
    close(fd);
    finish(&d, 0, 19);
}

TEST(test_hostile_packets_get_errors_and_a_disconnect_detaches)
{
    static const char *const hostile[] = {
        "m0,10",                /* page 0 is never mapped */
        "mffffffffffff0000,40", /* outside guest memory */
        "m1000,ffffffffffffffff",
        "M0,4:01020304",
        "X10,4:ab",  /* length differs */
        "Z0,0,1",    /* breakpoint at 0 */
        "Z2,1001,3", /* a length x86 cannot watch */
        "Z1,1,1",    /* fine */
        "Z1,2,1",    /* fine */
        "Z1,3,1",    /* fine */
        "Z1,4,1",    /* fine: four in all */
        "Z1,5,1",    /* a fifth */
        "z1,1,1",    /* removing them again */
        "z1,2,1",
        "z1,3,1",
        "z1,4,1",
        "G1234",  /* too short */
        "P99=00", /* no such register */
        "qXfer:features:read:other.xml:0,100",
        "p10", /* rip: fine */
        "vCont;t",
    };
    debuggee d = start("Through", HL_ARGS(hl_i32(5)));
    int fd = connect_to(d.port);
    CHECK_EQ(write(fd, "garbage}}$$##\x03+-", 16), 16);
    send_packet(fd, "?");
    CHECK(await(fd, "T05"));
    for (size_t i = 0; i < COUNT_OF(hostile); i++)
        send_packet(fd, hostile[i]);
    send_packet(fd, "qC");
    CHECK(await(fd, "QC1"));               /* every packet was answered, in order */
    CHECK_EQ(write(fd, "$m1000,4", 8), 8); /* and hang up in the middle of one */
    close(fd);
    finish(&d, 0, 19);
}

static const hl_test tests[] = {
    TEST_ENTRY(test_break_backtrace_args_finish_detach),
    TEST_ENTRY(test_step_through_a_loop),
    TEST_ENTRY(test_fault_stops_at_the_faulting_line),
    TEST_ENTRY(test_abort_stops_with_sigabrt),
    TEST_ENTRY(test_software_watchpoint_by_single_steps),
    TEST_ENTRY(test_hardware_watchpoint_fires_on_a_write),
    TEST_ENTRY(test_hardware_breakpoints),
    TEST_ENTRY(test_interrupt_and_write_memory),
    TEST_ENTRY(test_faults_stop_with_their_signals),
    TEST_ENTRY(test_two_sandboxes_two_debuggers),
    TEST_ENTRY(test_disconnect_at_any_point_detaches),
    TEST_ENTRY(test_gdb_cannot_touch_the_system_area),
    TEST_ENTRY(test_stepping_through_the_end_of_a_call),
    TEST_ENTRY(test_hostile_packets_get_errors_and_a_disconnect_detaches),
};
RUN_TESTS(tests)

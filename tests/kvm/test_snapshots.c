/* test_snapshots.c: snapshots in memory: taking and restoring them (state, memory in every region,
 * registers and FPU/SSE state), restoring after failed calls, incompatible snapshots, sandboxes
 * made from a snapshot (isolation, reference counts, host functions, a thousand at once) and
 * reset_after_call. */
#include <dirent.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

#define ADD(sb, n) CALL_OK((sb), HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(n))).as.i32
#define GET(sb) CALL_OK((sb), HL_TYPE_I32, "GetStatic", NULL, 0).as.i32
#define U64_CALL(sb, name, ...) CALL_OK((sb), HL_TYPE_U64, (name), __VA_ARGS__).as.u64
#define F64_CALL(sb, name) CALL_OK((sb), HL_TYPE_F64, (name), NULL, 0).as.f64
#define READ(sb, addr) U64_CALL((sb), "ReadAddress", HL_ARGS(hl_u64(addr)))
#define SNAP(sb) snap_at(__FILE__, __LINE__, (sb))
#define FROM(cfg, s) from_at(__FILE__, __LINE__, (cfg), (s))

#define CHECK_F64_EQ(a, b)                                                                         \
    do {                                                                                           \
        double hl_a_ = (a), hl_b_ = (b);                                                           \
        if (hl_a_ != hl_b_)                                                                        \
            hl_test_fail(__FILE__, __LINE__, "CHECK_F64_EQ(%s, %s): %.17g != %.17g", #a, #b,       \
                         hl_a_, hl_b_);                                                            \
    } while (0)

static hl_snapshot *snap_at(const char *file, int line, hl_sandbox *sb)
{
    hl_snapshot *s = NULL;
    int rc = hl_sandbox_snapshot(sb, &s);
    if (rc != 0 || !s)
        hl_test_fail(file, line, "hl_sandbox_snapshot returned %d (%s); detail: %s", rc,
                     hl_errname(rc), hl_last_error());
    return s;
}

static hl_sandbox *from_at(const char *file, int line, const hl_config *cfg, hl_snapshot *s)
{
    hl_sandbox *sb = NULL;
    int rc = hl_sandbox_new_from_snapshot(cfg, s, &sb);
    if (rc != 0 || !sb)
        hl_test_fail(file, line, "hl_sandbox_new_from_snapshot returned %d (%s); detail: %s", rc,
                     hl_errname(rc), hl_last_error());
    return sb;
}

static const char *other_guest_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests", "otherguest.elf");
}

/* PebRegion indexes (see the guest). */
enum { R_HEAP = 4, R_STACK = 5, R_SIZE = 100 };

/* The sum of SetStatic's bytes (i & 0xff over 1 MiB). */
#define BIG_STATIC_SUM (4096ull * (255 * 256 / 2))

/* ---- restoring state and memory ---- */
TEST(restore_undoes_what_calls_did_and_without_it_state_persists)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);
    CHECK_EQ(ADD(sb, 10), 15);
    CHECK_EQ(GET(sb), 15); /* no restore: the call's state persists */
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_STREQ(hl_last_error(), "");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(GET(sb), 5);
    CHECK_EQ(ADD(sb, 1), 6);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_EQ(GET(sb), 5);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(restore_two_hundred_times_gives_the_snapshot_each_time)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 7), 7);
    hl_snapshot *s = SNAP(sb);
    for (int i = 1; i <= 200; i++) {
        /* the same pages change every round: they become "hot" and are copied back each time */
        CHECK_EQ(ADD(sb, i), 7 + i);
        if (i % 10 == 0) /* now and then a few more pages, not hot */
            CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "TouchPages", HL_ARGS(hl_i32(i / 10))).as.i32,
                     i / 10);
        CHECK_OK(hl_sandbox_restore(sb, s));
        int32_t got = GET(sb);
        if (got != 7)
            hl_test_fail(__FILE__, __LINE__, "round %d: GetStatic is %d after restore, not 7", i,
                         got);
    }
    CHECK_U64_EQ(U64_CALL(sb, "TouchSum", NULL, 0), 0);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* More pages change at every restore than may stay hot (HL_DIRTY_HOT_MAX, 512): 256 of .bss from
 * SetStatic, 256 of TouchPages, plus the stack and buffers. All must still come back. */
TEST(restore_is_exact_when_more_pages_change_than_may_stay_hot)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 3), 3);
    hl_snapshot *s = SNAP(sb);
    for (int i = 1; i <= 12; i++) {
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "TouchPages", HL_ARGS(hl_i32(256))).as.i32, 256);
        CHECK_EQ(ADD(sb, i), 3 + i);
        CHECK_OK(hl_sandbox_restore(sb, s));
        CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
        CHECK_U64_EQ(U64_CALL(sb, "TouchSum", NULL, 0), 0);
        CHECK_EQ(GET(sb), 3);
    }
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(restore_reverts_heap_bss_and_stack)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    uint64_t stack = U64_CALL(sb, "PebRegion", HL_ARGS(hl_i32(R_STACK)));
    uint64_t stack_size = U64_CALL(sb, "PebRegion", HL_ARGS(hl_i32(R_SIZE + R_STACK)));
    uint64_t deep = stack + stack_size - 200 * 1024; /* far below any frame of a normal call */
    uint64_t used = U64_CALL(sb, "HeapUsed", NULL, 0);
    hl_snapshot *s = SNAP(sb);
    CHECK_U64_EQ(READ(sb, deep), 0);

    uint64_t p = U64_CALL(sb, "HeapKeep", HL_ARGS(hl_i32(100000), hl_i32(0xab)));
    CHECK_U64_EQ(READ(sb, p), 0xababababababababull);
    CHECK_U64_EQ(READ(sb, p + 99992), 0xababababababababull);
    CHECK_U64_EQ(U64_CALL(sb, "HeapKept", NULL, 0), p);
    CHECK(U64_CALL(sb, "HeapUsed", NULL, 0) >= used + 100000);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), BIG_STATIC_SUM);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "StackAllocate", HL_ARGS(hl_i32(220 * 1024))).as.i32,
             220 * 1024);
    CHECK(READ(sb, deep) != 0); /* 8 bytes of the VLA's i & 0xff pattern: never all zero */

    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_U64_EQ(U64_CALL(sb, "HeapKept", NULL, 0), 0);
    CHECK_U64_EQ(U64_CALL(sb, "HeapUsed", NULL, 0), used);
    CHECK_U64_EQ(READ(sb, p), 0);
    CHECK_U64_EQ(READ(sb, p + 99992), 0);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
    CHECK_U64_EQ(READ(sb, deep), 0);
    /* the allocator is back where it was, so the same request lands at the same address */
    CHECK_U64_EQ(U64_CALL(sb, "HeapKeep", HL_ARGS(hl_i32(100000), hl_i32(0xcd))), p);
    CHECK_U64_EQ(READ(sb, p), 0xcdcdcdcdcdcdcdcdull);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(restore_without_a_call_in_between_is_a_noop)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 9), 9);
    hl_snapshot *s = SNAP(sb);
    CHECK_OK(hl_sandbox_restore(sb, s)); /* straight after the snapshot */
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_STREQ(hl_last_error(), "");
    CHECK_EQ(GET(sb), 9);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_OK(hl_sandbox_restore(sb, s)); /* twice after a call */
    CHECK_EQ(GET(sb), 9);
    CHECK_EQ(ADD(sb, 1), 10);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(restore_into_another_sandbox_of_the_same_guest_and_sizes)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 1000; /* not a size: does not matter */
    cfg.log_level = HL_LOG_DEBUG;
    hl_sandbox *a = ready_sandbox(&cfg), *b = ready_sandbox(NULL);
    CHECK_EQ(ADD(a, 21), 21);
    CHECK_EQ(ADD(b, 1), 1);
    hl_snapshot *s = SNAP(a);
    CHECK_OK(hl_sandbox_restore(b, s));
    CHECK_EQ(GET(b), 21);
    CHECK_EQ(ADD(b, 1), 22);
    CHECK_EQ(GET(a), 21);
    hl_snapshot_release(s);
    hl_sandbox_destroy(a);
    hl_sandbox_destroy(b);
}

/* ---- which snapshot ---- */
TEST(snapshot_twice_without_a_call_returns_the_same_snapshot)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *s1 = SNAP(sb), *s2 = SNAP(sb);
    CHECK(s1 == s2);
    CHECK_EQ(ADD(sb, 1), 1);
    hl_snapshot *s3 = SNAP(sb);
    CHECK(s3 != s1);
    CALL_FAILS(sb, HL_EGUEST, "Fail", HL_ARGS(hl_str("no"))); /* the guest ran: a new state */
    hl_snapshot *s4 = SNAP(sb);
    CHECK(s4 != s3);
    hl_snapshot_release(s1); /* each reference released once: s1 stays alive through s2 */
    CHECK_OK(hl_sandbox_restore(sb, s2));
    CHECK_EQ(GET(sb), 0);
    hl_snapshot_release(s2);
    CHECK_OK(hl_sandbox_restore(sb, s3));
    CHECK_EQ(GET(sb), 1);
    hl_snapshot_release(s3);
    hl_snapshot_release(s4);
    hl_snapshot_release(NULL);
    hl_sandbox_destroy(sb);
}

TEST(restore_older_snapshot_then_newer_one)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 1), 1);
    hl_snapshot *a = SNAP(sb);
    uint64_t p = U64_CALL(sb, "HeapKeep", HL_ARGS(hl_i32(5000), hl_i32(0x11)));
    CHECK_EQ(ADD(sb, 10), 11);
    hl_snapshot *b = SNAP(sb); /* now the base */
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    CHECK_EQ(ADD(sb, 100), 111);
    CHECK_OK(hl_sandbox_restore(sb, a)); /* not the base: memory is remapped */
    CHECK_EQ(GET(sb), 1);
    CHECK_U64_EQ(U64_CALL(sb, "HeapKept", NULL, 0), 0);
    CHECK_U64_EQ(READ(sb, p), 0);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
    CHECK_OK(hl_sandbox_restore(sb, b));
    CHECK_EQ(GET(sb), 11);
    CHECK_U64_EQ(U64_CALL(sb, "HeapKept", NULL, 0), p);
    CHECK_U64_EQ(READ(sb, p), 0x1111111111111111ull);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
    CHECK_EQ(ADD(sb, 5), 16);
    CHECK_OK(hl_sandbox_restore(sb, a));
    CHECK_EQ(GET(sb), 1);
    CHECK_OK(hl_sandbox_restore(sb, a)); /* a is the base now: the changed-pages path */
    CHECK_EQ(GET(sb), 1);
    hl_snapshot_release(a);
    hl_snapshot_release(b);
    hl_sandbox_destroy(sb);
}

TEST(interleaved_restores_of_two_snapshots)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 1), 1);
    hl_snapshot *a = SNAP(sb);
    CHECK_EQ(ADD(sb, 10), 11);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    hl_snapshot *b = SNAP(sb);
    for (int round = 0; round < 5; round++) {
        CHECK_OK(hl_sandbox_restore(sb, a));
        CHECK_EQ(GET(sb), 1);
        CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
        CHECK_EQ(ADD(sb, 3), 4);
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
        CHECK_OK(hl_sandbox_restore(sb, b));
        CHECK_EQ(GET(sb), 11);
        CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), BIG_STATIC_SUM);
        CHECK_EQ(ADD(sb, 3), 14);
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "TouchPages", HL_ARGS(hl_i32(round + 1))).as.i32,
                 round + 1);
    }
    CHECK_OK(hl_sandbox_restore(sb, a));
    CHECK_EQ(GET(sb), 1);
    CHECK_U64_EQ(U64_CALL(sb, "TouchSum", NULL, 0), 0);
    hl_snapshot_release(a);
    hl_snapshot_release(b);
    hl_sandbox_destroy(sb);
}

/* ---- restoring after failed calls ---- */
/* Snapshot with counter 42; `name` must fail with `code` and poison; the restore brings back 42. */
static void check_restore_after_failure(const hl_config *cfg, const char *name,
                                        const hl_value *args, size_t nargs, int code,
                                        const char *detail)
{
    hl_sandbox *sb = ready_sandbox(cfg);
    CHECK_EQ(ADD(sb, 42), 42);
    hl_snapshot *s = SNAP(sb);
    CHECK_EQ(ADD(sb, 1), 43);
    hl_value r;
    CHECK_RC(hl_sandbox_call(sb, name, args, nargs, &r), code);
    CHECK_ERROR_HAS(detail);
    CHECK(hl_sandbox_is_poisoned(sb));
    CALL_FAILS(sb, HL_EPOISONED, "GetStatic", NULL, 0);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(GET(sb), 42);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("alive"))), "alive");
    CHECK_EQ(ADD(sb, 1), 43);
    /* and it can fail and come back again */
    CHECK_RC(hl_sandbox_call(sb, name, args, nargs, &r), code);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_EQ(GET(sb), 42);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(restore_after_abort)
{
    check_restore_after_failure(NULL, "GuestAbortWithCode", HL_ARGS(hl_i32(3)), HL_EABORT,
                                "guest aborted (code 3)");
}

TEST(restore_after_fault_executing_the_stack)
{
    check_restore_after_failure(NULL, "ExecuteOnStack", NULL, 0, HL_EFAULT,
                                "page fault (#PF): execute at 0x");
}

TEST(restore_after_null_write)
{
    check_restore_after_failure(NULL, "WriteAddress", HL_ARGS(hl_u64(0), hl_u64(1)), HL_EFAULT,
                                "page fault (#PF): write at 0x0 ");
}

TEST(restore_after_time_limit)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 100;
    check_restore_after_failure(&cfg, "Spin", NULL, 0, HL_ETIMEOUT,
                                "time limit of 100 ms exceeded");
}

TEST(restore_after_stack_overflow)
{
    check_restore_after_failure(NULL, "StackOverflow", HL_ARGS(hl_i32(0)), HL_ESTACKOVERFLOW,
                                "guest stack overflow: access to the guard page");
}

TEST(restore_after_smashed_cookie)
{
    check_restore_after_failure(NULL, "SmashCookie", NULL, 0, HL_ECOOKIE,
                                "guest stack cookie smashed");
}

/* ---- registers and FPU/SSE state ---- */
TEST(restore_brings_back_xmm_registers_and_float_globals)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_OK(sb, HL_TYPE_VOID, "SetXmm", HL_ARGS(hl_f64(1.5)));
    CALL_OK(sb, HL_TYPE_VOID, "SetFloatGlobal", HL_ARGS(hl_f64(2.5)));
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 1.5); /* xmm15 survives calls (nothing else uses it) */
    CHECK_F64_EQ(F64_CALL(sb, "GetFloatGlobal"), 2.5);
    hl_snapshot *s = SNAP(sb);
    CALL_OK(sb, HL_TYPE_VOID, "SetXmm", HL_ARGS(hl_f64(7.0)));
    CALL_OK(sb, HL_TYPE_VOID, "SetFloatGlobal", HL_ARGS(hl_f64(8.0)));
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 7.0);
    CHECK_F64_EQ(F64_CALL(sb, "GetFloatGlobal"), 8.0);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 1.5);
    CHECK_F64_EQ(F64_CALL(sb, "GetFloatGlobal"), 2.5);
    hl_sandbox *d = FROM(NULL, s); /* a new vCPU gets the same registers */
    CHECK_F64_EQ(F64_CALL(d, "GetXmm"), 1.5);
    CHECK_F64_EQ(F64_CALL(d, "GetFloatGlobal"), 2.5);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* When every XMM register is zero the CPU's XSAVE marks SSE state as "initial"; a restore must
 * still load the snapshot's registers rather than leave them zero. */
TEST(restore_brings_back_xmm_registers_after_the_guest_zeroed_them_all)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_OK(sb, HL_TYPE_VOID, "SetXmm", HL_ARGS(hl_f64(1.5)));
    hl_snapshot *s = SNAP(sb);
    CALL_OK(sb, HL_TYPE_VOID, "ZeroXmm", NULL, 0);
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 0.0);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 1.5);
    CALL_OK(sb, HL_TYPE_VOID, "ZeroXmm", NULL, 0);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_F64_EQ(F64_CALL(sb, "GetXmm"), 1.5);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

#define MXCSR_DEFAULT 0x1f80u
#define MXCSR_RC_DOWN 0x2000u
#define MXCSR_RC_ZERO 0x6000u

TEST(restore_brings_back_mxcsr)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *s0 = SNAP(sb);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT);
    CHECK_EQ(
        CALL_OK(sb, HL_TYPE_U32, "SetMxcsr", HL_ARGS(hl_u32(MXCSR_DEFAULT | MXCSR_RC_ZERO))).as.u32,
        MXCSR_DEFAULT);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT | MXCSR_RC_ZERO);
    hl_snapshot *s1 = SNAP(sb);
    CALL_OK(sb, HL_TYPE_U32, "SetMxcsr", HL_ARGS(hl_u32(MXCSR_DEFAULT | MXCSR_RC_DOWN)));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT | MXCSR_RC_DOWN);
    CHECK_OK(hl_sandbox_restore(sb, s1));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT | MXCSR_RC_ZERO);
    CHECK_OK(hl_sandbox_restore(sb, s0));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT);
    hl_sandbox *d = FROM(NULL, s1);
    CHECK_EQ(CALL_OK(d, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT | MXCSR_RC_ZERO);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s0);
    hl_snapshot_release(s1);
    hl_sandbox_destroy(sb);
}

/* ---- snapshots that do not fit, bad arguments, wrong states ---- */
/* `s` must not fit `sb`: HL_EMISMATCH with `detail`, and sb is left exactly as it was. */
static void check_mismatch(hl_sandbox *sb, hl_snapshot *s, const char *detail)
{
    int32_t before = GET(sb);
    CHECK_RC(hl_sandbox_restore(sb, s), HL_EMISMATCH);
    CHECK_ERROR_IS(detail);
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(GET(sb), before);
    CHECK_EQ(ADD(sb, 1), before + 1);
}

TEST(restore_of_another_guest_fails_with_EMISMATCH)
{
    hl_sandbox *sb = ready_sandbox(NULL), *other = NULL;
    CHECK_EQ(ADD(sb, 4), 4);
    CHECK_OK(hl_sandbox_new(NULL, other_guest_path(), &other));
    CHECK_OK(hl_sandbox_init(other));
    CHECK_EQ(ADD(other, 100), 100);
    hl_snapshot *s = SNAP(other);
    check_mismatch(sb, s, "snapshot is of another guest ELF or configuration");
    hl_snapshot *mine = SNAP(sb);
    check_mismatch(other, mine, "snapshot is of another guest ELF or configuration");
    hl_snapshot_release(mine);
    hl_snapshot_release(s);
    hl_sandbox_destroy(other);
    hl_sandbox_destroy(sb);
}

TEST(restore_with_another_heap_size_fails_with_EMISMATCH)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.heap_size = 2 * 1024 * 1024;
    hl_sandbox *sb = ready_sandbox(NULL), *big = ready_sandbox(&cfg);
    CHECK_EQ(ADD(sb, 4), 4);
    hl_snapshot *s = SNAP(big);
    check_mismatch(sb, s, "snapshot is of another guest ELF or configuration");
    hl_snapshot_release(s);
    hl_sandbox_destroy(big);
    hl_sandbox_destroy(sb);
}

/* ---- host functions ---- */
/* Which host function ran, by its `user` pointer, and what it could do from inside a call. */
typedef struct host_ctx {
    const char *tag;
    int calls;
    hl_sandbox *sb;
    hl_snapshot *snap;
    int snapshot_rc, restore_rc;
    char snapshot_error[256], restore_error[256];
} host_ctx;

static int host_echo(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    host_ctx *c = user;
    CHECK_EQ(nargs, 1);
    c->calls++;
    *ret = args[0].as.str.len ? hl_str(c->tag) : args[0];
    return 0;
}

static int host_add(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)nargs;
    *ret = hl_i32(args[0].as.i32 + args[1].as.i32);
    return 0;
}

/* Tries hl_sandbox_snapshot / hl_sandbox_restore on its own sandbox from inside the call. */
static int host_reenter(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    host_ctx *c = user;
    hl_snapshot *s = NULL;
    (void)nargs;
    c->calls++;
    if (c->snap) {
        c->restore_rc = hl_sandbox_restore(c->sb, c->snap);
        snprintf(c->restore_error, sizeof c->restore_error, "%s", hl_last_error());
    } else {
        c->snapshot_rc = hl_sandbox_snapshot(c->sb, &s);
        snprintf(c->snapshot_error, sizeof c->snapshot_error, "%s", hl_last_error());
        CHECK(s == NULL);
    }
    *ret = args[0];
    return 0;
}

static hl_sandbox *sandbox_with_host_echo(host_ctx *ctx, hl_host_fn fn)
{
    hl_sandbox *sb = new_sandbox(NULL);
    CHECK_OK(
        hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), fn, ctx));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

TEST(restore_with_other_host_functions_fails_with_EMISMATCH)
{
    host_ctx ctx = {"A", 0, NULL, NULL, 0, 0, "", ""};
    hl_sandbox *plain = ready_sandbox(NULL), *hosted = sandbox_with_host_echo(&ctx, host_echo);
    hl_snapshot *ps = SNAP(plain), *hs = SNAP(hosted);
    check_mismatch(plain, hs, "snapshot was taken with other host functions");
    check_mismatch(hosted, ps, "snapshot was taken with other host functions");
    /* same name, another signature */
    hl_sandbox *typed = new_sandbox(NULL);
    CHECK_OK(hl_sandbox_register(typed, "HostEcho", HL_TYPE_I32,
                                 HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32), host_add, NULL));
    CHECK_OK(hl_sandbox_init(typed));
    check_mismatch(typed, hs, "snapshot was taken with other host functions");
    hl_snapshot_release(ps);
    hl_snapshot_release(hs);
    hl_sandbox_destroy(typed);
    hl_sandbox_destroy(hosted);
    hl_sandbox_destroy(plain);
}

TEST(null_arguments_fail_with_EINVAL)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *s = SNAP(sb), *out = (hl_snapshot *)(uintptr_t)1;
    hl_sandbox *sbout = (hl_sandbox *)(uintptr_t)1;
    CHECK_RC(hl_sandbox_snapshot(NULL, &out), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_snapshot: sandbox and out must not be NULL");
    CHECK_RC(hl_sandbox_snapshot(sb, NULL), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_snapshot: sandbox and out must not be NULL");
    CHECK_RC(hl_sandbox_restore(NULL, s), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_restore: sandbox and snapshot must not be NULL");
    CHECK_RC(hl_sandbox_restore(sb, NULL), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_restore: sandbox and snapshot must not be NULL");
    CHECK_RC(hl_sandbox_new_from_snapshot(NULL, NULL, &sbout), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_new_from_snapshot: snapshot and out must not be NULL");
    CHECK_RC(hl_sandbox_new_from_snapshot(NULL, s, NULL), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_new_from_snapshot: snapshot and out must not be NULL");
    CHECK(out == (hl_snapshot *)(uintptr_t)1); /* out-parameters are written only on success */
    CHECK(sbout == (hl_sandbox *)(uintptr_t)1);
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(ADD(sb, 2), 2);
    hl_snapshot_release(NULL);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(snapshot_before_init_fails_with_ESTATE)
{
    hl_sandbox *sb = new_sandbox(NULL);
    hl_snapshot *s = NULL;
    CHECK_RC(hl_sandbox_snapshot(sb, &s), HL_ESTATE);
    CHECK_ERROR_IS("cannot snapshot a sandbox before it is initialised");
    CHECK(s == NULL);
    CHECK_OK(hl_sandbox_init(sb)); /* nothing was spoiled */
    CHECK_EQ(ADD(sb, 2), 2);
    hl_sandbox_destroy(sb);
}

TEST(snapshot_of_a_poisoned_sandbox_fails_with_EPOISONED)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *good = SNAP(sb), *s = NULL;
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(1)));
    CHECK_RC(hl_sandbox_snapshot(sb, &s), HL_EPOISONED);
    CHECK_ERROR_IS("cannot snapshot a poisoned sandbox (restore it first)");
    CHECK(s == NULL);
    CHECK_OK(hl_sandbox_restore(sb, good));
    s = SNAP(sb);
    CHECK(s == good); /* nothing ran since the restore */
    hl_snapshot_release(s);
    hl_snapshot_release(good);
    hl_sandbox_destroy(sb);
}

TEST(snapshot_from_inside_a_host_function_fails_with_ESTATE)
{
    host_ctx ctx = {"A", 0, NULL, NULL, 0, 0, "", ""};
    hl_sandbox *sb = sandbox_with_host_echo(&ctx, host_reenter);
    ctx.sb = sb;
    CHECK_EQ(ADD(sb, 8), 8);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("in"))), "in");
    CHECK_EQ(ctx.calls, 1);
    CHECK_RC(ctx.snapshot_rc, HL_ESTATE);
    CHECK_STREQ(ctx.snapshot_error, "snapshot: not allowed inside a call");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(ADD(sb, 1), 9);
    hl_sandbox_destroy(sb);
}

/* Refusing must leave the running call and the sandbox alone. */
TEST(restore_from_inside_a_host_function_fails_with_ESTATE)
{
    host_ctx ctx = {"A", 0, NULL, NULL, 0, 0, "", ""};
    hl_sandbox *sb = sandbox_with_host_echo(&ctx, host_reenter);
    ctx.sb = sb;
    ctx.snap = SNAP(sb);
    CHECK_EQ(ADD(sb, 8), 8);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("in"))), "in");
    CHECK_EQ(ctx.calls, 1);
    CHECK_RC(ctx.restore_rc, HL_ESTATE);
    CHECK_STREQ(ctx.restore_error, "restore: not allowed inside a call");
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(ADD(sb, 1), 9);
    hl_snapshot_release(ctx.snap);
    hl_sandbox_destroy(sb);
}

/* ---- sandboxes made from a snapshot ---- */
TEST(sandbox_from_snapshot_is_ready_without_init)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox *d = FROM(NULL, s);
    CHECK(!hl_sandbox_is_poisoned(d));
    CHECK_EQ(GET(d), 5);
    CHECK_STR_VALUE(CALL_OK(d, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("derived"))), "derived");
    hl_type ret;
    size_t nparams = 9;
    CHECK_OK(hl_sandbox_guest_function(d, "AddToStatic", &ret, NULL, &nparams));
    CHECK_EQ(ret, HL_TYPE_I32);
    CHECK_EQ(nparams, 1);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(sandboxes_from_one_snapshot_do_not_see_each_others_writes)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox *d1 = FROM(NULL, s), *d2 = FROM(NULL, s);
    CHECK_EQ(ADD(d1, 1), 6);
    CHECK_EQ(ADD(d2, 100), 105);
    CHECK_EQ(CALL_OK(d1, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    CHECK_EQ(GET(d1), 6);
    CHECK_EQ(GET(d2), 105);
    CHECK_EQ(GET(sb), 5);
    CHECK_U64_EQ(U64_CALL(d2, "BigStaticSum", NULL, 0), 0);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
    CHECK_U64_EQ(U64_CALL(d1, "BigStaticSum", NULL, 0), BIG_STATIC_SUM);
    CHECK_EQ(ADD(sb, 1000), 1005);
    CHECK_EQ(GET(d1), 6);
    CHECK_EQ(GET(d2), 105);
    hl_sandbox *d3 = FROM(NULL, s); /* the snapshot itself is untouched */
    CHECK_EQ(GET(d3), 5);
    CHECK_U64_EQ(U64_CALL(d3, "BigStaticSum", NULL, 0), 0);
    CHECK_OK(hl_sandbox_restore(d1, s)); /* d1's base: only its own pages go back */
    CHECK_EQ(GET(d1), 5);
    CHECK_U64_EQ(U64_CALL(d1, "BigStaticSum", NULL, 0), 0);
    CHECK_EQ(GET(d2), 105);
    hl_sandbox_destroy(d3);
    hl_sandbox_destroy(d2);
    hl_sandbox_destroy(d1);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(sandboxes_from_snapshot_outlive_its_source_and_reference)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox *d1 = FROM(NULL, s), *d2 = FROM(NULL, s);
    hl_sandbox_destroy(sb);
    hl_snapshot_release(s); /* d1 and d2 still hold it */
    CHECK_EQ(ADD(d1, 1), 6);
    CHECK_EQ(ADD(d2, 2), 7);
    hl_snapshot *again = SNAP(d1); /* d1 changed since: a new snapshot of d1 */
    hl_sandbox_destroy(d1);
    CHECK_EQ(GET(d2), 7);
    hl_sandbox *d3 = FROM(NULL, again);
    hl_snapshot_release(again);
    CHECK_EQ(GET(d3), 6);
    CHECK_EQ(ADD(d3, 10), 16);
    CHECK_EQ(GET(d2), 7);
    hl_sandbox_destroy(d2);
    hl_sandbox_destroy(d3);
}

TEST(sandbox_from_snapshot_with_host_functions_needs_them_and_init)
{
    host_ctx a = {"from A", 0, NULL, NULL, 0, 0, "", ""};
    host_ctx b = {"from B", 0, NULL, NULL, 0, 0, "", ""};
    hl_sandbox *sb = sandbox_with_host_echo(&a, host_echo);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("x"))), "from A");
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);

    hl_sandbox *d = FROM(NULL, s);
    CALL_FAILS(d, HL_ESTATE, "GetStatic", NULL, 0);
    CHECK_ERROR_IS("sandbox is not initialised (call hl_sandbox_init first)");
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH); /* nothing registered */
    CHECK_ERROR_IS("registered host functions differ from those the snapshot was taken with "
                   "(same names and signatures needed)");
    hl_sandbox_destroy(d);

    d = FROM(NULL, s); /* same name, another signature */
    CHECK_OK(hl_sandbox_register(d, "HostEcho", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32),
                                 host_add, NULL));
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH);
    CALL_FAILS(d, HL_ESTATE, "GetStatic", NULL, 0);
    hl_sandbox_destroy(d);

    d = FROM(NULL, s); /* one function too many */
    CHECK_OK(hl_sandbox_register(d, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, &b));
    CHECK_OK(hl_sandbox_register(d, "HostAdd", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32),
                                 host_add, NULL));
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH);
    hl_sandbox_destroy(d);

    d = FROM(NULL, s); /* the right one, with another callback */
    CHECK_OK(hl_sandbox_register(d, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, &b));
    CHECK_OK(hl_sandbox_init(d));
    CHECK_EQ(GET(d), 5);
    CHECK_STR_VALUE(CALL_OK(d, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("x"))), "from B");
    CHECK_EQ(a.calls, 1);
    CHECK_EQ(b.calls, 1);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("x"))), "from A");
    CHECK_EQ(a.calls, 2);
    CHECK_EQ(b.calls, 1);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* Destroyed sandboxes may leave their VM to the next one (hl_vm_pool_set_size): whatever state
 * the last guest left it in, a sandbox from a snapshot or an ELF starts clean. */
TEST(sandboxes_start_clean_after_others_died_in_every_way)
{
    static const struct {
        const char *name;
        int32_t arg, nargs, code;
    } deaths[] = {{"GuestAbortWithCode", 3, 1, HL_EABORT},
                  {"ExecuteOnStack", 0, 0, HL_EFAULT},
                  {"StackOverflow", 0, 1, HL_ESTACKOVERFLOW},
                  {"Spin", 0, 0, HL_ETIMEOUT},
                  {"ZeroXmm", 0, 0, 0},
                  {"SetXmm", 0, 1, 0}};
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 50;
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    CALL_OK(sb, HL_TYPE_VOID, "SetXmm", HL_ARGS(hl_f64(1.5)));
    hl_snapshot *s = SNAP(sb);
    for (size_t i = 0; i < COUNT_OF(deaths); i++) {
        for (int from_snapshot = 0; from_snapshot <= 1; from_snapshot++) {
            hl_sandbox *victim = from_snapshot ? FROM(&cfg, s) : ready_sandbox(&cfg);
            hl_value arg =
                strcmp(deaths[i].name, "SetXmm") == 0 ? hl_f64(1234.5) : hl_i32(deaths[i].arg);
            CALL_OK(victim, HL_TYPE_U32, "SetMxcsr", HL_ARGS(hl_u32(MXCSR_DEFAULT | 0x6000)));
            hl_value r;
            CHECK_RC(hl_sandbox_call(victim, deaths[i].name, &arg, (size_t)deaths[i].nargs, &r),
                     deaths[i].code);
            hl_sandbox_destroy(victim);
            hl_sandbox *d = FROM(NULL, s);
            CHECK_EQ(GET(d), 5);
            CHECK_F64_EQ(F64_CALL(d, "GetXmm"), 1.5);
            CHECK_EQ(CALL_OK(d, HL_TYPE_U32, "GetMxcsr", NULL, 0).as.u32, MXCSR_DEFAULT);
            hl_sandbox_destroy(d);
            victim = from_snapshot ? FROM(&cfg, s) : ready_sandbox(&cfg);
            CALL_OK(victim, HL_TYPE_VOID, "SetXmm", HL_ARGS(hl_f64(99.0)));
            CHECK_RC(hl_sandbox_call(victim, deaths[i].name, &arg, (size_t)deaths[i].nargs, &r),
                     deaths[i].code);
            hl_sandbox_destroy(victim);
            hl_sandbox *fresh = ready_sandbox(NULL); /* no register of another guest leaks in */
            CHECK_EQ(GET(fresh), 0);
            CHECK_F64_EQ(F64_CALL(fresh, "GetXmm"), 0.0);
            hl_sandbox_destroy(fresh);
        }
    }
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* A restore loads registers lazily (applied by the next run); a sandbox destroyed before that run
 * must not hand them to the next sandbox that gets its VM. */
TEST(sandbox_destroyed_right_after_a_restore_leaves_nothing_behind)
{
    for (int i = 0; i < 3; i++) {
        hl_sandbox *sb = ready_sandbox(NULL);
        hl_snapshot *s = SNAP(sb);
        CHECK_EQ(ADD(sb, 7), 7);
        CHECK_OK(hl_sandbox_restore(sb, s));
        hl_sandbox_destroy(sb);
        hl_sandbox *fresh = ready_sandbox(NULL);
        CHECK_EQ(GET(fresh), 0);
        CHECK_EQ(ADD(fresh, 2), 2);
        hl_sandbox_destroy(fresh);
        hl_sandbox *d = FROM(NULL, s);
        CHECK_EQ(GET(d), 0);
        CHECK_OK(hl_sandbox_restore(d, s));
        hl_sandbox_destroy(d);
        hl_snapshot_release(s);
    }
}

/* hl_sandbox_guest_function: "*params points into the sandbox (valid until destroy)", restores
 * of other snapshots included (run under SANITIZE=1 to see a use after free). */
TEST(guest_function_signature_stays_valid_across_restores)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_snapshot *a = SNAP(sb);
    CHECK_EQ(ADD(sb, 1), 1);
    hl_snapshot *b = SNAP(sb);
    const hl_type *params = NULL;
    size_t n = 0;
    hl_type ret;
    CHECK_OK(hl_sandbox_guest_function(sb, "PrintElevenArgs", &ret, &params, &n));
    CHECK_EQ(n, 11);
    CHECK_OK(hl_sandbox_restore(sb, a)); /* not the base: memory and tables are replaced */
    CHECK_OK(hl_sandbox_restore(sb, b));
    static const hl_type expect[11] = {HL_TYPE_STRING, HL_TYPE_I32,  HL_TYPE_I64,  HL_TYPE_STRING,
                                       HL_TYPE_STRING, HL_TYPE_BOOL, HL_TYPE_BOOL, HL_TYPE_U32,
                                       HL_TYPE_U64,    HL_TYPE_F32,  HL_TYPE_F64};
    for (size_t i = 0; i < 11; i++)
        CHECK_EQ(params[i], expect[i]);
    hl_snapshot_release(a);
    hl_snapshot_release(b);
    hl_sandbox_destroy(sb);
}

/* One snapshot used by several threads at once: sandboxes made from it, restored to it,
 * destroyed, and references released, all concurrently. */
typedef struct snap_worker {
    hl_snapshot *snap;
    int id;
    int rounds;
} snap_worker;

static void *use_snapshot(void *arg)
{
    snap_worker *w = arg;
    for (int i = 0; i < 15; i++) {
        hl_sandbox *d = FROM(NULL, w->snap);
        CHECK_EQ(ADD(d, w->id), 5 + w->id);
        CHECK_OK(hl_sandbox_restore(d, w->snap));
        CHECK_EQ(ADD(d, i), 5 + i);
        hl_snapshot *own = SNAP(d);
        CHECK(own != w->snap);
        CHECK_OK(hl_sandbox_restore(d, w->snap));
        CHECK_EQ(GET(d), 5);
        CHECK_OK(hl_sandbox_restore(d, own));
        CHECK_EQ(GET(d), 5 + i);
        hl_snapshot_release(own);
        hl_sandbox_destroy(d);
        w->rounds++;
    }
    return NULL;
}

TEST(one_snapshot_used_from_several_threads_at_once)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 5), 5);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox_destroy(sb); /* the threads' sandboxes hold the only other references */
    pthread_t t[4];
    snap_worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (snap_worker){s, i + 1, 0};
        CHECK_EQ(pthread_create(&t[i], NULL, use_snapshot, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(pthread_join(t[i], NULL), 0);
        CHECK_EQ(w[i].rounds, 15);
    }
    hl_sandbox *d = FROM(NULL, s);
    CHECK_EQ(GET(d), 5);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s);
}

/* ---- a thousand sandboxes from one snapshot ---- */
#if defined(__SANITIZE_ADDRESS__)
#define HL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_TEST_ASAN 1
#endif
#endif
#ifndef HL_TEST_ASAN
#define HL_TEST_ASAN 0
#endif

#define MANY 1000
#define FDS_PER_SANDBOX 2 /* the VM and its vCPU */

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    CHECK(d != NULL);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* A "Name:  123 kB" line of a /proc file, in KiB. */
static long proc_kib(const char *path, const char *name)
{
    FILE *f = fopen(path, "r");
    char line[256];
    long v = -1;
    size_t n = strlen(name);
    CHECK(f != NULL);
    while (v < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            v = strtol(line + n + 1, NULL, 10);
    fclose(f);
    CHECK(v >= 0);
    return v;
}

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Makes room for `need` more descriptors, or skips. */
static void need_fds(int need)
{
    struct rlimit rl;
    CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0);
    if (rl.rlim_cur >= (rlim_t)need)
        return;
    if (rl.rlim_max < (rlim_t)need)
        SKIP("%d sandboxes need %d file descriptors; the hard limit is %llu", MANY, need,
             (unsigned long long)rl.rlim_max);
    rl.rlim_cur = (rlim_t)need;
    CHECK(setrlimit(RLIMIT_NOFILE, &rl) == 0);
}

TEST(thousand_sandboxes_from_one_snapshot)
{
    static hl_sandbox *many[MANY];
    need_fds(FDS_PER_SANDBOX * MANY + 64);
    require_kvm(); /* opens /dev/kvm for the life of the process */
    hl_vm_pool_drain();
    int fds_at_start = count_fds();
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 1), 1);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox_destroy(FROM(NULL, s)); /* warm up */
    hl_vm_pool_drain();                /* every sandbox below gets a new VM */
    int fds = count_fds();
    long rss = proc_kib("/proc/self/status", "VmRSS");
    long anon = proc_kib("/proc/self/status", "RssAnon");
    long avail = proc_kib("/proc/meminfo", "MemAvailable");
    double t0 = now_ms();
    for (int i = 0; i < MANY; i++) {
        many[i] = FROM(NULL, s);
        CHECK_EQ(ADD(many[i], i), 1 + i);
    }
    double t1 = now_ms();
    long rss_each = (proc_kib("/proc/self/status", "VmRSS") - rss) / MANY;
    long anon_each = (proc_kib("/proc/self/status", "RssAnon") - anon) / MANY;
    long avail_each = (avail - proc_kib("/proc/meminfo", "MemAvailable")) / MANY;
    CHECK_EQ(count_fds(), fds + FDS_PER_SANDBOX * MANY);
    CHECK_EQ(GET(many[0]), 1);
    CHECK_EQ(GET(many[MANY - 1]), MANY);
    for (int i = 0; i < MANY; i++)
        hl_sandbox_destroy(many[i]);
    double t2 = now_ms();
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
    hl_vm_pool_drain();
    printf("    %d sandboxes: %.0f ms to create and call once, %.0f ms to destroy; per sandbox: "
           "RSS %ld KiB (private anonymous %ld KiB; the rest is snapshot pages shared by all), "
           "MemAvailable -%ld KiB (KVM's kernel memory included)\n",
           MANY, t1 - t0, t2 - t1, rss_each, anon_each, avail_each);
    fflush(stdout);
    CHECK_EQ(count_fds(), fds_at_start); /* the source's VM and the snapshot's memfd too */
    if (HL_TEST_ASAN || getenv("HL_TEST_UNDER_VALGRIND"))
        return;
    /* a sandbox that copied guest memory instead of sharing it would cost megabytes */
    if (rss_each > 512 || anon_each > 128)
        hl_test_fail(__FILE__, __LINE__, "per idle sandbox: RSS %ld KiB, anonymous %ld KiB",
                     rss_each, anon_each);
#ifdef __GLIBC__
    malloc_trim(0); /* freed heap the allocator keeps is not a leak */
    long left = proc_kib("/proc/self/status", "VmRSS") - rss;
    if (left > 4096)
        hl_test_fail(__FILE__, __LINE__, "RSS is %ld KiB above the start after destroying all",
                     left);
#endif
}

/* ---- reset_after_call ---- */
TEST(reset_after_call_returns_to_the_initialised_state_after_each_call)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(ADD(sb, 5), 5);
    CHECK_EQ(ADD(sb, 5), 5);
    CHECK_EQ(GET(sb), 0);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("kept"))), "kept");
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "SetStatic", NULL, 0).as.i32, 1024 * 1024);
    CHECK_U64_EQ(U64_CALL(sb, "BigStaticSum", NULL, 0), 0);
    hl_sandbox_destroy(sb);
}

TEST(reset_after_call_unpoisons_after_a_failed_call)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(3)));
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(ADD(sb, 5), 5);
    CALL_FAILS(sb, HL_EFAULT, "ExecuteOnStack", NULL, 0);
    CHECK(!hl_sandbox_is_poisoned(sb));
    CHECK_EQ(ADD(sb, 5), 5);
    hl_sandbox_destroy(sb);
}

/* The caller must still learn why the call failed, although the reset ran after it. */
TEST(reset_after_call_keeps_the_failed_calls_error_detail)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(3)));
    CHECK_ERROR_IS("guest aborted (code 3)");
    CALL_FAILS(sb, HL_EGUEST, "Fail", HL_ARGS(hl_str("no cheese")));
    CHECK_ERROR_IS("guest function 'Fail' failed: no cheese");
    hl_sandbox_destroy(sb);
}

TEST(reset_after_call_in_sandboxes_from_a_snapshot)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(ADD(sb, 10), 10);
    hl_snapshot *s = SNAP(sb);
    hl_sandbox *d = FROM(&cfg, s);
    CHECK_EQ(ADD(d, 5), 15);
    CHECK_EQ(ADD(d, 5), 15);
    CALL_FAILS(d, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(3)));
    CHECK(!hl_sandbox_is_poisoned(d));
    CHECK_EQ(GET(d), 10);
    hl_sandbox *plain = FROM(NULL, s); /* without it, state persists */
    CHECK_EQ(ADD(plain, 5), 15);
    CHECK_EQ(ADD(plain, 5), 20);
    hl_sandbox_destroy(plain);
    hl_sandbox_destroy(d);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(reset_after_call_returns_to_the_last_restored_snapshot)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *src = ready_sandbox(NULL), *sb = ready_sandbox(&cfg);
    CHECK_EQ(ADD(src, 30), 30);
    hl_snapshot *s = SNAP(src);
    CHECK_OK(hl_sandbox_restore(sb, s));
    CHECK_EQ(ADD(sb, 1), 31);
    CHECK_EQ(ADD(sb, 1), 31);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
    hl_sandbox_destroy(src);
}

static const hl_test tests[] = {
    TEST_ENTRY(restore_undoes_what_calls_did_and_without_it_state_persists),
    TEST_ENTRY(restore_two_hundred_times_gives_the_snapshot_each_time),
    TEST_ENTRY(restore_is_exact_when_more_pages_change_than_may_stay_hot),
    TEST_ENTRY(restore_reverts_heap_bss_and_stack),
    TEST_ENTRY(restore_without_a_call_in_between_is_a_noop),
    TEST_ENTRY(restore_into_another_sandbox_of_the_same_guest_and_sizes),
    TEST_ENTRY(snapshot_twice_without_a_call_returns_the_same_snapshot),
    TEST_ENTRY(restore_older_snapshot_then_newer_one),
    TEST_ENTRY(interleaved_restores_of_two_snapshots),
    TEST_ENTRY(restore_after_abort),
    TEST_ENTRY(restore_after_fault_executing_the_stack),
    TEST_ENTRY(restore_after_null_write),
    TEST_ENTRY(restore_after_time_limit),
    TEST_ENTRY(restore_after_stack_overflow),
    TEST_ENTRY(restore_after_smashed_cookie),
    TEST_ENTRY(restore_brings_back_xmm_registers_and_float_globals),
    TEST_ENTRY(restore_brings_back_xmm_registers_after_the_guest_zeroed_them_all),
    TEST_ENTRY(restore_brings_back_mxcsr),
    TEST_ENTRY(restore_of_another_guest_fails_with_EMISMATCH),
    TEST_ENTRY(restore_with_another_heap_size_fails_with_EMISMATCH),
    TEST_ENTRY(restore_with_other_host_functions_fails_with_EMISMATCH),
    TEST_ENTRY(null_arguments_fail_with_EINVAL),
    TEST_ENTRY(snapshot_before_init_fails_with_ESTATE),
    TEST_ENTRY(snapshot_of_a_poisoned_sandbox_fails_with_EPOISONED),
    TEST_ENTRY(snapshot_from_inside_a_host_function_fails_with_ESTATE),
    TEST_ENTRY(restore_from_inside_a_host_function_fails_with_ESTATE),
    TEST_ENTRY(sandbox_from_snapshot_is_ready_without_init),
    TEST_ENTRY(sandboxes_from_one_snapshot_do_not_see_each_others_writes),
    TEST_ENTRY(sandboxes_from_snapshot_outlive_its_source_and_reference),
    TEST_ENTRY(sandbox_from_snapshot_with_host_functions_needs_them_and_init),
    TEST_ENTRY(sandboxes_start_clean_after_others_died_in_every_way),
    TEST_ENTRY(sandbox_destroyed_right_after_a_restore_leaves_nothing_behind),
    TEST_ENTRY(guest_function_signature_stays_valid_across_restores),
    TEST_ENTRY(one_snapshot_used_from_several_threads_at_once),
    TEST_ENTRY(thousand_sandboxes_from_one_snapshot),
    TEST_ENTRY(reset_after_call_returns_to_the_initialised_state_after_each_call),
    TEST_ENTRY(reset_after_call_unpoisons_after_a_failed_call),
    TEST_ENTRY(reset_after_call_keeps_the_failed_calls_error_detail),
    TEST_ENTRY(reset_after_call_in_sandboxes_from_a_snapshot),
    TEST_ENTRY(reset_after_call_returns_to_the_last_restored_snapshot),
};

RUN_TESTS(tests)

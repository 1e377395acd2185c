/* test_libc.c: the C library inside real sandboxes (tests/guests/libcguest.c over newlib): stdout
 * and stderr as exact byte streams, exit/abort/assert/raise ending a call, clocks that are right
 * and advance (also after restores and in clones), randomness that never replays, and a self-test
 * of setjmp, qsort, sscanf, strftime/mktime, the standard headers and the absent file system. */
#include <hyperlight/hyperlight.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "kvm_common.h"

#define OUT_CAP (2u << 20)

typedef struct captured {
    uint8_t *bytes[3]; /* indexed by hl_stream: [1] stdout, [2] stderr */
    size_t len[3];
    size_t pieces;
} captured;

static void capture(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    captured *c = user;
    CHECK(stream == HL_STREAM_STDOUT || stream == HL_STREAM_STDERR);
    CHECK(c->len[stream] + len <= OUT_CAP);
    memcpy(c->bytes[stream] + c->len[stream], bytes, len);
    c->len[stream] += len;
    c->pieces++;
}

static void captured_init(captured *c)
{
    memset(c, 0, sizeof *c);
    c->bytes[1] = malloc(OUT_CAP);
    c->bytes[2] = malloc(OUT_CAP);
    CHECK(c->bytes[1] && c->bytes[2]);
}

static void captured_reset(captured *c)
{
    c->len[1] = c->len[2] = 0;
    c->pieces = 0;
}

static void captured_free(captured *c)
{
    free(c->bytes[1]);
    free(c->bytes[2]);
}

static const char *libc_guest(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests", "libcguest.elf");
}

/* A ready libc guest whose streams go to c (NULL: no output callback). */
static hl_sandbox *libc_sandbox(captured *c)
{
    hl_config cfg;
    hl_sandbox *sb = NULL;
    require_kvm();
    hl_config_init(&cfg);
    cfg.output_fn = c ? capture : NULL;
    cfg.output_user = c;
    CHECK_OK(hl_sandbox_new(&cfg, libc_guest(), &sb));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

#define CHECK_STREAM(c, s, text)                                                                   \
    do {                                                                                           \
        CHECK_EQ((c)->len[s], sizeof(text) - 1);                                                   \
        CHECK(memcmp((c)->bytes[s], (text), sizeof(text) - 1) == 0);                               \
    } while (0)

/* ---- streams ---- */
TEST(init_output_arrives_when_init_ends)
{
    captured c;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    CHECK_STREAM(&c, 1, "init says hello\n");
    CHECK_EQ(c.len[2], 0);
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(binary_output_is_exact_to_the_byte_on_both_streams)
{
    static const uint8_t binary[] = {'a', 0, 0xff, 0xc3, 0x28, '\n', 0x80, 0, 'z'};
    captured c;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    captured_reset(&c);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U64, "WriteBytes", HL_ARGS(hl_i32(1), hl_bytes(binary, 9))).as.u64,
             9);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U64, "WriteBytes", HL_ARGS(hl_i32(2), hl_bytes(binary, 3))).as.u64,
             3);
    CHECK_EQ(c.len[1], 9);
    CHECK(memcmp(c.bytes[1], binary, 9) == 0); /* left in the buffer: flushed as the call ended */
    CHECK_EQ(c.len[2], 3);
    CHECK(memcmp(c.bytes[2], binary, 3) == 0);
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(one_mebibyte_of_output_arrives_whole_and_in_order)
{
    const uint64_t n = 1u << 20;
    captured c;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    captured_reset(&c);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U64, "PrintPattern", HL_ARGS(hl_u64(n))).as.u64, n);
    CHECK_EQ(c.len[1], n);
    for (uint64_t i = 0; i < n; i++)
        if (c.bytes[1][i] != (uint8_t)(i % 251))
            CHECK_EQ(i, n); /* names the first wrong byte */
    CHECK(c.pieces > 1);    /* a full buffer is flushed while the call runs */
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(output_just_before_an_abort_reaches_the_host)
{
    captured c;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    captured_reset(&c);
    CALL_FAILS(sb, HL_EABORT, "PrintThenAbort", HL_ARGS(hl_str("last words")));
    CHECK_ERROR_HAS("guest aborted (code 134): the guest raised signal 6 (abort)");
    CHECK_STREAM(&c, 1, "last words");
    CHECK_STREAM(&c, 2, "err-before-abort");
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(output_of_a_call_is_not_replayed_after_a_restore)
{
    captured c;
    hl_snapshot *snap = NULL;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    captured_reset(&c);
    CALL_OK(sb, HL_TYPE_U64, "WriteBytes", HL_ARGS(hl_i32(1), hl_bytes("once", 4)));
    CHECK_OK(hl_sandbox_restore(sb, snap));
    CALL_OK(sb, HL_TYPE_U64, "WriteBytes", HL_ARGS(hl_i32(1), hl_bytes("twice", 5)));
    CHECK_STREAM(&c, 1, "oncetwice");
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(without_an_output_callback_output_is_dropped)
{
    hl_sandbox *sb = libc_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_U64, "PrintPattern", HL_ARGS(hl_u64(100000))).as.u64, 100000);
    hl_sandbox_destroy(sb);
}

static hl_sandbox *reentered;
static int reenter_rc;

static void reenter_from_output(void *user, hl_stream stream, const uint8_t *bytes, size_t len)
{
    hl_value r;
    (void)user, (void)stream, (void)bytes, (void)len;
    reenter_rc = hl_sandbox_call(reentered, "Rand", NULL, 0, &r);
}

TEST(output_callback_cannot_reenter_its_sandbox)
{
    hl_config cfg;
    require_kvm();
    hl_config_init(&cfg);
    cfg.output_fn = reenter_from_output;
    CHECK_OK(hl_sandbox_new(&cfg, libc_guest(), &reentered));
    CHECK_OK(hl_sandbox_init(reentered)); /* init prints: the callback's call is refused */
    CHECK_EQ(reenter_rc, HL_ESTATE);
    CALL_OK(reentered, HL_TYPE_I32, "Rand", NULL, 0);
    hl_sandbox_destroy(reentered);
}

/* ---- ending a call ---- */
TEST(exit_3_ends_the_call_with_code_3_after_atexit_and_flush)
{
    captured c;
    captured_init(&c);
    hl_sandbox *sb = libc_sandbox(&c);
    captured_reset(&c);
    CALL_FAILS(sb, HL_EABORT, "Exit", HL_ARGS(hl_i32(3)));
    CHECK_ERROR_HAS("guest aborted (code 3): the guest called exit(3)");
    CHECK_STREAM(&c, 1, "bye atexit");
    CHECK(hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
    captured_free(&c);
}

TEST(raise_and_a_failed_assert_end_the_call_with_their_codes)
{
    hl_sandbox *sb = libc_sandbox(NULL);
    CALL_FAILS(sb, HL_EABORT, "Raise", HL_ARGS(hl_i32(15)));
    CHECK_ERROR_HAS("guest aborted (code 143): the guest raised signal 15");
    hl_sandbox_destroy(sb);
    sb = libc_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AssertTrue", HL_ARGS(hl_i32(1))).as.i32, 1);
    CALL_FAILS(sb, HL_EABORT, "AssertTrue", HL_ARGS(hl_i32(0)));
    CHECK_ERROR_HAS("guest aborted (code 134): assertion failed: args[0].as.i32 != 0 (");
    CHECK_ERROR_HAS("libcguest.c:");
    hl_sandbox_destroy(sb);
}

/* ---- time ---- */
static uint64_t host_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#define SLACK_NS 2000000000ull /* the guest's clock is the host's to within this */

static void check_clocks_match_host(hl_sandbox *sb)
{
    uint64_t before = host_ns(CLOCK_REALTIME);
    uint64_t guest = CALL_OK(sb, HL_TYPE_U64, "Realtime", NULL, 0).as.u64;
    uint64_t after = host_ns(CLOCK_REALTIME);
    CHECK(guest + SLACK_NS >= before && guest <= after + SLACK_NS);
    before = host_ns(CLOCK_MONOTONIC);
    guest = CALL_OK(sb, HL_TYPE_U64, "Monotonic", NULL, 0).as.u64;
    after = host_ns(CLOCK_MONOTONIC);
    CHECK(guest + SLACK_NS >= before && guest <= after + SLACK_NS);
}

TEST(clocks_are_the_hosts_and_advance_within_a_call)
{
    hl_sandbox *sb = libc_sandbox(NULL);
    check_clocks_match_host(sb);
    /* clock() advances with MONOTONIC: 50 ms of spinning is 50 ticks of CLOCKS_PER_SEC 1000 */
    int64_t ticks = CALL_OK(sb, HL_TYPE_I64, "SpinMonotonic", HL_ARGS(hl_i32(50))).as.i64;
    CHECK(ticks >= 45 && ticks <= 5000);
    hl_value v = CALL_OK(sb, HL_TYPE_STRING, "TimeAndDay", NULL, 0);
    long long t, tv_sec, tv_usec, clk;
    CHECK_EQ(sscanf(v.as.str.ptr, "%lld %lld %lld %lld", &t, &tv_sec, &tv_usec, &clk), 4);
    long long now = (long long)time(NULL);
    CHECK(t >= now - 2 && t <= now + 2 && tv_sec >= t - 1 && tv_sec <= t + 1);
    CHECK(tv_usec >= 0 && tv_usec < 1000000 && clk >= ticks);
    hl_sandbox_destroy(sb);
}

TEST(clocks_are_right_after_restores_and_in_clones)
{
    hl_snapshot *snap = NULL;
    hl_sandbox *sb = libc_sandbox(NULL), *clone = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    struct timespec pause = {0, 30000000};
    nanosleep(&pause, NULL);
    CHECK_OK(hl_sandbox_restore(sb, snap));
    check_clocks_match_host(sb);
    uint64_t m1 = CALL_OK(sb, HL_TYPE_U64, "Monotonic", NULL, 0).as.u64;
    CHECK_OK(hl_sandbox_restore(sb, snap));
    uint64_t m2 = CALL_OK(sb, HL_TYPE_U64, "Monotonic", NULL, 0).as.u64;
    CHECK(m2 > m1); /* restored memory, but the host's clock went on */
    CHECK_OK(hl_sandbox_new_from_snapshot(NULL, snap, &clone));
    check_clocks_match_host(clone);
    hl_sandbox_destroy(clone);
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

/* ---- randomness ---- */
typedef struct draw {
    int32_t rand;
    uint8_t entropy[52];
} draw;

static draw draw_from(hl_sandbox *sb)
{
    draw d;
    d.rand = CALL_OK(sb, HL_TYPE_I32, "Rand", NULL, 0).as.i32;
    hl_value e = CALL_OK(sb, HL_TYPE_BYTES, "Entropy", NULL, 0);
    CHECK_EQ(e.as.bytes.len, sizeof d.entropy);
    memcpy(d.entropy, e.as.bytes.ptr, sizeof d.entropy);
    return d;
}

static void check_differ(const draw *a, const draw *b)
{
    CHECK(a->rand != b->rand);
    for (size_t i = 0; i < sizeof a->entropy; i += 4)
        CHECK(memcmp(a->entropy + i, b->entropy + i, 4) != 0);
}

TEST(randomness_never_replays_across_restores_and_clones)
{
    hl_snapshot *snap = NULL;
    hl_sandbox *sb = libc_sandbox(NULL), *c1 = NULL, *c2 = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    draw a = draw_from(sb);
    CHECK_OK(hl_sandbox_restore(sb, snap));
    draw b = draw_from(sb);
    CHECK_OK(hl_sandbox_restore(sb, snap));
    draw c = draw_from(sb);
    check_differ(&a, &b);
    check_differ(&b, &c);
    check_differ(&a, &c);
    CHECK_OK(hl_sandbox_new_from_snapshot(NULL, snap, &c1));
    CHECK_OK(hl_sandbox_new_from_snapshot(NULL, snap, &c2));
    draw d1 = draw_from(c1), d2 = draw_from(c2);
    check_differ(&d1, &d2);
    check_differ(&a, &d1);
    hl_sandbox_destroy(c1);
    hl_sandbox_destroy(c2);
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

TEST(srand_keeps_its_deterministic_sequence_across_restores)
{
    hl_snapshot *snap = NULL;
    hl_sandbox *sb = libc_sandbox(NULL);
    CALL_OK(sb, HL_TYPE_VOID, "Srand", HL_ARGS(hl_i32(1)));
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    int32_t first = CALL_OK(sb, HL_TYPE_I32, "Rand", NULL, 0).as.i32;
    CHECK_EQ(first, 1481765933); /* newlib's rand() after srand(1) */
    CHECK_OK(hl_sandbox_restore(sb, snap));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Rand", NULL, 0).as.i32, first);
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

/* ---- the rest of the library ---- */
TEST(libc_self_test_passes)
{
    hl_sandbox *sb = libc_sandbox(NULL);
    hl_value v = CALL_OK(sb, HL_TYPE_STRING, "LibcSelfTest", NULL, 0);
    CHECK_STREQ(v.as.str.ptr, "ok");
    hl_sandbox_destroy(sb);
}

/* _Thread_local and __thread, initialised, zeroed and 64-byte aligned, in the one thread: set up
 * by the host below the thread pointer; restores and clones give them back their snapshot's
 * values, like any memory. */
TEST(thread_local_variables_work_and_follow_snapshots)
{
    hl_sandbox *sb = libc_sandbox(NULL), *clone = NULL;
    hl_snapshot *snap = NULL;
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Tls", NULL, 0).as.i32, 41);
    CHECK_OK(hl_sandbox_snapshot(sb, &snap));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Tls", NULL, 0).as.i32, 42);
    CHECK_OK(hl_sandbox_restore(sb, snap));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Tls", NULL, 0).as.i32, 42);
    CHECK_OK(hl_sandbox_new_from_snapshot(NULL, snap, &clone));
    CHECK_EQ(CALL_OK(clone, HL_TYPE_I32, "Tls", NULL, 0).as.i32, 42);
    CHECK_EQ(CALL_OK(clone, HL_TYPE_I32, "Tls", NULL, 0).as.i32, 43);
    hl_sandbox_destroy(clone);
    hl_snapshot_release(snap);
    hl_sandbox_destroy(sb);
}

static const hl_test tests[] = {
    TEST_ENTRY(init_output_arrives_when_init_ends),
    TEST_ENTRY(binary_output_is_exact_to_the_byte_on_both_streams),
    TEST_ENTRY(one_mebibyte_of_output_arrives_whole_and_in_order),
    TEST_ENTRY(output_just_before_an_abort_reaches_the_host),
    TEST_ENTRY(output_of_a_call_is_not_replayed_after_a_restore),
    TEST_ENTRY(without_an_output_callback_output_is_dropped),
    TEST_ENTRY(output_callback_cannot_reenter_its_sandbox),
    TEST_ENTRY(exit_3_ends_the_call_with_code_3_after_atexit_and_flush),
    TEST_ENTRY(raise_and_a_failed_assert_end_the_call_with_their_codes),
    TEST_ENTRY(clocks_are_the_hosts_and_advance_within_a_call),
    TEST_ENTRY(clocks_are_right_after_restores_and_in_clones),
    TEST_ENTRY(randomness_never_replays_across_restores_and_clones),
    TEST_ENTRY(srand_keeps_its_deterministic_sequence_across_restores),
    TEST_ENTRY(libc_self_test_passes),
    TEST_ENTRY(thread_local_variables_work_and_follow_snapshots),
};

RUN_TESTS(tests)

/* test_faults.c: calls that end badly: aborts, asserts, heap corruption, stack overflows, NX and
 * write-protection faults, stray addresses, privileged instructions and ports, the stack cookie,
 * time limits; each poisons the sandbox so that every later call fails with HL_EPOISONED. */
#include <pthread.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

/* After a call that poisoned sb: is_poisoned, and calls and init refuse with HL_EPOISONED. */
static void check_poisoned(hl_sandbox *sb)
{
    CHECK(hl_sandbox_is_poisoned(sb));
    CALL_FAILS(sb, HL_EPOISONED, "Echo", HL_ARGS(hl_str("x")));
    CHECK_ERROR_IS("sandbox is poisoned by an earlier failure");
    CALL_FAILS(sb, HL_EPOISONED, "GetStatic", NULL, 0);
    CHECK_RC(hl_sandbox_init(sb), HL_EPOISONED);
}

/* Calls `name` on a fresh default sandbox, checks the code and that the detail contains each
 * of the NULL-terminated fragments, then that the sandbox is poisoned. */
static void check_call_poisons(const char *name, const hl_value *args, size_t nargs, int code,
                               const char *const *fragments)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    hl_value r;
    CHECK_RC(hl_sandbox_call(sb, name, args, nargs, &r), code);
    for (size_t i = 0; fragments[i]; i++)
        CHECK_ERROR_HAS(fragments[i]);
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

#define FRAGMENTS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- aborts ---- */
TEST(abort_with_message_reports_exact_code_and_text_and_poisons)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 1);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithMessage", HL_ARGS(hl_i32(3), hl_str("out of cheese")));
    CHECK_ERROR_IS("guest aborted (code 3): out of cheese");
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(abort_with_code_only_reports_code)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(42)));
    CHECK_ERROR_IS("guest aborted (code 42)");
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
    sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithCode", HL_ARGS(hl_i32(-1)));
    CHECK_ERROR_IS("guest aborted (code -1)");
    hl_sandbox_destroy(sb);
}

TEST(abort_message_control_characters_are_neutralised)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithMessage",
               HL_ARGS(hl_i32(7), hl_str("line1\nline2\t\x1b[31mred\x7f")));
    CHECK_ERROR_IS("guest aborted (code 7): line1?line2??[31mred?");
    hl_sandbox_destroy(sb);
}

TEST(abort_with_long_message_is_truncated_not_overflowed)
{
    char text[3000];
    memset(text, 'm', sizeof text - 1);
    text[sizeof text - 1] = '\0';
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EABORT, "GuestAbortWithMessage", HL_ARGS(hl_i32(1), hl_str(text)));
    const char *e = hl_last_error();
    const char *prefix = "guest aborted (code 1): ";
    CHECK(strncmp(e, prefix, strlen(prefix)) == 0);
    size_t n = strlen(e + strlen(prefix));
    CHECK(n >= 256 && n < sizeof text - 1);
    CHECK(strspn(e + strlen(prefix), "m") == n);
    hl_sandbox_destroy(sb);
}

TEST(assert_failure_aborts_with_code_134_expression_file_and_line)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GuestAssert", HL_ARGS(hl_i32(5))).as.i32, 5);
    CALL_FAILS(sb, HL_EABORT, "GuestAssert", HL_ARGS(hl_i32(0)));
    CHECK_ERROR_HAS("guest aborted (code 134): assertion failed: x != 0 (");
    CHECK_ERROR_HAS("simpleguest.c:");
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(libc_abort_ends_the_call_with_code_134)
{
    check_call_poisons("CallAbort", NULL, 0, HL_EABORT,
                       FRAGMENTS("guest aborted (code 134): the guest raised signal 6 (abort)"));
}

/* ---- the stack ---- */
TEST(stack_overflow_by_recursion_hits_guard_page)
{
    check_call_poisons("StackOverflow", HL_ARGS(hl_i32(1000)), HL_ESTACKOVERFLOW,
                       FRAGMENTS("guest stack overflow: access to the guard page at 0x"));
}

TEST(stack_overflow_by_unbounded_recursion_hits_guard_page)
{
    check_call_poisons("StackOverflow", HL_ARGS(hl_i32(0)), HL_ESTACKOVERFLOW,
                       FRAGMENTS("guest stack overflow: access to the guard page"));
}

TEST(stack_overflow_by_large_local_array_hits_guard_page)
{
    check_call_poisons("LargeVar", NULL, 0, HL_ESTACKOVERFLOW,
                       FRAGMENTS("guest stack overflow: access to the guard page"));
}

TEST(stack_overflow_by_huge_vla_hits_guard_page)
{
    check_call_poisons("StackAllocate", HL_ARGS(hl_i32(4 * 1024 * 1024)), HL_ESTACKOVERFLOW,
                       FRAGMENTS("guest stack overflow: access to the guard page"));
}

TEST(stack_overflow_with_minimum_stack_hits_guard_page)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.stack_size = HL_MIN_STACK_SIZE;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "StackOverflow", HL_ARGS(hl_i32(4))).as.i32, 4);
    CALL_FAILS(sb, HL_ESTACKOVERFLOW, "StackOverflow", HL_ARGS(hl_i32(40)));
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(smashed_stack_cookie_fails_with_ECOOKIE)
{
    check_call_poisons("SmashCookie", NULL, 0, HL_ECOOKIE, FRAGMENTS("guest stack cookie smashed"));
}

/* ---- NX and write protection ---- */
TEST(execute_on_stack_faults_nx)
{
    check_call_poisons("ExecuteOnStack", NULL, 0, HL_EFAULT,
                       FRAGMENTS("page fault (#PF): execute at 0x", "(stack, not permitted)"));
}

TEST(execute_on_heap_faults_nx)
{
    check_call_poisons("ExecuteOnHeap", NULL, 0, HL_EFAULT,
                       FRAGMENTS("page fault (#PF): execute at 0x", "(heap, not permitted)"));
}

TEST(write_to_text_faults)
{
    check_call_poisons("WriteToText", NULL, 0, HL_EFAULT,
                       FRAGMENTS("page fault (#PF): write at 0x", "(image, not permitted)"));
}

TEST(write_to_rodata_faults)
{
    check_call_poisons("WriteToRodata", NULL, 0, HL_EFAULT,
                       FRAGMENTS("page fault (#PF): write at 0x", "(image, not permitted)"));
}

TEST(read_null_faults)
{
    check_call_poisons("ReadNull", NULL, 0, HL_EFAULT,
                       FRAGMENTS("guest fault: page fault (#PF): read at 0x0 (unmapped memory, "
                                 "not mapped) at rip 0x"));
}

/* ---- what the guest may and may not touch ---- */
static uint64_t region(hl_sandbox *sb, int which)
{
    return CALL_OK(sb, HL_TYPE_U64, "PebRegion", HL_ARGS(hl_i32(which))).as.u64;
}

enum { R_INPUT, R_OUTPUT, R_HOST_FNS, R_PANIC, R_HEAP, R_STACK, R_IMAGE, R_SIZE = 100 };

TEST(guest_can_read_peb_but_not_write_it)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_U64_EQ(CALL_OK(sb, HL_TYPE_U64, "ReadAddress", HL_ARGS(hl_u64(0x1000))).as.u64,
                 0x3142455074684C48ull); /* HL_ABI_PEB_MAGIC */
    CALL_FAILS(sb, HL_EFAULT, "WriteAddress", HL_ARGS(hl_u64(0x1000), hl_u64(0)));
    CHECK_ERROR_HAS("page fault (#PF): write at 0x1000 (PEB, not permitted)");
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(guest_cannot_write_host_function_table)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    uint64_t table = region(sb, R_HOST_FNS);
    CHECK(table != 0);
    CALL_OK(sb, HL_TYPE_U64, "ReadAddress", HL_ARGS(hl_u64(table)));
    CALL_FAILS(sb, HL_EFAULT, "WriteAddress", HL_ARGS(hl_u64(table), hl_u64(0)));
    CHECK_ERROR_HAS("write at 0x");
    CHECK_ERROR_HAS("(host-function table, not permitted)");
    hl_sandbox_destroy(sb);
}

TEST(guest_cannot_read_guard_page_above_stack)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    uint64_t top = region(sb, R_STACK) + region(sb, R_SIZE + R_STACK);
    CALL_FAILS(sb, HL_EFAULT, "ReadAddress", HL_ARGS(hl_u64(top)));
    CHECK_ERROR_HAS("read at 0x");
    CHECK_ERROR_HAS("(unmapped memory, not mapped)");
    hl_sandbox_destroy(sb);
}

TEST(guest_cannot_read_supervisor_system_area)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    uint64_t system = region(sb, R_STACK) + region(sb, R_SIZE + R_STACK) + 4096;
    CALL_FAILS(sb, HL_EFAULT, "ReadAddress", HL_ARGS(hl_u64(system)));
    CHECK_ERROR_HAS("(system area, not permitted)");
    hl_sandbox_destroy(sb);
}

TEST(guest_cannot_read_beyond_its_memory)
{
    check_call_poisons("ReadAddress", HL_ARGS(hl_u64(0x40000000)), HL_EFAULT,
                       FRAGMENTS("read at 0x40000000 (unmapped memory, not mapped)"));
}

TEST(guest_non_canonical_address_is_general_protection_fault)
{
    check_call_poisons("ReadAddress", HL_ARGS(hl_u64(0x8000000000000000ull)), HL_EFAULT,
                       FRAGMENTS("guest fault: general protection (#GP)"));
}

TEST(guest_can_use_its_own_regions)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    uint64_t heap = region(sb, R_HEAP), heap_size = region(sb, R_SIZE + R_HEAP);
    uint64_t last = heap + heap_size - 8;
    CHECK(heap_size >= 1024 * 1024 - 4096); /* the thread control block sits above it */
    CALL_OK(sb, HL_TYPE_VOID, "WriteAddress", HL_ARGS(hl_u64(last), hl_u64(0x1122334455667788)));
    CHECK_U64_EQ(CALL_OK(sb, HL_TYPE_U64, "ReadAddress", HL_ARGS(hl_u64(last))).as.u64,
                 0x1122334455667788ull);
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

/* ---- instructions and ports (see Instruction in the guest) ---- */
TEST(privileged_instructions_fault_with_general_protection)
{
    static const int32_t which[] = {1, 2, 3, 9}; /* hlt, cli, out to port 0x80, mov from cr3 */
    for (size_t i = 0; i < COUNT_OF(which); i++)
        check_call_poisons("Instruction", HL_ARGS(hl_i32(which[i])), HL_EFAULT,
                           FRAGMENTS("guest fault: general protection (#GP)"));
}

TEST(guest_cannot_fake_an_exception_report)
{
    /* The exception port is for the ring-0 stub only: at CPL3 the I/O bitmap refuses it. */
    check_call_poisons("Instruction", HL_ARGS(hl_i32(4)), HL_EFAULT,
                       FRAGMENTS("guest fault: general protection (#GP)"));
}

TEST(invalid_opcode_faults)
{
    check_call_poisons("Instruction", HL_ARGS(hl_i32(0)), HL_EFAULT,
                       FRAGMENTS("guest fault: invalid opcode (#UD), error code 0x0, at rip 0x"));
}

TEST(divide_by_zero_faults)
{
    check_call_poisons("Instruction", HL_ARGS(hl_i32(8)), HL_EFAULT,
                       FRAGMENTS("guest fault: divide error (#DE)"));
}

TEST(breakpoint_faults)
{
    check_call_poisons("Instruction", HL_ARGS(hl_i32(7)), HL_EFAULT, FRAGMENTS("guest fault: "));
}

TEST(reading_a_port_is_a_protocol_error)
{
    check_call_poisons("Instruction", HL_ARGS(hl_i32(5)), HL_EPROTOCOL,
                       FRAGMENTS("guest broke the protocol: in from port 0xe0: the guest may not "
                                 "read ports"));
}

TEST(byte_sized_port_write_is_a_protocol_error)
{
    check_call_poisons("Instruction", HL_ARGS(hl_i32(6)), HL_EPROTOCOL,
                       FRAGMENTS("guest broke the protocol: out to port 0xe0: not a single 32-bit "
                                 "write"));
}

/* ---- a guest that breaks the protocol (see ProtocolAbuse in the guest) ---- */
static void check_abuse(int32_t kind, const char *detail)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CALL_FAILS(sb, HL_EPROTOCOL, "ProtocolAbuse", HL_ARGS(hl_i32(kind)));
    CHECK_ERROR_IS(detail);
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(protocol_output_stack_pointer_out_of_range_is_EPROTOCOL)
{
    check_abuse(0, "guest broke the protocol: output buffer: stack pointer outside its buffer");
}

TEST(protocol_done_without_a_reply_is_EPROTOCOL)
{
    check_abuse(1, "guest broke the protocol: output buffer: the buffer is empty");
}

TEST(protocol_bad_back_pointer_is_EPROTOCOL)
{
    check_abuse(4, "guest broke the protocol: output buffer: back-pointer outside the stack");
}

TEST(protocol_result_of_undeclared_type_is_EPROTOCOL)
{
    check_abuse(2, "guest function 'ProtocolAbuse' returned i32, not its declared string");
}

TEST(protocol_undecodable_replies_are_EPROTOCOL)
{
    check_abuse(3, "guest sent a bad result: unexpected message kind");
    check_abuse(10, "guest sent a bad result: trailing bytes after message");
    check_abuse(7, "guest sent a bad error: message truncated");
}

TEST(protocol_bad_host_call_and_log_messages_are_EPROTOCOL)
{
    check_abuse(5, "guest broke the protocol: host call: message truncated");
    check_abuse(6, "guest broke the protocol: log record: log level out of range");
}

TEST(protocol_corrupt_input_stack_is_EPROTOCOL)
{
    check_abuse(8, "guest broke the protocol: input buffer: stack pointer outside its buffer");
}

TEST(protocol_unknown_port_is_EPROTOCOL)
{
    check_abuse(9, "guest broke the protocol: out to port 0xe2: unknown port");
}

/* ---- time limits ---- */
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

TEST(spin_exceeds_time_limit_with_ETIMEOUT)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 200;
    hl_sandbox *sb = ready_sandbox(&cfg);
    double t0 = now_ms();
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    double elapsed = now_ms() - t0;
    CHECK_ERROR_IS("time limit of 200 ms exceeded");
    CHECK(elapsed >= 195);
    CHECK(elapsed < 1000);
    check_poisoned(sb);
    hl_sandbox_destroy(sb);
}

TEST(time_limit_applies_per_call_and_does_not_fire_between_calls)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 300;
    hl_sandbox *sb = ready_sandbox(&cfg);
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, i + 1);
        usleep(150 * 1000); /* 450 ms in all: more than one limit, but not within a call */
    }
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

static void *spin_with_signals_blocked(void *arg)
{
    sigset_t all, now;
    hl_sandbox *sb = arg;
    sigfillset(&all);
    sigdelset(&all, SIGALRM); /* the harness's own timeout */
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, &all, NULL), 0);
    double t0 = now_ms();
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    CHECK(now_ms() - t0 < 1000);
    CHECK_EQ(pthread_sigmask(SIG_BLOCK, NULL, &now), 0);
    CHECK_EQ(sigismember(&now, SIGRTMIN + 5), 1); /* the thread's mask is as it was */
    CHECK_EQ(sigismember(&now, SIGTERM), 1);
    return NULL;
}

TEST(time_limit_fires_even_when_the_calling_thread_blocks_signals)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 200;
    hl_sandbox *sb = ready_sandbox(&cfg);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, spin_with_signals_blocked, sb), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
}

TEST(timed_out_sandbox_is_replaced_by_a_fresh_one)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 50;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    hl_sandbox_destroy(sb);
    sb = ready_sandbox(NULL);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("fresh"))), "fresh");
    hl_sandbox_destroy(sb);
}

TEST(fault_in_one_sandbox_leaves_another_untouched)
{
    hl_sandbox *a = ready_sandbox(NULL), *b = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(b, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(9))).as.i32, 9);
    CALL_FAILS(a, HL_EFAULT, "ReadNull", NULL, 0);
    CHECK(hl_sandbox_is_poisoned(a));
    CHECK(!hl_sandbox_is_poisoned(b));
    CHECK_EQ(CALL_OK(b, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, 10);
    hl_sandbox_destroy(a);
    hl_sandbox_destroy(b);
}

static const hl_test tests[] = {
    TEST_ENTRY(abort_with_message_reports_exact_code_and_text_and_poisons),
    TEST_ENTRY(abort_with_code_only_reports_code),
    TEST_ENTRY(abort_message_control_characters_are_neutralised),
    TEST_ENTRY(abort_with_long_message_is_truncated_not_overflowed),
    TEST_ENTRY(assert_failure_aborts_with_code_134_expression_file_and_line),
    TEST_ENTRY(libc_abort_ends_the_call_with_code_134),
    TEST_ENTRY(stack_overflow_by_recursion_hits_guard_page),
    TEST_ENTRY(stack_overflow_by_unbounded_recursion_hits_guard_page),
    TEST_ENTRY(stack_overflow_by_large_local_array_hits_guard_page),
    TEST_ENTRY(stack_overflow_by_huge_vla_hits_guard_page),
    TEST_ENTRY(stack_overflow_with_minimum_stack_hits_guard_page),
    TEST_ENTRY(smashed_stack_cookie_fails_with_ECOOKIE),
    TEST_ENTRY(execute_on_stack_faults_nx),
    TEST_ENTRY(execute_on_heap_faults_nx),
    TEST_ENTRY(write_to_text_faults),
    TEST_ENTRY(write_to_rodata_faults),
    TEST_ENTRY(read_null_faults),
    TEST_ENTRY(guest_can_read_peb_but_not_write_it),
    TEST_ENTRY(guest_cannot_write_host_function_table),
    TEST_ENTRY(guest_cannot_read_guard_page_above_stack),
    TEST_ENTRY(guest_cannot_read_supervisor_system_area),
    TEST_ENTRY(guest_cannot_read_beyond_its_memory),
    TEST_ENTRY(guest_non_canonical_address_is_general_protection_fault),
    TEST_ENTRY(guest_can_use_its_own_regions),
    TEST_ENTRY(privileged_instructions_fault_with_general_protection),
    TEST_ENTRY(guest_cannot_fake_an_exception_report),
    TEST_ENTRY(invalid_opcode_faults),
    TEST_ENTRY(divide_by_zero_faults),
    TEST_ENTRY(breakpoint_faults),
    TEST_ENTRY(reading_a_port_is_a_protocol_error),
    TEST_ENTRY(byte_sized_port_write_is_a_protocol_error),
    TEST_ENTRY(protocol_output_stack_pointer_out_of_range_is_EPROTOCOL),
    TEST_ENTRY(protocol_done_without_a_reply_is_EPROTOCOL),
    TEST_ENTRY(protocol_bad_back_pointer_is_EPROTOCOL),
    TEST_ENTRY(protocol_result_of_undeclared_type_is_EPROTOCOL),
    TEST_ENTRY(protocol_undecodable_replies_are_EPROTOCOL),
    TEST_ENTRY(protocol_bad_host_call_and_log_messages_are_EPROTOCOL),
    TEST_ENTRY(protocol_corrupt_input_stack_is_EPROTOCOL),
    TEST_ENTRY(protocol_unknown_port_is_EPROTOCOL),
    TEST_ENTRY(spin_exceeds_time_limit_with_ETIMEOUT),
    TEST_ENTRY(time_limit_applies_per_call_and_does_not_fire_between_calls),
    TEST_ENTRY(time_limit_fires_even_when_the_calling_thread_blocks_signals),
    TEST_ENTRY(timed_out_sandbox_is_replaced_by_a_fresh_one),
    TEST_ENTRY(fault_in_one_sandbox_leaves_another_untouched),
};

RUN_TESTS(tests)

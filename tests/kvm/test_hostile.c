/* test_hostile.c: a malicious guest (tests/guests/hostileguest.c) against the host, for what
 * test_faults.c does not cover already: privileged and odd instructions, port games, writes to the
 * system area and page tables, NX on rodata, huge stack frames, exits with garbage in every
 * register, corrupted buffer stacks, lying length prefixes, raw host calls, stale messages, log
 * storms and heap exhaustion. After each: the exact error, a poisoned sandbox, and a restore of the
 * snapshot taken right after init that brings it back (also for every fault of test_faults.c).
 *
 * Three things a guest cannot do at all, so they have no test of their own:
 * - Call a host function outside a guest call: host functions run only from the exit handler of
 *   hl_sandbox_init / hl_sandbox_call (src/exits.c), the guest runs only inside KVM_RUN on the
 *   thread in such a call, and both buffer stacks are reset at the start of every call, so a CALL
 *   message left behind is never served later (stale_host_call_under_a_result_is_never_run).
 * - Reach a triple fault (KVM_EXIT_SHUTDOWN, which the host would report as "guest fault: triple
 *   fault (shutdown)"): exceptions at CPL3 are delivered through IDT gates, the GDT, the TSS's RSP0
 *   and the stub page, all supervisor-only pages the guest can neither write nor remap (its page
 *   tables are not even mapped), onto a fresh kernel stack. So delivering the first exception
 *   cannot fault, and there is no double fault to escalate; the stub never returns to the guest.
 * - Touch MMIO: its page tables map exactly guest memory, so every address it can form is either
 *   inside the memory slot or a #PF (guest_cannot_reach_page_tables_or_addresses_past_its_memory).
 */
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

static int slow_machine(void)
{
    return getenv("HL_TEST_UNDER_VALGRIND") != NULL;
}

/* ---- host functions the hostile guest may call ---- */
typedef struct host_state {
    int ticks, adds, stale, logs;
} host_state;

static host_state hs;

static int host_tick(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(++hs.ticks);
    return 0;
}

static int host_add(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)nargs;
    hs.adds++;
    *ret = hl_i32(args[0].as.i32 + args[1].as.i32);
    return 0;
}

static int host_count(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    hs.stale++;
    *ret = hl_i32(0);
    return 0;
}

static void count_log(void *user, const hl_log_record *rec)
{
    (void)user, (void)rec;
    hs.logs++;
}

/* A ready sandbox of `guest` (host functions registered when it is the hostile guest) and the
 * snapshot taken right after init. */
typedef struct victim {
    hl_sandbox *sb;
    hl_snapshot *clean;
} victim;

static victim make_victim(const char *guest, const hl_config *cfg)
{
    victim v;
    require_kvm();
    memset(&hs, 0, sizeof hs);
    CHECK_OK(hl_sandbox_new(cfg, guest, &v.sb));
    if (strcmp(guest, hostile_path()) == 0) {
        CHECK_OK(hl_sandbox_register(v.sb, "HostTick", HL_TYPE_I32, NULL, 0, host_tick, NULL));
        CHECK_OK(hl_sandbox_register(v.sb, "HostAdd", HL_TYPE_I32,
                                     HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32), host_add, NULL));
        CHECK_OK(hl_sandbox_register(v.sb, "HostCount", HL_TYPE_I32, NULL, 0, host_count, NULL));
    }
    CHECK_OK(hl_sandbox_init(v.sb));
    CHECK_OK(hl_sandbox_snapshot(v.sb, &v.clean));
    return v;
}

/* PebRegion(which): gpa of a region, or its size for which + R_SIZE. */
static uint64_t region(hl_sandbox *sb, int which)
{
    return CALL_OK(sb, HL_TYPE_U64, "PebRegion", HL_ARGS(hl_i32(which))).as.u64;
}

enum { R_INPUT, R_OUTPUT, R_HOST_FNS, R_PANIC, R_HEAP, R_STACK, R_IMAGE, R_SIZE = 100 };

static void free_victim(victim *v)
{
    hl_snapshot_release(v->clean);
    hl_sandbox_destroy(v->sb);
}

/* The sandbox refuses calls (poisoned); a restore of the clean snapshot brings it back exactly: the
 * counter changed before the bad call is back to 0, and calls work. */
static void check_poisoned_then_restore(const char *file, int line, victim *v, const char *what)
{
    hl_value r;
    if (!hl_sandbox_is_poisoned(v->sb))
        hl_test_fail(file, line, "the sandbox is not poisoned");
    int rc = hl_sandbox_call(v->sb, "Echo", HL_ARGS(hl_str("x")), &r);
    if (rc != HL_EPOISONED)
        hl_test_fail(file, line, "a call after the failure returned %d (%s), not HL_EPOISONED", rc,
                     hl_errname(rc));
    rc = hl_sandbox_restore(v->sb, v->clean);
    if (rc != 0)
        hl_test_fail(file, line, "restore returned %d (%s): %s", rc, hl_errname(rc),
                     hl_last_error());
    if (hl_sandbox_is_poisoned(v->sb))
        hl_test_fail(file, line, "still poisoned after the restore");
    rc = hl_sandbox_call(v->sb, "AddToStatic", HL_ARGS(hl_i32(1)), &r);
    if (rc != 0 || r.type != HL_TYPE_I32 || r.as.i32 != 1)
        hl_test_fail(file, line,
                     "after %s and a restore, AddToStatic returned %d (%s), value %d: "
                     "%s",
                     what, rc, hl_errname(rc), r.as.i32, hl_last_error());
    rc = hl_sandbox_call(v->sb, "Echo", HL_ARGS(hl_str("back")), &r);
    if (rc != 0 || r.type != HL_TYPE_STRING || strcmp(r.as.str.ptr, "back") != 0)
        hl_test_fail(file, line, "after %s and a restore, Echo returned %d (%s): %s", what, rc,
                     hl_errname(rc), hl_last_error());
}

/* Calls name(args) on a fresh victim of `guest` (after changing its state), checks the code and
 * that the detail starts with one of the NULL-terminated prefixes, then poisoned + restore. */
static void hostile_at(const char *file, int line, const char *guest, const char *name,
                       const hl_value *args, size_t nargs, int code, const char *const *prefixes)
{
    victim v = make_victim(guest, NULL);
    hl_value r;
    int rc = hl_sandbox_call(v.sb, "AddToStatic", HL_ARGS(hl_i32(41)), &r);
    if (rc != 0 || r.as.i32 != 41)
        hl_test_fail(file, line, "AddToStatic before the hostile call failed: %s", hl_last_error());
    rc = hl_sandbox_call(v.sb, name, args, nargs, &r);
    char detail_copy[600];
    const char *detail = hl_last_error();
    snprintf(detail_copy, sizeof detail_copy, "%s (\"%s\")", name, detail);
    if (rc != code)
        hl_test_fail(file, line, "%s returned %d (%s), expected %d (%s); detail: %s", name, rc,
                     hl_errname(rc), code, hl_errname(code), detail);
    int matched = 0;
    for (size_t i = 0; prefixes[i] && !matched; i++)
        matched = strncmp(detail, prefixes[i], strlen(prefixes[i])) == 0;
    if (!matched)
        hl_test_fail(file, line, "%s: detail \"%s\" does not start with \"%s\"%s", name, detail,
                     prefixes[0], prefixes[1] ? " (or the other expected texts)" : "");
    check_poisoned_then_restore(file, line, &v, detail_copy);
    free_victim(&v);
}

#define ONE_OF(...) ((const char *const[]){__VA_ARGS__, NULL})
/* HOSTILE(name, args, code, prefix...): args is HL_ARGS(...) or NOARGS. */
#define NOARGS NULL, 0
#define HOSTILE(name, args, code, ...)                                                             \
    hostile_at(__FILE__, __LINE__, hostile_path(), (name), args, (code), ONE_OF(__VA_ARGS__))
#define SIMPLE(name, args, code, ...)                                                              \
    hostile_at(__FILE__, __LINE__, guest_path(), (name), args, (code), ONE_OF(__VA_ARGS__))

#define GP0 "guest fault: general protection (#GP), error code 0x0, at rip 0x"
#define PRIV(i) HL_ARGS(hl_i32(i))

/* ---- every fault of test_faults.c, now with the restore ---- */
TEST(every_fault_test_faults_checks_is_undone_by_restore)
{
    SIMPLE("GuestAbortWithMessage", HL_ARGS(hl_i32(3), hl_str("cheese")), HL_EABORT,
           "guest aborted (code 3): cheese");
    SIMPLE("GuestAssert", HL_ARGS(hl_i32(0)), HL_EABORT, "guest aborted (code 134): assertion");
    SIMPLE("CallAbort", NOARGS, HL_EABORT, "guest aborted (code 134): the guest raised signal 6");
    SIMPLE("StackOverflow", HL_ARGS(hl_i32(0)), HL_ESTACKOVERFLOW,
           "guest stack overflow: access to the guard page at 0x");
    SIMPLE("LargeVar", NOARGS, HL_ESTACKOVERFLOW, "guest stack overflow: access to the guard");
    SIMPLE("StackAllocate", HL_ARGS(hl_i32(4 << 20)), HL_ESTACKOVERFLOW, "guest stack overflow");
    SIMPLE("SmashCookie", NOARGS, HL_ECOOKIE, "guest stack cookie smashed");
    SIMPLE("ExecuteOnStack", NOARGS, HL_EFAULT, "guest fault: page fault (#PF): execute at 0x");
    SIMPLE("ExecuteOnHeap", NOARGS, HL_EFAULT, "guest fault: page fault (#PF): execute at 0x");
    SIMPLE("WriteToText", NOARGS, HL_EFAULT, "guest fault: page fault (#PF): write at 0x");
    SIMPLE("WriteToRodata", NOARGS, HL_EFAULT, "guest fault: page fault (#PF): write at 0x");
    SIMPLE("ReadNull", NOARGS, HL_EFAULT,
           "guest fault: page fault (#PF): read at 0x0 (unmapped memory, not mapped) at rip 0x");
    SIMPLE("WriteAddress", HL_ARGS(hl_u64(0x1000), hl_u64(0)), HL_EFAULT,
           "guest fault: page fault (#PF): write at 0x1000 (PEB, not permitted) at rip 0x");
    SIMPLE("ReadAddress", HL_ARGS(hl_u64(1ull << 63)), HL_EFAULT, GP0);
    static const int32_t gp[] = {1, 2, 3, 4, 9}; /* hlt, cli, out 0x80, out 0xf0, mov cr3 */
    for (size_t i = 0; i < COUNT_OF(gp); i++)
        SIMPLE("Instruction", HL_ARGS(hl_i32(gp[i])), HL_EFAULT, GP0);
    SIMPLE("Instruction", HL_ARGS(hl_i32(0)), HL_EFAULT, "guest fault: invalid opcode (#UD)");
    SIMPLE("Instruction", HL_ARGS(hl_i32(8)), HL_EFAULT, "guest fault: divide error (#DE)");
    SIMPLE("Instruction", HL_ARGS(hl_i32(5)), HL_EPROTOCOL,
           "guest broke the protocol: in from port 0xe0: the guest may not read ports");
    SIMPLE("Instruction", HL_ARGS(hl_i32(6)), HL_EPROTOCOL,
           "guest broke the protocol: out to port 0xe0: not a single 32-bit write");
    for (int32_t k = 0; k <= 10; k++) /* exact texts: test_faults.c */
        SIMPLE("ProtocolAbuse", HL_ARGS(hl_i32(k)), HL_EPROTOCOL, "guest ");
}

/* ---- instructions ---- */
TEST(privileged_instructions_at_cpl3_fault_with_general_protection)
{
    /* wrmsr, rdmsr, mov cr3, mov cr0, lgdt, lidt, ltr, lldt, invlpg, sti, clts, wbinvd, swapgs,
     * mov dr7, mov cr4, xsetbv (CR4.OSXSAVE is clear: #UD on bare metal), rdpmc, far jump through
     * a null selector, mov from cr0, invd, mov ss with a null selector */
    static const int32_t gp0[] = {0,  1,  2,  3,  4,  5,  6,  7,  8,  9,
                                  10, 11, 12, 13, 14, 24, 25, 27, 28, 29};
    for (size_t i = 0; i < COUNT_OF(gp0); i++)
        HOSTILE("Privileged", PRIV(gp0[i]), HL_EFAULT, GP0);
    HOSTILE("Privileged", PRIV(23), HL_EFAULT, GP0, "guest fault: invalid opcode (#UD)");
}

TEST(segment_loads_and_far_transfers_to_ring_0_fault_naming_the_selector)
{
    HOSTILE("Privileged", PRIV(19), HL_EFAULT, /* mov ds, kernel data */
            "guest fault: general protection (#GP), error code 0x10, at rip 0x");
    HOSTILE("Privileged", PRIV(21), HL_EFAULT, /* lret to kernel code */
            "guest fault: general protection (#GP), error code 0x8, at rip 0x");
    HOSTILE("Privileged", PRIV(22), HL_EFAULT, /* iretq to kernel code */
            "guest fault: general protection (#GP), error code 0x8, at rip 0x");
    /* mov fs, TSS selector: #GP naming it on bare-metal VMX; the nested PVM host lets the load
     * through (segment bases do not widen what paging allows: the TSS page stays supervisor-only,
     * guest_cannot_write_its_gdt_tss_idt_stub_or_kernel_stack). */
    victim v = make_victim(hostile_path(), NULL);
    hl_value r;
    int rc = hl_sandbox_call(v.sb, "Privileged", PRIV(20), &r);
    if (rc != 0) {
        CHECK_RC(rc, HL_EFAULT);
        CHECK_ERROR_HAS("guest fault: general protection (#GP), error code 0x28, at rip 0x");
        check_poisoned_then_restore(__FILE__, __LINE__, &v, "mov fs, 0x28");
    } else {
        CHECK_STR_VALUE(CALL_OK(v.sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("fs"))), "fs");
    }
    free_victim(&v);
}

TEST(software_interrupts_and_syscall_fault)
{
    /* Bare-metal VMX raises #GP naming the gate (vector * 8 + 2) for int n through a DPL0 gate or
     * beyond the IDT, and #UD for syscall with EFER.SCE clear. The nested (PVM) hypervisor this
     * project is developed on raises #UD for int n and #BP for int3 instead, and runs syscall to
     * LSTAR = 0, which is never mapped (still at CPL3: error code 0x14). Either way the call ends
     * with a reported fault and nothing runs at ring 0. QEMU's software SVM (make vm-test) puts
     * the gate's byte offset (vector * 16 + 2) in the #GP error code instead. */
    HOSTILE("Privileged", PRIV(15), HL_EFAULT, /* int $0x20 */
            "guest fault: general protection (#GP), error code 0x102, at rip 0x",
            "guest fault: invalid opcode (#UD), error code 0x0, at rip 0x",
            "guest fault: general protection (#GP), error code 0x202, at rip 0x");
    HOSTILE("Privileged", PRIV(16), HL_EFAULT, /* int $14 */
            "guest fault: general protection (#GP), error code 0x72, at rip 0x",
            "guest fault: invalid opcode (#UD), error code 0x0, at rip 0x",
            "guest fault: general protection (#GP), error code 0xe2, at rip 0x");
    HOSTILE("Privileged", PRIV(17), HL_EFAULT, /* int3 */
            "guest fault: general protection (#GP), error code 0x1a, at rip 0x",
            "guest fault: breakpoint (#BP), error code 0x0, at rip 0x",
            "guest fault: general protection (#GP), error code 0x32, at rip 0x");
    HOSTILE("Privileged", PRIV(18), HL_EFAULT, /* syscall */
            "guest fault: invalid opcode (#UD), error code 0x0, at rip 0x",
            "guest fault: page fault (#PF): execute at 0x0 (unmapped memory, not mapped) at rip "
            "0x0");
}

TEST(vmcall_at_cpl3_is_refused_by_kvm_and_the_guest_goes_on)
{
    victim v = make_victim(hostile_path(), NULL);
    hl_value r;
    int rc = hl_sandbox_call(v.sb, "Privileged", PRIV(26), &r);
    if (rc == 0) {
        CHECK_U64_EQ(r.as.u64, (uint64_t)-1); /* -KVM_EPERM: hypercalls need CPL0 */
        CHECK(!hl_sandbox_is_poisoned(v.sb));
        CHECK_STR_VALUE(CALL_OK(v.sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("on"))), "on");
    } else { /* hypervisors that reflect #UD (some VMX setups) or #GP (nested PVM on AMD) */
        CHECK_RC(rc, HL_EFAULT);
        if (!strstr(hl_last_error(), "guest fault: general protection (#GP), error code 0x0"))
            CHECK_ERROR_HAS("guest fault: invalid opcode (#UD)");
        check_poisoned_then_restore(__FILE__, __LINE__, &v, "that");
    }
    free_victim(&v);
}

/* The ABI's flags at every guest function's entry: DF and AC clear, whatever the last call left
 * (docs/ABI.md). Without it, an AC left set makes the runtime's own misaligned accesses raise #AC
 * on hosts that honour CR0.AM for the guest (nested PVM). */
TEST(guest_functions_start_with_df_and_ac_clear)
{
    victim v = make_victim(hostile_path(), NULL);
    uint64_t set = CALL_OK(v.sb, HL_TYPE_U64, "SetFlags", HL_ARGS(hl_u64(0x40402))).as.u64;
    CHECK_EQ(set & 0x40400, 0x40400); /* the function itself ran with them set */
    uint64_t at_entry = CALL_OK(v.sb, HL_TYPE_U64, "GetFlags", NULL, 0).as.u64;
    CHECK_EQ(at_entry & 0x40400, 0);
    free_victim(&v);
}

TEST(trap_flag_set_by_the_guest_is_reported_as_a_debug_fault)
{
    HOSTILE("TrapFlag", NOARGS, HL_EFAULT, "guest fault: debug (#DB), error code 0x0, at rip 0x");
}

TEST(popf_cannot_raise_iopl_and_cli_sti_still_fault_afterwards)
{
    victim v = make_victim(hostile_path(), NULL);
    uint64_t flags = CALL_OK(v.sb, HL_TYPE_U64, "PopfPrivileged", NULL, 0).as.u64;
    CHECK_EQ(flags & 0x3000, 0);   /* IOPL stays 0 */
    CHECK_EQ(flags & 0x180000, 0); /* VIF, VIP stay 0 */
    /* (IF reads back as set on the nested PVM host even without popf; it has no effect: the VM
     * has no interrupt source.) */
    free_victim(&v);
    HOSTILE("Privileged", PRIV(9), HL_EFAULT, GP0); /* sti */
    HOSTILE("OutPort", HL_ARGS(hl_u32(0x80), hl_i32(1), hl_u32(0)), HL_EFAULT, GP0);
}

/* ---- ports ---- */
TEST(ports_outside_the_bitmap_fault_and_odd_sizes_or_unknown_ports_are_EPROTOCOL)
{
    /* A 32-bit out at 0xEE or 0xED also covers the exception port 0xF0: the bitmap refuses it. */
    static const uint32_t gp_out4[] = {0xED, 0xEE, 0xEF, 0xF0, 0xDB, 0x3F8, 0xFFFF};
    for (size_t i = 0; i < COUNT_OF(gp_out4); i++)
        HOSTILE("OutPort", HL_ARGS(hl_u32(gp_out4[i]), hl_i32(4), hl_u32(0)), HL_EFAULT, GP0);
    HOSTILE("OutPort", HL_ARGS(hl_u32(0x100), hl_i32(1), hl_u32(0)), HL_EFAULT, GP0);
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xF0), hl_i32(1), hl_u32(0)), HL_EFAULT, GP0);
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xEE), hl_i32(2), hl_u32(0)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xee: not a single 32-bit write");
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xEF), hl_i32(1), hl_u32(7)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xef: not a single 32-bit write");
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xE4), hl_i32(2), hl_u32(0)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xe4: not a single 32-bit write");
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xE1), hl_i32(4), hl_u32(0)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xe1: unknown port");
    /* PARK (0xDC) opens 0xDC-0xDF; only a hot sandbox knows PARK, and only from 0xDC */
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xDF), hl_i32(4), hl_u32(0)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xdf: unknown port");
    if (!test_hot())
        HOSTILE("OutPort", HL_ARGS(hl_u32(0xDC), hl_i32(4), hl_u32(0)), HL_EPROTOCOL,
                "guest broke the protocol: out to port 0xdc: unknown port");
    HOSTILE("OutPort", HL_ARGS(hl_u32(0xEA), hl_i32(1), hl_u32(0)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xea: not a single 32-bit write");
}

TEST(in_from_any_port_is_EPROTOCOL_or_a_fault)
{
    static const uint32_t ports[] = {0xE0, 0xE4, 0xE8, 0xEC, 0xEF};
    static const int32_t sizes[] = {1, 2, 4};
    char want[96];
    for (size_t i = 0; i < COUNT_OF(ports); i++)
        for (size_t j = 0; j < COUNT_OF(sizes); j++) {
            if (ports[i] + (uint32_t)sizes[j] > 0xF0) {
                HOSTILE("InPort", HL_ARGS(hl_u32(ports[i]), hl_i32(sizes[j])), HL_EFAULT, GP0);
                continue;
            }
            snprintf(want, sizeof want,
                     "guest broke the protocol: in from port 0x%x: the guest "
                     "may not read ports",
                     ports[i]);
            HOSTILE("InPort", HL_ARGS(hl_u32(ports[i]), hl_i32(sizes[j])), HL_EPROTOCOL, want);
        }
    HOSTILE("InPort", HL_ARGS(hl_u32(0x80), hl_i32(1)), HL_EFAULT, GP0);
    HOSTILE("InPort", HL_ARGS(hl_u32(0xF0), hl_i32(4)), HL_EFAULT, GP0);
}

/* KVM finishes an `in` (writes EAX, or memory for `ins`, and moves RIP) at the next KVM_RUN, after
 * it applied the registers a restore loads through kvm_run's sync regs. So a refused `in` must not
 * leave that work for the restored sandbox, nor for the next sandbox on a recycled VM: `rep insb`
 * would write the bytes the guest planted in KVM's I/O data area (with an earlier `out` to LOG)
 * to an address of the guest's choice. */
TEST(refused_in_leaves_nothing_behind_for_a_restore_or_the_next_sandbox)
{
    static const int32_t sizes[] = {1, 2, 4};
    for (size_t i = 0; i < COUNT_OF(sizes); i++)
        HOSTILE("InPort", HL_ARGS(hl_u32(0xE0), hl_i32(sizes[i])), HL_EPROTOCOL,
                "guest broke the protocol: in from port 0xe0: the guest may not read ports");
    victim v = make_victim(hostile_path(), NULL);
    uint64_t target = region(v.sb, R_HEAP) + 256;
    uint64_t clean = CALL_OK(v.sb, HL_TYPE_U64, "ReadAddress", HL_ARGS(hl_u64(target))).as.u64;
    free_victim(&v);
    const hl_value ins[] = {hl_u64(target), hl_i32(4), hl_u32(0x41424344)};
    hostile_at(__FILE__, __LINE__, hostile_path(), "InString", ins, 3, HL_EPROTOCOL,
               ONE_OF("guest broke the protocol: in from port 0xe0: the guest may not read ports"));
    for (int round = 0; round < 3; round++) {
        v = make_victim(hostile_path(), NULL);
        CALL_FAILS(v.sb, HL_EPROTOCOL, "InString", ins, 3);
        hl_sandbox_destroy(v.sb); /* its VM may go to the pool */
        hl_snapshot_release(v.clean);
        victim next = make_victim(hostile_path(), NULL);
        CHECK_U64_EQ(CALL_OK(next.sb, HL_TYPE_U64, "ReadAddress", HL_ARGS(hl_u64(target))).as.u64,
                     clean);
        CHECK_STR_VALUE(CALL_OK(next.sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("mine"))), "mine");
        free_victim(&next);
    }
}

TEST(string_port_output_is_seen_as_plain_writes)
{
    /* KVM reports `rep outs` element by element (count 1 per exit here) and does not say that it
     * was a string instruction, so a 32-bit outs to DONE is an ordinary DONE: with nothing on the
     * output stack it is the protocol error below. A byte-sized one is refused by its size. */
    HOSTILE("OutString", HL_ARGS(hl_i32(1), hl_i32(4)), HL_EPROTOCOL,
            "guest broke the protocol: output buffer: the buffer is empty");
    HOSTILE("OutString", HL_ARGS(hl_i32(3), hl_i32(4)), HL_EPROTOCOL,
            "guest broke the protocol: output buffer: the buffer is empty",
            "guest broke the protocol: out to port 0xe0: not a single 32-bit write");
    HOSTILE("OutString", HL_ARGS(hl_i32(2), hl_i32(1)), HL_EPROTOCOL,
            "guest broke the protocol: out to port 0xe0: not a single 32-bit write");
}

/* ---- memory the guest may not touch ---- */
/* Where src/layout.c puts the system area and page tables (docs/ABI.md §1), from the stack. */
typedef struct sysmap {
    uint64_t gdt, tss, idt, stub, guard, kstack, tables, total;
} sysmap;

static sysmap system_map(void)
{
    victim v = make_victim(hostile_path(), NULL);
    sysmap m;
    uint64_t sys = region(v.sb, R_STACK) + region(v.sb, R_SIZE + R_STACK) + 4096;
    free_victim(&v);
    m.gdt = sys;
    m.tss = sys + 64;
    m.idt = sys + 4096;
    m.stub = sys + 2 * 4096;
    m.guard = sys + 3 * 4096;
    m.kstack = sys + 4 * 4096;
    m.tables = sys + 6 * 4096;
    const uint64_t two_mib = 2u << 20;
    uint64_t npt = (m.tables + two_mib - 1) / two_mib;
    while ((m.tables + (3 + npt) * 4096 + two_mib - 1) / two_mib > npt)
        npt++;
    m.total = m.tables + (3 + npt) * 4096;
    return m;
}

static void expect_pf(const char *fn, uint64_t addr, const char *access, const char *where)
{
    char want[160];
    snprintf(want, sizeof want, "guest fault: page fault (#PF): %s at 0x%llx (%s) at rip 0x",
             access, (unsigned long long)addr, where);
    if (strcmp(fn, "WriteAddress") == 0)
        HOSTILE(fn, HL_ARGS(hl_u64(addr), hl_u64(0x4141414141414141ull)), HL_EFAULT, want);
    else
        HOSTILE(fn, HL_ARGS(hl_u64(addr)), HL_EFAULT, want);
}

TEST(guest_cannot_write_its_gdt_tss_idt_stub_or_kernel_stack)
{
    sysmap m = system_map();
    const uint64_t pages[] = {m.gdt,
                              m.tss,
                              m.tss + 102 /* I/O map base */,
                              m.tss + 104 + 0xF0 / 8,
                              m.idt,
                              m.idt + 14 * 16,
                              m.stub,
                              m.kstack,
                              m.kstack + 8192 - 64};
    for (size_t i = 0; i < COUNT_OF(pages); i++) {
        expect_pf("WriteAddress", pages[i], "write", "system area, not permitted");
        expect_pf("ReadAddress", pages[i], "read", "system area, not permitted");
    }
    expect_pf("ExecuteAddress", m.stub, "execute", "system area, not permitted");
    expect_pf("ExecuteAddress", m.stub + 32 * 16, "execute", "system area, not permitted");
    expect_pf("ReadAddress", m.guard, "read", "system area, not mapped");
}

TEST(guest_cannot_reach_page_tables_or_addresses_past_its_memory)
{
    sysmap m = system_map();
    expect_pf("ReadAddress", m.tables, "read", "page tables, not mapped");
    expect_pf("WriteAddress", m.tables, "write", "page tables, not mapped");
    expect_pf("WriteAddress", m.total - 8, "write", "page tables, not mapped");
    /* the first address after guest memory: no page-table entry, so a #PF, never an MMIO exit */
    expect_pf("ReadAddress", m.total, "read", "unmapped memory, not mapped");
    expect_pf("WriteAddress", m.total, "write", "unmapped memory, not mapped");
    expect_pf("ReadAddress", (m.total | 0x1fffff) + 1 - 8, "read", "unmapped memory, not mapped");
    expect_pf("ReadAddress", 0x3ffff000, "read", "unmapped memory, not mapped");
    expect_pf("ReadAddress", 0x7fffffff000ull, "read", "unmapped memory, not mapped");
    expect_pf("ExecuteAddress", m.total, "execute", "unmapped memory, not mapped");
}

TEST(guest_cannot_rewrite_peb_fields_and_its_own_copy_misleads_only_itself)
{
    static const uint64_t fields[] = {0, 8, 16, 24, 40, 56, 72, 88, 104, 120, 128};
    char want[128];
    for (size_t i = 0; i < COUNT_OF(fields); i++) {
        snprintf(want, sizeof want,
                 "guest fault: page fault (#PF): write at 0x%llx (PEB, not "
                 "permitted) at rip 0x",
                 0x1000ull + fields[i]);
        HOSTILE("WriteAddress", HL_ARGS(hl_u64(0x1000 + fields[i]), hl_u64(0x7fff00000000ull)),
                HL_EFAULT, want);
    }
    /* The runtime's copy of the PEB pointing outside the VM: the guest faults on its own reply. */
    HOSTILE("CorruptPebCopy", NOARGS, HL_EFAULT,
            "guest fault: page fault (#PF): read at 0x7fff00000000 (unmapped memory, not mapped)");
}

TEST(execute_on_rodata_faults_nx)
{
    victim v = make_victim(hostile_path(), NULL);
    CALL_FAILS(v.sb, HL_EFAULT, "ExecuteRodata", NULL, 0);
    CHECK_ERROR_HAS("guest fault: page fault (#PF): execute at 0x");
    CHECK_ERROR_HAS(" (image, not permitted) at rip 0x");
    check_poisoned_then_restore(__FILE__, __LINE__, &v, "ExecuteRodata");
    free_victim(&v);
}

/* ---- the stack ---- */
TEST(huge_stack_frames_hit_the_guard_page_or_fault_far_below)
{
    /* 64 MiB of locals, probed page by page (hl-cc builds with -fstack-clash-protection) */
    HOSTILE("HugeFrame", NOARGS, HL_ESTACKOVERFLOW,
            "guest stack overflow: access to the guard page at 0x");
    /* Without probes, a frame larger than memory wraps RSP below 0: unmapped, a plain fault. */
    HOSTILE("UnprobedFrame", HL_ARGS(hl_u64(1ull << 30)), HL_EFAULT,
            "guest fault: page fault (#PF): write at 0xffffffffc");
}

TEST(unprobed_frame_that_jumps_the_guard_page_only_hits_the_guests_own_heap)
{
    /* The guard page catches stack overflows only in code that probes its frames: one that moves
     * RSP past the guard page lands in the guest's own heap. That corrupts the guest, not the
     * host, and is why hl-cc compiles guests with -fstack-clash-protection. */
    victim v = make_victim(hostile_path(), NULL);
    uint64_t stack = region(v.sb, R_STACK), heap = region(v.sb, R_HEAP);
    /* the PEB's heap ends below the thread control block, in the heap region's last page */
    uint64_t heap_end = (heap + region(v.sb, R_SIZE + R_HEAP) + 4095) & ~4095ull;
    CHECK_U64_EQ(heap_end + 4096, stack); /* heap, guard page, stack */
    uint64_t top = stack + region(v.sb, R_SIZE + R_STACK);
    CHECK_EQ(
        CALL_OK(v.sb, HL_TYPE_I32, "UnprobedFrame", HL_ARGS(hl_u64(top - heap_end + 256))).as.i32,
        0);
    CHECK(!hl_sandbox_is_poisoned(v.sb));
    free_victim(&v);
}

/* ---- exits with garbage in every register ---- */
TEST(exits_with_garbage_in_every_register_are_refused_exactly)
{
    static const char *const want[] = {
        "guest broke the protocol: output buffer: the buffer is empty", /* DONE */
        "guest broke the protocol: output buffer: the buffer is empty", /* HOST_CALL */
        "guest broke the protocol: output buffer: the buffer is empty", /* LOG */
        "guest aborted (code ",                                         /* ABORT */
        "guest broke the protocol: out to port 0xe6: unknown port",
    };
    for (int32_t kind = 0; kind < 5; kind++)
        for (uint64_t seed = 1; seed <= 4; seed++)
            HOSTILE("GarbageExit", HL_ARGS(hl_i32(kind), hl_u64(seed * 0x9e3779b97f4a7c15ull)),
                    kind == 3 ? HL_EABORT : HL_EPROTOCOL, want[kind]);
}

TEST(abort_with_an_unterminated_panic_message_is_cut_at_the_hosts_limit)
{
    victim v = make_victim(hostile_path(), NULL);
    CALL_FAILS(v.sb, HL_EABORT, "GarbageExit", HL_ARGS(hl_i32(3), hl_u64(7)));
    const char *e = hl_last_error(), *msg = strstr(e, "): ");
    CHECK(msg != NULL);
    msg += 3;
    CHECK_EQ(strspn(msg, "A"), strlen(msg)); /* the 4 KiB of 'A' without a NUL, cut */
    CHECK(strlen(msg) >= 256 && strlen(msg) < 4096);
    check_poisoned_then_restore(__FILE__, __LINE__, &v, "that");
    free_victim(&v);
}

/* ---- corrupted buffer stacks ---- */
enum { K_DONE = 0, K_HOST_CALL = 1, K_LOG = 2 };

static void corrupt_stack(uint64_t sp, uint64_t at, uint64_t value, int32_t kind, const char *want)
{
    HOSTILE("SetOutputStack", HL_ARGS(hl_u64(sp), hl_u64(at), hl_u64(value), hl_i32(kind)),
            HL_EPROTOCOL, want);
}

TEST(corrupted_output_stacks_are_EPROTOCOL_for_every_exit)
{
    const uint64_t size = 64 * 1024; /* the default output buffer */
    for (int32_t kind = K_DONE; kind <= K_LOG; kind++) {
        /* stack pointer beyond the region, wrapping, below the first element, empty */
        corrupt_stack(size + 8, 1ull << 40, 0, kind,
                      "guest broke the protocol: output buffer: stack pointer outside its buffer");
        corrupt_stack(UINT64_MAX, 1ull << 40, 0, kind,
                      "guest broke the protocol: output buffer: stack pointer outside its buffer");
        corrupt_stack(15, 1ull << 40, 0, kind,
                      "guest broke the protocol: output buffer: stack pointer outside its buffer");
        corrupt_stack(8, 1ull << 40, 0, kind,
                      "guest broke the protocol: output buffer: the buffer is empty");
        /* back-pointers: to itself (a loop), to 0, past the stack pointer, huge, a 0-byte
         * element */
        static const uint64_t bad_back[] = {16, 0, 24, UINT64_MAX, 1ull << 63};
        for (size_t i = 0; i < COUNT_OF(bad_back); i++)
            corrupt_stack(24, 16, bad_back[i], kind,
                          "guest broke the protocol: output buffer: back-pointer outside the "
                          "stack");
        corrupt_stack(size, size - 8, size - 8, kind,
                      "guest broke the protocol: output buffer: back-pointer outside the stack");
    }
    /* an element of the whole buffer: copied once and refused by the decoder */
    corrupt_stack(size, size - 8, 8, K_DONE, "guest sent a bad result: ");
    corrupt_stack(size, size - 8, 8, K_HOST_CALL, "guest broke the protocol: host call: ");
    corrupt_stack(size, size - 8, 8, K_LOG, "guest broke the protocol: log record: ");
}

/* ---- replies that lie ---- */
static void raw_done(const uint8_t *msg, size_t n, int code, const char *want)
{
    HOSTILE("RawDone", HL_ARGS(hl_bytes(msg, n)), code, want);
}

#define RAW_DONE(code, want, ...)                                                                  \
    raw_done((const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}), (code), (want))

TEST(replies_with_lying_lengths_bad_strings_or_types_are_EPROTOCOL)
{
    const int P = HL_EPROTOCOL;
    /* RawDone is declared void: a RESULT of another type is refused by type */
    RAW_DONE(P, "guest function 'RawDone' returned i32, not its declared void", 2, 2, 1, 0, 0, 0);
    /* length prefixes far beyond the element (the decoder checks what is left first) */
    RAW_DONE(P, "guest sent a bad result: message truncated", 2, 8, 0xff, 0xff, 0xff, 0xff, 'a', 0);
    RAW_DONE(P, "guest sent a bad result: message truncated", 2, 8, 0xf0, 0xff, 0xff, 0x7f, 'a', 0);
    RAW_DONE(P, "guest sent a bad result: message truncated", 2, 9, 0xff, 0xff, 0xff, 0xff, 1, 2);
    RAW_DONE(P, "guest sent a bad result: message truncated", 2, 8, 0, 0, 0, 0);
    RAW_DONE(P, "guest function 'RawDone' returned string, not its declared void", 2, 8, 0, 0, 0, 0,
             0);
    RAW_DONE(P, "guest sent a bad result: string lacks its terminating NUL", 2, 8, 2, 0, 0, 0, 'a',
             'b', 'c');
    RAW_DONE(P, "guest sent a bad result: string is not valid UTF-8 or contains NUL", 2, 8, 2, 0, 0,
             0, 0xc3, 0x28, 0);
    RAW_DONE(P, "guest sent a bad result: string is not valid UTF-8 or contains NUL", 2, 8, 3, 0, 0,
             0, 'a', 0, 'b', 0);
    RAW_DONE(P, "guest sent a bad result: string is not valid UTF-8 or contains NUL", 2, 8, 3, 0, 0,
             0, 0xed, 0xa0, 0x80, 0); /* a surrogate */
    RAW_DONE(P, "guest sent a bad result: string is not valid UTF-8 or contains NUL", 2, 8, 2, 0, 0,
             0, 0xc0, 0x80, 0); /* an overlong NUL */
    RAW_DONE(P, "guest sent a bad result: unknown value type", 2, 10);
    RAW_DONE(P, "guest sent a bad result: unknown value type", 2, 0xff, 0, 0, 0, 0);
    RAW_DONE(P, "guest sent a bad result: bool is neither 0 nor 1", 2, 1, 2);
    RAW_DONE(P, "guest sent a bad result: message truncated", 2, 4, 1, 2, 3);
    RAW_DONE(P, "guest sent a bad result: trailing bytes after message", 2, 0, 0);
    RAW_DONE(P, "guest sent a bad result: unexpected message kind", 1, 0, 1, 0, 'X');
    RAW_DONE(P, "guest sent a bad result: unexpected message kind", 0x63);
    RAW_DONE(P, "guest sent a bad error: message truncated", 3, 4, 0, 0, 0, 0xff, 0xff, 0xff, 0x7f,
             'x', 0);
    RAW_DONE(P, "guest sent a bad error: string lacks its terminating NUL", 3, 4, 0, 0, 0, 1, 0, 0,
             0, 'x', 'y');
}

TEST(error_replies_are_reported_without_poisoning)
{
    /* An ERROR reply is the guest's own verdict: its code maps to the documented errors (even
     * HL_ENOTFOUND for a function that exists) and the sandbox stays usable. (RawDone leaves the
     * VM from inside the function, so the next call would resume it there: the host does not care
     * where a guest waits; each round restores the clean snapshot first.) */
    static const struct {
        uint8_t code;
        int want;
    } maps[] = {{1, HL_ENOTFOUND}, {2, HL_EARGCOUNT}, {3, HL_EARGTYPE}, {4, HL_EGUEST},
                {0, HL_EGUEST},    {0x80, HL_EGUEST}, {9, HL_EGUEST}};
    victim v = make_victim(hostile_path(), NULL);
    for (size_t i = 0; i < COUNT_OF(maps); i++) {
        const uint8_t msg[] = {3, maps[i].code, 0,   0, maps[i].code == 0x80 ? 0xff : 0, 2, 0, 0,
                               0, 'n',          'o', 0};
        CHECK_OK(hl_sandbox_restore(v.sb, v.clean));
        CALL_FAILS(v.sb, maps[i].want, "RawDone", HL_ARGS(hl_bytes(msg, sizeof msg)));
        CHECK_ERROR_IS("guest function 'RawDone' failed: no");
        CHECK(!hl_sandbox_is_poisoned(v.sb));
    }
    const uint8_t ok[] = {2, 0}; /* RESULT void: a valid reply */
    CHECK_OK(hl_sandbox_restore(v.sb, v.clean));
    CALL_OK(v.sb, HL_TYPE_VOID, "RawDone", HL_ARGS(hl_bytes(ok, sizeof ok)));
    free_victim(&v);
}

/* ---- raw host calls ---- */
/* RawHostCall(msg) returns the host's raw reply: checks it is an ERROR with this code and text. */
static void check_error_reply(hl_value reply, int32_t code, const char *text)
{
    CHECK_TYPE(reply, HL_TYPE_BYTES);
    const uint8_t *p = reply.as.bytes.ptr;
    size_t n = reply.as.bytes.len;
    CHECK(n >= 10 && p[0] == 3);
    int32_t c;
    uint32_t len;
    memcpy(&c, p + 1, 4);
    memcpy(&len, p + 5, 4);
    CHECK_EQ(c, code);
    CHECK_EQ(n, 9 + len + 1);
    if (len != strlen(text) || memcmp(p + 9, text, len) != 0)
        hl_test_fail(__FILE__, __LINE__, "host replied \"%.*s\", expected \"%s\"", (int)len,
                     (const char *)p + 9, text);
}

static hl_value raw_host_call(hl_sandbox *sb, const uint8_t *msg, size_t n)
{
    return CALL_OK(sb, HL_TYPE_BYTES, "RawHostCall", HL_ARGS(hl_bytes(msg, n)));
}

#define RAW_CALL(sb, ...)                                                                          \
    raw_host_call((sb), (const uint8_t[]){__VA_ARGS__}, sizeof((const uint8_t[]){__VA_ARGS__}))

TEST(raw_host_calls_are_rechecked_by_the_host_against_its_registry)
{
    victim v = make_victim(hostile_path(), NULL);
    /* unknown name, wrong count, wrong types: refused, the host function never runs */
    check_error_reply(RAW_CALL(v.sb, 1, 0, 4, 0, 'N', 'o', 'p', 'e'), 5,
                      "host function 'Nope' is not registered");
    check_error_reply(
        RAW_CALL(v.sb, 1, 1, 8, 0, 'H', 'o', 's', 't', 'T', 'i', 'c', 'k', 2, 1, 0, 0, 0), 5,
        "host function 'HostTick' takes 0 arguments, 1 given");
    check_error_reply(
        RAW_CALL(v.sb, 1, 2, 7, 0, 'H', 'o', 's', 't', 'A', 'd', 'd', 2, 1, 0, 0, 0, 3, 1, 0, 0, 0),
        5, "argument 2 of host function 'HostAdd' must be i32, got u32");
    check_error_reply(RAW_CALL(v.sb, 1, 2, 7, 0, 'H', 'o', 's', 't', 'A', 'd', 'd', 8, 1, 0, 0, 0,
                               'x', 0, 2, 1, 0, 0, 0),
                      5, "argument 1 of host function 'HostAdd' must be i32, got string");
    CHECK_EQ(hs.ticks + hs.adds, 0);
    CHECK(!hl_sandbox_is_poisoned(v.sb));
    /* a correct one runs, exactly once */
    hl_value r = RAW_CALL(v.sb, 1, 2, 7, 0, 'H', 'o', 's', 't', 'A', 'd', 'd', 2, 40, 0, 0, 0, 2, 2,
                          0, 0, 0);
    static const uint8_t result_42[] = {2, 2, 42, 0, 0, 0};
    CHECK_EQ(r.as.bytes.len, sizeof result_42);
    CHECK_MEMEQ(r.as.bytes.ptr, result_42, sizeof result_42);
    CHECK_EQ(hs.adds, 1);
    free_victim(&v);
}

TEST(undecodable_raw_host_calls_are_EPROTOCOL)
{
    const char *const P = "guest broke the protocol: host call: ";
    char want[128];
#define BAD_CALL(why, ...)                                                                         \
    do {                                                                                           \
        snprintf(want, sizeof want, "%s%s", P, why);                                               \
        HOSTILE("RawHostCall",                                                                     \
                HL_ARGS(hl_bytes((const uint8_t[]){__VA_ARGS__},                                   \
                                 sizeof((const uint8_t[]){__VA_ARGS__}))),                         \
                HL_EPROTOCOL, want);                                                               \
    } while (0)
    BAD_CALL("message truncated", 1, 0, 0xff, 0xff, 'H');
    BAD_CALL("invalid function name", 1, 0, 0, 0);
    BAD_CALL("invalid function name", 1, 0, 3, 0, 'a', ' ', 'b');
    BAD_CALL("too many arguments", 1, 33, 1, 0, 'H');
    BAD_CALL("void argument", 1, 1, 8, 0, 'H', 'o', 's', 't', 'T', 'i', 'c', 'k', 0);
    BAD_CALL("string lacks its terminating NUL", 1, 1, 7, 0, 'H', 'o', 's', 't', 'A', 'd', 'd', 8,
             1, 0, 0, 0, 'x', 'y');
    BAD_CALL("message truncated", 1, 1, 7, 0, 'H', 'o', 's', 't', 'A', 'd', 'd', 8, 0xff, 0xff,
             0xff, 0xff, 'x', 0);
    BAD_CALL("trailing bytes after message", 1, 0, 8, 0, 'H', 'o', 's', 't', 'T', 'i', 'c', 'k', 0);
    BAD_CALL("unexpected message kind", 2, 2, 1, 0, 0, 0);
    BAD_CALL("unexpected message kind", 0x00);
    uint8_t long_name[4 + 129];
    memcpy(long_name, (const uint8_t[]){1, 0, 129, 0}, 4);
    memset(long_name + 4, 'a', 129); /* one byte over the 128-byte limit */
    HOSTILE("RawHostCall", HL_ARGS(hl_bytes(long_name, sizeof long_name)), HL_EPROTOCOL,
            "guest broke the protocol: host call: invalid function name");
#undef BAD_CALL
    CHECK_EQ(hs.ticks + hs.adds, 0);
}

TEST(stale_host_call_under_a_result_is_never_run)
{
    victim v = make_victim(hostile_path(), NULL);
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "StaleCallUnderResult", NULL, 0).as.i32, 7);
    CHECK_OK(hl_sandbox_restore(v.sb, v.clean)); /* it left the VM from inside the function */
    CHECK_STR_VALUE(CALL_OK(v.sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("next"))), "next");
    CHECK_EQ(hs.stale, 0);
    free_victim(&v);
}

/* ---- storms ---- */
static int storm_count(void)
{
    const char *s = getenv("HL_TEST_LOG_STORM");
    return s ? atoi(s) : slow_machine() ? 2000 : 100000;
}

TEST(log_storm_of_a_hundred_thousand_records_is_delivered_exactly)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = count_log;
    cfg.time_limit_ms = 60000;
    victim v = make_victim(hostile_path(), &cfg);
    int n = storm_count();
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "LogStorm", HL_ARGS(hl_i32(n))).as.i32, n);
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (double)(b.tv_sec - a.tv_sec) + (double)(b.tv_nsec - a.tv_nsec) / 1e9;
    printf("    %d log exits in %.2f s (%.1f us each)\n", n, s, s / n * 1e6);
    CHECK_EQ(hs.logs, n);
    CHECK(!hl_sandbox_is_poisoned(v.sb));
    free_victim(&v);
}

TEST(endless_log_storm_ends_at_the_time_limit_and_restore_recovers)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = count_log;
    cfg.time_limit_ms = 300;
    victim v = make_victim(hostile_path(), &cfg);
    CALL_FAILS(v.sb, HL_ETIMEOUT, "LogStorm", HL_ARGS(hl_i32(0)));
    CHECK_ERROR_IS("time limit of 300 ms exceeded");
    CHECK(hs.logs > 100);
    check_poisoned_then_restore(__FILE__, __LINE__, &v, "that");
    free_victim(&v);
}

TEST(raw_log_exits_ignoring_the_log_level_are_dropped_by_the_host)
{
    /* LOG records pushed by hand, although the host asked for none (no log_fn: PEB log level 0):
     * the host pops and drops each. With a log_fn but level ERROR, INFO records are dropped too. */
    static const uint8_t info[] = {4, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 'h', 'i', 0};
    int n = slow_machine() ? 200 : 20000;
    victim v = make_victim(hostile_path(), NULL);
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "RawLog", HL_ARGS(hl_bytes(info, sizeof info), hl_i32(n)))
                 .as.i32,
             n);
    free_victim(&v);
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = count_log;
    cfg.log_level = HL_LOG_ERROR;
    v = make_victim(hostile_path(), &cfg);
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "RawLog", HL_ARGS(hl_bytes(info, sizeof info), hl_i32(100)))
                 .as.i32,
             100);
    CHECK_EQ(hs.logs, 0);
    free_victim(&v);
}

TEST(host_call_storm_ends_at_the_time_limit_and_restore_recovers)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 300;
    victim v = make_victim(hostile_path(), &cfg);
    CALL_FAILS(v.sb, HL_ETIMEOUT, "HostLoop", HL_ARGS(hl_str("HostTick"), hl_i32(0)));
    CHECK(hs.ticks > 100);
    check_poisoned_then_restore(__FILE__, __LINE__, &v, "that");
    free_victim(&v);
}

/* ---- heap exhaustion ---- */
TEST(heap_exhaustion_is_a_clean_guest_error_and_restore_gives_the_heap_back)
{
    victim v = make_victim(hostile_path(), NULL);
    int got = CALL_OK(v.sb, HL_TYPE_I32, "HeapExhaust", NULL, 0).as.i32;
    CHECK(got > 100); /* 4 KiB blocks out of the 1 MiB heap */
    CALL_FAILS(v.sb, HL_EGUEST, "ScratchString", HL_ARGS(hl_i32(4096)));
    CHECK_ERROR_IS("guest function 'ScratchString' failed: no scratch memory for 4096 bytes");
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "HeapExhaust", NULL, 0).as.i32, 0);
    CHECK(!hl_sandbox_is_poisoned(v.sb));
    CHECK_STR_VALUE(CALL_OK(v.sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("alive"))), "alive");
    CHECK_OK(hl_sandbox_restore(v.sb, v.clean));
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_STRING, "ScratchString", HL_ARGS(hl_i32(5))).as.str.len, 5);
    CHECK_OK(hl_sandbox_restore(v.sb, v.clean));
    CHECK_EQ(CALL_OK(v.sb, HL_TYPE_I32, "HeapExhaust", NULL, 0).as.i32, got);
    free_victim(&v);
}

/* ---- snapshots of a guest that parks with unusual flags ---- */
TEST(snapshot_file_of_a_guest_parked_with_user_settable_flags_loads)
{
    /* CPL3 code may set AC (bit 18), ID (bit 21) and NT (bit 14) with popf; a guest that returns
     * with them set must still give a snapshot file that loads (IOPL and IF it cannot set). The
     * runtime clears AC (and DF) after the function returns, so it parks with ID and NT only. */
    static const uint64_t flags[] = {0x40002, 0x200002, 0x4002, 0x244002};
    char path[] = "/tmp/hl-hostile-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    for (size_t i = 0; i < COUNT_OF(flags); i++) {
        victim v = make_victim(hostile_path(), NULL);
        uint64_t got = CALL_OK(v.sb, HL_TYPE_U64, "SetFlags", HL_ARGS(hl_u64(flags[i]))).as.u64;
        CHECK_EQ(got & flags[i], flags[i]);
        hl_snapshot *s = NULL, *loaded = NULL;
        CHECK_OK(hl_sandbox_snapshot(v.sb, &s));
        CHECK_OK(hl_snapshot_save(s, path));
        CHECK_OK(hl_snapshot_load(path, &loaded));
        hl_sandbox *copy = NULL;
        CHECK_OK(hl_sandbox_new_from_snapshot(NULL, loaded, &copy));
        CHECK_OK(hl_sandbox_register(copy, "HostTick", HL_TYPE_I32, NULL, 0, host_tick, NULL));
        CHECK_OK(hl_sandbox_register(copy, "HostAdd", HL_TYPE_I32,
                                     HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32), host_add, NULL));
        CHECK_OK(hl_sandbox_register(copy, "HostCount", HL_TYPE_I32, NULL, 0, host_count, NULL));
        CHECK_OK(hl_sandbox_init(copy));
        /* The copy behaves as the original does from that snapshot. (With AC set, a misaligned
         * access raises #AC on hosts where the guest's CR0.AM is in effect, e.g. the nested PVM
         * host: the guest's own doing, the same in both.) */
        hl_value a, b;
        char detail[512];
        CHECK_OK(hl_sandbox_restore(v.sb, s));
        int rc = hl_sandbox_call(v.sb, "Echo", HL_ARGS(hl_str("flags")), &a);
        snprintf(detail, sizeof detail, "%s", hl_last_error());
        CHECK_RC(hl_sandbox_call(copy, "Echo", HL_ARGS(hl_str("flags")), &b), rc);
        CHECK_STREQ(hl_last_error(), detail);
        if (rc == 0) {
            CHECK_STR_VALUE(a, "flags");
            CHECK_STR_VALUE(b, "flags");
        }
        hl_sandbox_destroy(copy);
        hl_snapshot_release(loaded);
        hl_snapshot_release(s);
        free_victim(&v);
    }
    unlink(path);
}

static const hl_test tests[] = {
    TEST_ENTRY(every_fault_test_faults_checks_is_undone_by_restore),
    TEST_ENTRY(privileged_instructions_at_cpl3_fault_with_general_protection),
    TEST_ENTRY(segment_loads_and_far_transfers_to_ring_0_fault_naming_the_selector),
    TEST_ENTRY(software_interrupts_and_syscall_fault),
    TEST_ENTRY(vmcall_at_cpl3_is_refused_by_kvm_and_the_guest_goes_on),
    TEST_ENTRY(guest_functions_start_with_df_and_ac_clear),
    TEST_ENTRY(trap_flag_set_by_the_guest_is_reported_as_a_debug_fault),
    TEST_ENTRY(popf_cannot_raise_iopl_and_cli_sti_still_fault_afterwards),
    TEST_ENTRY(ports_outside_the_bitmap_fault_and_odd_sizes_or_unknown_ports_are_EPROTOCOL),
    TEST_ENTRY(in_from_any_port_is_EPROTOCOL_or_a_fault),
    TEST_ENTRY(refused_in_leaves_nothing_behind_for_a_restore_or_the_next_sandbox),
    TEST_ENTRY(string_port_output_is_seen_as_plain_writes),
    TEST_ENTRY(guest_cannot_write_its_gdt_tss_idt_stub_or_kernel_stack),
    TEST_ENTRY(guest_cannot_reach_page_tables_or_addresses_past_its_memory),
    TEST_ENTRY(guest_cannot_rewrite_peb_fields_and_its_own_copy_misleads_only_itself),
    TEST_ENTRY(execute_on_rodata_faults_nx),
    TEST_ENTRY(huge_stack_frames_hit_the_guard_page_or_fault_far_below),
    TEST_ENTRY(unprobed_frame_that_jumps_the_guard_page_only_hits_the_guests_own_heap),
    TEST_ENTRY(exits_with_garbage_in_every_register_are_refused_exactly),
    TEST_ENTRY(abort_with_an_unterminated_panic_message_is_cut_at_the_hosts_limit),
    TEST_ENTRY(corrupted_output_stacks_are_EPROTOCOL_for_every_exit),
    TEST_ENTRY(replies_with_lying_lengths_bad_strings_or_types_are_EPROTOCOL),
    TEST_ENTRY(error_replies_are_reported_without_poisoning),
    TEST_ENTRY(raw_host_calls_are_rechecked_by_the_host_against_its_registry),
    TEST_ENTRY(undecodable_raw_host_calls_are_EPROTOCOL),
    TEST_ENTRY(stale_host_call_under_a_result_is_never_run),
    TEST_ENTRY(log_storm_of_a_hundred_thousand_records_is_delivered_exactly),
    TEST_ENTRY(endless_log_storm_ends_at_the_time_limit_and_restore_recovers),
    TEST_ENTRY(raw_log_exits_ignoring_the_log_level_are_dropped_by_the_host),
    TEST_ENTRY(host_call_storm_ends_at_the_time_limit_and_restore_recovers),
    TEST_ENTRY(heap_exhaustion_is_a_clean_guest_error_and_restore_gives_the_heap_back),
    TEST_ENTRY(snapshot_file_of_a_guest_parked_with_user_settable_flags_loads),
};

RUN_TESTS(tests)

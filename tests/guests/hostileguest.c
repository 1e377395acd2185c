/* hostileguest.c: a deliberately malicious test guest for tests/kvm/test_hostile.c and
 * tests/kvm/test_interrupt.c: privileged and odd instructions, port games, raw protocol messages,
 * exits with garbage in every register, log and host-call storms, heap exhaustion, writes to the
 * system area. Each function is registered in hlg_main (at the bottom) with its exact signature;
 * the host tests depend on the names, signatures and results below. */
#include <hyperlight/guest.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Runtime internals this guest abuses (see guest/runtime.h). */

#define UNUSED_ARGS (void)args, (void)nargs

/* ---- plain functions, to show a sandbox works (again) ---- */
static int spin(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS, (void)ret;
    volatile int forever = 1;
    while (forever)
        ;
    return 0;
}

/* ---- storms ---- */
/* LogStorm(n): n log records through the runtime (n <= 0: forever); returns n. */
static int log_storm(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    for (int32_t i = 0; n <= 0 || i < n; i++)
        HLG_INFO("storm %d", i);
    *ret = hl_i32(n);
    return 0;
}

/* HostLoop(name, n): calls host function `name` (() -> i32) n times (n <= 0: forever); after each
 * call that returns, logs "after host call I" (the host's log callback sees whether the guest ran
 * again). Returns the number of calls made. */
static int host_loop(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[1].as.i32, i;
    for (i = 0; n <= 0 || i < n; i++) {
        hl_value r;
        if (hlg_call_host(args[0].as.str.ptr, NULL, 0, &r))
            return hlg_fail("host call %d failed: %s", i, hlg_last_error());
        counter++;
        HLG_INFO("after host call %d", i);
    }
    *ret = hl_i32(i);
    return 0;
}

/* ---- raw protocol messages (no checks: exactly what a malicious guest can do) ---- */
static uint8_t *region_base(const hl_abi_region *r)
{
    return (uint8_t *)(uintptr_t)r->gpa;
}

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void store_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

/* Pushes msg[0..n) as one element of the output stack, exactly as abi.h describes. */
static void raw_push(const void *msg, size_t n)
{
    uint8_t *base = region_base(&hlg__peb.output);
    uint64_t sp = load_u64(base);
    memcpy(base + sp, msg, n);
    store_u64(base + sp + n, sp);
    store_u64(base, sp + n + 8);
}

static void raw_exit(uint16_t port)
{
    __asm__ volatile("outl %0, %w1" : : "a"(0u), "Nd"(port) : "memory");
}

/* RawDone(bytes): pushes the bytes as the reply and exits DONE. */
static int raw_done(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    raw_push(args[0].as.bytes.ptr, args[0].as.bytes.len);
    raw_exit(HL_ABI_PORT_DONE);
    return hlg_fail("the host resumed the guest after DONE");
}

/* RawHostCall(bytes): pushes the bytes as a host call and exits HOST_CALL; when resumed, returns
 * the host's raw reply (the top element of the input stack), which it pops. */
static int raw_host_call(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    raw_push(args[0].as.bytes.ptr, args[0].as.bytes.len);
    raw_exit(HL_ABI_PORT_HOST_CALL);
    uint8_t *in = region_base(&hlg__peb.input);
    uint64_t sp = load_u64(in), elem = load_u64(in + sp - 8), n = sp - 8 - elem;
    uint8_t *copy = hlg_scratch(n);
    if (!copy)
        return hlg_fail("out of memory");
    memcpy(copy, in + elem, n);
    store_u64(in, elem);
    *ret = hl_bytes(copy, n);
    return 0;
}

/* RawLog(bytes, n): pushes the bytes as a log record and exits LOG, n times (whatever log level
 * the host asked for); returns n. */
static int raw_log(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[1].as.i32;
    for (int32_t i = 0; i < n; i++) {
        raw_push(args[0].as.bytes.ptr, args[0].as.bytes.len);
        raw_exit(HL_ABI_PORT_LOG);
    }
    *ret = hl_i32(n);
    return 0;
}

static uint16_t port_of(int32_t kind)
{
    static const uint16_t ports[] = {HL_ABI_PORT_DONE, HL_ABI_PORT_HOST_CALL, HL_ABI_PORT_LOG};
    return ports[kind >= 0 && kind < 3 ? kind : 0];
}

/* SetOutputStack(sp, at, value, kind): writes the u64 value at offset `at` of the output region
 * (when it fits), sets the stack pointer to sp and exits DONE (kind 0), HOST_CALL (1) or LOG (2).
 */
static int set_output_stack(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    uint8_t *base = region_base(&hlg__peb.output);
    uint64_t at = args[1].as.u64;
    if (at <= hlg__peb.output.size - 8)
        store_u64(base + at, args[2].as.u64);
    store_u64(base, args[0].as.u64);
    raw_exit(port_of(args[3].as.i32));
    return hlg_fail("the host resumed the guest after a corrupt stack");
}

/* StaleCallUnderResult(): leaves a host CALL for HostCount under a valid RESULT (i32 7) and exits
 * DONE: the host must return 7 and never run the buried call. */
static int stale_call_under_result(const hl_value *args, size_t nargs, hl_value *ret)
{
    static const uint8_t call[] = {
        HL_ABI_MSG_CALL, 0, 9, 0, 'H', 'o', 's', 't', 'C', 'o', 'u', 'n', 't'};
    static const uint8_t result[] = {HL_ABI_MSG_RESULT, HL_TYPE_I32, 7, 0, 0, 0};
    UNUSED_ARGS, (void)ret;
    raw_push(call, sizeof call);
    raw_push(result, sizeof result);
    raw_exit(HL_ABI_PORT_DONE);
    return hlg_fail("the host resumed the guest after DONE");
}

/* CorruptPebCopy(): points the runtime's own copy of the PEB at memory outside the VM, then returns
 * normally: the runtime's reply then writes there and faults. The host never reads the PEB back. */
static int corrupt_peb_copy(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    hlg__peb.output.gpa = 0x7fff00000000ull;
    hlg__peb.output.size = 1ull << 40;
    *ret = hl_i32(1);
    return 0;
}

/* ---- memory ---- */
/* ExecuteAddress(addr) calls it (ReadAddress and WriteAddress are in common.h). */
typedef int (*code_fn)(void);

static code_fn as_code(const void *p)
{
    code_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

static int execute_address(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(as_code((const void *)(uintptr_t)args[0].as.u64)());
    return 0;
}

static const uint8_t rodata_code[16] = {0xc3, 0xc3, 0xc3, 0xc3}; /* ret */

static int execute_rodata(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    const void *p = rodata_code;
    __asm__ volatile("" : "+r"(p));
    *ret = hl_i32(as_code(p)()); /* rodata is NX: must fault */
    return 0;
}

/* HeapExhaust(): mallocs 4 KiB blocks until malloc returns NULL, keeps them all, returns how many
 * it got. The sandbox stays usable, with a full heap. */
static int heap_exhaust(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    int32_t n = 0;
    for (void *p; (p = malloc(4096)) != NULL; n++)
        memset(p, 0xa5, 4096);
    *ret = hl_i32(n);
    return 0;
}

/* ScratchString(n): a string of n 'x' from scratch memory (fails cleanly if the heap is full). */
static int scratch_string(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    char *s = n >= 0 ? hlg_scratch((size_t)n + 1) : NULL;
    if (!s)
        return hlg_fail("no scratch memory for %d bytes", n);
    memset(s, 'x', (size_t)n);
    *ret = hl_strn(s, (size_t)n);
    return 0;
}

/* ---- the stack ---- */
/* HugeFrame(): a 64 MiB local array, probed page by page (-fstack-clash-protection, as hl-cc
 * compiles): the first probe below the stack hits the guard page. */
static int huge_frame(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t frame[64u * 1024 * 1024];
    __asm__ volatile("" : : "r"(frame) : "memory"); /* the whole frame escapes: no shrinking */
    frame[0] = 1;
    *ret = hl_i32(frame[0] + frame[sizeof frame - 1]);
    return 0;
}

/* UnprobedFrame(bytes): what code built without stack probes does: moves RSP down by `bytes` at
 * once and writes there, then puts RSP back. */
static int unprobed_frame(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint64_t bytes = args[0].as.u64;
    __asm__ volatile("movq %%rsp, %%r11\n\t"
                     "subq %0, %%rsp\n\t"
                     "movb $0x5a, (%%rsp)\n\t"
                     "movq %%r11, %%rsp"
                     :
                     : "r"(bytes)
                     : "r11", "memory");
    *ret = hl_i32(0);
    return 0;
}

/* ---- instructions ---- */
static uint8_t descriptor[10];

/* Privileged(which): runs one instruction CPL3 may not use, or one that must not let the guest
 * raise its privilege. Every case but 20 and 26 must fault (20: not on every hypervisor); see
 * test_hostile.c for what each raises. */
static int privileged(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t v = 0;
    (void)nargs;
    switch (args[0].as.i32) {
    case 0:
        __asm__ volatile("wrmsr" : : "c"(0xc0000100u), "a"(0u), "d"(0u)); /* FS.base */
        break;
    case 1:
        __asm__ volatile("rdmsr" : "=a"(v) : "c"(0xc0000080u) : "rdx"); /* EFER */
        break;
    case 2:
        __asm__ volatile("movq %0, %%cr3" : : "r"(v) : "memory");
        break;
    case 3:
        __asm__ volatile("movq %0, %%cr0" : : "r"(v) : "memory");
        break;
    case 4:
        __asm__ volatile("lgdt %0" : : "m"(descriptor));
        break;
    case 5:
        __asm__ volatile("lidt %0" : : "m"(descriptor));
        break;
    case 6:
        __asm__ volatile("ltr %w0" : : "r"((uint16_t)0x28));
        break;
    case 7:
        __asm__ volatile("lldt %w0" : : "r"((uint16_t)0));
        break;
    case 8:
        __asm__ volatile("invlpg (%0)" : : "r"(&v) : "memory");
        break;
    case 9:
        __asm__ volatile("sti");
        break;
    case 10:
        __asm__ volatile("clts");
        break;
    case 11:
        __asm__ volatile("wbinvd");
        break;
    case 12:
        __asm__ volatile("swapgs");
        break;
    case 13:
        __asm__ volatile("movq %0, %%dr7" : : "r"(v));
        break;
    case 14:
        __asm__ volatile("movq %0, %%cr4" : : "r"(v) : "memory");
        break;
    case 15:
        __asm__ volatile("int $0x20"); /* beyond the IDT's limit */
        break;
    case 16:
        __asm__ volatile("int $14"); /* a DPL0 gate */
        break;
    case 17:
        __asm__ volatile("int3"); /* also checked against the gate's DPL */
        break;
    case 18:
        __asm__ volatile("syscall" : : : "rcx", "r11", "memory"); /* EFER.SCE is clear */
        break;
    case 19:
        __asm__ volatile("movw %w0, %%ds" : : "r"((uint16_t)0x10)); /* kernel data */
        break;
    case 20:
        __asm__ volatile("movw %w0, %%fs" : : "r"((uint16_t)0x28)); /* the TSS */
        break;
    case 21: /* far return to kernel code */
        __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                         "pushq $0x08\n\t"
                         "pushq %%rax\n\t"
                         "lretq\n\t"
                         "1:"
                         :
                         :
                         : "rax", "memory");
        break;
    case 22: /* iretq to CPL0 */
        __asm__ volatile("movq %%rsp, %%rax\n\t"
                         "pushq $0x10\n\t"
                         "pushq %%rax\n\t"
                         "pushfq\n\t"
                         "pushq $0x08\n\t"
                         "leaq 1f(%%rip), %%rax\n\t"
                         "pushq %%rax\n\t"
                         "iretq\n\t"
                         "1:"
                         :
                         :
                         : "rax", "memory");
        break;
    case 23:
        __asm__ volatile("xsetbv" : : "c"(0u), "a"(1u), "d"(0u)); /* CR4.OSXSAVE is clear */
        break;
    case 24:
        __asm__ volatile("rdpmc" : "=a"(v) : "c"(0u) : "rdx"); /* CR4.PCE is clear */
        break;
    case 25:
        __asm__ volatile("ljmpl *%0" : : "m"(descriptor)); /* far jump through a null selector */
        break;
    case 26: /* vmcall at CPL3: KVM refuses the hypercall (-KVM_EPERM in rax), the guest goes on */
        v = 12; /* KVM_HC_MAP_GPA_RANGE, say */
        __asm__ volatile("vmcall" : "+a"(v) : : "rbx", "rcx", "rdx", "rsi", "memory");
        break;
    case 27:
        __asm__ volatile("movq %%cr0, %0" : "=r"(v));
        break;
    case 28:
        __asm__ volatile("invd");
        break;
    case 29:
        __asm__ volatile("movw %w0, %%ss" : : "r"((uint16_t)0)); /* null SS at CPL3 */
        break;
    default:
        return hlg_fail("no instruction %d", args[0].as.i32);
    }
    *ret = hl_u64(v);
    return 0;
}

/* PopfPrivileged(): tries to set IF, IOPL = 3, NT, VIF and VIP with popf and returns RFLAGS as
 * read back: at CPL3 the CPU leaves IF and IOPL alone (no fault), and the guest still cannot cli.
 */
static int popf_privileged(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t want = 0x2 | 0x200 | 0x3000 | 0x4000 | 0x80000 | 0x100000, got;
    UNUSED_ARGS;
    __asm__ volatile("pushfq\n\t"
                     "pushq %1\n\t"
                     "popfq\n\t"
                     "pushfq\n\t"
                     "popq %0\n\t"
                     "popfq"
                     : "=r"(got)
                     : "r"(want)
                     : "cc", "memory");
    *ret = hl_u64(got);
    return 0;
}

/* GetFlags(): RFLAGS as this function finds them. */
static int get_flags(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t got;
    (void)args, (void)nargs;
    __asm__ volatile("pushfq\n\t"
                     "popq %0"
                     : "=r"(got)
                     :
                     : "memory");
    *ret = hl_u64(got);
    return 0;
}

/* SetFlags(rflags): loads RFLAGS with popf and returns with them still set, so the guest parks
 * with them (at CPL3 the CPU ignores attempts to change IF, IOPL, VIF, VIP). Returns RFLAGS as
 * read back. */
static int set_flags(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t got;
    (void)nargs;
    __asm__ volatile("pushq %1\n\t"
                     "popfq\n\t"
                     "pushfq\n\t"
                     "popq %0"
                     : "=r"(got)
                     : "r"(args[0].as.u64)
                     : "cc", "memory");
    *ret = hl_u64(got);
    return 0;
}

/* TrapFlag(): sets RFLAGS.TF: the next instruction raises #DB. */
static int trap_flag(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    __asm__ volatile("pushfq\n\t"
                     "orq $0x100, (%%rsp)\n\t"
                     "popfq\n\t"
                     "nop\n\t"
                     "nop"
                     :
                     :
                     : "cc", "memory");
    *ret = hl_i32(0);
    return 0;
}

/* OutPort(port, size, value): out of 1, 2 or 4 bytes through DX. InPort(port, size): in. */
static int out_port(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint16_t port = (uint16_t)args[0].as.u32;
    uint32_t v = args[2].as.u32;
    switch (args[1].as.i32) {
    case 1:
        __asm__ volatile("outb %b0, %w1" : : "a"(v), "Nd"(port) : "memory");
        break;
    case 2:
        __asm__ volatile("outw %w0, %w1" : : "a"(v), "Nd"(port) : "memory");
        break;
    case 4:
        __asm__ volatile("outl %0, %w1" : : "a"(v), "Nd"(port) : "memory");
        break;
    default:
        return hlg_fail("no size %d", args[1].as.i32);
    }
    *ret = hl_i32(0);
    return 0;
}

static int in_port(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint16_t port = (uint16_t)args[0].as.u32;
    uint32_t v = 0;
    switch (args[1].as.i32) {
    case 1:
        __asm__ volatile("inb %w1, %b0" : "+a"(v) : "Nd"(port) : "memory");
        break;
    case 2:
        __asm__ volatile("inw %w1, %w0" : "+a"(v) : "Nd"(port) : "memory");
        break;
    case 4:
        __asm__ volatile("inl %w1, %0" : "=a"(v) : "Nd"(port) : "memory");
        break;
    default:
        return hlg_fail("no size %d", args[1].as.i32);
    }
    *ret = hl_u32(v);
    return 0;
}

/* OutString(count, size): rep outs of `count` elements of `size` (1 or 4) bytes to DONE. */
static int out_string(const hl_value *args, size_t nargs, hl_value *ret)
{
    static const uint32_t data[16];
    (void)nargs;
    const void *src = data;
    uint64_t count = (uint64_t)args[0].as.i32;
    if (args[1].as.i32 == 1)
        __asm__ volatile("rep outsb" : "+S"(src), "+c"(count) : "d"(HL_ABI_PORT_DONE) : "memory");
    else
        __asm__ volatile("rep outsl" : "+S"(src), "+c"(count) : "d"(HL_ABI_PORT_DONE) : "memory");
    *ret = hl_i32(0);
    return 0;
}

/* InString(addr, count, plant): first leaves through LOG with EAX = plant (a valid log record is
 * pushed, so the host resumes), which leaves those 4 bytes in KVM's I/O data area; then runs
 * `rep insb` of `count` bytes from port DONE to addr. The host refuses the `in`; KVM would finish
 * the instruction (write the bytes, move RDI and RIP) at the next KVM_RUN. */
static int in_string(const hl_value *args, size_t nargs, hl_value *ret)
{
    static const uint8_t log[] = {HL_ABI_MSG_LOG, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'p', 0};
    (void)nargs;
    void *dst = (void *)(uintptr_t)args[0].as.u64;
    uint64_t count = (uint64_t)args[1].as.i32;
    raw_push(log, sizeof log);
    __asm__ volatile("outl %0, %w1"
                     :
                     : "a"(args[2].as.u32), "Nd"((uint16_t)HL_ABI_PORT_LOG)
                     : "memory");
    __asm__ volatile("rep insb" : "+D"(dst), "+c"(count) : "d"(HL_ABI_PORT_DONE) : "memory");
    *ret = hl_i32(0);
    return 0;
}

/* ---- exits with garbage in every register ---- */
static uint64_t garbage[32];

/* Loads garbage into RAX..R15 (RSP and RBP included), XMM0..XMM15 and the flags (DF set), then
 * leaves through the given port; ud2 follows, so a host that resumed it would see #UD. */
#define GARBAGE_EXIT(port)                                                                         \
    __asm__ volatile("movdqu 128(%%r15), %%xmm0\n\tmovdqu 144(%%r15), %%xmm1\n\t"                  \
                     "movdqu 160(%%r15), %%xmm2\n\tmovdqu 176(%%r15), %%xmm3\n\t"                  \
                     "movdqu 192(%%r15), %%xmm4\n\tmovdqu 208(%%r15), %%xmm5\n\t"                  \
                     "movdqu 224(%%r15), %%xmm6\n\tmovdqu 240(%%r15), %%xmm7\n\t"                  \
                     "movdqa %%xmm0, %%xmm8\n\tmovdqa %%xmm1, %%xmm9\n\t"                          \
                     "movdqa %%xmm2, %%xmm10\n\tmovdqa %%xmm3, %%xmm11\n\t"                        \
                     "movdqa %%xmm4, %%xmm12\n\tmovdqa %%xmm5, %%xmm13\n\t"                        \
                     "movdqa %%xmm6, %%xmm14\n\tmovdqa %%xmm7, %%xmm15\n\t"                        \
                     "pushq 0(%%r15)\n\tpopfq\n\tstd\n\t"                                          \
                     "movq 8(%%r15), %%rax\n\tmovq 16(%%r15), %%rbx\n\t"                           \
                     "movq 24(%%r15), %%rcx\n\tmovq 32(%%r15), %%rdx\n\t"                          \
                     "movq 40(%%r15), %%rsi\n\tmovq 48(%%r15), %%rdi\n\t"                          \
                     "movq 56(%%r15), %%rbp\n\tmovq 64(%%r15), %%rsp\n\t"                          \
                     "movq 72(%%r15), %%r8\n\tmovq 80(%%r15), %%r9\n\t"                            \
                     "movq 88(%%r15), %%r10\n\tmovq 96(%%r15), %%r11\n\t"                          \
                     "movq 104(%%r15), %%r12\n\tmovq 112(%%r15), %%r13\n\t"                        \
                     "movq 120(%%r15), %%r14\n\tmovq 0(%%r15), %%r15\n\t"                          \
                     "outl %%eax, $" #port "\n\t"                                                  \
                     "ud2"                                                                         \
                     :                                                                             \
                     : "r"(base)                                                                   \
                     : "memory")

/* GarbageExit(kind, seed): kind 0 DONE, 1 HOST_CALL, 2 LOG, 3 ABORT (after filling the panic
 * buffer with 'A' and no NUL), 4 port 0xE4+2 (unknown). Never returns. */
static int garbage_exit(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t x = args[1].as.u64 | 1;
    (void)nargs, (void)ret;
    for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17; /* xorshift64 */
        garbage[i] = x;
    }
    garbage[0] = (garbage[0] & 0x8d5) | 0x2; /* RFLAGS: only arithmetic flags (TF would trap) */
    register uint64_t *base __asm__("r15") = garbage;
    switch (args[0].as.i32) {
    case 0:
        GARBAGE_EXIT(0xe0);
        break;
    case 1:
        GARBAGE_EXIT(0xe4);
        break;
    case 2:
        GARBAGE_EXIT(0xe8);
        break;
    case 3:
        memset(region_base(&hlg__peb.panic), 'A', hlg__peb.panic.size);
        GARBAGE_EXIT(0xec);
        break;
    case 4:
        GARBAGE_EXIT(0xe6);
        break;
    default:
        break;
    }
    return hlg_fail("no kind %d", args[0].as.i32);
}

/* ---- hot sandboxes: the doorbell (abi.h) while the host is looking ---- */
static volatile hl_abi_doorbell *doorbell(void)
{
    return (volatile hl_abi_doorbell *)(uintptr_t)hlg__peb.doorbell.gpa;
}

static uint64_t next_random(uint64_t *x)
{
    *x ^= *x << 13, *x ^= *x >> 7, *x ^= *x << 17; /* xorshift64 */
    return *x;
}

/* Waits for the answer to request n for at most `spins` pauses; 1 if it came. */
static int answered(uint32_t n, uint32_t spins)
{
    for (uint32_t i = 0; i < spins; i++) {
        if (doorbell()->answer == n)
            return 1;
        __builtin_ia32_pause();
    }
    return 0;
}

/* HotRewriteHostCall(n, seed): n times, pushes a host call to HostCount, rings the bell for it and,
 * until the host answers (or a bound passes), keeps rewriting the message's bytes, its back-pointer
 * and the stack pointer with random values, while the host copies them. Then drops whatever the
 * host replied, puts the output stack back and returns how many requests were answered. */
static int hot_rewrite_host_call(const hl_value *args, size_t nargs, hl_value *ret)
{
    static const uint8_t call[] = {
        HL_ABI_MSG_CALL, 0, 9, 0, 'H', 'o', 's', 't', 'C', 'o', 'u', 'n', 't'};
    uint8_t *out = region_base(&hlg__peb.output), *in = region_base(&hlg__peb.input);
    uint64_t x = args[1].as.u64 | 1, in_sp = load_u64(in);
    int32_t got = 0;
    (void)nargs;
    for (int32_t i = 0; i < args[0].as.i32; i++) {
        uint64_t sp = load_u64(out);
        raw_push(call, sizeof call);
        uint32_t n = doorbell()->answer + 1;
        doorbell()->bell = (uint64_t)HL_ABI_PORT_HOST_CALL << 32 | n;
        for (uint32_t k = 0; k < 200000 && doorbell()->answer != n; k++) {
            uint64_t r = next_random(&x);
            out[sp + r % (sizeof call + 8)] = (uint8_t)(r >> 32);
            if (r >> 60 == 0)
                store_u64(out, r >> 8 & 0xffff);
        }
        got += doorbell()->answer == n;
        store_u64(out, sp);
        store_u64(in, in_sp);
    }
    *ret = hl_i32(got);
    return 0;
}

/* HotFlipBell(n, seed): writes n values to the bell: random ones, the number the host expects next
 * with a random port, and valid-looking LOG requests over a garbage output stack; returns n. */
static int hot_flip_bell(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t x = args[1].as.u64 | 1;
    (void)nargs;
    for (int32_t i = 0; i < args[0].as.i32; i++) {
        uint64_t r = next_random(&x);
        uint32_t n = doorbell()->answer + 1;
        switch (r % 4) {
        case 0:
            doorbell()->bell = next_random(&x);
            break;
        case 1:
            doorbell()->bell = (r >> 16 & 0xffff) << 32 | n;
            break;
        case 2:
            store_u64(region_base(&hlg__peb.output), r >> 40);
            doorbell()->bell = (uint64_t)HL_ABI_PORT_LOG << 32 | n;
            answered(n, 1000);
            break;
        default:
            doorbell()->bell = (uint64_t)(uint32_t)(r >> 32) << 32 | (uint32_t)r;
            break;
        }
    }
    *ret = hl_i32(args[0].as.i32);
    return 0;
}

/* HotParkUnasked(n): parks (`out` to PARK) n times without having posted a request; returns n. */
static int hot_park_unasked(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    for (int32_t i = 0; i < args[0].as.i32; i++)
        raw_exit(HL_ABI_PORT_PARK);
    *ret = hl_i32(args[0].as.i32);
    return 0;
}

/* HotPostAndSpin(): posts a LOG request whose message is not there, then spins forever without
 * looking for the answer or parking. */
static int hot_post_and_spin(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS, (void)ret;
    doorbell()->bell = (uint64_t)HL_ABI_PORT_LOG << 32 | (doorbell()->answer + 1);
    for (volatile int forever = 1; forever;)
        ;
    return 0;
}

/* ---- registration ---- */
#define S HL_TYPE_STRING
#define I32 HL_TYPE_I32
#define U32 HL_TYPE_U32
#define U64 HL_TYPE_U64
#define BYTES HL_TYPE_BYTES
#define VOID HL_TYPE_VOID

void hlg_main(void)
{
    reg("Echo", S, HL_PARAMS(S), echo);
    reg("AddToStatic", I32, HL_PARAMS(I32), add_to_static);
    reg("Spin", VOID, NULL, 0, spin);
    reg("HotRewriteHostCall", I32, HL_PARAMS(I32, U64), hot_rewrite_host_call);
    reg("HotFlipBell", I32, HL_PARAMS(I32, U64), hot_flip_bell);
    reg("HotParkUnasked", I32, HL_PARAMS(I32), hot_park_unasked);
    reg("HotPostAndSpin", VOID, NULL, 0, hot_post_and_spin);
    reg("LogStorm", I32, HL_PARAMS(I32), log_storm);
    reg("HostLoop", I32, HL_PARAMS(S, I32), host_loop);
    reg("RawDone", VOID, HL_PARAMS(BYTES), raw_done);
    reg("RawHostCall", BYTES, HL_PARAMS(BYTES), raw_host_call);
    reg("RawLog", I32, HL_PARAMS(BYTES, I32), raw_log);
    reg("SetOutputStack", VOID, HL_PARAMS(U64, U64, U64, I32), set_output_stack);
    reg("StaleCallUnderResult", I32, NULL, 0, stale_call_under_result);
    reg("CorruptPebCopy", I32, NULL, 0, corrupt_peb_copy);
    reg("ReadAddress", U64, HL_PARAMS(U64), read_address);
    reg("WriteAddress", VOID, HL_PARAMS(U64, U64), write_address);
    reg("ExecuteAddress", I32, HL_PARAMS(U64), execute_address);
    reg("ExecuteRodata", I32, NULL, 0, execute_rodata);
    reg("PebRegion", U64, HL_PARAMS(I32), peb_region);
    reg("HeapExhaust", I32, NULL, 0, heap_exhaust);
    reg("ScratchString", S, HL_PARAMS(I32), scratch_string);
    reg("HugeFrame", I32, NULL, 0, huge_frame);
    reg("UnprobedFrame", I32, HL_PARAMS(U64), unprobed_frame);
    reg("Privileged", U64, HL_PARAMS(I32), privileged);
    reg("PopfPrivileged", U64, NULL, 0, popf_privileged);
    reg("SetFlags", U64, HL_PARAMS(U64), set_flags);
    reg("GetFlags", U64, NULL, 0, get_flags);
    reg("TrapFlag", I32, NULL, 0, trap_flag);
    reg("OutPort", I32, HL_PARAMS(U32, I32, U32), out_port);
    reg("InPort", U32, HL_PARAMS(U32, I32), in_port);
    reg("OutString", I32, HL_PARAMS(I32, I32), out_string);
    reg("InString", I32, HL_PARAMS(U64, I32, U32), in_string);
    reg("GarbageExit", VOID, HL_PARAMS(I32, U64), garbage_exit);
}

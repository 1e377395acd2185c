/* cpu.c: GDT, 64-bit TSS with I/O bitmap, IDT and the ring-0 exception stub (SDM vol. 3 ch. 3,
 * 6, 7, 19). Guest code runs at CPL3; ring 0 only reports exceptions to the host. */
#include "cpu.h"

#include <signal.h>
#include <string.h>

#include "error.h"
#include "hyperlight/abi.h"
#include "x86.h"

#define GDT_ENTRIES 7 /* null, kcode, kdata, udata, ucode, tss (2 slots) */
#define STUB_ENTRY_SIZE 16u
#define STUB_COMMON (X86_EXCEPTION_VECTORS * STUB_ENTRY_SIZE)
/* I/O bitmap: one bit per port, 1 = denied; covers ports 0..IOMAP_PORTS-1, then a 0xff byte. */
#define IOMAP_PORTS 256u
#define IOMAP_BYTES (IOMAP_PORTS / 8 + 1)

static uint64_t code_or_data(uint8_t access, int long_mode)
{
    /* base 0, limit 0xfffff, G=1; L=1 for 64-bit code, else D/B=1 */
    uint64_t flags = long_mode ? 0xa : 0xc;
    return 0xffffull | ((uint64_t)access << 40) | (0xfull << 48) | (flags << 52);
}

static void write_gdt(uint8_t *gdt, const hl__layout *l)
{
    uint64_t d[GDT_ENTRIES] = {0};
    uint64_t tss_limit = X86_TSS_SIZE + IOMAP_BYTES - 1, base = l->tss;
    d[1] = code_or_data(X86_DESC_KERNEL_CODE, 1);
    d[2] = code_or_data(X86_DESC_KERNEL_DATA, 0);
    d[3] = code_or_data(X86_DESC_USER_DATA, 0);
    d[4] = code_or_data(X86_DESC_USER_CODE, 1);
    d[5] = (tss_limit & 0xffff) | ((base & 0xffffff) << 16) | ((uint64_t)X86_DESC_TSS64 << 40) |
           (((tss_limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xff) << 56);
    d[6] = base >> 32;
    memcpy(gdt, d, sizeof d);
}

static void write_tss(uint8_t *tss, const hl__layout *l)
{
    uint64_t rsp0 = l->kstack_top;
    uint16_t iomap = X86_TSS_SIZE;
    memcpy(tss + X86_TSS_RSP0, &rsp0, 8);
    memcpy(tss + X86_TSS_IOMAP_BASE, &iomap, 2);
    uint8_t *bitmap = tss + X86_TSS_SIZE;
    memset(bitmap, 0xff, IOMAP_BYTES);
    for (unsigned port = HL_ABI_PORT_PARK; port < HL_ABI_PORT_ABORT + 4; port++)
        bitmap[port / 8] &= (uint8_t) ~(1u << (port % 8));
}

/* Every vector's gate leads to the stub at ring 0. #BP's has DPL 3, so that an INT3 at CPL3 (a
 * debugger's breakpoint, gdb_stub.c) reports #BP just after it, on every CPU and emulator, instead
 * of a #GP whose details vary; the report ends the call as any exception does. */
static void write_idt(uint8_t *idt, const hl__layout *l)
{
    for (unsigned v = 0; v < X86_EXCEPTION_VECTORS; v++) {
        uint64_t h = l->stub + v * STUB_ENTRY_SIZE;
        uint64_t type = v == X86_VEC_BP ? X86_GATE_INTERRUPT_USER : X86_GATE_INTERRUPT;
        uint64_t lo = (h & 0xffff) | ((uint64_t)X86_SEL_KERNEL_CODE << 16) | (type << 40) |
                      (((h >> 16) & 0xffff) << 48);
        uint64_t hi = h >> 32;
        memcpy(idt + 16 * v, &lo, 8);
        memcpy(idt + 16 * v + 8, &hi, 8);
    }
}

/* Per vector: [push 0 if the CPU pushes no error code]; push vector; jmp common. Common: push
 * RAX (the one register the stub changes, kept for core dumps and debuggers), push CR2, report on
 * the exception port, and halt. The host never resumes the stub: a debugger resumes the guest
 * at the frame's RIP with its registers (hl__vm_set_regs). */
static void write_stub(uint8_t *code)
{
    memset(code, 0xcc, HL_PAGE);
    for (unsigned v = 0; v < X86_EXCEPTION_VECTORS; v++) {
        uint8_t *p = code + v * STUB_ENTRY_SIZE;
        if (!X86_VEC_HAS_ERROR(v)) {
            *p++ = 0x6a; /* push imm8 0 */
            *p++ = 0x00;
        }
        *p++ = 0x6a; /* push imm8 vector */
        *p++ = (uint8_t)v;
        *p++ = 0xe9; /* jmp rel32 */
        int32_t rel = (int32_t)(STUB_COMMON - (uint32_t)(p + 4 - code));
        memcpy(p, &rel, 4);
    }
    static const uint8_t common[] = {
        0x50, /* push rax */
        0x0f, 0x20,
        0xd0,                        /* mov rax, cr2 */
        0x50,                        /* push rax */
        0xe7, HL_ABI_PORT_EXCEPTION, /* out imm8, eax */
        0xf4,                        /* 1: hlt */
        0xeb, 0xfd,                  /* jmp 1b */
    };
    memcpy(code + STUB_COMMON, common, sizeof common);
}

static void write_tables(uint8_t *gdt, uint8_t *idt, uint8_t *stub, const hl__layout *l)
{
    write_gdt(gdt, l);
    write_tss(gdt + (l->tss - l->gdt), l);
    write_idt(idt, l);
    write_stub(stub);
}

int hl__cpu_write_tables(hl__mem *m, const hl__layout *l)
{
    uint8_t *gdt = hl__mem_setup_ptr(m, l->gdt, HL_PAGE);
    uint8_t *idt = hl__mem_setup_ptr(m, l->idt, HL_PAGE);
    uint8_t *stub = hl__mem_setup_ptr(m, l->stub, HL_PAGE);
    if (!gdt || !idt || !stub)
        return hl__fail(HL_ECONFIG, "system area outside guest memory");
    write_tables(gdt, idt, stub, l);
    return 0;
}

int hl__cpu_check_tables(const uint8_t *mem, const hl__layout *l, const char **why)
{
    static _Thread_local uint8_t want[3][HL_PAGE];
    memset(want, 0, sizeof want);
    write_tables(want[0], want[1], want[2], l);
    if (memcmp(mem + l->gdt, want[0], HL_PAGE) || memcmp(mem + l->idt, want[1], HL_PAGE) ||
        memcmp(mem + l->stub, want[2], HL_PAGE))
        return *why = "descriptor tables or exception stub differ from the library's", -1;
    return 0;
}

static hl__segment flat(uint16_t sel, uint8_t type, uint8_t dpl, int code)
{
    hl__segment s = {0, 0xffffffff, sel, type, 1, dpl, code ? 0 : 1, 1, code ? 1 : 0, 1};
    return s;
}

void hl__cpu_initial_state(const hl__layout *l, uint64_t entry, hl__cpu_init *out)
{
    memset(out, 0, sizeof *out);
    out->cr0 = X86_CR0_PE | X86_CR0_MP | X86_CR0_ET | X86_CR0_NE | X86_CR0_WP | X86_CR0_PG;
    out->cr3 = l->pml4;
    out->cr4 = X86_CR4_PAE | X86_CR4_OSFXSR | X86_CR4_OSXMMEXCPT;
    out->efer = X86_EFER_LME | X86_EFER_LMA | X86_EFER_NXE;
    out->cs = flat(X86_SEL_USER_CODE, X86_TYPE_CODE_RX_ACCESSED, 3, 1);
    out->ss = flat(X86_SEL_USER_DATA, X86_TYPE_DATA_RW_ACCESSED, 3, 0);
    out->ds = out->ss;
    hl__segment tr = {
        l->tss, X86_TSS_SIZE + IOMAP_BYTES - 1, X86_SEL_TSS, X86_TYPE_TSS64_LOADED, 1, 0, 0, 0, 0,
        0};
    out->tr = tr;
    out->gdt_base = l->gdt;
    out->gdt_limit = GDT_ENTRIES * 8 - 1;
    out->idt_base = l->idt;
    out->idt_limit = X86_EXCEPTION_VECTORS * 16 - 1;
    out->rip = entry;
    out->rsp = l->r[HL_R_STACK].gpa + l->r[HL_R_STACK].size;
    out->rdi = l->r[HL_R_PEB].gpa;
    out->rflags = X86_RFLAGS_RESERVED1; /* IF=0, IOPL=0: CPL3 may use only the bitmap's ports */
    out->fs_base = hl__layout_thread_pointer(l);
}

const char *hl__cpu_vector_name(uint64_t v)
{
    static const char *const names[] = {"divide error (#DE)",
                                        "debug (#DB)",
                                        "NMI",
                                        "breakpoint (#BP)",
                                        "overflow (#OF)",
                                        "bound range (#BR)",
                                        "invalid opcode (#UD)",
                                        "device not available (#NM)",
                                        "double fault (#DF)",
                                        "coprocessor overrun",
                                        "invalid TSS (#TS)",
                                        "segment not present (#NP)",
                                        "stack fault (#SS)",
                                        "general protection (#GP)",
                                        "page fault (#PF)",
                                        "reserved",
                                        "x87 error (#MF)",
                                        "alignment check (#AC)",
                                        "machine check (#MC)",
                                        "SIMD error (#XM)",
                                        "virtualization (#VE)",
                                        "control protection (#CP)"};
    return v < sizeof names / sizeof names[0] ? names[v] : "exception";
}

void hl__cpu_pf_describe(uint64_t error, const char **access, const char **why)
{
    *access = (error & X86_PF_FETCH) ? "execute" : (error & X86_PF_WRITE) ? "write" : "read";
    *why = (error & X86_PF_PRESENT) ? "not permitted" : "not mapped";
}

int hl__cpu_vector_signal(uint64_t v)
{
    switch (v) {
    case X86_VEC_DE:
    case X86_VEC_MF:
    case X86_VEC_XM:
        return SIGFPE;
    case X86_VEC_DB:
    case X86_VEC_BP:
        return SIGTRAP;
    case X86_VEC_UD:
        return SIGILL;
    case X86_VEC_AC:
    case X86_VEC_NP:
    case X86_VEC_SS:
        return SIGBUS;
    default:
        return SIGSEGV;
    }
}

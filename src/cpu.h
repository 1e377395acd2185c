/* cpu.h: the guest's descriptor tables, ring-0 exception stub and initial register state. */
#ifndef HL_SRC_CPU_H
#define HL_SRC_CPU_H

#include <stdint.h>

#include "guest_mem.h"
#include "layout.h"

/* A segment register as the hypervisor wants it (mirrors struct kvm_segment). */
typedef struct hl__segment {
    uint64_t base;
    uint32_t limit;
    uint16_t selector;
    uint8_t type, present, dpl, db, s, l, g;
} hl__segment;

/* Backend-neutral initial vCPU state. */
typedef struct hl__cpu_init {
    uint64_t cr0, cr3, cr4, efer;
    hl__segment cs, ss, ds, tr;
    uint64_t gdt_base, idt_base;
    uint16_t gdt_limit, idt_limit;
    uint64_t rip, rsp, rdi, rflags;
    uint64_t fs_base; /* the thread pointer (hl__layout_thread_pointer) */
} hl__cpu_init;

/* What the ring-0 stub leaves on the kernel stack before it reports (lowest address first). */
typedef struct hl__exception_frame {
    uint64_t cr2, rax, vector, error, rip, cs, rflags, rsp, ss;
} hl__exception_frame;

/* Where that frame sits. */
#define HL_EXCEPTION_FRAME_GPA(layout) ((layout)->kstack_top - sizeof(hl__exception_frame))

/* Writes GDT, TSS (+ I/O bitmap), IDT and the exception stub into the system area. */
int hl__cpu_write_tables(hl__mem *m, const hl__layout *l);

/* Checks that an untrusted image (mem = whole guest memory) holds exactly the GDT, TSS, IDT and
 * stub this library writes for layout l. Returns 0 or -1 with *why. */
int hl__cpu_check_tables(const uint8_t *mem, const hl__layout *l, const char **why);

/* The signal a POSIX system would raise for exception vector v (SIGFPE for #DE, #MF and #XM,
 * SIGTRAP for #DB and #BP, SIGILL for #UD, SIGBUS for #AC, #NP and #SS, else SIGSEGV, as Linux):
 * what core dumps and the gdb stub report. */
int hl__cpu_vector_signal(uint64_t v);

/* The name of exception vector v ("page fault (#PF)"), for reports. */
const char *hl__cpu_vector_name(uint64_t v);

/* What a #PF error code says: the access ("read", "write", "execute") and why it failed ("not
 * mapped", "not permitted"). */
void hl__cpu_pf_describe(uint64_t error, const char **access, const char **why);

/* Fills the state that enters the guest at `entry` at CPL3 with RDI = PEB. */
void hl__cpu_initial_state(const hl__layout *l, uint64_t entry, hl__cpu_init *out);

#endif

/* vmm.h: the small interface between the sandbox and a hypervisor backend (vmm_kvm.c today). */
#ifndef HL_SRC_VMM_H
#define HL_SRC_VMM_H

#include <stddef.h>
#include <stdint.h>

#include "cpu.h"

typedef struct hl__vm hl__vm;

typedef enum hl__exit_kind {
    HL_EXIT_IO_OUT,   /* port, size, count, value (first 4 data bytes) */
    HL_EXIT_IO_IN,    /* port, size */
    HL_EXIT_MMIO,     /* gpa outside any memory slot; is_write */
    HL_EXIT_HLT,      /* hlt executed (only ring 0 can) */
    HL_EXIT_SHUTDOWN, /* triple fault */
    HL_EXIT_INTR,     /* KVM_RUN interrupted by a signal (time limit) */
    HL_EXIT_DEBUG,    /* guest debugging (hl__vm_set_debug): value = vector (1 #DB, 3 #BP), gpa =
                         RIP, dr6 */
    HL_EXIT_OTHER,    /* anything else: raw = hypervisor's exit reason, value = its sub-reason */
} hl__exit_kind;

typedef struct hl__exit {
    hl__exit_kind kind;
    uint16_t port;
    uint8_t size;
    uint32_t count;
    uint32_t value;
    uint64_t gpa;
    int is_write;
    uint32_t raw;
    uint64_t dr6;
} hl__exit;

/* 1 if the hypervisor can be used; otherwise 0 with hl_last_error saying why. */
int hl__vmm_available(void);

/* A VM (recycled from the pool, vm_pool.c, or new) with one vCPU whose memory slot is
 * mem[0..size) at gpa 0, for memory the caller already has; the caller then loads a state
 * (hl__vm_start or hl__vm_load_state). Returns 0, HL_ENOKVM, HL_EKVM or HL_ENOMEM. */
int hl__vm_create(void *mem, size_t size, hl__vm **out);

/* Saved vCPU state: registers, special registers, the XSAVE image (backend-defined bytes; for KVM
 * see vmm_kvm_state.h). */
#define HL_VCPU_STATE_SIZE 4608
typedef struct hl__vcpu_state {
    uint8_t bytes[HL_VCPU_STATE_SIZE];
} hl__vcpu_state;

/* Reads the whole vCPU state, after letting the hypervisor finish the last exit's instruction, in
 * its stored form (fields the guest cannot change that the hypervisor's reset state decides are
 * left out). Returns 0 or HL_EKVM. */
int hl__vm_save_state(hl__vm *vm, hl__vcpu_state *out);
/* Loads registers and special registers (applied by the next run, without an ioctl where the
 * hypervisor allows; only fields a guest can change come from st) and clears pending events;
 * with_fpu also loads the XSAVE image, which a restore at the guest's park point does not need
 * (the guest reloads it from memory). Returns 0 or HL_EKVM. */
int hl__vm_load_state(hl__vm *vm, const hl__vcpu_state *st, int with_fpu);

/* Checks that `st` (e.g. read from a file) is a state this library saves between calls for a
 * guest entered with `expect`: every field a CPL3 guest cannot change (control registers, CR8,
 * APIC base, pending interrupts, descriptor tables, CS/SS/TR, a null LDTR, DS/ES/FS/GS null or
 * flat with base 0, privileged RFLAGS bits, reserved FPU/MXCSR/XSAVE bits) holds exactly what
 * this library stores. Returns 0, or -1 with *why naming the field. */
int hl__vcpu_state_check(const hl__vcpu_state *st, const hl__cpu_init *expect, const char **why);

/* Dirty-page tracking of guest writes (one bit per 4 KiB page, bit i of word i / 64). The log
 * starts with every page marked and no page write-protected. hl__vm_dirty_get writes into bitmap
 * the pages written since their last clear; hl__vm_dirty_clear re-protects the given pages so
 * their next guest write is seen. Return 0 or HL_EKVM. */
int hl__vm_dirty_get(hl__vm *vm, uint64_t *bitmap);
int hl__vm_dirty_clear(hl__vm *vm, const uint64_t *bitmap);

/* Runs the vCPU until the next exit. Returns 0 with *exit filled, or HL_EKVM. */
int hl__vm_run(hl__vm *vm, hl__exit *exit);

/* Finishes the last exit's instruction (an OUT's RIP advance) without entering the guest, as
 * saving, loading or pooling the vCPU does first; a hot sandbox's vCPU thread runs it itself, since
 * KVM wants every run of a vCPU from one thread. Returns 0 or HL_EKVM (the vCPU is tainted). */
int hl__vm_finish_exit(hl__vm *vm);

/* Makes the next hl__vm_run return HL_EXIT_INTR at once (a running one needs a signal too);
 * callable from any thread. hl__vm_clear_kick undoes it. */
void hl__vm_kick_flag(hl__vm *vm);
void hl__vm_clear_kick(hl__vm *vm);

/* The vCPU's TSC rate in kHz (what the guest's rdtsc counts), or 0 when KVM cannot tell. */
uint32_t hl__vm_tsc_khz(hl__vm *vm);

/* 1 once an exit left an instruction for the hypervisor to finish on the next run (an IN, MMIO,
 * string I/O): the vCPU must not be resumed elsewhere nor recycled; restores replace it. */
int hl__vm_tainted(const hl__vm *vm);

/* A VM whose memory slot covers m, which gets fresh zeroed memory: a pooled VM that kept a slot
 * of this size lends its address range (no slot change), else one is recycled or created.
 * Returns 0, HL_ENOKVM, HL_EKVM or HL_ENOMEM. */
int hl__vm_acquire(size_t size, hl__mem *m, hl__vm **out);

/* Enters the guest fresh at init: entry registers, no pending event (a recycled vCPU was scrubbed
 * when it was pooled, so it holds what a new one holds). */
int hl__vm_start(hl__vm *vm, const hl__cpu_init *init);

/* Gives back a sandbox's VM and memory together: the pages are dropped and the VM is scrubbed (its
 * last OUT completed, FPU/SSE and debug registers reset) and pooled with its slot and address
 * range, or (tainted, pool full, scrub failed) closed and the memory unmapped. Frees m's
 * host-write bitmap. vm may be NULL. */
void hl__vm_release(hl__vm *vm, hl__mem *m);

/* Closes a VM that is not to be reused (its slot points at memory the caller keeps; a range it
 * kept while parked is unmapped). NULL is a no-op. */
void hl__vm_destroy(hl__vm *vm);

/* What a vCPU holds that no guest can read back (for tests and diagnostics): its debug
 * registers, whether an exception, interrupt or NMI is pending or injected, the interrupt shadow,
 * and MXCSR and the x87 control word as KVM will load them. Returns 0 or HL_EKVM. */
typedef struct hl__vcpu_hidden {
    uint64_t dr6, dr7, dr0_3_or; /* dr0_3_or: DR0 | DR1 | DR2 | DR3 */
    int event_pending;           /* exception, interrupt, NMI or SMI pending or injected */
    int interrupt_shadow;
    uint32_t mxcsr;
    uint16_t fcw;
} hl__vcpu_hidden;
int hl__vm_read_hidden(hl__vm *vm, hl__vcpu_hidden *out);

/* ---- debugging (core dumps and the gdb stub, debug.c) ---- */

/* The registers a debugger shows of a CPL3 guest. */
typedef struct hl__vcpu_regs {
    uint64_t gpr[16]; /* rax rbx rcx rdx rsi rdi rbp rsp r8 .. r15 */
    uint64_t rip, rflags;
    uint16_t cs, ss, ds, es, fs, gs;
    uint64_t fs_base, gs_base;
    uint8_t fxsave[512]; /* x87, SSE and MXCSR in the FXSAVE layout */
} hl__vcpu_regs;

/* Reads the vCPU's registers as the next run would start from them (state a restore or start
 * left for that run included). Returns 0 or HL_EKVM. */
int hl__vm_get_regs(hl__vm *vm, hl__vcpu_regs *out);

/* Loads the general registers, RIP, the RFLAGS bits CPL3 may change (X86_RFLAGS_USER_BITS: a
 * debugger cannot raise IOPL or IF) and the x87/SSE state (MXCSR's reserved bits cleared); with
 * `user` also CS, SS and TR from it, which resumes the guest at CPL3 out of the exception stub.
 * Segment selectors and bases in `in` are ignored. Returns 0 or HL_EKVM. */
int hl__vm_set_regs(hl__vm *vm, const hl__vcpu_regs *in, const hl__cpu_init *user);

/* KVM guest debugging: single-step, and up to four hardware breakpoints or watchpoints (dr[i] and
 * dr7 as in the SDM's DR0-DR3 and DR7). A VM that had it on is never pooled, and completing an
 * OUT (before a state is saved or loaded) turns it off. Software breakpoints need none: an INT3 at
 * CPL3 raises #BP through the exception stub (src/cpu.c). Each stop is an HL_EXIT_DEBUG.
 * Returns 0 or HL_EKVM. */
typedef struct hl__vm_debug {
    int single_step;
    uint64_t dr[4];
    uint64_t dr7;
} hl__vm_debug;
int hl__vm_set_debug(hl__vm *vm, const hl__vm_debug *d);

/* ---- backend primitives the VM pool (vm_pool.c) is built on ---- */

/* A new VM with one vCPU whose memory slot is mem[0..size). Returns 0, HL_ENOKVM, HL_EKVM or
 * HL_ENOMEM. */
int hl__vm_new(void *mem, size_t size, hl__vm **out);

/* Readies a VM for the pool: scrubs the vCPU (its last OUT completed, FPU/SSE and debug
 * registers reset) and drops m's pages, keeping m's address range (and so the memory slot) with
 * the VM. 0 with m moved into the VM, or -1 when the VM cannot be reused (tainted, or a step
 * failed); m is then untouched. */
int hl__vm_park(hl__vm *vm, hl__mem *m);

/* Takes a parked VM's kept range back as m, filled with new zeroed memory. 0, or -1 (m empty). */
int hl__vm_unpark(hl__vm *vm, hl__mem *m);

/* The size of the range a parked VM keeps (0 when none). */
size_t hl__vm_kept_size(const hl__vm *vm);

/* Points a parked VM's slot at mem[0..size), giving its kept range up. 0 or HL_EKVM. */
int hl__vm_reattach(hl__vm *vm, void *mem, size_t size);

#define HL_VM_POOL_MAX 256
#define HL_VM_POOL_DEFAULT 16

#endif

/* vmm_kvm_state.h: the KVM backend's saved vCPU state (hl__vcpu_state's bytes) and the rules that
 * make one safe to load: which fields a CPL3 guest can change, and what every other field must be.
 */
#ifndef HL_SRC_VMM_KVM_STATE_H
#define HL_SRC_VMM_KVM_STATE_H

#include <linux/kvm.h>

#include "vmm.h"

typedef struct hl__kvm_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave; /* the whole XSAVE image (KVM_GET_XSAVE): x87, SSE and MXCSR */
} hl__kvm_state;

_Static_assert(sizeof(hl__kvm_state) <= HL_VCPU_STATE_SIZE, "HL_VCPU_STATE_SIZE too small");

/* KVM's reset special registers, read with KVM_GET_SREGS from the first new vCPU the process
 * creates and cached: every start begins from them, without an ioctl, and a recycled vCPU keeps
 * nothing of its last sandbox (CR2, say) in them. Returns 0 or HL_EKVM. */
int hl__kvm_reset_sregs(int vcpu_fd, int recycled, struct kvm_sregs *out);

/* The registers that enter the guest: `reset` (KVM's reset special registers) with the entry
 * registers, control registers, descriptor tables and segments of init, and a null LDT. out->xsave
 * is left alone: a start keeps the vCPU's FPU, which is a new vCPU's or was reset when it was
 * pooled. */
void hl__kvm_entry_state(const hl__cpu_init *init, const struct kvm_sregs *reset,
                         hl__kvm_state *out);

/* The FPU/SSE state of a vCPU at reset (FNINIT, MXCSR 0x1f80, registers zero), as an XSAVE image
 * whose XSTATE_BV names x87 and SSE so that KVM_SET_XSAVE loads every byte of it, MXCSR included.
 */
void hl__kvm_xsave_reset(struct kvm_xsave *x);

/* The LDTR every guest runs with: null and unusable, so no LDT selector resolves. */
void hl__kvm_null_ldt(struct kvm_segment *ldt);

/* A segment in KVM's form. */
void hl__kvm_segment(const hl__segment *s, struct kvm_segment *k);

/* Brings a state read from a live vCPU to the form it is stored in: the fields a guest cannot
 * change that come from KVM's reset state (APIC base) become 0 and are taken from the loading
 * process's own reset state again by hl__kvm_state_rebuild; LDTR and the DS/ES/FS/GS caches are
 * written in their canonical form for their selector. */
void hl__kvm_state_normalise(hl__kvm_state *st);

/* The special registers to load for a stored state: `reset` (KVM's reset state) with the stored
 * control registers, descriptor tables, CS/SS/TR and CR2, a null LDT, and DS/ES/FS/GS rebuilt from
 * their selectors. out must not be &st->sregs. */
void hl__kvm_state_rebuild(const hl__kvm_state *st, const struct kvm_sregs *reset,
                           struct kvm_sregs *out);

#endif

/* vmm_kvm_debug.c: what debuggers and core dumps need of a KVM vCPU: its registers as a CPL3
 * guest sees them, loading them back, and KVM guest debugging (single-step, hardware
 * breakpoints; Documentation/virt/kvm/api.rst, KVM_SET_GUEST_DEBUG). */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>

#include "error.h"
#include "vmm_kvm_state.h"
#include "vmm_kvm_vm.h"
#include "x86.h"

#define MXCSR_VALID 0xffffu /* the bits every x86-64 CPU's MXCSR_MASK allows */

/* Registers a start or restore left in kvm_run for the next run go in now, so that the ioctls
 * below read and change the state the guest will run from. */
static int flush_sync_regs(hl__vm *vm)
{
    struct kvm_run *run = vm->run;
    uint64_t dirty = run->kvm_dirty_regs;
    run->kvm_dirty_regs = 0;
    if (((dirty & KVM_SYNC_X86_SREGS) && ioctl(vm->vcpu_fd, KVM_SET_SREGS, &run->s.regs.sregs)) ||
        ((dirty & KVM_SYNC_X86_REGS) && ioctl(vm->vcpu_fd, KVM_SET_REGS, &run->s.regs.regs)) ||
        ((dirty & KVM_SYNC_X86_EVENTS) &&
         ioctl(vm->vcpu_fd, KVM_SET_VCPU_EVENTS, &run->s.regs.events))) {
        vm->tainted = 1; /* half loaded */
        return hl__fail(HL_EKVM, "loading pending vCPU state: %s", strerror(errno));
    }
    return 0;
}

static void gprs_out(const struct kvm_regs *r, hl__vcpu_regs *out)
{
    const uint64_t g[16] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
                            r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
    memcpy(out->gpr, g, sizeof g);
    out->rip = r->rip;
    out->rflags = r->rflags;
}

static void gprs_in(const hl__vcpu_regs *in, struct kvm_regs *r)
{
    const uint64_t *g = in->gpr;
    r->rax = g[0], r->rbx = g[1], r->rcx = g[2], r->rdx = g[3];
    r->rsi = g[4], r->rdi = g[5], r->rbp = g[6], r->rsp = g[7];
    r->r8 = g[8], r->r9 = g[9], r->r10 = g[10], r->r11 = g[11];
    r->r12 = g[12], r->r13 = g[13], r->r14 = g[14], r->r15 = g[15];
    r->rip = in->rip;
    r->rflags = (r->rflags & ~X86_RFLAGS_USER_BITS) | (in->rflags & X86_RFLAGS_USER_BITS);
}

static void segments_out(const struct kvm_sregs *s, hl__vcpu_regs *out)
{
    out->cs = s->cs.selector;
    out->ss = s->ss.selector;
    out->ds = s->ds.selector;
    out->es = s->es.selector;
    out->fs = s->fs.selector;
    out->gs = s->gs.selector;
    out->fs_base = s->fs.base;
    out->gs_base = s->gs.base;
}

int hl__vm_get_regs(hl__vm *vm, hl__vcpu_regs *out)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    static _Thread_local struct kvm_xsave xsave;
    memset(out, 0, sizeof *out);
    if (flush_sync_regs(vm))
        return HL_EKVM;
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0 ||
        ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &xsave) < 0)
        return hl__fail(HL_EKVM, "reading vCPU registers: %s", strerror(errno));
    gprs_out(&regs, out);
    segments_out(&sregs, out);
    memcpy(out->fxsave, xsave.region, sizeof out->fxsave);
    return 0;
}

static int set_user_segments(hl__vm *vm, const hl__cpu_init *user)
{
    struct kvm_sregs sregs;
    if (ioctl(vm->vcpu_fd, KVM_GET_SREGS, &sregs) < 0)
        return -1;
    hl__kvm_segment(&user->cs, &sregs.cs);
    hl__kvm_segment(&user->ss, &sregs.ss);
    hl__kvm_segment(&user->tr, &sregs.tr); /* as loaded (KVM reads it back busy: x86.h) */
    return ioctl(vm->vcpu_fd, KVM_SET_SREGS, &sregs) < 0 ? -1 : 0;
}

static int set_fxsave(hl__vm *vm, const uint8_t *fx)
{
    static _Thread_local struct kvm_xsave xsave;
    uint32_t mxcsr;
    if (ioctl(vm->vcpu_fd, KVM_GET_XSAVE, &xsave) < 0)
        return -1;
    memcpy(xsave.region, fx, 512);
    memcpy(&mxcsr, fx + X86_FXSAVE_MXCSR, sizeof mxcsr);
    mxcsr &= MXCSR_VALID;
    memcpy((uint8_t *)xsave.region + X86_FXSAVE_MXCSR, &mxcsr, sizeof mxcsr);
    uint64_t bv; /* x87 and SSE from the image, not their initial state */
    memcpy(&bv, (uint8_t *)xsave.region + X86_XSAVE_HEADER, sizeof bv);
    bv |= X86_XFEATURE_X87 | X86_XFEATURE_SSE;
    memcpy((uint8_t *)xsave.region + X86_XSAVE_HEADER, &bv, sizeof bv);
    return ioctl(vm->vcpu_fd, KVM_SET_XSAVE, &xsave) < 0 ? -1 : 0;
}

int hl__vm_set_regs(hl__vm *vm, const hl__vcpu_regs *in, const hl__cpu_init *user)
{
    struct kvm_regs regs;
    if (hl__kvm_complete_io(vm) || flush_sync_regs(vm))
        return HL_EKVM;
    if (ioctl(vm->vcpu_fd, KVM_GET_REGS, &regs) < 0 || (user && set_user_segments(vm, user)))
        return hl__fail(HL_EKVM, "loading vCPU registers: %s", strerror(errno));
    gprs_in(in, &regs);
    if (ioctl(vm->vcpu_fd, KVM_SET_REGS, &regs) < 0 || set_fxsave(vm, in->fxsave))
        return hl__fail(HL_EKVM, "loading vCPU registers: %s", strerror(errno));
    return 0;
}

int hl__vm_set_debug(hl__vm *vm, const hl__vm_debug *d)
{
    struct kvm_guest_debug dbg;
    memset(&dbg, 0, sizeof dbg);
    dbg.control = KVM_GUESTDBG_ENABLE | (d->single_step ? KVM_GUESTDBG_SINGLESTEP : 0) |
                  (d->dr7 ? KVM_GUESTDBG_USE_HW_BP : 0);
    memcpy(dbg.arch.debugreg, d->dr, sizeof d->dr);
    dbg.arch.debugreg[7] = d->dr7;
    if (ioctl(vm->vcpu_fd, KVM_SET_GUEST_DEBUG, &dbg) < 0)
        return hl__fail(HL_EKVM, "KVM_SET_GUEST_DEBUG: %s", strerror(errno));
    vm->guest_debug = vm->debugged = 1;
    return 0;
}

/* vmm_kvm_vm.h: the KVM VM object, shared by the backend (vmm_kvm.c) and its debugging side
 * (vmm_kvm_debug.c). Nothing outside the KVM backend includes it. */
#ifndef HL_SRC_VMM_KVM_VM_H
#define HL_SRC_VMM_KVM_VM_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vmm.h"

struct hl__vm {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    uint64_t npages;  /* pages in the memory slot */
    int tainted;      /* an exit left an instruction for KVM to finish on the next run */
    int io_pending;   /* the last exit was an OUT whose completion KVM runs on the next KVM_RUN */
    int recycled;     /* ran for an earlier sandbox (scrubbed when it was pooled) */
    int guest_debug;  /* KVM_SET_GUEST_DEBUG is on (a debugger is attached) */
    int debugged;     /* a debugger drove it: never pooled (it is closed with its sandbox) */
    hl__mem slot_mem; /* while pooled: the address range the memory slot still covers */
};

/* Makes KVM finish the OUT it is still completing without entering the guest (see vmm_kvm.c);
 * registers left in kvm_run for the next run are dropped first, and guest debugging is turned
 * off (a debugger turns it on again before the next run). Returns 0 or HL_EKVM (the vCPU is
 * then tainted). */
int hl__kvm_complete_io(hl__vm *vm);

#endif

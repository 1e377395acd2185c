/* floor_kvm.h: minimal standalone KVM code (raw ioctls, not libhyperlight) that hl-bench uses to
 * measure the floors the library is compared with: VM + vCPU create and teardown, the set-up and
 * first run of a CPL3 guest, one CPL3 guest exit round trip, and a CPL3 guest that answers through
 * shared memory (floor_spin.h runs it). */
#ifndef HL_BENCH_FLOOR_KVM_H
#define HL_BENCH_FLOOR_KVM_H

#include <stddef.h>
#include <stdint.h>

typedef struct floor_vm {
    int vm_fd;
    int vcpu_fd;
    struct kvm_run *run;
    size_t run_size;
    uint8_t *mem; /* guest memory (FLOOR_MEM_SIZE bytes), NULL until floor_vm_setup */
} floor_vm;

/* Opens /dev/kvm once per process. Returns 0, or -1 with a message in floor_kvm_error(). */
int floor_kvm_open(void);

/* Why the last floor_* call failed ("" if none). Per thread. */
const char *floor_kvm_error(void);

/* KVM_CREATE_VM + KVM_CREATE_VCPU + mmap of kvm_run: the bare VM. Returns 0 or -1. On failure
 * nothing is left open. */
int floor_vm_create(floor_vm *v);

/* Maps guest memory; writes 4-level page tables, GDT, 64-bit TSS with I/O bitmap, IDT and a CPL3
 * loop `1: out dx, eax; jmp 1b`; adds the memory slot; loads special and general registers
 * (KVM_GET_SREGS, KVM_SET_SREGS, KVM_SET_REGS). Returns 0 or -1. */
int floor_vm_setup(floor_vm *v);

/* floor_vm_setup with another CPL3 guest: it spins on a shared page, copying every new value the
 * host writes to *floor_vm_host_word into *floor_vm_guest_word (its own cache line), and leaves
 * the VM with `out` once the value is FLOOR_SPIN_STOP. It never exits otherwise, so one
 * floor_vm_exit runs it until it is told to stop. Returns 0 or -1. */
#define FLOOR_SPIN_STOP UINT64_MAX
int floor_vm_setup_spin(floor_vm *v);
uint64_t *floor_vm_host_word(floor_vm *v);
const uint64_t *floor_vm_guest_word(const floor_vm *v);

/* One KVM_RUN until the guest's next `out` (the round trip of one guest exit). Returns 0, or -1
 * if the VM stopped for any other reason. */
int floor_vm_exit(floor_vm *v);

/* munmap kvm_run, close the vCPU and VM fds, unmap guest memory. */
void floor_vm_destroy(floor_vm *v);

#endif

/* floor_kvm.h: minimal standalone KVM code (raw ioctls, not libhyperlight) that hl-bench uses to
 * measure the floors the library is compared with: VM + vCPU create and teardown, the set-up and
 * first run of a CPL3 guest, and one CPL3 guest exit round trip. */
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

/* One KVM_RUN until the guest's next `out` (the round trip of one guest exit). Returns 0, or -1
 * if the VM stopped for any other reason. */
int floor_vm_exit(floor_vm *v);

/* munmap kvm_run, close the vCPU and VM fds, unmap guest memory. */
void floor_vm_destroy(floor_vm *v);

#endif

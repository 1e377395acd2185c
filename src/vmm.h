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
    HL_EXIT_OTHER,    /* anything else: raw = hypervisor's exit reason */
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
} hl__exit;

/* 1 if the hypervisor can be used; otherwise 0 with hl_last_error saying why. */
int hl__vmm_available(void);

/* Creates a VM with one vCPU whose memory is mem[0..size) at gpa 0, and loads `init`.
 * Returns 0, HL_ENOKVM, HL_EKVM or HL_ENOMEM. */
int hl__vm_create(void *mem, size_t size, const hl__cpu_init *init, hl__vm **out);

/* Runs the vCPU until the next exit. Returns 0 with *exit filled, or HL_EKVM. */
int hl__vm_run(hl__vm *vm, hl__exit *exit);

/* Makes the next (or current) hl__vm_run return HL_EXIT_INTR promptly; async-signal-safe. */
void hl__vm_kick_flag(hl__vm *vm);

void hl__vm_destroy(hl__vm *vm);

#endif

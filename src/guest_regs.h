/* guest_regs.h: the guest's registers where it stopped (guest_regs.c). */
#ifndef HL_SRC_GUEST_REGS_H
#define HL_SRC_GUEST_REGS_H

#include "sandbox.h"
#include "vmm.h"

/* The registers of the guest as it was when it last stopped: the vCPU's, except that after an
 * exception (the vCPU is then in the ring-0 stub) RIP, RSP, RFLAGS, CS, SS and RAX are the ones
 * the stub saved from the guest. Returns 0 or HL_EKVM. */
int hl__guest_regs(hl_sandbox *sb, hl__vcpu_regs *out);

/* The signal a debugger or core file reports for the last stop: the fault's
 * (hl__cpu_vector_signal), SIGABRT after an abort, else SIGTRAP. */
int hl__guest_signal(const hl_sandbox *sb, int rc);

#endif

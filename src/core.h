/* core.h: ELF core files of a guest (core.c), which `gdb GUEST.elf CORE` opens. */
#ifndef HL_SRC_CORE_H
#define HL_SRC_CORE_H

#include "sandbox.h"
#include "vmm.h"

/* Writes a core file of sb's guest to path (a new file of mode 0600, or an existing one
 * truncated; never through a symbolic link): one PT_LOAD per run
 * of guest-visible pages with the same permissions (all-zero pages left as holes), and notes
 * with the registers (NT_PRSTATUS with signal signo, NT_FPREGSET), the guest's name
 * (NT_PRPSINFO) and its entry point (NT_AUXV's AT_ENTRY, from which gdb finds where a
 * position-independent guest was loaded). The vCPU must be stopped. Returns 0, HL_EIO or HL_EKVM.
 */
int hl__core_write(hl_sandbox *sb, const char *path, const hl__vcpu_regs *regs, int signo);

/* After a run of the guest that ended with rc: when sb has a core directory and rc is a fault,
 * stack overflow or abort, writes a new core file there (GUEST.PID.SEQUENCE.TIME.core, SEQUENCE
 * counting the process's core files; an existing file of that name is left alone) and adds
 * its path, or why it could not be written, to the error detail. Returns rc. */
int hl__core_after_run(hl_sandbox *sb, int rc);

#endif

/* guest_regs.c: the guest's registers where it stopped, seen through the exception stub. */
#include "guest_regs.h"

#include <signal.h>

#include "cpu.h"
#include "hot.h"

int hl__guest_regs(hl_sandbox *sb, hl__vcpu_regs *out)
{
    int rc = hl__hot_settle(sb); /* a hot guest's vCPU may be running */
    if (!rc)
        rc = hl__vm_get_regs(sb->vm, out);
    if (rc || !sb->fault_valid)
        return rc;
    const hl__exception_frame *f = &sb->fault;
    out->gpr[0] = f->rax;
    out->gpr[7] = f->rsp;
    out->rip = f->rip;
    out->rflags = f->rflags;
    out->cs = (uint16_t)f->cs;
    out->ss = (uint16_t)f->ss;
    return 0;
}

int hl__guest_signal(const hl_sandbox *sb, int rc)
{
    if (sb->fault_valid)
        return hl__cpu_vector_signal(sb->fault.vector);
    return rc == HL_EABORT ? SIGABRT : SIGTRAP;
}

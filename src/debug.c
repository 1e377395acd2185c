/* debug.c: the public debugging entry points: core files on demand. */
#include "core.h"
#include "error.h"
#include "guest_regs.h"

HL_API int hl_sandbox_write_core(hl_sandbox *sb, const char *path)
{
    hl__vcpu_regs regs;
    hl__clear_error();
    if (!sb || !path)
        return hl__fail(HL_EINVAL, "hl_sandbox_write_core: sandbox and path must not be NULL");
    int rc = hl__guest_regs(sb, &regs);
    if (!rc)
        rc = hl__core_write(sb, path, &regs, hl__guest_signal(sb, 0));
    return rc;
}

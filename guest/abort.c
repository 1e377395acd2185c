/* abort.c: ending a call from the guest: abort with code and message, failed asserts. */
#include "runtime.h"

#include <stdio.h>

_Noreturn static void abort_with(int32_t code, const char *fmt, va_list ap)
{
    static HLG_HOT int aborting; /* an abort from inside the flush below must not flush again */
    if (!aborting) {
        aborting = 1;
        hlg__streams_flush(); /* what the guest wrote before the abort reaches the host first */
    }
    char *panic = (char *)(uintptr_t)hlg__peb.panic.gpa;
    size_t size = hlg__peb.panic.size;
    if (panic && size)
        vsnprintf(panic, size, fmt, ap);
    for (;;)
        hlg__port_out(HL_ABI_PORT_ABORT, (uint32_t)code); /* the host never resumes an abort */
}

void hlg_abort(int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    abort_with(code, fmt, ap);
}

static _Noreturn void abort_fmt(int32_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    abort_with(code, fmt, ap);
}

void hlg__assert_fail(const char *expr, const char *file, int line)
{
    abort_fmt(HLG_ASSERT_CODE, "assertion failed: %s (%s:%d)", expr, file, line);
}

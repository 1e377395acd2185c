/* start.c: guest start-up and the wait-for-call loop (one VM exit per call). */
#include "runtime.h"

HLG_HOT hl_abi_peb hlg__peb;

/* FPU/SSE state across the park: saved to memory before the guest waits for a call and reloaded
 * when the call arrives, so restoring memory and registers restores it too (docs/ABI.md §2). */
static HLG_HOT _Alignas(16) uint8_t fpu_area[512];

#define BAD_PEB_CODE 137

typedef void (*init_fn)(void);
extern init_fn __init_array_start[], __init_array_end[]; /* guest.ld */

_Noreturn void hlg__start(const hl_abi_peb *peb);

/* The canary of code built with -fstack-protector* (hl-cc makes it a global: there is no thread
 * pointer), set from the PEB's seed before any such code runs; its low byte is 0, as glibc's, so
 * string overflows cannot reproduce it. */
uintptr_t __stack_chk_guard;
_Noreturn void __stack_chk_fail(void);

#define STACK_SMASHED_CODE 139

_Noreturn void __stack_chk_fail(void)
{
    hlg_abort(STACK_SMASHED_CODE, "stack smashing detected (a -fstack-protector canary changed)");
}

/* C and C++ constructors of the guest and its libraries, in link order. */
static void run_constructors(void)
{
    for (init_fn *f = __init_array_start; f < __init_array_end; f++)
        (*f)();
}

_Noreturn void hlg__start(const hl_abi_peb *peb)
{
    hlg__peb = *peb;
    __stack_chk_guard = (uintptr_t)(hlg__peb.seed * 0x9e3779b97f4a7c15ull) & ~(uintptr_t)0xff;
    if (hlg__peb.magic != HL_ABI_PEB_MAGIC || hlg__peb.abi_version != HL_ABI_VERSION)
        hlg_abort(BAD_PEB_CODE, "host and guest ABI versions differ (guest has %u)",
                  HL_ABI_VERSION);
    hlg__take_context();
    run_constructors();
    hlg_main();
    hlg__streams_flush();
    if (hlg__send_signatures())
        hlg_abort(HL_ABI_ERR_TOO_BIG, "the guest's function table does not fit the output buffer");
    for (;;) {
        __asm__ volatile("fxsave64 %0" : "=m"(fpu_area));
        hlg__exit(HL_ABI_PORT_DONE, 0);
        __asm__ volatile("fxrstor64 %0" : : "m"(fpu_area));
        hlg__reset_user_flags();
        hlg__take_context();
        hlg__dispatch();
    }
}

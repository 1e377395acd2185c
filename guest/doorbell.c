/* doorbell.c: requests to the host. A cold sandbox's guest leaves the VM with `out`; a hot one's
 * posts the request on the doorbell page and spins until the host answers, parking (`out` to
 * PARK) when that takes longer than the host's spin window (abi.h, docs/HOT.md). */
#include "runtime.h"

static volatile hl_abi_doorbell *doorbell(void)
{
    return (volatile hl_abi_doorbell *)(uintptr_t)hlg__peb.doorbell.gpa;
}

/* Waits for the answer to request n; 0 when it came, -1 when it is time to park. */
static int wait_answer(volatile hl_abi_doorbell *db, uint32_t n)
{
    uint64_t start = hlg__rdtsc();
    for (;;) {
        if (__atomic_load_n(&db->answer, __ATOMIC_ACQUIRE) == n)
            return 0;
        if (__atomic_load_n(&db->mode, __ATOMIC_RELAXED) != HL_ABI_DOORBELL_HOT ||
            hlg__rdtsc() - start > db->spin_tsc)
            return -1;
        __builtin_ia32_pause();
    }
}

void hlg__exit(uint8_t port, uint32_t value)
{
    volatile hl_abi_doorbell *db = doorbell();
    if (hlg__peb.doorbell.size < sizeof *db ||
        __atomic_load_n(&db->mode, __ATOMIC_ACQUIRE) != HL_ABI_DOORBELL_HOT) {
        hlg__port_out(port, value);
        return;
    }
    uint32_t n = db->answer + 1;
    __atomic_store_n(&db->bell, (uint64_t)port << 32 | n, __ATOMIC_RELEASE);
    if (wait_answer(db, n))
        hlg__port_out(HL_ABI_PORT_PARK, n); /* the host answers before it resumes us */
}

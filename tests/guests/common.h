/* common.h: the guest functions the test guests share (each guest is one file and includes this):
 * reg (register or assert), a counter kept across calls, Echo, AddToStatic, GetStatic, PebRegion,
 * ReadAddress and WriteAddress. */
#ifndef HL_TEST_GUESTS_COMMON_H
#define HL_TEST_GUESTS_COMMON_H

#include <hyperlight/guest.h>

#define GUEST_SHARED __attribute__((unused))

/* The runtime's copy of the PEB (guest/runtime.h): test guests read it to check the layout. */
extern hl_abi_peb hlg__peb;

static int32_t counter;

/* Registers one of the guest's functions; a failure is a bug in the test guest itself. */
GUEST_SHARED static void reg(const char *name, hl_type ret, const hl_type *params, size_t n,
                             hlg_fn fn)
{
    int rc = hlg_register(name, ret, params, n, fn);
    hlg_assert(rc == 0);
}

/* Echo(x): x back, whatever its type (registered once per type). */
GUEST_SHARED static int echo(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = args[0];
    return 0;
}

/* AddToStatic(n): adds n to the counter and returns it. */
GUEST_SHARED static int add_to_static(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    counter += args[0].as.i32;
    *ret = hl_i32(counter);
    return 0;
}

/* GetStatic(): the counter. */
GUEST_SHARED static int get_static(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    *ret = hl_i32(counter);
    return 0;
}

/* PebRegion(i): gpa of PEB region 0 input, 1 output, 2 host_fns, 3 panic, 4 heap, 5 stack,
 * 6 image; its size for i + 100. */
GUEST_SHARED static int peb_region(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    const hl_abi_region *r[] = {&hlg__peb.input, &hlg__peb.output, &hlg__peb.host_fns,
                                &hlg__peb.panic, &hlg__peb.heap,   &hlg__peb.stack,
                                &hlg__peb.image};
    int32_t w = args[0].as.i32, i = w >= 100 ? w - 100 : w;
    if (i < 0 || i >= (int32_t)(sizeof r / sizeof r[0]))
        return hlg_fail("no region %d", w);
    *ret = hl_u64(w >= 100 ? r[i]->size : r[i]->gpa);
    return 0;
}

/* ReadAddress(addr) -> the u64 there; WriteAddress(addr, value): any address, to test faults. */
GUEST_SHARED static int read_address(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    volatile uintptr_t addr = (uintptr_t)args[0].as.u64;
    *ret = hl_u64(*(volatile uint64_t *)addr);
    return 0;
}

GUEST_SHARED static int write_address(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    volatile uintptr_t addr = (uintptr_t)args[0].as.u64;
    *(volatile uint64_t *)addr = args[1].as.u64;
    return 0;
}

#endif

/* debugguest.c: a guest to debug (tests/kvm/test_debug.c), built the way a guest developer builds
 * one for gdb: `hl-cc -g -O0`. Small functions with arguments and results, a loop, a global to
 * watch, and faults and an abort on known lines (the tests find them by the FAULT_* markers). */
#include <stdlib.h>

#include "common.h"

volatile int32_t watched; /* Watch writes it once per call */
volatile int32_t release; /* Spin waits until a debugger sets it */

int32_t add3(int32_t a, int32_t b, int32_t c)
{
    int32_t sum = a + b + c;
    return sum;
}

int32_t through(int32_t x)
{
    int32_t r = add3(x, 2 * x, 3);
    return r + 1;
}

int32_t sum_to(int32_t n)
{
    int32_t s = 0;
    for (int32_t i = 1; i <= n; i++)
        s += i; /* LOOP_BODY */
    return s;
}

void store_at(volatile int32_t *p, int32_t v)
{
    *p = v; /* FAULT_STORE */
}

void abort_now(void)
{
    abort(); /* FAULT_ABORT */
}

/* Through(x): add3(x, 2x, 3) + 1, one frame down. */
static int fn_through(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(through(args[0].as.i32));
    return 0;
}

/* SumTo(n): 1 + 2 + ... + n by a loop. */
static int fn_sum_to(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(sum_to(args[0].as.i32));
    return 0;
}

/* Watch(v): writes v to `watched`, returns it read back. */
static int fn_watch(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    watched = args[0].as.i32;
    *ret = hl_i32(watched);
    return 0;
}

/* Store(addr, v): writes v at addr (an unmapped address faults in store_at). */
static int fn_store(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    store_at((volatile int32_t *)(uintptr_t)args[0].as.u64, args[1].as.i32);
    *ret = hl_i32(0);
    return 0;
}

/* Spin(): loops until `release` is set (by a debugger), then clears it and returns 1. */
static int fn_spin(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    while (!release)
        ;
    release = 0;
    *ret = hl_i32(1);
    return 0;
}

/* Trap(kind): 0 executes ud2 (#UD), 1 divides by zero (#DE), 2 executes int3 (#BP). */
static int fn_trap(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    switch (args[0].as.i32) {
    case 0:
        __asm__ volatile("ud2");
        break;
    case 1: /* in assembly: C's 1 / 0 is undefined, and gcc computes it without dividing */
        __asm__ volatile("movl $1, %%eax; xorl %%edx, %%edx; xorl %%ecx, %%ecx; divl %%ecx" ::
                             : "eax", "ecx", "edx");
        break;
    default:
        __asm__ volatile("int3");
        break;
    }
    *ret = hl_i32(0);
    return 0;
}

/* Abort(): abort() from abort_now. */
static int fn_abort(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs, (void)ret;
    abort_now();
    return 0;
}

void hlg_main(void)
{
    reg("Through", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), fn_through);
    reg("SumTo", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), fn_sum_to);
    reg("Watch", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), fn_watch);
    reg("Store", HL_TYPE_I32, HL_PARAMS(HL_TYPE_U64, HL_TYPE_I32), fn_store);
    reg("Abort", HL_TYPE_I32, NULL, 0, fn_abort);
    reg("Spin", HL_TYPE_I32, NULL, 0, fn_spin);
    reg("Trap", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), fn_trap);
}

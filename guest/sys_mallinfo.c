/* sys_mallinfo.c: mallinfo() with the fields <malloc.h> promises. In newlib 3.3.0 on x86-64 the
 * allocator (mallocr.c) fills a struct of int fields while <malloc.h> declares size_t ones, so
 * newlib's own mallinfo() returns garbage; this one reads the allocator's layout and widens it. */
#include "runtime.h"

#include <malloc.h>
#include <reent.h>

struct allocator_mallinfo { /* mallocr.c's struct mallinfo */
    int arena, ordblks, smblks, hblks, hblkhd, usmblks, fsmblks, uordblks, fordblks, keepcost;
};

struct allocator_mallinfo hlg__allocator_mallinfo(struct _reent *r) __asm__("_mallinfo_r");

static size_t widen(int v)
{
    return (size_t)(unsigned)v;
}

struct mallinfo mallinfo(void)
{
    struct allocator_mallinfo m = hlg__allocator_mallinfo(_REENT);
    return (struct mallinfo){
        .arena = widen(m.arena),
        .ordblks = widen(m.ordblks),
        .smblks = widen(m.smblks),
        .hblks = widen(m.hblks),
        .hblkhd = widen(m.hblkhd),
        .usmblks = widen(m.usmblks),
        .fsmblks = widen(m.fsmblks),
        .uordblks = widen(m.uordblks),
        .fordblks = widen(m.fordblks),
        .keepcost = widen(m.keepcost),
    };
}

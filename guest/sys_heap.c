/* sys_heap.c: the break newlib's malloc grows, over the heap region the host gave (PEB). Moving
 * the break touches no memory: a heap page is first touched when malloc uses it. Past the end of
 * the region, sbrk fails with ENOMEM and malloc returns NULL. */
#include "runtime.h"

#include <errno.h>

void *sbrk(ptrdiff_t incr);

static HLG_HOT uintptr_t heap_break; /* 0 until the first sbrk */

void *sbrk(ptrdiff_t incr)
{
    uintptr_t base = (uintptr_t)hlg__peb.heap.gpa, end = base + hlg__peb.heap.size;
    if (!heap_break)
        heap_break = base;
    uintptr_t old = heap_break;
    if ((incr > 0 && (uintptr_t)incr > end - old) || (incr < 0 && (uintptr_t)-incr > old - base)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    heap_break = old + (uintptr_t)incr;
    return (void *)old;
}

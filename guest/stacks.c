/* stacks.c: the guest side of the input/output stacks of buffers (abi.h). */
#include "runtime.h"

#include <string.h>

static uint8_t *region(const hl_abi_region *r)
{
    return (uint8_t *)(uintptr_t)r->gpa;
}

static uint64_t load_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static void store_u64(uint8_t *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

void hlg__out_begin(hl__wire_writer *w)
{
    uint8_t *base = region(&hlg__peb.output);
    uint64_t sp = load_u64(base), size = hlg__peb.output.size;
    if (sp < HL_ABI_STACK_EMPTY || sp > size - 8)
        sp = size - 8; /* corrupt: leave no room, so the commit fails */
    hl__wire_writer_init(w, base + sp, size - sp - 8);
}

int hlg__out_commit(const hl__wire_writer *w)
{
    uint8_t *base = region(&hlg__peb.output);
    if (w->overflow || w->len == 0)
        return -1;
    uint64_t elem = (uint64_t)(w->buf - base);
    store_u64(base + elem + w->len, elem);
    store_u64(base, elem + w->len + 8);
    return 0;
}

int hlg__in_top(const uint8_t **msg, size_t *len, uint64_t *elem)
{
    const uint8_t *base = region(&hlg__peb.input);
    uint64_t sp = load_u64(base), size = hlg__peb.input.size;
    if (sp < HL_ABI_STACK_EMPTY + 8 || sp > size)
        return -1;
    uint64_t e = load_u64(base + sp - 8);
    if (e < HL_ABI_STACK_EMPTY || e > sp - 9)
        return -1;
    *msg = base + e;
    *len = sp - 8 - e;
    *elem = e;
    return 0;
}

void hlg__in_pop(uint64_t elem)
{
    store_u64(region(&hlg__peb.input), elem);
}

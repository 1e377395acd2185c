/* bstack.c: validated push and pop on the guest's stacks of buffers. */
#include "bstack.h"

#include <stdint.h>

#include "hyperlight/abi.h"

int hl__bstack_reset(hl__mem *m, hl__region r)
{
    return hl__mem_write_u64(m, r.gpa, HL_ABI_STACK_EMPTY);
}

static int fail(const char **why, const char *text)
{
    *why = text;
    return -1;
}

int hl__bstack_push(hl__mem *m, hl__region r, const void *src, size_t n, const char **why)
{
    uint64_t sp;
    if (n == 0 || hl__mem_read_u64(m, r.gpa, &sp))
        return fail(why, "empty element or stack outside memory");
    if (sp < HL_ABI_STACK_EMPTY || sp > r.size)
        return fail(why, "stack pointer outside its buffer");
    if (n > r.size - sp || r.size - sp - n < 8)
        return fail(why, "no room in the buffer");
    if (hl__mem_write(m, r.gpa + sp, src, n) || hl__mem_write_u64(m, r.gpa + sp + n, sp) ||
        hl__mem_write_u64(m, r.gpa, sp + n + 8))
        return fail(why, "buffer outside memory");
    return 0;
}

int hl__bstack_pop(hl__mem *m, hl__region r, void *dst, size_t cap, size_t *n, const char **why)
{
    uint64_t sp, elem;
    if (hl__mem_read_u64(m, r.gpa, &sp))
        return fail(why, "stack outside memory");
    if (sp < HL_ABI_STACK_EMPTY + 8 || sp > r.size)
        return fail(why, sp == HL_ABI_STACK_EMPTY ? "the buffer is empty"
                                                  : "stack pointer outside its buffer");
    if (hl__mem_read_u64(m, r.gpa + sp - 8, &elem))
        return fail(why, "back-pointer outside memory");
    if (elem < HL_ABI_STACK_EMPTY || elem > sp - 9)
        return fail(why, "back-pointer outside the stack");
    uint64_t len = sp - 8 - elem;
    if (len > cap)
        return fail(why, "element larger than the host's buffer");
    if (hl__mem_read(m, r.gpa + elem, dst, len) || hl__mem_write_u64(m, r.gpa, elem))
        return fail(why, "element outside memory");
    *n = len;
    return 0;
}

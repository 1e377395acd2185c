/* bstack.h: the host side of the input/output stacks of buffers (abi.h: layout and pop rules). */
#ifndef HL_SRC_BSTACK_H
#define HL_SRC_BSTACK_H

#include <stddef.h>

#include "guest_mem.h"
#include "layout.h"

/* Empties the stack (sp = 8). */
int hl__bstack_reset(hl__mem *m, hl__region r);

/* Pushes n >= 1 bytes. Returns 0, or -1 when the guest-written sp is invalid or there is no room
 * (*why says which). */
int hl__bstack_push(hl__mem *m, hl__region r, const void *src, size_t n, const char **why);

/* Pops the top element into dst[0..cap) and sets *n to its length, after checking the stack
 * pointer, the back-pointer and the length. Returns 0, or -1 with *why naming the problem. */
int hl__bstack_pop(hl__mem *m, hl__region r, void *dst, size_t cap, size_t *n, const char **why);

#endif

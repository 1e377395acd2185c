/* context.h: what the guest is told when init or a call starts (the CONTEXT message, abi.h), and
 * the host's randomness. */
#ifndef HL_CONTEXT_H
#define HL_CONTEXT_H

#include "sandbox.h"

/* Fills p[0..n) from getrandom. Returns 0 or HL_EIO. */
int hl__random_bytes(void *p, size_t n);

/* Pushes a CONTEXT message on the guest's input stack, on top of what is there: the host's
 * REALTIME and MONOTONIC clocks now, the vCPU's TSC rate, whether the host takes stdout/stderr,
 * and the seed of the memory's timeline: a hash of the timeline's number under a key the sandbox
 * draws from getrandom on its first push, so sandboxes never share seeds and a restore costs no
 * system call. Returns 0, HL_EIO (getrandom failed) or HL_ETOOBIG (the input buffer is full). */
int hl__push_context(hl_sandbox *sb);

/* The next push starts a new timeline: memory was replaced, so what the guest drew from the old
 * seed must not repeat. */
static inline void hl__new_timeline(hl_sandbox *sb)
{
    sb->timeline++;
}

#endif

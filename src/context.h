/* context.h: what the guest is told when init or a call starts (the CONTEXT message, abi.h). */
#ifndef HL_CONTEXT_H
#define HL_CONTEXT_H

#include "sandbox.h"

/* Pushes a CONTEXT message on the guest's input stack, on top of what is there: the host's
 * REALTIME and MONOTONIC clocks now, the vCPU's TSC rate, whether the host takes stdout/stderr,
 * and the seed of the memory's timeline (drawn from getrandom when the timeline is new: the
 * sandbox's first run, and the first after each restore). Returns 0, HL_EIO (getrandom failed) or
 * HL_ETOOBIG (the input buffer is full). */
int hl__push_context(hl_sandbox *sb);

/* The next push starts a new timeline: memory was replaced, so what the guest drew from the old
 * seed must not repeat. */
static inline void hl__new_timeline(hl_sandbox *sb)
{
    sb->timeline_seed = 0;
}

#endif

/* run.h: running the guest until it reports DONE, serving its exits (run.c). */
#ifndef HL_SRC_RUN_H
#define HL_SRC_RUN_H

#include "sandbox.h"

/* Runs the vCPU until the guest reports DONE, serving host calls and logs on the way, within the
 * time limit and stoppable by hl_interrupt, then checks the stack cookie. Returns 0, or a
 * negative code after poisoning the sandbox when the guest can no longer be trusted. */
int hl__run_until_done(hl_sandbox *sb);

/* Pops the guest's DONE message into sb->msg; returns 0 with *len, or HL_EPROTOCOL (poisons). */
int hl__pop_output(hl_sandbox *sb, size_t *len);

#endif

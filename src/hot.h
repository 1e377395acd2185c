/* hot.h: hot sandboxes (cfg.hot, docs/HOT.md): the vCPU runs on a thread the library owns and
 * keeps running between calls; the guest's requests come through the doorbell page instead of VM
 * exits, and the host answers them there. The run loop (run.c) takes its events from here. */
#ifndef HL_SRC_HOT_H
#define HL_SRC_HOT_H

#include <stdint.h>
#include <sys/types.h>

#include "sandbox.h"
#include "vmm.h"

/* Starts the sandbox's vCPU thread if it has none; *tid is where time limits and interrupts of
 * the run send the kick signal. Returns 0 or HL_ENOMEM. */
int hl__hot_begin(hl_sandbox *sb, pid_t *tid);

/* Answers the request the guest waits on (if not yet), resumes the vCPU if it is stopped, and
 * waits for what the guest asks next: a doorbell request as the HL_EXIT_IO_OUT its `out` would
 * have been, or a real exit. Returns HL_EXIT_INTR every few milliseconds of waiting, the vCPU still
 * running, so the run loop checks time limits and interrupts. Returns 0 or a negative code (a
 * bad doorbell request poisons). */
int hl__hot_run(hl_sandbox *sb, hl__exit *e);

/* After a failed run: stops the vCPU wherever it is (the sandbox is poisoned). */
void hl__hot_halt(hl_sandbox *sb);

/* Brings the vCPU to rest before its state is read or replaced (snapshot, restore, core file,
 * destroy): asks the guest to park, kicks it when it has not within HL_HOT_PARK_WAIT_MS, and
 * finishes its last exit on its own thread. No-op for a cold sandbox. Returns 0 or HL_EKVM. */
#define HL_HOT_PARK_WAIT_MS 50
int hl__hot_settle(hl_sandbox *sb);

/* After memory and registers were replaced (restore, new from a snapshot): the guest is at a park
 * point waiting for the answer to the request its memory's bell names. */
void hl__hot_reset(hl_sandbox *sb);

/* Settles the vCPU and ends its thread (before the VM is released or replaced). */
void hl__hot_release(hl_sandbox *sb);

#endif

/* gdb_stub.h: a gdb remote stub for one sandbox (gdb_stub.c), on 127.0.0.1 only, for guest
 * developers (cfg.gdb_port; docs/DEBUGGING.md). The run loop (run.c) hands it the guest's exits. */
#ifndef HL_SRC_GDB_STUB_H
#define HL_SRC_GDB_STUB_H

#include <stdint.h>

#include "sandbox.h"
#include "vmm.h"

typedef struct hl__gdb hl__gdb;

/* Listens on 127.0.0.1:port for sb (sb->gdb). Returns 0, HL_EIO (the port cannot be bound) or
 * HL_ENOMEM. */
int hl__gdb_open(hl_sandbox *sb, uint16_t port);

/* Closes the connection and the listening socket (a connected gdb sees it close). NULL: no-op. */
void hl__gdb_close(hl__gdb *g);

/* Before each run of the vCPU: the first time, waits for gdb to connect and lets it work with the
 * guest stopped before its next instruction; then loads what gdb changed (registers,
 * breakpoints, single-step, hardware breakpoints). Returns 0, or an error ending the call
 * (HL_ECANCELLED when gdb killed the guest, HL_EKVM). */
int hl__gdb_before_run(hl_sandbox *sb);

/* After each run: an exit that belongs to the debugger (a step, a breakpoint, a watchpoint, an
 * interrupt from gdb) stops the guest and lets gdb work; *taken then says the run loop must not
 * handle the exit itself. Returns 0 or an error ending the call. */
int hl__gdb_after_run(hl_sandbox *sb, const hl__exit *e, int *taken);

/* After every run of the guest, whatever its end: the application's thread gets no more signals
 * for gdb's bytes, no INT3 stays in memory, and what gdb set for this stop (registers, a kill)
 * does not reach the next call or a restored state. */
void hl__gdb_run_ended(hl_sandbox *sb);

/* A run that ended with rc (a fault, an abort): gdb sees the guest stopped there with the
 * matching signal and may inspect it; the call then fails with rc whatever gdb does. */
int hl__gdb_call_failed(hl_sandbox *sb, int rc);

#endif

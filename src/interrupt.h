/* interrupt.h: stopping a running call from any thread (hl_interrupt / hl_sandbox_interrupt). The
 * handle is reference-counted apart from the sandbox, so an interrupt may race with the end of the
 * call and with hl_sandbox_destroy. */
#ifndef HL_SRC_INTERRUPT_H
#define HL_SRC_INTERRUPT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "hyperlight/hyperlight.h"
#include "vmm.h"

/* state: (call number << 2) | CANCELLED | RUNNING, changed only with atomic operations, so the end
 * of a call never waits for interrupters. The lock guards tid/vm/call, which the one interrupter
 * that cancels a call uses to kick it. */
struct hl_interrupt_handle {
    int refs;             /* atomic */
    uint64_t state;       /* atomic; see above */
    pthread_mutex_t lock; /* orders that kick against the start and end of calls */
    pid_t tid;            /* thread running the current call; 0 between calls */
    hl__vm *vm;           /* its VM while a call runs */
    uint64_t call;        /* which call tid and vm belong to */
};

hl_interrupt_handle *hl__interrupt_new(void);

/* Bracket every run of the guest: begin records the thread and starts a new call (an old request
 * never reaches it); end forgets the thread, so later interrupts do nothing, and returns 1 if the
 * call was interrupted (also when the interrupt came after the guest's last exit: hl_interrupt
 * then returned true, so the call must end with HL_ECANCELLED). */
void hl__interrupt_begin(hl_interrupt_handle *h, hl__vm *vm, pid_t tid);
int hl__interrupt_end(hl_interrupt_handle *h);

/* 1 if the running call was asked to stop. */
int hl__interrupt_requested(hl_interrupt_handle *h);

#endif

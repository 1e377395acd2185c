/* vcpu_thread.h: a thread the library owns that runs one vCPU (a hot sandbox's): it enters the
 * guest when asked and reports each exit, so the vCPU can keep running while the calling thread
 * waits, and every KVM_RUN of that vCPU comes from one thread. */
#ifndef HL_SRC_VCPU_THREAD_H
#define HL_SRC_VCPU_THREAD_H

#include <stdint.h>
#include <sys/types.h>

#include "vmm.h"

typedef struct hl__vcpu_thread hl__vcpu_thread;

/* Starts the thread, idle, for vm's vCPU; it blocks every signal but the kick signal, which must
 * be ready (hl__kick_ready). Returns 0 or HL_ENOMEM. */
int hl__vcpu_thread_start(hl__vm *vm, hl__vcpu_thread **out);

/* The thread's kernel id: where time limits and interrupts send the kick signal. */
pid_t hl__vcpu_thread_tid(const hl__vcpu_thread *t);

/* 1 while the vCPU may be running (asked to run and its exit not yet taken by
 * hl__vcpu_thread_take). */
int hl__vcpu_thread_busy(const hl__vcpu_thread *t);

/* Asks an idle thread to run the vCPU until its next exit. */
void hl__vcpu_thread_run(hl__vcpu_thread *t);

/* 1 once the run has ended, 0 if it has not within timeout_ns (0: do not wait). */
int hl__vcpu_thread_wait(hl__vcpu_thread *t, uint64_t timeout_ns);

/* After the run has ended: its result, as hl__vm_run's (0 with *e, or HL_EKVM, whose message is
 * set again on the calling thread); the thread is idle again. */
int hl__vcpu_thread_take(hl__vcpu_thread *t, hl__exit *e);

/* Ends a run that is in progress soon (immediate exit and the kick signal, repeated until it
 * has); the exit then waits for hl__vcpu_thread_take. */
void hl__vcpu_thread_kick(hl__vcpu_thread *t);

/* On an idle thread: hl__vm_finish_exit run by the thread. Returns its result. */
int hl__vcpu_thread_finish_exit(hl__vcpu_thread *t);

/* During a run: asks the thread to finish the exit the run ends with (hl__vm_finish_exit) before
 * it reports it, which saves hl__vcpu_thread_finish_exit's round trip when the exit's contents do
 * not matter. Asking may come too late for an exit already reported: after hl__vcpu_thread_take,
 * hl__vcpu_thread_finished says whether it did (a new run cancels the request). */
void hl__vcpu_thread_finish_on_exit(hl__vcpu_thread *t);

/* 1 when the exit last taken was finished on the thread (hl__vcpu_thread_finish_on_exit). */
int hl__vcpu_thread_finished(const hl__vcpu_thread *t);

/* Kicks a run in progress, takes its exit and joins the thread. NULL is a no-op. */
void hl__vcpu_thread_stop(hl__vcpu_thread *t);

#endif

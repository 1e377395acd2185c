/* timer.h: per-call time limits: a POSIX timer that signals the calling thread so KVM_RUN returns.
 */
#ifndef HL_SRC_TIMER_H
#define HL_SRC_TIMER_H

#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct hl__timer {
    timer_t id;
    pid_t tid; /* thread the timer signals; re-targeted when the sandbox changes threads */
    int created;
    uint64_t deadline_ns; /* CLOCK_MONOTONIC; 0 = no limit */
    int armed;            /* the POSIX timer runs (disarm stops it) */
} hl__timer;

/* The kick signal (SIGRTMIN+5): a no-op handler makes KVM_RUN return EINTR. hl__kick_ready
 * installs the handler once; it returns 0, or HL_ESIGNAL when the application owns the signal. */
int hl__kick_signal(void);
int hl__kick_ready(void);

/* The calling thread must not block the kick signal while it runs a call: hl__kick_unblock
 * unblocks it and returns whether it was blocked, for hl__kick_reblock at the end of the call. */
int hl__kick_unblock(void);
void hl__kick_reblock(int was_blocked);

/* Starts a limit of ms milliseconds (0 = none) for the calling thread, whose kernel thread id is
 * tid. Returns 0, HL_ESIGNAL or HL_ENOMEM. */
int hl__timer_arm(hl__timer *t, uint32_t ms, pid_t tid);

/* A limit of ms milliseconds (0 = none) that sends no signal: for a caller that watches
 * hl__timer_expired itself while it waits (a hot sandbox's). Makes no system call. */
void hl__timer_deadline(hl__timer *t, uint32_t ms);

/* The calling thread's kernel thread id (one system call). */
pid_t hl__gettid(void);
/* Stops it (no signal will arrive afterwards). */
void hl__timer_disarm(hl__timer *t);
/* 1 if the limit armed last has passed. */
int hl__timer_expired(const hl__timer *t);
void hl__timer_destroy(hl__timer *t);

uint64_t hl__now_ns(void);

#endif

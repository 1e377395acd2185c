/* vcpu_thread.c: the thread that runs a hot sandbox's vCPU. The calling thread and it hand the
 * vCPU back and forth through one futex word: the caller asks for a run (or an exit's completion)
 * only when the thread is idle, and the thread reports each end of a run, so exactly one of them
 * owns the vCPU at any time. */
#include "vcpu_thread.h"

#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "timer.h"

enum { IDLE, RUN, FINISH, ENDED, QUIT };

#define THREAD_STACK (256u * 1024)
#define KICK_REPEAT_NS 1000000ull

struct hl__vcpu_thread {
    uint32_t state; /* atomic futex word: one of the values above */
    hl__vm *vm;
    pthread_t thread;
    pid_t tid;
    uint32_t finish_on_exit; /* atomic: the caller asked the run's exit to be finished */
    int finished;            /* the thread did: the run's exit is finished */
    int rc;                  /* the last run's result */
    hl__exit exit;           /* and its exit */
    char why[512];           /* hl_last_error of a failed run, from the thread */
};

static void futex_wake(uint32_t *w)
{
    syscall(SYS_futex, w, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Waits while *w == v, at most timeout_ns (0: no limit); returns early on a signal. */
static void futex_wait(uint32_t *w, uint32_t v, uint64_t timeout_ns)
{
    struct timespec ts = {(time_t)(timeout_ns / 1000000000ull), (long)(timeout_ns % 1000000000ull)};
    syscall(SYS_futex, w, FUTEX_WAIT_PRIVATE, v, timeout_ns ? &ts : NULL, NULL, 0);
}

static uint32_t load_state(const hl__vcpu_thread *t)
{
    return __atomic_load_n(&t->state, __ATOMIC_ACQUIRE);
}

static void set_state(hl__vcpu_thread *t, uint32_t s)
{
    __atomic_store_n(&t->state, s, __ATOMIC_RELEASE);
    futex_wake(&t->state);
}

static void serve(hl__vcpu_thread *t, uint32_t what)
{
    hl__clear_error();
    t->finished = 0;
    if (what == FINISH) {
        t->rc = hl__vm_finish_exit(t->vm);
    } else {
        t->rc = hl__vm_run(t->vm, &t->exit);
        t->finished = !t->rc && __atomic_load_n(&t->finish_on_exit, __ATOMIC_ACQUIRE);
        if (t->finished)
            t->rc = hl__vm_finish_exit(t->vm);
    }
    if (t->rc)
        snprintf(t->why, sizeof t->why, "%s", hl_last_error());
    set_state(t, ENDED);
}

static void *thread_main(void *arg)
{
    hl__vcpu_thread *t = arg;
    t->tid = hl__gettid();
    set_state(t, IDLE);
    for (;;) {
        uint32_t s = load_state(t);
        if (s == QUIT)
            return NULL;
        if (s == RUN || s == FINISH)
            serve(t, s);
        else
            futex_wait(&t->state, s, 0);
    }
}

/* Every signal blocked but the kick, which ends KVM_RUN. */
static void thread_signals(sigset_t *old)
{
    sigset_t all;
    sigfillset(&all);
    sigdelset(&all, hl__kick_signal());
    pthread_sigmask(SIG_SETMASK, &all, old);
}

int hl__vcpu_thread_start(hl__vm *vm, hl__vcpu_thread **out)
{
    hl__vcpu_thread *t = calloc(1, sizeof *t);
    if (!t)
        return hl__fail(HL_ENOMEM, "out of memory for a vCPU thread");
    t->vm = vm;
    t->state = QUIT + 1; /* not started */
    pthread_attr_t attr;
    sigset_t old;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, THREAD_STACK);
    thread_signals(&old); /* the new thread inherits this mask */
    int err = pthread_create(&t->thread, &attr, thread_main, t);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err) {
        free(t);
        return hl__fail(HL_ENOMEM, "cannot start a vCPU thread: %s", strerror(err));
    }
    while (load_state(t) == QUIT + 1)
        futex_wait(&t->state, QUIT + 1, 0);
    *out = t;
    return 0;
}

pid_t hl__vcpu_thread_tid(const hl__vcpu_thread *t)
{
    return t->tid;
}

int hl__vcpu_thread_busy(const hl__vcpu_thread *t)
{
    return load_state(t) != IDLE;
}

void hl__vcpu_thread_run(hl__vcpu_thread *t)
{
    __atomic_store_n(&t->finish_on_exit, 0, __ATOMIC_RELAXED); /* published by the state's store */
    set_state(t, RUN);
}

void hl__vcpu_thread_finish_on_exit(hl__vcpu_thread *t)
{
    __atomic_store_n(&t->finish_on_exit, 1, __ATOMIC_RELEASE);
}

int hl__vcpu_thread_finished(const hl__vcpu_thread *t)
{
    return t->finished;
}

static int ended(uint32_t s)
{
    return s == ENDED || s == IDLE;
}

int hl__vcpu_thread_wait(hl__vcpu_thread *t, uint64_t timeout_ns)
{
    uint32_t s = load_state(t);
    if (!timeout_ns || ended(s))
        return ended(s);
    uint64_t end = hl__now_ns() + timeout_ns, now;
    while (!ended(s = load_state(t)) && (now = hl__now_ns()) < end)
        futex_wait(&t->state, s, end - now);
    return ended(s);
}

int hl__vcpu_thread_take(hl__vcpu_thread *t, hl__exit *e)
{
    int rc = t->rc;
    if (e)
        *e = t->exit;
    if (rc)
        hl__fail(rc, "%s", t->why);
    __atomic_store_n(&t->state, IDLE, __ATOMIC_RELEASE);
    return rc;
}

void hl__vcpu_thread_kick(hl__vcpu_thread *t)
{
    while (!hl__vcpu_thread_wait(t, KICK_REPEAT_NS)) {
        hl__vm_kick_flag(t->vm); /* a KVM_RUN that has not started yet returns at once */
        syscall(SYS_tgkill, getpid(), t->tid, hl__kick_signal());
    }
    hl__vm_clear_kick(t->vm);
}

int hl__vcpu_thread_finish_exit(hl__vcpu_thread *t)
{
    set_state(t, FINISH);
    while (!hl__vcpu_thread_wait(t, KICK_REPEAT_NS))
        ;
    return hl__vcpu_thread_take(t, NULL);
}

void hl__vcpu_thread_stop(hl__vcpu_thread *t)
{
    if (!t)
        return;
    if (load_state(t) != IDLE) {
        hl__vcpu_thread_kick(t);
        hl__vcpu_thread_take(t, NULL);
    }
    set_state(t, QUIT);
    pthread_join(t->thread, NULL);
    free(t);
}

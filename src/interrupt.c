/* interrupt.c: stopping a running call from another thread: mark it cancelled, make the next
 * KVM_RUN return at once (immediate_exit), and signal the vCPU thread once to end the current one.
 * Only the first hl_interrupt of a call signals; the others only report that it is stopping. */
#include "interrupt.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "timer.h"

#define RUNNING 1ull
#define CANCELLED 2ull
#define CALL_STEP 4ull

hl_interrupt_handle *hl__interrupt_new(void)
{
    hl_interrupt_handle *h = calloc(1, sizeof *h);
    if (!h)
        return NULL;
    h->refs = 1;
    pthread_mutex_init(&h->lock, NULL);
    return h;
}

void hl__interrupt_begin(hl_interrupt_handle *h, hl__vm *vm, pid_t tid)
{
    pthread_mutex_lock(&h->lock);
    uint64_t call = (__atomic_load_n(&h->state, __ATOMIC_RELAXED) & ~(CALL_STEP - 1)) + CALL_STEP;
    h->tid = tid;
    h->vm = vm;
    h->call = call;
    hl__vm_clear_kick(vm);
    __atomic_store_n(&h->state, call | RUNNING, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&h->lock);
}

int hl__interrupt_end(hl_interrupt_handle *h)
{
    uint64_t old = __atomic_fetch_and(&h->state, ~(RUNNING | CANCELLED), __ATOMIC_ACQ_REL);
    pthread_mutex_lock(&h->lock); /* held by at most one interrupter, for one kick */
    h->tid = 0;
    h->vm = NULL;
    pthread_mutex_unlock(&h->lock);
    return (old & CANCELLED) != 0;
}

int hl__interrupt_requested(hl_interrupt_handle *h)
{
    return (__atomic_load_n(&h->state, __ATOMIC_ACQUIRE) & CANCELLED) != 0;
}

/* The kick of the call numbered `call`, if it is still the one running. Every running call has
 * the signal ready (hl__run_until_done refuses to start otherwise). */
static void kick(hl_interrupt_handle *h, uint64_t call)
{
    pthread_mutex_lock(&h->lock);
    if (h->tid && h->call == call) {
        hl__vm_kick_flag(h->vm); /* a KVM_RUN that has not started yet returns at once */
        syscall(SYS_tgkill, getpid(), h->tid, hl__kick_signal()); /* ends one in progress */
    }
    pthread_mutex_unlock(&h->lock);
}

HL_API bool hl_interrupt(hl_interrupt_handle *h)
{
    if (!h)
        return false;
    uint64_t s = __atomic_load_n(&h->state, __ATOMIC_ACQUIRE);
    for (;;) {
        if (!(s & RUNNING))
            return false;
        if (s & CANCELLED)
            return true; /* already stopping: no second signal */
        if (__atomic_compare_exchange_n(&h->state, &s, s | CANCELLED, 0, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            break;
    }
    kick(h, s & ~(CALL_STEP - 1));
    return true;
}

HL_API void hl_interrupt_release(hl_interrupt_handle *h)
{
    if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

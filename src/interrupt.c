/* interrupt.c: stopping a running call from another thread: set the request, make the next
 * KVM_RUN return at once (immediate_exit), and signal the vCPU thread to end the current one. */
#include "interrupt.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"
#include "sandbox.h"
#include "timer.h"

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
    h->tid = tid;
    h->vm = vm;
    __atomic_store_n(&h->cancel, 0, __ATOMIC_RELAXED);
    hl__vm_clear_kick(vm);
    pthread_mutex_unlock(&h->lock);
}

int hl__interrupt_end(hl_interrupt_handle *h)
{
    pthread_mutex_lock(&h->lock);
    int cancelled = __atomic_load_n(&h->cancel, __ATOMIC_RELAXED);
    h->tid = 0;
    h->vm = NULL;
    pthread_mutex_unlock(&h->lock);
    return cancelled;
}

int hl__interrupt_requested(hl_interrupt_handle *h)
{
    return __atomic_load_n(&h->cancel, __ATOMIC_ACQUIRE);
}

HL_API bool hl_interrupt(hl_interrupt_handle *h)
{
    bool running = false;
    if (!h)
        return false;
    pthread_mutex_lock(&h->lock);
    if (h->tid) {
        running = true;
        __atomic_store_n(&h->cancel, 1, __ATOMIC_RELEASE);
        hl__vm_kick_flag(h->vm); /* a KVM_RUN that has not started yet returns at once */
        if (hl__kick_ready() == 0)
            syscall(SYS_tgkill, getpid(), h->tid, hl__kick_signal()); /* ends one in progress */
    }
    pthread_mutex_unlock(&h->lock);
    return running;
}

HL_API hl_interrupt_handle *hl_sandbox_interrupt_handle(hl_sandbox *sb)
{
    if (!sb || !sb->interrupt)
        return NULL;
    __atomic_add_fetch(&sb->interrupt->refs, 1, __ATOMIC_RELAXED);
    return sb->interrupt;
}

HL_API void hl_interrupt_release(hl_interrupt_handle *h)
{
    if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    pthread_mutex_destroy(&h->lock);
    free(h);
}

HL_API bool hl_sandbox_interrupt(hl_sandbox *sb)
{
    return sb && hl_interrupt(sb->interrupt);
}

/* hot.c: the transport of a hot sandbox. The guest posts requests on the doorbell and spins for
 * the answer; the calling thread spins for requests for a while, then sleeps until the vCPU
 * thread reports an exit (a guest that waited too long parks, which is one). Every answer is
 * written after its message is on the input stack, and every exit is taken before the vCPU is
 * resumed, so the guest sees the same protocol as with `out`. */
#include "hot.h"

#include <sched.h>
#include <string.h>

#include "doorbell.h"
#include "error.h"
#include "timer.h"
#include "vcpu_thread.h"

#define WAIT_SLICE_NS 2000000ull /* longest sleep before the run loop looks at the time again */
#define TSC_KHZ_GUESS 2000000u   /* when KVM cannot tell the TSC's rate */

static hl_gpa doorbell_gpa(const hl_sandbox *sb)
{
    return sb->layout.r[HL_R_DOORBELL].gpa;
}

static int protocol(hl_sandbox *sb, const char *why)
{
    return hl__poison(sb, hl__fail(HL_EPROTOCOL, "guest broke the protocol: doorbell: %s", why));
}

/* With one CPU to run on, the side that spins keeps the other from running: neither spins, and
 * every request parks (a hot sandbox then costs what a cold one does, plus a thread switch). */
static int one_cpu(void)
{
    cpu_set_t set;
    return sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) < 2;
}

int hl__hot_begin(hl_sandbox *sb, pid_t *tid)
{
    if (!sb->hot.thread) {
        int rc = hl__vcpu_thread_start(sb->vm, &sb->hot.thread);
        if (rc)
            return rc;
        uint32_t khz = hl__vm_tsc_khz(sb->vm), us = one_cpu() ? 0 : sb->cfg.hot_spin_us;
        sb->hot.spin_ns = (uint64_t)us * 1000;
        sb->hot.spin_tsc = (uint64_t)us * (khz ? khz : TSC_KHZ_GUESS) / 1000;
        if (hl__doorbell_set_spin(&sb->mem, doorbell_gpa(sb), sb->hot.spin_tsc))
            return protocol(sb, "no doorbell page");
    }
    *tid = hl__vcpu_thread_tid(sb->hot.thread);
    return 0;
}

/* A new request on the bell, as the exit its `out` would have been: 1, 0 (none), or an error. */
static int bell_request(hl_sandbox *sb, hl__exit *e)
{
    uint64_t bell;
    uint16_t port;
    if (hl__doorbell_read(&sb->mem, doorbell_gpa(sb), &bell))
        return protocol(sb, "no doorbell page");
    switch (hl__bell_decode(bell, sb->hot.served + 1, &port)) {
    case HL_BELL_NONE:
        return 0;
    case HL_BELL_REQUEST:
        sb->hot.served++;
        sb->hot.answered = 0;
        memset(e, 0, sizeof *e);
        e->kind = HL_EXIT_IO_OUT;
        e->port = port;
        e->size = 4;
        e->count = 1;
        return 1;
    default:
        return protocol(sb, "request to a port the doorbell does not carry");
    }
}

static void resume(hl_sandbox *sb)
{
    hl__doorbell_set_mode(&sb->mem, doorbell_gpa(sb), HL_ABI_DOORBELL_HOT);
    hl__vcpu_thread_run(sb->hot.thread);
}

/* The vCPU stopped: a park means "I posted a request", or, when there is none, "I missed your
 * answer" (resuming a park is answering it, so one nobody asked for only costs the guest an
 * exit); anything else is the exit itself, served as for a cold sandbox. The host has answered
 * everything before it waits, so there is nothing else a park can mean. */
static int vcpu_exit(hl_sandbox *sb, hl__exit *e)
{
    int rc = hl__vcpu_thread_take(sb->hot.thread, e);
    if (rc || e->kind != HL_EXIT_IO_OUT || e->port != HL_ABI_PORT_PARK)
        return rc;
    rc = bell_request(sb, e);
    if (rc)
        return rc < 0 ? rc : 0;
    resume(sb);
    memset(e, 0, sizeof *e);
    e->kind = HL_EXIT_INTR;
    return 0;
}

/* Spins for the guest's next request for the spin window, then sleeps until the vCPU stops. Before
 * it sleeps it sets the mode to COLD: nobody looks at the bell then, so a guest that waits parks at
 * once and new requests leave the VM, and either wakes this thread. */
static int wait_event(hl_sandbox *sb, hl__exit *e)
{
    uint64_t spin_end = hl__now_ns() + sb->hot.spin_ns;
    int rc;
    if (!sb->hot.resting)
        hl__doorbell_set_mode(&sb->mem, doorbell_gpa(sb), HL_ABI_DOORBELL_HOT);
    for (;;) {
        rc = bell_request(sb, e);
        if (rc)
            break;
        if (hl__vcpu_thread_wait(sb->hot.thread, 0)) {
            rc = vcpu_exit(sb, e);
            break;
        }
        if (!sb->hot.resting && hl__now_ns() < spin_end) {
            __builtin_ia32_pause();
            continue;
        }
        if (!sb->hot.resting) { /* then look once more: a request may have come just before */
            hl__doorbell_set_mode(&sb->mem, doorbell_gpa(sb), HL_ABI_DOORBELL_COLD);
            sb->hot.resting = 1;
            continue;
        }
        if (!hl__vcpu_thread_wait(sb->hot.thread, WAIT_SLICE_NS)) {
            memset(e, 0, sizeof *e);
            e->kind = HL_EXIT_INTR; /* the vCPU still runs: the run loop looks at the clock */
            return 0;               /* and comes back still resting */
        }
    }
    sb->hot.resting = 0;
    return rc < 0 ? rc : 0;
}

int hl__hot_run(hl_sandbox *sb, hl__exit *e)
{
    if (!sb->hot.answered) {
        hl__doorbell_answer(&sb->mem, doorbell_gpa(sb), sb->hot.served);
        sb->hot.answered = 1;
    }
    if (!hl__vcpu_thread_busy(sb->hot.thread))
        resume(sb);
    return wait_event(sb, e);
}

void hl__hot_halt(hl_sandbox *sb)
{
    sb->hot.resting = 0;
    if (!sb->hot.thread || !hl__vcpu_thread_busy(sb->hot.thread))
        return;
    hl__doorbell_set_mode(&sb->mem, doorbell_gpa(sb), HL_ABI_DOORBELL_COLD);
    hl__vcpu_thread_kick(sb->hot.thread);
    hl__vcpu_thread_take(sb->hot.thread, NULL);
}

int hl__hot_settle(hl_sandbox *sb)
{
    hl__vcpu_thread *t = sb->hot.thread;
    if (!t)
        return 0;
    hl__doorbell_set_mode(&sb->mem, doorbell_gpa(sb), HL_ABI_DOORBELL_COLD);
    if (hl__vcpu_thread_busy(t)) {
        hl__vcpu_thread_finish_on_exit(t); /* whatever it stops with: the park, usually */
        if (!hl__vcpu_thread_wait(t, HL_HOT_PARK_WAIT_MS * 1000000ull))
            hl__vcpu_thread_kick(t); /* a guest that does not park is stopped where it is */
        int rc = hl__vcpu_thread_take(t, NULL);
        if (rc || hl__vcpu_thread_finished(t))
            return rc;
    }
    return hl__vcpu_thread_finish_exit(t);
}

void hl__hot_reset(hl_sandbox *sb)
{
    uint64_t bell = 0;
    hl__doorbell_read(&sb->mem, doorbell_gpa(sb), &bell);
    sb->hot.served = (uint32_t)bell;
    sb->hot.answered = 0;
    sb->hot.resting = 0;
    if (sb->hot.thread) /* the page came back with the snapshot's window */
        hl__doorbell_set_spin(&sb->mem, doorbell_gpa(sb), sb->hot.spin_tsc);
}

void hl__hot_release(hl_sandbox *sb)
{
    if (!sb->hot.thread)
        return;
    hl__hot_settle(sb);
    hl__vcpu_thread_stop(sb->hot.thread);
    sb->hot.thread = NULL;
}

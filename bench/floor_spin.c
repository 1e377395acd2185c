/* floor_spin.c: the shared-memory round trip with a spinning CPL3 guest, on two pinned CPUs: the
 * smallest thing a hot sandbox's call can be (a write to the doorbell, a wait for the answer),
 * measured without the library. Each side stores with release and loads with acquire, as the
 * library's host and guest do on the doorbell. */
#include "floor_spin.h"

#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define ANSWER_TIMEOUT_NS 1000000000ull /* a guest that has not answered by then never will */
#define CLOCK_EVERY 1024u               /* spins between looks at the clock */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int fail(floor_spin *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(floor_spin *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->error, sizeof s->error, fmt, ap);
    va_end(ap);
    return -1;
}

/* The vCPU thread: one KVM_RUN, which returns only when the guest leaves (FLOOR_SPIN_STOP) or
 * breaks. Every signal is blocked here (floor_spin_start), so nothing interrupts it. */
static void *vcpu_main(void *arg)
{
    floor_spin *s = arg;
    s->vcpu_rc = floor_vm_exit(&s->vm);
    if (s->vcpu_rc)
        snprintf(s->error, sizeof s->error, "spinning guest: %s", floor_kvm_error());
    __atomic_store_n(&s->vcpu_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static int pin_caller(floor_spin *s, int cpu)
{
    cpu_set_t one;
    if (pthread_getaffinity_np(pthread_self(), sizeof s->caller_mask, &s->caller_mask))
        return fail(s, "pthread_getaffinity_np failed");
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    if (pthread_setaffinity_np(pthread_self(), sizeof one, &one))
        return fail(s, "cannot pin the host thread to CPU %d", cpu);
    s->caller_pinned = 1;
    return 0;
}

static int start_vcpu_thread(floor_spin *s, int cpu)
{
    pthread_attr_t attr;
    cpu_set_t one;
    sigset_t all, old;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    sigfillset(&all);
    pthread_attr_init(&attr);
    pthread_attr_setaffinity_np(&attr, sizeof one, &one);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the new thread inherits this mask */
    int err = pthread_create(&s->vcpu_thread, &attr, vcpu_main, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_attr_destroy(&attr);
    if (err)
        return fail(s, "cannot start the vCPU thread on CPU %d: %s", cpu, strerror(err));
    s->started = 1;
    return 0;
}

int floor_spin_start(floor_spin *s, int host_cpu, int guest_cpu)
{
    memset(s, 0, sizeof *s);
    if (floor_vm_create(&s->vm))
        return fail(s, "%s", floor_kvm_error());
    s->vm_made = 1;
    if (floor_vm_setup_spin(&s->vm))
        return fail(s, "%s", floor_kvm_error());
    if (pin_caller(s, host_cpu) || start_vcpu_thread(s, guest_cpu))
        return -1;
    return floor_spin_round_trip(s); /* the guest is running and its pages are mapped */
}

static void post(floor_spin *s, uint64_t value)
{
    __atomic_store_n(floor_vm_host_word(&s->vm), value, __ATOMIC_RELEASE);
}

/* Every CLOCK_EVERY spins: 0 to go on, -1 when the guest has stopped or is too late. */
static int still_waiting(floor_spin *s, uint64_t deadline)
{
    if (__atomic_load_n(&s->vcpu_done, __ATOMIC_ACQUIRE))
        return s->vcpu_rc ? -1 : fail(s, "the spinning guest left the VM before it was told to");
    if (now_ns() > deadline)
        return fail(s, "the spinning guest did not answer %llu within 1 s",
                    (unsigned long long)s->seq);
    return 0;
}

int floor_spin_round_trip(floor_spin *s)
{
    const uint64_t *echo = floor_vm_guest_word(&s->vm);
    uint64_t deadline = 0;
    post(s, ++s->seq);
    for (unsigned spins = 1; __atomic_load_n(echo, __ATOMIC_ACQUIRE) != s->seq; spins++) {
        __builtin_ia32_pause();
        if (spins % CLOCK_EVERY)
            continue;
        if (!deadline) /* read the clock only when the answer is slow */
            deadline = now_ns() + ANSWER_TIMEOUT_NS;
        if (still_waiting(s, deadline))
            return -1;
    }
    return 0;
}

const char *floor_spin_error(const floor_spin *s)
{
    return s->error;
}

void floor_spin_stop(floor_spin *s)
{
    if (s->started) {
        post(s, FLOOR_SPIN_STOP);
        pthread_join(s->vcpu_thread, NULL);
        s->started = 0;
    }
    if (s->vm_made)
        floor_vm_destroy(&s->vm);
    s->vm_made = 0;
    if (s->caller_pinned)
        pthread_setaffinity_np(pthread_self(), sizeof s->caller_mask, &s->caller_mask);
    s->caller_pinned = 0;
}

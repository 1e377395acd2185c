/* timer.c: time limits. The timer signals the calling thread (SIGEV_THREAD_ID) with a no-op
 * handler, which makes KVM_RUN return EINTR; it then repeats every millisecond until disarmed so
 * a signal that lands just before KVM_RUN is entered cannot be lost. */
#include "timer.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "error.h"

#define REPEAT_NS 1000000L

static pthread_once_t handler_once = PTHREAD_ONCE_INIT;
static int handler_rc;

int hl__kick_signal(void)
{
    return SIGRTMIN + 5;
}

static void on_signal(int sig)
{
    (void)sig;
}

static void install_handler(void)
{
    struct sigaction old, sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(hl__kick_signal(), NULL, &old) == 0 && old.sa_handler != SIG_DFL &&
        old.sa_handler != SIG_IGN && old.sa_handler != on_signal) {
        handler_rc = HL_ESIGNAL;
        return;
    }
    handler_rc = sigaction(hl__kick_signal(), &sa, NULL) == 0 ? 0 : HL_ESIGNAL;
}

uint64_t hl__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int retarget(hl__timer *t, pid_t tid)
{
    if (t->created)
        timer_delete(t->id);
    t->created = 0;
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = hl__kick_signal();
    sev._sigev_un._tid = tid;
    if (timer_create(CLOCK_MONOTONIC, &sev, &t->id) != 0)
        return hl__fail(HL_ENOMEM, "timer_create: %s", strerror(errno));
    t->created = 1;
    t->tid = tid;
    return 0;
}

int hl__kick_ready(void)
{
    pthread_once(&handler_once, install_handler);
    return handler_rc;
}

int hl__kick_unblock(void)
{
    sigset_t only, old;
    sigemptyset(&only);
    sigaddset(&only, hl__kick_signal());
    return pthread_sigmask(SIG_UNBLOCK, &only, &old) == 0 &&
           sigismember(&old, hl__kick_signal()) == 1;
}

void hl__kick_reblock(int was_blocked)
{
    sigset_t only;
    if (!was_blocked)
        return;
    sigemptyset(&only);
    sigaddset(&only, hl__kick_signal());
    pthread_sigmask(SIG_BLOCK, &only, NULL);
}

pid_t hl__gettid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

int hl__timer_arm(hl__timer *t, uint32_t ms, pid_t tid)
{
    t->deadline_ns = 0;
    t->armed = 0;
    if (ms == 0)
        return 0;
    if (!t->created || t->tid != tid) {
        int rc = retarget(t, tid);
        if (rc)
            return rc;
    }
    struct itimerspec its = {{0, REPEAT_NS}, {ms / 1000, (long)(ms % 1000) * 1000000L}};
    t->deadline_ns = hl__now_ns() + (uint64_t)ms * 1000000ull;
    if (timer_settime(t->id, 0, &its, NULL) != 0) {
        t->deadline_ns = 0;
        return hl__fail(HL_ENOMEM, "timer_settime: %s", strerror(errno));
    }
    t->armed = 1;
    return 0;
}

void hl__timer_deadline(hl__timer *t, uint32_t ms)
{
    t->armed = 0;
    t->deadline_ns = ms ? hl__now_ns() + (uint64_t)ms * 1000000ull : 0;
}

void hl__timer_disarm(hl__timer *t)
{
    if (!t->armed)
        return;
    t->armed = 0;
    struct itimerspec off;
    memset(&off, 0, sizeof off);
    timer_settime(t->id, 0, &off, NULL);
}

int hl__timer_expired(const hl__timer *t)
{
    return t->deadline_ns && hl__now_ns() >= t->deadline_ns;
}

void hl__timer_destroy(hl__timer *t)
{
    if (t->created)
        timer_delete(t->id);
    t->created = 0;
}

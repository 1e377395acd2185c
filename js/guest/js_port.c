/* js_port.c: what QuickJS asks of its system that a guest answers itself. A guest has one thread,
 * so the mutexes QuickJS takes around class registration are always free and a condition wait
 * (Atomics.wait, which the runtime refuses anyway: JS_SetCanBlock) could never be woken. A guest
 * has no time zone: local time is UTC. (QuickJS is built with _POSIX_THREADS, for newlib's
 * pthread declarations, and with localtime_r renamed to hljs_localtime_r, whose struct tm has the
 * tm_gmtoff that QuickJS reads: see mk/quickjs.mk.) */
#include <errno.h>
#include <pthread.h>
#include <time.h>

int pthread_mutex_lock(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    (void)m;
    return 0;
}

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
    (void)c, (void)a;
    return 0;
}

int pthread_cond_destroy(pthread_cond_t *c)
{
    (void)c;
    return 0;
}

int pthread_cond_signal(pthread_cond_t *c)
{
    (void)c;
    return 0;
}

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    (void)c, (void)m;
    return ENOSYS;
}

int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    (void)c, (void)m, (void)t;
    return ENOSYS;
}

struct tm *hljs_localtime_r(const time_t *t, struct tm *tm);

struct tm *hljs_localtime_r(const time_t *t, struct tm *tm)
{
    if (!gmtime_r(t, tm))
        return NULL;
    tm->tm_gmtoff = 0;
    return tm;
}

/* sys_process.c: newlib's process calls. A guest is one process with one thread: exit, abort,
 * raise and a failed assert end the running call with HL_EABORT, carrying the code and a message;
 * what the guest wrote to stdout/stderr before that reaches the host first. fork, exec and wait
 * fail with ENOSYS. */
#include "runtime.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>

#define SIGNAL_CODE_BASE 128 /* as a shell reports a process killed by a signal */

_Noreturn void _exit(int code);
int kill(int pid, int sig);
int getpid(void);
int fork(void);
int execve(const char *path, char *const argv[], char *const envp[]);
int wait(int *status);
_Noreturn void __assert_func(const char *file, int line, const char *func, const char *expr);

/* exit() has run the atexit handlers and flushed stdio by the time it gets here. */
_Noreturn void _exit(int code)
{
    hlg_abort(code, "the guest called exit(%d)", code);
}

/* raise(sig) with the default action ends up here (abort() raises SIGABRT). */
int kill(int pid, int sig)
{
    if (pid != getpid()) {
        errno = ESRCH;
        return -1;
    }
    hlg_abort(SIGNAL_CODE_BASE + sig, "the guest raised signal %d%s", sig,
              sig == SIGABRT ? " (abort)" : "");
}

int getpid(void)
{
    return 1;
}

int fork(void)
{
    errno = ENOSYS;
    return -1;
}

int execve(const char *path, char *const argv[], char *const envp[])
{
    (void)path;
    (void)argv;
    (void)envp;
    errno = ENOSYS;
    return -1;
}

int wait(int *status)
{
    (void)status;
    errno = ECHILD;
    return -1;
}

/* <assert.h>'s assert: the same code and message as hlg_assert. */
_Noreturn void __assert_func(const char *file, int line, const char *func, const char *expr)
{
    (void)func;
    hlg__assert_fail(expr, file, line);
}

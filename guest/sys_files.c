/* sys_files.c: newlib's file system calls (this target's newlib calls them by their POSIX names). A
 * guest has no files: descriptors 1 and 2 write to the host's streams, descriptor 0 reads
 * end-of-file, and everything else fails with an errno. */
#include "runtime.h"

#include <errno.h>
#include <sys/stat.h>
#include <sys/types.h>

int write(int fd, const void *buf, size_t n);
int read(int fd, void *buf, size_t n);
int open(const char *path, int flags, int mode);
int close(int fd);
off_t lseek(int fd, off_t off, int whence);
int fstat(int fd, struct stat *st);
int stat(const char *path, struct stat *st);
int isatty(int fd);
int link(const char *from, const char *to);
int unlink(const char *path);

static int is_std(int fd)
{
    return fd >= 0 && fd <= 2;
}

static int fail(int err)
{
    errno = err;
    return -1;
}

int write(int fd, const void *buf, size_t n)
{
    if (fd != 1 && fd != 2)
        return fail(EBADF);
    size_t sent = hlg__stream_write(fd == 1 ? HL_ABI_STREAM_STDOUT : HL_ABI_STREAM_STDERR, buf, n);
    return sent ? (int)sent : (n ? fail(EIO) : 0);
}

int read(int fd, void *buf, size_t n)
{
    (void)buf;
    (void)n;
    return fd == 0 ? 0 : fail(EBADF);
}

int open(const char *path, int flags, int mode)
{
    (void)path;
    (void)flags;
    (void)mode;
    return fail(ENOSYS);
}

int close(int fd)
{
    return is_std(fd) ? 0 : fail(EBADF);
}

off_t lseek(int fd, off_t off, int whence)
{
    (void)off;
    (void)whence;
    return fail(is_std(fd) ? ESPIPE : EBADF);
}

/* The standard streams are character devices that are not terminals: fully buffered. */
int fstat(int fd, struct stat *st)
{
    if (!is_std(fd))
        return fail(EBADF);
    *st = (struct stat){0};
    st->st_mode = S_IFCHR;
    return 0;
}

int stat(const char *path, struct stat *st)
{
    (void)path;
    (void)st;
    return fail(ENOENT);
}

int isatty(int fd)
{
    errno = is_std(fd) ? ENOTTY : EBADF;
    return 0;
}

int link(const char *from, const char *to)
{
    (void)from;
    (void)to;
    return fail(ENOSYS);
}

int unlink(const char *path)
{
    (void)path;
    return fail(ENOSYS);
}

/* fileio.c: helpers for reading and writing memory images (fileio.h). */
#include "fileio.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

int hl__page_is_zero(const uint8_t *p)
{
    uint64_t acc = 0, w;
    for (unsigned i = 0; i < HL_ABI_PAGE_SIZE; i += 8) {
        memcpy(&w, p + i, 8);
        acc |= w;
    }
    return acc == 0;
}

int hl__pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        b += w, n -= (size_t)w, off += (uint64_t)w;
    }
    return 0;
}

int hl__pread_all(int fd, void *p, size_t n, uint64_t off)
{
    uint8_t *b = p;
    while (n) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            if (r == 0)
                errno = 0;
            return -1;
        }
        b += r, n -= (size_t)r, off += (uint64_t)r;
    }
    return 0;
}

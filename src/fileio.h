/* fileio.h: small I/O helpers for memory images (snapshots in memory and in files). */
#ifndef HL_SRC_FILEIO_H
#define HL_SRC_FILEIO_H

#include <stddef.h>
#include <stdint.h>

#include "hyperlight/abi.h"

/* Whether the HL_ABI_PAGE_SIZE bytes at p are all zero (such a page is left as a hole). */
int hl__page_is_zero(const uint8_t *p);

/* pwrite of all n bytes at off, retrying short writes and EINTR: 0, or -1 with errno. */
int hl__pwrite_all(int fd, const void *p, size_t n, uint64_t off);

/* pread of all n bytes at off, retrying short reads and EINTR: 0, or -1 (errno 0 at end of file).
 */
int hl__pread_all(int fd, void *p, size_t n, uint64_t off);

#endif

/* libc_internal.h: what the guest libc and the guest runtime provide each other. */
#ifndef HLG_LIBC_INTERNAL_H
#define HLG_LIBC_INTERNAL_H

#include <stddef.h>

#include <hyperlight/guest.h>

/* Marks the runtime's small, often-written state (the PEB copy, heap and registry bookkeeping,
 * the call state): guest.ld puts it right after .data, so that the first run writes both in one
 * page, a single page fault, wherever the guest's own variables put the rest of .bss. */
#define HLG_HOT __attribute__((section(".bss.hlg_hot")))

/* Abort codes (next to HLG_ASSERT_CODE 134) of the libc's own hlg_abort calls. */
#define HLG_LIBC_HEAP_CORRUPT 135 /* free/realloc of a bad pointer, or a damaged heap */
#define HLG_LIBC_ABORT_CODE 136   /* abort() */

/* Provided by the libc, called by the runtime once at start-up (before hlg_main): hands the heap
 * region [base, base + size) to malloc. base is aligned up to 16 bytes; at most 64 GiB is used;
 * a region too small for one block leaves malloc returning NULL. Calling it again forgets every
 * earlier block. */
void hlg__heap_init(void *base, size_t size);

/* Provided by the libc: bytes the heap currently hands out, block headers included (0 when
 * everything has been freed). For tests and statistics. */
size_t hlg__heap_used(void);

/* Provided by the runtime: sends len bytes of console output (not NUL-terminated) to the host.
 * printf/puts/putchar call it once per call. */
void hlg__print(const char *s, size_t len);

#endif

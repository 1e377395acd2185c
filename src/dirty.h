/* dirty.h: which guest pages changed since the sandbox's base snapshot. Guest writes come from the
 * hypervisor's dirty log, host writes from guest_mem's host_dirty bitmap. Pages that change at
 * restore after restore become "hot": they stay writable and are copied back every time, since a
 * 4 KiB copy costs far less than the write fault that re-protecting them would cause. */
#ifndef HL_SRC_DIRTY_H
#define HL_SRC_DIRTY_H

#include <stddef.h>
#include <stdint.h>

#include "guest_mem.h"
#include "vmm.h"

#define HL_DIRTY_HOT_MAX 512 /* pages kept hot at most (2 MiB copied per restore) */

typedef struct hl__dirty {
    size_t npages;
    size_t words;
    uint64_t *changed; /* pages to copy back at this restore */
    uint64_t *hot;     /* pages never re-protected */
    uint64_t *last;    /* pages copied back at the previous restore */
    size_t nhot;
} hl__dirty;

/* Allocates the bitmaps and attaches a host-write bitmap to m. Returns 0 or HL_ENOMEM. */
int hl__dirty_init(hl__dirty *d, hl__mem *m);
void hl__dirty_free(hl__dirty *d);

/* Declares the current memory clean: re-protects every page that is not hot. */
int hl__dirty_reset(hl__dirty *d, hl__vm *vm, hl__mem *m);

/* Copies back from src (the base snapshot's image) every page written by guest or host since
 * the last reset or restore, and every hot page, in one pass over the bitmaps; then promotes
 * pages that changed at two restores in a row to hot and re-protects the rest. Returns 0 or
 * HL_EKVM. */
int hl__dirty_restore(hl__dirty *d, hl__vm *vm, hl__mem *m, const uint8_t *src);

#endif

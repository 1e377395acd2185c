/* dirty.c: tracking the pages that differ from the base snapshot (see dirty.h). */
#include "dirty.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"

int hl__dirty_init(hl__dirty *d, hl__mem *m)
{
    memset(d, 0, sizeof *d);
    d->npages = m->size / 4096;
    d->words = (d->npages + 63) / 64;
    d->changed = calloc(d->words, 8);
    d->hot = calloc(d->words, 8);
    d->last = calloc(d->words, 8);
    m->host_dirty = calloc(d->words, 8);
    if (!d->changed || !d->hot || !d->last || !m->host_dirty)
        return hl__fail(HL_ENOMEM, "out of memory for dirty-page bitmaps");
    return 0;
}

void hl__dirty_free(hl__dirty *d)
{
    free(d->changed);
    free(d->hot);
    free(d->last);
    memset(d, 0, sizeof *d);
}

/* Bits past the last page must stay clear in bitmaps handed to the hypervisor. */
static uint64_t tail_mask(const hl__dirty *d, size_t word)
{
    size_t rest = d->npages - word * 64;
    return rest >= 64 ? ~0ull : (1ull << rest) - 1;
}

int hl__dirty_reset(hl__dirty *d, hl__vm *vm, hl__mem *m)
{
    for (size_t i = 0; i < d->words; i++) {
        d->changed[i] = ~d->hot[i] & tail_mask(d, i);
        d->last[i] = 0;
        m->host_dirty[i] = 0;
    }
    return hl__vm_dirty_clear(vm, d->changed);
}

long hl__dirty_collect(hl__dirty *d, hl__vm *vm, hl__mem *m)
{
    long n = 0;
    memset(d->changed, 0, d->words * 8);
    int rc = hl__vm_dirty_get(vm, d->changed);
    if (rc)
        return rc;
    for (size_t i = 0; i < d->words; i++) {
        d->changed[i] |= m->host_dirty[i] | d->hot[i];
        m->host_dirty[i] = 0;
        n += __builtin_popcountll(d->changed[i]);
    }
    return n;
}

int hl__dirty_rearm(hl__dirty *d, hl__vm *vm)
{
    for (size_t i = 0; i < d->words; i++) {
        uint64_t repeat = d->changed[i] & d->last[i] & ~d->hot[i];
        while (repeat && d->nhot < HL_DIRTY_HOT_MAX) {
            uint64_t bit = repeat & -repeat;
            d->hot[i] |= bit;
            d->nhot++;
            repeat &= repeat - 1;
        }
        d->last[i] = d->changed[i];
        d->changed[i] &= ~d->hot[i]; /* what to re-protect */
    }
    return hl__vm_dirty_clear(vm, d->changed);
}

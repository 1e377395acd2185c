/* dirty.c: tracking the pages that differ from the base snapshot (see dirty.h). */
#include "dirty.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "hyperlight/abi.h"

int hl__dirty_init(hl__dirty *d, hl__mem *m)
{
    memset(d, 0, sizeof *d);
    d->npages = m->size / HL_ABI_PAGE_SIZE;
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

static void copy_back(uint8_t *dst, const uint8_t *src, size_t word, uint64_t bits)
{
    for (; bits; bits &= bits - 1) {
        size_t off = (word * 64 + (size_t)__builtin_ctzll(bits)) * HL_ABI_PAGE_SIZE;
        memcpy(dst + off, src + off, HL_ABI_PAGE_SIZE);
    }
}

/* Pages that changed at this and the previous restore become hot (while there is room). */
static uint64_t promote(hl__dirty *d, size_t i, uint64_t changed)
{
    uint64_t repeat = changed & d->last[i] & ~d->hot[i];
    while (repeat && d->nhot < HL_DIRTY_HOT_MAX) {
        d->hot[i] |= repeat & -repeat;
        d->nhot++;
        repeat &= repeat - 1;
    }
    return d->hot[i];
}

int hl__dirty_restore(hl__dirty *d, hl__vm *vm, hl__mem *m, const uint8_t *src)
{
    int rc = hl__vm_dirty_get(vm, d->changed);
    uint64_t rearm = 0;
    if (rc)
        return rc;
    for (size_t i = 0; i < d->words; i++) {
        uint64_t changed = d->changed[i] | m->host_dirty[i] | d->hot[i];
        m->host_dirty[i] = 0;
        copy_back(m->base, src, i, changed);
        uint64_t hot = promote(d, i, changed);
        d->last[i] = changed;
        d->changed[i] = changed & ~hot; /* what to re-protect */
        rearm |= d->changed[i];
    }
    return rearm ? hl__vm_dirty_clear(vm, d->changed) : 0;
}

/* malloc.c: the guest heap: boundary-tagged blocks, segregated first-fit free lists. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "libc_internal.h"

/* Layout: the heap is a row of blocks ("chunks") followed by an end marker. The row starts empty
 * and grows upwards on demand (the end marker moving up) until the heap's limit, so a page of
 * guest memory is only touched once the heap has reached it. Each chunk starts
 * with a 16-byte header giving its own size and the size of the chunk just below it, so both
 * neighbours are found in O(1) and free neighbours are merged at once: two free chunks are never
 * adjacent. Sizes count 16-byte units, header included. A free chunk's payload holds the links of
 * its free list; the lists are binned by floor(log2(units)). The header's check word catches most
 * overwritten headers, and the state word tells a double free apart from a live block. */
#define UNIT 16u
#define MIN_UNITS 2u /* header + free-list links */
#define NBINS 32
#define STATE_USED 0x55534544u /* "USED" */
#define STATE_FREE 0x46524545u /* "FREE" */
#define CHECK_KEY 0x68654170u
#define MAX_REQUEST ((size_t)UINT32_MAX * UNIT - HDR)

typedef struct chunk {
    uint32_t prev;  /* units of the chunk below; 0 for the first chunk */
    uint32_t units; /* units of this chunk, header included; 0 for the end marker */
    uint32_t state; /* STATE_USED or STATE_FREE */
    uint32_t check; /* seal() of the three words above */
    struct chunk *next_free, *prev_free; /* free chunks only: this is a used chunk's payload */
} chunk;

#define HDR offsetof(chunk, next_free)
_Static_assert(offsetof(chunk, next_free) == UNIT, "chunk header must keep payloads aligned");

static HLG_HOT struct {
    char *base, *end; /* chunks lie in [base, end); the end marker's header is at end */
    char *limit;      /* how far end may grow */
    chunk *bins[NBINS];
    size_t used; /* bytes in used chunks */
} heap;

_Noreturn static void corrupt(const char *what, const void *p)
{
    hlg_abort(HLG_LIBC_HEAP_CORRUPT, "heap corruption: %s (at %p)", what, p);
}

static uint32_t seal(const chunk *c)
{
    return CHECK_KEY ^ (c->prev * 0x9e3779b1u) ^ (c->units * 0x85ebca77u) ^ c->state;
}

static int header_ok(const chunk *c)
{
    return c->check == seal(c) && (c->state == STATE_USED || c->state == STATE_FREE);
}

static void write_header(chunk *c, uint32_t prev, uint32_t units, uint32_t state)
{
    c->prev = prev;
    c->units = units;
    c->state = state;
    c->check = seal(c);
}

/* Wipes the header of a chunk merged into its neighbour, so a stale pointer to it is refused. */
static void erase(chunk *c)
{
    write_header(c, 0, 0, 0);
}

static chunk *next_chunk(const chunk *c)
{
    return (chunk *)((char *)c + (size_t)c->units * UNIT);
}

static chunk *prev_chunk(const chunk *c)
{
    return (chunk *)((char *)c - (size_t)c->prev * UNIT);
}

/* Tells the chunk above c how large c now is. */
static void link_next(const chunk *c)
{
    chunk *n = next_chunk(c);
    write_header(n, c->units, n->units, n->state);
}

static int bin_of(uint32_t units)
{
    return 31 - __builtin_clz(units);
}

/* Whether p may be a chunk header: inside the heap and aligned. */
static int in_heap(const void *p)
{
    const char *q = p;
    return q >= heap.base && q < heap.end && (size_t)(q - heap.base) % UNIT == 0;
}

static void bin_insert(chunk *c)
{
    chunk **head = &heap.bins[bin_of(c->units)];
    write_header(c, c->prev, c->units, STATE_FREE);
    c->prev_free = NULL;
    c->next_free = *head;
    if (*head)
        (*head)->prev_free = c;
    *head = c;
}

/* Whether free chunk c's list neighbours lie in the heap and point back at it. */
static int links_ok(const chunk *c)
{
    if ((c->prev_free && !in_heap(c->prev_free)) || (c->next_free && !in_heap(c->next_free)))
        return 0;
    const chunk *back = c->prev_free ? c->prev_free->next_free : heap.bins[bin_of(c->units)];
    return back == c && (!c->next_free || c->next_free->prev_free == c);
}

static void bin_remove(chunk *c)
{
    if (!links_ok(c))
        corrupt("free list links damaged", c);
    if (c->prev_free)
        c->prev_free->next_free = c->next_free;
    else
        heap.bins[bin_of(c->units)] = c->next_free;
    if (c->next_free)
        c->next_free->prev_free = c->prev_free;
}

/* Frees chunk c (in no list), merging it with free neighbours. */
static void release(chunk *c)
{
    chunk *n = next_chunk(c);
    if (n->state == STATE_FREE) {
        bin_remove(n);
        write_header(c, c->prev, c->units + n->units, c->state);
        erase(n);
        link_next(c);
    }
    if (c->prev && prev_chunk(c)->state == STATE_FREE) {
        chunk *p = prev_chunk(c);
        bin_remove(p);
        write_header(p, p->prev, p->units + c->units, STATE_FREE);
        erase(c);
        c = p;
        link_next(c);
    }
    bin_insert(c);
}

/* Cuts used chunk c down to `units` when the rest is large enough to be a chunk; frees the rest. */
static void trim(chunk *c, uint32_t units)
{
    uint32_t extra = c->units - units;
    if (extra < MIN_UNITS)
        return;
    write_header(c, c->prev, units, STATE_USED);
    chunk *rest = next_chunk(c);
    write_header(rest, units, extra, STATE_USED);
    link_next(rest);
    release(rest);
}

/* First chunk of at least `units` in the smallest bin that has one, or NULL. */
static chunk *find_fit(uint32_t units)
{
    for (int b = bin_of(units); b < NBINS; b++) {
        for (chunk *c = heap.bins[b]; c; c = c->next_free) {
            if (!in_heap(c) || !header_ok(c) || c->state != STATE_FREE)
                corrupt("free list damaged", c);
            if (c->units >= units)
                return c;
        }
    }
    return NULL;
}

/* The chunk of a pointer from malloc, or an abort if p cannot be one. */
static chunk *checked(void *p)
{
    chunk *c = (chunk *)((char *)p - HDR);
    if (!heap.base || !in_heap(c))
        corrupt("pointer not from malloc", p);
    if (!header_ok(c))
        corrupt("bad pointer, double free or damaged block header", p);
    if (c->state == STATE_FREE)
        corrupt("double free", p);
    if (c->units < MIN_UNITS || (size_t)(heap.end - (char *)c) < (size_t)c->units * UNIT ||
        (size_t)((char *)c - heap.base) < (size_t)c->prev * UNIT)
        corrupt("block size damaged", p);
    chunk *n = next_chunk(c);
    if (!header_ok(n) || n->prev != c->units || (c->prev && prev_chunk(c)->units != c->prev))
        corrupt("block neighbours damaged", p);
    return c;
}

static uint32_t units_for(size_t n)
{
    size_t u = (n + HDR + UNIT - 1) / UNIT;
    return u < MIN_UNITS ? MIN_UNITS : (uint32_t)u;
}

/* Whether the top chunk c (the one below the end marker, or the marker itself) can become a
 * chunk of `units` by moving the end marker up within the limit. */
static int top_fits(const chunk *c, uint32_t units)
{
    size_t have = (size_t)(heap.end - (const char *)c), want = units * (size_t)UNIT;
    return want >= have && want - have <= (size_t)(heap.limit - heap.end);
}

/* Makes c, the top chunk (the one below the end marker, or the marker itself when c == the
 * marker), a used chunk of `units` by moving the end marker up; NULL if the limit is too near. */
static chunk *grow_top(chunk *c, uint32_t units)
{
    chunk *top_end = (chunk *)heap.end;
    uint32_t prev = c == top_end ? top_end->prev : c->prev;
    if (!top_fits(c, units))
        return NULL;
    heap.end = (char *)c + (size_t)units * UNIT;
    write_header(c, prev, units, STATE_USED);
    write_header((chunk *)heap.end, units, 0, STATE_USED);
    return c;
}

/* A new used chunk of `units` at the top of the heap, taking in a free top chunk; or NULL. */
static chunk *take_from_top(uint32_t units)
{
    if (!heap.base)
        return NULL;
    chunk *top_end = (chunk *)heap.end, *c = top_end;
    if (top_end->prev && prev_chunk(top_end)->state == STATE_FREE)
        c = prev_chunk(top_end);
    if (!top_fits(c, units))
        return NULL;
    if (c != top_end)
        bin_remove(c);
    return grow_top(c, units);
}

void hlg__heap_init(void *base, size_t size)
{
    uintptr_t start = ((uintptr_t)base + UNIT - 1) & ~(uintptr_t)(UNIT - 1);
    size_t skip = start - (uintptr_t)base;
    memset(&heap, 0, sizeof(heap));
    if (size < skip || (size - skip) / UNIT < MIN_UNITS + 1)
        return; /* no room for one chunk plus the end marker */
    size_t units = (size - skip) / UNIT - 1;
    if (units > UINT32_MAX)
        units = UINT32_MAX;
    heap.base = heap.end = (char *)start;
    heap.limit = heap.base + units * UNIT;
    write_header((chunk *)heap.end, 0, 0, STATE_USED); /* no chunk yet: the marker alone */
}

size_t hlg__heap_used(void)
{
    return heap.used;
}

void *malloc(size_t size)
{
    if (size > MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    chunk *c = find_fit(units_for(size));
    if (c) {
        bin_remove(c);
        write_header(c, c->prev, c->units, STATE_USED);
        trim(c, units_for(size));
    } else if (!(c = take_from_top(units_for(size)))) {
        errno = ENOMEM;
        return NULL;
    }
    heap.used += (size_t)c->units * UNIT;
    return (char *)c + HDR;
}

void *calloc(size_t nmemb, size_t size)
{
    size_t total;
    if (__builtin_mul_overflow(nmemb, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    void *p = malloc(total);
    if (p)
        memset(p, 0, total);
    return p;
}

void free(void *ptr)
{
    if (!ptr)
        return;
    chunk *c = checked(ptr);
    heap.used -= (size_t)c->units * UNIT;
    release(c);
}

/* Grows used chunk c to at least `units` by taking in the free chunk above it, or the unused
 * heap when it is the top chunk, if that suffices. */
static int grow_in_place(chunk *c, uint32_t units)
{
    chunk *n = next_chunk(c);
    if ((char *)n == heap.end)
        return grow_top(c, units) != NULL;
    if (n->state != STATE_FREE || (size_t)c->units + n->units < units)
        return 0;
    bin_remove(n);
    write_header(c, c->prev, c->units + n->units, STATE_USED);
    erase(n);
    link_next(c);
    trim(c, units);
    return 1;
}

void *realloc(void *ptr, size_t size)
{
    if (!ptr)
        return malloc(size);
    chunk *c = checked(ptr);
    if (size > MAX_REQUEST) {
        errno = ENOMEM;
        return NULL;
    }
    uint32_t units = units_for(size), old = c->units;
    if (units <= old)
        trim(c, units);
    if (units <= old || grow_in_place(c, units)) {
        heap.used = heap.used - (size_t)old * UNIT + (size_t)c->units * UNIT;
        return ptr;
    }
    void *q = malloc(size);
    if (q) {
        memcpy(q, ptr, (size_t)old * UNIT - HDR);
        free(ptr);
    }
    return q;
}

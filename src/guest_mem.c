/* guest_mem.c: mapping guest memory with host guard pages; bounds-checked copy in/out. */
#include "guest_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "error.h"
#include "hyperlight/abi.h"

#define HOST_PAGE HL_ABI_PAGE_SIZE

int hl__mem_map(hl__mem *m, size_t size)
{
    size_t map_size = size + 2 * HOST_PAGE;
    void *p = mmap(NULL, map_size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return hl__fail(HL_ENOMEM, "cannot reserve %zu bytes of guest memory", size);
    uint8_t *base = (uint8_t *)p + HOST_PAGE;
    if (mprotect(base, size, PROT_READ | PROT_WRITE) != 0) {
        munmap(p, map_size);
        return hl__fail(HL_ENOMEM, "cannot map %zu bytes of guest memory", size);
    }
    m->base = base;
    m->size = size;
    m->map = p;
    m->map_size = map_size;
    m->host_dirty = NULL;
    return 0;
}

void hl__mem_unmap(hl__mem *m)
{
    if (m->map)
        munmap(m->map, m->map_size);
    free(m->host_dirty);
    memset(m, 0, sizeof *m);
}

int hl__mem_range_ok(const hl__mem *m, hl_gpa gpa, uint64_t n)
{
    return gpa <= m->size && n <= m->size - gpa;
}

int hl__mem_read(const hl__mem *m, hl_gpa gpa, void *dst, size_t n)
{
    if (!hl__mem_range_ok(m, gpa, n))
        return -1;
    memcpy(dst, m->base + gpa, n);
    return 0;
}

static void mark_host_dirty(hl__mem *m, hl_gpa gpa, size_t n)
{
    for (uint64_t page = gpa / HOST_PAGE; page <= (gpa + n - 1) / HOST_PAGE; page++)
        m->host_dirty[page / 64] |= 1ull << (page % 64);
}

int hl__mem_write(hl__mem *m, hl_gpa gpa, const void *src, size_t n)
{
    if (!hl__mem_range_ok(m, gpa, n))
        return -1;
    memcpy(m->base + gpa, src, n);
    if (m->host_dirty && n)
        mark_host_dirty(m, gpa, n);
    return 0;
}

int hl__mem_read_u64(const hl__mem *m, hl_gpa gpa, uint64_t *v)
{
    return hl__mem_read(m, gpa, v, sizeof *v);
}

int hl__mem_write_u64(hl__mem *m, hl_gpa gpa, uint64_t v)
{
    return hl__mem_write(m, gpa, &v, sizeof v);
}

static int shared_ok(const hl__mem *m, hl_gpa gpa, uint64_t n)
{
    return gpa % n == 0 && hl__mem_range_ok(m, gpa, n);
}

int hl__mem_load_shared_u64(const hl__mem *m, hl_gpa gpa, uint64_t *v)
{
    if (!shared_ok(m, gpa, sizeof *v))
        return -1;
    *v = __atomic_load_n((const uint64_t *)(m->base + gpa), __ATOMIC_ACQUIRE);
    return 0;
}

int hl__mem_store_shared_u32(hl__mem *m, hl_gpa gpa, uint32_t v)
{
    if (!shared_ok(m, gpa, sizeof v))
        return -1;
    __atomic_store_n((uint32_t *)(m->base + gpa), v, __ATOMIC_RELEASE);
    if (m->host_dirty)
        mark_host_dirty(m, gpa, sizeof v);
    return 0;
}

int hl__mem_store_shared_u64(hl__mem *m, hl_gpa gpa, uint64_t v)
{
    if (!shared_ok(m, gpa, sizeof v))
        return -1;
    __atomic_store_n((uint64_t *)(m->base + gpa), v, __ATOMIC_RELEASE);
    if (m->host_dirty)
        mark_host_dirty(m, gpa, sizeof v);
    return 0;
}

uint8_t *hl__mem_setup_ptr(hl__mem *m, hl_gpa gpa, uint64_t n)
{
    return hl__mem_range_ok(m, gpa, n) ? m->base + gpa : NULL;
}

/* guest_mem.h: the guest's memory block, reached by the host only through bounds-checked copies. */
#ifndef HL_SRC_GUEST_MEM_H
#define HL_SRC_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

/* A guest-physical address: an integer the host cannot dereference. */
typedef uint64_t hl_gpa;

typedef struct hl__mem {
    uint8_t *base; /* host view of gpa 0; PROT_NONE guard pages sit before and after */
    size_t size;   /* bytes of guest memory (page multiple) */
    void *map;     /* the whole mapping, guards included */
    size_t map_size;
    uint64_t *host_dirty; /* when set: one bit per page the host wrote (for restores) */
} hl__mem;

/* Maps `size` bytes (page multiple) of zeroed, lazily allocated memory between two inaccessible
 * host guard pages. Returns 0 or HL_ENOMEM. */
int hl__mem_map(hl__mem *m, size_t size);
void hl__mem_unmap(hl__mem *m);

/* 1 if [gpa, gpa + n) lies inside guest memory (overflow-safe). */
int hl__mem_range_ok(const hl__mem *m, hl_gpa gpa, uint64_t n);

/* Copy n bytes out of / into guest memory. Each checks the range first and returns 0, or -1
 * without touching anything. Guest-written bytes are copied once and validated by the caller
 * in its own memory (no double fetch). */
int hl__mem_read(const hl__mem *m, hl_gpa gpa, void *dst, size_t n);
int hl__mem_write(hl__mem *m, hl_gpa gpa, const void *src, size_t n);
int hl__mem_read_u64(const hl__mem *m, hl_gpa gpa, uint64_t *v);
int hl__mem_write_u64(hl__mem *m, hl_gpa gpa, uint64_t v);

/* Words of memory a running guest shares with the host (a hot sandbox's doorbell), 8-byte aligned
 * (4 for a u32) and in range, else -1 without touching anything: a load is one atomic read whose
 * value the caller validates and uses once; a store is atomic (release) and counts as a host
 * write for restores. */
int hl__mem_load_shared_u64(const hl__mem *m, hl_gpa gpa, uint64_t *v);
int hl__mem_store_shared_u32(hl__mem *m, hl_gpa gpa, uint32_t v);
int hl__mem_store_shared_u64(hl__mem *m, hl_gpa gpa, uint64_t v);

/* Host pointer to [gpa, gpa + n), or NULL if out of range. Only for building memory before the
 * guest first runs (loader, page tables); never for reading guest-written data. */
uint8_t *hl__mem_setup_ptr(hl__mem *m, hl_gpa gpa, uint64_t n);

#endif

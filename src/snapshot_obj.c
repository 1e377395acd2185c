/* snapshot_obj.c: the snapshot object's own life: allocation, references, mapping its image, and
 * its decoded guest-function table. Taking, restoring and creating from snapshots build on it
 * (snapshot.c), and so do snapshot files (snapshot_file.c). */
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "error.h"
#include "snapshot.h"

int hl__snapshot_decode_fns(hl_snapshot *s)
{
    const char *why = NULL;
    if (hl__sigtable_decode(&s->fns, s->guest_sigs, s->guest_sigs_len, &why))
        return hl__fail(HL_ESNAPSHOT, "snapshot's guest function table is bad: %s", why);
    return 0;
}

hl_snapshot *hl__snapshot_alloc(void)
{
    hl_snapshot *s = calloc(1, sizeof *s);
    if (s) {
        s->refs = 1;
        s->fd = -1;
        s->overlay_fd = -1;
    }
    return s;
}

uint8_t *hl__snapshot_map(const hl_snapshot *s, void *addr, int prot)
{
    int fixed = addr ? MAP_FIXED : 0;
    uint8_t *base =
        mmap(addr, s->size, prot, MAP_PRIVATE | MAP_NORESERVE | fixed, s->fd, (off_t)s->fd_offset);
    if (base == MAP_FAILED)
        return NULL;
    uint64_t off = 0;
    for (int i = 0; i < 2 && s->overlay_fd >= 0; i++) {
        const hl__region *r = &s->overlay[i];
        if (mmap(base + r->gpa, r->size, prot, MAP_PRIVATE | MAP_FIXED, s->overlay_fd,
                 (off_t)off) == MAP_FAILED) {
            if (!addr)
                munmap(base, s->size);
            return NULL;
        }
        off += r->size;
    }
    return base;
}

hl_snapshot *hl__snapshot_retain(hl_snapshot *s)
{
    __atomic_add_fetch(&s->refs, 1, __ATOMIC_RELAXED);
    return s;
}

HL_API void hl_snapshot_release(hl_snapshot *s)
{
    if (!s || __atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    if (s->mem)
        munmap((void *)s->mem, s->size);
    if (s->fd >= 0)
        close(s->fd);
    if (s->overlay_fd >= 0)
        close(s->overlay_fd);
    hl__sigtable_free(&s->fns);
    free(s->guest_sigs);
    free(s->host_sigs);
    free(s);
}

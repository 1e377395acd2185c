/* snapshot.h: the snapshot object (snapshot_obj.c) shared by snapshot.c (take, restore, create
 * from) and snapshot_file.c (save, load). */
#ifndef HL_SRC_SNAPSHOT_H
#define HL_SRC_SNAPSHOT_H

#include <stdint.h>

#include "hyperlight/abi.h"
#include "hyperlight/hyperlight.h"
#include "layout.h"
#include "sigtable.h"
#include "vmm.h"

struct hl_snapshot {
    int refs;              /* atomic */
    int fd;                /* memfd (taken in this process) or the snapshot file (loaded) */
    uint64_t fd_offset;    /* where the memory image starts in fd (page aligned) */
    int overlay_fd;        /* loaded files: sealed copy of the host-owned ranges, or -1 */
    hl__region overlay[2]; /* those ranges (guest addresses), stored back to back in overlay_fd */
    const uint8_t *mem;    /* read-only mapping of the image */
    size_t size;           /* bytes of guest memory */
    hl__layout layout;
    hl_config cfg; /* the sizes the guest was created with (callbacks cleared) */
    hl__vcpu_state cpu;
    uint64_t guest_id;
    uint64_t entry;     /* guest address of the ELF entry (loaded files: the image's start) */
    uint64_t load_bias; /* guest minus link-time addresses (loaded files: the image's start) */
    uint8_t cookie[HL_ABI_COOKIE_SIZE];
    hl__sigtable fns;    /* the guest's functions, decoded once and shared by sandboxes */
    uint8_t *guest_sigs; /* SIGS message: the guest's functions */
    size_t guest_sigs_len;
    uint8_t *host_sigs; /* SIGS message: the host functions the guest was given */
    size_t host_sigs_len;
};

/* Maps s's memory image at addr (NULL: anywhere) with prot and MAP_PRIVATE: the image file or
 * memfd, with the overlay's verified copies of the host-owned ranges on top. Returns the address
 * or NULL. */
uint8_t *hl__snapshot_map(const hl_snapshot *s, void *addr, int prot);

/* Decodes s->guest_sigs into s->fns. Returns 0 or HL_ESNAPSHOT. */
int hl__snapshot_decode_fns(hl_snapshot *s);

/* A new snapshot with one reference, no memory and no tables. NULL when out of memory. */
hl_snapshot *hl__snapshot_alloc(void);

/* One more reference to s; returns s. Thread-safe (hl_snapshot_release drops one). */
hl_snapshot *hl__snapshot_retain(hl_snapshot *s);

#endif

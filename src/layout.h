/* layout.h: where everything lives in guest memory (the one place that decides guest addresses). */
#ifndef HL_SRC_LAYOUT_H
#define HL_SRC_LAYOUT_H

#include <stdint.h>

#include "elf.h"
#include "guest_mem.h"
#include "hyperlight/abi.h"
#include "hyperlight/hyperlight.h"

#define HL_PAGE ((uint64_t)HL_ABI_PAGE_SIZE)
#define HL_HOST_FNS_SIZE (64ull * 1024) /* host-function table region */
#define HL_PANIC_SIZE HL_PAGE
#define HL_DOORBELL_SIZE HL_PAGE
#define HL_KSTACK_SIZE (2 * HL_PAGE)

/* Regions in address order. Page 0 is never mapped (null pointers fault). */
typedef enum hl__region_id {
    HL_R_PEB,      /* user read-only */
    HL_R_HOST_FNS, /* user read-only: host-function table */
    HL_R_INPUT,    /* user RW NX */
    HL_R_OUTPUT,   /* user RW NX */
    HL_R_PANIC,    /* user RW NX */
    HL_R_DOORBELL, /* user RW NX: one page, hl_abi_doorbell (hot sandboxes) */
    HL_R_IMAGE,    /* the ELF, each page with its segment's permissions; holes not present */
    HL_R_HEAP,     /* user RW NX */
    HL_R_STACK,    /* user RW NX; one not-present guard page below and one above */
    HL_R_SYSTEM, /* supervisor: GDT+TSS page, IDT page, exception stub page, guard, kernel stack */
    HL_R_PAGE_TABLES, /* PML4, PDPT, PD, PTs: not mapped at all (only the MMU reads them) */
    HL_R_COUNT
} hl__region_id;

typedef struct hl__region {
    hl_gpa gpa;
    uint64_t size;
} hl__region;

typedef struct hl__layout {
    hl__region r[HL_R_COUNT];
    uint64_t total; /* bytes of guest memory: gpa 0 .. end of the page tables */
    hl_gpa gdt;     /* GDT at the start of its page, TSS + I/O bitmap after it */
    hl_gpa tss;
    hl_gpa idt;
    hl_gpa stub;       /* ring-0 exception stub code */
    hl_gpa kstack_top; /* TSS.RSP0 */
    hl_gpa pml4;       /* CR3; PDPT and PD follow, then the PTs */
    uint64_t npt;      /* page-table pages (one per 2 MiB of guest memory) */
} hl__layout;

/* Computes the layout for a validated config and parsed ELF. Returns 0, HL_ECONFIG (too big
 * altogether) or HL_EELF (a fixed-address image that collides with the runtime regions). */
int hl__layout_compute(const hl_config *cfg, const hl__elf *elf, hl__layout *out);

/* The layout for a config with the image at image_gpa (image_size bytes, both page multiples);
 * used to rebuild a snapshot file's layout. Returns 0 or HL_ECONFIG. */
int hl__layout_build(const hl_config *cfg, uint64_t image_gpa, uint64_t image_size,
                     hl__layout *out);

/* The thread pointer: the thread control block's address, the last HL_ABI_TCB_SIZE bytes of the
 * heap region (FS.base at entry). */
hl_gpa hl__layout_thread_pointer(const hl__layout *l);

/* Name of a region ("heap", ...) for messages. */
const char *hl__region_name(hl__region_id id);

/* The region containing gpa, or HL_R_COUNT if none. */
hl__region_id hl__layout_find(const hl__layout *l, hl_gpa gpa);

#endif

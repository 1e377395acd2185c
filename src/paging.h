/* paging.h: writing the guest's 4-level identity page tables with per-region permissions. */
#ifndef HL_SRC_PAGING_H
#define HL_SRC_PAGING_H

#include "elf.h"
#include "guest_mem.h"
#include "layout.h"

/* Writes PML4, PDPT, PD and PTs at l->pml4 mapping every page of guest memory with the flags of
 * its region (image pages with their ELF segment's flags); page 0, guard pages, image holes and
 * the page tables themselves are not present. Memory must be zeroed. Returns 0 or HL_EELF. */
int hl__paging_write(hl__mem *m, const hl__layout *l, const hl__elf *elf);

/* Checks page tables read from an untrusted image (a snapshot file) at mem (the whole guest
 * memory): identity mappings only, each region's flags exactly (ignoring Accessed/Dirty), image
 * pages user and never writable+executable. Returns 0 or -1 with *why. */
int hl__paging_check(const uint8_t *mem, const hl__layout *l, const char **why);

/* The PTE flags (X86_PTE_*) the layout gives gpa, 0 when not present (elf may be NULL when gpa
 * is not in the image). */
uint64_t hl__paging_flags(const hl__layout *l, const hl__elf *elf, hl_gpa gpa);

/* The flags of gpa's leaf entry in the page tables in m (written by the host; no guest can reach
 * them), 0 when it is not present, maps another address or lies outside the layout. */
uint64_t hl__paging_lookup(const hl__mem *m, const hl__layout *l, hl_gpa gpa);

#endif

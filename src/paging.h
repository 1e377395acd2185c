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

/* The PTE flags (X86_PTE_*) the layout gives gpa, 0 when not present. */
uint64_t hl__paging_flags(const hl__layout *l, const hl__elf *elf, hl_gpa gpa);

#endif

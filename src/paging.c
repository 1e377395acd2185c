/* paging.c: the guest's 4-level identity page tables (SDM 4.5) with per-region permissions. */
#include "paging.h"

#include <string.h>

#include "error.h"
#include "x86.h"

#define USER_RO (X86_PTE_P | X86_PTE_US | X86_PTE_NX | X86_PTE_A)
#define USER_RW (X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_NX | X86_PTE_A)
#define SUPER_RW (X86_PTE_P | X86_PTE_RW | X86_PTE_NX | X86_PTE_A)
#define SUPER_RX (X86_PTE_P | X86_PTE_A)
#define TABLE (X86_PTE_P | X86_PTE_RW | X86_PTE_US)

static uint64_t image_flags(const hl__layout *l, const hl__elf *elf, hl_gpa gpa)
{
    uint64_t link = gpa - l->r[HL_R_IMAGE].gpa + elf->link_base;
    for (size_t i = 0; i < elf->nsegments; i++) {
        const hl__elf_segment *s = &elf->seg[i];
        uint64_t lo = s->vaddr & ~(HL_PAGE - 1), hi = s->vaddr + s->memsz;
        if (link < lo || link >= hi)
            continue;
        uint64_t f = X86_PTE_P | X86_PTE_US | X86_PTE_A;
        if (s->prot & HL_PROT_W)
            f |= X86_PTE_RW;
        if (!(s->prot & HL_PROT_X))
            f |= X86_PTE_NX;
        return f;
    }
    return 0; /* a hole between segments */
}

static uint64_t system_flags(const hl__layout *l, hl_gpa gpa)
{
    hl_gpa page = gpa & ~(HL_PAGE - 1);
    if (page == l->gdt || page == l->idt)
        return SUPER_RW;
    if (page == l->stub)
        return SUPER_RX;
    if (page >= l->kstack_top - HL_KSTACK_SIZE && page < l->kstack_top)
        return SUPER_RW;
    return 0; /* guard page below the kernel stack */
}

uint64_t hl__paging_flags(const hl__layout *l, const hl__elf *elf, hl_gpa gpa)
{
    switch (hl__layout_find(l, gpa)) {
    case HL_R_PEB:
    case HL_R_HOST_FNS:
        return USER_RO;
    case HL_R_INPUT:
    case HL_R_OUTPUT:
    case HL_R_PANIC:
    case HL_R_HEAP:
    case HL_R_STACK:
        return USER_RW;
    case HL_R_IMAGE:
        return image_flags(l, elf, gpa);
    case HL_R_SYSTEM:
        return system_flags(l, gpa);
    default:
        return 0; /* page 0, guards, gaps, page tables */
    }
}

static int put(hl__mem *m, hl_gpa table, unsigned index, uint64_t entry)
{
    return hl__mem_write_u64(m, table + 8ull * index, entry);
}

int hl__paging_write(hl__mem *m, const hl__layout *l, const hl__elf *elf)
{
    hl_gpa pml4 = l->pml4, pdpt = pml4 + HL_PAGE, pd = pdpt + HL_PAGE, pt0 = pd + HL_PAGE;
    int bad = put(m, pml4, 0, pdpt | TABLE) | put(m, pdpt, 0, pd | TABLE);
    for (uint64_t i = 0; i < l->npt; i++)
        bad |= put(m, pd, (unsigned)i, (pt0 + i * HL_PAGE) | TABLE);
    for (hl_gpa gpa = 0; gpa < l->total; gpa += HL_PAGE) {
        uint64_t f = hl__paging_flags(l, elf, gpa);
        if (f)
            bad |= hl__mem_write_u64(m, pt0 + (gpa / HL_PAGE) * 8, gpa | f);
    }
    return bad ? hl__fail(HL_ECONFIG, "page tables do not fit the layout") : 0;
}

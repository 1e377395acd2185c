/* paging.c: the guest's 4-level identity page tables (SDM 4.5) with per-region permissions. */
#include "paging.h"

#include <string.h>

#include "error.h"
#include "x86.h"

/* Accessed is preset everywhere and Dirty on every writable page: the guest has no use for them,
 * and left clear they make KVM write the guest's page tables on first access (dirtying page-table
 * pages every call) and map a writable page read-only on a first read, so that the first write
 * to it faults a second time. */
#define USER_RO (X86_PTE_P | X86_PTE_US | X86_PTE_NX | X86_PTE_A)
#define USER_RW (X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_NX | X86_PTE_A | X86_PTE_D)
#define SUPER_RW (X86_PTE_P | X86_PTE_RW | X86_PTE_NX | X86_PTE_A | X86_PTE_D)
#define SUPER_RX (X86_PTE_P | X86_PTE_A)
#define TABLE (X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_A)

static uint64_t image_flags(const hl__layout *l, const hl__elf *elf, hl_gpa gpa)
{
    if (!elf)
        return 0;
    uint64_t link = gpa - l->r[HL_R_IMAGE].gpa + elf->link_base;
    for (size_t i = 0; i < elf->nsegments; i++) {
        const hl__elf_segment *s = &elf->seg[i];
        uint64_t lo = s->vaddr & ~(HL_PAGE - 1), hi = s->vaddr + s->memsz;
        if (link < lo || link >= hi)
            continue;
        uint64_t f = X86_PTE_P | X86_PTE_US | X86_PTE_A;
        if (s->prot & HL_PROT_W)
            f |= X86_PTE_RW | X86_PTE_D;
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
    case HL_R_DOORBELL:
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

uint64_t hl__paging_lookup(const hl__mem *m, const hl__layout *l, hl_gpa gpa)
{
    uint64_t e;
    hl_gpa pt0 = l->pml4 + 3 * HL_PAGE;
    if (gpa >= l->total || hl__mem_read_u64(m, pt0 + (gpa / HL_PAGE) * 8, &e) || !(e & X86_PTE_P) ||
        (e & X86_PTE_ADDR_MASK) != (gpa & ~(HL_PAGE - 1)))
        return 0;
    return e & ~X86_PTE_ADDR_MASK;
}

/* ---------------------------------------------------------------- checking untrusted tables */

#define ACCESSED_DIRTY (X86_PTE_A | X86_PTE_D) /* the CPU sets these; ignored by the checks */

static uint64_t entry_at(const uint8_t *mem, hl_gpa table, unsigned i)
{
    uint64_t v;
    memcpy(&v, mem + table + 8ull * i, 8);
    return v & ~ACCESSED_DIRTY;
}

/* An upper-level entry pointing at `table`, as entry_at reads it. */
static uint64_t table_entry(hl_gpa table)
{
    return (table | TABLE) & ~ACCESSED_DIRTY;
}

static int check_upper(const uint8_t *mem, const hl__layout *l, const char **why)
{
    hl_gpa pdpt = l->pml4 + HL_PAGE, pd = pdpt + HL_PAGE, pt0 = pd + HL_PAGE;
    for (unsigned i = 0; i < 512; i++) {
        uint64_t want_pd = i < l->npt ? table_entry(pt0 + i * HL_PAGE) : 0;
        if (entry_at(mem, l->pml4, i) != (i == 0 ? table_entry(pdpt) : 0) ||
            entry_at(mem, pdpt, i) != (i == 0 ? table_entry(pd) : 0) ||
            entry_at(mem, pd, i) != want_pd)
            return *why = "upper-level page tables differ from the layout's", -1;
    }
    return 0;
}

static int check_leaf(const hl__layout *l, hl_gpa gpa, uint64_t e, const char **why)
{
    uint64_t flags = e & ~X86_PTE_ADDR_MASK;
    if ((e & X86_PTE_ADDR_MASK) != gpa || gpa >= l->total)
        return *why = "a page-table entry maps another address", -1;
    if (hl__layout_find(l, gpa) != HL_R_IMAGE) {
        if (flags != (hl__paging_flags(l, NULL, gpa) & ~ACCESSED_DIRTY))
            return *why = "a page-table entry has flags its region does not allow", -1;
        return 0;
    }
    if ((flags & ~(X86_PTE_P | X86_PTE_RW | X86_PTE_US | X86_PTE_NX)) || !(flags & X86_PTE_P) ||
        !(flags & X86_PTE_US))
        return *why = "an image page-table entry has unexpected flags", -1;
    if ((flags & X86_PTE_RW) && !(flags & X86_PTE_NX))
        return *why = "an image page is writable and executable", -1;
    return 0;
}

int hl__paging_check(const uint8_t *mem, const hl__layout *l, const char **why)
{
    hl_gpa pt0 = l->pml4 + 3 * HL_PAGE;
    if (check_upper(mem, l, why))
        return -1;
    for (uint64_t i = 0; i < l->npt * 512; i++) {
        uint64_t e = entry_at(mem, pt0, (unsigned)i);
        if (e && check_leaf(l, i * HL_PAGE, e, why))
            return -1;
    }
    return 0;
}

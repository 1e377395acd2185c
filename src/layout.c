/* layout.c: computing the guest memory layout from the config and the ELF image. */
#include "layout.h"

#include <string.h>

#include "error.h"

#define TWO_MIB (2ull * 1024 * 1024)

static uint64_t round_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static const char *const region_names[HL_R_COUNT] = {
    "PEB",          "host-function table",
    "input buffer", "output buffer",
    "panic buffer", "doorbell",
    "image",        "heap",
    "stack",        "system area",
    "page tables",
};

const char *hl__region_name(hl__region_id id)
{
    return id < HL_R_COUNT ? region_names[id] : "unmapped memory";
}

hl__region_id hl__layout_find(const hl__layout *l, hl_gpa gpa)
{
    for (int i = 0; i < HL_R_COUNT; i++)
        if (gpa >= l->r[i].gpa && gpa - l->r[i].gpa < l->r[i].size)
            return (hl__region_id)i;
    return HL_R_COUNT;
}

/* Places a region of `size` bytes at *cursor and advances it. */
static void place(hl__layout *l, hl__region_id id, uint64_t *cursor, uint64_t size)
{
    l->r[id].gpa = *cursor;
    l->r[id].size = size;
    *cursor += size;
}

/* A static PIE starts on a multiple of this (or of its own larger p_align). KVM's shadow MMU, on a
 * guest page fault, also maps the other present entries of the same aligned group of 8 page-table
 * entries (its PTE prefetch), stopping at the first it cannot: an image that starts a group has its
 * text and rodata mapped by one fault instead of one fault per page (docs/PERFORMANCE.md §2 has
 * the measurement). */
#define PIE_IMAGE_ALIGN (8 * HL_PAGE)

/* Where the image goes: a static PIE right after the runtime regions at its alignment, a
 * fixed-address image at its link address (which must not collide with them). */
static int image_base(const hl__elf *elf, uint64_t runtime_end, uint64_t *base)
{
    if (elf->is_pie) {
        *base = round_up(runtime_end, elf->align > PIE_IMAGE_ALIGN ? elf->align : PIE_IMAGE_ALIGN);
        return 0;
    }
    *base = elf->link_base;
    if (*base < runtime_end)
        return hl__fail(HL_EELF,
                        "bad guest ELF: fixed-address image at 0x%llx overlaps the runtime "
                        "regions, which end at 0x%llx (link it higher or as a static PIE)",
                        (unsigned long long)*base, (unsigned long long)runtime_end);
    return 0;
}

/* System area: GDT+TSS page, IDT page, stub page, guard page, kernel stack. */
static void place_system(hl__layout *l, uint64_t *cursor)
{
    hl_gpa start = *cursor;
    l->gdt = start;
    l->tss = start + 64;
    l->idt = start + HL_PAGE;
    l->stub = start + 2 * HL_PAGE;
    l->kstack_top = start + 4 * HL_PAGE + HL_KSTACK_SIZE;
    place(l, HL_R_SYSTEM, cursor, 4 * HL_PAGE + HL_KSTACK_SIZE);
}

/* Page tables go last: their count depends on the total size, which includes them. */
static void place_page_tables(hl__layout *l, uint64_t *cursor)
{
    uint64_t npt = (*cursor + TWO_MIB - 1) / TWO_MIB;
    while ((*cursor + (3 + npt) * HL_PAGE + TWO_MIB - 1) / TWO_MIB > npt)
        npt++;
    l->npt = npt;
    l->pml4 = *cursor;
    place(l, HL_R_PAGE_TABLES, cursor, (3 + npt) * HL_PAGE);
}

static uint64_t runtime_end(const hl_config *cfg)
{
    return HL_PAGE * 2 + HL_HOST_FNS_SIZE + round_up(cfg->input_size, HL_PAGE) +
           round_up(cfg->output_size, HL_PAGE) + HL_PANIC_SIZE + HL_DOORBELL_SIZE;
}

int hl__layout_build(const hl_config *cfg, uint64_t image_gpa, uint64_t image_size, hl__layout *out)
{
    hl__layout l;
    uint64_t cursor = HL_PAGE; /* page 0 stays unmapped */
    memset(&l, 0, sizeof l);
    place(&l, HL_R_PEB, &cursor, HL_PAGE);
    place(&l, HL_R_HOST_FNS, &cursor, HL_HOST_FNS_SIZE);
    place(&l, HL_R_INPUT, &cursor, round_up(cfg->input_size, HL_PAGE));
    place(&l, HL_R_OUTPUT, &cursor, round_up(cfg->output_size, HL_PAGE));
    place(&l, HL_R_PANIC, &cursor, HL_PANIC_SIZE);
    place(&l, HL_R_DOORBELL, &cursor, HL_DOORBELL_SIZE);
    if (image_gpa < cursor || image_gpa % HL_PAGE || image_size % HL_PAGE || !image_size ||
        image_gpa > HL_MAX_GUEST_MEMORY || image_size > HL_MAX_GUEST_MEMORY)
        return hl__fail(HL_ECONFIG, "image at 0x%llx (+0x%llx) does not fit the layout",
                        (unsigned long long)image_gpa, (unsigned long long)image_size);
    cursor = image_gpa;
    place(&l, HL_R_IMAGE, &cursor, image_size);
    place(&l, HL_R_HEAP, &cursor, round_up(cfg->heap_size, HL_PAGE));
    cursor += HL_PAGE; /* guard below the stack */
    place(&l, HL_R_STACK, &cursor, round_up(cfg->stack_size, HL_PAGE));
    cursor += HL_PAGE; /* guard above the stack */
    place_system(&l, &cursor);
    place_page_tables(&l, &cursor);
    if (cursor > cfg->memory_limit)
        return hl__fail(HL_ECONFIG,
                        "guest memory would need %llu bytes, more than the %llu allowed by "
                        "memory_limit (reduce the image, heap, stack or buffer sizes)",
                        (unsigned long long)cursor, (unsigned long long)cfg->memory_limit);
    l.total = cursor;
    *out = l;
    return 0;
}

int hl__layout_compute(const hl_config *cfg, const hl__elf *elf, hl__layout *out)
{
    uint64_t base;
    int rc = image_base(elf, runtime_end(cfg), &base);
    return rc ? rc : hl__layout_build(cfg, base, elf->span, out);
}

hl_gpa hl__layout_thread_pointer(const hl__layout *l)
{
    return l->r[HL_R_HEAP].gpa + l->r[HL_R_HEAP].size - HL_ABI_TCB_SIZE;
}

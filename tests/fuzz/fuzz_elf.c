/* fuzz_elf.c: libFuzzer target for the guest ELF loader (src/elf.c). hl__elf_parse over the input;
 * when it accepts, the description must keep every promise elf.h makes, and hl__elf_load into a
 * zeroed span-sized buffer must succeed (spans over 64 MiB are parsed but not loaded), place each
 * segment's file bytes where it says, and refuse a buffer one byte short or an ET_EXEC moved off
 * its link address. hl_sandbox_new reads only the prefix hl__elf_needed_len names: parsing that
 * prefix must give exactly what parsing the whole input gives. Run with `make fuzz` (mk/fuzz.mk);
 * corpus: tests/fuzz/corpus/elf/. */
#include <string.h>

#include "elf.h"
#include "fuzz.h"

#define PAGE 4096u
#define MAX_LOAD_SPAN (64u << 20)

static void check_description(const hl__elf *e, size_t size)
{
    int entry_ok = 0;
    REQUIRE(e->nsegments >= 1 && e->nsegments <= HL_ELF_MAX_SEGMENTS);
    REQUIRE(e->link_base % PAGE == 0 && e->span % PAGE == 0 && e->span > 0);
    REQUIRE(e->span <= HL_ELF_MAX_SPAN);
    REQUIRE(e->align >= PAGE && e->align <= (2u << 20) && (e->align & (e->align - 1)) == 0);
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        REQUIRE(s->memsz > 0 && s->filesz <= s->memsz);
        REQUIRE(s->offset <= size && s->filesz <= size - s->offset);
        REQUIRE(s->vaddr >= e->link_base && s->vaddr - e->link_base <= e->span &&
                s->memsz <= e->span - (s->vaddr - e->link_base));
        REQUIRE(s->prot != 0 && (s->prot & ~7u) == 0);
        REQUIRE((s->prot & (HL_PROT_W | HL_PROT_X)) != (HL_PROT_W | HL_PROT_X));
        if (k > 0) /* sorted, and no two share a page */
            REQUIRE((e->seg[k - 1].vaddr + e->seg[k - 1].memsz - 1) / PAGE < s->vaddr / PAGE);
        if ((s->prot & HL_PROT_X) && e->entry >= s->vaddr && e->entry - s->vaddr < s->memsz)
            entry_ok = 1;
    }
    REQUIRE(entry_ok);
    REQUIRE(e->is_pie || (e->link_base >= 0x10000 && e->rela_count == 0));
    REQUIRE(e->rela_count <= size / 24 && e->rela_offset <= size &&
            e->rela_count * 24 <= size - e->rela_offset);
}

static int same_description(const hl__elf *a, const hl__elf *b)
{
    if (a->is_pie != b->is_pie || a->link_base != b->link_base || a->span != b->span ||
        a->align != b->align || a->entry != b->entry || a->nsegments != b->nsegments ||
        a->rela_offset != b->rela_offset || a->rela_count != b->rela_count)
        return 0;
    for (size_t k = 0; k < a->nsegments; k++) {
        const hl__elf_segment *x = &a->seg[k], *y = &b->seg[k];
        if (x->vaddr != y->vaddr || x->memsz != y->memsz || x->filesz != y->filesz ||
            x->offset != y->offset || x->prot != y->prot)
            return 0;
    }
    return 1;
}

/* What hl_sandbox_new does: a 4 KiB head, then up to the needed length. */
static size_t prefix_read(const uint8_t *data, size_t size)
{
    size_t head = size < PAGE ? size : PAGE;
    uint64_t need = hl__elf_needed_len(data, head, size);
    REQUIRE(need >= head && need <= size);
    return (size_t)need;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl__elf e, from_prefix;
    int rc = hl__elf_parse(data, size, &e);
    REQUIRE(hl__elf_parse(data, prefix_read(data, size), &from_prefix) == rc);
    if (rc != 0)
        return 0;
    REQUIRE(same_description(&e, &from_prefix));
    check_description(&e, size);
    if (e.span > MAX_LOAD_SPAN)
        return 0;
    uint8_t *dst = calloc(1, e.span);
    REQUIRE(dst);
    /* A PIE goes somewhere other than its link address, so relocation really moves it. */
    uint64_t base = e.is_pie ? e.link_base + 0x40000000ull : e.link_base;
    REQUIRE(hl__elf_load(&e, data, size, dst, e.span, base) == 0);
    if (e.rela_count == 0)
        for (size_t k = 0; k < e.nsegments; k++) {
            const hl__elf_segment *s = &e.seg[k];
            REQUIRE(memcmp(dst + (s->vaddr - e.link_base), data + s->offset, s->filesz) == 0);
        }
    REQUIRE(hl__elf_load(&e, data, size, dst, e.span - 1, base) != 0);
    if (!e.is_pie)
        REQUIRE(hl__elf_load(&e, data, size, dst, e.span, base + PAGE) != 0);
    free(dst);
    return 0;
}

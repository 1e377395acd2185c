/* elf.c: validating hostile guest ELF images and copying them, relocated, into guest memory. */
#include "elf.h"

#include <inttypes.h>
#include <string.h>

/* The ELF structures and constants. Not <elf.h>: the build puts -Isrc ahead of the system
 * headers, so that name finds our own src/elf.h; the kernel's UAPI copy has the same layouts. */
#include <linux/elf.h>

#include "error.h"
#include "hyperlight/abi.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "elf.c copies little-endian ELF fields straight into host integers"
#endif

/* Constants that linux/elf.h lacks (values from the System V x86-64 psABI and glibc elf.h). */
#define ELF_R_X86_64_NONE 0
#define ELF_R_X86_64_RELATIVE 8
#define ELF_DT_RELRSZ 35
#define ELF_DT_RELR 36

#define PAGE HL_ABI_PAGE_SIZE
#define MAX_PHNUM 64
#define MAX_ALIGN (2u * 1024 * 1024)
#define MIN_EXEC_BASE 0x10000u /* an ET_EXEC image must leave guest pages 0..15 unmapped */

#define BAD(...) hl__fail(HL_EELF, "bad guest ELF: " __VA_ARGS__)

_Static_assert(sizeof(Elf64_Ehdr) == 64, "Elf64_Ehdr layout");
_Static_assert(sizeof(Elf64_Phdr) == 56, "Elf64_Phdr layout");
_Static_assert(sizeof(Elf64_Dyn) == 16, "Elf64_Dyn layout");
_Static_assert(sizeof(Elf64_Rela) == 24, "Elf64_Rela layout");

/* Everything hl__elf_parse learns on the way; copied to the caller only on success. */
typedef struct parse {
    const uint8_t *file;
    size_t len;
    Elf64_Ehdr eh;
    hl__elf elf;
    unsigned seg_index[HL_ELF_MAX_SEGMENTS]; /* program header index of each elf.seg[] */
    int have_dynamic;
    unsigned dynamic_index;
    Elf64_Phdr dynamic;
    int have_tls;
} parse;

/* What the PT_DYNAMIC entries say about relocations. */
typedef struct dyn_info {
    int have_rela, have_relaent;
    uint64_t rela, relasz, relaent, pltrelsz;
} dyn_info;

static uint64_t page_down(uint64_t a)
{
    return a & ~(uint64_t)(PAGE - 1);
}

/* Rounds up; callers guarantee a <= UINT64_MAX - (PAGE - 1). */
static uint64_t page_up(uint64_t a)
{
    return page_down(a + (PAGE - 1));
}

/* True if [off, off + n) lies inside a buffer of len bytes. */
static int range_inside(uint64_t off, uint64_t n, uint64_t len)
{
    uint64_t end;
    return !__builtin_add_overflow(off, n, &end) && end <= len;
}

static int check_type(uint16_t type)
{
    switch (type) {
    case ET_EXEC:
    case ET_DYN:
        return 0;
    case ET_NONE:
        return BAD("e_type is ET_NONE (0), not an executable");
    case ET_REL:
        return BAD("e_type is ET_REL (1): a relocatable object file, not a linked executable");
    case ET_CORE:
        return BAD("e_type is ET_CORE (4): a core dump, not an executable");
    default:
        return BAD("e_type is 0x%x, expected ET_EXEC (2) or ET_DYN (3)", type);
    }
}

/* Copies out and checks the ELF header, including where the program header table lies. */
static int check_ehdr(parse *p)
{
    Elf64_Ehdr *eh = &p->eh;
    if (p->len < sizeof *eh)
        return BAD("file is %zu bytes, shorter than the 64-byte ELF header", p->len);
    memcpy(eh, p->file, sizeof *eh);
    const unsigned char *id = eh->e_ident;
    if (memcmp(id, ELFMAG, SELFMAG) != 0)
        return BAD("no ELF magic: file starts %02x %02x %02x %02x", id[0], id[1], id[2], id[3]);
    if (id[EI_CLASS] != ELFCLASS64)
        return BAD("e_ident EI_CLASS is %u, expected ELFCLASS64 (2)", id[EI_CLASS]);
    if (id[EI_DATA] != ELFDATA2LSB)
        return BAD("e_ident EI_DATA is %u, expected ELFDATA2LSB (1, little-endian)", id[EI_DATA]);
    if (id[EI_VERSION] != EV_CURRENT)
        return BAD("e_ident EI_VERSION is %u, expected EV_CURRENT (1)", id[EI_VERSION]);
    if (eh->e_version != EV_CURRENT)
        return BAD("e_version is %" PRIu32 ", expected EV_CURRENT (1)", eh->e_version);
    if (eh->e_machine != EM_X86_64)
        return BAD("e_machine is %u, expected EM_X86_64 (62)", eh->e_machine);
    int rc = check_type(eh->e_type);
    if (rc)
        return rc;
    if (eh->e_ehsize != sizeof(Elf64_Ehdr))
        return BAD("e_ehsize is %u, expected 64", eh->e_ehsize);
    if (eh->e_phentsize != sizeof(Elf64_Phdr))
        return BAD("e_phentsize is %u, expected 56", eh->e_phentsize);
    if (eh->e_phnum == 0 || eh->e_phnum > MAX_PHNUM)
        return BAD("e_phnum is %u, expected 1..%d", eh->e_phnum, MAX_PHNUM);
    uint64_t table;
    if (__builtin_mul_overflow((uint64_t)eh->e_phnum, sizeof(Elf64_Phdr), &table) ||
        !range_inside(eh->e_phoff, table, p->len))
        return BAD("program header table (e_phoff 0x%" PRIx64 ", %u entries) does not fit in the "
                   "%zu-byte file",
                   (uint64_t)eh->e_phoff, eh->e_phnum, p->len);
    return 0;
}

static uint32_t prot_of(uint32_t p_flags)
{
    return ((p_flags & PF_R) ? HL_PROT_R : 0) | ((p_flags & PF_W) ? HL_PROT_W : 0) |
           ((p_flags & PF_X) ? HL_PROT_X : 0);
}

/* Checks one PT_LOAD with p_memsz > 0 on its own (its neighbours are checked later). */
static int check_load(const parse *p, unsigned i, const Elf64_Phdr *ph)
{
    uint64_t end;
    if (!range_inside(ph->p_offset, ph->p_filesz, p->len))
        return BAD("segment %u: file bytes (p_offset 0x%" PRIx64 ", p_filesz 0x%" PRIx64
                   ") run past the end of the %zu-byte file",
                   i, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, p->len);
    if (__builtin_add_overflow(ph->p_vaddr, ph->p_memsz, &end) || end > UINT64_MAX - (PAGE - 1))
        return BAD("segment %u: p_vaddr 0x%" PRIx64 " + p_memsz 0x%" PRIx64
                   " overflows the address space",
                   i, (uint64_t)ph->p_vaddr, (uint64_t)ph->p_memsz);
    uint64_t a = ph->p_align;
    if (a > 1 && ((a & (a - 1)) != 0 || a > MAX_ALIGN))
        return BAD("segment %u: p_align 0x%" PRIx64 " is not 0, 1 or a power of two up to 2 MiB", i,
                   a);
    if ((ph->p_flags & PF_W) && (ph->p_flags & PF_X))
        return BAD("segment %u is writable and executable (p_flags 0x%" PRIx32 ")", i, ph->p_flags);
    if (prot_of(ph->p_flags) == 0)
        return BAD("segment %u has no permission bits (p_flags 0x%" PRIx32 ")", i, ph->p_flags);
    return 0;
}

/* Validates a PT_LOAD and appends it to p->elf.seg (loads with p_memsz == 0 are skipped). */
static int add_load(parse *p, unsigned i, const Elf64_Phdr *ph)
{
    if (ph->p_filesz > ph->p_memsz)
        return BAD("segment %u: p_filesz 0x%" PRIx64 " exceeds p_memsz 0x%" PRIx64, i,
                   (uint64_t)ph->p_filesz, (uint64_t)ph->p_memsz);
    if (ph->p_memsz == 0)
        return 0;
    int rc = check_load(p, i, ph);
    if (rc)
        return rc;
    hl__elf *e = &p->elf;
    if (e->nsegments == HL_ELF_MAX_SEGMENTS)
        return BAD("more than %d PT_LOAD segments (segment %u is one too many)",
                   HL_ELF_MAX_SEGMENTS, i);
    e->seg[e->nsegments] = (hl__elf_segment){
        .vaddr = ph->p_vaddr,
        .memsz = ph->p_memsz,
        .filesz = ph->p_filesz,
        .offset = ph->p_offset,
        .prot = prot_of(ph->p_flags),
    };
    p->seg_index[e->nsegments] = i;
    e->nsegments++;
    if (ph->p_align > e->align)
        e->align = ph->p_align;
    return 0;
}

/* PT_TLS on its own; that its initial bytes were loaded is checked with the loads (check_tls). */
static int note_tls(parse *p, unsigned i, const Elf64_Phdr *ph)
{
    uint64_t a = ph->p_align ? ph->p_align : 1;
    if (p->have_tls)
        return BAD("segment %u is a second PT_TLS", i);
    if (ph->p_filesz > ph->p_memsz || ph->p_memsz > HL_ELF_MAX_TLS)
        return BAD("segment %u (PT_TLS): p_filesz 0x%" PRIx64 " / p_memsz 0x%" PRIx64
                   " is inconsistent or over 16 MiB",
                   i, (uint64_t)ph->p_filesz, (uint64_t)ph->p_memsz);
    if ((a & (a - 1)) != 0 || a > HL_ELF_MAX_TLS_ALIGN)
        return BAD("segment %u (PT_TLS): p_align 0x%" PRIx64 " is not a power of two up to %d", i,
                   a, HL_ELF_MAX_TLS_ALIGN);
    p->have_tls = 1;
    p->elf.tls_vaddr = ph->p_vaddr;
    p->elf.tls_filesz = ph->p_filesz;
    p->elf.tls_memsz = ph->p_memsz;
    p->elf.tls_align = a;
    return 0;
}

/* The TLS block's initial bytes must be bytes the loader copies (it copies them from there). */
static int check_tls(const hl__elf *e)
{
    if (!e->tls_filesz)
        return 0;
    for (size_t i = 0; i < e->nsegments; i++) {
        const hl__elf_segment *s = &e->seg[i];
        if (e->tls_vaddr >= s->vaddr && e->tls_vaddr - s->vaddr <= s->filesz &&
            e->tls_filesz <= s->filesz - (e->tls_vaddr - s->vaddr))
            return 0;
    }
    return BAD("PT_TLS initial bytes (p_vaddr 0x%" PRIx64 ", p_filesz 0x%" PRIx64
               ") are not inside one loaded segment's file bytes",
               e->tls_vaddr, e->tls_filesz);
}

static int note_dynamic(parse *p, unsigned i, const Elf64_Phdr *ph)
{
    if (p->have_dynamic)
        return BAD("segment %u is a second PT_DYNAMIC (the first is segment %u)", i,
                   p->dynamic_index);
    p->have_dynamic = 1;
    p->dynamic_index = i;
    p->dynamic = *ph;
    return 0;
}

/* Walks the program headers: collects the loads and the dynamic segment, rejects what we
 * cannot run, ignores notes, PT_PHDR, PT_GNU_* and other OS- or processor-specific types. */
static int scan_phdrs(parse *p)
{
    for (unsigned i = 0; i < p->eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, p->file + p->eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        int rc = 0;
        switch (ph.p_type) {
        case PT_LOAD:
            rc = add_load(p, i, &ph);
            break;
        case PT_DYNAMIC:
            rc = note_dynamic(p, i, &ph);
            break;
        case PT_INTERP:
            return BAD("segment %u is PT_INTERP: the image needs a dynamic loader", i);
        case PT_TLS:
            rc = note_tls(p, i, &ph);
            break;
        case PT_GNU_STACK:
            if (ph.p_flags & PF_X)
                return BAD("segment %u (PT_GNU_STACK) has PF_X: executable stack requested", i);
            break;
        default:
            break;
        }
        if (rc)
            return rc;
    }
    if (p->elf.nsegments == 0)
        return BAD("no PT_LOAD segment with p_memsz > 0");
    return 0;
}

/* Insertion sort by vaddr (at most HL_ELF_MAX_SEGMENTS entries), keeping seg_index in step. */
static void sort_segments(parse *p)
{
    hl__elf *e = &p->elf;
    for (size_t k = 1; k < e->nsegments; k++) {
        hl__elf_segment s = e->seg[k];
        unsigned idx = p->seg_index[k];
        size_t j = k;
        for (; j > 0 && e->seg[j - 1].vaddr > s.vaddr; j--) {
            e->seg[j] = e->seg[j - 1];
            p->seg_index[j] = p->seg_index[j - 1];
        }
        e->seg[j] = s;
        p->seg_index[j] = idx;
    }
}

/* With the segments sorted: no overlap, no shared page, a bounded span, a sane ET_EXEC base. */
static int check_layout(parse *p)
{
    hl__elf *e = &p->elf;
    for (size_t k = 1; k < e->nsegments; k++) {
        const hl__elf_segment *a = &e->seg[k - 1], *b = &e->seg[k];
        uint64_t a_end = a->vaddr + a->memsz; /* no overflow: check_load */
        if (a_end > b->vaddr)
            return BAD("segments %u and %u overlap ([0x%" PRIx64 ", 0x%" PRIx64 ") and [0x%" PRIx64
                       ", 0x%" PRIx64 "))",
                       p->seg_index[k - 1], p->seg_index[k], a->vaddr, a_end, b->vaddr,
                       b->vaddr + b->memsz);
        if (page_up(a_end) > page_down(b->vaddr))
            return BAD("segments %u and %u share a 4 KiB page (one ends at 0x%" PRIx64
                       ", the next starts at 0x%" PRIx64 ")",
                       p->seg_index[k - 1], p->seg_index[k], a_end, b->vaddr);
    }
    const hl__elf_segment *last = &e->seg[e->nsegments - 1];
    e->link_base = page_down(e->seg[0].vaddr);
    e->span = page_up(last->vaddr + last->memsz) - e->link_base;
    if (e->span > HL_ELF_MAX_SPAN)
        return BAD("image spans 0x%" PRIx64 " bytes (from 0x%" PRIx64
                   "), more than the limit of 0x%llx",
                   e->span, e->link_base, HL_ELF_MAX_SPAN);
    if (!e->is_pie && e->link_base < MIN_EXEC_BASE)
        return BAD("ET_EXEC image is linked at 0x%" PRIx64
                   ", below 0x10000: the first 64 KiB must stay unmapped",
                   e->link_base);
    if (e->align < PAGE)
        e->align = PAGE;
    return 0;
}

static int check_entry(const hl__elf *e)
{
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        if ((s->prot & HL_PROT_X) && e->entry >= s->vaddr && e->entry - s->vaddr < s->memsz)
            return 0;
    }
    return BAD("e_entry 0x%" PRIx64 " is not inside an executable segment", e->entry);
}

/* True if file[off, off + n) lies inside the file bytes of one loaded segment. */
static int in_loaded_file_bytes(const hl__elf *e, uint64_t off, uint64_t n)
{
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        if (off >= s->offset && off - s->offset <= s->filesz && n <= s->filesz - (off - s->offset))
            return 1;
    }
    return 0;
}

/* Reads the PT_DYNAMIC entries up to DT_NULL into *d, rejecting what we cannot honour. */
static int walk_dynamic(const parse *p, dyn_info *d)
{
    const Elf64_Phdr *ph = &p->dynamic;
    unsigned si = p->dynamic_index;
    if (!range_inside(ph->p_offset, ph->p_filesz, p->len))
        return BAD("PT_DYNAMIC (segment %u, p_offset 0x%" PRIx64 ", p_filesz 0x%" PRIx64
                   ") does not fit in the %zu-byte file",
                   si, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, p->len);
    if (!in_loaded_file_bytes(&p->elf, ph->p_offset, ph->p_filesz))
        return BAD("PT_DYNAMIC (segment %u) is not inside a loaded segment's file bytes", si);
    uint64_t n = ph->p_filesz / sizeof(Elf64_Dyn);
    for (uint64_t k = 0; k < n; k++) {
        Elf64_Dyn dyn;
        memcpy(&dyn, p->file + ph->p_offset + k * sizeof dyn, sizeof dyn);
        uint64_t v = dyn.d_un.d_val;
        switch (dyn.d_tag) {
        case DT_NULL:
            return 0;
        case DT_NEEDED:
            return BAD("dynamic entry %" PRIu64 " is DT_NEEDED: needs shared library (name at "
                       "string offset 0x%" PRIx64 "); link the guest statically",
                       k, v);
        case DT_REL:
        case DT_RELSZ:
            return BAD("dynamic entry %" PRIu64 " is DT_REL%s: REL relocations unsupported", k,
                       dyn.d_tag == DT_RELSZ ? "SZ" : "");
        case ELF_DT_RELR:
        case ELF_DT_RELRSZ:
            return BAD("dynamic entry %" PRIu64 " is DT_RELR%s: RELR relocations unsupported", k,
                       dyn.d_tag == ELF_DT_RELRSZ ? "SZ" : "");
        case DT_TEXTREL:
            return BAD("dynamic entry %" PRIu64 " is DT_TEXTREL: text relocations unsupported", k);
        case DT_RELA:
            d->have_rela = 1;
            d->rela = v;
            break;
        case DT_RELASZ:
            d->relasz = v;
            break;
        case DT_RELAENT:
            d->have_relaent = 1;
            d->relaent = v;
            break;
        case DT_PLTRELSZ:
            d->pltrelsz = v;
            break;
        default: /* DT_JMPREL (judged by DT_PLTRELSZ), DT_RELACOUNT, symbol tables, flags... */
            break;
        }
    }
    return BAD("PT_DYNAMIC (segment %u) has no DT_NULL terminator within its %" PRIu64 " bytes", si,
               (uint64_t)ph->p_filesz);
}

/* Checks the DT_RELA* values and translates DT_RELA into rela_offset / rela_count. */
static int locate_rela(parse *p, const dyn_info *d)
{
    hl__elf *e = &p->elf;
    if (d->pltrelsz != 0)
        return BAD("DT_JMPREL with DT_PLTRELSZ 0x%" PRIx64 ": PLT relocations unsupported",
                   d->pltrelsz);
    if (d->have_relaent && d->relaent != sizeof(Elf64_Rela))
        return BAD("DT_RELAENT is %" PRIu64 ", expected 24", d->relaent);
    if (d->relasz == 0)
        return 0;
    if (!d->have_rela)
        return BAD("DT_RELASZ 0x%" PRIx64 " without DT_RELA", d->relasz);
    if (d->relasz % sizeof(Elf64_Rela) != 0)
        return BAD("DT_RELASZ 0x%" PRIx64 " is not a multiple of 24", d->relasz);
    if (!e->is_pie)
        return BAD("ET_EXEC image has %" PRIu64 " relocations: relocations are not allowed in a "
                   "fixed-address image",
                   d->relasz / sizeof(Elf64_Rela));
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        if (d->rela >= s->vaddr && d->rela - s->vaddr <= s->filesz &&
            d->relasz <= s->filesz - (d->rela - s->vaddr)) {
            e->rela_offset = s->offset + (d->rela - s->vaddr);
            e->rela_count = d->relasz / sizeof(Elf64_Rela);
            return 0;
        }
    }
    return BAD("relocation table (DT_RELA 0x%" PRIx64 ", DT_RELASZ 0x%" PRIx64
               ") is not inside a loaded segment's file bytes",
               d->rela, d->relasz);
}

/* True if the 8 bytes at link address a lie inside one writable segment's memory. */
static int in_writable(const hl__elf *e, uint64_t a)
{
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        if ((s->prot & HL_PROT_W) && s->memsz >= 8 && a >= s->vaddr && a - s->vaddr <= s->memsz - 8)
            return 1;
    }
    return 0;
}

static int check_relocs(const parse *p)
{
    const hl__elf *e = &p->elf;
    for (uint64_t k = 0; k < e->rela_count; k++) {
        Elf64_Rela r;
        memcpy(&r, p->file + e->rela_offset + k * sizeof r, sizeof r);
        uint32_t type = (uint32_t)ELF64_R_TYPE(r.r_info);
        if (type == ELF_R_X86_64_NONE)
            continue;
        if (type != ELF_R_X86_64_RELATIVE)
            return BAD("relocation %" PRIu64 " has unsupported type %" PRIu32
                       " (only R_X86_64_RELATIVE and R_X86_64_NONE)",
                       k, type);
        if (!in_writable(e, r.r_offset))
            return BAD("relocation %" PRIu64 " writes outside writable data (r_offset 0x%" PRIx64
                       ")",
                       k, (uint64_t)r.r_offset);
    }
    return 0;
}

static int check_dynamic(parse *p)
{
    if (!p->have_dynamic)
        return 0;
    dyn_info d = {0};
    int rc = walk_dynamic(p, &d);
    if (rc == 0)
        rc = locate_rela(p, &d);
    if (rc == 0)
        rc = check_relocs(p);
    return rc;
}

int hl__elf_parse(const uint8_t *file, size_t len, hl__elf *out)
{
    parse p = {.file = file, .len = len};
    int rc = check_ehdr(&p);
    if (rc)
        return rc;
    p.elf.is_pie = p.eh.e_type == ET_DYN;
    p.elf.entry = p.eh.e_entry;
    p.elf.tls_align = 1;
    rc = scan_phdrs(&p);
    if (rc)
        return rc;
    sort_segments(&p);
    rc = check_layout(&p);
    if (rc == 0)
        rc = check_entry(&p.elf);
    if (rc == 0)
        rc = check_dynamic(&p);
    if (rc == 0)
        rc = check_tls(&p.elf);
    if (rc)
        return rc;
    *out = p.elf;
    return 0;
}

/* A file range's end, or UINT64_MAX if it overflows. */
static uint64_t range_end(uint64_t off, uint64_t n)
{
    uint64_t end;
    return __builtin_add_overflow(off, n, &end) ? UINT64_MAX : end;
}

uint64_t hl__elf_needed_len(const uint8_t *head, size_t head_len, uint64_t file_len)
{
    Elf64_Ehdr eh;
    if (head_len < sizeof eh)
        return file_len;
    memcpy(&eh, head, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_phentsize != sizeof(Elf64_Phdr))
        return file_len;
    uint64_t need = range_end(eh.e_phoff, (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr));
    if (need > head_len)
        return file_len;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, head + eh.e_phoff + (uint64_t)i * sizeof ph, sizeof ph);
        uint64_t end = range_end(ph.p_offset, ph.p_filesz);
        if ((ph.p_type == PT_LOAD || ph.p_type == PT_DYNAMIC) && end > need)
            need = end;
    }
    if (need < head_len)
        need = head_len; /* those bytes are read anyway */
    return need < file_len ? need : file_len;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading. The image was validated by hl__elf_parse; every bound is checked again anyway. */

#define CANNOT(...) hl__fail(HL_EELF, "cannot load guest ELF: " __VA_ARGS__)

typedef struct releaser {
    hl__elf_release_fn fn;
    void *user;
    uint64_t keep_off, keep_len; /* the relocation table: never released */
} releaser;

static void release_chunk(const releaser *r, const uint8_t *file, uint64_t off, uint64_t n)
{
    if (r->fn && (off + n <= r->keep_off || off >= r->keep_off + r->keep_len))
        r->fn(r->user, file, off, n);
}

static int copy_segment(const hl__elf *e, size_t k, const uint8_t *file, size_t len, uint8_t *dst,
                        size_t dst_len, const releaser *r)
{
    const hl__elf_segment *s = &e->seg[k];
    uint64_t pos = s->vaddr - e->link_base;
    if (s->vaddr < e->link_base || !range_inside(pos, s->memsz, dst_len) ||
        !range_inside(s->offset, s->filesz, len) || s->filesz > s->memsz)
        return CANNOT("segment at 0x%" PRIx64 " does not fit the file or the destination",
                      s->vaddr);
    for (uint64_t done = 0; done < s->filesz;) {
        uint64_t n = s->filesz - done < HL_ELF_LOAD_CHUNK ? s->filesz - done : HL_ELF_LOAD_CHUNK;
        memcpy(dst + pos + done, file + s->offset + done, n);
        release_chunk(r, file, s->offset + done, n);
        done += n;
    }
    return 0;
}

static int apply_relocs(const hl__elf *e, const uint8_t *file, size_t len, uint8_t *dst,
                        size_t dst_len, uint64_t load_base)
{
    uint64_t table;
    if (__builtin_mul_overflow(e->rela_count, sizeof(Elf64_Rela), &table) ||
        !range_inside(e->rela_offset, table, len))
        return CANNOT("relocation table does not fit in the file");
    uint64_t delta = load_base - e->link_base; /* wraps on purpose */
    for (uint64_t k = 0; k < e->rela_count; k++) {
        Elf64_Rela r;
        memcpy(&r, file + e->rela_offset + k * sizeof r, sizeof r);
        uint32_t type = (uint32_t)ELF64_R_TYPE(r.r_info);
        if (type == ELF_R_X86_64_NONE)
            continue;
        uint64_t pos = r.r_offset - e->link_base;
        if (type != ELF_R_X86_64_RELATIVE || r.r_offset < e->link_base ||
            !range_inside(pos, 8, dst_len))
            return CANNOT("relocation %" PRIu64 " (type %" PRIu32 ", r_offset 0x%" PRIx64
                          ") does not fit",
                          k, type, (uint64_t)r.r_offset);
        uint64_t value = (uint64_t)r.r_addend + delta;
        memcpy(dst + pos, &value, sizeof value); /* little-endian host: see the #error above */
    }
    return 0;
}

int hl__elf_load(const hl__elf *elf, const uint8_t *file, size_t len, uint8_t *dst, size_t dst_len,
                 uint64_t load_base)
{
    return hl__elf_load_releasing(elf, file, len, dst, dst_len, load_base, NULL, NULL);
}

int hl__elf_load_releasing(const hl__elf *elf, const uint8_t *file, size_t len, uint8_t *dst,
                           size_t dst_len, uint64_t load_base, hl__elf_release_fn release,
                           void *user)
{
    releaser r = {release, user, elf->rela_offset, elf->rela_count * sizeof(Elf64_Rela)};
    if (dst_len < elf->span)
        return CANNOT("destination is 0x%zx bytes, smaller than the 0x%" PRIx64 "-byte span",
                      dst_len, elf->span);
    if (!elf->is_pie && load_base != elf->link_base)
        return CANNOT("ET_EXEC image linked at 0x%" PRIx64 " cannot be loaded at 0x%" PRIx64,
                      elf->link_base, load_base);
    for (size_t k = 0; k < elf->nsegments && k < HL_ELF_MAX_SEGMENTS; k++) {
        int rc = copy_segment(elf, k, file, len, dst, dst_len, &r);
        if (rc)
            return rc;
    }
    return apply_relocs(elf, file, len, dst, dst_len, load_base);
}

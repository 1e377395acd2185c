/* test_elf.c: tests the guest ELF parser/loader on in-memory images; also writes a fuzz corpus. */
#include <errno.h>
#include <linux/elf.h> /* not <elf.h>: -Isrc makes that name find src/elf.h */
#include <stdbool.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "../harness/harness.h"
#include "elf.h"
#include "hyperlight/hyperlight.h"

#define R_NONE 0
#define R_64 1
#define R_RELATIVE 8
#define R_IRELATIVE 37
#define TAG_RELR 36

/* ---- an image builder ------------------------------------------------------------------- */
/* File layout (offsets; link addresses are base + the same numbers):
 *   0x0000 ELF header, program headers at 0x40; loaded read-only as segment PH_HDRS
 *   0x1000 text   (R+X) 0x40 bytes
 *   0x2000 rodata (R)   0x20 bytes of string, the Elf64_Rela table at 0x2040 (2 entries)
 *   0x3000 data   (R+W) 0x100 bytes in the file (dynamic section first), memsz 0x2000 (bss)
 * The two RELATIVE relocations: 0x3080 := base + 0x2000 (rodata) and 0x4008 := base + 0x1010
 * (into text, written in bss). The data segment ends the file, so any truncation cuts it. */
#define MAX_PH 32
#define NDYN 8
#define FILE_MAX 0x4000
#define PHOFF 0x40
#define TEXT_OFF 0x1000
#define TEXT_SIZE 0x40
#define RODATA_OFF 0x2000
#define RELA_OFF 0x2040
#define RODATA_SIZE 0x70
#define DATA_OFF 0x3000
#define DATA_FILESZ 0x100
#define DATA_MEMSZ 0x2000
#define SLOT0 0x3080
#define SLOT1 0x4008
#define FILE_LEN (DATA_OFF + DATA_FILESZ)
#define PIE_SPAN 0x5000

enum { PH_PHDR, PH_HDRS, PH_TEXT, PH_RODATA, PH_DATA, PH_DYN, PH_STACK };

typedef struct image {
    Elf64_Ehdr eh;
    Elf64_Phdr ph[MAX_PH]; /* written at PHOFF, whatever eh.e_phoff says */
    size_t nph;
    bool has_dyn;
    Elf64_Dyn dyn[NDYN]; /* written at DATA_OFF */
    Elf64_Rela rela[2];  /* written at RELA_OFF */
    size_t len;          /* file length */
    uint8_t file[FILE_MAX];
} image;

static Elf64_Phdr phdr(uint32_t type, uint32_t flags, uint64_t off, uint64_t vaddr, uint64_t filesz,
                       uint64_t memsz)
{
    return (Elf64_Phdr){.p_type = type,
                        .p_flags = flags,
                        .p_offset = off,
                        .p_vaddr = vaddr,
                        .p_paddr = vaddr,
                        .p_filesz = filesz,
                        .p_memsz = memsz,
                        .p_align = type == PT_LOAD ? 0x1000 : 8};
}

static void add_ph(image *im, Elf64_Phdr ph)
{
    if (im->nph == MAX_PH)
        hl_test_fail(__FILE__, __LINE__, "image builder: too many program headers");
    im->ph[im->nph++] = ph;
    im->eh.e_phnum = (uint16_t)im->nph;
}

/* The segment contents: recognisable bytes, so misplaced copies show. */
static void fill_contents(image *im)
{
    memset(im->file, 0, sizeof im->file);
    for (int i = 0; i < TEXT_SIZE; i++)
        im->file[TEXT_OFF + i] = (uint8_t)(0x90 + i % 7);
    memcpy(im->file + RODATA_OFF, "hello, guest", 13);
    for (int i = 0x80; i < DATA_FILESZ; i++)
        im->file[DATA_OFF + i] = (uint8_t)(0xa5 ^ i);
}

static Elf64_Rela rela(uint64_t offset, uint32_t type, int64_t addend)
{
    return (Elf64_Rela){.r_offset = offset, .r_info = type, .r_addend = addend};
}

/* A valid image of the given type linked at `base`, with or without a dynamic section. */
static void make_image(image *im, uint16_t type, uint64_t base, bool with_dyn)
{
    memset(im, 0, sizeof *im);
    memcpy(im->eh.e_ident, ELFMAG, SELFMAG);
    im->eh.e_ident[EI_CLASS] = ELFCLASS64;
    im->eh.e_ident[EI_DATA] = ELFDATA2LSB;
    im->eh.e_ident[EI_VERSION] = EV_CURRENT;
    im->eh.e_type = type;
    im->eh.e_machine = EM_X86_64;
    im->eh.e_version = EV_CURRENT;
    im->eh.e_entry = base + TEXT_OFF;
    im->eh.e_phoff = PHOFF;
    im->eh.e_ehsize = sizeof(Elf64_Ehdr);
    im->eh.e_phentsize = sizeof(Elf64_Phdr);
    add_ph(im, phdr(PT_PHDR, PF_R, PHOFF, base + PHOFF, 7 * sizeof(Elf64_Phdr),
                    7 * sizeof(Elf64_Phdr)));
    add_ph(im, phdr(PT_LOAD, PF_R, 0, base, 0x400, 0x400));
    add_ph(im, phdr(PT_LOAD, PF_R | PF_X, TEXT_OFF, base + TEXT_OFF, TEXT_SIZE, TEXT_SIZE));
    add_ph(im, phdr(PT_LOAD, PF_R, RODATA_OFF, base + RODATA_OFF, RODATA_SIZE, RODATA_SIZE));
    add_ph(im, phdr(PT_LOAD, PF_R | PF_W, DATA_OFF, base + DATA_OFF, DATA_FILESZ, DATA_MEMSZ));
    if (with_dyn)
        add_ph(im, phdr(PT_DYNAMIC, PF_R | PF_W, DATA_OFF, base + DATA_OFF,
                        NDYN * sizeof(Elf64_Dyn), NDYN * sizeof(Elf64_Dyn)));
    add_ph(im, phdr(PT_GNU_STACK, PF_R | PF_W, 0, 0, 0, 0));
    im->has_dyn = with_dyn;
    im->dyn[0] = (Elf64_Dyn){.d_tag = DT_RELA, .d_un.d_ptr = base + RELA_OFF};
    im->dyn[1] = (Elf64_Dyn){.d_tag = DT_RELASZ, .d_un.d_val = 2 * sizeof(Elf64_Rela)};
    im->dyn[2] = (Elf64_Dyn){.d_tag = DT_RELAENT, .d_un.d_val = sizeof(Elf64_Rela)};
    im->dyn[3] = (Elf64_Dyn){.d_tag = DT_RELACOUNT, .d_un.d_val = 2};
    im->rela[0] = rela(base + SLOT0, R_RELATIVE, (int64_t)(base + RODATA_OFF));
    im->rela[1] = rela(base + SLOT1, R_RELATIVE, (int64_t)(base + TEXT_OFF + 0x10));
    im->len = FILE_LEN;
}

static void make_pie(image *im)
{
    make_image(im, ET_DYN, 0, true);
}

static void make_exec(image *im)
{
    make_image(im, ET_EXEC, 0x400000, false);
}

/* Writes the headers, dynamic section and relocations over the contents. */
static void finish(image *im)
{
    fill_contents(im);
    memcpy(im->file, &im->eh, sizeof im->eh);
    memcpy(im->file + PHOFF, im->ph, im->nph * sizeof im->ph[0]);
    memcpy(im->file + RELA_OFF, im->rela, sizeof im->rela);
    if (im->has_dyn)
        memcpy(im->file + DATA_OFF, im->dyn, sizeof im->dyn);
}

/* Parses file[0..len) from an exact-size heap copy, so ASan sees any read past the end. */
static int parse_bytes(const uint8_t *bytes, size_t len, hl__elf *out)
{
    uint8_t *copy = malloc(len ? len : 1);
    CHECK(copy != NULL);
    if (len)
        memcpy(copy, bytes, len);
    int rc = hl__elf_parse(copy, len, out);
    free(copy);
    return rc;
}

static int parse_image(image *im, hl__elf *out)
{
    finish(im);
    return parse_bytes(im->file, im->len, out);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* What loading the builder's image must produce (span bytes), for a given base. */
static void expected_load(const image *im, uint64_t load_base, uint8_t *exp)
{
    memset(exp, 0, PIE_SPAN);
    memcpy(exp, im->file, 0x400);
    memcpy(exp + TEXT_OFF, im->file + TEXT_OFF, TEXT_SIZE);
    memcpy(exp + RODATA_OFF, im->file + RODATA_OFF, RODATA_SIZE);
    memcpy(exp + DATA_OFF, im->file + DATA_OFF, DATA_FILESZ);
    if (!im->has_dyn)
        return;
    uint64_t s0 = load_base + RODATA_OFF, s1 = load_base + TEXT_OFF + 0x10;
    memcpy(exp + SLOT0, &s0, 8);
    memcpy(exp + SLOT1, &s1, 8);
}

/* ---- valid images ----------------------------------------------------------------------- */
TEST(pie_parses)
{
    image im;
    hl__elf e;
    make_pie(&im);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(e.is_pie, 1);
    CHECK_U64_EQ(e.link_base, 0);
    CHECK_U64_EQ(e.span, PIE_SPAN);
    CHECK_U64_EQ(e.align, 0x1000);
    CHECK_U64_EQ(e.entry, TEXT_OFF);
    CHECK_EQ(e.nsegments, 4);
    CHECK_U64_EQ(e.seg[0].vaddr, 0);
    CHECK_EQ(e.seg[0].prot, HL_PROT_R);
    CHECK_U64_EQ(e.seg[1].vaddr, TEXT_OFF);
    CHECK_U64_EQ(e.seg[1].filesz, TEXT_SIZE);
    CHECK_EQ(e.seg[1].prot, HL_PROT_R | HL_PROT_X);
    CHECK_U64_EQ(e.seg[2].offset, RODATA_OFF);
    CHECK_EQ(e.seg[2].prot, HL_PROT_R);
    CHECK_U64_EQ(e.seg[3].filesz, DATA_FILESZ);
    CHECK_U64_EQ(e.seg[3].memsz, DATA_MEMSZ);
    CHECK_EQ(e.seg[3].prot, HL_PROT_R | HL_PROT_W);
    CHECK_U64_EQ(e.rela_offset, RELA_OFF);
    CHECK_U64_EQ(e.rela_count, 2);
}

TEST(pie_with_thread_local_storage_parses)
{
    image im;
    hl__elf e;
    make_pie(&im);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_U64_EQ(e.tls_memsz, 0); /* none: an empty block, aligned to 1 */
    CHECK_U64_EQ(e.tls_align, 1);
    Elf64_Phdr ph = phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x10, 0x240);
    ph.p_align = 64;
    add_ph(&im, ph);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_U64_EQ(e.tls_vaddr, DATA_OFF + 0x80);
    CHECK_U64_EQ(e.tls_filesz, 0x10);
    CHECK_U64_EQ(e.tls_memsz, 0x240);
    CHECK_U64_EQ(e.tls_align, 64);
}

/* Builds a PIE linked at link_base, loads it at load_base and checks every byte of the span. */
static void check_pie_load(uint64_t link_base, uint64_t load_base)
{
    image im;
    hl__elf e;
    static uint8_t dst[PIE_SPAN], exp[PIE_SPAN];
    make_image(&im, ET_DYN, link_base, true);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_U64_EQ(e.link_base, link_base);
    memset(dst, 0, sizeof dst);
    CHECK_EQ(hl__elf_load(&e, im.file, im.len, dst, sizeof dst, load_base), 0);
    expected_load(&im, load_base, exp);
    CHECK_MEMEQ(dst, exp, sizeof dst);
    CHECK_U64_EQ(get_u64(dst + SLOT0), load_base + RODATA_OFF);
    CHECK_U64_EQ(get_u64(dst + SLOT1), load_base + TEXT_OFF + 0x10);
    CHECK_STREQ((const char *)dst + RODATA_OFF, "hello, guest");
}

TEST(pie_loads_at_two_bases)
{
    check_pie_load(0, 0x200000);
    check_pie_load(0, 0x7f1234560000);
    check_pie_load(0, 0xfffffffffffff000); /* base + addend wraps, as in the guest's arithmetic */
}

TEST(pie_linked_above_zero_loads_anywhere)
{
    check_pie_load(0x10000000, 0x200000);   /* moved down: the delta is negative */
    check_pie_load(0x10000000, 0x30000000); /* moved up */
    check_pie_load(0x10000000, 0x10000000); /* in place */
}

TEST(exec_parses_and_loads)
{
    image im;
    hl__elf e;
    static uint8_t dst[PIE_SPAN], exp[PIE_SPAN];
    make_exec(&im);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(e.is_pie, 0);
    CHECK_U64_EQ(e.link_base, 0x400000);
    CHECK_U64_EQ(e.span, PIE_SPAN);
    CHECK_U64_EQ(e.entry, 0x401000);
    CHECK_EQ(e.nsegments, 4);
    CHECK_U64_EQ(e.rela_count, 0);
    CHECK_U64_EQ(e.rela_offset, 0);
    CHECK_EQ(hl__elf_load(&e, im.file, im.len, dst, sizeof dst, 0x400000), 0);
    expected_load(&im, 0x400000, exp);
    CHECK_MEMEQ(dst, exp, sizeof dst);
    CHECK_EQ(hl__elf_load(&e, im.file, im.len, dst, sizeof dst, 0x600000), HL_EELF);
    CHECK_CONTAINS(hl_last_error(), "linked at 0x400000 cannot be loaded at 0x600000");
}

TEST(load_rejects_short_destination)
{
    image im;
    hl__elf e;
    static uint8_t dst[PIE_SPAN];
    make_pie(&im);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(hl__elf_load(&e, im.file, im.len, dst, PIE_SPAN - 1, 0x200000), HL_EELF);
    CHECK_CONTAINS(hl_last_error(), "smaller than the 0x5000-byte span");
}

TEST(segments_are_sorted_by_vaddr)
{
    image im;
    hl__elf e;
    make_pie(&im);
    Elf64_Phdr t = im.ph[PH_HDRS];
    im.ph[PH_HDRS] = im.ph[PH_DATA];
    im.ph[PH_DATA] = t;
    t = im.ph[PH_TEXT];
    im.ph[PH_TEXT] = im.ph[PH_RODATA];
    im.ph[PH_RODATA] = t;
    CHECK_EQ(parse_image(&im, &e), 0);
    for (size_t k = 1; k < e.nsegments; k++)
        CHECK(e.seg[k - 1].vaddr < e.seg[k].vaddr);
    CHECK_EQ(e.seg[3].prot, HL_PROT_R | HL_PROT_W);
}

TEST(empty_load_and_unknown_types_are_ignored)
{
    image im;
    hl__elf e;
    make_pie(&im);
    add_ph(&im, phdr(PT_LOAD, 0, 0xdead0000, 0x12345, 0, 0)); /* memsz 0: skipped unchecked */
    add_ph(&im, phdr(PT_NOTE, PF_R, 0, 0, 0, 0));
    add_ph(&im, phdr(PT_GNU_RELRO, PF_R, DATA_OFF, DATA_OFF, 0x80, 0x80));
    add_ph(&im, phdr(PT_GNU_EH_FRAME, PF_R, RODATA_OFF, RODATA_OFF, 0x10, 0x10));
    add_ph(&im, phdr(PT_SHLIB, 0, 0, 0, 0, 0));
    add_ph(&im, phdr(0x7000ffff, PF_X | PF_W, 0, 0, 0, 0));
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(e.nsegments, 4);
}

TEST(none_relocations_are_ignored)
{
    image im;
    hl__elf e;
    static uint8_t dst[PIE_SPAN];
    make_pie(&im);
    im.rela[0] = rela(0, R_NONE, 0); /* linkers leave these, with any r_offset */
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(hl__elf_load(&e, im.file, im.len, dst, sizeof dst, 0x200000), 0);
    CHECK_U64_EQ(get_u64(dst + SLOT0), get_u64(im.file + SLOT0)); /* untouched */
    CHECK_U64_EQ(get_u64(dst + SLOT1), 0x201010);
}

/* ---- the prefix hl_sandbox_new reads ----------------------------------------------------- */
TEST(needed_len_stops_at_the_last_loaded_byte_and_the_prefix_parses_the_same)
{
    image im;
    hl__elf whole, prefix;
    make_pie(&im);
    finish(&im);
    memset(im.file + FILE_LEN, 0xdb, FILE_MAX - FILE_LEN); /* "debug information" */
    CHECK_U64_EQ(hl__elf_needed_len(im.file, 0x1000, FILE_MAX), FILE_LEN);
    CHECK_EQ(parse_bytes(im.file, FILE_MAX, &whole), 0);
    CHECK_EQ(parse_bytes(im.file, FILE_LEN, &prefix), 0);
    CHECK_U64_EQ(prefix.span, whole.span);
    CHECK_U64_EQ(prefix.rela_count, whole.rela_count);
    CHECK_EQ(prefix.nsegments, whole.nsegments);
}

TEST(needed_len_is_the_whole_file_when_the_head_cannot_tell)
{
    image im;
    make_pie(&im);
    finish(&im);
    CHECK_U64_EQ(hl__elf_needed_len(im.file, 63, FILE_MAX), FILE_MAX);         /* header cut */
    CHECK_U64_EQ(hl__elf_needed_len(im.file, PHOFF + 10, FILE_MAX), FILE_MAX); /* table cut */
    im.file[0] = 'X';
    CHECK_U64_EQ(hl__elf_needed_len(im.file, 0x1000, FILE_MAX), FILE_MAX); /* not an ELF */
    make_pie(&im);
    im.eh.e_phoff = UINT64_MAX - 8; /* the table's end overflows */
    finish(&im);
    CHECK_U64_EQ(hl__elf_needed_len(im.file, 0x1000, FILE_MAX), FILE_MAX);
    make_pie(&im);
    im.ph[PH_DATA].p_filesz = UINT64_MAX; /* a load past the end: the parser sees every byte */
    finish(&im);
    CHECK_U64_EQ(hl__elf_needed_len(im.file, 0x1000, FILE_LEN), FILE_LEN);
}

TEST(limits_are_inclusive)
{
    image im;
    hl__elf e;
    make_pie(&im);
    for (int k = 0; k < HL_ELF_MAX_SEGMENTS - 4; k++)
        add_ph(&im, phdr(PT_LOAD, PF_R, 0, 0x100000 + (uint64_t)k * 0x1000, 0, 0x10));
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_EQ(e.nsegments, HL_ELF_MAX_SEGMENTS);

    make_pie(&im);
    add_ph(&im, phdr(PT_LOAD, PF_R, 0, HL_ELF_MAX_SPAN - 0x1000, 0, 0x1000));
    im.ph[PH_DATA].p_align = 0x200000;
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_U64_EQ(e.span, HL_ELF_MAX_SPAN);
    CHECK_U64_EQ(e.align, 0x200000);

    make_image(&im, ET_EXEC, 0x10000, false);
    CHECK_EQ(parse_image(&im, &e), 0);
    CHECK_U64_EQ(e.link_base, 0x10000);
}

/* ---- malformed images ------------------------------------------------------------------- */
/* Each case mutates a freshly built valid PIE; the parser must reject it naming the problem. */
static void m_empty_file(image *im)
{
    im->len = 0;
}
static void m_short_header(image *im)
{
    im->len = sizeof(Elf64_Ehdr) - 1;
}
static void m_bad_magic(image *im)
{
    im->eh.e_ident[EI_MAG1] = 'e';
}
static void m_class32(image *im)
{
    im->eh.e_ident[EI_CLASS] = ELFCLASS32;
}
static void m_big_endian(image *im)
{
    im->eh.e_ident[EI_DATA] = ELFDATA2MSB;
}
static void m_ident_version(image *im)
{
    im->eh.e_ident[EI_VERSION] = 0;
}
static void m_wrong_version(image *im)
{
    im->eh.e_version = 2;
}
static void m_wrong_machine(image *im)
{
    im->eh.e_machine = 183; /* EM_AARCH64 */
}
static void m_type_rel(image *im)
{
    im->eh.e_type = ET_REL;
}
static void m_type_core(image *im)
{
    im->eh.e_type = ET_CORE;
}
static void m_type_unknown(image *im)
{
    im->eh.e_type = 0xfe00;
}
static void m_bad_ehsize(image *im)
{
    im->eh.e_ehsize = 52;
}
static void m_bad_phentsize(image *im)
{
    im->eh.e_phentsize = 32;
}
static void m_phnum_zero(image *im)
{
    im->eh.e_phnum = 0;
}
static void m_phnum_huge(image *im)
{
    im->eh.e_phnum = 0xffff;
}
static void m_phoff_past_end(image *im)
{
    im->eh.e_phoff = FILE_LEN - 0x40;
}
static void m_phoff_overflow(image *im)
{
    im->eh.e_phoff = 0xffffffffffffffc0;
}
static void m_no_load(image *im)
{
    for (size_t i = 0; i < im->nph; i++)
        if (im->ph[i].p_type == PT_LOAD)
            im->ph[i].p_type = PT_NULL;
}
static void m_filesz_gt_memsz(image *im)
{
    im->ph[PH_TEXT].p_memsz = 0x20;
}
static void m_offset_past_end(image *im)
{
    im->ph[PH_DATA].p_offset = DATA_OFF + 0x80;
}
static void m_offset_overflow(image *im)
{
    im->ph[PH_DATA].p_offset = 0xffffffffffffff80;
}
static void m_vaddr_overflow(image *im)
{
    im->ph[PH_DATA].p_vaddr = 0xfffffffffffff000;
}
static void m_vaddr_last_page(image *im)
{
    im->ph[PH_DATA].p_vaddr = 0xffffffffffffd000; /* ends at ...f000 + 0x800: page_up overflows */
    im->ph[PH_DATA].p_memsz = 0x2800;
}
static void m_overlap(image *im)
{
    im->ph[PH_RODATA].p_vaddr = TEXT_OFF + 0x20;
}
static void m_share_page(image *im)
{
    im->ph[PH_RODATA].p_vaddr = TEXT_OFF + 0x800;
}
static void m_write_exec(image *im)
{
    im->ph[PH_DATA].p_flags = PF_R | PF_W | PF_X;
}
static void m_no_permission(image *im)
{
    im->ph[PH_RODATA].p_flags = 0;
}
static void m_align_3(image *im)
{
    im->ph[PH_TEXT].p_align = 3;
}
static void m_align_4m(image *im)
{
    im->ph[PH_TEXT].p_align = 0x400000;
}
static void m_too_many_loads(image *im)
{
    for (int k = 0; k <= HL_ELF_MAX_SEGMENTS - 4; k++)
        add_ph(im, phdr(PT_LOAD, PF_R, 0, 0x100000 + (uint64_t)k * 0x1000, 0, 0x10));
}
static void m_span_too_large(image *im)
{
    add_ph(im, phdr(PT_LOAD, PF_R, 0, HL_ELF_MAX_SPAN, 0, 0x10));
}
static void m_interp(image *im)
{
    add_ph(im, phdr(PT_INTERP, PF_R, 0x200, 0x200, 0x1c, 0x1c));
}
static void m_tls_twice(image *im)
{
    add_ph(im, phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x10, 0x20));
    add_ph(im, phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x10, 0x20));
}
static void m_tls_align_128(image *im)
{
    Elf64_Phdr ph = phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x10, 0x20);
    ph.p_align = 0x80;
    add_ph(im, ph);
}
static void m_tls_filesz_over_memsz(image *im)
{
    add_ph(im, phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x30, 0x20));
}
static void m_tls_init_in_bss(image *im)
{
    add_ph(im, phdr(PT_TLS, PF_R, DATA_OFF + 0x200, DATA_OFF + 0x200, 0x10, 0x20));
}
static void m_tls_huge(image *im)
{
    add_ph(im, phdr(PT_TLS, PF_R, DATA_OFF + 0x80, DATA_OFF + 0x80, 0x10, HL_ELF_MAX_TLS + 1));
}
static void m_exec_stack(image *im)
{
    im->ph[PH_STACK].p_flags = PF_R | PF_W | PF_X;
}
static void m_entry_outside_text(image *im)
{
    im->eh.e_entry = TEXT_OFF + TEXT_SIZE;
}
static void m_entry_in_data(image *im)
{
    im->eh.e_entry = DATA_OFF;
}
static void m_entry_absurd(image *im)
{
    im->eh.e_entry = 0xffffffffffff0000;
}
static void m_exec_below_64k(image *im)
{
    make_image(im, ET_EXEC, 0x8000, false);
}
static void m_exec_with_relocations(image *im)
{
    make_image(im, ET_EXEC, 0x400000, true);
}
static void m_second_dynamic(image *im)
{
    add_ph(im, im->ph[PH_DYN]);
}
static void m_dynamic_outside_file(image *im)
{
    im->ph[PH_DYN].p_offset = 0x10000;
}
static void m_dynamic_not_loaded(image *im)
{
    im->ph[PH_DYN].p_offset = 0x800;
}
static void m_dynamic_unterminated(image *im)
{
    im->ph[PH_DYN].p_filesz = 4 * sizeof(Elf64_Dyn);
}
static void m_dt_needed(image *im)
{
    im->dyn[3] = (Elf64_Dyn){.d_tag = DT_NEEDED, .d_un.d_val = 1};
}
static void m_dt_rel(image *im)
{
    im->dyn[3] = (Elf64_Dyn){.d_tag = DT_REL, .d_un.d_ptr = RELA_OFF};
}
static void m_dt_relsz(image *im)
{
    im->dyn[3] = (Elf64_Dyn){.d_tag = DT_RELSZ, .d_un.d_val = 16};
}
static void m_dt_relr(image *im)
{
    im->dyn[3] = (Elf64_Dyn){.d_tag = TAG_RELR, .d_un.d_ptr = RELA_OFF};
}
static void m_dt_textrel(image *im)
{
    im->dyn[3] = (Elf64_Dyn){.d_tag = DT_TEXTREL, .d_un.d_val = 0};
}
static void m_dt_jmprel(image *im)
{
    im->dyn[4] = (Elf64_Dyn){.d_tag = DT_JMPREL, .d_un.d_ptr = RELA_OFF};
    im->dyn[5] = (Elf64_Dyn){.d_tag = DT_PLTRELSZ, .d_un.d_val = sizeof(Elf64_Rela)};
}
static void m_relaent_wrong(image *im)
{
    im->dyn[2].d_un.d_val = 16;
}
static void m_relasz_not_multiple(image *im)
{
    im->dyn[1].d_un.d_val = 47;
}
static void m_relasz_huge(image *im)
{
    im->dyn[1].d_un.d_val = 0xfffffffffffffff0; /* 24 * 0x0aaaaaaaaaaaaaaa */
}
static void m_relasz_without_rela(image *im)
{
    im->dyn[0].d_tag = DT_RELACOUNT;
}
static void m_rela_outside_segments(image *im)
{
    im->dyn[0].d_un.d_ptr = 0x9000;
}
static void m_rela_in_bss(image *im)
{
    im->dyn[0].d_un.d_ptr = DATA_OFF + DATA_FILESZ;
}
static void m_reloc_type_64(image *im)
{
    im->rela[1].r_info = R_64;
}
static void m_reloc_type_irelative(image *im)
{
    im->rela[1].r_info = R_IRELATIVE;
}
static void m_reloc_outside_span(image *im)
{
    im->rela[0].r_offset = 0x100000;
}
static void m_reloc_into_rodata(image *im)
{
    im->rela[0].r_offset = RODATA_OFF;
}
static void m_reloc_into_text(image *im)
{
    im->rela[1].r_offset = TEXT_OFF;
}
static void m_reloc_straddles_end(image *im)
{
    im->rela[0].r_offset = DATA_OFF + DATA_MEMSZ - 4;
}

/* name, the phrase hl_last_error() must contain */
#define MALFORMED(X)                                                                               \
    X(empty_file, "file is 0 bytes, shorter than the 64-byte ELF header")                          \
    X(short_header, "file is 63 bytes, shorter than the 64-byte ELF header")                       \
    X(bad_magic, "no ELF magic: file starts 7f 65 4c 46")                                          \
    X(class32, "EI_CLASS is 1, expected ELFCLASS64")                                               \
    X(big_endian, "EI_DATA is 2, expected ELFDATA2LSB")                                            \
    X(ident_version, "EI_VERSION is 0, expected EV_CURRENT")                                       \
    X(wrong_version, "e_version is 2, expected EV_CURRENT")                                        \
    X(wrong_machine, "e_machine is 183, expected EM_X86_64")                                       \
    X(type_rel, "e_type is ET_REL (1): a relocatable object file")                                 \
    X(type_core, "e_type is ET_CORE (4): a core dump")                                             \
    X(type_unknown, "e_type is 0xfe00, expected ET_EXEC (2) or ET_DYN (3)")                        \
    X(bad_ehsize, "e_ehsize is 52, expected 64")                                                   \
    X(bad_phentsize, "e_phentsize is 32, expected 56")                                             \
    X(phnum_zero, "e_phnum is 0, expected 1..64")                                                  \
    X(phnum_huge, "e_phnum is 65535, expected 1..64")                                              \
    X(phoff_past_end, "program header table (e_phoff 0x30c0, 7 entries) does not fit")             \
    X(phoff_overflow, "(e_phoff 0xffffffffffffffc0, 7 entries) does not fit in the 12544-byte")    \
    X(no_load, "no PT_LOAD segment")                                                               \
    X(filesz_gt_memsz, "segment 2: p_filesz 0x40 exceeds p_memsz 0x20")                            \
    X(offset_past_end, "segment 4: file bytes (p_offset 0x3080, p_filesz 0x100) run past")         \
    X(offset_overflow, "segment 4: file bytes (p_offset 0xffffffffffffff80")                       \
    X(vaddr_overflow, "segment 4: p_vaddr 0xfffffffffffff000 + p_memsz 0x2000 overflows")          \
    X(vaddr_last_page, "segment 4: p_vaddr 0xffffffffffffd000 + p_memsz 0x2800 overflows")         \
    X(overlap, "segments 2 and 3 overlap ([0x1000, 0x1040) and [0x1020, 0x1090))")                 \
    X(share_page, "segments 2 and 3 share a 4 KiB page")                                           \
    X(write_exec, "segment 4 is writable and executable")                                          \
    X(no_permission, "segment 3 has no permission bits")                                           \
    X(align_3, "segment 2: p_align 0x3 is not 0, 1 or a power of two")                             \
    X(align_4m, "segment 2: p_align 0x400000 is not 0, 1 or a power of two up to 2 MiB")           \
    X(too_many_loads, "more than 16 PT_LOAD segments (segment 19 is one too many)")                \
    X(span_too_large, "image spans 0x20001000 bytes (from 0x0), more than the limit")              \
    X(interp, "segment 7 is PT_INTERP: the image needs a dynamic loader")                          \
    X(tls_twice, "segment 8 is a second PT_TLS")                                                   \
    X(tls_align_128, "segment 7 (PT_TLS): p_align 0x80 is not a power of two up to 64")            \
    X(tls_filesz_over_memsz, "segment 7 (PT_TLS): p_filesz 0x30 / p_memsz 0x20 is inconsistent")   \
    X(tls_init_in_bss, "PT_TLS initial bytes (p_vaddr 0x3200, p_filesz 0x10) are not inside one")  \
    X(tls_huge, "segment 7 (PT_TLS): p_filesz 0x10 / p_memsz 0x1000001 is inconsistent or over")   \
    X(exec_stack, "segment 6 (PT_GNU_STACK) has PF_X: executable stack requested")                 \
    X(entry_outside_text, "e_entry 0x1040 is not inside an executable segment")                    \
    X(entry_in_data, "e_entry 0x3000 is not inside an executable segment")                         \
    X(entry_absurd, "e_entry 0xffffffffffff0000 is not inside an executable segment")              \
    X(exec_below_64k, "ET_EXEC image is linked at 0x8000, below 0x10000")                          \
    X(exec_with_relocations, "ET_EXEC image has 2 relocations: relocations are not allowed")       \
    X(second_dynamic, "segment 7 is a second PT_DYNAMIC (the first is segment 5)")                 \
    X(dynamic_outside_file, "PT_DYNAMIC (segment 5, p_offset 0x10000, p_filesz 0x80) does not")    \
    X(dynamic_not_loaded, "PT_DYNAMIC (segment 5) is not inside a loaded segment's file bytes")    \
    X(dynamic_unterminated, "PT_DYNAMIC (segment 5) has no DT_NULL terminator within its 64")      \
    X(dt_needed, "dynamic entry 3 is DT_NEEDED: needs shared library")                             \
    X(dt_rel, "dynamic entry 3 is DT_REL: REL relocations unsupported")                            \
    X(dt_relsz, "dynamic entry 3 is DT_RELSZ: REL relocations unsupported")                        \
    X(dt_relr, "dynamic entry 3 is DT_RELR: RELR relocations unsupported")                         \
    X(dt_textrel, "dynamic entry 3 is DT_TEXTREL: text relocations unsupported")                   \
    X(dt_jmprel, "DT_JMPREL with DT_PLTRELSZ 0x18: PLT relocations unsupported")                   \
    X(relaent_wrong, "DT_RELAENT is 16, expected 24")                                              \
    X(relasz_not_multiple, "DT_RELASZ 0x2f is not a multiple of 24")                               \
    X(relasz_huge, "(DT_RELA 0x2040, DT_RELASZ 0xfffffffffffffff0) is not inside a loaded")        \
    X(relasz_without_rela, "DT_RELASZ 0x30 without DT_RELA")                                       \
    X(rela_outside_segments, "(DT_RELA 0x9000, DT_RELASZ 0x30) is not inside a loaded")            \
    X(rela_in_bss, "(DT_RELA 0x3100, DT_RELASZ 0x30) is not inside a loaded segment's file")       \
    X(reloc_type_64, "relocation 1 has unsupported type 1")                                        \
    X(reloc_type_irelative, "relocation 1 has unsupported type 37")                                \
    X(reloc_outside_span, "relocation 0 writes outside writable data (r_offset 0x100000)")         \
    X(reloc_into_rodata, "relocation 0 writes outside writable data (r_offset 0x2000)")            \
    X(reloc_into_text, "relocation 1 writes outside writable data (r_offset 0x1000)")              \
    X(reloc_straddles_end, "relocation 0 writes outside writable data (r_offset 0x4ffc)")

static void check_malformed(void (*mutate)(image *), const char *phrase)
{
    image im;
    hl__elf e;
    memset(&e, 0x5a, sizeof e);
    make_pie(&im);
    mutate(&im);
    CHECK_EQ(parse_image(&im, &e), HL_EELF);
    CHECK_CONTAINS(hl_last_error(), "bad guest ELF: ");
    CHECK_CONTAINS(hl_last_error(), phrase);
    CHECK_U64_EQ(e.span, 0x5a5a5a5a5a5a5a5a); /* *out untouched on failure */
}

#define X_TEST(name, phrase)                                                                       \
    TEST(malformed_##name)                                                                         \
    {                                                                                              \
        check_malformed(m_##name, phrase);                                                         \
    }
MALFORMED(X_TEST)
#undef X_TEST

/* ---- truncation and mutation -------------------------------------------------------------- */
TEST(every_truncation_fails_cleanly)
{
    image im;
    hl__elf e;
    make_pie(&im);
    finish(&im);
    for (size_t n = 0; n <= FILE_LEN + 64; n++) {
        int rc = parse_bytes(im.file, n, &e);
        if (n < FILE_LEN && rc != HL_EELF)
            hl_test_fail(__FILE__, __LINE__, "length %zu: rc %d, expected HL_EELF", n, rc);
        if (n >= FILE_LEN && rc != 0)
            hl_test_fail(__FILE__, __LINE__, "length %zu: rc %d (%s), expected 0", n, rc,
                         hl_last_error());
    }
}

static uint64_t rng_state = 0x9e3779b97f4a7c15;

static uint64_t rng(void)
{
    uint64_t x = rng_state; /* xorshift64*: reproducible on every libc */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng_state = x;
    return x * 0x2545f4914f6cdd1d;
}

static const uint64_t interesting[] = {
    0,
    1,
    7,
    8,
    24,
    0x40,
    0xfff,
    0x1000,
    0x1040,
    0x2040,
    0x3000,
    0x3100,
    0x200000,
    HL_ELF_MAX_SPAN,
    0x7fffffffffffffff,
    0x8000000000000000,
    0xfffffffffffff000,
    0xffffffffffffffe8,
    0xffffffffffffffff,
};

/* Offsets worth hitting: the headers, the dynamic section and the relocations. */
static size_t hot_offset(void)
{
    switch (rng() % 3) {
    case 0:
        return (size_t)(rng() % (PHOFF + 7 * sizeof(Elf64_Phdr)));
    case 1:
        return DATA_OFF + (size_t)(rng() % (NDYN * sizeof(Elf64_Dyn)));
    default:
        return RELA_OFF + (size_t)(rng() % (2 * sizeof(Elf64_Rela)));
    }
}

static void mutate_once(uint8_t *f, size_t *len)
{
    uint64_t v;
    size_t off;
    switch (rng() % 5) {
    case 0: /* flip a bit anywhere */
        if (*len == 0)
            return;
        f[rng() % *len] ^= (uint8_t)(1u << (rng() % 8));
        return;
    case 1: /* a random byte in a hot spot */
        f[hot_offset()] = (uint8_t)rng();
        return;
    case 2: /* a random u64 in a hot spot, at any alignment */
        v = rng();
        break;
    case 3: /* an interesting u64 in a hot spot */
        v = interesting[rng() % (sizeof interesting / sizeof interesting[0])];
        break;
    default: /* cut the file short */
        *len = (size_t)(rng() % (*len + 1));
        return;
    }
    off = hot_offset();
    if (off + 8 <= *len)
        memcpy(f + off, &v, 8);
}

/* What a successful parse promises (src/elf.h), checked on every accepted mutant. */
static void check_invariants(const hl__elf *e, size_t len)
{
    CHECK(e->nsegments >= 1 && e->nsegments <= HL_ELF_MAX_SEGMENTS);
    CHECK(e->span > 0 && e->span <= HL_ELF_MAX_SPAN && e->span % 0x1000 == 0);
    CHECK(e->link_base % 0x1000 == 0);
    CHECK(e->align >= 0x1000 && e->align <= 0x200000 && (e->align & (e->align - 1)) == 0);
    CHECK(e->is_pie || e->link_base >= 0x10000);
    bool entry_ok = false;
    for (size_t k = 0; k < e->nsegments; k++) {
        const hl__elf_segment *s = &e->seg[k];
        CHECK(s->memsz > 0 && s->filesz <= s->memsz && s->offset + s->filesz <= len);
        CHECK(s->offset + s->filesz >= s->offset);
        CHECK(s->vaddr >= e->link_base && s->vaddr - e->link_base + s->memsz <= e->span);
        CHECK(s->prot != 0 && (s->prot & (HL_PROT_W | HL_PROT_X)) != (HL_PROT_W | HL_PROT_X));
        if (k > 0)
            CHECK(((e->seg[k - 1].vaddr + e->seg[k - 1].memsz + 0xfff) & ~0xfffull) <=
                  (s->vaddr & ~0xfffull));
        if ((s->prot & HL_PROT_X) && e->entry >= s->vaddr && e->entry - s->vaddr < s->memsz)
            entry_ok = true;
    }
    CHECK(entry_ok);
    CHECK(e->rela_count <= len / sizeof(Elf64_Rela));
    CHECK(e->rela_offset + e->rela_count * sizeof(Elf64_Rela) <= len);
}

/* A zeroed span-sized buffer with an inaccessible page on each side. */
static uint8_t *guarded_alloc(size_t size)
{
    uint8_t *p =
        mmap(NULL, size + 0x2000, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    CHECK(p != MAP_FAILED);
    CHECK(mprotect(p + 0x1000, size, PROT_READ | PROT_WRITE) == 0);
    return p + 0x1000;
}

static void guarded_free(uint8_t *p, size_t size)
{
    munmap(p - 0x1000, size + 0x2000);
}

TEST(random_mutations_never_crash)
{
    image im;
    make_pie(&im);
    finish(&im);
    int accepted = 0;
    for (int iter = 0; iter < 20000; iter++) {
        uint8_t f[FILE_LEN];
        size_t len = FILE_LEN;
        memcpy(f, im.file, FILE_LEN);
        int n = 1 + (int)(rng() % 4);
        for (int m = 0; m < n; m++)
            mutate_once(f, &len);
        hl__elf e;
        int rc = parse_bytes(f, len, &e);
        if (rc != 0 && rc != HL_EELF)
            hl_test_fail(__FILE__, __LINE__, "iteration %d: rc %d", iter, rc);
        if (rc != 0)
            continue;
        accepted++;
        check_invariants(&e, len);
        uint64_t base = e.is_pie ? (rng() & 0x00007ffffffff000) : e.link_base;
        uint8_t *dst = guarded_alloc(e.span);
        rc = hl__elf_load(&e, f, len, dst, e.span, base);
        if (rc != 0)
            hl_test_fail(__FILE__, __LINE__, "iteration %d: load failed: %s", iter,
                         hl_last_error());
        guarded_free(dst, e.span);
    }
    CHECK(accepted > 100); /* the mutations also exercise the success path */
}

/* ---- the fuzzer's seed corpus ----------------------------------------------------------- */
static int write_file(const char *dir, const char *name, const uint8_t *bytes, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.elf", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || (len && fwrite(bytes, 1, len, f) != len) || fclose(f) != 0) {
        fprintf(stderr, "%s: %s\n", path, strerror(errno));
        return -1;
    }
    return 0;
}

static int write_image(const char *dir, const char *name, image *im)
{
    finish(im);
    return write_file(dir, name, im->file, im->len);
}

static int write_corpus(const char *dir)
{
    static image im;
    int rc = 0;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "%s: %s\n", dir, strerror(errno));
        return 1;
    }
    make_pie(&im);
    rc |= write_image(dir, "valid_pie", &im);
    make_exec(&im);
    rc |= write_image(dir, "valid_exec", &im);
    make_pie(&im);
    finish(&im);
    rc |= write_file(dir, "truncated_half", im.file, FILE_LEN / 2);
#define X_WRITE(name, phrase)                                                                      \
    make_pie(&im);                                                                                 \
    m_##name(&im);                                                                                 \
    rc |= write_image(dir, "malformed_" #name, &im);
    MALFORMED(X_WRITE)
#undef X_WRITE
    return rc ? 1 : 0;
}

/* ---- the list --------------------------------------------------------------------------- */
#define X_ENTRY(name, phrase) TEST_ENTRY(malformed_##name),
static const hl_test tests[] = {
    TEST_ENTRY(pie_parses),
    TEST_ENTRY(pie_with_thread_local_storage_parses),
    TEST_ENTRY(pie_loads_at_two_bases),
    TEST_ENTRY(pie_linked_above_zero_loads_anywhere),
    TEST_ENTRY(exec_parses_and_loads),
    TEST_ENTRY(load_rejects_short_destination),
    TEST_ENTRY(segments_are_sorted_by_vaddr),
    TEST_ENTRY(empty_load_and_unknown_types_are_ignored),
    TEST_ENTRY(none_relocations_are_ignored),
    TEST_ENTRY(limits_are_inclusive),
    TEST_ENTRY(needed_len_stops_at_the_last_loaded_byte_and_the_prefix_parses_the_same),
    TEST_ENTRY(needed_len_is_the_whole_file_when_the_head_cannot_tell),
    MALFORMED(X_ENTRY) TEST_ENTRY(every_truncation_fails_cleanly),
    TEST_ENTRY(random_mutations_never_crash),
};
#undef X_ENTRY

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus(argv[2]);
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

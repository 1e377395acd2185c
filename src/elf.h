/* elf.h: validating and loading guest ELF images (static-PIE ET_DYN and fixed-address ET_EXEC). */
#ifndef HL_SRC_ELF_H
#define HL_SRC_ELF_H

#include <stddef.h>
#include <stdint.h>

#define HL_ELF_MAX_SEGMENTS 16
#define HL_ELF_MAX_SPAN (512ull * 1024 * 1024) /* largest image (first to last loaded byte) */

/* Segment permissions (page granularity). */
#define HL_PROT_R 1u
#define HL_PROT_W 2u
#define HL_PROT_X 4u

typedef struct hl__elf_segment {
    uint64_t vaddr;  /* link-time address of the first byte (p_vaddr) */
    uint64_t memsz;  /* bytes in memory (p_memsz); memsz >= filesz, memsz > 0 */
    uint64_t filesz; /* bytes from the file (p_filesz) */
    uint64_t offset; /* file offset (p_offset); offset + filesz <= file length */
    uint32_t prot;   /* HL_PROT_* from p_flags; never W and X together */
} hl__elf_segment;

typedef struct hl__elf {
    int is_pie;         /* 1 for ET_DYN (relocatable), 0 for ET_EXEC (fixed address) */
    uint64_t link_base; /* lowest segment vaddr rounded down to 4 KiB */
    uint64_t span;      /* bytes from link_base to the highest segment end, rounded up to 4 KiB */
    uint64_t align;     /* largest p_align of the PT_LOADs (power of two, >= 4096, <= 2 MiB) */
    uint64_t entry;     /* e_entry, a link-time address inside an executable segment */
    size_t nsegments;   /* 1..HL_ELF_MAX_SEGMENTS, sorted by vaddr, no two sharing a 4 KiB page */
    hl__elf_segment seg[HL_ELF_MAX_SEGMENTS];
    uint64_t rela_offset; /* file offset of the Elf64_Rela array (0 when none) */
    uint64_t rela_count;  /* number of entries, all R_X86_64_RELATIVE or R_X86_64_NONE */
    /* PT_TLS: the one thread's static TLS block (memsz 0: none). Its initial bytes
     * [tls_vaddr, tls_vaddr + tls_filesz) lie inside a loaded segment's file bytes. */
    uint64_t tls_vaddr, tls_filesz, tls_memsz;
    uint64_t tls_align; /* a power of two, at most HL_ELF_MAX_TLS_ALIGN */
} hl__elf;

#define HL_ELF_MAX_TLS_ALIGN 64 /* the thread pointer's alignment (docs/ABI.md) */
#define HL_ELF_MAX_TLS (16ull * 1024 * 1024)

/* Validates file[0..len) and describes it in *out. Rejects, with HL_EELF and a detail naming the
 * problem ("bad guest ELF: ..."): truncation, wrong class/endianness/machine/version/type, bad
 * header sizes, no PT_LOAD, too many segments, filesz > memsz, ranges past the file, overflowing
 * addresses, segments overlapping or sharing a page, W+X segments, PT_INTERP, a second or bad
 * PT_TLS (alignment over HL_ELF_MAX_TLS_ALIGN, over HL_ELF_MAX_TLS bytes, initial bytes outside
 * the loaded file bytes), dynamic
 * sections needing libraries or other relocation types, a relocation outside the image, an entry
 * outside executable code, spans over HL_ELF_MAX_SPAN. Never reads outside file[0..len). */
int hl__elf_parse(const uint8_t *file, size_t len, hl__elf *out);

/* How many leading bytes of a file_len-byte file hl__elf_parse and hl__elf_load can use, judged
 * from its first head_len bytes (head_len <= file_len): the end of the program header table and
 * of every PT_LOAD and PT_DYNAMIC's file bytes, never less than head_len (debug information and
 * section headers after them are never read).
 * file_len whenever the head cannot tell (too short, not an ELF, the table beyond the head), so
 * the parser then sees the whole file and reports what is wrong with it. Never reads outside
 * head[0..head_len). */
uint64_t hl__elf_needed_len(const uint8_t *head, size_t head_len, uint64_t file_len);

/* Copies the segments of a parsed image into dst[0..dst_len), which the guest will see at
 * load_base (load_base == link_base for ET_EXEC), zero-fills the rest of each segment's memsz and
 * applies the relocations for that base. dst must be zeroed by the caller. Returns 0, or HL_EELF
 * if dst_len < span or a relocation does not fit. */
int hl__elf_load(const hl__elf *elf, const uint8_t *file, size_t len, uint8_t *dst, size_t dst_len,
                 uint64_t load_base);

/* Told that file[off, off + n) has been copied and will not be read again, so its memory can be
 * given back (it never covers the relocation table, which is read last). */
typedef void (*hl__elf_release_fn)(void *user, const uint8_t *file, uint64_t off, uint64_t n);

/* hl__elf_load that copies each segment in chunks of HL_ELF_LOAD_CHUNK bytes and hands each
 * copied chunk to release (when not NULL), so a loader that owns the file's bytes holds at most
 * one chunk of them twice. */
#define HL_ELF_LOAD_CHUNK (1u << 20)
int hl__elf_load_releasing(const hl__elf *elf, const uint8_t *file, size_t len, uint8_t *dst,
                           size_t dst_len, uint64_t load_base, hl__elf_release_fn release,
                           void *user);

#endif

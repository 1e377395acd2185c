/* core.c: ELF core files of a guest, in the form Linux gives a process's (elf(5), core(5)), so
 * that `gdb GUEST.elf CORE` shows the backtrace and variables where it stopped. Guest addresses
 * are identity-mapped, so every PT_LOAD's vaddr is the guest-physical address of its pages. */
#include "core.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/reg.h>
#include <time.h>
#include <unistd.h>

#include "error.h"
#include "fileio.h"
#include "guest_regs.h"
#include "paging.h"
#include "x86.h"

#define CORE_MAX_SEGMENTS 64 /* runs of pages with the same permissions; a guest has ~12 */
#define NOTE_NAME "CORE"
#define NOTES_MAX 2048

typedef struct core_segment {
    uint64_t gpa, size;
    uint32_t flags; /* PF_R | PF_W | PF_X */
} core_segment;

/* PF_* flags of a guest-visible page, 0 for pages CPL3 cannot reach. */
static uint32_t page_flags(uint64_t pte)
{
    if (!(pte & X86_PTE_P) || !(pte & X86_PTE_US))
        return 0;
    return PF_R | ((pte & X86_PTE_RW) ? PF_W : 0) | ((pte & X86_PTE_NX) ? 0 : PF_X);
}

/* The runs of guest-visible pages, by the page tables. Returns their number, or -1 when there are
 * more than CORE_MAX_SEGMENTS. */
static int collect_segments(const hl_sandbox *sb, core_segment *seg)
{
    int n = 0;
    for (hl_gpa gpa = 0; gpa < sb->layout.total; gpa += HL_PAGE) {
        uint32_t f = page_flags(hl__paging_lookup(&sb->mem, &sb->layout, gpa));
        if (!f)
            continue;
        if (n && seg[n - 1].flags == f && seg[n - 1].gpa + seg[n - 1].size == gpa) {
            seg[n - 1].size += HL_PAGE;
            continue;
        }
        if (n == CORE_MAX_SEGMENTS)
            return -1;
        seg[n++] = (core_segment){gpa, HL_PAGE, f};
    }
    return n;
}

/* ---------------------------------------------------------------- notes */

typedef struct notes {
    uint8_t b[NOTES_MAX];
    size_t len;
} notes;

static void add_note(notes *nb, uint32_t type, const void *desc, size_t size)
{
    Elf64_Nhdr h = {.n_namesz = sizeof NOTE_NAME, .n_descsz = (uint32_t)size, .n_type = type};
    size_t name_pad = (sizeof NOTE_NAME + 3) & ~3u, desc_pad = (size + 3) & ~(size_t)3;
    if (nb->len + sizeof h + name_pad + desc_pad > sizeof nb->b)
        return; /* cannot happen: the notes below fit NOTES_MAX */
    uint8_t *p = nb->b + nb->len;
    memset(p, 0, sizeof h + name_pad + desc_pad);
    memcpy(p, &h, sizeof h);
    memcpy(p + sizeof h, NOTE_NAME, sizeof NOTE_NAME);
    memcpy(p + sizeof h + name_pad, desc, size);
    nb->len += sizeof h + name_pad + desc_pad;
}

static void fill_gregs(const hl__vcpu_regs *r, elf_gregset_t g)
{
    static const int gpr_slot[16] = {RAX, RBX, RCX, RDX, RSI, RDI, RBP, RSP,
                                     R8,  R9,  R10, R11, R12, R13, R14, R15};
    for (int i = 0; i < 16; i++)
        g[gpr_slot[i]] = r->gpr[i];
    g[ORIG_RAX] = (unsigned long long)-1;
    g[RIP] = r->rip;
    g[EFLAGS] = r->rflags;
    g[CS] = r->cs, g[SS] = r->ss, g[DS] = r->ds, g[ES] = r->es, g[FS] = r->fs, g[GS] = r->gs;
    g[FS_BASE] = r->fs_base;
    g[GS_BASE] = r->gs_base;
}

static void build_notes(const hl_sandbox *sb, const hl__vcpu_regs *regs, int signo, notes *nb)
{
    struct elf_prstatus st;
    struct elf_prpsinfo ps;
    memset(&st, 0, sizeof st);
    st.pr_info.si_signo = signo;
    st.pr_cursig = (short)signo;
    st.pr_pid = st.pr_ppid = st.pr_pgrp = st.pr_sid = 1;
    fill_gregs(regs, st.pr_reg);
    st.pr_fpvalid = 1;
    memset(&ps, 0, sizeof ps);
    ps.pr_sname = 'R';
    ps.pr_pid = 1;
    memcpy(ps.pr_fname, sb->name, strnlen(sb->name, sizeof ps.pr_fname - 1)); /* truncated */
    snprintf(ps.pr_psargs, sizeof ps.pr_psargs, "%s", sb->name);
    const uint64_t auxv[] = {AT_PAGESZ, HL_PAGE, AT_ENTRY, sb->entry, AT_NULL, 0};
    nb->len = 0;
    add_note(nb, NT_PRSTATUS, &st, sizeof st);
    add_note(nb, NT_PRPSINFO, &ps, sizeof ps);
    add_note(nb, NT_FPREGSET, regs->fxsave, sizeof regs->fxsave);
    add_note(nb, NT_AUXV, auxv, sizeof auxv);
}

/* ---------------------------------------------------------------- the file */

static Elf64_Ehdr core_header(int nphdr)
{
    Elf64_Ehdr h;
    memset(&h, 0, sizeof h);
    memcpy(h.e_ident, ELFMAG, SELFMAG);
    h.e_ident[EI_CLASS] = ELFCLASS64;
    h.e_ident[EI_DATA] = ELFDATA2LSB;
    h.e_ident[EI_VERSION] = EV_CURRENT;
    h.e_ident[EI_OSABI] = ELFOSABI_NONE;
    h.e_type = ET_CORE;
    h.e_machine = EM_X86_64;
    h.e_version = EV_CURRENT;
    h.e_phoff = sizeof h;
    h.e_ehsize = sizeof h;
    h.e_phentsize = sizeof(Elf64_Phdr);
    h.e_phnum = (Elf64_Half)nphdr;
    return h;
}

/* The segments' bytes from `off` on (page aligned), all-zero pages left as holes. */
static int write_memory(int fd, const hl_sandbox *sb, const core_segment *seg, int n, uint64_t off)
{
    for (int i = 0; i < n; i++)
        for (uint64_t p = 0; p < seg[i].size; p += HL_PAGE, off += HL_PAGE) {
            const uint8_t *page = sb->mem.base + seg[i].gpa + p;
            if (!hl__page_is_zero(page) && hl__pwrite_all(fd, page, HL_PAGE, off))
                return -1;
        }
    return ftruncate(fd, (off_t)off);
}

static int write_file(int fd, const hl_sandbox *sb, const core_segment *seg, int n, const notes *nb)
{
    Elf64_Phdr ph[CORE_MAX_SEGMENTS + 1];
    Elf64_Ehdr h = core_header(n + 1);
    uint64_t notes_off = sizeof h + (uint64_t)(n + 1) * sizeof ph[0];
    uint64_t off = (notes_off + nb->len + HL_PAGE - 1) & ~(HL_PAGE - 1);
    memset(ph, 0, sizeof ph);
    ph[0] =
        (Elf64_Phdr){.p_type = PT_NOTE, .p_offset = notes_off, .p_filesz = nb->len, .p_align = 4};
    for (int i = 0; i < n; i++, off += seg[i - 1].size)
        ph[i + 1] = (Elf64_Phdr){.p_type = PT_LOAD,
                                 .p_flags = seg[i].flags,
                                 .p_offset = off,
                                 .p_vaddr = seg[i].gpa,
                                 .p_paddr = seg[i].gpa,
                                 .p_filesz = seg[i].size,
                                 .p_memsz = seg[i].size,
                                 .p_align = HL_PAGE};
    uint64_t mem_off = n ? ph[1].p_offset : off;
    if (hl__pwrite_all(fd, &h, sizeof h, 0) ||
        hl__pwrite_all(fd, ph, (size_t)(n + 1) * sizeof ph[0], sizeof h) ||
        hl__pwrite_all(fd, nb->b, nb->len, notes_off))
        return -1;
    return write_memory(fd, sb, seg, n, mem_off);
}

/* A new file (mode 0600) at path, or with `replace` an existing one truncated (never through a
 * symbolic link). *created says which. */
static int open_core(const char *path, int replace, int *created)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    *created = fd >= 0;
    if (fd < 0 && errno == EEXIST && replace)
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    return fd;
}

static int write_core(hl_sandbox *sb, const char *path, int replace, const hl__vcpu_regs *regs,
                      int signo)
{
    static _Thread_local core_segment seg[CORE_MAX_SEGMENTS];
    static _Thread_local notes nb;
    int n = collect_segments(sb, seg), created;
    if (n < 0)
        return hl__fail(HL_EIO, "core file %s: more than %d memory segments", path,
                        CORE_MAX_SEGMENTS);
    build_notes(sb, regs, signo, &nb);
    int fd = open_core(path, replace, &created);
    if (fd < 0)
        return hl__fail(HL_EIO, "core file %s: %s", path, strerror(errno));
    int bad = write_file(fd, sb, seg, n, &nb);
    int err = errno;
    if (close(fd) && !bad)
        bad = -1, err = errno;
    if (bad) {
        if (created)
            unlink(path);
        return hl__fail(HL_EIO, "core file %s: %s", path, strerror(err));
    }
    return 0;
}

int hl__core_write(hl_sandbox *sb, const char *path, const hl__vcpu_regs *regs, int signo)
{
    return write_core(sb, path, 1, regs, signo);
}

/* ---------------------------------------------------------------- after a failed run */

static int is_crash(int rc)
{
    return rc == HL_EFAULT || rc == HL_ESTACKOVERFLOW || rc == HL_EABORT;
}

/* DIR/NAME.PID.SEQUENCE.YYYYMMDDTHHMMSSZ.core, SEQUENCE counting the process's core files (so
 * two sandboxes never pick one name). 0, or -1 when it does not fit cap. */
static int core_path(const hl_sandbox *sb, char *out, size_t cap)
{
    static uint64_t cores; /* atomic */
    char stamp[32] = "0";
    time_t now = time(NULL);
    struct tm tm;
    if (gmtime_r(&now, &tm))
        strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
    unsigned long long seq = __atomic_add_fetch(&cores, 1, __ATOMIC_RELAXED);
    int n = snprintf(out, cap, "%s/%s.%ld.%llu.%s.core", sb->core_dir, sb->name, (long)getpid(),
                     seq, stamp);
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

int hl__core_after_run(hl_sandbox *sb, int rc)
{
    char why[1024], path[4096];
    hl__vcpu_regs regs;
    if (!sb->core_dir || !is_crash(rc))
        return rc;
    snprintf(why, sizeof why, "%s", hl_last_error());
    int wrc = core_path(sb, path, sizeof path)
                  ? hl__fail(HL_EIO, "the core directory's path is too long")
                  : hl__guest_regs(sb, &regs);
    if (!wrc) /* a new file: never one that is there already */
        wrc = write_core(sb, path, 0, &regs, hl__guest_signal(sb, rc));
    if (wrc) {
        char err[1024];
        snprintf(err, sizeof err, "%s", hl_last_error());
        return hl__fail(rc, "%s (no core file: %s)", why, err);
    }
    return hl__fail(rc, "%s (core file %s)", why, path);
}

/* snapshot_file.c: saving snapshots to files and loading them back (docs/SNAPSHOTS.md). A file is
 * a fixed little-endian header, the two function tables, and the page-aligned memory image (zero
 * pages left as holes). Loading validates every header field, the tables and the host-owned parts
 * of the image (page tables, descriptor tables, PEB, host-function table) and maps the rest. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "cpu.h"
#include "error.h"
#include "hyperlight/abi.h"
#include "fileio.h"
#include "hash.h"
#include "paging.h"
#include "sigtable.h"
#include "snapshot.h"
#include "wire.h"

#define MAGIC "HLSNAP\r\n"
/* 2: the vCPU state holds the XSAVE image (keep check_identity's message in step) */
#define FORMAT_VERSION 2u
#define BACKEND_KVM_X86_64 1u
#define PAGE HL_ABI_PAGE_SIZE
#define MAX_SIGS_LEN (1u << 20)
#define CHECKSUM_SEED 0x534e4150u

/* The header, in file order. Every field is little-endian; see docs/SNAPSHOTS.md. */
typedef struct file_header {
    char magic[8];
    uint32_t format_version, abi_version, header_size, backend, vcpu_state_size, reserved;
    uint64_t guest_id, memory_offset, memory_size;
    uint64_t guest_sigs_offset, guest_sigs_len, host_sigs_offset, host_sigs_len;
    uint64_t stack_size, heap_size, input_size, output_size, time_limit_ms, log_level;
    uint64_t image_gpa, image_size;
    uint8_t cookie[HL_ABI_COOKIE_SIZE];
    uint8_t vcpu[HL_VCPU_STATE_SIZE];
    uint64_t checksum; /* hl__hash64 of the header with this field 0, then both tables */
} file_header;

_Static_assert(sizeof(file_header) == 8 + 24 + 8 * 15 + HL_ABI_COOKIE_SIZE + HL_VCPU_STATE_SIZE + 8,
               "file_header has no padding");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the format is little-endian");

static uint64_t round_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

static uint64_t checksum(const file_header *h, const uint8_t *g, size_t glen, const uint8_t *hs,
                         size_t hlen)
{
    file_header copy = *h;
    copy.checksum = 0;
    uint64_t sum = hl__hash64(&copy, sizeof copy, CHECKSUM_SEED);
    sum = hl__hash64(g, glen, sum);
    return hl__hash64(hs, hlen, sum);
}

/* ---------------------------------------------------------------- saving */

static void fill_header(const hl_snapshot *s, file_header *h)
{
    memset(h, 0, sizeof *h);
    memcpy(h->magic, MAGIC, 8);
    h->format_version = FORMAT_VERSION;
    h->abi_version = HL_ABI_VERSION;
    h->header_size = sizeof *h;
    h->backend = BACKEND_KVM_X86_64;
    h->vcpu_state_size = HL_VCPU_STATE_SIZE;
    h->guest_id = s->guest_id;
    h->guest_sigs_offset = sizeof *h;
    h->guest_sigs_len = s->guest_sigs_len;
    h->host_sigs_offset = h->guest_sigs_offset + s->guest_sigs_len;
    h->host_sigs_len = s->host_sigs_len;
    h->memory_offset = round_up(h->host_sigs_offset + s->host_sigs_len, PAGE);
    h->memory_size = s->size;
    h->stack_size = s->cfg.stack_size;
    h->heap_size = s->cfg.heap_size;
    h->input_size = s->cfg.input_size;
    h->output_size = s->cfg.output_size;
    h->time_limit_ms = s->cfg.time_limit_ms;
    h->log_level = (uint64_t)s->cfg.log_level;
    h->image_gpa = s->layout.r[HL_R_IMAGE].gpa;
    h->image_size = s->layout.r[HL_R_IMAGE].size;
    memcpy(h->cookie, s->cookie, sizeof h->cookie);
    memcpy(h->vcpu, s->cpu.bytes, sizeof h->vcpu);
    h->checksum = checksum(h, s->guest_sigs, s->guest_sigs_len, s->host_sigs, s->host_sigs_len);
}

static int write_file(int fd, const hl_snapshot *s)
{
    file_header h;
    fill_header(s, &h);
    if (ftruncate(fd, (off_t)(h.memory_offset + h.memory_size)) != 0 ||
        hl__pwrite_all(fd, &h, sizeof h, 0) ||
        hl__pwrite_all(fd, s->guest_sigs, s->guest_sigs_len, h.guest_sigs_offset) ||
        hl__pwrite_all(fd, s->host_sigs, s->host_sigs_len, h.host_sigs_offset))
        return -1;
    for (uint64_t off = 0; off < s->size; off += PAGE)
        if (!hl__page_is_zero(s->mem + off) &&
            hl__pwrite_all(fd, s->mem + off, PAGE, h.memory_offset + off))
            return -1;
    return fdatasync(fd);
}

HL_API int hl_snapshot_save(const hl_snapshot *s, const char *path)
{
    hl__clear_error();
    if (!s || !path)
        return hl__fail(HL_EINVAL, "hl_snapshot_save: snapshot and path must not be NULL");
    size_t n = strlen(path) + 16;
    char *tmp = malloc(n);
    if (!tmp)
        return hl__fail(HL_ENOMEM, "out of memory");
    snprintf(tmp, n, "%s.tmpXXXXXX", path);
    int fd = mkostemp(tmp, O_CLOEXEC);
    int rc = fd < 0 ? -1 : write_file(fd, s);
    int err = errno;
    if (fd >= 0)
        close(fd);
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1, err = errno;
    if (rc && fd >= 0)
        unlink(tmp);
    free(tmp);
    return rc ? hl__fail(HL_EIO, "cannot write snapshot '%s': %s", path, strerror(err)) : 0;
}

/* ---------------------------------------------------------------- loading */

static int bad(const char *path, const char *why)
{
    return hl__fail(HL_ESNAPSHOT, "bad snapshot file '%s': %s", path, why);
}

static int in_file(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

static const char *check_identity(const file_header *h)
{
    if (memcmp(h->magic, MAGIC, 8) != 0)
        return "not a hyperlight snapshot (bad magic)";
    if (h->format_version != FORMAT_VERSION)
        return "unsupported format version (this library reads version 2)";
    if (h->abi_version != HL_ABI_VERSION)
        return "taken with another guest ABI version";
    if (h->header_size != sizeof *h || h->vcpu_state_size != HL_VCPU_STATE_SIZE ||
        h->backend != BACKEND_KVM_X86_64 || h->reserved != 0)
        return "header size, vCPU state size, backend or reserved field differs from this "
               "library's";
    return NULL;
}

static const char *check_extents(const file_header *h, uint64_t file_size)
{
    if (h->guest_sigs_offset != sizeof *h || h->guest_sigs_len > MAX_SIGS_LEN ||
        h->host_sigs_len > MAX_SIGS_LEN ||
        h->host_sigs_offset != h->guest_sigs_offset + h->guest_sigs_len)
        return "function tables are misplaced or too large";
    if (h->memory_offset % PAGE || h->memory_offset < h->host_sigs_offset + h->host_sigs_len ||
        h->memory_offset > h->host_sigs_offset + h->host_sigs_len + PAGE)
        return "memory image offset is misplaced";
    if (h->memory_size % PAGE || h->memory_size == 0 || h->memory_size > HL_MAX_GUEST_MEMORY)
        return "memory image size is out of range";
    if (!in_file(h->memory_offset, h->memory_size, file_size))
        return "file is truncated (memory image extends past its end)";
    return NULL;
}

static int read_tables(int fd, const char *path, const file_header *h, hl_snapshot *s)
{
    s->guest_sigs = malloc(h->guest_sigs_len + 1);
    s->host_sigs = malloc(h->host_sigs_len + 1);
    if (!s->guest_sigs || !s->host_sigs)
        return hl__fail(HL_ENOMEM, "out of memory loading '%s'", path);
    s->guest_sigs_len = h->guest_sigs_len;
    s->host_sigs_len = h->host_sigs_len;
    if (hl__pread_all(fd, s->guest_sigs, s->guest_sigs_len, h->guest_sigs_offset) ||
        hl__pread_all(fd, s->host_sigs, s->host_sigs_len, h->host_sigs_offset))
        return bad(path, "file is truncated (function tables)");
    if (checksum(h, s->guest_sigs, s->guest_sigs_len, s->host_sigs, s->host_sigs_len) !=
        h->checksum)
        return bad(path, "checksum mismatch (the header or tables are corrupted)");
    hl__sigtable t = {0};
    const char *why = NULL;
    int ok = hl__sigtable_decode(&s->fns, s->guest_sigs, s->guest_sigs_len, &why) == 0;
    if (ok)
        ok = hl__sigtable_decode(&t, s->host_sigs, s->host_sigs_len, &why) == 0;
    hl__sigtable_free(&t);
    return ok ? 0 : bad(path, why);
}

static int adopt_header(const char *path, const file_header *h, hl_snapshot *s)
{
    hl_config_init(&s->cfg);
    s->cfg.stack_size = h->stack_size;
    s->cfg.heap_size = h->heap_size;
    s->cfg.input_size = h->input_size;
    s->cfg.output_size = h->output_size;
    s->cfg.memory_limit = HL_MAX_GUEST_MEMORY; /* a sandbox made from it applies its own */
    s->cfg.time_limit_ms = h->time_limit_ms > HL_MAX_TIME_LIMIT_MS ? 0 : (uint32_t)h->time_limit_ms;
    s->cfg.log_level = h->log_level > HL_LOG_TRACE ? HL_LOG_OFF : (hl_log_level)h->log_level;
    if (h->stack_size > HL_MAX_STACK_SIZE || h->heap_size > HL_MAX_HEAP_SIZE ||
        h->input_size > HL_MAX_BUFFER_SIZE || h->output_size > HL_MAX_BUFFER_SIZE ||
        hl__config_check(&s->cfg))
        return bad(path, "configuration out of range");
    if (hl__layout_build(&s->cfg, h->image_gpa, h->image_size, &s->layout) ||
        s->layout.total != h->memory_size)
        return bad(path, "layout does not match the memory size");
    hl__cpu_init expect;
    const char *why = NULL;
    memcpy(s->cpu.bytes, h->vcpu, sizeof s->cpu.bytes);
    hl__cpu_initial_state(&s->layout, 0, &expect);
    if (hl__vcpu_state_check(&s->cpu, &expect, &why))
        return bad(path, why);
    s->size = h->memory_size;
    s->guest_id = h->guest_id;
    s->entry = s->layout.r[HL_R_IMAGE].gpa; /* the file does not say; hl-cc guests start there, */
    s->load_bias = s->entry;                /* linked at 0 */
    memcpy(s->cookie, h->cookie, sizeof s->cookie);
    return 0;
}

/* The parts of the image the host wrote must be exactly what the host would write. */
static int check_image(const char *path, hl_snapshot *s)
{
    const char *why = NULL;
    const hl__region *fns = &s->layout.r[HL_R_HOST_FNS];
    uint64_t len;
    memcpy(&len, s->mem + fns->gpa, 8);
    if (hl__paging_check(s->mem, &s->layout, &why) ||
        hl__cpu_check_tables(s->mem, &s->layout, &why))
        return bad(path, why);
    if (len > fns->size - 8 || len != s->host_sigs_len ||
        memcmp(s->mem + fns->gpa + 8, s->host_sigs, len) != 0)
        return bad(path, "host-function table in memory differs from the header's");
    hl_abi_peb peb;
    memcpy(&peb, s->mem + s->layout.r[HL_R_PEB].gpa, sizeof peb);
    if (peb.magic != HL_ABI_PEB_MAGIC || peb.abi_version != HL_ABI_VERSION ||
        peb.input.gpa != s->layout.r[HL_R_INPUT].gpa ||
        peb.heap.gpa != s->layout.r[HL_R_HEAP].gpa ||
        peb.stack.gpa != s->layout.r[HL_R_STACK].gpa ||
        peb.stack.size != s->layout.r[HL_R_STACK].size)
        return bad(path, "PEB differs from the layout");
    return 0;
}

/* Copies the host-owned ranges of the image (PEB + host-function table; system area + page
 * tables) into a sealed memfd. They are checked there and mapped over the file for everyone, so
 * writing the file after the load cannot undo the checks; the rest is guest data, mapped as is. */
static int copy_host_ranges(int fd, const char *path, uint64_t image_offset, hl_snapshot *s)
{
    const hl__layout *l = &s->layout;
    s->overlay[0].gpa = l->r[HL_R_PEB].gpa;
    s->overlay[0].size = l->r[HL_R_HOST_FNS].gpa + l->r[HL_R_HOST_FNS].size - s->overlay[0].gpa;
    s->overlay[1].gpa = l->r[HL_R_SYSTEM].gpa;
    s->overlay[1].size = l->total - s->overlay[1].gpa;
    s->overlay_fd = memfd_create("hyperlight-snapshot-host", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    uint64_t total = s->overlay[0].size + s->overlay[1].size;
    uint8_t *buf = malloc(total);
    int rc = s->overlay_fd < 0 || !buf ||
             hl__pread_all(fd, buf, s->overlay[0].size, image_offset + s->overlay[0].gpa) ||
             hl__pread_all(fd, buf + s->overlay[0].size, s->overlay[1].size,
                           image_offset + s->overlay[1].gpa) ||
             pwrite(s->overlay_fd, buf, total, 0) != (ssize_t)total;
    free(buf);
    if (rc)
        return hl__fail(HL_EIO, "cannot copy the host-owned pages of '%s': %s", path,
                        strerror(errno));
    fcntl(s->overlay_fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    return 0;
}

static int load(int fd, const char *path, hl_snapshot *s)
{
    struct stat st;
    file_header h;
    const char *why;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return hl__fail(HL_EIO, "snapshot '%s' is not a regular file", path);
    if ((uint64_t)st.st_size < sizeof h || hl__pread_all(fd, &h, sizeof h, 0))
        return bad(path, "file is truncated (header)");
    if ((why = check_identity(&h)) || (why = check_extents(&h, (uint64_t)st.st_size)))
        return bad(path, why);
    int rc = read_tables(fd, path, &h, s);
    if (!rc)
        rc = adopt_header(path, &h, s);
    if (rc)
        return rc;
    if ((rc = copy_host_ranges(fd, path, h.memory_offset, s)))
        return rc;
    s->fd_offset = h.memory_offset;
    s->mem = hl__snapshot_map(s, NULL, PROT_READ);
    if (!s->mem)
        return hl__fail(HL_ENOMEM, "cannot map snapshot '%s': %s", path, strerror(errno));
    return check_image(path, s);
}

HL_API int hl_snapshot_load(const char *path, hl_snapshot **out)
{
    hl__clear_error();
    if (!path || !out)
        return hl__fail(HL_EINVAL, "hl_snapshot_load: path and out must not be NULL");
    hl_snapshot *s = hl__snapshot_alloc();
    if (!s)
        return hl__fail(HL_ENOMEM, "out of memory loading '%s'", path);
    /* O_NONBLOCK: opening a FIFO must not block (regular files ignore it; load() refuses FIFOs) */
    s->fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    int rc = s->fd < 0 ? hl__fail(HL_EIO, "cannot open snapshot '%s': %s", path, strerror(errno))
                       : load(s->fd, path, s);
    if (rc) {
        hl_snapshot_release(s);
        return rc;
    }
    *out = s;
    return 0;
}

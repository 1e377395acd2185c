/* test_snapshot_files.c: snapshot files: save/load round trips (in this process and in a fresh
 * one), host-function tables, atomic saves and I/O errors, a corpus of damaged and hostile files
 * each rejected with its exact code and reason, and a seeded mutation run that must never crash
 * the host. `kvm_test_snapshot_files --write-corpus DIR` writes the good file and the damaged
 * variants marked for the fuzzing corpus to DIR/NAME.hls (tests/fuzz/corpus/snapshot/). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/kvm.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hyperlight/abi.h>

#include "kvm_common.h"

/* Internal (src/hash.c) but linkable from libhyperlight.a: the file checksum is built on it. */
uint64_t hl__hash64(const void *p, size_t n, uint64_t seed);

/* ------------------------------------------------------------------------------------------ */
/* The file format, re-stated independently of src/snapshot_file.c so that a change to it shows
 * up here: a little-endian header, the guest's and the host's SIGS tables right after it, then
 * the memory image at the next page boundary (zero pages are holes). */
#define PAGE 4096u
#define VCPU_BYTES 4608u
#define CHECKSUM_SEED 0x534e4150u
#define MAX_SIGS_LEN (1u << 20)
#define NO_CUT UINT64_MAX

typedef struct file_header {
    char magic[8];
    uint32_t format_version, abi_version, header_size, backend, vcpu_state_size, reserved;
    uint64_t guest_id, memory_offset, memory_size;
    uint64_t guest_sigs_offset, guest_sigs_len, host_sigs_offset, host_sigs_len;
    uint64_t stack_size, heap_size, input_size, output_size, time_limit_ms, log_level;
    uint64_t image_gpa, image_size;
    uint8_t cookie[HL_ABI_COOKIE_SIZE];
    uint8_t vcpu[VCPU_BYTES];
    uint64_t checksum; /* hl__hash64 of the header with this field 0, then both tables */
} file_header;

#define OFF(field) offsetof(file_header, field)
_Static_assert(sizeof(file_header) == 4784, "file_header size");
_Static_assert(OFF(guest_id) == 32 && OFF(cookie) == 152 && OFF(vcpu) == 168, "header offsets");
_Static_assert(OFF(checksum) == 4776, "checksum offset");

/* The vCPU bytes: struct kvm_regs, kvm_sregs, kvm_xsave in that order (vmm_kvm_state.h), zeros
 * after them. */
typedef struct vcpu_state {
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xsave xsave;
} vcpu_state;
#define XSAVE_MXCSR 24
#define XSAVE_FCW 0
#define XSAVE_XSTATE_BV 512
_Static_assert(sizeof(vcpu_state) <= VCPU_BYTES, "vcpu_state fits the header");

/* x86 page-table bits (SDM vol. 3 4.5) and RFLAGS bits (SDM vol. 1 3.4.3). */
#define PTE_P 0x1ull
#define PTE_RW 0x2ull
#define PTE_US 0x4ull
#define PTE_NX (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull
#define RFLAGS_IF 0x200ull
#define RFLAGS_IOPL3 0x3000ull
#define PEB_GPA 0x1000u /* page 0 is unmapped, the PEB is the first page (src/layout.c) */

/* A snapshot file taken apart: header, tables and the whole memory image. */
typedef struct snapfile {
    file_header h;
    uint8_t *g, *hs, *mem;
    size_t glen, hlen, memlen;
    uint64_t cut; /* length to truncate the written file to, NO_CUT for none */
} snapfile;

static uint64_t round_up(uint64_t x, uint64_t a)
{
    return (x + a - 1) & ~(a - 1);
}

/* Exactly what src/snapshot_file.c computes. */
static uint64_t file_checksum(const snapfile *f)
{
    file_header copy = f->h;
    copy.checksum = 0;
    uint64_t sum = hl__hash64(&copy, sizeof copy, CHECKSUM_SEED);
    sum = hl__hash64(f->g, f->glen, sum);
    return hl__hash64(f->hs, f->hlen, sum);
}

static void fix_checksum(snapfile *f)
{
    f->h.checksum = file_checksum(f);
}

/* Sets the offsets and lengths from the parts, as the library lays a file out. */
static void relayout(snapfile *f)
{
    f->h.guest_sigs_offset = sizeof f->h;
    f->h.guest_sigs_len = f->glen;
    f->h.host_sigs_offset = sizeof f->h + f->glen;
    f->h.host_sigs_len = f->hlen;
    f->h.memory_offset = round_up(sizeof f->h + f->glen + f->hlen, PAGE);
    f->h.memory_size = f->memlen;
}

static uint8_t *read_at(int fd, uint64_t off, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    CHECK_EQ(pread(fd, p, n, (off_t)off), (long long)n);
    return p;
}

/* Reads a file the library saved (so trusted here, but sanity-checked). */
static void snap_read(const char *path, snapfile *f)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    memset(f, 0, sizeof *f);
    CHECK_EQ(pread(fd, &f->h, sizeof f->h, 0), (long long)sizeof f->h);
    CHECK_MEMEQ(f->h.magic, "HLSNAP\r\n", 8);
    CHECK_EQ(f->h.header_size, sizeof f->h);
    CHECK_EQ(f->h.guest_sigs_offset, sizeof f->h);
    f->glen = f->h.guest_sigs_len;
    f->hlen = f->h.host_sigs_len;
    f->memlen = f->h.memory_size;
    f->g = read_at(fd, f->h.guest_sigs_offset, f->glen);
    f->hs = read_at(fd, f->h.host_sigs_offset, f->hlen);
    f->mem = read_at(fd, f->h.memory_offset, f->memlen);
    f->cut = NO_CUT;
    close(fd);
    CHECK_U64_EQ(file_checksum(f), f->h.checksum); /* our checksum is the library's */
}

static uint8_t *dup_bytes(const uint8_t *p, size_t n)
{
    uint8_t *q = malloc(n ? n : 1);
    CHECK(q != NULL);
    memcpy(q, p, n);
    return q;
}

static void snap_copy(snapfile *dst, const snapfile *src)
{
    *dst = *src;
    dst->g = dup_bytes(src->g, src->glen);
    dst->hs = dup_bytes(src->hs, src->hlen);
    dst->mem = dup_bytes(src->mem, src->memlen);
}

static void snap_free(snapfile *f)
{
    free(f->g);
    free(f->hs);
    free(f->mem);
    memset(f, 0, sizeof *f);
}

static int page_is_zero(const uint8_t *p)
{
    for (unsigned i = 0; i < PAGE; i++)
        if (p[i])
            return 0;
    return 1;
}

static void write_at(int fd, const void *p, size_t n, uint64_t off)
{
    CHECK_EQ(pwrite(fd, p, n, (off_t)off), (long long)n);
}

/* Writes the parts at their natural places whatever the header says (so that a header field set
 * to an absurd value is the only defect), zero pages as holes, then applies f->cut. */
static void snap_write(const snapfile *f, const char *path)
{
    uint64_t goff = sizeof f->h, hoff = goff + f->glen, moff = round_up(hoff + f->hlen, PAGE);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    CHECK_EQ(ftruncate(fd, (off_t)(moff + f->memlen)), 0);
    write_at(fd, &f->h, sizeof f->h, 0);
    write_at(fd, f->g, f->glen, goff);
    write_at(fd, f->hs, f->hlen, hoff);
    for (size_t off = 0; off + PAGE <= f->memlen; off += PAGE)
        if (!page_is_zero(f->mem + off))
            write_at(fd, f->mem + off, PAGE, moff + off);
    if (f->cut != NO_CUT)
        CHECK_EQ(ftruncate(fd, (off_t)f->cut), 0);
    close(fd);
}

/* ---- the layout of a good image. The vCPU state is the most robust source: the loader
 * requires CR3, GDTR and IDTR to be exactly the layout's, so in a good file they name the PML4,
 * GDT and IDT; the exception stub is where IDT gate 0 points; the PEB (first page after the
 * unmapped page 0) gives every region, and page-table entries are found by walking from CR3
 * like the MMU does, without re-deriving src/layout.c's arithmetic. ---- */
typedef struct sysinfo {
    uint64_t pml4, gdt, idt, stub, text;
    hl_abi_peb peb;
} sysinfo;

static vcpu_state vcpu_get(const snapfile *f)
{
    vcpu_state v;
    memcpy(&v, f->h.vcpu, sizeof v);
    return v;
}

static void vcpu_put(snapfile *f, const vcpu_state *v)
{
    memcpy(f->h.vcpu, v, sizeof *v);
}

static uint64_t mem_u64(const snapfile *f, uint64_t gpa)
{
    uint64_t v;
    CHECK(gpa + 8 <= f->memlen);
    memcpy(&v, f->mem + gpa, 8);
    return v;
}

static void mem_set_u64(snapfile *f, uint64_t gpa, uint64_t v)
{
    CHECK(gpa + 8 <= f->memlen);
    memcpy(f->mem + gpa, &v, 8);
}

/* Where the leaf entry mapping gpa is (a guest address inside the page tables). */
static uint64_t pte_gpa(const snapfile *f, uint64_t gpa)
{
    uint64_t table = vcpu_get(f).sregs.cr3;
    for (int level = 3; level >= 1; level--) {
        uint64_t e = mem_u64(f, table + 8 * ((gpa >> (12 + 9 * level)) & 511));
        CHECK(e & PTE_P);
        table = e & PTE_ADDR;
    }
    return table + 8 * ((gpa >> 12) & 511);
}

static void sys_of(const snapfile *f, sysinfo *si)
{
    vcpu_state v = vcpu_get(f);
    memset(si, 0, sizeof *si);
    si->pml4 = v.sregs.cr3;
    si->gdt = v.sregs.gdt.base;
    si->idt = v.sregs.idt.base;
    uint64_t lo = mem_u64(f, si->idt), hi = mem_u64(f, si->idt + 8);
    si->stub = ((lo & 0xffff) | ((lo >> 32) & 0xffff0000) | (hi << 32)) & ~(uint64_t)(PAGE - 1);
    memcpy(&si->peb, f->mem + PEB_GPA, sizeof si->peb);
    CHECK_U64_EQ(si->peb.magic, HL_ABI_PEB_MAGIC);
    CHECK_U64_EQ(si->peb.image.gpa, f->h.image_gpa);
    CHECK(si->pml4 > si->peb.stack.gpa && si->pml4 < f->memlen);
    /* the first executable image page: its entry is present, user and not NX */
    for (uint64_t g = si->peb.image.gpa; g < si->peb.image.gpa + si->peb.image.size; g += PAGE) {
        uint64_t e = mem_u64(f, pte_gpa(f, g));
        if ((e & PTE_P) && !(e & PTE_NX)) {
            si->text = g;
            break;
        }
    }
    CHECK(si->text != 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Paths, guests, configs. */
static char self_exe[PATH_MAX];
static char work_dir[PATH_MAX] = "";

/* A path in this run's scratch directory (made by main, removed at the end). */
static const char *tmp_path(const char *name)
{
    static char path[8][PATH_MAX];
    static int next;
    char *p = path[next++ % 8];
    int n = snprintf(p, PATH_MAX, "%s/%s", work_dir, name);
    CHECK(n > 0 && n < PATH_MAX);
    return p;
}

static const char *guest_file(const char *name)
{
    static char path[PATH_MAX];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests", name);
}

/* Small sizes keep the image small: 16 KiB stack, 64 KiB heap, 4 KiB buffers. */
static hl_config small_config(void)
{
    hl_config c;
    hl_config_init(&c);
    c.stack_size = 16 * 1024;
    c.heap_size = 64 * 1024;
    c.input_size = 4 * 1024;
    c.output_size = 4 * 1024;
    c.time_limit_ms = 2000;
    return c;
}

static int host_weekday(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_str("Caturday");
    return 0;
}

typedef struct echo_seen {
    int calls;
    char text[256];
} echo_seen;

static int host_echo(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    echo_seen *s = user;
    (void)nargs;
    snprintf(s->text, sizeof s->text, "%s", args[0].as.str.ptr);
    s->calls++;
    *ret = hl_str(s->text);
    return 0;
}

static int host_echo_i32(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(0);
    return 0;
}

static hl_snapshot *snapshot_of(hl_sandbox *sb)
{
    hl_snapshot *s = NULL;
    CHECK_OK(hl_sandbox_snapshot(sb, &s));
    return s;
}

static hl_snapshot *load_ok(const char *path)
{
    hl_snapshot *s = NULL;
    CHECK_OK(hl_snapshot_load(path, &s));
    CHECK(s != NULL);
    return s;
}

/* The corpus guest: the example guest (small image) given one host function, GetWeekday, so the
 * file has both tables and a host-function table in memory. Saved to path. */
static void save_corpus_guest(const char *path)
{
    hl_config cfg = small_config();
    hl_sandbox *sb = NULL;
    require_kvm();
    CHECK_OK(hl_sandbox_new(&cfg, guest_file("hello_guest.elf"), &sb));
    CHECK_OK(hl_sandbox_register(sb, "GetWeekday", HL_TYPE_STRING, NULL, 0, host_weekday, NULL));
    CHECK_OK(hl_sandbox_init(sb));
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, path));
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* Runs a loaded corpus-guest snapshot: register, init, SayHello. Returns the call's code. */
static int run_corpus_guest(hl_snapshot *s, char *out, size_t cap)
{
    hl_config cfg = small_config();
    hl_sandbox *sb = NULL;
    hl_value r = {HL_TYPE_VOID, {0}};
    int rc = hl_sandbox_new_from_snapshot(&cfg, s, &sb);
    if (!rc)
        rc = hl_sandbox_register(sb, "GetWeekday", HL_TYPE_STRING, NULL, 0, host_weekday, NULL);
    if (!rc)
        rc = hl_sandbox_init(sb);
    if (!rc)
        rc = hl_sandbox_call(sb, "SayHello", HL_ARGS(hl_str("file")), &r);
    if (!rc && r.type == HL_TYPE_STRING)
        snprintf(out, cap, "%.*s", (int)r.as.str.len, r.as.str.ptr);
    hl_sandbox_destroy(sb);
    return rc;
}

/* ------------------------------------------------------------------------------------------ */
/* Round trips. */

/* A few results that depend on the guest's state, one per line. */
static void describe(hl_sandbox *sb, char *out, size_t cap)
{
    hl_value r;
    size_t n = 0;
    r = CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0);
    n += (size_t)snprintf(out + n, cap - n, "GetStatic=%d\n", r.as.i32);
    r = CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("snapshot \xe2\x9c\x93")));
    n += (size_t)snprintf(out + n, cap - n, "Echo=%.*s\n", (int)r.as.str.len, r.as.str.ptr);
    r = CALL_OK(sb, HL_TYPE_I64, "Sum16",
                HL_ARGS(hl_i32(1), hl_i32(2), hl_i32(3), hl_i32(4), hl_i32(5), hl_i32(6), hl_i32(7),
                        hl_i32(8), hl_i32(9), hl_i32(10), hl_i32(11), hl_i32(12), hl_i32(13),
                        hl_i32(14), hl_i32(15), hl_i32(-16)));
    n += (size_t)snprintf(out + n, cap - n, "Sum16=%lld\n", (long long)r.as.i64);
    r = CALL_OK(sb, HL_TYPE_F64, "EchoDouble", HL_ARGS(hl_f64(-0.1)));
    n += (size_t)snprintf(out + n, cap - n, "EchoDouble=%a\n", r.as.f64);
    r = CALL_OK(sb, HL_TYPE_U64, "PebRegion", HL_ARGS(hl_i32(4)));
    n += (size_t)snprintf(out + n, cap - n, "heap=0x%llx\n", (unsigned long long)r.as.u64);
    r = CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1)));
    n += (size_t)snprintf(out + n, cap - n, "AddToStatic=%d\n", r.as.i32);
    CHECK(n < cap);
}

/* simpleguest (small config) after AddToStatic(41), saved to path. */
static hl_snapshot *save_static_41(const char *path, hl_sandbox **sb_out)
{
    hl_config cfg = small_config();
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(41))).as.i32, 41);
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, path));
    *sb_out = sb;
    return s;
}

TEST(snapshot_file_round_trip_keeps_state_and_restores)
{
    const char *path = tmp_path("roundtrip.hls");
    hl_config cfg = small_config();
    hl_sandbox *orig = NULL, *from_mem = NULL, *from_file = NULL;
    char want[512], got[512];
    hl_snapshot *s = save_static_41(path, &orig);
    hl_snapshot *loaded = load_ok(path);

    /* the loaded snapshot answers exactly like the one in memory */
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, s, &from_mem));
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &from_file));
    describe(from_mem, want, sizeof want);
    describe(from_file, got, sizeof got);
    CHECK_STREQ(got, want);
    CHECK_CONTAINS(got, "GetStatic=41\n");
    CHECK_CONTAINS(got, "Echo=snapshot \xe2\x9c\x93\n");

    /* restoring the loaded snapshot into the sandbox made from it */
    CHECK_EQ(CALL_OK(from_file, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(100))).as.i32, 142);
    CHECK_OK(hl_sandbox_restore(from_file, loaded));
    CHECK_EQ(CALL_OK(from_file, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 41);
    CHECK_STR_VALUE(CALL_OK(from_file, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("again"))), "again");

    /* ... into a sandbox freshly made from the same ELF and config (same guest_id) ... */
    hl_sandbox *fresh = ready_sandbox(&cfg);
    CHECK_EQ(CALL_OK(fresh, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 0);
    CHECK_OK(hl_sandbox_restore(fresh, loaded));
    describe(fresh, got, sizeof got);
    CHECK_STREQ(got, want);

    /* ... and back into the sandbox it was taken from */
    CHECK_OK(hl_sandbox_restore(orig, loaded));
    CHECK_EQ(CALL_OK(orig, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 41);

    /* another config is another layout: restore refuses it */
    hl_config other = cfg;
    other.heap_size *= 2;
    hl_sandbox *different = ready_sandbox(&other);
    CHECK_RC(hl_sandbox_restore(different, loaded), HL_EMISMATCH);
    CHECK_ERROR_HAS("another guest ELF or configuration");

    hl_sandbox_destroy(different);
    hl_sandbox_destroy(fresh);
    hl_sandbox_destroy(from_file);
    hl_sandbox_destroy(from_mem);
    hl_sandbox_destroy(orig);
    hl_snapshot_release(loaded);
    hl_snapshot_release(s);
}

/* `--load-and-call PATH` (run by the test below in a fresh process): load, create, describe. */
static int load_and_call_main(const char *path)
{
    hl_snapshot *s = NULL;
    hl_sandbox *sb = NULL;
    hl_config cfg = small_config();
    char out[512];
    if (hl_snapshot_load(path, &s) || hl_sandbox_new_from_snapshot(&cfg, s, &sb)) {
        fprintf(stderr, "child: %s\n", hl_last_error());
        return 2;
    }
    describe(sb, out, sizeof out);
    fputs(out, stdout);
    hl_sandbox_destroy(sb);
    hl_snapshot_release(s);
    return 0;
}

TEST(snapshot_file_loads_in_a_fresh_process)
{
    const char *path = tmp_path("fresh.hls");
    hl_config cfg = small_config();
    hl_sandbox *orig = NULL, *from_mem = NULL;
    char want[512], got[512] = "";
    hl_snapshot *s = save_static_41(path, &orig);
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, s, &from_mem));
    describe(from_mem, want, sizeof want);

    int out[2];
    CHECK_EQ(pipe(out), 0);
    fflush(NULL);
    pid_t pid = fork();
    CHECK(pid >= 0);
    if (pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(self_exe, self_exe, "--load-and-call", path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    size_t n = 0;
    ssize_t r;
    while ((r = read(out[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)r;
    got[n] = '\0';
    close(out[0]);
    int status = 0;
    CHECK_EQ(waitpid(pid, &status, 0), pid);
    CHECK(WIFEXITED(status));
    CHECK_EQ(WEXITSTATUS(status), 0);
    CHECK_STREQ(got, want);
    CHECK_CONTAINS(got, "GetStatic=41\nEcho=snapshot \xe2\x9c\x93\nSum16=");

    hl_sandbox_destroy(from_mem);
    hl_sandbox_destroy(orig);
    hl_snapshot_release(s);
}

/* ------------------------------------------------------------------------------------------ */
/* Host functions travel with the file: a sandbox made from it needs the same ones. */
static void register_host_echo(hl_sandbox *sb, echo_seen *seen)
{
    CHECK_OK(hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, seen));
}

TEST(snapshot_file_keeps_the_host_function_table)
{
    const char *path = tmp_path("hostfns.hls");
    hl_config cfg = small_config();
    echo_seen seen = {0};
    hl_sandbox *sb = new_sandbox(&cfg);
    register_host_echo(sb, &seen);
    CHECK_OK(hl_sandbox_init(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("a"))), "a");
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(5))).as.i32, 5);
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, path));
    hl_snapshot *loaded = load_ok(path);

    /* not callable before hl_sandbox_init has checked the host functions */
    hl_sandbox *d = NULL;
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    CALL_FAILS(d, HL_ESTATE, "GetStatic", NULL, 0);
    CHECK_ERROR_HAS("not initialised");
    /* HostEcho with another signature */
    CHECK_OK(hl_sandbox_register(d, "HostEcho", HL_TYPE_I32, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo_i32, NULL));
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH);
    CHECK_ERROR_HAS("registered host functions differ");
    hl_sandbox_destroy(d);

    /* none at all, or one too many */
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH);
    hl_sandbox_destroy(d);
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    register_host_echo(d, &seen);
    CHECK_OK(hl_sandbox_register(d, "HostEcho2", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo, &seen));
    CHECK_RC(hl_sandbox_init(d), HL_EMISMATCH);
    hl_sandbox_destroy(d);

    /* the same one: works, and the guest's calls reach it */
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    register_host_echo(d, &seen);
    CHECK_OK(hl_sandbox_init(d));
    CHECK_EQ(CALL_OK(d, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 5);
    int before = seen.calls;
    CHECK_STR_VALUE(CALL_OK(d, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("from file"))),
                    "from file");
    CHECK_EQ(seen.calls, before + 1);
    CHECK_STREQ(seen.text, "from file");
    hl_sandbox_destroy(d);

    /* restore into fresh sandboxes: only one given the same host functions fits */
    hl_sandbox *bare = ready_sandbox(&cfg);
    CHECK_RC(hl_sandbox_restore(bare, loaded), HL_EMISMATCH);
    CHECK_ERROR_HAS("other host functions");
    hl_sandbox *same = new_sandbox(&cfg);
    register_host_echo(same, &seen);
    CHECK_OK(hl_sandbox_init(same));
    CHECK_OK(hl_sandbox_restore(same, loaded));
    CHECK_EQ(CALL_OK(same, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 5);

    hl_sandbox_destroy(same);
    hl_sandbox_destroy(bare);
    hl_snapshot_release(loaded);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------------------------ */
/* Saving: atomic replace, I/O errors, bad arguments. */

static int compare_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

/* The names in dir, sorted, joined by spaces. */
static void list_dir(const char *dir, char *out, size_t cap)
{
    char names[32][NAME_MAX + 1];
    int n = 0;
    DIR *d = opendir(dir);
    CHECK(d != NULL);
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && n < 32)
            snprintf(names[n++], sizeof names[0], "%s", e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], compare_names);
    out[0] = '\0';
    for (int i = 0; i < n; i++)
        snprintf(out + strlen(out), cap - strlen(out), "%s%s", i ? " " : "", names[i]);
}

static void write_text(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(fd >= 0);
    write_at(fd, text, strlen(text), 0);
    close(fd);
}

TEST(snapshot_file_save_replaces_atomically_and_leaves_no_temp_files)
{
    char dir[PATH_MAX], path[PATH_MAX + 16], link_path[PATH_MAX + 16], names[512];
    snprintf(dir, sizeof dir, "%s", tmp_path("atomic"));
    CHECK_EQ(mkdir(dir, 0755), 0);
    snprintf(path, sizeof path, "%s/snap.hls", dir);
    snprintf(link_path, sizeof link_path, "%s/old.hls", dir);
    write_text(path, "old contents");
    CHECK_EQ(link(path, link_path), 0);
    int old_fd = open(path, O_RDONLY | O_CLOEXEC);
    CHECK(old_fd >= 0);

    hl_config cfg = small_config();
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, path));
    struct stat st;
    CHECK_EQ(stat(path, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600); /* the image holds guest data */
    /* replaced by rename: the old inode (open fd, hard link) still holds the old bytes */
    char buf[32] = "";
    CHECK_EQ(pread(old_fd, buf, sizeof buf - 1, 0), 12);
    CHECK_STREQ(buf, "old contents");
    close(old_fd);
    hl_snapshot_release(load_ok(path));

    /* saving again over a snapshot, then a later state */
    CHECK_OK(hl_snapshot_save(s, path));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(7))).as.i32, 7);
    hl_snapshot *later = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(later, path));
    hl_snapshot *loaded = load_ok(path);
    hl_sandbox *d = NULL;
    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    CHECK_EQ(CALL_OK(d, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 7);
    list_dir(dir, names, sizeof names);
    CHECK_STREQ(names, "old.hls snap.hls");

    /* a failed save (the target is a directory) cleans up its temporary file too */
    char sub[PATH_MAX + 16];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    CHECK_EQ(mkdir(sub, 0755), 0);
    CHECK_RC(hl_snapshot_save(s, sub), HL_EIO);
    CHECK_ERROR_HAS(sub);
    list_dir(dir, names, sizeof names);
    CHECK_STREQ(names, "old.hls snap.hls sub");

    hl_sandbox_destroy(d);
    hl_snapshot_release(loaded);
    hl_snapshot_release(later);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

TEST(snapshot_file_io_errors_and_bad_arguments)
{
    hl_config cfg = small_config();
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *s = snapshot_of(sb), *out = (hl_snapshot *)&cfg; /* sentinel: must stay */
    const char *nodir = tmp_path("no-such-dir/snap.hls");

    CHECK_RC(hl_snapshot_save(s, nodir), HL_EIO);
    CHECK_ERROR_HAS("cannot write snapshot");
    CHECK_ERROR_HAS(nodir);
    CHECK_RC(hl_snapshot_load(nodir, &out), HL_EIO);
    CHECK_ERROR_HAS("cannot open snapshot");
    CHECK_ERROR_HAS(nodir);
    CHECK(out == (hl_snapshot *)&cfg);
    CHECK_RC(hl_snapshot_load(tmp_path("missing.hls"), &out), HL_EIO);
    CHECK_ERROR_HAS("No such file");
    CHECK_RC(hl_snapshot_load(work_dir, &out), HL_EIO);
    CHECK_ERROR_HAS("not a regular file");
    CHECK_RC(hl_snapshot_load("/dev/null", &out), HL_EIO);
    CHECK_ERROR_HAS("not a regular file");
    CHECK(out == (hl_snapshot *)&cfg);

    CHECK_RC(hl_snapshot_save(NULL, tmp_path("x.hls")), HL_EINVAL);
    CHECK_ERROR_HAS("must not be NULL");
    CHECK_RC(hl_snapshot_save(s, NULL), HL_EINVAL);
    CHECK_RC(hl_snapshot_load(NULL, &out), HL_EINVAL);
    CHECK_ERROR_HAS("must not be NULL");
    CHECK_RC(hl_snapshot_load(tmp_path("x.hls"), NULL), HL_EINVAL);
    CHECK(out == (hl_snapshot *)&cfg);
    CHECK_EQ(access(tmp_path("x.hls"), F_OK), -1); /* nothing was written */

    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* Opening a FIFO for reading blocks until a writer comes: a snapshot path that is a FIFO must be
 * refused at once, not hang the host. */
TEST(snapshot_file_load_of_a_fifo_fails_instead_of_blocking)
{
    const char *fifo = tmp_path("fifo.hls");
    hl_snapshot *out = NULL;
    CHECK_EQ(mkfifo(fifo, 0600), 0);
    alarm(5); /* a hang is this test's failure */
    CHECK_RC(hl_snapshot_load(fifo, &out), HL_EIO);
    CHECK_ERROR_HAS("not a regular file");
    CHECK(out == NULL);
}

/* ------------------------------------------------------------------------------------------ */
/* Damaged and hostile files. Each edit takes the parsed good file and two arguments. */
typedef void edit_fn(snapfile *f, uint64_t a, uint64_t b);

static void set32(snapfile *f, uint64_t off, uint64_t v)
{
    uint32_t x = (uint32_t)v;
    memcpy((uint8_t *)&f->h + off, &x, 4);
}

static void set64(snapfile *f, uint64_t off, uint64_t v)
{
    memcpy((uint8_t *)&f->h + off, &v, 8);
}

static void add64(snapfile *f, uint64_t off, uint64_t delta)
{
    uint64_t v;
    memcpy(&v, (uint8_t *)&f->h + off, 8);
    set64(f, off, v + delta);
}

static void xor8(snapfile *f, uint64_t off, uint64_t mask)
{
    ((uint8_t *)&f->h)[off] ^= (uint8_t)mask;
}

static void cut_at(snapfile *f, uint64_t off, uint64_t unused)
{
    (void)unused;
    f->cut = off;
}

/* Cut inside a region: a = 0 guest table, 1 host table, 2 memory image; b = bytes before its
 * end (0 = half way). */
static void cut_in(snapfile *f, uint64_t where, uint64_t from_end)
{
    uint64_t start[3] = {sizeof f->h, sizeof f->h + f->glen, f->h.memory_offset};
    uint64_t len[3] = {f->glen, f->hlen, f->memlen};
    f->cut = start[where] + (from_end ? len[where] - from_end : len[where] / 2);
}

static void guest_xor(snapfile *f, uint64_t i, uint64_t mask)
{
    f->g[i % f->glen] ^= (uint8_t)mask;
}

static void host_xor(snapfile *f, uint64_t i, uint64_t mask)
{
    f->hs[i % f->hlen] ^= (uint8_t)mask;
}

/* Length of the SIGS entry at p: u16 name_len, name, u8 ret, u8 nparams, params. */
static size_t sig_entry_len(const uint8_t *p)
{
    size_t name = (size_t)(p[0] | p[1] << 8);
    return 2 + name + 2 + p[2 + name + 1];
}

/* Appends a copy of the guest table's first function: a name that appears twice. */
static void guest_dup(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    size_t n = sig_entry_len(f->g + 3);
    uint8_t *g = malloc(f->glen + n);
    CHECK(g != NULL);
    memcpy(g, f->g, f->glen);
    memcpy(g + f->glen, f->g + 3, n);
    g[1]++; /* u16 count, below 255 here */
    free(f->g);
    f->g = g;
    f->glen += n;
    relayout(f);
}

/* The first parameter of the first guest function that has one becomes VOID. */
static void guest_void_param(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    for (size_t off = 3; off < f->glen; off += sig_entry_len(f->g + off)) {
        size_t name = (size_t)(f->g[off] | f->g[off + 1] << 8);
        if (f->g[off + 2 + name + 1] > 0) {
            f->g[off + 2 + name + 2] = HL_TYPE_VOID;
            return;
        }
    }
    CHECK(!"no guest function with a parameter");
}

static void guest_trailing_byte(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    uint8_t *g = realloc(f->g, f->glen + 1);
    CHECK(g != NULL);
    g[f->glen++] = 0;
    f->g = g;
    relayout(f);
}

/* No host table at all (not even an empty SIGS message). */
static void host_table_empty(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    f->hlen = 0;
    relayout(f);
}

/* vCPU edits. */
enum {
    V_CS_CPL0,
    V_SS_CPL0,
    V_IOPL3,
    V_IF,
    V_CR3,
    V_CR0_WP,
    V_IDTR,
    V_TR,
    V_LDT_GATE,
    V_FS_KERNEL,
    V_GS_BASE,
    V_APIC_BASE,
    V_CR8,
    V_IRQ_PENDING,
    V_FCW_RESERVED,
    V_MXCSR_RESERVED,
    V_XSTATE_AVX,
    V_PAST_END,
};

static void xsave_put(vcpu_state *v, size_t off, const void *p, size_t n)
{
    memcpy((uint8_t *)v->xsave.region + off, p, n);
}

static void vcpu_edit(snapfile *f, uint64_t what, uint64_t unused)
{
    (void)unused;
    vcpu_state v = vcpu_get(f);
    switch (what) {
    case V_CS_CPL0:
        v.sregs.cs.dpl = 0;
        v.sregs.cs.selector &= (uint16_t)~3u;
        break;
    case V_SS_CPL0:
        v.sregs.ss.dpl = 0;
        v.sregs.ss.selector &= (uint16_t)~3u;
        break;
    case V_IOPL3:
        v.regs.rflags |= RFLAGS_IOPL3;
        break;
    case V_IF:
        v.regs.rflags |= RFLAGS_IF;
        break;
    case V_CR3:
        v.sregs.cr3 += PAGE;
        break;
    case V_CR0_WP:
        v.sregs.cr0 &= ~(1ull << 16);
        break;
    case V_IDTR:
        v.sregs.idt.limit = 0xfff;
        break;
    case V_TR:
        v.sregs.tr.base += 8;
        break;
    case V_LDT_GATE: /* an LDT in guest-writable memory: a call gate there would reach ring 0 */
        v.sregs.ldt.base = v.sregs.cr3 + 16 * PAGE, v.sregs.ldt.limit = 0xfff;
        v.sregs.ldt.type = 2, v.sregs.ldt.present = 1, v.sregs.ldt.unusable = 0;
        break;
    case V_FS_KERNEL:
        v.sregs.fs.selector = 0x10, v.sregs.fs.dpl = 0, v.sregs.fs.base = 0x123456789000ull;
        break;
    case V_GS_BASE:
        v.sregs.gs.base = 0x1000;
        break;
    case V_APIC_BASE:
        v.sregs.apic_base = 1;
        break;
    case V_CR8:
        v.sregs.cr8 = 15;
        break;
    case V_IRQ_PENDING:
        v.sregs.interrupt_bitmap[0] = 1ull << 32;
        break;
    case V_FCW_RESERVED: {
        uint16_t fcw = 0xe37f;
        xsave_put(&v, XSAVE_FCW, &fcw, 2);
        break;
    }
    case V_MXCSR_RESERVED: {
        uint32_t mxcsr = 0x11f80;
        xsave_put(&v, XSAVE_MXCSR, &mxcsr, 4);
        break;
    }
    case V_XSTATE_AVX: {
        uint64_t bv = 7;
        xsave_put(&v, XSAVE_XSTATE_BV, &bv, 8);
        break;
    }
    case V_PAST_END:
        break;
    }
    vcpu_put(f, &v);
    if (what == V_PAST_END)
        f->h.vcpu[VCPU_BYTES - 1] = 1;
}

/* Image edits at a named place. */
enum { W_PEB, W_HOST_FNS, W_GDT, W_IDT, W_STUB, W_TEXT, W_PML4, W_TSS_IOMAP };

static uint64_t where(const snapfile *f, uint64_t w)
{
    sysinfo si;
    sys_of(f, &si);
    switch (w) {
    case W_PEB:
        return PEB_GPA;
    case W_HOST_FNS:
        return si.peb.host_fns.gpa;
    case W_GDT:
        return si.gdt;
    case W_IDT:
        return si.idt;
    case W_STUB:
        return si.stub;
    case W_TEXT:
        return si.text;
    case W_PML4:
        return si.pml4;
    default: /* the I/O permission bitmap: the TSS at GDT + 64, 104 bytes, then the bitmap */
        return si.gdt + 64 + 104;
    }
}

static void pte_or(snapfile *f, uint64_t w, uint64_t bits)
{
    uint64_t at = pte_gpa(f, where(f, w));
    mem_set_u64(f, at, mem_u64(f, at) | bits);
}

static void pte_clear(snapfile *f, uint64_t w, uint64_t bits)
{
    uint64_t at = pte_gpa(f, where(f, w));
    mem_set_u64(f, at, mem_u64(f, at) & ~bits);
}

/* The entry for place a maps place b instead (same flags). */
static void pte_redirect(snapfile *f, uint64_t a, uint64_t b)
{
    uint64_t at = pte_gpa(f, where(f, a));
    mem_set_u64(f, at, (mem_u64(f, at) & ~PTE_ADDR) | (where(f, b) & PTE_ADDR));
}

/* The page tables map themselves, user read-write. */
static void pte_map_pml4(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    uint64_t pml4 = where(f, W_PML4), pt0 = pml4 + 3 * PAGE;
    mem_set_u64(f, pt0 + 8 * (pml4 / PAGE), pml4 | PTE_P | PTE_RW | PTE_US | PTE_NX);
}

static void pml4_second_entry(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    uint64_t pml4 = where(f, W_PML4);
    mem_set_u64(f, pml4 + 8, mem_u64(f, pml4)); /* maps 512 GiB .. 1 TiB like the first */
}

/* XORs the byte at place w + (off_mask >> 8) with the low 8 bits of off_mask. */
static void mem_xor(snapfile *f, uint64_t w, uint64_t off_mask)
{
    f->mem[where(f, w) + (off_mask >> 8)] ^= (uint8_t)off_mask;
}

/* PEB fields: a = byte offset of a u64 in hl_abi_peb, b = what to add. */
static void peb_add(snapfile *f, uint64_t off, uint64_t delta)
{
    mem_set_u64(f, PEB_GPA + off, mem_u64(f, PEB_GPA + off) + delta);
}

/* The u64 length in front of the host-function table in memory. */
static void host_fns_len_add(snapfile *f, uint64_t delta, uint64_t unused)
{
    (void)unused;
    uint64_t at = where(f, W_HOST_FNS);
    mem_set_u64(f, at, mem_u64(f, at) + delta);
}

/* A valid host table of 500 functions with 128-byte names (66,003 bytes) in the header and,
 * identically, in memory: longer than the 64 KiB region, so it runs into the input buffer. The
 * host never writes such a table (hl_sandbox_init fails with HL_ETOOBIG). */
static void host_table_overflows_region(snapfile *f, uint64_t unused_a, uint64_t unused_b)
{
    (void)unused_a, (void)unused_b;
    enum { N = 500, NAME = 128 };
    size_t len = 3 + (size_t)N * (2 + NAME + 2);
    uint8_t *t = malloc(len), *p = t;
    CHECK(t != NULL);
    *p++ = HL_ABI_MSG_SIGS;
    *p++ = N & 0xff;
    *p++ = N >> 8;
    for (int i = 0; i < N; i++) {
        *p++ = NAME;
        *p++ = 0;
        memset(p, 'F', NAME);
        snprintf((char *)p, 8, "F%05d", i); /* distinct, sorted; the NUL is overwritten below */
        p[6] = 'F';
        p += NAME;
        *p++ = HL_TYPE_VOID; /* returns void, no parameters */
        *p++ = 0;
    }
    free(f->hs);
    f->hs = t;
    f->hlen = len;
    uint64_t at = where(f, W_HOST_FNS);
    CHECK(at + 8 + len <= f->memlen);
    mem_set_u64(f, at, len);
    memcpy(f->mem + at + 8, t, len);
    relayout(f);
}

typedef struct damage {
    const char *name;
    edit_fn *edit;
    uint64_t a, b;
    int fix;         /* recompute the checksum after the edit */
    int code;        /* what hl_snapshot_load must return */
    const char *why; /* and a phrase of hl_last_error() */
    int corpus;      /* also written by --write-corpus */
} damage;

#define ES HL_ESNAPSHOT
#define HUGE_64 0xfffffffffffff000ull
#define PEB_OFF(field) offsetof(hl_abi_peb, field)

static const damage damages[] = {
    /* truncations (the header boundaries are looped over separately) */
    {"empty", cut_at, 0, 0, 0, ES, "truncated (header)", 0}, /* = truncated_at_magic */
    {"truncated_after_header", cut_at, sizeof(file_header), 0, 0, ES, "truncated (memory image", 1},
    {"truncated_in_guest_table", cut_in, 0, 0, 0, ES, "truncated", 1},
    {"truncated_in_host_table", cut_in, 1, 0, 0, ES, "truncated", 1},
    {"truncated_in_image", cut_in, 2, 0, 0, ES, "truncated (memory image", 1},
    {"truncated_last_byte", cut_in, 2, 1, 0, ES, "truncated (memory image", 0},
    /* identity */
    {"bad_magic", xor8, 0, 0x20, 1, ES, "bad magic", 1},
    {"bad_magic_last_byte", xor8, 7, 0xff, 1, ES, "bad magic", 0},
    {"format_version_1", set32, OFF(format_version), 1, 1, ES, "unsupported format version", 0},
    {"format_version_3", set32, OFF(format_version), 3, 1, ES, "unsupported format version", 0},
    {"format_version_0", set32, OFF(format_version), 0, 1, ES, "unsupported format version", 0},
    {"abi_version_other", set32, OFF(abi_version), HL_ABI_VERSION + 1, 1, ES, "ABI version", 0},
    {"header_size_0", set32, OFF(header_size), 0, 1, ES, "header size", 0},
    {"header_size_huge", set32, OFF(header_size), 0xffffffff, 1, ES, "header size", 0},
    {"header_size_short", set32, OFF(header_size), sizeof(file_header) - 8, 1, ES, "header size",
     0},
    {"vcpu_state_size_other", set32, OFF(vcpu_state_size), 512, 1, ES, "vCPU state size", 0},
    {"backend_other", set32, OFF(backend), 2, 1, ES, "backend", 0},
    /* extents (checked before the checksum; recomputed anyway) */
    {"guest_sigs_offset_0", set64, OFF(guest_sigs_offset), 0, 1, ES, "function tables", 0},
    {"guest_sigs_offset_huge", set64, OFF(guest_sigs_offset), ~0ull, 1, ES, "function tables", 0},
    {"guest_sigs_offset_misaligned", add64, OFF(guest_sigs_offset), 1, 1, ES, "function tables", 0},
    {"guest_sigs_len_0", set64, OFF(guest_sigs_len), 0, 1, ES, "function tables", 0},
    {"guest_sigs_len_over_1mib", set64, OFF(guest_sigs_len), MAX_SIGS_LEN + 1, 1, ES,
     "function tables are misplaced or too large", 1},
    {"guest_sigs_len_huge", set64, OFF(guest_sigs_len), ~0ull, 1, ES, "function tables", 0},
    {"host_sigs_offset_0", set64, OFF(host_sigs_offset), 0, 1, ES, "function tables", 0},
    {"host_sigs_offset_wrong", add64, OFF(host_sigs_offset), 1, 1, ES, "function tables", 0},
    {"host_sigs_offset_overlapping", set64, OFF(host_sigs_offset), sizeof(file_header), 1, ES,
     "function tables", 0},
    {"host_sigs_offset_huge", set64, OFF(host_sigs_offset), ~0ull, 1, ES, "function tables", 0},
    {"host_sigs_len_over_1mib", set64, OFF(host_sigs_len), MAX_SIGS_LEN + 1, 1, ES,
     "function tables", 0},
    {"host_sigs_len_huge", set64, OFF(host_sigs_len), ~0ull, 1, ES, "function tables", 0},
    {"memory_offset_0", set64, OFF(memory_offset), 0, 1, ES, "memory image offset", 0},
    {"memory_offset_misaligned", add64, OFF(memory_offset), 1, 1, ES, "memory image offset", 0},
    {"memory_offset_huge", set64, OFF(memory_offset), HUGE_64, 1, ES, "memory image offset", 0},
    {"memory_offset_next_page", add64, OFF(memory_offset), PAGE, 1, ES, "memory image offset", 0},
    {"memory_offset_two_pages_on", add64, OFF(memory_offset), 2 * PAGE, 1, ES,
     "memory image offset", 0},
    {"memory_size_0", set64, OFF(memory_size), 0, 1, ES, "memory image size", 0},
    {"memory_size_2_63", set64, OFF(memory_size), 1ull << 63, 1, ES, "memory image size", 1},
    {"memory_size_wraps_offset", set64, OFF(memory_size), HUGE_64, 1, ES, "memory image size", 0},
    {"memory_size_misaligned", add64, OFF(memory_size), 1, 1, ES, "memory image size", 0},
    {"memory_size_past_end", add64, OFF(memory_size), PAGE, 1, ES, "truncated", 0},
    {"memory_size_page_less", add64, OFF(memory_size), 0 - (uint64_t)PAGE, 1, ES,
     "layout does not match the memory size", 0},
    /* the checksum covers the header and both tables */
    {"checksum_flipped", xor8, OFF(checksum), 0x01, 0, ES, "checksum", 1},
    {"checksum_zero", set64, OFF(checksum), 0, 0, ES, "checksum", 0},
    {"guest_table_flipped", guest_xor, 5, 0x01, 0, ES, "checksum", 0},
    {"host_table_flipped", host_xor, 5, 0x01, 0, ES, "checksum", 0},
    {"config_flipped", xor8, OFF(heap_size) + 2, 0x01, 0, ES, "checksum", 0},
    {"cookie_flipped", xor8, OFF(cookie) + 3, 0x80, 0, ES, "checksum", 0},
    {"guest_id_flipped", xor8, OFF(guest_id), 0x01, 0, ES, "checksum", 0},
    {"reserved_flipped", xor8, OFF(reserved), 0x01, 0, ES, "reserved field", 0},
    {"vcpu_rip_flipped", xor8, OFF(vcpu) + offsetof(struct kvm_regs, rip), 0x01, 0, ES, "checksum",
     0},
    {"image_gpa_flipped", xor8, OFF(image_gpa) + 1, 0x10, 0, ES, "checksum", 0},
    /* hostile edits with a correct checksum: the config ... */
    {"stack_size_1", set64, OFF(stack_size), 1, 1, ES, "configuration out of range", 1},
    {"stack_size_huge", set64, OFF(stack_size), 1ull << 62, 1, ES, "configuration out of range", 0},
    {"heap_size_0", set64, OFF(heap_size), 0, 1, ES, "configuration out of range", 0},
    {"input_size_huge", set64, OFF(input_size), ~0ull, 1, ES, "configuration out of range", 0},
    {"output_size_0", set64, OFF(output_size), 0, 1, ES, "configuration out of range", 0},
    {"heap_size_page_more", add64, OFF(heap_size), PAGE, 1, ES, "layout does not match", 0},
    /* ... the layout ... */
    {"image_gpa_moved", add64, OFF(image_gpa), PAGE, 1, ES, "layout does not match", 1},
    {"image_gpa_0", set64, OFF(image_gpa), 0, 1, ES, "layout does not match", 0},
    {"image_gpa_misaligned", add64, OFF(image_gpa), 1, 1, ES, "layout does not match", 0},
    {"image_gpa_huge", set64, OFF(image_gpa), HUGE_64, 1, ES, "layout does not match", 0},
    {"image_gpa_over_host_fns", set64, OFF(image_gpa), 2 * PAGE, 1, ES, "layout does not match", 0},
    {"image_size_0", set64, OFF(image_size), 0, 1, ES, "layout does not match", 0},
    {"image_size_huge", set64, OFF(image_size), HUGE_64, 1, ES, "layout does not match", 0},
    {"image_size_page_more", add64, OFF(image_size), PAGE, 1, ES, "layout does not match", 0},
    /* ... the vCPU state ... */
    {"vcpu_cs_cpl0", vcpu_edit, V_CS_CPL0, 0, 1, ES, "CS is not the guest's CPL3 code", 1},
    {"vcpu_ss_cpl0", vcpu_edit, V_SS_CPL0, 0, 1, ES, "SS is not the guest's CPL3 stack", 0},
    {"vcpu_tr_moved", vcpu_edit, V_TR, 0, 1, ES, "TR is not the library's task segment", 0},
    {"vcpu_rflags_iopl3", vcpu_edit, V_IOPL3, 0, 1, ES, "RFLAGS (privileged bits)", 1},
    {"vcpu_rflags_if", vcpu_edit, V_IF, 0, 1, ES, "RFLAGS (privileged bits)", 0},
    {"vcpu_cr3_other", vcpu_edit, V_CR3, 0, 1, ES, "CR3 is", 0},
    {"vcpu_cr0_no_wp", vcpu_edit, V_CR0_WP, 0, 1, ES, "CR0 is", 0},
    {"vcpu_idt_limit", vcpu_edit, V_IDTR, 0, 1, ES, "IDT limit is", 0},
    {"vcpu_ldt_call_gate", vcpu_edit, V_LDT_GATE, 0, 1, ES, "LDTR is not null", 1},
    {"vcpu_fs_kernel_data", vcpu_edit, V_FS_KERNEL, 0, 1, ES, "FS is not a null, user-data", 1},
    {"vcpu_gs_base", vcpu_edit, V_GS_BASE, 0, 1, ES, "GS is not a null, user-data", 0},
    {"vcpu_apic_base", vcpu_edit, V_APIC_BASE, 0, 1, ES, "APIC base is 0x1", 1},
    {"vcpu_cr8", vcpu_edit, V_CR8, 0, 1, ES, "CR8 is 0xf", 0},
    {"vcpu_interrupt_pending", vcpu_edit, V_IRQ_PENDING, 0, 1, ES, "interrupt bitmap", 1},
    {"vcpu_fcw_reserved", vcpu_edit, V_FCW_RESERVED, 0, 1, ES, "x87 control word", 0},
    {"vcpu_mxcsr_reserved", vcpu_edit, V_MXCSR_RESERVED, 0, 1, ES, "MXCSR is 0x11f80", 1},
    {"vcpu_xstate_avx", vcpu_edit, V_XSTATE_AVX, 0, 1, ES, "XSTATE_BV is 0x7", 0},
    {"vcpu_bytes_past_state", vcpu_edit, V_PAST_END, 0, 1, ES, "past its end", 0},
    /* ... the tables ... */
    {"guest_table_duplicate_name", guest_dup, 0, 0, 1, ES, "a function name appears twice", 1},
    {"guest_table_void_param", guest_void_param, 0, 0, 1, ES, "invalid parameter type", 0},
    {"guest_table_trailing_byte", guest_trailing_byte, 0, 0, 1, ES, "trailing bytes", 0},
    {"host_table_empty", host_table_empty, 0, 0, 1, ES, "empty message", 0},
    {"host_table_bad_name", host_xor, 5, 'G' ^ ' ', 1, ES, "invalid function name", 0},
    /* ... and the host-owned parts of the memory image (not covered by the checksum) */
    {"pte_idt_user", pte_or, W_IDT, PTE_US, 0, ES, "page-table entry has flags", 1},
    {"pte_gdt_user", pte_or, W_GDT, PTE_US, 0, ES, "page-table entry has flags", 0},
    {"pte_stub_user", pte_or, W_STUB, PTE_US, 0, ES, "page-table entry has flags", 0},
    {"pte_stub_writable", pte_or, W_STUB, PTE_RW, 0, ES, "page-table entry has flags", 0},
    {"pte_peb_writable", pte_or, W_PEB, PTE_RW, 0, ES, "page-table entry has flags", 0},
    {"pte_peb_executable", pte_clear, W_PEB, PTE_NX, 0, ES, "page-table entry has flags", 0},
    {"pte_maps_other_address", pte_redirect, W_PEB, W_HOST_FNS, 0, ES,
     "page-table entry maps another address", 1},
    {"pte_text_maps_idt", pte_redirect, W_TEXT, W_IDT, 0, ES,
     "page-table entry maps another address", 0},
    {"pte_maps_page_tables", pte_map_pml4, 0, 0, 0, ES, "page-table entry has flags", 0},
    {"pml4_second_entry", pml4_second_entry, 0, 0, 0, ES, "upper-level page tables", 0},
    {"image_page_writable_executable", pte_or, W_TEXT, PTE_RW, 0, ES,
     "image page is writable and executable", 1},
    {"image_page_supervisor", pte_clear, W_TEXT, PTE_US, 0, ES, "image page-table entry", 0},
    {"idt_byte", mem_xor, W_IDT, 0x01, 0, ES, "descriptor tables", 1},
    {"idt_gate_dpl3", mem_xor, W_IDT, (14 * 16 + 5) << 8 | 0x60, 0, ES, "descriptor tables", 0},
    {"gdt_byte", mem_xor, W_GDT, (8 + 5) << 8 | 0x60, 0, ES, "descriptor tables", 0},
    {"tss_iomap_opens_exception_port", mem_xor, W_TSS_IOMAP, (HL_ABI_PORT_EXCEPTION / 8) << 8 | 1,
     0, ES, "descriptor tables", 0},
    {"stub_byte", mem_xor, W_STUB, 0x01, 0, ES, "exception stub", 0},
    {"stub_common_byte", mem_xor, W_STUB, (32 * 16 + 4) << 8 | 0x01, 0, ES, "exception stub", 0},
    {"peb_heap_moved", peb_add, PEB_OFF(heap.gpa), PAGE, 0, ES, "PEB differs from the layout", 1},
    {"peb_input_moved", peb_add, PEB_OFF(input.gpa), PAGE, 0, ES, "PEB differs", 0},
    {"peb_stack_size", peb_add, PEB_OFF(stack.size), PAGE, 0, ES, "PEB differs", 0},
    {"peb_magic", peb_add, PEB_OFF(magic), 1, 0, ES, "PEB differs", 0},
    {"peb_abi_version", peb_add, PEB_OFF(abi_version), 1, 0, ES, "PEB differs", 0},
    {"host_table_in_memory_byte", mem_xor, W_HOST_FNS, 9 << 8 | 0x01, 0, ES,
     "host-function table in memory differs", 1},
    {"host_table_in_memory_len", host_fns_len_add, 1, 0, 0, ES,
     "host-function table in memory differs", 0},
    {"host_table_in_memory_len_huge", host_fns_len_add, 1ull << 40, 0, 0, ES,
     "host-function table in memory differs", 0},
    {"host_table_overflows_its_region", host_table_overflows_region, 0, 0, 1, ES,
     "host-function table", 1},
};

/* Byte offsets of every header field: the file cut there must be "truncated (header)". */
static const struct {
    const char *name;
    size_t off;
} header_cuts[] = {
    {"magic", OFF(magic)},
    {"format_version", OFF(format_version)},
    {"abi_version", OFF(abi_version)},
    {"header_size", OFF(header_size)},
    {"backend", OFF(backend)},
    {"vcpu_state_size", OFF(vcpu_state_size)},
    {"reserved", OFF(reserved)},
    {"guest_id", OFF(guest_id)},
    {"memory_offset", OFF(memory_offset)},
    {"memory_size", OFF(memory_size)},
    {"guest_sigs_offset", OFF(guest_sigs_offset)},
    {"guest_sigs_len", OFF(guest_sigs_len)},
    {"host_sigs_offset", OFF(host_sigs_offset)},
    {"host_sigs_len", OFF(host_sigs_len)},
    {"stack_size", OFF(stack_size)},
    {"heap_size", OFF(heap_size)},
    {"input_size", OFF(input_size)},
    {"output_size", OFF(output_size)},
    {"time_limit_ms", OFF(time_limit_ms)},
    {"log_level", OFF(log_level)},
    {"image_gpa", OFF(image_gpa)},
    {"image_size", OFF(image_size)},
    {"cookie", OFF(cookie)},
    {"vcpu", OFF(vcpu)},
    {"checksum", OFF(checksum)},
    {"last_byte", sizeof(file_header) - 1},
};

/* Builds the damaged variant d of good. */
static void make_damaged(const snapfile *good, const damage *d, snapfile *out)
{
    snap_copy(out, good);
    d->edit(out, d->a, d->b);
    if (d->fix)
        fix_checksum(out);
}

/* Loads path expecting code and a detail containing why and naming the path. */
static void check_rejected(const char *name, const char *path, int code, const char *why)
{
    hl_snapshot *out = (hl_snapshot *)&out;
    int rc = hl_snapshot_load(path, &out);
    if (rc != code || !strstr(hl_last_error(), why) || !strstr(hl_last_error(), path))
        hl_test_fail(__FILE__, __LINE__,
                     "%s: load returned %s, expected %s with \"%s\"; detail: %s", name,
                     hl_errname(rc), hl_errname(code), why, hl_last_error());
    CHECK(out == (hl_snapshot *)&out); /* out-parameter untouched */
    if (getenv("HL_TEST_VERBOSE"))
        fprintf(stderr, "    %-36s %s\n", name, strstr(hl_last_error(), "': ") + 3);
}

TEST(snapshot_file_damaged_files_are_rejected_with_their_reason)
{
    const char *good_path = tmp_path("good.hls"), *path = tmp_path("damaged.hls");
    snapfile good, bad;
    char text[128] = "";
    save_corpus_guest(good_path);
    snap_read(good_path, &good);

    /* our writer and checksum reproduce a file the library accepts and runs */
    snap_copy(&bad, &good);
    snap_write(&bad, path);
    hl_snapshot *s = load_ok(path);
    CHECK_OK(run_corpus_guest(s, text, sizeof text));
    CHECK_STREQ(text, "Hello, file! Today is Caturday.");
    hl_snapshot_release(s);
    snap_free(&bad);

    for (size_t i = 0; i < COUNT_OF(header_cuts); i++) {
        snap_copy(&bad, &good);
        bad.cut = header_cuts[i].off;
        snap_write(&bad, path);
        check_rejected(header_cuts[i].name, path, HL_ESNAPSHOT, "truncated (header)");
        snap_free(&bad);
    }
    int failed = 0;
    for (size_t i = 0; i < COUNT_OF(damages); i++) {
        const damage *d = &damages[i];
        make_damaged(&good, d, &bad);
        snap_write(&bad, path);
        pid_t pid = fork(); /* one failing case must not hide the others */
        CHECK(pid >= 0);
        if (pid == 0) {
            check_rejected(d->name, path, d->code, d->why);
            _exit(0);
        }
        int status = 0;
        CHECK_EQ(waitpid(pid, &status, 0), pid);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        snap_free(&bad);
    }
    snap_free(&good);
    CHECK_EQ(failed, 0);
}

/* Edits that pass every check load, and then fail cleanly when run. */
TEST(snapshot_file_hostile_but_loadable_edits_fail_cleanly)
{
    const char *good_path = tmp_path("good2.hls"), *path = tmp_path("hostile.hls");
    snapfile good, f;
    char text[128];
    save_corpus_guest(good_path);
    snap_read(good_path, &good);

    /* the cookie no longer matches the stack: the first call ends with HL_ECOOKIE */
    snap_copy(&f, &good);
    f.h.cookie[0] ^= 1;
    fix_checksum(&f);
    snap_write(&f, path);
    hl_snapshot *s = load_ok(path);
    CHECK_RC(run_corpus_guest(s, text, sizeof text), HL_ECOOKIE);
    hl_snapshot_release(s);
    snap_free(&f);

    /* RIP in unmapped page 0: a fault, reported as such */
    snap_copy(&f, &good);
    vcpu_state v = vcpu_get(&f);
    v.regs.rip = 0;
    vcpu_put(&f, &v);
    fix_checksum(&f);
    snap_write(&f, path);
    s = load_ok(path);
    CHECK_RC(run_corpus_guest(s, text, sizeof text), HL_EFAULT);
    hl_snapshot_release(s);
    snap_free(&f);
    snap_free(&good);
}

/* A snapshot is validated once, when loaded: changing the file afterwards must not change what
 * sandboxes made from it see. Here a page-table entry is made user-accessible for the IDT page
 * (which the loader refuses in a file, see pte_idt_user) after the load. */
TEST(snapshot_file_changed_after_load_does_not_change_the_snapshot)
{
    const char *path = tmp_path("changed.hls");
    hl_config cfg = small_config();
    hl_sandbox *sb = ready_sandbox(&cfg), *d = NULL;
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, path));
    hl_snapshot *loaded = load_ok(path);

    snapfile f;
    snap_read(path, &f);
    uint64_t idt = where(&f, W_IDT), at = pte_gpa(&f, idt);
    uint64_t pte = mem_u64(&f, at) | PTE_US;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    write_at(fd, &pte, 8, f.h.memory_offset + at); /* in place, as another process could */
    close(fd);

    CHECK_OK(hl_sandbox_new_from_snapshot(&cfg, loaded, &d));
    hl_value r = {HL_TYPE_VOID, {0}};
    int rc = hl_sandbox_call(d, "ReadAddress", HL_ARGS(hl_u64(idt)), &r);
    if (rc == 0)
        hl_test_fail(__FILE__, __LINE__,
                     "the guest read the IDT (0x%llx: 0x%llx) through a page-table entry written "
                     "into the file after it was loaded and checked",
                     (unsigned long long)idt, (unsigned long long)r.as.u64);
    CHECK_RC(rc, HL_EFAULT);
    snap_free(&f);
    hl_sandbox_destroy(d);
    hl_snapshot_release(loaded);
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);
}

/* ------------------------------------------------------------------------------------------ */
/* Seeded mutations: every load fails cleanly or succeeds, and what loads runs or fails cleanly. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static int known_code(int rc)
{
    return rc < 0 && strcmp(hl_errname(rc), "HL_E?") != 0;
}

/* The host-owned pages of the image: PEB, first host-function page, system area, page tables. */
static size_t system_pages(const snapfile *f, uint64_t *pages, size_t cap)
{
    sysinfo si;
    size_t n = 0;
    sys_of(f, &si);
    pages[n++] = PEB_GPA;
    pages[n++] = si.peb.host_fns.gpa;
    for (uint64_t g = si.gdt; g < f->memlen && n < cap; g += PAGE)
        pages[n++] = g; /* GDT/TSS, IDT, stub, guard, kernel stack, then every page table */
    return n;
}

/* Creates a sandbox from s and calls Echo: it must work or fail with a known code. */
static int run_mutant(hl_snapshot *s)
{
    hl_config cfg = small_config();
    hl_sandbox *sb = NULL;
    hl_value r = {HL_TYPE_VOID, {0}};
    cfg.time_limit_ms = 200;
    int rc = hl_sandbox_new_from_snapshot(&cfg, s, &sb);
    if (rc) {
        CHECK(known_code(rc));
        return rc;
    }
    rc = hl_sandbox_call(sb, "Echo", HL_ARGS(hl_str("mutant")), &r);
    if (rc == 0)
        CHECK_STR_VALUE(r, "mutant");
    else
        CHECK(known_code(rc));
    hl_sandbox_destroy(sb);
    return rc;
}

TEST(snapshot_file_random_mutations_never_crash)
{
    const char *good_path = tmp_path("mut-good.hls"), *path = tmp_path("mutant.hls");
    hl_config cfg = small_config();
    hl_sandbox *sb = ready_sandbox(&cfg);
    hl_snapshot *s = snapshot_of(sb);
    CHECK_OK(hl_snapshot_save(s, good_path));
    hl_snapshot_release(s);
    hl_sandbox_destroy(sb);

    snapfile good;
    snap_read(good_path, &good);
    snap_write(&good, path);
    uint64_t pages[64];
    size_t npages = system_pages(&good, pages, COUNT_OF(pages));
    size_t prefix = good.h.memory_offset; /* header + tables (+ padding) */
    uint8_t *buf = calloc(1, prefix);
    CHECK(buf != NULL);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);

    size_t span = sizeof good.h + good.glen + good.hlen;
    const int iterations = 2000;
    int loaded = 0, rejected = 0, outcomes[64] = {0};
    rng_state = 0x5eed5eed12345678ull;
    for (int i = 0; i < iterations; i++) {
        int nbytes = 1 + (int)(rnd() % 4);
        uint64_t page = 0;
        if (i % 2 == 0) { /* header and tables, checksum recomputed every other time */
            snapfile m = good;
            memcpy(buf, &good.h, sizeof good.h);
            memcpy(buf + sizeof good.h, good.g, good.glen);
            memcpy(buf + sizeof good.h + good.glen, good.hs, good.hlen);
            for (int k = 0; k < nbytes; k++)
                buf[rnd() % span] ^= (uint8_t)(1 + rnd() % 255);
            if (i % 4 == 0) {
                memcpy(&m.h, buf, sizeof m.h);
                m.g = buf + sizeof good.h;
                m.hs = m.g + good.glen;
                fix_checksum(&m);
                memcpy(buf + OFF(checksum), &m.h.checksum, 8);
            }
            write_at(fd, buf, span, 0);
        } else { /* a host-owned page of the image */
            page = pages[rnd() % npages];
            memcpy(buf, good.mem + page, PAGE);
            for (int k = 0; k < nbytes; k++)
                buf[rnd() % PAGE] ^= (uint8_t)(1 + rnd() % 255);
            write_at(fd, buf, PAGE, good.h.memory_offset + page);
        }
        hl_snapshot *m = NULL;
        int rc = hl_snapshot_load(path, &m);
        if (rc == 0) {
            loaded++;
            int run_rc = run_mutant(m);
            outcomes[-run_rc < 64 ? -run_rc : 63]++;
            hl_snapshot_release(m);
        } else {
            if (rc != HL_ESNAPSHOT && rc != HL_EIO)
                hl_test_fail(__FILE__, __LINE__, "iteration %d: load returned %s: %s", i,
                             hl_errname(rc), hl_last_error());
            CHECK(m == NULL);
            rejected++;
        }
        /* back to the good file */
        if (i % 2 == 0) {
            memcpy(buf, &good.h, sizeof good.h);
            memcpy(buf + sizeof good.h, good.g, good.glen);
            memcpy(buf + sizeof good.h + good.glen, good.hs, good.hlen);
            write_at(fd, buf, span, 0);
        } else {
            write_at(fd, good.mem + page, PAGE, good.h.memory_offset + page);
        }
    }
    close(fd);
    fprintf(stderr, "    %d mutants: %d rejected, %d loaded and ran\n", iterations, rejected,
            loaded);
    for (int c = 0; c < 64; c++)
        if (outcomes[c])
            fprintf(stderr, "      ran: %d x %s\n", outcomes[c], c ? hl_errname(-c) : "ok");
    CHECK(rejected > iterations / 4);
    CHECK(loaded > 0);
    free(buf);
    snap_free(&good);
}

/* ------------------------------------------------------------------------------------------ */
/* The checked-in corpus (written by --write-corpus, run from the repository root): good.hls
 * loads and runs, every other file is refused. */
#define CORPUS_DIR "tests/fuzz/corpus/snapshot"

TEST(snapshot_file_checked_in_corpus_is_still_judged_the_same)
{
    DIR *d = opendir(CORPUS_DIR);
    int files = 0, good_loaded = 0, kvm = hl_kvm_available();
    char path[PATH_MAX], text[128] = "", no_kvm[256];
    snprintf(no_kvm, sizeof no_kvm, "%s", hl_last_error());
    if (!d)
        SKIP("no %s here (run from the repository root)", CORPUS_DIR);
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        if (n < 4 || strcmp(e->d_name + n - 4, ".hls") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", CORPUS_DIR, e->d_name);
        hl_snapshot *s = NULL;
        int rc = hl_snapshot_load(path, &s);
        files++;
        if (strcmp(e->d_name, "good.hls") != 0) {
            if (rc != HL_ESNAPSHOT)
                hl_test_fail(__FILE__, __LINE__, "%s: load returned %s, expected HL_ESNAPSHOT",
                             path, hl_errname(rc));
            continue;
        }
        if (rc != 0)
            hl_test_fail(__FILE__, __LINE__,
                         "%s no longer loads (%s); if the format changed on purpose, regenerate "
                         "the corpus with `kvm_test_snapshot_files --write-corpus %s`",
                         path, hl_last_error(), CORPUS_DIR);
        good_loaded = 1;
        if (kvm) { /* running it needs KVM; judging the files does not */
            CHECK_OK(run_corpus_guest(s, text, sizeof text));
            CHECK_STREQ(text, "Hello, file! Today is Caturday.");
        }
        hl_snapshot_release(s);
    }
    closedir(d);
    CHECK(files > 20);
    CHECK(good_loaded); /* good.hls was there */
    if (!kvm)
        SKIP("judged %d corpus files; running good.hls needs KVM: %s", files, no_kvm);
    CHECK_STREQ(text, "Hello, file! Today is Caturday.");
}

/* ------------------------------------------------------------------------------------------ */
/* --write-corpus DIR */
static long long apparent_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

static int write_corpus_main(const char *dir)
{
    char path[PATH_MAX];
    snapfile good, bad;
    long long total = 0;
    int n = 0;
    if (!hl_kvm_available()) {
        fprintf(stderr, "--write-corpus needs KVM: %s\n", hl_last_error());
        return 1;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "cannot create %s: %s\n", dir, strerror(errno));
        return 1;
    }
    snprintf(path, sizeof path, "%s/good.hls", dir);
    save_corpus_guest(path);
    snap_read(path, &good);
    total += apparent_size(path), n++;
    for (size_t i = 0; i < COUNT_OF(header_cuts); i++) {
        snap_copy(&bad, &good);
        bad.cut = header_cuts[i].off;
        snprintf(path, sizeof path, "%s/truncated_at_%s.hls", dir, header_cuts[i].name);
        snap_write(&bad, path);
        total += apparent_size(path), n++;
        snap_free(&bad);
    }
    for (size_t i = 0; i < COUNT_OF(damages); i++) {
        if (!damages[i].corpus)
            continue;
        make_damaged(&good, &damages[i], &bad);
        snprintf(path, sizeof path, "%s/%s.hls", dir, damages[i].name);
        snap_write(&bad, path);
        total += apparent_size(path), n++;
        snap_free(&bad);
    }
    snap_free(&good);
    printf("wrote %d files, %lld bytes, to %s\n", n, total, dir);
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
static const hl_test tests[] = {
    TEST_ENTRY(snapshot_file_round_trip_keeps_state_and_restores),
    TEST_ENTRY(snapshot_file_loads_in_a_fresh_process),
    TEST_ENTRY(snapshot_file_keeps_the_host_function_table),
    TEST_ENTRY(snapshot_file_save_replaces_atomically_and_leaves_no_temp_files),
    TEST_ENTRY(snapshot_file_io_errors_and_bad_arguments),
    TEST_ENTRY(snapshot_file_load_of_a_fifo_fails_instead_of_blocking),
    TEST_ENTRY(snapshot_file_damaged_files_are_rejected_with_their_reason),
    TEST_ENTRY(snapshot_file_hostile_but_loadable_edits_fail_cleanly),
    TEST_ENTRY(snapshot_file_changed_after_load_does_not_change_the_snapshot),
    TEST_ENTRY(snapshot_file_random_mutations_never_crash),
    TEST_ENTRY(snapshot_file_checked_in_corpus_is_still_judged_the_same),
};

static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char p[PATH_MAX];
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (unlink(p) != 0)
            remove_tree(p); /* a directory */
    }
    closedir(d);
    rmdir(dir);
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--write-corpus") == 0)
        return write_corpus_main(argv[2]);
    if (argc == 3 && strcmp(argv[1], "--load-and-call") == 0)
        return load_and_call_main(argv[2]);
    if (!realpath(argv[0], self_exe))
        snprintf(self_exe, sizeof self_exe, "/proc/self/exe");
    const char *tmp = getenv("TMPDIR");
    snprintf(work_dir, sizeof work_dir, "%s/hl-snapshot-files-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(work_dir)) {
        perror("mkdtemp");
        return 1;
    }
    int rc = hl_test_main(argc, argv, tests, COUNT_OF(tests));
    remove_tree(work_dir);
    return rc;
}

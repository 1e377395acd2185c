/* fuzz_snapshot.c: libFuzzer target for the snapshot-file loader (src/snapshot_file.c). The input
 * is written to a memfd and loaded through its /proc/self/fd/N path. Where /dev/kvm can be used, an
 * accepted file also makes a sandbox, which runs its first argument-less guest function under a
 * short time limit: what the loader accepts must be safe to run, not only to parse.
 * The header checksum only detects accidents, so the target recomputes it over the input before
 * loading (unless the stored checksum is 0, which keeps the mismatch path reachable); otherwise
 * almost every mutation would stop there. Properties: a refused file fails with HL_ESNAPSHOT and
 * a message; no descriptor leaks; an accepted file saves (to /dev/shm) and loads back to the same
 * memory, tables, vCPU state and identity. Run with `make fuzz` (mk/fuzz.mk); corpus:
 * tests/fuzz/corpus/snapshot/. */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "hash.h"
#include "snapshot.h"

/* The file header (snapshot_file.c, docs/SNAPSHOTS.md): the offsets this target needs. */
#define HDR_SIZE (8 + 24 + 8 * 15 + HL_ABI_COOKIE_SIZE + HL_VCPU_STATE_SIZE + 8)
#define OFF_GUEST_SIGS 56 /* guest_sigs_offset, guest_sigs_len, host_sigs_offset, host_sigs_len */
#define OFF_CHECKSUM (HDR_SIZE - 8)
#define CHECKSUM_SEED 0x534e4150u

static int memfd = -1;
static int kvm; /* /dev/kvm usable: accepted files also run */
static char path[64], save_path[64];

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static int in_file(uint64_t off, uint64_t len, uint64_t limit)
{
    return off <= limit && len <= limit - off;
}

/* Rewrites the checksum of buf[0..size) the way hl_snapshot_save computes it. */
static void fix_checksum(uint8_t *buf, size_t size)
{
    if (size < HDR_SIZE || get_u64(buf + OFF_CHECKSUM) == 0)
        return;
    uint64_t g_off = get_u64(buf + OFF_GUEST_SIGS), g_len = get_u64(buf + OFF_GUEST_SIGS + 8);
    uint64_t h_off = get_u64(buf + OFF_GUEST_SIGS + 16), h_len = get_u64(buf + OFF_GUEST_SIGS + 24);
    if (!in_file(g_off, g_len, size) || !in_file(h_off, h_len, size))
        return;
    uint8_t hdr[HDR_SIZE];
    memcpy(hdr, buf, HDR_SIZE);
    memset(hdr + OFF_CHECKSUM, 0, 8);
    uint64_t sum = hl__hash64(hdr, HDR_SIZE, CHECKSUM_SEED);
    sum = hl__hash64(buf + g_off, g_len, sum);
    sum = hl__hash64(buf + h_off, h_len, sum);
    memcpy(buf + OFF_CHECKSUM, &sum, 8);
}

static void setup(void)
{
    memfd = memfd_create("hl-fuzz-snapshot", MFD_CLOEXEC);
    REQUIRE(memfd >= 0);
    snprintf(path, sizeof path, "/proc/self/fd/%d", memfd);
    snprintf(save_path, sizeof save_path, "/dev/shm/hl-fuzz-snapshot-%d.hls", (int)getpid());
    kvm = hl_kvm_available(); /* opens /dev/kvm once, before descriptors are counted */
    hl_vm_pool_set_size(0);   /* destroyed sandboxes keep no descriptors */
}

/* The lowest free descriptor (libFuzzer's own may come and go between inputs, not during one). */
static int lowest_free_fd(void)
{
    int fd = dup(memfd);
    REQUIRE(fd >= 0);
    close(fd);
    return fd;
}

/* save(load(file)) loads back to the same snapshot. */
static void check_save_round_trip(const hl_snapshot *s)
{
    hl_snapshot *t = NULL;
    REQUIRE(hl_snapshot_save(s, save_path) == 0);
    int rc = hl_snapshot_load(save_path, &t);
    if (rc)
        fprintf(stderr, "reload failed: %s\n", hl_last_error());
    unlink(save_path);
    REQUIRE(rc == 0);
    REQUIRE(t->size == s->size && memcmp(t->mem, s->mem, s->size) == 0);
    REQUIRE(t->guest_id == s->guest_id && memcmp(t->cookie, s->cookie, sizeof s->cookie) == 0);
    REQUIRE(memcmp(t->cpu.bytes, s->cpu.bytes, sizeof s->cpu.bytes) == 0);
    REQUIRE(t->guest_sigs_len == s->guest_sigs_len &&
            memcmp(t->guest_sigs, s->guest_sigs, s->guest_sigs_len) == 0);
    REQUIRE(t->host_sigs_len == s->host_sigs_len &&
            memcmp(t->host_sigs, s->host_sigs, s->host_sigs_len) == 0);
    REQUIRE(memcmp(&t->layout, &s->layout, sizeof s->layout) == 0);
    hl_snapshot_release(t);
}

/* A sandbox from the accepted snapshot runs: any result is fine, a host crash or leak is not. */
static void run_from(hl_snapshot *s)
{
    if (!kvm)
        return;
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 50;
    cfg.memory_limit = HL_MAX_GUEST_MEMORY;
    hl_sandbox *sb = NULL;
    if (hl_sandbox_new_from_snapshot(&cfg, s, &sb) != 0)
        return;
    if (hl_sandbox_init(sb) == 0) {
        for (size_t i = 0; i < s->fns.n; i++) {
            if (s->fns.v[i].nparams == 0) {
                hl_value r;
                int rc = hl_sandbox_call(sb, s->fns.v[i].name, NULL, 0, &r);
                (void)rc; /* any result is fine: the host must only survive it */
                break;
            }
        }
    }
    hl_sandbox_destroy(sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (memfd < 0)
        setup();
    uint8_t *buf = malloc(size ? size : 1);
    REQUIRE(buf);
    memcpy(buf, data, size);
    fix_checksum(buf, size);
    REQUIRE(ftruncate(memfd, 0) == 0 && ftruncate(memfd, (off_t)size) == 0);
    REQUIRE(pwrite(memfd, buf, size, 0) == (ssize_t)size);
    free(buf);

    hl_snapshot *s = NULL;
    int free_fd = lowest_free_fd();
    int rc = hl_snapshot_load(path, &s);
    if (rc == 0) {
        REQUIRE(s);
        check_save_round_trip(s);
        run_from(s);
        hl_snapshot_release(s);
    } else {
        if (rc != HL_ESNAPSHOT)
            fprintf(stderr, "unexpected %s: %s\n", hl_errname(rc), hl_last_error());
        REQUIRE(rc == HL_ESNAPSHOT && s == NULL);
        REQUIRE(strncmp(hl_last_error(), "bad snapshot file", 17) == 0);
    }
    REQUIRE(lowest_free_fd() == free_fd); /* no descriptor leaked */
    return 0;
}

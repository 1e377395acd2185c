/* soak.c: the soak test (`make soak`, not part of `make test`): SOAK_CYCLES (default 10,000)
 * create-init-call-destroy cycles, then SOAK_CALLS (default 100,000) calls on one sandbox that
 * restores its snapshot after every call (reset_after_call; every 1,000th call aborts on purpose).
 * File descriptors (counted with the VM pool drained), mappings and resident memory are sampled at
 * 10% and at 100% of each phase and must stay flat. Prints progress and one final line,
 * "soak: PASS ..." or "soak: FAIL ...". Usage: soak [GUEST.elf] (default
 * $HL_TEST_GUEST_DIR/simpleguest.elf, else build/guests/simpleguest.elf). */
#include <dirent.h>
#include <hyperlight/hyperlight.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Allowed growth between the 10% and the 100% sample (malloc arenas, kernel noise). */
#define RSS_SLACK_KIB 2048
#define MAPS_SLACK 4

/* AddressSanitizer keeps freed memory in quarantine, so resident memory grows by design there
 * (its leak checker covers leaks instead): RSS is then reported, not checked. */
#if defined(__SANITIZE_ADDRESS__)
#define SOAK_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SOAK_ASAN 1
#endif
#endif
#ifndef SOAK_ASAN
#define SOAK_ASAN 0
#endif

typedef struct sample {
    int fds;
    int maps;
    long rss_kib;
} sample;

static int failures;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "soak: ");
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    failures++;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long env_count(const char *name, long dflt)
{
    const char *s = getenv(name);
    long v = s && *s ? strtol(s, NULL, 10) : dflt;
    return v > 0 ? v : dflt;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d)
        return -1;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory stream's own descriptor */
}

static int count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    int n = 0, c;
    if (!f)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    if (!f)
        return -1;
    if (fscanf(f, "%ld %ld", &size, &resident) != 2)
        resident = -1;
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Resources now, with the VM pool drained first (pooled VMs hold descriptors on purpose). */
static sample take_sample(void)
{
    sample s;
    hl_vm_pool_drain();
    s.fds = count_fds();
    s.maps = count_maps();
    s.rss_kib = rss_kib();
    return s;
}

static void compare(const char *phase, sample at10, sample at100)
{
    printf("soak: %s: fds %d -> %d, mappings %d -> %d, RSS %ld -> %ld KiB\n", phase, at10.fds,
           at100.fds, at10.maps, at100.maps, at10.rss_kib, at100.rss_kib);
    if (at100.fds != at10.fds)
        fail("%s: file descriptors went from %d to %d", phase, at10.fds, at100.fds);
    if (at100.maps > at10.maps + MAPS_SLACK)
        fail("%s: mappings went from %d to %d", phase, at10.maps, at100.maps);
    if (SOAK_ASAN)
        printf("soak: %s: resident memory not checked under AddressSanitizer\n", phase);
    else if (at100.rss_kib > at10.rss_kib + RSS_SLACK_KIB)
        fail("%s: resident memory grew from %ld to %ld KiB", phase, at10.rss_kib, at100.rss_kib);
}

static void progress(const char *phase, long done, long total, double t0)
{
    double s = now_s() - t0;
    printf("soak: %s: %ld/%ld (%3ld%%) in %.1f s, %.0f per second, RSS %ld KiB\n", phase, done,
           total, done * 100 / total, s, (double)done / s, rss_kib());
    fflush(stdout);
}

/* ---- phase 1: create, init, call, destroy ---- */
static int one_cycle(const char *guest, long i)
{
    hl_sandbox *sb = NULL;
    hl_value r;
    char text[48];
    snprintf(text, sizeof text, "cycle %ld", i);
    int rc = hl_sandbox_new(NULL, guest, &sb);
    if (!rc)
        rc = hl_sandbox_init(sb);
    if (!rc)
        rc = hl_sandbox_call(sb, "Echo", HL_ARGS(hl_str(text)), &r);
    if (!rc && (r.type != HL_TYPE_STRING || strcmp(r.as.str.ptr, text) != 0))
        rc = -1000;
    if (!rc)
        rc = hl_sandbox_call(sb, "AddToStatic", HL_ARGS(hl_i32(7)), &r);
    if (!rc && r.as.i32 != 7)
        rc = -1001;
    if (rc)
        fail("cycle %ld: %d (%s): %s", i, rc, hl_errname(rc), hl_last_error());
    hl_sandbox_destroy(sb);
    return rc;
}

static void cycles(const char *guest, long n)
{
    sample at10 = {0, 0, 0};
    double t0 = now_s();
    for (long i = 1; i <= n && failures < 10; i++) {
        one_cycle(guest, i);
        if (i == (n + 9) / 10)
            at10 = take_sample();
        if (i % (n / 10 > 0 ? n / 10 : 1) == 0)
            progress("create-call-destroy", i, n, t0);
    }
    compare("create-call-destroy", at10, take_sample());
    printf("soak: create-call-destroy: %ld cycles in %.1f s\n", n, now_s() - t0);
}

/* ---- phase 2: calls with a restore after each ---- */
static int one_call(hl_sandbox *sb, long i)
{
    hl_value r;
    int rc;
    if (i % 1000 == 0) { /* a failed call: the reset must clear the poisoning */
        rc = hl_sandbox_call(sb, "GuestAbortWithMessage", HL_ARGS(hl_i32(5), hl_str("soak")), &r);
        if (rc != HL_EABORT || hl_sandbox_is_poisoned(sb))
            fail("call %ld: abort returned %d (%s), poisoned %d: %s", i, rc, hl_errname(rc),
                 hl_sandbox_is_poisoned(sb), hl_last_error());
        return 0;
    }
    if (i % 2) {
        rc = hl_sandbox_call(sb, "AddToStatic", HL_ARGS(hl_i32(3)), &r);
        if (!rc && r.as.i32 != 3) /* the state after init every time */
            rc = -1002;
    } else {
        rc = hl_sandbox_call(sb, "Echo", HL_ARGS(hl_str("soak")), &r);
        if (!rc && strcmp(r.as.str.ptr, "soak") != 0)
            rc = -1003;
    }
    if (rc)
        fail("call %ld: %d (%s): %s", i, rc, hl_errname(rc), hl_last_error());
    return rc;
}

static void calls(const char *guest, long n)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.reset_after_call = true;
    hl_sandbox *sb = NULL;
    int rc = hl_sandbox_new(&cfg, guest, &sb);
    if (rc || (rc = hl_sandbox_init(sb))) {
        fail("cannot create the sandbox: %s", hl_last_error());
        hl_sandbox_destroy(sb);
        return;
    }
    sample at10 = {0, 0, 0};
    double t0 = now_s();
    for (long i = 1; i <= n && failures < 10; i++) {
        one_call(sb, i);
        if (i == (n + 9) / 10)
            at10 = take_sample();
        if (i % (n / 10 > 0 ? n / 10 : 1) == 0)
            progress("calls with restore", i, n, t0);
    }
    compare("calls with restore", at10, take_sample());
    printf("soak: calls with restore: %ld calls in %.1f s\n", n, now_s() - t0);
    hl_sandbox_destroy(sb);
}

static const char *default_guest(void)
{
    static char path[4096];
    const char *dir = getenv("HL_TEST_GUEST_DIR");
    snprintf(path, sizeof path, "%s/simpleguest.elf", dir && *dir ? dir : "build/guests");
    return path;
}

int main(int argc, char **argv)
{
    const char *guest = argc > 1 ? argv[1] : default_guest();
    long ncycles = env_count("SOAK_CYCLES", 10000), ncalls = env_count("SOAK_CALLS", 100000);
    if (!hl_kvm_available()) {
        printf("soak: SKIP: %s\n", hl_last_error());
        return 77;
    }
    double t0 = now_s();
    printf("soak: %s: %ld create-call-destroy cycles, %ld calls with restore\n", guest, ncycles,
           ncalls);
    cycles(guest, ncycles);
    calls(guest, ncalls);
    sample end = take_sample();
    printf("soak: %s: %ld cycles and %ld calls in %.1f s; %d failure(s); fds %d, mappings %d, "
           "RSS %ld KiB at the end\n",
           failures ? "FAIL" : "PASS", ncycles, ncalls, now_s() - t0, failures, end.fds, end.maps,
           end.rss_kib);
    return failures ? 1 : 0;
}

/* sections.c: the parts of hl-bench that are not latency rows: calls per second with N sandboxes
 * on N threads (next to raw KVM exits per second the same way), calls per second of one hot
 * sandbox (next to a cold one's), and the memory of idle sandboxes created from one shared
 * snapshot. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---------------------------------------------------------------- throughput */

/* What a throughput thread does in a loop. */
typedef enum tput_kind {
    TPUT_FLOOR, /* raw-KVM exits */
    TPUT_COLD,  /* calls of Nop to a sandbox of the default configuration */
    TPUT_HOT,   /* the same to a hot sandbox */
} tput_kind;

typedef struct tput_thread {
    const bench_opts *opt;
    pthread_barrier_t *start;
    tput_kind kind;
    hl_sandbox *sb;
    floor_vm vm;
    uint64_t count, ns;
    char error[256];
} tput_thread;

static int host_nop(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(0);
    return 0;
}

static int tput_prepare(tput_thread *t)
{
    hl_config cfg;
    if (t->kind == TPUT_FLOOR) {
        if (floor_kvm_open() || floor_vm_create(&t->vm))
            return snprintf(t->error, sizeof t->error, "%s", floor_kvm_error()), -1;
        if (floor_vm_setup(&t->vm) || floor_vm_exit(&t->vm))
            return snprintf(t->error, sizeof t->error, "%s", floor_kvm_error()), -1;
        return 0;
    }
    hl_config_init(&cfg);
    cfg.hot = t->kind == TPUT_HOT;
    if (hl_sandbox_new(&cfg, t->opt->guest, &t->sb) ||
        hl_sandbox_register(t->sb, "HostNop", HL_TYPE_I32, NULL, 0, host_nop, NULL) ||
        hl_sandbox_init(t->sb))
        return snprintf(t->error, sizeof t->error, "sandbox: %s", hl_last_error()), -1;
    return 0;
}

static int tput_once(tput_thread *t)
{
    if (t->kind == TPUT_FLOOR)
        return floor_vm_exit(&t->vm);
    hl_value out;
    return hl_sandbox_call(t->sb, "Nop", NULL, 0, &out);
}

static void *tput_main(void *arg)
{
    tput_thread *t = arg;
    int rc = tput_prepare(t);
    pthread_barrier_wait(t->start);
    uint64_t t0 = bench_now_ns(), limit = (uint64_t)(t->opt->seconds * 1e9), now = t0;
    while (!rc && now - t0 < limit) {
        for (int i = 0; i < 32 && !rc; i++, t->count++)
            rc = tput_once(t);
        now = bench_now_ns();
    }
    t->ns = now - t0;
    if (rc && !t->error[0])
        snprintf(t->error, sizeof t->error, "%s",
                 t->kind == TPUT_FLOOR ? floor_kvm_error() : hl_last_error());
    hl_sandbox_destroy(t->sb);
    floor_vm_destroy(&t->vm);
    return NULL;
}

/* Runs n threads for `seconds`; returns the sum of their rates (operations per second), or -1. */
static double tput_run(const bench_opts *o, unsigned n, tput_kind kind, char *error, size_t cap)
{
    pthread_barrier_t start;
    pthread_t tid[8];
    tput_thread t[8];
    double rate = 0;
    memset(t, 0, sizeof t);
    pthread_barrier_init(&start, NULL, n);
    for (unsigned i = 0; i < n; i++) {
        t[i] = (tput_thread){
            .opt = o, .start = &start, .kind = kind, .vm = {.vm_fd = -1, .vcpu_fd = -1}};
        pthread_create(&tid[i], NULL, tput_main, &t[i]);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    for (unsigned i = 0; i < n; i++) {
        if (t[i].error[0]) {
            snprintf(error, cap, "%s", t[i].error);
            return -1;
        }
        rate += t[i].ns ? (double)t[i].count * 1e9 / (double)t[i].ns : 0;
    }
    return rate;
}

/* Floor and library alternate in rounds (each 1/rounds of the time), so a change in the
 * machine's speed hits both alike; the rates are the means over the rounds. */
static void tput_measure(const bench_run *run, bench_tput *p)
{
    bench_opts o = run->opt;
    o.seconds = run->opt.seconds / run->opt.rounds;
    for (unsigned r = 0; r < run->opt.rounds && !p->failed; r++) {
        double floor = tput_run(&o, p->threads, TPUT_FLOOR, p->error, sizeof p->error);
        double lib =
            floor < 0 ? -1 : tput_run(&o, p->threads, TPUT_COLD, p->error, sizeof p->error);
        p->failed = floor < 0 || lib < 0;
        p->floor_exits_per_s += floor / run->opt.rounds;
        p->calls_per_s += lib / run->opt.rounds;
    }
}

void bench_throughput(bench_run *run)
{
    unsigned max = run->opt.max_threads < 8 ? run->opt.max_threads : 8;
    for (unsigned n = 1; n <= max; n++) {
        bench_tput *p = &run->tput[run->ntput++];
        p->threads = n;
        if (run->opt.verbose)
            fprintf(stderr, "hl-bench: throughput with %u thread(s)\n", n);
        tput_measure(run, p);
        run->any_error |= p->failed;
    }
}

/* One thread each. On one CPU the hot sandbox's vCPU thread and its caller take turns, each
 * spinning out its window first: measured all the same, it is what such a machine gets. */
void bench_hot_throughput(bench_run *run)
{
    bench_hot_tput *h = &run->hot_tput;
    bench_opts o = run->opt;
    o.seconds = run->opt.seconds / run->opt.rounds;
    h->ran = true;
    if (run->opt.verbose)
        fprintf(stderr, "hl-bench: throughput of one hot sandbox\n");
    for (unsigned r = 0; r < run->opt.rounds && !h->failed; r++) {
        double cold = tput_run(&o, 1, TPUT_COLD, h->error, sizeof h->error);
        double hot = cold < 0 ? -1 : tput_run(&o, 1, TPUT_HOT, h->error, sizeof h->error);
        h->failed = cold < 0 || hot < 0;
        h->cold_calls_per_s += cold / run->opt.rounds;
        h->hot_calls_per_s += hot / run->opt.rounds;
    }
    run->any_error |= h->failed;
}

/* ---------------------------------------------------------------- memory */

/* The number after `key` in a /proc file (kB there), in bytes; -1 if absent. */
static double proc_kb(const char *path, const char *key)
{
    FILE *f = fopen(path, "r");
    char line[256];
    double v = -1;
    size_t klen = strlen(key);
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, key, klen) == 0) {
            v = atof(line + klen) * 1024;
            break;
        }
    fclose(f);
    return v;
}

bench_mem_probe bench_probe_memory(void)
{
    bench_mem_probe p = {proc_kb("/proc/self/status", "VmRSS:"),
                         proc_kb("/proc/self/smaps_rollup", "Pss:"),
                         proc_kb("/proc/meminfo", "MemAvailable:")};
    return p;
}

static int fail_mem(bench_memory *m, const char *what)
{
    snprintf(m->error, sizeof m->error, "%s: %s", what, hl_last_error());
    m->failed = true;
    return -1;
}

/* Saves the snapshot to a temporary file: its memory size and the bytes it really stores. */
static int measure_snapshot(bench_memory *m, hl_snapshot *snap)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/hl-bench-%ld.snap", dir, (long)getpid());
    if (hl_snapshot_save(snap, path))
        return fail_mem(m, "hl_snapshot_save");
    int rc = stat(path, &st);
    unlink(path);
    if (rc)
        return fail_mem(m, "stat snapshot file");
    m->snapshot_bytes = (uint64_t)st.st_size;
    m->snapshot_stored = (uint64_t)st.st_blocks * 512;
    return 0;
}

static int base_snapshot(bench_memory *m, const bench_opts *o, hl_snapshot **snap)
{
    hl_sandbox *sb;
    if (hl_sandbox_new(NULL, o->guest, &sb))
        return fail_mem(m, "hl_sandbox_new");
    int rc = hl_sandbox_register(sb, "HostNop", HL_TYPE_I32, NULL, 0, host_nop, NULL);
    if (!rc)
        rc = hl_sandbox_init(sb);
    if (!rc)
        rc = hl_sandbox_snapshot(sb, snap);
    hl_sandbox_destroy(sb);
    return rc ? fail_mem(m, "base sandbox") : measure_snapshot(m, *snap);
}

static int one_idle(hl_snapshot *snap, hl_sandbox **out)
{
    hl_value v;
    if (hl_sandbox_new_from_snapshot(NULL, snap, out))
        return -1;
    if (hl_sandbox_register(*out, "HostNop", HL_TYPE_I32, NULL, 0, host_nop, NULL) ||
        hl_sandbox_init(*out) || hl_sandbox_call(*out, "Nop", NULL, 0, &v)) {
        hl_sandbox_destroy(*out);
        return -1;
    }
    return 0;
}

void bench_memory_account(bench_memory *m, bench_mem_probe before, uint64_t t0, unsigned made)
{
    m->create_s = (double)(bench_now_ns() - t0) / 1e9;
    bench_mem_probe after = bench_probe_memory();
    if (m->failed || !made)
        return;
    m->rss_per_sb = (after.rss - before.rss) / made;
    m->pss_per_sb = (after.pss - before.pss) / made;
    m->avail_per_sb = (before.avail - after.avail) / made;
}

static void measure_idle(bench_memory *m, hl_snapshot *snap, hl_sandbox **sbs)
{
    unsigned made = 0;
    bench_mem_probe before = bench_probe_memory();
    uint64_t t0 = bench_now_ns();
    while (made < m->count && one_idle(snap, &sbs[made]) == 0)
        made++;
    if (made < m->count)
        fail_mem(m, "creating idle sandboxes");
    bench_memory_account(m, before, t0, made);
    for (unsigned i = 0; i < made; i++)
        hl_sandbox_destroy(sbs[i]);
}

void bench_memory_section(bench_run *run)
{
    bench_memory *m = &run->mem;
    hl_snapshot *snap = NULL;
    m->ran = true;
    m->count = run->opt.sandboxes;
    hl_sandbox **sbs = calloc(m->count ? m->count : 1, sizeof *sbs);
    if (run->opt.verbose)
        fprintf(stderr, "hl-bench: memory of %u idle sandboxes\n", m->count);
    hl_vm_pool_drain(); /* every sandbox below pays for its own VM */
    if (!sbs) {
        snprintf(m->error, sizeof m->error, "out of memory");
        m->failed = true;
    } else if (base_snapshot(m, &run->opt, &snap) == 0) {
        measure_idle(m, snap, sbs);
    }
    hl_snapshot_release(snap);
    free(sbs);
    run->any_error |= m->failed;
}

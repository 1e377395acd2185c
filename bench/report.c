/* report.c: hl-bench's output: the table for people, JSON for machines, and the targets (from
 * issues 3 and 5, and the hot sandboxes' issue) each judged PASS or MISS with its margin, or not
 * judged when the machine cannot mean it (SKIP). Reporting only: a miss is not an error. */
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "bench.h"

/* A target: median(a) / median(b) <= limit, or with `times_cheaper`, median(b) / median(a) >=
 * limit; with c, b's median is median(b) + c_weight * median(c). Without b, an absolute one:
 * median(a) <= limit nanoseconds. A target with `spins` compares rows where one side spins
 * waiting for the other, which means nothing unless each side has a CPU of its own: with fewer
 * than BENCH_SPIN_CPUS usable CPUs it is not judged. */
typedef struct target {
    const char *text;
    const char *a, *b;
    double limit;
    bool times_cheaper;
    const char *c;
    double c_weight;
    bool spins;
} target;

static const target targets[] = {
    {"guest call (no arguments) <= 1.15x the CPL3 exit floor", "call.nop", "floor.exit", 1.15, 0,
     NULL, 0, 0},
    {"call with one host call <= 2.2x the exit floor", "call.host", "floor.exit", 2.2, 0, NULL, 0,
     0},
    {"cold create (pool off) <= 1.3x bare VM create + set up + first run", "create.cold",
     "floor.vm_cold", 1.3, 0, NULL, 0, 0},
    {"restore + call cheaper than posix_spawn + wait (< 1x)", "restore.call", "peer.posix_spawn",
     1.0, 0, NULL, 0, 0},
    {"destroy (pool on) blocks no longer than bare VM teardown (<= 1x)", "destroy.pool",
     "floor.vm_destroy", 1.0, 0, NULL, 0, 0},
    {"restore of 64 MiB after a 4-page call >= 50x cheaper than memcpy 64 MiB", "restore.pages_4",
     "reference.memcpy_64m", 50, 1, NULL, 0, 0},
    {"create from snapshot < 1/3 of cold create, default config (VM pool on)", "create.snapshot",
     "create.cold_pool", 1.0 / 3, 0, NULL, 0, 0},
    {"create from snapshot < 1/3 of cold create, both with the VM pool off",
     "create.snapshot_nopool", "create.cold", 1.0 / 3, 0, NULL, 0, 0},
    {"create from snapshot (recycled VM) < 1/4 of bare VM + vCPU create", "create.snapshot",
     "floor.vm_create", 0.25, 0, NULL, 0, 0},
    {"JS fresh request <= 0.3x quickjs-emscripten's new runtime + context", "js.fresh",
     "js.peer.qjs_emscripten", 0.3, 0, NULL, 0, 0},
    {"JS fresh request <= 0.2x Node's vm.createContext + run", "js.fresh", "js.peer.node_vm", 0.2,
     0, NULL, 0, 0},
    {"JS handler call <= native in-process call + 1.2x the exit floor", "js.call", "js.native.call",
     1.0, 0, "floor.exit", 1.2, 0},
    {"hot call (no arguments) <= 1 us median", "hot.nop", NULL, 1000, 0, NULL, 0, 1},
    {"hot call (no arguments) <= 10x the shared-memory round trip floor", "hot.nop", "floor.shm",
     10, 0, NULL, 0, 1},
    {"hot call with one host call <= 2 us median", "hot.host", NULL, 2000, 0, NULL, 0, 1},
    {"parked hot sandbox's first call <= 1.2x a cold sandbox's call", "hot.wake", "call.nop", 1.2,
     0, NULL, 0, 1},
};
#define NTARGETS (sizeof targets / sizeof targets[0])

static bool measured(const bench_result *r)
{
    return r && !r->failed && r->median > 0;
}

/* The target's ratio (or, without b, a's median in ns) in *value and whether it passes; -1 when
 * a row it needs was not measured. */
static int judge(const bench_run *run, const target *t, double *value, bool *pass)
{
    const bench_result *a = bench_find(run, t->a), *b = t->b ? bench_find(run, t->b) : NULL;
    const bench_result *c = t->c ? bench_find(run, t->c) : NULL;
    if (!measured(a) || (t->b && !measured(b)) || (t->c && !measured(c)))
        return -1;
    if (!t->b) {
        *value = a->median;
        *pass = *value <= t->limit;
        return 0;
    }
    double base = b->median + (c ? t->c_weight * c->median : 0);
    *value = t->times_cheaper ? base / a->median : a->median / base;
    *pass = t->times_cheaper ? *value >= t->limit : *value <= t->limit;
    return 0;
}

/* Why the target is not judged on this machine, or NULL. */
static const char *not_judged(const bench_run *run, const target *t)
{
    static char why[64];
    if (!t->spins || run->cpus >= BENCH_SPIN_CPUS)
        return NULL;
    snprintf(why, sizeof why, "needs %d CPUs, this process may use %u", BENCH_SPIN_CPUS, run->cpus);
    return why;
}

/* How far from the limit, in percent of it: headroom when passing, shortfall otherwise. */
static double margin_pct(const target *t, double value)
{
    double factor = t->times_cheaper ? value / t->limit : t->limit / value;
    return factor >= 1 ? (factor - 1) * 100 : (1 / factor - 1) * 100;
}

/* "headroom 12%", "headroom 26.8x", "misses by 79%" */
static void fmt_margin(char *buf, size_t cap, const target *t, double value, bool pass)
{
    double pct = margin_pct(t, value);
    const char *what = pass ? "headroom" : "misses by";
    if (pct >= 100)
        snprintf(buf, cap, "%s %.1fx", what, 1 + pct / 100);
    else
        snprintf(buf, cap, "%s %.0f%%", what, pct);
}

void bench_select_target_bases(bench_run *run)
{
    for (size_t i = 0; i < NTARGETS; i++)
        if (bench_selected(run, targets[i].a)) {
            if (targets[i].b)
                bench_select(run, targets[i].b);
            if (targets[i].c)
                bench_select(run, targets[i].c);
        }
}

/* "floor.exit+floor.memcpy_1m" -> "exit+memcpy_1m". */
static void short_spec(char *buf, size_t cap, const char *spec)
{
    size_t n = 0;
    buf[0] = 0;
    for (const char *p = spec; *p && n + 1 < cap;) {
        const char *dot = strchr(p, '.'), *plus = strchr(p, '+');
        if (dot && (!plus || dot < plus))
            p = dot + 1;
        while (*p && *p != '+' && n + 1 < cap)
            buf[n++] = *p++;
        if (*p == '+' && n + 1 < cap)
            buf[n++] = *p++;
        buf[n] = 0;
    }
}

/* 1.07x, 15.2x, 1340x */
static void fmt_ratio(char *buf, size_t cap, double v)
{
    snprintf(buf, cap, v >= 100 ? "%.0fx" : v >= 10 ? "%.1fx" : "%.2fx", v);
}

static void fmt_time(char *buf, size_t cap, double ns)
{
    if (ns < 1e3)
        snprintf(buf, cap, "%.0f ns", ns);
    else if (ns < 1e4)
        snprintf(buf, cap, "%.2f us", ns / 1e3);
    else if (ns < 1e6)
        snprintf(buf, cap, "%.1f us", ns / 1e3);
    else if (ns < 1e9)
        snprintf(buf, cap, "%.2f ms", ns / 1e6);
    else
        snprintf(buf, cap, "%.2f s", ns / 1e9);
}

/* ---------------------------------------------------------------- machine */

static void cpu_model(char *buf, size_t cap)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    snprintf(buf, cap, "unknown CPU");
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(buf, cap, "%s", colon + 2);
            buf[strcspn(buf, "\n")] = 0;
            break;
        }
    }
    if (f)
        fclose(f);
}

static void machine(char *buf, size_t cap)
{
    struct utsname u;
    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    if (uname(&u) != 0)
        snprintf(u.release, sizeof u.release, "?");
    snprintf(buf, cap, "%ld cores, Linux %s, %s", sysconf(_SC_NPROCESSORS_ONLN), u.release, cpu);
}

/* ---------------------------------------------------------------- table */

static const char *group_of(const char *id)
{
    if (strncmp(id, "floor.", 6) == 0 || strncmp(id, "reference.", 10) == 0)
        return "floors (own raw-KVM code and memcpy, same run)";
    if (strncmp(id, "peer.", 5) == 0)
        return "peer (process sandbox)";
    if (strncmp(id, "hot.", 4) == 0)
        return "libhyperlight, hot sandboxes (cfg.hot: calls through shared memory)";
    if (strncmp(id, "js.", 3) == 0)
        return "JavaScript (libhyperlight_js, native QuickJS floors, JS peers)";
    return "libhyperlight";
}

static void ratio_cell(char *buf, size_t cap, const bench_run *run, const bench_result *r,
                       const char *spec)
{
    double base = spec ? bench_floor_median(run, spec) : -1;
    char ratio[32], name[64];
    if (base > 0) {
        fmt_ratio(ratio, sizeof ratio, r->median / base);
        short_spec(name, sizeof name, spec);
        snprintf(buf, cap, "%s %s", ratio, name);
    } else
        snprintf(buf, cap, "%s", spec ? "(not measured)" : "");
}

static void print_row(FILE *f, const bench_run *run, const bench_result *r)
{
    char mn[32], md[32], p99[32], fl[64], pe[64];
    if (!r->op->sample) {
        fprintf(f, "%-58s %6s   n/a\n", r->op->label, "-");
        return;
    }
    if (r->failed) {
        fprintf(f, "%-58s %s: %s\n", r->op->label, r->skipped ? "skipped" : "ERROR", r->error);
        return;
    }
    fmt_time(mn, sizeof mn, r->min);
    fmt_time(md, sizeof md, r->median);
    fmt_time(p99, sizeof p99, r->p99);
    ratio_cell(fl, sizeof fl, run, r, r->op->floor);
    ratio_cell(pe, sizeof pe, run, r, r->op->peer);
    char line[256];
    int n = snprintf(line, sizeof line, "%-58s %6zu %9s %9s %9s  %-21s %s", r->op->label, r->n, mn,
                     md, p99, fl, pe);
    while (n > 0 && (size_t)n < sizeof line && line[n - 1] == ' ')
        line[--n] = 0; /* no trailing blanks when a cell is empty */
    fprintf(f, "%s\n", line);
}

static void print_rows(FILE *f, const bench_run *run)
{
    const char *group = NULL;
    fprintf(f, "%-58s %6s %9s %9s %9s  %-21s %s\n", "operation", "n", "min", "median", "p99",
            "vs floor (median)", "vs peer");
    for (size_t i = 0; i < run->nresults; i++) {
        const bench_result *r = &run->results[i];
        if (!r->ran)
            continue;
        if (!group || strcmp(group, group_of(r->op->id)) != 0)
            fprintf(f, "-- %s\n", group = group_of(r->op->id));
        print_row(f, run, r);
    }
}

static void print_tput(FILE *f, const bench_run *run)
{
    if (!run->ntput)
        return;
    fprintf(f, "\n-- calls per second, N sandboxes on N threads (Nop; floor: raw exits)\n");
    for (size_t i = 0; i < run->ntput; i++) {
        const bench_tput *t = &run->tput[i];
        if (t->failed) {
            fprintf(f, "N = %u: ERROR: %s\n", t->threads, t->error);
            continue;
        }
        fprintf(f, "N = %u: %9.0f calls/s   floor %9.0f exits/s   %.2fx floor   scaling %.2fx\n",
                t->threads, t->calls_per_s, t->floor_exits_per_s,
                t->calls_per_s / t->floor_exits_per_s, t->calls_per_s / run->tput[0].calls_per_s);
    }
}

static void print_hot_tput(FILE *f, const bench_run *run)
{
    const bench_hot_tput *h = &run->hot_tput;
    if (!h->ran)
        return;
    fprintf(f, "\n-- calls per second, one hot sandbox (Nop; a cold sandbox in the same rounds)\n");
    if (h->failed) {
        fprintf(f, "ERROR: %s\n", h->error);
        return;
    }
    fprintf(f, "hot: %9.0f calls/s   cold %9.0f calls/s   %.2fx cold%s\n", h->hot_calls_per_s,
            h->cold_calls_per_s, h->hot_calls_per_s / h->cold_calls_per_s,
            run->cpus < BENCH_SPIN_CPUS ? "   (one CPU: the vCPU thread and the caller take turns)"
                                        : "");
}

static void print_js_tput(FILE *f, const bench_run *run)
{
    if (!run->js_ntput)
        return;
    fprintf(f, "\n-- JS handler calls per second, N JS sandboxes on N threads\n");
    for (size_t i = 0; i < run->js_ntput; i++) {
        const bench_tput *t = &run->js_tput[i];
        if (t->failed)
            fprintf(f, "N = %u: ERROR: %s\n", t->threads, t->error);
        else
            fprintf(f, "N = %u: %9.0f calls/s   scaling %.2fx\n", t->threads, t->calls_per_s,
                    t->calls_per_s / run->js_tput[0].calls_per_s);
    }
}

static void print_js_memory(FILE *f, const bench_run *run)
{
    const bench_memory *m = &run->js_mem;
    if (!m->ran)
        return;
    fprintf(f, "\n-- memory: %u idle JS sandboxes from one loaded snapshot (one call each)\n",
            m->count);
    if (m->failed)
        fprintf(f, "ERROR: %s\n", m->error);
    else
        fprintf(f,
                "per JS sandbox: RSS %.1f KiB, PSS %.1f KiB, MemAvailable %.1f KiB; %.1f ms to "
                "create them all\n",
                m->rss_per_sb / 1024, m->pss_per_sb / 1024, m->avail_per_sb / 1024,
                m->create_s * 1e3);
}

static void print_memory(FILE *f, const bench_run *run)
{
    const bench_memory *m = &run->mem;
    if (!m->ran)
        return;
    fprintf(f, "\n-- memory: %u idle sandboxes from one snapshot (one call each)\n", m->count);
    if (m->failed) {
        fprintf(f, "ERROR: %s\n", m->error);
        return;
    }
    fprintf(f, "snapshot file %.1f MiB (%.1f KiB stored, zero pages are holes)\n",
            m->snapshot_bytes / 1048576.0, m->snapshot_stored / 1024.0);
    fprintf(f,
            "per sandbox: RSS %.1f KiB, PSS %.1f KiB, MemAvailable %.1f KiB "
            "(kernel memory included); %.1f ms to create them all\n",
            m->rss_per_sb / 1024, m->pss_per_sb / 1024, m->avail_per_sb / 1024, m->create_s * 1e3);
    fprintf(f, "PSS per sandbox is %.2f%% of the snapshot file\n",
            100.0 * m->pss_per_sb / (double)m->snapshot_bytes);
}

static void print_targets(FILE *f, const bench_run *run)
{
    bool header = false;
    for (size_t i = 0; i < NTARGETS; i++) {
        const target *t = &targets[i];
        double v;
        bool pass;
        if (!bench_selected(run, t->a))
            continue;
        if (!header)
            fprintf(f, "\n-- targets (medians; reporting only, a miss is not an error)\n");
        header = true;
        const char *why = not_judged(run, t);
        if (why) {
            fprintf(f, "SKIP  %-72s not judged: %s\n", t->text, why);
            continue;
        }
        if (judge(run, t, &v, &pass)) {
            fprintf(f, "----  %-72s not measured\n", t->text);
            continue;
        }
        char value[32], margin[64];
        if (t->b)
            fmt_ratio(value, sizeof value, v);
        else
            fmt_time(value, sizeof value, v);
        fmt_margin(margin, sizeof margin, t, v, pass);
        fprintf(f, "%s  %-72s %7s  %s\n", pass ? "PASS" : "MISS", t->text, value, margin);
    }
}

void bench_print_table(FILE *f, const bench_run *run)
{
    char m[256];
    machine(m, sizeof m);
    fprintf(f, "hl-bench %s on %s\n%s run, %u round(s), %.1f s, %u usable CPU(s)\n\n", hl_version(),
            m, run->opt.quick ? "quick" : "full", run->opt.rounds, run->seconds, run->cpus);
    print_rows(f, run);
    print_tput(f, run);
    print_hot_tput(f, run);
    print_memory(f, run);
    print_js_tput(f, run);
    print_js_memory(f, run);
    print_targets(f, run);
}

/* ---------------------------------------------------------------- JSON */

static void json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; s && *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(f, "\\%c", ch);
        else if (ch < 0x20)
            fprintf(f, "\\u%04x", ch);
        else
            fputc(ch, f);
    }
    fputc('"', f);
}

static void json_ratio(FILE *f, const char *key, const bench_run *run, const bench_result *r,
                       const char *spec)
{
    double base = spec ? bench_floor_median(run, spec) : -1;
    fprintf(f, ", \"%s\": ", key);
    if (spec)
        json_str(f, spec);
    else
        fputs("null", f);
    if (base > 0)
        fprintf(f, ", \"%s_median_ns\": %.1f, \"%s_ratio\": %.4f", key, base, key,
                r->median / base);
}

static void json_row(FILE *f, const bench_run *run, const bench_result *r)
{
    fprintf(f, "    {\"id\": ");
    json_str(f, r->op->id);
    fprintf(f, ", \"label\": ");
    json_str(f, r->op->label);
    if (!r->op->sample)
        fprintf(f, ", \"status\": \"n/a\"}");
    else if (r->failed) {
        fprintf(f, ", \"status\": \"%s\", \"error\": ", r->skipped ? "skipped" : "error");
        json_str(f, r->error);
        fputc('}', f);
    } else {
        fprintf(f,
                ", \"status\": \"ok\", \"n\": %zu, \"min_ns\": %.1f, \"median_ns\": %.1f, "
                "\"p99_ns\": %.1f",
                r->n, r->min, r->median, r->p99);
        json_ratio(f, "floor", run, r, r->op->floor);
        json_ratio(f, "peer", run, r, r->op->peer);
        fputc('}', f);
    }
}

static void json_rows(FILE *f, const bench_run *run)
{
    bool first = true;
    fprintf(f, "  \"rows\": [\n");
    for (size_t i = 0; i < run->nresults; i++) {
        if (!run->results[i].ran)
            continue;
        fprintf(f, "%s", first ? "" : ",\n");
        json_row(f, run, &run->results[i]);
        first = false;
    }
    fprintf(f, "\n  ],\n");
}

static void json_tput(FILE *f, const char *name, const bench_tput *tput, size_t ntput)
{
    fprintf(f, "  \"%s\": [", name);
    for (size_t i = 0; i < ntput; i++) {
        const bench_tput *t = &tput[i];
        fprintf(f, "%s\n    {\"threads\": %u", i ? "," : "", t->threads);
        if (t->failed) {
            fprintf(f, ", \"error\": ");
            json_str(f, t->error);
        } else
            fprintf(f, ", \"calls_per_s\": %.1f, \"floor_exits_per_s\": %.1f", t->calls_per_s,
                    t->floor_exits_per_s);
        fputc('}', f);
    }
    fprintf(f, "%s],\n", ntput ? "\n  " : "");
}

static void json_hot_tput(FILE *f, const bench_hot_tput *h)
{
    fprintf(f, "  \"hot_throughput\": ");
    if (!h->ran)
        fprintf(f, "null");
    else if (h->failed) {
        fprintf(f, "{\"error\": ");
        json_str(f, h->error);
        fputc('}', f);
    } else
        fprintf(f, "{\"hot_calls_per_s\": %.1f, \"cold_calls_per_s\": %.1f}", h->hot_calls_per_s,
                h->cold_calls_per_s);
    fprintf(f, ",\n");
}

static void json_memory(FILE *f, const char *name, const bench_memory *m)
{
    fprintf(f, "  \"%s\": ", name);
    if (!m->ran)
        fprintf(f, "null");
    else if (m->failed) {
        fprintf(f, "{\"error\": ");
        json_str(f, m->error);
        fputc('}', f);
    } else
        fprintf(f,
                "{\"sandboxes\": %u, \"snapshot_file_bytes\": %llu, "
                "\"snapshot_stored_bytes\": %llu, \"rss_per_sandbox\": %.0f, "
                "\"pss_per_sandbox\": %.0f, \"memavailable_per_sandbox\": %.0f, "
                "\"create_all_s\": %.4f}",
                m->count, (unsigned long long)m->snapshot_bytes,
                (unsigned long long)m->snapshot_stored, m->rss_per_sb, m->pss_per_sb,
                m->avail_per_sb, m->create_s);
    fprintf(f, ",\n");
}

static void json_targets(FILE *f, const bench_run *run)
{
    fprintf(f, "  \"targets\": [");
    for (size_t i = 0; i < NTARGETS; i++) {
        const target *t = &targets[i];
        double v;
        bool pass;
        fprintf(f, "%s\n    {\"text\": ", i ? "," : "");
        json_str(f, t->text);
        fprintf(f, ", \"row\": ");
        json_str(f, t->a);
        fprintf(f, ", \"base\": ");
        if (t->b)
            json_str(f, t->b);
        else
            fputs("null", f); /* an absolute limit, in ns */
        fprintf(f, ", \"limit\": %.4f, \"limit_unit\": \"%s\", \"times_cheaper\": %s", t->limit,
                t->b ? "ratio" : "ns", t->times_cheaper ? "true" : "false");
        const char *why = not_judged(run, t);
        if (why) {
            fprintf(f, ", \"status\": \"not judged\", \"reason\": ");
            json_str(f, why);
            fputc('}', f);
        } else if (judge(run, t, &v, &pass))
            fprintf(f, ", \"status\": \"not measured\"}");
        else
            fprintf(f, ", \"value\": %.4f, \"status\": \"%s\", \"margin_pct\": %.1f}", v,
                    pass ? "PASS" : "MISS", margin_pct(t, v));
    }
    fprintf(f, "\n  ]\n");
}

void bench_print_json(FILE *f, const bench_run *run)
{
    char m[256];
    machine(m, sizeof m);
    fprintf(f, "{\n  \"tool\": \"hl-bench\", \"version\": ");
    json_str(f, hl_version());
    fprintf(f, ",\n  \"machine\": ");
    json_str(f, m);
    fprintf(f,
            ",\n  \"usable_cpus\": %u, \"quick\": %s, \"rounds\": %u, \"iterations\": %u, "
            "\"seconds\": %.2f,\n",
            run->cpus, run->opt.quick ? "true" : "false", run->opt.rounds, run->opt.iterations,
            run->seconds);
    json_rows(f, run);
    json_tput(f, "throughput", run->tput, run->ntput);
    json_hot_tput(f, &run->hot_tput);
    json_memory(f, "memory", &run->mem);
    json_tput(f, "js_throughput", run->js_tput, run->js_ntput);
    json_memory(f, "js_memory", &run->js_mem);
    json_targets(f, run);
    fprintf(f, "}\n");
}

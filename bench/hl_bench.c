/* hl_bench.c: hl-bench's command line and runner: picks the rows, runs them interleaved in rounds
 * (so slow drifts of a shared machine hit a row and its floor alike), then the throughput (cold
 * and hot) and memory sections, and prints the table or JSON. See docs/PERFORMANCE.md.
 * One idle "anchor" VM stays open for the whole run: when a process's last VM goes away the
 * kernel flips KVM's static keys back (text patching with IPIs to every CPU) and the next
 * create flips them again, which would charge a row that leaves no VM alive (pool off) for
 * something the floors, run while pooled VMs exist, do not pay. */
#include <errno.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"

#define MIN_SAMPLES 5
#define FULL_BUDGET_NS 3000000000ull /* per row, over all rounds, once MIN_SAMPLES are taken */
#define QUICK_BUDGET_NS 300000000ull

static const char usage[] =
    "usage: hl-bench [options]\n"
    "  --quick            smoke pass (few samples, short sections; < 20 s)\n"
    "  --iterations N     exactly N samples per row (default: per row, capped by time)\n"
    "  --rounds N         interleave the rows in N rounds (default 10, quick 1)\n"
    "  --only LIST        rows whose id starts with one of LIST (comma-separated), e.g.\n"
    "                     call,restore,hot,throughput,memory; floors and peers they are\n"
    "                     compared with are added\n"
    "  --alone            add nothing to --only's rows (no floors, peers; for profiling)\n"
    "  --json             print JSON instead of the table\n"
    "  --json-file FILE   also write the JSON to FILE\n"
    "  --guest ELF        bench guest (default: ../guests/bench_guest.elf next to hl-bench)\n"
    "  --peer PROGRAM     peer binary (default: peer_echo next to hl-bench)\n"
    "  --js-peer FILE     the JS peers' script (default: bench/js_peer.mjs of this tree)\n"
    "  --qjs-emscripten F quickjs-emscripten's dist/index.mjs (make bench installs it; without\n"
    "                     it that peer's row says skipped)\n"
    "  --sandboxes N      idle sandboxes in the memory section (default 1000, quick 50)\n"
    "  --seconds S        seconds per thread count in the throughput section (2, quick 0.25)\n"
    "  --threads N        throughput with 1..N threads (default 2)\n"
    "  --no-anchor        do not keep an idle VM open during the run (then rows that leave no\n"
    "                     VM alive pay the kernel's first-VM/last-VM static-key patching)\n"
    "  --list             list the row ids and exit\n"
    "  -v, --verbose      progress on stderr\n"
    "Rows that spin (floor.shm) need 2 usable CPUs and say skipped without them; the hot\n"
    "targets are then not judged (SKIP).\n"
    "Environment: HL_BENCH_QUICK=1, HL_BENCH_ITERATIONS, HL_BENCH_ROUNDS, HL_BENCH_ONLY (flags "
    "win).\n"
    "Exit status: 0 (targets missed included), 1 if a measurement failed, 2 for bad usage.\n";

/* ---------------------------------------------------------------- options */

static char default_guest[PATH_MAX], default_peer[PATH_MAX], default_js_peer[PATH_MAX];

static void default_paths(bench_opts *o)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    const char *dir = n > 0 ? dirname(exe) : ".";
    snprintf(default_guest, sizeof default_guest, "%s/../guests/bench_guest.elf", dir);
    snprintf(default_peer, sizeof default_peer, "%s/peer_echo", dir);
    snprintf(default_js_peer, sizeof default_js_peer, "%s/../../bench/js_peer.mjs", dir);
    o->guest = default_guest;
    o->peer = default_peer;
    o->js_peer = default_js_peer;
}

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(s ? s : "", &end, 10);
    if (!s || !*s || *end || errno || v > 1000000000ul)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static void from_env(bench_opts *o)
{
    const char *q = getenv("HL_BENCH_QUICK");
    o->quick = q && strcmp(q, "0") != 0 && *q;
    if (getenv("HL_BENCH_ITERATIONS"))
        parse_uint(getenv("HL_BENCH_ITERATIONS"), &o->iterations);
    if (getenv("HL_BENCH_ROUNDS"))
        parse_uint(getenv("HL_BENCH_ROUNDS"), &o->rounds);
    o->only = getenv("HL_BENCH_ONLY");
}

/* Options that take a value; returns 0, or -1 for an unknown option or a bad value. */
static int value_option(bench_opts *o, const char *name, const char *v)
{
    if (!v)
        return -1;
    if (!strcmp(name, "--iterations"))
        return parse_uint(v, &o->iterations);
    if (!strcmp(name, "--rounds"))
        return parse_uint(v, &o->rounds);
    if (!strcmp(name, "--sandboxes"))
        return parse_uint(v, &o->sandboxes);
    if (!strcmp(name, "--threads"))
        return parse_uint(v, &o->max_threads);
    if (!strcmp(name, "--seconds"))
        return (o->seconds = atof(v)) > 0 ? 0 : -1;
    if (!strcmp(name, "--only"))
        return (o->only = v), 0;
    if (!strcmp(name, "--json-file"))
        return (o->json_file = v), 0;
    if (!strcmp(name, "--guest"))
        return (o->guest = v), 0;
    if (!strcmp(name, "--peer"))
        return (o->peer = v), 0;
    if (!strcmp(name, "--js-peer"))
        return (o->js_peer = v), 0;
    if (!strcmp(name, "--qjs-emscripten"))
        return (o->qjs_emscripten = v), 0;
    return -1;
}

/* Returns 0 to run, 1 to exit 0 (help, list), 2 for bad usage. */
static int parse_args(int argc, char **argv, bench_opts *o, bool *list)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--quick"))
            o->quick = true;
        else if (!strcmp(a, "--json"))
            o->json = true;
        else if (!strcmp(a, "--alone"))
            o->alone = true;
        else if (!strcmp(a, "--no-anchor"))
            o->no_anchor = true;
        else if (!strcmp(a, "--list"))
            *list = true;
        else if (!strcmp(a, "-v") || !strcmp(a, "--verbose"))
            o->verbose = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help"))
            return fputs(usage, stdout), 1;
        else if (value_option(o, a, i + 1 < argc ? argv[i + 1] : NULL) == 0)
            i++;
        else
            return fprintf(stderr, "hl-bench: bad option or value: %s\n%s", a, usage), 2;
    }
    return 0;
}

static void apply_defaults(bench_opts *o)
{
    if (!o->rounds)
        o->rounds = o->quick ? 1 : 10;
    if (!o->sandboxes)
        o->sandboxes = o->quick ? 50 : 1000;
    if (o->seconds <= 0)
        o->seconds = o->quick ? 0.25 : 2;
    if (!o->max_threads)
        o->max_threads = 2;
}

/* ---------------------------------------------------------------- selection */

static bool wanted(const bench_opts *o, const char *id)
{
    char buf[512];
    if (!o->only || !*o->only)
        return true;
    snprintf(buf, sizeof buf, "%s", o->only);
    for (char *save = NULL, *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save))
        if (!strcmp(p, "all") || !strncmp(id, p, strlen(p)))
            return true;
    return false;
}

/* Selects a floor spec "a" or "a+b". */
static void select_spec(bench_run *run, const char *spec)
{
    char buf[128];
    if (!spec)
        return;
    snprintf(buf, sizeof buf, "%s", spec);
    for (char *save = NULL, *id = strtok_r(buf, "+", &save); id; id = strtok_r(NULL, "+", &save))
        bench_select(run, id);
}

static int build_rows(bench_run *run)
{
    size_t n = bench_nfloor_ops + bench_nlib_ops + bench_njs_ops;
    run->results = calloc(n, sizeof *run->results);
    if (!run->results)
        return -1;
    for (size_t i = 0; i < n; i++) {
        bench_result *r = &run->results[run->nresults++];
        r->op = i < bench_nfloor_ops ? &bench_floor_ops[i]
                : i < bench_nfloor_ops + bench_nlib_ops
                    ? &bench_lib_ops[i - bench_nfloor_ops]
                    : &bench_js_ops[i - bench_nfloor_ops - bench_nlib_ops];
        r->selected = wanted(&run->opt, r->op->id);
    }
    if (run->opt.alone)
        return 0;
    bench_select_target_bases(run);
    for (size_t i = 0; i < n; i++)
        if (run->results[i].selected) {
            select_spec(run, run->results[i].op->floor);
            select_spec(run, run->results[i].op->peer);
        }
    return 0;
}

/* ---------------------------------------------------------------- running */

static unsigned samples_for(const bench_opts *o, const bench_op *op)
{
    if (o->iterations)
        return o->iterations;
    return o->quick ? op->quick : op->full;
}

static int take_samples(bench_run *run, bench_result *r, bench_ctx *c, unsigned want)
{
    const bench_opts *o = &run->opt;
    uint64_t budget = (o->quick ? QUICK_BUDGET_NS : FULL_BUDGET_NS) / o->rounds, ns;
    unsigned warm = want / 20 + 2;
    for (unsigned i = 0; i < warm; i++)
        if (r->op->sample(c, &ns))
            return -1;
    uint64_t start = bench_now_ns();
    for (unsigned i = 0; i < want; i++) {
        if (r->op->sample(c, &ns))
            return -1;
        if (bench_result_add(r, ns / r->op->batch))
            return bench_fail(c, "out of memory for samples");
        if (!o->iterations && i + 1 >= MIN_SAMPLES && bench_now_ns() - start > budget)
            break;
    }
    return 0;
}

static void run_round(bench_run *run, bench_result *r, unsigned round)
{
    const bench_opts *o = &run->opt;
    unsigned total = samples_for(o, r->op);
    unsigned want =
        (unsigned)((uint64_t)total * (round + 1) / o->rounds - (uint64_t)total * round / o->rounds);
    bench_ctx c = {.opt = o, .op = r->op, .vm = {.vm_fd = -1, .vcpu_fd = -1}};
    if (!want)
        return;
    if (o->verbose)
        fprintf(stderr, "hl-bench: round %u/%u: %s (%u samples)\n", round + 1, o->rounds, r->op->id,
                want);
    int rc = r->op->setup ? r->op->setup(&c) : 0;
    if (!rc)
        rc = take_samples(run, r, &c, want);
    if (r->op->teardown)
        r->op->teardown(&c);
    if (rc) {
        r->failed = true;
        r->skipped = rc == BENCH_SKIP;
        snprintf(r->error, sizeof r->error, "%s", c.error);
        run->any_error |= !r->skipped;
    }
}

static void run_rows(bench_run *run)
{
    for (size_t i = 0; i < run->nresults; i++)
        run->results[i].ran = run->results[i].selected;
    for (unsigned round = 0; round < run->opt.rounds; round++)
        for (size_t i = 0; i < run->nresults; i++) {
            bench_result *r = &run->results[i];
            if (r->selected && r->op->sample && !r->failed)
                run_round(run, r, round);
        }
    for (size_t i = 0; i < run->nresults; i++)
        bench_result_summarize(&run->results[i]);
}

static void list_rows(void)
{
    for (size_t i = 0; i < bench_nfloor_ops; i++)
        printf("%-24s %s\n", bench_floor_ops[i].id, bench_floor_ops[i].label);
    for (size_t i = 0; i < bench_nlib_ops; i++)
        printf("%-24s %s\n", bench_lib_ops[i].id, bench_lib_ops[i].label);
    for (size_t i = 0; i < bench_njs_ops; i++)
        printf("%-24s %s\n", bench_js_ops[i].id, bench_js_ops[i].label);
    printf("%-24s %s\n%-24s %s\n", "throughput", "calls per second, N sandboxes on N threads",
           "hot.throughput", "calls per second of one hot sandbox, next to a cold one");
    printf("%-24s %s\n", "memory", "memory per idle sandbox from one snapshot");
    printf("%-24s %s\n%-24s %s\n", "js.throughput", "JS handler calls per second, N on N threads",
           "js.memory", "memory per idle JS sandbox from one loaded snapshot");
}

#define SKIP_EXIT 77 /* nothing measured: no KVM here (tests/run.sh's convention) */

static int check_inputs(const bench_opts *o)
{
    if (access(o->guest, R_OK) != 0)
        return fprintf(stderr, "hl-bench: cannot read the bench guest %s (--guest)\n", o->guest),
               -1;
    if (!hl_kvm_available())
        return fprintf(stderr, "hl-bench: SKIP: %s\n", hl_last_error()), SKIP_EXIT;
    return 0;
}

static void output(const bench_run *run)
{
    if (run->opt.json)
        bench_print_json(stdout, run);
    else
        bench_print_table(stdout, run);
    FILE *f = run->opt.json_file ? fopen(run->opt.json_file, "w") : NULL;
    if (run->opt.json_file && !f)
        fprintf(stderr, "hl-bench: cannot write %s\n", run->opt.json_file);
    if (f) {
        bench_print_json(f, run);
        fclose(f);
    }
}

int main(int argc, char **argv)
{
    static bench_run run;
    bool list = false;
    default_paths(&run.opt);
    from_env(&run.opt);
    int rc = parse_args(argc, argv, &run.opt, &list);
    if (rc)
        return rc == 1 ? 0 : 2;
    if (list)
        return list_rows(), 0;
    apply_defaults(&run.opt);
    if ((rc = check_inputs(&run.opt)))
        return rc == SKIP_EXIT ? SKIP_EXIT : 1;
    if (build_rows(&run))
        return 1;
    floor_vm anchor = {.vm_fd = -1, .vcpu_fd = -1};
    if (!run.opt.no_anchor && (floor_kvm_open() || floor_vm_create(&anchor)))
        return fprintf(stderr, "hl-bench: anchor VM: %s\n", floor_kvm_error()), 1;
    run.cpus = bench_usable_cpus(); /* before any row pins this thread */
    uint64_t t0 = bench_now_ns();
    run_rows(&run);
    if (wanted(&run.opt, "throughput"))
        bench_throughput(&run);
    if (wanted(&run.opt, "hot.throughput"))
        bench_hot_throughput(&run);
    if (wanted(&run.opt, "memory"))
        bench_memory_section(&run);
    if (wanted(&run.opt, "js.throughput"))
        bench_js_throughput(&run);
    if (wanted(&run.opt, "js.memory"))
        bench_js_memory_section(&run);
    run.seconds = (double)(bench_now_ns() - t0) / 1e9;
    floor_vm_destroy(&anchor);
    output(&run);
    return run.any_error ? 1 : 0;
}

/* sections_js.c: the JS sandboxes' sections of hl-bench: handler calls per second with N JS
 * sandboxes on N threads, and the memory of idle JS sandboxes made from one loaded snapshot
 * (the C sandboxes' sections are in sections.c). */
#include <hyperlight/js.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

typedef struct js_thread {
    const bench_opts *opt;
    pthread_barrier_t *start;
    hl_js *js;
    uint64_t count, ns;
    bench_ctx c;
} js_thread;

static void *js_tput_main(void *arg)
{
    js_thread *t = arg;
    int rc = bench_js_new_loaded(&t->c, false, &t->js);
    if (!rc)
        rc = bench_js_request(&t->c, t->js);
    pthread_barrier_wait(t->start);
    uint64_t t0 = bench_now_ns(), limit = (uint64_t)(t->opt->seconds * 1e9), now = t0;
    while (!rc && now - t0 < limit) {
        for (int i = 0; i < 8 && !rc; i++, t->count++)
            rc = bench_js_request(&t->c, t->js);
        now = bench_now_ns();
    }
    t->ns = now - t0;
    hl_js_destroy(t->js);
    return NULL;
}

static void js_tput_run(const bench_opts *o, bench_tput *p)
{
    pthread_barrier_t start;
    pthread_t tid[8];
    js_thread t[8];
    memset(t, 0, sizeof t);
    pthread_barrier_init(&start, NULL, p->threads);
    for (unsigned i = 0; i < p->threads; i++) {
        t[i] = (js_thread){.opt = o, .start = &start, .c = {.opt = o}};
        pthread_create(&tid[i], NULL, js_tput_main, &t[i]);
    }
    for (unsigned i = 0; i < p->threads; i++)
        pthread_join(tid[i], NULL);
    pthread_barrier_destroy(&start);
    for (unsigned i = 0; i < p->threads; i++) {
        if (t[i].c.error[0]) {
            snprintf(p->error, sizeof p->error, "%s", t[i].c.error);
            p->failed = true;
        }
        p->calls_per_s += t[i].ns ? (double)t[i].count * 1e9 / (double)t[i].ns : 0;
    }
}

void bench_js_throughput(bench_run *run)
{
    unsigned max = run->opt.max_threads < 8 ? run->opt.max_threads : 8;
    for (unsigned n = 1; n <= max; n++) {
        bench_tput *p = &run->js_tput[run->js_ntput++];
        p->threads = n;
        if (run->opt.verbose)
            fprintf(stderr, "hl-bench: JS throughput with %u thread(s)\n", n);
        js_tput_run(&run->opt, p);
        run->any_error |= p->failed;
    }
}

static int js_mem_fail(bench_memory *m, const char *what, const char *detail)
{
    snprintf(m->error, sizeof m->error, "%.60s: %.180s", what, detail);
    m->failed = true;
    return -1;
}

/* new_from_snapshot + one request each; destroys them all after measuring. */
static void js_measure_idle(bench_memory *m, bench_ctx *c, hl_snapshot *snap, hl_js **all)
{
    unsigned made = 0;
    bench_mem_probe before = bench_probe_memory();
    uint64_t t0 = bench_now_ns();
    for (; made < m->count; made++) {
        if (hl_js_new_from_snapshot(NULL, snap, &all[made]) != 0) {
            js_mem_fail(m, "hl_js_new_from_snapshot", hl_js_last_error(NULL)->text);
            break;
        }
        if (bench_js_request(c, all[made]) != 0) {
            js_mem_fail(m, "first call", c->error);
            made++;
            break;
        }
    }
    bench_memory_account(m, before, t0, made);
    for (unsigned i = 0; i < made; i++)
        hl_js_destroy(all[i]);
}

void bench_js_memory_section(bench_run *run)
{
    bench_memory *m = &run->js_mem;
    bench_ctx c = {.opt = &run->opt};
    hl_js *base = NULL;
    hl_snapshot *snap = NULL;
    m->ran = true;
    m->count = run->opt.sandboxes;
    hl_js **all = calloc(m->count ? m->count : 1, sizeof *all);
    if (run->opt.verbose)
        fprintf(stderr, "hl-bench: memory of %u idle JS sandboxes\n", m->count);
    hl_vm_pool_drain();
    if (!all)
        js_mem_fail(m, "calloc", "out of memory");
    else if (bench_js_new_loaded(&c, false, &base) || bench_js_request(&c, base))
        js_mem_fail(m, "base JS sandbox", c.error);
    else if (hl_js_snapshot(base, &snap) != 0)
        js_mem_fail(m, "hl_js_snapshot", hl_js_last_error(base)->text);
    else
        js_measure_idle(m, &c, snap, all);
    hl_js_destroy(base);
    hl_snapshot_release(snap);
    free(all);
    run->any_error |= m->failed;
}

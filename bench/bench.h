/* bench.h: what the parts of hl-bench share: options, timing, the operation table and results. */
#ifndef HL_BENCH_BENCH_H
#define HL_BENCH_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <hyperlight/hyperlight.h>

#include "floor_kvm.h"
#include "floor_spin.h"

typedef struct bench_opts {
    bool quick;            /* smoke pass: few samples, short sections */
    bool json;             /* JSON on stdout instead of the table */
    const char *json_file; /* also write JSON here (NULL: no) */
    unsigned iterations;   /* samples per operation; 0 = each operation's default */
    unsigned rounds;       /* operations run interleaved in this many rounds */
    const char *only;      /* comma-separated id prefixes ("call,restore"); NULL = everything */
    bool alone;            /* run exactly the rows `only` names, not what they are compared with */
    const char *guest;     /* bench_guest.elf */
    const char *peer;      /* peer_echo (static binary) */
    const char *js_peer;   /* bench/js_peer.mjs (run with node) */
    const char *qjs_emscripten; /* quickjs-emscripten's module file; NULL: not installed */
    unsigned sandboxes;         /* memory section: idle sandboxes from one snapshot */
    double seconds;             /* throughput section: seconds per thread count */
    unsigned max_threads;       /* throughput section: N = 1 .. max_threads */
    bool verbose;               /* progress on stderr */
    bool no_anchor;             /* no idle VM held open for the whole run (see hl_bench.c) */
} bench_opts;

/* The state of one operation while it runs one round (set up, sampled, torn down). */
typedef struct bench_ctx {
    const bench_opts *opt;
    const struct bench_op *op;
    hl_sandbox *sb;
    hl_snapshot *snap;
    floor_vm vm;
    floor_spin spin;    /* floor.shm */
    uint8_t *src, *dst; /* memcpy floors, byte arguments */
    size_t len;
    char error[512];
} bench_ctx;

/* One measured operation: a row of the table. */
typedef struct bench_op {
    const char *id;       /* "call.nop": what --only matches (by prefix) and JSON names */
    const char *label;    /* the table's text */
    const char *floor;    /* id of its floor, or "a+b" (sum of two floors); NULL: none */
    const char *peer;     /* id of the peer it is compared with; NULL: none */
    unsigned full, quick; /* default sample counts */
    unsigned batch;       /* operations per sample, timed together (for sub-microsecond ones) */
    long param;           /* pages, bytes, pool on/off: meaning per operation */
    int (*setup)(bench_ctx *c);
    int (*sample)(bench_ctx *c, uint64_t *ns); /* does untimed preparation itself */
    void (*teardown)(bench_ctx *c);
} bench_op;

typedef struct bench_result {
    const bench_op *op;
    uint64_t *samples; /* ns per operation */
    size_t n, cap;
    double min, median, p99;             /* ns */
    bool selected, ran, failed, skipped; /* skipped: a peer that is not installed */
    char error[512];
} bench_result;

/* Throughput with N sandboxes on N threads, and the raw-KVM exit loop the same way. */
typedef struct bench_tput {
    unsigned threads;
    double calls_per_s, floor_exits_per_s;
    bool failed;
    char error[256];
} bench_tput;

/* Calls per second of one hot sandbox, next to a cold one's in the same rounds. */
typedef struct bench_hot_tput {
    bool ran, failed;
    char error[256];
    double hot_calls_per_s, cold_calls_per_s;
} bench_hot_tput;

/* Memory of idle sandboxes made from one snapshot. */
typedef struct bench_memory {
    bool ran, failed;
    char error[256];
    unsigned count;
    double rss_per_sb, pss_per_sb, avail_per_sb; /* bytes per sandbox */
    uint64_t snapshot_bytes, snapshot_stored;    /* guest memory size; non-zero bytes on disk */
    double create_s;                             /* seconds to create + call them all */
} bench_memory;

typedef struct bench_run {
    bench_opts opt;
    bench_result *results;
    size_t nresults;
    bench_tput tput[8];
    size_t ntput;
    bench_hot_tput hot_tput;
    bench_memory mem;
    bench_tput js_tput[8]; /* JS sandboxes: handler calls per second (no floor of their own) */
    size_t js_ntput;
    bench_memory js_mem; /* idle JS sandboxes from one loaded snapshot */
    unsigned cpus;       /* CPUs this process may use (bench_usable_cpus) at the start */
    double seconds;      /* wall time of the whole run */
    bool any_error;
} bench_run;

/* ---- operations (ops_floor.c, ops_lib.c) ---- */
extern const bench_op bench_floor_ops[];
extern const size_t bench_nfloor_ops;
extern const bench_op bench_lib_ops[];
extern const size_t bench_nlib_ops;
extern const bench_op bench_js_ops[]; /* ops_js.c */
extern const size_t bench_njs_ops;

/* ---- timing and statistics (stats.c) ---- */
uint64_t bench_now_ns(void);
int bench_fail(bench_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* What a row's setup returns when the peer it measures is not installed, or the machine lacks
 * what the row needs (two CPUs): the row says "skipped" with this reason, and the run is not
 * failed by it. */
#define BENCH_SKIP 1
int bench_skip(bench_ctx *c, const char *why);
/* bench_fail with ": " and hl_last_error() appended. */
int bench_lib_fail(bench_ctx *c, const char *what, int rc);
int bench_result_add(bench_result *r, uint64_t ns);
void bench_result_summarize(bench_result *r);
const bench_result *bench_find(const bench_run *run, const char *id);
void bench_select(bench_run *run, const char *id);
bool bench_selected(const bench_run *run, const char *id);
/* Median of a floor spec "a" or "a+b"; < 0 when not measured. */
double bench_floor_median(const bench_run *run, const char *spec);

/* ---- CPUs (cpus.c) ---- */
/* What the spinning rows (floor.shm, hot sandboxes) need to mean anything. */
#define BENCH_SPIN_CPUS 2
/* How many CPUs this thread may run on (at least 1). */
unsigned bench_usable_cpus(void);
/* Two of them: for the host thread and for a spinning guest's vCPU. 0, or -1 if there are not 2. */
int bench_two_cpus(int *host, int *guest);

/* ---- sections (sections.c) ---- */
void bench_throughput(bench_run *run);
/* Calls per second of one hot sandbox against one cold sandbox, alternating in rounds. */
void bench_hot_throughput(bench_run *run);
void bench_memory_section(bench_run *run);
/* RSS, PSS (this process) and MemAvailable (the machine), in bytes. */
typedef struct bench_mem_probe {
    double rss, pss, avail;
} bench_mem_probe;
bench_mem_probe bench_probe_memory(void);
/* After creating `made` idle sandboxes since t0 (memory `before`): the time, and unless m failed
 * the memory per sandbox. */
void bench_memory_account(bench_memory *m, bench_mem_probe before, uint64_t t0, unsigned made);

/* ---- JS sandboxes (ops_js.c; hyperlight/js.h) ---- */
typedef struct hl_js hl_js;
/* A JS sandbox with the bench handler loaded (reset: reset_after_call). 0 or -1 (c->error). */
int bench_js_new_loaded(bench_ctx *c, bool reset, hl_js **out);
/* One request of the bench handler, its result checked. 0 or -1 (c->error). */
int bench_js_request(bench_ctx *c, hl_js *js);

/* ---- JS sections (sections_js.c) ---- */
void bench_js_throughput(bench_run *run);
void bench_js_memory_section(bench_run *run);

/* ---- output (report.c) ---- */
void bench_print_table(FILE *f, const bench_run *run);
void bench_print_json(FILE *f, const bench_run *run);
/* Selects the row each selected row is judged against by a target. */
void bench_select_target_bases(bench_run *run);

#endif

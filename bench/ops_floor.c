/* ops_floor.c: the rows hl-bench compares the library with: floors (raw KVM via floor_kvm.c and
 * floor_spin.c, memcpy) and the process-sandbox peer (fork+exec+wait, posix_spawn+wait of
 * peer_echo). */
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

#define KIB 1024L
#define MIB (1024L * 1024)
#define ECHO_TEXT "hello, world"

extern char **environ;

/* ---------------------------------------------------------------- raw KVM */

static int kvm_open(bench_ctx *c)
{
    return floor_kvm_open() ? bench_fail(c, "%s", floor_kvm_error()) : 0;
}

static int kvm_fail(bench_ctx *c)
{
    return bench_fail(c, "%s", floor_kvm_error());
}

static int ready_vm(bench_ctx *c)
{
    if (kvm_open(c))
        return -1;
    if (floor_vm_create(&c->vm))
        return kvm_fail(c);
    if (floor_vm_setup(&c->vm) || floor_vm_exit(&c->vm)) {
        floor_vm_destroy(&c->vm);
        return kvm_fail(c);
    }
    return 0;
}

static void drop_vm(bench_ctx *c)
{
    floor_vm_destroy(&c->vm);
}

static int exit_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = floor_vm_exit(&c->vm);
    *ns = bench_now_ns() - t0;
    return rc ? kvm_fail(c) : 0;
}

static int vm_create_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = floor_vm_create(&c->vm);
    *ns = bench_now_ns() - t0;
    if (rc)
        return kvm_fail(c);
    floor_vm_destroy(&c->vm);
    return 0;
}

static int vm_destroy_sample(bench_ctx *c, uint64_t *ns)
{
    if (floor_vm_create(&c->vm))
        return kvm_fail(c);
    uint64_t t0 = bench_now_ns();
    floor_vm_destroy(&c->vm);
    *ns = bench_now_ns() - t0;
    return 0;
}

/* Teardown of a VM that has memory and has run (what a sandbox's VM is at destroy). */
static int vm_destroy_ran_sample(bench_ctx *c, uint64_t *ns)
{
    if (floor_vm_create(&c->vm))
        return kvm_fail(c);
    if (floor_vm_setup(&c->vm) || floor_vm_exit(&c->vm)) {
        floor_vm_destroy(&c->vm);
        return kvm_fail(c);
    }
    uint64_t t0 = bench_now_ns();
    floor_vm_destroy(&c->vm);
    *ns = bench_now_ns() - t0;
    return 0;
}

static int vm_cold_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = floor_vm_create(&c->vm);
    if (!rc && (rc = floor_vm_setup(&c->vm)) == 0)
        rc = floor_vm_exit(&c->vm);
    *ns = bench_now_ns() - t0;
    if (rc)
        rc = kvm_fail(c);
    floor_vm_destroy(&c->vm);
    return rc;
}

/* ---------------------------------------------------------------- shared memory, spinning */

/* A spinning guest on one CPU and this thread on another; with a single CPU the two would only
 * take turns at the scheduler's pace, which is no floor of anything, so the row is skipped. */
static int spin_setup(bench_ctx *c)
{
    int host, guest;
    char why[128];
    if (bench_two_cpus(&host, &guest)) {
        snprintf(why, sizeof why, "needs %d CPUs, this process may use %u", BENCH_SPIN_CPUS,
                 bench_usable_cpus());
        return bench_skip(c, why);
    }
    if (kvm_open(c))
        return -1;
    if (floor_spin_start(&c->spin, host, guest))
        return bench_fail(c, "%s", floor_spin_error(&c->spin));
    return 0;
}

static void spin_teardown(bench_ctx *c)
{
    floor_spin_stop(&c->spin);
}

static int spin_sample(bench_ctx *c, uint64_t *ns)
{
    uint64_t t0 = bench_now_ns();
    int rc = floor_spin_round_trip(&c->spin);
    *ns = bench_now_ns() - t0;
    return rc ? bench_fail(c, "%s", floor_spin_error(&c->spin)) : 0;
}

/* ---------------------------------------------------------------- memcpy */

static void *map_filled(size_t n, int byte)
{
    void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    memset(p, byte, n); /* fault every page in before timing */
    return p;
}

/* Source and destination hold `batch` blocks so one sample copies distinct memory each time. */
static int copy_setup(bench_ctx *c)
{
    c->len = (size_t)c->op->param * c->op->batch;
    c->src = map_filled(c->len, 0x5a);
    c->dst = map_filled(c->len, 0);
    return c->src && c->dst ? 0 : bench_fail(c, "cannot map 2 x %zu bytes", c->len);
}

static void copy_teardown(bench_ctx *c)
{
    if (c->src)
        munmap(c->src, c->len);
    if (c->dst)
        munmap(c->dst, c->len);
}

static int copy_sample(bench_ctx *c, uint64_t *ns)
{
    size_t block = (size_t)c->op->param;
    uint64_t t0 = bench_now_ns();
    for (unsigned i = 0; i < c->op->batch; i++) {
        memcpy(c->dst + i * block, c->src + i * block, block);
        __asm__ volatile("" : : "r"(c->dst) : "memory");
    }
    *ns = bench_now_ns() - t0;
    return 0;
}

/* ---------------------------------------------------------------- the process peer */

static int check_peer(bench_ctx *c)
{
    return access(c->opt->peer, X_OK) == 0
               ? 0
               : bench_fail(c, "peer %s is not executable", c->opt->peer);
}

static int reap(bench_ctx *c, pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return bench_fail(c, "peer %s failed (wait status 0x%x)", c->opt->peer, status);
    return 0;
}

static int fork_exec_sample(bench_ctx *c, uint64_t *ns)
{
    char *argv[] = {(char *)c->opt->peer, ECHO_TEXT, NULL};
    uint64_t t0 = bench_now_ns();
    pid_t pid = fork();
    if (pid == 0) {
        execve(c->opt->peer, argv, environ);
        _exit(127);
    }
    if (pid < 0)
        return bench_fail(c, "fork failed");
    int rc = reap(c, pid);
    *ns = bench_now_ns() - t0;
    return rc;
}

static int spawn_sample(bench_ctx *c, uint64_t *ns)
{
    char *argv[] = {(char *)c->opt->peer, ECHO_TEXT, NULL};
    pid_t pid;
    uint64_t t0 = bench_now_ns();
    if (posix_spawn(&pid, c->opt->peer, NULL, NULL, argv, environ) != 0)
        return bench_fail(c, "posix_spawn %s failed", c->opt->peer);
    int rc = reap(c, pid);
    *ns = bench_now_ns() - t0;
    return rc;
}

/* ---------------------------------------------------------------- the table */

#define COPY(id, label, bytes, batch, full, quick)                                                 \
    {                                                                                              \
        id, label, NULL, NULL, full, quick, batch, bytes, copy_setup, copy_sample, copy_teardown   \
    }

const bench_op bench_floor_ops[] = {
    {"floor.exit", "floor: guest exit round trip at CPL3 (KVM_RUN to `out`)", NULL, NULL, 20000,
     400, 1, 0, ready_vm, exit_sample, drop_vm},
    {"floor.shm", "floor: shared-memory round trip, spinning CPL3 guest, 2 CPUs", NULL, NULL,
     200000, 4000, 1, 0, spin_setup, spin_sample, spin_teardown},
    {"floor.vm_create", "floor: KVM_CREATE_VM + KVM_CREATE_VCPU + mmap kvm_run", NULL, NULL, 1000,
     30, 1, 0, kvm_open, vm_create_sample, NULL},
    {"floor.vm_destroy", "floor: bare VM teardown (munmap, close vCPU and VM)", NULL, NULL, 1000,
     30, 1, 0, kvm_open, vm_destroy_sample, NULL},
    {"floor.vm_destroy_ran", "floor: teardown of a VM that has memory and has run", NULL, NULL,
     1000, 30, 1, 0, kvm_open, vm_destroy_ran_sample, NULL},
    {"floor.vm_cold", "floor: bare VM + vCPU create, set up, first run to exit", NULL, NULL, 1000,
     30, 1, 0, kvm_open, vm_cold_sample, NULL},
    COPY("floor.memcpy_4k", "floor: memcpy 4 KiB (1 page)", 4 * KIB, 64, 5000, 200),
    COPY("floor.memcpy_16k", "floor: memcpy 16 KiB (4 pages)", 16 * KIB, 16, 5000, 200),
    COPY("floor.memcpy_256k", "floor: memcpy 256 KiB (64 pages)", 256 * KIB, 1, 5000, 200),
    COPY("floor.memcpy_1m", "floor: memcpy 1 MiB", MIB, 1, 2000, 50),
    COPY("reference.memcpy_64m", "reference: memcpy 64 MiB (full copy of a 64 MiB sandbox)",
         64 * MIB, 1, 100, 5),
    {"peer.fork_exec", "peer: fork + exec + wait of a static echo binary", NULL, NULL, 2000, 30, 1,
     0, check_peer, fork_exec_sample, NULL},
    {"peer.posix_spawn", "peer: posix_spawn + wait of the same binary", NULL, NULL, 2000, 30, 1, 0,
     check_peer, spawn_sample, NULL},
};
const size_t bench_nfloor_ops = sizeof bench_floor_ops / sizeof bench_floor_ops[0];

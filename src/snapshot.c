/* snapshot.c: taking snapshots, restoring them, and creating sandboxes from them. */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "context.h"
#include "error.h"
#include "hyperlight/abi.h"
#include "fileio.h"
#include "hot.h"
#include "sandbox.h"

#define PAGE HL_ABI_PAGE_SIZE

static void set_base(hl_sandbox *sb, hl_snapshot *s)
{
    if (sb->base != s) {
        hl__snapshot_retain(s);
        hl_snapshot_release(sb->base);
        sb->base = s;
    }
    sb->calls_since_base = 0;
}

/* ---------------------------------------------------------------- taking */

/* Copies guest memory into a sealed memfd, leaving zero pages as holes, and maps it. */
static int capture_memory(const hl_sandbox *sb, hl_snapshot *s)
{
    s->size = sb->mem.size;
    s->fd = memfd_create("hyperlight-snapshot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (s->fd < 0 || ftruncate(s->fd, (off_t)s->size) != 0)
        return hl__fail(HL_ENOMEM, "cannot create snapshot memory: %s", strerror(errno));
    for (size_t page = 0, npages = s->size / PAGE; page < npages;) {
        size_t run = 0;
        while (page + run < npages && !hl__page_is_zero(sb->mem.base + (page + run) * PAGE))
            run++;
        if (run && hl__pwrite_all(s->fd, sb->mem.base + page * PAGE, run * PAGE, page * PAGE))
            return hl__fail(HL_ENOMEM, "cannot fill snapshot memory: %s", strerror(errno));
        page += run + 1;
    }
    fcntl(s->fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL);
    void *m = mmap(NULL, s->size, PROT_READ, MAP_SHARED, s->fd, 0);
    if (m == MAP_FAILED)
        return hl__fail(HL_ENOMEM, "cannot map snapshot memory: %s", strerror(errno));
    s->mem = m;
    return 0;
}

static int capture(hl_sandbox *sb, hl_snapshot *s)
{
    int rc = hl__hot_settle(sb); /* a hot guest parks first */
    if (!rc)
        rc = capture_memory(sb, s);
    if (!rc)
        rc = hl__vm_save_state(sb->vm, &s->cpu); /* RIP past the park's `out DONE` */
    if (!rc)
        rc = hl__sigtable_encode_alloc(sb->guest_fns, &s->guest_sigs, &s->guest_sigs_len);
    if (!rc)
        rc = hl__snapshot_decode_fns(s);
    if (!rc)
        rc = hl__sigtable_encode_alloc(&sb->host_fns, &s->host_sigs, &s->host_sigs_len);
    s->layout = sb->layout;
    s->cfg = sb->cfg;
    s->cfg.log_fn = NULL;
    s->cfg.log_user = NULL;
    s->cfg.core_dir = NULL;
    s->cfg.gdb_port = 0;
    s->cfg.hot = 0;
    s->guest_id = sb->guest_id;
    s->entry = sb->entry;
    s->load_bias = sb->load_bias;
    memcpy(s->cookie, sb->cookie, sizeof s->cookie);
    return rc;
}

static int check_between_calls(const hl_sandbox *sb, const char *what)
{
    if (sb->in_call)
        return hl__fail(HL_ESTATE, "%s: not allowed inside a call", what);
    return 0;
}

HL_API int hl_sandbox_snapshot(hl_sandbox *sb, hl_snapshot **out)
{
    hl__clear_error();
    if (!sb || !out)
        return hl__fail(HL_EINVAL, "hl_sandbox_snapshot: sandbox and out must not be NULL");
    int rc = check_between_calls(sb, "snapshot");
    if (rc)
        return rc;
    if (sb->poisoned)
        return hl__fail(HL_EPOISONED, "cannot snapshot a poisoned sandbox (restore it first)");
    if (sb->state != HL_STATE_READY)
        return hl__fail(HL_ESTATE, "cannot snapshot a sandbox before it is initialised");
    if (sb->base && sb->calls_since_base == 0) {
        *out = hl__snapshot_retain(sb->base);
        return 0;
    }
    hl_snapshot *s = hl__snapshot_alloc();
    if (!s)
        return hl__fail(HL_ENOMEM, "out of memory for a snapshot");
    rc = capture(sb, s);
    if (!rc)
        rc = hl__dirty_reset(&sb->dirty, sb->vm, &sb->mem);
    if (rc) {
        hl_snapshot_release(s);
        return rc;
    }
    set_base(sb, s);
    *out = s;
    return 0;
}

/* ---------------------------------------------------------------- restoring */

static int check_fits(const hl_sandbox *sb, const hl_snapshot *s)
{
    if (s->guest_id != sb->guest_id)
        return hl__fail(HL_EMISMATCH, "snapshot is of another guest ELF or configuration");
    if (s->size != sb->mem.size || memcmp(&s->layout, &sb->layout, sizeof s->layout) != 0)
        return hl__fail(HL_EMISMATCH, "snapshot has another memory layout");
    if (sb->state != HL_STATE_FROM_SNAPSHOT &&
        !hl__sigtable_equals(&sb->host_fns, s->host_sigs, s->host_sigs_len))
        return hl__fail(HL_EMISMATCH, "snapshot was taken with other host functions");
    return 0;
}

/* A vCPU that an exit left with an instruction to finish cannot be moved to the park point:
 * swap in a fresh (or recycled) one. */
static int replace_tainted_vm(hl_sandbox *sb)
{
    hl__vm *vm;
    if (!hl__vm_tainted(sb->vm))
        return 0;
    int rc = hl__vm_create(sb->mem.base, sb->mem.size, &vm);
    if (rc)
        return rc;
    hl__hot_release(sb); /* its thread runs the old vCPU */
    hl__vm_destroy(sb->vm);
    sb->vm = vm;
    return 0;
}

/* Memory back to s: copy the changed pages when s is the base, else map s copy-on-write. */
static int restore_memory(hl_sandbox *sb, hl_snapshot *s)
{
    hl__new_timeline(sb);
    if (s == sb->base)
        return hl__dirty_restore(&sb->dirty, sb->vm, &sb->mem, s->mem);
    if (!hl__snapshot_map(s, sb->mem.base, PROT_READ | PROT_WRITE))
        return hl__fail(HL_ENOMEM, "cannot map the snapshot's memory: %s", strerror(errno));
    return hl__dirty_reset(&sb->dirty, sb->vm, &sb->mem);
}

/* Points the sandbox at s's (shared, immutable) guest-function table. */
static void use_fns_of(hl_sandbox *sb, hl_snapshot *s)
{
    hl_snapshot *old = sb->fns_owner;
    sb->fns_owner = hl__snapshot_retain(s);
    sb->guest_fns = &s->fns;
    hl_snapshot_release(old);
    hl__sigtable_free(&sb->own_fns);
}

/* Takes s's guest-function table unless it equals the sandbox's (the usual case: same guest),
 * so pointers from hl_sandbox_guest_function stay valid. */
static void adopt_tables(hl_sandbox *sb, hl_snapshot *s)
{
    if (!sb->guest_fns) /* never initialised: the snapshot's table is the only one */
        use_fns_of(sb, s);
    else if (s != sb->base && !hl__sigtable_equals(sb->guest_fns, s->guest_sigs, s->guest_sigs_len))
        use_fns_of(sb, s);
}

/* The restore itself; leaves this thread's error detail alone unless it fails. */
static int restore(hl_sandbox *sb, hl_snapshot *s)
{
    int rc = check_between_calls(sb, "restore");
    if (!rc)
        rc = check_fits(sb, s);
    if (rc)
        return rc;           /* refused before anything changed: the sandbox stays as it was */
    rc = hl__hot_settle(sb); /* a hot guest parks (or is stopped) first */
    int fresh_vcpu = hl__vm_tainted(sb->vm);
    if (!rc)
        rc = replace_tainted_vm(sb);
    if (!rc)
        rc = restore_memory(sb, s);
    if (!rc) /* FPU: the guest reloads it from memory; a fresh vCPU needs it loaded */
        rc = hl__vm_load_state(sb->vm, &s->cpu, fresh_vcpu);
    if (rc)
        return hl__poison(sb, rc); /* memory may be half restored */
    adopt_tables(sb, s);
    memcpy(sb->cookie, s->cookie, sizeof sb->cookie);
    sb->poisoned = 0;
    sb->fault_valid = 0;
    hl__hot_reset(sb);
    if (sb->state == HL_STATE_CREATED)
        sb->state = HL_STATE_READY;
    set_base(sb, s);
    return 0;
}

HL_API int hl_sandbox_restore(hl_sandbox *sb, hl_snapshot *s)
{
    hl__clear_error();
    if (!sb || !s)
        return hl__fail(HL_EINVAL, "hl_sandbox_restore: sandbox and snapshot must not be NULL");
    return restore(sb, s);
}

int hl__reset_after_call(hl_sandbox *sb, int call_rc)
{
    if (!sb->cfg.reset_after_call || !sb->base)
        return call_rc;
    int rc = restore(sb, sb->base); /* keeps the failed call's detail when it succeeds */
    return call_rc ? call_rc : rc;
}

/* ---------------------------------------------------------------- creating from */

static void take_config(hl_sandbox *sb, const hl_config *cfg, const hl_snapshot *s)
{
    hl_config defaults;
    if (!cfg) {
        hl_config_init(&defaults);
        cfg = &defaults;
    }
    sb->cfg = s->cfg;
    sb->cfg.time_limit_ms = cfg->time_limit_ms;
    sb->cfg.log_level = cfg->log_level;
    sb->cfg.log_fn = cfg->log_fn;
    sb->cfg.log_user = cfg->log_user;
    sb->cfg.output_fn = cfg->output_fn;
    sb->cfg.output_user = cfg->output_user;
    sb->cfg.reset_after_call = cfg->reset_after_call;
    sb->cfg.core_dir = cfg->core_dir;
    sb->cfg.gdb_port = cfg->gdb_port;
    sb->cfg.hot = cfg->hot;
    sb->cfg.hot_spin_us = cfg->hot_spin_us;
}

static int build_from(hl_sandbox *sb, hl_snapshot *s)
{
    sb->layout = s->layout;
    sb->guest_id = s->guest_id;
    memcpy(sb->cookie, s->cookie, sizeof sb->cookie);
    int rc = hl__vm_acquire(s->size, &sb->mem, &sb->vm);
    if (!rc && !hl__snapshot_map(s, sb->mem.base, PROT_READ | PROT_WRITE))
        rc = hl__fail(HL_ENOMEM, "cannot map the snapshot's memory: %s", strerror(errno));
    if (!rc)
        rc = hl__sandbox_alloc_host_side(sb);
    if (!rc) /* FPU: the vCPU's is a reset one; the guest reloads its own from memory */
        rc = hl__vm_load_state(sb->vm, &s->cpu, 0);
    if (!rc)
        rc = hl__dirty_reset(&sb->dirty, sb->vm, &sb->mem);
    if (!rc)
        use_fns_of(sb, s);
    if (!rc)
        hl__hot_reset(sb);
    return rc;
}

HL_API int hl_sandbox_new_from_snapshot(const hl_config *cfg, hl_snapshot *s, hl_sandbox **out)
{
    hl__clear_error();
    if (!s || !out)
        return hl__fail(HL_EINVAL,
                        "hl_sandbox_new_from_snapshot: snapshot and out must not be NULL");
    size_t limit = cfg ? cfg->memory_limit : HL_DEFAULT_MEMORY_LIMIT;
    if (s->size > limit)
        return hl__fail(HL_ECONFIG,
                        "the snapshot has %zu bytes of guest memory, more than the "
                        "%zu allowed by memory_limit",
                        s->size, limit);
    hl_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return hl__fail(HL_ENOMEM, "out of memory creating a sandbox");
    take_config(sb, cfg, s);
    sb->entry = s->entry;
    sb->load_bias = s->load_bias;
    int rc = hl__sandbox_take_debug(sb, NULL);
    if (!rc)
        rc = build_from(sb, s);
    if (rc) {
        hl_sandbox_destroy(sb);
        return rc;
    }
    hl__sigtable empty = {0};
    sb->state = hl__sigtable_equals(&empty, s->host_sigs, s->host_sigs_len)
                    ? HL_STATE_READY
                    : HL_STATE_FROM_SNAPSHOT;
    set_base(sb, s);
    *out = sb;
    return 0;
}

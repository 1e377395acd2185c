/* sandbox_obj.c: the sandbox object's own life: the host-side parts every sandbox holds besides
 * its memory and VM, and destruction (also of a half-built sandbox: every field is safe to
 * destroy when zero). Creating from an ELF (sandbox.c) and from a snapshot (snapshot.c) build on
 * it. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "config.h"
#include "error.h"
#include "gdb_stub.h"
#include "hot.h"
#include "sandbox.h"
#include "snapshot.h"

/* The host's message buffers (decoded guest output, encoded input) share one mapping, not
 * malloc'd: they are big, and destroy must give them back to the system at once rather than
 * leave holes in the heap. */
static size_t buffers_size(const hl_sandbox *sb)
{
    size_t page = HL_PAGE;
    return (sb->msg_cap + page - 1) / page * page + sb->enc_cap;
}

int hl__sandbox_alloc_host_side(hl_sandbox *sb)
{
    sb->interrupt = hl__interrupt_new();
    if (!sb->interrupt)
        return hl__fail(HL_ENOMEM, "out of memory for the interrupt handle");
    sb->msg_cap =
        sb->cfg.input_size > sb->cfg.output_size ? sb->cfg.input_size : sb->cfg.output_size;
    sb->enc_cap = sb->cfg.input_size;
    void *p =
        mmap(NULL, buffers_size(sb), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return hl__fail(HL_ENOMEM, "out of memory for message buffers");
    /* Calls touch only the first pages of buffers of megabytes: with transparent huge pages the
     * first write would give each sandbox 2 MiB of memory it never uses. */
    madvise(p, buffers_size(sb), MADV_NOHUGEPAGE);
    sb->msg = p;
    sb->enc = sb->msg + (buffers_size(sb) - sb->enc_cap);
    return hl__dirty_init(&sb->dirty, &sb->mem);
}

/* The ELF file's base name, with anything but letters, digits, '.', '-' and '_' as '_', so that
 * it is safe in a file name. */
static void guest_name(const char *path, char *out, size_t cap)
{
    const char *base = path ? strrchr(path, '/') : NULL;
    base = base ? base + 1 : path;
    if (!base || !*base)
        base = "guest";
    size_t n = 0;
    for (; base[n] && n + 1 < cap; n++) {
        char c = base[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '-' || c == '_';
        out[n] = ok ? c : '_';
    }
    out[n] = '\0';
}

int hl__sandbox_take_debug(hl_sandbox *sb, const char *elf_path)
{
    guest_name(elf_path, sb->name, sizeof sb->name);
    int crc = hl__config_check_debug(&sb->cfg);
    if (crc)
        return crc;
    if (sb->cfg.gdb_port) {
        int rc = hl__gdb_open(sb, sb->cfg.gdb_port);
        if (rc)
            return rc;
    }
    if (!sb->cfg.core_dir)
        return 0;
    sb->core_dir = strdup(sb->cfg.core_dir);
    sb->cfg.core_dir = sb->core_dir;
    return sb->core_dir ? 0 : hl__fail(HL_ENOMEM, "out of memory copying core_dir");
}

HL_API bool hl_sandbox_is_poisoned(const hl_sandbox *sb)
{
    return sb && sb->poisoned;
}

HL_API void hl_sandbox_destroy(hl_sandbox *sb)
{
    if (!sb)
        return;
    if (sb->in_call) { /* from one of its own callbacks: the call stops and frees it */
        sb->destroy_requested = 1;
        return;
    }
    for (size_t i = 0; i < sb->nparam_lists; i++)
        free(sb->param_lists[i]);
    free(sb->param_lists);
    hl__hot_release(sb); /* the vCPU thread ends before its VM is pooled */
    hl__vm_release(sb->vm, &sb->mem);
    hl__timer_destroy(&sb->timer);
    hl__dirty_free(&sb->dirty);
    hl_snapshot_release(sb->base);
    hl_interrupt_release(sb->interrupt); /* other holders keep a handle that does nothing */
    hl__sigtable_free(&sb->host_fns);
    hl__sigtable_free(&sb->own_fns);
    hl_snapshot_release(sb->fns_owner);
    free(sb->core_dir);
    hl__gdb_close(sb->gdb);
    if (sb->msg)
        munmap(sb->msg, buffers_size(sb));
    free(sb);
}

HL_API hl_interrupt_handle *hl_sandbox_interrupt_handle(hl_sandbox *sb)
{
    if (!sb || !sb->interrupt)
        return NULL;
    __atomic_add_fetch(&sb->interrupt->refs, 1, __ATOMIC_RELAXED);
    return sb->interrupt;
}

HL_API bool hl_sandbox_interrupt(hl_sandbox *sb)
{
    return sb && hl_interrupt(sb->interrupt);
}

/* sandbox.c: sandbox lifecycle: create (ELF -> memory -> VM), register, init, destroy. */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bstack.h"
#include "config.h"
#include "context.h"
#include "cpu.h"
#include "elf.h"
#include "error.h"
#include "fileio.h"
#include "hash.h"
#include "paging.h"
#include "run.h"
#include "snapshot.h"
#include "wire.h"

#define MAX_ELF_FILE (HL_ELF_MAX_SPAN + 64ull * 1024 * 1024)

#define ELF_HEAD_BYTES 4096 /* read first: the ELF and program headers of any normal guest */

/* The file's bytes live in their own anonymous mapping (not the heap), so that loading can give
 * each copied chunk back at once (release_copied) and destroy it whole. */
static uint8_t *map_file_buffer(size_t n)
{
    void *p = mmap(NULL, n ? n : 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static void unmap_file_buffer(uint8_t *buf, size_t n)
{
    if (buf)
        munmap(buf, n ? n : 1);
}

/* Reads the part of the guest file that loading uses into *out (map_file_buffer): its headers
 * decide how much that is, up to the end of its loadable bytes (debug information, often most of
 * the file, is never read), and only when that is within `limit`. 0, HL_ENOMEM, HL_ECONFIG (*len
 * says how much it needed), or -1 with errno set (0 when the file shrank). */
static int read_loadable(int fd, size_t size, size_t limit, uint8_t **out, size_t *len)
{
    uint8_t head[ELF_HEAD_BYTES];
    size_t nhead = size < ELF_HEAD_BYTES ? size : ELF_HEAD_BYTES;
    if (hl__pread_all(fd, head, nhead, 0))
        return -1;
    size_t n = (size_t)hl__elf_needed_len(head, nhead, size);
    *len = n;
    if (n > limit)
        return HL_ECONFIG;
    uint8_t *buf = map_file_buffer(n);
    if (!buf)
        return HL_ENOMEM;
    if (hl__pread_all(fd, buf, n, 0)) {
        unmap_file_buffer(buf, n);
        return -1;
    }
    *out = buf;
    return 0;
}

static int read_file(const char *path, size_t limit, uint8_t **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return hl__fail(HL_EIO, "cannot open guest '%s': %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_ELF_FILE) {
        close(fd);
        return hl__fail(HL_EIO, "guest '%s' is not a regular file of at most %llu bytes", path,
                        (unsigned long long)MAX_ELF_FILE);
    }
    int rc = read_loadable(fd, (size_t)st.st_size, limit, out, len), err = errno;
    close(fd);
    if (rc == HL_ECONFIG)
        return hl__fail(HL_ECONFIG,
                        "guest '%s' loads %zu bytes, more than the %zu allowed by "
                        "memory_limit",
                        path, *len, limit);
    if (rc == HL_ENOMEM)
        return hl__fail(HL_ENOMEM, "out of memory reading '%s'", path);
    if (rc)
        return hl__fail(HL_EIO, "cannot read guest '%s': %s", path,
                        err ? strerror(err) : "file shrank");
    return 0;
}

static hl_abi_region abi_region(const hl__layout *l, hl__region_id id)
{
    hl_abi_region r = {l->r[id].gpa, l->r[id].size};
    return r;
}

/* Bytes of the ELF's TLS block below the thread pointer (x86-64 TLS ABI, variant II). */
static uint64_t tls_block_size(const hl__elf *elf)
{
    return (elf->tls_memsz + elf->tls_align - 1) & ~(elf->tls_align - 1);
}

/* The heap below the thread control block and the ELF's TLS block (abi.h). */
static uint64_t heap_left(const hl__layout *l, const hl__elf *elf)
{
    uint64_t block = tls_block_size(elf);
    uint64_t below = hl__layout_thread_pointer(l) - block - l->r[HL_R_HEAP].gpa;
    return below & ~(uint64_t)(HL_ABI_TCB_SIZE - 1);
}

/* The thread control block points to itself, and the TLS block below it starts as the image's
 * initial TLS bytes (x86-64 TLS ABI, variant II); the rest is zero, as fresh memory is. */
static int write_tls(hl_sandbox *sb, const hl__elf *elf)
{
    const hl__layout *l = &sb->layout;
    hl_gpa tp = hl__layout_thread_pointer(l);
    uint64_t block = tls_block_size(elf);
    if (block + HL_ABI_TCB_SIZE + HL_MIN_HEAP_SIZE / 2 > l->r[HL_R_HEAP].size)
        return hl__fail(HL_ECONFIG,
                        "the guest's thread-local storage (%llu bytes) leaves too little of the "
                        "%llu-byte heap",
                        (unsigned long long)elf->tls_memsz,
                        (unsigned long long)l->r[HL_R_HEAP].size);
    hl_gpa init = l->r[HL_R_IMAGE].gpa + (elf->tls_vaddr - elf->link_base);
    uint8_t *to = hl__mem_setup_ptr(&sb->mem, tp - block, elf->tls_filesz);
    const uint8_t *from = hl__mem_setup_ptr(&sb->mem, init, elf->tls_filesz);
    if (!to || !from || hl__mem_write_u64(&sb->mem, tp, tp))
        return hl__fail(HL_EELF, "bad guest ELF: TLS block outside guest memory");
    memcpy(to, from, elf->tls_filesz);
    return 0;
}

static int write_peb(hl_sandbox *sb, const hl__elf *elf, uint64_t seed)
{
    const hl__layout *l = &sb->layout;
    hl_abi_peb peb;
    memset(&peb, 0, sizeof peb);
    peb.magic = HL_ABI_PEB_MAGIC;
    peb.abi_version = HL_ABI_VERSION;
    peb.log_level = sb->cfg.log_fn ? (uint32_t)sb->cfg.log_level : HL_ABI_LOG_OFF;
    peb.seed = seed;
    peb.input = abi_region(l, HL_R_INPUT);
    peb.output = abi_region(l, HL_R_OUTPUT);
    peb.host_fns = abi_region(l, HL_R_HOST_FNS);
    peb.panic = abi_region(l, HL_R_PANIC);
    peb.heap = abi_region(l, HL_R_HEAP);
    peb.heap.size = heap_left(l, elf);
    peb.stack = abi_region(l, HL_R_STACK);
    peb.image = abi_region(l, HL_R_IMAGE);
    peb.doorbell = abi_region(l, HL_R_DOORBELL);
    return hl__mem_write(&sb->mem, l->r[HL_R_PEB].gpa, &peb, sizeof peb) ? HL_ECONFIG : 0;
}

/* Gives the pages of a copied chunk of the file back to the system (its bytes read as zero after;
 * nothing reads them again). */
static void release_copied(void *user, const uint8_t *file, uint64_t off, uint64_t n)
{
    (void)user;
    uintptr_t start = ((uintptr_t)file + off + HL_PAGE - 1) & ~(uintptr_t)(HL_PAGE - 1);
    uintptr_t end = ((uintptr_t)file + off + n) & ~(uintptr_t)(HL_PAGE - 1);
    if (end > start)
        madvise((void *)start, end - start, MADV_DONTNEED);
}

/* Everything the guest will see before it first runs. When the file's bytes are the library's
 * own (owned), each copied chunk is given back as loading goes: the bytes are never held twice. */
static int build_memory(hl_sandbox *sb, const hl__elf *elf, const uint8_t *file, size_t len,
                        int owned)
{
    const hl__layout *l = &sb->layout;
    struct {
        uint8_t cookie[sizeof sb->cookie];
        uint64_t seed;
    } rnd; /* one getrandom for both */
    int rc = hl__random_bytes(&rnd, sizeof rnd);
    if (rc || (rc = hl__vm_acquire(l->total, &sb->mem, &sb->vm)))
        return rc;
    memcpy(sb->cookie, rnd.cookie, sizeof sb->cookie);
    uint8_t *image = hl__mem_setup_ptr(&sb->mem, l->r[HL_R_IMAGE].gpa, elf->span);
    if (!image)
        return hl__fail(HL_EELF, "bad guest ELF: image outside guest memory");
    if ((rc = hl__elf_load_releasing(elf, file, len, image, elf->span, l->r[HL_R_IMAGE].gpa,
                                     owned ? release_copied : NULL, NULL)) ||
        (rc = hl__paging_write(&sb->mem, l, elf)) || (rc = hl__cpu_write_tables(&sb->mem, l)) ||
        (rc = write_tls(sb, elf)) || (rc = write_peb(sb, elf, rnd.seed)))
        return rc;
    hl__mem_write(&sb->mem, l->r[HL_R_STACK].gpa, sb->cookie, sizeof sb->cookie);
    hl__bstack_reset(&sb->mem, l->r[HL_R_INPUT]);
    hl__bstack_reset(&sb->mem, l->r[HL_R_OUTPUT]);
    return 0;
}

/* Identifies the guest by what it loads (entry, segments and their bytes), not by debug info. */
static uint64_t guest_hash(const hl__elf *elf, const uint8_t *file)
{
    uint64_t fields[6] = {(uint64_t)elf->is_pie, elf->link_base, elf->span, elf->entry,
                          elf->rela_offset,      elf->rela_count};
    uint64_t h = hl__hash64(fields, sizeof fields, HL_ABI_VERSION);
    if (elf->tls_memsz) {
        uint64_t tls[4] = {elf->tls_vaddr, elf->tls_filesz, elf->tls_memsz, elf->tls_align};
        h = hl__hash64(tls, sizeof tls, h);
    }
    for (size_t i = 0; i < elf->nsegments; i++) {
        const hl__elf_segment *g = &elf->seg[i];
        uint64_t seg[4] = {g->vaddr, g->memsz, g->filesz, g->prot};
        h = hl__hash64(file + g->offset, g->filesz, hl__hash64(seg, sizeof seg, h));
    }
    return h;
}

static int create(hl_sandbox *sb, const uint8_t *file, size_t len, int owned)
{
    hl__elf elf;
    hl__cpu_init init;
    int rc = hl__elf_parse(file, len, &elf);
    if (!rc)
        rc = hl__layout_compute(&sb->cfg, &elf, &sb->layout);
    if (rc)
        return rc;
    /* before loading: an owned file's bytes are given back as they are copied */
    sb->guest_id = hl__hash64(&sb->layout, sizeof sb->layout, guest_hash(&elf, file));
    if ((rc = build_memory(sb, &elf, file, len, owned)) || (rc = hl__sandbox_alloc_host_side(sb)))
        return rc;
    uint64_t entry = sb->layout.r[HL_R_IMAGE].gpa + (elf.entry - elf.link_base);
    sb->entry = entry;
    sb->load_bias = sb->layout.r[HL_R_IMAGE].gpa - elf.link_base;
    hl__cpu_initial_state(&sb->layout, entry, &init);
    return hl__vm_start(sb->vm, &init);
}

/* A sandbox from the ELF image elf[0..len); owned: the bytes are the library's to give back. */
static int new_sandbox(const hl_config *cfg, const char *path, const uint8_t *elf, size_t len,
                       int owned, hl_sandbox **out)
{
    hl_sandbox *sb = calloc(1, sizeof *sb);
    if (!sb)
        return hl__fail(HL_ENOMEM, "out of memory creating a sandbox");
    if (cfg)
        sb->cfg = *cfg;
    else
        hl_config_init(&sb->cfg);
    int rc = hl__config_check(&sb->cfg);
    if (!rc)
        rc = hl__sandbox_take_debug(sb, path);
    if (!rc)
        rc = create(sb, elf, len, owned);
    if (rc) {
        hl_sandbox_destroy(sb);
        return rc;
    }
    *out = sb;
    return 0;
}

HL_API int hl_sandbox_new_from_memory(const hl_config *cfg, const void *elf, size_t len,
                                      hl_sandbox **out)
{
    hl__clear_error();
    if (!elf || !out)
        return hl__fail(HL_EINVAL, "hl_sandbox_new: elf and out must not be NULL");
    return new_sandbox(cfg, NULL, elf, len, 0, out);
}

HL_API int hl_sandbox_new(const hl_config *cfg, const char *elf_path, hl_sandbox **out)
{
    uint8_t *file = NULL;
    size_t len = 0;
    hl__clear_error();
    if (!elf_path || !out)
        return hl__fail(HL_EINVAL, "hl_sandbox_new: elf_path and out must not be NULL");
    int rc = cfg ? hl__config_check(cfg) : 0; /* memory_limit decides how much is read */
    if (!rc)
        rc = read_file(elf_path, cfg ? cfg->memory_limit : HL_DEFAULT_MEMORY_LIMIT, &file, &len);
    if (rc)
        return rc;
    rc = new_sandbox(cfg, elf_path, file, len, 1, out);
    unmap_file_buffer(file, len);
    return rc;
}

HL_API int hl_sandbox_register(hl_sandbox *sb, const char *name, hl_type ret, const hl_type *params,
                               size_t nparams, hl_host_fn fn, void *user)
{
    hl__clear_error();
    if (!sb || !name || !fn || (nparams && !params))
        return hl__fail(HL_EINVAL, "hl_sandbox_register: sandbox, name, fn (and params when "
                                   "nparams > 0) must not be NULL");
    if (sb->in_call)
        return hl__fail(HL_ESTATE, "host functions cannot be registered from a callback");
    if (sb->state == HL_STATE_READY)
        return hl__fail(HL_ESTATE, "host functions can only be registered before init");
    return hl__sigtable_add(&sb->host_fns, name, strlen(name), ret, params, nparams, fn, user);
}

static int write_host_fn_table(hl_sandbox *sb)
{
    const hl__region *r = &sb->layout.r[HL_R_HOST_FNS];
    uint8_t *p = hl__mem_setup_ptr(&sb->mem, r->gpa, r->size);
    size_t n = p ? hl__sigtable_encode(&sb->host_fns, p + 8, r->size - 8) : 0;
    if (!n)
        return hl__fail(HL_ETOOBIG, "the %zu host functions do not fit the %llu-byte table",
                        sb->host_fns.n, (unsigned long long)r->size);
    uint64_t len = n;
    memcpy(p, &len, 8);
    return 0;
}

static int read_guest_functions(hl_sandbox *sb)
{
    size_t len = 0;
    const char *why = NULL;
    int rc = hl__pop_output(sb, &len);
    if (rc)
        return rc;
    sb->guest_fns = &sb->own_fns;
    if (hl__sigtable_decode(&sb->own_fns, sb->msg, len, &why))
        return hl__poison(sb,
                          hl__fail(HL_EPROTOCOL, "guest init sent a bad function table: %s", why));
    return 0;
}

/* hl_sandbox_init for a sandbox made from a snapshot: the registered host functions must be
 * exactly those the snapshot's guest was given. */
static int init_from_snapshot(hl_sandbox *sb)
{
    if (!hl__sigtable_equals(&sb->host_fns, sb->base->host_sigs, sb->base->host_sigs_len))
        return hl__fail(HL_EMISMATCH, "registered host functions differ from those the snapshot "
                                      "was taken with (same names and signatures needed)");
    sb->state = HL_STATE_READY;
    return 0;
}

HL_API int hl_sandbox_init(hl_sandbox *sb)
{
    hl__clear_error();
    if (!sb)
        return hl__fail(HL_EINVAL, "hl_sandbox_init: sandbox is NULL");
    if (sb->in_call)
        return hl__fail(HL_ESTATE, "hl_sandbox_init: not allowed from a callback");
    if (sb->poisoned)
        return hl__fail(HL_EPOISONED, "sandbox is poisoned by an earlier failure");
    if (sb->state == HL_STATE_FROM_SNAPSHOT || (sb->fns_owner && sb->state == HL_STATE_READY))
        return init_from_snapshot(sb); /* checks host functions; runs no guest code */
    if (sb->state != HL_STATE_CREATED)
        return hl__fail(HL_ESTATE, "sandbox is already initialised");
    int rc = write_host_fn_table(sb);
    if (!rc)
        rc = hl__push_context(sb);
    if (rc)
        return rc;
    sb->in_call = 1;
    rc = hl__run_until_done(sb);
    if (!rc)
        rc = read_guest_functions(sb);
    sb->in_call = 0;
    if (sb->destroy_requested) {
        hl_sandbox_destroy(sb);
        return rc;
    }
    if (!rc)
        sb->state = HL_STATE_READY;
    if (!rc && sb->cfg.reset_after_call) {
        hl_snapshot *s;
        rc = hl_sandbox_snapshot(sb, &s); /* becomes the base every call returns to */
        hl_snapshot_release(s);
    }
    return rc;
}

/* The sandbox's lasting copy of s's parameter types (one per distinct list). The sandbox is
 * logically const here: this is a cache of what was handed out. */
static const hl__param_list *keep_params(hl_sandbox *sb, const hl__sig *s)
{
    for (size_t i = 0; i < sb->nparam_lists; i++) {
        hl__param_list *l = sb->param_lists[i];
        if (l->n == s->nparams && memcmp(l->t, s->params, s->nparams * sizeof l->t[0]) == 0)
            return l;
    }
    hl__param_list *l = calloc(1, sizeof *l);
    hl__param_list **grown = realloc(sb->param_lists, (sb->nparam_lists + 1) * sizeof *grown);
    if (!l || !grown) {
        free(l);
        if (grown)
            sb->param_lists = grown;
        return NULL;
    }
    l->n = s->nparams;
    memcpy(l->t, s->params, s->nparams * sizeof l->t[0]);
    sb->param_lists = grown;
    sb->param_lists[sb->nparam_lists++] = l;
    return l;
}

HL_API int hl_sandbox_guest_function(const hl_sandbox *sb, const char *name, hl_type *ret,
                                     const hl_type **params, size_t *nparams)
{
    hl__clear_error();
    if (!sb || !name)
        return hl__fail(HL_EINVAL, "hl_sandbox_guest_function: sandbox and name must not be NULL");
    if (sb->state == HL_STATE_CREATED)
        return hl__fail(HL_ESTATE, "sandbox is not initialised");
    const hl__sig *s = hl__sigtable_find(sb->guest_fns, name, strlen(name));
    if (!s)
        return hl__fail(HL_ENOTFOUND, "guest function '%s' not found", name);
    const hl__param_list *list = NULL;
    if (params && !(list = keep_params((hl_sandbox *)sb, s)))
        return hl__fail(HL_ENOMEM, "out of memory for a parameter list");
    if (ret)
        *ret = s->ret;
    if (params)
        *params = list->t;
    if (nparams)
        *nparams = s->nparams;
    return 0;
}

HL_API bool hl_kvm_available(void)
{
    hl__clear_error();
    return hl__vmm_available();
}

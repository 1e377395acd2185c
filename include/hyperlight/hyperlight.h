/* hyperlight/hyperlight.h: the public host API of libhyperlight (the only header a host needs). */
#ifndef HYPERLIGHT_HYPERLIGHT_H
#define HYPERLIGHT_HYPERLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(HL_BUILDING_LIBRARY)
#define HL_API __attribute__((visibility("default")))
#else
#define HL_API
#endif
/* On every function that returns an error code: ignoring it is a warning. */
#if defined(__GNUC__)
#define HL_WARN_UNUSED __attribute__((warn_unused_result))
#else
#define HL_WARN_UNUSED
#endif

/* The version: these three numbers are its one source (make reads them for the pkg-config file,
 * hl-cc and the shared library's name). */
#define HL_VERSION_MAJOR 0
#define HL_VERSION_MINOR 1
#define HL_VERSION_PATCH 0
#define HL_VERSION_XSTR_(x) #x
#define HL_VERSION_STR_(x) HL_VERSION_XSTR_(x)
#define HL_VERSION_STRING                                                                          \
    HL_VERSION_STR_(HL_VERSION_MAJOR)                                                              \
    "." HL_VERSION_STR_(HL_VERSION_MINOR) "." HL_VERSION_STR_(HL_VERSION_PATCH)
/* MAJOR * 10000 + MINOR * 100 + PATCH, for comparisons in the preprocessor. */
#define HL_VERSION_NUMBER (HL_VERSION_MAJOR * 10000 + HL_VERSION_MINOR * 100 + HL_VERSION_PATCH)

/* "0.1.0": the version of the library actually linked. */
HL_API const char *hl_version(void);

/* HL_VERSION_NUMBER of the library actually linked: a program can check at run time that it runs
 * with the library whose header it was compiled against (hl_version_number() ==
 * HL_VERSION_NUMBER), or at least the same major version. */
HL_API unsigned hl_version_number(void);

/* ------------------------------------------------------------------------------------------ */
/* Errors. Every fallible function returns 0 or one of these negative codes; hl_last_error()
 * then says what exactly went wrong. */
#define HL_ERRNO_MAP(X)                                                                            \
    X(HL_EINVAL, -1, "invalid argument")                                                           \
    X(HL_ENOMEM, -2, "out of memory")                                                              \
    X(HL_ENOKVM, -3, "KVM is not available")                                                       \
    X(HL_EKVM, -4, "KVM operation failed")                                                         \
    X(HL_ECONFIG, -5, "configuration value out of range")                                          \
    X(HL_EELF, -6, "bad guest ELF")                                                                \
    X(HL_EIO, -7, "I/O error")                                                                     \
    X(HL_ESTATE, -8, "operation not allowed in this sandbox state")                                \
    X(HL_EPOISONED, -9, "sandbox is poisoned by an earlier failed call")                           \
    X(HL_ENOTFOUND, -10, "guest function not found")                                               \
    X(HL_EARGCOUNT, -11, "wrong number of arguments")                                              \
    X(HL_EARGTYPE, -12, "wrong argument type")                                                     \
    X(HL_EGUEST, -13, "guest function failed")                                                     \
    X(HL_EABORT, -14, "guest aborted")                                                             \
    X(HL_EFAULT, -15, "guest fault")                                                               \
    X(HL_ESTACKOVERFLOW, -16, "guest stack overflow")                                              \
    X(HL_ECOOKIE, -17, "guest stack cookie smashed")                                               \
    X(HL_ETIMEOUT, -18, "time limit exceeded")                                                     \
    X(HL_EPROTOCOL, -19, "guest broke the host/guest protocol")                                    \
    X(HL_ETOOBIG, -20, "value too big for the buffer")                                             \
    X(HL_EEXIST, -21, "already registered")                                                        \
    X(HL_ESIGNAL, -22, "the time-limit signal is taken by the application")                        \
    X(HL_EMISMATCH, -23, "snapshot does not match this sandbox")                                   \
    X(HL_ESNAPSHOT, -24, "bad snapshot file")                                                      \
    X(HL_ECANCELLED, -25, "call cancelled")

enum hl_errno {
#define HL__ERRNO_ENUM(name, value, text) name = value,
    HL_ERRNO_MAP(HL__ERRNO_ENUM)
#undef HL__ERRNO_ENUM
};

/* "guest aborted" etc. for a code above; "unknown error" otherwise. Never NULL. */
HL_API const char *hl_strerror(int code);
/* "HL_EABORT" etc.; "HL_E?" for an unknown code. Never NULL. */
HL_API const char *hl_errname(int code);
/* The detail of the last failure on the calling thread, e.g. "guest aborted (code 3): out of
 * cheese". Valid until the next library call on this thread; "" if none. Never NULL. */
HL_API const char *hl_last_error(void);

/* ------------------------------------------------------------------------------------------ */
/* Configuration. */
typedef enum hl_log_level {
    HL_LOG_OFF = 0,
    HL_LOG_ERROR = 1,
    HL_LOG_WARN = 2,
    HL_LOG_INFO = 3,
    HL_LOG_DEBUG = 4,
    HL_LOG_TRACE = 5,
} hl_log_level;

/* One guest log record. All pointers are valid only during the callback; strings are
 * NUL-terminated. `file` is "" when the guest gave none. */
typedef struct hl_log_record {
    hl_log_level level;
    const char *message;
    const char *file;
    uint32_t line;
} hl_log_record;

/* Receives guest logs on the thread that is calling into the sandbox. */
typedef void (*hl_log_fn)(void *user, const hl_log_record *rec);

/* The guest's standard output streams. */
typedef enum hl_stream {
    HL_STREAM_STDOUT = 1,
    HL_STREAM_STDERR = 2,
} hl_stream;

/* Receives bytes the guest wrote to stdout or stderr, exactly as written (any bytes, NUL and
 * invalid UTF-8 included; not NUL-terminated), on the thread that is calling into the sandbox;
 * like a log callback, it may not re-enter its own sandbox (HL_ESTATE), and a destroy from it is
 * deferred until the call ends.
 * `bytes` is valid only during the callback. The guest buffers its streams and flushes them at the
 * end of init and of every call, before an abort, and whenever a buffer fills, so a call's output
 * arrives while the call runs and before it returns; pieces arrive in order, split anywhere. */
typedef void (*hl_output_fn)(void *user, hl_stream stream, const uint8_t *bytes, size_t len);

/* Limits checked by hl_sandbox_new (HL_ECONFIG otherwise). Sizes are rounded up to 4 KiB. */
#define HL_MIN_STACK_SIZE (16u * 1024)
#define HL_MAX_STACK_SIZE (256u * 1024 * 1024)
#define HL_MIN_HEAP_SIZE (16u * 1024) /* the runtime keeps its function table there */
#define HL_MAX_HEAP_SIZE (768u * 1024 * 1024)
#define HL_MIN_BUFFER_SIZE (4u * 1024)
#define HL_MAX_BUFFER_SIZE (256u * 1024 * 1024)
#define HL_MAX_GUEST_MEMORY (1024ull * 1024 * 1024) /* everything together, incl. the image */
#define HL_MIN_MEMORY_LIMIT (1024u * 1024)
#define HL_DEFAULT_MEMORY_LIMIT (256u * 1024 * 1024)
#define HL_MAX_TIME_LIMIT_MS (24u * 3600 * 1000)
#define HL_DEFAULT_HOT_SPIN_US 200u
#define HL_MAX_HOT_SPIN_US 1000000u

typedef struct hl_config {
    size_t stack_size;      /* guest stack; default 256 KiB */
    size_t heap_size;       /* guest heap (malloc); default 1 MiB, at least 16 KiB */
    size_t input_size;      /* host->guest buffer (call arguments, host results); default 64 KiB */
    size_t output_size;     /* guest->host buffer (results, host calls, logs); default 64 KiB */
    uint32_t time_limit_ms; /* per hl_sandbox_init / hl_sandbox_call; 0 = none; default 5000 */
    hl_log_level log_level; /* most verbose guest log forwarded to log_fn; default HL_LOG_INFO */
    hl_log_fn log_fn;       /* NULL (default): guest logs are not even sent by the guest */
    void *log_user;         /* passed to log_fn */
    bool reset_after_call;  /* restore the last snapshot after every call (see below); default
                               false. hl_sandbox_init then takes that snapshot itself. */
    size_t memory_limit;    /* most guest memory a sandbox may have, image included: an ELF or
                               snapshot that needs more is refused with HL_ECONFIG before its
                               bytes are read; default 256 MiB, at most HL_MAX_GUEST_MEMORY */
    hl_output_fn output_fn; /* NULL (default): the guest's stdout/stderr bytes are dropped in the
                               guest, which then never leaves the VM for them */
    void *output_user;      /* passed to output_fn */
    const char *core_dir;   /* NULL (default): no core files. A directory: when a call or init
                               faults or aborts, an ELF core file of the guest is written there
                               (see hl_sandbox_write_core); the string is copied */
    uint16_t gdb_port;      /* 0 (default): no debugger. A port: hl_sandbox_init waits, before the
                               guest's first instruction, for gdb on 127.0.0.1:gdb_port (see
                               docs/DEBUGGING.md); a sandbox with a gdb port has no time limit,
                               and its VM is never pooled */
    bool hot;               /* false (default): every guest request is a VM exit. true: a hot
                               sandbox (docs/HOT.md): its vCPU runs on a thread the library owns
                               and takes calls, host calls and logs through shared memory without
                               exits, spinning up to hot_spin_us for each, then parking; same API,
                               results and errors. Not with gdb_port */
    uint8_t reserved8;      /* 0 */
    uint32_t hot_spin_us;   /* how long a hot guest (and its caller) spins waiting for the other
                               side before parking; default 200, in [1, 1000000] */
    uint64_t reserved[4];   /* 0 (hl_config_init): room for later fields, so that the struct keeps
                               its size and a program built against this header keeps working
                               with a later library; a non-zero value is refused (HL_ECONFIG) */
} hl_config;

/* Fills *cfg with the defaults above. */
HL_API void hl_config_init(hl_config *cfg);

/* ------------------------------------------------------------------------------------------ */
/* Sandboxes. A sandbox may be used by one thread at a time; different sandboxes may be used from
 * different threads at once. Lifecycle: new -> register host functions -> init -> call ... ->
 * destroy. From inside one of its own host functions, log or output callbacks, a sandbox refuses
 * hl_sandbox_call, _init, _register, _snapshot and _restore with HL_ESTATE (changing nothing),
 * and defers hl_sandbox_destroy (see there). */
typedef struct hl_sandbox hl_sandbox;

/* Creates a sandbox from the guest ELF at `elf_path` (NULL cfg = defaults; cfg is copied). Opens
 * /dev/kvm, creates the VM and vCPU, loads the guest; the guest does not run until
 * hl_sandbox_init. On success *out owns the sandbox (free with hl_sandbox_destroy). An ELF whose
 * loadable bytes, or whose memory with heap, stack and buffers, exceed cfg->memory_limit is
 * refused with HL_ECONFIG (the former after reading only its first 4 KiB).
 * Returns 0, HL_EINVAL, HL_ECONFIG, HL_EIO, HL_EELF, HL_ENOMEM, HL_ENOKVM, HL_EKVM. */
HL_API HL_WARN_UNUSED int hl_sandbox_new(const hl_config *cfg, const char *elf_path,
                                         hl_sandbox **out);

/* Same, from an ELF image in memory (copied; the caller keeps ownership of `elf`). */
HL_API HL_WARN_UNUSED int hl_sandbox_new_from_memory(const hl_config *cfg, const void *elf,
                                                     size_t len, hl_sandbox **out);

/* A host function. args[0..nargs) match the registered parameter types exactly (the library
 * checked them); STRING/BYTES arguments are valid only during the callback. On success set *ret
 * (pre-set to void) to a value of the registered return type and return 0; a STRING/BYTES result
 * must stay valid until the callback has returned (static storage or memory owned via `user`): it
 * is copied then. On failure return any non-zero value; if *ret is then a STRING it is the error
 * message the guest receives. */
typedef int (*hl_host_fn)(void *user, const hl_value *args, size_t nargs, hl_value *ret);

/* Makes `fn` callable by the guest as `name` with exactly these parameter types (copied) and
 * return type. Only before hl_sandbox_init, not from a callback. Host functions are
 * deny-by-default: the guest can call nothing else.
 * Returns 0, HL_EINVAL (bad name or type), HL_EEXIST, HL_ESTATE, HL_ENOMEM. */
HL_API HL_WARN_UNUSED int hl_sandbox_register(hl_sandbox *sb, const char *name, hl_type ret,
                                              const hl_type *params, size_t nparams, hl_host_fn fn,
                                              void *user);

/* Runs the guest's init (which registers its functions) within the time limit. Errors are those
 * of hl_sandbox_call; a failed init poisons the sandbox. For a sandbox made from a snapshot it runs
 * no guest code and only checks the registered host functions (HL_EMISMATCH), so code that always
 * calls init works for both kinds. HL_ESTATE also when called from one of sb's callbacks. */
HL_API HL_WARN_UNUSED int hl_sandbox_init(hl_sandbox *sb);

/* Calls guest function `name` with args[0..nargs) (NULL, 0 for none; see HL_ARGS). On success
 * writes *result; a STRING/BYTES result points into memory owned by the sandbox, valid until the
 * next hl_sandbox_call on it or hl_sandbox_destroy. Guest state persists between calls.
 * Returns 0 or: HL_EINVAL, HL_ESTATE (not initialised), HL_EPOISONED, HL_ENOTFOUND,
 * HL_EARGCOUNT, HL_EARGTYPE, HL_ETOOBIG (arguments exceed input_size), HL_EGUEST (the function
 * reported failure: the sandbox stays usable), HL_ESIGNAL (the application owns SIGRTMIN+5),
 * HL_ENOMEM (no timer), and, poisoning the sandbox: HL_EABORT, HL_EFAULT, HL_ESTACKOVERFLOW,
 * HL_ECOOKIE, HL_ETIMEOUT, HL_ECANCELLED (hl_interrupt, or hl_sandbox_destroy from a callback),
 * HL_EPROTOCOL, HL_EKVM. */
HL_API HL_WARN_UNUSED int hl_sandbox_call(hl_sandbox *sb, const char *name, const hl_value *args,
                                          size_t nargs, hl_value *result);

/* Signature of the guest function `name` as its init registered it (or the snapshot it was last
 * restored from). *params points to the sandbox's own copy of that list, valid until
 * hl_sandbox_destroy, whatever restores do in between. Returns 0, HL_EINVAL, HL_ESTATE (not
 * initialised), HL_ENOTFOUND, HL_ENOMEM (no memory for that copy). */
HL_API HL_WARN_UNUSED int hl_sandbox_guest_function(const hl_sandbox *sb, const char *name,
                                                    hl_type *ret, const hl_type **params,
                                                    size_t *nparams);

/* True once a call or init has ended in an abort, fault, stack overflow, smashed stack cookie,
 * time limit, cancellation (hl_interrupt), protocol error or hypervisor error: every later call
 * then fails with HL_EPOISONED until hl_sandbox_restore. */
HL_API bool hl_sandbox_is_poisoned(const hl_sandbox *sb);

/* Releases the VM, memory and every resource of the sandbox. NULL is a no-op. Called from one of
 * the sandbox's own host functions, log or output callbacks, it is deferred: the running call stops
 * at once with HL_ECANCELLED and the sandbox is freed before hl_sandbox_call (or _init) returns,
 * its result unwritten; sb must not be used afterwards either way. */
HL_API void hl_sandbox_destroy(hl_sandbox *sb);

/* ------------------------------------------------------------------------------------------ */
/* Debugging guests (docs/DEBUGGING.md). */

/* Writes an ELF core file of sb's guest to `path` (created or truncated, mode 0600), which
 * `gdb GUEST.elf path` opens: the guest-visible memory with its permissions, the registers and
 * x87/SSE state where the guest last stopped (at the faulting instruction after a fault), and
 * the entry point gdb needs to place a position-independent guest. Allowed between calls, on a
 * poisoned sandbox (the post-mortem of a fault) and from the sandbox's own callbacks (the guest
 * is then stopped in its host call). cfg.core_dir makes the library write one by itself after
 * each fault, stack overflow or abort. Returns 0, HL_EINVAL (NULL argument), HL_EIO or HL_EKVM. */
HL_API HL_WARN_UNUSED int hl_sandbox_write_core(hl_sandbox *sb, const char *path);

/* ------------------------------------------------------------------------------------------ */
/* Interrupting a running call from another thread. */
typedef struct hl_interrupt_handle hl_interrupt_handle;

/* A handle that can stop sb's calls; it stays valid after hl_sandbox_destroy (it then does
 * nothing). Release with hl_interrupt_release. NULL if sb is NULL. */
HL_API hl_interrupt_handle *hl_sandbox_interrupt_handle(hl_sandbox *sb);

/* Stops the call running right now, promptly, whether the guest is spinning, faulting or inside a
 * host function (the guest is then not re-entered): that call returns HL_ECANCELLED and the
 * sandbox is poisoned (restore a snapshot to reuse it). Returns true if a call was running; only
 * the first true of a call signals it, later ones return at once, and the call ends soon after
 * the first (a loop "interrupt until false" ends too). An interrupt while no call runs does
 * nothing and never affects a later call. Safe from any thread (not from a signal handler), also
 * racing with the end of the call or with destroy. */
HL_API bool hl_interrupt(hl_interrupt_handle *h);
HL_API void hl_interrupt_release(hl_interrupt_handle *h);

/* hl_interrupt on sb's own handle; the caller must keep sb alive during the call. */
HL_API bool hl_sandbox_interrupt(hl_sandbox *sb);

/* ------------------------------------------------------------------------------------------ */
/* Snapshots. A snapshot is guest memory plus vCPU state (registers, FPU/SSE) captured between
 * calls. It is immutable and reference-counted: any number of sandboxes, on any threads, may use
 * one at once. */
typedef struct hl_snapshot hl_snapshot;

/* Captures sb (initialised, not poisoned, not inside a call) into *out; release it with
 * hl_snapshot_release. Taking another snapshot before the next call returns the same snapshot
 * again (one more reference) at no cost. The sandbox remembers it as its base for restores.
 * Returns 0, HL_EINVAL, HL_ESTATE, HL_EPOISONED, HL_ENOMEM, HL_EIO, HL_EKVM. */
HL_API HL_WARN_UNUSED int hl_sandbox_snapshot(hl_sandbox *sb, hl_snapshot **out);

/* Brings sb back to exactly the state captured in snap, including after a failed call (abort,
 * fault, time limit), and clears poisoning. Restoring the sandbox's base snapshot costs a constant
 * plus the pages changed since; another snapshot remaps memory (the cost of faulting pages in).
 * snap must come from the same guest ELF, config and host-function signatures. Not from inside a
 * call. Returns 0, HL_EINVAL, HL_ESTATE, HL_EMISMATCH, HL_ENOMEM, HL_EKVM. */
HL_API HL_WARN_UNUSED int hl_sandbox_restore(hl_sandbox *sb, hl_snapshot *snap);

/* Creates a sandbox in the state of snap, without re-running guest init, sharing snap's memory
 * copy-on-write with every other sandbox made from it. Sizes come from the snapshot; from cfg
 * (NULL = defaults) only time_limit_ms, log_level, log_fn, log_user, output_fn, output_user and
 * reset_after_call are used.
 * If snap's guest was given host functions, register the same names and signatures and call
 * hl_sandbox_init, which then only checks them (HL_EMISMATCH if they differ); otherwise the
 * sandbox is ready to call at once. HL_ECONFIG when snap's memory exceeds cfg's memory_limit.
 * Returns 0 or the codes of hl_sandbox_new. */
HL_API HL_WARN_UNUSED int hl_sandbox_new_from_snapshot(const hl_config *cfg, hl_snapshot *snap,
                                                       hl_sandbox **out);

/* Drops one reference; the last one frees the snapshot. NULL is a no-op. Thread-safe. */
HL_API void hl_snapshot_release(hl_snapshot *snap);

/* Writes snap to path (created or replaced atomically) in the versioned format of
 * docs/SNAPSHOTS.md. Returns 0, HL_EINVAL, HL_EIO, HL_ENOMEM. */
HL_API HL_WARN_UNUSED int hl_snapshot_save(const hl_snapshot *snap, const char *path);

/* Loads a snapshot saved by hl_snapshot_save, in this or another process. The memory image is
 * mapped, not read. A truncated, corrupted, mismatched or hostile file fails with HL_ESNAPSHOT
 * naming the problem. Returns 0, HL_EINVAL, HL_EIO, HL_ESNAPSHOT, HL_ENOMEM. */
HL_API HL_WARN_UNUSED int hl_snapshot_load(const char *path, hl_snapshot **out);

/* ------------------------------------------------------------------------------------------ */
/* VM recycling. Destroyed sandboxes leave their KVM VM and vCPU (memory removed, state reset
 * before reuse) in a process-wide pool that new sandboxes take from, because creating and tearing
 * down KVM VMs dominates sandbox creation and destruction. Each pooled VM holds two file
 * descriptors and ~0.6 MiB of kernel memory. Both functions are thread-safe. */

/* Keeps at most n (<= 256; default 16) VMs; 0 disables recycling. Closes any excess. */
HL_API void hl_vm_pool_set_size(unsigned n);

/* Closes every pooled VM now (e.g. before counting file descriptors). */
HL_API void hl_vm_pool_drain(void);

/* Whether /dev/kvm can be opened and speaks the expected API; when not, hl_last_error says why.
 * (A predicate, like hl_sandbox_is_poisoned: it returns bool, not an error code.) */
HL_API bool hl_kvm_available(void);

#ifdef __cplusplus
}
#endif
#endif

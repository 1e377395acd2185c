/* sandbox.h: the sandbox object shared by the lifecycle (sandbox.c) and the call path (call.c). */
#ifndef HL_SRC_SANDBOX_H
#define HL_SRC_SANDBOX_H

#include <stdint.h>

#include "cpu.h"
#include "dirty.h"
#include "elf.h"
#include "interrupt.h"
#include "guest_mem.h"
#include "hyperlight/abi.h"
#include "hyperlight/hyperlight.h"
#include "layout.h"
#include "sigtable.h"
#include "timer.h"
#include "vmm.h"

/* A parameter list given out by hl_sandbox_guest_function: kept until destroy, whatever restores
 * do to the function table it came from. */
typedef struct hl__param_list {
    size_t n;
    hl_type t[HL_MAX_PARAMS];
} hl__param_list;

typedef enum hl__state {
    HL_STATE_CREATED,       /* host functions may be registered; the guest has not run */
    HL_STATE_FROM_SNAPSHOT, /* made from a snapshot whose host functions must be registered */
    HL_STATE_READY,         /* init done: calls allowed */
} hl__state;

/* A hot sandbox's transport (hot.c): its vCPU thread and where the doorbell's requests stand. */
typedef struct hl__hot {
    struct hl__vcpu_thread *thread; /* NULL until a hot sandbox first runs */
    uint32_t served;                /* number of the last doorbell request the host took */
    int answered;                   /* and whether it has answered it */
    int resting;                    /* the caller stopped spinning during this wait (mode COLD) */
    uint64_t spin_ns;               /* how long each side spins: cfg.hot_spin_us, or 0 on one CPU */
    uint64_t spin_tsc;              /* the same in guest TSC ticks (the doorbell's spin_tsc) */
} hl__hot;

/* Every field must be safe to destroy when zero: constructors call hl_sandbox_destroy on a
 * half-built sandbox. */
struct hl_sandbox {
    hl_config cfg;
    hl__state state;
    int poisoned;
    int in_call;           /* refuses re-entrant calls from host functions */
    int destroy_requested; /* hl_sandbox_destroy from a callback: freed when the call ends */
    hl__mem mem;
    hl__layout layout;
    hl__vm *vm;
    hl__timer timer;
    hl__sigtable host_fns;
    hl__sigtable own_fns;          /* the guest's functions as its init reported them */
    const hl__sigtable *guest_fns; /* &own_fns, or a snapshot's shared table */
    hl_snapshot *fns_owner;        /* the snapshot whose table guest_fns points to (retained) */
    uint8_t cookie[HL_ABI_COOKIE_SIZE];
    uint8_t *msg; /* copy of the last message popped from the guest (owns call results) */
    size_t msg_cap;
    uint8_t *enc; /* encoding of the next message pushed to the guest */
    size_t enc_cap;
    uint64_t guest_id; /* hash of the ELF and the layout: which snapshots fit */
    hl_snapshot *base; /* memory equals this snapshot except the pages dirty tracks */
    uint64_t calls_since_base;
    uint64_t timeline_key; /* the guest's seeds hash the timeline under it (context.c); 0: unset */
    uint64_t timeline;     /* which memory the guest has: +1 at every restore */
    hl__dirty dirty;
    hl_interrupt_handle *interrupt; /* shared with hl_sandbox_interrupt_handle callers */
    hl__param_list **param_lists;   /* what hl_sandbox_guest_function handed out, until destroy */
    size_t nparam_lists;
    /* debugging: core files (core.c) and the gdb stub (gdb_stub.c) */
    hl__exception_frame fault; /* what the exception stub reported of the last fault */
    int fault_valid;           /* the last run ended in that fault (the vCPU is in the stub) */
    uint64_t entry;            /* guest address of the ELF's entry point (0: not known) */
    uint64_t load_bias;        /* guest address minus link-time address of the image */
    char name[64];             /* the guest's name in core files: its ELF's base name, or "guest" */
    char *core_dir;            /* owned copy of cfg.core_dir (which points to it), or NULL */
    struct hl__gdb *gdb;       /* the gdb stub when cfg.gdb_port is set (gdb_stub.c) */
    hl__hot hot;               /* cfg.hot: the vCPU thread and the doorbell (hot.c) */
};

/* Creates the host-side parts of a sandbox whose memory is mapped: its interrupt handle, the
 * message buffers and the dirty-page bitmaps (sandbox_obj.c). Returns 0 or HL_ENOMEM. */
int hl__sandbox_alloc_host_side(hl_sandbox *sb);

/* Takes the debugging settings of sb->cfg: names the guest after elf_path's base name (NULL:
 * "guest") for core files, copies core_dir (cfg.core_dir then points to the copy) and opens the
 * gdb stub's port (sandbox_obj.c). Returns 0, HL_EIO (the port is taken) or HL_ENOMEM. */
int hl__sandbox_take_debug(hl_sandbox *sb, const char *elf_path);

/* Restores the base snapshot after a call when cfg.reset_after_call is set (snapshot.c). */
int hl__reset_after_call(hl_sandbox *sb, int call_rc);

/* Marks the sandbox poisoned and returns rc. */
static inline int hl__poison(hl_sandbox *sb, int rc)
{
    sb->poisoned = 1;
    return rc;
}

#endif

/* hyperlight/abi.h: the host<->guest ABI: version, ports, PEB, buffer stacks, wire format.
 * Fixed-width fields and static asserts only; docs/ABI.md describes every byte. Append-only:
 * any change that moves a field or changes a meaning bumps HL_ABI_VERSION. */
#ifndef HYPERLIGHT_ABI_H
#define HYPERLIGHT_ABI_H

#include <stdint.h>

#define HL_ABI_VERSION 4u /* 3: FS.base and the thread control block; 4: the doorbell */
#define HL_ABI_PAGE_SIZE 4096u

/* The thread control block: the last HL_ABI_TCB_SIZE bytes of the heap region. FS.base starts as
 * its address (the thread pointer of the x86-64 TLS ABI, variant II), and its first word holds
 * that address; an ELF's PT_TLS block lies just below it, filled by the host, and the PEB's heap
 * size excludes both. */
#define HL_ABI_TCB_SIZE 64u

/* ---- Ports: the guest leaves the VM with `out dx, eax` (32-bit, one item) to one of these.
 * Any other port, size or direction ends the call with a protocol error. ---- */
/* DONE: init finished, or a call finished; a message is on the output stack. */
#define HL_ABI_PORT_DONE 0xE0u
/* HOST_CALL: a CALL message is on the output stack; the host replies on the input stack. */
#define HL_ABI_PORT_HOST_CALL 0xE4u
/* LOG: a LOG or STREAM message is on the output stack; the host pops it and resumes. */
#define HL_ABI_PORT_LOG 0xE8u
/* ABORT: eax = abort code; a NUL-terminated message is in the panic region. */
#define HL_ABI_PORT_ABORT 0xECu
/* PARK: a hot guest (see the doorbell below) waited long enough for the host to answer its request
 * and stops; resuming it is the answer. */
#define HL_ABI_PORT_PARK 0xDCu
/* EXCEPTION: ring 0 only (the host-owned exception stub); denied at CPL3. */
#define HL_ABI_PORT_EXCEPTION 0xF0u
/* Ports are 4 apart because a 32-bit `out` is checked against 4 consecutive I/O-bitmap bits. The
 * TSS I/O bitmap lets CPL3 use exactly HL_ABI_PORT_PARK .. HL_ABI_PORT_ABORT + 3. */

/* ---- Process environment block: one read-only page the host writes before the guest starts.
 * Addresses are guest-physical (= guest-virtual: memory is identity-mapped). ---- */
#define HL_ABI_PEB_MAGIC 0x3142455074684C48ull /* "HLthPEB1" little-endian */

typedef struct hl_abi_region {
    uint64_t gpa;
    uint64_t size;
} hl_abi_region;

typedef struct hl_abi_peb {
    uint64_t magic;       /* HL_ABI_PEB_MAGIC */
    uint32_t abi_version; /* HL_ABI_VERSION */
    uint32_t log_level;   /* most verbose hl_log_level the host wants; 0 = send no logs */
    uint64_t seed;        /* 64 random bits for the guest (heap/stack canaries, rand) */
    hl_abi_region input;  /* host -> guest buffer stack (RW) */
    hl_abi_region output; /* guest -> host buffer stack (RW) */
    /* host-function table (read-only): u64 length, then a SIGNATURES message */
    hl_abi_region host_fns;
    hl_abi_region panic;    /* abort message, NUL-terminated (RW) */
    hl_abi_region heap;     /* guest heap (RW) */
    hl_abi_region stack;    /* user stack: gpa = lowest byte, gpa + size = initial RSP (RW) */
    hl_abi_region image;    /* where the guest ELF was loaded */
    hl_abi_region doorbell; /* one page (RW): hl_abi_doorbell */
} hl_abi_peb;

_Static_assert(sizeof(hl_abi_region) == 16, "hl_abi_region layout");
_Static_assert(sizeof(hl_abi_peb) == 152, "hl_abi_peb layout");
_Static_assert(__builtin_offsetof(hl_abi_peb, input) == 24, "hl_abi_peb.input offset");
_Static_assert(__builtin_offsetof(hl_abi_peb, image) == 120, "hl_abi_peb.image offset");

/* Entry state: RIP = ELF entry (relocated), RDI = PEB gpa, RSP = stack.gpa + stack.size,
 * CPL3, interrupts off, all other general registers 0. */

/* ---- The doorbell: how a hot sandbox's guest talks to the host without leaving the VM.
 * A hot sandbox's vCPU keeps running between calls. Where a cold guest does `out` to DONE,
 * HOST_CALL or LOG, a hot one (mode == HOT when it looks) posts the request instead: it writes
 * bell = (answer + 1) | port << 32, with its message on the output stack as usual, and spins until
 * answer equals that number (the host has served it: the next call, or the host call's reply, is
 * on the input stack). If spin_tsc TSC ticks pass first, or mode stops being HOT, it leaves with
 * `out` to PARK; the host answers before it resumes the vCPU. ABORT always leaves with `out`.
 * The host reads bell once per look and writes only mode, answer and spin_tsc; any value the guest
 * writes anywhere in the page only changes what it is answered. ---- */
#define HL_ABI_DOORBELL_COLD 0u /* requests leave the VM (`out`), as in every cold sandbox */
#define HL_ABI_DOORBELL_HOT 1u

typedef struct hl_abi_doorbell {
    uint64_t bell;         /* guest: request number (low 32 bits) | port << 32 */
    uint8_t guest_pad[56]; /* the host's words are on their own cache line */
    uint32_t mode;         /* host: HL_ABI_DOORBELL_COLD or _HOT */
    uint32_t answer;       /* host: the number of the last request it answered */
    uint64_t spin_tsc;     /* host: TSC ticks to wait for an answer before parking */
    uint8_t host_pad[48];
} hl_abi_doorbell;

_Static_assert(sizeof(hl_abi_doorbell) == 128, "hl_abi_doorbell layout");
_Static_assert(__builtin_offsetof(hl_abi_doorbell, mode) == 64, "hl_abi_doorbell.mode offset");

/* ---- Buffer stacks (input and output regions) ----
 * Bytes [0, 8) hold the u64 stack pointer `sp`: the region offset of the first free byte; 8 when
 * empty. An element of n >= 1 bytes occupies [e, e + n), followed by a u64 back-pointer holding e,
 * so after a push sp = e + n + 8. A pop checks 16 <= sp <= size, 8 <= e <= sp - 9, and takes the
 * n = sp - 8 - e bytes at e; then sp = e. */
#define HL_ABI_STACK_EMPTY 8u

/* ---- Wire format: every element on a buffer stack is one message, little-endian, unaligned. */
/* clang-format off */
/*
 * message     = u8 kind, body
 * CALL        = u8 nargs, u16 name_len, name[name_len], value[nargs]
 * RESULT      = value
 * ERROR       = i32 code (HL_ABI_ERR_*), string-body message
 * LOG         = u8 level, u32 line, string-body file, string-body message
 * STREAM      = u8 stream (1 stdout, 2 stderr), u32 len, len bytes (any bytes)
 * CONTEXT     = u64 realtime_ns, u64 monotonic_ns, u32 tsc_khz (0 = unknown), u32 flags,
 *               u64 seed
 * SIGS        = u16 count,
 *               count x (u16 name_len, name[name_len], u8 ret_type, u8 nparams, u8 type[nparams])
 * value       = u8 type (hl_type), then by type:
 *                 void: nothing; bool: u8 0|1; i32/u32/f32: 4 bytes; i64/u64/f64: 8 bytes;
 *                 string: string-body; bytes: u32 len, len bytes
 * string-body = u32 len, len bytes of UTF-8 without NUL, then one 0 byte
 * name        = 1..HL_ABI_MAX_NAME bytes, each printable ASCII other than space (0x21..0x7e)
 */
/* clang-format on */
#define HL_ABI_MSG_CALL 1u
#define HL_ABI_MSG_RESULT 2u
#define HL_ABI_MSG_ERROR 3u
#define HL_ABI_MSG_LOG 4u
#define HL_ABI_MSG_SIGS 5u
/* Guest -> host through HL_ABI_PORT_LOG: bytes the guest wrote to stdout or stderr. */
#define HL_ABI_MSG_STREAM 6u
/* Host -> guest, on top of the input stack when init or a call starts (under it: the CALL): the
 * host's clocks at that moment, the guest TSC's rate, and the seed of this memory's timeline (a
 * new value after every restore and in every new sandbox). */
#define HL_ABI_MSG_CONTEXT 7u
#define HL_ABI_CONTEXT_SIZE 33u /* bytes of a CONTEXT message (+ 8 for its back-pointer) */
/* CONTEXT flags. STREAMS: the host takes stdout/stderr (STREAM messages); without it the guest
 * drops those bytes and never leaves the VM for them. */
#define HL_ABI_CONTEXT_STREAMS 1u
#define HL_ABI_STREAM_STDOUT 1u
#define HL_ABI_STREAM_STDERR 2u

#define HL_ABI_MAX_NAME 128u
#define HL_ABI_MAX_FUNCTIONS 1024u

/* Error codes carried by ERROR messages (both directions). */
#define HL_ABI_ERR_NOT_FOUND 1   /* no function of that name */
#define HL_ABI_ERR_ARG_COUNT 2   /* wrong number of arguments */
#define HL_ABI_ERR_ARG_TYPE 3    /* an argument has the wrong type */
#define HL_ABI_ERR_FAILED 4      /* the function ran and reported failure */
#define HL_ABI_ERR_DENIED 5      /* host refused a host call (not registered / wrong types) */
#define HL_ABI_ERR_BAD_MESSAGE 6 /* a message could not be decoded */
#define HL_ABI_ERR_TOO_BIG 7     /* a message did not fit its buffer */
#define HL_ABI_ERR_NO_MEMORY 8   /* the guest ran out of heap while handling the call */

/* Log levels (also the public hl_log_level values). */
#define HL_ABI_LOG_OFF 0u
#define HL_ABI_LOG_ERROR 1u
#define HL_ABI_LOG_WARN 2u
#define HL_ABI_LOG_INFO 3u
#define HL_ABI_LOG_DEBUG 4u
#define HL_ABI_LOG_TRACE 5u

/* Host stack cookie: HL_ABI_COOKIE_SIZE random bytes the host writes at stack.gpa (the lowest
 * bytes of the user stack) and checks after every call. */
#define HL_ABI_COOKIE_SIZE 16u

#endif

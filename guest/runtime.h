/* runtime.h: what the guest runtime's files share: the PEB copy, port exits, buffer stacks. */
#ifndef HLG_RUNTIME_H
#define HLG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#include <hyperlight/abi.h>
#include <hyperlight/guest.h>

#include "wire.h"

/* Marks the runtime's small, often-written state (the PEB copy, heap and registry bookkeeping,
 * the call state): guest.ld puts it right after .data, so that the first run writes both in one
 * page, a single page fault, wherever the guest's own variables put the rest of .bss. */
#define HLG_HOT __attribute__((section(".bss.hlg_hot")))

/* The PEB as the host wrote it, copied at start-up. */
extern hl_abi_peb hlg__peb;

/* The flags the ABI gives guest code (docs/ABI.md): DF clear (string instructions go up) and AC
 * clear (misaligned accesses never raise #AC, even on hosts that honour their own CR0.AM). Run
 * when a call arrives and after the guest's function returns, whatever that function set. TF is
 * left alone: a guest that sets it takes a #DB, reported as a fault. */
static inline void hlg__reset_user_flags(void)
{
    __asm__ volatile("cld\n\t"
                     "pushfq\n\t"
                     "andq $~0x40000, (%%rsp)\n\t"
                     "popfq"
                     :
                     :
                     : "cc", "memory");
}

/* Leaves the VM through `port` with a 32-bit value; returns when the host resumes us. */
static inline void hlg__port_out(uint8_t port, uint32_t value)
{
    __asm__ volatile("outl %0, %w1" : : "a"(value), "Nd"((uint16_t)port) : "memory");
}

/* Makes a request of the host through `port` and returns when the host has answered: with `out`,
 * or in a hot sandbox through the doorbell without leaving the VM (doorbell.c). */
void hlg__exit(uint8_t port, uint32_t value);

/* Output stack: start a message in the free space, then push what was written. */
void hlg__out_begin(hl__wire_writer *w);
/* Pushes w's bytes as one element. Returns 0, or -1 if they did not fit (nothing pushed). */
int hlg__out_commit(const hl__wire_writer *w);

/* Input stack: the top element (0, or -1 when empty/corrupt); hlg__in_pop removes it. */
int hlg__in_top(const uint8_t **msg, size_t *len, uint64_t *elem);
void hlg__in_pop(uint64_t elem);

static inline uint64_t hlg__rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* Takes the CONTEXT message off the top of the input stack, if there is one (context.c), and
 * hands it to the clocks (clock.c) and to rand (entropy.c). */
void hlg__take_context(void);
extern int hlg__streams_wanted; /* the host takes STREAM messages (last CONTEXT's flag) */
void hlg__clock_context(const hl__wire_context *c, uint64_t tsc);
void hlg__entropy_timeline(uint64_t seed);

/* Sends n bytes to the host's stdout or stderr stream (HL_ABI_STREAM_*); returns how many went:
 * n, or fewer only when the output stack is corrupt (stream.c). */
size_t hlg__stream_write(uint8_t stream, const void *bytes, size_t n);
/* Flushes stdout and stderr: at the end of init and of every call, and before an abort. */
void hlg__streams_flush(void);

/* Guest function registry. */
typedef struct hlg__fn {
    char *name;
    size_t name_len;
    hl_type ret;
    size_t nparams;
    hl_type params[HL_MAX_PARAMS];
    hlg_fn fn;
} hlg__fn;

const hlg__fn *hlg__find(const char *name, size_t len);
/* Pushes the SIGS message listing every registered function. */
int hlg__send_signatures(void);

/* Runs the call on top of the input stack and pushes its RESULT or ERROR. */
void hlg__dispatch(void);

/* Error message of the running guest function (hlg_fail), and scratch memory of that call. */
const char *hlg__take_fail_message(void);
void hlg__scratch_release(void);

#endif

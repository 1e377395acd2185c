/* doorbell.h: the host's side of a hot sandbox's doorbell page (abi.h, docs/HOT.md): reading the
 * guest's bell word once and deciding what it means, and writing the host's words. */
#ifndef HL_SRC_DOORBELL_H
#define HL_SRC_DOORBELL_H

#include <stdint.h>

#include "guest_mem.h"

typedef enum hl__bell_kind {
    HL_BELL_NONE,    /* no new request (the guest has not posted the number the host expects) */
    HL_BELL_REQUEST, /* a request to DONE, HOST_CALL or LOG, as if the guest had done `out` */
    HL_BELL_BAD,     /* the expected number with another port: a protocol error */
} hl__bell_kind;

/* What one read of the bell word means when the host expects request number `expect` next. Total:
 * every 64-bit value decodes; *port is set for REQUEST and BAD. */
hl__bell_kind hl__bell_decode(uint64_t bell, uint32_t expect, uint16_t *port);

/* One atomic read of the bell word of the doorbell at db (-1 if db is not a doorbell page). */
int hl__doorbell_read(const hl__mem *m, hl_gpa db, uint64_t *bell);

/* The host's words: the mode (HL_ABI_DOORBELL_*), the answer to request n (after the answer's
 * message is on the input stack: the store releases it), the spin window in guest TSC ticks. */
int hl__doorbell_set_mode(hl__mem *m, hl_gpa db, uint32_t mode);
int hl__doorbell_answer(hl__mem *m, hl_gpa db, uint32_t n);
int hl__doorbell_set_spin(hl__mem *m, hl_gpa db, uint64_t tsc_ticks);

#endif

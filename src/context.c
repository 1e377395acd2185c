/* context.c: the CONTEXT message: clocks, TSC rate, stream flag and timeline seed for the guest. */
#include "context.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bstack.h"
#include "error.h"
#include "wire.h"

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* A non-zero seed from getrandom (0 means "draw a new one"). */
static int draw_seed(uint64_t *seed)
{
    while (*seed == 0) {
        ssize_t r = getrandom(seed, sizeof *seed, 0);
        if (r < 0 && errno != EINTR)
            return hl__fail(HL_EIO, "getrandom: %s", strerror(errno));
        if (r != (ssize_t)sizeof *seed)
            *seed = 0;
    }
    return 0;
}

int hl__push_context(hl_sandbox *sb)
{
    uint8_t msg[HL_ABI_CONTEXT_SIZE];
    const char *why = NULL;
    int rc = draw_seed(&sb->timeline_seed);
    if (rc)
        return rc;
    hl__wire_context c = {
        .realtime_ns = clock_ns(CLOCK_REALTIME),
        .monotonic_ns = clock_ns(CLOCK_MONOTONIC),
        .tsc_khz = hl__vm_tsc_khz(sb->vm),
        .flags = sb->cfg.output_fn ? HL_ABI_CONTEXT_STREAMS : 0,
        .seed = sb->timeline_seed,
    };
    size_t n = hl__wire_encode_context(msg, sizeof msg, &c);
    if (n != HL_ABI_CONTEXT_SIZE ||
        hl__bstack_push(&sb->mem, sb->layout.r[HL_R_INPUT], msg, n, &why))
        return hl__fail(HL_ETOOBIG,
                        "the arguments and the %u-byte call context do not fit the "
                        "input buffer",
                        HL_ABI_CONTEXT_SIZE + 8);
    return 0;
}

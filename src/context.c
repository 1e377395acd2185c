/* context.c: the CONTEXT message: clocks, TSC rate, stream flag and timeline seed for the guest. */
#include "context.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "bstack.h"
#include "error.h"
#include "hash.h"
#include "wire.h"

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int hl__random_bytes(void *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom((uint8_t *)p + got, n - got, 0);
        if (r < 0 && errno != EINTR)
            return hl__fail(HL_EIO, "getrandom: %s", strerror(errno));
        if (r > 0)
            got += (size_t)r;
    }
    return 0;
}

int hl__push_context(hl_sandbox *sb)
{
    uint8_t msg[HL_ABI_CONTEXT_SIZE];
    const char *why = NULL;
    int rc = sb->timeline_key ? 0 : hl__random_bytes(&sb->timeline_key, sizeof sb->timeline_key);
    if (rc)
        return rc;
    hl__wire_context c = {
        .realtime_ns = clock_ns(CLOCK_REALTIME),
        .monotonic_ns = clock_ns(CLOCK_MONOTONIC),
        .tsc_khz = hl__vm_tsc_khz(sb->vm),
        .flags = sb->cfg.output_fn ? HL_ABI_CONTEXT_STREAMS : 0,
        .seed = hl__hash64(&sb->timeline, sizeof sb->timeline, sb->timeline_key),
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

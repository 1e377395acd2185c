/* context.c: the CONTEXT message the host pushes on top of the input stack when init or a call
 * starts, handed to its users: the clocks (with the TSC reading that goes with them), rand's
 * timeline seed, and the streams flag kept here. */
#include "runtime.h"

HLG_HOT int hlg__streams_wanted;

void hlg__take_context(void)
{
    const uint8_t *msg;
    size_t len;
    uint64_t elem;
    hl__wire_reader r;
    hl__wire_context c;
    if (hlg__in_top(&msg, &len, &elem) || hl__wire_kind(msg, len) != HL_ABI_MSG_CONTEXT)
        return; /* none: the clocks keep counting from the last one */
    hl__wire_reader_init(&r, msg, len);
    if (hl__wire_decode_context(&r, &c) == 0) {
        hlg__clock_context(&c, hlg__rdtsc());
        hlg__streams_wanted = (c.flags & HL_ABI_CONTEXT_STREAMS) != 0;
        hlg__entropy_timeline(c.seed);
    }
    hlg__in_pop(elem);
}

/* context.c: the CONTEXT message the host pushes on top of the input stack when init or a call
 * starts: the host's clocks and the guest TSC reading that goes with them, and the timeline seed.
 */
#include "runtime.h"

static HLG_HOT hl__wire_context context;
static HLG_HOT uint64_t context_tsc; /* the guest's TSC when the context was read */
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
        context = c;
        context_tsc = hlg__rdtsc();
        hlg__streams_wanted = (c.flags & HL_ABI_CONTEXT_STREAMS) != 0;
        hlg__clock_context(&context, context_tsc);
        hlg__entropy_timeline(c.seed);
    }
    hlg__in_pop(elem);
}

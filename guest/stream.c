/* stream.c: stdout and stderr as byte streams to the host: STREAM messages through the log port,
 * exact to the byte. When the last CONTEXT lacked HL_ABI_CONTEXT_STREAMS the host takes none, and
 * the bytes are dropped here without leaving the VM. */
#include "runtime.h"

#include <reent.h>
#include <stdio.h>

#define STREAM_HEADER 6 /* u8 kind, u8 stream, u32 len */

/* Sends one piece; returns how many bytes went (0 when the output stack has no room). */
static size_t send_piece(uint8_t stream, const uint8_t *p, size_t n)
{
    hl__wire_writer w;
    hlg__out_begin(&w);
    if (w.cap <= STREAM_HEADER)
        return 0;
    if (n > w.cap - STREAM_HEADER)
        n = w.cap - STREAM_HEADER;
    hl__wire_put_u8(&w, HL_ABI_MSG_STREAM);
    hl__wire_put_u8(&w, stream);
    hl__wire_put_u32(&w, (uint32_t)n);
    hl__wire_put_raw(&w, p, n);
    if (hlg__out_commit(&w))
        return 0;
    hlg__exit(HL_ABI_PORT_LOG, 0);
    return n;
}

size_t hlg__stream_write(uint8_t stream, const void *bytes, size_t n)
{
    const uint8_t *p = bytes;
    size_t left = n;
    if (!hlg__streams_wanted)
        return n;
    while (left) {
        size_t sent = send_piece(stream, p, left);
        if (!sent)
            break; /* the host pops every piece, so this means a corrupt output stack */
        p += sent;
        left -= sent;
    }
    return n - left;
}

void hlg__streams_flush(void)
{
    if (!_REENT->__sdidinit)
        return; /* stdio was never used: nothing buffered, and no need to set it up now */
    fflush(stdout);
    fflush(stderr);
}

/* log.c: guest logging, sent to the host as LOG records. */
#include "runtime.h"

#include <stdio.h>
#include <string.h>

#define LOG_MAX 4000

static void send_log(unsigned level, const char *file, uint32_t line, const char *msg, size_t len)
{
    hl__wire_writer w;
    if (level == 0 || level > hlg__peb.log_level)
        return;
    hlg__out_begin(&w);
    hl__wire_put_u8(&w, HL_ABI_MSG_LOG);
    hl__wire_put_u8(&w, (uint8_t)level);
    hl__wire_put_u32(&w, line);
    hl__wire_put_string(&w, file ? file : "", file ? strlen(file) : 0);
    hl__wire_put_string(&w, msg, len);
    if (hlg__out_commit(&w) == 0)
        hlg__exit(HL_ABI_PORT_LOG, 0);
}

void hlg_vlog(unsigned level, const char *file, uint32_t line, const char *fmt, va_list ap)
{
    static char buf[LOG_MAX + 1];
    if (level == 0 || level > hlg__peb.log_level)
        return;
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    size_t len = n < 0 ? 0 : (size_t)n > LOG_MAX ? LOG_MAX : (size_t)n;
    send_log(level, file, line, buf, len);
}

void hlg_log(unsigned level, const char *file, uint32_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    hlg_vlog(level, file, line, fmt, ap);
    va_end(ap);
}

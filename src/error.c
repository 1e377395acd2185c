/* error.c: error names, messages and the per-thread detail string behind hl_last_error(). */
#include "error.h"

#include <stdarg.h>
#include <stdio.h>

#include "text.h"

#define DETAIL_SIZE 1024

static _Thread_local char detail[DETAIL_SIZE];

int hl__fail(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    hl__text_neutralise(detail); /* details quote guest text: no terminal controls, no bad UTF-8 */
    return code;
}

void hl__clear_error(void)
{
    detail[0] = '\0';
}

HL_API const char *hl_last_error(void)
{
    return detail;
}

HL_API const char *hl_strerror(int code)
{
    switch (code) {
#define HL__ERRNO_TEXT(name, value, text)                                                          \
    case value:                                                                                    \
        return text;
        HL_ERRNO_MAP(HL__ERRNO_TEXT)
#undef HL__ERRNO_TEXT
    case 0:
        return "success";
    default:
        return "unknown error";
    }
}

HL_API const char *hl_errname(int code)
{
    switch (code) {
#define HL__ERRNO_NAME(name, value, text)                                                          \
    case value:                                                                                    \
        return #name;
        HL_ERRNO_MAP(HL__ERRNO_NAME)
#undef HL__ERRNO_NAME
    case 0:
        return "OK";
    default:
        return "HL_E?";
    }
}

HL_API const char *hl_version(void)
{
    return HL_VERSION_STRING;
}

HL_API unsigned hl_version_number(void)
{
    return HL_VERSION_NUMBER;
}

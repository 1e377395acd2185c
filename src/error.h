/* error.h: setting the per-thread error detail that hl_last_error() returns. */
#ifndef HL_SRC_ERROR_H
#define HL_SRC_ERROR_H

#include "hyperlight/hyperlight.h"

/* Records a complete, printf-style message as this thread's error detail and returns `code`, so
 * callers write `return hl__fail(HL_EELF, "bad guest ELF: %s", why);`. */
int hl__fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Clears the detail (at the start of each public call). */
void hl__clear_error(void);

#endif

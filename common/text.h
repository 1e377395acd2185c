/* text.h: making guest-supplied text safe to print (host side: error details, hl-run output). */
#ifndef HL_COMMON_TEXT_H
#define HL_COMMON_TEXT_H

#include <stddef.h>

/* Rewrites the NUL-terminated string s in place so that printing it cannot drive a terminal or
 * split a log line: C0 controls, DEL, C1 controls (U+0080-U+009F) and every byte that is not part
 * of a valid UTF-8 sequence become '?'. Other valid UTF-8 is kept. Returns the new length. */
size_t hl__text_neutralise(char *s);

#endif

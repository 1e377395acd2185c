/* call_state.c: per-call guest state: the failure message (hlg_fail) and scratch memory. */
#include "runtime.h"

#include <stdio.h>
#include <stdlib.h>

static char fail_message[1024];
static HLG_HOT int fail_set;

typedef struct scratch {
    struct scratch *next;
    max_align_t align[];
} scratch;

static HLG_HOT scratch *scratch_list;

int hlg_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fail_message, sizeof fail_message, fmt, ap);
    va_end(ap);
    fail_set = 1;
    return -1;
}

const char *hlg__take_fail_message(void)
{
    const char *m = fail_set ? fail_message : "guest function failed";
    fail_set = 0;
    return m;
}

void *hlg_scratch(size_t size)
{
    if (size > SIZE_MAX - sizeof(scratch))
        return NULL;
    scratch *s = malloc(sizeof *s + size);
    if (!s)
        return NULL;
    s->next = scratch_list;
    scratch_list = s;
    return s->align;
}

void hlg__scratch_release(void)
{
    while (scratch_list) {
        scratch *next = scratch_list->next;
        free(scratch_list);
        scratch_list = next;
    }
}

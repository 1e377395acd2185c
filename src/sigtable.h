/* sigtable.h: a sorted table of function signatures (host functions, and the guest's functions as
 * its init reported them), with lookup and argument checking. */
#ifndef HL_SRC_SIGTABLE_H
#define HL_SRC_SIGTABLE_H

#include <stddef.h>

#include "hyperlight/hyperlight.h"

typedef struct hl__sig {
    char *name; /* owned, NUL-terminated */
    size_t name_len;
    hl_type ret;
    size_t nparams;
    hl_type params[HL_MAX_PARAMS];
    hl_host_fn fn; /* host functions only */
    void *user;
} hl__sig;

typedef struct hl__sigtable {
    hl__sig *v; /* sorted by name (bytewise) */
    size_t n, cap;
} hl__sigtable;

/* Adds a signature (name copied). Returns 0, HL_EINVAL (bad name/type), HL_EEXIST, HL_ENOMEM. */
int hl__sigtable_add(hl__sigtable *t, const char *name, size_t name_len, hl_type ret,
                     const hl_type *params, size_t nparams, hl_host_fn fn, void *user);
const hl__sig *hl__sigtable_find(const hl__sigtable *t, const char *name, size_t name_len);
void hl__sigtable_free(hl__sigtable *t);

/* Checks a call's arguments against s. Returns 0, or HL_EARGCOUNT / HL_EARGTYPE with the detail
 * ("'Add' takes 2 arguments, 3 given", "argument 2 of 'Add' must be i32, got string"). `what`
 * is "guest function" or "host function". */
int hl__sig_check_args(const hl__sig *s, const char *what, const hl_value *args, size_t nargs);

/* Encodes the table as a SIGS message; returns its length or 0 if it does not fit. */
size_t hl__sigtable_encode(const hl__sigtable *t, void *buf, size_t cap);

/* The table's SIGS message in a new malloc'd buffer: 0 with *out and *len, or HL_ENOMEM. */
int hl__sigtable_encode_alloc(const hl__sigtable *t, uint8_t **out, size_t *len);

/* 1 if the table encodes to exactly msg[0..len), else 0 (also when out of memory). */
int hl__sigtable_equals(const hl__sigtable *t, const uint8_t *msg, size_t len);

/* Fills an empty table from a SIGS message. Returns 0 or -1 with *why. */
int hl__sigtable_decode(hl__sigtable *t, const void *msg, size_t len, const char **why);

#endif

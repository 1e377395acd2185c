/* sigtable.c: sorted signature tables with lookup, argument checks and SIGS encoding. */
#include "sigtable.h"

#include <stdlib.h>
#include <string.h>

#include "error.h"
#include "wire.h"

static int cmp_name(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    return c ? c : (alen > blen) - (alen < blen);
}

/* Index of the first entry not less than name. */
static size_t lower_bound(const hl__sigtable *t, const char *name, size_t len)
{
    size_t lo = 0, hi = t->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cmp_name(t->v[mid].name, t->v[mid].name_len, name, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

const hl__sig *hl__sigtable_find(const hl__sigtable *t, const char *name, size_t name_len)
{
    size_t i = lower_bound(t, name, name_len);
    if (i < t->n && cmp_name(t->v[i].name, t->v[i].name_len, name, name_len) == 0)
        return &t->v[i];
    return NULL;
}

static int grow(hl__sigtable *t)
{
    if (t->n < t->cap)
        return 0;
    size_t cap = t->cap ? 2 * t->cap : 8;
    hl__sig *v = realloc(t->v, cap * sizeof *v);
    if (!v)
        return hl__fail(HL_ENOMEM, "out of memory growing a function table");
    t->v = v;
    t->cap = cap;
    return 0;
}

static int check_signature(const char *name, size_t name_len, hl_type ret, size_t nparams,
                           const hl_type *params)
{
    if (!hl__wire_name_ok(name, name_len))
        return hl__fail(HL_EINVAL,
                        "invalid function name (1..%u printable ASCII characters, "
                        "no spaces)",
                        HL_ABI_MAX_NAME);
    if ((unsigned)ret >= HL_TYPE_COUNT)
        return hl__fail(HL_EINVAL, "invalid return type %d", (int)ret);
    if (nparams > HL_MAX_PARAMS)
        return hl__fail(HL_EINVAL, "%zu parameters; at most %d", nparams, HL_MAX_PARAMS);
    for (size_t i = 0; i < nparams; i++)
        if (params[i] == HL_TYPE_VOID || (unsigned)params[i] >= HL_TYPE_COUNT)
            return hl__fail(HL_EINVAL, "parameter %zu has invalid type %d", i + 1, (int)params[i]);
    return 0;
}

int hl__sigtable_add(hl__sigtable *t, const char *name, size_t name_len, hl_type ret,
                     const hl_type *params, size_t nparams, hl_host_fn fn, void *user)
{
    int rc = check_signature(name, name_len, ret, nparams, params);
    if (rc)
        return rc;
    if (t->n >= HL_ABI_MAX_FUNCTIONS)
        return hl__fail(HL_EINVAL, "more than %u functions", HL_ABI_MAX_FUNCTIONS);
    size_t i = lower_bound(t, name, name_len);
    if (i < t->n && cmp_name(t->v[i].name, t->v[i].name_len, name, name_len) == 0)
        return hl__fail(HL_EEXIST, "function '%.*s' is already registered", (int)name_len, name);
    if ((rc = grow(t)))
        return rc;
    char *copy = malloc(name_len + 1);
    if (!copy)
        return hl__fail(HL_ENOMEM, "out of memory registering a function");
    memcpy(copy, name, name_len);
    copy[name_len] = '\0';
    memmove(&t->v[i + 1], &t->v[i], (t->n - i) * sizeof *t->v);
    hl__sig *s = &t->v[i];
    memset(s, 0, sizeof *s);
    s->name = copy;
    s->name_len = name_len;
    s->ret = ret;
    s->nparams = nparams;
    if (nparams)
        memcpy(s->params, params, nparams * sizeof *params);
    s->fn = fn;
    s->user = user;
    t->n++;
    return 0;
}

void hl__sigtable_free(hl__sigtable *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->v[i].name);
    free(t->v);
    memset(t, 0, sizeof *t);
}

int hl__sig_check_args(const hl__sig *s, const char *what, const hl_value *args, size_t nargs)
{
    if (nargs != s->nparams)
        return hl__fail(HL_EARGCOUNT, "%s '%s' takes %zu argument%s, %zu given", what, s->name,
                        s->nparams, s->nparams == 1 ? "" : "s", nargs);
    for (size_t i = 0; i < nargs; i++)
        if (args[i].type != s->params[i])
            return hl__fail(HL_EARGTYPE, "argument %zu of %s '%s' must be %s, got %s", i + 1, what,
                            s->name, hl_type_name(s->params[i]), hl_type_name(args[i].type));
    return 0;
}

size_t hl__sigtable_encode(const hl__sigtable *t, void *buf, size_t cap)
{
    hl__wire_writer w;
    hl__wire_writer_init(&w, buf, cap);
    hl__wire_begin_sigs_writer(&w, (uint16_t)t->n);
    for (size_t i = 0; i < t->n; i++)
        hl__wire_put_sig(&w, t->v[i].name, t->v[i].name_len, t->v[i].ret, t->v[i].params,
                         t->v[i].nparams);
    return w.overflow ? 0 : w.len;
}

int hl__sigtable_decode(hl__sigtable *t, const void *msg, size_t len, const char **why)
{
    hl__wire_reader r;
    size_t count;
    hl__wire_reader_init(&r, msg, len);
    if (hl__wire_begin_sigs(&r, &count))
        return *why = r.why, -1;
    for (size_t i = 0; i < count; i++) {
        hl__wire_sig s;
        hl_type params[HL_MAX_PARAMS];
        if (hl__wire_next_sig(&r, &s))
            return *why = r.why, -1;
        for (size_t j = 0; j < s.nparams; j++)
            params[j] = (hl_type)s.params[j];
        int rc = hl__sigtable_add(t, s.name, s.name_len, s.ret, params, s.nparams, NULL, NULL);
        if (rc)
            return *why = rc == HL_EEXIST ? "a function name appears twice" : "bad signature", -1;
    }
    if (hl__wire_end(&r))
        return *why = r.why, -1;
    return 0;
}

/* The most bytes a SIGS message of n signatures takes: count, then per signature its name
 * (length byte + name), return type, parameter count and types. */
static size_t sigs_msg_max(size_t n)
{
    return 3 + n * (4 + HL_ABI_MAX_NAME + HL_MAX_PARAMS);
}

int hl__sigtable_encode_alloc(const hl__sigtable *t, uint8_t **out, size_t *len)
{
    size_t cap = sigs_msg_max(t->n);
    uint8_t *buf = malloc(cap);
    size_t n = buf ? hl__sigtable_encode(t, buf, cap) : 0;
    if (!n) {
        free(buf);
        return hl__fail(HL_ENOMEM, "out of memory copying function tables");
    }
    *out = buf;
    *len = n;
    return 0;
}

int hl__sigtable_equals(const hl__sigtable *t, const uint8_t *msg, size_t len)
{
    uint8_t *mine = NULL;
    size_t n = 0;
    if (hl__sigtable_encode_alloc(t, &mine, &n))
        return 0;
    int eq = n == len && memcmp(mine, msg, n) == 0;
    free(mine);
    return eq;
}

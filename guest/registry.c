/* registry.c: the guest's functions, registered by hlg_main and reported to the host at init. */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static HLG_HOT hlg__fn *fns;
static HLG_HOT size_t nfns, capfns;

static int signature_ok(const char *name, size_t len, hl_type ret, const hl_type *params,
                        size_t nparams)
{
    if (!hl__wire_name_ok(name, len) || (unsigned)ret >= HL_TYPE_COUNT || nparams > HL_MAX_PARAMS ||
        (nparams && !params))
        return 0;
    for (size_t i = 0; i < nparams; i++)
        if (params[i] == HL_TYPE_VOID || (unsigned)params[i] >= HL_TYPE_COUNT)
            return 0;
    return 1;
}

int hlg_register(const char *name, hl_type ret, const hl_type *params, size_t nparams, hlg_fn fn)
{
    size_t len = name ? strlen(name) : 0;
    if (!fn || !signature_ok(name, len, ret, params, nparams) || hlg__find(name, len) ||
        nfns >= HL_ABI_MAX_FUNCTIONS)
        return -1;
    if (nfns == capfns) {
        size_t cap = capfns ? 2 * capfns : 16;
        hlg__fn *v = realloc(fns, cap * sizeof *v);
        if (!v)
            return -1;
        fns = v;
        capfns = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return -1;
    hlg__fn *f = &fns[nfns++];
    f->name = copy;
    f->name_len = len;
    f->ret = ret;
    f->nparams = nparams;
    if (nparams)
        memcpy(f->params, params, nparams * sizeof *params);
    f->fn = fn;
    return 0;
}

const hlg__fn *hlg__find(const char *name, size_t len)
{
    for (size_t i = 0; i < nfns; i++)
        if (fns[i].name_len == len && memcmp(fns[i].name, name, len) == 0)
            return &fns[i];
    return NULL;
}

int hlg__send_signatures(void)
{
    hl__wire_writer w;
    hlg__out_begin(&w);
    hl__wire_begin_sigs_writer(&w, (uint16_t)nfns);
    for (size_t i = 0; i < nfns; i++)
        hl__wire_put_sig(&w, fns[i].name, fns[i].name_len, fns[i].ret, fns[i].params,
                         fns[i].nparams);
    return hlg__out_commit(&w);
}

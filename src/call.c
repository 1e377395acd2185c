/* call.c: calling a guest function: check, encode, run to DONE, check the cookie, decode. */
#include <string.h>

#include "bstack.h"
#include "context.h"
#include "error.h"
#include "run.h"
#include "sandbox.h"
#include "wire.h"

static int check_value(const hl_value *v, size_t i)
{
    switch (v->type) {
    case HL_TYPE_STRING:
        if (!v->as.str.ptr && v->as.str.len)
            return hl__fail(HL_EINVAL, "argument %zu: NULL string", i + 1);
        if (!hl__wire_utf8_ok((const uint8_t *)v->as.str.ptr, v->as.str.len))
            return hl__fail(HL_EINVAL, "argument %zu: string is not UTF-8 or contains NUL", i + 1);
        return 0;
    case HL_TYPE_BYTES:
        if (!v->as.bytes.ptr && v->as.bytes.len)
            return hl__fail(HL_EINVAL, "argument %zu: NULL bytes", i + 1);
        return 0;
    case HL_TYPE_VOID:
        return hl__fail(HL_EINVAL, "argument %zu: void is not a value", i + 1);
    default:
        return (unsigned)v->type < HL_TYPE_COUNT
                   ? 0
                   : hl__fail(HL_EINVAL, "argument %zu: invalid type %d", i + 1, (int)v->type);
    }
}

static int check_call(hl_sandbox *sb, const char *name, const hl_value *args, size_t nargs,
                      const hl__sig **sig)
{
    if (!sb || !name || (nargs && !args))
        return hl__fail(HL_EINVAL, "hl_sandbox_call: sandbox, name (and args when nargs > 0) "
                                   "must not be NULL");
    if (sb->in_call)
        return hl__fail(HL_ESTATE, "re-entrant call: the sandbox is already running a call");
    if (sb->poisoned)
        return hl__fail(HL_EPOISONED, "sandbox is poisoned by an earlier failure");
    if (sb->state != HL_STATE_READY)
        return hl__fail(HL_ESTATE, "sandbox is not initialised (call hl_sandbox_init first)");
    if (nargs > HL_MAX_PARAMS)
        return hl__fail(HL_EARGCOUNT, "%zu arguments; at most %d", nargs, HL_MAX_PARAMS);
    for (size_t i = 0; i < nargs; i++) {
        int rc = check_value(&args[i], i);
        if (rc)
            return rc;
    }
    *sig = hl__sigtable_find(sb->guest_fns, name, strlen(name));
    if (!*sig)
        return hl__fail(HL_ENOTFOUND, "guest function '%s' not found", name);
    return hl__sig_check_args(*sig, "guest function", args, nargs);
}

static int error_code(int32_t abi)
{
    switch (abi) {
    case HL_ABI_ERR_NOT_FOUND:
        return HL_ENOTFOUND;
    case HL_ABI_ERR_ARG_COUNT:
        return HL_EARGCOUNT;
    case HL_ABI_ERR_ARG_TYPE:
        return HL_EARGTYPE;
    default:
        return HL_EGUEST;
    }
}

static int decode_reply(hl_sandbox *sb, const hl__sig *sig, size_t len, hl_value *result)
{
    hl__wire_reader r;
    hl__wire_reader_init(&r, sb->msg, len);
    if (hl__wire_kind(sb->msg, len) == HL_ABI_MSG_ERROR) {
        int32_t code;
        const char *msg;
        size_t mlen;
        if (hl__wire_decode_error(&r, &code, &msg, &mlen))
            return hl__poison(sb, hl__fail(HL_EPROTOCOL, "guest sent a bad error: %s", r.why));
        return hl__fail(error_code(code), "guest function '%s' failed: %s", sig->name, msg);
    }
    hl_value v;
    if (hl__wire_decode_result(&r, &v))
        return hl__poison(sb, hl__fail(HL_EPROTOCOL, "guest sent a bad result: %s", r.why));
    if (v.type != sig->ret)
        return hl__poison(sb, hl__fail(HL_EPROTOCOL,
                                       "guest function '%s' returned %s, not its "
                                       "declared %s",
                                       sig->name, hl_type_name(v.type), hl_type_name(sig->ret)));
    *result = v;
    return 0;
}

static int start_call(hl_sandbox *sb, const hl__sig *sig, const hl_value *args, size_t nargs)
{
    size_t n = hl__wire_encode_call(sb->enc, sb->enc_cap, sig->name, sig->name_len, args, nargs);
    if (!n)
        return hl__fail(HL_ETOOBIG, "arguments to '%s' do not fit the %zu-byte input buffer",
                        sig->name, sb->enc_cap);
    const char *why = NULL;
    if (hl__bstack_reset(&sb->mem, sb->layout.r[HL_R_INPUT]) ||
        hl__bstack_reset(&sb->mem, sb->layout.r[HL_R_OUTPUT]) ||
        hl__bstack_push(&sb->mem, sb->layout.r[HL_R_INPUT], sb->enc, n, &why))
        return hl__fail(HL_ETOOBIG, "arguments to '%s' do not fit the input buffer", sig->name);
    return hl__push_context(sb);
}

HL_API int hl_sandbox_call(hl_sandbox *sb, const char *name, const hl_value *args, size_t nargs,
                           hl_value *result)
{
    const hl__sig *sig = NULL;
    size_t len;
    hl__clear_error();
    int rc = check_call(sb, name, args, nargs, &sig);
    if (rc || (rc = start_call(sb, sig, args, nargs)))
        return rc;
    sb->in_call = 1;
    sb->calls_since_base++;
    rc = hl__run_until_done(sb);
    if (!rc)
        rc = hl__pop_output(sb, &len);
    if (!rc) {
        hl_value v;
        rc = decode_reply(sb, sig, len, &v);
        if (!rc && result)
            *result = v;
    }
    sb->in_call = 0;
    if (sb->destroy_requested) {
        hl_sandbox_destroy(sb);
        return rc;
    }
    return hl__reset_after_call(sb, rc);
}

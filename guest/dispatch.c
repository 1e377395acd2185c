/* dispatch.c: running the call the host pushed: decode, check against the signature, call, reply.
 */
#include "runtime.h"

#include <stdio.h>
#include <string.h>

static void reply_error(int32_t code, const char *msg)
{
    hl__wire_writer w;
    hlg__out_begin(&w);
    hl__wire_put_u8(&w, HL_ABI_MSG_ERROR);
    hl__wire_put_u32(&w, (uint32_t)code);
    hl__wire_put_string(&w, msg, strlen(msg));
    if (hlg__out_commit(&w))
        hlg_abort(HL_ABI_ERR_TOO_BIG, "error message does not fit the output buffer");
}

static void reply_result(const hl_value *v)
{
    hl__wire_writer w;
    hlg__out_begin(&w);
    hl__wire_put_u8(&w, HL_ABI_MSG_RESULT);
    hl__wire_put_value(&w, v);
    if (hlg__out_commit(&w))
        reply_error(HL_ABI_ERR_TOO_BIG, "the result does not fit the output buffer");
}

/* Checks the arguments; on a mismatch writes the message and returns the ABI error code. */
static int check_args(const hlg__fn *f, const hl__wire_call *c, char *msg, size_t cap)
{
    if (c->nargs != f->nparams) {
        snprintf(msg, cap, "guest function '%s' takes %zu arguments, %zu given", f->name,
                 f->nparams, c->nargs);
        return HL_ABI_ERR_ARG_COUNT;
    }
    for (size_t i = 0; i < c->nargs; i++) {
        if (c->args[i].type != f->params[i]) {
            snprintf(msg, cap, "argument %zu of guest function '%s' must be %s, got %s", i + 1,
                     f->name, hl_type_name(f->params[i]), hl_type_name(c->args[i].type));
            return HL_ABI_ERR_ARG_TYPE;
        }
    }
    return 0;
}

static void run(const hlg__fn *f, const hl__wire_call *c)
{
    hl_value ret = hl_void();
    char msg[256];
    int failed = f->fn(c->args, c->nargs, &ret);
    hlg__reset_user_flags();
    hlg__streams_flush(); /* before the reply: the host pops each piece while this call runs */
    if (failed) {
        reply_error(HL_ABI_ERR_FAILED, hlg__take_fail_message());
    } else if (ret.type != f->ret) {
        snprintf(msg, sizeof msg, "guest function '%s' returned %s, not its declared %s", f->name,
                 hl_type_name(ret.type), hl_type_name(f->ret));
        reply_error(HL_ABI_ERR_FAILED, msg);
    } else {
        reply_result(&ret);
    }
}

void hlg__dispatch(void)
{
    const uint8_t *msg;
    size_t len;
    uint64_t elem;
    hl__wire_reader r;
    hl__wire_call call;
    char why[256];
    if (hlg__in_top(&msg, &len, &elem)) {
        reply_error(HL_ABI_ERR_BAD_MESSAGE, "no call on the input stack");
        return;
    }
    hl__wire_reader_init(&r, msg, len);
    const hlg__fn *f = NULL;
    int code = 0;
    if (hl__wire_decode_call(&r, &call)) {
        snprintf(why, sizeof why, "bad call message: %s", r.why);
        code = HL_ABI_ERR_BAD_MESSAGE;
    } else if (!(f = hlg__find(call.name, call.name_len))) {
        snprintf(why, sizeof why, "guest function '%.*s' not found", (int)call.name_len, call.name);
        code = HL_ABI_ERR_NOT_FOUND;
    } else {
        code = check_args(f, &call, why, sizeof why);
    }
    if (code)
        reply_error(code, why);
    else
        run(f, &call); /* arguments still point into the input stack: pop only afterwards */
    hlg__in_pop(elem);
    hlg__scratch_release();
}

/* host_call.c: calling host functions from the guest (the host checks name and types). */
#include "runtime.h"

#include <stdlib.h>
#include <string.h>

static char last_error[512];
static HLG_HOT uint8_t *result_copy; /* owns STRING/BYTES results until the next host call */
static HLG_HOT size_t result_cap;

const char *hlg_last_error(void)
{
    return last_error;
}

static int fail(int code, const char *msg, size_t len)
{
    if (len >= sizeof last_error)
        len = sizeof last_error - 1;
    memcpy(last_error, msg, len);
    last_error[len] = '\0';
    return -code;
}

/* Copies a STRING/BYTES payload out of the input stack (it is about to be popped). */
static int keep(hl_value *v)
{
    const void *src = v->type == HL_TYPE_STRING ? (const void *)v->as.str.ptr : v->as.bytes.ptr;
    size_t n = v->type == HL_TYPE_STRING ? v->as.str.len : v->as.bytes.len;
    if (n + 1 > result_cap) {
        uint8_t *p = realloc(result_copy, n + 1);
        if (!p)
            return -1;
        result_copy = p;
        result_cap = n + 1;
    }
    memcpy(result_copy, src, n);
    result_copy[n] = 0;
    if (v->type == HL_TYPE_STRING)
        v->as.str.ptr = (const char *)result_copy;
    else
        v->as.bytes.ptr = result_copy;
    return 0;
}

static int read_reply(hl_value *ret)
{
    const uint8_t *msg;
    size_t len;
    uint64_t elem;
    hl__wire_reader r;
    int rc = 0;
    if (hlg__in_top(&msg, &len, &elem))
        return fail(HL_ABI_ERR_BAD_MESSAGE, "no reply from the host", 22);
    hl__wire_reader_init(&r, msg, len);
    if (hl__wire_kind(msg, len) == HL_ABI_MSG_ERROR) {
        int32_t code;
        const char *text;
        size_t tlen;
        rc = hl__wire_decode_error(&r, &code, &text, &tlen)
                 ? fail(HL_ABI_ERR_BAD_MESSAGE, "bad error reply", 15)
                 : fail(code > 0 ? code : HL_ABI_ERR_FAILED, text, tlen);
    } else if (hl__wire_decode_result(&r, ret)) {
        rc = fail(HL_ABI_ERR_BAD_MESSAGE, "bad reply", 9);
    } else if ((ret->type == HL_TYPE_STRING || ret->type == HL_TYPE_BYTES) && keep(ret)) {
        rc = fail(HL_ABI_ERR_NO_MEMORY, "out of memory for the reply", 27);
    }
    hlg__in_pop(elem);
    return rc;
}

int hlg_call_host(const char *name, const hl_value *args, size_t nargs, hl_value *ret)
{
    hl__wire_writer w;
    hl_value ignored;
    if (!name || nargs > HL_MAX_PARAMS || (nargs && !args))
        return fail(HL_ABI_ERR_BAD_MESSAGE, "bad arguments to hlg_call_host", 30);
    hlg__out_begin(&w);
    hl__wire_put_u8(&w, HL_ABI_MSG_CALL);
    hl__wire_put_u8(&w, (uint8_t)nargs);
    hl__wire_put_name(&w, name, strlen(name));
    for (size_t i = 0; i < nargs; i++)
        hl__wire_put_value(&w, &args[i]);
    if (hlg__out_commit(&w))
        return fail(HL_ABI_ERR_TOO_BIG, "call does not fit the output buffer", 35);
    hlg__exit(HL_ABI_PORT_HOST_CALL, 0);
    return read_reply(ret ? ret : &ignored);
}

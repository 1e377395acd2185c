/* run.c: running the guest until it reports DONE, within the time limit and interruptible, and
 * serving each exit on the way: host calls, logs, aborts, exceptions and protocol violations. */
#include "run.h"

#include <stdio.h>
#include <string.h>

#include "bstack.h"
#include "core.h"
#include "cpu.h"
#include "error.h"
#include "gdb_stub.h"
#include "hot.h"
#include "wire.h"
#include "x86.h"

static int protocol(hl_sandbox *sb, const char *what, const char *why)
{
    return hl__poison(sb, hl__fail(HL_EPROTOCOL, "guest broke the protocol: %s: %s", what, why));
}

int hl__pop_output(hl_sandbox *sb, size_t *len)
{
    const char *why = NULL;
    if (hl__bstack_pop(&sb->mem, sb->layout.r[HL_R_OUTPUT], sb->msg, sb->msg_cap, len, &why))
        return protocol(sb, "output buffer", why);
    return 0;
}

/* Pops the guest's next message into sb->msg and starts a reader over that copy. */
static int pop_message(hl_sandbox *sb, hl__wire_reader *r)
{
    size_t len;
    int rc = hl__pop_output(sb, &len);
    if (!rc)
        hl__wire_reader_init(r, sb->msg, len);
    return rc;
}

/* Pushes sb->enc[0..n) to the guest's input stack. */
static int push_input(hl_sandbox *sb, size_t n)
{
    const char *why = NULL;
    if (hl__bstack_push(&sb->mem, sb->layout.r[HL_R_INPUT], sb->enc, n, &why))
        return protocol(sb, "input buffer", why);
    return 0;
}

static int reply_error(hl_sandbox *sb, int32_t code, const char *msg)
{
    size_t n = hl__wire_encode_error(sb->enc, sb->enc_cap, code, msg, strlen(msg));
    if (!n)
        n = hl__wire_encode_error(sb->enc, sb->enc_cap, code, "", 0);
    return push_input(sb, n);
}

/* Runs a validated host call and encodes its reply into sb->enc; returns the reply length. */
static size_t run_host_fn(hl_sandbox *sb, const hl__sig *s, const hl__wire_call *c)
{
    hl_value ret = hl_void();
    int failed = s->fn(s->user, c->args, c->nargs, &ret);
    const char *msg = NULL;
    char buf[256];
    if (failed) {
        if (ret.type == HL_TYPE_STRING && ret.as.str.ptr &&
            hl__wire_utf8_ok((const uint8_t *)ret.as.str.ptr, ret.as.str.len))
            return hl__wire_encode_error(sb->enc, sb->enc_cap, HL_ABI_ERR_FAILED, ret.as.str.ptr,
                                         ret.as.str.len);
        snprintf(buf, sizeof buf, "host function '%s' failed", s->name);
        msg = buf;
    } else if (ret.type != s->ret) {
        snprintf(buf, sizeof buf, "host function '%s' returned %s, not its declared %s", s->name,
                 hl_type_name(ret.type), hl_type_name(s->ret));
        msg = buf;
    } else if ((ret.type == HL_TYPE_STRING && !ret.as.str.ptr && ret.as.str.len) ||
               (ret.type == HL_TYPE_BYTES && !ret.as.bytes.ptr && ret.as.bytes.len)) {
        snprintf(buf, sizeof buf, "host function '%s' returned a NULL %s", s->name,
                 hl_type_name(ret.type));
        msg = buf;
    } else if (ret.type == HL_TYPE_STRING &&
               !hl__wire_utf8_ok((const uint8_t *)ret.as.str.ptr, ret.as.str.len)) {
        snprintf(buf, sizeof buf, "host function '%s' returned a string that is not UTF-8",
                 s->name);
        msg = buf;
    }
    if (msg)
        return hl__wire_encode_error(sb->enc, sb->enc_cap, HL_ABI_ERR_FAILED, msg, strlen(msg));
    size_t n = hl__wire_encode_result(sb->enc, sb->enc_cap, &ret);
    if (!n) {
        snprintf(buf, sizeof buf, "result of host function '%s' does not fit the input buffer",
                 s->name);
        return hl__wire_encode_error(sb->enc, sb->enc_cap, HL_ABI_ERR_TOO_BIG, buf, strlen(buf));
    }
    return n;
}

static int host_call(hl_sandbox *sb)
{
    hl__wire_reader r;
    hl__wire_call call;
    int rc = pop_message(sb, &r);
    if (rc)
        return rc;
    if (hl__wire_decode_call(&r, &call))
        return protocol(sb, "host call", r.why);
    const hl__sig *s = hl__sigtable_find(&sb->host_fns, call.name, call.name_len);
    if (!s) {
        char msg[200];
        snprintf(msg, sizeof msg, "host function '%.*s' is not registered", (int)call.name_len,
                 call.name);
        return reply_error(sb, HL_ABI_ERR_DENIED, msg);
    }
    if (hl__sig_check_args(s, "host function", call.args, call.nargs))
        return reply_error(sb, HL_ABI_ERR_DENIED, hl_last_error());
    size_t n = run_host_fn(sb, s, &call);
    return n ? push_input(sb, n) : reply_error(sb, HL_ABI_ERR_TOO_BIG, "reply too big");
}

static int forward_stream(hl_sandbox *sb, hl__wire_reader *r)
{
    hl__wire_stream out;
    if (hl__wire_decode_stream(r, &out))
        return protocol(sb, "stream output", r->why);
    if (sb->cfg.output_fn && out.len)
        sb->cfg.output_fn(sb->cfg.output_user, (hl_stream)out.stream, out.bytes, out.len);
    return 0;
}

/* The log port carries LOG records and STREAM output. */
static int forward_log(hl_sandbox *sb)
{
    hl__wire_reader r;
    hl__wire_log log;
    int rc = pop_message(sb, &r);
    if (rc)
        return rc;
    if (hl__wire_kind(r.p, r.len) == HL_ABI_MSG_STREAM)
        return forward_stream(sb, &r);
    if (hl__wire_decode_log(&r, &log))
        return protocol(sb, "log record", r.why);
    if (sb->cfg.log_fn && log.level <= (unsigned)sb->cfg.log_level) {
        hl_log_record rec = {(hl_log_level)log.level, log.message, log.file, log.line};
        sb->cfg.log_fn(sb->cfg.log_user, &rec);
    }
    return 0;
}

/* Copies the panic message out and stops at its NUL (hl__fail neutralises control characters). */
static void read_panic(hl_sandbox *sb, char *out, size_t cap)
{
    const hl__region *p = &sb->layout.r[HL_R_PANIC];
    size_t n = cap - 1 < p->size ? cap - 1 : p->size;
    if (hl__mem_read(&sb->mem, p->gpa, out, n))
        n = 0;
    out[n] = '\0';
}

static int guest_abort(hl_sandbox *sb, uint32_t code)
{
    char msg[768];
    read_panic(sb, msg, sizeof msg);
    if (msg[0])
        return hl__poison(sb,
                          hl__fail(HL_EABORT, "guest aborted (code %d): %s", (int32_t)code, msg));
    return hl__poison(sb, hl__fail(HL_EABORT, "guest aborted (code %d)", (int32_t)code));
}

static int page_fault(hl_sandbox *sb, const hl__exception_frame *f)
{
    const hl__region *stack = &sb->layout.r[HL_R_STACK];
    if (f->cr2 < stack->gpa && f->cr2 >= stack->gpa - HL_PAGE)
        return hl__fail(HL_ESTACKOVERFLOW,
                        "guest stack overflow: access to the guard page at 0x%llx (rip 0x%llx)",
                        (unsigned long long)f->cr2, (unsigned long long)f->rip);
    const char *access, *why;
    hl__cpu_pf_describe(f->error, &access, &why);
    return hl__fail(HL_EFAULT, "guest fault: page fault (#PF): %s at 0x%llx (%s, %s) at rip 0x%llx",
                    access, (unsigned long long)f->cr2,
                    hl__region_name(hl__layout_find(&sb->layout, f->cr2)), why,
                    (unsigned long long)f->rip);
}

static int guest_exception(hl_sandbox *sb)
{
    hl__exception_frame f;
    if (hl__mem_read(&sb->mem, HL_EXCEPTION_FRAME_GPA(&sb->layout), &f, sizeof f))
        return hl__poison(sb, hl__fail(HL_EFAULT, "guest fault (frame unreadable)"));
    sb->fault = f;
    sb->fault_valid = 1;
    if (f.vector == X86_VEC_PF)
        return hl__poison(sb, page_fault(sb, &f));
    return hl__poison(sb, hl__fail(HL_EFAULT, "guest fault: %s, error code 0x%llx, at rip 0x%llx",
                                   hl__cpu_vector_name(f.vector), (unsigned long long)f.error,
                                   (unsigned long long)f.rip));
}

static int io_out(hl_sandbox *sb, const hl__exit *e, int *done)
{
    char what[64];
    if (e->size != 4 || e->count != 1) {
        snprintf(what, sizeof what, "out to port 0x%x", e->port);
        return protocol(sb, what, "not a single 32-bit write");
    }
    switch (e->port) {
    case HL_ABI_PORT_DONE:
        *done = 1;
        return 0;
    case HL_ABI_PORT_HOST_CALL:
        return host_call(sb);
    case HL_ABI_PORT_LOG:
        return forward_log(sb);
    case HL_ABI_PORT_ABORT:
        return guest_abort(sb, e->value);
    case HL_ABI_PORT_EXCEPTION:
        return guest_exception(sb);
    default:
        snprintf(what, sizeof what, "out to port 0x%x", e->port);
        return protocol(sb, what, "unknown port");
    }
}

static int handle_exit(hl_sandbox *sb, const hl__exit *e, int *done)
{
    char what[80];
    switch (e->kind) {
    case HL_EXIT_IO_OUT:
        return io_out(sb, e, done);
    case HL_EXIT_IO_IN:
        snprintf(what, sizeof what, "in from port 0x%x", e->port);
        return protocol(sb, what, "the guest may not read ports");
    case HL_EXIT_MMIO:
        snprintf(what, sizeof what, "%s at 0x%llx", e->is_write ? "write" : "read",
                 (unsigned long long)e->gpa);
        return protocol(sb, what, "outside guest memory");
    case HL_EXIT_HLT:
        return hl__poison(sb, hl__fail(HL_EFAULT, "guest fault: halted"));
    case HL_EXIT_SHUTDOWN:
        return hl__poison(sb, hl__fail(HL_EFAULT, "guest fault: triple fault (shutdown)"));
    case HL_EXIT_INTR:
        return 0; /* the run loop checks for interrupts and the time limit */
    default:
        return hl__poison(sb, hl__fail(HL_EKVM, "unexpected KVM exit reason %u (sub-reason %u)",
                                       e->raw, e->value));
    }
}

/* ---------------------------------------------------------------- the run loop */

/* Between two runs of the guest: stop if the call was interrupted or ran out of time. */
static int should_stop(hl_sandbox *sb)
{
    if (sb->destroy_requested)
        return hl__poison(sb, hl__fail(HL_ECANCELLED, "the sandbox was destroyed by one of its "
                                                      "callbacks during the call"));
    if (hl__interrupt_requested(sb->interrupt))
        return hl__poison(sb, hl__fail(HL_ECANCELLED, "call cancelled by hl_interrupt"));
    if (hl__timer_expired(&sb->timer))
        return hl__poison(
            sb, hl__fail(HL_ETIMEOUT, "time limit of %u ms exceeded", sb->cfg.time_limit_ms));
    return 0;
}

/* One run of the vCPU, with the debugger (if any) around it: *taken when the exit was its. */
static int run_once(hl_sandbox *sb, hl__exit *e, int *taken)
{
    int rc = should_stop(sb);
    *taken = 0;
    if (!rc && sb->gdb)
        rc = hl__gdb_before_run(sb);
    if (!rc)
        rc = sb->cfg.hot ? hl__hot_run(sb, e) : hl__vm_run(sb->vm, e);
    if (!rc && sb->gdb)
        rc = hl__gdb_after_run(sb, e, taken);
    return rc;
}

static int run_loop(hl_sandbox *sb)
{
    for (;;) {
        hl__exit e;
        int done = 0, taken;
        int rc = run_once(sb, &e, &taken);
        if (rc)
            return hl__poison(sb, rc);
        if (taken)
            continue;
        rc = handle_exit(sb, &e, &done);
        if (rc || done)
            return rc;
    }
}

static int check_cookie(hl_sandbox *sb)
{
    uint8_t now[HL_ABI_COOKIE_SIZE];
    if (hl__mem_read(&sb->mem, sb->layout.r[HL_R_STACK].gpa, now, sizeof now) ||
        memcmp(now, sb->cookie, sizeof now) != 0)
        return hl__poison(sb, hl__fail(HL_ECOOKIE, "guest stack cookie smashed (the stack "
                                                   "overran its lowest bytes)"));
    return 0;
}

/* The thread that runs the vCPU, which the timer and interrupts signal. */
static int vcpu_tid(hl_sandbox *sb, pid_t *tid)
{
    if (hl__kick_ready()) /* hl_interrupt needs it even without a time limit */
        return hl__fail(HL_ESIGNAL, "signal SIGRTMIN+5 has another handler; time limits and "
                                    "hl_interrupt need it");
    if (sb->cfg.hot)
        return hl__hot_begin(sb, tid);
    *tid = hl__gettid();
    return 0;
}

/* The call's time limit: a timer that kicks KVM_RUN on the calling thread, or, for a hot sandbox,
 * whose caller waits in slices and looks at the clock itself, only a deadline. None while a
 * debugger may hold the guest stopped. */
static int start_time_limit(hl_sandbox *sb, pid_t tid)
{
    uint32_t ms = sb->gdb ? 0 : sb->cfg.time_limit_ms;
    if (!sb->cfg.hot)
        return hl__timer_arm(&sb->timer, ms, tid);
    hl__timer_deadline(&sb->timer, ms);
    return 0;
}

int hl__run_until_done(hl_sandbox *sb)
{
    pid_t tid;
    int rc = vcpu_tid(sb, &tid);
    if (!rc)
        rc = start_time_limit(sb, tid);
    if (rc)
        return rc;
    sb->fault_valid = 0;
    /* interrupts and the timer must reach KVM_RUN (a hot sandbox's runs on its own thread) */
    int was_blocked = sb->cfg.hot ? 0 : hl__kick_unblock();
    hl__interrupt_begin(sb->interrupt, sb->vm, tid);
    rc = run_loop(sb);
    if (rc && sb->gdb)
        rc = hl__gdb_call_failed(sb, rc);
    if (sb->gdb)
        hl__gdb_run_ended(sb);
    if (hl__interrupt_end(sb->interrupt) && !rc)
        rc = hl__poison(sb, hl__fail(HL_ECANCELLED, "call cancelled by hl_interrupt"));
    hl__timer_disarm(&sb->timer);
    hl__kick_reblock(was_blocked);
    if (!rc)
        rc = check_cookie(sb);
    if (rc && sb->cfg.hot)
        hl__hot_halt(sb); /* the guest may still be running */
    return hl__core_after_run(sb, rc);
}

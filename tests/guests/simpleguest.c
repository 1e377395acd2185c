/* simpleguest.c: the test guest (after Hyperlight's simpleguest / c_simpleguest): echoes of every
 * type, many-argument calls, static state, aborts, faults, stack overflows, NX checks, logging,
 * callbacks into the host with every type, and a self-test of the guest libc run inside the VM.
 * Each function is registered in hlg_main (at the bottom) with its exact signature; the host
 * tests in tests/kvm/ depend on the names, signatures and result texts below. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <hyperlight/guest.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"

/* Heap bytes in use, block headers included (newlib's mallinfo). */
static size_t heap_in_use(void)
{
    return (size_t)mallinfo().uordblks;
}

#define UNUSED_ARGS (void)args, (void)nargs

static const char *str_arg(const hl_value *args, size_t i)
{
    return args[i].as.str.ptr;
}
static const char *bool_text(bool b)
{
    return b ? "true" : "false";
}

/* Formats into scratch memory (valid until the result is sent) and returns it as a STRING. */
__attribute__((format(printf, 2, 3))) static int ret_fmt(hl_value *ret, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return hlg_fail("bad format");
    char *buf = hlg_scratch((size_t)n + 1);
    if (!buf)
        return hlg_fail("out of memory formatting %d bytes", n);
    va_start(ap, fmt);
    vsnprintf(buf, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *ret = hl_strn(buf, (size_t)n);
    return 0;
}

static int set_byte_array_to_zero(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    size_t n = args[0].as.bytes.len;
    uint8_t *copy = hlg_scratch(n);
    if (!copy)
        return hlg_fail("out of memory for %zu bytes", n);
    memset(copy, 0, n);
    *ret = hl_bytes(copy, n);
    return 0;
}

static int print_output(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(printf("%s", str_arg(args, 0)));
    return 0;
}

/* WriteStream(fd, text): writes text to stdout (1) or stderr (2) through stdio; its length. */
static int write_stream(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    FILE *to = args[0].as.i32 == 2 ? stderr : stdout;
    *ret = hl_i32(fputs(str_arg(args, 1), to) < 0 ? -1 : (int32_t)strlen(str_arg(args, 1)));
    return 0;
}

/* ---- PrintTwoArgs .. PrintElevenArgs: (string, i32, i64, string, string, bool, bool, u32, u64,
 * f32, f64), each taking the first N; the result is "msg:" and the arguments separated by
 * spaces (floats with %.3f), and it is printed too. */
static int print_n_args(const hl_value *a, size_t n, hl_value *ret)
{
    char buf[1024];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        size_t room = sizeof buf - len;
        const char *sep = i ? " " : "msg:";
        int w = 0;
        switch (a[i].type) {
        case HL_TYPE_STRING:
            w = snprintf(buf + len, room, "%s%s", sep, a[i].as.str.ptr);
            break;
        case HL_TYPE_I32:
            w = snprintf(buf + len, room, "%s%d", sep, a[i].as.i32);
            break;
        case HL_TYPE_I64:
            w = snprintf(buf + len, room, "%s%lld", sep, (long long)a[i].as.i64);
            break;
        case HL_TYPE_BOOL:
            w = snprintf(buf + len, room, "%s%s", sep, bool_text(a[i].as.b));
            break;
        case HL_TYPE_U32:
            w = snprintf(buf + len, room, "%s%u", sep, a[i].as.u32);
            break;
        case HL_TYPE_U64:
            w = snprintf(buf + len, room, "%s%llu", sep, (unsigned long long)a[i].as.u64);
            break;
        case HL_TYPE_F32:
            w = snprintf(buf + len, room, "%s%.3f", sep, (double)a[i].as.f32);
            break;
        case HL_TYPE_F64:
            w = snprintf(buf + len, room, "%s%.3f", sep, a[i].as.f64);
            break;
        default:
            return hlg_fail("unexpected type %s", hl_type_name(a[i].type));
        }
        if (w < 0 || (size_t)w >= room)
            return hlg_fail("arguments too long to print");
        len += (size_t)w;
    }
    printf("%s\n", buf);
    return ret_fmt(ret, "%s", buf);
}

static int print_args(const hl_value *args, size_t nargs, hl_value *ret)
{
    return print_n_args(args, nargs, ret); /* the runtime checked count and types */
}

/* ---- round trips of scalars (EchoI32 etc. are `echo` registered with other types) ---- */
static int sum16(const hl_value *args, size_t nargs, hl_value *ret)
{
    int64_t sum = 0;
    for (size_t i = 0; i < nargs; i++)
        sum += (int64_t)args[i].as.i32 * (int64_t)(i + 1); /* weighted: order matters */
    *ret = hl_i64(sum);
    return 0;
}

/* ---- static state ---- */
static uint8_t big_static[1024 * 1024];
static int set_static(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t *p = big_static;
    for (size_t i = 0; i < sizeof big_static; i++)
        p[i] = (uint8_t)i;
    for (size_t i = 0; i < sizeof big_static; i += 4093)
        hlg_assert(p[i] == (uint8_t)i);
    *ret = hl_i32((int32_t)sizeof big_static);
    return 0;
}

/* ---- errors and aborts ---- */
static int fail(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    return hlg_fail("%s", str_arg(args, 0));
}

static int return_wrong_type(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_i32(7); /* registered as returning string */
    return 0;
}

static int abort_with_code(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    hlg_abort(args[0].as.i32, "%s", "");
}

static int abort_with_message(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    hlg_abort(args[0].as.i32, "%s", str_arg(args, 1));
}

static int guest_assert(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t x = args[0].as.i32;
    assert(x != 0);
    *ret = hl_i32(x);
    return 0;
}

static int call_abort(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    (void)ret;
    abort(); /* raises SIGABRT: the call ends with code 128 + 6 */
}

/* ---- logging ---- */
static int log_message(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    hlg_log((unsigned)args[1].as.i32, __FILE__, __LINE__, "%s", str_arg(args, 0));
    return 0;
}

/* ---- heap ---- */
static int call_malloc(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t size = args[0].as.i32;
    if (size < 0)
        return hlg_fail("negative size %d", size);
    volatile uint8_t *p = malloc((size_t)size);
    if (!p)
        return hlg_fail("malloc(%d) failed", size);
    for (int32_t i = 0; i < size; i++)
        p[i] = (uint8_t)i;
    *ret = hl_i32(size); /* deliberately not freed, like Hyperlight's CallMalloc */
    return 0;
}

static int malloc_and_free(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t size = args[0].as.i32;
    if (size < 0)
        return hlg_fail("negative size %d", size);
    volatile uint8_t *p = malloc((size_t)size);
    if (!p)
        return hlg_fail("malloc(%d) failed", size);
    for (int32_t i = 0; i < size; i++)
        p[i] = (uint8_t)i;
    free((void *)p);
    *ret = hl_i32(size);
    return 0;
}

/* ---- stack ---- */
static int stack_allocate(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    if (n <= 0)
        return hlg_fail("size must be positive, got %d", n);
    volatile uint8_t buf[n]; /* a VLA: probed page by page (-fstack-clash-protection) */
    for (int32_t i = 0; i < n; i++)
        buf[i] = (uint8_t)i;
    *ret = hl_i32(buf[n - 1] == (uint8_t)(n - 1) ? n : -1);
    return 0;
}

static int small_var(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t buf[1024];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)i;
    *ret = hl_i32((int32_t)sizeof buf);
    return 0;
}

static int large_var(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t buf[300 * 1024]; /* more than the default 256 KiB stack */
    for (size_t i = 0; i < sizeof buf; i += 512)
        buf[i] = (uint8_t)i;
    *ret = hl_i32(buf[0] + (int32_t)sizeof buf);
    return 0;
}

/* One 1 KiB frame per level; depth <= 0 recurses until the stack runs out. The frame escapes
 * before the call and is used after it, so no compiler can reuse or drop it. */
__attribute__((noinline)) static int32_t recurse(int32_t depth)
{
    uint8_t frame[1024];
    memset(frame, (uint8_t)depth, sizeof frame);
    __asm__ volatile("" : : "r"(frame) : "memory");
    int32_t r = depth == 1 ? 1 : recurse(depth - 1) + 1;
    __asm__ volatile("" : : "r"(frame) : "memory");
    return r;
}

static int stack_overflow(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(recurse(args[0].as.i32));
    return 0;
}

/* ---- faults: NX, write protection, null pointers, stray addresses, instructions ---- */
typedef int (*code_fn)(void);

static code_fn as_code(void *p)
{
    code_fn f;
    memcpy(&f, &p, sizeof f);
    return f;
}

static int execute_on_stack(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    uint8_t code[16];
    memset(code, 0xc3, sizeof code); /* ret */
    __asm__ volatile("" : : "r"(code) : "memory");
    *ret = hl_i32(as_code(code)()); /* the stack is NX: must fault */
    return 0;
}

static int execute_on_heap(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    uint8_t *code = malloc(16);
    if (!code)
        return hlg_fail("out of memory");
    memset(code, 0xc3, 16);
    __asm__ volatile("" : : "r"(code) : "memory");
    *ret = hl_i32(as_code(code)()); /* the heap is NX: must fault */
    return 0;
}

static int write_to_text(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)&write_to_text;
    *p = 0xc3; /* text is read+execute */
    *ret = hl_i32(0);
    return 0;
}

static const char rodata_text[] = "read-only data";

static int write_to_rodata(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile char *p = (volatile char *)(uintptr_t)rodata_text;
    __asm__ volatile("" : "+r"(p));
    p[0] = 'R';
    *ret = hl_i32(p[0]);
    return 0;
}

static int read_null(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uintptr_t addr = 0; /* hidden from the optimiser, so this is a real load */
    *ret = hl_i32(*(volatile int32_t *)addr);
    return 0;
}

static int smash_cookie(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    volatile uint8_t *low = (volatile uint8_t *)(uintptr_t)hlg__peb.stack.gpa;
    low[0] ^= 0xff; /* the host checks these bytes after every call */
    *ret = hl_i32(0);
    return 0;
}

static int spin(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS, (void)ret;
    volatile int forever = 1;
    while (forever)
        ;
    return 0;
}

/* Runs one instruction the guest may not use: 0 ud2 (#UD), 1 hlt, 2 cli, 3 out to port 0x80 (not
 * in the I/O bitmap), 4 out to the ring-0 exception port, 9 mov from cr3 (all #GP at CPL3),
 * 5 in from a port and 6 a byte-sized out (protocol errors), 7 int3, 8 divide by zero (#DE). */
static int instruction(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint32_t v = 0, hi = 0;
    (void)nargs;
    switch (args[0].as.i32) {
    case 0:
        __asm__ volatile("ud2");
        break;
    case 1:
        __asm__ volatile("hlt");
        break;
    case 2:
        __asm__ volatile("cli");
        break;
    case 3:
        __asm__ volatile("outl %0, $0x80" : : "a"(v));
        break;
    case 4:
        __asm__ volatile("outl %0, $0xf0" : : "a"(v));
        break;
    case 5:
        __asm__ volatile("inl $0xe0, %0" : "=a"(v));
        break;
    case 6:
        __asm__ volatile("outb %b0, $0xe0" : : "a"(v));
        break;
    case 7:
        __asm__ volatile("int3");
        break;
    case 8:
        __asm__ volatile("divl %2" : "+a"(v), "+d"(hi) : "r"(hi));
        break;
    case 9:
        __asm__ volatile("movq %%cr3, %%rax" : : : "rax");
        break;
    default:
        return hlg_fail("no instruction %d", args[0].as.i32);
    }
    *ret = hl_i32((int32_t)v);
    return 0;
}

/* ---- breaking the host/guest protocol on purpose (a malicious guest) ---- */
static void raw_set_sp(const hl_abi_region *r, uint64_t sp)
{
    memcpy((uint8_t *)(uintptr_t)r->gpa, &sp, 8);
}

/* Pushes msg[0..n) as one element, exactly as abi.h describes, without any checks. */
static void raw_push(const hl_abi_region *r, const void *msg, size_t n)
{
    uint8_t *base = (uint8_t *)(uintptr_t)r->gpa;
    uint64_t sp, next;
    memcpy(&sp, base, 8);
    memcpy(base + sp, msg, n);
    memcpy(base + sp + n, &sp, 8);
    next = sp + n + 8;
    memcpy(base, &next, 8);
}

static void raw_exit(uint16_t port)
{
    __asm__ volatile("outl %0, %w1" : : "a"(0u), "Nd"(port) : "memory");
}

/* Each kind leaves the VM with a message (or stack) the host must refuse with HL_EPROTOCOL. */
static int protocol_abuse(const hl_value *args, size_t nargs, hl_value *ret)
{
    static const uint8_t result_i32[] = {HL_ABI_MSG_RESULT, HL_TYPE_I32, 1, 0, 0, 0};
    static const uint8_t garbage[] = {0x63, 1, 2, 3};
    static const uint8_t result_trailing[] = {
        HL_ABI_MSG_RESULT, HL_TYPE_STRING, 1, 0, 0, 0, 'x', 0, 0xee};
    static const uint8_t bad_call[] = {HL_ABI_MSG_CALL, 1, 0xff, 0xff, 'X'};
    static const uint8_t bad_log[] = {HL_ABI_MSG_LOG,
                                      9,
                                      0,
                                      0,
                                      0,
                                      0, /* level 9 */
                                      0,
                                      0,
                                      0,
                                      0,
                                      0,
                                      0,
                                      0,
                                      0,
                                      0,
                                      0};
    static const uint8_t bad_error[] = {HL_ABI_MSG_ERROR, 4, 0, 0, 0, 0xe8, 3, 0, 0, 'a', 0};
    static const uint8_t call_nosuch[] = {HL_ABI_MSG_CALL, 0, 6, 0, 'N', 'o', 'S', 'u', 'c', 'h'};
    const hl_abi_region *in = &hlg__peb.input, *out = &hlg__peb.output;
    (void)nargs, (void)ret;
    switch (args[0].as.i32) {
    case 0:
        raw_set_sp(out, 0xffffffffull);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    case 1:
        raw_set_sp(out, HL_ABI_STACK_EMPTY);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    case 2:
        raw_push(out, result_i32, sizeof result_i32);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    case 3:
        raw_push(out, garbage, sizeof garbage);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    case 4: {
        uint64_t elem = 20; /* a back-pointer beyond the element it should delimit */
        memcpy((uint8_t *)(uintptr_t)out->gpa + 16, &elem, 8);
        raw_set_sp(out, 24);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    }
    case 5:
        raw_push(out, bad_call, sizeof bad_call);
        raw_exit(HL_ABI_PORT_HOST_CALL);
        break;
    case 6:
        raw_push(out, bad_log, sizeof bad_log);
        raw_exit(HL_ABI_PORT_LOG);
        break;
    case 7:
        raw_push(out, bad_error, sizeof bad_error);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    case 8: /* a valid host call, but the input stack the reply goes to is corrupt */
        raw_set_sp(in, 3);
        raw_push(out, call_nosuch, sizeof call_nosuch);
        raw_exit(HL_ABI_PORT_HOST_CALL);
        break;
    case 9:
        raw_exit(HL_ABI_PORT_DONE + 2);
        break; /* allowed by the I/O bitmap, not a port */
    case 10:
        raw_push(out, result_trailing, sizeof result_trailing);
        raw_exit(HL_ABI_PORT_DONE);
        break;
    default:
        return hlg_fail("no abuse %d", args[0].as.i32);
    }
    return hlg_fail("the host resumed a guest that broke the protocol");
}

/* ---- callbacks into the host ---- */
static int host_error(const char *what, hl_value *ret, int rc)
{
    return ret_fmt(ret, "%s: rc=%d: %s", what, rc, hlg_last_error());
}

static int call_host_echo(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value r;
    int rc = hlg_call_host("HostEcho", HL_ARGS(args[0]), &r);
    if (rc)
        return hlg_fail("HostEcho failed (%d): %s", rc, hlg_last_error());
    hlg_assert(r.type == HL_TYPE_STRING);
    return ret_fmt(ret, "%s", r.as.str.ptr);
}

static int call_host_add(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value r;
    int rc = hlg_call_host("HostAdd", HL_ARGS(args[0], args[1]), &r);
    if (rc)
        return hlg_fail("HostAdd failed (%d): %s", rc, hlg_last_error());
    hlg_assert(r.type == HL_TYPE_I32);
    *ret = r;
    return 0;
}

/* Passes its 9 arguments (bool, i32, u32, i64, u64, f32, f64, string, bytes) to HostAllTypes and
 * returns the host's string. */
static int call_host_all_types(const hl_value *args, size_t nargs, hl_value *ret)
{
    hl_value r;
    int rc = hlg_call_host("HostAllTypes", args, nargs, &r);
    if (rc)
        return hlg_fail("HostAllTypes failed (%d): %s", rc, hlg_last_error());
    hlg_assert(r.type == HL_TYPE_STRING);
    return ret_fmt(ret, "%s", r.as.str.ptr);
}

static int call_host_echo_bytes(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value r;
    int rc = hlg_call_host("HostEchoBytes", HL_ARGS(args[0]), &r);
    if (rc)
        return hlg_fail("HostEchoBytes failed (%d): %s", rc, hlg_last_error());
    hlg_assert(r.type == HL_TYPE_BYTES);
    uint8_t *copy = hlg_scratch(r.as.bytes.len);
    if (!copy)
        return hlg_fail("out of memory");
    memcpy(copy, r.as.bytes.ptr, r.as.bytes.len);
    *ret = hl_bytes(copy, r.as.bytes.len);
    return 0;
}

static int call_host_echo_double(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value r;
    int rc = hlg_call_host("HostEchoDouble", HL_ARGS(args[0]), &r);
    if (rc)
        return hlg_fail("HostEchoDouble failed (%d): %s", rc, hlg_last_error());
    hlg_assert(r.type == HL_TYPE_F64);
    *ret = r;
    return 0;
}

static int call_host_unknown(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    hl_value r;
    int rc = hlg_call_host("NoSuchHostFunction", NULL, 0, &r);
    return host_error("NoSuchHostFunction", ret, rc);
}

static int call_host_wrong_types(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    hl_value r;
    int rc = hlg_call_host("HostAdd", HL_ARGS(hl_str("one"), hl_i32(2)), &r);
    return host_error("HostAdd", ret, rc);
}

static int call_host_failing(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    hl_value r;
    int rc = hlg_call_host("HostFailing", NULL, 0, &r);
    return host_error("HostFailing", ret, rc);
}

/* Calls host function `name` (no arguments, returns string) and reports rc and text. */
static int call_host_named(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    hl_value r;
    int rc = hlg_call_host(str_arg(args, 0), NULL, 0, &r);
    if (rc == 0 && r.type == HL_TYPE_STRING)
        return ret_fmt(ret, "ok: %s", r.as.str.ptr);
    if (rc == 0)
        return ret_fmt(ret, "ok: %s", hl_type_name(r.type));
    return host_error(str_arg(args, 0), ret, rc);
}

/* Calls HostEcho n times in a row (host calls in a loop, one VM exit each). */
static int call_host_many(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    for (int32_t i = 0; i < n; i++) {
        char text[32];
        hl_value r;
        int len = snprintf(text, sizeof text, "call %d", i);
        if (hlg_call_host("HostEcho", HL_ARGS(hl_str(text)), &r))
            return hlg_fail("call %d failed: %s", i, hlg_last_error());
        if (r.as.str.len != (size_t)len || strcmp(r.as.str.ptr, text) != 0)
            return hlg_fail("call %d: got '%s'", i, r.as.str.ptr);
    }
    *ret = hl_i32(n);
    return 0;
}

/* ---- state that snapshots must capture and restore (tests/kvm/test_snapshots.c) ---- */
/* xmm15 holds a value across calls. Nothing else in this guest touches it: the System V ABI
 * passes and returns floating point in xmm0-xmm7 only, and neither gcc nor clang at -O2 reaches
 * for xmm8-xmm15 in code this small (objdump -d simpleguest.elf | grep xmm15 finds only SetXmm,
 * GetXmm and ZeroXmm below, runtime and libc included). So between SetXmm and GetXmm only the
 * hypervisor (e.g. a restore) can change it. GetXmm reads it first, before it calls anything. */
static int set_xmm(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    uint64_t bits;
    memcpy(&bits, &args[0].as.f64, sizeof bits);
    __asm__ volatile("movq %0, %%xmm15" : : "r"(bits) : "xmm15");
    return 0;
}

static int get_xmm(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint64_t bits;
    __asm__ volatile("movq %%xmm15, %0" : "=r"(bits));
    UNUSED_ARGS;
    double d;
    memcpy(&d, &bits, sizeof d);
    *ret = hl_f64(d);
    return 0;
}

static volatile double float_global = 0.25;

static int set_float_global(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs, (void)ret;
    float_global = args[0].as.f64;
    return 0;
}

static int get_float_global(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_f64(float_global);
    return 0;
}

/* Zeroes every XMM register: their "in init state" case, which XSAVE-based hypervisors track
 * separately from the register contents. */
static int zero_xmm(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS, (void)ret;
    __asm__ volatile("pxor %%xmm0, %%xmm0\n\tpxor %%xmm1, %%xmm1\n\tpxor %%xmm2, %%xmm2\n\t"
                     "pxor %%xmm3, %%xmm3\n\tpxor %%xmm4, %%xmm4\n\tpxor %%xmm5, %%xmm5\n\t"
                     "pxor %%xmm6, %%xmm6\n\tpxor %%xmm7, %%xmm7\n\tpxor %%xmm8, %%xmm8\n\t"
                     "pxor %%xmm9, %%xmm9\n\tpxor %%xmm10, %%xmm10\n\tpxor %%xmm11, %%xmm11\n\t"
                     "pxor %%xmm12, %%xmm12\n\tpxor %%xmm13, %%xmm13\n\t"
                     "pxor %%xmm14, %%xmm14\n\tpxor %%xmm15, %%xmm15"
                     :
                     :
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8",
                       "xmm9", "xmm10", "xmm11", "xmm12", "xmm13", "xmm14", "xmm15");
    return 0;
}

/* MXCSR: SetMxcsr loads the argument and returns the old value; GetMxcsr reads it. */
static int set_mxcsr(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint32_t old, now = args[0].as.u32;
    __asm__ volatile("stmxcsr %0" : "=m"(old));
    __asm__ volatile("ldmxcsr %0" : : "m"(now));
    *ret = hl_u32(old);
    return 0;
}

static int get_mxcsr(const hl_value *args, size_t nargs, hl_value *ret)
{
    uint32_t v;
    __asm__ volatile("stmxcsr %0" : "=m"(v));
    UNUSED_ARGS;
    *ret = hl_u32(v);
    return 0;
}

/* TouchPages(n): changes one byte in each of the first n pages of a page-aligned static buffer
 * (every call writes a new value, so each page really differs from the last snapshot). */
#define TOUCH_PAGES 256
static uint8_t touch_buf[TOUCH_PAGES][4096] __attribute__((aligned(4096)));
static uint8_t touch_gen;

static int touch_pages(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32;
    if (n < 0 || n > TOUCH_PAGES)
        return hlg_fail("TouchPages: %d is not in [0, %d]", n, TOUCH_PAGES);
    touch_gen++;
    for (int32_t i = 0; i < n; i++)
        ((volatile uint8_t *)touch_buf[i])[i % 4096] = touch_gen;
    *ret = hl_i32(n);
    return 0;
}

/* The sum of the bytes TouchPages writes (one per page). */
static int touch_sum(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    uint64_t sum = 0;
    for (int32_t i = 0; i < TOUCH_PAGES; i++)
        sum += ((volatile uint8_t *)touch_buf[i])[i % 4096];
    *ret = hl_u64(sum);
    return 0;
}

/* HeapKeep(size, byte): mallocs size bytes, fills them with byte and keeps the pointer in a
 * static (never freed); returns its address. HeapKept: that address (0 if none). HeapUsed: bytes
 * the allocator has handed out. BigStaticSum: the sum of the 1 MiB .bss array SetStatic fills. */
static volatile uint8_t *kept;

static int heap_keep(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t size = args[0].as.i32;
    if (size <= 0)
        return hlg_fail("HeapKeep: size must be positive, got %d", size);
    volatile uint8_t *p = malloc((size_t)size);
    if (!p)
        return hlg_fail("malloc(%d) failed", size);
    for (int32_t i = 0; i < size; i++)
        p[i] = (uint8_t)args[1].as.i32;
    kept = p;
    *ret = hl_u64((uint64_t)(uintptr_t)p);
    return 0;
}

static int heap_kept(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_u64((uint64_t)(uintptr_t)kept);
    return 0;
}

static int heap_used(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_u64(heap_in_use());
    return 0;
}

static int big_static_sum(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    uint64_t sum = 0;
    const volatile uint8_t *p = big_static;
    for (size_t i = 0; i < sizeof big_static; i++)
        sum += p[i];
    *ret = hl_u64(sum);
    return 0;
}

/* ---- the guest libc, checked inside the VM ---- */
static char check_msg[256];

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            snprintf(check_msg, sizeof check_msg, "check failed at line %d: %s", __LINE__, #cond); \
            return check_msg;                                                                      \
        }                                                                                          \
    } while (0)

#define EXPECT_FMT(expect, ...)                                                                    \
    do {                                                                                           \
        char b_[128];                                                                              \
        int n_ = snprintf(b_, sizeof b_, __VA_ARGS__);                                             \
        if (strcmp(b_, expect) != 0 || n_ != (int)strlen(expect)) {                                \
            snprintf(check_msg, sizeof check_msg,                                                  \
                     "check failed at line %d: snprintf(%s) "                                      \
                     "gave \"%s\" (%d), not \"%s\"",                                               \
                     __LINE__, #__VA_ARGS__, b_, n_, expect);                                      \
            return check_msg;                                                                      \
        }                                                                                          \
    } while (0)

static const char *check_printf(void)
{
    char b[8];
    EXPECT_FMT("-42", "%d", -42);
    EXPECT_FMT("[hi]|[   hi]|[hi   ]", "[%s]|[%5s]|[%-5s]", "hi", "hi", "hi");
    EXPECT_FMT("ff 0xff 000000FF", "%x %#x %08X", 255u, 255u, 255u);
    EXPECT_FMT("3.142", "%.3f", 3.14159);
    EXPECT_FMT("-0.500", "%.3f", -0.5);
    EXPECT_FMT("0.0001 1e+20 100000 1e+06 0.5", "%g %g %g %g %g", 0.0001, 1e20, 100000.0, 1e6, 0.5);
    EXPECT_FMT("-9223372036854775808 18446744073709551615", "%lld %llu", (long long)INT64_MIN,
               (unsigned long long)UINT64_MAX);
    EXPECT_FMT("a%c 7", "a%%c %zu", (size_t)7);
    EXPECT_FMT("inf -inf nan", "%f %f %f", (double)INFINITY, -(double)INFINITY, (double)NAN);
    EXPECT(snprintf(b, 4, "hello") == 5 && strcmp(b, "hel") == 0);
    EXPECT(snprintf(NULL, 0, "%d-%s", 12345, "abc") == 9);
    return NULL;
}

static const char *check_strings(void)
{
    char b[32], *end;
    EXPECT(strlen("") == 0 && strlen("hello") == 5);
    EXPECT(strcmp("abc", "abc") == 0 && strcmp("abc", "abd") < 0 && strcmp("b", "a") > 0);
    EXPECT(strcmp("a\xff", "a\x01") > 0); /* compared as unsigned char */
    EXPECT(strncmp("abcdef", "abcxyz", 3) == 0 && strncmp("abcdef", "abcxyz", 4) < 0);
    EXPECT(memcpy(b, "0123456789", 11) == b && strcmp(b, "0123456789") == 0);
    memmove(b + 2, b, 5);
    EXPECT(memcmp(b, "0101234789", 10) == 0);
    memset(b, 'z', 3);
    EXPECT(memcmp(b, "zzz1234789", 10) == 0);
    EXPECT(strchr("hello", 'l') && strcmp(strchr("hello", 'l'), "llo") == 0);
    EXPECT(strrchr("hello", 'l') && strcmp(strrchr("hello", 'l'), "lo") == 0);
    EXPECT(strchr("hello", '\0') && *strchr("hello", '\0') == '\0');
    const char *hay = "the quick brown fox";
    EXPECT(strstr(hay, "brown") == hay + 10 && strstr(hay, "") == hay && !strstr(hay, "cat"));
    EXPECT(strtol("0x1f", &end, 0) == 31 && *end == '\0');
    EXPECT(strtol("  -123abc", &end, 10) == -123 && strcmp(end, "abc") == 0);
    EXPECT(strtol("0755", NULL, 0) == 493);
    errno = 0;
    EXPECT(strtol("99999999999999999999", NULL, 10) == LONG_MAX && errno == ERANGE);
    EXPECT(strtoull("18446744073709551615", NULL, 10) == ULLONG_MAX);
    EXPECT(strtol("xyz", &end, 10) == 0 && strcmp(end, "xyz") == 0);
    EXPECT(atoi("  42") == 42);
    char tok[] = "a,b,,c", *save = NULL;
    EXPECT(strcmp(strtok_r(tok, ",", &save), "a") == 0);
    EXPECT(strcmp(strtok_r(NULL, ",", &save), "b") == 0);
    EXPECT(strcmp(strtok_r(NULL, ",", &save), "c") == 0 && !strtok_r(NULL, ",", &save));
    return NULL;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static const char *check_heap(void)
{
    size_t used = heap_in_use();
    char *p = malloc(100);
    EXPECT(p && ((uintptr_t)p & 15) == 0);
    memcpy(p, "persist", 8);
    p = realloc(p, 10000);
    EXPECT(p && strcmp(p, "persist") == 0);
    uint8_t *z = calloc(1000, 4);
    int zero = 1;
    for (size_t i = 0; z && i < 4000; i++)
        zero &= z[i] == 0;
    EXPECT(z && zero);
    volatile size_t huge = SIZE_MAX; /* volatile: the compiler must not judge these sizes itself */
    EXPECT(calloc(huge / 2, 4) == NULL);
    errno = 0;
    EXPECT(malloc(huge) == NULL && errno == ENOMEM);
    char *d = strdup("dup"), *nd = strndup("abcdef", 3);
    EXPECT(d && strcmp(d, "dup") == 0 && nd && strcmp(nd, "abc") == 0);
    free(d);
    free(nd);
    free(z);
    free(p);
    free(NULL);
    void *blocks[64];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 64; i++)
            blocks[i] = malloc((size_t)(i * 37 + round));
        for (int i = 0; i < 64; i += 2)
            free(blocks[i]);
        for (int i = 1; i < 64; i += 2)
            free(blocks[i]);
    }
    EXPECT(heap_in_use() == used);
    return NULL;
}

static const char *check_misc(void)
{
    int v[] = {5, -3, 9, 0, 9, -100, 42, 1};
    qsort(v, 8, sizeof v[0], cmp_int);
    static const int sorted[] = {-100, -3, 0, 1, 5, 9, 9, 42};
    EXPECT(memcmp(v, sorted, sizeof v) == 0);
    int key = 42;
    EXPECT(bsearch(&key, v, 8, sizeof v[0], cmp_int) == &v[7]);
    key = 2;
    EXPECT(bsearch(&key, v, 8, sizeof v[0], cmp_int) == NULL);
    EXPECT(fabs(-2.5) == 2.5 && floor(-1.5) == -2.0 && ceil(-1.5) == -1.0);
    EXPECT(floor(2.0) == 2.0 && ceil(2.000001) == 3.0 && trunc(-2.7) == -2.0);
    EXPECT(round(2.5) == 3.0 && round(-2.5) == -3.0 && fmod(7.0, 3.0) == 1.0);
    EXPECT(sqrt(16.0) == 4.0 && sqrt(2.0) * sqrt(2.0) > 1.9999999 && isnan(sqrt(-1.0)));
    EXPECT(sqrtf(9.0f) == 3.0f && fabsf(-1.5f) == 1.5f);
    EXPECT(isalpha('a') && isalpha('Z') && !isalpha('1') && !isalpha(0xe9));
    EXPECT(toupper('a') == 'A' && toupper('1') == '1' && tolower('Q') == 'q');
    EXPECT(isdigit('7') && isspace('\t') && !isspace('x') && isxdigit('F') && ispunct('!'));
    for (int i = 0; i < 100; i++) {
        int r = rand();
        EXPECT(r >= 0 && r <= RAND_MAX);
    }
    EXPECT(abs(-5) == 5 && llabs(-5ll) == 5);
    return NULL;
}

static int libc_self_test(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    const char *(*const checks[])(void) = {check_printf, check_strings, check_heap, check_misc};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        const char *why = checks[i]();
        if (why)
            return ret_fmt(ret, "%s", why);
    }
    *ret = hl_str("ok");
    return 0;
}

/* ---- registration ---- */
#define S HL_TYPE_STRING
#define I32 HL_TYPE_I32
#define U32 HL_TYPE_U32
#define I64 HL_TYPE_I64
#define U64 HL_TYPE_U64
#define F32 HL_TYPE_F32
#define F64 HL_TYPE_F64
#define BOOL HL_TYPE_BOOL
#define BYTES HL_TYPE_BYTES
#define VOID HL_TYPE_VOID

static void register_print_args(void)
{
    static const hl_type eleven[] = {S, I32, I64, S, S, BOOL, BOOL, U32, U64, F32, F64};
    static const char *const names[] = {
        "PrintTwoArgs",   "PrintThreeArgs", "PrintFourArgs", "PrintFiveArgs", "PrintSixArgs",
        "PrintSevenArgs", "PrintEightArgs", "PrintNineArgs", "PrintTenArgs",  "PrintElevenArgs"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        reg(names[i], S, eleven, i + 2, print_args);
}

/* If the host registered InitMode (() -> i32), init asks it what to do: 0 nothing more, 1 abort,
 * 2 spin, 3 log, 4 fault, 5 call HostEcho, 6 also register Extra (so that its function table
 * differs from other sandboxes' of this guest). Without it (the default: host functions are deny
 * by default), init only registers. */
static void init_mode(void)
{
    hl_value mode, echo;
    volatile int forever = 1;
    volatile uintptr_t null = 0;
    if (hlg_call_host("InitMode", NULL, 0, &mode) != 0 || mode.type != HL_TYPE_I32)
        return;
    switch (mode.as.i32) {
    case 1:
        hlg_abort(9, "init refused");
        break;
    case 2:
        while (forever)
            ;
        break;
    case 3:
        HLG_WARN("init says %s", "hi");
        break;
    case 4:
        counter = *(volatile int32_t *)null;
        break;
    case 5:
        hlg_assert(hlg_call_host("HostEcho", HL_ARGS(hl_str("from init")), &echo) == 0);
        hlg_assert(echo.type == HL_TYPE_STRING && strcmp(echo.as.str.ptr, "from init") == 0);
        counter = 100;
        break;
    case 6:
        hlg_register("Extra", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32), add_to_static);
        break;
    default:
        break;
    }
}

void hlg_main(void)
{
    static const hl_type sixteen[16] = {I32, I32, I32, I32, I32, I32, I32, I32,
                                        I32, I32, I32, I32, I32, I32, I32, I32};
    static const hl_type all[] = {BOOL, I32, U32, I64, U64, F32, F64, S, BYTES};
    reg("Echo", S, HL_PARAMS(S), echo);
    reg("EchoBytes", BYTES, HL_PARAMS(BYTES), echo);
    reg("EchoFloat", F32, HL_PARAMS(F32), echo);
    reg("EchoDouble", F64, HL_PARAMS(F64), echo);
    reg("EchoI32", I32, HL_PARAMS(I32), echo);
    reg("EchoU32", U32, HL_PARAMS(U32), echo);
    reg("EchoI64", I64, HL_PARAMS(I64), echo);
    reg("EchoU64", U64, HL_PARAMS(U64), echo);
    reg("EchoBool", BOOL, HL_PARAMS(BOOL), echo);
    reg("PrintOutput", I32, HL_PARAMS(S), print_output);
    reg("WriteStream", I32, HL_PARAMS(I32, S), write_stream);
    reg("SetByteArrayToZero", BYTES, HL_PARAMS(BYTES), set_byte_array_to_zero);
    register_print_args();
    reg("Sum16", I64, sixteen, 16, sum16);
    reg("SetStatic", I32, NULL, 0, set_static);
    reg("AddToStatic", I32, HL_PARAMS(I32), add_to_static);
    reg("GetStatic", I32, NULL, 0, get_static);
    reg("Fail", I32, HL_PARAMS(S), fail);
    reg("ReturnWrongType", S, NULL, 0, return_wrong_type);
    reg("GuestAbortWithCode", VOID, HL_PARAMS(I32), abort_with_code);
    reg("GuestAbortWithMessage", VOID, HL_PARAMS(I32, S), abort_with_message);
    reg("GuestAssert", I32, HL_PARAMS(I32), guest_assert);
    reg("CallAbort", I32, NULL, 0, call_abort);
    reg("LogMessage", VOID, HL_PARAMS(S, I32), log_message);
    reg("CallMalloc", I32, HL_PARAMS(I32), call_malloc);
    reg("MallocAndFree", I32, HL_PARAMS(I32), malloc_and_free);
    reg("StackAllocate", I32, HL_PARAMS(I32), stack_allocate);
    reg("SmallVar", I32, NULL, 0, small_var);
    reg("LargeVar", I32, NULL, 0, large_var);
    reg("StackOverflow", I32, HL_PARAMS(I32), stack_overflow);
    reg("ExecuteOnStack", I32, NULL, 0, execute_on_stack);
    reg("ExecuteOnHeap", I32, NULL, 0, execute_on_heap);
    reg("WriteToText", I32, NULL, 0, write_to_text);
    reg("WriteToRodata", I32, NULL, 0, write_to_rodata);
    reg("ReadNull", I32, NULL, 0, read_null);
    reg("ReadAddress", U64, HL_PARAMS(U64), read_address);
    reg("WriteAddress", VOID, HL_PARAMS(U64, U64), write_address);
    reg("PebRegion", U64, HL_PARAMS(I32), peb_region);
    reg("SmashCookie", I32, NULL, 0, smash_cookie);
    reg("Spin", VOID, NULL, 0, spin);
    reg("Instruction", I32, HL_PARAMS(I32), instruction);
    reg("ProtocolAbuse", S, HL_PARAMS(I32), protocol_abuse);
    reg("CallHostEcho", S, HL_PARAMS(S), call_host_echo);
    reg("CallHostAdd", I32, HL_PARAMS(I32, I32), call_host_add);
    reg("CallHostAllTypes", S, all, sizeof all / sizeof all[0], call_host_all_types);
    reg("CallHostEchoBytes", BYTES, HL_PARAMS(BYTES), call_host_echo_bytes);
    reg("CallHostEchoDouble", F64, HL_PARAMS(F64), call_host_echo_double);
    reg("CallHostUnknown", S, NULL, 0, call_host_unknown);
    reg("CallHostWrongTypes", S, NULL, 0, call_host_wrong_types);
    reg("CallHostFailing", S, NULL, 0, call_host_failing);
    reg("CallHostNamed", S, HL_PARAMS(S), call_host_named);
    reg("CallHostMany", I32, HL_PARAMS(I32), call_host_many);
    reg("LibcSelfTest", S, NULL, 0, libc_self_test);
    reg("SetXmm", VOID, HL_PARAMS(F64), set_xmm);
    reg("GetXmm", F64, NULL, 0, get_xmm);
    reg("SetFloatGlobal", VOID, HL_PARAMS(F64), set_float_global);
    reg("GetFloatGlobal", F64, NULL, 0, get_float_global);
    reg("ZeroXmm", VOID, NULL, 0, zero_xmm);
    reg("SetMxcsr", U32, HL_PARAMS(U32), set_mxcsr);
    reg("GetMxcsr", U32, NULL, 0, get_mxcsr);
    reg("TouchPages", I32, HL_PARAMS(I32), touch_pages);
    reg("TouchSum", U64, NULL, 0, touch_sum);
    reg("HeapKeep", U64, HL_PARAMS(I32, I32), heap_keep);
    reg("HeapKept", U64, NULL, 0, heap_kept);
    reg("HeapUsed", U64, NULL, 0, heap_used);
    reg("BigStaticSum", U64, NULL, 0, big_static_sum);
    init_mode();
}

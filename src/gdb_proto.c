/* gdb_proto.c: the GDB Remote Serial Protocol's bytes: hex, framing, commands, registers. */
#include "gdb_proto.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cpu.h"
#include "x86.h"

/* ---- hex ---- */

static const char hex_chars[] = "0123456789abcdef";

/* The value of hex digit c (either case), or -1. */
static int hex_digit(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int all_hex(const uint8_t *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (hex_digit(s[i]) < 0)
            return 0;
    return 1;
}

size_t hl__gdb_hex_encode(char *out, size_t cap, const void *bytes, size_t n)
{
    const uint8_t *b = bytes;
    if (n > cap / 2)
        return 0;
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex_chars[b[i] >> 4];
        out[2 * i + 1] = hex_chars[b[i] & 15];
    }
    return 2 * n;
}

int hl__gdb_hex_decode(uint8_t *out, size_t cap, const uint8_t *hex, size_t len)
{
    if (len % 2 || len / 2 > cap || !all_hex(hex, len))
        return -1;
    for (size_t i = 0; i < len / 2; i++)
        out[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
    return 0;
}

int hl__gdb_parse_hex_u64(const uint8_t *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int d = hex_digit(s[i]);
        if (d < 0 || v >> 60) /* not a digit, or one more would pass 64 bits */
            return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

/* ---- framing ---- */

enum { RX_BETWEEN, RX_PAYLOAD, RX_CHECK_HI, RX_CHECK_LO };

void hl__gdb_rx_init(hl__gdb_rx *rx)
{
    rx->len = rx->raw = 0;
    rx->state = RX_BETWEEN;
    rx->escape = rx->overlong = rx->sum = rx->check_hi = 0;
}

static void rx_start(hl__gdb_rx *rx)
{
    hl__gdb_rx_init(rx);
    rx->state = RX_PAYLOAD;
}

/* One payload byte as sent: counted in the checksum; stored un-escaped while it fits. */
static void rx_payload(hl__gdb_rx *rx, uint8_t byte)
{
    rx->sum = (uint8_t)(rx->sum + byte);
    if (++rx->raw > HL_GDB_PACKET_MAX)
        rx->overlong = 1;
    if (rx->overlong)
        return;
    if (rx->escape) {
        rx->buf[rx->len++] = byte ^ 0x20;
        rx->escape = 0;
    } else if (byte == '}') {
        rx->escape = 1;
    } else {
        rx->buf[rx->len++] = byte;
    }
}

/* The second checksum digit: the packet's verdict. */
static hl__gdb_event rx_end(hl__gdb_rx *rx, uint8_t byte)
{
    int hi = hex_digit(rx->check_hi), lo = hex_digit(byte);
    rx->state = RX_BETWEEN;
    if (rx->overlong) {
        rx->len = 0;
        return HL_GDB_EV_OVERLONG;
    }
    if (hi < 0 || lo < 0 || rx->escape || (hi << 4 | lo) != rx->sum) {
        rx->len = 0;
        return HL_GDB_EV_BAD_CHECKSUM;
    }
    return HL_GDB_EV_PACKET;
}

static hl__gdb_event rx_between(uint8_t byte)
{
    switch (byte) {
    case '+':
        return HL_GDB_EV_ACK;
    case '-':
        return HL_GDB_EV_NACK;
    case 0x03:
        return HL_GDB_EV_INTERRUPT;
    default:
        return HL_GDB_EV_NONE;
    }
}

hl__gdb_event hl__gdb_rx_feed(hl__gdb_rx *rx, uint8_t byte)
{
    if (byte == '$') {
        rx_start(rx);
        return HL_GDB_EV_NONE;
    }
    switch (rx->state) {
    case RX_PAYLOAD:
        if (byte == '#')
            rx->state = RX_CHECK_HI;
        else
            rx_payload(rx, byte);
        return HL_GDB_EV_NONE;
    case RX_CHECK_HI:
        rx->check_hi = byte;
        rx->state = RX_CHECK_LO;
        return HL_GDB_EV_NONE;
    case RX_CHECK_LO:
        return rx_end(rx, byte);
    default:
        return rx_between(byte);
    }
}

static int needs_escape(uint8_t b)
{
    return b == '$' || b == '#' || b == '}' || b == '*';
}

size_t hl__gdb_frame(char *out, size_t cap, const void *payload, size_t len)
{
    const uint8_t *p = payload;
    uint8_t sum = 0;
    size_t o = 0;
    if (cap < 4)
        return 0;
    out[o++] = '$';
    for (size_t i = 0; i < len; i++) {
        uint8_t b = p[i];
        int esc = needs_escape(b);
        if (cap - o < (size_t)esc + 4) /* this byte, its escape, '#', two digits */
            return 0;
        if (esc) {
            out[o++] = '}';
            sum = (uint8_t)(sum + '}');
            b ^= 0x20;
        }
        out[o++] = (char)b;
        sum = (uint8_t)(sum + b);
    }
    out[o++] = '#';
    out[o++] = hex_chars[sum >> 4];
    out[o++] = hex_chars[sum & 15];
    return o;
}

/* ---- commands ---- */

/* A position in the packet being parsed; every read checks i < n. */
typedef struct cursor {
    const uint8_t *p;
    size_t n, i;
} cursor;

static int more(const cursor *c)
{
    return c->i < c->n;
}

static int eat(cursor *c, uint8_t ch)
{
    if (!more(c) || c->p[c->i] != ch)
        return 0;
    c->i++;
    return 1;
}

/* The run of hex digits at the cursor as a u64. Returns 0, or -1 when it is empty or too big. */
static int num(cursor *c, uint64_t *v)
{
    size_t start = c->i;
    while (more(c) && hex_digit(c->p[c->i]) >= 0)
        c->i++;
    return hl__gdb_parse_hex_u64(c->p + start, c->i - start, v);
}

/* The rest of the packet as out's data. */
static void rest(cursor *c, hl__gdb_cmd *out)
{
    out->data = c->p + c->i;
    out->data_len = c->n - c->i;
    c->i = c->n;
}

static hl__gdb_kind done(hl__gdb_cmd *out, hl__gdb_kind kind)
{
    out->kind = kind;
    return kind;
}

static hl__gdb_kind bad(hl__gdb_cmd *out, const char *why)
{
    *out = (hl__gdb_cmd){.kind = HL_GDB_CMD_MALFORMED, .why = why};
    return HL_GDB_CMD_MALFORMED;
}

static hl__gdb_kind unknown(hl__gdb_cmd *out)
{
    *out = (hl__gdb_cmd){.kind = HL_GDB_CMD_UNKNOWN};
    return HL_GDB_CMD_UNKNOWN;
}

/* kind, if nothing trails. */
static hl__gdb_kind finish(const cursor *c, hl__gdb_cmd *out, hl__gdb_kind kind)
{
    return more(c) ? bad(out, "unexpected bytes after the command") : done(out, kind);
}

/* One id of a thread-id: -1, or hex 0 .. INT64_MAX. */
static int thread_part(cursor *c, int64_t *id)
{
    uint64_t v;
    if (eat(c, '-')) {
        if (!eat(c, '1') || (more(c) && hex_digit(c->p[c->i]) >= 0))
            return -1;
        *id = HL_GDB_ID_ALL;
        return 0;
    }
    if (num(c, &v) || v > INT64_MAX)
        return -1;
    *id = (int64_t)v;
    return 0;
}

/* [p<pid>[.<tid>]] | <tid>. Returns 0 or -1. */
static int thread_id(cursor *c, hl__gdb_thread *t)
{
    *t = (hl__gdb_thread){0};
    if (eat(c, 'p')) {
        t->has_pid = 1;
        if (thread_part(c, &t->pid))
            return -1;
        if (!eat(c, '.')) {
            t->tid = HL_GDB_ID_ALL;
            return 0;
        }
    }
    return thread_part(c, &t->tid);
}

static int id_matches(int64_t id, int64_t ours)
{
    return id == HL_GDB_ID_ALL || id == HL_GDB_ID_ANY || id == ours;
}

int hl__gdb_thread_is_ours(const hl__gdb_thread *t)
{
    return (!t->has_pid || id_matches(t->pid, HL_GDB_PID)) && id_matches(t->tid, HL_GDB_TID);
}

/* A signal number: hex 0 .. 255. */
static int signal_num(cursor *c, int *sig)
{
    uint64_t v;
    if (num(c, &v) || v > 255)
        return -1;
    *sig = (int)v;
    return 0;
}

/* The hex digits that make up the rest of a G or P packet. */
static hl__gdb_kind hex_rest(cursor *c, hl__gdb_cmd *out, hl__gdb_kind kind)
{
    rest(c, out);
    if (out->data_len == 0 || out->data_len % 2 || !all_hex(out->data, out->data_len))
        return bad(out, "register data is not an even number of hex digits");
    return done(out, kind);
}

static hl__gdb_kind parse_reg(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    if (num(c, &out->regnum))
        return bad(out, "the register number is not a hex u64");
    if (op == 'p')
        return finish(c, out, HL_GDB_CMD_READ_REG);
    if (!eat(c, '='))
        return bad(out, "P lacks '=' after the register number");
    return hex_rest(c, out, HL_GDB_CMD_WRITE_REG);
}

/* The data of M (2 * len hex digits) or X (len bytes). */
static hl__gdb_kind mem_data(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    if (!eat(c, ':'))
        return bad(out, "expected ':' before the data");
    rest(c, out);
    if (op == 'X')
        return out->data_len == out->len ? done(out, HL_GDB_CMD_WRITE_MEM_BIN)
                                         : bad(out, "X data differs from its length");
    if (out->data_len % 2 || out->data_len / 2 != out->len || !all_hex(out->data, out->data_len))
        return bad(out, "M data is not 2 * length hex digits");
    return done(out, HL_GDB_CMD_WRITE_MEM);
}

static hl__gdb_kind parse_mem(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    if (num(c, &out->addr) || !eat(c, ',') || num(c, &out->len))
        return bad(out, "expected addr,length as hex u64s");
    if (op == 'm' && out->len > HL_GDB_MEM_MAX)
        out->len = HL_GDB_MEM_MAX;
    if (out->len && out->len - 1 > UINT64_MAX - out->addr)
        return bad(out, "the memory range wraps past 2^64");
    if (op == 'm')
        return finish(c, out, HL_GDB_CMD_READ_MEM);
    return mem_data(c, out, op);
}

/* c [addr], s [addr], C sig[;addr], S sig[;addr]. */
static hl__gdb_kind parse_resume(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    hl__gdb_kind kind = (op == 'c' || op == 'C') ? HL_GDB_CMD_CONTINUE : HL_GDB_CMD_STEP;
    if (op == 'C' || op == 'S') {
        if (signal_num(c, &out->signal))
            return bad(out, "the signal is not hex 0 .. ff");
        if (!more(c))
            return done(out, kind);
        if (!eat(c, ';'))
            return bad(out, "expected ';' before the address");
    } else if (!more(c)) {
        return done(out, kind);
    }
    if (num(c, &out->addr))
        return bad(out, "the address is not a hex u64");
    out->has_addr = 1;
    return finish(c, out, kind);
}

static hl__gdb_kind parse_bp(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    uint64_t type;
    if (num(c, &type))
        return bad(out, "the breakpoint type is not a hex u64");
    if (type > HL_GDB_WP_ACCESS)
        return unknown(out);
    if (!eat(c, ',') || num(c, &out->addr) || !eat(c, ',') || num(c, &out->len))
        return bad(out, "expected type,addr,kind as hex u64s");
    if (more(c))
        return bad(out, "breakpoint conditions and commands are not supported");
    out->bp_type = (int)type;
    return done(out, op == 'Z' ? HL_GDB_CMD_INSERT_BP : HL_GDB_CMD_REMOVE_BP);
}

/* [;pid] after D, vKill or qAttached (sep ':'). */
static hl__gdb_kind parse_pid(cursor *c, hl__gdb_cmd *out, uint8_t sep, hl__gdb_kind kind)
{
    if (!more(c))
        return done(out, kind);
    if (!eat(c, sep) || thread_part(c, &out->thread.pid) || out->thread.pid == HL_GDB_ID_ALL)
        return bad(out, "expected a hex process id");
    out->thread.has_pid = 1;
    out->thread.tid = HL_GDB_ID_ALL;
    return finish(c, out, kind);
}

static hl__gdb_kind parse_thread_cmd(cursor *c, hl__gdb_cmd *out, uint8_t op)
{
    if (op == 'H') {
        if (!more(c) || (c->p[c->i] != 'g' && c->p[c->i] != 'c'))
            return bad(out, "H wants 'g' or 'c'");
        out->thread_op = (char)c->p[c->i++];
    }
    if (thread_id(c, &out->thread))
        return bad(out, "the thread-id is not [p<pid>.]<tid> in hex or -1");
    return finish(c, out, op == 'H' ? HL_GDB_CMD_SET_THREAD : HL_GDB_CMD_THREAD_ALIVE);
}

/* One vCont action at the cursor (c, C sig, s, S sig, t, r start,end, then [:thread-id]) into
 * a, with kind UNKNOWN for t. Sets *ours when it applies to our thread. Returns 0, or -1 with
 * *why. */
static int vcont_action(cursor *c, hl__gdb_cmd *a, int *ours, const char **why)
{
    hl__gdb_thread t = {.tid = HL_GDB_ID_ALL};
    uint8_t op = more(c) ? c->p[c->i++] : 0;
    int ok = 1;
    *a = (hl__gdb_cmd){.kind = (op == 'c' || op == 'C') ? HL_GDB_CMD_CONTINUE : HL_GDB_CMD_STEP};
    switch (op) {
    case 'c':
    case 's':
        break;
    case 'C':
    case 'S':
        ok = !signal_num(c, &a->signal);
        break;
    case 'r':
        a->has_range = 1;
        ok = !num(c, &a->addr) && eat(c, ',') && !num(c, &a->end);
        break;
    case 't':
        a->kind = HL_GDB_CMD_UNKNOWN;
        break;
    default:
        ok = 0;
    }
    *why = "a vCont action is not c, C sig, s, S sig, t or r start,end";
    if (!ok)
        return -1;
    *why = "a vCont action's thread-id is malformed";
    if ((eat(c, ':') && thread_id(c, &t)) || (more(c) && c->p[c->i] != ';'))
        return -1;
    *ours = hl__gdb_thread_is_ours(&t);
    return 0;
}

/* vCont;action[:thread-id]...: every action must parse; the leftmost that applies to us wins. */
static hl__gdb_kind parse_vcont(cursor *c, hl__gdb_cmd *out)
{
    hl__gdb_cmd a;
    const char *why;
    int found = 0, ours;
    if (!more(c))
        return bad(out, "vCont lacks an action");
    while (more(c)) {
        if (!eat(c, ';'))
            return bad(out, "expected ';' before a vCont action");
        if (vcont_action(c, &a, &ours, &why))
            return bad(out, why);
        if (ours && !found) {
            *out = a;
            found = 1;
        }
    }
    if (!found)
        return bad(out, "no vCont action applies to thread 1");
    if (out->kind == HL_GDB_CMD_UNKNOWN)
        return bad(out, "vCont;t (stop) is for non-stop mode, which is not supported");
    return out->kind;
}

/* 1 if the packet starts with name followed by its end, ':', ';' or ','; the cursor then points
 * just after the name. */
static int named(cursor *c, const char *name)
{
    size_t k = strlen(name);
    if (c->n < k || memcmp(c->p, name, k) != 0)
        return 0;
    if (c->n > k && c->p[k] != ':' && c->p[k] != ';' && c->p[k] != ',')
        return 0;
    c->i = k;
    return 1;
}

/* qXfer:features:read:annex:offset,length; other objects and operations are unknown. */
static hl__gdb_kind parse_xfer(cursor *c, hl__gdb_cmd *out)
{
    static const char head[] = ":features:read:";
    size_t k = sizeof head - 1;
    if (c->n - c->i < k || memcmp(c->p + c->i, head, k) != 0)
        return unknown(out);
    c->i += k;
    out->data = c->p + c->i;
    while (more(c) && c->p[c->i] != ':')
        c->i++;
    out->data_len = (size_t)(c->p + c->i - out->data);
    if (!eat(c, ':') || num(c, &out->addr) || !eat(c, ',') || num(c, &out->len))
        return bad(out, "expected qXfer:features:read:annex:offset,length");
    if (out->len > HL_GDB_PACKET_MAX - 1)
        out->len = HL_GDB_PACKET_MAX - 1;
    return finish(c, out, HL_GDB_CMD_XFER_FEATURES);
}

/* Queries and v packets whose whole packet is their name. */
static const struct {
    const char *name;
    hl__gdb_kind kind;
} plain[] = {
    {"qC", HL_GDB_CMD_CURRENT_THREAD},
    {"qfThreadInfo", HL_GDB_CMD_THREAD_FIRST},
    {"qsThreadInfo", HL_GDB_CMD_THREAD_NEXT},
    {"qOffsets", HL_GDB_CMD_OFFSETS},
    {"QStartNoAckMode", HL_GDB_CMD_START_NO_ACK},
    {"vMustReplyEmpty", HL_GDB_CMD_MUST_REPLY_EMPTY},
    {"vCont?", HL_GDB_CMD_VCONT_QUERY},
};

/* The q, Q and v packets, told apart by their name. */
static hl__gdb_kind parse_named(cursor *c, hl__gdb_cmd *out)
{
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
        if (named(c, plain[i].name))
            return finish(c, out, plain[i].kind);
    if (named(c, "qSupported")) {
        if (more(c) && !eat(c, ':'))
            return bad(out, "expected ':' before qSupported's features");
        rest(c, out);
        return done(out, HL_GDB_CMD_SUPPORTED);
    }
    if (named(c, "qSymbol")) {
        if (!eat(c, ':'))
            return bad(out, "expected ':' after qSymbol");
        rest(c, out);
        return done(out, HL_GDB_CMD_SYMBOL);
    }
    if (named(c, "qXfer"))
        return parse_xfer(c, out);
    if (named(c, "qAttached"))
        return parse_pid(c, out, ':', HL_GDB_CMD_ATTACHED);
    if (named(c, "vKill"))
        return parse_pid(c, out, ';', HL_GDB_CMD_VKILL);
    if (named(c, "vCont"))
        return parse_vcont(c, out);
    return unknown(out);
}

hl__gdb_kind hl__gdb_parse(const uint8_t *p, size_t n, hl__gdb_cmd *out)
{
    cursor c = {p, n, 1};
    *out = (hl__gdb_cmd){.kind = HL_GDB_CMD_UNKNOWN};
    if (n == 0)
        return HL_GDB_CMD_UNKNOWN;
    switch (p[0]) {
    case '?':
        return finish(&c, out, HL_GDB_CMD_STOP_REASON);
    case 'g':
        return finish(&c, out, HL_GDB_CMD_READ_REGS);
    case 'k':
        return finish(&c, out, HL_GDB_CMD_KILL);
    case 'G':
        return hex_rest(&c, out, HL_GDB_CMD_WRITE_REGS);
    case 'p':
    case 'P':
        return parse_reg(&c, out, p[0]);
    case 'm':
    case 'M':
    case 'X':
        return parse_mem(&c, out, p[0]);
    case 'c':
    case 's':
    case 'C':
    case 'S':
        return parse_resume(&c, out, p[0]);
    case 'Z':
    case 'z':
        return parse_bp(&c, out, p[0]);
    case 'D':
        return parse_pid(&c, out, ';', HL_GDB_CMD_DETACH);
    case 'H':
    case 'T':
        return parse_thread_cmd(&c, out, p[0]);
    case 'q':
    case 'Q':
    case 'v':
        return parse_named(&c, out);
    default:
        return HL_GDB_CMD_UNKNOWN;
    }
}

/* ---- registers ---- */

/* FXSAVE64 fields (SDM vol. 1, 10.5.1, table 10-2; FXSAVE with REX.W: 64-bit FIP and FDP). */
#define FX_FSW 2
#define FX_FTW 4 /* the abridged tag byte: bit i set when physical register i is not empty */
#define FX_FOP 6
#define FX_FIP 8
#define FX_FDP 16
#define FX_ST0 32 /* ST(i) at 32 + 16 i: 10 bytes and 6 reserved */
#define FX_XMM0 160
#define X87_TAG_EMPTY 3

/* Where a register lives in hl__gdb_regs. */
enum {
    AT_U64,    /* a uint64_t field at off */
    AT_EFLAGS, /* rflags' low 32 bits */
    AT_SEL,    /* a uint16_t selector at off, as 32 bits */
    AT_FX,     /* size bytes of fxsave at off */
    AT_FX16,   /* a 16-bit FXSAVE field at off, as 32 bits */
    AT_FOP,    /* FOP's 11 bits */
    AT_FTAG,   /* the full tag word, from the abridged one and the registers */
    AT_MXCSR,  /* MXCSR, whose reserved bits may not be set */
};

typedef struct reg_def {
    const char *name;
    uint8_t size; /* bytes in the g packet */
    uint8_t at;
    uint16_t off;
} reg_def;

#define GPR(r)                                                                                     \
    {                                                                                              \
#r, 8, AT_U64, offsetof(hl__gdb_regs, r)                                                   \
    }
#define SEL(r)                                                                                     \
    {                                                                                              \
#r, 4, AT_SEL, offsetof(hl__gdb_regs, r)                                                   \
    }
#define ST(i)                                                                                      \
    {                                                                                              \
        "st" #i, 10, AT_FX, FX_ST0 + 16 * (i)                                                      \
    }
#define XMM(i)                                                                                     \
    {                                                                                              \
        "xmm" #i, 16, AT_FX, FX_XMM0 + 16 * (i)                                                    \
    }

/* In regnum order, which is the order of hl__gdb_target_xml (the unit test checks both). */
static const reg_def reg_defs[HL_GDB_REG_COUNT] = {
    GPR(rax),
    GPR(rbx),
    GPR(rcx),
    GPR(rdx),
    GPR(rsi),
    GPR(rdi),
    GPR(rbp),
    GPR(rsp),
    GPR(r8),
    GPR(r9),
    GPR(r10),
    GPR(r11),
    GPR(r12),
    GPR(r13),
    GPR(r14),
    GPR(r15),
    [HL_GDB_REG_RIP] = GPR(rip),
    [HL_GDB_REG_EFLAGS] = {"eflags", 4, AT_EFLAGS, 0},
    [HL_GDB_REG_CS] = SEL(cs),
    SEL(ss),
    SEL(ds),
    SEL(es),
    SEL(fs),
    SEL(gs),
    [HL_GDB_REG_ST0] = ST(0),
    ST(1),
    ST(2),
    ST(3),
    ST(4),
    ST(5),
    ST(6),
    ST(7),
    [HL_GDB_REG_FCTRL] = {"fctrl", 4, AT_FX16, X86_FXSAVE_FCW},
    [HL_GDB_REG_FSTAT] = {"fstat", 4, AT_FX16, FX_FSW},
    [HL_GDB_REG_FTAG] = {"ftag", 4, AT_FTAG, FX_FTW},
    [HL_GDB_REG_FISEG] = {"fiseg", 4, AT_FX, FX_FIP + 4},
    [HL_GDB_REG_FIOFF] = {"fioff", 4, AT_FX, FX_FIP},
    [HL_GDB_REG_FOSEG] = {"foseg", 4, AT_FX, FX_FDP + 4},
    [HL_GDB_REG_FOOFF] = {"fooff", 4, AT_FX, FX_FDP},
    [HL_GDB_REG_FOP] = {"fop", 4, AT_FOP, FX_FOP},
    [HL_GDB_REG_XMM0] = XMM(0),
    XMM(1),
    XMM(2),
    XMM(3),
    XMM(4),
    XMM(5),
    XMM(6),
    XMM(7),
    XMM(8),
    XMM(9),
    XMM(10),
    XMM(11),
    XMM(12),
    XMM(13),
    XMM(14),
    XMM(15),
    [HL_GDB_REG_MXCSR] = {"mxcsr", 4, AT_MXCSR, X86_FXSAVE_MXCSR},
    [HL_GDB_REG_FS_BASE] = GPR(fs_base),
    [HL_GDB_REG_GS_BASE] = GPR(gs_base),
};

static uint64_t get_le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    while (n--)
        v = v << 8 | p[n];
    return v;
}

static void put_le(uint8_t *p, uint64_t v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* The tag of an 80-bit x87 register (SDM vol. 1, 8.1.7) as gdb's i387_tag computes it: 0 valid
 * (integer bit set), 1 zero, 2 special (NaN, infinity, denormal, unnormal). */
static unsigned x87_tag(const uint8_t *st)
{
    unsigned exponent = (unsigned)(st[9] & 0x7f) << 8 | st[8];
    int integer = st[7] & 0x80;
    uint64_t fraction = get_le(st, 8) & ~(1ull << 63);
    if (exponent == 0x7fff)
        return 2;
    if (exponent == 0)
        return fraction == 0 && !integer ? 1 : 2;
    return integer ? 0 : 2;
}

/* The full tag word: two bits per physical register i, whose contents are ST((i - TOP) mod 8). */
static unsigned full_tag(const uint8_t *fx)
{
    unsigned top = (unsigned)(get_le(fx + FX_FSW, 2) >> 11) & 7, tag = 0;
    for (unsigned i = 0; i < 8; i++) {
        unsigned t = X87_TAG_EMPTY;
        if (fx[FX_FTW] >> i & 1)
            t = x87_tag(fx + FX_ST0 + 16 * ((i + 8 - top) % 8));
        tag |= t << (2 * i);
    }
    return tag;
}

static uint8_t abridged_tag(uint64_t tag)
{
    uint8_t a = 0;
    for (unsigned i = 0; i < 8; i++)
        if ((tag >> (2 * i) & 3) != X87_TAG_EMPTY)
            a |= (uint8_t)(1u << i);
    return a;
}

/* Register d's bytes as gdb sees them into v[0..d->size). */
static void reg_get(const hl__gdb_regs *r, const reg_def *d, uint8_t *v)
{
    const uint8_t *base = (const uint8_t *)r;
    uint64_t x = 0;
    uint16_t sel;
    switch (d->at) {
    case AT_U64:
        memcpy(&x, base + d->off, 8);
        break;
    case AT_EFLAGS:
        x = r->rflags & 0xffffffffu;
        break;
    case AT_SEL:
        memcpy(&sel, base + d->off, 2);
        x = sel;
        break;
    case AT_FX:
    case AT_MXCSR:
        memcpy(v, r->fxsave + d->off, d->size);
        return;
    case AT_FX16:
        x = get_le(r->fxsave + d->off, 2);
        break;
    case AT_FOP:
        x = get_le(r->fxsave + FX_FOP, 2) & 0x7ff;
        break;
    default:
        x = full_tag(r->fxsave);
        break;
    }
    put_le(v, x, d->size);
}

/* Stores gdb's bytes v[0..d->size) of register d. Returns 0, or -1 (r untouched) for an MXCSR
 * with reserved bits set, which FXRSTOR/XRSTOR would refuse with #GP. */
static int reg_set(hl__gdb_regs *r, const reg_def *d, const uint8_t *v)
{
    uint8_t *base = (uint8_t *)r;
    uint64_t x = get_le(v, d->size < 8 ? d->size : 8);
    uint16_t sel = (uint16_t)x;
    switch (d->at) {
    case AT_U64:
        memcpy(base + d->off, &x, 8);
        break;
    case AT_EFLAGS:
        r->rflags = (r->rflags & ~0xffffffffull) | x;
        break;
    case AT_SEL:
        memcpy(base + d->off, &sel, 2);
        break;
    case AT_MXCSR:
        if (x & X86_MXCSR_RESERVED)
            return -1;
        put_le(r->fxsave + d->off, x, 4);
        break;
    case AT_FX:
        memcpy(r->fxsave + d->off, v, d->size);
        break;
    case AT_FX16:
        put_le(r->fxsave + d->off, x, 2);
        break;
    case AT_FOP:
        put_le(r->fxsave + FX_FOP, (get_le(r->fxsave + FX_FOP, 2) & ~0x7ffu) | (x & 0x7ff), 2);
        break;
    default:
        r->fxsave[FX_FTW] = abridged_tag(x);
        break;
    }
    return 0;
}

const char *hl__gdb_reg_name(uint64_t regnum)
{
    return regnum < HL_GDB_REG_COUNT ? reg_defs[regnum].name : NULL;
}

size_t hl__gdb_reg_size(uint64_t regnum)
{
    return regnum < HL_GDB_REG_COUNT ? reg_defs[regnum].size : 0;
}

size_t hl__gdb_reg_read(const hl__gdb_regs *r, uint64_t regnum, char *hex, size_t cap)
{
    uint8_t v[16];
    if (regnum >= HL_GDB_REG_COUNT || cap < 2u * reg_defs[regnum].size)
        return 0;
    reg_get(r, &reg_defs[regnum], v);
    return hl__gdb_hex_encode(hex, cap, v, reg_defs[regnum].size);
}

int hl__gdb_reg_write(hl__gdb_regs *r, uint64_t regnum, const uint8_t *hex, size_t len)
{
    uint8_t v[16];
    if (regnum >= HL_GDB_REG_COUNT || len != 2u * reg_defs[regnum].size ||
        hl__gdb_hex_decode(v, sizeof v, hex, len))
        return -1;
    return reg_set(r, &reg_defs[regnum], v);
}

size_t hl__gdb_regs_encode(const hl__gdb_regs *r, char *hex, size_t cap)
{
    size_t o = 0;
    if (cap < HL_GDB_REGS_HEX)
        return 0;
    for (size_t i = 0; i < HL_GDB_REG_COUNT; i++)
        o += hl__gdb_reg_read(r, i, hex + o, cap - o);
    return o;
}

int hl__gdb_regs_decode(hl__gdb_regs *r, const uint8_t *hex, size_t len)
{
    hl__gdb_regs next = *r;
    size_t o = 0;
    if (len != HL_GDB_REGS_HEX)
        return -1;
    for (size_t i = 0; i < HL_GDB_REG_COUNT; i++) {
        size_t n = 2u * reg_defs[i].size;
        if (hl__gdb_reg_write(&next, i, hex + o, n))
            return -1;
        o += n;
    }
    *r = next;
    return 0;
}

/* ---- target description ---- */

/* gdb's features/i386/64bit-core.xml, 64bit-sse.xml (without the bfloat16 and half vectors
 * that gdb before 12 does not know) and 64bit-segments.xml, in that order: regnums 0-39, 40-56
 * and 57-58. */
const char hl__gdb_target_xml[] =
    "<?xml version=\"1.0\"?>\n"
    "<!DOCTYPE target SYSTEM \"gdb-target.dtd\">\n"
    "<target version=\"1.0\">\n"
    "<architecture>i386:x86-64</architecture>\n"
    "<feature name=\"org.gnu.gdb.i386.core\">\n"
    "<flags id=\"i386_eflags\" size=\"4\">\n"
    "<field name=\"CF\" start=\"0\" end=\"0\"/>\n"
    "<field name=\"\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"PF\" start=\"2\" end=\"2\"/>\n"
    "<field name=\"AF\" start=\"4\" end=\"4\"/>\n"
    "<field name=\"ZF\" start=\"6\" end=\"6\"/>\n"
    "<field name=\"SF\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"TF\" start=\"8\" end=\"8\"/>\n"
    "<field name=\"IF\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"DF\" start=\"10\" end=\"10\"/>\n"
    "<field name=\"OF\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"NT\" start=\"14\" end=\"14\"/>\n"
    "<field name=\"RF\" start=\"16\" end=\"16\"/>\n"
    "<field name=\"VM\" start=\"17\" end=\"17\"/>\n"
    "<field name=\"AC\" start=\"18\" end=\"18\"/>\n"
    "<field name=\"VIF\" start=\"19\" end=\"19\"/>\n"
    "<field name=\"VIP\" start=\"20\" end=\"20\"/>\n"
    "<field name=\"ID\" start=\"21\" end=\"21\"/>\n"
    "</flags>\n"
    "<reg name=\"rax\" bitsize=\"64\" type=\"int64\" regnum=\"0\"/>\n"
    "<reg name=\"rbx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rcx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdx\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rsi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rdi\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rbp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"rsp\" bitsize=\"64\" type=\"data_ptr\"/>\n"
    "<reg name=\"r8\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r9\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r10\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r11\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r12\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r13\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r14\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"r15\" bitsize=\"64\" type=\"int64\"/>\n"
    "<reg name=\"rip\" bitsize=\"64\" type=\"code_ptr\"/>\n"
    "<reg name=\"eflags\" bitsize=\"32\" type=\"i386_eflags\"/>\n"
    "<reg name=\"cs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ss\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"ds\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"es\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"fs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"gs\" bitsize=\"32\" type=\"int32\"/>\n"
    "<reg name=\"st0\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st1\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st2\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st3\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st4\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st5\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st6\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"st7\" bitsize=\"80\" type=\"i387_ext\"/>\n"
    "<reg name=\"fctrl\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fstat\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"ftag\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fiseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fioff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"foseg\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fooff\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "<reg name=\"fop\" bitsize=\"32\" type=\"int\" group=\"float\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.sse\">\n"
    "<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>\n"
    "<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>\n"
    "<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>\n"
    "<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>\n"
    "<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>\n"
    "<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>\n"
    "<union id=\"vec128\">\n"
    "<field name=\"v4_float\" type=\"v4f\"/>\n"
    "<field name=\"v2_double\" type=\"v2d\"/>\n"
    "<field name=\"v16_int8\" type=\"v16i8\"/>\n"
    "<field name=\"v8_int16\" type=\"v8i16\"/>\n"
    "<field name=\"v4_int32\" type=\"v4i32\"/>\n"
    "<field name=\"v2_int64\" type=\"v2i64\"/>\n"
    "<field name=\"uint128\" type=\"uint128\"/>\n"
    "</union>\n"
    "<flags id=\"i386_mxcsr\" size=\"4\">\n"
    "<field name=\"IE\" start=\"0\" end=\"0\"/>\n"
    "<field name=\"DE\" start=\"1\" end=\"1\"/>\n"
    "<field name=\"ZE\" start=\"2\" end=\"2\"/>\n"
    "<field name=\"OE\" start=\"3\" end=\"3\"/>\n"
    "<field name=\"UE\" start=\"4\" end=\"4\"/>\n"
    "<field name=\"PE\" start=\"5\" end=\"5\"/>\n"
    "<field name=\"DAZ\" start=\"6\" end=\"6\"/>\n"
    "<field name=\"IM\" start=\"7\" end=\"7\"/>\n"
    "<field name=\"DM\" start=\"8\" end=\"8\"/>\n"
    "<field name=\"ZM\" start=\"9\" end=\"9\"/>\n"
    "<field name=\"OM\" start=\"10\" end=\"10\"/>\n"
    "<field name=\"UM\" start=\"11\" end=\"11\"/>\n"
    "<field name=\"PM\" start=\"12\" end=\"12\"/>\n"
    "<field name=\"FZ\" start=\"15\" end=\"15\"/>\n"
    "</flags>\n"
    "<reg name=\"xmm0\" bitsize=\"128\" type=\"vec128\" regnum=\"40\"/>\n"
    "<reg name=\"xmm1\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm2\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm3\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm4\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm5\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm6\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm7\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm8\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm9\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm10\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm11\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm12\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm13\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm14\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"xmm15\" bitsize=\"128\" type=\"vec128\"/>\n"
    "<reg name=\"mxcsr\" bitsize=\"32\" type=\"i386_mxcsr\" group=\"vector\"/>\n"
    "</feature>\n"
    "<feature name=\"org.gnu.gdb.i386.segments\">\n"
    "<reg name=\"fs_base\" bitsize=\"64\" type=\"int\" regnum=\"57\"/>\n"
    "<reg name=\"gs_base\" bitsize=\"64\" type=\"int\"/>\n"
    "</feature>\n"
    "</target>\n";
const size_t hl__gdb_target_xml_len = sizeof hl__gdb_target_xml - 1;

size_t hl__gdb_xfer_read(const char *doc, size_t doc_len, uint64_t offset, uint64_t length,
                         char *out, size_t cap)
{
    size_t left = offset < doc_len ? doc_len - (size_t)offset : 0, take = left;
    if (cap == 0)
        return 0;
    if (take > length)
        take = (size_t)length;
    if (take > cap - 1)
        take = cap - 1;
    out[0] = take < left ? 'm' : 'l';
    if (take)
        memcpy(out + 1, doc + offset, take);
    return take + 1;
}

size_t hl__gdb_xfer_features(const hl__gdb_cmd *cmd, char *out, size_t cap)
{
    static const char annex[] = "target.xml";
    if (cmd->data_len != sizeof annex - 1 || memcmp(cmd->data, annex, sizeof annex - 1) != 0)
        return 0;
    return hl__gdb_xfer_read(hl__gdb_target_xml, hl__gdb_target_xml_len, cmd->addr, cmd->len, out,
                             cap);
}

/* ---- replies ---- */

int hl__gdb_signal(int host_signal)
{
    return host_signal == SIGBUS ? HL_GDB_SIGBUS : host_signal; /* the one that differs */
}

int hl__gdb_signal_for_vector(uint64_t v)
{
    return hl__gdb_signal(hl__cpu_vector_signal(v));
}

/* Copies the n-byte text t (from snprintf, n < 0 on failure) to out if it fits. */
static size_t reply(char *out, size_t cap, const char *t, int n)
{
    if (n < 0 || (size_t)n > cap)
        return 0;
    memcpy(out, t, (size_t)n);
    return (size_t)n;
}

size_t hl__gdb_stop_reply(char *out, size_t cap, int signal, hl__gdb_stop_why why, uint64_t addr)
{
    static const char *const reason[] = {
        "", "swbreak:", "hwbreak:", "watch:", "rwatch:", "awatch:"};
    char t[64], where[24] = "";
    if (signal < 0 || signal > 255 || (unsigned)why > HL_GDB_STOP_AWATCH)
        return 0;
    if (why >= HL_GDB_STOP_WATCH)
        snprintf(where, sizeof where, "%" PRIx64, addr);
    int n = snprintf(t, sizeof t, "T%02x%s%s%sthread:%x;", (unsigned)signal, reason[why], where,
                     why == HL_GDB_STOP_SIGNAL ? "" : ";", HL_GDB_TID);
    return reply(out, cap, t, n);
}

size_t hl__gdb_supported_reply(char *out, size_t cap)
{
    char t[128];
    int n = snprintf(t, sizeof t,
                     "PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;"
                     "vContSupported+",
                     HL_GDB_PACKET_MAX);
    return reply(out, cap, t, n);
}

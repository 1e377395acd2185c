/* fuzz_gdb.c: libFuzzer target for the gdb protocol layer (src/gdb_proto.c). The input goes
 * byte by byte through the receive state machine; every packet it yields, and the whole input
 * as one packet, goes through the parser, whose fields must stay within the packet and its caps;
 * packets re-framed must come back the same; register data must decode, encode and decode to a
 * fixed point. Run with `make fuzz` (mk/fuzz.mk); corpus: tests/fuzz/corpus/gdb/. */
#include <string.h>

#include "fuzz.h"
#include "gdb_proto.h"

static hl__gdb_rx rx, again;
static char frame[HL_GDB_FRAME_MAX];
static char reply[HL_GDB_PACKET_MAX];

/* The registers a G or P packet is applied to: every byte different, MXCSR valid. */
static void start_regs(hl__gdb_regs *r)
{
    uint8_t *b = (uint8_t *)r;
    for (size_t i = 0; i < sizeof *r; i++)
        b[i] = (uint8_t)(i * 13 + 5);
    memcpy(r->fxsave + 24, "\x80\x1f\x00\x00", 4);
}

/* 1 if the MXCSR of a full G packet's hex digits has reserved bits set (a valid G's only
 * reason to be refused). */
static int mxcsr_reserved(const uint8_t *hex)
{
    size_t at = 0;
    uint8_t v[4];
    for (unsigned i = 0; i < HL_GDB_REG_MXCSR; i++)
        at += 2 * hl__gdb_reg_size(i);
    REQUIRE(hl__gdb_hex_decode(v, sizeof v, hex + at, 8) == 0);
    return v[2] || v[3];
}

/* decode -> encode -> decode -> encode gives the first encoding again. */
static void check_regs(const hl__gdb_cmd *c)
{
    static char hex[HL_GDB_REGS_HEX], hex2[HL_GDB_REGS_HEX];
    hl__gdb_regs r, r2;
    start_regs(&r);
    if (c->kind == HL_GDB_CMD_WRITE_REGS) {
        if (hl__gdb_regs_decode(&r, c->data, c->data_len)) {
            REQUIRE(c->data_len != HL_GDB_REGS_HEX || mxcsr_reserved(c->data));
            return;
        }
        REQUIRE(c->data_len == HL_GDB_REGS_HEX);
    } else {
        size_t size = hl__gdb_reg_size(c->regnum);
        if (hl__gdb_reg_write(&r, c->regnum, c->data, c->data_len))
            return;
        REQUIRE(size > 0 && c->data_len == 2 * size);
        REQUIRE(hl__gdb_reg_read(&r, c->regnum, hex, sizeof hex) == 2 * size);
    }
    REQUIRE(hl__gdb_regs_encode(&r, hex, sizeof hex) == HL_GDB_REGS_HEX);
    r2 = r;
    REQUIRE(hl__gdb_regs_decode(&r2, (const uint8_t *)hex, sizeof hex) == 0);
    REQUIRE(memcmp(&r2, &r, offsetof(hl__gdb_regs, fxsave) + HL_GDB_FXSAVE_SIZE) == 0);
    REQUIRE(hl__gdb_regs_encode(&r2, hex2, sizeof hex2) == HL_GDB_REGS_HEX);
    REQUIRE(memcmp(hex, hex2, sizeof hex) == 0);
}

/* Fields stay inside the packet and within their caps. */
static void check_fields(const uint8_t *p, size_t n, const hl__gdb_cmd *c)
{
    REQUIRE((c->kind == HL_GDB_CMD_MALFORMED) == (c->why != NULL));
    REQUIRE(!c->data || (c->data >= p && c->data_len <= n && c->data + c->data_len <= p + n));
    switch (c->kind) {
    case HL_GDB_CMD_READ_MEM:
    case HL_GDB_CMD_WRITE_MEM:
    case HL_GDB_CMD_WRITE_MEM_BIN:
        REQUIRE(c->len == 0 || c->len - 1 <= UINT64_MAX - c->addr);
        REQUIRE(c->kind != HL_GDB_CMD_READ_MEM || c->len <= HL_GDB_MEM_MAX);
        REQUIRE(c->kind != HL_GDB_CMD_WRITE_MEM || c->data_len == 2 * c->len);
        REQUIRE(c->kind != HL_GDB_CMD_WRITE_MEM_BIN || c->data_len == c->len);
        break;
    case HL_GDB_CMD_XFER_FEATURES:
        REQUIRE(c->len <= HL_GDB_PACKET_MAX - 1);
        break;
    case HL_GDB_CMD_CONTINUE:
    case HL_GDB_CMD_STEP:
        REQUIRE(c->signal >= 0 && c->signal <= 255);
        break;
    case HL_GDB_CMD_INSERT_BP:
    case HL_GDB_CMD_REMOVE_BP:
        REQUIRE(c->bp_type >= HL_GDB_BP_SW && c->bp_type <= HL_GDB_WP_ACCESS);
        break;
    case HL_GDB_CMD_SET_THREAD:
        REQUIRE(c->thread_op == 'g' || c->thread_op == 'c');
        break;
    default:
        REQUIRE(c->kind <= HL_GDB_CMD_MUST_REPLY_EMPTY);
    }
}

/* Replies built from a command fit their buffers. */
static void check_replies(const hl__gdb_cmd *c)
{
    static hl__gdb_regs r;
    size_t n;
    if (c->kind == HL_GDB_CMD_XFER_FEATURES) {
        n = hl__gdb_xfer_features(c, reply, sizeof reply);
        REQUIRE(n <= sizeof reply && n <= c->len + 1);
        REQUIRE(n == 0 || reply[0] == 'm' || reply[0] == 'l');
        REQUIRE(n <= 1 || c->addr + (n - 1) <= hl__gdb_target_xml_len);
    }
    if (c->kind == HL_GDB_CMD_READ_REG) {
        n = hl__gdb_reg_read(&r, c->regnum, reply, sizeof reply);
        REQUIRE(n == 2 * hl__gdb_reg_size(c->regnum));
    }
    if (c->kind == HL_GDB_CMD_READ_MEM) /* the stub's reply is 2 * len hex digits */
        REQUIRE(2 * c->len <= HL_GDB_PACKET_MAX);
}

static void check_command(const uint8_t *p, size_t n)
{
    hl__gdb_cmd c;
    REQUIRE(hl__gdb_parse(p, n, &c) == c.kind);
    check_fields(p, n, &c);
    check_replies(&c);
    if (c.kind == HL_GDB_CMD_WRITE_REGS || c.kind == HL_GDB_CMD_WRITE_REG)
        check_regs(&c);
}

/* A received packet, framed again and fed to a second receiver, comes back byte for byte. */
static void check_reframe(const uint8_t *p, size_t n)
{
    size_t len = hl__gdb_frame(frame, sizeof frame, p, n);
    hl__gdb_event last = HL_GDB_EV_NONE;
    REQUIRE(len >= n + 4 && len <= 2 * n + 4);
    REQUIRE(hl__gdb_frame(frame, len - 1, p, n) == 0);
    hl__gdb_rx_init(&again);
    for (size_t i = 0; i < len; i++) {
        hl__gdb_event e = hl__gdb_rx_feed(&again, (uint8_t)frame[i]);
        REQUIRE(e == HL_GDB_EV_NONE || i == len - 1);
        last = e;
    }
    /* escaping doubles at most: a long packet of special bytes can be overlong when re-sent */
    if (len - 4 > HL_GDB_PACKET_MAX) {
        REQUIRE(last == HL_GDB_EV_OVERLONG);
        return;
    }
    REQUIRE(last == HL_GDB_EV_PACKET && again.len == n && memcmp(again.buf, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hl__gdb_rx_init(&rx);
    for (size_t i = 0; i < size; i++) {
        hl__gdb_event e = hl__gdb_rx_feed(&rx, data[i]);
        REQUIRE(e <= HL_GDB_EV_NACK && rx.len <= HL_GDB_PACKET_MAX && rx.len <= rx.raw);
        if (e != HL_GDB_EV_PACKET)
            continue;
        check_command(rx.buf, rx.len);
        check_reframe(rx.buf, rx.len);
    }
    check_command(data, size);
    return 0;
}

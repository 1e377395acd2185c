/* test_gdb_proto.c: the gdb protocol layer: framing, every command, registers, the real gdb. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gdb_proto.h"
#include "harness.h"

static hl__gdb_rx rx;
static char out[HL_GDB_FRAME_MAX];

/* Feeds n bytes; writes the events other than NONE to ev[0..max) and returns how many. */
static size_t feed(const void *bytes, size_t n, hl__gdb_event *ev, size_t max)
{
    const uint8_t *b = bytes;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        hl__gdb_event e = hl__gdb_rx_feed(&rx, b[i]);
        if (e != HL_GDB_EV_NONE && k < max)
            ev[k++] = e;
    }
    return k;
}

static size_t feed_str(const char *s, hl__gdb_event *ev, size_t max)
{
    return feed(s, strlen(s), ev, max);
}

static hl__gdb_kind parse(const char *s, hl__gdb_cmd *c)
{
    return hl__gdb_parse((const uint8_t *)s, strlen(s), c);
}

static const uint8_t *u8(const char *s)
{
    return (const uint8_t *)s;
}

TEST(hex_helpers_are_total)
{
    uint8_t b[4];
    uint64_t v;
    CHECK_EQ(hl__gdb_hex_encode(out, 8, "\x00\xab\xff\x10", 4), 8);
    CHECK_MEMEQ(out, "00abff10", 8);
    CHECK_EQ(hl__gdb_hex_encode(out, 7, "\x00\xab\xff\x10", 4), 0);
    CHECK_EQ(hl__gdb_hex_decode(b, 4, u8("00ABff10"), 8), 0);
    CHECK_MEMEQ(b, "\x00\xab\xff\x10", 4);
    CHECK_EQ(hl__gdb_hex_decode(b, 4, u8("00a"), 3), -1);
    CHECK_EQ(hl__gdb_hex_decode(b, 4, u8("0g"), 2), -1);
    CHECK_EQ(hl__gdb_hex_decode(b, 1, u8("0000"), 4), -1);
    CHECK_EQ(hl__gdb_hex_decode(b, 0, u8(""), 0), 0);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8("ffffffffffffffff"), 16, &v), 0);
    CHECK_U64_EQ(v, UINT64_MAX);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8("000000000000000001A"), 19, &v), 0);
    CHECK_U64_EQ(v, 0x1a);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8("10000000000000000"), 17, &v), -1);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8(""), 0, &v), -1);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8("-1"), 2, &v), -1);
    CHECK_EQ(hl__gdb_parse_hex_u64(u8("1 "), 2, &v), -1);
}

TEST(frames_round_trip_every_byte)
{
    uint8_t payload[256];
    hl__gdb_event ev[4];
    for (int i = 0; i < 256; i++)
        payload[i] = (uint8_t)i;
    CHECK_EQ(hl__gdb_frame(out, sizeof out, "OK", 2), 6);
    CHECK_MEMEQ(out, "$OK#9a", 6);
    CHECK_EQ(hl__gdb_frame(out, sizeof out, "a$b#c}d*", 8), 16);
    CHECK_MEMEQ(out,
                "$a}\x04"
                "b}\x03"
                "c}]d}\n#",
                14);
    size_t n = hl__gdb_frame(out, sizeof out, payload, sizeof payload);
    CHECK_EQ(n, 256 + 4 + 4);
    hl__gdb_rx_init(&rx);
    CHECK_EQ(feed(out, n, ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, 256);
    CHECK_MEMEQ(rx.buf, payload, 256);
    CHECK_EQ(hl__gdb_frame(out, n - 1, payload, sizeof payload), 0);
    CHECK_EQ(hl__gdb_frame(out, n, payload, sizeof payload), n);
    CHECK_EQ(hl__gdb_frame(out, 3, "", 0), 0);
    CHECK_EQ(hl__gdb_frame(out, 4, "", 0), 4);
    CHECK_MEMEQ(out, "$#00", 4);
}

TEST(checksums_are_checked)
{
    hl__gdb_event ev[4];
    hl__gdb_rx_init(&rx);
    CHECK_EQ(feed_str("$g#67", ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, 1);
    CHECK_EQ(rx.buf[0], 'g');
    CHECK_EQ(feed_str("$qC#B4", ev, 4), 1); /* either case */
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(feed_str("$g#68", ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_BAD_CHECKSUM);
    CHECK_EQ(rx.len, 0);
    CHECK_EQ(feed_str("$g#6z", ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_BAD_CHECKSUM);
    CHECK_EQ(feed_str("$g}#e4", ev, 4), 1); /* a dangling escape, with a right sum */
    CHECK_EQ(ev[0], HL_GDB_EV_BAD_CHECKSUM);
    CHECK_EQ(feed_str("$m1*,4#28", ev, 4), 1); /* '*' from gdb is a literal byte */
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, 5);
    CHECK_MEMEQ(rx.buf, "m1*,4", 5);
}

TEST(bytes_between_packets)
{
    hl__gdb_event ev[8];
    hl__gdb_rx_init(&rx);
    CHECK_EQ(feed("\x03+-x\x00\xff#", 7, ev, 8), 3);
    CHECK_EQ(ev[0], HL_GDB_EV_INTERRUPT);
    CHECK_EQ(ev[1], HL_GDB_EV_ACK);
    CHECK_EQ(ev[2], HL_GDB_EV_NACK);
    /* inside a packet 0x03, '+' and '-' are payload */
    CHECK_EQ(feed("$X0,3:\x03+-#7c", 12, ev, 8), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, 8);
    CHECK_MEMEQ(rx.buf, "X0,3:\x03+-", 8);
}

TEST(dollar_restarts_a_packet)
{
    hl__gdb_event ev[4];
    hl__gdb_rx_init(&rx);
    CHECK_EQ(feed_str("$m10$g#67", ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, 1);
    CHECK_EQ(feed_str("$g#6$g#67", ev, 4), 1); /* also in place of a checksum digit */
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.buf[0], 'g');
}

/* A packet of n payload bytes: 'a' each, or '}' 'A' pairs (un-escaped to 'a') when escaped. */
static size_t long_packet(char *buf, size_t n, int escaped)
{
    uint8_t sum = 0;
    buf[0] = '$';
    for (size_t i = 0; i < n; i++) {
        buf[1 + i] = escaped ? (i % 2 ? 'A' : '}') : 'a';
        sum = (uint8_t)(sum + buf[1 + i]);
    }
    snprintf(buf + 1 + n, 4, "#%02x", sum);
    return n + 4;
}

TEST(overlong_packets_are_dropped)
{
    static char buf[HL_GDB_PACKET_MAX + 8];
    hl__gdb_event ev[4];
    hl__gdb_rx_init(&rx);
    CHECK_EQ(feed(buf, long_packet(buf, HL_GDB_PACKET_MAX, 0), ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, HL_GDB_PACKET_MAX);
    CHECK_EQ(feed(buf, long_packet(buf, HL_GDB_PACKET_MAX + 1, 0), ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_OVERLONG);
    CHECK_EQ(rx.len, 0);
    /* the limit is on bytes as sent, escapes included */
    CHECK_EQ(feed(buf, long_packet(buf, HL_GDB_PACKET_MAX, 1), ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
    CHECK_EQ(rx.len, HL_GDB_PACKET_MAX / 2);
    CHECK_EQ(rx.buf[0], 'a');
    CHECK_EQ(feed(buf, long_packet(buf, HL_GDB_PACKET_MAX + 2, 1), ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_OVERLONG);
    CHECK_EQ(feed_str("$g#67", ev, 4), 1);
    CHECK_EQ(ev[0], HL_GDB_EV_PACKET);
}

static const struct {
    const char *packet;
    hl__gdb_kind kind;
} good[] = {
    {"?", HL_GDB_CMD_STOP_REASON},
    {"g", HL_GDB_CMD_READ_REGS},
    {"G00ff", HL_GDB_CMD_WRITE_REGS},
    {"p10", HL_GDB_CMD_READ_REG},
    {"P1=3412000000000000", HL_GDB_CMD_WRITE_REG},
    {"m1000,40", HL_GDB_CMD_READ_MEM},
    {"M1000,2:abCD", HL_GDB_CMD_WRITE_MEM},
    {"M1000,0:", HL_GDB_CMD_WRITE_MEM},
    {"X1000,0:", HL_GDB_CMD_WRITE_MEM_BIN},
    {"c", HL_GDB_CMD_CONTINUE},
    {"c401000", HL_GDB_CMD_CONTINUE},
    {"C0b", HL_GDB_CMD_CONTINUE},
    {"s", HL_GDB_CMD_STEP},
    {"S05;1000", HL_GDB_CMD_STEP},
    {"vCont?", HL_GDB_CMD_VCONT_QUERY},
    {"vCont;c", HL_GDB_CMD_CONTINUE},
    {"vCont;s:1", HL_GDB_CMD_STEP},
    {"vCont;s:p1.1;c", HL_GDB_CMD_STEP},
    {"vCont;c:2;s", HL_GDB_CMD_STEP},
    {"vCont;C05:-1", HL_GDB_CMD_CONTINUE},
    {"vCont;r1000,1010:p1.-1;c", HL_GDB_CMD_STEP},
    {"vCont;t:2;c", HL_GDB_CMD_CONTINUE},
    {"Z0,401000,1", HL_GDB_CMD_INSERT_BP},
    {"z1,401000,1", HL_GDB_CMD_REMOVE_BP},
    {"Z4,2000,8", HL_GDB_CMD_INSERT_BP},
    {"D", HL_GDB_CMD_DETACH},
    {"D;1", HL_GDB_CMD_DETACH},
    {"k", HL_GDB_CMD_KILL},
    {"vKill;1", HL_GDB_CMD_VKILL},
    {"vKill", HL_GDB_CMD_VKILL},
    {"Hg0", HL_GDB_CMD_SET_THREAD},
    {"Hc-1", HL_GDB_CMD_SET_THREAD},
    {"Hgp1.1", HL_GDB_CMD_SET_THREAD},
    {"T1", HL_GDB_CMD_THREAD_ALIVE},
    {"Tp1", HL_GDB_CMD_THREAD_ALIVE},
    {"qSupported", HL_GDB_CMD_SUPPORTED},
    {"qSupported:multiprocess+;swbreak+;hwbreak+;qRelocInsn+;fork-events+;vfork-events+;"
     "exec-events+;vContSupported+;QThreadEvents+;no-resumed+;xmlRegisters=i386",
     HL_GDB_CMD_SUPPORTED},
    {"qXfer:features:read:target.xml:0,ffb", HL_GDB_CMD_XFER_FEATURES},
    {"qAttached", HL_GDB_CMD_ATTACHED},
    {"qAttached:1", HL_GDB_CMD_ATTACHED},
    {"qC", HL_GDB_CMD_CURRENT_THREAD},
    {"qfThreadInfo", HL_GDB_CMD_THREAD_FIRST},
    {"qsThreadInfo", HL_GDB_CMD_THREAD_NEXT},
    {"QStartNoAckMode", HL_GDB_CMD_START_NO_ACK},
    {"qOffsets", HL_GDB_CMD_OFFSETS},
    {"qSymbol::", HL_GDB_CMD_SYMBOL},
    {"vMustReplyEmpty", HL_GDB_CMD_MUST_REPLY_EMPTY},
};

static const char *const unknown[] = {
    "",
    "qTStatus",
    "qCRC:1000,10",
    "qC1",
    "vFile:setfs:0",
    "Z5,1000,1",
    "Z10,1,1",
    "QNonStop:0",
    "qXfer:auxv:read::0,1000",
    "qXfer:features:write:a:0,1",
    "!",
    "vContX",
    "qSupportedX",
    "R00",
    "i",
    "A",
};

static const char *const malformed[] = {
    "gx",
    "?1",
    "kk",
    "G",
    "G123",
    "G12zz",
    "p",
    "pzz",
    "p10000000000000000",
    "P1",
    "P1=",
    "P1=123",
    "P1=zz",
    "Pz=00",
    "m",
    "m1000",
    "m1000,",
    "m,40",
    "m1000;40",
    "m1000,40x",
    "m10000000000000000,1",
    "m1000,10000000000000000",
    "mffffffffffffffff,2",
    "M1000,2:abc",
    "M1000,2:abcdef",
    "M1000,2",
    "M1000,2:zzzz",
    "X1000,2:a",
    "X1000,1:ab",
    "Xffffffffffffffff,2:ab",
    "c1z",
    "cg",
    "C",
    "C100",
    "C05;",
    "C05x",
    "s1000x",
    "S",
    "Z0,1000",
    "Z0,1000,1;X1,0f",
    "Z0",
    "Zx,1,1",
    "Z0,,1",
    "D;",
    "D1",
    "D;-1",
    "D;x",
    "Hx1",
    "H",
    "Hg",
    "Hgp",
    "Hg-2",
    "Hgp1.",
    "Hg1x",
    "Hg10000000000000000",
    "Hg8000000000000000",
    "T",
    "Tzz",
    "vCont",
    "vCont;",
    "vCont;x",
    "vCont;c:2",
    "vCont;t",
    "vCont;t;c",
    "vCont;C",
    "vCont;C100",
    "vCont;r1000",
    "vCont;r1000,",
    "vCont;c:",
    "vCont;cs",
    "vCont;c;",
    "vCont;c:1x",
    "qXfer:features:read:target.xml",
    "qXfer:features:read:target.xml:0",
    "qXfer:features:read:target.xml:0,",
    "qXfer:features:read:target.xml:0,1,",
    "qC:1",
    "qSymbol",
    "qAttached:",
    "qAttached:x",
    "vKill;",
    "QStartNoAckMode:1",
    "qSupported;x",
    "vMustReplyEmpty,",
};

TEST(every_command_kind_parses)
{
    hl__gdb_cmd c;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        hl__gdb_kind k = parse(good[i].packet, &c);
        if (k != good[i].kind)
            hl_test_fail(__FILE__, __LINE__, "\"%s\": kind %d, want %d (%s)", good[i].packet, k,
                         good[i].kind, c.why ? c.why : "");
        CHECK_EQ(c.kind, k);
        CHECK(c.why == NULL);
    }
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        if (parse(unknown[i], &c) != HL_GDB_CMD_UNKNOWN)
            hl_test_fail(__FILE__, __LINE__, "\"%s\": kind %d, want UNKNOWN", unknown[i], c.kind);
    for (size_t i = 0; i < sizeof malformed / sizeof malformed[0]; i++) {
        if (parse(malformed[i], &c) != HL_GDB_CMD_MALFORMED)
            hl_test_fail(__FILE__, __LINE__, "\"%s\": kind %d, want MALFORMED", malformed[i],
                         c.kind);
        CHECK(c.why != NULL);
        CHECK(c.data == NULL && c.addr == 0 && c.len == 0);
    }
}

TEST(memory_and_register_fields)
{
    hl__gdb_cmd c;
    CHECK_EQ(parse("m1000,40", &c), HL_GDB_CMD_READ_MEM);
    CHECK_U64_EQ(c.addr, 0x1000);
    CHECK_U64_EQ(c.len, 0x40);
    CHECK_EQ(parse("m0,ffffffff", &c), HL_GDB_CMD_READ_MEM); /* clamped, not refused */
    CHECK_U64_EQ(c.len, HL_GDB_MEM_MAX);
    CHECK_EQ(parse("mffffffffffffffff,1", &c), HL_GDB_CMD_READ_MEM); /* the last byte */
    CHECK_EQ(parse("mffffffffffffffff,0", &c), HL_GDB_CMD_READ_MEM);
    CHECK_EQ(parse("M2000,2:abCD", &c), HL_GDB_CMD_WRITE_MEM);
    CHECK_U64_EQ(c.addr, 0x2000);
    CHECK_EQ(c.len, 2);
    CHECK_EQ(c.data_len, 4);
    CHECK_MEMEQ(c.data, "abCD", 4);
    static const uint8_t x[] = {'X', '1', '0', ',', '3', ':', 0, '#', 0xff};
    CHECK_EQ(hl__gdb_parse(x, sizeof x, &c), HL_GDB_CMD_WRITE_MEM_BIN);
    CHECK_U64_EQ(c.addr, 0x10);
    CHECK_EQ(c.len, 3);
    CHECK(c.data == x + 6 && c.data_len == 3);
    CHECK_EQ(parse("p3a", &c), HL_GDB_CMD_READ_REG);
    CHECK_U64_EQ(c.regnum, HL_GDB_REG_GS_BASE);
    CHECK_EQ(parse("P11=46020000", &c), HL_GDB_CMD_WRITE_REG);
    CHECK_U64_EQ(c.regnum, HL_GDB_REG_EFLAGS);
    CHECK_EQ(c.data_len, 8);
    CHECK_MEMEQ(c.data, "46020000", 8);
    CHECK_EQ(parse("G00ff", &c), HL_GDB_CMD_WRITE_REGS);
    CHECK_EQ(c.data_len, 4);
}

TEST(resumption_fields)
{
    hl__gdb_cmd c;
    CHECK_EQ(parse("c", &c), HL_GDB_CMD_CONTINUE);
    CHECK(!c.has_addr && !c.has_range && c.signal == 0);
    CHECK_EQ(parse("s401000", &c), HL_GDB_CMD_STEP);
    CHECK(c.has_addr);
    CHECK_U64_EQ(c.addr, 0x401000);
    CHECK_EQ(parse("C0b;401000", &c), HL_GDB_CMD_CONTINUE);
    CHECK_EQ(c.signal, 11);
    CHECK(c.has_addr);
    CHECK_EQ(parse("vCont;C02:p1.1;c", &c), HL_GDB_CMD_CONTINUE);
    CHECK_EQ(c.signal, 2);
    CHECK(!c.has_addr);
    CHECK_EQ(parse("vCont;c:2;S05", &c), HL_GDB_CMD_STEP);
    CHECK_EQ(c.signal, 5);
    CHECK_EQ(parse("vCont;r1000,1010:1;c", &c), HL_GDB_CMD_STEP);
    CHECK(c.has_range);
    CHECK_U64_EQ(c.addr, 0x1000);
    CHECK_U64_EQ(c.end, 0x1010);
    CHECK_EQ(parse("vCont;s:p2.1;c:p1.-1", &c), HL_GDB_CMD_CONTINUE); /* p2 is not ours */
    CHECK_STREQ(HL_GDB_VCONT_REPLY, "vCont;c;C;s;S;r");
}

TEST(breakpoint_and_thread_fields)
{
    hl__gdb_cmd c;
    CHECK_EQ(parse("Z0,401000,1", &c), HL_GDB_CMD_INSERT_BP);
    CHECK_EQ(c.bp_type, HL_GDB_BP_SW);
    CHECK_U64_EQ(c.addr, 0x401000);
    CHECK_EQ(c.len, 1);
    CHECK_EQ(parse("z3,7ffe0,8", &c), HL_GDB_CMD_REMOVE_BP);
    CHECK_EQ(c.bp_type, HL_GDB_WP_READ);
    CHECK_EQ(c.len, 8);
    CHECK_EQ(parse("Hc-1", &c), HL_GDB_CMD_SET_THREAD);
    CHECK_EQ(c.thread_op, 'c');
    CHECK(!c.thread.has_pid && c.thread.tid == HL_GDB_ID_ALL);
    CHECK(hl__gdb_thread_is_ours(&c.thread));
    CHECK_EQ(parse("Hgp1.2", &c), HL_GDB_CMD_SET_THREAD);
    CHECK(c.thread.has_pid && c.thread.pid == 1 && c.thread.tid == 2);
    CHECK(!hl__gdb_thread_is_ours(&c.thread));
    CHECK_EQ(parse("Tp1", &c), HL_GDB_CMD_THREAD_ALIVE);
    CHECK(c.thread.has_pid && c.thread.tid == HL_GDB_ID_ALL && hl__gdb_thread_is_ours(&c.thread));
    CHECK_EQ(parse("T2", &c), HL_GDB_CMD_THREAD_ALIVE);
    CHECK(!hl__gdb_thread_is_ours(&c.thread));
    CHECK_EQ(parse("Tp7fffffffffffffff.0", &c), HL_GDB_CMD_THREAD_ALIVE);
    CHECK(c.thread.pid == INT64_MAX && c.thread.tid == HL_GDB_ID_ANY);
    CHECK_EQ(parse("D;1", &c), HL_GDB_CMD_DETACH);
    CHECK(c.thread.has_pid && c.thread.pid == 1);
    CHECK_EQ(parse("D", &c), HL_GDB_CMD_DETACH);
    CHECK(!c.thread.has_pid);
    CHECK_EQ(parse("qSupported:swbreak+", &c), HL_GDB_CMD_SUPPORTED);
    CHECK_EQ(c.data_len, 8);
    CHECK_MEMEQ(c.data, "swbreak+", 8);
    CHECK_EQ(parse("qSymbol:6d61696e", &c), HL_GDB_CMD_SYMBOL);
    CHECK_EQ(c.data_len, 8);
}

TEST(random_and_truncated_packets_never_crash_the_parser)
{
    static uint8_t buf[64];
    hl__gdb_cmd c;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        for (size_t n = 0; n <= strlen(good[i].packet); n++) {
            memcpy(buf, good[i].packet, n < sizeof buf ? n : sizeof buf);
            (void)hl__gdb_parse(buf, n < sizeof buf ? n : sizeof buf, &c);
            CHECK((c.kind == HL_GDB_CMD_MALFORMED) == (c.why != NULL));
        }
    uint64_t x = 0x9e3779b97f4a7c15ull;
    static const char alphabet[] = "?gGpPmMXcsCSZzDkHTqQv0123456789abcdefp.-,:;=xr";
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = (size_t)(x % 24);
        for (size_t i = 0; i < n; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)alphabet[x % (sizeof alphabet - 1)];
        }
        hl__gdb_kind k = hl__gdb_parse(buf, n, &c);
        CHECK(k == c.kind && k <= HL_GDB_CMD_MUST_REPLY_EMPTY);
        CHECK(!c.data || (c.data >= buf && c.data + c.data_len <= buf + n));
    }
}

/* Registers with every byte different. */
static void pattern_regs(hl__gdb_regs *r)
{
    uint8_t *b = (uint8_t *)r;
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < offsetof(hl__gdb_regs, fxsave) + HL_GDB_FXSAVE_SIZE; i++)
        b[i] = (uint8_t)(i * 7 + 1);
    memcpy(r->fxsave + 24, "\x80\x1f\x00\x00", 4); /* MXCSR without reserved bits */
}

/* The bytes of hl__gdb_regs gdb sees or keeps, compared (no padding inside this range). */
#define REGS_BYTES (offsetof(hl__gdb_regs, fxsave) + HL_GDB_FXSAVE_SIZE)

TEST(registers_round_trip)
{
    static char hex[HL_GDB_REGS_HEX], again[HL_GDB_REGS_HEX];
    hl__gdb_regs r, back;
    pattern_regs(&r);
    CHECK_EQ(hl__gdb_regs_encode(&r, hex, sizeof hex - 1), 0);
    CHECK_EQ(hl__gdb_regs_encode(&r, hex, sizeof hex), HL_GDB_REGS_HEX);
    CHECK_MEMEQ(hex, "01080f161d242b32", 16); /* rax, little-endian */
    back = r;
    CHECK_EQ(hl__gdb_regs_decode(&back, (uint8_t *)hex, sizeof hex), 0);
    CHECK_MEMEQ(&back, &r, REGS_BYTES); /* in place: exactly the same */
    memset(&back, 0, sizeof back);
    CHECK_EQ(hl__gdb_regs_decode(&back, (uint8_t *)hex, sizeof hex), 0);
    CHECK_EQ(hl__gdb_regs_encode(&back, again, sizeof again), HL_GDB_REGS_HEX);
    CHECK_MEMEQ(again, hex, sizeof hex);
    CHECK_U64_EQ(back.r15, r.r15);
    CHECK_U64_EQ(back.gs_base, r.gs_base);
    CHECK_U64_EQ(back.rflags, r.rflags & 0xffffffffu);
    CHECK_EQ(back.gs, r.gs);
    CHECK_EQ(back.fxsave[4], r.fxsave[4]); /* the abridged tag, through gdb's full one */
    CHECK_MEMEQ(back.fxsave + 8, r.fxsave + 8, 20);
    CHECK_MEMEQ(back.fxsave + 32, r.fxsave + 32, 10);
    CHECK_MEMEQ(back.fxsave + 160, r.fxsave + 160, 256);
    /* the g offsets add up to the sizes */
    size_t total = 0;
    for (unsigned i = 0; i < HL_GDB_REG_COUNT; i++)
        total += hl__gdb_reg_size(i);
    CHECK_EQ(total, HL_GDB_REGS_BYTES);
    CHECK_EQ(hl__gdb_reg_size(HL_GDB_REG_COUNT), 0);
    CHECK(hl__gdb_reg_name(HL_GDB_REG_COUNT) == NULL);
}

TEST(register_decode_rejects_bad_data)
{
    static char hex[HL_GDB_REGS_HEX + 2];
    hl__gdb_regs r, before;
    pattern_regs(&r);
    before = r;
    hl__gdb_regs_encode(&r, hex, sizeof hex);
    CHECK_EQ(hl__gdb_regs_decode(&r, (uint8_t *)hex, HL_GDB_REGS_HEX - 2), -1);
    memcpy(hex + HL_GDB_REGS_HEX, "00", 2);
    CHECK_EQ(hl__gdb_regs_decode(&r, (uint8_t *)hex, HL_GDB_REGS_HEX + 2), -1);
    hex[HL_GDB_REGS_HEX - 1] = 'x'; /* the last digit of gs_base */
    CHECK_EQ(hl__gdb_regs_decode(&r, (uint8_t *)hex, HL_GDB_REGS_HEX), -1);
    CHECK_MEMEQ(&r, &before, REGS_BYTES);
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_COUNT, u8("00000000"), 8), -1);
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_RAX, u8("00000000"), 8), -1);
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_CS, u8("0000000g"), 8), -1);
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_MXCSR, u8("801f0100"), 8), -1); /* reserved */
    CHECK_MEMEQ(&r, &before, REGS_BYTES);
    CHECK_EQ(hl__gdb_reg_read(&r, HL_GDB_REG_COUNT, hex, sizeof hex), 0);
    CHECK_EQ(hl__gdb_reg_read(&r, HL_GDB_REG_XMM0, hex, 31), 0);
}

/* The x87 state after FNINIT; FLD1 (TOP = 7, ST0 = 1.0 in physical register 7). */
static void fld1_state(hl__gdb_regs *r)
{
    static const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
    memset(r, 0, sizeof *r);
    memcpy(r->fxsave, "\x7f\x03\x00\x38\x80", 5); /* FCW 0x37f, FSW TOP=7, abridged tag 0x80 */
    memcpy(r->fxsave + 24, "\x80\x1f\x00\x00", 4);
    memcpy(r->fxsave + 32, one, 10);
}

static const char *read_reg(const hl__gdb_regs *r, unsigned regnum)
{
    static char hex[33];
    size_t n = hl__gdb_reg_read(r, regnum, hex, sizeof hex - 1);
    hex[n] = 0;
    return hex;
}

TEST(x87_registers_and_tags)
{
    hl__gdb_regs r;
    fld1_state(&r);
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_ST0), "0000000000000080ff3f");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FCTRL), "7f030000");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FSTAT), "00380000");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FTAG), "ff3f0000"); /* 0x3fff: R7 valid, rest empty */
    /* FLDZ: TOP = 6, ST0 = +0 (R6: zero), ST1 = 1.0 (R7: valid) */
    memmove(r.fxsave + 48, r.fxsave + 32, 16);
    memset(r.fxsave + 32, 0, 16);
    r.fxsave[3] = 0x30;
    r.fxsave[4] = 0xc0;
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FTAG), "ff1f0000");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_ST0 + 1), "0000000000000080ff3f");
    /* special: infinity, NaN, denormal, unnormal */
    memcpy(r.fxsave + 32, "\0\0\0\0\0\0\0\x80\xff\x7f", 10);
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FTAG), "ff2f0000");
    memcpy(r.fxsave + 32, "\1\0\0\0\0\0\0\0\0\0", 10);
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FTAG), "ff2f0000");
    memcpy(r.fxsave + 32, "\0\0\0\0\0\0\0\x40\xff\x3f", 10);
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FTAG), "ff2f0000");
    /* writing the tag word sets the abridged bits of the non-empty registers */
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_FTAG, u8("ffff0000"), 8), 0);
    CHECK_EQ(r.fxsave[4], 0);
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_FTAG, u8("fe7f0000"), 8), 0);
    CHECK_EQ(r.fxsave[4], 0x81);
    /* st0 = 2.0 */
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_ST0, u8("00000000000000800040"), 20), 0);
    CHECK_MEMEQ(r.fxsave + 32, "\0\0\0\0\0\0\0\x80\x00\x40", 10);
}

TEST(fpu_pointers_flags_and_selectors)
{
    hl__gdb_regs r;
    fld1_state(&r);
    memcpy(r.fxsave + 6, "\xff\xff", 2);                          /* FOP: 11 bits seen */
    memcpy(r.fxsave + 8, "\x88\x77\x66\x55\x44\x33\x22\x11", 8);  /* FIP */
    memcpy(r.fxsave + 16, "\x08\x07\x06\x05\x04\x03\x02\x01", 8); /* FDP */
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FOP), "ff070000");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FIOFF), "88776655");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FISEG), "44332211");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FOOFF), "08070605");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_FOSEG), "04030201");
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_FOP, u8("01000000"), 8), 0);
    CHECK_MEMEQ(r.fxsave + 6, "\x01\xf8", 2); /* the upper 5 bits kept */
    r.rflags = 0xabcd000000000246ull;
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_EFLAGS), "46020000");
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_EFLAGS, u8("47030000"), 8), 0);
    CHECK_U64_EQ(r.rflags, 0xabcd000000000347ull);
    r.cs = 0x23;
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_CS), "23000000");
    CHECK_EQ(hl__gdb_reg_write(&r, HL_GDB_REG_SS, u8("2b00ffff"), 8), 0);
    CHECK_EQ(r.ss, 0x2b);
    r.rip = 0x401000;
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_RIP), "0010400000000000");
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_MXCSR), "801f0000");
    memcpy(r.fxsave + 160 + 16, "0123456789abcdef", 16);
    CHECK_STREQ(read_reg(&r, HL_GDB_REG_XMM0 + 1), "30313233343536373839616263646566");
}

/* The XML's <reg> elements in order (a regnum attribute moves the count), checked against the
 * register table: names, sizes and numbers. */
TEST(xml_lists_the_registers_in_regnum_order)
{
    const char *s = hl__gdb_target_xml;
    unsigned regnum = 0;
    CHECK_EQ(strlen(hl__gdb_target_xml), hl__gdb_target_xml_len);
    CHECK_CONTAINS(s, "<architecture>i386:x86-64</architecture>");
    CHECK_CONTAINS(s, "<feature name=\"org.gnu.gdb.i386.core\">");
    CHECK_CONTAINS(s, "<feature name=\"org.gnu.gdb.i386.sse\">");
    CHECK_CONTAINS(s, "<feature name=\"org.gnu.gdb.i386.segments\">");
    CHECK(!strstr(s, "xi:include"));
    while ((s = strstr(s, "<reg name=\""))) {
        char name[16];
        unsigned bits, num;
        const char *end = strchr(s, '>');
        CHECK(end && sscanf(s, "<reg name=\"%15[^\"]\" bitsize=\"%u\"", name, &bits) == 2);
        const char *rn = strstr(s, "regnum=\"");
        if (rn && rn < end) {
            CHECK_EQ(sscanf(rn, "regnum=\"%u\"", &num), 1);
            CHECK_EQ(num, regnum);
        }
        CHECK(regnum < HL_GDB_REG_COUNT);
        CHECK_STREQ(name, hl__gdb_reg_name(regnum));
        CHECK_EQ(bits, 8 * hl__gdb_reg_size(regnum));
        regnum++;
        s = end;
    }
    CHECK_EQ(regnum, HL_GDB_REG_COUNT);
}

TEST(qxfer_chunks_reassemble_the_xml)
{
    static const size_t chunk[] = {1, 7, 100, 0xffb, HL_GDB_PACKET_MAX - 1};
    static char doc[8192];
    hl__gdb_cmd c;
    for (size_t k = 0; k < sizeof chunk / sizeof chunk[0]; k++) {
        size_t got = 0;
        for (;;) {
            char pkt[64];
            snprintf(pkt, sizeof pkt, "qXfer:features:read:target.xml:%zx,%zx", got, chunk[k]);
            CHECK_EQ(parse(pkt, &c), HL_GDB_CMD_XFER_FEATURES);
            size_t n = hl__gdb_xfer_features(&c, out, sizeof out);
            CHECK(n >= 1 && n - 1 <= chunk[k] && got + n - 1 <= sizeof doc);
            memcpy(doc + got, out + 1, n - 1);
            got += n - 1;
            if (out[0] == 'l')
                break;
            CHECK_EQ(out[0], 'm');
            CHECK_EQ(n - 1, chunk[k]);
        }
        CHECK_EQ(got, hl__gdb_target_xml_len);
        CHECK_MEMEQ(doc, hl__gdb_target_xml, got);
    }
    CHECK_EQ(parse("qXfer:features:read:target.xml:ffffffffffffffff,10", &c),
             HL_GDB_CMD_XFER_FEATURES);
    CHECK_EQ(hl__gdb_xfer_features(&c, out, sizeof out), 1);
    CHECK_EQ(out[0], 'l');
    CHECK_EQ(parse("qXfer:features:read:target.xml:0,ffffffff", &c), HL_GDB_CMD_XFER_FEATURES);
    CHECK_U64_EQ(c.len, HL_GDB_PACKET_MAX - 1);
    CHECK_EQ(hl__gdb_xfer_features(&c, out, 11), 11); /* a small buffer: a shorter 'm' */
    CHECK_EQ(out[0], 'm');
    CHECK_MEMEQ(out + 1, hl__gdb_target_xml, 10);
    CHECK_EQ(hl__gdb_xfer_features(&c, out, 0), 0);
    CHECK_EQ(parse("qXfer:features:read:64bit-core.xml:0,ffb", &c), HL_GDB_CMD_XFER_FEATURES);
    CHECK_EQ(hl__gdb_xfer_features(&c, out, sizeof out), 0);
    CHECK_EQ(hl__gdb_xfer_read("ab", 2, 0, 0, out, 4), 1);
    CHECK_EQ(out[0], 'm');
}

static const char *text(size_t n)
{
    out[n] = 0;
    return out;
}

TEST(replies)
{
    size_t n = hl__gdb_stop_reply(out, sizeof out, HL_GDB_SIGTRAP, HL_GDB_STOP_SWBREAK, 0);
    CHECK_STREQ(text(n), "T05swbreak:;thread:1;");
    n = hl__gdb_stop_reply(out, sizeof out, HL_GDB_SIGTRAP, HL_GDB_STOP_HWBREAK, 0);
    CHECK_STREQ(text(n), "T05hwbreak:;thread:1;");
    n = hl__gdb_stop_reply(out, sizeof out, HL_GDB_SIGTRAP, HL_GDB_STOP_WATCH, 0x7ffe0);
    CHECK_STREQ(text(n), "T05watch:7ffe0;thread:1;");
    n = hl__gdb_stop_reply(out, sizeof out, HL_GDB_SIGTRAP, HL_GDB_STOP_AWATCH, 0);
    CHECK_STREQ(text(n), "T05awatch:0;thread:1;");
    n = hl__gdb_stop_reply(out, sizeof out, HL_GDB_SIGSEGV, HL_GDB_STOP_SIGNAL, 0);
    CHECK_STREQ(text(n), "T0bthread:1;");
    CHECK_EQ(hl__gdb_stop_reply(out, 11, HL_GDB_SIGSEGV, HL_GDB_STOP_SIGNAL, 0), 0);
    CHECK_EQ(hl__gdb_stop_reply(out, 12, HL_GDB_SIGSEGV, HL_GDB_STOP_SIGNAL, 0), 12);
    CHECK_EQ(hl__gdb_stop_reply(out, sizeof out, 256, HL_GDB_STOP_SIGNAL, 0), 0);
    CHECK_EQ(hl__gdb_stop_reply(out, sizeof out, 5, (hl__gdb_stop_why)9, 0), 0);
    n = hl__gdb_supported_reply(out, sizeof out);
    CHECK_STREQ(text(n), "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;"
                         "vContSupported+");
    CHECK_EQ(hl__gdb_supported_reply(out, n - 1), 0);
    CHECK_EQ(hl__gdb_signal_for_vector(0), HL_GDB_SIGFPE);
    CHECK_EQ(hl__gdb_signal_for_vector(3), HL_GDB_SIGTRAP);
    CHECK_EQ(hl__gdb_signal_for_vector(6), HL_GDB_SIGILL);
    CHECK_EQ(hl__gdb_signal_for_vector(13), HL_GDB_SIGSEGV);
    CHECK_EQ(hl__gdb_signal_for_vector(14), HL_GDB_SIGSEGV);
    CHECK_EQ(hl__gdb_signal_for_vector(17), HL_GDB_SIGBUS);
    CHECK_EQ(HL_GDB_SIGBUS, 10); /* gdb's number, not Linux's 7 */
}

/* ---- the real gdb ---- */

static int have_gdb(void)
{
    return system("command -v gdb >/dev/null 2>&1") == 0;
}

/* Runs cmd, returning its output (stdout and stderr) in a static buffer. */
static const char *run(const char *cmd)
{
    static char buf[65536];
    size_t n = 0, k;
    FILE *f = popen(cmd, "r");
    CHECK(f != NULL);
    while (n < sizeof buf - 1 && (k = fread(buf + n, 1, sizeof buf - 1 - n, f)) > 0)
        n += k;
    buf[n] = 0;
    pclose(f);
    return buf;
}

/* `maint print remote-registers` of gdb given our XML as a file, without a target: each
 * register's remote number, g offset and size are ours. */
TEST(gdb_accepts_the_target_description)
{
    char path[] = "/tmp/hl_gdb_tdesc_XXXXXX", cmd[256];
    if (!have_gdb())
        SKIP("gdb is not installed");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK_EQ(write(fd, hl__gdb_target_xml, hl__gdb_target_xml_len), hl__gdb_target_xml_len);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "timeout 30 gdb -batch -nx -ex 'set tdesc filename %s' "
             "-ex 'maint print remote-registers' 2>&1",
             path);
    const char *o = run(cmd);
    unlink(path);
    CHECK(!strstr(o, "warning") && !strstr(o, "rror"));
    size_t offset = 0;
    for (unsigned i = 0; i < HL_GDB_REG_COUNT; i++) {
        char want[32], line[128];
        snprintf(want, sizeof want, "\n %s ", hl__gdb_reg_name(i));
        const char *at = strstr(o, want);
        unsigned nr, rel, off, size, rmt, goff;
        char type[32];
        CHECK(at != NULL);
        snprintf(line, sizeof line, "%.*s", (int)strcspn(at + 1, "\n"), at + 1);
        if (sscanf(line, "%*s %u %u %u %u %31s %u %u", &nr, &rel, &off, &size, type, &rmt, &goff) !=
            7)
            hl_test_fail(__FILE__, __LINE__, "gdb's line for %s: \"%s\"", want + 2, line);
        CHECK_EQ(rmt, i);
        CHECK_EQ(goff, offset);
        CHECK_EQ(size, hl__gdb_reg_size(i));
        offset += size;
    }
    CHECK_EQ(offset, HL_GDB_REGS_BYTES);
}

/* A stub over stdin/stdout for the test below: fixed registers, 256 bytes of memory at 0x1000,
 * software breakpoints that "continue" stops at, steps that add 1 to rip. Every packet's kind
 * goes to the log file, one a line. */
#define STUB_MEM 0x1000
static hl__gdb_regs stub_regs;
static uint8_t stub_mem[256];
static uint64_t stub_bp;
static FILE *stub_log;

static void stub_write(const void *p, size_t n)
{
    const char *b = p;
    while (n) {
        ssize_t k = write(1, b, n);
        if (k <= 0)
            exit(1);
        b += k;
        n -= (size_t)k;
    }
}

static void stub_init(void)
{
    fld1_state(&stub_regs);
    stub_regs.rax = 0x1122334455667788ull;
    stub_regs.r15 = 0xf15;
    stub_regs.rip = STUB_MEM;
    stub_regs.rsp = STUB_MEM + 0x80;
    stub_regs.rflags = 0x246;
    stub_regs.cs = 0x23;
    stub_regs.ss = stub_regs.ds = stub_regs.es = 0x1b;
    stub_regs.fs_base = 0x7f0000001000ull;
    memcpy(stub_regs.fxsave + 160 + 16, "\x11\x11\0\0\0\0\0\0\x22\x22\0\0\0\0\0\0", 16);
    for (size_t i = 0; i < sizeof stub_mem; i++)
        stub_mem[i] = (uint8_t)i;
}

/* The memory the command names, or NULL when it is outside stub_mem. */
static uint8_t *stub_memory(const hl__gdb_cmd *c)
{
    if (c->addr < STUB_MEM || c->addr - STUB_MEM > sizeof stub_mem ||
        c->len > sizeof stub_mem - (c->addr - STUB_MEM))
        return NULL;
    return stub_mem + (c->addr - STUB_MEM);
}

static size_t stub_text(char *o, const char *t)
{
    memcpy(o, t, strlen(t));
    return strlen(t);
}

static size_t stub_resume(const hl__gdb_cmd *c, char *o)
{
    if (c->kind == HL_GDB_CMD_STEP) {
        stub_regs.rip++;
        return hl__gdb_stop_reply(o, HL_GDB_PACKET_MAX, HL_GDB_SIGTRAP, HL_GDB_STOP_SIGNAL, 0);
    }
    stub_regs.rip = stub_bp;
    return hl__gdb_stop_reply(o, HL_GDB_PACKET_MAX, HL_GDB_SIGTRAP, HL_GDB_STOP_SWBREAK, 0);
}

/* The reply payload to c in o[0..HL_GDB_PACKET_MAX). */
static size_t stub_reply(const hl__gdb_cmd *c, char *o)
{
    uint8_t *m = stub_memory(c);
    switch (c->kind) {
    case HL_GDB_CMD_STOP_REASON:
        return hl__gdb_stop_reply(o, HL_GDB_PACKET_MAX, HL_GDB_SIGTRAP, HL_GDB_STOP_SIGNAL, 0);
    case HL_GDB_CMD_READ_REGS:
        return hl__gdb_regs_encode(&stub_regs, o, HL_GDB_PACKET_MAX);
    case HL_GDB_CMD_WRITE_REGS:
        return stub_text(o, hl__gdb_regs_decode(&stub_regs, c->data, c->data_len) ? "E01" : "OK");
    case HL_GDB_CMD_READ_REG:
        return hl__gdb_reg_read(&stub_regs, c->regnum, o, HL_GDB_PACKET_MAX);
    case HL_GDB_CMD_WRITE_REG:
        return stub_text(o, hl__gdb_reg_write(&stub_regs, c->regnum, c->data, c->data_len) ? "E01"
                                                                                           : "OK");
    case HL_GDB_CMD_READ_MEM:
        return m ? hl__gdb_hex_encode(o, HL_GDB_PACKET_MAX, m, c->len) : stub_text(o, "E01");
    case HL_GDB_CMD_WRITE_MEM:
        return stub_text(o,
                         m && !hl__gdb_hex_decode(m, c->len, c->data, c->data_len) ? "OK" : "E01");
    case HL_GDB_CMD_WRITE_MEM_BIN:
        if (m)
            memcpy(m, c->data, c->len);
        return stub_text(o, m ? "OK" : "E01");
    case HL_GDB_CMD_CONTINUE:
    case HL_GDB_CMD_STEP:
        return stub_resume(c, o);
    case HL_GDB_CMD_VCONT_QUERY:
        return stub_text(o, HL_GDB_VCONT_REPLY);
    case HL_GDB_CMD_INSERT_BP:
    case HL_GDB_CMD_REMOVE_BP:
        if (c->bp_type != HL_GDB_BP_SW)
            return 0;
        stub_bp = c->kind == HL_GDB_CMD_INSERT_BP ? c->addr : stub_bp;
        return stub_text(o, "OK");
    case HL_GDB_CMD_SET_THREAD:
    case HL_GDB_CMD_THREAD_ALIVE:
        return stub_text(o, hl__gdb_thread_is_ours(&c->thread) ? "OK" : "E01");
    case HL_GDB_CMD_SUPPORTED:
        return hl__gdb_supported_reply(o, HL_GDB_PACKET_MAX);
    case HL_GDB_CMD_XFER_FEATURES: {
        size_t n = hl__gdb_xfer_features(c, o, HL_GDB_PACKET_MAX);
        return n ? n : stub_text(o, "E00");
    }
    case HL_GDB_CMD_ATTACHED:
        return stub_text(o, "1");
    case HL_GDB_CMD_CURRENT_THREAD:
        return stub_text(o, "QC1");
    case HL_GDB_CMD_THREAD_FIRST:
        return stub_text(o, "m1");
    case HL_GDB_CMD_THREAD_NEXT:
        return stub_text(o, "l");
    case HL_GDB_CMD_DETACH:
    case HL_GDB_CMD_VKILL:
    case HL_GDB_CMD_START_NO_ACK:
    case HL_GDB_CMD_SYMBOL:
        return stub_text(o, "OK");
    case HL_GDB_CMD_MALFORMED:
        return stub_text(o, "E01");
    default:
        return 0;
    }
}

static int run_stub(const char *log_path)
{
    static char payload[HL_GDB_PACKET_MAX], frame[HL_GDB_FRAME_MAX];
    int acks = 1;
    uint8_t b;
    hl__gdb_cmd c;
    stub_log = fopen(log_path, "w");
    stub_init();
    hl__gdb_rx_init(&rx);
    while (read(0, &b, 1) == 1) {
        hl__gdb_event ev = hl__gdb_rx_feed(&rx, b);
        if (ev == HL_GDB_EV_BAD_CHECKSUM || ev == HL_GDB_EV_OVERLONG)
            stub_write("-", 1);
        if (ev != HL_GDB_EV_PACKET)
            continue;
        if (acks)
            stub_write("+", 1);
        hl__gdb_parse(rx.buf, rx.len, &c);
        fprintf(stub_log, "%d %.*s\n", c.kind, (int)(rx.len < 60 ? rx.len : 60), rx.buf);
        fflush(stub_log);
        if (c.kind == HL_GDB_CMD_KILL)
            return 0;
        size_t n = stub_reply(&c, payload);
        stub_write(frame, hl__gdb_frame(frame, sizeof frame, payload, n));
        acks &= c.kind != HL_GDB_CMD_START_NO_ACK;
        if (c.kind == HL_GDB_CMD_DETACH || c.kind == HL_GDB_CMD_VKILL)
            return 0;
    }
    return 0;
}

/* 1 if the log has a line for kind. */
static int logged(const char *log, hl__gdb_kind kind)
{
    char want[8];
    snprintf(want, sizeof want, "%d ", kind);
    for (const char *l = log; l && *l; l = strchr(l, '\n'), l = l ? l + 1 : NULL)
        if (strncmp(l, want, strlen(want)) == 0)
            return 1;
    return 0;
}

/* gdb debugs the stub above through a pipe: the registers it prints, memory it reads and
 * writes, a register it writes, a breakpoint and a step. */
TEST(gdb_debugs_a_stub_built_on_this_layer)
{
    char self[512], log_path[] = "/tmp/hl_gdb_stub_XXXXXX", cmd[2048];
    if (!have_gdb())
        SKIP("gdb is not installed");
    ssize_t k = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(k > 0);
    self[k] = 0;
    int fd = mkstemp(log_path);
    CHECK(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd,
             "timeout 30 gdb -batch -nx -ex 'set remotetimeout 10' "
             "-ex 'target remote | exec \"%s\" --gdb-stub %s' "
             "-ex 'p/x $rax' -ex 'p/x $r15' -ex 'p/x $pc' -ex 'p/x $eflags' -ex 'p/x $cs' "
             "-ex 'p $st0' -ex 'p/x $ftag' -ex 'p/x $fstat' -ex 'p/x $xmm1.v2_int64' "
             "-ex 'p/x $mxcsr' -ex 'p/x $fs_base' -ex 'x/4xb 0x1004' "
             "-ex 'set var *(unsigned char *)0x1001 = 0x55' -ex 'x/2xb 0x1000' "
             "-ex 'set $rbx = 0x1234' -ex 'maint flush register-cache' -ex 'p/x $rbx' "
             "-ex 'break *0x1010' -ex 'continue' -ex 'p/x $pc' -ex 'stepi' -ex 'p/x $pc' "
             "2>&1",
             self, log_path);
    const char *o = run(cmd);
    static char log[65536];
    FILE *f = fopen(log_path, "r");
    CHECK(f != NULL);
    log[fread(log, 1, sizeof log - 1, f)] = 0;
    fclose(f);
    unlink(log_path);
    CHECK_CONTAINS(o, "= 0x1122334455667788\n");
    CHECK_CONTAINS(o, "= 0xf15\n");
    CHECK_CONTAINS(o, "= 0x1000\n");
    CHECK_CONTAINS(o, "= 0x246\n");
    CHECK_CONTAINS(o, "= 0x23\n");
    CHECK_CONTAINS(o, "= 1\n");
    CHECK_CONTAINS(o, "= 0x3fff\n");
    CHECK_CONTAINS(o, "= 0x3800\n");
    CHECK_CONTAINS(o, "= {0x1111, 0x2222}\n");
    CHECK_CONTAINS(o, "= 0x1f80\n");
    CHECK_CONTAINS(o, "= 0x7f0000001000\n");
    CHECK_CONTAINS(o, "0x1004:\t0x04\t0x05\t0x06\t0x07\n");
    CHECK_CONTAINS(o, "0x1000:\t0x00\t0x55\n");
    CHECK_CONTAINS(o, "= 0x1234\n");
    CHECK_CONTAINS(o, "Breakpoint 1, 0x0000000000001010");
    CHECK_CONTAINS(o, "= 0x1010\n");
    CHECK_CONTAINS(o, "= 0x1011\n");
    CHECK(logged(log, HL_GDB_CMD_SUPPORTED) && logged(log, HL_GDB_CMD_XFER_FEATURES));
    CHECK(logged(log, HL_GDB_CMD_READ_REGS) && logged(log, HL_GDB_CMD_READ_MEM));
    CHECK(logged(log, HL_GDB_CMD_WRITE_REG) || logged(log, HL_GDB_CMD_WRITE_REGS));
    CHECK(logged(log, HL_GDB_CMD_WRITE_MEM) || logged(log, HL_GDB_CMD_WRITE_MEM_BIN));
    CHECK(logged(log, HL_GDB_CMD_INSERT_BP) && logged(log, HL_GDB_CMD_REMOVE_BP));
    CHECK(logged(log, HL_GDB_CMD_CONTINUE) && logged(log, HL_GDB_CMD_STEP));
    if (logged(log, HL_GDB_CMD_MALFORMED))
        hl_test_fail(__FILE__, __LINE__, "gdb sent a packet the parser refused:\n%s", log);
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(hex_helpers_are_total),
        TEST_ENTRY(frames_round_trip_every_byte),
        TEST_ENTRY(checksums_are_checked),
        TEST_ENTRY(bytes_between_packets),
        TEST_ENTRY(dollar_restarts_a_packet),
        TEST_ENTRY(overlong_packets_are_dropped),
        TEST_ENTRY(every_command_kind_parses),
        TEST_ENTRY(memory_and_register_fields),
        TEST_ENTRY(resumption_fields),
        TEST_ENTRY(breakpoint_and_thread_fields),
        TEST_ENTRY(random_and_truncated_packets_never_crash_the_parser),
        TEST_ENTRY(registers_round_trip),
        TEST_ENTRY(register_decode_rejects_bad_data),
        TEST_ENTRY(x87_registers_and_tags),
        TEST_ENTRY(fpu_pointers_flags_and_selectors),
        TEST_ENTRY(xml_lists_the_registers_in_regnum_order),
        TEST_ENTRY(qxfer_chunks_reassemble_the_xml),
        TEST_ENTRY(replies),
        TEST_ENTRY(gdb_accepts_the_target_description),
        TEST_ENTRY(gdb_debugs_a_stub_built_on_this_layer),
    };
    /* The last test runs this binary as the stub gdb talks to. */
    if (argc == 3 && strcmp(argv[1], "--gdb-stub") == 0)
        return run_stub(argv[2]);
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

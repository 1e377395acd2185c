/* gdb_proto.h: the GDB Remote Serial Protocol without I/O: hex, packet framing, a total parser. */
#ifndef HL_SRC_GDB_PROTO_H
#define HL_SRC_GDB_PROTO_H

/* What a gdb stub needs besides its transport and its target, as pure functions over caller
 * buffers (no allocation, no I/O, no printing): hex helpers; the receive state machine and the
 * send framing of packets; a parser of the commands gdb sends, total over any bytes; the x86-64
 * register file gdb sees (its target description XML, the `g`/`G`/`p`/`P` encodings over an
 * FXSAVE image); stop replies and the qSupported reply. One target thread: pid 1, tid 1.
 * Reference: the GDB manual, appendix "Remote Serial Protocol" and "Target Descriptions". */

#include <stddef.h>
#include <stdint.h>

/* The largest packet payload either side sends (the bytes between '$' and '#', as sent),
 * advertised to gdb as PacketSize. gdb then never sends more, and asks for at most half of it
 * in one `m` read. */
#define HL_GDB_PACKET_MAX 16384
/* A buffer that holds any framed packet with a payload of up to HL_GDB_PACKET_MAX bytes: '$',
 * every byte escaped, '#', two checksum digits. */
#define HL_GDB_FRAME_MAX (2 * HL_GDB_PACKET_MAX + 4)
/* The most bytes one `m` read is answered with (its reply is two hex digits a byte). */
#define HL_GDB_MEM_MAX (HL_GDB_PACKET_MAX / 2)
/* Our one thread, as qC, qfThreadInfo and stop replies name it. */
#define HL_GDB_PID 1
#define HL_GDB_TID 1

/* ---- hex ---- */

/* Writes the 2n lowercase hex digits of bytes[0..n) to out (no NUL). Returns 2n, or 0 when
 * cap < 2n (nothing written). */
size_t hl__gdb_hex_encode(char *out, size_t cap, const void *bytes, size_t n);

/* Decodes len hex digits (either case) into len/2 bytes of out. Returns 0, or -1 when len is
 * odd, a byte is not a hex digit or len/2 > cap (out untouched). */
int hl__gdb_hex_decode(uint8_t *out, size_t cap, const uint8_t *hex, size_t len);

/* Parses the whole of s[0..len) as a hex number (either case, leading zeros allowed). Returns 0
 * with *out set, or -1 when it is empty, holds a non-hex byte or exceeds UINT64_MAX. */
int hl__gdb_parse_hex_u64(const uint8_t *s, size_t len, uint64_t *out);

/* ---- framing ---- */

/* What one received byte completed. */
typedef enum hl__gdb_event {
    HL_GDB_EV_NONE,         /* nothing yet: inside a packet, or a byte between packets ignored */
    HL_GDB_EV_PACKET,       /* rx->buf[0..rx->len) is a packet with a good checksum: send '+' */
    HL_GDB_EV_BAD_CHECKSUM, /* a packet ended with a wrong or non-hex checksum, or in the middle
                               of an escape; dropped: send '-' (gdb resends) */
    HL_GDB_EV_OVERLONG,     /* a packet of more than HL_GDB_PACKET_MAX payload bytes ended;
                               dropped, never stored (gdb does not send these after PacketSize) */
    HL_GDB_EV_INTERRUPT,    /* 0x03 between packets: gdb asks the target to stop (Ctrl-C) */
    HL_GDB_EV_ACK,          /* '+' between packets: the last reply arrived */
    HL_GDB_EV_NACK,         /* '-' between packets: resend the last reply */
} hl__gdb_event;

/* The receive side. buf and len are for the caller to read after HL_GDB_EV_PACKET; the other
 * fields are private. */
typedef struct hl__gdb_rx {
    uint8_t buf[HL_GDB_PACKET_MAX]; /* the payload, un-escaped ('}' x becomes x ^ 0x20) */
    size_t len;
    size_t raw; /* payload bytes received, as sent */
    uint8_t state, escape, overlong, sum, check_hi;
} hl__gdb_rx;

/* Starts between packets. */
void hl__gdb_rx_init(hl__gdb_rx *rx);

/* Feeds one byte received from gdb and says what it completed. A '$' always starts a new packet
 * (dropping any unfinished one); inside a packet every byte but '#' and '}' is payload, including
 * 0x03, '+', '-' and '*' (gdb never run-length encodes what it sends); the two bytes after '#'
 * are the checksum: the sum modulo 256 of the payload bytes as sent. rx->buf[0..rx->len) holds
 * the packet after HL_GDB_EV_PACKET until the next call. */
hl__gdb_event hl__gdb_rx_feed(hl__gdb_rx *rx, uint8_t byte);

/* Frames payload[0..len) as "$<payload>#xx" into out, escaping '$', '#', '}' and '*' as '}'
 * then the byte ^ 0x20 (so binary payloads are safe and nothing is read as run-length
 * encoding); the checksum covers the escaped bytes. Returns the frame's length (at most
 * 2 * len + 4), or 0 when it does not fit in cap (out's contents are then unspecified). */
size_t hl__gdb_frame(char *out, size_t cap, const void *payload, size_t len);

/* ---- commands ---- */

/* The commands the parser knows. The comment is the packet; in brackets the fields it sets. */
typedef enum hl__gdb_kind {
    HL_GDB_CMD_UNKNOWN,          /* anything else: reply with an empty packet ("not supported") */
    HL_GDB_CMD_MALFORMED,        /* a known command whose arguments do not parse [why]: "E01" */
    HL_GDB_CMD_STOP_REASON,      /* ? : reply with the last stop reply */
    HL_GDB_CMD_READ_REGS,        /* g */
    HL_GDB_CMD_WRITE_REGS,       /* G hex... [data: the hex digits, even, non-empty] */
    HL_GDB_CMD_READ_REG,         /* p n [regnum] */
    HL_GDB_CMD_WRITE_REG,        /* P n=hex... [regnum, data: the hex digits, even, non-empty] */
    HL_GDB_CMD_READ_MEM,         /* m addr,len [addr, len: clamped to HL_GDB_MEM_MAX] */
    HL_GDB_CMD_WRITE_MEM,        /* M addr,len:hex... [addr, len, data: 2 * len hex digits] */
    HL_GDB_CMD_WRITE_MEM_BIN,    /* X addr,len:bytes [addr, len, data: len un-escaped bytes] */
    HL_GDB_CMD_CONTINUE,         /* c [addr], C sig[;addr], vCont;c / vCont;C sig
                                    [has_addr, addr, signal] */
    HL_GDB_CMD_STEP,             /* s [addr], S sig[;addr], vCont;s / vCont;S sig / vCont;r
                                    [has_addr, addr, signal; has_range, addr = start, end] */
    HL_GDB_CMD_VCONT_QUERY,      /* vCont? : reply HL_GDB_VCONT_REPLY */
    HL_GDB_CMD_INSERT_BP,        /* Z type,addr,kind [bp_type, addr, len = kind] */
    HL_GDB_CMD_REMOVE_BP,        /* z type,addr,kind [bp_type, addr, len = kind] */
    HL_GDB_CMD_DETACH,           /* D, D;pid [thread.has_pid, thread.pid] : reply "OK" */
    HL_GDB_CMD_KILL,             /* k : no reply */
    HL_GDB_CMD_VKILL,            /* vKill;pid [thread.has_pid, thread.pid] : reply "OK" */
    HL_GDB_CMD_SET_THREAD,       /* H op thread-id [thread_op 'g' or 'c', thread] */
    HL_GDB_CMD_THREAD_ALIVE,     /* T thread-id [thread] : "OK" if it is ours, else "E01" */
    HL_GDB_CMD_SUPPORTED,        /* qSupported[:features] [data: gdb's features, maybe empty] */
    HL_GDB_CMD_XFER_FEATURES,    /* qXfer:features:read:annex:offset,length
                                    [data: the annex, addr = offset, len = length] */
    HL_GDB_CMD_ATTACHED,         /* qAttached[:pid] [thread.has_pid, thread.pid] */
    HL_GDB_CMD_CURRENT_THREAD,   /* qC : reply "QC1" */
    HL_GDB_CMD_THREAD_FIRST,     /* qfThreadInfo : reply "m1" */
    HL_GDB_CMD_THREAD_NEXT,      /* qsThreadInfo : reply "l" */
    HL_GDB_CMD_START_NO_ACK,     /* QStartNoAckMode : reply "OK", then send and expect no acks */
    HL_GDB_CMD_OFFSETS,          /* qOffsets : reply "Text=x;Data=x;Bss=x", x the load bias */
    HL_GDB_CMD_SYMBOL,           /* qSymbol:... [data: what follows "qSymbol:"] : reply "OK" */
    HL_GDB_CMD_MUST_REPLY_EMPTY, /* vMustReplyEmpty : reply with an empty packet */
} hl__gdb_kind;

/* Z/z types. Other types parse as HL_GDB_CMD_UNKNOWN (an empty reply: not supported). */
#define HL_GDB_BP_SW 0     /* software breakpoint: len = 1 (int3) */
#define HL_GDB_BP_HW 1     /* hardware breakpoint */
#define HL_GDB_WP_WRITE 2  /* write watchpoint: len = bytes watched */
#define HL_GDB_WP_READ 3   /* read watchpoint */
#define HL_GDB_WP_ACCESS 4 /* access (read or write) watchpoint */

/* Thread ids: -1 means all threads, 0 any thread. */
#define HL_GDB_ID_ALL (-1)
#define HL_GDB_ID_ANY 0

/* An RSP thread-id: [p<pid>.]<tid> in hex; "p<pid>" alone means all of pid's threads. */
typedef struct hl__gdb_thread {
    int has_pid; /* 0: no p<pid> part (pid is then 0) */
    int64_t pid; /* HL_GDB_ID_ALL, HL_GDB_ID_ANY or 1 .. INT64_MAX */
    int64_t tid; /* HL_GDB_ID_ALL, HL_GDB_ID_ANY or 1 .. INT64_MAX */
} hl__gdb_thread;

/* A parsed command. Fields a kind does not list are zero. data points into the packet given to
 * hl__gdb_parse. */
typedef struct hl__gdb_cmd {
    hl__gdb_kind kind;
    uint64_t addr;
    uint64_t len;
    uint64_t end;
    uint64_t regnum;
    const uint8_t *data;
    size_t data_len;
    hl__gdb_thread thread;
    int has_addr, has_range;
    int bp_type;     /* HL_GDB_BP_* or HL_GDB_WP_* */
    int signal;      /* C, S, vCont;C, vCont;S: 0 .. 255 */
    char thread_op;  /* H: 'g' (registers, memory) or 'c' (resumption) */
    const char *why; /* HL_GDB_CMD_MALFORMED: static text naming the problem; otherwise NULL */
} hl__gdb_cmd;

/* Parses the packet p[0..n) (a payload from hl__gdb_rx), reading no byte outside it, into *out
 * (always fully written) and returns out->kind. Numbers are hex u64; one that overflows makes
 * the command MALFORMED, as does any trailing byte, an odd or non-hex hex field, a data length
 * that differs from len, a memory range that wraps past 2^64 (m, M, X with len > 0), or
 * Z/z conditions (";..."; ConditionalBreakpoints is not advertised). `m` lengths and
 * qXfer lengths are clamped (to HL_GDB_MEM_MAX and HL_GDB_PACKET_MAX - 1: the protocol lets a
 * reply be shorter), not rejected. vCont reports the leftmost action that applies to our thread
 * (one without a thread-id, or whose thread-id matches per hl__gdb_thread_is_ours); vCont;r is
 * a step over a range, which the stub may treat as a single step; a vCont in which no action
 * applies to us, or the first that does is 't', is MALFORMED. */
hl__gdb_kind hl__gdb_parse(const uint8_t *p, size_t n, hl__gdb_cmd *out);

/* 1 if t names our thread: pid absent, any, all or HL_GDB_PID, and tid any, all or HL_GDB_TID. */
int hl__gdb_thread_is_ours(const hl__gdb_thread *t);

/* ---- registers: x86-64 as gdb's i386 features describe it ---- */

/* The register numbers of the `g` packet, `p` and `P`: their order in hl__gdb_target_xml. The
 * general registers are in gdb's order, which is not the instruction encoding's. */
enum {
    HL_GDB_REG_RAX,
    HL_GDB_REG_RBX,
    HL_GDB_REG_RCX,
    HL_GDB_REG_RDX,
    HL_GDB_REG_RSI,
    HL_GDB_REG_RDI,
    HL_GDB_REG_RBP,
    HL_GDB_REG_RSP,
    HL_GDB_REG_R8,
    HL_GDB_REG_R15 = HL_GDB_REG_R8 + 7,
    HL_GDB_REG_RIP,    /* 16 */
    HL_GDB_REG_EFLAGS, /* 17: 32 bits */
    HL_GDB_REG_CS,
    HL_GDB_REG_SS,
    HL_GDB_REG_DS,
    HL_GDB_REG_ES,
    HL_GDB_REG_FS,
    HL_GDB_REG_GS,
    HL_GDB_REG_ST0,                        /* 24: st0 .. st7, 80 bits each */
    HL_GDB_REG_FCTRL = HL_GDB_REG_ST0 + 8, /* 32 */
    HL_GDB_REG_FSTAT,
    HL_GDB_REG_FTAG,
    HL_GDB_REG_FISEG,
    HL_GDB_REG_FIOFF,
    HL_GDB_REG_FOSEG,
    HL_GDB_REG_FOOFF,
    HL_GDB_REG_FOP,
    HL_GDB_REG_XMM0,                         /* 40: xmm0 .. xmm15 */
    HL_GDB_REG_MXCSR = HL_GDB_REG_XMM0 + 16, /* 56 */
    HL_GDB_REG_FS_BASE,
    HL_GDB_REG_GS_BASE,
    HL_GDB_REG_COUNT /* 59 */
};
/* Bytes of all registers in the `g` packet, and its hex digits. */
#define HL_GDB_REGS_BYTES 552
#define HL_GDB_REGS_HEX (2 * HL_GDB_REGS_BYTES)
#define HL_GDB_FXSAVE_SIZE 512

/* The registers gdb sees, as a stub fills them from the vCPU (KVM_GET_REGS, KVM_GET_SREGS
 * selectors and bases, the first 512 bytes of KVM_GET_XSAVE) and writes them back. */
typedef struct hl__gdb_regs {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rip;
    uint64_t rflags; /* gdb sees the low 32 bits (eflags); writes keep the upper 32 */
    uint64_t fs_base, gs_base;
    uint16_t cs, ss, ds, es, fs, gs; /* selectors; gdb sees 32 bits, writes keep the low 16 */
    /* The FXSAVE64 image (SDM vol. 1, 10.5.1): FCW, FSW, the abridged tag byte, FOP, 64-bit FIP
     * and FDP, MXCSR, ST0-7 in 16-byte slots, XMM0-15. gdb's fctrl, fstat, fop and mxcsr are
     * those fields; its ftag is the full 16-bit tag word, computed from the abridged byte and
     * each register's contents as gdb's own i387 code does (written back as "tag != empty");
     * fioff/fiseg are FIP's low/high 32 bits and fooff/foseg FDP's (gdb's amd64 convention for
     * FXSAVE64). Bytes gdb does not see (MXCSR_MASK, reserved, available) are never changed. */
    uint8_t fxsave[HL_GDB_FXSAVE_SIZE];
} hl__gdb_regs;

/* Register regnum's name as the XML gives it and its size in the `g` packet in bytes; NULL and
 * 0 for a number that is not a register. */
const char *hl__gdb_reg_name(uint64_t regnum);
size_t hl__gdb_reg_size(uint64_t regnum);

/* The `g` reply: every register in regnum order, target (little-endian) byte order, as hex.
 * Returns HL_GDB_REGS_HEX, or 0 when cap is smaller (nothing written). */
size_t hl__gdb_regs_encode(const hl__gdb_regs *r, char *hex, size_t cap);

/* Applies a `G` packet's data: exactly HL_GDB_REGS_HEX hex digits. Returns 0, or -1 (with *r
 * untouched) for another length, a non-hex digit or an MXCSR with reserved bits (31:16) set,
 * which XRSTOR and KVM_SET_XSAVE would refuse. */
int hl__gdb_regs_decode(hl__gdb_regs *r, const uint8_t *hex, size_t len);

/* The `p n` reply: register regnum as 2 * hl__gdb_reg_size(regnum) hex digits. Returns that
 * length, or 0 when regnum is not a register or cap is too small (nothing written). */
size_t hl__gdb_reg_read(const hl__gdb_regs *r, uint64_t regnum, char *hex, size_t cap);

/* Applies `P n=hex`: exactly 2 * hl__gdb_reg_size(regnum) hex digits. Returns 0, or -1 (with *r
 * untouched) when regnum is not a register, the length differs, a digit is not hex or it is an
 * MXCSR with reserved bits set. */
int hl__gdb_reg_write(hl__gdb_regs *r, uint64_t regnum, const uint8_t *hex, size_t len);

/* ---- target description ---- */

/* The one annex served, "target.xml": architecture i386:x86-64 with the features
 * org.gnu.gdb.i386.core, .sse and .segments inlined (no xi:include), registers in regnum order.
 * NUL-terminated; hl__gdb_target_xml_len excludes the NUL. */
extern const char hl__gdb_target_xml[];
extern const size_t hl__gdb_target_xml_len;

/* A qXfer read reply for doc[0..doc_len) at offset: "m" and the next bytes when more remain
 * after them, "l" and the bytes up to the end otherwise ("l" alone at or past the end); at most
 * length bytes, and fewer if out is small. The bytes may need escaping: send with
 * hl__gdb_frame. Returns the reply's length (>= 1), or 0 when cap is 0. */
size_t hl__gdb_xfer_read(const char *doc, size_t doc_len, uint64_t offset, uint64_t length,
                         char *out, size_t cap);

/* Serves HL_GDB_CMD_XFER_FEATURES: hl__gdb_xfer_read of hl__gdb_target_xml when annex is
 * "target.xml". Returns the reply's length, or 0 for another annex (reply "E00") or cap 0. */
size_t hl__gdb_xfer_features(const hl__gdb_cmd *cmd, char *out, size_t cap);

/* ---- replies ---- */

/* Signal numbers in stop replies: gdb's own numbering (include/gdb/signals.def), which is part
 * of the protocol. These match Linux's except SIGBUS: gdb's is 10 (7 is gdb's SIGEMT). */
#define HL_GDB_SIGINT 2
#define HL_GDB_SIGILL 4
#define HL_GDB_SIGTRAP 5
#define HL_GDB_SIGABRT 6
#define HL_GDB_SIGFPE 8
#define HL_GDB_SIGKILL 9
#define HL_GDB_SIGBUS 10
#define HL_GDB_SIGSEGV 11
#define HL_GDB_SIGALRM 14

/* A host (Linux) signal number in gdb's numbering (they differ only for SIGBUS). */
int hl__gdb_signal(int host_signal);

/* The signal to report for x86 exception vector v: hl__cpu_vector_signal's, in gdb's numbering. */
int hl__gdb_signal_for_vector(uint64_t v);

/* Why the target stopped, beyond its signal. */
typedef enum hl__gdb_stop_why {
    HL_GDB_STOP_SIGNAL,  /* only the signal (an exception, an interrupt, a finished step) */
    HL_GDB_STOP_SWBREAK, /* an int3 of a Z0 breakpoint: report rip AT the int3 (the CPU leaves
                            it one byte past; with swbreak+ gdb does not adjust it) */
    HL_GDB_STOP_HWBREAK, /* a Z1 breakpoint */
    HL_GDB_STOP_WATCH,   /* a Z2 write watchpoint hit at addr */
    HL_GDB_STOP_RWATCH,  /* a Z3 read watchpoint */
    HL_GDB_STOP_AWATCH,  /* a Z4 access watchpoint */
} hl__gdb_stop_why;

/* A stop reply "T<sig>[reason:[addr];]thread:1;", e.g. "T05swbreak:;thread:1;" or
 * "T05watch:1000;thread:1;" (addr is used only by the watch reasons). signal is 0 .. 255.
 * Returns its length, or 0 when it does not fit in cap or signal is out of range. */
size_t hl__gdb_stop_reply(char *out, size_t cap, int signal, hl__gdb_stop_why why, uint64_t addr);

/* The qSupported reply: "PacketSize=4000;qXfer:features:read+;swbreak+;hwbreak+;
 * QStartNoAckMode+;vContSupported+" (PacketSize = HL_GDB_PACKET_MAX in hex). Returns its length,
 * or 0 when it does not fit in cap. */
size_t hl__gdb_supported_reply(char *out, size_t cap);

/* The vCont? reply: the actions hl__gdb_parse understands (r is a step over a range). */
#define HL_GDB_VCONT_REPLY "vCont;c;C;s;S;r"

#endif

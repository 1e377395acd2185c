/* gdb_stub.c: a gdb remote stub for one sandbox. The vCPU runs on the caller's thread, so the stub
 * talks to gdb on that thread whenever the guest is stopped; while it runs, gdb's Ctrl-C (0x03)
 * arrives as the kick signal (O_ASYNC with F_SETSIG) and stops it. The protocol's bytes are
 * gdb_proto.c's; this file is the target: registers, memory, breakpoints and resuming.
 * Everything gdb sends is untrusted: addresses and lengths are checked against the guest's
 * mapped pages, and a lost connection is a detach. */
#include "gdb_stub.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "error.h"
#include "gdb_proto.h"
#include "guest_regs.h"
#include "paging.h"
#include "timer.h"
#include "x86.h"

#define SW_BP_MAX 64
#define POLL_MS 200 /* how often a wait for gdb looks for hl_interrupt */
#define HW_BP_MAX 4
#define INT3 0xcc
#define DR6_BS (1ull << 14) /* single-step */

typedef struct sw_bp {
    uint64_t addr;
    uint8_t orig;
    int armed;
} sw_bp;

typedef struct hw_bp {
    int type; /* HL_GDB_BP_HW, HL_GDB_WP_*; 0 with len 0: free */
    uint64_t addr, len;
} hw_bp;

typedef enum resume {
    RESUME_NONE,     /* keep serving packets */
    RESUME_CONTINUE, /* run the guest */
    RESUME_STEP,     /* run one instruction */
    RESUME_DETACH,   /* gdb left: run on without the debugger */
    RESUME_KILL,     /* gdb killed the guest: the call fails */
} resume;

struct hl__gdb {
    int listen_fd, fd; /* fd: -1 until gdb connects and after it leaves */
    int connected;     /* gdb came (it may have left since) */
    int no_ack;        /* QStartNoAckMode */
    int stepping;
    int from_stub;    /* the stop came through the exception stub: resuming must leave it */
    int regs_changed; /* gdb wrote registers */
    int killed;
    int waiting;       /* gdb resumed the guest and waits for a stop reply */
    int ctrl_c;        /* a 0x03 arrived with a resume packet or between calls: stop first */
    hl__gdb_regs regs; /* the guest's registers at the stop */
    char stop[64];     /* the last stop reply, for '?' */
    size_t stop_len;
    sw_bp sw[SW_BP_MAX];
    hw_bp hw[HW_BP_MAX];
    hl__gdb_rx rx;
    char reply[HL_GDB_PACKET_MAX];
    char frame[HL_GDB_FRAME_MAX];
};

/* ---------------------------------------------------------------- the connection */

int hl__gdb_open(hl_sandbox *sb, uint16_t port)
{
    hl__gdb *g = calloc(1, sizeof *g);
    if (!g)
        return hl__fail(HL_ENOMEM, "out of memory for the gdb stub");
    g->fd = -1;
    g->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* never reachable from another machine */
    int one = 1;
    if (g->listen_fd < 0 ||
        setsockopt(g->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(g->listen_fd, (struct sockaddr *)&a, sizeof a) < 0 || listen(g->listen_fd, 1) < 0) {
        int err = errno;
        hl__gdb_close(g);
        return hl__fail(HL_EIO, "gdb stub: cannot listen on 127.0.0.1:%u: %s", port, strerror(err));
    }
    sb->gdb = g;
    return 0;
}

void hl__gdb_close(hl__gdb *g)
{
    if (!g)
        return;
    if (g->fd >= 0)
        close(g->fd);
    if (g->listen_fd >= 0)
        close(g->listen_fd);
    free(g);
}

static void hang_up(hl__gdb *g)
{
    if (g->fd >= 0)
        close(g->fd);
    g->fd = -1;
}

/* Waits until fd can be read; hl_interrupt (or destroying the sandbox from another thread's
 * handle) ends the wait with HL_ECANCELLED. */
static int wait_readable(hl_sandbox *sb, int fd)
{
    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (hl__interrupt_requested(sb->interrupt))
            return hl__fail(HL_ECANCELLED, "call cancelled by hl_interrupt while the debugger "
                                           "held the guest");
        int n = poll(&p, 1, POLL_MS);
        if (n > 0)
            return 0;
        if (n < 0 && errno != EINTR)
            return hl__fail(HL_EIO, "gdb stub: poll: %s", strerror(errno));
    }
}

static int wait_for_gdb(hl_sandbox *sb, hl__gdb *g)
{
    int fd = -1, rc = 0;
    while (fd < 0 && !(rc = wait_readable(sb, g->listen_fd))) {
        fd = accept4(g->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0 && errno != EINTR && errno != EAGAIN && errno != ECONNABORTED)
            return hl__fail(HL_EIO, "gdb stub: accept: %s", strerror(errno));
    }
    if (rc)
        return rc;
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    close(g->listen_fd); /* one debugger per sandbox */
    g->listen_fd = -1;
    g->fd = fd;
    g->connected = 1;
    hl__gdb_rx_init(&g->rx);
    return 0;
}

static void send_raw(hl__gdb *g, const void *p, size_t n)
{
    const char *b = p;
    while (g->fd >= 0 && n) {
        ssize_t w = send(g->fd, b, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            hang_up(g);
            return;
        }
        b += w, n -= (size_t)w;
    }
}

static void send_packet(hl__gdb *g, const char *payload, size_t len)
{
    size_t n = hl__gdb_frame(g->frame, sizeof g->frame, payload, len);
    if (n)
        send_raw(g, g->frame, n);
}

static void send_str(hl__gdb *g, const char *s)
{
    send_packet(g, s, strlen(s));
}

/* While the guest runs, data from gdb raises the kick signal in the vCPU's thread (KVM_RUN then
 * returns); while it is stopped, the stub reads the socket itself. */
static void async_notify(hl__gdb *g, int on)
{
    if (g->fd < 0)
        return;
    struct f_owner_ex owner = {.type = F_OWNER_TID, .pid = hl__gettid()};
    int fl = fcntl(g->fd, F_GETFL);
    if (on) {
        fcntl(g->fd, F_SETSIG, hl__kick_signal());
        fcntl(g->fd, F_SETOWN_EX, &owner);
    }
    fcntl(g->fd, F_SETFL, on ? fl | O_ASYNC : fl & ~O_ASYNC);
}

/* gdb is gone: its breakpoints, watchpoints and stepping go with it, and the guest runs on. */
static void detach(hl__gdb *g)
{
    memset(g->sw, 0, sizeof g->sw); /* disarmed: the stub disarms at every exit */
    memset(g->hw, 0, sizeof g->hw);
    g->stepping = g->waiting = g->ctrl_c = 0;
    hang_up(g);
}

/* Reads what gdb sent while the guest ran, without blocking: 1 if it asked for a stop (also
 * with a 0x03 that came earlier). A closed connection is a detach. */
static int interrupt_pending(hl__gdb *g)
{
    uint8_t b[256];
    int stop = g->ctrl_c;
    g->ctrl_c = 0;
    for (;;) {
        ssize_t n = g->fd >= 0 ? recv(g->fd, b, sizeof b, MSG_DONTWAIT) : -1;
        if (n == 0)
            detach(g);
        if (n <= 0)
            return stop && g->fd >= 0;
        for (ssize_t i = 0; i < n; i++)
            stop |= hl__gdb_rx_feed(&g->rx, b[i]) == HL_GDB_EV_INTERRUPT;
    }
}

/* ---------------------------------------------------------------- registers */

static void regs_from_vcpu(const hl__vcpu_regs *v, hl__gdb_regs *r)
{
    uint64_t *gpr[16] = {&r->rax, &r->rbx, &r->rcx, &r->rdx, &r->rsi, &r->rdi, &r->rbp, &r->rsp,
                         &r->r8,  &r->r9,  &r->r10, &r->r11, &r->r12, &r->r13, &r->r14, &r->r15};
    for (int i = 0; i < 16; i++)
        *gpr[i] = v->gpr[i];
    r->rip = v->rip;
    r->rflags = v->rflags;
    r->fs_base = v->fs_base;
    r->gs_base = v->gs_base;
    r->cs = v->cs, r->ss = v->ss, r->ds = v->ds, r->es = v->es, r->fs = v->fs, r->gs = v->gs;
    memcpy(r->fxsave, v->fxsave, sizeof r->fxsave);
}

static void regs_to_vcpu(const hl__gdb_regs *r, hl__vcpu_regs *v)
{
    const uint64_t gpr[16] = {r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
                              r->r8,  r->r9,  r->r10, r->r11, r->r12, r->r13, r->r14, r->r15};
    memset(v, 0, sizeof *v);
    memcpy(v->gpr, gpr, sizeof gpr);
    v->rip = r->rip;
    v->rflags = r->rflags;
    memcpy(v->fxsave, r->fxsave, sizeof v->fxsave);
}

/* ---------------------------------------------------------------- memory and breakpoints */

/* 1 if every page of [addr, addr + len) is one the guest itself can reach (code, data, heap,
 * stacks, buffers): gdb never reads or writes page 0, guard pages, the system area (descriptor
 * tables, the exception stub, the kernel stack) or what lies outside guest memory, so nothing it
 * does gives the guest more than CPL3. */
static int mapped(const hl_sandbox *sb, uint64_t addr, uint64_t len)
{
    if (!len)
        return 1;
    if (!hl__mem_range_ok(&sb->mem, addr, len))
        return 0;
    for (uint64_t p = addr & ~(HL_PAGE - 1); p < addr + len; p += HL_PAGE)
        if (!(hl__paging_lookup(&sb->mem, &sb->layout, p) & X86_PTE_US))
            return 0;
    return 1;
}

static void arm_sw(hl_sandbox *sb, hl__gdb *g)
{
    static const uint8_t int3 = INT3;
    for (int i = 0; i < SW_BP_MAX; i++) {
        sw_bp *b = &g->sw[i];
        if (b->addr && !b->armed && !hl__mem_read(&sb->mem, b->addr, &b->orig, 1))
            b->armed = !hl__mem_write(&sb->mem, b->addr, &int3, 1);
    }
}

/* Puts the original bytes back: snapshots, restores, core files and gdb's reads never see an
 * INT3 of the debugger's. */
static void disarm_sw(hl_sandbox *sb, hl__gdb *g)
{
    for (int i = 0; i < SW_BP_MAX; i++) {
        sw_bp *b = &g->sw[i];
        if (b->armed)
            hl__mem_write(&sb->mem, b->addr, &b->orig, 1);
        b->armed = 0;
    }
}

static sw_bp *find_sw(hl__gdb *g, uint64_t addr)
{
    for (int i = 0; i < SW_BP_MAX; i++)
        if (g->sw[i].addr == addr)
            return &g->sw[i];
    return NULL;
}

static int insert_sw(hl_sandbox *sb, hl__gdb *g, uint64_t addr)
{
    if (!addr || !mapped(sb, addr, 1))
        return -1;
    if (find_sw(g, addr))
        return 0;
    sw_bp *b = find_sw(g, 0);
    if (!b)
        return -1;
    b->addr = addr;
    return 0;
}

/* DR7's R/W and LEN fields for a breakpoint (SDM vol. 3, 18.2.4), or -1 when x86 cannot watch
 * it: lengths 1, 2, 4, 8, aligned to their size; an execution breakpoint has length 1. */
static int dr7_bits(const hw_bp *b)
{
    static const int len_code[9] = {-1, 0, 1, -1, 3, -1, -1, -1, 2};
    int rw = b->type == HL_GDB_BP_HW ? 0 : b->type == HL_GDB_WP_WRITE ? 1 : 3;
    uint64_t len = b->type == HL_GDB_BP_HW ? 1 : b->len;
    if (len > 8 || len_code[len] < 0 || (b->addr & (len - 1)))
        return -1;
    return rw | len_code[len] << 2;
}

static int insert_hw(hl_sandbox *sb, hl__gdb *g, int type, uint64_t addr, uint64_t len)
{
    hw_bp want = {type, addr, len};
    if (dr7_bits(&want) < 0 || !mapped(sb, addr, type == HL_GDB_BP_HW ? 1 : len))
        return -1;
    for (int i = 0; i < HW_BP_MAX; i++)
        if (!g->hw[i].len) {
            g->hw[i] = want;
            return 0;
        }
    return -1;
}

static int remove_bp(hl__gdb *g, const hl__gdb_cmd *c)
{
    if (c->bp_type == HL_GDB_BP_SW) {
        sw_bp *b = find_sw(g, c->addr);
        if (b && c->addr)
            memset(b, 0, sizeof *b); /* the stub disarms everything at each stop */
        return 0;
    }
    for (int i = 0; i < HW_BP_MAX; i++)
        if (g->hw[i].type == c->bp_type && g->hw[i].addr == c->addr && g->hw[i].len == c->len)
            memset(&g->hw[i], 0, sizeof g->hw[i]);
    return 0;
}

static int load_debug(hl_sandbox *sb, hl__gdb *g)
{
    hl__vm_debug d = {.single_step = g->stepping};
    for (int i = 0; i < HW_BP_MAX; i++)
        if (g->hw[i].len) {
            d.dr[i] = g->hw[i].addr;
            d.dr7 |= (3ull << (2 * i)) | ((uint64_t)dr7_bits(&g->hw[i]) << (16 + 4 * i));
        }
    return hl__vm_set_debug(sb->vm, &d);
}

/* ---------------------------------------------------------------- commands */

static void reply_mem(hl_sandbox *sb, hl__gdb *g, const hl__gdb_cmd *c)
{
    uint8_t buf[HL_GDB_MEM_MAX];
    if (!mapped(sb, c->addr, c->len) || hl__mem_read(&sb->mem, c->addr, buf, c->len))
        return send_str(g, "E14");
    send_packet(g, g->reply, hl__gdb_hex_encode(g->reply, sizeof g->reply, buf, c->len));
}

static void write_mem(hl_sandbox *sb, hl__gdb *g, const hl__gdb_cmd *c)
{
    uint8_t buf[HL_GDB_PACKET_MAX];
    const uint8_t *src = c->data; /* X: the bytes themselves */
    if (c->kind == HL_GDB_CMD_WRITE_MEM) {
        if (hl__gdb_hex_decode(buf, sizeof buf, c->data, c->data_len))
            return send_str(g, "E01");
        src = buf;
    }
    if (!mapped(sb, c->addr, c->len) || hl__mem_write(&sb->mem, c->addr, src, c->len))
        return send_str(g, "E14");
    send_str(g, "OK");
}

static void bp_command(hl_sandbox *sb, hl__gdb *g, const hl__gdb_cmd *c)
{
    int bad;
    if (c->kind == HL_GDB_CMD_REMOVE_BP)
        bad = remove_bp(g, c);
    else if (c->bp_type == HL_GDB_BP_SW)
        bad = insert_sw(sb, g, c->addr);
    else
        bad = insert_hw(sb, g, c->bp_type, c->addr, c->len);
    send_str(g, bad ? "E01" : "OK");
}

static void regs_command(hl__gdb *g, const hl__gdb_cmd *c)
{
    size_t n;
    switch (c->kind) {
    case HL_GDB_CMD_READ_REGS:
        n = hl__gdb_regs_encode(&g->regs, g->reply, sizeof g->reply);
        return send_packet(g, g->reply, n);
    case HL_GDB_CMD_READ_REG:
        n = hl__gdb_reg_read(&g->regs, c->regnum, g->reply, sizeof g->reply);
        return n ? send_packet(g, g->reply, n) : send_str(g, "E01");
    case HL_GDB_CMD_WRITE_REGS:
        if (hl__gdb_regs_decode(&g->regs, c->data, c->data_len))
            return send_str(g, "E01");
        break;
    default: /* HL_GDB_CMD_WRITE_REG */
        if (hl__gdb_reg_write(&g->regs, c->regnum, c->data, c->data_len))
            return send_str(g, "E01");
        break;
    }
    g->regs_changed = 1;
    send_str(g, "OK");
}

static void query_command(hl_sandbox *sb, hl__gdb *g, const hl__gdb_cmd *c)
{
    size_t n = 0;
    switch (c->kind) {
    case HL_GDB_CMD_SUPPORTED:
        n = hl__gdb_supported_reply(g->reply, sizeof g->reply);
        break;
    case HL_GDB_CMD_XFER_FEATURES:
        n = hl__gdb_xfer_features(c, g->reply, sizeof g->reply);
        if (!n)
            return send_str(g, "E00");
        break;
    case HL_GDB_CMD_OFFSETS: /* where a position-independent guest was loaded */
        n = (size_t)snprintf(g->reply, sizeof g->reply, "Text=%llx;Data=%llx;Bss=%llx",
                             (unsigned long long)sb->load_bias, (unsigned long long)sb->load_bias,
                             (unsigned long long)sb->load_bias);
        break;
    case HL_GDB_CMD_ATTACHED:
        return send_str(g, "1"); /* detaching leaves the guest running */
    case HL_GDB_CMD_CURRENT_THREAD:
        return send_str(g, "QC1");
    case HL_GDB_CMD_THREAD_FIRST:
        return send_str(g, "m1");
    case HL_GDB_CMD_THREAD_NEXT:
        return send_str(g, "l");
    default: /* HL_GDB_CMD_SYMBOL */
        return send_str(g, "OK");
    }
    send_packet(g, g->reply, n);
}

/* What a resume command asks; an address in it moves RIP first. */
static resume resume_command(hl__gdb *g, const hl__gdb_cmd *c)
{
    if (c->has_addr && !c->has_range) {
        g->regs.rip = c->addr;
        g->regs_changed = 1;
    }
    return c->kind == HL_GDB_CMD_STEP ? RESUME_STEP : RESUME_CONTINUE;
}

static resume command(hl_sandbox *sb, hl__gdb *g, const hl__gdb_cmd *c)
{
    switch (c->kind) {
    case HL_GDB_CMD_STOP_REASON:
        send_packet(g, g->stop, g->stop_len);
        break;
    case HL_GDB_CMD_READ_REGS:
    case HL_GDB_CMD_READ_REG:
    case HL_GDB_CMD_WRITE_REGS:
    case HL_GDB_CMD_WRITE_REG:
        regs_command(g, c);
        break;
    case HL_GDB_CMD_READ_MEM:
        reply_mem(sb, g, c);
        break;
    case HL_GDB_CMD_WRITE_MEM:
    case HL_GDB_CMD_WRITE_MEM_BIN:
        write_mem(sb, g, c);
        break;
    case HL_GDB_CMD_INSERT_BP:
    case HL_GDB_CMD_REMOVE_BP:
        bp_command(sb, g, c);
        break;
    case HL_GDB_CMD_CONTINUE:
    case HL_GDB_CMD_STEP:
        return resume_command(g, c);
    case HL_GDB_CMD_DETACH:
        send_str(g, "OK");
        return RESUME_DETACH;
    case HL_GDB_CMD_KILL:
    case HL_GDB_CMD_VKILL:
        if (c->kind == HL_GDB_CMD_VKILL)
            send_str(g, "OK");
        return RESUME_KILL;
    case HL_GDB_CMD_VCONT_QUERY:
        send_str(g, HL_GDB_VCONT_REPLY);
        break;
    case HL_GDB_CMD_SET_THREAD:
        send_str(g, "OK");
        break;
    case HL_GDB_CMD_THREAD_ALIVE:
        send_str(g, hl__gdb_thread_is_ours(&c->thread) ? "OK" : "E01");
        break;
    case HL_GDB_CMD_START_NO_ACK:
        send_str(g, "OK");
        g->no_ack = 1;
        break;
    case HL_GDB_CMD_MALFORMED:
        send_str(g, "E01");
        break;
    case HL_GDB_CMD_UNKNOWN:
    case HL_GDB_CMD_MUST_REPLY_EMPTY:
        send_str(g, "");
        break;
    default:
        query_command(sb, g, c);
        break;
    }
    return RESUME_NONE;
}

/* One packet event; a complete packet is acknowledged and run. */
static resume event(hl_sandbox *sb, hl__gdb *g, hl__gdb_event ev)
{
    hl__gdb_cmd c;
    if (ev == HL_GDB_EV_BAD_CHECKSUM && !g->no_ack)
        send_raw(g, "-", 1);
    if (ev != HL_GDB_EV_PACKET)
        return RESUME_NONE;
    if (!g->no_ack)
        send_raw(g, "+", 1);
    hl__gdb_parse(g->rx.buf, g->rx.len, &c);
    return command(sb, g, &c);
}

/* Bytes that came after a resume packet: only a 0x03 among them matters (a stop at once). */
static void after_resume(hl__gdb *g, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        g->ctrl_c |= hl__gdb_rx_feed(&g->rx, b[i]) == HL_GDB_EV_INTERRUPT;
}

/* Serves gdb until it resumes the guest; a lost connection is a detach, hl_interrupt a kill. */
static resume serve(hl_sandbox *sb, hl__gdb *g)
{
    uint8_t buf[4096];
    resume r = RESUME_NONE;
    while (r == RESUME_NONE) {
        if (g->fd >= 0 && wait_readable(sb, g->fd))
            return RESUME_KILL;
        ssize_t n = g->fd >= 0 ? recv(g->fd, buf, sizeof buf, MSG_DONTWAIT) : 0;
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return RESUME_DETACH;
        ssize_t i = 0;
        while (i < n && r == RESUME_NONE)
            r = event(sb, g, hl__gdb_rx_feed(&g->rx, buf[i++]));
        after_resume(g, buf + i, (size_t)(n - i));
    }
    return r;
}

/* ---------------------------------------------------------------- stops */

/* The guest stopped: gdb hears why, inspects it and says how to go on. */
static int stop(hl_sandbox *sb, hl__gdb *g, int signal, hl__gdb_stop_why why, uint64_t addr)
{
    hl__vcpu_regs v;
    int rc = hl__guest_regs(sb, &v);
    if (rc)
        return rc;
    regs_from_vcpu(&v, &g->regs);
    g->regs_changed = 0;
    g->stop_len = hl__gdb_stop_reply(g->stop, sizeof g->stop, signal, why, addr);
    if (g->waiting) /* at the first stop gdb asks with '?' */
        send_packet(g, g->stop, g->stop_len);
    resume r = serve(sb, g);
    g->waiting = r == RESUME_CONTINUE || r == RESUME_STEP;
    g->stepping = r == RESUME_STEP;
    if (r == RESUME_DETACH)
        detach(g);
    g->killed = r == RESUME_KILL;
    return 0;
}

/* Where gdb left the guest goes back into the vCPU: out of the exception stub after a
 * breakpoint, with gdb's registers when it wrote some; always at CPL3 (the library's user CS and
 * SS), wherever the stop was (a Ctrl-C can land in the stub). */
static int load_regs(hl_sandbox *sb, hl__gdb *g)
{
    hl__vcpu_regs v;
    hl__cpu_init user;
    if (!g->from_stub && !g->regs_changed)
        return 0;
    hl__cpu_initial_state(&sb->layout, 0, &user);
    regs_to_vcpu(&g->regs, &v);
    g->from_stub = g->regs_changed = 0;
    return hl__vm_set_regs(sb->vm, &v, &user);
}

int hl__gdb_before_run(hl_sandbox *sb)
{
    hl__gdb *g = sb->gdb;
    int rc = 0;
    if (!g->connected && !(rc = wait_for_gdb(sb, g)))
        rc = stop(sb, g, HL_GDB_SIGTRAP, HL_GDB_STOP_SIGNAL, 0);
    if (!rc && g->fd >= 0 && interrupt_pending(g)) /* a Ctrl-C while the guest was parked */
        rc = stop(sb, g, HL_GDB_SIGINT, HL_GDB_STOP_SIGNAL, 0);
    if (!rc && g->killed)
        rc = hl__fail(HL_ECANCELLED, "the guest was killed (by the debugger, or by hl_interrupt "
                                     "while the debugger held it)");
    if (!rc)
        rc = load_regs(sb, g);
    if (!rc)
        rc = load_debug(sb, g);
    if (rc)
        return rc;
    arm_sw(sb, g);
    async_notify(g, 1);
    return 0;
}

/* Why a debug exit happened, from DR6: a step, or which hardware breakpoint. */
static int debug_stop(hl_sandbox *sb, hl__gdb *g, const hl__exit *e)
{
    for (int i = 0; i < HW_BP_MAX; i++)
        if ((e->dr6 & (1ull << i)) && g->hw[i].len) {
            int t = g->hw[i].type;
            hl__gdb_stop_why why = t == HL_GDB_BP_HW      ? HL_GDB_STOP_HWBREAK
                                   : t == HL_GDB_WP_WRITE ? HL_GDB_STOP_WATCH
                                   : t == HL_GDB_WP_READ  ? HL_GDB_STOP_RWATCH
                                                          : HL_GDB_STOP_AWATCH;
            return stop(sb, g, HL_GDB_SIGTRAP, why, g->hw[i].addr);
        }
    return stop(sb, g, HL_GDB_SIGTRAP, HL_GDB_STOP_SIGNAL, 0);
}

/* The breakpoint an exception report is of: #BP just after one of gdb's INT3s (the IDT lets
 * CPL3 raise #BP, src/cpu.c), or 0. */
static uint64_t breakpoint_of(hl__gdb *g, const hl__exception_frame *f)
{
    if (f->vector != X86_VEC_BP || f->rip < 2 || !find_sw(g, f->rip - 1))
        return 0;
    return f->rip - 1;
}

/* An exception report that is one of gdb's INT3s: the guest stops at the breakpoint. */
static int breakpoint_stop(hl_sandbox *sb, hl__gdb *g, int *taken)
{
    hl__exception_frame f;
    if (hl__mem_read(&sb->mem, HL_EXCEPTION_FRAME_GPA(&sb->layout), &f, sizeof f) ||
        !(f.rip = breakpoint_of(g, &f)))
        return 0;
    *taken = 1;
    sb->fault = f;
    sb->fault_valid = 1; /* for hl__guest_regs: the guest's registers are the frame's */
    int rc = stop(sb, g, HL_GDB_SIGTRAP, HL_GDB_STOP_SWBREAK, 0);
    sb->fault_valid = 0;
    g->from_stub = 1;
    return rc;
}

int hl__gdb_after_run(hl_sandbox *sb, const hl__exit *e, int *taken)
{
    hl__gdb *g = sb->gdb;
    *taken = 0;
    async_notify(g, 0);
    disarm_sw(sb, g);
    if (g->fd < 0) {
        *taken = e->kind == HL_EXIT_DEBUG; /* a step or watchpoint of a debugger now gone */
        return 0;
    }
    if (e->kind == HL_EXIT_DEBUG) {
        *taken = 1;
        return debug_stop(sb, g, e);
    }
    if (e->kind == HL_EXIT_INTR && interrupt_pending(g)) {
        *taken = 1;
        return stop(sb, g, HL_GDB_SIGINT, HL_GDB_STOP_SIGNAL, 0);
    }
    if (e->kind == HL_EXIT_IO_OUT && e->port == HL_ABI_PORT_EXCEPTION)
        return breakpoint_stop(sb, g, taken);
    return 0;
}

int hl__gdb_call_failed(hl_sandbox *sb, int rc)
{
    hl__gdb *g = sb->gdb;
    int signal = sb->fault_valid || rc == HL_EABORT ? hl__gdb_signal(hl__guest_signal(sb, rc)) : 0;
    if (g->fd < 0 || !signal)
        return rc;
    async_notify(g, 0);
    disarm_sw(sb, g);
    stop(sb, g, signal, HL_GDB_STOP_SIGNAL, 0);
    return rc;
}

void hl__gdb_run_ended(hl_sandbox *sb)
{
    hl__gdb *g = sb->gdb;
    async_notify(g, 0);
    disarm_sw(sb, g);
    g->from_stub = g->regs_changed = g->killed = 0; /* the next run starts from what it finds */
}

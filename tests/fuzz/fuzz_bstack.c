/* fuzz_bstack.c: libFuzzer target for the host side of the stacks of buffers (src/bstack.c) over
 * a guest memory block (src/guest_mem.c) whose bytes the input writes, as a hostile guest would.
 * Input: [0] host buffer size, [1..2] region gpa, [3..4] region size, [5..12] eight operations
 * (bit 7 set: push of (b & 0x7f) bytes, else pop), then the bytes placed at the region's start;
 * after the operations it pops until the stack refuses. Properties: a pop returns at most cap
 * bytes, taken from below the old stack pointer, and lowers the stack pointer by exactly
 * len + 8; a push raises it by len + 8 and lays out element + back-pointer; a refused push or
 * pop says why and changes nothing in guest memory; a pop right after a push returns its bytes.
 * Run with `make fuzz` (mk/fuzz.mk); corpus: tests/fuzz/corpus/bstack/. */
#include <string.h>

#include "bstack.h"
#include "fuzz.h"
#include "hyperlight/abi.h"

#define MEM_SIZE (4 * 4096u)
#define HEADER 13
#define NOPS 8

static hl__mem mem;
static uint8_t shadow[MEM_SIZE]; /* guest memory before the operation under test */

static uint64_t sp_at(hl__region r)
{
    uint64_t sp;
    memcpy(&sp, mem.base + r.gpa, 8);
    return sp;
}

/* Guest memory equals the shadow except in [from, to). */
static int unchanged_except(uint64_t from, uint64_t to)
{
    return memcmp(mem.base, shadow, from) == 0 &&
           memcmp(mem.base + to, shadow + to, MEM_SIZE - to) == 0;
}

/* Pops with a host buffer of exactly cap bytes. Returns 1 and the element if it popped. */
static int pop(hl__region r, size_t cap, uint8_t *out, size_t *out_len)
{
    uint8_t *buf = malloc(cap); /* exact size: ASan catches a copy past cap */
    size_t n = (size_t)-1;
    const char *why = NULL;
    int can_read_sp = r.gpa + 8 <= MEM_SIZE;
    uint64_t sp = can_read_sp ? sp_at(r) : 0;
    memcpy(shadow, mem.base, MEM_SIZE);
    int rc = hl__bstack_pop(&mem, r, buf, cap, &n, &why);
    if (rc != 0) {
        REQUIRE(rc == -1 && why && n == (size_t)-1);
        REQUIRE(memcmp(mem.base, shadow, MEM_SIZE) == 0);
        free(buf);
        return 0;
    }
    REQUIRE(can_read_sp && n <= cap);
    uint64_t elem = sp_at(r);
    REQUIRE(elem >= HL_ABI_STACK_EMPTY && elem < sp && sp <= r.size);
    REQUIRE(sp - elem == n + 8);
    REQUIRE(n == 0 || memcmp(buf, shadow + r.gpa + elem, n) == 0);
    REQUIRE(unchanged_except(r.gpa, r.gpa + 8));
    if (out)
        memcpy(out, buf, n);
    *out_len = n;
    free(buf);
    return 1;
}

/* Pushes n bytes (a pattern that depends on step). Returns 1 if it pushed. */
static int push(hl__region r, size_t n, unsigned step, uint8_t *pushed)
{
    const char *why = NULL;
    for (size_t i = 0; i < n; i++)
        pushed[i] = (uint8_t)(step * 31 + i);
    int can_read_sp = r.gpa + 8 <= MEM_SIZE;
    uint64_t sp = can_read_sp ? sp_at(r) : 0;
    memcpy(shadow, mem.base, MEM_SIZE);
    int rc = hl__bstack_push(&mem, r, pushed, n, &why);
    if (rc != 0) {
        REQUIRE(rc == -1 && why);
        REQUIRE(memcmp(mem.base, shadow, MEM_SIZE) == 0);
        return 0;
    }
    REQUIRE(can_read_sp && n > 0);
    uint64_t top = sp_at(r), back;
    REQUIRE(sp >= HL_ABI_STACK_EMPTY && top == sp + n + 8 && top <= r.size);
    REQUIRE(memcmp(mem.base + r.gpa + sp, pushed, n) == 0);
    memcpy(&back, mem.base + r.gpa + sp + n, 8);
    REQUIRE(back == sp);
    REQUIRE(memcmp(mem.base, shadow, r.gpa) == 0);
    REQUIRE(memcmp(mem.base + r.gpa + 8, shadow + r.gpa + 8, sp - 8) == 0);
    REQUIRE(unchanged_except(r.gpa, r.gpa + top));
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    if (!mem.base)
        REQUIRE(hl__mem_map(&mem, MEM_SIZE) == 0);
    memset(mem.base, 0, MEM_SIZE);

    /* The region is the host's layout, so it always lies inside guest memory. */
    size_t cap = data[0];
    hl__region r;
    r.gpa = (uint64_t)(data[1] | data[2] << 8) % MEM_SIZE;
    r.size = (uint64_t)(data[3] | data[4] << 8) % (MEM_SIZE - r.gpa + 1);
    size_t body = size - HEADER;
    if (body > MEM_SIZE - r.gpa)
        body = MEM_SIZE - r.gpa;
    memcpy(mem.base + r.gpa, data + HEADER, body);

    uint8_t pushed[128], popped[256];
    size_t pushed_len = 0, n;
    int just_pushed = 0;
    for (unsigned i = 0; i < NOPS; i++) {
        uint8_t op = data[5 + i];
        if (op & 0x80) {
            pushed_len = op & 0x7f;
            just_pushed = push(r, pushed_len, i, pushed);
            continue;
        }
        int got = pop(r, just_pushed ? sizeof popped : cap, popped, &n);
        if (just_pushed) /* a pop right after a push returns what it pushed */
            REQUIRE(got && n == pushed_len && memcmp(popped, pushed, n) == 0);
        just_pushed = 0;
    }
    /* Drain: the stack pointer strictly decreases, so this ends within MEM_SIZE / 8 pops. */
    for (unsigned i = 0; pop(r, cap, NULL, &n); i++)
        REQUIRE(i < MEM_SIZE / 8);
    return 0;
}

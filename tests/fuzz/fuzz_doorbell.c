/* fuzz_doorbell.c: libFuzzer target for the host side of a hot sandbox's doorbell (src/doorbell.c
 * over src/guest_mem.c), driven the way src/hot.c drives it while a hostile guest writes the bell
 * at will. Input: 9-byte records, [0] an operation, [1..8] a little-endian u64:
 *   op % 4 == 0: the guest writes the u64 to the bell, then the host looks (as hot.c does, only
 *                while it has answered everything), expecting request served + 1;
 *   op % 4 == 1: the host answers the request it took last;
 *   op % 4 == 2: the host writes mode and spin window (the u64's halves);
 *   op % 4 == 3: every doorbell access at a gpa the u64 gives (mostly outside, misaligned).
 * Properties: a request is exactly the expected number with DONE, HOST_CALL or LOG and nothing
 * above the port; BAD is the expected number with anything else; NONE is any other number; the
 * host's count of requests moves by one per request only; host writes land in the host's words,
 * count as host writes, and never touch the guest's; an access outside memory or misaligned is
 * refused without touching anything. Run with `make fuzz` (mk/fuzz.mk). */
#include <stddef.h>
#include <string.h>

#include "doorbell.h"
#include "fuzz.h"
#include "hyperlight/abi.h"

#define MEM_SIZE (2 * 4096u)
#define DB_GPA 4096u

static hl__mem mem;
static uint64_t dirty_bits[1];

static uint64_t u64_at(size_t off)
{
    uint64_t v;
    memcpy(&v, mem.base + off, 8);
    return v;
}

static uint32_t u32_at(size_t off)
{
    uint32_t v;
    memcpy(&v, mem.base + off, 4);
    return v;
}

static int valid_port(uint64_t p)
{
    return p == HL_ABI_PORT_DONE || p == HL_ABI_PORT_HOST_CALL || p == HL_ABI_PORT_LOG;
}

typedef struct host_model {
    uint32_t served;
    int answered;
} host_model;

static void guest_writes_and_host_looks(host_model *h, uint64_t v)
{
    memcpy(mem.base + DB_GPA + offsetof(hl_abi_doorbell, bell), &v, 8);
    if (!h->answered)
        return; /* the guest waits for an answer: the host does not look */
    uint64_t bell = 0;
    uint16_t port = 0;
    REQUIRE(hl__doorbell_read(&mem, DB_GPA, &bell) == 0 && bell == v);
    uint32_t expect = h->served + 1;
    switch (hl__bell_decode(bell, expect, &port)) {
    case HL_BELL_REQUEST:
        REQUIRE((uint32_t)bell == expect && bell >> 48 == 0 && port == (uint16_t)(bell >> 32));
        REQUIRE(valid_port(port));
        h->served++;
        h->answered = 0;
        break;
    case HL_BELL_BAD:
        REQUIRE((uint32_t)bell == expect && (bell >> 48 || !valid_port(bell >> 32)));
        break;
    case HL_BELL_NONE:
        REQUIRE((uint32_t)bell != expect);
        break;
    default:
        REQUIRE(!"a kind outside hl__bell_kind");
    }
}

static void host_answers(host_model *h)
{
    uint64_t bell = u64_at(DB_GPA);
    dirty_bits[0] = 0;
    REQUIRE(hl__doorbell_answer(&mem, DB_GPA, h->served) == 0);
    REQUIRE(u32_at(DB_GPA + offsetof(hl_abi_doorbell, answer)) == h->served);
    REQUIRE(u64_at(DB_GPA) == bell);   /* the guest's word is untouched */
    REQUIRE(dirty_bits[0] == 1u << 1); /* page 1: a host write a restore copies back */
    h->answered = 1;
}

static void host_sets(uint64_t v)
{
    uint64_t bell = u64_at(DB_GPA);
    REQUIRE(hl__doorbell_set_mode(&mem, DB_GPA, (uint32_t)v) == 0);
    REQUIRE(hl__doorbell_set_spin(&mem, DB_GPA, v >> 32) == 0);
    REQUIRE(u32_at(DB_GPA + offsetof(hl_abi_doorbell, mode)) == (uint32_t)v);
    REQUIRE(u64_at(DB_GPA + offsetof(hl_abi_doorbell, spin_tsc)) == v >> 32);
    REQUIRE(u64_at(DB_GPA) == bell);
}

/* Every access at gpa: refused (memory unchanged) unless the word is inside and aligned. */
static void access_anywhere(uint64_t gpa)
{
    static uint8_t before[MEM_SIZE];
    uint64_t bell;
    memcpy(before, mem.base, MEM_SIZE);
    int inside = gpa <= MEM_SIZE - sizeof(hl_abi_doorbell) && gpa % 8 == 0;
    int r = hl__doorbell_read(&mem, gpa, &bell);
    int a = hl__doorbell_answer(&mem, gpa, 7);
    int m = hl__doorbell_set_mode(&mem, gpa, 1);
    int s = hl__doorbell_set_spin(&mem, gpa, 9);
    if (inside) {
        REQUIRE(r == 0 && a == 0 && m == 0 && s == 0);
        memcpy(mem.base, before, MEM_SIZE); /* put the doorbell back for the next records */
    } else if (gpa > MEM_SIZE || gpa % 4) {
        REQUIRE(r == -1 && a == -1 && m == -1 && s == -1);
        REQUIRE(memcmp(before, mem.base, MEM_SIZE) == 0);
    } else {
        memcpy(mem.base, before, MEM_SIZE); /* partly inside: some words fit, others not */
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!mem.base && hl__mem_map(&mem, MEM_SIZE))
        abort();
    mem.host_dirty = dirty_bits;
    memset(mem.base, 0, MEM_SIZE);
    host_model h = {0, 1};
    for (size_t i = 0; i + 9 <= size; i += 9) {
        uint64_t v;
        memcpy(&v, data + i + 1, 8);
        switch (data[i] % 4) {
        case 0:
            guest_writes_and_host_looks(&h, v);
            break;
        case 1:
            host_answers(&h);
            break;
        case 2:
            host_sets(v);
            break;
        default:
            access_anywhere(v % 4 ? v : v % (2 * MEM_SIZE));
            break;
        }
    }
    return 0;
}

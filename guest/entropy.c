/* entropy.c: randomness that never replays. getentropy, getrandom and arc4random read the CPU's
 * RDRAND, fresh wherever the memory came from; rand() starts from the seed of the memory's
 * timeline, which the host changes at every restore and in every new sandbox, unless the program
 * chose a sequence with srand. Without RDRAND, getentropy and getrandom fail with ENOSYS and
 * arc4random aborts the call: there is no source the guest could trust. */
#include "runtime.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define RDRAND_RETRIES 32
#define GETENTROPY_MAX 256
#define NO_ENTROPY_CODE 138
#define CPUID_1_ECX_RDRAND (1u << 30)

int getentropy(void *buf, size_t n);
ssize_t getrandom(void *buf, size_t n, unsigned flags);
uint32_t arc4random(void);
void arc4random_buf(void *buf, size_t n);

static HLG_HOT uint64_t rand_next;
static HLG_HOT int rand_chosen; /* srand was called: keep the program's sequence */
static HLG_HOT uint64_t timeline;
/* Whether this CPU has RDRAND, asked once per timeline (CPUID always exits the VM): memory from
 * a snapshot file may have been saved on another machine. */
static HLG_HOT int rdrand_checked, rdrand_usable;

static int have_rdrand(void)
{
    uint32_t a = 1, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return (c & CPUID_1_ECX_RDRAND) != 0;
}

static int rdrand64(uint64_t *out)
{
    for (int i = 0; i < RDRAND_RETRIES; i++) {
        unsigned char ok;
        __asm__ volatile("rdrand %0; setc %1" : "=r"(*out), "=qm"(ok) : : "cc");
        if (ok)
            return 0;
    }
    return -1;
}

static int fill(void *buf, size_t n)
{
    if (!rdrand_checked) {
        rdrand_usable = have_rdrand();
        rdrand_checked = 1;
    }
    if (!rdrand_usable) {
        errno = ENOSYS;
        return -1;
    }
    for (uint8_t *p = buf; n;) {
        uint64_t v;
        if (rdrand64(&v)) {
            errno = EIO;
            return -1;
        }
        size_t k = n < sizeof v ? n : sizeof v;
        memcpy(p, &v, k);
        p += k;
        n -= k;
    }
    return 0;
}

int getentropy(void *buf, size_t n)
{
    if (n > GETENTROPY_MAX) {
        errno = EIO;
        return -1;
    }
    return fill(buf, n);
}

ssize_t getrandom(void *buf, size_t n, unsigned flags)
{
    (void)flags;
    return fill(buf, n) ? -1 : (ssize_t)n;
}

void arc4random_buf(void *buf, size_t n)
{
    if (fill(buf, n))
        hlg_abort(NO_ENTROPY_CODE, "arc4random: the CPU offers no RDRAND");
}

uint32_t arc4random(void)
{
    uint32_t v;
    arc4random_buf(&v, sizeof v);
    return v;
}

/* newlib's generator (the same sequence for every srand seed), with our unseeded start. */
void srand(unsigned seed)
{
    rand_next = seed;
    rand_chosen = 1;
}

int rand(void)
{
    rand_next = rand_next * 6364136223846793005ull + 1;
    return (int)((rand_next >> 32) & RAND_MAX);
}

uint64_t hlg_timeline_seed(void)
{
    return timeline;
}

void hlg__entropy_timeline(uint64_t seed)
{
    if (seed == timeline)
        return;
    timeline = seed;
    rdrand_checked = 0;
    if (!rand_chosen)
        rand_next = seed;
}

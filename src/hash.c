/* hash.c: a fast 64-bit non-cryptographic hash (multiply-xorshift over 8-byte words). */
#include <string.h>

#include "hash.h"

#define MUL 0x9e3779b97f4a7c15ull

static uint64_t mix(uint64_t h, uint64_t w)
{
    h = (h ^ w) * MUL;
    return h ^ (h >> 29);
}

uint64_t hl__hash64(const void *p, size_t n, uint64_t seed)
{
    const uint8_t *b = p;
    uint64_t h = mix(seed, n), w;
    for (; n >= 8; n -= 8, b += 8) {
        memcpy(&w, b, 8);
        h = mix(h, w);
    }
    w = 0;
    memcpy(&w, b, n);
    return mix(mix(h, w), MUL);
}

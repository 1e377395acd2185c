/* hash.h: the 64-bit hash (not cryptographic) behind guest ids and snapshot-file checksums. */
#ifndef HL_SRC_HASH_H
#define HL_SRC_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hl__hash64(const void *p, size_t n, uint64_t seed);

#endif

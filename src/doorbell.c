/* doorbell.c: the host's side of a hot sandbox's doorbell: one decoder for every bell value, and
 * the host's three words. */
#include "doorbell.h"

#include <stddef.h>

#include "hyperlight/abi.h"

hl__bell_kind hl__bell_decode(uint64_t bell, uint32_t expect, uint16_t *port)
{
    if ((uint32_t)bell != expect)
        return HL_BELL_NONE;
    *port = (uint16_t)(bell >> 32);
    if (bell >> 48) /* bits above the port */
        return HL_BELL_BAD;
    switch (*port) {
    case HL_ABI_PORT_DONE:
    case HL_ABI_PORT_HOST_CALL:
    case HL_ABI_PORT_LOG:
        return HL_BELL_REQUEST;
    default:
        return HL_BELL_BAD;
    }
}

/* The guest address of a doorbell word, or UINT64_MAX (misaligned and outside any memory, so
 * refused) when the doorbell would wrap around the address space. */
static hl_gpa word(hl_gpa db, size_t offset)
{
    return db > UINT64_MAX - sizeof(hl_abi_doorbell) ? UINT64_MAX : db + offset;
}

int hl__doorbell_read(const hl__mem *m, hl_gpa db, uint64_t *bell)
{
    return hl__mem_load_shared_u64(m, word(db, offsetof(hl_abi_doorbell, bell)), bell);
}

int hl__doorbell_set_mode(hl__mem *m, hl_gpa db, uint32_t mode)
{
    return hl__mem_store_shared_u32(m, word(db, offsetof(hl_abi_doorbell, mode)), mode);
}

int hl__doorbell_answer(hl__mem *m, hl_gpa db, uint32_t n)
{
    return hl__mem_store_shared_u32(m, word(db, offsetof(hl_abi_doorbell, answer)), n);
}

int hl__doorbell_set_spin(hl__mem *m, hl_gpa db, uint64_t tsc_ticks)
{
    return hl__mem_store_shared_u64(m, word(db, offsetof(hl_abi_doorbell, spin_tsc)), tsc_ticks);
}

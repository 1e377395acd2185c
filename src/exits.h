/* exits.h: what the host does for each way the guest leaves the VM during a call. */
#ifndef HL_SRC_EXITS_H
#define HL_SRC_EXITS_H

#include "sandbox.h"
#include "vmm.h"

/* Handles one exit. Sets *done when the guest reported DONE. Returns 0 to resume the guest, or a
 * negative code (having poisoned the sandbox when the guest can no longer be trusted). */
int hl__handle_exit(hl_sandbox *sb, const hl__exit *e, int *done);

#endif

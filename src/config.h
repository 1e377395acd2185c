/* config.h: validating a host's hl_config. */
#ifndef HL_SRC_CONFIG_H
#define HL_SRC_CONFIG_H

#include "hyperlight/hyperlight.h"

/* Returns 0 or HL_ECONFIG naming the field, its value and the allowed range. */
int hl__config_check(const hl_config *cfg);

/* Only the debugging fields (core_dir, gdb_port) and their reserved neighbours: what a sandbox
 * from a snapshot takes from its caller's config besides callbacks. 0 or HL_ECONFIG. */
int hl__config_check_debug(const hl_config *cfg);

#endif

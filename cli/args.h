/* args.h: parsing hl-run's typed arguments and sizes (kept apart from main so it can be fuzzed). */
#ifndef HL_CLI_ARGS_H
#define HL_CLI_ARGS_H

#include <stddef.h>

#include "hyperlight/hyperlight.h"

/* Parses one argument: `42` (i32), `i32:`, `u32:`, `i64:`, `u64:`, `f32:`, `f64:` prefixes,
 * `true`/`false`, `str:TEXT`, `bytes:HEX`, `bytes:@FILE`, or a bare word (a string). A bare number
 * takes the type `hint` when that is numeric (the guest's declared parameter type), else i32 (or
 * f64 when it has a fraction or exponent). STRING values point into `s`; BYTES are malloc'd into
 * *owned (free it). Returns 0, or -1 with a message in err[0..errlen). */
int hl_cli_parse_value(const char *s, hl_type hint, hl_value *out, void **owned, char *err,
                       size_t errlen);

/* Parses a size such as 65536, 64K, 16M, 1G. Returns 0 or -1. */
int hl_cli_parse_size(const char *s, size_t *out);

/* Parses a non-negative decimal that fits in 32 bits. Returns 0 or -1. */
int hl_cli_parse_u32(const char *s, uint32_t *out);

/* Parses a TCP port, 1..65535. Returns 0 or -1. */
int hl_cli_parse_port(const char *s, uint16_t *out);

/* Parses off|error|warn|info|debug|trace. Returns 0 or -1. */
int hl_cli_parse_log_level(const char *s, hl_log_level *out);

#endif

/* hyperlight/guest.h: the guest API of libhyperlight_guest (what a guest's C code calls). */
#ifndef HYPERLIGHT_GUEST_H
#define HYPERLIGHT_GUEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "abi.h"
#include "value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Defined by the guest: runs once when the host initialises the sandbox and registers the guest's
 * functions with hlg_register. It may also call host functions and log. */
void hlg_main(void);

/* A guest function. args[0..nargs) already match the registered parameter types (the runtime
 * checked count and types); STRING/BYTES arguments are valid until the function returns. On
 * success set *ret (pre-set to void) and return 0. A STRING/BYTES result must stay valid until the
 * function has returned: static storage, an argument, or memory from hlg_scratch. Return non-zero
 * (e.g. `return hlg_fail("bad input %d", x);`) to send the host an error (HL_EGUEST). */
typedef int (*hlg_fn)(const hl_value *args, size_t nargs, hl_value *ret);

/* Registers `name` (1..128 printable ASCII characters) with its signature (params copied). Call
 * from hlg_main. Returns 0, or -1 if the name is invalid or taken, a type is invalid, there are
 * more than HL_MAX_PARAMS parameters, or memory ran out. */
int hlg_register(const char *name, hl_type ret, const hl_type *params, size_t nparams, hlg_fn fn);

/* Calls host function `name`. On success writes *ret and returns 0; a STRING/BYTES result stays
 * valid until the next hlg_call_host. On failure returns a negative HL_ABI_ERR_* code (negated)
 * and hlg_last_error() says why: -HL_ABI_ERR_DENIED when the host did not register `name` with
 * these argument types, -HL_ABI_ERR_FAILED when the host function reported failure. */
int hlg_call_host(const char *name, const hl_value *args, size_t nargs, hl_value *ret);

/* The message of the last failed hlg_call_host ("" if none). */
const char *hlg_last_error(void);

/* Records printf-style `fmt` as the error message of the running guest function and returns -1,
 * so a guest function can `return hlg_fail(...)`. */
int hlg_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Memory that stays valid until the result of the running guest function has been sent (for
 * returning built strings). NULL when the heap is exhausted. */
void *hlg_scratch(size_t size);

/* A 64-bit value the host draws for each timeline of this guest's memory: it changes at every
 * restore and differs in every sandbox made from one snapshot, and stays the same during one call.
 * Not secret from the guest itself; language runtimes use it to know when to reseed their
 * generators (getentropy gives the fresh bytes). */
uint64_t hlg_timeline_seed(void);

/* Log levels. Logs above the host's configured level are dropped without leaving the VM. */
#define HLG_LOG_ERROR HL_ABI_LOG_ERROR
#define HLG_LOG_WARN HL_ABI_LOG_WARN
#define HLG_LOG_INFO HL_ABI_LOG_INFO
#define HLG_LOG_DEBUG HL_ABI_LOG_DEBUG
#define HLG_LOG_TRACE HL_ABI_LOG_TRACE

/* Sends a printf-style log record to the host (messages are truncated to 4000 bytes). */
void hlg_log(unsigned level, const char *file, uint32_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void hlg_vlog(unsigned level, const char *file, uint32_t line, const char *fmt, va_list ap);
#define HLG_ERROR(...) hlg_log(HLG_LOG_ERROR, __FILE__, __LINE__, __VA_ARGS__)
#define HLG_WARN(...) hlg_log(HLG_LOG_WARN, __FILE__, __LINE__, __VA_ARGS__)
#define HLG_INFO(...) hlg_log(HLG_LOG_INFO, __FILE__, __LINE__, __VA_ARGS__)
#define HLG_DEBUG(...) hlg_log(HLG_LOG_DEBUG, __FILE__, __LINE__, __VA_ARGS__)
#define HLG_TRACE(...) hlg_log(HLG_LOG_TRACE, __FILE__, __LINE__, __VA_ARGS__)

/* Ends the running call (and poisons the sandbox) with `code` and a printf-style message; the
 * host reports HL_EABORT "guest aborted (code N): message". */
_Noreturn void hlg_abort(int32_t code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Aborts with code HLG_ASSERT_CODE and "assertion failed: EXPR (FILE:LINE)" when `e` is false. */
#define HLG_ASSERT_CODE 134
#define hlg_assert(e) ((e) ? (void)0 : hlg__assert_fail(#e, __FILE__, __LINE__))
_Noreturn void hlg__assert_fail(const char *expr, const char *file, int line);

#ifdef __cplusplus
}
#endif
#endif

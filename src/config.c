/* config.c: configuration defaults and range checks. */
#include "config.h"

#include "error.h"

HL_API void hl_config_init(hl_config *cfg)
{
    if (!cfg)
        return;
    *cfg = (hl_config){
        .stack_size = 256u * 1024,
        .heap_size = 1024u * 1024,
        .input_size = 64u * 1024,
        .output_size = 64u * 1024,
        .time_limit_ms = 5000,
        .log_level = HL_LOG_INFO,
        .log_fn = NULL,
        .log_user = NULL,
        .memory_limit = HL_DEFAULT_MEMORY_LIMIT,
        .hot_spin_us = HL_DEFAULT_HOT_SPIN_US,
    };
}

static int range(const char *field, unsigned long long v, unsigned long long lo,
                 unsigned long long hi)
{
    if (v >= lo && v <= hi)
        return 0;
    return hl__fail(HL_ECONFIG, "config %s = %llu is out of range [%llu, %llu]", field, v, lo, hi);
}

int hl__config_check_debug(const hl_config *cfg)
{
    if (cfg->reserved8)
        return hl__fail(HL_ECONFIG, "config reserved8 is not 0");
    if (cfg->hot && cfg->gdb_port)
        return hl__fail(HL_ECONFIG, "config hot and gdb_port do not go together (a debugger "
                                    "stops the guest; a hot sandbox keeps it running)");
    if (cfg->core_dir && !cfg->core_dir[0])
        return hl__fail(HL_ECONFIG, "config core_dir is empty (NULL means no core files)");
    return 0;
}

int hl__config_check(const hl_config *cfg)
{
    int rc = range("stack_size", cfg->stack_size, HL_MIN_STACK_SIZE, HL_MAX_STACK_SIZE);
    if (!rc)
        rc = range("heap_size", cfg->heap_size, HL_MIN_HEAP_SIZE, HL_MAX_HEAP_SIZE);
    if (!rc)
        rc = range("input_size", cfg->input_size, HL_MIN_BUFFER_SIZE, HL_MAX_BUFFER_SIZE);
    if (!rc)
        rc = range("output_size", cfg->output_size, HL_MIN_BUFFER_SIZE, HL_MAX_BUFFER_SIZE);
    if (!rc)
        rc = range("time_limit_ms", cfg->time_limit_ms, 0, HL_MAX_TIME_LIMIT_MS);
    if (!rc)
        rc = range("log_level", (unsigned)cfg->log_level, HL_LOG_OFF, HL_LOG_TRACE);
    if (!rc)
        rc = range("memory_limit", cfg->memory_limit, HL_MIN_MEMORY_LIMIT, HL_MAX_GUEST_MEMORY);
    if (!rc && cfg->hot)
        rc = range("hot_spin_us", cfg->hot_spin_us, 1, HL_MAX_HOT_SPIN_US);
    if (!rc)
        rc = hl__config_check_debug(cfg);
    for (size_t i = 0; !rc && i < sizeof cfg->reserved / sizeof cfg->reserved[0]; i++)
        if (cfg->reserved[i])
            rc = hl__fail(HL_ECONFIG,
                          "config reserved[%zu] is not 0 (a field this library "
                          "version does not know)",
                          i);
    return rc;
}

/* debug_common.h: what the debugging tests share: the debug guest, the line of a marker in its
 * source, a scratch directory, and running Debian's gdb in batch mode. */
#ifndef HL_TEST_DEBUG_COMMON_H
#define HL_TEST_DEBUG_COMMON_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_common.h"

#define DEBUG_GUEST_SOURCE "tests/guests/debugguest.c"
#define GDB_OUTPUT_MAX (256 * 1024)

static inline const char *debug_guest_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests",
                          "debugguest.elf");
}

/* A sandbox from the debug guest with cfg, initialised. */
static inline hl_sandbox *debug_sandbox(const hl_config *cfg)
{
    hl_sandbox *sb = NULL;
    require_kvm();
    CHECK_OK(hl_sandbox_new(cfg, debug_guest_path(), &sb));
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

/* The 1-based line of debugguest.c holding `marker`, as "debugguest.c:N" in buf. */
static inline const char *marker_line(const char *marker, char *buf, size_t cap)
{
    FILE *f = fopen(DEBUG_GUEST_SOURCE, "r");
    char line[512];
    int n = 0, found = 0;
    CHECK(f != NULL);
    while (!found && fgets(line, sizeof line, f)) {
        n++;
        found = strstr(line, marker) != NULL;
    }
    fclose(f);
    CHECK(found);
    snprintf(buf, cap, "debugguest.c:%d", n);
    return buf;
}

/* A new empty directory under $TMPDIR (or /tmp), in buf. */
static inline const char *scratch_dir(char *buf, size_t cap)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(buf, cap, "%s/hl-debug-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    CHECK(mkdtemp(buf) != NULL);
    return buf;
}

/* Removes dir and the files in it (no subdirectories). */
static inline void remove_dir(const char *dir)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}

/* Skips the running test when gdb is not installed (it is on every machine CI runs on). */
static inline void require_gdb(void)
{
    if (system("gdb --version >/dev/null 2>&1") != 0)
        SKIP("gdb is not installed (apt-get install gdb)");
}

/* Runs `gdb -batch -nx ARGS` with stdin closed and returns everything it printed (static buffer,
 * NUL-terminated). */
static inline const char *run_gdb(const char *args)
{
    static char out[GDB_OUTPUT_MAX];
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "timeout 120 gdb -batch -nx %s </dev/null 2>&1", args);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    pclose(p);
    return out;
}

#endif

/* test_core_dumps.c: ELF core files of faulting, aborting and live guests, opened by Debian's gdb
 * (gdb GUEST.elf CORE), which must show the faulting function, file, line and variables. */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <sys/stat.h>

#include "debug_common.h"

/* The one file in dir, as a path in buf. */
static const char *only_file(const char *dir, char *buf, size_t cap)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    CHECK(d != NULL);
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(buf, cap, "%s/%s", dir, e->d_name);
            n++;
        }
    closedir(d);
    CHECK_EQ(n, 1);
    return buf;
}

static const char *gdb_on_core(const char *core, const char *commands)
{
    char args[6000];
    snprintf(args, sizeof args, "%s '%s' '%s'", commands, debug_guest_path(), core);
    return run_gdb(args);
}

/* A sandbox with core_dir = dir that has made one call fail with `code`. */
static hl_sandbox *crashed(const char *dir, const char *fn, const hl_value *args, size_t n,
                           int code)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.core_dir = dir;
    hl_sandbox *sb = debug_sandbox(&cfg);
    CALL_FAILS(sb, code, fn, args, n);
    return sb;
}

TEST(test_fault_core_shows_the_faulting_line)
{
    char dir[4096], core[8192], where[64];
    require_gdb();
    hl_sandbox *sb =
        crashed(scratch_dir(dir, sizeof dir), "Store", HL_ARGS(hl_u64(0x10), hl_i32(7)), HL_EFAULT);
    CHECK_ERROR_HAS("(core file ");
    only_file(dir, core, sizeof core);
    CHECK_CONTAINS(hl_last_error(), core);
    CHECK_CONTAINS(core, "/debugguest.elf.");
    const char *out = gdb_on_core(core, "-ex bt -ex 'print p' -ex 'print v'");
    CHECK_CONTAINS(out, "SIGSEGV");
    CHECK_CONTAINS(out, "store_at");
    CHECK_CONTAINS(out, marker_line("FAULT_STORE", where, sizeof where));
    CHECK_CONTAINS(out, "fn_store");
    CHECK_CONTAINS(out, "(volatile int32_t *) 0x10");
    CHECK_CONTAINS(out, "$2 = 7");
    hl_sandbox_destroy(sb);
    remove_dir(dir);
}

TEST(test_abort_core_shows_the_caller)
{
    char dir[4096], core[8192], where[64];
    require_gdb();
    hl_sandbox *sb = crashed(scratch_dir(dir, sizeof dir), "Abort", NULL, 0, HL_EABORT);
    only_file(dir, core, sizeof core);
    const char *out = gdb_on_core(core, "-ex bt");
    CHECK_CONTAINS(out, "SIGABRT");
    CHECK_CONTAINS(out, "abort_now");
    CHECK_CONTAINS(out, marker_line("FAULT_ABORT", where, sizeof where));
    CHECK_CONTAINS(out, "fn_abort");
    hl_sandbox_destroy(sb);
    remove_dir(dir);
}

TEST(test_core_on_demand_shows_globals)
{
    char dir[4096], core[8192];
    require_gdb();
    hl_sandbox *sb = debug_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Watch", HL_ARGS(hl_i32(4242))).as.i32, 4242);
    snprintf(core, sizeof core, "%s/live.core", scratch_dir(dir, sizeof dir));
    CHECK_OK(hl_sandbox_write_core(sb, core));
    struct stat st;
    CHECK_EQ(stat(core, &st), 0);
    CHECK_EQ(st.st_mode & 0777, 0600);
    const char *out = gdb_on_core(core, "-ex 'print watched'");
    CHECK_CONTAINS(out, "$1 = 4242");
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "Through", HL_ARGS(hl_i32(1))).as.i32, 7); /* unharmed */
    hl_sandbox_destroy(sb);
    remove_dir(dir);
}

/* The core's segments: text readable and executable, nothing writable and executable, the fault
 * address's page 0 absent. */
TEST(test_core_segments_keep_permissions)
{
    char dir[4096], core[8192];
    hl_sandbox *sb = debug_sandbox(NULL);
    snprintf(core, sizeof core, "%s/perm.core", scratch_dir(dir, sizeof dir));
    CHECK_OK(hl_sandbox_write_core(sb, core));
    int fd = open(core, O_RDONLY);
    CHECK(fd >= 0);
    Elf64_Ehdr h;
    Elf64_Phdr ph[80];
    CHECK_EQ(pread(fd, &h, sizeof h, 0), (ssize_t)sizeof h);
    CHECK_EQ(h.e_type, ET_CORE);
    CHECK(h.e_phnum >= 2 && h.e_phnum <= 80);
    CHECK_EQ(pread(fd, ph, h.e_phnum * sizeof ph[0], (off_t)h.e_phoff),
             (ssize_t)(h.e_phnum * sizeof ph[0]));
    int rx = 0, notes = 0;
    for (int i = 0; i < h.e_phnum; i++) {
        notes += ph[i].p_type == PT_NOTE;
        if (ph[i].p_type != PT_LOAD)
            continue;
        CHECK((ph[i].p_flags & (PF_W | PF_X)) != (PF_W | PF_X));
        CHECK(ph[i].p_vaddr >= 0x1000);
        rx += ph[i].p_flags == (PF_R | PF_X);
    }
    CHECK_EQ(notes, 1);
    CHECK(rx >= 1);
    close(fd);
    hl_sandbox_destroy(sb);
    remove_dir(dir);
}

TEST(test_core_errors)
{
    char dir[4096], path[8192];
    hl_config cfg;
    hl_sandbox *sb = debug_sandbox(NULL);
    CHECK_RC(hl_sandbox_write_core(NULL, "x"), HL_EINVAL);
    CHECK_RC(hl_sandbox_write_core(sb, NULL), HL_EINVAL);
    snprintf(path, sizeof path, "%s/no/such/dir/x.core", scratch_dir(dir, sizeof dir));
    CHECK_RC(hl_sandbox_write_core(sb, path), HL_EIO);
    CHECK_ERROR_HAS("No such file or directory");
    hl_sandbox_destroy(sb);
    /* a core directory that does not exist: the call's own error stays, with why no core */
    hl_config_init(&cfg);
    snprintf(path, sizeof path, "%s/missing", dir);
    cfg.core_dir = path;
    sb = debug_sandbox(&cfg);
    CALL_FAILS(sb, HL_EFAULT, "Store", HL_ARGS(hl_u64(0x10), hl_i32(7)));
    CHECK_ERROR_HAS("guest fault: page fault");
    CHECK_ERROR_HAS("(no core file: ");
    hl_sandbox_destroy(sb);
    cfg.core_dir = "";
    CHECK_RC(hl_sandbox_new(&cfg, debug_guest_path(), &sb), HL_ECONFIG);
    remove_dir(dir);
}

static const hl_test tests[] = {
    TEST_ENTRY(test_fault_core_shows_the_faulting_line),
    TEST_ENTRY(test_abort_core_shows_the_caller),
    TEST_ENTRY(test_core_on_demand_shows_globals),
    TEST_ENTRY(test_core_segments_keep_permissions),
    TEST_ENTRY(test_core_errors),
};
RUN_TESTS(tests)

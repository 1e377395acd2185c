/* debug_common.h: what the debugging tests share: the debug guest, the line of a marker in its
 * source, a scratch directory, and running Debian's gdb in batch mode. */
#ifndef HL_TEST_DEBUG_COMMON_H
#define HL_TEST_DEBUG_COMMON_H

#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kvm_common.h"

#define DEBUG_GUEST_SOURCE "tests/guests/debugguest.c"
#define GDB_OUTPUT_MAX (256 * 1024)

static inline const char *debug_guest_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests", "debugguest.elf");
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

/* Skips the running test when gdb is not installed (it is on every machine CI runs on). Looked up
 * by the shell, not run: starting gdb costs seconds in make vm-test's emulated machine. */
static inline void require_gdb(void)
{
    if (system("command -v gdb >/dev/null 2>&1") != 0)
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

/* Whether this machine's KVM stops a guest at a hardware breakpoint set with KVM_SET_GUEST_DEBUG,
 * asked of KVM directly (a real-mode guest of three NOPs, DR0 on the second): bare metal and
 * nested KVM do; an emulated CPU (make vm-test's QEMU TCG) may not, and then the tests of
 * hardware breakpoints and watchpoints skip with that reason. */
static inline int kvm_hw_breakpoints_work(void)
{
    static const uint8_t code[] = {0x90, 0x90, 0x90, 0xf4}; /* nop; nop; nop; hlt */
    int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), works = 0;
    int vm = kvm < 0 ? -1 : ioctl(kvm, KVM_CREATE_VM, 0);
    uint8_t *mem = mmap(NULL, 0x2000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(vm >= 0 && mem != MAP_FAILED);
    memcpy(mem + 0x1000, code, sizeof code);
    struct kvm_userspace_memory_region slot = {0, 0, 0, 0x2000, (uint64_t)(uintptr_t)mem};
    int cpu = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &slot) < 0 ? -1 : ioctl(vm, KVM_CREATE_VCPU, 0);
    long run_size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
    struct kvm_run *run = mmap(NULL, (size_t)run_size, PROT_READ | PROT_WRITE, MAP_SHARED, cpu, 0);
    CHECK(cpu >= 0 && run != MAP_FAILED);
    struct kvm_sregs s;
    struct kvm_regs r = {.rip = 0x1000, .rflags = 2};
    CHECK_EQ(ioctl(cpu, KVM_GET_SREGS, &s), 0);
    s.cs.base = 0, s.cs.selector = 0;
    struct kvm_guest_debug d = {.control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP};
    d.arch.debugreg[0] = 0x1001;
    d.arch.debugreg[7] = 0x1; /* L0, execute, 1 byte */
    CHECK(ioctl(cpu, KVM_SET_SREGS, &s) == 0 && ioctl(cpu, KVM_SET_REGS, &r) == 0 &&
          ioctl(cpu, KVM_SET_GUEST_DEBUG, &d) == 0 && ioctl(cpu, KVM_RUN, 0) == 0);
    works = run->exit_reason == KVM_EXIT_DEBUG && run->debug.arch.pc == 0x1001;
    munmap(run, (size_t)run_size);
    munmap(mem, 0x2000);
    close(cpu), close(vm), close(kvm);
    return works;
}

#endif

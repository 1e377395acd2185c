/* test_lifecycle.c: creating and destroying sandboxes: bad inputs (files, ELF images, configs,
 * registrations), error names, no fd or memory leaks over 100 sandboxes, isolation between
 * sandboxes, two sandboxes on two threads at once, and the per-thread error detail. */
#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <pthread.h>
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "kvm_common.h"

static uint8_t *read_guest(size_t *len)
{
    FILE *f = fopen(guest_path(), "rb");
    if (!f)
        hl_test_fail(__FILE__, __LINE__, "cannot open %s", guest_path());
    CHECK(fseek(f, 0, SEEK_END) == 0);
    long n = ftell(f);
    CHECK(n > 0);
    rewind(f);
    uint8_t *buf = malloc((size_t)n);
    CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* End of the last byte of the file that a PT_LOAD segment needs (what follows, such as debug
 * sections and section headers, is not needed to load the guest). */
static size_t load_end(const uint8_t *elf, size_t len)
{
    Elf64_Ehdr eh;
    size_t end = 0;
    CHECK(len >= sizeof eh);
    memcpy(&eh, elf, sizeof eh);
    for (size_t i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        CHECK(eh.e_phoff + (i + 1) * sizeof ph <= len);
        memcpy(&ph, elf + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > end)
            end = ph.p_offset + ph.p_filesz;
    }
    CHECK(end > 4096 && end <= len);
    return end;
}

static int dummy_host_fn(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(0);
    return 0;
}

/* ---- creation and its failures ---- */
TEST(destroy_null_is_a_noop)
{
    hl_sandbox_destroy(NULL);
    CHECK(!hl_sandbox_is_poisoned(NULL));
}

TEST(new_rejects_null_arguments_with_EINVAL)
{
    hl_sandbox *sb = (hl_sandbox *)(uintptr_t)1;
    CHECK_RC(hl_sandbox_new(NULL, NULL, &sb), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_new: elf_path and out must not be NULL");
    CHECK_RC(hl_sandbox_new(NULL, guest_path(), NULL), HL_EINVAL);
    CHECK_RC(hl_sandbox_new_from_memory(NULL, NULL, 10, &sb), HL_EINVAL);
    CHECK_ERROR_IS("hl_sandbox_new: elf and out must not be NULL");
    CHECK_RC(hl_sandbox_new_from_memory(NULL, "x", 1, NULL), HL_EINVAL);
    CHECK(sb == (hl_sandbox *)(uintptr_t)1); /* out-parameters are written only on success */
}

TEST(new_with_missing_file_fails_with_EIO)
{
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new(NULL, "/nonexistent/guest.elf", &sb), HL_EIO);
    CHECK_ERROR_IS("cannot open guest '/nonexistent/guest.elf': No such file or directory");
    CHECK(sb == NULL);
}

TEST(new_with_directory_fails_with_EIO)
{
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new(NULL, "/", &sb), HL_EIO);
    CHECK_ERROR_HAS("guest '/' is not a regular file");
}

TEST(new_from_memory_rejects_random_bytes_with_EELF)
{
    uint8_t junk[100];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof junk; i++) {
        x = x * 1103515245u + 12345u;
        junk[i] = (uint8_t)(x >> 16);
    }
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new_from_memory(NULL, junk, sizeof junk, &sb), HL_EELF);
    CHECK_ERROR_HAS("ELF");
    CHECK_RC(hl_sandbox_new_from_memory(NULL, junk, 0, &sb), HL_EELF);
    CHECK(sb == NULL);
}

TEST(new_from_memory_rejects_truncated_guest_with_EELF)
{
    size_t len;
    uint8_t *elf = read_guest(&len);
    size_t end = load_end(elf, len);
    const size_t cuts[] = {4, 63, 64, 200, 4096, end / 2, end - 1};
    hl_sandbox *sb = NULL;
    for (size_t i = 0; i < COUNT_OF(cuts); i++) {
        int rc = hl_sandbox_new_from_memory(NULL, elf, cuts[i], &sb);
        if (rc != HL_EELF)
            hl_test_fail(__FILE__, __LINE__, "truncated to %zu of %zu bytes: %d (%s): %s", cuts[i],
                         len, rc, hl_errname(rc), hl_last_error());
        CHECK(sb == NULL);
    }
    free(elf);
}

TEST(new_from_memory_rejects_corrupted_header_with_EELF)
{
    size_t len;
    uint8_t *elf = read_guest(&len);
    hl_sandbox *sb = NULL;
    elf[0] = 0x7e; /* magic */
    CHECK_RC(hl_sandbox_new_from_memory(NULL, elf, len, &sb), HL_EELF);
    elf[0] = 0x7f;
    elf[4] = 1; /* ELFCLASS32 */
    CHECK_RC(hl_sandbox_new_from_memory(NULL, elf, len, &sb), HL_EELF);
    elf[4] = 2;
    elf[18] = 3; /* e_machine = EM_386 */
    CHECK_RC(hl_sandbox_new_from_memory(NULL, elf, len, &sb), HL_EELF);
    free(elf);
}

TEST(new_from_memory_copies_the_image)
{
    size_t len;
    uint8_t *elf = read_guest(&len);
    hl_sandbox *sb = NULL;
    require_kvm();
    CHECK_OK(hl_sandbox_new_from_memory(NULL, elf, len, &sb));
    memset(elf, 0xcc, len); /* the caller keeps ownership: the sandbox must not use it */
    free(elf);
    CHECK_OK(hl_sandbox_init(sb));
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("copied"))), "copied");
    hl_sandbox_destroy(sb);
}

/* ---- configuration ---- */
TEST(config_init_sets_documented_defaults)
{
    hl_config cfg;
    memset(&cfg, 0xff, sizeof cfg);
    hl_config_init(&cfg);
    CHECK_EQ(cfg.stack_size, 256 * 1024);
    CHECK_EQ(cfg.heap_size, 1024 * 1024);
    CHECK_EQ(cfg.input_size, 64 * 1024);
    CHECK_EQ(cfg.output_size, 64 * 1024);
    CHECK_EQ(cfg.time_limit_ms, 5000);
    CHECK_EQ(cfg.log_level, HL_LOG_INFO);
    CHECK(cfg.log_fn == NULL);
    CHECK(cfg.log_user == NULL);
    hl_config_init(NULL);
}

static void check_config_rejected(const hl_config *cfg, const char *detail)
{
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new(cfg, guest_path(), &sb), HL_ECONFIG);
    CHECK_ERROR_IS(detail);
    CHECK(sb == NULL);
}

TEST(config_out_of_range_fails_with_ECONFIG_naming_the_field)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.stack_size = 1024;
    check_config_rejected(&cfg, "config stack_size = 1024 is out of range [16384, 268435456]");
    hl_config_init(&cfg);
    cfg.stack_size = HL_MAX_STACK_SIZE + 1ull;
    check_config_rejected(&cfg, "config stack_size = 268435457 is out of range [16384, 268435456]");
    hl_config_init(&cfg);
    cfg.heap_size = HL_MAX_HEAP_SIZE + 1ull;
    check_config_rejected(&cfg, "config heap_size = 805306369 is out of range [16384, 805306368]");
    hl_config_init(&cfg);
    cfg.input_size = 0;
    check_config_rejected(&cfg, "config input_size = 0 is out of range [4096, 268435456]");
    hl_config_init(&cfg);
    cfg.output_size = SIZE_MAX;
    check_config_rejected(&cfg, "config output_size = 18446744073709551615 is out of range "
                                "[4096, 268435456]");
    hl_config_init(&cfg);
    cfg.time_limit_ms = HL_MAX_TIME_LIMIT_MS + 1;
    check_config_rejected(&cfg, "config time_limit_ms = 86400001 is out of range [0, 86400000]");
    hl_config_init(&cfg);
    cfg.log_level = (hl_log_level)6;
    check_config_rejected(&cfg, "config log_level = 6 is out of range [0, 5]");
}

TEST(config_too_much_memory_altogether_fails_with_ECONFIG)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.heap_size = HL_MAX_HEAP_SIZE;
    cfg.stack_size = HL_MAX_STACK_SIZE;
    cfg.memory_limit = HL_MAX_GUEST_MEMORY;
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new(&cfg, guest_path(), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("guest memory would need ");
    CHECK_ERROR_HAS("more than the 1073741824 allowed by memory_limit");
}

TEST(config_limits_are_accepted)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.stack_size = HL_MIN_STACK_SIZE;
    cfg.heap_size = 64 * 1024;
    cfg.input_size = cfg.output_size = HL_MIN_BUFFER_SIZE;
    cfg.time_limit_ms = 0;
    cfg.log_level = HL_LOG_TRACE;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("tiny"))), "tiny");
    hl_sandbox_destroy(sb);
}

TEST(config_is_copied_at_creation)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 100;
    hl_sandbox *sb = new_sandbox(&cfg);
    cfg.time_limit_ms = 0; /* must not affect the sandbox */
    CHECK_OK(hl_sandbox_init(sb));
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    CHECK_ERROR_IS("time limit of 100 ms exceeded");
    hl_sandbox_destroy(sb);
}

/* ---- registration ---- */
TEST(register_after_init_fails_with_ESTATE)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_RC(hl_sandbox_register(sb, "Late", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL), HL_ESTATE);
    CHECK_ERROR_IS("host functions can only be registered before init");
    hl_sandbox_destroy(sb);
}

TEST(register_duplicate_name_fails_with_EEXIST)
{
    hl_sandbox *sb = new_sandbox(NULL);
    CHECK_OK(hl_sandbox_register(sb, "HostAdd", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_I32),
                                 dummy_host_fn, NULL));
    CHECK_RC(hl_sandbox_register(sb, "HostAdd", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL),
             HL_EEXIST);
    CHECK_ERROR_IS("function 'HostAdd' is already registered");
    CHECK_OK(hl_sandbox_register(sb, "HostAdd2", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL));
    CHECK_OK(hl_sandbox_init(sb));
    hl_sandbox_destroy(sb);
}

TEST(register_rejects_bad_names_types_and_pointers_with_EINVAL)
{
    char long_name[200];
    memset(long_name, 'n', 129);
    long_name[129] = '\0';
    hl_type many[HL_MAX_PARAMS + 1];
    for (size_t i = 0; i < COUNT_OF(many); i++)
        many[i] = HL_TYPE_I32;
    hl_sandbox *sb = new_sandbox(NULL);
    CHECK_RC(hl_sandbox_register(NULL, "F", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL), HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, NULL, HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL), HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, "F", HL_TYPE_I32, NULL, 0, NULL, NULL), HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, "F", HL_TYPE_I32, NULL, 2, dummy_host_fn, NULL), HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, "", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL), HL_EINVAL);
    CHECK_ERROR_HAS("invalid function name");
    CHECK_RC(hl_sandbox_register(sb, "has space", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL),
             HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, "caf\xc3\xa9", HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL),
             HL_EINVAL);
    CHECK_RC(hl_sandbox_register(sb, long_name, HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL),
             HL_EINVAL);
    long_name[128] = '\0'; /* 128 characters is the longest allowed */
    CHECK_OK(hl_sandbox_register(sb, long_name, HL_TYPE_I32, NULL, 0, dummy_host_fn, NULL));
    CHECK_RC(hl_sandbox_register(sb, "F", (hl_type)10, NULL, 0, dummy_host_fn, NULL), HL_EINVAL);
    CHECK_ERROR_IS("invalid return type 10");
    CHECK_RC(hl_sandbox_register(sb, "F", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32, HL_TYPE_VOID),
                                 dummy_host_fn, NULL),
             HL_EINVAL);
    CHECK_ERROR_IS("parameter 2 has invalid type 0");
    CHECK_RC(hl_sandbox_register(sb, "F", HL_TYPE_I32, many, COUNT_OF(many), dummy_host_fn, NULL),
             HL_EINVAL);
    CHECK_ERROR_IS("33 parameters; at most 32");
    CHECK_OK(hl_sandbox_register(sb, "F", HL_TYPE_VOID, many, HL_MAX_PARAMS, dummy_host_fn, NULL));
    CHECK_OK(hl_sandbox_init(sb));
    hl_sandbox_destroy(sb);
}

/* Hides /dev/kvm from this test process only (a private mount namespace; /dev/null bound over
 * it), or skips when that is not permitted. */
static void hide_kvm(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        SKIP("cannot create a mount namespace: %s", strerror(errno));
    if (mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL) != 0)
        SKIP("cannot make mounts private: %s", strerror(errno));
    if (mount("/dev/null", "/dev/kvm", "none", MS_BIND, NULL) != 0)
        SKIP("cannot hide /dev/kvm: %s", strerror(errno));
}

TEST(without_kvm_creation_fails_with_ENOKVM)
{
    hl_sandbox *sb = NULL;
    hide_kvm();
    CHECK_EQ(hl_kvm_available(), 0);
    CHECK_ERROR_IS("KVM is not available: /dev/kvm: unsupported KVM API version or capabilities");
    CHECK_RC(hl_sandbox_new(NULL, guest_path(), &sb), HL_ENOKVM);
    CHECK(sb == NULL);
}

TEST(without_kvm_kvm_tests_skip_instead_of_passing)
{
    char self[4096], cmd[4200], line[256], last[256] = "";
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    CHECK(n > 0);
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(cmd, sizeof cmd, "%s/kvm_test_calls", self);
    if (access(cmd, X_OK) != 0)
        SKIP("%s is not built", cmd);
    hide_kvm();
    snprintf(cmd, sizeof cmd, "'%s/kvm_test_calls' 2>&1", self);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL);
    int passed = 0;
    while (fgets(line, sizeof line, p)) {
        passed += strncmp(line, "PASS ", 5) == 0;
        snprintf(last, sizeof last, "%s", line);
    }
    CHECK_EQ(pclose(p), 0);
    CHECK_EQ(passed, 0);
    int np = -1, nf = -1, ns = -1;
    CHECK(sscanf(last, "%d passed, %d failed, %d skipped", &np, &nf, &ns) == 3);
    CHECK_EQ(np, 0);
    CHECK_EQ(nf, 0);
    CHECK(ns >= 30);
}

/* ---- init (the guest asks InitMode what to do; see the guest) ---- */
static int init_mode_fn(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    *ret = hl_i32(*(const int32_t *)user);
    return 0;
}

static int echo_fn(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)nargs;
    *ret = args[0];
    return 0;
}

static int init_logs;

static void count_log(void *user, const hl_log_record *rec)
{
    (void)user;
    CHECK_EQ(rec->level, HL_LOG_WARN);
    CHECK_STREQ(rec->message, "init says hi");
    init_logs++;
}

/* A sandbox whose init runs `mode`; returns hl_sandbox_init's result. */
static int init_with_mode(const hl_config *cfg, const int32_t *mode, hl_sandbox **out)
{
    hl_sandbox *sb = new_sandbox(cfg);
    CHECK_OK(hl_sandbox_register(sb, "InitMode", HL_TYPE_I32, NULL, 0, init_mode_fn,
                                 (void *)(uintptr_t)mode));
    CHECK_OK(hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING), echo_fn,
                                 NULL));
    *out = sb;
    return hl_sandbox_init(sb);
}

static void check_init_poisoned(hl_sandbox *sb)
{
    CHECK(hl_sandbox_is_poisoned(sb));
    CHECK_RC(hl_sandbox_init(sb), HL_EPOISONED);
    CALL_FAILS(sb, HL_EPOISONED, "Echo", HL_ARGS(hl_str("x")));
    hl_sandbox_destroy(sb);
}

TEST(init_abort_fails_with_EABORT_and_poisons)
{
    static const int32_t mode = 1;
    hl_sandbox *sb;
    CHECK_RC(init_with_mode(NULL, &mode, &sb), HL_EABORT);
    CHECK_ERROR_IS("guest aborted (code 9): init refused");
    check_init_poisoned(sb);
}

TEST(init_exceeding_time_limit_fails_with_ETIMEOUT_and_poisons)
{
    static const int32_t mode = 2;
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 100;
    hl_sandbox *sb;
    CHECK_RC(init_with_mode(&cfg, &mode, &sb), HL_ETIMEOUT);
    CHECK_ERROR_IS("time limit of 100 ms exceeded");
    check_init_poisoned(sb);
}

TEST(init_fault_fails_with_EFAULT_and_poisons)
{
    static const int32_t mode = 4;
    hl_sandbox *sb;
    CHECK_RC(init_with_mode(NULL, &mode, &sb), HL_EFAULT);
    CHECK_ERROR_HAS("read at 0x0 (unmapped memory, not mapped)");
    check_init_poisoned(sb);
}

TEST(init_can_log_and_call_host_functions)
{
    static const int32_t log_mode = 3, call_mode = 5;
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = count_log;
    hl_sandbox *sb;
    CHECK_OK(init_with_mode(&cfg, &log_mode, &sb));
    CHECK_EQ(init_logs, 1);
    hl_sandbox_destroy(sb);
    CHECK_OK(init_with_mode(NULL, &call_mode, &sb));
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, 100); /* set by init */
    hl_sandbox_destroy(sb);
}

static int named_fn(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    *ret = hl_str(user);
    return 0;
}

TEST(many_host_functions_are_all_callable)
{
    static char names[1024][8];
    hl_sandbox *sb = new_sandbox(NULL);
    for (int i = 1023; i >= 0; i--) { /* registered in reverse: the table sorts them */
        snprintf(names[i], sizeof names[i], "F%04d", i);
        CHECK_OK(hl_sandbox_register(sb, names[i], HL_TYPE_STRING, NULL, 0, named_fn, names[i]));
    }
    CHECK_RC(hl_sandbox_register(sb, "OneTooMany", HL_TYPE_STRING, NULL, 0, named_fn, NULL),
             HL_EINVAL);
    CHECK_ERROR_IS("more than 1024 functions");
    CHECK_OK(hl_sandbox_init(sb));
    static const int probe[] = {0, 1, 511, 512, 1022, 1023};
    for (size_t i = 0; i < COUNT_OF(probe); i++) {
        char expect[16];
        snprintf(expect, sizeof expect, "ok: F%04d", probe[i]);
        CHECK_STR_VALUE(
            CALL_OK(sb, HL_TYPE_STRING, "CallHostNamed", HL_ARGS(hl_str(names[probe[i]]))), expect);
    }
    hl_sandbox_destroy(sb);
}

/* ---- errors ---- */
TEST(strerror_and_errname_cover_every_code)
{
    static const struct {
        int code;
        const char *name, *text;
    } all[] = {
#define HL_TEST_ERRNO(name, value, text) {value, #name, text},
        HL_ERRNO_MAP(HL_TEST_ERRNO)
#undef HL_TEST_ERRNO
    };
    CHECK_EQ(COUNT_OF(all), 25);
    for (size_t i = 0; i < COUNT_OF(all); i++) {
        CHECK_EQ(all[i].code, -(int)(i + 1)); /* -1 .. -25, none skipped */
        CHECK_STREQ(hl_errname(all[i].code), all[i].name);
        CHECK_STREQ(hl_strerror(all[i].code), all[i].text);
        CHECK(strlen(hl_strerror(all[i].code)) > 0);
    }
    CHECK_STREQ(hl_errname(HL_EABORT), "HL_EABORT");
    CHECK_STREQ(hl_strerror(HL_EABORT), "guest aborted");
    CHECK_STREQ(hl_strerror(HL_ETIMEOUT), "time limit exceeded");
    CHECK_STREQ(hl_errname(0), "OK");
    CHECK_STREQ(hl_strerror(0), "success");
    CHECK_STREQ(hl_errname(1), "HL_E?");
    CHECK_STREQ(hl_errname(-26), "HL_E?");
    CHECK_STREQ(hl_strerror(-26), "unknown error");
    CHECK_STREQ(hl_strerror(INT32_MIN), "unknown error");
}

TEST(version_matches_header)
{
    CHECK_STREQ(hl_version(), HL_VERSION_STRING);
    CHECK_STREQ(hl_version(), "0.1.0");
}

static void *fail_on_other_thread(void *arg)
{
    hl_sandbox *sb = NULL;
    (void)arg;
    CHECK_STREQ(hl_last_error(), ""); /* nothing failed on this thread yet */
    CHECK_RC(hl_sandbox_new(NULL, "/nonexistent/b.elf", &sb), HL_EIO);
    CHECK_ERROR_HAS("/nonexistent/b.elf");
    return NULL;
}

TEST(last_error_is_per_thread_and_cleared_by_the_next_call)
{
    hl_sandbox *sb = NULL;
    CHECK_RC(hl_sandbox_new(NULL, "/nonexistent/a.elf", &sb), HL_EIO);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, fail_on_other_thread, NULL), 0);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK_ERROR_HAS("/nonexistent/a.elf"); /* the other thread's failure did not touch ours */
    sb = ready_sandbox(NULL);
    CHECK_STREQ(hl_last_error(), "");
    CALL_FAILS(sb, HL_ENOTFOUND, "Nope", NULL, 0);
    CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("x")));
    CHECK_STREQ(hl_last_error(), "");
    hl_sandbox_destroy(sb);
}

TEST(kvm_is_available_on_this_machine)
{
    require_kvm(); /* skips with the reason otherwise */
    CHECK_EQ(hl_kvm_available(), 1);
    CHECK_STREQ(hl_last_error(), "");
}

TEST(time_limit_signal_ignored_by_application_is_taken_over)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN; /* only a real handler counts as taken */
    CHECK(sigaction(SIGRTMIN + 5, &sa, NULL) == 0);
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 100;
    hl_sandbox *sb = ready_sandbox(&cfg);
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    hl_sandbox_destroy(sb);
}

static void app_handler(int sig)
{
    (void)sig;
}

TEST(time_limit_signal_with_application_handler_fails_with_ESIGNAL)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = app_handler;
    CHECK(sigaction(SIGRTMIN + 5, &sa, NULL) == 0);
    hl_sandbox *sb = new_sandbox(NULL);
    CHECK_RC(hl_sandbox_init(sb), HL_ESIGNAL);
    CHECK_ERROR_IS("signal SIGRTMIN+5 has another handler; time limits and hl_interrupt need it");
    CHECK(!hl_sandbox_is_poisoned(sb));
    hl_sandbox_destroy(sb);
    /* also without a time limit: hl_interrupt needs the signal too (it could not stop a spinning
     * guest otherwise, yet would say it had) */
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 0;
    sb = new_sandbox(&cfg);
    CHECK_RC(hl_sandbox_init(sb), HL_ESIGNAL);
    hl_sandbox_destroy(sb);
}

/* ---- resources ---- */
/* AddressSanitizer and valgrind keep freed memory in quarantine, so RSS bounds mean nothing under
 * them (their own leak checkers cover leaks there; `make valgrind` sets HL_TEST_UNDER_VALGRIND). */
#if defined(__SANITIZE_ADDRESS__)
#define HL_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define HL_TEST_ASAN 1
#endif
#endif
#ifndef HL_TEST_ASAN
#define HL_TEST_ASAN 0
#endif

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    CHECK(d != NULL);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static long rss_kib(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    long size = 0, resident = 0;
    CHECK(f != NULL);
    CHECK(fscanf(f, "%ld %ld", &size, &resident) == 2);
    fclose(f);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void one_sandbox_round(int i)
{
    hl_sandbox *sb = ready_sandbox(NULL);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(i))).as.i32, i);
    CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("round"))), "round");
    hl_sandbox_destroy(sb);
}

TEST(hundred_sandboxes_leak_no_fds_or_memory)
{
    one_sandbox_round(0); /* warm up: /dev/kvm stays open for the process, malloc arenas grow */
    one_sandbox_round(0);
    int fds = count_fds();
    long rss = rss_kib();
    for (int i = 1; i <= 100; i++)
        one_sandbox_round(i);
    CHECK_EQ(count_fds(), fds);
    long growth = rss_kib() - rss;
    if (growth > 2048 && !HL_TEST_ASAN && !getenv("HL_TEST_UNDER_VALGRIND"))
        hl_test_fail(__FILE__, __LINE__, "RSS grew by %ld KiB over 100 sandboxes", growth);
}

TEST(failed_creations_leak_no_fds_or_memory)
{
    require_kvm(); /* before anything is allocated: a skip must leak nothing either */
    size_t len;
    uint8_t *elf = read_guest(&len);
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.stack_size = 1;
    hl_sandbox *sb = NULL;
    size_t cut = load_end(elf, len) - 1;
    CHECK_RC(hl_sandbox_new_from_memory(NULL, elf, cut, &sb), HL_EELF);
    int fds = count_fds();
    long rss = rss_kib();
    for (int i = 0; i < 200; i++) {
        CHECK_RC(hl_sandbox_new_from_memory(NULL, elf, cut, &sb), HL_EELF);
        CHECK_RC(hl_sandbox_new_from_memory(&cfg, elf, len, &sb), HL_ECONFIG);
        CHECK_RC(hl_sandbox_new(NULL, "/nonexistent", &sb), HL_EIO);
    }
    CHECK_EQ(count_fds(), fds);
    CHECK(rss_kib() - rss < 1024 || HL_TEST_ASAN);
    free(elf);
}

TEST(sandboxes_have_independent_state)
{
    hl_sandbox *sb[20];
    for (int i = 0; i < 20; i++)
        sb[i] = ready_sandbox(NULL);
    for (int round = 1; round <= 3; round++)
        for (int i = 0; i < 20; i++)
            CHECK_EQ(CALL_OK(sb[i], HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(i))).as.i32,
                     i * round);
    for (int i = 0; i < 20; i++)
        hl_sandbox_destroy(sb[i]);
}

typedef struct worker {
    hl_sandbox *sb;
    int id;
    int calls;
    pthread_barrier_t *start;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    char text[64], expect[64];
    pthread_barrier_wait(w->start);
    for (int i = 0; i < 200; i++) {
        snprintf(text, sizeof text, "thread %d call %d", w->id, i);
        snprintf(expect, sizeof expect, "%s", text);
        CHECK_STR_VALUE(CALL_OK(w->sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str(text))), expect);
        CHECK_EQ(CALL_OK(w->sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(w->id))).as.i32,
                 w->id * (i + 1));
        w->calls += 2;
    }
    return NULL;
}

TEST(two_sandboxes_on_two_threads_at_once)
{
    pthread_barrier_t start;
    pthread_t t[2];
    worker w[2];
    CHECK_EQ(pthread_barrier_init(&start, NULL, 2), 0);
    for (int i = 0; i < 2; i++) {
        w[i] = (worker){ready_sandbox(NULL), i + 1, 0, &start};
        /* created on this thread, used on another: sandboxes are not tied to a thread */
    }
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_create(&t[i], NULL, work, &w[i]), 0);
    for (int i = 0; i < 2; i++)
        CHECK_EQ(pthread_join(t[i], NULL), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_EQ(w[i].calls, 400);
        CHECK_EQ(CALL_OK(w[i].sb, HL_TYPE_I32, "GetStatic", NULL, 0).as.i32, (i + 1) * 200);
        hl_sandbox_destroy(w[i].sb);
    }
    pthread_barrier_destroy(&start);
}

static void *spin_on_thread(void *arg)
{
    hl_sandbox *sb = arg;
    CALL_FAILS(sb, HL_ETIMEOUT, "Spin", NULL, 0);
    return NULL;
}

TEST(time_limit_works_on_another_thread_while_this_one_calls)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.time_limit_ms = 150;
    hl_sandbox *spinner = ready_sandbox(&cfg), *worker_sb = ready_sandbox(NULL);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, spin_on_thread, spinner), 0);
    for (int i = 0; i < 300; i++)
        CHECK_EQ(CALL_OK(worker_sb, HL_TYPE_I32, "AddToStatic", HL_ARGS(hl_i32(1))).as.i32, i + 1);
    CHECK_EQ(pthread_join(t, NULL), 0);
    CHECK(hl_sandbox_is_poisoned(spinner));
    CHECK(!hl_sandbox_is_poisoned(worker_sb));
    hl_sandbox_destroy(spinner);
    hl_sandbox_destroy(worker_sb);
}

static const hl_test tests[] = {
    TEST_ENTRY(destroy_null_is_a_noop),
    TEST_ENTRY(new_rejects_null_arguments_with_EINVAL),
    TEST_ENTRY(new_with_missing_file_fails_with_EIO),
    TEST_ENTRY(new_with_directory_fails_with_EIO),
    TEST_ENTRY(new_from_memory_rejects_random_bytes_with_EELF),
    TEST_ENTRY(new_from_memory_rejects_truncated_guest_with_EELF),
    TEST_ENTRY(new_from_memory_rejects_corrupted_header_with_EELF),
    TEST_ENTRY(new_from_memory_copies_the_image),
    TEST_ENTRY(config_init_sets_documented_defaults),
    TEST_ENTRY(config_out_of_range_fails_with_ECONFIG_naming_the_field),
    TEST_ENTRY(config_too_much_memory_altogether_fails_with_ECONFIG),
    TEST_ENTRY(config_limits_are_accepted),
    TEST_ENTRY(config_is_copied_at_creation),
    TEST_ENTRY(register_after_init_fails_with_ESTATE),
    TEST_ENTRY(register_duplicate_name_fails_with_EEXIST),
    TEST_ENTRY(register_rejects_bad_names_types_and_pointers_with_EINVAL),
    TEST_ENTRY(without_kvm_creation_fails_with_ENOKVM),
    TEST_ENTRY(without_kvm_kvm_tests_skip_instead_of_passing),
    TEST_ENTRY(init_abort_fails_with_EABORT_and_poisons),
    TEST_ENTRY(init_exceeding_time_limit_fails_with_ETIMEOUT_and_poisons),
    TEST_ENTRY(init_fault_fails_with_EFAULT_and_poisons),
    TEST_ENTRY(init_can_log_and_call_host_functions),
    TEST_ENTRY(many_host_functions_are_all_callable),
    TEST_ENTRY(strerror_and_errname_cover_every_code),
    TEST_ENTRY(version_matches_header),
    TEST_ENTRY(last_error_is_per_thread_and_cleared_by_the_next_call),
    TEST_ENTRY(kvm_is_available_on_this_machine),
    TEST_ENTRY(time_limit_signal_ignored_by_application_is_taken_over),
    TEST_ENTRY(time_limit_signal_with_application_handler_fails_with_ESIGNAL),
    TEST_ENTRY(hundred_sandboxes_leak_no_fds_or_memory),
    TEST_ENTRY(failed_creations_leak_no_fds_or_memory),
    TEST_ENTRY(sandboxes_have_independent_state),
    TEST_ENTRY(two_sandboxes_on_two_threads_at_once),
    TEST_ENTRY(time_limit_works_on_another_thread_while_this_one_calls),
};

RUN_TESTS(tests)

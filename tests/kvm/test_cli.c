/* test_cli.c: hl-run end to end: runs build/bin/hl-run (or $HL_TEST_BIN_DIR/hl-run) with
 * posix_spawn and checks its stdout, stderr and exit status exactly: typed arguments of every
 * kind, options, usage errors (exit 2) and guest failures (exit 1). */
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"

extern char **environ;

typedef struct run_result {
    char out[16384];
    char err[16384];
    int status; /* exit status, or 128 + signal */
} run_result;

static const char *hl_run_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_BIN_DIR", "build/bin", "hl-run");
}

static int temp_file(char *name)
{
    strcpy(name, "/tmp/hl-cli-test-XXXXXX");
    int fd = mkstemp(name);
    CHECK(fd >= 0);
    unlink(name);
    return fd;
}

static void slurp(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    ssize_t r;
    CHECK(lseek(fd, 0, SEEK_SET) == 0);
    while (n < cap - 1 && (r = read(fd, buf + n, cap - 1 - n)) > 0)
        n += (size_t)r;
    buf[n] = '\0';
    close(fd);
}

/* Runs hl-run with the NULL-terminated args (argv[1..]), capturing stdout and stderr. */
static void run_cli(const char *const *args, run_result *res)
{
    char *argv[64];
    char out_name[64], err_name[64];
    size_t n = 0;
    argv[n++] = (char *)hl_run_path();
    while (args[n - 1] && n < COUNT_OF(argv) - 1) {
        argv[n] = (char *)args[n - 1];
        n++;
    }
    argv[n] = NULL;
    if (access(hl_run_path(), X_OK) != 0)
        hl_test_fail(__FILE__, __LINE__, "%s is missing (run make all first)", hl_run_path());
    int out = temp_file(out_name), err = temp_file(err_name);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, out, 1);
    posix_spawn_file_actions_adddup2(&fa, err, 2);
    pid_t pid;
    CHECK_EQ(posix_spawn(&pid, argv[0], &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    CHECK(waitpid(pid, &status, 0) == pid);
    res->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    slurp(out, res->out, sizeof res->out);
    slurp(err, res->err, sizeof res->err);
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})
#define G guest_path()

/* Runs hl-run and checks exit status, stdout and stderr exactly. */
#define CHECK_RUN(args, status_, out_, err_)                                                       \
    do {                                                                                           \
        run_result r_;                                                                             \
        run_cli(args, &r_);                                                                        \
        if (r_.status != (status_) || strcmp(r_.out, (out_)) != 0 || strcmp(r_.err, (err_)))       \
            hl_test_fail(__FILE__, __LINE__,                                                       \
                         "hl-run exited %d with stdout \"%s\" and stderr \"%s\"; expected %d, "    \
                         "\"%s\", \"%s\"",                                                         \
                         r_.status, r_.out, r_.err, (status_), (out_), (err_));                    \
    } while (0)

/* ---- usage (no sandbox needed) ---- */
TEST(cli_help_prints_usage_on_stdout_and_exits_0)
{
    static const char *const forms[] = {"--help", "-h"};
    for (size_t i = 0; i < COUNT_OF(forms); i++) {
        run_result r;
        run_cli(ARGV(forms[i]), &r);
        CHECK_EQ(r.status, 0);
        const char *first = "usage: hl-run [options] GUEST.elf FUNCTION [ARG...]\n";
        CHECK(strncmp(r.out, first, strlen(first)) == 0);
        CHECK_CONTAINS(r.out, "i64:N, u64:N, f32:X, f64:X, true, false,\nstr:TEXT, bytes:HEX");
        CHECK_CONTAINS(r.out, "Exit status: 0 on success, 1 when the sandbox or the call fails, "
                              "2 on bad usage.\n");
        CHECK_STREQ(r.err, "");
    }
}

TEST(cli_version_prints_version_and_exits_0)
{
    CHECK_RUN(ARGV("--version"), 0, "hl-run (hyperlight-c) 0.1.0\n", "");
}

TEST(cli_without_guest_and_function_exits_2)
{
    CHECK_RUN(ARGV(NULL), 2, "", "hl-run: expected GUEST.elf FUNCTION [ARG...] (try --help)\n");
    CHECK_RUN(ARGV(G), 2, "", "hl-run: expected GUEST.elf FUNCTION [ARG...] (try --help)\n");
}

TEST(cli_unknown_option_exits_2)
{
    CHECK_RUN(ARGV("--bogus", G, "Echo", "x"), 2, "",
              "hl-run: unknown option '--bogus' (try --help)\n");
    CHECK_RUN(ARGV("-x", G, "Echo", "x"), 2, "", "hl-run: unknown option '-x' (try --help)\n");
}

TEST(cli_bad_option_value_exits_2_naming_the_option)
{
    CHECK_RUN(ARGV("--heap", "abc", G, "Echo", "x"), 2, "",
              "hl-run: bad value 'abc' for --heap (try --help)\n");
    CHECK_RUN(ARGV("--timeout-ms=-1", G, "Echo", "x"), 2, "",
              "hl-run: bad value '-1' for --timeout-ms (try --help)\n");
    CHECK_RUN(ARGV("--log-level", "loud", G, "Echo", "x"), 2, "",
              "hl-run: bad value 'loud' for --log-level (try --help)\n");
    CHECK_RUN(ARGV("--gdb", "0", G, "Echo", "x"), 2, "",
              "hl-run: bad value '0' for --gdb (try --help)\n");
    CHECK_RUN(ARGV("--gdb", "65536", G, "Echo", "x"), 2, "",
              "hl-run: bad value '65536' for --gdb (try --help)\n");
    CHECK_RUN(ARGV("--core-dir", "", G, "Echo", "x"), 2, "",
              "hl-run: bad value '' for --core-dir (try --help)\n");
}

TEST(cli_hot_runs_the_call_in_a_hot_sandbox)
{
    require_kvm();
    run_result r;
    CHECK_RUN(ARGV("--hot", G, "Echo", "str:hot"), 0, "hot\n", "");
    run_cli(ARGV("--hot", "--hot-spin-us", "3", G, "CallHostEcho", "str:x"), &r);
    CHECK_EQ(r.status, 1); /* the host call goes through the doorbell and is refused there */
    CHECK_CONTAINS(r.err, "host function 'HostEcho' is not registered");
    CHECK_RUN(ARGV("--hot", "--hot-spin-us", "0", G, "Echo", "x"), 2, "",
              "hl-run: bad value '0' for --hot-spin-us (try --help)\n");
    CHECK_RUN(ARGV("--hot-spin-us", "x", G, "Echo", "x"), 2, "",
              "hl-run: bad value 'x' for --hot-spin-us (try --help)\n");
}

TEST(cli_core_dir_gets_a_core_file_of_a_fault)
{
    char dir[] = "/dev/shm/hl-cli-core-XXXXXX", cmd[128];
    require_kvm();
    CHECK(mkdtemp(dir) != NULL);
    run_result r;
    run_cli(ARGV("--core-dir", dir, G, "ReadNull"), &r);
    CHECK_EQ(r.status, 1);
    CHECK_CONTAINS(r.err, "(core file ");
    CHECK_CONTAINS(r.err, dir);
    CHECK_CONTAINS(r.err, "/simpleguest.elf.");
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK_EQ(system(cmd), 0);
}

TEST(cli_bad_typed_argument_exits_2)
{
    require_kvm(); /* hl-run parses arguments with the guest's signature at hand */
    CHECK_RUN(ARGV(G, "EchoI32", "i32:abc"), 2, "",
              "hl-run: argument 1: 'abc' is not a valid i32\n");
    CHECK_RUN(ARGV(G, "EchoI32", "i32:2147483648"), 2, "",
              "hl-run: argument 1: '2147483648' is not a valid i32\n");
    CHECK_RUN(ARGV(G, "EchoU32", "u32:-1"), 2, "", "hl-run: argument 1: '-1' is not a valid u32\n");
    CHECK_RUN(ARGV(G, "PrintTwoArgs", "x", "f32:nope"), 2, "",
              "hl-run: argument 2: 'nope' is not a valid f32\n");
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:0a0"), 2, "",
              "hl-run: argument 1: bytes:0a0: odd number of hex digits\n");
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:@/nonexistent/file"), 2, "",
              "hl-run: argument 1: bytes:@/nonexistent/file: No such file or directory\n");
}

TEST(cli_bad_hex_digit_is_reported_at_its_position)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:g0"), 2, "",
              "hl-run: argument 1: bytes:g0: not a hex digit at position 1\n");
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:0g"), 2, "",
              "hl-run: argument 1: bytes:0g: not a hex digit at position 2\n");
}

/* ---- calls ---- */
TEST(cli_typed_arguments_of_every_type_roundtrip)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "EchoI32", "i32:-42"), 0, "-42\n", "");
    CHECK_RUN(ARGV(G, "EchoI64", "i64:-5"), 0, "-5\n", "");
    CHECK_RUN(ARGV(G, "EchoU32", "u32:7"), 0, "7\n", "");
    CHECK_RUN(ARGV(G, "EchoU64", "u64:9"), 0, "9\n", "");
    CHECK_RUN(ARGV(G, "EchoU64", "u64:18446744073709551615"), 0, "18446744073709551615\n", "");
    CHECK_RUN(ARGV(G, "EchoFloat", "f32:1.5"), 0, "1.5\n", "");
    CHECK_RUN(ARGV(G, "EchoDouble", "f64:2.25"), 0, "2.25\n", "");
    CHECK_RUN(ARGV(G, "EchoBool", "true"), 0, "true\n", "");
    CHECK_RUN(ARGV(G, "EchoBool", "false"), 0, "false\n", "");
    CHECK_RUN(ARGV(G, "Echo", "str:hello"), 0, "hello\n", "");
    CHECK_RUN(ARGV(G, "Echo", "str:42"), 0, "42\n", "");
    CHECK_RUN(ARGV(G, "Echo", "hello world"), 0, "hello world\n", "");
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:0a0b"), 0, "0a0b\n", "");
    CHECK_RUN(ARGV(G, "EchoBytes", "bytes:"), 0, "\n", "");
}

TEST(cli_bare_numbers_take_the_declared_parameter_type)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "EchoI64", "-5"), 0, "-5\n", "");
    CHECK_RUN(ARGV(G, "EchoU64", "9"), 0, "9\n", "");
    CHECK_RUN(ARGV(G, "EchoDouble", "2.25"), 0, "2.25\n", "");
    CHECK_RUN(ARGV(G, "EchoFloat", "1.5"), 0, "1.5\n", "");
}

TEST(cli_bytes_argument_from_file)
{
    static const uint8_t data[] = {0x00, 0x01, 0x7f, 0xfe, 0xff};
    char path[64];
    require_kvm();
    strcpy(path, "/tmp/hl-cli-bytes-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data);
    close(fd);
    char arg[80];
    snprintf(arg, sizeof arg, "bytes:@%s", path);
    run_result r;
    run_cli(ARGV(G, "EchoBytes", arg), &r);
    unlink(path);
    CHECK_EQ(r.status, 0);
    CHECK_STREQ(r.out, "00017ffeff\n");
    CHECK_STREQ(r.err, "");
}

TEST(cli_eleven_arguments_of_all_types_print_and_return)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "PrintElevenArgs", "str:hello", "42", "i64:-5", "four", "five", "true",
                   "false", "u32:7", "u64:9", "f32:1.5", "f64:2.25"),
              0,
              "msg:hello 42 -5 four five true false 7 9 1.500 2.250\n" /* printed by the guest */
              "msg:hello 42 -5 four five true false 7 9 1.500 2.250\n" /* its result */,
              "");
}

TEST(cli_void_result_prints_nothing)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "LogMessage", "quiet", "5"), 0, "", "");
}

TEST(cli_guest_stdout_is_written_byte_for_byte_before_the_result)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "PrintOutput", "hello"), 0, "hello5\n", "");
    CHECK_RUN(ARGV(G, "WriteStream", "2", "to stderr\n"), 0, "10\n", "to stderr\n");
}

TEST(cli_log_level_option_shows_debug_records)
{
    run_result r;
    require_kvm();
    CHECK_RUN(ARGV(G, "LogMessage", "hidden", "4"), 0, "", "");
    run_cli(ARGV("--log-level", "debug", G, "LogMessage", "shown", "4"), &r);
    CHECK_EQ(r.status, 0);
    CHECK_STREQ(r.out, "");
    CHECK(strncmp(r.err, "[guest DEBUG ", 13) == 0);
    CHECK_CONTAINS(r.err, "simpleguest.c:");
    size_t n = strlen(r.err);
    CHECK(n > 8 && strcmp(r.err + n - 8, "] shown\n") == 0);
    CHECK_RUN(ARGV("--log-level", "off", G, "PrintOutput", "x"), 0, "x1\n", ""); /* not a log */
}

/* A snapshot file written by one process and loaded by another: the clock there is the new
 * process's host time, not the time the snapshot was taken, and rand() starts elsewhere. */
TEST(cli_clock_and_rand_are_fresh_in_a_snapshot_file_loaded_by_another_process)
{
    run_result r;
    char path[4096], lib[4096];
    require_kvm();
    snprintf(path, sizeof path, "%s/hl-cli-time-%d.hls",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp", (int)getpid());
    test_file_path(lib, sizeof lib, "HL_TEST_GUEST_DIR", "build/guests", "libcguest.elf");
    run_cli(ARGV("--save-snapshot", path, lib), &r);
    CHECK_STREQ(r.err, "");
    CHECK_EQ(r.status, 0);
    struct timespec pause = {1, 100000000}, now;
    nanosleep(&pause, NULL); /* the file's memory was taken at least 1.1 s before the load */
    run_cli(ARGV("--snapshot", path, "Realtime"), &r);
    clock_gettime(CLOCK_REALTIME, &now);
    CHECK_STREQ(r.err, "");
    CHECK_EQ(r.status, 0);
    unsigned long long guest = strtoull(r.out, NULL, 10);
    unsigned long long host =
        (unsigned long long)now.tv_sec * 1000000000ull + (unsigned long long)now.tv_nsec;
    CHECK(guest <= host + 50000000ull && guest + 1000000000ull >= host);
    run_result a, b;
    run_cli(ARGV("--snapshot", path, "Rand"), &a);
    run_cli(ARGV("--snapshot", path, "Rand"), &b);
    CHECK(a.status == 0 && b.status == 0 && strcmp(a.out, b.out) != 0);
    unlink(path);
}

TEST(cli_heap_and_stack_options_apply)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "CallMalloc", "12582912"), 1, "",
              "hl-run: guest function 'CallMalloc' failed: malloc(12582912) failed\n");
    CHECK_RUN(ARGV("--heap", "16M", G, "CallMalloc", "12582912"), 0, "12582912\n", "");
    CHECK_RUN(ARGV("--stack=1M", G, "LargeVar"), 0, "307200\n", "");
}

/* ---- failures: exit 1 with the library's detail ---- */
TEST(cli_guest_abort_exits_1_with_code_and_message)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "GuestAbortWithMessage", "3", "out of cheese"), 1, "",
              "hl-run: guest aborted (code 3): out of cheese\n");
}

TEST(cli_guest_failure_exits_1)
{
    require_kvm();
    CHECK_RUN(ARGV(G, "Fail", "boom"), 1, "", "hl-run: guest function 'Fail' failed: boom\n");
    CHECK_RUN(ARGV(G, "NoSuchFunction"), 1, "",
              "hl-run: guest function 'NoSuchFunction' not found\n");
    CHECK_RUN(ARGV(G, "Echo"), 1, "", "hl-run: guest function 'Echo' takes 1 argument, 0 given\n");
    CHECK_RUN(ARGV(G, "EchoI32", "str:1"), 1, "",
              "hl-run: argument 1 of guest function 'EchoI32' must be i32, got string\n");
}

TEST(cli_fault_and_timeout_exit_1)
{
    require_kvm();
    CHECK_RUN(ARGV("--timeout-ms", "100", G, "Spin"), 1, "",
              "hl-run: time limit of 100 ms exceeded\n");
    run_result r;
    run_cli(ARGV(G, "StackOverflow", "0"), &r);
    CHECK_EQ(r.status, 1);
    CHECK_STREQ(r.out, "");
    CHECK(strncmp(r.err, "hl-run: guest stack overflow: access to the guard page at 0x", 60) == 0);
}

TEST(cli_missing_or_bad_guest_exits_1)
{
    CHECK_RUN(ARGV("/nonexistent/guest.elf", "Echo", "x"), 1, "",
              "hl-run: cannot open guest '/nonexistent/guest.elf': No such file or directory\n");
    char path[64];
    strcpy(path, "/tmp/hl-cli-notelf-XXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    CHECK(write(fd, "not an ELF file\n", 16) == 16);
    close(fd);
    run_result r;
    run_cli(ARGV(path, "Echo", "x"), &r);
    unlink(path);
    CHECK_EQ(r.status, 1);
    CHECK_STREQ(r.out, "");
    CHECK(strncmp(r.err, "hl-run: bad guest ELF", 21) == 0);
}

static const hl_test tests[] = {
    TEST_ENTRY(cli_help_prints_usage_on_stdout_and_exits_0),
    TEST_ENTRY(cli_version_prints_version_and_exits_0),
    TEST_ENTRY(cli_without_guest_and_function_exits_2),
    TEST_ENTRY(cli_unknown_option_exits_2),
    TEST_ENTRY(cli_bad_option_value_exits_2_naming_the_option),
    TEST_ENTRY(cli_hot_runs_the_call_in_a_hot_sandbox),
    TEST_ENTRY(cli_core_dir_gets_a_core_file_of_a_fault),
    TEST_ENTRY(cli_bad_typed_argument_exits_2),
    TEST_ENTRY(cli_bad_hex_digit_is_reported_at_its_position),
    TEST_ENTRY(cli_typed_arguments_of_every_type_roundtrip),
    TEST_ENTRY(cli_bare_numbers_take_the_declared_parameter_type),
    TEST_ENTRY(cli_bytes_argument_from_file),
    TEST_ENTRY(cli_eleven_arguments_of_all_types_print_and_return),
    TEST_ENTRY(cli_void_result_prints_nothing),
    TEST_ENTRY(cli_guest_stdout_is_written_byte_for_byte_before_the_result),
    TEST_ENTRY(cli_log_level_option_shows_debug_records),
    TEST_ENTRY(cli_clock_and_rand_are_fresh_in_a_snapshot_file_loaded_by_another_process),
    TEST_ENTRY(cli_heap_and_stack_options_apply),
    TEST_ENTRY(cli_guest_abort_exits_1_with_code_and_message),
    TEST_ENTRY(cli_guest_failure_exits_1),
    TEST_ENTRY(cli_fault_and_timeout_exit_1),
    TEST_ENTRY(cli_missing_or_bad_guest_exits_1),
};

RUN_TESTS(tests)

/* libcguest.c: a guest that uses the C library the way ordinary programs do (newlib under the
 * runtime's system layer): byte streams, time, randomness, exit, and a self-test of the headers
 * the issue names. The host side is tests/kvm/test_libc.c. */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <hyperlight/guest.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/time.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "common.h"

#define UNUSED_ARGS (void)args, (void)nargs

/* ---- streams ---- */

/* WriteBytes(fd, bytes): fwrite to stdout (1) or stderr (2); returns the count written. */
static int write_bytes(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    FILE *to = args[0].as.i32 == 2 ? stderr : stdout;
    *ret = hl_u64(fwrite(args[1].as.bytes.ptr, 1, args[1].as.bytes.len, to));
    return 0;
}

/* PrintPattern(n): prints n bytes, byte i being i % 251, in pieces of varying size. */
static int print_pattern(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint8_t piece[3000];
    uint64_t n = args[0].as.u64, done = 0;
    for (size_t k = 1; done < n; k = k % 2999 + 7) {
        size_t len = k < n - done ? k : (size_t)(n - done);
        for (size_t i = 0; i < len; i++)
            piece[i] = (uint8_t)((done + i) % 251);
        if (fwrite(piece, 1, len, stdout) != len)
            return hlg_fail("fwrite failed after %" PRIu64 " bytes", done);
        done += len;
    }
    *ret = hl_u64(done);
    return 0;
}

/* PrintThenAbort(text): prints text (no newline, still buffered) and calls abort(). */
static int print_then_abort(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    (void)ret;
    fputs(args[0].as.str.ptr, stdout);
    fputs("err-before-abort", stderr);
    abort();
}

/* Exit(code): prints "bye", then exit(code) (atexit handlers and stdio flush run). */
static int call_exit(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    (void)ret;
    fputs("bye", stdout);
    exit(args[0].as.i32);
}

/* Raise(sig): raise(sig) with the default action. */
static int call_raise(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    *ret = hl_i32(raise(args[0].as.i32));
    return 0;
}

/* AssertTrue(x): the standard assert(x). */
static int assert_true(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    assert(args[0].as.i32 != 0);
    *ret = hl_i32(1);
    return 0;
}

/* ---- time ---- */

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    if (clock_gettime(id, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Realtime() / Monotonic(): clock_gettime in nanoseconds. */
static int realtime(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_u64(clock_ns(CLOCK_REALTIME));
    return 0;
}

static int monotonic(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_u64(clock_ns(CLOCK_MONOTONIC));
    return 0;
}

/* TimeAndDay(): "time() gettimeofday-seconds gettimeofday-microseconds clock()". */
static int time_and_day(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    struct timeval tv;
    char *out = hlg_scratch(128);
    if (!out || gettimeofday(&tv, NULL) != 0)
        return hlg_fail("gettimeofday failed");
    snprintf(out, 128, "%lld %lld %ld %ld", (long long)time(NULL), (long long)tv.tv_sec,
             (long)tv.tv_usec, (long)clock());
    *ret = hl_str(out);
    return 0;
}

/* SpinMonotonic(ms): busy-waits until MONOTONIC has advanced ms milliseconds, checking it never
 * goes back; returns how far clock() advanced meanwhile, in CLOCKS_PER_SEC units. */
static int spin_monotonic(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    uint64_t start = clock_ns(CLOCK_MONOTONIC), last = start;
    uint64_t until = start + (uint64_t)args[0].as.i32 * 1000000u;
    clock_t c0 = clock();
    while (last < until) {
        uint64_t now = clock_ns(CLOCK_MONOTONIC);
        if (now < last)
            return hlg_fail("MONOTONIC went back from %" PRIu64 " to %" PRIu64, last, now);
        last = now;
    }
    *ret = hl_i64((int64_t)(clock() - c0));
    return 0;
}

/* ClockCost(n): the mean cost in ns of one clock_gettime(MONOTONIC), over n reads (for the
 * report: a VM exit per read would cost microseconds; hl-run libcguest.elf ClockCost 1000000). */
static int clock_cost(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    int32_t n = args[0].as.i32 > 0 ? args[0].as.i32 : 1;
    uint64_t start = clock_ns(CLOCK_MONOTONIC), sink = 0;
    for (int32_t i = 0; i < n; i++)
        sink += clock_ns(CLOCK_MONOTONIC) & 1;
    uint64_t spent = clock_ns(CLOCK_MONOTONIC) - start;
    *ret = hl_f64((double)spent / n + (double)(sink & 0) /* keeps the loop */);
    return 0;
}

/* ---- randomness ---- */

static int call_rand(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    *ret = hl_i32(rand());
    return 0;
}

static int call_srand(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)nargs;
    (void)ret;
    srand((unsigned)args[0].as.i32);
    return 0;
}

/* Entropy(): 16 bytes each from getentropy, getrandom and arc4random_buf, plus arc4random(). */
static int entropy(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    uint8_t *out = hlg_scratch(52);
    if (!out)
        return hlg_fail("no scratch");
    if (getentropy(out, 16) != 0)
        return hlg_fail("getentropy: %s", strerror(errno));
    if (getrandom(out + 16, 16, 0) != 16)
        return hlg_fail("getrandom: %s", strerror(errno));
    arc4random_buf(out + 32, 16);
    uint32_t a = arc4random();
    memcpy(out + 48, &a, 4);
    *ret = hl_bytes(out, 52);
    return 0;
}

/* ---- self-test of the C library ---- */

#define EXPECT(cond)                                                                               \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return __LINE__;                                                                       \
    } while (0)

static jmp_buf jump;
static int deep(int n)
{
    if (n == 0)
        longjmp(jump, 42);
    return deep(n - 1) + 1;
}

static int check_setjmp(void)
{
    volatile int touched = 0;
    int v = setjmp(jump);
    if (v == 0) {
        touched = 1;
        deep(50);
        return __LINE__; /* not reached */
    }
    EXPECT(v == 42 && touched == 1);
    return 0;
}

static int by_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int check_sort(void)
{
    int v[200];
    for (int i = 0; i < 200; i++)
        v[i] = (i * 7919) % 200;
    qsort(v, 200, sizeof v[0], by_int);
    for (int i = 0; i < 200; i++)
        EXPECT(v[i] == i);
    int key = 137;
    int *found = bsearch(&key, v, 200, sizeof v[0], by_int);
    EXPECT(found && *found == 137);
    key = 500;
    EXPECT(bsearch(&key, v, 200, sizeof v[0], by_int) == NULL);
    return 0;
}

static int check_scanf(void)
{
    int d, n;
    unsigned x;
    double f;
    char word[16], c;
    EXPECT(sscanf("42 ff 2.5 hello!z", "%d %x %lf %15[a-z]%c%n", &d, &x, &f, word, &c, &n) == 5);
    EXPECT(d == 42 && x == 255 && f == 2.5 && strcmp(word, "hello") == 0 && c == '!' && n == 16);
    return 0;
}

static int check_time_functions(void)
{
    time_t t = 1700000000; /* 2023-11-14 22:13:20 UTC */
    struct tm tm;
    char buf[64];
    EXPECT(gmtime_r(&t, &tm) != NULL);
    EXPECT(tm.tm_year == 123 && tm.tm_mon == 10 && tm.tm_mday == 14 && tm.tm_hour == 22);
    EXPECT(strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a %b %j", &tm) > 0);
    EXPECT(strcmp(buf, "2023-11-14 22:13:20 Tue Nov 318") == 0);
    struct tm back = {.tm_year = 123,
                      .tm_mon = 10,
                      .tm_mday = 14,
                      .tm_hour = 22,
                      .tm_min = 13,
                      .tm_sec = 20,
                      .tm_isdst = 0};
    EXPECT(mktime(&back) == t); /* no TZ: the C library's local time is UTC */
    EXPECT(back.tm_wday == 2 && back.tm_yday == 317);
    return 0;
}

static int check_headers(void)
{
    char buf[64];
    EXPECT(setlocale(LC_ALL, "C") != NULL && strcmp(localeconv()->decimal_point, ".") == 0);
    EXPECT(isdigit('7') && !isalpha('7') && toupper('q') == 'Q');
    EXPECT(INT_MAX == 2147483647 && LLONG_MIN < 0 && CHAR_BIT == 8);
    EXPECT(DBL_MANT_DIG == 53 && FLT_EPSILON > 0);
    snprintf(buf, sizeof buf, "%" PRId64 " %" PRIx32, (int64_t)-5, (uint32_t)0xbeef);
    EXPECT(strcmp(buf, "-5 beef") == 0);
    EXPECT(strtoimax("-123", NULL, 10) == -123);
    pid_t pid = getpid();
    off_t off = 1;
    EXPECT(pid > 0 && off == 1);
    volatile unsigned __int128 big = (unsigned __int128)1 << 100, ten = 10;
    EXPECT((uint64_t)(big / ten >> 64) == 6871947673u); /* links libgcc's __udivti3 */
    return 0;
}

static int check_no_files(void)
{
    errno = 0;
    EXPECT(fopen("/etc/passwd", "r") == NULL && errno == ENOSYS);
    errno = 0;
    EXPECT(remove("x") != 0 && errno == ENOSYS);
    EXPECT(fork() == -1 && errno == ENOSYS);
    struct timespec ts;
    EXPECT(clock_gettime((clockid_t)1234, &ts) == -1 && errno == EINVAL);
    return 0;
}

static int check_malloc(void)
{
    volatile size_t huge = (size_t)1 << 40;
    errno = 0;
    EXPECT(malloc(huge) == NULL && errno == ENOMEM);
    char *p = malloc(100000);
    EXPECT(p != NULL);
    memset(p, 1, 100000);
    free(p);
    return 0;
}

/* LibcSelfTest(): "ok", or the line of the first check that failed. */
static int libc_self_test(const hl_value *args, size_t nargs, hl_value *ret)
{
    UNUSED_ARGS;
    int (*checks[])(void) = {check_setjmp,  check_sort,     check_scanf, check_time_functions,
                             check_headers, check_no_files, check_malloc};
    static char msg[64];
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++) {
        int line = checks[i]();
        if (line) {
            snprintf(msg, sizeof msg, "check failed at line %d", line);
            *ret = hl_str(msg);
            return 0;
        }
    }
    *ret = hl_str("ok");
    return 0;
}

/* Thread-local variables of the one thread: initialised (.tdata), zeroed (.tbss), over-aligned. */
static _Thread_local int32_t tls_counter = 40;
static __thread char tls_text[24] = "thread-local";
static _Thread_local int64_t tls_zero[64];
static _Alignas(64) _Thread_local uint8_t tls_aligned[3];

/* Tls(): tls_counter after one more increment, once the other variables check out (-1 if not):
 * tls_zero counts the calls from 0, so it started zeroed. */
static int tls(const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    uintptr_t aligned = (uintptr_t)tls_aligned;
    __asm__("" : "+r"(aligned)); /* its real address, not what the compiler knows of it */
    int ok = strcmp(tls_text, "thread-local") == 0 && (aligned & 63) == 0 &&
             tls_aligned[1] == tls_counter - 40 && tls_zero[63] == tls_counter - 40 &&
             tls_zero[0] == 0;
    tls_zero[63]++;
    tls_aligned[1]++;
    *ret = hl_i32(ok ? ++tls_counter : -1);
    return 0;
}

static int atexit_ran;
static void on_exit_flag(void)
{
    atexit_ran = 1;
    fputs(" atexit", stdout);
}

void hlg_main(void)
{
    atexit(on_exit_flag);
    printf("init says hello\n"); /* flushed when init ends */
    reg("WriteBytes", HL_TYPE_U64, HL_PARAMS(HL_TYPE_I32, HL_TYPE_BYTES), write_bytes);
    reg("PrintPattern", HL_TYPE_U64, HL_PARAMS(HL_TYPE_U64), print_pattern);
    reg("PrintThenAbort", HL_TYPE_VOID, HL_PARAMS(HL_TYPE_STRING), print_then_abort);
    reg("Exit", HL_TYPE_VOID, HL_PARAMS(HL_TYPE_I32), call_exit);
    reg("Raise", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), call_raise);
    reg("Tls", HL_TYPE_I32, NULL, 0, tls);
    reg("AssertTrue", HL_TYPE_I32, HL_PARAMS(HL_TYPE_I32), assert_true);
    reg("Realtime", HL_TYPE_U64, NULL, 0, realtime);
    reg("Monotonic", HL_TYPE_U64, NULL, 0, monotonic);
    reg("TimeAndDay", HL_TYPE_STRING, NULL, 0, time_and_day);
    reg("SpinMonotonic", HL_TYPE_I64, HL_PARAMS(HL_TYPE_I32), spin_monotonic);
    reg("ClockCost", HL_TYPE_F64, HL_PARAMS(HL_TYPE_I32), clock_cost);
    reg("Rand", HL_TYPE_I32, NULL, 0, call_rand);
    reg("Srand", HL_TYPE_VOID, HL_PARAMS(HL_TYPE_I32), call_srand);
    reg("Entropy", HL_TYPE_BYTES, NULL, 0, entropy);
    reg("LibcSelfTest", HL_TYPE_STRING, NULL, 0, libc_self_test);
}

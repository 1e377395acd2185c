/* harness.h: a tiny test harness: one fork per test with a timeout, exact checks, honest skips. */
#ifndef HL_TEST_HARNESS_H
#define HL_TEST_HARNESS_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct hl_test {
    const char *name;
    void (*fn)(void);
} hl_test;

#define TEST(name) static void name(void)
#define TEST_ENTRY(name)                                                                           \
    {                                                                                              \
#name, name                                                                                \
    }

/* Runs the tests named on the command line (all when none), each in its own process with a
 * timeout (HL_TEST_TIMEOUT seconds, default 60), prints one line per test and finally
 * "N passed, N failed, N skipped". Exit status 1 if any failed. */
int hl_test_main(int argc, char **argv, const hl_test *tests, size_t ntests);

_Noreturn void hl_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
_Noreturn void hl_test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            hl_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);                           \
    } while (0)

#define CHECK_EQ(a, b)                                                                             \
    do {                                                                                           \
        long long hl_a_ = (long long)(a), hl_b_ = (long long)(b);                                  \
        if (hl_a_ != hl_b_)                                                                        \
            hl_test_fail(__FILE__, __LINE__, "CHECK_EQ(%s, %s): %lld != %lld", #a, #b, hl_a_,      \
                         hl_b_);                                                                   \
    } while (0)

#define CHECK_U64_EQ(a, b)                                                                         \
    do {                                                                                           \
        uint64_t hl_a_ = (uint64_t)(a), hl_b_ = (uint64_t)(b);                                     \
        if (hl_a_ != hl_b_)                                                                        \
            hl_test_fail(__FILE__, __LINE__, "CHECK_U64_EQ(%s, %s): 0x%" PRIx64 " != 0x%" PRIx64,  \
                         #a, #b, hl_a_, hl_b_);                                                    \
    } while (0)

#define CHECK_STREQ(a, b)                                                                          \
    do {                                                                                           \
        const char *hl_a_ = (a), *hl_b_ = (b);                                                     \
        if (!hl_a_ || !hl_b_ || strcmp(hl_a_, hl_b_) != 0)                                         \
            hl_test_fail(__FILE__, __LINE__, "CHECK_STREQ(%s, %s): \"%s\" != \"%s\"", #a, #b,      \
                         hl_a_ ? hl_a_ : "(null)", hl_b_ ? hl_b_ : "(null)");                      \
    } while (0)

/* Checks that string a contains b. */
#define CHECK_CONTAINS(a, b)                                                                       \
    do {                                                                                           \
        const char *hl_a_ = (a), *hl_b_ = (b);                                                     \
        if (!hl_a_ || !hl_b_ || !strstr(hl_a_, hl_b_))                                             \
            hl_test_fail(__FILE__, __LINE__, "CHECK_CONTAINS(%s, %s): \"%s\" lacks \"%s\"", #a,    \
                         #b, hl_a_ ? hl_a_ : "(null)", hl_b_ ? hl_b_ : "(null)");                  \
    } while (0)

#define CHECK_MEMEQ(a, b, n)                                                                       \
    do {                                                                                           \
        if (memcmp((a), (b), (n)) != 0)                                                            \
            hl_test_fail(__FILE__, __LINE__, "CHECK_MEMEQ(%s, %s, %s) differ", #a, #b, #n);        \
    } while (0)

#define SKIP(...) hl_test_skip(__VA_ARGS__)

#endif

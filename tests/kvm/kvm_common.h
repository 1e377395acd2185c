/* kvm_common.h: what the KVM integration tests share: where the test guest is, skipping without
 * KVM, sandbox creation, and checks of return codes and values that print hl_last_error(). */
#ifndef HL_TEST_KVM_COMMON_H
#define HL_TEST_KVM_COMMON_H

#include <hyperlight/hyperlight.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* "$env/name", or "fallback/name" when $env is unset or empty, written into buf. */
static inline const char *test_file_path(char *buf, size_t size, const char *env,
                                         const char *fallback, const char *name)
{
    const char *dir = getenv(env);
    snprintf(buf, size, "%s/%s", dir && *dir ? dir : fallback, name);
    return buf;
}

/* The test guests: $HL_TEST_GUEST_DIR/NAME.elf, by default build/guests/ under the directory the
 * tests run from (the repository root, as `make test` runs them). Each thread has its own buffer:
 * the stress tests create sandboxes from several threads, and one shared buffer being rewritten
 * while another thread opens the path made that open fail. */
static inline const char *guest_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests",
                          "simpleguest.elf");
}

static inline const char *hostile_path(void)
{
    static _Thread_local char path[4096];
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests",
                          "hostileguest.elf");
}

/* HL_TEST_HOT=1 makes the configurations the tests build hot (docs/HOT.md): make test and make
 * vm-test run the call suites once cold and once hot. HL_TEST_HOT_SPIN_US sets the spin window. */
static inline int test_hot(void)
{
    const char *h = getenv("HL_TEST_HOT");
    return h && h[0] == '1';
}

static inline void test_config_init(hl_config *cfg)
{
    const char *spin = getenv("HL_TEST_HOT_SPIN_US");
    (hl_config_init)(cfg);
    if (!cfg)
        return;
    cfg->hot = test_hot();
    if (spin && *spin)
        cfg->hot_spin_us = (uint32_t)strtoul(spin, NULL, 10);
}
#define hl_config_init test_config_init /* every test's configuration starts here */

/* Skips (never passes) the running test when /dev/kvm cannot be used. */
static inline void require_kvm(void)
{
    if (!hl_kvm_available())
        SKIP("KVM is not available: %s", hl_last_error());
}

/* Checks that `expr` returns exactly `want`; on a mismatch prints both codes by name and the
 * library's detail string. */
#define CHECK_RC(expr, want)                                                                       \
    do {                                                                                           \
        int hl_rc_ = (expr), hl_want_ = (want);                                                    \
        if (hl_rc_ != hl_want_)                                                                    \
            hl_test_fail(__FILE__, __LINE__, "%s returned %d (%s), expected %d (%s); detail: %s",  \
                         #expr, hl_rc_, hl_errname(hl_rc_), hl_want_, hl_errname(hl_want_),        \
                         hl_last_error());                                                         \
    } while (0)

#define CHECK_OK(expr) CHECK_RC(expr, 0)

/* Checks that v is a STRING equal to s (length included) and NUL-terminated in memory. */
#define CHECK_STR_VALUE(v, s)                                                                      \
    do {                                                                                           \
        const hl_value hl_v_ = (v);                                                                \
        const char *hl_s_ = (s);                                                                   \
        if (hl_v_.type != HL_TYPE_STRING)                                                          \
            hl_test_fail(__FILE__, __LINE__, "%s has type %s, not string", #v,                     \
                         hl_type_name(hl_v_.type));                                                \
        if (hl_v_.as.str.len != strlen(hl_s_) ||                                                   \
            memcmp(hl_v_.as.str.ptr, hl_s_, hl_v_.as.str.len) != 0 ||                              \
            hl_v_.as.str.ptr[hl_v_.as.str.len] != '\0')                                            \
            hl_test_fail(__FILE__, __LINE__, "%s is \"%.*s\" (%zu bytes), expected \"%s\"", #v,    \
                         (int)(hl_v_.as.str.len > 300 ? 300 : hl_v_.as.str.len), hl_v_.as.str.ptr, \
                         hl_v_.as.str.len, hl_s_);                                                 \
    } while (0)

/* Checks a value's type. */
#define CHECK_TYPE(v, t)                                                                           \
    do {                                                                                           \
        if ((v).type != (t))                                                                       \
            hl_test_fail(__FILE__, __LINE__, "%s has type %s, expected %s", #v,                    \
                         hl_type_name((v).type), hl_type_name(t));                                 \
    } while (0)

/* The last error must be exactly s / contain s. */
#define CHECK_ERROR_IS(s) CHECK_STREQ(hl_last_error(), s)
#define CHECK_ERROR_HAS(s) CHECK_CONTAINS(hl_last_error(), s)

/* A sandbox from the test guest with cfg (NULL = defaults), not yet initialised. */
static inline hl_sandbox *new_sandbox(const hl_config *cfg)
{
    hl_sandbox *sb = NULL;
    hl_config defaults;
    if (!cfg && test_hot()) {
        hl_config_init(&defaults);
        cfg = &defaults;
    }
    require_kvm();
    CHECK_OK(hl_sandbox_new(cfg, guest_path(), &sb));
    CHECK(sb != NULL);
    return sb;
}

/* A sandbox from the test guest with cfg (NULL = defaults), initialised. */
static inline hl_sandbox *ready_sandbox(const hl_config *cfg)
{
    hl_sandbox *sb = new_sandbox(cfg);
    CHECK_OK(hl_sandbox_init(sb));
    return sb;
}

static inline hl_value call_ok_at(const char *file, int line, hl_sandbox *sb, hl_type type,
                                  const char *name, const hl_value *args, size_t nargs)
{
    hl_value r = {HL_TYPE_VOID, {0}};
    int rc = hl_sandbox_call(sb, name, args, nargs, &r);
    if (rc != 0)
        hl_test_fail(file, line, "call %s returned %d (%s); detail: %s", name, rc, hl_errname(rc),
                     hl_last_error());
    if (r.type != type)
        hl_test_fail(file, line, "call %s returned %s, expected %s", name, hl_type_name(r.type),
                     hl_type_name(type));
    return r;
}

static inline void call_fails_at(const char *file, int line, hl_sandbox *sb, int code,
                                 const char *name, const hl_value *args, size_t nargs)
{
    hl_value r = {HL_TYPE_VOID, {0}};
    int rc = hl_sandbox_call(sb, name, args, nargs, &r);
    if (rc != code)
        hl_test_fail(file, line, "call %s returned %d (%s), expected %d (%s); detail: %s", name, rc,
                     hl_errname(rc), code, hl_errname(code), hl_last_error());
}

/* Calls `name` with the arguments after it (HL_ARGS(...) or NULL, 0), checks that it succeeds
 * with a result of `type`, and yields the result. */
#define CALL_OK(sb, type, name, ...)                                                               \
    call_ok_at(__FILE__, __LINE__, (sb), (type), (name), __VA_ARGS__)

/* Calls `name` and checks that it fails with exactly `code`. */
#define CALL_FAILS(sb, code, name, ...)                                                            \
    call_fails_at(__FILE__, __LINE__, (sb), (code), (name), __VA_ARGS__)

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

#define RUN_TESTS(list)                                                                            \
    int main(int argc, char **argv)                                                                \
    {                                                                                              \
        return hl_test_main(argc, argv, list, sizeof list / sizeof list[0]);                       \
    }

#endif

/* test_isolation.c: what one tenant leaves in a vCPU, a callback or a signal never reaches the
 * next (security review 2026-12, F2-F7, F9, F10; F8 is in test_lifecycle.c): raw guests that read
 * the state they start with, and the lifecycle calls made from inside callbacks. */
#include <pthread.h>
#include <time.h>
#include <unistd.h>

#include "kvm_common.h"
#include "sandbox.h" /* internal: the sandbox's vCPU, for what no guest can read back */

static const char *raw_guest(const char *name)
{
    static _Thread_local char path[4096];
    char file[64];
    snprintf(file, sizeof file, "%s.elf", name);
    return test_file_path(path, sizeof path, "HL_TEST_GUEST_DIR", "build/guests", file);
}

/* Creates a sandbox from a raw guest and runs its init, which must end with HL_EABORT; returns
 * the abort code quoted in the detail. */
static int abort_code_of(const char *guest)
{
    hl_sandbox *sb = NULL;
    int code = -1;
    CHECK_OK(hl_sandbox_new(NULL, raw_guest(guest), &sb));
    CHECK_RC(hl_sandbox_init(sb), HL_EABORT);
    CHECK(sscanf(hl_last_error(), "guest aborted (code %d)", &code) == 1);
    hl_sandbox_destroy(sb);
    return code;
}

#define STATE_CLEAN 0x600d

/* F3 and the rest of the list in state_probe.S: general and segment registers, flags, x87, MXCSR
 * and XMM state at a guest's first instruction are a new vCPU's, also on a VM another tenant left
 * with all of them changed. */
TEST(recycled_vcpu_starts_with_the_state_of_a_new_one)
{
    require_kvm();
    hl_vm_pool_set_size(1);
    hl_vm_pool_drain();
    CHECK_EQ(abort_code_of("state_probe"), STATE_CLEAN); /* a new VM */
    for (int round = 0; round < 3; round++) {
        CHECK_EQ(abort_code_of("fpu_dirtier"), 1);
        CHECK_EQ(abort_code_of("state_probe"), STATE_CLEAN); /* the dirtier's VM, recycled */
    }
    hl_vm_pool_set_size(0);
    CHECK_EQ(abort_code_of("fpu_dirtier"), 1);
    CHECK_EQ(abort_code_of("state_probe"), STATE_CLEAN); /* pool off: a new VM again */
}

/* The rest of the list, which no CPL3 guest can read back: a tenant that took a #DB (DR6 changed)
 * and left MXCSR and the x87 control word changed; its VM, recycled, holds a new vCPU's debug
 * registers, no pending event or interrupt shadow, and the reset FPU control state. */
static void check_hidden_state_is_fresh(hl_sandbox *sb)
{
    hl__vcpu_hidden h;
    CHECK_OK(hl__vm_read_hidden(sb->vm, &h));
    CHECK_U64_EQ(h.dr6, 0xffff0ff0);
    CHECK_U64_EQ(h.dr7, 0x400);
    CHECK_U64_EQ(h.dr0_3_or, 0);
    CHECK(!h.event_pending);
    CHECK(!h.interrupt_shadow);
    CHECK_EQ(h.mxcsr, 0x1f80);
    CHECK_EQ(h.fcw, 0x37f);
}

TEST(recycled_vcpu_holds_no_debug_state_or_pending_event_of_the_last_tenant)
{
    require_kvm();
    hl_vm_pool_set_size(1);
    hl_vm_pool_drain();
    for (int round = 0; round < 2; round++) {
        hl_sandbox *a = NULL, *b = NULL;
        CHECK_OK(hl_sandbox_new(NULL, hostile_path(), &a));
        CHECK_OK(hl_sandbox_init(a));
        CHECK_RC(hl_sandbox_call(a, "TrapFlag", NULL, 0, NULL), HL_EFAULT); /* a #DB */
        CHECK_ERROR_HAS("debug (#DB)");
        hl_sandbox_destroy(a); /* its VM goes to the pool */
        CHECK_OK(hl_sandbox_new(NULL, raw_guest("state_probe"), &b));
        check_hidden_state_is_fresh(b);
        hl_sandbox_destroy(b);
        CHECK_EQ(abort_code_of("fpu_dirtier"), 1);
        CHECK_OK(hl_sandbox_new(NULL, raw_guest("state_probe"), &b));
        check_hidden_state_is_fresh(b);
        hl_sandbox_destroy(b);
    }
}

/* F2: the last exit of a tenant is an OUT at the address where the next tenant starts. Had KVM
 * kept that OUT's completion pending, the next tenant would start past its first instruction (on
 * VMX and SVM, where the RIP advance is done at the next KVM_RUN; nested PVM advances RIP before
 * the exit, so there this passes either way). */
TEST(next_tenant_starts_at_its_entry_after_a_tenant_parked_there)
{
    require_kvm();
    hl_vm_pool_set_size(1);
    hl_vm_pool_drain();
    CHECK_EQ(abort_code_of("out_victim"), 7);
    for (int round = 0; round < 3; round++) {
        hl_sandbox *sb = NULL;
        CHECK_OK(hl_sandbox_new(NULL, raw_guest("out_park"), &sb));
        CHECK_RC(hl_sandbox_init(sb), HL_EPROTOCOL); /* DONE without a function table */
        hl_sandbox_destroy(sb);
        CHECK_EQ(abort_code_of("out_victim"), 7);
    }
}

/* F9: no LDT selector resolves; the far call faults on the selector, not on an LDT read. */
TEST(guests_run_with_a_null_ldt)
{
    require_kvm();
    for (int pooled = 0; pooled < 2; pooled++) {
        hl_sandbox *sb = NULL;
        CHECK_OK(hl_sandbox_new(NULL, raw_guest("ldt_probe"), &sb));
        CHECK_RC(hl_sandbox_init(sb), HL_EFAULT);
        CHECK(strstr(hl_last_error(), "page fault") == NULL);
        if (!strstr(hl_last_error(), "general protection (#GP), error code 0x4"))
            CHECK_ERROR_HAS("invalid opcode (#UD)"); /* hypervisors that emulate far calls */
        hl_sandbox_destroy(sb);
    }
}

/* F4 */
TEST(restore_of_a_sandbox_that_was_never_initialised)
{
    hl_sandbox *a = ready_sandbox(NULL), *b = new_sandbox(NULL);
    hl_snapshot *s = NULL;
    CHECK_OK(hl_sandbox_snapshot(a, &s));
    CHECK_OK(hl_sandbox_restore(b, s));
    CHECK_STR_VALUE(CALL_OK(b, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("restored"))), "restored");
    hl_type ret;
    CHECK_OK(hl_sandbox_guest_function(b, "Echo", &ret, NULL, NULL));
    CHECK_EQ(ret, HL_TYPE_STRING);
    hl_snapshot_release(s);
    hl_sandbox_destroy(a);
    hl_sandbox_destroy(b);
}

/* F7: a parameter list from hl_sandbox_guest_function stays valid after a restore from a snapshot
 * whose function table differs (the sandbox's own table was freed by such a restore). */
static int init_mode_extra(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)args, (void)nargs;
    *ret = hl_i32(*(int *)user);
    return 0;
}

TEST(guest_function_params_outlive_a_restore_that_changes_the_table)
{
    int plain = 0, extra = 6;
    hl_sandbox *a = new_sandbox(NULL), *b = new_sandbox(NULL);
    CHECK_OK(hl_sandbox_register(a, "InitMode", HL_TYPE_I32, NULL, 0, init_mode_extra, &plain));
    CHECK_OK(hl_sandbox_register(b, "InitMode", HL_TYPE_I32, NULL, 0, init_mode_extra, &extra));
    CHECK_OK(hl_sandbox_init(a));
    CHECK_OK(hl_sandbox_init(b));
    hl_snapshot *s = NULL;
    CHECK_OK(hl_sandbox_snapshot(a, &s));
    const hl_type *params = NULL, *again = NULL;
    size_t n = 0;
    CHECK_OK(hl_sandbox_guest_function(b, "Extra", NULL, &params, &n));
    CHECK_EQ(n, 2);
    CHECK_OK(hl_sandbox_restore(b, s)); /* a's table: no Extra */
    CHECK_RC(hl_sandbox_guest_function(b, "Extra", NULL, NULL, NULL), HL_ENOTFOUND);
    CHECK_EQ(params[0], HL_TYPE_I32); /* still readable (ASan: no use after free) */
    CHECK_EQ(params[1], HL_TYPE_I32);
    CHECK_OK(hl_sandbox_guest_function(b, "Echo", NULL, &again, &n));
    CHECK_EQ(again[0], HL_TYPE_STRING);
    hl_snapshot_release(s);
    hl_sandbox_destroy(a);
    hl_sandbox_destroy(b);
}

/* ---- F6: lifecycle calls from inside callbacks ---- */

typedef enum { DO_REGISTER, DO_INIT, DO_DESTROY } reentry;

typedef struct hook {
    hl_sandbox *sb;
    reentry what;
    int rc; /* what the nested call returned */
    int calls;
} hook;

static int late_fn(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(0);
    return 0;
}

static int nested(hook *h)
{
    h->calls++;
    switch (h->what) {
    case DO_REGISTER:
        return hl_sandbox_register(h->sb, "Late", HL_TYPE_I32, NULL, 0, late_fn, NULL);
    case DO_INIT:
        return hl_sandbox_init(h->sb);
    case DO_DESTROY:
        hl_sandbox_destroy(h->sb);
        return 0;
    }
    return -1;
}

static int host_echo_hook(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    hook *h = user;
    (void)nargs;
    h->rc = nested(h);
    *ret = args[0];
    return 0;
}

static int init_mode_echo(void *user, const hl_value *args, size_t nargs, hl_value *ret)
{
    (void)user, (void)args, (void)nargs;
    *ret = hl_i32(5); /* simpleguest: init calls HostEcho */
    return 0;
}

static hl_sandbox *hooked_sandbox(hook *h, int in_init)
{
    hl_sandbox *sb = new_sandbox(NULL);
    h->sb = sb;
    CHECK_OK(hl_sandbox_register(sb, "HostEcho", HL_TYPE_STRING, HL_PARAMS(HL_TYPE_STRING),
                                 host_echo_hook, h));
    if (in_init)
        CHECK_OK(hl_sandbox_register(sb, "InitMode", HL_TYPE_I32, NULL, 0, init_mode_echo, NULL));
    return sb;
}

TEST(register_and_init_from_a_host_function_are_refused)
{
    for (int in_init = 0; in_init < 2; in_init++) {
        for (reentry what = DO_REGISTER; what <= DO_INIT; what++) {
            hook h = {NULL, what, 0, 0};
            hl_sandbox *sb = hooked_sandbox(&h, in_init);
            if (in_init) {
                CHECK_OK(hl_sandbox_init(sb));
            } else {
                CHECK_OK(hl_sandbox_init(sb));
                CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "CallHostEcho", HL_ARGS(hl_str("x"))),
                                "x");
            }
            CHECK_EQ(h.calls, 1);
            CHECK_RC(h.rc, HL_ESTATE);
            /* the sandbox goes on: the refused call changed nothing */
            CHECK_STR_VALUE(CALL_OK(sb, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("on"))), "on");
            hl_sandbox_destroy(sb);
        }
    }
}

TEST(destroy_from_a_host_function_ends_the_call_and_frees_the_sandbox)
{
    for (int in_init = 0; in_init < 2; in_init++) {
        hook h = {NULL, in_init ? DO_DESTROY : DO_REGISTER, 0, 0};
        hl_sandbox *sb = hooked_sandbox(&h, in_init);
        hl_interrupt_handle *ih = hl_sandbox_interrupt_handle(sb);
        if (in_init) {
            CHECK_RC(hl_sandbox_init(sb), HL_ECANCELLED);
        } else {
            CHECK_OK(hl_sandbox_init(sb));
            h.what = DO_DESTROY;
            hl_value r = hl_i32(12345);
            CHECK_RC(hl_sandbox_call(sb, "CallHostEcho", HL_ARGS(hl_str("x")), &r), HL_ECANCELLED);
            CHECK_EQ(r.type, HL_TYPE_I32); /* the result is not written */
        }
        CHECK_ERROR_HAS("destroyed by one of its callbacks");
        CHECK_EQ(h.calls, 1);
        CHECK(!hl_interrupt(ih)); /* the handle outlives the sandbox and does nothing */
        hl_interrupt_release(ih);
    }
}

/* ---- F5: a loop of interrupts does not hold the call it stopped ---- */

typedef struct spinner {
    hl_sandbox *sb;
    int rc;
    volatile int done;
} spinner;

static void *spin_call(void *arg)
{
    spinner *s = arg;
    s->rc = hl_sandbox_call(s->sb, "Spin", NULL, 0, NULL);
    __atomic_store_n(&s->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

TEST(interrupting_until_false_does_not_starve_the_interrupted_call)
{
    spinner s = {ready_sandbox(NULL), 0, 0};
    hl_interrupt_handle *h = hl_sandbox_interrupt_handle(s.sb);
    pthread_t t;
    CHECK_EQ(pthread_create(&t, NULL, spin_call, &s), 0);
    double start = now_s(), deadline = start + 10;
    while (!hl_interrupt(h)) /* until the call runs */
        CHECK(now_s() < deadline);
    unsigned long trues = 1;
    while (hl_interrupt(h)) /* "interrupt until it has stopped" */
        if (++trues % 1024 == 0)
            CHECK(now_s() < deadline);
    CHECK(now_s() - start < 5); /* it ended soon after the first true (held 5 s before) */
    pthread_join(t, NULL);
    CHECK_RC(s.rc, HL_ECANCELLED);
    hl_interrupt_release(h);
    hl_sandbox_destroy(s.sb);
}

/* ---- F10: the config, not the ELF, bounds guest memory ---- */

TEST(image_larger_than_memory_limit_is_refused_before_it_is_read)
{
    hl_config cfg;
    hl_sandbox *sb = NULL;
    hl_config_init(&cfg);
    cfg.memory_limit = 2u * 1024 * 1024;
    CHECK_RC(hl_sandbox_new(&cfg, raw_guest("big_data"), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("more than the 2097152 allowed by memory_limit");
    CHECK(sb == NULL);
    cfg.memory_limit = 0;
    CHECK_RC(hl_sandbox_new(&cfg, raw_guest("big_data"), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("config memory_limit = 0 is out of range");
}

TEST(memory_limit_counts_the_image_with_heap_and_stack)
{
    hl_config cfg;
    hl_sandbox *sb = NULL;
    require_kvm();
    hl_config_init(&cfg);
    cfg.heap_size = 64 * 1024;
    cfg.stack_size = HL_MIN_STACK_SIZE;
    cfg.memory_limit = 16u * 1024 * 1024 + 64 * 1024; /* the file's 16 MiB fit, not the rest */
    CHECK_RC(hl_sandbox_new(&cfg, raw_guest("big_data"), &sb), HL_ECONFIG);
    CHECK_ERROR_HAS("allowed by memory_limit");
    cfg.memory_limit = 20u * 1024 * 1024;
    CHECK_OK(hl_sandbox_new(&cfg, raw_guest("big_data"), &sb));
    CHECK_RC(hl_sandbox_init(sb), HL_EABORT);
    hl_sandbox_destroy(sb);
}

/* This process's resident memory now (VmRSS) or at its peak so far (VmHWM), in KiB. */
static long status_kib(const char *field)
{
    char line[256];
    long kib = -1;
    size_t n = strlen(field);
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, field, n) == 0 && line[n] == ':' &&
            sscanf(line + n + 1, "%ld", &kib) == 1)
            break;
    if (f)
        fclose(f);
    return kib;
}

/* The 16 MiB of initialised data are held once while loading: each chunk of the file's copy is
 * given back as soon as it is in guest memory, so the peak stays within a chunk (1 MiB, plus the
 * 2 MiB granularity of transparent huge pages) of what the sandbox holds afterwards (before, the
 * whole copy was held until the end: 16 MiB more). */
TEST(loading_an_image_holds_its_bytes_once)
{
    hl_config cfg;
    hl_sandbox *sb = NULL;
    require_kvm();
    if (getenv("HL_TEST_UNDER_VALGRIND"))
        SKIP("resident memory means nothing under valgrind");
    hl_vm_pool_set_size(0);
    hl_config_init(&cfg);
    FILE *clear = fopen("/proc/self/clear_refs", "w"); /* "5": VmHWM starts again from VmRSS */
    CHECK(clear && fputs("5", clear) >= 0 && fclose(clear) == 0);
    CHECK_OK(hl_sandbox_new(&cfg, raw_guest("big_data"), &sb));
    long peak = status_kib("VmHWM"), now = status_kib("VmRSS");
    if (peak <= 0 || now <= 0 || peak - now >= 4 * 1024)
        hl_test_fail(__FILE__, __LINE__, "peak %ld KiB while loading, %ld KiB after", peak, now);
    printf("    peak %ld KiB while loading, %ld KiB after\n", peak, now);
    hl_sandbox_destroy(sb);
}

static const hl_test tests[] = {
    TEST_ENTRY(recycled_vcpu_starts_with_the_state_of_a_new_one),
    TEST_ENTRY(recycled_vcpu_holds_no_debug_state_or_pending_event_of_the_last_tenant),
    TEST_ENTRY(next_tenant_starts_at_its_entry_after_a_tenant_parked_there),
    TEST_ENTRY(guests_run_with_a_null_ldt),
    TEST_ENTRY(restore_of_a_sandbox_that_was_never_initialised),
    TEST_ENTRY(guest_function_params_outlive_a_restore_that_changes_the_table),
    TEST_ENTRY(register_and_init_from_a_host_function_are_refused),
    TEST_ENTRY(destroy_from_a_host_function_ends_the_call_and_frees_the_sandbox),
    TEST_ENTRY(interrupting_until_false_does_not_starve_the_interrupted_call),
    TEST_ENTRY(image_larger_than_memory_limit_is_refused_before_it_is_read),
    TEST_ENTRY(memory_limit_counts_the_image_with_heap_and_stack),
    TEST_ENTRY(loading_an_image_holds_its_bytes_once),
};

RUN_TESTS(tests)

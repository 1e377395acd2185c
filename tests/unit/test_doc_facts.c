/* test_doc_facts.c: the numbers the docs quote are the code's (run from the repository root, as
 * make test does): when a constant changes, this fails until the prose says so too. */
#include "config.h"
#include "dirty.h"
#include "harness.h"
#include "vmm.h"

/* The whole of a repository file, NUL-terminated (static buffer). */
static const char *doc(const char *path)
{
    static char text[256 * 1024];
    FILE *f = fopen(path, "r");
    if (!f)
        SKIP("%s not found (run from the repository root)", path);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

/* Checks that `path` contains the text printf(fmt, ...) makes. */
#define CHECK_DOC_SAYS(path, fmt, ...)                                                             \
    do {                                                                                           \
        char want_[256];                                                                           \
        snprintf(want_, sizeof want_, fmt, __VA_ARGS__);                                           \
        if (!strstr(doc(path), want_))                                                             \
            hl_test_fail(__FILE__, __LINE__, "%s no longer says \"%s\"", path, want_);             \
    } while (0)

TEST(snapshot_file_sizes_in_snapshots_md)
{
    /* the header: magic, 6 u32, 15 u64, the cookie, the vCPU state, the checksum */
    unsigned header = 8 + 6 * 4 + 15 * 8 + HL_ABI_COOKIE_SIZE + HL_VCPU_STATE_SIZE + 8;
    CHECK_DOC_SAYS("docs/SNAPSHOTS.md", "header_size (%u)", header);
    CHECK_DOC_SAYS("docs/SNAPSHOTS.md", "vcpu_state_size (%u)", (unsigned)HL_VCPU_STATE_SIZE);
    CHECK_DOC_SAYS("docs/SNAPSHOTS.md", "| %u | 8 | checksum", header - 8);
    CHECK_DOC_SAYS("docs/SNAPSHOTS.md", "`HL_DIRTY_HOT_MAX` (%d)", HL_DIRTY_HOT_MAX);
}

TEST(defaults_in_readme_security_and_the_header)
{
    hl_config cfg;
    hl_config_init(&cfg);
    CHECK_EQ(cfg.time_limit_ms, 5000);
    CHECK_DOC_SAYS("README.md", "default %u s", cfg.time_limit_ms / 1000);
    CHECK_DOC_SAYS("SECURITY.md", "keep the %u s default", cfg.time_limit_ms / 1000);
    CHECK_DOC_SAYS("SECURITY.md", "default %u VMs", HL_VM_POOL_DEFAULT);
    CHECK_DOC_SAYS("docs/SNAPSHOTS.md", "default %u;", HL_VM_POOL_DEFAULT);
    CHECK_DOC_SAYS("include/hyperlight/hyperlight.h", "(<= %u; default %u)", HL_VM_POOL_MAX,
                   HL_VM_POOL_DEFAULT);
    CHECK_EQ(cfg.memory_limit, HL_DEFAULT_MEMORY_LIMIT);
    CHECK_DOC_SAYS("README.md", "(default\n  %u MiB", HL_DEFAULT_MEMORY_LIMIT >> 20);
    CHECK_DOC_SAYS("SECURITY.md", "default %u MiB, at most %llu GiB", HL_DEFAULT_MEMORY_LIMIT >> 20,
                   HL_MAX_GUEST_MEMORY >> 30);
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(snapshot_file_sizes_in_snapshots_md),
        TEST_ENTRY(defaults_in_readme_security_and_the_header),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

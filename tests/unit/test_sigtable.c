/* test_sigtable.c: signature tables, argument checks, config checks and error names. */
#include "config.h"
#include "harness.h"
#include "sigtable.h"

static int dummy(void *u, const hl_value *a, size_t n, hl_value *r)
{
    (void)u, (void)a, (void)n, (void)r;
    return 0;
}

TEST(table_is_sorted_and_rejects_duplicates_and_bad_names)
{
    hl__sigtable t = {0};
    CHECK_EQ(hl__sigtable_add(&t, "b", 1, HL_TYPE_I32, NULL, 0, dummy, NULL), 0);
    CHECK_EQ(hl__sigtable_add(&t, "a", 1, HL_TYPE_VOID, NULL, 0, dummy, NULL), 0);
    CHECK_EQ(hl__sigtable_add(&t, "b", 1, HL_TYPE_I32, NULL, 0, dummy, NULL), HL_EEXIST);
    CHECK_EQ(hl__sigtable_add(&t, "has space", 9, HL_TYPE_I32, NULL, 0, dummy, NULL), HL_EINVAL);
    hl_type bad[] = {HL_TYPE_VOID};
    CHECK_EQ(hl__sigtable_add(&t, "c", 1, HL_TYPE_I32, bad, 1, dummy, NULL), HL_EINVAL);
    CHECK_STREQ(t.v[0].name, "a");
    CHECK(hl__sigtable_find(&t, "b", 1) == &t.v[1]);
    CHECK(hl__sigtable_find(&t, "bb", 2) == NULL);
    hl__sigtable_free(&t);
}

TEST(argument_checks_name_the_argument)
{
    hl__sigtable t = {0};
    hl_type p[] = {HL_TYPE_STRING, HL_TYPE_I32};
    CHECK_EQ(hl__sigtable_add(&t, "Print", 5, HL_TYPE_I32, p, 2, dummy, NULL), 0);
    const hl__sig *s = hl__sigtable_find(&t, "Print", 5);
    hl_value ok[] = {hl_str("x"), hl_i32(1)}, wrong[] = {hl_str("x"), hl_str("y")};
    CHECK_EQ(hl__sig_check_args(s, "guest function", ok, 2), 0);
    CHECK_EQ(hl__sig_check_args(s, "guest function", ok, 1), HL_EARGCOUNT);
    CHECK_STREQ(hl_last_error(), "guest function 'Print' takes 2 arguments, 1 given");
    CHECK_EQ(hl__sig_check_args(s, "guest function", wrong, 2), HL_EARGTYPE);
    CHECK_STREQ(hl_last_error(), "argument 2 of guest function 'Print' must be i32, got string");
    hl__sigtable_free(&t);
}

TEST(table_encodes_and_decodes)
{
    hl__sigtable t = {0}, u = {0};
    uint8_t buf[512];
    const char *why = NULL;
    hl_type p[] = {HL_TYPE_BYTES};
    CHECK_EQ(hl__sigtable_add(&t, "Zero", 4, HL_TYPE_BYTES, p, 1, dummy, NULL), 0);
    CHECK_EQ(hl__sigtable_add(&t, "Add", 3, HL_TYPE_I64, NULL, 0, dummy, NULL), 0);
    size_t n = hl__sigtable_encode(&t, buf, sizeof buf);
    CHECK(n > 0);
    CHECK_EQ(hl__sigtable_decode(&u, buf, n, &why), 0);
    CHECK_EQ(u.n, 2);
    CHECK_STREQ(u.v[1].name, "Zero");
    CHECK_EQ(u.v[1].params[0], HL_TYPE_BYTES);
    CHECK_EQ(hl__sigtable_encode(&t, buf, 5), 0);
    hl__sigtable_free(&u);
    CHECK_EQ(hl__sigtable_decode(&u, buf, n - 1, &why), -1);
    hl__sigtable_free(&t);
    hl__sigtable_free(&u);
}

TEST(config_ranges_are_checked_by_name)
{
    hl_config c;
    hl_config_init(&c);
    CHECK_EQ(hl__config_check(&c), 0);
    c.stack_size = 100;
    CHECK_EQ(hl__config_check(&c), HL_ECONFIG);
    CHECK_CONTAINS(hl_last_error(), "stack_size = 100 is out of range");
    hl_config_init(&c);
    c.input_size = (size_t)HL_MAX_BUFFER_SIZE + 1;
    CHECK_EQ(hl__config_check(&c), HL_ECONFIG);
    CHECK_CONTAINS(hl_last_error(), "input_size");
    hl_config_init(&c);
    c.heap_size = 0;
    CHECK_EQ(hl__config_check(&c), HL_ECONFIG);
    CHECK_CONTAINS(hl_last_error(), "heap_size = 0 is out of range [16384,");
    hl_config_init(&c);
    c.log_level = (hl_log_level)9;
    CHECK_EQ(hl__config_check(&c), HL_ECONFIG);
}

TEST(every_error_code_has_a_name_and_message)
{
#define CHECK_NAMED(name, value, text)                                                             \
    CHECK_STREQ(hl_errname(value), #name);                                                         \
    CHECK_STREQ(hl_strerror(value), text);
    HL_ERRNO_MAP(CHECK_NAMED)
#undef CHECK_NAMED
    CHECK_STREQ(hl_errname(-999), "HL_E?");
    CHECK_STREQ(hl_strerror(-999), "unknown error");
    CHECK_STREQ(hl_version(), HL_VERSION_STRING);
}

TEST(version_number_matches_the_string_and_the_library)
{
    char s[32];
    snprintf(s, sizeof s, "%u.%u.%u", HL_VERSION_NUMBER / 10000, HL_VERSION_NUMBER / 100 % 100,
             HL_VERSION_NUMBER % 100);
    CHECK_STREQ(s, HL_VERSION_STRING);
    CHECK_EQ(hl_version_number(), HL_VERSION_NUMBER);
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(table_is_sorted_and_rejects_duplicates_and_bad_names),
        TEST_ENTRY(argument_checks_name_the_argument),
        TEST_ENTRY(table_encodes_and_decodes),
        TEST_ENTRY(config_ranges_are_checked_by_name),
        TEST_ENTRY(every_error_code_has_a_name_and_message),
        TEST_ENTRY(version_number_matches_the_string_and_the_library),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

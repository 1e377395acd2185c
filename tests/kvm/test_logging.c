/* test_logging.c: guest log records and console output reaching the host's log callback with
 * level, message, file and line; filtering by log_level; nothing at all without a callback. */
#include <pthread.h>

#include "kvm_common.h"

#define MAX_RECORDS 16

typedef struct log_sink {
    int n;
    hl_log_level level[MAX_RECORDS];
    char message[MAX_RECORDS][4100];
    char file[MAX_RECORDS][128];
    uint32_t line[MAX_RECORDS];
    pthread_t thread[MAX_RECORDS];
} log_sink;

static log_sink sink;

static void collect(void *user, const hl_log_record *rec)
{
    log_sink *s = user;
    CHECK(s == &sink);
    CHECK(rec->message && rec->file);
    if (s->n >= MAX_RECORDS)
        hl_test_fail(__FILE__, __LINE__, "too many log records");
    s->level[s->n] = rec->level;
    snprintf(s->message[s->n], sizeof s->message[0], "%s", rec->message);
    snprintf(s->file[s->n], sizeof s->file[0], "%s", rec->file);
    s->line[s->n] = rec->line;
    s->thread[s->n] = pthread_self();
    s->n++;
}

static hl_sandbox *logging_sandbox(hl_log_level level)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = collect;
    cfg.log_user = &sink;
    cfg.log_level = level;
    memset(&sink, 0, sizeof sink);
    return ready_sandbox(&cfg);
}

static void log_message(hl_sandbox *sb, const char *text, int32_t level)
{
    CALL_OK(sb, HL_TYPE_VOID, "LogMessage", HL_ARGS(hl_str(text), hl_i32(level)));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

TEST(log_record_reaches_callback_with_level_message_file_and_line)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_INFO);
    log_message(sb, "hello from the guest", HL_LOG_WARN);
    CHECK_EQ(sink.n, 1);
    CHECK_EQ(sink.level[0], HL_LOG_WARN);
    CHECK_STREQ(sink.message[0], "hello from the guest");
    CHECK(ends_with(sink.file[0], "simpleguest.c"));
    CHECK(sink.line[0] > 0);
    CHECK(pthread_equal(sink.thread[0], pthread_self())); /* on the calling thread */
    log_message(sb, "second", HL_LOG_ERROR);
    CHECK_EQ(sink.n, 2);
    CHECK_EQ(sink.level[1], HL_LOG_ERROR);
    CHECK_STREQ(sink.message[1], "second");
    CHECK_EQ(sink.line[1], sink.line[0]); /* the same hlg_log call site */
    hl_sandbox_destroy(sb);
}

TEST(log_records_above_log_level_are_dropped)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_WARN);
    for (int32_t level = HL_LOG_ERROR; level <= HL_LOG_TRACE; level++) {
        char text[32];
        snprintf(text, sizeof text, "level %d", level);
        log_message(sb, text, level);
    }
    CHECK_EQ(sink.n, 2);
    CHECK_STREQ(sink.message[0], "level 1");
    CHECK_STREQ(sink.message[1], "level 2");
    hl_sandbox_destroy(sb);
}

TEST(log_level_trace_delivers_every_level_in_order)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_TRACE);
    for (int32_t level = HL_LOG_TRACE; level >= HL_LOG_ERROR; level--)
        log_message(sb, "x", level);
    CHECK_EQ(sink.n, 5);
    for (int i = 0; i < 5; i++)
        CHECK_EQ(sink.level[i], HL_LOG_TRACE - i);
    hl_sandbox_destroy(sb);
}

TEST(log_records_with_invalid_level_are_dropped)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_TRACE);
    log_message(sb, "level zero", 0);
    log_message(sb, "level six", 6);
    log_message(sb, "level minus one", -1);
    CHECK_EQ(sink.n, 0);
    hl_sandbox_destroy(sb);
}

TEST(log_level_off_delivers_nothing)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_OFF);
    log_message(sb, "dropped", HL_LOG_ERROR);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "PrintOutput", HL_ARGS(hl_str("dropped too"))).as.i32, 11);
    CHECK_EQ(sink.n, 0);
    hl_sandbox_destroy(sb);
}

TEST(no_log_callback_delivers_nothing)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_level = HL_LOG_TRACE;
    cfg.log_user = &sink; /* a user pointer without a callback is never used */
    memset(&sink, 0, sizeof sink);
    hl_sandbox *sb = ready_sandbox(&cfg);
    log_message(sb, "nobody listens", HL_LOG_ERROR);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "PrintOutput", HL_ARGS(hl_str("nor here"))).as.i32, 8);
    CHECK_EQ(sink.n, 0);
    hl_sandbox_destroy(sb);
}

TEST(printf_output_is_not_a_log_record)
{
    hl_sandbox *sb = logging_sandbox(HL_LOG_TRACE);
    CHECK_EQ(CALL_OK(sb, HL_TYPE_I32, "PrintOutput", HL_ARGS(hl_str("printed\n"))).as.i32, 8);
    CALL_OK(sb, HL_TYPE_STRING, "PrintTwoArgs", HL_ARGS(hl_str("two"), hl_i32(2)));
    CHECK_EQ(sink.n, 0); /* stdout is a stream (test_streams.c), never a log record */
    hl_sandbox_destroy(sb);
}

TEST(long_log_message_is_truncated_to_4000_bytes)
{
    char text[5001];
    memset(text, 'L', 5000);
    text[5000] = '\0';
    hl_sandbox *sb = logging_sandbox(HL_LOG_INFO);
    log_message(sb, text, HL_LOG_INFO);
    CHECK_EQ(sink.n, 1);
    CHECK_EQ(strlen(sink.message[0]), 4000);
    CHECK_EQ(strspn(sink.message[0], "L"), 4000);
    hl_sandbox_destroy(sb);
}

TEST(log_message_with_utf8_and_percent_signs_is_verbatim)
{
    static const char text[] = "100% %s %d \xe2\x9c\x93";
    hl_sandbox *sb = logging_sandbox(HL_LOG_INFO);
    log_message(sb, text, HL_LOG_INFO);
    CHECK_EQ(sink.n, 1);
    CHECK_STREQ(sink.message[0], text);
    hl_sandbox_destroy(sb);
}

static hl_sandbox *reentered;
static int reenter_rc = 1;

static void reenter_from_log(void *user, const hl_log_record *rec)
{
    hl_value r;
    (void)user, (void)rec;
    reenter_rc = hl_sandbox_call(reentered, "Echo", HL_ARGS(hl_str("inner")), &r);
}

TEST(log_callback_cannot_reenter_its_sandbox)
{
    hl_config cfg;
    hl_config_init(&cfg);
    cfg.log_fn = reenter_from_log;
    reentered = ready_sandbox(&cfg);
    log_message(reentered, "hi", HL_LOG_ERROR);
    CHECK_EQ(reenter_rc, HL_ESTATE);
    CHECK_STR_VALUE(CALL_OK(reentered, HL_TYPE_STRING, "Echo", HL_ARGS(hl_str("after"))), "after");
    hl_sandbox_destroy(reentered);
}

static const hl_test tests[] = {
    TEST_ENTRY(log_record_reaches_callback_with_level_message_file_and_line),
    TEST_ENTRY(log_records_above_log_level_are_dropped),
    TEST_ENTRY(log_level_trace_delivers_every_level_in_order),
    TEST_ENTRY(log_records_with_invalid_level_are_dropped),
    TEST_ENTRY(log_level_off_delivers_nothing),
    TEST_ENTRY(no_log_callback_delivers_nothing),
    TEST_ENTRY(printf_output_is_not_a_log_record),
    TEST_ENTRY(long_log_message_is_truncated_to_4000_bytes),
    TEST_ENTRY(log_message_with_utf8_and_percent_signs_is_verbatim),
    TEST_ENTRY(log_callback_cannot_reenter_its_sandbox),
};

RUN_TESTS(tests)

/* test_text.c: guest text made safe to print (common/text.c): control characters of both C0 and C1
 * and every invalid UTF-8 byte become '?', everything else is kept. */
#include "harness.h"
#include "text.h"

static const char *clean(const char *in)
{
    static char buf[256];
    snprintf(buf, sizeof buf, "%s", in);
    hl__text_neutralise(buf);
    return buf;
}

TEST(c0_controls_and_del_become_question_marks)
{
    CHECK_STREQ(clean("red\x1b[31m line\nbreak\x7f"), "red?[31m line?break?");
}

TEST(c1_controls_become_one_question_mark)
{
    CHECK_STREQ(clean("x\xc2\x9b"
                      "31mRED"),
                "x?31mRED");                                      /* U+009B, CSI */
    CHECK_STREQ(clean("\xc2\x80\xc2\x9f\xc2\xa0"), "??\xc2\xa0"); /* U+00A0 is printable */
}

TEST(invalid_utf8_bytes_become_question_marks)
{
    CHECK_STREQ(clean("a\x9b"
                      "b"),
                "a?b");                             /* a raw 8-bit CSI */
    CHECK_STREQ(clean("\xc0\xaf"), "??");           /* overlong '/' */
    CHECK_STREQ(clean("\xed\xa0\x80"), "???");      /* a surrogate */
    CHECK_STREQ(clean("\xf4\x90\x80\x80"), "????"); /* past U+10FFFF */
    CHECK_STREQ(clean("cut \xe2\x82"), "cut ??");   /* cut short by the end */
    CHECK_STREQ(clean("\xff\xfe"), "??");
}

TEST(valid_text_is_kept_byte_for_byte)
{
    const char *s = "plain ASCII, caf\xc3\xa9, \xe2\x82\xac, \xf0\x9f\x98\x80";
    CHECK_STREQ(clean(s), s);
    char empty[1] = "";
    CHECK_EQ(hl__text_neutralise(empty), 0);
}

int main(int argc, char **argv)
{
    static const hl_test tests[] = {
        TEST_ENTRY(c0_controls_and_del_become_question_marks),
        TEST_ENTRY(c1_controls_become_one_question_mark),
        TEST_ENTRY(invalid_utf8_bytes_become_question_marks),
        TEST_ENTRY(valid_text_is_kept_byte_for_byte),
    };
    return hl_test_main(argc, argv, tests, sizeof tests / sizeof tests[0]);
}

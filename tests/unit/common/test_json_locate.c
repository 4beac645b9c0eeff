/* Finding the source line of a JSON pointer, for "file:line: /pointer: reason". */
#include <criterion/criterion.h>
#include <string.h>

#include "cm_json.h"

static const char DOC[] = "{\n"
                          "  \"a\": 1,\n"
                          "  \"clients\": [\n"
                          "    {\"id\": \"x\", \"s\": \"has \\\" quote, ] and }\"},\n"
                          "    {\n"
                          "      \"id\": \"y\",\n"
                          "      \"a/b\": {\"~k\": [10,\n"
                          "        20]}\n"
                          "    }\n"
                          "  ]\n"
                          "}\n";

static int line(const char *ptr)
{
    return cm_json_pointer_line(DOC, strlen(DOC), ptr);
}

Test(json_locate, finds_members_and_array_elements)
{
    cr_assert_eq(line(""), 1);
    cr_assert_eq(line("/a"), 2);
    cr_assert_eq(line("/clients"), 3);
    cr_assert_eq(line("/clients/0"), 4);
    cr_assert_eq(line("/clients/0/s"), 4);
    cr_assert_eq(line("/clients/1"), 5);
    cr_assert_eq(line("/clients/1/id"), 6);
}

Test(json_locate, unescapes_pointer_tokens)
{
    cr_assert_eq(line("/clients/1/a~1b/~0k/1"), 8);
}

Test(json_locate, returns_zero_when_absent_or_malformed)
{
    cr_assert_eq(line("/nope"), 0);
    cr_assert_eq(line("/clients/7"), 0);
    cr_assert_eq(line("/clients/x"), 0);
    cr_assert_eq(cm_json_pointer_line("{\"a\": ", 6, "/a"), 0);
}

Test(json_locate, a_nul_byte_in_the_text_never_hangs)
{
    /* found by fuzz_config: a bare literal ending at a NUL made the scanner spin */
    static const char text[] = "{\"a\": [{\"b\": {\"c\": false\0}}], \"d\": 1}";
    cr_assert_eq(cm_json_pointer_line(text, sizeof text - 1, "/x/y"), 0);
    cr_assert_eq(cm_json_pointer_line(text, sizeof text - 1, "/d"), 1);
}

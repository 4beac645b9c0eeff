/* Form parsing: explicit lengths, duplicates, escapes, control bytes, UTF-8. */
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cm_form.h"

static int parse(const char *s, cm_form *f, const char **bad)
{
    return cm_form_parse(s, strlen(s), f, bad);
}

Test(form, decodes_plus_and_percent_escapes)
{
    cm_form f;
    cr_assert_eq(parse("a=x+y%2Bz&b=%E2%82%AC&c", &f, NULL), CM_FORM_OK);
    cr_assert_str_eq(cm_form_get(&f, "a"), "x y+z");
    cr_assert_str_eq(cm_form_get(&f, "b"), "\xe2\x82\xac");
    cr_assert_str_eq(cm_form_get(&f, "c"), "");
    cr_assert_null(cm_form_get(&f, "d"));
    cm_form_dispose(&f);
}

Test(form, skips_empty_pairs_and_empty_input)
{
    cm_form f;
    cr_assert_eq(parse("&&a=1&&", &f, NULL), CM_FORM_OK);
    cr_assert_eq(f.count, 1);
    cm_form_dispose(&f);
    cr_assert_eq(parse("", &f, NULL), CM_FORM_OK);
    cr_assert_eq(f.count, 0);
    cm_form_dispose(&f);
}

/* strings inline: Criterion hands parameters to a re-executed child, so pointers into
 * the parent's address space would dangle */
struct bad_case {
    char input[40];
    int status;
    char bad[8];
};

ParameterizedTestParameters(form, rejects_bad_input)
{
    static struct bad_case cases[] = {
        {"a=1&a=2", CM_FORM_EDUPLICATE, "a"}, {"a=%zz", CM_FORM_EBADESCAPE, ""},
        {"a=%4", CM_FORM_EBADESCAPE, ""},     {"a=%", CM_FORM_EBADESCAPE, ""},
        {"a=x%00y", CM_FORM_ECONTROL, ""},    {"a%00=1", CM_FORM_ECONTROL, ""},
        {"a=%0A", CM_FORM_ECONTROL, ""},      {"a=%7F", CM_FORM_ECONTROL, ""},
        {"a=%C3%28", CM_FORM_EUTF8, "a"},     {"a=%F4%90%80%80", CM_FORM_EUTF8, "a"},
        {"a=%E0%80%AF", CM_FORM_EUTF8, "a"},  {"a=%ED%A0%80", CM_FORM_EUTF8, "a"},
        {"a=%C3", CM_FORM_EUTF8, "a"},
    };
    return cr_make_param_array(struct bad_case, cases, sizeof cases / sizeof cases[0]);
}

ParameterizedTest(struct bad_case *c, form, rejects_bad_input)
{
    cm_form f;
    const char *bad = NULL;
    cr_assert_eq(parse(c->input, &f, &bad), c->status, "%s", c->input);
    if (c->bad[0])
        cr_assert_str_eq(bad, c->bad);
    cm_form_dispose(&f);
}

Test(form, limits_the_number_of_fields)
{
    char buf[1024] = "";
    for (int i = 0; i < CM_FORM_MAX_FIELDS + 1; i++)
        sprintf(buf + strlen(buf), "p%d=1&", i);
    cm_form f;
    cr_assert_eq(parse(buf, &f, NULL), CM_FORM_ETOOMANY);
    cm_form_dispose(&f);
}

Test(form, encode_round_trips)
{
    const char *in = "a b&c=d/é~";
    char *enc = cm_form_encode(in);
    cr_assert_str_eq(enc, "a%20b%26c%3Dd%2F%C3%A9~");
    char *body = malloc(strlen(enc) + 3);
    sprintf(body, "x=%s", enc);
    cm_form f;
    cr_assert_eq(parse(body, &f, NULL), CM_FORM_OK);
    cr_assert_str_eq(cm_form_get(&f, "x"), in);
    cm_form_dispose(&f);
    free(body);
    free(enc);
}

Test(utf8, accepts_valid_and_rejects_truncated_sequences)
{
    cr_assert(cm_utf8_valid((const unsigned char *)"h\xc3\xa9llo \xf0\x9f\x98\x80", 11));
    cr_assert_not(cm_utf8_valid((const unsigned char *)"\xf0\x9f\x98", 3));
    cr_assert_not(cm_utf8_valid((const unsigned char *)"\xff", 1));
}

Test(utf8, sanitize_replaces_each_invalid_byte_and_keeps_valid_text)
{
    const char *in[] = {"\x80",     "%",         "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                        "\xe2\x82", "h\xc3\xa9", "a\xffz"};
    const char *out[] = {"\xef\xbf\xbd",
                         "%",
                         "\xef\xbf\xbd\xef\xbf\xbd",
                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd",
                         "\xef\xbf\xbd\xef\xbf\xbd",
                         "h\xc3\xa9",
                         "a\xef\xbf\xbdz"};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        cm_strbuf b;
        cm_strbuf_init(&b);
        cm_utf8_sanitize(&b, in[i], strlen(in[i]));
        cr_assert_str_eq(b.data, out[i], "case %zu", i);
        cr_assert(cm_utf8_valid((const unsigned char *)b.data, b.len));
        cm_strbuf_dispose(&b);
    }
}

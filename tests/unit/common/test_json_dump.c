/* cm_json_dumps_sorted writes exactly what jansson's json_dumps writes with the IdP's flags:
 * compared on thousands of random values (escapes, UTF-8, reals of every magnitude, key
 * orders) and on the edge cases by name. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cm_json.h"

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;

static uint64_t next(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static json_t *random_string(void)
{
    static const char *const pieces[] = {"a",  "Z",  "0",  "\"",   "\\",   "/",    "\n", "\t",
                                         "\b", "\f", "\r", "\x01", "\x1f", "\x7f", " ",  "é",
                                         "€",  "😀",  ".",  "-",    "_",    "eyJ"};
    char buf[200];
    size_t len = 0, n = next() % 12;
    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[next() % (sizeof pieces / sizeof pieces[0])];
        memcpy(buf + len, p, strlen(p));
        len += strlen(p);
    }
    if (next() % 10 == 0) /* an embedded NUL */
        buf[len++] = '\0';
    return json_stringn(buf, len);
}

static double random_real(void)
{
    static const double fixed[] = {0.0,   -0.0,   0.1,    1.5,   1e21,     1e-7, 123456789012345.0,
                                   1e300, 1e-300, 2.5e-5, 1e100, -3.25e15, 1e15, 1800000000.125};
    if (next() % 2)
        return fixed[next() % (sizeof fixed / sizeof fixed[0])];
    double v = (double)(int64_t)next() / (double)(1ULL << (next() % 63));
    return next() % 3 ? v : v * 1e-200;
}

static json_t *random_value(int depth)
{
    switch (next() % (depth > 2 ? 5 : 7)) {
    case 0:
        return random_string();
    case 1:
        return json_integer((json_int_t)next() >> (next() % 64));
    case 2:
        return json_real(random_real());
    case 3:
        return next() % 2 ? json_true() : json_false();
    case 4:
        return json_null();
    case 5: {
        json_t *a = json_array();
        for (uint64_t n = next() % 5; n > 0; n--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (uint64_t n = next() % 20; n > 0; n--) {
            json_t *k = random_string();
            json_object_setn_new(o, json_string_value(k), json_string_length(k),
                                 random_value(depth + 1));
            json_decref(k);
        }
        return o;
    }
    }
}

static void assert_same(const json_t *j, int precision)
{
    char *want = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(precision));
    char *got = cm_json_dumps_sorted(j, precision);
    if (!want)
        cr_assert_null(got, "jansson refused, we wrote %s", got);
    else
        cr_assert(got && strcmp(got, want) == 0, "want %s\ngot  %s", want, got ? got : "NULL");
    free(want);
    free(got);
}

Test(json_dump, writes_what_jansson_writes_for_random_values)
{
    for (int i = 0; i < 5000; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "v", random_value(0));
        json_object_set_new(o, "w", random_value(1));
        assert_same(o, 15);
        assert_same(o, 0);
        json_decref(o);
    }
}

Test(json_dump, edge_cases)
{
    json_t *cases[] = {
        json_object(),
        json_array(),
        json_pack("{s:s, s:s, s:s}", "b", "x", "a", "y", "ab", "z"),
        json_pack("{s:f, s:f, s:f}", "t", 12.0, "u", 1e-5, "v", 1e25),
        json_pack("[s, i, f, b, n]", "eyJhbGciOiJFUzI1NiJ9.e30.sig", (json_int_t)-9, 0.5, 1),
        json_pack("[I, I, I, I, I]", (json_int_t)INT64_MIN, (json_int_t)INT64_MAX, (json_int_t)0,
                  (json_int_t)-1, (json_int_t)1800000000),
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_same(cases[i], 15);
        assert_same(cases[i], 0);
        json_decref(cases[i]);
    }
}

Test(json_dump, refuses_what_jansson_refuses)
{
    json_t *bad = json_pack("{s:o}", "s", json_stringn_nocheck("\xff\xfe", 2));
    json_t *scalar = json_string("top level");
    cr_assert_null(cm_json_dumps_sorted(bad, 15));
    cr_assert_null(json_dumps(bad, JSON_COMPACT | JSON_SORT_KEYS));
    cr_assert_null(cm_json_dumps_sorted(scalar, 15));
    json_decref(bad);
    json_decref(scalar);
}

/* The framing scanner (mock_idp/src/frame.c): request boundaries as bytes arrive, and
 * chunk extensions rewritten to a size libevent 2.1 reads. Every case is also fed one
 * byte at a time: bytes arrive in any split. */
#include "frame.h"

#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

typedef struct {
    char text[512];
    int events;
} scanned;

/* Scan @p in whole, and again in pieces of @p step bytes; both must agree. */
static scanned scan_in(const char *in, size_t step)
{
    scanned out = {{0}, 0};
    idp_frame f;
    Idp_frame_reset(&f);
    size_t n = strlen(in);
    cr_assert_lt(n, sizeof out.text);
    memcpy(out.text, in, n);
    for (size_t i = 0; i < n; i += step) {
        size_t len = n - i < step ? n - i : step;
        out.events |= Idp_frame_scan(&f, (unsigned char *)out.text + i, len);
    }
    return out;
}

static scanned scan_both(const char *in)
{
    scanned whole = scan_in(in, strlen(in) ? strlen(in) : 1), bytes = scan_in(in, 1);
    cr_assert_str_eq(whole.text, bytes.text, "split: %s", in);
    cr_assert_eq(whole.events, bytes.events, "split: %s", in);
    return whole;
}

#define ALL (IDP_FRAME_START | IDP_FRAME_HEAD | IDP_FRAME_END)

Test(frame, a_request_without_body_ends_at_its_head_only_for_head_and_trace)
{
    cr_assert_eq(scan_both("HEAD /jwks HTTP/1.1\r\nHost: a\r\n\r\n").events, ALL);
    cr_assert_eq(scan_both("TRACE / HTTP/1.1\n\n").events, ALL);
    /* a GET may carry a body (libevent reads one): its end is libevent's to find */
    cr_assert_eq(scan_both("GET /jwks HTTP/1.1\r\nHost: a\r\n\r\n").events,
                 IDP_FRAME_START | IDP_FRAME_HEAD);
}

Test(frame, a_partial_head_has_started_but_not_ended)
{
    cr_assert_eq(scan_both("POST /token HTTP/1.1\r\nHost: a\r\n").events, IDP_FRAME_START);
    cr_assert_eq(scan_both("").events, 0);
}

Test(frame, chunk_extensions_become_a_size_libevent_reads)
{
    scanned s = scan_both("POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
                          "5;name=value\r\nhello\r\n3\t;q=\"a;b\"\r\nabc\r\n0;last\r\n\r\n");
    cr_assert_eq(s.events, ALL);
    cr_assert(strstr(s.text, "\r\n5 name=value\r\nhello\r\n3 ;q=\"a;b\"\r\nabc\r\n0 last\r\n"),
              "%s", s.text);
}

Test(frame, chunk_data_is_never_rewritten)
{
    scanned s = scan_both("POST /t HTTP/1.1\r\ntransfer-encoding:  CHUNKED \r\n\r\n"
                          "a\r\n1;2\r\n3;4\t5\r\n0\r\nX-Trailer: 1;2\r\n\r\n");
    cr_assert_eq(s.events, ALL);
    cr_assert(strstr(s.text, "a\r\n1;2\r\n3;4\t5\r\n0\r\nX-Trailer: 1;2\r\n"), "%s", s.text);
}

Test(frame, a_body_not_chunked_is_left_alone_and_not_ended)
{
    const char *in = "POST /t HTTP/1.1\r\nContent-Length: 7\r\n\r\n5;x=y\r\n";
    scanned s = scan_both(in);
    cr_assert_str_eq(s.text, in);
    cr_assert_eq(s.events, IDP_FRAME_START | IDP_FRAME_HEAD);
}

Test(frame, only_the_first_transfer_encoding_counts_and_a_folded_one_is_unsure)
{
    const char *second = "POST /t HTTP/1.1\r\nTransfer-Encoding: gzip\r\n"
                         "Transfer-Encoding: chunked\r\n\r\n5;x\r\n";
    cr_assert_str_eq(scan_both(second).text, second);
    const char *folded =
        "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n  , gzip\r\n\r\n5;x\r\n";
    cr_assert_str_eq(scan_both(folded).text, folded);
    const char *spaced = "POST /t HTTP/1.1\r\nTransfer-Encoding : chunked\r\n\r\n5;x\r\n";
    cr_assert_str_eq(scan_both(spaced).text, spaced);
}

Test(frame, a_size_it_is_unsure_of_is_left_to_libevent)
{
    const char *cases[] = {"x;a\r\n", " 5;a\r\n", "5x;a\r\n", "1234567890abcdef0;a\r\n"};
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char in[128];
        snprintf(in, sizeof in, "POST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n%s",
                 cases[i]);
        scanned s = scan_both(in);
        cr_assert_str_eq(s.text, in, "%s", cases[i]);
        cr_assert_eq(s.events, IDP_FRAME_START | IDP_FRAME_HEAD);
    }
}

Test(frame, nothing_after_the_end_is_looked_at_until_a_reset)
{
    idp_frame f;
    Idp_frame_reset(&f);
    char in[] =
        "HEAD / HTTP/1.1\r\n\r\nPOST /t HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5;x\r\n";
    cr_assert_eq(Idp_frame_scan(&f, (unsigned char *)in, strlen(in)), ALL);
    cr_assert(strstr(in, "5;x"));
    Idp_frame_reset(&f);
    char *next = strstr(in, "POST");
    cr_assert_eq(Idp_frame_scan(&f, (unsigned char *)next, strlen(next)),
                 IDP_FRAME_START | IDP_FRAME_HEAD);
    cr_assert(strstr(in, "5 x"));
}

/* base64url without padding (RFC 4648 §5 test vectors, adapted to the url alphabet). */
#include <criterion/criterion.h>
#include <string.h>

#include "cm_b64url.h"

Test(b64url, encodes_rfc4648_vectors_without_padding)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char buf[32];
        size_t n = cm_b64url_encode((const uint8_t *)in[i], strlen(in[i]), buf);
        cr_assert_str_eq(buf, out[i]);
        cr_assert_eq(n + 1, cm_b64url_encoded_size(strlen(in[i])));
        uint8_t dec[32];
        cr_assert_eq(cm_b64url_decode(buf, n, dec, sizeof dec), (long)strlen(in[i]));
        cr_assert_arr_eq(dec, in[i], strlen(in[i]));
    }
}

Test(b64url, uses_the_url_alphabet)
{
    const uint8_t in[] = {0xfb, 0xff, 0xbf};
    char buf[8];
    cm_b64url_encode(in, 3, buf);
    cr_assert_str_eq(buf, "-_-_");
}

Test(b64url, rejects_padding_foreign_characters_and_non_canonical_tails)
{
    uint8_t out[16];
    cr_assert_eq(cm_b64url_decode("Zg==", 4, out, sizeof out), -1);
    cr_assert_eq(cm_b64url_decode("Zm+v", 4, out, sizeof out), -1);
    cr_assert_eq(cm_b64url_decode("Zm9/", 4, out, sizeof out), -1);
    cr_assert_eq(cm_b64url_decode("Z", 1, out, sizeof out), -1);
    cr_assert_eq(cm_b64url_decode("Zh", 2, out, sizeof out), -1); /* low bits set: not canonical */
}

Test(b64url, never_writes_past_the_capacity_it_is_given)
{
    uint8_t out[4] = {0, 0, 0, 0xAA};
    cr_assert_eq(cm_b64url_decode("Zm9vYg", 6, out, 3), -1); /* 4 bytes into 3 */
    cr_assert_eq(out[3], 0xAA);
    cr_assert_eq(cm_b64url_decode("Zm9v", 4, out, 3), 3);
}

Test(b64, decodes_rfc4648_vectors_with_padding)
{
    const char *in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *enc[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        uint8_t dec[32];
        cr_assert_eq(cm_b64_decode(enc[i], strlen(enc[i]), dec, sizeof dec), (long)strlen(in[i]),
                     "%s", enc[i]);
        cr_assert_arr_eq(dec, in[i], strlen(in[i]));
    }
    uint8_t dec[4];
    cr_assert_eq(cm_b64_decode("+/+/", 4, dec, sizeof dec), 3);
}

/* The padding-only inputs once made the Basic-credentials decoder's length negative. */
Test(b64, refuses_padding_only_misplaced_padding_and_wrong_lengths)
{
    const char *bad[] = {"====", "==",   "=",        "========", "Zg=",  "Zg",  "Z===",
                         "Zm=v", "=Zm9", "Zg==Zg==", "Zh==",     "Zm-v", "Zm_v"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint8_t dec[16];
        cr_assert_eq(cm_b64_decode(bad[i], strlen(bad[i]), dec, sizeof dec), -1, "%s", bad[i]);
    }
}

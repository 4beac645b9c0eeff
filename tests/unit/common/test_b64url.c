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
        cr_assert_eq(cm_b64url_decode(buf, n, dec), (long)strlen(in[i]));
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
    cr_assert_eq(cm_b64url_decode("Zg==", 4, out), -1);
    cr_assert_eq(cm_b64url_decode("Zm+v", 4, out), -1);
    cr_assert_eq(cm_b64url_decode("Zm9/", 4, out), -1);
    cr_assert_eq(cm_b64url_decode("Z", 1, out), -1);
    cr_assert_eq(cm_b64url_decode("Zh", 2, out), -1); /* low bits set: not canonical */
}

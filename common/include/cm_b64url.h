/* base64 decoding and encoding: base64url without padding (RFC 4648 §5), as JWS compact
 * serialisation uses it, and standard base64 with padding (§4), as HTTP Basic credentials
 * use it. Every decode is length-checked: it writes at most @p cap bytes. */
#ifndef CM_B64URL_H
#define CM_B64URL_H

#include <stddef.h>
#include <stdint.h>

/** Bytes needed to encode @p n bytes, including the terminating NUL. */
size_t cm_b64url_encoded_size(size_t n);
/** The most bytes @p n characters of either alphabet decode to. */
size_t cm_b64_decoded_max(size_t n);
/** Encode @p n bytes into @p out (cm_b64url_encoded_size(n) bytes); returns the length. */
size_t cm_b64url_encode(const uint8_t *in, size_t n, char *out);
/** Decode @p n characters of base64url; padding and characters outside the url alphabet
 * are errors, and so is a non-canonical tail. Writes at most @p cap bytes to @p out.
 * Returns the decoded length, or -1 on malformed input or when @p cap is too small. */
long cm_b64url_decode(const char *in, size_t n, uint8_t *out, size_t cap);
/** Decode @p n characters of standard base64 (RFC 4648 §4): the length a multiple of 4,
 * "=" only as the last one or two characters, a canonical tail. Same contract as
 * cm_b64url_decode. */
long cm_b64_decode(const char *in, size_t n, uint8_t *out, size_t cap);

#endif

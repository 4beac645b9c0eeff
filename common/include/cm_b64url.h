/* base64url without padding (RFC 4648 §5), as JWS compact serialisation uses it. */
#ifndef CM_B64URL_H
#define CM_B64URL_H

#include <stddef.h>
#include <stdint.h>

/** Bytes needed to encode @p n bytes, including the terminating NUL. */
size_t cm_b64url_encoded_size(size_t n);
/** Encode @p n bytes into @p out (cm_b64url_encoded_size(n) bytes); returns the length. */
size_t cm_b64url_encode(const uint8_t *in, size_t n, char *out);
/** Decode @p n characters; padding and characters outside the url alphabet are errors.
 * @p out needs n*3/4+1 bytes. Returns the decoded length, or -1 on malformed input. */
long cm_b64url_decode(const char *in, size_t n, uint8_t *out);

#endif

/* OAuth 2.0 / OpenID Connect protocol names, defined once for both sides. */
#ifndef OIDC_NAMES_H
#define OIDC_NAMES_H

#define OIDC_GRANT_AUTHORIZATION_CODE "authorization_code"
#define OIDC_GRANT_REFRESH_TOKEN "refresh_token"
#define OIDC_GRANT_CLIENT_CREDENTIALS "client_credentials"

/* RFC 6749 §5.2, RFC 7009 §2.2.1, OIDC Core §3.1.2.6, RFC 6750 §3.1 */
#define OIDC_ERR_INVALID_REQUEST "invalid_request"
#define OIDC_ERR_INVALID_CLIENT "invalid_client"
#define OIDC_ERR_INVALID_GRANT "invalid_grant"
#define OIDC_ERR_UNAUTHORIZED_CLIENT "unauthorized_client"
#define OIDC_ERR_UNSUPPORTED_GRANT_TYPE "unsupported_grant_type"
#define OIDC_ERR_INVALID_SCOPE "invalid_scope"
#define OIDC_ERR_UNSUPPORTED_TOKEN_TYPE "unsupported_token_type"
#define OIDC_ERR_UNSUPPORTED_RESPONSE_TYPE "unsupported_response_type"
#define OIDC_ERR_ACCESS_DENIED "access_denied"
#define OIDC_ERR_SERVER_ERROR "server_error"
#define OIDC_ERR_TEMPORARILY_UNAVAILABLE "temporarily_unavailable"
#define OIDC_ERR_LOGIN_REQUIRED "login_required"
#define OIDC_ERR_CONSENT_REQUIRED "consent_required"
#define OIDC_ERR_INTERACTION_REQUIRED "interaction_required"
#define OIDC_ERR_ACCOUNT_SELECTION_REQUIRED "account_selection_required"
#define OIDC_ERR_INVALID_TOKEN "invalid_token"
#define OIDC_ERR_INSUFFICIENT_SCOPE "insufficient_scope"

#define OIDC_SCOPE_OPENID "openid"
#define OIDC_SCOPE_OFFLINE_ACCESS "offline_access"

#define OIDC_PKCE_S256 "S256"

#endif

/* The built-in demo configuration, served when mock-idp runs without --config.
 * Documented in README.md ("Demo configuration"); docs/demo-config.json is a copy. */
#ifndef DEMO_CONFIG_H
#define DEMO_CONFIG_H

#define IDP_DEMO_CONFIG                                                                            \
    "{\n"                                                                                          \
    "  \"signing_alg\": \"RS256\",\n"                                                              \
    "  \"clients\": [\n"                                                                           \
    "    {\"client_id\": \"demo-spa\",\n"                                                          \
    "     \"redirect_uris\": [\"http://127.0.0.1:8080/callback\"],\n"                              \
    "     \"post_logout_redirect_uris\": [\"http://127.0.0.1:8080/\"],\n"                          \
    "     \"grant_types\": [\"authorization_code\", \"refresh_token\"]},\n"                        \
    "    {\"client_id\": \"demo-consent\", \"require_consent\": true,\n"                           \
    "     \"redirect_uris\": [\"http://127.0.0.1:8080/callback\"],\n"                              \
    "     \"post_logout_redirect_uris\": [\"http://127.0.0.1:8080/\"],\n"                          \
    "     \"grant_types\": [\"authorization_code\", \"refresh_token\"]},\n"                        \
    "    {\"client_id\": \"demo-backend\", \"client_secret\": \"demo-secret\",\n"                  \
    "     \"require_pkce\": false, \"introspect_any\": true,\n"                                    \
    "     \"redirect_uris\": [\"http://127.0.0.1:8080/callback\"],\n"                              \
    "     \"grant_types\": [\"authorization_code\", \"refresh_token\", \"client_credentials\"]}\n" \
    "  ],\n"                                                                                       \
    "  \"users\": [\n"                                                                             \
    "    {\"sub\": \"alice\", \"password\": \"alice\", \"name\": \"Alice Example\",\n"             \
    "     \"email\": \"alice@example.org\"},\n"                                                    \
    "    {\"sub\": \"bob\", \"password\": \"bob\", \"name\": \"Bob Example\",\n"                   \
    "     \"email\": \"bob@example.org\"}\n"                                                       \
    "  ]\n"                                                                                        \
    "}\n"

#endif

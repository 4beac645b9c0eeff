#!/usr/bin/env bash
# mock-idp under valgrind memcheck, as a drop-in MOCK_IDP_BIN for the end-to-end tests:
# any memory error or definite leak makes it exit 99, which the test fixtures assert against.
exec valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
  --show-leak-kinds=definite "$(dirname "$0")/../build/bin/mock-idp" "$@"

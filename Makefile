# renewlab: a thin wrapper around CMake (as neovim does). `make run` is the main job,
# `make test` runs every test. Both install missing Debian packages first.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
PYTEST ?= /usr/bin/python3 -m pytest
# The e2e suites mostly wait on sockets and child processes, so pytest-xdist runs two
# test files per core; a file stays on one worker (its module fixtures are set up once).
PYTEST_WORKERS ?= $(shell echo $$(( $(JOBS) * 2 )))
PYTEST_PAR = -n $(PYTEST_WORKERS) --dist loadfile
# The browser suite times the page's virtual time against the IdP's: it runs alone after
# the others, never beside them on a busy machine.
E2E_ALONE = tests/e2e/test_browser.py
E2E_PAR = $(PYTEST_PAR) $(addprefix --ignore=,$(E2E_ALONE)) tests/e2e

.PHONY: package package-test container-test deps-container all deps build run run-browser clients-matrix demo test unit e2e asan-test tsan-test valgrind-test soak fuzz fuzz-smoke clean format

all: build

deps:
	@scripts/setup-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRENEWLAB_WERROR=ON >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

REPORTS ?= reports-out

# The main job: the whole scenario catalogue against the C core, with every report.
run: build
	@mkdir -p $(REPORTS)
	$(BUILD)/bin/renewlab run --target core --jobs $(JOBS) --json $(REPORTS)/report.json \
	  --junit $(REPORTS)/junit.xml --html $(REPORTS)/report.html

# The browser targets (real headless Chromium on virtual time: a few minutes): our own
# iframe client and the client libraries, side by side with the core in one report.
run-browser: build
	@mkdir -p $(REPORTS)
	$(BUILD)/bin/renewlab run --target core $(addprefix --target ,$(BROWSER_CLIENTS)) --jobs $(JOBS) \
	  --json $(REPORTS)/browser.json --junit $(REPORTS)/browser-junit.xml \
	  --html $(REPORTS)/browser.html

# The client matrix: the browser catalogue on every browser client, side by side, written
# to docs/clients.md and the README's copy of it (scripts/clients-matrix.sh).
BROWSER_CLIENTS = iframe oidc-client-ts axa-oidc-client angular-auth-oidc-client
clients-matrix: build
	@mkdir -p $(REPORTS)
	scripts/clients-matrix.sh $(BUILD)/bin/renewlab $(REPORTS) $(BROWSER_CLIENTS)

# The mock IdP alone with its demo configuration, for driving it by hand.
demo: build
	scripts/demo.sh $(BUILD)/bin/mock-idp

# The Debian package (CPack DEB, packaging/): a Release build with CMake's defaults (no
# -Werror, no tests) in its own tree, then build-package/renewlab_<version>_amd64.deb.
PKG_BUILD ?= build-package
package:
	@scripts/setup-deps.sh package
	cmake -S . -B $(PKG_BUILD) -DCMAKE_BUILD_TYPE=Release -DRENEWLAB_TESTS=OFF \
	  -DRENEWLAB_FUZZ_REPLAY=OFF >/dev/null
	cmake --build $(PKG_BUILD) -j $(JOBS)
	cd $(PKG_BUILD) && cpack -G DEB
	@ls $(PKG_BUILD)/renewlab_*_amd64.deb

deps-container:
	@scripts/setup-deps.sh container

# The package installed into a clean Debian root (a local base image built with
# mmdebstrap: packaging/base-image.sh), used there and purged; minutes, outside make test.
package-test: package deps-container
	RENEWLAB_DEB=$$(ls $(abspath $(PKG_BUILD))/renewlab_*_amd64.deb | tail -1) \
	  $(PYTEST) -v -p no:cacheprovider tests/package/test_package.py

# The CI image (packaging/Containerfile) built on the local base image with podman build
# --pull=never, run with its port on loopback, driven from the host; minutes, outside make
# test (docs/ci.md records a run).
container-test: deps deps-container
	$(PYTEST) -v -p no:cacheprovider tests/package/test_container.py

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

e2e: build
	RENEWLAB_BUILD=$(abspath $(BUILD)) MOCK_IDP_BIN=$(abspath $(BUILD))/bin/mock-idp $(PYTEST) -q $(E2E_PAR)
	RENEWLAB_BUILD=$(abspath $(BUILD)) MOCK_IDP_BIN=$(abspath $(BUILD))/bin/mock-idp $(PYTEST) -q $(E2E_ALONE)

test: unit e2e

# The same suites built with AddressSanitizer + UndefinedBehaviorSanitizer; a leak or
# UB report makes mock-idp exit non-zero, which the e2e fixtures assert against.
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRENEWLAB_SANITIZE=ON -DRENEWLAB_WERROR=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure
	RENEWLAB_BUILD=$(abspath $(ASAN_BUILD)) MOCK_IDP_BIN=$(abspath $(ASAN_BUILD))/bin/mock-idp \
	  RENEWLAB_SANITIZED=1 $(PYTEST) -q $(E2E_PAR)
	RENEWLAB_BUILD=$(abspath $(ASAN_BUILD)) MOCK_IDP_BIN=$(abspath $(ASAN_BUILD))/bin/mock-idp \
	  RENEWLAB_SANITIZED=1 $(PYTEST) -q $(E2E_ALONE)
	cd tests/e2e && RENEWLAB_BUILD=$(abspath $(ASAN_BUILD)) MOCK_IDP_BIN=$(abspath $(ASAN_BUILD))/bin/mock-idp \
	  RENEWLAB_SANITIZED=1 RENEWLAB_IDP_WORKERS=4 $(PYTEST) -q -p no:cacheprovider $(PYTEST_PAR) $(STANDALONE_SUITES)

TSAN_BUILD ?= build-tsan
TSAN_SUITES = test_workers.py test_refresh.py test_faults.py test_fault_rules.py test_control.py \
  test_http_property.py
# The suites that start a standalone mock-idp, run again under ASan with 4 worker loops
# (test_hardening_files.py starts its own 4-worker IdP for the trace-order test).
STANDALONE_SUITES = $(TSAN_SUITES) test_bad_input.py test_code_flow.py test_observe.py

# mock-idp built with ThreadSanitizer, serving from 4 worker loops: a data race stops the
# server (halt_on_error), and the fixtures assert on its exit status.
tsan-test: deps
	cmake -S . -B $(TSAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRENEWLAB_TSAN=ON -DRENEWLAB_WERROR=ON \
	  -DRENEWLAB_TESTS=OFF >/dev/null
	cmake --build $(TSAN_BUILD) -j $(JOBS) --target mock-idp
	cd tests/e2e && TSAN_OPTIONS="halt_on_error=1 exitcode=66" RENEWLAB_IDP_WORKERS=4 \
	  MOCK_IDP_BIN=$(abspath $(TSAN_BUILD))/bin/mock-idp RENEWLAB_SANITIZED=1 \
	  $(PYTEST) -q -p no:cacheprovider $(PYTEST_PAR) $(TSAN_SUITES)

FUZZ_BUILD ?= build-fuzz
FUZZ_SECONDS ?= 15
# the request-path fuzzer (whole requests through the dispatcher) gets longer
FUZZ_HTTP_SECONDS ?= $(FUZZ_SECONDS)
FUZZ_TARGETS = form b64url jwt jwks config scenario http exec_proto frame

# libFuzzer (clang), each target for FUZZ_SECONDS over a copy of its seed corpus, JOBS
# targets at a time; a crash fails the run and leaves crash-* in $(FUZZ_BUILD)/findings: add it to tests/fuzz/corpus.
fuzz-smoke: deps
	CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRENEWLAB_FUZZ=ON -DRENEWLAB_WERROR=ON \
	  -DRENEWLAB_TESTS=OFF >/dev/null
	cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_HTTP_SECONDS=$(FUZZ_HTTP_SECONDS) \
	  scripts/fuzz-smoke.sh $(FUZZ_BUILD) $(JOBS) $(FUZZ_TARGETS)

# The documented longer run: FUZZ_SECONDS=600 make fuzz
fuzz: fuzz-smoke

# The end-to-end core paths against mock-idp under valgrind memcheck (slow: not in CI's
# default run; the ASan run covers the same code there).
VALGRIND_TESTS ?= tests/e2e/test_code_flow.py tests/e2e/test_refresh.py tests/e2e/test_prompt_none.py \
  tests/e2e/test_revoke_introspect.py tests/e2e/test_logout.py tests/e2e/test_faults.py
valgrind-test: build
	MOCK_IDP_BIN=$(abspath scripts/valgrind-mock-idp.sh) $(PYTEST) -q $(VALGRIND_TESTS)

# Soak: 10 minutes of mixed valid and hostile traffic; writes docs/soak.md (not in CI).
SOAK_SECONDS ?= 600
soak: build
	/usr/bin/python3 scripts/soak.py --seconds $(SOAK_SECONDS)

format:
	find common mock_idp renew_core harness reports tests -name '*.[ch]' -exec clang-format -i {} +

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TSAN_BUILD) $(PKG_BUILD)

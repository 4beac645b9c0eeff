# renewlab: a thin wrapper around CMake (as neovim does). `make run` is the main job,
# `make test` runs every test. Both install missing Debian packages first.
BUILD ?= build
ASAN_BUILD ?= build-asan
JOBS ?= $(shell nproc)
PYTEST ?= /usr/bin/python3 -m pytest

.PHONY: all deps build run demo test unit e2e asan-test clean format

all: build

deps:
	@scripts/setup-deps.sh

build: deps
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build $(BUILD) -j $(JOBS)

REPORTS ?= reports-out

# The main job: the whole scenario catalogue against the C core, with every report.
run: build
	@mkdir -p $(REPORTS)
	$(BUILD)/bin/renewlab run --target core --jobs $(JOBS) --json $(REPORTS)/report.json \
	  --junit $(REPORTS)/junit.xml --html $(REPORTS)/report.html

# The mock IdP alone with its demo configuration, for driving it by hand.
demo: build
	scripts/demo.sh $(BUILD)/bin/mock-idp

unit: build
	ctest --test-dir $(BUILD) --output-on-failure

e2e: build
	RENEWLAB_BUILD=$(abspath $(BUILD)) MOCK_IDP_BIN=$(abspath $(BUILD))/bin/mock-idp $(PYTEST) -q tests/e2e

test: unit e2e

# The same suites built with AddressSanitizer + UndefinedBehaviorSanitizer; a leak or
# UB report makes mock-idp exit non-zero, which the e2e fixtures assert against.
asan-test: deps
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DRENEWLAB_SANITIZE=ON >/dev/null
	cmake --build $(ASAN_BUILD) -j $(JOBS)
	ctest --test-dir $(ASAN_BUILD) --output-on-failure
	RENEWLAB_BUILD=$(abspath $(ASAN_BUILD)) MOCK_IDP_BIN=$(abspath $(ASAN_BUILD))/bin/mock-idp \
	  $(PYTEST) -q tests/e2e

format:
	find common mock_idp tests -name '*.[ch]' -exec clang-format -i {} +

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)

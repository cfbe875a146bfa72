# SPDX-License-Identifier: ISC
# The front door.  `make test` and `make demo` each do the whole set-up on
# a fresh Debian machine: install missing packages, configure, build, run.
# The real build is Meson + Ninja; this file only sequences it.

BUILD      ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
FUZZ_BUILD ?= build-fuzz
FUZZ_TIME  ?= 60
MESON_OPTS ?=
PREFIX     ?= /usr/local
DESTDIR    ?=

.PHONY: all deps test-deps build test unit test-asan test-tsan fuzz format check-format demo install clean

all: build

# What the build and the demo need; test-deps adds the test tools.
deps:
	@scripts/install-deps

test-deps:
	@scripts/install-deps --test

# Configured with --werror: this is the build CI runs.
$(BUILD)/build.ninja:
	meson setup $(BUILD) --werror $(MESON_OPTS)

build: deps $(BUILD)/build.ninja
	ninja -C $(BUILD)

test: test-deps build
	scripts/check-limits
	scripts/run-tests $(BUILD)

unit: test-deps build
	scripts/run-tests $(BUILD) --unit-only

# Every suite under AddressSanitizer + UndefinedBehaviorSanitizer, with
# recovery off so that any finding fails the run: the unit binaries and,
# through the interop suite, anvil-ca itself (a sanitizer report makes it
# exit non-zero, which fails the test that stops it).
$(ASAN_BUILD)/build.ninja:
	meson setup $(ASAN_BUILD) --werror -Db_sanitize=address,undefined \
	    -Db_lundef=false -Dc_args=-fno-sanitize-recover=all

test-asan: test-deps $(ASAN_BUILD)/build.ninja
	ninja -C $(ASAN_BUILD)
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 ANVIL_SANITIZED=1 \
	    scripts/run-tests $(ASAN_BUILD)

# anvil-ca and anvil-bench under ThreadSanitizer: 16 workers for 30 s of
# full flows; any TSan report fails the run (tests/tsan/).  First the
# unit tests of the server's modules that start threads, which order
# their threads' steps where a load run leaves it to chance (D92).
TSAN_UNIT = srv_keycache srv_resolve srv_gsync srv_deadline srv_store \
	srv_store_sqlite
$(TSAN_BUILD)/build.ninja:
	meson setup $(TSAN_BUILD) --werror -Db_sanitize=thread -Dtests=true

test-tsan: test-deps $(TSAN_BUILD)/build.ninja
	meson configure $(TSAN_BUILD) -Dtests=true
	ninja -C $(TSAN_BUILD) src/server/anvil-ca src/bench/anvil-bench \
	    $(TSAN_UNIT:srv_%=tests/unit/test_srv_%)
	meson test -C $(TSAN_BUILD) --no-rebuild --print-errorlogs $(TSAN_UNIT)
	ANVIL_BUILD=$(CURDIR)/$(TSAN_BUILD) /usr/bin/python3 -m pytest -q \
	    -p no:cacheprovider tests/tsan

# libFuzzer targets (clang); each runs FUZZ_TIME seconds.  See docs/testing.md.
$(FUZZ_BUILD)/build.ninja:
	CC=clang meson setup $(FUZZ_BUILD) -Dfuzzers=true -Dtests=false \
	    -Db_sanitize=address,undefined -Db_lundef=false \
	    -Dc_args=-fsanitize=fuzzer-no-link

fuzz: test-deps $(FUZZ_BUILD)/build.ninja
	ninja -C $(FUZZ_BUILD)
	scripts/run-fuzzers $(FUZZ_BUILD) $(FUZZ_TIME)

# Starts a local CA, gets a certificate for localhost, shows it, stops.
demo: build
	scripts/demo $(BUILD)

# Binaries, man pages, systemd units (PREFIX /usr: /lib/systemd/system,
# else PREFIX/lib/systemd/system), sysusers/tmpfiles entries and an
# example configuration, under DESTDIR (D68).  Packages: debian/.
install: build
	meson configure $(BUILD) -Dprefix=$(PREFIX)
	meson install -C $(BUILD) $(if $(DESTDIR),--destdir $(DESTDIR))

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

check-format:
	@scripts/check-format

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(FUZZ_BUILD)

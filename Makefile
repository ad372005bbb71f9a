# postern - webmail gateway. `make` builds ./postern; `make check` runs every
# test; `make demo` runs postern against private mail servers. See README.md.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR = $(PREFIX)/bin
DATADIR = $(PREFIX)/share/postern
SYSCONFDIR ?= $(PREFIX)/etc
VERSION = 0.1.0

PKGS = openssl fcgi libmicrohttpd json-c gmime-3.0 glib-2.0 gumbo zlib
CC ?= cc
WARN = -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wstrict-prototypes \
       -Wmissing-prototypes -Wvla -Wimplicit-fallthrough
CFLAGS ?= -O2 -g
ALL_CFLAGS = -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -Isrc \
       -DPOSTERN_VERSION='"$(VERSION)"' \
       -DPOSTERN_DATADIR='"$(DATADIR)"' \
       -DPOSTERN_DEFAULT_CONFIG='"conf/postern.conf"' \
       $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread

# Debian packages: to build, and to test (servers, browser, tools).
DEB_BUILD = gcc make pkg-config libssl-dev libfcgi-dev libmicrohttpd-dev \
	libjson-c-dev libgmime-3.0-dev libgumbo-dev zlib1g-dev
DEB_TEST = libcmocka-dev dovecot-imapd dovecot-pop3d dovecot-lmtpd postfix \
	nginx-light openssl python3 curl procps iproute2 clang libclang-rt-14-dev \
	chromium nodejs
# the browser tests' npm packages, exact versions from the lock file
E2E_MODULES = tests/e2e/node_modules/.package-lock.json

BUILD = build
POSTERN_BIN = postern
SRC = $(filter-out src/main.c,$(wildcard src/*/*.c))
OBJ = $(SRC:%.c=$(BUILD)/%.o)
LIBPOSTERN = $(BUILD)/libpostern.a
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
UNIT_CFLAGS = $(ALL_CFLAGS) $(shell pkg-config --cflags cmocka 2>/dev/null) \
	-DMUSTACHE_SPEC_DIR='"$(abspath ../shared/testdata/mustache-spec)"' \
	-DTEST_DATA_DIR='"$(abspath tests/unit/data)"' \
	-DSOURCE_DIR='"$(CURDIR)"'

.PHONY: all deps e2e-deps check demo install uninstall clean unit lint asan \
	fuzz fuzz-build fuzz-bins bench bench-tools

all: $(POSTERN_BIN)

$(POSTERN_BIN): $(BUILD)/src/main.o $(LIBPOSTERN)
	@echo "  LD $@"
	@$(CC) $(ALL_CFLAGS) -o $@ $^ $(LIBS)

$(LIBPOSTERN): $(OBJ)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/%.o: %.c $(wildcard src/*/*.h) Makefile
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/tests/test_%: tests/unit/test_%.c $(LIBPOSTERN) $(wildcard tests/unit/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(UNIT_CFLAGS) -o $@ $< $(LIBPOSTERN) $(LIBS) \
		$(shell pkg-config --libs cmocka 2>/dev/null)

unit: $(UNIT_BIN)

# The same binary and unit tests built with ASan and UBSan, in their own
# directory; tests/run.sh runs the unit and integration tests on them.
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer
ASAN_BUILD = build-asan
asan:
	@$(MAKE) --no-print-directory BUILD=$(ASAN_BUILD) \
		POSTERN_BIN=$(ASAN_BUILD)/postern CFLAGS="-O1 -g $(SAN_FLAGS)" \
		all unit

# libFuzzer harnesses (tests/fuzz/fuzz_<target>.c), built with clang, ASan
# and UBSan (any UB aborts, so the fuzzer sees it as a crash). `make fuzz`
# runs each for FUZZ_SECONDS; `make check` for 20 s (tests/fuzz/run.sh).
FUZZ_BUILD = build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_SRC = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)
fuzz-build:
	@$(MAKE) --no-print-directory CC=clang BUILD=$(FUZZ_BUILD) \
		CFLAGS="-O1 -g $(SAN_FLAGS) -fno-sanitize-recover=undefined \
		-fsanitize=fuzzer-no-link" fuzz-bins

fuzz-bins: $(FUZZ_BIN)

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(LIBPOSTERN) $(wildcard tests/fuzz/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(ALL_CFLAGS) -DSOURCE_DIR='"$(CURDIR)"' -fsanitize=fuzzer \
		-o $@ $< $(LIBPOSTERN) $(LIBS)

fuzz: deps fuzz-build
	tests/fuzz/run.sh --seconds $(FUZZ_SECONDS)

# Benchmarks (tests/bench/README.md): the load generator and the raw-IMAP
# floor client; `make bench` runs them against postern and writes
# tests/bench/RESULTS.md. Ports: POSTERN_BENCH_BASE, POSTERN_BENCH_PORT.
BENCH_BIN = $(BUILD)/bench/bench_http $(BUILD)/bench/bench_floor

$(BUILD)/bench/%: tests/bench/%.c tests/bench/bench_stats.c tests/bench/bench_stats.h Makefile
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) -std=c17 -D_GNU_SOURCE $(WARN) $(CFLAGS) -o $@ $< tests/bench/bench_stats.c -lpthread

bench-tools: $(BENCH_BIN)

bench: deps
	$(MAKE) all bench-tools
	python3 tests/bench/run.py

# Installs the Debian packages that are missing; does nothing when all are
# there (no apt-get update either).
deps:
	@missing=""; for p in $(DEB_BUILD) $(DEB_TEST); do \
	  dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
	    || missing="$$missing $$p"; done; \
	command -v npm >/dev/null || missing="$$missing npm"; \
	if [ -n "$$missing" ]; then \
	  echo "make deps: installing$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install$$missing" >&2; exit 1; fi; \
	  flock /var/lock/postern-deps.lock sh -c "apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
	    -o DPkg::Lock::Timeout=600 --no-install-recommends $$missing \
	    >/dev/null" || exit 1; \
	fi

# npm ci again whenever the lock file changes (or node_modules is gone)
$(E2E_MODULES): tests/e2e/package-lock.json tests/e2e/package.json
	cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

e2e-deps: deps
	$(MAKE) $(E2E_MODULES)

check: deps e2e-deps
	$(MAKE) all unit bench-tools
	$(MAKE) asan
	$(MAKE) fuzz-build
	tests/run.sh

lint:
	tests/lint/layers.sh

demo: deps
	$(MAKE) all
	tests/env/demo.sh

install: postern
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/templates \
		$(DESTDIR)$(DATADIR)/static $(DESTDIR)$(SYSCONFDIR)/postern
	install -m 755 postern $(DESTDIR)$(BINDIR)/postern
	install -m 644 templates/*.mustache $(DESTDIR)$(DATADIR)/templates/
	install -m 644 static/* $(DESTDIR)$(DATADIR)/static/
	sed -e 's|^data_dir = .*|data_dir = $(DATADIR)|' conf/postern.conf \
		> $(DESTDIR)$(SYSCONFDIR)/postern/postern.conf.example
	install -m 644 conf/nginx-postern.conf conf/nginx-postern-upstream.conf \
		conf/nginx-postern-proxy.conf \
		conf/lighttpd-postern.conf conf/postern.service \
		$(DESTDIR)$(DATADIR)/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/postern
	rm -rf $(DESTDIR)$(DATADIR)
	rm -f $(DESTDIR)$(SYSCONFDIR)/postern/postern.conf.example

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) postern

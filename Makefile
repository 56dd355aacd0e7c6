# certwrap: one non-recursive GNU Makefile.
#
#   make            build certwrapd, certwrapctl, libcertstore.a and the test programs
#   make check      every test: unit (cmocka), fuzz corpus replay, integration (pytest)
#   make asan       the same tests, built with AddressSanitizer and UBSan in build/asan
#   make fuzz       libFuzzer targets with clang, run FUZZ_SECONDS each
#   make demo       certwrapd in front of the bundled test backend, fresh certificates
#   make install    PREFIX (default /usr/local) and DESTDIR honoured
#   make deps       install missing build and test packages (Debian 12, apt-get)
#
# Each flavour builds into its own directory (BUILD), so objects never mix.

BUILD   ?= build/default
PREFIX  ?= /usr/local
DESTDIR ?=
SAN     ?=
WERROR  ?=
PYTHON  ?= /usr/bin/python3
FUZZ_SECONDS ?= 30

WARN = -Wall -Wextra -Wshadow -Wpointer-arith -Wcast-qual -Wstrict-prototypes \
       -Wmissing-prototypes -Wformat=2 -Wvla -Wimplicit-fallthrough -Wundef \
       -Wno-unused-parameter $(WERROR)

# Dependencies come from pkg-config, evaluated once and only after `deps` has
# made sure the packages exist (a fresh machine has no .pc files yet).
# Debian's libev ships no libev.pc, hence the fallback.
PKGS = openssl inih
lazy = $(eval $1 := $$(shell $2))$($1)
PKG_CFLAGS   = $(call lazy,PKG_CFLAGS,pkg-config --cflags $(PKGS))
PKG_LIBS     = $(call lazy,PKG_LIBS,pkg-config --libs $(PKGS))
LIBEV        = $(call lazy,LIBEV,pkg-config --libs libev 2>/dev/null || echo -lev)
CMOCKA_LIBS  = $(call lazy,CMOCKA_LIBS,pkg-config --libs cmocka)

CPPFLAGS += -D_GNU_SOURCE -I.
CFLAGS   ?= -g -O2
ALL_CFLAGS = -std=c11 $(CFLAGS) $(WARN) $(SAN) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(LDFLAGS) $(SAN)
LDLIBS_ALL = $(PKG_LIBS) $(LIBEV) -lpthread

# --- sources -----------------------------------------------------------------

CERTSTORE_SRC = $(wildcard certstore/*.c)
PROXY_SRC     = $(filter-out proxy/main.c,$(wildcard proxy/*.c))
# the control protocol and the store verbs' executor: in both binaries
CTLSHARED_SRC = $(wildcard ctl/ctlproto.c ctl/ctlstore.c)
CTL_SRC       = $(filter-out ctl/main.c $(CTLSHARED_SRC),$(wildcard ctl/*.c))
UNIT_SRC      = $(wildcard tests/unit/test_*.c)
UNIT_HELPERS  = $(filter-out $(UNIT_SRC),$(wildcard tests/unit/*.c))   # shared by all unit tests
FUZZ_SRC      = $(wildcard tests/fuzz/fuzz_*.c)
BACKEND_SRC   = $(wildcard tests/backend/*.c)
BENCH_SRC     = $(wildcard bench/*.c)
BENCH_LIB_SRC = $(wildcard bench/lib/*.c)   # linked into every bench program

obj = $(patsubst %.c,$(BUILD)/%.o,$1)

LIBCERTSTORE = $(BUILD)/libcertstore.a
LIBPROXY     = $(BUILD)/libproxy.a
LIBCTL       = $(BUILD)/libctl.a
CERTWRAPD    = $(BUILD)/certwrapd
CERTWRAPCTL  = $(BUILD)/certwrapctl
UNIT_BINS    = $(patsubst tests/unit/%.c,$(BUILD)/tests/unit/%,$(UNIT_SRC))
FUZZ_REPLAY  = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%-replay,$(FUZZ_SRC))
BACKEND      = $(if $(BACKEND_SRC),$(BUILD)/tests/backend/testbackend)
BENCH_BINS   = $(patsubst bench/%.c,$(BUILD)/bench/%,$(BENCH_SRC))

DEPS_STAMP   = build/.deps-ok
FLAGS_STAMP  = $(BUILD)/.flags

.PHONY: all check unit integration asan fuzz demo install clean deps bench
# keep intermediate objects (unit-test helpers), or every make relinks them
.SECONDARY:
.DEFAULT_GOAL := all

all: $(CERTWRAPD) $(CERTWRAPCTL) $(LIBCERTSTORE) $(UNIT_BINS) $(FUZZ_REPLAY) $(BACKEND) $(BENCH_BINS)

# --- dependencies and flags ----------------------------------------------------

deps $(DEPS_STAMP): .ci/deps
	@sh .ci/deps
	@mkdir -p build && touch $(DEPS_STAMP)

# Rebuild everything in a flavour when its flags change (as Redis does).
$(FLAGS_STAMP): FORCE | $(DEPS_STAMP)
	@mkdir -p $(@D)
	@echo '$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(ALL_LDFLAGS)' > $@.new
	@if cmp -s $@.new $@; then rm -f $@.new; else mv $@.new $@; fi
FORCE:

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	@$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

# --- libraries and programs ----------------------------------------------------

$(LIBCERTSTORE): $(call obj,$(CERTSTORE_SRC))
	@echo "  AR      $@"
	@mkdir -p $(@D)
	@rm -f $@ && ar rcs $@ $^

$(LIBPROXY): $(call obj,$(PROXY_SRC) $(CTLSHARED_SRC))
	@echo "  AR      $@"
	@mkdir -p $(@D)
	@rm -f $@ && ar rcs $@ $^

$(LIBCTL): $(call obj,$(CTL_SRC) $(CTLSHARED_SRC))
	@echo "  AR      $@"
	@mkdir -p $(@D)
	@rm -f $@ && ar rcs $@ $^

$(CERTWRAPD): $(BUILD)/proxy/main.o $(LIBPROXY) $(LIBCERTSTORE)
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(CERTWRAPCTL): $(BUILD)/ctl/main.o $(LIBCTL) $(LIBCERTSTORE)
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(call obj,$(UNIT_HELPERS)) $(LIBPROXY) $(LIBCTL) $(LIBCERTSTORE)
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL) $(CMOCKA_LIBS)

# Fuzz targets are also linked with a small driver that replays their corpus,
# so `make check` proves every target builds and every seed still passes.
$(BUILD)/tests/fuzz/%-replay: $(BUILD)/tests/fuzz/%.o $(BUILD)/tests/fuzz/replay_main.o $(LIBPROXY) $(LIBCTL) $(LIBCERTSTORE)
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BACKEND): $(call obj,$(BACKEND_SRC))
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/bench/%: $(BUILD)/bench/%.o $(call obj,$(BENCH_LIB_SRC))
	@echo "  LD      $@"
	@mkdir -p $(@D)
	@$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

# --- tests -------------------------------------------------------------------------

# tests/check.sh runs every suite, prints one summary line and fails if any did.
check: all
	@BUILD=$(BUILD) PYTHON=$(PYTHON) sh tests/check.sh

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) PYTHON=$(PYTHON) SUITES=unit sh tests/check.sh

integration: all
	@BUILD=$(BUILD) PYTHON=$(PYTHON) SUITES=integration sh tests/check.sh

asan:
	@$(MAKE) --no-print-directory BUILD=build/asan CFLAGS='-g -O1 -fno-omit-frame-pointer' \
		SAN='-fsanitize=address,undefined -fno-sanitize-recover=all' check

# libFuzzer needs clang; each target runs FUZZ_SECONDS on a copy of its corpus.
FUZZ_BUILD = build/fuzz
fuzz: | $(DEPS_STAMP)
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang CFLAGS='-g -O1' \
		SAN='-fsanitize=fuzzer-no-link,address,undefined' \
		$(FUZZ_BUILD)/libproxy.a $(FUZZ_BUILD)/libctl.a $(FUZZ_BUILD)/libcertstore.a \
		$(patsubst tests/fuzz/%.c,$(FUZZ_BUILD)/tests/fuzz/%.o,$(FUZZ_SRC))
	@set -e; for src in $(FUZZ_SRC); do \
		t=$$(basename $$src .c); name=$${t#fuzz_}; \
		echo "  FUZZ    $$t ($(FUZZ_SECONDS)s)"; \
		clang -fsanitize=fuzzer,address,undefined -o $(FUZZ_BUILD)/$$t $(FUZZ_BUILD)/tests/fuzz/$$t.o \
			$(FUZZ_BUILD)/libproxy.a $(FUZZ_BUILD)/libctl.a $(FUZZ_BUILD)/libcertstore.a $(LDLIBS_ALL); \
		mkdir -p $(FUZZ_BUILD)/corpus/$$name; cp -r tests/fuzz/corpus/$$name/. $(FUZZ_BUILD)/corpus/$$name/ 2>/dev/null || true; \
		$(FUZZ_BUILD)/$$t -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=2048 \
			$(FUZZ_BUILD)/corpus/$$name tests/fuzz/corpus/$$name; \
	done

# --- demo, bench, install ----------------------------------------------------------

demo: $(CERTWRAPD) $(CERTWRAPCTL) $(BACKEND)
	@BUILD=$(BUILD) sh conf/demo.sh

bench: all
	@BUILD=$(BUILD) sh bench/run.sh

install: $(CERTWRAPD) $(CERTWRAPCTL)
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/doc/certwrap
	install -m 0755 $(CERTWRAPD) $(DESTDIR)$(PREFIX)/sbin/certwrapd
	install -m 0755 $(CERTWRAPCTL) $(DESTDIR)$(PREFIX)/bin/certwrapctl
	install -m 0644 proxy/certwrapd.8 ctl/certwrapctl.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 proxy/certwrapd.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 conf/certwrapd.conf conf/certwrapd.service $(DESTDIR)$(PREFIX)/share/doc/certwrap/

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# wsd — one non-recursive GNU make for the supervisor, the worker, the CLI,
# their tests and the benchmark.
#
#   make            build bin/wsd, bin/wsworker, bin/wsctl
#   make run        build, then run wsd in the foreground with ecosystem/
#   make test       build and run every test (unit + black-box, containers)
#   make image      build the wsd and Redis images (podman or docker)
#   make asan       ASan + UBSan build; the unit tests run under it
#   make fuzz       libFuzzer harnesses (fuzz/README.md), FUZZ_SECONDS each
#   make bench      side-by-side benchmark against Node ws + PM2
#   make bench-pg   the database channel rule alone (cold/warm vs one query)
#
# O= puts objects elsewhere and BINDIR= the programs, so that several builds
# (a sanitizer build, a helper's private build) never share object files.

O       ?= build
BINDIR  ?= bin
PREFIX  ?= /usr/local
DESTDIR ?=
CC      ?= cc

PKGS     = libuv jansson hiredis libjwt libwebsockets openssl libpq yaml-0.1
override CPPFLAGS += -D_GNU_SOURCE -Icommon
CFLAGS  ?= -O2 -g
# override: flags given on the command line (make asan) add to these.
override CFLAGS += -std=gnu11 -Wall -Wextra -Werror -fno-strict-aliasing \
           $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
override LDFLAGS += -Wl,--as-needed
override LDLIBS += $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm

# Each program is its folder's main.c plus an archive of the folder's other
# files, linked against the common archive; --as-needed keeps wsd and wsctl
# from loading the worker's libraries.
COMMON_SRC     := $(wildcard common/*.c)
SUPERVISOR_SRC := $(filter-out supervisor/main.c,$(wildcard supervisor/*.c))
WORKER_SRC     := $(filter-out worker/main.c,$(wildcard worker/*.c))
CTL_SRC        := $(filter-out ctl/main.c,$(wildcard ctl/*.c))
UNIT_SRC       := $(wildcard tests/unit/test_*.c)
TOOL_SRC       := $(wildcard tests/tools/*.c)
FUZZ_SRC       := $(wildcard fuzz/fuzz_*.c)
FUZZ_NAMES     := $(patsubst fuzz/fuzz_%.c,%,$(FUZZ_SRC))

obj = $(patsubst %.c,$(O)/obj/%.o,$(1))

LIBCOMMON     := $(O)/libcommon.a
LIBSUPERVISOR := $(O)/libsupervisor.a
LIBWORKER     := $(O)/libworker.a
LIBCTL        := $(O)/libctl.a
UNIT_BINS     := $(patsubst tests/unit/%.c,$(O)/tests/%,$(UNIT_SRC))
TOOL_BINS     := $(patsubst tests/tools/%.c,$(O)/tools/%,$(TOOL_SRC))
FUZZ_BINS     := $(patsubst %,$(O)/fuzz/fuzz_%,$(FUZZ_NAMES))
REPLAY_BINS   := $(patsubst %,$(O)/fuzz-replay/fuzz_%,$(FUZZ_NAMES))
WSBENCH       := $(O)/wsbench
CEILING       := $(O)/ceiling

PROGS := $(BINDIR)/wsd $(BINDIR)/wsworker $(BINDIR)/wsctl

.PHONY: all deps image run test unit bb asan fuzz fuzz-merge fuzz-bins replay bench bench-pg bench-quick profile-mem profile-cpu install clean npm
.DEFAULT_GOAL := all

all: $(PROGS)

$(O)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)

$(LIBCOMMON): $(call obj,$(COMMON_SRC))
$(LIBSUPERVISOR): $(call obj,$(SUPERVISOR_SRC))
$(LIBWORKER): $(call obj,$(WORKER_SRC))
$(LIBCTL): $(call obj,$(CTL_SRC))
$(O)/%.a:
	@mkdir -p $(dir $@)
	rm -f $@
	$(if $^,ar rcs $@ $^,ar rcs $@)

$(BINDIR)/wsd: $(call obj,supervisor/main.c) $(LIBSUPERVISOR) $(LIBCOMMON)
$(BINDIR)/wsworker: $(call obj,worker/main.c) $(LIBWORKER) $(LIBCOMMON)
$(BINDIR)/wsctl: $(call obj,ctl/main.c) $(LIBCTL) $(LIBCOMMON)
# wsctl starts afresh for every `wsctl status` (SPEC §6: under 5 ms), and
# each shared object costs every run time to map and relocate (measured:
# libcrypto 2 ms, libm 0.2 ms, libjansson 0.1 ms).  So it links jansson
# alone, from its archive when one is installed, and signs tokens with
# common/sha256.c; --as-needed drops -lm while nothing uses it.
CTL_JANSSON := $(or $(wildcard $(shell pkg-config --variable=libdir jansson \
    2>/dev/null)/libjansson.a),$(shell pkg-config --libs jansson 2>/dev/null))
$(BINDIR)/wsctl: override LDLIBS = $(CTL_JANSSON) -lm
$(PROGS):
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# A unit test may use any module of any program: the archives only pull in
# the objects it references.
$(O)/tests/%: tests/unit/%.c $(LIBWORKER) $(LIBSUPERVISOR) $(LIBCTL) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iworker -Isupervisor -Ictl $(LDFLAGS) -o $@ $^ $(LDLIBS) -lcmocka

# The bus's configuration is pure: its test links without hiredis (nor
# libuv, libwebsockets), so it stops linking if bus_config.c grows a need.
$(O)/tests/test_bus_config: override LDLIBS = $(shell pkg-config --libs \
    jansson 2>/dev/null) -lm

# Small programs the black-box tests drive (a dotenv dump, a bus probe).
$(O)/tools/%: tests/tools/%.c $(LIBWORKER) $(LIBSUPERVISOR) $(LIBCTL) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iworker -Isupervisor -Ictl $(LDFLAGS) -o $@ $^ $(LDLIBS)

# The fuzz harnesses: libFuzzer programs (make fuzz, built with clang in
# their own tree), and the same harnesses behind a plain main that runs
# each file given once (the corpus replay of make test, any compiler).
$(O)/fuzz/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIBWORKER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iworker -fsanitize=fuzzer $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)
$(O)/fuzz-replay/fuzz_%: fuzz/fuzz_%.c fuzz/replay.c fuzz/fuzz.h $(LIBWORKER) $(LIBCOMMON)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iworker $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

$(WSBENCH): $(wildcard bench/wsbench/*.c) $(LIBCOMMON) $(wildcard bench/wsbench/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $(filter %.c %.a,$^) $(LDLIBS)

# The naive ceiling SPEC §6 compares the worker's fan-out against.
$(CEILING): bench/ceiling/ceiling.c worker/frame.c worker/frame.h
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Iworker $(LDFLAGS) -o $@ $(filter %.c,$^) $(LDLIBS)

# Debian packages the build, the tests and the benchmark need; only the
# missing ones are installed, so this is a no-op on a prepared machine.
DEB_PKGS := pkg-config libuv1-dev libjansson-dev libhiredis-dev libjwt-dev \
            libwebsockets-dev libwebsockets-evlib-uv libssl-dev libcmocka-dev libyaml-dev \
            redis-server redis-sentinel python3 python3-yaml chromium procps \
            iproute2 util-linux systemd libpq-dev postgresql clang libclang-rt-dev \
            podman runc catatonit debootstrap
# Commands that may come from elsewhere than apt (Node from its own
# installer): the package is installed only when the command is missing.
DEB_CMDS := cc:gcc make:make node:nodejs npm:npm valgrind:valgrind \
            perf:linux-perf tmux:tmux promtool:prometheus
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
	    dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || \
	    echo $$p; done; \
	    for c in $(DEB_CMDS); do command -v $${c%%:*} >/dev/null 2>&1 || echo $${c#*:}; done); \
	if [ -n "$$missing" ]; then \
	    echo "deps: installing$$(echo $$missing | tr '\n' ' ')"; \
	    SUDO=; [ "$$(id -u)" = 0 ] || SUDO=sudo; \
	    $$SUDO apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing; \
	fi

# npm clients used by tests (ws, dotenv, playwright-core, ioredis), from the lock file.
node_modules/.package-lock.json: package-lock.json package.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@
npm: node_modules/.package-lock.json

run: deps all
	@sh ecosystem/init-env.sh
	$(BINDIR)/wsd --foreground -f ecosystem/ecosystem.json

unit: $(UNIT_BINS) $(TOOL_BINS) $(REPLAY_BINS)
replay: $(REPLAY_BINS)

# The corpus replay (tests/bb/test_fuzz_replay.sh) runs the harnesses of
# the ASan tree, so that a fixed out-of-bounds read or leak fails again.
ASAN_O     := build-asan
ASAN_FLAGS := O=$(ASAN_O) BINDIR=$(ASAN_O)/bin \
    CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
    LDFLAGS="-fsanitize=address,undefined"

# The wsd and Redis images (deploy/image.sh): podman, or docker where a
# Docker engine answers; the Debian base is made with debootstrap when
# missing; an image whose inputs did not change is kept.
image: deps
	@bash deploy/image.sh

# The container tests need the images; a machine that cannot run a
# container (status 3, the reason on stderr) skips them, and says so.
test: deps
	@$(MAKE) --no-print-directory all unit npm $(WSBENCH) $(CEILING)
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) replay
	@st=0; bash deploy/image.sh tests > $(O)/image.log 2>&1 || st=$$?; \
	grep '^image.sh:' $(O)/image.log; \
	if [ $$st = 3 ]; then export WSD_CONTAINER_SKIP="$$(tail -1 $(O)/image.log)"; \
	elif [ $$st != 0 ]; then tail -30 $(O)/image.log; exit $$st; fi; \
	O=$(O) BINDIR=$(BINDIR) WSD_FUZZ_REPLAY=$(ASAN_O)/fuzz-replay bash tests/run.sh

asan:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory $(ASAN_FLAGS) all unit
	@O=$(ASAN_O) BINDIR=$(ASAN_O)/bin TESTS=unit bash tests/run.sh

# make fuzz: each harness of FUZZ_TARGETS (default all) for FUZZ_SECONDS,
# one after another, new inputs kept in FUZZ_WORK; make fuzz-merge
# then adds those that reach new code to fuzz/corpus/.  The fuzzers have
# their own clang tree, the parsers built with fuzzer-no-link.
FUZZ_O       ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= $(FUZZ_NAMES)
FUZZ_CC      ?= clang
FUZZ_WORK    ?= $(FUZZ_O)/work
FUZZ_ENV      = FUZZ_BIN=$(FUZZ_O)/fuzz FUZZ_WORK=$(FUZZ_WORK) \
    FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_TARGETS="$(FUZZ_TARGETS)" \
    FUZZ_FLAGS="$(FUZZ_FLAGS)"
fuzz-bins: $(FUZZ_BINS)

fuzz fuzz-merge: deps
	@$(MAKE) --no-print-directory O=$(FUZZ_O) BINDIR=$(FUZZ_O)/bin CC=$(FUZZ_CC) \
	    CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all" \
	    LDFLAGS="-fsanitize=address,undefined" fuzz-bins
	@$(FUZZ_ENV) bash fuzz/run.sh $(if $(filter fuzz-merge,$@),merge,run)

bench: deps all npm $(WSBENCH) $(CEILING)
	@O=$(O) BINDIR=$(BINDIR) sh bench/run.sh

# The database channel rule alone: its section of BENCHMARKS.md on stdout.
bench-pg: deps all npm
	@f=$$(mktemp); WSD_TOP=$(CURDIR) WSD_BINDIR=$(CURDIR)/$(BINDIR) \
	    node bench/pgrules.js $(or $(PG_USERS),2000) 64 $(or $(PG_REPS),3) > $$f && \
	    python3 bench/report.py --pg $$f; s=$$?; rm -f $$f; exit $$s

bench-quick: deps all npm $(WSBENCH) $(CEILING)
	@O=$(O) BINDIR=$(BINDIR) QUICK=1 sh bench/run.sh

# The profiles behind bench/limits.md: heap (valgrind massif) of one
# worker holding N connections; CPU (perf) of the paced fan-out, worker
# and ceiling.
profile-mem: deps all $(WSBENCH)
	@O=$(O) BINDIR=$(BINDIR) bash bench/profile-mem.sh $(or $(N),2000)

profile-cpu: deps all $(WSBENCH) $(CEILING)
	@O=$(O) BINDIR=$(BINDIR) bash bench/profile-cpu.sh

# install / uninstall (PREFIX, DESTDIR).  The systemd unit and the SysV
# script name $(PREFIX)/bin; the unit goes where systemd looks for
# administrator units of that prefix (/usr/local/lib/systemd/system,
# /usr/lib/systemd/system), the script to /etc/init.d.  The example
# ecosystem is installed without any .env (it holds secrets).
SYSCONFDIR     ?= /etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
MANDIR         ?= $(PREFIX)/share/man
DATADIR        ?= $(PREFIX)/share/wsd
DOCDIR         ?= $(PREFIX)/share/doc/wsd
INSTALL_ECO    := $(wildcard ecosystem/*.json ecosystem/*.sh ecosystem/*.example ecosystem/.env.example)
INSTALL_DOCS   := $(wildcard docs/*.md)
MANPAGES       := man/wsctl.1 man/wsd-ecosystem.5 man/wsd.8

.PHONY: uninstall
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SYSTEMDUNITDIR) \
	    $(DESTDIR)$(SYSCONFDIR)/init.d $(DESTDIR)$(DATADIR)/ecosystem \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(PROGS) $(DESTDIR)$(PREFIX)/bin/
	sed 's|/usr/local/bin|$(PREFIX)/bin|g' init/wsd.service > $(DESTDIR)$(SYSTEMDUNITDIR)/wsd.service.new
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/wsd.service.new
	mv -f $(DESTDIR)$(SYSTEMDUNITDIR)/wsd.service.new $(DESTDIR)$(SYSTEMDUNITDIR)/wsd.service
	sed 's|/usr/local/bin|$(PREFIX)/bin|g' init/wsd.init > $(DESTDIR)$(SYSCONFDIR)/init.d/wsd.new
	chmod 0755 $(DESTDIR)$(SYSCONFDIR)/init.d/wsd.new
	mv -f $(DESTDIR)$(SYSCONFDIR)/init.d/wsd.new $(DESTDIR)$(SYSCONFDIR)/init.d/wsd
	$(foreach f,$(INSTALL_ECO),install -m $(if $(filter %.sh,$(f)),0755,0644) $(f) $(DESTDIR)$(DATADIR)/ecosystem/;)
	$(foreach f,$(INSTALL_DOCS),install -m 0644 $(f) $(DESTDIR)$(DOCDIR)/;)
	install -m 0644 man/wsctl.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 0644 man/wsd-ecosystem.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 man/wsd.8 $(DESTDIR)$(MANDIR)/man8/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/wsd $(DESTDIR)$(PREFIX)/bin/wsworker \
	    $(DESTDIR)$(PREFIX)/bin/wsctl \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/wsd.service \
	    $(DESTDIR)$(SYSCONFDIR)/init.d/wsd \
	    $(DESTDIR)$(MANDIR)/man1/wsctl.1 \
	    $(DESTDIR)$(MANDIR)/man5/wsd-ecosystem.5 \
	    $(DESTDIR)$(MANDIR)/man8/wsd.8
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)

clean:
	rm -rf build build-asan build-fuzz bin

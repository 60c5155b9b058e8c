# mxd — non-recursive GNU make. Outputs go to $(BUILD) (build/ by default).
# `make check` builds a sanitized tree (build/san, ASan+UBSan) and runs every test in it.
include config.mk

BUILD	?= build
SAN	?= 0

ALL_CFLAGS = $(CSTD) $(WARN) $(OPT) $(HARDEN) -D_GNU_SOURCE -Isrc $(CFLAGS)
ALL_LDFLAGS = $(HARDEN_LD) $(LDFLAGS)
ifeq ($(SAN),1)
ALL_CFLAGS += $(SAN_FLAGS)
ALL_LDFLAGS += $(SAN_FLAGS)
# FORTIFY and ASan both intercept the same calls; keep ASan's view.
HARDEN := -fstack-protector-strong -fPIE
endif

LIB_SRC	= $(wildcard src/util/*.c src/dns/*.c src/smtp/*.c src/queue/*.c src/conf/*.c \
	  src/ipc/*.c src/tls/*.c src/audit/*.c)
LIB_OBJ	= $(LIB_SRC:%.c=$(BUILD)/obj/%.o)
LIB	= $(BUILD)/libmx.a

PROGS	= mxlookup mxd mxaudit mxctl sendmail
PROG_BIN = $(PROGS:%=$(BUILD)/%)

UNIT_SRC = $(wildcard tests/unit/t_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
TOOL_SRC = $(wildcard tests/tools/*.c)
TOOL_BIN = $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tests/%)
FUZZ_SRC = $(wildcard fuzz/fuzz_*.c)
FUZZ_REPLAY = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%-replay)
FUZZ_BIN = $(FUZZ_SRC:fuzz/%.c=$(BUILD)/fuzz/%)

DEPFLAGS = -MMD -MP

.PHONY: all check sanitize fuzz format format-check install uninstall clean run deps tests bench
all: $(PROG_BIN)

$(BUILD)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	$(AR) rcs $@ $^

# Each program is the objects of src/PROGRAM/ linked with the library.
.SECONDEXPANSION:
$(PROG_BIN): $(BUILD)/%: $$(addprefix $(BUILD)/obj/,$$(subst .c,.o,$$(wildcard src/$$*/*.c))) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/%: $(BUILD)/obj/tests/tools/%.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# Corpus replay: the fuzz target linked with a small main() that feeds it files.
$(BUILD)/fuzz/%-replay: $(BUILD)/obj/fuzz/%.o $(BUILD)/obj/fuzz/replay.o $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

tests: $(PROG_BIN) $(UNIT_BIN) $(TOOL_BIN) $(FUZZ_REPLAY)

deps:
	@scripts/deps

# The sanitized tree is a separate build so `make all` stays an optimized release build.
check: deps
	$(MAKE) BUILD=build/san SAN=1 tests
	@BUILD=build/san tests/run

sanitize: check

# libFuzzer builds need clang.
FUZZ_CC ?= clang
fuzz: deps
	@mkdir -p $(BUILD)/fuzz
	@for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
	  echo "$(FUZZ_CC) $$f -> $(BUILD)/fuzz/$$n"; \
	  $(FUZZ_CC) -std=c17 -g -O1 -D_GNU_SOURCE -Isrc -fsanitize=fuzzer,address,undefined \
	    -o $(BUILD)/fuzz/$$n $$f $(LIB_SRC) $(LIBS) || exit 1; done
	@echo "run e.g.: $(BUILD)/fuzz/fuzz_dns_msg -max_total_time=300 fuzz/corpus/dns_msg"

run: deps all
	@scripts/run

# Both need the release build; bench/smtp-in needs root (it runs Postfix and OpenSMTPD).
bench: deps all
	bench/dns/run
	bench/smtp-in/run
	bench/smtp-out/run

FORMAT_SRC = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

MANPAGES = $(wildcard docs/man/*.[1-8])
# Debian's places: sendmail in sbin with mailq and newaliases in bin (links to it); the unit
# in lib/systemd/system (ExecStart follows PREFIX); the sample config in share/doc/mxd, and
# as /etc/mxd/mxd.conf only when there is none (uninstall removes it only if unchanged).
# Nothing is installed setuid or setgid.
UNITDIR	= $(PREFIX)/lib/systemd/system
DOCDIR	= $(PREFIX)/share/doc/mxd
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(UNITDIR) \
	  $(DESTDIR)$(DOCDIR) $(DESTDIR)/etc/mxd
	install -m 0755 $(BUILD)/mxlookup $(DESTDIR)$(PREFIX)/bin/mxlookup
	install -m 0755 $(BUILD)/mxd $(DESTDIR)$(PREFIX)/sbin/mxd
	install -m 0755 $(BUILD)/mxctl $(DESTDIR)$(PREFIX)/sbin/mxctl
	install -m 0755 $(BUILD)/sendmail $(DESTDIR)$(PREFIX)/sbin/sendmail
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/bin/mailq
	ln -sf ../sbin/sendmail $(DESTDIR)$(PREFIX)/bin/newaliases
	install -m 0755 $(BUILD)/mxaudit $(DESTDIR)$(PREFIX)/bin/mxaudit
	sed 's|/usr/sbin/mxd|$(PREFIX)/sbin/mxd|' etc/mxd.service >$(DESTDIR)$(UNITDIR)/mxd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/mxd.service
	install -m 0644 etc/mxd.conf.sample $(DESTDIR)$(DOCDIR)/mxd.conf.sample
	[ -e $(DESTDIR)/etc/mxd/mxd.conf ] || install -m 0644 etc/mxd.conf.sample $(DESTDIR)/etc/mxd/mxd.conf
	for m in $(MANPAGES); do s=$${m##*.}; install -d $(DESTDIR)$(PREFIX)/share/man/man$$s; \
	  install -m 0644 $$m $(DESTDIR)$(PREFIX)/share/man/man$$s/; done

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/mxlookup $(DESTDIR)$(PREFIX)/sbin/mxd \
	  $(DESTDIR)$(PREFIX)/sbin/mxctl $(DESTDIR)$(PREFIX)/sbin/sendmail \
	  $(DESTDIR)$(PREFIX)/bin/mailq $(DESTDIR)$(PREFIX)/bin/newaliases \
	  $(DESTDIR)$(PREFIX)/bin/mxaudit $(DESTDIR)$(UNITDIR)/mxd.service \
	  $(DESTDIR)$(DOCDIR)/mxd.conf.sample
	-rmdir $(DESTDIR)$(DOCDIR) 2>/dev/null
	if cmp -s etc/mxd.conf.sample $(DESTDIR)/etc/mxd/mxd.conf; then \
	  rm -f $(DESTDIR)/etc/mxd/mxd.conf; rmdir $(DESTDIR)/etc/mxd 2>/dev/null; fi; true
	for m in $(MANPAGES); do s=$${m##*.}; \
	  rm -f $(DESTDIR)$(PREFIX)/share/man/man$$s/$$(basename $$m); done

clean:
	rm -rf build

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

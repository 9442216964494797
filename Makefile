# imapexec - an IMAP filter that adds EXECUTE to a preauthenticated server.

VERSION =	0.1.0
PREFIX ?=	/usr/local
DESTDIR ?=
BINDIR ?=	$(PREFIX)/sbin
UBINDIR ?=	$(PREFIX)/bin
MANDIR ?=	$(PREFIX)/share/man
LIBEXECDIR ?=	$(PREFIX)/libexec/imapexec
DOCDIR ?=	$(PREFIX)/share/doc/imapexec
EXAMPLEDIR ?=	$(DOCDIR)/examples
ifeq ($(PREFIX),/usr)
SYSCONFDIR ?=	/etc
SYSTEMDUNITDIR ?= /lib/systemd/system
else
SYSCONFDIR ?=	$(PREFIX)/etc
SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
endif
# The unit, xinetd, ssh examples and imapexec.conf name
# /usr/local/sbin/imapexec, /usr/local/etc/imapexec.conf and the services
# in /usr/local/libexec/imapexec; installed copies name the real paths.
EXAMPLES =	conf/xinetd.imapexec conf/ssh/authorized_keys \
		conf/ssh/sshd_config conf/ssh/muttrc conf/ssh/mbsyncrc \
		conf/ssh/offlineimaprc conf/dovecot/90-imapexec-postlogin.conf
UNITS =		conf/imapexec.socket conf/imapexec@.service
FIXPATHS =	sed -e 's|/usr/local/sbin/imapexec|$(BINDIR)/imapexec|g' \
		    -e 's|/usr/local/etc/imapexec.conf|$(SYSCONFDIR)/imapexec.conf|g' \
		    -e 's|/usr/local/libexec/imapexec|$(LIBEXECDIR)|g'

CC ?=		cc
# The Thunderbird add-on (src/thunderbird/addon): make xpi; make install
# puts it in $(XPIDIR).
XPI =		build/imapexec-thunderbird.xpi
XPIDIR ?=	$(PREFIX)/share/imapexec
XPI_SRC =	$(shell find src/thunderbird/addon -type f | LC_ALL=C sort)
CFLAGS ?=	-O2 -g
WARN =		-std=c11 -Wall -Wextra -Werror -Wshadow -Wpointer-arith \
		-Wstrict-prototypes -Wmissing-prototypes -Wno-unused-result
HARDEN =	-D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
HARDEN_LD =	-pie -Wl,-z,relro,-z,now
DEFS =		-D_GNU_SOURCE -DVERSION='"$(VERSION)"' \
		-DCONFIG_FILE='"$(SYSCONFDIR)/imapexec.conf"'
PKGS =		libbsd-overlay libconfig zlib
PKG_CFLAGS =	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS =	$(shell pkg-config --libs $(PKGS) 2>/dev/null)
SAN =		-fsanitize=address,undefined -fno-omit-frame-pointer \
		-fno-sanitize-recover=all

# The pure scanner, shared by the program, the unit tests and the fuzzers.
SCAN_SRCS =	lex.c tags.c scan_client.c scan_server.c
SRCS =		$(SCAN_SRCS) buf.c command.c config.c conn.c env.c log.c \
		main.c peer.c postlogin.c relay.c session.c sock.c spawn.c util.c \
		xcmd.c xinput.c zio.c
HDRS =		$(wildcard src/*.h src/run/*.h)
OBJS =		$(SRCS:%.c=src/%.o)
ASAN_OBJS =	$(SRCS:%.c=build/asan/%.o)
# The client, imapexec-run (src/run/), with the lexer and two helpers.
RUN_SRCS =	$(wildcard src/run/*.c)
RUN_SHARED =	lex.c buf.c util.c
RUN_OBJS =	$(RUN_SRCS:%.c=%.o) $(RUN_SHARED:%.c=src/%.o)
RUN_ASAN_OBJS =	$(RUN_SRCS:src/%.c=build/asan/%.o) \
		$(RUN_SHARED:%.c=build/asan/%.o)
RUN_PKGS =	libbsd-overlay libtls
RUN_CFLAGS =	$(shell pkg-config --cflags $(RUN_PKGS) 2>/dev/null) -iquote src
RUN_LIBS =	$(shell pkg-config --libs $(RUN_PKGS) 2>/dev/null || echo -lbsd -ltls)
UNIT_SRCS =	$(wildcard tests/unit/*.c)
UNIT_BINS =	$(UNIT_SRCS:tests/unit/%.c=build/unit/%)

.PHONY: all asan unit deps check check-fast check-valgrind fuzz bench run install \
	uninstall clean format deb xpi

all: src/imapexec src/imapexec-run

src/%.o: src/%.c $(HDRS)
	$(CC) $(WARN) $(HARDEN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

src/imapexec: $(OBJS)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $(OBJS) $(PKG_LIBS)

src/run/%.o: src/run/%.c $(HDRS)
	$(CC) $(WARN) $(HARDEN) $(DEFS) $(RUN_CFLAGS) $(CFLAGS) -c -o $@ $<

src/imapexec-run: $(RUN_OBJS)
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $@ $(RUN_OBJS) $(RUN_LIBS)

# The same programs built with AddressSanitizer and UBSan, for make check.
asan: build/asan/imapexec build/asan/imapexec-run

build/asan/%.o: src/%.c $(HDRS)
	@mkdir -p build/asan
	$(CC) $(WARN) $(DEFS) -DIMAPEXEC_DEBUG $(PKG_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

build/asan/imapexec: $(ASAN_OBJS)
	$(CC) $(SAN) -o $@ $(ASAN_OBJS) $(PKG_LIBS)

build/asan/run/%.o: src/run/%.c $(HDRS)
	@mkdir -p build/asan/run
	$(CC) $(WARN) $(DEFS) -DIMAPEXEC_DEBUG $(RUN_CFLAGS) -O1 -g $(SAN) -c -o $@ $<

build/asan/imapexec-run: $(RUN_ASAN_OBJS)
	$(CC) $(SAN) -o $@ $(RUN_ASAN_OBJS) $(RUN_LIBS)

# Unit tests of the pure parts, with sanitizers on.
unit: $(UNIT_BINS)

build/unit/%: tests/unit/%.c $(wildcard src/*.c) $(HDRS)
	@mkdir -p build/unit
	$(CC) $(WARN) $(DEFS) -DIMAPEXEC_DEBUG $(PKG_CFLAGS) -Isrc -O1 -g $(SAN) -o $@ $< \
	    $(SCAN_SRCS:%=src/%) $(PKG_LIBS)

deps:
	@sh scripts/deps.sh $(DEPS_FOR)

check: DEPS_FOR = test
check: deps all asan unit xpi
	@sh scripts/check.sh

# The unit tests and the core files against the release build only.
check-fast: DEPS_FOR = test
check-fast: deps all unit
	@sh scripts/check.sh fast

# The suite again with imapexec under valgrind (memcheck, fd tracking).
check-valgrind: DEPS_FOR = valgrind
check-valgrind: deps all unit
	@sh scripts/check-valgrind.sh

# libFuzzer runs of the pure parsers, FUZZ_SECONDS each (clang).
FUZZ_SECONDS ?= 30
fuzz: DEPS_FOR = fuzz
fuzz: deps
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh scripts/fuzz.sh

# Benchmarks against baselines run side by side; not part of check.
bench: DEPS_FOR = bench
bench: deps
	@sh scripts/bench.sh

run: DEPS_FOR = run
run: deps all
	@sh scripts/demo.sh src/imapexec

# INSTALL_BUILD holds what install generates (the relinked binary, the
# config and examples with the paths of this PREFIX): the tests give each
# install a directory of its own, as several run at once.
INSTALL_BUILD ?= build/install

# The binary is relinked with main.c compiled for this SYSCONFDIR: a
# src/imapexec built for another PREFIX would read the wrong config.
install: all $(XPI)
	install -d $(DESTDIR)$(XPIDIR)
	install -m 644 $(XPI) $(DESTDIR)$(XPIDIR)/
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man8 \
	    $(DESTDIR)$(UBINDIR) $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(SYSCONFDIR) \
	    $(DESTDIR)$(SYSTEMDUNITDIR) $(DESTDIR)$(EXAMPLEDIR)/ssh \
	    $(DESTDIR)$(EXAMPLEDIR)/dovecot $(DESTDIR)$(LIBEXECDIR)
	install -m 755 scripts/services/blacklist scripts/services/calendar \
	    scripts/services/voicemail scripts/services/smtp \
	    $(DESTDIR)$(LIBEXECDIR)/
	ln -sf blacklist $(DESTDIR)$(LIBEXECDIR)/whitelist
	@mkdir -p $(INSTALL_BUILD)
	$(CC) $(WARN) $(HARDEN) $(DEFS) $(PKG_CFLAGS) $(CFLAGS) \
	    -c -o $(INSTALL_BUILD)/main.o src/main.c
	$(CC) $(HARDEN_LD) $(LDFLAGS) -o $(INSTALL_BUILD)/imapexec \
	    $(filter-out src/main.o,$(OBJS)) $(INSTALL_BUILD)/main.o $(PKG_LIBS)
	install -m 755 $(INSTALL_BUILD)/imapexec $(DESTDIR)$(BINDIR)/imapexec
	install -m 644 src/imapexec.8 $(DESTDIR)$(MANDIR)/man8/imapexec.8
	install -m 755 src/imapexec-run $(DESTDIR)$(UBINDIR)/imapexec-run
	install -m 644 src/imapexec-run.1 \
	    $(DESTDIR)$(MANDIR)/man1/imapexec-run.1
	install -m 644 src/imapexec.conf.5 \
	    $(DESTDIR)$(MANDIR)/man5/imapexec.conf.5
	$(FIXPATHS) conf/imapexec.conf >$(INSTALL_BUILD)/imapexec.conf
	test -e $(DESTDIR)$(SYSCONFDIR)/imapexec.conf || \
	    install -m 644 $(INSTALL_BUILD)/imapexec.conf \
	    $(DESTDIR)$(SYSCONFDIR)/imapexec.conf
	install -m 644 $(INSTALL_BUILD)/imapexec.conf \
	    $(DESTDIR)$(EXAMPLEDIR)/imapexec.conf
	# Generated in $(INSTALL_BUILD), then installed: install(1) replaces a
	# symlink in the way instead of writing through it.
	for f in $(UNITS) $(EXAMPLES); do \
	    mkdir -p $(INSTALL_BUILD)/$${f%/*} && \
	    $(FIXPATHS) $$f >$(INSTALL_BUILD)/$$f || exit 1; \
	done
	for f in $(UNITS); do \
	    install -m 644 $(INSTALL_BUILD)/$$f \
	    $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/} || exit 1; \
	done
	for f in $(EXAMPLES); do \
	    install -m 644 $(INSTALL_BUILD)/$$f \
	    $(DESTDIR)$(EXAMPLEDIR)/$${f#conf/} || exit 1; \
	done

# The config goes too if it is still the shipped one, not if edited.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/imapexec \
	    $(DESTDIR)$(UBINDIR)/imapexec-run \
	    $(DESTDIR)$(MANDIR)/man1/imapexec-run.1 \
	    $(DESTDIR)$(LIBEXECDIR)/blacklist $(DESTDIR)$(LIBEXECDIR)/whitelist \
	    $(DESTDIR)$(LIBEXECDIR)/calendar $(DESTDIR)$(LIBEXECDIR)/voicemail \
	    $(DESTDIR)$(LIBEXECDIR)/smtp \
	    $(DESTDIR)$(MANDIR)/man8/imapexec.8 \
	    $(DESTDIR)$(MANDIR)/man5/imapexec.conf.5 \
	    $(DESTDIR)$(EXAMPLEDIR)/imapexec.conf \
	    $(DESTDIR)$(XPIDIR)/imapexec-thunderbird.xpi
	-rmdir $(DESTDIR)$(XPIDIR) 2>/dev/null
	for f in $(UNITS); do \
	    rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/$${f##*/}; done
	for f in $(EXAMPLES); do \
	    rm -f $(DESTDIR)$(EXAMPLEDIR)/$${f#conf/}; done
	! $(FIXPATHS) conf/imapexec.conf | \
	    cmp -s - $(DESTDIR)$(SYSCONFDIR)/imapexec.conf || \
	    rm -f $(DESTDIR)$(SYSCONFDIR)/imapexec.conf
	-rmdir $(DESTDIR)$(EXAMPLEDIR)/ssh $(DESTDIR)$(EXAMPLEDIR)/dovecot \
	    $(DESTDIR)$(EXAMPLEDIR) \
	    $(DESTDIR)$(DOCDIR) $(DESTDIR)$(LIBEXECDIR) 2>/dev/null

# Debian packages in build/deb/ (scripts/deb.sh, scripts/debian/; README,
# "Debian package"): VERSION-DEB_REVISION.
DEB_REVISION ?= 1
deb: DEPS_FOR = deb
deb: deps
	@sh scripts/deb.sh $(VERSION) $(DEB_REVISION)

# The add-on: a zip of src/thunderbird/addon (sorted, no extra fields).
xpi: $(XPI)
$(XPI): $(XPI_SRC)
	@mkdir -p $(dir $@)
	# a temporary name of its own: several installs may build it at once
	t=$(abspath $@).$$$$.tmp && rm -f $$t && \
	cd src/thunderbird/addon && zip -X -D -q -9 $$t \
	    $(patsubst src/thunderbird/addon/%,%,$(XPI_SRC)) && \
	mv $$t $(abspath $@)

# The Roundcube plugin (src/roundcube/imapexec, README "Roundcube"): in
# $(ROUNDCUBEDIR)/imapexec, to be symlinked into Roundcube's plugins/.
ROUNDCUBEDIR ?=	$(PREFIX)/share/imapexec/roundcube
RC_FILES =	imapexec.php imapexec_client.php config.inc.php.dist \
		localization/en_US.inc markasjunk/imapexec.php
install: install-roundcube
uninstall: uninstall-roundcube
.PHONY: install-roundcube uninstall-roundcube
install-roundcube:
	for f in $(RC_FILES); do \
	    install -D -m 644 src/roundcube/imapexec/$$f \
	    $(DESTDIR)$(ROUNDCUBEDIR)/imapexec/$$f || exit 1; \
	done
uninstall-roundcube:
	for f in $(RC_FILES); do \
	    rm -f $(DESTDIR)$(ROUNDCUBEDIR)/imapexec/$$f; done
	-rmdir $(DESTDIR)$(ROUNDCUBEDIR)/imapexec/localization \
	    $(DESTDIR)$(ROUNDCUBEDIR)/imapexec/markasjunk \
	    $(DESTDIR)$(ROUNDCUBEDIR)/imapexec $(DESTDIR)$(ROUNDCUBEDIR) \
	    $(DESTDIR)$(PREFIX)/share/imapexec 2>/dev/null

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c

clean:
	rm -f src/*.o src/imapexec src/run/*.o src/imapexec-run
	rm -rf build

# make install PREFIX=/usr/local   builds tokentop in release mode and installs the binary, the man page, the
#                                  themes, shell completions for bash, zsh and fish, the systemd unit, and the
#                                  sysusers.d file that declares the unit's user (run systemd-sysusers to create it).
# make install TOKENTOP_BIN=PATH   installs an already built binary instead of building one.
# make uninstall PREFIX=...        removes exactly what install put there.
# DESTDIR is honoured, for packagers.

PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share
MANDIR ?= $(DATADIR)/man/man1
SYSTEMDDIR ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
BASHDIR ?= $(DATADIR)/bash-completion/completions
ZSHDIR ?= $(DATADIR)/zsh/site-functions
FISHDIR ?= $(DATADIR)/fish/vendor_completions.d
THEMEDIR ?= $(DATADIR)/tokentop/themes

INSTALL ?= install
THEMES := $(wildcard themes/*.theme)

.PHONY: all build install uninstall test

all: build

build:
ifndef TOKENTOP_BIN
	swift build -c release --product tokentop
endif

# The binary finds its themes in ../share/tokentop/themes, so BINDIR and DATADIR must share PREFIX.
install: build
	$(eval BIN := $(if $(TOKENTOP_BIN),$(TOKENTOP_BIN),$(shell swift build -c release --show-bin-path)/tokentop))
	$(INSTALL) -d "$(DESTDIR)$(BINDIR)" "$(DESTDIR)$(MANDIR)" "$(DESTDIR)$(THEMEDIR)" "$(DESTDIR)$(BASHDIR)" \
		"$(DESTDIR)$(ZSHDIR)" "$(DESTDIR)$(FISHDIR)" "$(DESTDIR)$(SYSTEMDDIR)" "$(DESTDIR)$(SYSUSERSDIR)"
	$(INSTALL) -m 0755 "$(BIN)" "$(DESTDIR)$(BINDIR)/tokentop"
	$(INSTALL) -m 0644 doc/tokentop.1 "$(DESTDIR)$(MANDIR)/tokentop.1"
	$(INSTALL) -m 0644 $(THEMES) "$(DESTDIR)$(THEMEDIR)/"
	$(INSTALL) -m 0644 completions/tokentop.bash "$(DESTDIR)$(BASHDIR)/tokentop"
	$(INSTALL) -m 0644 completions/_tokentop "$(DESTDIR)$(ZSHDIR)/_tokentop"
	$(INSTALL) -m 0644 completions/tokentop.fish "$(DESTDIR)$(FISHDIR)/tokentop.fish"
	sed -e 's|/usr/local/bin/tokentop|$(BINDIR)/tokentop|' -e 's|/usr/local/lib/sysusers.d|$(SYSUSERSDIR)|' \
		contrib/tokentop.service > "$(DESTDIR)$(SYSTEMDDIR)/tokentop.service"
	chmod 0644 "$(DESTDIR)$(SYSTEMDDIR)/tokentop.service"
	$(INSTALL) -m 0644 contrib/tokentop.sysusers "$(DESTDIR)$(SYSUSERSDIR)/tokentop.conf"

uninstall:
	rm -f "$(DESTDIR)$(BINDIR)/tokentop" "$(DESTDIR)$(MANDIR)/tokentop.1" "$(DESTDIR)$(BASHDIR)/tokentop" \
		"$(DESTDIR)$(ZSHDIR)/_tokentop" "$(DESTDIR)$(FISHDIR)/tokentop.fish" "$(DESTDIR)$(SYSTEMDDIR)/tokentop.service" \
		"$(DESTDIR)$(SYSUSERSDIR)/tokentop.conf"
	rm -f $(addprefix "$(DESTDIR)$(THEMEDIR)/,$(addsuffix ",$(notdir $(THEMES))))
	-rmdir "$(DESTDIR)$(THEMEDIR)" "$(DESTDIR)$(DATADIR)/tokentop" 2>/dev/null

test:
	scripts/test

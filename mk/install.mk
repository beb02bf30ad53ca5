# mk/install.mk — `make install` for Hartslag. Included by the top-level
# Makefile (`include mk/install.mk`); until then, and in the Docker build:
#
#   make -f Makefile -f mk/install.mk install DESTDIR=/tmp/x PREFIX=/usr
#
# Variables (all may be set on the command line):
#   PREFIX          /usr/local
#   DESTDIR         empty; staged installs (packages, tests) set it
#   BINDIR          $(PREFIX)/bin                 hartslag, hartslagd, hartslag-broker,
#                                                 hartslag-pseudonymd
#   DATADIR         $(PREFIX)/share/hartslag      examples/, demo.sh, scripts/demo.sh
#   DOCDIR          $(PREFIX)/share/doc/hartslag  README.md, keys.md, docker.md,
#                   bench-results.md, docs/*.md (links rewritten to match)
#   MANDIR          $(PREFIX)/share/man           man1/*.1
#   SYSTEMDUNITDIR  /lib/systemd/system when PREFIX is /usr (Debian's
#                   systemdsystemunitdir), else $(PREFIX)/lib/systemd/system
#                   (/usr/local/lib/systemd/system is in systemd's search path)
#   NOBUILD=1       install what is in $(BUILD) without running `make all`
#                   first (the tests and the Docker build use it)
#   INSTALL_STRIP=-s strip the binaries
#
# The unit files name $(BINDIR) in ExecStart: they are rewritten from
# /usr/local/bin to $(BINDIR) while being installed. Configuration lives in
# /etc/hartslag whatever the PREFIX (the units say so); `make install` never
# writes to /etc or /var: docs/operations.md creates the user, the keys and
# the configuration.

ifndef HARTSLAG_INSTALL_MK
HARTSLAG_INSTALL_MK := 1

BUILD ?= build
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
DATADIR ?= $(PREFIX)/share/hartslag
DOCDIR ?= $(PREFIX)/share/doc/hartslag
MANDIR ?= $(PREFIX)/share/man
ifeq ($(patsubst %/,%,$(PREFIX)),/usr)
  SYSTEMDUNITDIR ?= /lib/systemd/system
else
  SYSTEMDUNITDIR ?= $(PREFIX)/lib/systemd/system
endif
INSTALL ?= install
INSTALL_STRIP ?=
NOBUILD ?= 0

INSTALL_BINS := hartslag hartslagd hartslag-broker hartslag-pseudonymd
INSTALL_EXAMPLES := $(wildcard examples/*.yaml)
INSTALL_DOCS := $(wildcard docs/*.md)
INSTALL_MANS := $(wildcard docs/man/*.1)
INSTALL_UNITS := systemd/hartslag-broker.service systemd/hartslagd@.service \
  systemd/hartslag-pseudonymd.service

ifeq ($(NOBUILD),1)
  INSTALL_BUILT :=
else
  INSTALL_BUILT := all
endif

.PHONY: install install-bin install-examples install-doc install-man install-systemd uninstall

install: install-bin install-examples install-doc install-man install-systemd

# Binaries. Without NOBUILD=1 they are built (or brought up to date) first.
install-bin: $(INSTALL_BUILT)
	@for b in $(INSTALL_BINS); do \
	  [ -x "$(BUILD)/$$b" ] || { echo "install: $(BUILD)/$$b is missing: run 'make' first" >&2; exit 1; }; \
	done
	$(INSTALL) -d -m 0755 $(DESTDIR)$(BINDIR)
	$(INSTALL) -m 0755 $(INSTALL_STRIP) $(addprefix $(BUILD)/,$(INSTALL_BINS)) $(DESTDIR)$(BINDIR)/

# The example partnership and the demo. scripts/demo.sh finds the examples
# at ../examples relative to itself, so it goes to DATADIR/scripts/; the
# DATADIR/demo.sh wrapper runs it with the binaries in ../../bin.
install-examples:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(DATADIR)/examples $(DESTDIR)$(DATADIR)/scripts
	$(INSTALL) -m 0644 $(INSTALL_EXAMPLES) $(DESTDIR)$(DATADIR)/examples/
	$(INSTALL) -m 0755 scripts/demo.sh $(DESTDIR)$(DATADIR)/scripts/demo.sh
	$(INSTALL) -m 0755 mk/demo-installed.sh $(DESTDIR)$(DATADIR)/demo.sh

# Installed, the docs sit side by side in DOCDIR (keys/README.md becomes
# keys.md, docker/README.md docker.md): their links are rewritten to match,
# and links to files that are not installed point to the installed copy
# (examples) or lose their target.
DOC_LINKS := -e 's|](\.\./keys/README\.md|](keys.md|g' -e 's|](keys/README\.md|](keys.md|g' \
	-e 's|](\.\./docker/README\.md|](docker.md|g' -e 's|](docker/README\.md|](docker.md|g' \
	-e 's|](\.\./README\.md|](README.md|g' -e 's|](docs/|](|g' \
	-e 's|](bench/RESULTS\.md|](bench-results.md|g' -e 's|](\.\./bench/RESULTS\.md|](bench-results.md|g' \
	-e 's|](\.\./examples/|]($(DATADIR)/examples/|g' -e 's|](examples/|]($(DATADIR)/examples/|g'

install-doc:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(DOCDIR)
	@for f in README.md keys/README.md docker/README.md bench/RESULTS.md $(INSTALL_DOCS); do \
	  case $$f in keys/README.md) to=keys.md ;; docker/README.md) to=docker.md ;; \
	    bench/RESULTS.md) to=bench-results.md ;; \
	    *) to=$$(basename $$f) ;; esac; \
	  sed $(DOC_LINKS) "$$f" > "$(DESTDIR)$(DOCDIR)/$$to.tmp" && \
	  chmod 0644 "$(DESTDIR)$(DOCDIR)/$$to.tmp" && \
	  mv "$(DESTDIR)$(DOCDIR)/$$to.tmp" "$(DESTDIR)$(DOCDIR)/$$to" || exit 1; \
	done

install-man:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(MANDIR)/man1
	$(if $(INSTALL_MANS),$(INSTALL) -m 0644 $(INSTALL_MANS) $(DESTDIR)$(MANDIR)/man1/)

install-systemd:
	$(INSTALL) -d -m 0755 $(DESTDIR)$(SYSTEMDUNITDIR)
	@for u in $(INSTALL_UNITS); do \
	  echo "install $$u -> $(DESTDIR)$(SYSTEMDUNITDIR)/ (ExecStart in $(BINDIR))"; \
	  sed -e 's#/usr/local/bin/#$(BINDIR)/#g' \
	      -e 's#/usr/local/share/doc/hartslag/#$(DOCDIR)/#g' "$$u" > "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#systemd/}.tmp" && \
	  chmod 0644 "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#systemd/}.tmp" && \
	  mv "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#systemd/}.tmp" "$(DESTDIR)$(SYSTEMDUNITDIR)/$${u#systemd/}" || exit 1; \
	done

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(INSTALL_BINS))
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR)
	rm -f $(addprefix $(DESTDIR)$(MANDIR)/man1/,$(notdir $(INSTALL_MANS)))
	rm -f $(DESTDIR)$(SYSTEMDUNITDIR)/hartslag-broker.service $(DESTDIR)$(SYSTEMDUNITDIR)/hartslagd@.service \
	  $(DESTDIR)$(SYSTEMDUNITDIR)/hartslag-pseudonymd.service

endif

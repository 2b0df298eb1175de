# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# aufsctl: build, test, demo. `sudo make demo` and `sudo make test` work on a fresh Debian/Ubuntu.
SWIFT ?= $(shell command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)
PREFIX ?= /usr/local
RELEASE_BIN := .build/glibc231/release/aufsctl

.PHONY: all deps build test demo install exports clean e2e lint lint-swift lint-sh lint-ansible lint-fix

all: build

deps:
	@scripts/deps.sh

# The release binary, linked against Debian 11's glibc 2.31 (scripts/sysroot.sh): runs on every host
# with glibc >= 2.31. Fails when it needs a newer GLIBC symbol version.
build: deps
	SWIFT=$(SWIFT) scripts/build.sh

# Unit tests over fixture roots, CLI tests of the built binary, real mounts and real DKMS, the man
# pages as man renders them; then, as root, the QEMU suite and the crash-safety loop. Root-only
# parts skip with a printed reason.
test: deps
	$(SWIFT) build --build-tests
	SWIFT=$(SWIFT) scripts/check-pins.sh
	scripts/with-kernel.sh $(SWIFT) test --skip-build
	SWIFT=$(SWIFT) Tests/man/run.sh
	SWIFT=$(SWIFT) scripts/test-root.sh

# aufsctl inside a QEMU guest on a real Debian kernel with the aufs stand-in module built by
# aufsctl's own DKMS method (root; see Tests/e2e/README.md).
e2e: deps
	Tests/e2e/run.sh

# The Debian package of the release binary: .build/deb/aufsctl_VERSION_amd64.deb (scripts/deb.sh:
# the man pages of scripts/man.sh, completions, Depends from dpkg-shlibdeps, lintian clean).
.PHONY: deb
deb: build
	SWIFT=$(SWIFT) scripts/deb.sh

# The full ansible-test sanity run over the aufsctl.aufs collection (make test runs the units and the
# sanity tests that matter: Tests/ansible/run.sh), and ansible-lint's production profile over the
# collection and the README's playbook, in the cached virtualenv (scripts/ansible-venv.sh).
lint-ansible:
	venv=$$(scripts/ansible-venv.sh) && cd ansible/ansible_collections/aufsctl/aufs && \
	    "$$venv/bin/ansible-test" sanity --local \
	    --python "$$("$$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
	scripts/ansible-lint.sh

demo: build
	scripts/demo.sh $(RELEASE_BIN)

# Also the mount helpers: aufsctl-helper in $(PREFIX)/libexec/aufsctl (as the package has it), and
# /usr/sbin/mount.aufs and /usr/sbin/umount.aufs as links to it (mount(8) looks in /sbin, which is
# /usr/sbin on a merged-/usr host). On the live system through `aufsctl helper install` (refuses a
# foreign helper, recorded for uninstall); into a DESTDIR as plain links.
# Installed without debug info (the symbols stay for backtraces).
HELPER_DIR = $(PREFIX)/libexec/aufsctl
install: build
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(HELPER_DIR)
	install -m 0755 $(RELEASE_BIN) $(DESTDIR)$(PREFIX)/bin/aufsctl
	install -m 0755 $(RELEASE_BIN)-helper $(DESTDIR)$(HELPER_DIR)/aufsctl-helper
	# The after-work hooks' examples: inert (the runner skips a name with a dot) until copied without it.
	install -d -m 0755 $(DESTDIR)/etc/aufsctl/layer.d
	install -m 0755 packaging/layer.d/*.example $(DESTDIR)/etc/aufsctl/layer.d/
	strip --strip-debug $(DESTDIR)$(PREFIX)/bin/aufsctl $(DESTDIR)$(HELPER_DIR)/aufsctl-helper
	if [ -z "$(DESTDIR)" ]; then $(PREFIX)/bin/aufsctl helper install --binary $(HELPER_DIR)/aufsctl-helper; \
	else install -d $(DESTDIR)/usr/sbin && ln -sfn $(HELPER_DIR)/aufsctl-helper $(DESTDIR)/usr/sbin/mount.aufs \
	     && ln -sfn $(HELPER_DIR)/aufsctl-helper $(DESTDIR)/usr/sbin/umount.aufs; fi

# Style: swift-format (.swift-format: 120 columns) over Sources and Tests, the structure check (no
# function over 80 lines, no loop between rooms: scripts/check-structure.py), shellcheck (warnings
# and errors) over every shell script, and ansible-test's full sanity run over the collection.
# `make lint-fix` applies swift-format's fixes.
SH_SCRIPTS = $(shell find . -name '*.sh' -not -path './.build*' -not -path './fuzz/.build*')
lint: lint-swift lint-sh lint-ansible

lint-swift:
	$(SWIFT) format lint --strict -r Sources Tests/AufsKitTests fuzz/Sources
	@long=$$(find Sources -name '*.swift' -exec awk 'length > 120 { print FILENAME ":" FNR }' {} +); \
	    if [ -n "$$long" ]; then echo "lines over 120 characters:"; echo "$$long"; exit 1; fi
	@scripts/deps.sh python3
	python3 scripts/check-structure.py

lint-sh:
	@scripts/deps.sh shellcheck
	shellcheck -S warning $(SH_SCRIPTS)

lint-fix:
	$(SWIFT) format -i -r Sources Tests/AufsKitTests fuzz/Sources

# Regenerate the Swift table of required kernel exports from Kernel/exports/*.txt.
exports:
	Kernel/exports/generate.sh

clean:
	rm -rf .build

# Not part of `make test`: whole-process benchmarks (root; writes bench/RESULTS.md, exits
# non-zero when a target is missed) and libFuzzer targets (FUZZ_SECONDS per target, default 30).
# `make stress` runs the SIGKILL crash-safety loops alone (make test runs them too, as root).
.PHONY: bench fuzz stress order-file
bench: deps
	bench/run.sh

# Regenerates scripts/aufsctl.order (the start-up layout scripts/build.sh links with) from
# callgrind runs of the common commands; root (it mounts an overlay in a temporary directory).
order-file: build
	scripts/order-file.sh $(RELEASE_BIN)

fuzz: deps
	fuzz/run.sh

stress: deps
	Tests/stress/crash-safety.sh
	Tests/stress/convert-crash.sh

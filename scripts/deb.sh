#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The Debian package: `make deb` -> .build/deb/aufsctl_VERSION_amd64.deb (DEB_OUT), built from the
# glibc 2.31 release binary (scripts/build.sh), so it installs on Debian 11+ and Ubuntu 20.04+.
# It holds the binary (stripped), the section 8 man pages (scripts/man.sh: aufsctl(8) and
# mount.aufs(8) written by hand, one per subcommand from the command definitions: `man
# aufsctl.mount`), bash/zsh/fish completions (`aufsctl --generate-completion-script`), the README
# and copyright, and, when the binary has helper mode, aufsctl-helper (/usr/libexec/aufsctl) with
# the mount.aufs/umount.aufs links to it in /usr/sbin; prerm warns when install records or
# persisted unions remain, postrm purge removes /var/lib/aufsctl and /run/aufsctl. Depends: is
# computed by dpkg-shlibdeps from the libraries the binaries link, plus the two aufsctl dlopens
# (libkmod, libblkid); Recommends: dkms. lintian must be clean
# (packaging/deb/lintian-overrides says why for each override).
#   scripts/deb.sh [BINARY]      -> prints the .deb's path
# DEB_HELPER_DIR=/sbin builds the links into /sbin instead: only for a host without merged /usr
# (a Debian 11 or Ubuntu 20.04 upgraded from an older release), where util-linux looks for
# helpers in /sbin alone (its search path is /sbin:/sbin/fs.d:/sbin/fs); merged-/usr hosts (every
# Debian 12+, fresh Debian 11 and Ubuntu 20.04 installs) reach /usr/sbin through /sbin, and
# Debian 13's lintian rejects /sbin (aliased-location). DEB_VERSION sets the package version (the
# deb test builds an older /sbin package to upgrade from).
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
SWIFT=${SWIFT:-$(command -v swift 2>/dev/null || echo /opt/swift/usr/bin/swift)}
BIN=${1:-$REPO/.build/glibc231/release/aufsctl}
OUT=${DEB_OUT:-$REPO/.build/deb}
HELPER_DIR=${DEB_HELPER_DIR:-/usr/sbin}
case $HELPER_DIR in /usr/sbin|/sbin) ;; *) echo "deb: DEB_HELPER_DIR=$HELPER_DIR: expected /usr/sbin or /sbin" >&2; exit 2 ;; esac
log() { echo "deb: $*" >&2; }
[ -x "$BIN" ] || { log "no release binary at $BIN (make build)"; exit 1; }
for tool in dpkg-deb dpkg-shlibdeps lintian; do
    command -v "$tool" >/dev/null 2>&1 && continue
    log "installing dpkg-dev and lintian"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends dpkg-dev lintian >&2
    break
done

VERSION=$("$BIN" --version | head -n 1)
case $VERSION in [0-9]*) ;; *) log "'$BIN --version' printed '$VERSION', not a version"; exit 1 ;; esac
VERSION=${DEB_VERSION:-$VERSION}
# Reproducible: dates and mtimes from the last commit.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%d)

WORK=$OUT/work
rm -rf "$WORK"
P=$WORK/pkg
install -d "$P/DEBIAN" "$P/usr/bin" "$P/usr/share/man/man8" "$P/usr/share/doc/aufsctl" \
    "$P/usr/share/lintian/overrides" "$P/usr/share/bash-completion/completions" \
    "$P/usr/share/zsh/vendor-completions" "$P/usr/share/fish/vendor_completions.d"
install -m 0755 "$BIN" "$P/usr/bin/aufsctl"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$P/usr/bin/aufsctl"
"$P/usr/bin/aufsctl" --version >/dev/null || { log "the stripped binary does not run"; exit 1; }

# Helper mode (the mount machinery issue): ship /usr/sbin/mount.aufs and /usr/sbin/umount.aufs
# (mount(8) looks in /sbin, which is /usr/sbin on a merged-/usr host) only when this binary has
# it; they link to aufsctl-helper (built beside aufsctl: the helper alone, which starts faster),
# else to aufsctl.
# (`aufsctl helper --help` cannot tell: an unknown subcommand with --help prints the top help.)
HELPER_BIN=$(dirname "$BIN")/aufsctl-helper
if "$BIN" --help | grep -qE '^  helper( |$)'; then
    HELPER=1
    install -d "$P$HELPER_DIR"
    target=/usr/bin/aufsctl
    # The release build makes both binaries: without aufsctl-helper beside it, only a binary given
    # by hand (an older build) may link the helpers to aufsctl itself.
    [ -x "$HELPER_BIN" ] || [ -n "${1:-}" ] || { log "no aufsctl-helper beside $BIN (make build makes it)"; exit 1; }
    if [ -x "$HELPER_BIN" ]; then
        install -d "$P/usr/libexec/aufsctl"
        install -m 0755 "$HELPER_BIN" "$P/usr/libexec/aufsctl/aufsctl-helper"
        strip --strip-unneeded --remove-section=.comment --remove-section=.note "$P/usr/libexec/aufsctl/aufsctl-helper"
        # Under its own name it says what it is for and exits 1: proof the stripped binary runs.
        rc=0; "$P/usr/libexec/aufsctl/aufsctl-helper" >/dev/null 2>&1 || rc=$?
        [ "$rc" = 1 ] || { log "the stripped aufsctl-helper does not run (exit $rc)"; exit 1; }
        target=/usr/libexec/aufsctl/aufsctl-helper
    fi
    # Policy 10.5: a link within /usr is relative (../libexec/...); one from /sbin into /usr absolute.
    link=$target
    [ "$HELPER_DIR" = /usr/sbin ] && link=..${target#/usr}
    ln -s "$link" "$P$HELPER_DIR/mount.aufs"
    ln -s "$link" "$P$HELPER_DIR/umount.aufs"
    log "helper mode found: shipping $HELPER_DIR/mount.aufs and $HELPER_DIR/umount.aufs -> $target"
else
    HELPER=0
    log "no helper mode in this binary (no 'helper' subcommand): no mount.aufs links"
fi

# Man pages (scripts/man.sh): aufsctl(8) and mount.aufs(8) by hand, one page per subcommand from
# the command definitions (aufsctl.SUBCOMMAND.8); umount.aufs(8) is mount.aufs(8).
MAN=$WORK/man
SWIFT=$SWIFT scripts/man.sh "$MAN" "$DATE" >&2
for page in "$MAN"/*.8; do
    # shellcheck disable=SC2094 # reads the made page, writes into the package tree
    gzip -9n <"$page" >"$P/usr/share/man/man8/$(basename "$page").gz"
done
if [ "$HELPER" = 1 ]; then
    ln -s mount.aufs.8.gz "$P/usr/share/man/man8/umount.aufs.8.gz"
else   # no helper in this binary: no page for it
    rm "$P/usr/share/man/man8/mount.aufs.8.gz"
fi

# bash-completion sources the file: no #! line.
"$BIN" --generate-completion-script bash | sed '1{/^#!/d}' >"$P/usr/share/bash-completion/completions/aufsctl"
"$BIN" --generate-completion-script zsh >"$P/usr/share/zsh/vendor-completions/_aufsctl"
"$BIN" --generate-completion-script fish >"$P/usr/share/fish/vendor_completions.d/aufsctl.fish"

gzip -9n <README.md >"$P/usr/share/doc/aufsctl/README.md.gz"
install -m 0644 packaging/deb/copyright "$P/usr/share/doc/aufsctl/copyright"
install -m 0644 packaging/deb/lintian-overrides "$P/usr/share/lintian/overrides/aufsctl"
install -m 0755 packaging/deb/prerm packaging/deb/postrm "$P/DEBIAN/"
# The image layers' after-work hooks: the examples, inert while their name has the dot (the runner
# takes no name with one) and executable (lintian: a #! script must be); in /etc, so conffiles (an
# edit survives).
install -d "$P/etc/aufsctl/layer.d"
install -m 0755 packaging/layer.d/*.example "$P/etc/aufsctl/layer.d/"
(cd "$P" && find etc -type f -printf '/%p\n' | LC_ALL=C sort) >"$P/DEBIAN/conffiles"
COMMIT=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
{
    printf 'aufsctl (%s) unstable; urgency=medium\n\n' "$VERSION"
    printf '  * Built from the aufsctl repository at commit %s.\n\n' "$COMMIT"
    printf ' -- aufsctl maintainers <maintainers@users.noreply.r-seed-f80641ac.example>  %s\n' \
        "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$P/usr/share/doc/aufsctl/changelog.gz"

# Depends: dpkg-shlibdeps over the libraries the binary links, with the symbols and shlibs files
# of the Debian 11 packages it was linked against (the sysroot's debs, in a dpkg database of
# their own), so the versions are the oldest that provide the symbols it uses; the host's newer
# symbols files would ask for the host's glibc (libpthread's symbols moved into libc6 2.34).
DEBS=$(dirname "$(scripts/sysroot.sh)")/apt-bullseye/debs
ADM=$WORK/dpkg
install -d "$ADM/info" "$ADM/updates"
echo 1 >"$ADM/info/format"   # the multiarch layout: info/PKG:ARCH.list
: >"$ADM/status"
for deb in "$DEBS"/*.deb; do
    dpkg-deb -f "$deb" | sed '/^Package:/a Status: install ok installed' >>"$ADM/status"
    echo >>"$ADM/status"
    name=$(dpkg-deb -f "$deb" Package)
    [ "$(dpkg-deb -f "$deb" Multi-Arch)" = same ] && name=$name:amd64
    # Both /lib and /usr/lib names: the libraries are found through this host's merged /usr.
    dpkg-deb -c "$deb" | awk '{ print $6 }' | sed 's|^\./|/|; s|/$||; /^$/d' \
        | sed 'p; s|^/usr/lib/|/lib/|p; s|^/lib/|/usr/lib/|' | LC_ALL=C sort -u >"$ADM/info/$name.list"
    dpkg-deb -e "$deb" "$WORK/ctl"
    for f in symbols shlibs; do [ ! -f "$WORK/ctl/$f" ] || cp "$WORK/ctl/$f" "$ADM/info/$name.$f"; done
    rm -rf "$WORK/ctl"
done
install -d "$WORK/src/debian"
printf 'Source: aufsctl\n\nPackage: aufsctl\nArchitecture: amd64\n' >"$WORK/src/debian/control"
BINS=("$P/usr/bin/aufsctl")
[ -f "$P/usr/libexec/aufsctl/aufsctl-helper" ] && BINS+=("$P/usr/libexec/aufsctl/aufsctl-helper")
DEPENDS=$(cd "$WORK/src" && dpkg-shlibdeps --admindir="$ADM" -O "${BINS[@]}" 2>"$WORK/shlibdeps.log" \
    | sed -n 's/^shlibs:Depends=//p') || { cat "$WORK/shlibdeps.log" >&2; exit 1; }
[ -n "$DEPENDS" ] || { log "dpkg-shlibdeps computed no Depends"; exit 1; }
# aufsctl opens libkmod and libblkid with dlopen at first use (Sources/CLibLoad), which
# dpkg-shlibdeps cannot see: they are declared here, at the Debian 11 versions the binary is built
# against (scripts/build.sh checks the sysroot holds these; BuildInfo.swift names them).
DEPENDS=$(printf '%s\n' "$DEPENDS" | tr ',' '\n' | sed 's/^ *//' | grep -vE '^(libkmod2|libblkid1|libmount1)( |$)' \
    | paste -sd, - | sed 's/,/, /g')
DEPENDS="$DEPENDS, libkmod2 (>= 28), libblkid1 (>= 2.36.1)"
SIZE=$(du -sk --apparent-size "$P" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@SIZE@/$SIZE/" -e "s/@DEPENDS@/$DEPENDS/" \
    packaging/deb/control.in >"$P/DEBIAN/control"
(cd "$P" && find . -path ./DEBIAN -prune -o -type f -printf '%P\n' | LC_ALL=C sort | xargs md5sum) >"$P/DEBIAN/md5sums"
find "$P" -type d -exec chmod 0755 {} +
find "$P/usr/share" -type f -exec chmod 0644 {} +

DEB=$OUT/aufsctl_${VERSION}_amd64.deb
dpkg-deb --root-owner-group -Zxz --build "$P" "$DEB" >&2
log "Depends: $DEPENDS"
# lintian: every tag it prints fails the build (overrides, each justified, are in the package).
rc=0
tags=$(lintian --fail-on error,warning,info,pedantic --info --display-level '>=pedantic' "$DEB" 2>&1) || rc=$?
tags=$(printf '%s\n' "$tags" | grep -v '^running with root privileges' || true)
if [ "$rc" != 0 ] || [ -n "$tags" ]; then
    printf '%s\n' "$tags" >&2
    log "lintian is not clean for $DEB"
    exit 1
fi
log "lintian: clean"
echo "$DEB"

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Rewrites Kernel/exports/branches.txt from local git clones of sfjro's aufs4-standalone and
# aufs-standalone (aufs5.x and aufs6.x): for every aufsX.Y[.Z] branch, the symbols its
# aufsN-standalone.patch exports (the `+EXPORT_SYMBOL*(...)` lines it adds, in patch order).
# Nothing is fetched: clone the repositories yourself and name the clones.
# Usage: Kernel/exports/extract.sh AUFS4_STANDALONE_GIT_DIR AUFS_STANDALONE_GIT_DIR
# Then `make exports` regenerates the Swift table and `swift test` checks they agree.
set -eu
[ $# -eq 2 ] || { echo "usage: $0 AUFS4_STANDALONE_GIT_DIR AUFS_STANDALONE_GIT_DIR" >&2; exit 2; }
out=$(dirname "$0")/branches.txt
tmp=$out.tmp
{
  echo "# Exports each aufs-standalone branch's aufsN-standalone.patch adds to the kernel, in patch order."
  echo "# Written by Kernel/exports/extract.sh from aufs4-standalone (aufs4.*) and aufs-standalone"
  echo "# (aufs5.*, aufs6.*); conditions.txt says which of them a given kernel and aufs config need."
  echo "# BRANCH SYMBOL..."
  for g in "$1" "$2"; do
    for b in $(git -C "$g" for-each-ref --format='%(refname:short)' refs/heads/ | grep '^aufs[0-9]'); do
      case "$g:$b" in "$2":aufs4*) continue ;; esac
      p=$(git -C "$g" ls-tree --name-only "$b" | grep -- '-standalone\.patch$' || true)
      [ -n "$p" ] || { echo "$g $b: no standalone patch" >&2; continue; }
      syms=$(git -C "$g" show "$b:$p" | sed -n 's/^+EXPORT_SYMBOL[A-Z_]*(\([A-Za-z0-9_]*\)).*/\1/p' | tr '\n' ' ')
      echo "$b ${syms% }"
    done
  done | sort -V
} > "$tmp"
mv "$tmp" "$out"

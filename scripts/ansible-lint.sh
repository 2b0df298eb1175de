#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# ansible-lint's production profile over the aufsctl.aufs collection and over the playbook the
# README shows (its first ```yaml block), offline, from the cached virtualenv
# (scripts/ansible-venv.sh). Exits non-zero on any finding; prints ansible-lint's report.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
VENV=${VENV:-$("$REPO/scripts/ansible-venv.sh")}
COLL=$REPO/ansible/ansible_collections/aufsctl/aufs
export ANSIBLE_COLLECTIONS_PATH=$REPO/ansible ANSIBLE_NOCOLOR=1 NO_COLOR=1 PATH=$VENV/bin:$PATH
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
awk '/^```yaml$/ { on = 1; next } on && /^```$/ { exit } on { print }' "$REPO/README.md" >"$work/readme-playbook.yml"
[ -s "$work/readme-playbook.yml" ] || { echo "ansible-lint: no yaml block in README.md" >&2; exit 1; }
rc=0
(cd "$COLL" && "$VENV/bin/ansible-lint" --offline --profile production --nocolor) || rc=1
(cd "$work" && "$VENV/bin/ansible-lint" --offline --profile production --nocolor readme-playbook.yml) || rc=1
exit "$rc"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# The Python virtualenv the Ansible suites run in: `ansible` from PyPI (ansible-core plus the
# community collections; the chroot connection lives in community.general), what ansible-test's
# units and sanity tests import, and ansible-lint (make lint-ansible: the production profile).
# Built once under /var/cache/aufsctl/venv-HASH (AUFSCTL_VENV), HASH naming the Python and the
# requirements, so changing them builds a new one beside the old (a branch with other requirements
# does not rebuild another's); a stamp, written last, marks it complete. Prints its path.
set -eu
reqs="ansible==12.3.0 pytest==8.3.4 pytest-xdist==3.6.1 pytest-mock==3.14.0 pytest-forked==1.6.0
voluptuous==0.15.2 pyyaml==6.0.2 jinja2==3.1.6 antsibull-docs-parser==1.2.0 pycodestyle==2.12.1
pylint==3.3.8 packaging==24.2 ansible-lint==25.12.2"
# Debian's python3 (what a fresh Debian 12 has), not whatever else is first on PATH.
python=${AUFSCTL_VENV_PYTHON:-$(command -v /usr/bin/python3 || command -v python3 || true)}
venv=${AUFSCTL_VENV:-/var/cache/aufsctl/venv-$(printf '%s' "$python $reqs" | sha256sum | cut -c1-12)}
stamp=$venv/.aufsctl-requirements
# ansible-test's sanity venvs fetch get-pip.py from a host the test machines cannot reach.
pipv=$(sed -n "s/^ *pip='\([0-9.]*\)',\$/\1/p" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py \
       2>/dev/null | head -n 1 || true)
if [ -n "$pipv" ] && [ ! -s "$HOME/.ansible/test/cache/get_pip_${pipv//./_}.py" ]; then
    mkdir -p "$HOME/.ansible/test/cache"
    cp "$(dirname "$0")/get-pip-offline.py" "$HOME/.ansible/test/cache/get_pip_${pipv//./_}.py"
fi
if [ -x "$venv/bin/ansible-test" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$python $reqs" ]; then
    echo "$venv"; exit 0
fi
if [ -z "$python" ] || ! "$python" -c 'import venv, ensurepip' 2>/dev/null; then
    echo "ansible-venv: installing python3-venv" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >&2
    python=/usr/bin/python3
fi
echo "ansible-venv: building $venv (pip, PyPI)" >&2
# Built in place (a venv's scripts name its path); the stamp, written last, marks it complete.
rm -rf "$venv"
"$python" -m venv "$venv"
# shellcheck disable=SC2086 # one requirement per word
"$venv/bin/pip" install --quiet --disable-pip-version-check $reqs >&2
printf '%s' "$python $reqs" >"$stamp"
exec "$0"   # once more, for the get-pip stand-in (needs the venv's ansible-test)

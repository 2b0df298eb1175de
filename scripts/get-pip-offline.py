# SPDX-License-Identifier: GPL-2.0-or-later
# Copyright (C) 2025-2026 the aufsctl authors
# Stand-in for pypa's get-pip.py that ansible-test downloads from ci-files.testing.ansible.com (not
# reachable from the test machines) to put pip into the virtualenvs of its sanity tests: installs
# the pip bundled with Python (ensurepip), then runs that pip with the arguments get-pip.py was
# given (the pinned pip from PyPI), minus get-pip.py's own --no-setuptools / --no-wheel.
# scripts/ansible-venv.sh copies it to ~/.ansible/test/cache/get_pip_VERSION.py.
import ensurepip
import subprocess
import sys

ensurepip.bootstrap(upgrade=True)
args = [a for a in sys.argv[1:] if a not in ('--no-setuptools', '--no-wheel')]
sys.exit(subprocess.call([sys.executable, '-m', 'pip', 'install'] + args))

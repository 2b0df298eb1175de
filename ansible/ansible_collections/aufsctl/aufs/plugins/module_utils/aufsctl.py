# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by the aufsctl.aufs modules: find aufsctl on the target, run it by argv, read its --json
# reports and pass its failures through with its own message and exit code. Never parses the
# human output.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os

PACKAGE_HINT = (
    "aufsctl is not installed on this host: install the aufsctl package "
    "(apt-get install ./aufsctl_VERSION_amd64.deb, built by `make deb` in the aufsctl repository), "
    "or name the binary with the executable option"
)

# aufsctl's documented exit codes (README "Exit codes").
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_AVAILABLE = 3
EXIT_BLOCKED = 4
EXIT_REBOOT = 5
EXIT_PARTIAL = 6

COMMON_ARGS = dict(
    executable=dict(type='path'),
)


class Aufsctl(object):
    """aufsctl on the managed host, run by argv with a fixed locale and no colour."""

    def __init__(self, module):
        self.module = module
        executable = module.params.get('executable')
        if executable:
            if not (os.path.isfile(executable) and os.access(executable, os.X_OK)):
                module.fail_json(msg="executable '%s' is not an executable file: %s" % (executable, PACKAGE_HINT),
                                 rc=EXIT_USAGE)
            self.path = executable
        else:
            self.path = module.get_bin_path('aufsctl', opt_dirs=['/usr/local/bin', '/usr/bin'])
            if not self.path:
                module.fail_json(msg=PACKAGE_HINT, rc=EXIT_FAILURE)
        self.commands = []

    def run(self, args):
        """Runs aufsctl ARGS; returns (rc, stdout, stderr). Remembers each command line."""
        argv = [self.path] + list(args)
        self.commands.append(argv)
        return self.module.run_command(argv, environ_update=dict(NO_COLOR='1', LANG='C.UTF-8', LC_ALL='C.UTF-8'))

    def run_json(self, args, ok_codes):
        """Runs aufsctl ARGS (with --json); returns (rc, document). Fails the module on an exit code
        outside OK_CODES or on output that is not JSON, with aufsctl's own message."""
        rc, out, err = self.run(args)
        doc = parse_json(out)
        if rc not in ok_codes or doc is None:
            self.fail(rc, out, err, doc)
        return rc, doc

    def fail(self, rc, out, err, doc=None, msg=None, **extra):
        """Fails the module with aufsctl's message (or MSG), its exit code and the command line."""
        self.module.fail_json(msg=msg or message(rc, out, err, doc), rc=rc, stdout=out, stderr=err,
                              cmd=self.commands[-1] if self.commands else None, **extra)


def parse_json(text):
    try:
        doc = json.loads(text)
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def message(rc, out, err, doc=None):
    """aufsctl's one-line reason: the report's message (and ways out), else its stderr."""
    if doc:
        text = doc.get('message') or (doc.get('verdict') or {}).get('reason')
        if text:
            ways = doc.get('waysOut') or (doc.get('verdict') or {}).get('waysOut') or []
            return text + (' (ways out: %s)' % '; '.join(ways) if ways else '')
    lines = [line.strip() for line in (err or '').splitlines() if line.strip()]
    # ArgumentParser's usage errors start with "Error:"; aufsctl's own messages are one line.
    for line in lines:
        if line.startswith('Error:') or line.startswith('aufsctl:'):
            return line
    if lines:
        return lines[0]
    lines = [line.strip() for line in (out or '').splitlines() if line.strip()]
    return lines[-1] if lines else 'aufsctl exited with %d and printed nothing' % rc

# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The message a failed aufsctl call fails the task with: aufsctl's own.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import message, parse_json


def test_report_message_with_ways_out():
    doc = {'message': 'aufs is blocked on 6.1.0-18-amd64', 'waysOut': ['a', 'b'], 'exitCode': 4}
    assert message(4, '', '', doc) == 'aufs is blocked on 6.1.0-18-amd64 (ways out: a; b)'


def test_stderr_line():
    err = 'progress\naufsctl: --method foo: expected auto, kernel-ml-aufs, dkms or ubuntu-extra\n'
    assert message(2, '', err) == 'aufsctl: --method foo: expected auto, kernel-ml-aufs, dkms or ubuntu-extra'
    assert message(2, '', "Error: The value 'x' is invalid for '--fallback <fallback>'\nUsage: ...") == \
        "Error: The value 'x' is invalid for '--fallback <fallback>'"


def test_nothing_printed():
    assert message(1, '', '') == 'aufsctl exited with 1 and printed nothing'


def test_json_only_objects():
    assert parse_json('{"a": 1}') == {'a': 1}
    assert parse_json('[1]') is None
    assert parse_json('nope') is None


class Failed(Exception):
    pass


class FakeModule(object):
    def __init__(self, params, found=None):
        self.params = params
        self.found = found

    def get_bin_path(self, name, opt_dirs=None):
        return self.found

    def fail_json(self, **kwargs):
        raise Failed(kwargs)


def test_missing_aufsctl_names_the_package():
    import pytest
    from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import Aufsctl
    with pytest.raises(Failed) as e:
        Aufsctl(FakeModule(dict(executable=None)))
    assert 'install the aufsctl package' in e.value.args[0]['msg']
    with pytest.raises(Failed) as e:
        Aufsctl(FakeModule(dict(executable='/nonexistent/aufsctl')))
    assert "'/nonexistent/aufsctl'" in e.value.args[0]['msg'] and e.value.args[0]['rc'] == 2

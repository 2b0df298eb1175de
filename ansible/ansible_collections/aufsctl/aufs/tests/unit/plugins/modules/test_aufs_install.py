# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_install's argv and its reading of the step report.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible_collections.aufsctl.aufs.plugins.modules import aufs_install
from ansible_collections.aufsctl.aufs.plugins.modules.aufs_install import (
    changed_from_report, install_args, install_records, report_fields,
)

PARAMS = dict(method='dkms', root='/', source='/opt/aufs', source_ref=None, kernel='6.1.0-18-amd64',
              repo_url=None, gpgkey=None, grub_default=None, load=False, skip_export_check=True, no_gpgcheck=False,
              build=False, all_kernels=False, keep_on_failure=False, mok_password_hash=None,
              allow_unsigned_kernel=False)


def test_apply_argv():
    assert install_args(PARAMS, check_mode=False) == [
        'install', '--json', '--method', 'dkms', '--root', '/', '--yes', '--source', '/opt/aufs',
        '--kernel', '6.1.0-18-amd64', '--no-load', '--skip-export-check']


def test_check_mode_is_a_dry_run():
    args = install_args(dict(PARAMS, source_ref='0123456789abcdef0123456789abcdef01234567'), check_mode=True)
    assert '--dry-run' in args and '--yes' not in args
    assert args[args.index('--source-ref') + 1] == '0123456789abcdef0123456789abcdef01234567'


def test_changed_from_the_steps():
    report = dict(steps=[dict(id='packages', status='ok'), dict(id='dkms-build', status='changed')])
    assert changed_from_report(report, check_mode=False)
    assert not changed_from_report(report, check_mode=True)
    dry = dict(steps=[dict(id='packages', status='ok'), dict(id='usr-src', status='pending')])
    assert changed_from_report(dry, check_mode=True)
    assert not changed_from_report(dict(steps=[dict(status='ok')]), check_mode=False)
    assert not changed_from_report(dict(message='aufs is already usable'), check_mode=False)


def test_install_records_newest_first_unions_left_alone():
    doc = {'schema': 'aufsctl.records/1',
           'installs': [{'id': 1, 'method': 'dkms', 'kernel': 'a', 'steps': []},
                        {'id': 3, 'method': 'dkms', 'kernel': 'b', 'steps': []}],
           'unions': [{'kind': 'persist', 'target': '/srv/u', 'via': 'fstab', 'undo': []}]}
    assert install_records(doc) == [dict(id=3, method='dkms', kernel='b'), dict(id=1, method='dkms', kernel='a')]
    assert install_records({'schema': 'aufsctl.records/1', 'installs': [], 'unions': []}) == []


@pytest.mark.parametrize('option, value, words', [
    ('build', True, ['--build']),
    ('all_kernels', True, ['--all-kernels']),
    ('keep_on_failure', True, ['--keep-on-failure']),
    ('allow_unsigned_kernel', True, ['--allow-unsigned-kernel']),
    ('mok_password_hash', '/root/mok.hash', ['--mok-password-hash', '/root/mok.hash']),
])
def test_each_install_flag_passes_through(option, value, words):
    base = install_args(PARAMS, check_mode=False)
    args = install_args(dict(PARAMS, **{option: value}), check_mode=False)
    assert args[:len(base)] == base and args[len(base):] == words


def test_the_new_flags_default_to_nothing():
    args = install_args(PARAMS, check_mode=True)
    for flag in ('--build', '--all-kernels', '--keep-on-failure', '--allow-unsigned-kernel', '--mok-password-hash'):
        assert flag not in args


def test_a_trial_build_in_check_mode_is_a_dry_run_build():
    args = install_args(dict(PARAMS, build=True), check_mode=True)
    assert '--dry-run' in args and '--build' in args and '--yes' not in args


def test_report_fields_under_snake_case_names():
    doc = {'schema': 'aufsctl.install/2', 'method': 'dkms', 'notes': ['n'], 'onFailure': 'rolledBack',
           'undone': ['dkms remove aufs/5.10'], 'transcript': '/var/log/aufsctl/install.log',
           'mokEnrolment': {'certificate': '/var/lib/dkms/mok.pub', 'state': 'staged', 'next': 'reboot'}}
    assert report_fields(doc) == {
        'method': 'dkms', 'notes': ['n'], 'on_failure': 'rolledBack', 'undone': ['dkms remove aufs/5.10'],
        'transcript': '/var/log/aufsctl/install.log',
        'mok_enrolment': {'certificate': '/var/lib/dkms/mok.pub', 'state': 'staged', 'next': 'reboot'}}
    assert report_fields({'message': 'aufs is already usable'}) == {'message': 'aufs is already usable'}


class Exit(Exception):
    pass


class Fail(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch, tmp_path):
    """Runs aufs_install.main() with ARGS against one recorded aufsctl reply (rc, report, stderr).
    Returns (outcome, result, argvs)."""
    binary = tmp_path / 'aufsctl'
    binary.write_text('#!/bin/sh\nexit 99\n')
    binary.chmod(0o755)

    def run(args, rc, report, err=''):
        argvs = []

        def run_command(self, argv, **kwargs):
            argvs.append(argv[1:])
            return rc, json.dumps(report) if report is not None else '', err

        def exit_json(self, **kw):
            raise Exit(kw)

        def fail_json(self, **kw):
            raise Fail(kw)

        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
        monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
        full = dict({'executable': str(binary)}, **args)
        try:
            from ansible.module_utils.testing import patch_module_args
            with patch_module_args(full):
                aufs_install.main()
        except ImportError:
            monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': full}).encode())
            aufs_install.main()
        except (Exit, Fail) as outcome:
            return type(outcome).__name__, outcome.args[0], argvs
        return None, None, argvs
    return run


def step(ident, status):
    return {'id': ident, 'title': ident, 'status': status, 'evidence': []}


def install_report(code, message, steps, **more):
    doc = {'schema': 'aufsctl.install/2', 'method': 'dkms', 'kernel': '6.1.0-18-amd64', 'dryRun': False,
           'steps': steps, 'changed': True, 'rebootRequired': False, 'afterwards': [], 'notes': [],
           'exitCode': code, 'message': message}
    doc.update(more)
    return doc


def test_exit_4_after_a_failed_trial_build_fails_unchanged_with_the_reason(run_module):
    msg = ('no aufs branch builds against 5.10.0-30-amd64: vfsub.c:420: error: too many arguments to function '
           "'vfs_rename'; rolled back: the host is as it was before this run")
    report = install_report(4, msg, [step('packages', 'changed'), step('trial-build', 'failed')],
                            onFailure='rolledBack', undone=['apt-get remove dkms'],
                            transcript='/var/log/aufsctl/install.log')
    outcome, result, argvs = run_module({'method': 'dkms', 'build': True}, 4, report)
    assert outcome == 'Fail' and result['rc'] == 4 and result['blocked'] and not result['changed']
    assert result['msg'] == msg
    assert result['on_failure'] == 'rolledBack' and result['undone'] == ['apt-get remove dkms']
    assert result['transcript'] == '/var/log/aufsctl/install.log' and result['report'] == report
    assert argvs == [['install', '--json', '--method', 'dkms', '--root', '/', '--yes', '--build']]


def test_exit_4_refused_before_any_change_gives_the_ways_out(run_module):
    report = {'schema': 'aufsctl.install/2', 'message': 'aufs cannot be installed: the kernel lacks 3 exports',
              'waysOut': ['install a kernel with aufs'], 'exitCode': 4}
    outcome, result, argvs = run_module({}, 4, report)
    assert outcome == 'Fail' and result['blocked'] and not result['changed'] and result['rc'] == 4
    assert result['msg'] == 'aufs cannot be installed: the kernel lacks 3 exports (ways out: install a kernel with aufs)'
    assert 'on_failure' not in result


def test_exit_6_kept_on_failure_fails_changed_with_the_step(run_module):
    msg = ('step 6/8 failed: dkms build: see /var/log/aufsctl/make-aufs-5.10-6.1.0-18-amd64.log; earlier steps '
           'stay applied; `aufsctl uninstall` undoes them')
    failed = step('dkms-build', 'failed')
    report = install_report(6, msg, [step('packages', 'changed'), step('usr-src', 'changed'), failed],
                            onFailure='kept', transcript='/var/log/aufsctl/install.log')
    outcome, result, argvs = run_module({'method': 'dkms', 'keep_on_failure': True}, 6, report)
    assert outcome == 'Fail' and result['rc'] == 6 and result['changed'] and result['msg'] == msg
    assert result['on_failure'] == 'kept' and result['failed_step'] == failed and 'undone' not in result
    assert argvs[0][-1] == '--keep-on-failure'


def test_exit_6_rollback_failed_says_what_was_undone(run_module):
    msg = 'step failed: x; the rollback stopped at `dkms remove aufs/5.10`: busy; `aufsctl uninstall` undoes what is left'
    report = install_report(6, msg, [step('usr-src', 'changed'), step('dkms-build', 'failed')],
                            onFailure='rollbackFailed', undone=['rm -r /usr/src/aufs-5.10'])
    outcome, result, argvs = run_module({'method': 'dkms'}, 6, report)
    assert outcome == 'Fail' and result['changed'] and result['on_failure'] == 'rollbackFailed'
    assert result['undone'] == ['rm -r /usr/src/aufs-5.10'] and result['msg'] == msg


def test_success_returns_transcript_and_notes(run_module):
    report = install_report(0, None, [step('dkms-build', 'changed')], notes=['built aufs5.10 for 2 kernels'],
                            transcript='/var/log/aufsctl/install.log', source='aufs-standalone branch aufs5.10')
    del report['message']
    outcome, result, argvs = run_module({'all_kernels': True}, 0, report)
    assert outcome == 'Exit' and result['changed'] and result['rc'] == 0
    assert result['notes'] == ['built aufs5.10 for 2 kernels'] and result['transcript'] == '/var/log/aufsctl/install.log'
    assert 'on_failure' not in result and argvs[0][-1] == '--all-kernels'


def test_exit_4_after_changes_kept_fails_changed_and_says_they_stay(run_module):
    msg = "kernel 6.1.0-57-cloud-amd64 does not carry aufs's standalone patch: it exports 0 of the 21 symbols"
    report = install_report(4, msg, [step('packages', 'changed'), step('exports', 'blocked'), step('usr-src', 'pending')],
                            onFailure='kept', transcript='/var/log/aufsctl/install.log')
    outcome, result, argvs = run_module({'method': 'dkms', 'build': True, 'keep_on_failure': True}, 4, report)
    assert outcome == 'Fail' and result['rc'] == 4 and result['blocked'] and result['changed']
    assert result['on_failure'] == 'kept'
    assert result['msg'] == msg + '; what this run applied stays on the host (state=absent undoes it)'

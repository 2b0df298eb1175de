# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_install's argv and its reading of the step report.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aufsctl.aufs.plugins.modules.aufs_install import (
    changed_from_report, install_args, install_records,
)

PARAMS = dict(method='dkms', root='/', source='/opt/aufs', source_ref=None, kernel='6.1.0-18-amd64',
              repo_url=None, gpgkey=None, grub_default=None, load=False, skip_export_check=True, no_gpgcheck=False)


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

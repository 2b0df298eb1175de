# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_layer: finding the layer in status/2, the decision, the aufsctl argv, check mode and failures.
# The module-level tests answer run_command with recorded aufsctl replies (status/2 documents and
# branch exit codes), to check which calls the module makes; Tests/ansible/layer.yml runs the real one.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

import pytest

from ansible.module_utils import basic
from ansible_collections.aufsctl.aufs.plugins.modules import aufs_layer
from ansible_collections.aufsctl.aufs.plugins.modules.aufs_layer import (
    branch_args, default_index, failure_message, find_layer, perm_differs, plan, predicted, same_file,
    warnings_of,
)

C, L = '/live/changes', '/live/core'
DIR = '/run/aufsctl/layers/003-apps.sb@7-12'


def status_union(filesystem='aufs', layer=None, at=1, perm='rr'):
    branches = [{'path': C, 'permission': 'rw'}, {'path': L, 'permission': 'rr' if filesystem == 'aufs' else 'ro'}]
    if layer:
        branches.insert(at, {'path': DIR, 'permission': perm,
                             'image': {'file': layer, 'type': 'squashfs', 'device': '/dev/loop3', 'size': 4096}})
    return {'target': '/live/union', 'filesystem': filesystem, 'branches': branches, 'readOnly': False}


PARAMS = dict(path='/live/union', image='/m/003-apps.sb', state='present', index=None, perm=None, copy=False,
              allow_fs=None, drop_whiteouts=False, hooks=True, remount=False, executable=None)


def test_same_file_resolves_symlinks(tmp_path):
    img = tmp_path / '003.sb'
    img.write_bytes(b'hsqs')
    link = tmp_path / 'current.sb'
    link.symlink_to(img)
    assert same_file(str(link), str(img))
    assert same_file(str(tmp_path / 'x' / '..' / '003.sb'), str(img))
    assert not same_file(str(tmp_path / 'other.sb'), str(img))
    assert not same_file(None, str(img))


def test_find_layer_by_image_file_only():
    union = status_union(layer='/m/003-apps.sb')
    assert find_layer(union['branches'], '/m/003-apps.sb')[0] == 1
    assert find_layer(union['branches'], '/m/004.sb') == (None, None)
    # A branch directory is not an image, even when the path is given as image.
    assert find_layer(union['branches'], C) == (None, None)


def test_default_index_is_right_under_the_rw_branch():
    assert default_index(status_union()['branches']) == 1
    assert default_index([{'path': L, 'permission': 'rr'}]) == 0
    assert default_index([{'path': L, 'permission': 'ro'}, {'path': C, 'permission': 'rw+nolwh'}]) == 2


def test_perm_compared_as_given_on_aufs_and_as_ro_on_overlay():
    assert not perm_differs('rr+wh', None, 'aufs')
    assert perm_differs('rr+wh', 'rr', 'aufs')
    assert not perm_differs('rr', 'rr', 'aufs')
    assert not perm_differs('ro', 'rr+wh', 'overlay')
    assert perm_differs('ro', 'rw', 'overlay')


@pytest.mark.parametrize('union, state, index, perm, action, words', [
    # no union: present fails, absent has nothing to do
    (None, 'present', None, None, 'fail', 'mount it first'),
    (None, 'absent', None, None, None, 'no union is mounted there'),
    # missing: added (where it will go), or nothing to remove
    (status_union(), 'present', None, None, 'add', 'as layer 1'),
    (status_union(), 'present', 2, None, 'add', 'as layer 2'),
    (status_union(), 'absent', None, None, None, 'is not a layer'),
    # present: nothing to do, removed, a perm changed, an index that aufs cannot move to
    (status_union(layer='/m/003-apps.sb'), 'present', None, None, None, 'already layer 1 (rr)'),
    (status_union(layer='/m/003-apps.sb'), 'present', 1, 'rr', None, 'nothing to do'),
    (status_union(layer='/m/003-apps.sb', perm='rr+wh'), 'present', None, None, None, 'already layer 1 (rr+wh)'),
    (status_union(layer='/m/003-apps.sb'), 'absent', None, None, 'del', 'removed /m/003-apps.sb (layer 1)'),
    (status_union(layer='/m/003-apps.sb'), 'present', None, 'rr+wh', 'mod', 'from rr to rr+wh'),
    (status_union(layer='/m/003-apps.sb'), 'present', 2, None, 'fail', 'aufs cannot move a branch'),
    # overlay: perm is ro there whatever was asked; a real difference cannot be made
    (status_union('overlay', layer='/m/003-apps.sb', perm='ro'), 'present', None, 'rr+wh', None, 'nothing to do'),
    (status_union('overlay', layer='/m/003-apps.sb', perm='ro'), 'present', None, 'rw', 'fail', 'leave perm out'),
])
def test_plan(union, state, index, perm, action, words):
    got = plan(union, '/m/003-apps.sb', state, index, perm)
    assert got[0] == action
    assert words in got[1]


def test_plan_wants_root_when_status_hides_the_images():
    union = status_union()
    union['branches'].insert(1, {'path': DIR, 'permission': 'rr'})
    action, words = plan(union, '/m/003-apps.sb', 'present')
    assert action == 'fail' and 'become: true' in words and DIR in words


def test_add_argv_carries_every_option():
    params = dict(PARAMS, index=2, perm='rr+wh', copy=True, allow_fs=['ext4', 'iso9660'], drop_whiteouts=True,
                  hooks=False, remount=True)
    assert branch_args('add', '/live/union', '/m/003-apps.sb', None, params, 'aufs') == [
        'branch', 'add', '/live/union', '/m/003-apps.sb=rr+wh', '--index', '2', '--copy', '--allow-fs', 'ext4',
        '--allow-fs', 'iso9660', '--drop-whiteouts', '--no-hooks']
    assert branch_args('add', '/live/union', '/m/003-apps.sb', None, PARAMS, 'aufs') == [
        'branch', 'add', '/live/union', '/m/003-apps.sb']


def test_del_and_mod_name_the_layer_directory():
    entry = status_union(layer='/m/003-apps.sb')['branches'][1]
    assert branch_args('del', '/live/union', '/m/003-apps.sb', entry, PARAMS, 'aufs') == [
        'branch', 'del', '/live/union', DIR]
    assert branch_args('mod', '/live/union', '/m/003-apps.sb', entry, dict(PARAMS, perm='rr+wh'), 'aufs') == [
        'branch', 'mod', '/live/union', DIR + '=rr+wh']


def test_remount_only_on_overlay():
    entry = status_union('overlay', layer='/m/003-apps.sb')['branches'][1]
    params = dict(PARAMS, remount=True)
    assert branch_args('del', '/u', '/m/003-apps.sb', entry, params, 'overlay')[-1] == '--remount'
    assert '--remount' not in branch_args('del', '/u', '/m/003-apps.sb', entry, params, 'aufs')
    assert branch_args('add', '/u', '/m/003-apps.sb', None, params, 'overlay')[-1] == '--remount'


def test_predicted_lists():
    before = [(C, 'rw'), (L, 'rr')]
    entries = status_union()['branches']
    assert predicted(before, 'add', '/m/a.sb', None, PARAMS, entries, 'aufs') == [(C, 'rw'), ('/m/a.sb', 'rr'), (L, 'rr')]
    assert predicted(before, 'add', '/m/a.sb', None, dict(PARAMS, index=2, perm='rr+wh'), entries, 'aufs')[2] == (
        '/m/a.sb', 'rr+wh')
    assert predicted(before, 'add', '/m/a.sb', None, PARAMS, entries, 'overlay')[1] == ('/m/a.sb', 'ro')
    with_layer = [(C, 'rw'), ('/m/a.sb', 'rr'), (L, 'rr')]
    assert predicted(with_layer, 'del', '/m/a.sb', 1, PARAMS, entries, 'aufs') == before
    assert predicted(with_layer, 'mod', '/m/a.sb', 1, dict(PARAMS, perm='rr+wh'), entries, 'aufs')[1] == (
        '/m/a.sb', 'rr+wh')


def test_failure_message_keeps_the_holders_and_drops_warnings():
    err = ('aufsctl: warning: 2 whiteouts in the branches above the new layer hide paths it provides\n'
           'aufsctl: branch del failed: mount(2) MS_REMOUNT: EBUSY\n'
           '  held by 812 (bash): cwd; nothing was changed\n'
           '\n'
           'something else\n')
    assert failure_message(1, '', err) == (
        'aufsctl: branch del failed: mount(2) MS_REMOUNT: EBUSY held by 812 (bash): cwd; nothing was changed')
    assert failure_message(2, '', "Error: Unknown option '--bogus'\n") == "Error: Unknown option '--bogus'"
    assert warnings_of(err) == ['warning: 2 whiteouts in the branches above the new layer hide paths it provides']


class Exit(Exception):
    pass


class Fail(Exception):
    pass


@pytest.fixture
def run_module(monkeypatch, tmp_path):
    """Runs aufs_layer.main() with ARGS against recorded aufsctl replies: STATUS (a list of status/2
    unions, one per `status --json` call, the last repeated) and BRANCH ((rc, out, err) for a branch
    call). Returns (outcome, result, argvs)."""
    binary = tmp_path / 'aufsctl'
    binary.write_text('#!/bin/sh\nexit 99\n')
    binary.chmod(0o755)
    image = tmp_path / '003-apps.sb'
    image.write_bytes(b'hsqs')

    def run(args, status, branch=(0, 'done: mount(2)\n', '')):
        argvs = []
        replies = list(status)

        def run_command(self, argv, **kwargs):
            argvs.append(argv[1:])
            if argv[1] == 'status':
                union = replies.pop(0) if len(replies) > 1 else replies[0]
                return 0, json.dumps({'schema': 'aufsctl.status/2', 'mounts': [union] if union else []}), ''
            return branch

        def exit_json(self, **kw):
            raise Exit(kw)

        def fail_json(self, **kw):
            raise Fail(kw)

        monkeypatch.setattr(basic.AnsibleModule, 'run_command', run_command)
        monkeypatch.setattr(basic.AnsibleModule, 'exit_json', exit_json)
        monkeypatch.setattr(basic.AnsibleModule, 'fail_json', fail_json)
        full = dict({'path': '/live/union', 'image': str(image), 'executable': str(binary)}, **args)
        try:
            from ansible.module_utils.testing import patch_module_args
            with patch_module_args(full):
                aufs_layer.main()
        except ImportError:
            monkeypatch.setattr(basic, '_ANSIBLE_ARGS', json.dumps({'ANSIBLE_MODULE_ARGS': full}).encode())
            aufs_layer.main()
        except (Exit, Fail) as outcome:
            return type(outcome).__name__, outcome.args[0], argvs
        return None, None, argvs
    run.image = str(image)
    run.binary = str(binary)
    return run


def test_check_mode_adds_nothing_and_dry_runs(run_module):
    union = status_union()
    outcome, result, argvs = run_module({'_ansible_check_mode': True, '_ansible_diff': True}, [union])
    assert outcome == 'Exit' and result['changed']
    assert argvs == [['status', '--json'], ['branch', 'add', '/live/union', run_module.image, '--dry-run']]
    # cmd says what would run, without the --dry-run it was checked with.
    assert result['cmd'] == ['%s branch add /live/union %s' % (run_module.binary, run_module.image)]
    assert result['branches'] == [C + '=rw', run_module.image + '=rr', L + '=rr']
    assert run_module.image not in result['diff']['before'] and run_module.image + '=rr' in result['diff']['after']
    assert result['msg'].startswith('/live/union: would have added') and result['index'] == 1


def test_present_twice_changes_once(run_module):
    before, after = status_union(), status_union(layer=run_module.image)
    outcome, result, argvs = run_module({}, [before, after])
    assert outcome == 'Exit' and result['changed'] and result['index'] == 1
    assert argvs[1] == ['branch', 'add', '/live/union', run_module.image]
    assert result['branches'][1] == run_module.image + '=rr'
    outcome, result, argvs = run_module({}, [after])
    assert outcome == 'Exit' and not result['changed'] and result['cmd'] == []
    assert argvs == [['status', '--json']]


def test_absent_deletes_by_layer_directory_and_then_does_nothing(run_module):
    outcome, result, argvs = run_module({'state': 'absent', '_ansible_check_mode': True},
                                        [status_union(layer=run_module.image)])
    assert outcome == 'Exit' and result['changed'] and argvs[1] == ['branch', 'del', '/live/union', DIR, '--dry-run']
    assert result['branches'] == [C + '=rw', L + '=rr'] and result['index'] is None
    outcome, result, argvs = run_module({'state': 'absent'}, [status_union()])
    assert outcome == 'Exit' and not result['changed'] and len(argvs) == 1


def test_a_busy_del_fails_unchanged_with_the_holders(run_module):
    err = 'aufsctl: branch del failed: EBUSY\n  held by 812 (bash): cwd; nothing was changed\n'
    outcome, result, argvs = run_module({'state': 'absent'}, [status_union(layer=run_module.image)], (1, '', err))
    assert outcome == 'Fail' and not result['changed'] and result['rc'] == 1
    assert 'held by 812 (bash): cwd' in result['msg'] and result['stderr'] == err
    assert result['cmd'] == ['%s branch del /live/union %s' % (run_module.binary, DIR)]
    assert result['branches'][1] == run_module.image + '=rr'


def test_overlay_needs_remount(run_module):
    outcome, result, argvs = run_module({}, [status_union('overlay')])
    assert outcome == 'Fail' and 'set remount: true' in result['msg'] and len(argvs) == 1
    grown = status_union('overlay', layer=run_module.image, perm='ro')
    outcome, result, argvs = run_module({'remount': True}, [status_union('overlay'), grown])
    assert outcome == 'Exit' and result['changed'] and argvs[1][-1] == '--remount'
    assert result['branches'][1] == run_module.image + '=ro' and result['filesystem'] == 'overlay'


def test_warnings_pass_through(run_module, monkeypatch):
    warned = []
    monkeypatch.setattr(basic.AnsibleModule, 'warn', lambda self, w: warned.append(w))
    err = 'aufsctl: warning: hook 10-ldconfig exited 1 (the branch change stays)\n'
    outcome, result, argvs = run_module({}, [status_union(), status_union(layer=run_module.image)],
                                        (0, 'done\n', err))
    assert outcome == 'Exit' and warned == ['warning: hook 10-ldconfig exited 1 (the branch change stays)']


@pytest.mark.parametrize('args, words', [
    ({'image': 'modules/003.sb'}, 'relative path'),
    ({'image': '/m/a:b.sb'}, "contains ':'"),
    ({'perm': 'rr:/etc=rw'}, "perm 'rr:/etc=rw'"),
    ({'index': -1}, 'index -1'),
    ({'image': '/nonexistent/003.sb'}, 'No such file'),
    ({'image': '/'}, 'not a regular file'),
])
def test_bad_input_fails_before_aufsctl_runs(run_module, args, words):
    outcome, result, argvs = run_module(args, [status_union()])
    assert outcome == 'Fail' and words in result['msg'] and result['rc'] == 2 and argvs == []

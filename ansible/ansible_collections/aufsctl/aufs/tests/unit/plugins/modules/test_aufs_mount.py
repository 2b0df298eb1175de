# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# The pure parts of aufs_mount: the branch list as status reports it, the branch operations that
# change a live aufs union, and when a remount is needed.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.aufsctl.aufs.plugins.modules.aufs_mount import (
    branch_operations, desired_branches, parse_status_branches, perm_problem, same_branches,
)

C, I1, I2, I3 = '/w/container', '/w/image1', '/w/image2', '/w/image3'


def test_status_branches_split_at_the_last_equals():
    assert parse_status_branches(['/w/container=rw', '/w/image1=ro+wh', '/odd']) == [
        (C, 'rw'), (I1, 'ro+wh'), ('/odd', '')]


def test_default_permissions_are_aufs_own(tmp_path):
    a, b = tmp_path / 'a', tmp_path / 'b'
    a.mkdir()
    b.symlink_to(a)
    got = desired_branches([{'path': str(a)}, {'path': str(b), 'perm': 'rr'}, {'path': str(a) + '/../a'}])
    assert got == [(str(a), 'rw'), (str(a), 'rr'), (str(a), 'ro')]
    # A read-only mount: aufs makes every branch ro, the top one too.
    assert desired_branches([{'path': str(a)}, {'path': str(b)}], read_only=True) == [(str(a), 'ro'), (str(a), 'ro')]


def test_status_names_an_image_layer_by_its_image():
    images = [{'index': 1, 'branch': '/run/aufsctl/layers/003.sb@801-c', 'image': '/m/003.sb'}]
    got = parse_status_branches(['/w/container=rw', '/run/aufsctl/layers/003.sb@801-c=rr', '/w/image1=ro'], images)
    assert got == [(C, 'rw'), ('/m/003.sb', 'rr'), (I1, 'ro')]


def test_status2_names_an_image_layer_by_its_branch_image():
    layer = '/run/aufsctl/layers/003.sb@801-c'
    got = parse_status_branches([
        {'path': '/w/container', 'permission': 'rw'},
        {'path': layer, 'permission': 'rr', 'image': {'file': '/m/003.sb', 'type': 'squashfs', 'device': '/dev/loop0'}},
        {'path': '/w/image1', 'permission': 'ro'},
    ])
    assert got == [(C, 'rw'), ('/m/003.sb', 'rr'), (I1, 'ro')]


def test_an_image_defaults_to_rr_and_is_added_live(tmp_path):
    d, img = tmp_path / 'd', tmp_path / '003.sb'
    d.mkdir()
    img.write_bytes(b'hsqs')
    got = desired_branches([{'path': str(d)}, {'path': str(img)}])
    assert got == [(str(d), 'rw'), (str(img), 'rr')]
    assert branch_operations([(str(d), 'rw')], got) == [['add', str(img) + '=rr', '--index', '1']]


def test_an_image_default_keeps_the_rr_or_rr_wh_aufsctl_chose(tmp_path):
    d, img = tmp_path / 'd', tmp_path / '003.sb'
    d.mkdir()
    img.write_bytes(b'hsqs')
    task = [{'path': str(d)}, {'path': str(img)}]
    # aufsctl mounted the image rr+wh (it carries whiteouts): a second run changes nothing.
    live = [(str(d), 'rw'), (str(img), 'rr+wh')]
    got = desired_branches(task, current=live)
    assert got == live
    assert same_branches(live, got, 'aufs') and branch_operations(live, got) == []
    assert desired_branches(task, current=[(str(d), 'rw'), (str(img), 'rr')])[1] == (str(img), 'rr')
    # A perm the task gives is compared as given; another live perm is not adopted.
    assert desired_branches([{'path': str(d)}, {'path': str(img), 'perm': 'rr'}], current=live)[1] == (str(img), 'rr')
    assert desired_branches(task, current=[(str(d), 'rw'), (str(img), 'ro')])[1] == (str(img), 'rr')
    # A directory never takes the live perm.
    assert desired_branches([{'path': str(d)}], current=[(str(d), 'ro')]) == [(str(d), 'rw')]


@pytest.mark.parametrize('current, desired, ops', [
    # nothing to do
    ([(C, 'rw'), (I1, 'ro')], [(C, 'rw'), (I1, 'ro')], []),
    # a new bottom branch is added at its index
    ([(C, 'rw'), (I1, 'ro')], [(C, 'rw'), (I1, 'ro'), (I2, 'ro')], [['add', I2 + '=ro', '--index', '2']]),
    # a new middle branch
    ([(C, 'rw'), (I2, 'ro')], [(C, 'rw'), (I1, 'ro'), (I2, 'ro')], [['add', I1 + '=ro', '--index', '1']]),
    # a branch goes
    ([(C, 'rw'), (I1, 'ro'), (I2, 'ro')], [(C, 'rw'), (I2, 'ro')], [['del', I1]]),
    # a permission changes
    ([(C, 'rw'), (I1, 'ro')], [(C, 'rw'), (I1, 'rr')], [['mod', I1 + '=rr']]),
    # all three, deletions first, then mods, then adds top down
    ([(C, 'rw'), (I1, 'ro'), (I2, 'ro')], [(I3, 'rw'), (C, 'ro'), (I2, 'ro')],
     [['del', I1], ['mod', C + '=ro'], ['add', I3 + '=rw', '--index', '0']]),
])
def test_branch_operations(current, desired, ops):
    assert branch_operations(current, desired) == ops


def test_a_reordering_needs_a_remount():
    assert branch_operations([(C, 'rw'), (I1, 'ro'), (I2, 'ro')], [(C, 'rw'), (I2, 'ro'), (I1, 'ro')]) is None
    # Nothing kept: a remount, never a del of the last branch.
    assert branch_operations([(C, 'rw'), (I1, 'ro')], [(I2, 'rw'), ('/srv/other', 'ro')]) is None


def test_operations_applied_give_the_desired_list():
    current = [(C, 'rw'), (I1, 'ro'), (I2, 'ro')]
    desired = [(I3, 'rw'), (C, 'ro'), (I2, 'rr')]
    state = list(current)
    for op in branch_operations(current, desired):
        if op[0] == 'del':
            state = [b for b in state if b[0] != op[1]]
        elif op[0] == 'mod':
            path, perm = op[1].split('=')
            state = [(p, perm if p == path else q) for p, q in state]
        else:
            path, perm = op[1].split('=')
            state.insert(int(op[3]), (path, perm))
    assert state == desired


def test_overlay_compares_upper_and_lower_only():
    assert same_branches([(C, 'rw'), (I1, 'ro')], [(C, 'rw'), (I1, 'rr')], 'overlay')
    assert not same_branches([(C, 'rw'), (I1, 'ro')], [(C, 'rw'), (I1, 'rr')], 'aufs')
    assert not same_branches([(C, 'rw'), (I1, 'ro')], [(C, 'rw')], 'overlay')


def test_status_2_branches_are_objects():
    assert parse_status_branches([{'path': C, 'permission': 'rw'}, {'path': I1, 'permission': 'ro+wh'}]) == [
        (C, 'rw'), (I1, 'ro+wh')]


def test_opts_and_what_a_live_union_shows_of_them():
    from ansible_collections.aufsctl.aufs.plugins.modules.aufs_mount import options_differ, split_opts
    assert split_opts(' ro, udba=notify,,') == ['ro', 'udba=notify']
    assert split_opts(None) == []
    assert options_differ({'readOnly': False}, 'ro')
    assert options_differ({'readOnly': True}, None)
    assert not options_differ({'readOnly': True}, 'udba=notify,ro')
    # aufs shows its other options only when they differ from its defaults: not compared live.
    assert not options_differ({'readOnly': False, 'options': 'rw,si=1'}, 'udba=notify')


def test_the_persisted_union_compares_branches_xino_options_and_fallback():
    from ansible_collections.aufsctl.aufs.plugins.modules.aufs_mount import persisted_matches
    union = {'target': '/srv/walk/mnt', 'via': 'fstab', 'branches': [{'path': C, 'permission': 'rw'},
             {'path': I1, 'permission': 'ro'}], 'options': ['udba=notify'], 'fallback': 'overlay'}
    params = dict(xino=None, opts='udba=notify', fallback='overlay')
    wanted = [(C, 'rw'), (I1, 'ro')]
    assert persisted_matches(union, wanted, params)
    assert not persisted_matches(union, wanted + [(I2, 'ro')], params)
    assert not persisted_matches(union, wanted, dict(params, opts=None))
    assert not persisted_matches(union, wanted, dict(params, fallback='none'))
    assert not persisted_matches(union, wanted, dict(params, xino='/x'))
    assert not persisted_matches(None, wanted, params)
    # A record whose unit or fstab line is gone: aufsctl gives no branches, so it is written again.
    assert not persisted_matches({'target': '/srv/walk/mnt', 'problem': 'gone'}, wanted, params)


@pytest.mark.parametrize('perm', ['rw', 'ro', 'rr', 'ro+wh', 'rr+wh', 'rw+nolwh', 'rw+coo_reg', 'ro+unpin+icexsec'])
def test_aufs_permissions_pass(perm):
    assert perm_problem(perm) is None


@pytest.mark.parametrize('perm, why', [
    # the finding: a ':' in perm adds /etc as a second writable branch
    ('ro:/etc=rw', "contains ':'"),
    ('ro,xino=/x', "contains ','"),
    ('ro=rw', "contains '='"),
    ('ro\n', "contains"),
    ('', 'empty'),
    ('RW', 'unknown base'),
    ('wr', 'unknown base'),
    ('ro+bogus', 'unknown attribute'),
    ('ro+nolwh', 'rw branches only'),
    ('rw+wh', 'ro and rr branches only'),
    ('ro+wh+wh', 'twice'),
    ('rw+coo_reg+coo_all', 'exclude each other'),
])
def test_other_permissions_fail(perm, why):
    assert why in perm_problem(perm)

# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_facts from aufsctl.check/1 documents.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.aufsctl.aufs.plugins.modules.aufs_facts import facts_from_report


def test_blocked():
    doc = {'schema': 'aufsctl.check/1', 'exitCode': 4, 'warnings': ['xino on tmpfs'],
           'verdict': {'state': 'blocked', 'reason': 'lacks 6 of the 21 symbols', 'waysOut': ['use overlay']},
           'facts': {'kernel': {'release': '6.1.0-18-amd64', 'running': False}, 'module': {'found': False},
                     'nextBoot': {'evidence': []}}}
    facts = facts_from_report(doc)
    assert facts['verdict'] == 'blocked' and not facts['usable']
    assert facts['reasons'] == ['lacks 6 of the 21 symbols', 'xino on tmpfs']
    assert facts['ways_out'] == ['use overlay']
    assert facts['exit_code'] == 4
    assert facts['kernel']['release'] == '6.1.0-18-amd64'
    assert 'method' not in facts and 'next_boot' not in facts


def test_installable_with_a_next_boot_kernel():
    doc = {'exitCode': 3, 'verdict': {'state': 'installable', 'method': 'dkms', 'reason': 'exports present'},
           'facts': {'nextBoot': {'release': '6.1.0-20-amd64', 'aufs': False}}}
    facts = facts_from_report(doc)
    assert facts['method'] == 'dkms'
    assert facts['next_boot'] == {'release': '6.1.0-20-amd64', 'aufs': False}

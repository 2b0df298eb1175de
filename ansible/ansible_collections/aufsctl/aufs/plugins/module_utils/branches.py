# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# Shared by aufs_mount and aufs_layer (a module cannot import another module once Ansible ships it
# to the target, only module_utils): aufs's branch permission grammar, the branches of aufsctl's
# status report, and how overlay flattens permissions.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

PERM_BASES = ('rw', 'ro', 'rr')
PERM_RW_ONLY = ('nolwh', 'moo', 'coo_reg', 'coo_all')
PERM_RO_ONLY = ('wh',)
PERM_ANY = ('unpin', 'fhsm', 'icex', 'icexsec', 'icexsys', 'icextr', 'icexusr', 'icexoth')


def perm_problem(perm):
    """Why `perm` is not an aufs branch permission (aufsctl's BranchPermission rules), or None.
    aufs itself turns an unknown one into ro silently; and a ':' or '=' inside it would make the
    option string name another branch (`ro:/etc=rw` adds /etc writable)."""
    if not perm:
        return 'empty; expected rw, ro or rr'
    bad = [c for c in perm if not (c.isalnum() or c in '_+') or ord(c) > 127]
    if bad:
        return "contains %r, which no aufs permission has (a ':' would start another branch)" % bad[0]
    parts = perm.split('+')
    base, attrs = parts[0], parts[1:]
    if base not in PERM_BASES:
        return 'unknown base "%s"; expected rw, ro or rr' % base
    seen = []
    for attr in attrs:
        if attr not in PERM_RW_ONLY + PERM_RO_ONLY + PERM_ANY:
            return 'unknown attribute "+%s"' % attr
        if attr in PERM_RW_ONLY and base != 'rw':
            return '"+%s" applies to rw branches only' % attr
        if attr in PERM_RO_ONLY and base == 'rw':
            return '"+%s" applies to ro and rr branches only' % attr
        if attr in seen:
            return 'attribute "+%s" given twice' % attr
        seen.append(attr)
    if 'coo_reg' in seen and 'coo_all' in seen:
        return '+coo_reg and +coo_all exclude each other'
    return None


def parse_status_branches(entries, images=None):
    """aufsctl.status/2 (and persist/1) branches ({"path", "permission", "image"?}, top first) as
    [(path, perm)], an image layer named by its image file (the branch's `image.file`), as the task
    names it; status/1's "PATH=PERM" strings (with its `images` list) too."""
    by_dir = dict((i.get('branch'), i.get('image')) for i in images or [])
    result = []
    for entry in entries:
        if isinstance(entry, dict):
            image = entry.get('image') or {}
            result.append((image.get('file') or entry.get('path'), entry.get('permission') or ''))
            continue
        path, sep, perm = entry.rpartition('=')
        if not sep:
            path, perm = entry, ''
        result.append((by_dir.get(path, path), perm))
    return result


def overlay_perm(perm):
    """What overlay keeps of an aufs permission: rw (its upper layer) or ro (a lower one)."""
    return 'rw' if (perm or '').split('+')[0] == 'rw' else 'ro'

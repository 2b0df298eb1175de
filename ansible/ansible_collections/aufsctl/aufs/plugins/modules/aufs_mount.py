#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_mount: an aufs union (or its overlay fallback) with ansible.posix.mount's state words.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aufs_mount
short_description: Mount an aufs union, or its overlayfs fallback, with aufsctl
description:
  - Makes the union at C(path) have the branches given, in order, through C(aufsctl mount),
    C(aufsctl branch), C(aufsctl umount) and C(aufsctl status --json); aufsctl validates every
    branch before the kernel sees it, and its refusals fail the task with its own one-line
    message and exit code (C(rc)).
  - A live aufs union whose branches differ is changed with branch operations (C(del), C(mod),
    C(add) at an index), not remounted; a reordering of branches it keeps is not possible that
    way, so it is unmounted and mounted again. An overlay fallback union cannot change its
    layers live, so it is unmounted and mounted again; C(remounted) says so.
  - The state words are those of M(ansible.posix.mount). C(ephemeral) and C(unmounted) need only
    aufsctl's C(mount); C(mounted), C(present) and C(absent) also persist the union for the next
    boot with C(aufsctl persist) (a systemd C(.mount) unit, or an C(/etc/fstab) line where systemd
    does not run the host), and fail with a clear message on an aufsctl that lacks it.
  - Whether the union is persisted, and with which branches, options and fallback, is read from
    C(aufsctl persist --list --json) (schema C(aufsctl.persist/1)); a different one is persisted
    again. With C(state=present) the diff and C(branches) are the persisted list.
  - The module reads only aufsctl's JSON reports (C(status --json), C(mount --json),
    C(persist --list --json)), never its state file, unit files or fstab.
version_added: 0.1.0
author:
  - aufsctl maintainers (@aufsctl)
requirements:
  - aufsctl on the managed host (the aufsctl Debian package)
attributes:
  check_mode:
    support: full
    description: Validates a new union with C(aufsctl mount --dry-run) and changes nothing.
  diff_mode:
    support: full
    description: Shows the branch list before and after, one C(PATH=PERM) line per branch.
options:
  path:
    description:
      - The mount point, an absolute path.
    type: path
    required: true
  branches:
    description:
      - The branches, top first. Absolute paths; aufsctl refuses paths containing C(:), C(,) or
        C(=), nested or repeated branches and filesystems aufs cannot use.
      - Required unless C(state) is C(unmounted) or C(absent).
    type: list
    elements: dict
    suboptions:
      path:
        description:
          - The branch directory, or an image file (squashfs or erofs) or block device, which aufsctl
            binds to a read-only loop device and mounts as a layer under C(/run/aufsctl/layers).
          - An image is compared with the live union through the C(image) of C(aufsctl status --json)'s
            branches, so adding or removing one on a live aufs union is a C(branch add) or C(branch del)
            and a second run changes nothing.
        type: path
        required: true
      perm:
        description:
          - The aufs permission (C(rw), C(ro), C(rr), with attributes such as C(ro+wh)).
          - Default C(rw) for the first branch and C(ro) for the others, as aufs itself does; every
            branch C(ro) when C(opts) has C(ro) (a C(rw) branch on a read-only mount is refused); C(rr)
            for an image (C(rr+wh) when it carries whiteouts, as aufsctl chooses; a live C(rr) or C(rr+wh)
            of an image given without I(perm) is what was asked for).
          - Checked against aufs's grammar (a base, then C(+attribute)s that fit it); anything else, such
            as a C(:) that would start another branch, fails before aufsctl runs.
        type: str
  xino:
    description:
      - The xino file; by default aufsctl picks a per-union name under C(/run/aufsctl/xino).
    type: path
  fallback:
    description:
      - What to mount when aufs is not available, C(none) (fail) or C(overlay).
      - With C(mounted) or C(present), also what the helper mounts at boot where aufs is missing
        (C(aufsctl persist --fallback), the mount option C(x-aufsctl.fallback=overlay)).
    type: str
    choices: [none, overlay]
    default: none
  opts:
    description:
      - aufs mount options besides the branch list and C(xino), comma separated, as in
        M(ansible.posix.mount), for example C(udba=notify), C(create=mfs) or C(ro); aufsctl checks
        each. The branch list is C(branches) and the xino file C(xino), so C(br=), C(dirs=) and
        C(xino=) here fail the task.
      - On a live union only C(ro) and C(rw) are compared (the kernel shows other aufs options only
        when they differ from its defaults); a change there mounts the union again. The persisted
        options are compared exactly.
      - The overlay fallback keeps C(ro) and ignores aufs's own options, with a warning.
    type: str
    version_added: 0.2.0
  mkdir:
    description:
      - Create the mount point when it is missing.
    type: bool
    default: false
  state:
    description:
      - C(ephemeral) mounts the union now without persisting it; C(unmounted) unmounts it.
      - C(mounted) mounts it and persists it; C(present) persists it only; C(absent) unmounts it
        and removes the persisted union. These three need C(aufsctl persist).
    type: str
    choices: [mounted, present, ephemeral, unmounted, absent]
    default: ephemeral
  executable:
    description:
      - The aufsctl binary; by default C(aufsctl) on the PATH, C(/usr/local/bin) or C(/usr/bin).
    type: path
seealso:
  - module: aufsctl.aufs.aufs_facts
  - module: aufsctl.aufs.aufs_install
  - module: ansible.posix.mount
'''

EXAMPLES = r'''
# The walk-through's union: a writable container over three read-only images.
- name: Mount the walk-through union (overlay where aufs is missing)
  aufsctl.aufs.aufs_mount:
    path: /srv/walk/mnt
    branches:
      - {path: /srv/walk/container, perm: rw}
      - {path: /srv/walk/image1, perm: ro}
      - {path: /srv/walk/image2, perm: ro}
      - {path: /srv/walk/image3, perm: ro}
    xino: /dev/shm/aufs.xino
    fallback: overlay
    state: ephemeral

- name: Drop image3 from the live union (aufs; overlay is mounted again)
  aufsctl.aufs.aufs_mount:
    path: /srv/walk/mnt
    branches:
      - {path: /srv/walk/container}
      - {path: /srv/walk/image1}
      - {path: /srv/walk/image2}
    fallback: overlay

- name: Unmount it
  aufsctl.aufs.aufs_mount:
    path: /srv/walk/mnt
    state: unmounted

- name: Mount it read-only at every boot, with udba=notify, through overlay where aufs is missing
  aufsctl.aufs.aufs_mount:
    path: /srv/walk/mnt
    branches:
      - {path: /srv/walk/container}
      - {path: /srv/walk/image1}
    opts: ro,udba=notify
    fallback: overlay
    state: mounted
'''

RETURN = r'''
filesystem:
  description: What is mounted at C(path), C(aufs) or C(overlay) (the fallback).
  returned: when the union is mounted
  type: str
  sample: overlay
branches:
  description: The union's branches after the task, C(PATH=PERM), top first.
  returned: always
  type: list
  elements: str
  sample: ["/srv/walk/container=rw", "/srv/walk/image1=ro"]
opts:
  description: The aufs options the union is mounted (or persisted) with, as given.
  returned: always
  type: list
  elements: str
  sample: ["udba=notify", "ro"]
operations:
  description: The aufsctl command lines run (or, in check mode, that would run).
  returned: always
  type: list
  elements: list
remounted:
  description: The union was unmounted and mounted again to change its branches (overlay, or a
    reordering aufs cannot do live).
  returned: always
  type: bool
  sample: false
msg:
  description: What was done, in words.
  returned: always
  type: str
report:
  description: The C(aufsctl mount --json) document of the mount made (schema C(aufsctl.mount/2)).
  returned: when a mount was made
  type: dict
'''

import os
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import (
    COMMON_ARGS, EXIT_OK, EXIT_USAGE, Aufsctl, message, parse_json,
)
from ansible_collections.aufsctl.aufs.plugins.module_utils.branches import (
    overlay_perm, parse_status_branches, perm_problem,
)

PERSISTING = ('mounted', 'present', 'absent')


def is_image(path):
    """A regular file or block device given as a branch: an image layer for aufsctl."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISBLK(mode)


def desired_branches(branches, read_only=False, current=None):
    """[(path, perm)] with aufs's default permissions (rw on top, ro below, all ro on a read-only
    mount, rr for an image) and symlinks resolved as aufsctl resolves them, so the list compares
    with `aufsctl status`. An image without a perm keeps the rr or rr+wh aufsctl chose for it in
    CURRENT (rr+wh when it carries whiteouts); comparing it with plain rr would mod it on every run."""
    live = dict(current or [])
    result = []
    for index, branch in enumerate(branches):
        path = os.path.realpath(branch['path'])
        if is_image(branch['path']):
            default = live.get(path) if live.get(path) in ('rr', 'rr+wh') else 'rr'
        else:
            default = 'rw' if index == 0 and not read_only else 'ro'
        result.append((path, branch.get('perm') or default))
    return result


def split_opts(opts):
    """The options of `opts` as a list, without empty entries."""
    return [o.strip() for o in (opts or '').split(',') if o.strip()]


def options_differ(live, opts):
    """Whether the live union must be mounted again for OPTS: ro/rw as the kernel shows it (aufs
    shows its other options only when they differ from its defaults, so they are not compared)."""
    return bool(live.get('readOnly')) != ('ro' in split_opts(opts))


def branch_operations(current, desired):
    """The `aufsctl branch` calls that turn CURRENT into DESIRED on a live aufs union: del the
    branches that go, mod the permissions that differ, add the new ones at their index. None when
    the branches both keep are in another order, or none is kept (a remount is needed)."""
    desired_paths = [p for p, dummy in desired]
    current_perm = dict(current)
    kept_now = [p for p, dummy in current if p in desired_paths]
    kept_then = [p for p in desired_paths if p in current_perm]
    if kept_now != kept_then:
        return None
    if not kept_now:
        # Every branch goes: deleting them one by one would reach the last one, which aufs cannot
        # lose (aufsctl branch del refuses it), so the union is mounted again instead.
        return None
    ops = [['del', p] for p, dummy in current if p not in desired_paths]
    ops += [['mod', '%s=%s' % (p, perm)] for p, perm in desired if p in current_perm and current_perm[p] != perm]
    ops += [['add', '%s=%s' % (p, perm), '--index', str(i)]
            for i, (p, perm) in enumerate(desired) if p not in current_perm]
    return ops


def same_branches(current, desired, filesystem):
    """Equal lists; overlay keeps only rw (upper) and ro (lower), so compare it in those terms."""
    if filesystem == 'overlay':
        def flat(bs):
            return [(p, overlay_perm(perm)) for p, perm in bs]
        return flat(current) == flat(desired)
    return current == desired


def lines(branches):
    return ''.join('%s=%s\n' % b for b in branches)


class Union(object):
    def __init__(self, module):
        self.module = module
        self.aufsctl = Aufsctl(module)
        self.params = module.params
        self.target = os.path.realpath(self.params['path'])
        self.operations = []
        self.report = None

    def live(self):
        """The aufsctl.status/2 entry of the union at the target, or None."""
        dummy, doc = self.aufsctl.run_json(['status', '--json'], ok_codes=(EXIT_OK,))
        for mount in doc.get('mounts') or []:
            if mount.get('target') == self.target:
                return mount
        return None

    def act(self, args):
        """Runs (outside check mode) one changing aufsctl call; fails with aufsctl's message."""
        self.operations.append([self.aufsctl.path] + args)
        if self.module.check_mode:
            return None
        rc, out, err = self.aufsctl.run(args)
        if rc != EXIT_OK:
            self.aufsctl.fail(rc, out, err, None, operations=self.operations)
        return out

    def options(self, branches):
        """The -o string: the branch list, xino and the other aufs options."""
        options = ['br=' + ':'.join('%s=%s' % b for b in branches)]
        if self.params['xino']:
            options.append('xino=' + self.params['xino'])
        return ','.join(options + split_opts(self.params['opts']))

    def mount_args(self, branches):
        args = ['-t', 'aufs', '-o', self.options(branches), 'none', self.target, '--fallback', self.params['fallback']]
        if self.params['mkdir']:
            args.append('--mkdir')
        return args

    def mount(self, branches):
        args = ['mount', '--json'] + self.mount_args(branches)
        if self.module.check_mode:
            # Validated by aufsctl itself, so a refusal fails in check mode too.
            dummy, self.report = self.aufsctl.run_json(args + ['--dry-run'], ok_codes=(EXIT_OK,))
            self.operations.append([self.aufsctl.path] + args)
            return
        dummy, self.report = self.aufsctl.run_json(args, ok_codes=(EXIT_OK,))
        self.operations.append([self.aufsctl.path] + args)

    def umount(self):
        self.act(['umount', '--json', self.target])

    def persist(self, branches):
        """`aufsctl persist -o OPTS TARGET`: what brings the union back at boot, a systemd unit or
        an fstab line; it replaces an earlier one for the target."""
        self.act(['persist', '-o', self.options(branches), '--fallback', self.params['fallback'], self.target])

    def unpersist(self):
        self.act(['persist', '--remove', self.target])

    def persisted(self):
        """The aufsctl.persist/1 entry for the target, or None; fails on an aufsctl without
        `persist --list --json`."""
        rc, out, err = self.aufsctl.run(['persist', '--list', '--json'])
        doc = parse_json(out)
        if rc != EXIT_OK or doc is None or not str(doc.get('schema', '')).startswith('aufsctl.persist/'):
            self.module.fail_json(
                msg="state=%s persists the union with `aufsctl persist`, whose `persist --list --json` this "
                    "aufsctl (%s) lacks (%s): use state=ephemeral or state=unmounted, or install a newer aufsctl"
                    % (self.params['state'], self.aufsctl.path, message(rc, out, err)), rc=EXIT_USAGE)
        for union in doc.get('unions') or []:
            if union.get('target') == self.target:
                return union
        return None


def persisted_matches(union, wanted, params):
    """Whether the persisted UNION (aufsctl.persist/1) has the WANTED branches, the xino, the
    options and the fallback the task asks for."""
    if union is None or union.get('branches') is None:
        return False
    return (parse_status_branches(union.get('branches')) == wanted
            and union.get('xino') == params['xino']
            and sorted(union.get('options') or []) == sorted(split_opts(params['opts']))
            and (union.get('fallback') or 'none') == params['fallback'])


def check_perms(module):
    for i, branch in enumerate(module.params['branches'] or []):
        perm = branch.get('perm')
        if perm is None:
            continue
        problem = perm_problem(perm)
        if problem:
            module.fail_json(msg="branches[%d].perm '%s': %s; see aufs(5) for branch permissions" % (i, perm, problem),
                             rc=EXIT_USAGE)


def check_paths(module):
    """Relative paths are refused here: the module's working directory is not the user's. So are
    the characters of aufs's branch syntax, which the option string cannot carry (aufsctl would
    see two branches where one was meant): the same rule and exit code as aufsctl's."""
    for option in split_opts(module.params['opts']):
        for key in ('br=', 'br:', 'dirs=', 'xino='):
            if option.startswith(key):
                module.fail_json(msg="opts '%s': %s belongs in the %s option, not in opts"
                                     % (option, key.rstrip('=:'), 'xino' if key == 'xino=' else 'branches'),
                                 rc=EXIT_USAGE)
    paths = [('path', module.params['path'])]
    paths += [('branches[%d].path' % i, b['path']) for i, b in enumerate(module.params['branches'] or [])]
    if module.params['xino']:
        paths.append(('xino', module.params['xino']))
    for name, value in paths:
        for char in (':', ',', '=') if name != 'path' else ():
            if char in value:
                module.fail_json(msg="%s '%s': contains '%s', which aufs's branch syntax cannot escape: rename "
                                     "the directory, or bind-mount it at a path without it" % (name, value, char),
                                 rc=EXIT_USAGE)
        if not os.path.isabs(value):
            module.fail_json(msg="%s '%s': a relative path; aufs_mount needs absolute paths (a module "
                                 "does not run in your working directory): give it from /" % (name, value),
                             rc=EXIT_USAGE)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            branches=dict(type='list', elements='dict', options=dict(
                path=dict(type='path', required=True),
                perm=dict(type='str'),
            )),
            xino=dict(type='path'),
            fallback=dict(type='str', choices=['none', 'overlay'], default='none'),
            opts=dict(type='str'),
            mkdir=dict(type='bool', default=False),
            state=dict(type='str', choices=['mounted', 'present', 'ephemeral', 'unmounted', 'absent'],
                       default='ephemeral'),
            **COMMON_ARGS
        ),
        required_if=[
            ('state', 'ephemeral', ['branches']),
            ('state', 'mounted', ['branches']),
            ('state', 'present', ['branches']),
        ],
        supports_check_mode=True,
    )
    check_paths(module)
    check_perms(module)
    union = Union(module)
    state = module.params['state']
    persisted = union.persisted() if state in PERSISTING else None

    live = union.live()
    before = parse_status_branches(live.get('branches') or [], live.get('images')) if live else []
    after = before
    remounted = False
    words = []
    if state in ('ephemeral', 'mounted'):
        after = desired_branches(module.params['branches'], 'ro' in split_opts(module.params['opts']), before)
        if live is None:
            union.mount(after)
            words.append('mounted')
        elif not same_branches(before, after, live.get('filesystem')) or options_differ(live, module.params['opts']):
            ops = branch_operations(before, after) if live.get('filesystem') == 'aufs' else None
            if options_differ(live, module.params['opts']):
                ops = None
            if ops is None:
                why = ('the options differ' if options_differ(live, module.params['opts'])
                       else 'an overlay union cannot change its layers live' if live.get('filesystem') == 'overlay'
                       else 'aufs cannot reorder the branches it keeps')
                union.umount()
                union.mount(after)
                remounted = True
                words.append('unmounted and mounted again (%s)' % why)
            else:
                for op in ops:
                    union.act(['branch', op[0], union.target] + op[1:])
                words.append('changed %d branch(es) live' % len(ops))
    elif state in ('unmounted', 'absent'):
        after = []
        if live is not None:
            union.umount()
            words.append('unmounted')
    if state in PERSISTING:
        if state == 'absent':
            if persisted is not None:
                union.unpersist()
                words.append('no longer persisted')
        else:
            wanted = desired_branches(module.params['branches'], 'ro' in split_opts(module.params['opts']))
            have = parse_status_branches(persisted.get('branches') or []) if persisted else None
            if not persisted_matches(persisted, wanted, module.params):
                union.persist(wanted)
                words.append('persisted' if persisted is None else 'persisted again (it differed)')
            if state == 'present':   # the persisted list is what this state is about
                before, after = have or [], wanted
    result = dict(
        changed=bool(union.operations),
        branches=['%s=%s' % b for b in after],
        opts=split_opts(module.params['opts']),
        operations=union.operations,
        remounted=remounted,
        msg='%s: %s' % (union.target, ', '.join(words) or 'as wanted, nothing to do'),
    )
    if union.report:
        result['report'] = union.report
        result['filesystem'] = union.report.get('filesystem')
    elif live and after:
        result['filesystem'] = live.get('filesystem')
    if module._diff:
        result['diff'] = dict(before=lines(before), after=lines(after),
                              before_header='%s (branches)' % union.target, after_header='%s (branches)' % union.target)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

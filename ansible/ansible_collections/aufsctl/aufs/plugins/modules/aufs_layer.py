#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_layer: one image layer added to or removed from a live union, as `slax activate`/`deactivate` do.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aufs_layer
short_description: Add or remove one image layer (squashfs, erofs) on a live aufs union with aufsctl
description:
  - Makes the image file C(image) a layer of the union mounted at C(path) (C(state=present)), or not
    (C(state=absent)), without restating the union's other branches, as C(slax activate) and
    C(slax deactivate) do on a live system. It runs C(aufsctl branch add) or C(aufsctl branch del);
    aufsctl opens and probes the image (libblkid; squashfs and erofs, others with C(allow_fs)),
    binds it to a read-only loop device, mounts it under C(/run/aufsctl/layers), remounts the union,
    runs the after-work hooks of C(/etc/aufsctl/layer.d), and rolls back every step of a failed add.
  - Whether the image is a layer is read from C(aufsctl status --json), schema C(aufsctl.status/2),
    where an image layer's branch carries C(image.file), the image as it was given (also with
    C(--copy)), compared after resolving symlinks; the module never reads aufsctl's state files. A
    second run changes nothing.
  - A layer that is present where C(perm) asks for another permission is changed with
    C(aufsctl branch mod) on aufs. A layer present at another position than C(index) fails the
    task, since aufs cannot move a branch.
  - An overlay fallback union cannot change its layers while mounted; with C(remount=true) aufsctl
    unmounts it and mounts it again with the new stack when no process holds it (refused with the
    holders otherwise, nothing changed). overlay keeps no permissions, so C(perm) is compared as
    overlay's C(ro) there.
  - A busy C(branch del) (a process holds the union) fails with aufsctl's message naming the
    holders, and the union is left as it was.
version_added: 0.3.0
author:
  - aufsctl maintainers (@aufsctl)
requirements:
  - aufsctl on the managed host (the aufsctl Debian package), run as root (C(become))
attributes:
  check_mode:
    support: full
    description: Runs the aufsctl call with C(--dry-run), which probes the image and checks the
      union (an overlay union's holders too) but attaches and remounts nothing.
  diff_mode:
    support: full
    description: Shows the union's branch list before and after, one C(PATH=PERM) line per branch,
      an image layer named by its image file.
options:
  path:
    description:
      - The union's mount point, an absolute path. A union must be mounted there (see
        M(aufsctl.aufs.aufs_mount)); with C(state=absent) none is fine.
    type: path
    required: true
  image:
    description:
      - The image file (or block device), an absolute path. It is compared with the layers'
        C(image.file) after symlinks are resolved on both sides.
      - A C(:), C(,) or C(=) in it is refused (aufs's branch syntax cannot carry them).
    type: path
    required: true
  state:
    description:
      - C(present) adds the layer when the union lacks it; C(absent) removes it when the union has it.
    type: str
    choices: [present, absent]
    default: present
  index:
    description:
      - Where the new layer goes, C(0) being the top (C(aufsctl branch add --index)).
      - Default is aufsctl's own, right under the rw branch (as C(slax activate) adds with C(add:1:)).
      - With C(state=present) and the layer already at another position, the task fails, since aufs cannot
        move a branch; remove it (C(state=absent)) and add it again, or leave C(index) out.
      - Not used with C(state=absent).
    type: int
  perm:
    description:
      - The layer's aufs permission (C(rr), C(rr+wh), C(ro), with attributes that fit them), checked
        against aufs's grammar before aufsctl runs.
      - Default is what aufsctl chooses, C(rr), or C(rr+wh) when the image carries whiteouts; a
        present layer is then left with whatever it has.
      - A present layer whose permission differs is changed with C(aufsctl branch mod) on aufs.
      - Not used with C(state=absent).
    type: str
  copy:
    description:
      - Mount a root-only copy of an image another user can write (C(aufsctl branch add --copy), in
        C(/var/lib/aufsctl/images)); without it such an image is refused.
    type: bool
    default: false
  allow_fs:
    description:
      - Filesystems to accept in the image besides squashfs and erofs (C(aufsctl branch add --allow-fs)).
    type: list
    elements: str
    choices: [ext4, ext3, ext2, iso9660]
  drop_whiteouts:
    description:
      - Move the whiteouts in the branches above the new layer that would hide its files into a
        journaled backup, and remount with C(udba=reval) (C(aufsctl branch add --drop-whiteouts)).
        Without it aufsctl warns about them, and so does the task.
    type: bool
    default: false
  hooks:
    description:
      - Run the after-work hooks of C(/etc/aufsctl/layer.d) after the layer is added or removed;
        C(false) passes C(--no-hooks). A failing hook is a warning; the change stays.
    type: bool
    default: true
  remount:
    description:
      - On an overlay fallback union, unmount it and mount it again with the new stack when nothing
        holds it (C(aufsctl branch --remount)). Without it, a change to an overlay union fails with a
        message saying so. Not used on aufs.
    type: bool
    default: false
  executable:
    description:
      - The aufsctl binary; by default C(aufsctl) on the PATH, C(/usr/local/bin) or C(/usr/bin).
    type: path
    aliases: [aufsctl]
notes:
  - aufsctl's own refusals (a corrupt image, a filesystem not allowed, an image another user can
    write, a busy union) fail the task with aufsctl's message and exit code (C(rc)).
seealso:
  - module: aufsctl.aufs.aufs_mount
  - module: aufsctl.aufs.aufs_facts
'''

EXAMPLES = r'''
- name: Activate the apps module under the rw branch of the live root (as slax activate does)
  aufsctl.aufs.aufs_layer:
    path: /
    image: /run/initramfs/memory/modules/003-apps.sb
  become: true

- name: Add a user's bundle through a root-only copy, without running the layer.d hooks
  aufsctl.aufs.aufs_layer:
    path: /srv/live/union
    image: /home/user/Downloads/firefox.sb
    copy: true
    hooks: false

- name: Add an ext4 image as the third branch with whiteouts honoured
  aufsctl.aufs.aufs_layer:
    path: /srv/live/union
    image: /srv/images/tools.ext4
    allow_fs: [ext4]
    index: 2
    perm: rr+wh

- name: Add a layer to an overlay fallback union (unmounted and mounted again when idle)
  aufsctl.aufs.aufs_layer:
    path: /srv/walk/mnt
    image: /srv/images/004-extra.squashfs
    remount: true

- name: Deactivate it
  aufsctl.aufs.aufs_layer:
    path: /srv/walk/mnt
    image: /srv/images/004-extra.squashfs
    state: absent
    remount: true
'''

RETURN = r'''
branches:
  description: The union's branches after the task (in check mode, as they would be), C(PATH=PERM),
    top first; an image layer is named by its image file.
  returned: always
  type: list
  elements: str
  sample: ["/run/initramfs/memory/changes=rw", "/run/initramfs/memory/modules/003-apps.sb=rr",
           "/run/initramfs/memory/modules/001-core.sb=rr"]
index:
  description: The layer's position in the union after the task (C(0) is the top); null when it is
    not a layer.
  returned: always
  type: int
  sample: 1
filesystem:
  description: What is mounted at C(path), C(aufs) or C(overlay) (the fallback).
  returned: when a union is mounted at C(path)
  type: str
  sample: aufs
cmd:
  description: The aufsctl command lines run (in check mode, that would run; each was checked with
    C(--dry-run)), one string per command, quoted as a shell would need.
  returned: always
  type: list
  elements: str
  sample: ["/usr/bin/aufsctl branch add / /run/initramfs/memory/modules/003-apps.sb"]
msg:
  description: What was done, or why nothing was.
  returned: always
  type: str
  sample: "/: added /run/initramfs/memory/modules/003-apps.sb as layer 1"
stdout:
  description: What aufsctl printed on its standard output (the call made, the loop device, the hooks).
  returned: when aufsctl branch ran
  type: str
stderr:
  description: What aufsctl printed on its standard error (warnings; on failure its message).
  returned: when aufsctl branch ran
  type: str
rc:
  description: aufsctl's exit code (README "Exit codes"); on failure.
  returned: failure
  type: int
  sample: 2
'''

import os
import shlex
import stat

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import (
    EXIT_OK, EXIT_USAGE, Aufsctl, message,
)
from ansible_collections.aufsctl.aufs.plugins.module_utils.branches import (
    overlay_perm, parse_status_branches, perm_problem,
)

LAYER_ROOT = '/run/aufsctl/layers/'


def same_file(a, b):
    """Whether two paths name the same image: equal after symlinks are resolved (also when the
    file is gone, as far as the path still resolves)."""
    return bool(a) and bool(b) and (os.path.normpath(a) == os.path.normpath(b)
                                    or os.path.realpath(a) == os.path.realpath(b))


def find_layer(entries, image):
    """(index, branch) of the status/2 branch whose image is IMAGE, or (None, None)."""
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and same_file((entry.get('image') or {}).get('file'), image):
            return i, entry
    return None, None


def unnamed_layers(entries):
    """Layer directories whose branch carries no image (status was not run as root)."""
    return [e.get('path') for e in entries
            if isinstance(e, dict) and not e.get('image') and (e.get('path') or '').startswith(LAYER_ROOT)]


def default_index(entries):
    """Where aufsctl adds an image without --index: right under the first rw branch, else on top."""
    for i, entry in enumerate(entries):
        if (entry.get('permission') or '').split('+')[0] == 'rw':
            return i + 1
    return 0


def perm_differs(live, wanted, filesystem):
    """Whether WANTED (None: whatever aufsctl chose) differs from the LIVE permission; overlay keeps
    only rw and ro, so it is compared in those terms there."""
    if not wanted:
        return False
    if filesystem == 'overlay':
        return overlay_perm(live) != overlay_perm(wanted)
    return live != wanted


def plan(union, image, state, index=None, perm=None):
    """What to do: (action, message). ACTION is None (nothing to do), 'add', 'del', 'mod' or 'fail';
    UNION is the status/2 mount at the path, or None."""
    if union is None:
        if state == 'absent':
            return None, 'no union is mounted there, so %s is not one of its layers' % image
        return 'fail', ('no aufs union (or overlay fallback) is mounted there (aufsctl status --json lists '
                        'none): mount it first, with aufsctl.aufs.aufs_mount')
    entries = union.get('branches') or []
    at, entry = find_layer(entries, image)
    filesystem = union.get('filesystem')
    if at is None:
        unnamed = unnamed_layers(entries)
        if unnamed:
            return 'fail', ('aufsctl status --json names no image for the layer %s (it shows images to root '
                            'only), so whether %s is a layer cannot be told: run the task as root (become: true)'
                            % (unnamed[0], image))
        if state == 'absent':
            return None, '%s is not a layer of the union' % image
        where = index if index is not None else default_index(entries)
        return 'add', 'added %s as layer %d' % (image, where)
    if state == 'absent':
        return 'del', 'removed %s (layer %d)' % (image, at)
    live = entry.get('permission') or ''
    if index is not None and index != at:
        return 'fail', ('%s is already layer %d of the union, not %d as index asks, and aufs cannot move a '
                        'branch: remove it (state=absent) and add it again, or leave index out'
                        % (image, at, index))
    if perm_differs(live, perm, filesystem):
        if filesystem != 'aufs':
            return 'fail', ('%s is layer %d with permission %s, not %s, and an overlay union has no branch '
                            'permissions to change: leave perm out' % (image, at, live, perm))
        return 'mod', 'changed the permission of %s (layer %d) from %s to %s' % (image, at, live, perm)
    return None, '%s is already layer %d (%s): nothing to do' % (image, at, live)


def branch_args(action, target, image, entry, params, filesystem):
    """The `aufsctl branch` argv (without the binary) for ACTION. del and mod name the layer by its
    directory, which names it exactly (the image may have been given by another path); --remount
    only where it means something, on an overlay union."""
    if action == 'add':
        args = ['branch', 'add', target, image + ('=' + params['perm'] if params['perm'] else '')]
        if params['index'] is not None:
            args += ['--index', str(params['index'])]
        if params['copy']:
            args.append('--copy')
        for fs in params['allow_fs'] or []:
            args += ['--allow-fs', fs]
        if params['drop_whiteouts']:
            args.append('--drop-whiteouts')
    elif action == 'del':
        args = ['branch', 'del', target, entry['path']]
    else:
        return ['branch', 'mod', target, '%s=%s' % (entry['path'], params['perm'])]
    if params['remount'] and filesystem == 'overlay':
        args.append('--remount')
    if not params['hooks']:
        args.append('--no-hooks')
    return args


def predicted(before, action, image, at, params, entries, filesystem):
    """The branch list ACTION would leave (check mode), as [(path, perm)]: a new layer with the perm
    given, else aufsctl's rr (it may choose rr+wh, which only the real run knows); overlay shows ro."""
    after = list(before)
    if action == 'add':
        where = params['index'] if params['index'] is not None else default_index(entries)
        perm = params['perm'] or 'rr'
        after.insert(min(where, len(after)), (image, overlay_perm(perm) if filesystem == 'overlay' else perm))
    elif action == 'del':
        del after[at]
    elif action == 'mod':
        after[at] = (after[at][0], params['perm'])
    return after


def failure_message(rc, out, err):
    """aufsctl's error line with the detail lines under it (a busy del's holders), not its warnings."""
    lines = (err or '').splitlines()
    for i, line in enumerate(lines):
        if line.startswith('aufsctl: warning:'):
            continue
        if line.startswith('aufsctl:') or line.startswith('Error:'):
            details = []
            for more in lines[i + 1:]:
                if not more.startswith(' ') or not more.strip():
                    break
                details.append(more.strip())
            return ' '.join([line] + details)
    return message(rc, out, err)


def warnings_of(err):
    return [line[len('aufsctl: '):] for line in (err or '').splitlines() if line.startswith('aufsctl: warning:')]


def lines(branches):
    return ''.join('%s=%s\n' % b for b in branches)


def check_params(module):
    """Input errors in the module's words before aufsctl runs, exit code 2 as aufsctl's usage errors."""
    p = module.params
    for name in ('path', 'image'):
        if not os.path.isabs(p[name]):
            module.fail_json(msg="%s '%s': a relative path; aufs_layer needs absolute paths (a module does not run "
                                 "in your working directory): give it from /" % (name, p[name]), rc=EXIT_USAGE)
    for char in (':', ',', '='):
        if char in p['image']:
            module.fail_json(msg="image '%s': contains '%s', which aufs's branch syntax cannot escape: rename the "
                                 "file, or link it from a path without it" % (p['image'], char), rc=EXIT_USAGE)
    if p['perm'] is not None:
        problem = perm_problem(p['perm'])
        if problem:
            module.fail_json(msg="perm '%s': %s; see aufs(5) for branch permissions, or leave perm out for "
                                 "aufsctl's rr (rr+wh for an image with whiteouts)" % (p['perm'], problem),
                             rc=EXIT_USAGE)
    if p['state'] == 'present':
        try:
            mode = os.stat(p['image']).st_mode
        except OSError as e:
            module.fail_json(msg="image '%s': %s; give the path of an image file (squashfs or erofs) on the managed "
                                 "host" % (p['image'], e.strerror), rc=EXIT_USAGE)
        if not (stat.S_ISREG(mode) or stat.S_ISBLK(mode)):
            module.fail_json(msg="image '%s': not a regular file or block device; a directory is a branch, which "
                                 "aufsctl.aufs.aufs_mount manages" % p['image'], rc=EXIT_USAGE)
    if p['index'] is not None and p['index'] < 0:
        module.fail_json(msg="index %d: a position in the union, 0 (the top) or more; leave it out for right "
                             "under the rw branch" % p['index'], rc=EXIT_USAGE)


class Layer(object):
    def __init__(self, module):
        self.module = module
        self.aufsctl = Aufsctl(module)
        self.target = os.path.realpath(module.params['path'])
        self.cmd = []

    def union(self):
        """The aufsctl.status/2 entry of the union at the target, or None."""
        dummy, doc = self.aufsctl.run_json(['status', '--json'], ok_codes=(EXIT_OK,))
        for mount in doc.get('mounts') or []:
            if mount.get('target') == self.target:
                return mount
        return None

    def run(self, args, before, result):
        """Runs one changing aufsctl call (in check mode, its --dry-run); fails with aufsctl's message,
        the union's branches as they are then, and whether anything changed after all."""
        self.cmd.append(' '.join(shlex.quote(a) for a in [self.aufsctl.path] + args))
        rc, out, err = self.aufsctl.run(args + (['--dry-run'] if self.module.check_mode else []))
        for warning in warnings_of(err):
            self.module.warn(warning)
        result.update(stdout=out, stderr=err)
        if rc != EXIT_OK:
            union = self.union()
            after = parse_status_branches(union.get('branches') or []) if union else []
            result.update(msg='%s: %s' % (self.target, failure_message(rc, out, err)), rc=rc, cmd=self.cmd,
                          branches=['%s=%s' % b for b in after], changed=after != before)
            self.module.fail_json(**result)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type='path', required=True),
            image=dict(type='path', required=True),
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            index=dict(type='int'),
            perm=dict(type='str'),
            copy=dict(type='bool', default=False),
            allow_fs=dict(type='list', elements='str', choices=['ext4', 'ext3', 'ext2', 'iso9660']),
            drop_whiteouts=dict(type='bool', default=False),
            hooks=dict(type='bool', default=True),
            remount=dict(type='bool', default=False),
            executable=dict(type='path', aliases=['aufsctl']),
        ),
        supports_check_mode=True,
    )
    check_params(module)
    p = module.params
    image = os.path.normpath(p['image'])
    layer = Layer(module)
    union = layer.union()
    entries = (union.get('branches') or []) if union else []
    before = parse_status_branches(entries)
    action, words = plan(union, image, p['state'], p['index'] if p['state'] == 'present' else None,
                         p['perm'] if p['state'] == 'present' else None)
    result = dict(changed=False, cmd=layer.cmd, branches=['%s=%s' % b for b in before])
    if union:
        result['filesystem'] = union.get('filesystem')
    if action == 'fail':
        module.fail_json(msg='%s: %s' % (layer.target, words), rc=EXIT_USAGE, index=find_layer(entries, image)[0],
                         **result)
    if action and union.get('filesystem') == 'overlay' and not p['remount']:
        module.fail_json(msg="%s is an overlay fallback union, and overlayfs cannot change the layers of a mounted "
                             "union: set remount: true to unmount it and mount it again with the new stack when "
                             "nothing holds it, or change its branches with aufsctl.aufs.aufs_mount"
                             % layer.target, rc=EXIT_USAGE, index=find_layer(entries, image)[0], **result)
    after = before
    if action:
        dummy, entry = find_layer(entries, image)
        layer.run(branch_args(action, layer.target, image, entry, p, union.get('filesystem')), before, result)
        if module.check_mode:
            after = predicted(before, action, image, find_layer(entries, image)[0], p, entries,
                              union.get('filesystem'))
        else:
            union = layer.union()
            entries = (union.get('branches') or []) if union else []
            after = parse_status_branches(entries)
    at = None
    for i, (path, dummy) in enumerate(after):
        if same_file(path, image):
            at = i
    result.update(changed=bool(action), branches=['%s=%s' % b for b in after], index=at,
                  msg='%s: %s%s' % (layer.target, 'would have ' if module.check_mode and action else '', words))
    if module._diff:
        result['diff'] = dict(before=lines(before), after=lines(after),
                              before_header='%s (branches)' % layer.target, after_header='%s (branches)' % layer.target)
    module.exit_json(**result)


if __name__ == '__main__':
    main()

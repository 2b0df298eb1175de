#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_install: aufsctl install / uninstall, changed from the step report.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aufs_install
short_description: Make aufs available on a host with aufsctl install, or undo it
description:
  - C(state=present) runs C(aufsctl install --json --yes) (in check mode C(--dry-run)); the
    task is C(changed) when a step changed something (in check mode, when a step would).
  - C(state=absent) undoes every install record aufsctl keeps (under C(root)), newest first, one
    C(aufsctl uninstall ID --yes) each, from the list C(aufsctl uninstall --list --json) gives
    (schema C(aufsctl.records/1)); C(changed) when there was a record. It takes install records
    only; the unions persisted with M(aufsctl.aufs.aufs_mount) are that module's (C(state=absent)
    there), and the helper links stay.
  - An install that needs a reboot to finish (aufsctl exit 5) succeeds with
    C(reboot_required=true), so a playbook can follow it with M(ansible.builtin.reboot).
  - A host where aufs cannot be installed (exit 4, blocked) fails the task with aufsctl's reason
    and ways out; a partial install (exit 6) fails with the step report; every other failure
    passes aufsctl's own one-line message and exit code through (C(rc)).
version_added: 0.1.0
author:
  - aufsctl maintainers (@aufsctl)
requirements:
  - aufsctl on the managed host (the aufsctl Debian package)
attributes:
  check_mode:
    support: full
    description: Runs C(aufsctl install --dry-run), which checks every step and changes nothing.
  diff_mode:
    support: none
    description: The step report is returned instead.
options:
  state:
    description:
      - C(present) installs aufs; C(absent) undoes what aufsctl installed.
    type: str
    choices: [present, absent]
    default: present
  method:
    description:
      - The install method, C(auto) (the one C(aufsctl check) names), C(dkms), C(kernel-ml-aufs)
        or C(ubuntu-extra).
    type: str
    choices: [auto, dkms, kernel-ml-aufs, ubuntu-extra]
    default: auto
  source:
    description:
      - dkms, an aufs-standalone checkout on the managed host or a git URL to clone.
    type: str
  source_ref:
    description:
      - dkms, the full commit id of the cloned repository to build (C(--source-ref)).
    type: str
  kernel:
    description:
      - Install for this kernel release instead of the running one.
    type: str
  load:
    description:
      - dkms and ubuntu-extra, load the module at the end when the kernel is the running one
        (false passes C(--no-load)).
    type: bool
    default: true
  skip_export_check:
    description:
      - dkms, build even when the kernel lacks the exports aufs needs (C(--skip-export-check);
        experts and tests).
    type: bool
    default: false
  repo_url:
    description:
      - kernel-ml-aufs, a C(.repo) file URL or a baseurl.
    type: str
  gpgkey:
    description:
      - kernel-ml-aufs, the URL of the key the kernel packages are signed with.
    type: str
  no_gpgcheck:
    description:
      - kernel-ml-aufs, install the kernel without signature checks.
    type: bool
    default: false
  grub_default:
    description:
      - kernel-ml-aufs, the C(GRUB_DEFAULT) value.
    type: str
  root:
    description:
      - Apply to the system under this directory (a mounted image or chroot; commands run
        through C(chroot)).
    type: path
    default: /
  executable:
    description:
      - The aufsctl binary; by default C(aufsctl) on the PATH, C(/usr/local/bin) or C(/usr/bin).
    type: path
seealso:
  - module: aufsctl.aufs.aufs_facts
  - module: aufsctl.aufs.aufs_mount
  - module: ansible.builtin.reboot
'''

EXAMPLES = r'''
- name: Install aufs with the method aufsctl check names
  aufsctl.aufs.aufs_install:
    state: present
  register: aufs

- name: Reboot into the kernel that has aufs (kernel-ml-aufs on CentOS 7)
  ansible.builtin.reboot:
  when: aufs.reboot_required

- name: Build an aufs-standalone checkout with DKMS for the next kernel, without loading it
  aufsctl.aufs.aufs_install:
    method: dkms
    source: /usr/local/src/aufs-standalone
    kernel: 6.1.0-18-amd64
    load: false

- name: Take aufs away again
  aufsctl.aufs.aufs_install:
    state: absent
'''

RETURN = r'''
method:
  description: The method aufsctl used.
  returned: when a plan ran
  type: str
  sample: dkms
kernel:
  description: The kernel release installed for.
  returned: when a plan ran
  type: str
  sample: 6.1.0-18-amd64
steps:
  description: Every step of the plan, C(id), C(title), C(status) (C(ok), C(changed), C(pending)
    in check mode, C(failed), C(blocked), C(skipped) when a flag such as C(skip_export_check) turned
    its check off) and C(evidence).
  returned: when a plan ran
  type: list
  elements: dict
reboot_required:
  description: The install is done but needs a reboot (aufsctl exit 5).
  returned: always
  type: bool
  sample: false
afterwards:
  description: The next steps aufsctl names (what remains for you to do).
  returned: when a plan ran
  type: list
  elements: str
notes:
  description: What aufsctl found worth saying that asks nothing of you.
  returned: when a plan ran
  type: list
  elements: str
  version_added: 0.2.0
source:
  description: What was built (dkms, the repository, branch and commit, or the directory and digest).
  returned: when a plan built from a source
  type: str
  version_added: 0.2.0
message:
  description: aufsctl's message when no plan ran (aufs already usable).
  returned: when aufsctl gave one
  type: str
rc:
  description: aufsctl's exit code.
  returned: always
  type: int
  sample: 0
report:
  description: The whole C(aufsctl install --json) document (schema C(aufsctl.install/2)).
  returned: state=present
  type: dict
records:
  description: The install records that C(state=absent) undid (or would undo in check mode), C(id),
    C(method), C(kernel).
  returned: state=absent
  type: list
  elements: dict
'''

import json

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import (
    COMMON_ARGS, EXIT_AVAILABLE, EXIT_BLOCKED, EXIT_OK, EXIT_PARTIAL, EXIT_REBOOT, Aufsctl, message,
)


def install_args(params, check_mode):
    """aufsctl's argv for state=present."""
    args = ['install', '--json', '--method', params['method'], '--root', params['root']]
    args.append('--dry-run' if check_mode else '--yes')
    for option, flag in (('source', '--source'), ('source_ref', '--source-ref'), ('kernel', '--kernel'),
                         ('repo_url', '--repo-url'), ('gpgkey', '--gpgkey'), ('grub_default', '--grub-default')):
        if params.get(option):
            args += [flag, params[option]]
    if not params['load']:
        args.append('--no-load')
    if params['skip_export_check']:
        args.append('--skip-export-check')
    if params['no_gpgcheck']:
        args.append('--no-gpgcheck')
    return args


def changed_from_report(doc, check_mode):
    """A step changed something (or, in a dry run, would: aufsctl marks it pending)."""
    wanted = 'pending' if check_mode else 'changed'
    return any(step.get('status') == wanted for step in doc.get('steps') or [])


def present(module, aufsctl):
    rc, out, err = aufsctl.run(install_args(module.params, module.check_mode))
    try:
        doc = json.loads(out)
    except ValueError:
        doc = None
    if not isinstance(doc, dict) or rc not in (EXIT_OK, EXIT_REBOOT):
        extra = {}
        if isinstance(doc, dict):
            extra = dict(steps=doc.get('steps', []), report=doc)
        if rc == EXIT_BLOCKED:
            extra['blocked'] = True
        elif rc == EXIT_PARTIAL:
            failed = [s for s in (doc or {}).get('steps') or [] if s.get('status') == 'failed']
            if failed:
                extra['failed_step'] = failed[0]
        elif rc == EXIT_AVAILABLE:
            extra['available'] = True
        aufsctl.fail(rc, out, err, doc if isinstance(doc, dict) else None, **extra)
    result = dict(
        changed=changed_from_report(doc, module.check_mode),
        reboot_required=rc == EXIT_REBOOT or bool(doc.get('rebootRequired')),
        rc=rc,
        report=doc,
    )
    for key, name in (('method', 'method'), ('kernel', 'kernel'), ('steps', 'steps'), ('afterwards', 'afterwards'),
                      ('notes', 'notes'), ('source', 'source'), ('message', 'message')):
        if key in doc:
            result[name] = doc[key]
    module.exit_json(**result)


def install_records(doc):
    """The install records of `aufsctl uninstall --list --json` (schema aufsctl.records/1), newest
    first, as id, method and kernel."""
    found = [dict(id=r.get('id'), method=r.get('method'), kernel=r.get('kernel')) for r in doc.get('installs') or []]
    return sorted(found, key=lambda r: r['id'] or 0, reverse=True)


def absent(module, aufsctl):
    dummy, doc = aufsctl.run_json(['uninstall', '--list', '--json', '--root', module.params['root']], ok_codes=(EXIT_OK,))
    found = install_records(doc)
    if not found:
        module.exit_json(changed=False, reboot_required=False, rc=EXIT_OK, records=[])
    said = []
    for record in found:
        args = ['uninstall', str(record['id']), '--root', module.params['root'],
                '--dry-run' if module.check_mode else '--yes']
        rc, out, err = aufsctl.run(args)
        if rc != EXIT_OK:
            aufsctl.fail(rc, out, err, None, records=found)
        said.append(message(rc, out, err))
    module.exit_json(changed=True, reboot_required=False, rc=EXIT_OK, records=found, msg='; '.join(said))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            state=dict(type='str', choices=['present', 'absent'], default='present'),
            method=dict(type='str', choices=['auto', 'dkms', 'kernel-ml-aufs', 'ubuntu-extra'], default='auto'),
            source=dict(type='str'),
            source_ref=dict(type='str'),
            kernel=dict(type='str'),
            load=dict(type='bool', default=True),
            skip_export_check=dict(type='bool', default=False),
            repo_url=dict(type='str'),
            gpgkey=dict(type='str', no_log=False),  # a key's URL, not a secret
            no_gpgcheck=dict(type='bool', default=False),
            grub_default=dict(type='str'),
            root=dict(type='path', default='/'),
            **COMMON_ARGS
        ),
        mutually_exclusive=[('gpgkey', 'no_gpgcheck')],
        supports_check_mode=True,
    )
    aufsctl = Aufsctl(module)
    if module.params['state'] == 'present':
        present(module, aufsctl)
    else:
        absent(module, aufsctl)


if __name__ == '__main__':
    main()

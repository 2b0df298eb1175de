#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2025-2026, the aufsctl authors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
# aufs_facts: `aufsctl check --json` as facts.

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
---
module: aufs_facts
short_description: Whether aufs is usable on a host, and why (not), as facts
description:
  - Runs C(aufsctl check --json) on the managed host and returns its verdict as the C(aufs) fact.
  - The verdict is C(usable) (aufs is registered with the kernel), C(loadable) (its module is on
    disk), C(installable) (an install method works here, named in C(method)) or C(blocked), with
    the reason and the ways out aufsctl gives.
  - Reads only; never changes the host. aufsctl's exit codes 0, 3 and 4 are verdicts, not
    failures; any other exit fails the task with aufsctl's own message and exit code.
version_added: 0.1.0
author:
  - aufsctl maintainers (@aufsctl)
requirements:
  - aufsctl on the managed host (the aufsctl Debian package)
attributes:
  check_mode:
    support: full
    description: Nothing is changed in any mode.
  diff_mode:
    support: none
    description: Facts only.
  facts:
    support: full
    description: Sets the C(aufs) fact.
options:
  kernel:
    description:
      - Judge this kernel release instead of the running one (C(aufsctl check --kernel)), for
        example the kernel the next boot starts.
    type: str
  root:
    description:
      - Read every host file under this directory (C(aufsctl check --root)), for a mounted image.
    type: path
    default: /
  executable:
    description:
      - The aufsctl binary; by default C(aufsctl) on the PATH, C(/usr/local/bin) or C(/usr/bin).
    type: path
seealso:
  - module: aufsctl.aufs.aufs_install
  - module: aufsctl.aufs.aufs_mount
'''

EXAMPLES = r'''
- name: Can this host mount aufs?
  aufsctl.aufs.aufs_facts:

- name: Install aufs where the verdict names a method
  aufsctl.aufs.aufs_install:
    state: present
  when: ansible_facts.aufs.verdict == 'installable'

- name: The union of the walk-through, through overlay where aufs is blocked
  aufsctl.aufs.aufs_mount:
    path: /srv/walk/mnt
    branches:
      - {path: /srv/walk/container, perm: rw}
      - {path: /srv/walk/image1, perm: ro}
      - {path: /srv/walk/image2, perm: ro}
    fallback: "{{ 'overlay' if ansible_facts.aufs.verdict == 'blocked' else 'none' }}"
    state: ephemeral
'''

RETURN = r'''
ansible_facts:
  description: The facts set.
  returned: always
  type: complex
  contains:
    aufs:
      description: What C(aufsctl check --json) found (schema C(aufsctl.check/1)).
      returned: always
      type: complex
      contains:
        verdict:
          description: C(usable), C(loadable), C(installable) or C(blocked).
          type: str
          sample: blocked
        usable:
          description: Whether aufs is registered with the running kernel now.
          type: bool
          sample: false
        method:
          description: The install method that works here (C(dkms), C(kernel-ml-aufs), C(ubuntu-extra)).
          type: str
          returned: when the verdict is installable
          sample: dkms
        reasons:
          description: The verdict's reason, then aufsctl's warnings.
          type: list
          elements: str
          sample: ["kernel 6.1.0-18-amd64 does not carry aufs's patches: it exports 0 of the 21 symbols"]
        ways_out:
          description: What aufsctl says can be done about it.
          type: list
          elements: str
        module:
          description: The aufs module as libkmod sees it (path, state, vermagic, signer, blacklist lines).
          type: dict
        kernel:
          description: The kernel judged (release, flavour, whether it is running).
          type: dict
        next_boot:
          description: The kernel the next boot starts and whether it has aufs.
          type: dict
          returned: when aufsctl could tell
        exit_code:
          description: aufsctl check's exit code (0 usable, 3 loadable or installable, 4 blocked).
          type: int
          sample: 4
        report:
          description: The whole C(aufsctl check --json) document.
          type: dict
'''

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.aufsctl.aufs.plugins.module_utils.aufsctl import (
    COMMON_ARGS, EXIT_AVAILABLE, EXIT_BLOCKED, EXIT_OK, Aufsctl,
)


def facts_from_report(doc):
    """The aufs fact from an aufsctl.check/1 document."""
    verdict = doc.get('verdict') or {}
    facts = doc.get('facts') or {}
    result = dict(
        verdict=verdict.get('state'),
        usable=verdict.get('state') == 'usable',
        reasons=[r for r in [verdict.get('reason')] if r] + list(doc.get('warnings') or []),
        ways_out=list(verdict.get('waysOut') or []),
        module=facts.get('module') or {},
        kernel=facts.get('kernel') or {},
        exit_code=doc.get('exitCode'),
        report=doc,
    )
    if verdict.get('method'):
        result['method'] = verdict['method']
    next_boot = facts.get('nextBoot') or {}
    if next_boot.get('release'):
        result['next_boot'] = next_boot
    return result


def main():
    module = AnsibleModule(
        argument_spec=dict(
            kernel=dict(type='str'),
            root=dict(type='path', default='/'),
            **COMMON_ARGS
        ),
        supports_check_mode=True,
    )
    aufsctl = Aufsctl(module)
    args = ['check', '--json', '--root', module.params['root']]
    if module.params['kernel']:
        args += ['--kernel', module.params['kernel']]
    dummy, doc = aufsctl.run_json(args, ok_codes=(EXIT_OK, EXIT_AVAILABLE, EXIT_BLOCKED))
    module.exit_json(changed=False, ansible_facts=dict(aufs=facts_from_report(doc)))


if __name__ == '__main__':
    main()

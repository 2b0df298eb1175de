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
    and ways out; nothing was changed, or what the run had applied was rolled back
    (C(on_failure=rolledBack)), for instance when no aufs branch built in the trial build of
    C(build=true). With C(keep_on_failure=true) a refusal that came after the run changed the host
    (packages it installed) is exit 4 too, with C(on_failure=kept) and C(changed=true).
  - A partial install (exit 6) fails the task with aufsctl's message and the failed step
    (C(failed_step)), and C(changed=true); what the run applied stays on the host, either because
    C(keep_on_failure=true) asked for it (C(on_failure=kept)) or because the rollback could not finish
    (C(on_failure=rollbackFailed)); C(state=absent) (C(aufsctl uninstall)) undoes it.
  - A step that failed and was rolled back (exit 1, C(on_failure=rolledBack), the undos in C(undone)) and
    every other failure pass aufsctl's own one-line message and exit code through (C(rc)).
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
  build:
    description:
      - dkms, compile aufs against the kernel's headers in a scratch directory before changing
        anything (C(--build)), trying the branches that could serve the kernel (aufsX.Y.Z, aufsX.Y,
        then aufsX.x-rcN), and install the branch that built. When none builds the task fails with exit
        4 (blocked) and the compiler's first errors, and the host is unchanged.
      - In check mode only the trial build runs (C(--dry-run --build)); it changes nothing on the
        host but takes as long as a build.
    type: bool
    default: false
    version_added: 0.3.0
  all_kernels:
    description:
      - dkms, also build aufs for every other installed kernel of the same X.Y that has headers
        (C(--all-kernels)).
    type: bool
    default: false
    version_added: 0.3.0
  keep_on_failure:
    description:
      - Leave what a failed run applied in place (C(--keep-on-failure)) instead of rolling it back;
        the task then fails with exit 6 and C(on_failure=kept), and C(state=absent) undoes what was
        kept.
      - By default a failed run rolls back every step it applied in that run.
    type: bool
    default: false
    version_added: 0.3.0
  mok_password_hash:
    description:
      - dkms on a Secure Boot host, a file on the managed host with the password hash for
        C(mokutil --import) (made by C(mokutil --generate-hash > FILE)), so that no one has to type
        it (C(--mok-password-hash)). Without it mokutil asks on the terminal, which a task does not
        have.
    type: path
    version_added: 0.3.0
  allow_unsigned_kernel:
    description:
      - kernel-ml-aufs on a Secure Boot host, make the kernel the GRUB default even when its image is
        unsigned (C(--allow-unsigned-kernel)); shim will not boot it while Secure Boot is on.
    type: bool
    default: false
    version_added: 0.3.0
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

- name: Build aufs for every installed kernel, after a trial build that shows a branch compiles
  aufsctl.aufs.aufs_install:
    method: dkms
    build: true
    all_kernels: true
    mok_password_hash: /root/mok.hash
  register: aufs

- name: Keep a failed install in place to look at it (undo it later with state=absent)
  aufsctl.aufs.aufs_install:
    method: dkms
    keep_on_failure: true

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
on_failure:
  description: What became of the run's changes after a failed step (C(onFailure) of the report),
    C(rolledBack) (every change of this run undone, the host as before), C(kept) (C(keep_on_failure),
    exit 6) or C(rollbackFailed) (exit 6, C(state=absent) undoes the rest).
  returned: when a step failed after the run had changed the host
  type: str
  sample: rolledBack
  version_added: 0.3.0
undone:
  description: The undos a rollback ran, newest first.
  returned: when a failed run was rolled back (or its rollback stopped)
  type: list
  elements: str
  version_added: 0.3.0
failed_step:
  description: The step that failed, as in C(steps).
  returned: on exit 6 (partially applied)
  type: dict
transcript:
  description: The run's plain transcript on the managed host (C(/var/log/aufsctl/install.log)).
  returned: when aufsctl kept one (an applied run)
  type: str
  sample: /var/log/aufsctl/install.log
  version_added: 0.3.0
mok_enrolment:
  description: A signing key waiting for MokManager (C(mokEnrolment) of the report), C(certificate),
    C(subject), C(keyID), C(state) (C(staged) or C(pending)) and C(next), what to do.
  returned: when a key waits for enrolment
  type: dict
  version_added: 0.3.0
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
    if params.get('mok_password_hash'):
        args += ['--mok-password-hash', params['mok_password_hash']]
    for option, flag in (('allow_unsigned_kernel', '--allow-unsigned-kernel'), ('build', '--build'),
                         ('all_kernels', '--all-kernels'), ('keep_on_failure', '--keep-on-failure')):
        if params.get(option):
            args.append(flag)
    return args


# The report's keys a task returns, under Ansible's snake_case names.
REPORT_KEYS = (('method', 'method'), ('kernel', 'kernel'), ('steps', 'steps'), ('afterwards', 'afterwards'),
               ('notes', 'notes'), ('source', 'source'), ('message', 'message'), ('onFailure', 'on_failure'),
               ('undone', 'undone'), ('transcript', 'transcript'), ('mokEnrolment', 'mok_enrolment'))


def report_fields(doc):
    """The keys of an aufsctl.install/2 report that the task returns, as far as the report has them."""
    return dict((name, doc[key]) for key, name in REPORT_KEYS if key in doc)


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
        extra = dict(changed=False)
        if isinstance(doc, dict):
            extra.update(report_fields(doc))
            extra.update(steps=doc.get('steps', []), report=doc)
        if rc == EXIT_BLOCKED:
            extra['blocked'] = True
        elif rc == EXIT_PARTIAL:
            failed = [s for s in (doc or {}).get('steps') or [] if s.get('status') == 'failed']
            if failed:
                extra['failed_step'] = failed[0]
        elif rc == EXIT_AVAILABLE:
            extra['available'] = True
        msg = None
        # What the run applied stays (exit 6, or a refusal after changes with keep_on_failure, which
        # aufsctl reports as exit 4 with onFailure=kept): the host changed, and the task says so.
        if not module.check_mode and (rc == EXIT_PARTIAL or extra.get('on_failure') in ('kept', 'rollbackFailed')):
            extra['changed'] = True
            msg = message(rc, out, err, doc)
            if 'uninstall' not in msg:
                msg += '; what this run applied stays on the host (state=absent undoes it)'
        aufsctl.fail(rc, out, err, doc if isinstance(doc, dict) else None, msg=msg, **extra)
    result = dict(
        changed=changed_from_report(doc, module.check_mode),
        reboot_required=rc == EXIT_REBOOT or bool(doc.get('rebootRequired')),
        rc=rc,
        report=doc,
    )
    result.update(report_fields(doc))
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
            build=dict(type='bool', default=False),
            all_kernels=dict(type='bool', default=False),
            keep_on_failure=dict(type='bool', default=False),
            mok_password_hash=dict(type='path', no_log=False),  # a file's path; the hash stays in the file
            allow_unsigned_kernel=dict(type='bool', default=False),
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

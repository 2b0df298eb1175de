// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN module for aufsctl's end-to-end tests.
 *
 * NOT aufs. It registers a filesystem type named "aufs" whose mounts are an
 * empty directory: it unions nothing. It keeps the branch list that mounts and
 * remounts give it and shows it where aufs 6.1 does (`si=<id>` in mountinfo,
 * /sys/fs/aufs/si_<id>/br<N>), with aufs's checks and kernel-log lines, so
 * that tests read a union the way they would on real aufs.
 */

#include <linux/module.h>
#include <linux/init.h>
#include "aufs.h"

int au_brs = 1;
MODULE_PARM_DESC(brs, "use <sysfs>/fs/aufs/si_*/brN (as aufs's brs; 0: br: in mountinfo)");
module_param_named(brs, au_brs, int, 0444);

int au_branch_max = 511;
MODULE_PARM_DESC(branch_max, "branches per union, like aufs's CONFIG_AUFS_BRANCH_MAX_* (default 511)");
module_param_named(branch_max, au_branch_max, int, 0444);

bool au_trace_sysfs;
MODULE_PARM_DESC(trace_sysfs, "record si_* reads and kill_sb in /proc/fs/aufs/standin_trace (not in aufs)");
module_param_named(trace_sysfs, au_trace_sysfs, bool, 0644);

unsigned int au_kill_delay_ms;
MODULE_PARM_DESC(kill_delay_ms, "sleep in kill_sb while the superblock is gone and si_* is not (not in aufs)");
module_param_named(kill_delay_ms, au_kill_delay_ms, uint, 0644);

static int __init aufs_init(void)
{
	int err;

	err = sysaufs_init();
	if (err)
		return err;
	err = register_filesystem(&aufs_fs_type);
	if (err) {
		sysaufs_fin();
		return err;
	}
	pr_info(AUFS_VERSION " test stand-in registered (unions nothing)\n");
	return 0;
}

static void __exit aufs_exit(void)
{
	unregister_filesystem(&aufs_fs_type);
	sysaufs_fin();
}

module_init(aufs_init);
module_exit(aufs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("aufsctl tests");
MODULE_DESCRIPTION("aufs test stand-in: NOT aufs, unions nothing; keeps a branch list and shows it where aufs does");
MODULE_VERSION(AUFS_VERSION);
MODULE_ALIAS_FS(AUFS_NAME);

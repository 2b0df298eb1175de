// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN module for aufsctl's end-to-end tests.
 *
 * NOT aufs. It registers a filesystem type named "aufs" whose mounts are an
 * empty directory: it unions nothing. It only checks that branch paths exist,
 * keeps the option strings it receives and shows them in mountinfo, so that
 * tests can see exactly what a tool passed to mount(2) and remount.
 */

#include <linux/module.h>
#include <linux/init.h>
#include "aufs.h"

static int __init aufs_init(void)
{
	int err;

	err = register_filesystem(&aufs_fs_type);
	if (!err)
		pr_info(AUFS_VERSION " test stand-in registered (unions nothing)\n");
	return err;
}

static void __exit aufs_exit(void)
{
	unregister_filesystem(&aufs_fs_type);
}

module_init(aufs_init);
module_exit(aufs_exit);

MODULE_LICENSE("GPL");
MODULE_AUTHOR("aufsctl tests");
MODULE_DESCRIPTION("aufs test stand-in: NOT aufs, unions nothing; registers fs type aufs and shows the mount options it received");
MODULE_VERSION(AUFS_VERSION);
MODULE_ALIAS_FS(AUFS_NAME);

// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: filesystem type, superblock, fs_context.
 *
 * A mount is an empty root directory plus a branch list (branch.c) shown
 * where aufs shows it: mountinfo's super options are `si=<id>` and the options
 * that differ from aufs's defaults (with brs=0 also `br:` and the list, last),
 * the branches are in /sys/fs/aufs/si_<id>/ (sysfs.c).
 */

#include <linux/delay.h>
#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>
#include "aufs.h"

static int aufs_show_options(struct seq_file *m, struct dentry *dentry)
{
	struct au_sbinfo *sbinfo = au_sbi(dentry->d_sb);
	unsigned int f;
	char perm[AU_PERM_STR];
	int i;

	down_read(&sbinfo->si_rwsem);
	seq_printf(m, ",si=%lx", au_si_id(sbinfo));
	if (!sbinfo->si_xino)
		seq_puts(m, ",noxino");
	f = sbinfo->si_flags ^ AU_F_DEF;	/* what differs from the default */
	if (f & AU_F_TRUNC_XINO)
		seq_printf(m, ",%strunc_xino", sbinfo->si_flags & AU_F_TRUNC_XINO ? "" : "no");
	if (sbinfo->si_udba)
		seq_printf(m, ",udba=%s", sbinfo->si_udba);
	if (f & AU_F_PLINK)
		seq_printf(m, ",%splink", sbinfo->si_flags & AU_F_PLINK ? "" : "no");
	if (f & AU_F_DIO)
		seq_printf(m, ",%sdio", sbinfo->si_flags & AU_F_DIO ? "" : "no");
	if (f & AU_F_DIRPERM1)
		seq_printf(m, ",%sdirperm1", sbinfo->si_flags & AU_F_DIRPERM1 ? "" : "no");
	for (i = 0; i < ARRAY_SIZE(sbinfo->si_valued); i++)
		if (sbinfo->si_valued[i]) {
			seq_putc(m, ',');
			seq_escape(m, sbinfo->si_valued[i], au_esc_chars);
		}
	if (f & AU_F_SUM)
		seq_printf(m, ",%ssum", sbinfo->si_flags & AU_F_SUM ? "" : "no");
	if (f & AU_F_WARN_PERM)
		seq_printf(m, ",%swarn_perm", sbinfo->si_flags & AU_F_WARN_PERM ? "" : "no");
	if (f & AU_F_VERBOSE)
		seq_printf(m, ",%sverbose", sbinfo->si_flags & AU_F_VERBOSE ? "" : "no");
	if (!au_brs) {
		/* aufs prints the branch list last */
		seq_puts(m, ",br:");
		for (i = 0; i < sbinfo->si_nbr; i++) {
			seq_path(m, &sbinfo->si_branch[i]->br_path, au_esc_chars);
			au_optstr_br_perm(perm, sbinfo->si_branch[i]->br_perm);
			seq_printf(m, "=%s%s", perm, i + 1 < sbinfo->si_nbr ? ":" : "");
		}
	}
	up_read(&sbinfo->si_rwsem);
	return 0;
}

static const struct super_operations aufs_sop = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.show_options	= aufs_show_options,
};

static void au_inode_init_times(struct inode *inode)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
	simple_inode_init_ts(inode);
#elif LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
	inode->i_atime = inode->i_mtime = inode_set_ctime_current(inode);
#else
	inode->i_atime = inode->i_mtime = inode->i_ctime = current_time(inode);
#endif
}

static int au_fsctx_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct au_fsctx *a = fc->fs_private;
	struct au_sbinfo *sbinfo;
	struct inode *inode;
	int err;

	sbinfo = kzalloc(sizeof(*sbinfo), GFP_KERNEL);
	if (!sbinfo)
		return -ENOMEM;
	init_rwsem(&sbinfo->si_rwsem);
	sbinfo->si_flags = AU_F_DEF;
	sbinfo->si_last_br_id = au_branch_max / 2;
	err = sysaufs_si_init(sbinfo);
	if (err) {
		kobject_put(&sbinfo->si_kobj);	/* frees sbinfo */
		return err;
	}
	sbinfo->si_sb = sb;
	sb->s_fs_info = sbinfo;
	sb->s_magic = AUFS_SUPER_MAGIC;
	sb->s_op = &aufs_sop;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;
	sb->s_stack_depth = 1;		/* as aufs: not a branch of another stack */

	inode = new_inode(sb);
	if (!inode)
		return -ENOMEM;
	inode->i_ino = 2;	/* AUFS_ROOT_INO */
	inode->i_mode = S_IFDIR | 0755;
	inode->i_op = &simple_dir_inode_operations;
	inode->i_fop = &simple_dir_operations;
	set_nlink(inode, 2);
	au_inode_init_times(inode);
	sb->s_root = d_make_root(inode);
	if (!sb->s_root)
		return -ENOMEM;

	down_write(&sbinfo->si_rwsem);
	err = au_opts_mount(sb, a);
	if (!err)
		sysaufs_brs_add(sbinfo);
	up_write(&sbinfo->si_rwsem);
	return au_cvt_err(err);
}

static int au_fsctx_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, au_fsctx_fill_super);
}

static int au_fsctx_reconfigure(struct fs_context *fc)
{
	struct super_block *sb = fc->root->d_sb;
	struct au_sbinfo *sbinfo = au_sbi(sb);
	int err;

	/* the sysfs files are renumbered: a read meanwhile gets EBUSY, as with aufs */
	down_write(&sbinfo->si_rwsem);
	sysaufs_brs_del(sbinfo);
	err = au_opts_remount(sb, fc->fs_private, fc->sb_flags);
	sysaufs_brs_add(sbinfo);
	up_write(&sbinfo->si_rwsem);
	return au_cvt_err(err);
}

static void au_fsctx_free(struct fs_context *fc)
{
	struct au_fsctx *a = fc->fs_private;

	if (a) {
		au_ops_free(a);
		kfree(a);
	}
}

static const struct fs_context_operations au_fsctx_ops = {
	.free			= au_fsctx_free,
	.parse_param		= au_fsctx_parse_param,
	.parse_monolithic	= au_fsctx_parse_monolithic,
	.get_tree		= au_fsctx_get_tree,
	.reconfigure		= au_fsctx_reconfigure,
};

static int aufs_fsctx_init(struct fs_context *fc)
{
	struct au_fsctx *a;

	a = kzalloc(sizeof(*a), GFP_KERNEL);
	if (!a)
		return -ENOMEM;
	fc->fs_private = a;
	fc->ops = &au_fsctx_ops;
	return 0;
}

static void aufs_kill_sb(struct super_block *sb)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);

	if (sbinfo) {
		/* aufs clears this before its sysfs entries go: the window of its oops */
		down_write(&sbinfo->si_rwsem);
		sbinfo->si_sb = NULL;
		up_write(&sbinfo->si_rwsem);
		au_trace("kill-begin si_%lx", au_si_id(sbinfo));
		if (au_kill_delay_ms)
			msleep(au_kill_delay_ms);
	}
	kill_anon_super(sb);
	if (sbinfo)
		kobject_put(&sbinfo->si_kobj);	/* the directory goes, then sbinfo */
}

struct file_system_type aufs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= AUFS_NAME,
	.init_fs_context	= aufs_fsctx_init,
	.kill_sb		= aufs_kill_sb,
};

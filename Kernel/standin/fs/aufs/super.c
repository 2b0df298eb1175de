// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: filesystem type, superblock, fs_context.
 *
 * A mount creates an empty root directory. The option string received by
 * mount(2) (legacy monolithic data) or fsconfig(2) is checked (branch paths
 * must exist, see opts.c), kept, and shown verbatim in /proc/self/mountinfo;
 * each remount appends its options to the kept string, comma-joined.
 */

#include <linux/mm.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/version.h>
#include "aufs.h"

static int au_show_options(struct seq_file *m, struct dentry *root)
{
	struct au_sbinfo *sbinfo = root->d_sb->s_fs_info;

	mutex_lock(&sbinfo->si_mtx);
	if (sbinfo->si_opts && *sbinfo->si_opts) {
		seq_putc(m, ',');
		/* mountinfo fields are space separated: escape like the VFS does */
		seq_escape(m, sbinfo->si_opts, " \t\n\\");
	}
	mutex_unlock(&sbinfo->si_mtx);
	return 0;
}

static const struct super_operations au_sop = {
	.statfs		= simple_statfs,
	.drop_inode	= generic_delete_inode,
	.show_options	= au_show_options,
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

static int au_fill_super(struct super_block *sb, struct fs_context *fc)
{
	struct au_fsctx *ctx = fc->fs_private;
	struct au_sbinfo *sbinfo;
	struct inode *inode;

	sbinfo = kzalloc(sizeof(*sbinfo), GFP_KERNEL);
	if (!sbinfo)
		return -ENOMEM;
	mutex_init(&sbinfo->si_mtx);
	sbinfo->si_opts = ctx->opts;	/* take ownership */
	ctx->opts = NULL;
	sb->s_fs_info = sbinfo;

	sb->s_magic = AUFS_SUPER_MAGIC;
	sb->s_op = &au_sop;
	sb->s_maxbytes = MAX_LFS_FILESIZE;
	sb->s_blocksize = PAGE_SIZE;
	sb->s_blocksize_bits = PAGE_SHIFT;
	sb->s_time_gran = 1;

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
	return 0;
}

/* mount(2) data: at most one page, and the VFS NUL-terminates it at PAGE_SIZE-1 */
static int au_parse_monolithic(struct fs_context *fc, void *data)
{
	struct au_fsctx *ctx = fc->fs_private;
	const char *opts = data;
	char *shown;
	size_t len;
	int err;

	if (!opts)
		return 0;
	len = strnlen(opts, PAGE_SIZE);
	if (len >= PAGE_SIZE - 1) {
		/* the string was (or may have been) cut by the page limit */
		AuErr("mount data fills a whole page (%zu bytes), refusing a possibly truncated option string\n",
		      len);
		return -EINVAL;
	}
	err = au_opts_parse(opts, &shown);
	if (!err)
		err = au_str_append(&ctx->opts, shown, AU_OPTS_KEPT_MAX);
	kfree(shown);
	return err;
}

/* fsconfig(2): one "key[=value]" at a time */
static int au_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	struct au_fsctx *ctx = fc->fs_private;
	char *opt, *shown;
	int err;

	if (!strcmp(param->key, "source"))
		return -ENOPARAM;	/* the VFS keeps it */
	/*
	 * Like aufs: fsconfig(2) keys are option names. util-linux >= 2.39
	 * splits "br:/a=rw:/b" at its first '=', so the key is "br:/a", which
	 * aufs refuses ("Unknown parameter"); the legacy mount(2) path accepts br:.
	 */
	if (strchr(param->key, '/') || strchr(param->key, ':'))
		return invalf(fc, "aufs: Unknown parameter '%s'", param->key);
	switch (param->type) {
	case fs_value_is_flag:
		opt = kstrdup(param->key, GFP_KERNEL);
		break;
	case fs_value_is_string:
		opt = kasprintf(GFP_KERNEL, "%s=%s", param->key, param->string);
		break;
	default:
		return invalf(fc, "aufs: %s: only string values are supported",
			      param->key);
	}
	if (!opt)
		return -ENOMEM;
	err = au_opts_parse(opt, &shown);
	if (!err)
		err = au_str_append(&ctx->opts, shown, AU_OPTS_KEPT_MAX);
	kfree(shown);
	kfree(opt);
	return err;
}

static int au_get_tree(struct fs_context *fc)
{
	return get_tree_nodev(fc, au_fill_super);
}

static int au_reconfigure(struct fs_context *fc)
{
	struct au_fsctx *ctx = fc->fs_private;
	struct au_sbinfo *sbinfo = fc->root->d_sb->s_fs_info;
	int err;

	/* options were checked in parse_*; append them to what mountinfo shows */
	mutex_lock(&sbinfo->si_mtx);
	err = au_str_append(&sbinfo->si_opts, ctx->opts, AU_OPTS_KEPT_MAX);
	mutex_unlock(&sbinfo->si_mtx);
	return err;
}

static void au_free_fc(struct fs_context *fc)
{
	struct au_fsctx *ctx = fc->fs_private;

	if (ctx) {
		kfree(ctx->opts);
		kfree(ctx);
	}
}

static const struct fs_context_operations au_ctx_ops = {
	.free			= au_free_fc,
	.parse_param		= au_parse_param,
	.parse_monolithic	= au_parse_monolithic,
	.get_tree		= au_get_tree,
	.reconfigure		= au_reconfigure,
};

static int au_init_fs_context(struct fs_context *fc)
{
	struct au_fsctx *ctx;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	fc->fs_private = ctx;
	fc->ops = &au_ctx_ops;
	return 0;
}

static void au_kill_sb(struct super_block *sb)
{
	struct au_sbinfo *sbinfo = sb->s_fs_info;

	kill_anon_super(sb);
	if (sbinfo) {
		kfree(sbinfo->si_opts);
		kfree(sbinfo);
	}
}

struct file_system_type aufs_fs_type = {
	.owner			= THIS_MODULE,
	.name			= AUFS_NAME,
	.init_fs_context	= au_init_fs_context,
	.kill_sb		= au_kill_sb,
};

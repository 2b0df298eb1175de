// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: the branch list and the xino path.
 *
 * The operations parsed from a mount or remount are applied in order, with the
 * checks aufs makes and its kernel-log lines: a duplicate, too many branches,
 * a bad index, a branch inside the union, on a filesystem aufs refuses, on a
 * stacked one, writable on a read-only mount, overlapping another branch. On a
 * remount, as in aufs, adding a branch twice and del=/mod= of a path that is no
 * branch succeed without a change, and the last branch cannot be deleted
 * (EBUSY). A branch holds its path, as aufs holds its branches. Nothing is
 * unioned: the union's root stays an empty directory.
 */

#include <linux/magic.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "aufs.h"

#define AU_CONFIGFS_MAGIC	0x62656570
#define AU_XFS_MAGIC		0x58465342
#define AU_NILFS_MAGIC		0x3434
#define AU_HFSPLUS_MAGIC	0x482b
#ifndef UBIFS_SUPER_MAGIC
#define UBIFS_SUPER_MAGIC	0x24051905
#endif

int au_br_index(struct au_sbinfo *sbinfo, struct dentry *h_root)
{
	int i;

	for (i = 0; i < sbinfo->si_nbr; i++)
		if (sbinfo->si_branch[i]->br_path.dentry == h_root)
			return i;
	return -1;
}

static int au_new_br_id(struct au_sbinfo *sbinfo)
{
	int i, id, b;

	for (i = 0; i <= au_branch_max; i++) {
		id = ++sbinfo->si_last_br_id;
		for (b = 0; b < sbinfo->si_nbr; b++)
			if (sbinfo->si_branch[b]->br_id == id)
				break;
		if (id > 0 && b == sbinfo->si_nbr)
			return id;
	}
	return -1;
}

/* the filesystems aufs refuses as a branch (no CONFIG_AUFS_BR_RAMFS) */
static bool au_test_fs_unsupported(struct super_block *sb)
{
	switch (sb->s_magic) {
	case RAMFS_MAGIC:
	case PROC_SUPER_MAGIC:
	case SYSFS_MAGIC:
	case AU_CONFIGFS_MAGIC:
	case DEBUGFS_MAGIC:
	case SECURITYFS_MAGIC:
	case XENFS_SUPER_MAGIC:
	case ECRYPTFS_SUPER_MAGIC:
	case AUFS_SUPER_MAGIC:
		return true;
	}
	return false;
}

/* where aufs will not keep its xino file */
static bool au_test_fs_bad_xino(struct super_block *sb)
{
	if (sb->s_magic != TMPFS_MAGIC && !(sb->s_type->fs_flags & FS_REQUIRES_DEV))
		return true;	/* "remote": neither tmpfs nor on a block device */
	switch (sb->s_magic) {
	case AU_XFS_MAGIC:
	case BTRFS_SUPER_MAGIC:
	case UBIFS_SUPER_MAGIC:
	case AU_HFSPLUS_MAGIC:
	case AUFS_SUPER_MAGIC:
	case ECRYPTFS_SUPER_MAGIC:
	case AU_NILFS_MAGIC:
		return true;
	}
	return false;
}

/*
 * aufs creates its xino file with O_EXCL and unlinks it at once; the stand-in
 * creates nothing but fails where that would: an existing name, a missing
 * directory, a filesystem that cannot hold it.
 */
int au_xino_create(struct super_block *sb, const char *fpath)
{
	struct path path;
	char *dir, *slash;
	int err;

	err = kern_path(fpath, 0, &path);
	if (!err) {
		path_put(&path);
		pr_err("open %s(%d)\n", fpath, -EEXIST);
		return -EEXIST;
	}
	dir = kstrdup(fpath, GFP_KERNEL);
	if (!dir)
		return -ENOMEM;
	slash = strrchr(dir, '/');
	if (slash == dir)
		slash[1] = '\0';
	else if (slash)
		*slash = '\0';
	else
		strscpy(dir, ".", strlen(dir) + 1);
	err = kern_path(dir, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &path);
	kfree(dir);
	if (err) {
		pr_err("open %s(%d)\n", fpath, err);
		return err;
	}
	err = 0;
	if (sb && path.dentry->d_sb == sb) {
		pr_err("%s must be outside\n", fpath);
		err = -EINVAL;
	} else if (au_test_fs_bad_xino(path.dentry->d_sb)) {
		pr_err("xino doesn't support %s(%s)\n", fpath, path.dentry->d_sb->s_type->name);
		err = -EINVAL;
	}
	path_put(&path);
	return err;
}

static int test_br(struct inode *inode, int perm, const char *path)
{
	if ((perm & AU_BR_RW) && IS_RDONLY(inode)) {
		pr_err("write permission for readonly mount or inode, %s\n", path);
		return -EINVAL;
	}
	return 0;
}

static bool test_overlap(struct dentry *adding, struct dentry *h_root)
{
	if (adding == h_root)
		return true;
	if (adding->d_sb != h_root->d_sb)
		return false;
	return is_subdir(adding, h_root) || is_subdir(h_root, adding);
}

/* 0: add it, 1: already a branch (a remount ignores it), <0: refused */
static int test_add(struct super_block *sb, struct au_op *op, int bindex, bool remount)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	struct inode *inode = d_inode(op->path.dentry), *top;
	int bbot = sbinfo->si_nbr - 1, i, err;

	if (bbot >= 0 && au_br_index(sbinfo, op->path.dentry) >= 0) {
		if (remount)
			return 1;
		pr_err("%s duplicated\n", op->name);
		return -EINVAL;
	}
	if (au_branch_max <= bindex || au_branch_max - 1 <= bbot) {
		pr_err("number of branches exceeded %s\n", op->name);
		return -ENOSPC;
	}
	if (bindex < 0 || bbot + 1 < bindex) {
		pr_err("bad index %d\n", bindex);
		return -EDOM;
	}
	if (!inode->i_nlink) {
		pr_err("no existence %s\n", op->name);
		return -ENOENT;
	}
	if (inode->i_sb == sb) {
		pr_err("%s must be outside\n", op->name);
		return -EINVAL;
	}
	if (au_test_fs_unsupported(inode->i_sb)) {
		pr_err("unsupported filesystem, %s (%s)\n", op->name, inode->i_sb->s_type->name);
		return -EINVAL;
	}
	if (inode->i_sb->s_stack_depth) {
		pr_err("already stacked, %s (%s)\n", op->name, inode->i_sb->s_type->name);
		return -EINVAL;
	}
	err = test_br(inode, op->perm, op->name);
	if (err || bbot < 0)
		return err;
	for (i = 0; i <= bbot; i++)
		if (test_overlap(op->path.dentry, sbinfo->si_branch[i]->br_path.dentry)) {
			pr_err("%s is overlapped\n", op->name);
			return -EINVAL;
		}
	top = d_inode(sbinfo->si_branch[0]->br_path.dentry);
	if ((sbinfo->si_flags & AU_F_WARN_PERM) &&
	    ((top->i_mode & S_IALLUGO) != (inode->i_mode & S_IALLUGO) ||
	     !uid_eq(top->i_uid, inode->i_uid) || !gid_eq(top->i_gid, inode->i_gid)))
		pr_warn("uid/gid/perm %s %u/%u/0%o, %u/%u/0%o\n", op->name,
			i_uid_read(inode), i_gid_read(inode), inode->i_mode & S_IALLUGO,
			i_uid_read(top), i_gid_read(top), top->i_mode & S_IALLUGO);
	return 0;
}

static int au_br_add(struct super_block *sb, struct au_op *op, bool remount)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	struct au_branch *br, **array;
	int bindex, err;

	switch (op->type) {
	case AU_OP_APPEND:
		bindex = sbinfo->si_nbr;
		break;
	case AU_OP_PREPEND:
		bindex = 0;
		break;
	default:
		bindex = op->bindex;
	}
	err = test_add(sb, op, bindex, remount);
	if (err)
		return err < 0 ? err : 0;
	br = kzalloc(sizeof(*br), GFP_KERNEL);
	array = krealloc(sbinfo->si_branch, (sbinfo->si_nbr + 1) * sizeof(*array), GFP_KERNEL);
	if (!br || !array) {
		kfree(br);
		if (array)
			sbinfo->si_branch = array;
		return -ENOMEM;
	}
	sbinfo->si_branch = array;
	br->br_path = op->path;
	path_get(&br->br_path);
	br->br_perm = op->perm;
	br->br_id = au_new_br_id(sbinfo);
	memmove(array + bindex + 1, array + bindex, (sbinfo->si_nbr - bindex) * sizeof(*array));
	array[bindex] = br;
	sbinfo->si_nbr++;
	return 0;
}

static int au_br_del(struct super_block *sb, struct au_op *op, bool remount)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	struct au_branch *br;
	int bindex = au_br_index(sbinfo, op->path.dentry);

	if (bindex < 0) {
		if (remount)
			return 0;
		pr_err("%s no such branch\n", op->name);
		return -ENOENT;
	}
	if (sbinfo->si_nbr == 1) {
		if (sbinfo->si_flags & AU_F_VERBOSE)
			pr_info("no more branches left\n");
		return -EBUSY;
	}
	br = sbinfo->si_branch[bindex];
	memmove(sbinfo->si_branch + bindex, sbinfo->si_branch + bindex + 1,
		(sbinfo->si_nbr - bindex - 1) * sizeof(*sbinfo->si_branch));
	sbinfo->si_nbr--;
	path_put(&br->br_path);
	kfree(br);
	return 0;
}

static int au_br_mod(struct super_block *sb, struct au_op *op, bool remount)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	int bindex = au_br_index(sbinfo, op->path.dentry), err;

	if (bindex < 0) {
		if (remount)
			return 0;
		pr_err("%s no such branch\n", op->name);
		return -ENOENT;
	}
	err = test_br(d_inode(op->path.dentry), op->perm, op->name);
	if (!err)
		sbinfo->si_branch[bindex]->br_perm = op->perm;
	return err;
}

static int au_opt_br(struct super_block *sb, struct au_op *op, bool remount)
{
	switch (op->type) {
	case AU_OP_ADD:
	case AU_OP_APPEND:
	case AU_OP_PREPEND:
		return au_br_add(sb, op, remount);
	case AU_OP_DEL:
		return au_br_del(sb, op, remount);
	case AU_OP_MOD:
		return au_br_mod(sb, op, remount);
	default:
		return 0;
	}
}

static void au_set_str(char **dst, const char *src)
{
	kfree(*dst);
	*dst = src ? kstrdup(src, GFP_KERNEL) : NULL;
}

static void au_opt_simple(struct au_sbinfo *sbinfo, struct au_op *op)
{
	switch (op->type) {
	case AU_OP_FLAG:
		if (op->on)
			sbinfo->si_flags |= op->flag;
		else
			sbinfo->si_flags &= ~op->flag;
		break;
	case AU_OP_UDBA:
		au_set_str(&sbinfo->si_udba, strcmp(op->name, "reval") ? op->name : NULL);
		break;
	case AU_OP_VALUED:
		au_set_str(&sbinfo->si_valued[op->slot], op->name);
		break;
	default:
		break;
	}
}

static int au_opt_xino(struct au_sbinfo *sbinfo, struct au_op *op)
{
	if (op->type == AU_OP_XINO) {
		au_set_str(&sbinfo->si_xino, op->name);
		return sbinfo->si_xino ? 1 : -ENOMEM;
	}
	if (op->type == AU_OP_NOXINO) {
		au_set_str(&sbinfo->si_xino, NULL);
		return 1;
	}
	return 0;
}

/* aufs's default: <first writable branch>/.aufs.xino, else /tmp/.aufs.xino */
static int au_xino_def(struct super_block *sb)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	char *page, *p;
	bool on_branch;
	int i, err;

	page = (char *)__get_free_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	p = NULL;
	on_branch = false;
	for (i = 0; i < sbinfo->si_nbr; i++) {
		struct au_branch *br = sbinfo->si_branch[i];

		if ((br->br_perm & AU_BR_RW) && !au_test_fs_bad_xino(br->br_path.dentry->d_sb)) {
			p = d_path(&br->br_path, page, PATH_MAX - sizeof("/" AUFS_XINO_FNAME));
			if (IS_ERR(p)) {
				err = PTR_ERR(p);
				goto out;
			}
			strcat(p, "/" AUFS_XINO_FNAME);
			on_branch = true;
			break;
		}
	}
	if (!on_branch)
		p = AUFS_XINO_DEFPATH;
	err = au_xino_create(on_branch ? sb : NULL, p);
	if (!err) {
		au_set_str(&sbinfo->si_xino, p);
		if (!sbinfo->si_xino)
			err = -ENOMEM;
	}
out:
	free_page((unsigned long)page);
	return err;
}

int au_opts_mount(struct super_block *sb, struct au_fsctx *a)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	bool xino_given = false;
	int i, err;

	/* as aufs: simple options, then every branch, then the xino */
	for (i = 0; i < a->nops; i++)
		au_opt_simple(sbinfo, &a->ops[i]);
	for (i = 0; i < a->nops; i++) {
		err = au_opt_br(sb, &a->ops[i], false);
		if (err)
			return err;
	}
	if (!sbinfo->si_nbr) {
		pr_err("no branches\n");
		return -EINVAL;
	}
	for (i = 0; i < a->nops; i++) {
		err = au_opt_xino(sbinfo, &a->ops[i]);
		if (err < 0)
			return err;
		if (err)
			xino_given = true;
	}
	if (!(sb->s_flags & SB_RDONLY) && !(sbinfo->si_branch[0]->br_perm & AU_BR_RW))
		pr_warn("first branch should be rw\n");
	if (sbinfo->si_flags & AU_F_DIRPERM1)
		pr_warn_once("dirperm1 breaks the protection by the permission bits on the lower branch\n");
	return xino_given ? 0 : au_xino_def(sb);
}

/* operations in order; an error stops the rest, the ones before it stay */
int au_opts_remount(struct super_block *sb, struct au_fsctx *a, unsigned int sb_flags)
{
	struct au_sbinfo *sbinfo = au_sbi(sb);
	int i, err = 0;

	for (i = 0; !err && i < a->nops; i++) {
		au_opt_simple(sbinfo, &a->ops[i]);
		err = au_opt_br(sb, &a->ops[i], true);
		if (!err) {
			err = au_opt_xino(sbinfo, &a->ops[i]);
			if (err > 0)
				err = 0;
		}
	}
	if (!(sb_flags & SB_RDONLY) &&
	    !(sbinfo->si_branch[0]->br_perm & AU_BR_RW))
		pr_warn("first branch should be rw\n");
	return err;
}

void au_br_free_all(struct au_sbinfo *sbinfo)
{
	int i;

	for (i = 0; i < sbinfo->si_nbr; i++) {
		path_put(&sbinfo->si_branch[i]->br_path);
		kfree(sbinfo->si_branch[i]);
	}
	kfree(sbinfo->si_branch);
	sbinfo->si_branch = NULL;
	sbinfo->si_nbr = 0;
}

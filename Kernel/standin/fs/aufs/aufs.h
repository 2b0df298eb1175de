/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aufs TEST STAND-IN (not aufs; unions nothing). See README.md.
 *
 * It shows what aufs 6.1 shows where aufsctl reads it: `si=<id>` in mountinfo,
 * /sys/fs/aufs/si_<id>/{br<N>,brid<N>,xi_path}, a branch list that remounts
 * edit, and aufs's errors and kernel-log lines. Written for aufsctl's tests;
 * no aufs code is in it.
 */
#ifndef __AUFS_STANDIN_H__
#define __AUFS_STANDIN_H__

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/kobject.h>
#include <linux/path.h>
#include <linux/rwsem.h>
#include <linux/sched.h>
#include <linux/sysfs.h>
#include <linux/aufs_type.h>

/* aufs prefixes its messages "aufs <function>:<line>:<comm>[<pid>]: " */
#undef pr_fmt
#define pr_fmt(fmt) AUFS_NAME " %s:%d:%.*s[%d]: " fmt, __func__, __LINE__, \
	(int)sizeof(current->comm), current->comm, current->pid

/* module parameters (module.c) */
extern int au_brs;			/* brs: branches in sysfs (1) or mountinfo (0) */
extern int au_branch_max;		/* branch_max: like CONFIG_AUFS_BRANCH_MAX_* */
extern bool au_trace_sysfs;		/* trace_sysfs: record reads and kill_sb */
extern unsigned int au_kill_delay_ms;	/* kill_delay_ms: widen kill_sb's window */

/* branch permission: one base and attributes, as aufs spells them */
#define AU_BR_RW	0x0001
#define AU_BR_RO	0x0002
#define AU_BR_RR	0x0004
#define AU_BR_BASE	(AU_BR_RW | AU_BR_RO | AU_BR_RR)
#define AU_BR_COO_REG	0x0008
#define AU_BR_COO_ALL	0x0010
#define AU_BR_WH	0x0020		/* ro/rr only */
#define AU_BR_MOO	0x0040		/* rw only */
#define AU_BR_NOLWH	0x0080		/* rw only */
#define AU_BR_CMOO	(AU_BR_COO_REG | AU_BR_COO_ALL | AU_BR_MOO)
#define AU_PERM_STR	32

/* one sysfs attribute of a branch: br<N> or brid<N> */
struct au_brattr {
	struct attribute	attr;
	char			name[16];
	bool			added;
};

struct au_branch {
	struct path		br_path;	/* held, as aufs holds its branches */
	int			br_perm;
	int			br_id;
	struct au_brattr	br_sysfs[2];	/* br<N>, brid<N> */
};

/* per superblock, freed when its kobject (/sys/fs/aufs/si_<id>) goes */
struct au_sbinfo {
	struct kobject		si_kobj;
	struct rw_semaphore	si_rwsem;
	/* NULL from kill_sb on, as in aufs: its sysfs show dereferences it */
	struct super_block	*si_sb;
	struct au_branch	**si_branch;
	int			si_nbr;
	int			si_last_br_id;
	char			*si_xino;	/* NULL: noxino */
	unsigned int		si_flags;	/* AU_F_* */
	char			*si_udba;	/* NULL: reval (the default) */
	char			*si_valued[8];	/* dirwh=, create=, ... as given */
};

#define AU_F_TRUNC_XINO	0x01
#define AU_F_PLINK	0x02
#define AU_F_DIO	0x04
#define AU_F_DIRPERM1	0x08
#define AU_F_SUM	0x10
#define AU_F_WARN_PERM	0x20
#define AU_F_VERBOSE	0x40
#define AU_F_DEF	(AU_F_PLINK | AU_F_WARN_PERM)

/* one parsed option of a mount(2)/fsconfig(2)/remount, applied in order */
enum au_op_type {
	AU_OP_ADD, AU_OP_APPEND, AU_OP_PREPEND, AU_OP_DEL, AU_OP_MOD,
	AU_OP_XINO, AU_OP_NOXINO, AU_OP_FLAG, AU_OP_UDBA, AU_OP_VALUED,
};

struct au_op {
	enum au_op_type	type;
	int		bindex;		/* add */
	int		perm;		/* add/mod; 0 = aufs's default */
	char		*name;		/* the path as given, or the option text */
	struct path	path;		/* add/del/mod: looked up when parsed */
	unsigned int	flag;		/* AU_OP_FLAG */
	bool		on;
	int		slot;		/* AU_OP_VALUED */
};

/* aufs parses one call into a page of option entries; E2BIG past it */
#define AU_OPS_MAX	84

struct au_fsctx {
	struct au_op	ops[AU_OPS_MAX];
	int		nops;
	int		bindex;		/* next br= element's index */
};

/* like aufs: the id is the sbinfo's address masked with a random value */
extern unsigned long au_si_mask;

static inline unsigned long au_si_id(struct au_sbinfo *sbinfo)
{
	return au_si_mask ^ (unsigned long)sbinfo;
}

static inline struct au_sbinfo *au_sbi(struct super_block *sb)
{
	return sb->s_fs_info;
}

/* opts.c */
int au_fsctx_parse_param(struct fs_context *fc, struct fs_parameter *param);
int au_fsctx_parse_monolithic(struct fs_context *fc, void *data);
void au_ops_free(struct au_fsctx *a);
void au_optstr_br_perm(char *str, int perm);
extern const char *au_valued_names[];
int au_cvt_err(int err);

/* branch.c */
int au_opts_mount(struct super_block *sb, struct au_fsctx *a);
int au_opts_remount(struct super_block *sb, struct au_fsctx *a, unsigned int sb_flags);
int au_xino_create(struct super_block *sb, const char *fpath);
void au_br_free_all(struct au_sbinfo *sbinfo);
int au_br_index(struct au_sbinfo *sbinfo, struct dentry *h_root);

/* sysfs.c */
int sysaufs_init(void);
void sysaufs_fin(void);
int sysaufs_si_init(struct au_sbinfo *sbinfo);
void sysaufs_brs_add(struct au_sbinfo *sbinfo);
void sysaufs_brs_del(struct au_sbinfo *sbinfo);
int au_path_escaped(char *buf, size_t size, const struct path *path);
void au_trace(const char *fmt, ...) __printf(1, 2);
extern const char au_esc_chars[];

/* super.c */
extern struct file_system_type aufs_fs_type;

#endif /* __AUFS_STANDIN_H__ */

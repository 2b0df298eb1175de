/* SPDX-License-Identifier: GPL-2.0 */
/*
 * aufs TEST STAND-IN (not aufs; unions nothing). See README.md.
 */
#ifndef __AUFS_STANDIN_H__
#define __AUFS_STANDIN_H__

#include <linux/fs.h>
#include <linux/fs_context.h>
#include <linux/sched.h>
#include <linux/mutex.h>
#include <linux/aufs_type.h>

/* real aufs prefixes its messages with "aufs " via pr_fmt */
#undef pr_fmt
#define pr_fmt(fmt) AUFS_NAME " " fmt

/* like aufs's AuErr(): "aufs func:line:comm[pid]: ..." */
#define AuErr(fmt, ...) \
	pr_err("%s:%d:%.*s[%d]: " fmt, __func__, __LINE__, \
	       (int)sizeof(current->comm), current->comm, \
	       task_pid_nr(current), ##__VA_ARGS__)

/* upper bound for the kept option string (grows with every remount) */
#define AU_OPTS_KEPT_MAX	(64 * 1024)

/* per superblock: the option strings received so far, comma-joined */
struct au_sbinfo {
	struct mutex	si_mtx;
	char		*si_opts;	/* kmalloc'ed, NUL-terminated, may be NULL */
};

/* per fs_context: the option string of this mount(2)/remount/fsconfig */
struct au_fsctx {
	char		*opts;		/* kmalloc'ed or NULL */
};

/* opts.c */
int au_opts_parse(const char *opts, char **out);
int au_str_append(char **dst, const char *src, size_t limit);
int au_str_cat(char **dst, const char *src, size_t n);

/* super.c */
extern struct file_system_type aufs_fs_type;

#endif /* __AUFS_STANDIN_H__ */

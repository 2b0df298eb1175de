// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: option checking.
 *
 * Only the branch paths are looked at: for br=/br:/dirs= (colon-separated
 * "path[=perm]" list), append=/append:, prepend=/prepend:, add=N:/add:N:
 * and ins=N:/ins:N: every path must exist (kern_path()), else the mount or
 * remount is refused with -EINVAL and a log line in aufs's style.
 * Everything else is accepted verbatim and shown in mountinfo.
 */

#include <linux/namei.h>
#include <linux/path.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/ctype.h>
#include "aufs.h"

/*
 * Real aufs reports a missing branch from au_opts_parse() (via its
 * au_opts_parse_add()); name that function in the message, as aufs does.
 */
#define AuParseErr(fmt, ...) \
	pr_err("au_opts_parse:%d:%.*s[%d]: " fmt, __LINE__, \
	       (int)sizeof(current->comm), current->comm, \
	       task_pid_nr(current), ##__VA_ARGS__)

/* "path[=perm]" -> checks "path" */
static int au_opts_check_branch(const char *brspec)
{
	struct path path;
	char *p, *eq;
	int err;

	p = kstrdup(brspec, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	eq = strrchr(p, '=');
	if (eq && eq != p)
		*eq = '\0';

	err = 0;
	if (!*p) {
		AuParseErr("empty branch path in \"%s\"\n", brspec);
		err = -EINVAL;
	} else {
		err = kern_path(p, LOOKUP_FOLLOW, &path);
		if (!err) {
			path_put(&path);
		} else {
			AuParseErr("lookup failed %s (%d)\n", p, err);
			err = -EINVAL;
		}
	}
	kfree(p);
	return err;
}

/* returns the value after "key=" or "key:", or NULL */
static const char *au_opt_val(const char *opt, const char *key)
{
	size_t n = strlen(key);

	if (strncmp(opt, key, n) || (opt[n] != '=' && opt[n] != ':'))
		return NULL;
	return opt + n + 1;
}

static int au_opts_parse_one(char *opt)
{
	const char *v;
	char *list, *br;
	int err;

	v = au_opt_val(opt, "br");
	if (!v)
		v = au_opt_val(opt, "dirs");
	if (v) {
		err = 0;
		list = (char *)v;
		while (!err && (br = strsep(&list, ":")))
			if (*br)
				err = au_opts_check_branch(br);
		return err;
	}

	v = au_opt_val(opt, "append");
	if (!v)
		v = au_opt_val(opt, "prepend");
	if (v)
		return au_opts_check_branch(v);

	v = au_opt_val(opt, "add");
	if (!v)
		v = au_opt_val(opt, "ins");
	if (v) {
		/* "N:path[=perm]" */
		while (isdigit(*v))
			v++;
		if (*v != ':' && *v != '=') {
			AuParseErr("bad index in \"%s\"\n", opt);
			return -EINVAL;
		}
		return au_opts_check_branch(v + 1);
	}
	return 0;
}

/* checks a comma-separated option string; 0 when every branch path exists */
int au_opts_parse(const char *opts)
{
	char *dup, *cur, *opt;
	int err;

	if (!opts || !*opts)
		return 0;
	dup = kstrdup(opts, GFP_KERNEL);
	if (!dup)
		return -ENOMEM;
	err = 0;
	cur = dup;
	while (!err && (opt = strsep(&cur, ",")))
		if (*opt)
			err = au_opts_parse_one(opt);
	kfree(dup);
	return err;
}

/* *dst = *dst + "," + src (or src when *dst is empty) */
int au_str_append(char **dst, const char *src, size_t limit)
{
	size_t old, add;
	char *p;

	if (!src || !*src)
		return 0;
	old = *dst ? strlen(*dst) : 0;
	add = strlen(src);
	if (old + !!old + add + 1 > limit) {
		AuErr("option string would exceed %zu bytes\n", limit);
		return -E2BIG;
	}
	p = krealloc(*dst, old + !!old + add + 1, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	if (old)
		p[old++] = ',';
	memcpy(p + old, src, add + 1);
	*dst = p;
	return 0;
}

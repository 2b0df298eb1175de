// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: option checking.
 *
 * Only the branch paths are looked at: for br=/br:/dirs= (colon-separated
 * "path[=perm]" list), append=/append:, prepend=/prepend:, add=N:/add:N:
 * and ins=N:/ins:N: every path must exist (kern_path()), else the mount or
 * remount is refused with -EINVAL and a log line in aufs's style. Each is
 * kept as the path of the directory it resolved to, as aufs shows branches
 * (so a branch given as /proc/self/fd/N shows as its directory). Everything
 * else is accepted verbatim and shown in mountinfo.
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

/*
 * "path[=perm]": resolves "path" (kern_path(LOOKUP_FOLLOW), as aufs does, so
 * a /proc/self/fd/N magic link reaches the directory that fd holds) and
 * appends what aufs would show for the branch, "<d_path>[=perm]", to *out.
 * A directory removed meanwhile is refused like a failed lookup.
 */
static int au_opts_branch(const char *brspec, char **out)
{
	struct path path;
	char *p, *eq, *buf, *name, *shown;
	int err;

	p = kstrdup(brspec, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	eq = strrchr(p, '=');
	if (eq && eq != p)
		*eq++ = '\0';
	else
		eq = NULL;

	err = 0;
	buf = NULL;
	if (!*p) {
		AuParseErr("empty branch path in \"%s\"\n", brspec);
		err = -EINVAL;
		goto out;
	}
	err = kern_path(p, LOOKUP_FOLLOW, &path);
	if (err) {
		AuParseErr("lookup failed %s (%d)\n", p, err);
		err = -EINVAL;
		goto out;
	}
	buf = kmalloc(PATH_MAX, GFP_KERNEL);
	name = buf ? d_path(&path, buf, PATH_MAX) : ERR_PTR(-ENOMEM);
	if (IS_ERR(name)) {
		err = PTR_ERR(name);
	} else if (d_unlinked(path.dentry)) {
		/* as aufs's test_add() says it of a removed directory, naming what it was given */
		AuErr("no existence %s\n", p);
		err = -EINVAL;
	} else {
		shown = eq ? kasprintf(GFP_KERNEL, "%s=%s", name, eq) : kstrdup(name, GFP_KERNEL);
		err = shown ? 0 : -ENOMEM;
		if (shown) {
			err = au_str_cat(out, shown, AU_OPTS_KEPT_MAX);
			kfree(shown);
		}
	}
	path_put(&path);
out:
	kfree(buf);
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

/* one option: checked, and appended to *out as aufs would show it */
static int au_opts_parse_one(char *opt, char **out)
{
	const char *v;
	char *list, *br;
	int err, first;

	v = au_opt_val(opt, "br");
	if (!v)
		v = au_opt_val(opt, "dirs");
	if (v) {
		err = au_str_cat(out, opt, v - opt);
		list = (char *)v;
		first = 1;
		while (!err && (br = strsep(&list, ":")))
			if (*br) {
				if (!first)
					err = au_str_cat(out, ":", 1);
				if (!err)
					err = au_opts_branch(br, out);
				first = 0;
			}
		return err;
	}

	v = au_opt_val(opt, "append");
	if (!v)
		v = au_opt_val(opt, "prepend");
	if (v) {
		err = au_str_cat(out, opt, v - opt);
		return err ? err : au_opts_branch(v, out);
	}

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
		err = au_str_cat(out, opt, v + 1 - opt);
		return err ? err : au_opts_branch(v + 1, out);
	}
	return au_str_cat(out, opt, strlen(opt));
}

/*
 * checks a comma-separated option string (0 when every branch path exists)
 * and returns in *out the string to keep: the same options, each branch path
 * as the directory it resolved to (aufs shows branches so, whatever string
 * named them).
 */
int au_opts_parse(const char *opts, char **out)
{
	char *dup, *cur, *opt;
	int err, first;

	*out = NULL;
	if (!opts || !*opts)
		return 0;
	dup = kstrdup(opts, GFP_KERNEL);
	if (!dup)
		return -ENOMEM;
	err = 0;
	cur = dup;
	first = 1;
	while (!err && (opt = strsep(&cur, ",")))
		if (*opt) {
			if (!first)
				err = au_str_cat(out, ",", 1);
			if (!err)
				err = au_opts_parse_one(opt, out);
			first = 0;
		}
	kfree(dup);
	if (err) {
		kfree(*out);
		*out = NULL;
	}
	return err;
}

/* *dst = *dst + the first n bytes of src (no separator) */
int au_str_cat(char **dst, const char *src, size_t n)
{
	size_t old;
	char *p;

	old = *dst ? strlen(*dst) : 0;
	if (old + n + 1 > AU_OPTS_KEPT_MAX)
		return -E2BIG;
	p = krealloc(*dst, old + n + 1, GFP_KERNEL);
	if (!p)
		return -ENOMEM;
	memcpy(p + old, src, n);
	p[old + n] = '\0';
	*dst = p;
	return 0;
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

// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: mount options.
 *
 * Parsed the way aufs 6.1 parses them: mount(2) data is split at commas after
 * `br:`-style colons become `=`, every option (and every fsconfig(2) key) goes
 * through au_fsctx_parse_param(), unknown keys are refused by the VFS
 * ("aufs: Unknown parameter 'x'"). Branch paths are looked up here, when
 * parsed; the resulting operations are applied in order by branch.c.
 */

#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/magic.h>
#include <linux/namei.h>
#include <linux/slab.h>
#include <linux/string.h>
#include "aufs.h"

/* options with a value shown in mountinfo as given (last one wins), in aufs's order */
const char *au_valued_names[] = {
	"create", "cpup", "diropq", "dirwh", "rdcache", "rdblk", "rdhash", NULL
};

/* mount(8) reads little from an errno: aufs turns these into EINVAL (its cvt_err) */
int au_cvt_err(int err)
{
	switch (err) {
	case -ENOENT:
	case -ENOTDIR:
	case -EEXIST:
	case -EIO:
		return -EINVAL;
	}
	return err;
}

/* ---------------------------------------------------------------------- */
/* branch permissions */

struct au_name_bit {
	const char	*name;
	int		bit;
};

static const struct au_name_bit au_brperm[] = {
	{ "rw", AU_BR_RW }, { "ro", AU_BR_RO }, { "rr", AU_BR_RR }, { }
};

/* in the order aufs prints them (fhsm and icex* need CONFIG_AUFS_FHSM/XATTR, off by default) */
static const struct au_name_bit au_brattr[] = {
	{ "coo_reg", AU_BR_COO_REG }, { "coo_all", AU_BR_COO_ALL },
	{ "wh", AU_BR_WH }, { "moo", AU_BR_MOO }, { "nolwh", AU_BR_NOLWH }, { }
};

static int au_name_bit(const struct au_name_bit *t, const char *name)
{
	for (; t->name; t++)
		if (!strcmp(t->name, name))
			return t->bit;
	return 0;
}

static void au_append_attrs(char *str, size_t size, int bits, bool unpin)
{
	const struct au_name_bit *t;

	for (t = au_brattr; t->name; t++) {
		if (unpin && t->bit == AU_BR_WH) {
			strlcat(str, *str ? "+unpin" : "unpin", size);
			unpin = false;
		}
		if (bits & t->bit) {
			if (*str)
				strlcat(str, "+", size);
			strlcat(str, t->name, size);
		}
	}
}

/* "rw", "ro+wh", ...: a base aufs does not know is ro, an unknown attribute ends the list */
static int au_br_perm_val(const char *spec)
{
	char buf[64], bad_str[AU_PERM_STR] = "";
	char *attr, *next;
	int base, bit, attrs = 0, bad;
	bool unpin = false;

	strscpy(buf, spec, sizeof(buf));
	attr = strchr(buf, '+');
	if (attr)
		*attr++ = '\0';
	base = au_name_bit(au_brperm, buf);
	if (!base) {
		pr_warn("ignored branch permission %s\n", spec);
		return AU_BR_RO;
	}
	for (; attr; attr = next) {
		next = strchr(attr, '+');
		if (next)
			*next++ = '\0';
		bit = au_name_bit(au_brattr, attr);
		if (bit) {
			if (bit & AU_BR_CMOO)
				attrs &= ~AU_BR_CMOO;
			attrs |= bit;
		} else if (!strcmp(attr, "unpin")) {
			unpin = true;	/* meaningless since linux 3.18: aufs drops it */
		} else {
			if (next)
				next[-1] = '+';
			pr_warn("ignored branch attribute %s\n", attr);
			break;
		}
	}
	bad = attrs & (base == AU_BR_RW ? AU_BR_WH : (AU_BR_MOO | AU_BR_NOLWH));
	attrs &= ~bad;
	if (bad || unpin) {
		au_append_attrs(bad_str, sizeof(bad_str), bad, unpin);
		pr_warn("ignored branch attribute %s\n", bad_str);
	}
	return base | attrs;
}

void au_optstr_br_perm(char *str, int perm)
{
	const struct au_name_bit *t;
	char attrs[AU_PERM_STR] = "";

	*str = '\0';
	for (t = au_brperm; t->name; t++)
		if (perm & t->bit)
			strscpy(str, t->name, AU_PERM_STR);
	au_append_attrs(attrs, sizeof(attrs), perm & ~AU_BR_BASE, false);
	if (*attrs) {
		strlcat(str, "+", AU_PERM_STR);
		strlcat(str, attrs, AU_PERM_STR);
	}
}

/* squashfs, iso9660, cramfs, romfs: natively read-only, default "rr" */
static bool au_test_fs_rr(struct super_block *sb)
{
	switch (sb->s_magic) {
	case SQUASHFS_MAGIC:
	case ISOFS_SUPER_MAGIC:
	case CRAMFS_MAGIC:
	case CRAMFS_MAGIC_WEND:
	case 0x7275:	/* romfs */
		return true;
	}
	return false;
}

/* ---------------------------------------------------------------------- */
/* parsing */

static struct au_op *au_op_next(struct fs_context *fc)
{
	struct au_fsctx *a = fc->fs_private;
	struct au_op *op;

	if (a->nops >= AU_OPS_MAX)
		return NULL;
	op = &a->ops[a->nops];
	memset(op, 0, sizeof(*op));
	return op;
}

static void au_op_commit(struct fs_context *fc)
{
	struct au_fsctx *a = fc->fs_private;

	a->nops++;
}

/* "path[=perm]" at bindex (append: a dummy 1, prepend: 0) */
static int au_opt_add(struct fs_context *fc, const char *spec, int bindex, enum au_op_type type)
{
	struct au_op *op = au_op_next(fc);
	char *perm;
	int err;

	if (!op)
		return -E2BIG;
	op->name = kstrdup(spec, GFP_KERNEL);
	if (!op->name)
		return -ENOMEM;
	op->perm = AU_BR_RO;
	perm = strchr(op->name, '=');
	if (perm) {
		*perm++ = '\0';
		if (*perm)
			op->perm = au_br_perm_val(perm);
	}
	err = kern_path(op->name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &op->path);
	if (err) {
		pr_err("lookup failed %s (%d)\n", op->name, err);
		kfree(op->name);
		op->name = NULL;
		return -EINVAL;
	}
	if (!perm) {
		/* aufs's default: rr on a natively read-only fs, rw for the top of a rw mount */
		if (au_test_fs_rr(op->path.dentry->d_sb))
			op->perm = AU_BR_RR;
		else if (!bindex && !(fc->sb_flags & SB_RDONLY))
			op->perm = AU_BR_RW;
	}
	op->type = type;
	op->bindex = bindex;
	au_op_commit(fc);
	return 0;
}

/* br=/a=rw:/b=ro: an empty element ends the list, as in aufs */
static int au_opt_br(struct fs_context *fc, char *list)
{
	struct au_fsctx *a = fc->fs_private;
	char *p;
	int err = -EINVAL;

	while ((p = strsep(&list, ":")) && *p) {
		err = au_opt_add(fc, p, a->bindex, AU_OP_ADD);
		if (err)
			break;
		a->bindex++;
	}
	return err;
}

/* "N:path[=perm]" */
static int au_opt_ins(struct fs_context *fc, char *spec)
{
	char *p = strchr(spec, ':');
	int n, err;

	if (!p)
		return invalfc(fc, "bad arg in %s", spec);
	*p++ = '\0';
	err = kstrtoint(spec, 0, &n);
	if (err) {
		errorfc(fc, "bad integer in %s", spec);
		return err;
	}
	return au_opt_add(fc, p, n, AU_OP_ADD);
}

/* del=path, mod=path=perm: the branch is looked up now, found in the union later */
static int au_opt_del_mod(struct fs_context *fc, const char *spec, enum au_op_type type)
{
	struct au_op *op = au_op_next(fc);
	char *perm = NULL;
	int err;

	if (!op)
		return -E2BIG;
	op->name = kstrdup(spec, GFP_KERNEL);
	if (!op->name)
		return -ENOMEM;
	if (type == AU_OP_MOD) {
		perm = strchr(op->name, '=');
		if (!perm) {
			errorfc(fc, "no permission %s", op->name);
			kfree(op->name);
			op->name = NULL;
			return -EINVAL;
		}
		*perm++ = '\0';
	}
	err = kern_path(op->name, LOOKUP_FOLLOW | LOOKUP_DIRECTORY, &op->path);
	if (err) {
		errorfc(fc, "lookup failed %s (%d)", op->name, err);
		kfree(op->name);
		op->name = NULL;
		return err;
	}
	if (perm)
		op->perm = au_br_perm_val(perm);
	op->type = type;
	au_op_commit(fc);
	return 0;
}

static int au_opt_simple(struct fs_context *fc, enum au_op_type type, const char *text,
			 unsigned int flag, bool on, int slot)
{
	struct au_op *op = au_op_next(fc);

	if (!op)
		return -E2BIG;
	if (text) {
		op->name = kstrdup(text, GFP_KERNEL);
		if (!op->name)
			return -ENOMEM;
	}
	op->type = type;
	op->flag = flag;
	op->on = on;
	op->slot = slot;
	au_op_commit(fc);
	return 0;
}

/* boolean options that aufs shows in mountinfo when they differ from its default */
static const struct {
	const char	*name;
	unsigned int	flag;
} au_flag_opts[] = {
	{ "trunc_xino", AU_F_TRUNC_XINO }, { "plink", AU_F_PLINK }, { "dio", AU_F_DIO },
	{ "dirperm1", AU_F_DIRPERM1 }, { "sum", AU_F_SUM }, { "warn_perm", AU_F_WARN_PERM },
	{ "verbose", AU_F_VERBOSE }, { }
};

/* accepted and without effect here: silently, or with aufs's "ignored" warning */
static const char *const au_silent_opts[] = {
	"si", "nodlgt", "relatime", "trunc_xib", "notrunc_xib", "acl", "noacl", "wsum",
	"list_plink", "nodirren", "itrunc_xino", NULL
};
static const char *const au_ignored_opts[] = {
	"dirren", "fhsm_sec", "clean_plink", "debug", "delete", "imap", NULL
};

static bool au_in(const char *const *list, const char *key)
{
	for (; *list; list++)
		if (!strcmp(*list, key))
			return true;
	return false;
}

static int au_valued_slot(const char *key)
{
	int i;

	if (!strcmp(key, "create_policy"))
		key = "create";
	else if (!strcmp(key, "copyup") || !strcmp(key, "copyup_policy"))
		key = "cpup";
	for (i = 0; au_valued_names[i]; i++)
		if (!strcmp(au_valued_names[i], key))
			return i;
	return -1;
}

int au_fsctx_parse_param(struct fs_context *fc, struct fs_parameter *param)
{
	const char *key = param->key;
	bool flag = param->type == fs_value_is_flag;
	char *v = param->type == fs_value_is_string ? param->string : NULL;
	char text[64];
	int i, slot;

	if (au_in(au_silent_opts, key))
		return 0;
	if (au_in(au_ignored_opts, key)) {
		warnfc(fc, "ignored %s", key);
		return 0;
	}
	for (i = 0; au_flag_opts[i].name; i++) {
		const char *n = au_flag_opts[i].name;
		bool no = !strncmp(key, "no", 2) && !strcmp(key + 2, n);

		if (strcmp(key, n) && !no)
			continue;
		if (!flag)
			return invalfc(fc, "Unexpected value for '%s'", key);
		return au_opt_simple(fc, AU_OP_FLAG, NULL, au_flag_opts[i].flag, !no, 0);
	}
	if (!strcmp(key, "v") || !strcmp(key, "quiet") || !strcmp(key, "q") || !strcmp(key, "silent")) {
		if (!flag)
			return invalfc(fc, "Unexpected value for '%s'", key);
		return au_opt_simple(fc, AU_OP_FLAG, NULL, AU_F_VERBOSE, key[0] == 'v', 0);
	}
	if (!strcmp(key, "noxino")) {
		if (!flag)
			return invalfc(fc, "Unexpected value for '%s'", key);
		return au_opt_simple(fc, AU_OP_NOXINO, NULL, 0, false, 0);
	}

	slot = au_valued_slot(key);
	if (slot < 0 && strcmp(key, "br") && strcmp(key, "dirs") && strcmp(key, "add") &&
	    strcmp(key, "ins") && strcmp(key, "append") && strcmp(key, "prepend") &&
	    strcmp(key, "del") && strcmp(key, "mod") && strcmp(key, "xino") && strcmp(key, "udba"))
		return -ENOPARAM;	/* the VFS says "aufs: Unknown parameter '<key>'" */
	if (!v || !*v)
		return invalfc(fc, "Bad value for '%s'", key);

	if (!strcmp(key, "br") || !strcmp(key, "dirs"))
		return au_opt_br(fc, v);
	if (!strcmp(key, "add") || !strcmp(key, "ins"))
		return au_opt_ins(fc, v);
	if (!strcmp(key, "append"))
		return au_opt_add(fc, v, 1, AU_OP_APPEND);
	if (!strcmp(key, "prepend"))
		return au_opt_add(fc, v, 0, AU_OP_PREPEND);
	if (!strcmp(key, "del"))
		return au_opt_del_mod(fc, v, AU_OP_DEL);
	if (!strcmp(key, "mod"))
		return au_opt_del_mod(fc, v, AU_OP_MOD);
	if (!strcmp(key, "xino")) {
		/* aufs opens the xino file while it parses */
		int err = au_xino_create(fc->root ? fc->root->d_sb : NULL, v);

		return err ? err : au_opt_simple(fc, AU_OP_XINO, v, 0, true, 0);
	}
	if (!strcmp(key, "udba")) {
		/* notify needs CONFIG_AUFS_HNOTIFY, off in aufs-standalone's config.mk */
		if (strcmp(v, "none") && strcmp(v, "reval")) {
			errorf(fc, "wrong value, %s", v);
			return -EINVAL;
		}
		return au_opt_simple(fc, AU_OP_UDBA, v, 0, true, 0);
	}
	snprintf(text, sizeof(text), "%s=%s", au_valued_names[slot], v);
	return au_opt_simple(fc, AU_OP_VALUED, text, 0, true, slot);
}

/* these take "name:value" as well as "name=value" (aufs's is_colonopt) */
static const char *const au_colon_opts[] = {
	"br", "add", "ins", "append", "prepend", "del", "mod", NULL
};

int au_fsctx_parse_monolithic(struct fs_context *fc, void *data)
{
	char *str = data, *opt;
	const char *const *c;
	size_t len;

	if (!str)
		return 0;
	/*
	 * Not aufs: the VFS cuts mount(2) data at one page silently; the
	 * stand-in refuses a string that fills it, so a test sees the cut.
	 */
	len = strnlen(str, PAGE_SIZE);
	if (len >= PAGE_SIZE - 1) {
		pr_err("mount data fills a whole page (%zu bytes), refusing a possibly truncated option string\n",
		       len);
		return -EINVAL;
	}
	for (opt = str; opt; opt = strchr(opt, ',') ? strchr(opt, ',') + 1 : NULL)
		for (c = au_colon_opts; *c; c++) {
			len = strlen(*c);
			if (!strncmp(opt, *c, len) && opt[len] == ':') {
				opt[len] = '=';
				break;
			}
		}
	return generic_parse_monolithic(fc, str);
}

void au_ops_free(struct au_fsctx *a)
{
	int i;

	for (i = 0; i < a->nops; i++) {
		kfree(a->ops[i].name);
		if (a->ops[i].path.dentry)
			path_put(&a->ops[i].path);
	}
	a->nops = 0;
}

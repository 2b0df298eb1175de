// SPDX-License-Identifier: GPL-2.0
/*
 * aufs TEST STAND-IN: /sys/fs/aufs and the test trace.
 *
 * Like aufs with brs=1 (its default): /sys/fs/aufs/si_<id>/ per union with
 * br<N> ("path=perm"), brid<N> and xi_path, removed when the union's
 * superblock goes. Its show function only trylocks the union (EBUSY while a
 * remount holds it), as aufs's does.
 *
 * aufs's show function reads the superblock through a pointer that aufs_kill_sb
 * clears before the sysfs entries go, so a read in that window oopses (a NULL
 * dereference in sysaufs_si_show). The stand-in has the same window (longer
 * with kill_delay_ms) and, instead of crashing, logs the read and fails it.
 *
 * With trace_sysfs=1 every read and every kill_sb is recorded in
 * /proc/fs/aufs/standin_trace ("<CLOCK_MONOTONIC ns> <tgid> <comm> <event>
 * si_<id>[/<file>]"; write "clear" to empty it), for the QEMU suite's lock-order
 * and per-command read checks. aufs has no such file.
 */

#include <linux/ctype.h>
#include <linux/proc_fs.h>
#include <linux/random.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>
#include "aufs.h"

unsigned long au_si_mask;
static struct kset *sysaufs_kset;

/* ---------------------------------------------------------------------- */
/* the trace */

#define AU_TRACE_MAX	32768

struct au_trace_ent {
	u64	ns;
	pid_t	tgid;
	char	comm[TASK_COMM_LEN];
	char	what[48];
};

static struct au_trace_ent *au_trace_buf;
static unsigned int au_trace_n, au_trace_lost;
static DEFINE_SPINLOCK(au_trace_lock);
static struct proc_dir_entry *au_proc_dir;

void au_trace(const char *fmt, ...)
{
	struct au_trace_ent *e;
	va_list args;

	if (!au_trace_sysfs || !au_trace_buf)
		return;
	spin_lock(&au_trace_lock);
	if (au_trace_n < AU_TRACE_MAX) {
		e = au_trace_buf + au_trace_n++;
		e->ns = ktime_get_ns();
		e->tgid = task_tgid_nr(current);
		get_task_comm(e->comm, current);
		va_start(args, fmt);
		vsnprintf(e->what, sizeof(e->what), fmt, args);
		va_end(args);
	} else {
		au_trace_lost++;
	}
	spin_unlock(&au_trace_lock);
}

static int au_trace_show(struct seq_file *m, void *v)
{
	unsigned int i, n;

	spin_lock(&au_trace_lock);
	n = au_trace_n;
	spin_unlock(&au_trace_lock);
	/* entries below n are complete and never rewritten until a "clear" */
	seq_printf(m, "# entries %u lost %u\n", n, au_trace_lost);
	for (i = 0; i < n; i++)
		seq_printf(m, "%llu %d %s %s\n", au_trace_buf[i].ns, au_trace_buf[i].tgid,
			   au_trace_buf[i].comm, au_trace_buf[i].what);
	return 0;
}

static int au_trace_open(struct inode *inode, struct file *file)
{
	return single_open_size(file, au_trace_show, NULL, (AU_TRACE_MAX + 1) * 96);
}

static ssize_t au_trace_write(struct file *file, const char __user *buf, size_t len, loff_t *pos)
{
	char cmd[8] = "";

	if (copy_from_user(cmd, buf, min(len, sizeof(cmd) - 1)))
		return -EFAULT;
	if (strncmp(cmd, "clear", 5))
		return -EINVAL;
	spin_lock(&au_trace_lock);
	au_trace_n = 0;
	au_trace_lost = 0;
	spin_unlock(&au_trace_lock);
	return len;
}

static const struct proc_ops au_trace_ops = {
	.proc_open	= au_trace_open,
	.proc_read	= seq_read,
	.proc_lseek	= seq_lseek,
	.proc_release	= single_release,
	.proc_write	= au_trace_write,
};

/* ---------------------------------------------------------------------- */
/* paths as aufs prints them: octal escapes for 0x01-0x20, backslash and DEL */

const char au_esc_chars[] = "\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f\x10"
	"\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f\x20\\\x7f";

/* d_path of `path`, escaped, into buf; its length or -E2BIG */
int au_path_escaped(char *buf, size_t size, const struct path *path)
{
	char *page, *p;
	size_t n = 0;

	page = (char *)__get_free_page(GFP_KERNEL);
	if (!page)
		return -ENOMEM;
	p = d_path(path, page, PAGE_SIZE);
	if (IS_ERR(p)) {
		free_page((unsigned long)page);
		return PTR_ERR(p);
	}
	for (; *p; p++) {
		if (n + 5 > size) {
			free_page((unsigned long)page);
			return -E2BIG;
		}
		if (strchr(au_esc_chars, *p))
			n += scnprintf(buf + n, size - n, "\\%03o", (unsigned char)*p);
		else
			buf[n++] = *p;
	}
	buf[n] = '\0';
	free_page((unsigned long)page);
	return n;
}

/* ---------------------------------------------------------------------- */
/* /sys/fs/aufs/si_<id> */

static ssize_t sysaufs_si_show(struct kobject *kobj, struct attribute *attr, char *buf)
{
	struct au_sbinfo *sbinfo = container_of(kobj, struct au_sbinfo, si_kobj);
	const char *name = attr->name;
	struct au_branch *br;
	char perm[AU_PERM_STR];
	long index;
	ssize_t err;
	int n;

	/* like aufs: never wait here, a remount may be removing this very file */
	if (!down_read_trylock(&sbinfo->si_rwsem))
		return -EBUSY;
	if (!sbinfo->si_sb) {
		au_trace("read-dying si_%lx/%s", au_si_id(sbinfo), name);
		pr_err("si_%lx/%s read during kill_sb: real aufs dereferences a NULL superblock here (an oops in sysaufs_si_show)\n",
		       au_si_id(sbinfo), name);
		err = -EIO;
		goto out;
	}
	au_trace("read si_%lx/%s", au_si_id(sbinfo), name);
	if (!strcmp(name, "xi_path")) {
		err = sbinfo->si_xino ? scnprintf(buf, PAGE_SIZE, "%s\n", sbinfo->si_xino) : 0;
		goto out;
	}
	err = -ENOENT;
	if (!strncmp(name, "brid", 4)) {
		if (kstrtol(name + 4, 10, &index) || index >= sbinfo->si_nbr)
			goto out;
		err = scnprintf(buf, PAGE_SIZE, "%d\n", sbinfo->si_branch[index]->br_id);
		goto out;
	}
	if (strncmp(name, "br", 2) || kstrtol(name + 2, 10, &index) || index >= sbinfo->si_nbr)
		goto out;
	br = sbinfo->si_branch[index];
	n = au_path_escaped(buf, PAGE_SIZE - AU_PERM_STR - 2, &br->br_path);
	if (n < 0) {
		err = n;
		goto out;
	}
	au_optstr_br_perm(perm, br->br_perm);
	err = n + scnprintf(buf + n, PAGE_SIZE - n, "=%s\n", perm);
out:
	up_read(&sbinfo->si_rwsem);
	return err;
}

static struct attribute sysaufs_si_attr_xi_path = { .name = "xi_path", .mode = 0444 };
static struct attribute *sysaufs_si_attrs[] = { &sysaufs_si_attr_xi_path, NULL };
ATTRIBUTE_GROUPS(sysaufs_si);

static const struct sysfs_ops sysaufs_si_ops = { .show = sysaufs_si_show };

/* the last reference: the directory is gone, the window closes */
static void au_si_release(struct kobject *kobj)
{
	struct au_sbinfo *sbinfo = container_of(kobj, struct au_sbinfo, si_kobj);
	int i;

	au_trace("kill-end si_%lx", au_si_id(sbinfo));
	au_br_free_all(sbinfo);
	kfree(sbinfo->si_xino);
	kfree(sbinfo->si_udba);
	for (i = 0; i < ARRAY_SIZE(sbinfo->si_valued); i++)
		kfree(sbinfo->si_valued[i]);
	kfree(sbinfo);
}

static const struct kobj_type sysaufs_si_ktype = {
	.release	= au_si_release,
	.sysfs_ops	= &sysaufs_si_ops,
	.default_groups	= sysaufs_si_groups,
};

int sysaufs_si_init(struct au_sbinfo *sbinfo)
{
	sbinfo->si_kobj.kset = sysaufs_kset;
	return kobject_init_and_add(&sbinfo->si_kobj, &sysaufs_si_ktype, NULL, "si_%lx",
				    au_si_id(sbinfo));
}

/* br<N> and brid<N> of every branch, numbered by their place (brs=1 only) */
void sysaufs_brs_add(struct au_sbinfo *sbinfo)
{
	int i, k, err;

	if (!au_brs)
		return;
	for (i = 0; i < sbinfo->si_nbr; i++) {
		struct au_brattr *a = sbinfo->si_branch[i]->br_sysfs;

		snprintf(a[0].name, sizeof(a[0].name), "br%d", i);
		snprintf(a[1].name, sizeof(a[1].name), "brid%d", i);
		for (k = 0; k < 2; k++) {
			sysfs_attr_init(&a[k].attr);
			a[k].attr.name = a[k].name;
			a[k].attr.mode = 0444;
			err = sysfs_create_file(&sbinfo->si_kobj, &a[k].attr);
			a[k].added = !err;
			if (err)
				pr_warn("failed %s under sysfs(%d)\n", a[k].name, err);
		}
	}
}

void sysaufs_brs_del(struct au_sbinfo *sbinfo)
{
	int i, k;

	for (i = 0; i < sbinfo->si_nbr; i++)
		for (k = 0; k < 2; k++) {
			struct au_brattr *a = sbinfo->si_branch[i]->br_sysfs + k;

			if (a->added)
				sysfs_remove_file(&sbinfo->si_kobj, &a->attr);
			a->added = false;
		}
}

int sysaufs_init(void)
{
	do {
		get_random_bytes(&au_si_mask, sizeof(au_si_mask));
	} while (!au_si_mask);
	sysaufs_kset = kset_create_and_add(AUFS_NAME, NULL, fs_kobj);
	if (!sysaufs_kset)
		return -ENOMEM;
	au_trace_buf = vzalloc(AU_TRACE_MAX * sizeof(*au_trace_buf));
	au_proc_dir = proc_mkdir("fs/" AUFS_NAME, NULL);
	if (au_trace_buf && au_proc_dir)
		proc_create("standin_trace", 0600, au_proc_dir, &au_trace_ops);
	return 0;
}

void sysaufs_fin(void)
{
	if (au_proc_dir)
		proc_remove(au_proc_dir);
	vfree(au_trace_buf);
	kset_unregister(sysaufs_kset);
}

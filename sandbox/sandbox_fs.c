/*
 * Hiding the file system from a child: the empty directory a root child
 * is chrooted into, and, without root, an empty root of its own in a user
 * and mount namespace.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <linux/capability.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "sandbox_private.h"

/* Where the namespace's empty tmpfs is mounted (every system has it). */
#define UNPRIV_MOUNTPOINT	"/tmp"

static int
dir_is_empty(const char *dir)
{
	struct dirent *de;
	DIR *d;
	int found = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			found = 1;
	closedir(d);
	if (found) {
		errno = ENOTEMPTY;
		return -1;
	}
	return 0;
}

int
sandbox_check_empty_dir(const char *dir, uid_t owner)
{
	struct stat st;

	if (lstat(dir, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	/* A directory its user could fill would not stay empty. */
	if (st.st_uid != owner || (st.st_mode & (S_IWGRP | S_IWOTH)) != 0) {
		errno = EPERM;
		return -1;
	}
	return dir_is_empty(dir);
}

static void
write_proc_file(const char *path, const char *text)
{
	size_t len = strlen(text);
	int fd;

	if ((fd = open(path, O_WRONLY | O_CLOEXEC)) == -1)
		fatal("sandbox: %s", path);
	if (write(fd, text, len) != (ssize_t)len)
		fatal("sandbox: writing %s", path);
	if (close(fd) == -1)
		fatal("sandbox: %s", path);
}

/* Inside the namespace we stay who we were outside, and nobody else. */
static void
map_own_ids(uid_t uid, gid_t gid)
{
	char map[64];

	/* Unprivileged writers of gid_map must give up setgroups first. */
	write_proc_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	write_proc_file("/proc/self/uid_map", map);
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	write_proc_file("/proc/self/gid_map", map);
}

/*
 * unshare() gave the process every capability inside its namespace;
 * once the root is swapped it needs none of them.
 */
static void
drop_all_caps(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
		.pid = 0,
	};
	struct __user_cap_data_struct none[_LINUX_CAPABILITY_U32S_3];

	memset(none, 0, sizeof(none));
	if (syscall(SYS_capset, &hdr, none) == -1)
		fatal("sandbox: capset");
}

void
sandbox_hide_fs_unprivileged(void)
{
	uid_t uid = getuid();
	gid_t gid = getgid();

	if (unshare(CLONE_NEWUSER | CLONE_NEWNS) == -1) {
		log_warnx("sandbox: no user namespace (%s): the file system "
		    "stays visible; the filter still denies every open",
		    strerror(errno));
		return;
	}
	map_own_ids(uid, gid);
	/* The new mount namespace's mounts are private: nobody sees this. */
	if (mount("none", UNPRIV_MOUNTPOINT, "tmpfs", MS_NOSUID | MS_NODEV |
	    MS_NOEXEC | MS_RDONLY, "size=4k,nr_inodes=2,mode=0555") == -1)
		fatal("sandbox: mounting an empty tmpfs on %s",
		    UNPRIV_MOUNTPOINT);
	if (chroot(UNPRIV_MOUNTPOINT) == -1 || chdir("/") == -1)
		fatal("sandbox: chroot %s", UNPRIV_MOUNTPOINT);
	drop_all_caps();
	log_debug("sandbox: not root: an empty root in a user namespace");
}

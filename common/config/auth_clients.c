/*
 * Client public keys for restricted discovery: tor's one-line format, in
 * the config or in a directory of .auth files.  Read by the parent when it
 * loads the config (not by the parser of a buffer, so that fuzzing the
 * parser reads no files).
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "auth_clients.h"
#include "encoding.h"

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
auth_client_parse(const char *s, size_t len, uint8_t key[AUTH_CLIENT_KEY_LEN])
{
	const size_t plen = sizeof(AUTH_CLIENT_PREFIX) - 1;

	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_space(s[len - 1]))
		len--;
	if (len != plen + AUTH_CLIENT_B32_LEN ||
	    memcmp(s, AUTH_CLIENT_PREFIX, plen) != 0)
		return -1;
	if (base32_decode(key, AUTH_CLIENT_KEY_LEN, s + plen,
	    AUTH_CLIENT_B32_LEN) != AUTH_CLIENT_KEY_LEN)
		return -1;
	return 0;
}

static int
has_suffix(const char *name, const char *suffix)
{
	size_t n = strlen(name), s = strlen(suffix);

	return n > s && strcmp(name + n - s, suffix) == 0;
}

static int
only_auth_files(const struct dirent *d)
{
	return d->d_name[0] != '.' &&
	    has_suffix(d->d_name, AUTH_CLIENT_FILE_SUFFIX);
}

static int
only_auth_private_files(const struct dirent *d)
{
	return d->d_name[0] != '.' &&
	    has_suffix(d->d_name, AUTH_PRIVATE_FILE_SUFFIX);
}

/* The first AUTH_CLIENT_FILE_MAX bytes of a regular file; -1 and errno. */
static ssize_t
read_small_file(int dirfd, const char *name, char *buf, size_t size,
    int nofollow)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NONBLOCK |
	    nofollow)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	while (got < size) {
		if ((n = read(fd, buf + got, size - got)) == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			errno = saved;
			return -1;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	return (ssize_t)got;
}

static int
add_key(uint8_t (**keys)[AUTH_CLIENT_KEY_LEN], size_t *n,
    const uint8_t key[AUTH_CLIENT_KEY_LEN])
{
	uint8_t (*grown)[AUTH_CLIENT_KEY_LEN];

	if ((grown = reallocarray(*keys, *n + 1, sizeof(*grown))) == NULL)
		return -1;
	*keys = grown;
	memcpy(grown[*n], key, AUTH_CLIENT_KEY_LEN);
	(*n)++;
	return 0;
}

typedef int dir_file_cb(void *arg, int dirfd, const char *dir,
    const char *name, char *err, size_t errlen);

/* fn for each file of dir that filter takes, in name order, until -1. */
static int
dir_each(const char *dir, int (*filter)(const struct dirent *),
    dir_file_cb *fn, void *arg, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	int dirfd, count, i, rv = 0;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* scandir for the names in order; the files are read by dirfd */
	if ((count = scandir(dir, &names, filter, alphasort)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		close(dirfd);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (rv == 0 && fn(arg, dirfd, dir, names[i]->d_name, err,
		    errlen) == -1)
			rv = -1;
		free(names[i]);
	}
	free(names);
	close(dirfd);
	return rv;
}

struct auth_keys {
	uint8_t		(**keys)[AUTH_CLIENT_KEY_LEN];
	size_t		 *n;
	size_t		  max;
};

static int
read_auth_file(void *arg, int dirfd, const char *dir, const char *name,
    char *err, size_t errlen)
{
	struct auth_keys *ak = arg;
	char buf[AUTH_CLIENT_FILE_MAX];
	uint8_t key[AUTH_CLIENT_KEY_LEN];
	ssize_t len;

	if ((len = read_small_file(dirfd, name, buf, sizeof(buf),
	    O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, name, errno == EINVAL ?
		    "not a regular file" : strerror(errno));
		return -1;
	}
	if (auth_client_parse(buf, (size_t)len, key) == -1) {
		snprintf(err, errlen, "%s/%s: not one line \"%s<key in "
		    "base32>\" (tor's authorized_clients format)", dir, name,
		    AUTH_CLIENT_PREFIX);
		return -1;
	}
	if (*ak->n >= ak->max) {
		snprintf(err, errlen, "%s/%s: more than %zu authorized "
		    "clients", dir, name, ak->max);
		return -1;
	}
	if (add_key(ak->keys, ak->n, key) == -1) {
		snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		return -1;
	}
	return 0;
}

int
auth_client_dir_read(const char *dir, uint8_t (**keys)[AUTH_CLIENT_KEY_LEN],
    size_t *n, size_t max, char *err, size_t errlen)
{
	struct auth_keys ak = { keys, n, max };

	return dir_each(dir, only_auth_files, read_auth_file, &ak, err,
	    errlen);
}

/* Tor splits the line at ':' and takes exactly four fields. */
int
auth_private_parse(const char *s, size_t len,
    char address[AUTH_PRIVATE_ADDRESS_LEN + 1],
    uint8_t key[AUTH_CLIENT_KEY_LEN])
{
	const size_t alen = AUTH_PRIVATE_ADDRESS_LEN;

	while (len > 0 && is_space(*s)) {
		s++;
		len--;
	}
	if (len < alen + 1 || s[alen] != ':' ||
	    memchr(s, ':', alen) != NULL || memchr(s, '\0', alen) != NULL)
		return -1;
	/* The rest is an authorized_clients line: the same key form. */
	if (auth_client_parse(s + alen + 1, len - alen - 1, key) == -1)
		return -1;
	memcpy(address, s, alen);
	address[alen] = '\0';
	return 0;
}

static int
read_auth_private(int dirfd, const char *dir, const char *name,
    char address[AUTH_PRIVATE_ADDRESS_LEN + 1],
    uint8_t key[AUTH_CLIENT_KEY_LEN], char *err, size_t errlen)
{
	char buf[AUTH_CLIENT_FILE_MAX];
	const char *sep = dir != NULL ? "/" : "";
	ssize_t len;
	int rv = 0;

	if (dir == NULL)
		dir = "";
	/* A file named in the config may be a link; a directory's may not. */
	if ((len = read_small_file(dirfd, name, buf, sizeof(buf),
	    dirfd == AT_FDCWD ? 0 : O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "%s%s%s: %s", dir, sep, name,
		    errno == EINVAL ? "not a regular file" : strerror(errno));
		return -1;
	}
	if (auth_private_parse(buf, (size_t)len, address, key) == -1) {
		snprintf(err, errlen, "%s%s%s: not one line \"<address>:%s"
		    "<private key in base32>\" (tor's ClientOnionAuthDir "
		    "format)", dir, sep, name, AUTH_CLIENT_PREFIX);
		rv = -1;
	}
	explicit_bzero(buf, sizeof(buf));
	return rv;
}

int
auth_private_file_read(const char *path,
    char address[AUTH_PRIVATE_ADDRESS_LEN + 1],
    uint8_t key[AUTH_CLIENT_KEY_LEN], char *err, size_t errlen)
{
	return read_auth_private(AT_FDCWD, NULL, path, address, key, err,
	    errlen);
}

struct private_walk {
	auth_private_found_cb	*found;
	void			*arg;
};

static int
found_auth_private(void *arg, int dirfd, const char *dir, const char *name,
    char *err, size_t errlen)
{
	struct private_walk *w = arg;
	char address[AUTH_PRIVATE_ADDRESS_LEN + 1], file[PATH_MAX];
	uint8_t key[AUTH_CLIENT_KEY_LEN];
	int rv;

	if (read_auth_private(dirfd, dir, name, address, key, err,
	    errlen) == -1)
		return -1;
	snprintf(file, sizeof(file), "%s/%s", dir, name);
	rv = w->found(w->arg, file, address, key, err, errlen);
	explicit_bzero(key, sizeof(key));
	return rv;
}

int
auth_private_dir_read(const char *dir, auth_private_found_cb *found,
    void *arg, char *err, size_t errlen)
{
	struct private_walk w = { found, arg };

	return dir_each(dir, only_auth_private_files, found_auth_private, &w,
	    err, errlen);
}

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
has_auth_suffix(const char *name)
{
	size_t n = strlen(name), s = sizeof(AUTH_CLIENT_FILE_SUFFIX) - 1;

	return n > s && strcmp(name + n - s, AUTH_CLIENT_FILE_SUFFIX) == 0;
}

static int
only_auth_files(const struct dirent *d)
{
	return d->d_name[0] != '.' && has_auth_suffix(d->d_name);
}

/* The first AUTH_CLIENT_FILE_MAX bytes of a regular file; -1 and errno. */
static ssize_t
read_small_file(int dirfd, const char *name, char *buf, size_t size)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	int fd, saved;

	if ((fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1)
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

static int
read_one(int dirfd, const char *dir, const char *name,
    uint8_t (**keys)[AUTH_CLIENT_KEY_LEN], size_t *n, size_t max,
    char *err, size_t errlen)
{
	char buf[AUTH_CLIENT_FILE_MAX];
	uint8_t key[AUTH_CLIENT_KEY_LEN];
	ssize_t len;

	if ((len = read_small_file(dirfd, name, buf, sizeof(buf))) == -1) {
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
	if (*n >= max) {
		snprintf(err, errlen, "%s/%s: more than %zu authorized "
		    "clients", dir, name, max);
		return -1;
	}
	if (add_key(keys, n, key) == -1) {
		snprintf(err, errlen, "%s/%s: out of memory", dir, name);
		return -1;
	}
	return 0;
}

int
auth_client_dir_read(const char *dir, uint8_t (**keys)[AUTH_CLIENT_KEY_LEN],
    size_t *n, size_t max, char *err, size_t errlen)
{
	struct dirent **names = NULL;
	int dirfd, count, i, rv = 0;

	if ((dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	/* scandir for the names in order; the files are read by dirfd */
	if ((count = scandir(dir, &names, only_auth_files, alphasort)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		close(dirfd);
		return -1;
	}
	for (i = 0; i < count; i++) {
		if (rv == 0 && read_one(dirfd, dir, names[i]->d_name, keys, n,
		    max, err, errlen) == -1)
			rv = -1;
		free(names[i]);
	}
	free(names);
	close(dirfd);
	return rv;
}

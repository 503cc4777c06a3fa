/*
 * Timing, output and file helpers of the offline benchmark (bench.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

double
bench_now(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) == -1) {
		perror("clock_gettime");
		exit(1);
	}
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
bench_figure(const char *name, double value, const char *unit,
    unsigned long iterations, const char *note)
{
	printf("figure\t%s\t%.6g\t%s\t%lu\t%s\n", name, value, unit,
	    iterations, note != NULL ? note : "");
	fflush(stdout);
}

void
bench_info(const char *key, const char *fmt, ...)
{
	va_list ap;

	printf("info\t%s\t", key);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

char *
bench_read_file(const char *path, size_t *len)
{
	struct stat st;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &st) == -1 ||
	    (buf = malloc((size_t)st.st_size + 1)) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		goto fail;
	}
	if ((n = read(fd, buf, (size_t)st.st_size)) != st.st_size) {
		fprintf(stderr, "%s: short read\n", path);
		goto fail;
	}
	buf[n] = '\0';
	*len = (size_t)n;
	close(fd);
	return buf;
fail:
	free(buf);
	if (fd != -1)
		close(fd);
	return NULL;
}

int
bench_write_file(const char *path, const char *data, size_t len)
{
	FILE *f;

	if ((f = fopen(path, "w")) == NULL) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fwrite(data, 1, len, f) != len) {
		fprintf(stderr, "%s: write failed\n", path);
		fclose(f);
		return -1;
	}
	if (fclose(f) != 0) {
		fprintf(stderr, "%s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * syncprobe — what one durable commit costs on a file system, the floor under every
 * fsync-bound SMTP server measured by bench/smtp-in/run. Not part of mxd.
 *
 * For N messages, in batches of B: create DIR/tmp/I (O_EXCL), write 4,500 bytes (one
 * ~4 KiB message with its envelope), rename it to DIR/q/I; then make the batch durable
 * one of three ways:
 *   syncfs      one syncfs(2) for the batch (what mxd's group commit does)
 *   fdatasync   fdatasync(2) of every file, then fsync(2) of q/
 *   fsync       fsync(2) of every file, then fsync(2) of q/
 * and prints the rate and the median and 90th percentile latency of a batch.
 *
 *   cc -O2 -o /tmp/syncprobe bench/smtp-in/syncprobe.c
 *   mkdir -p /var/tmp/p/tmp /var/tmp/p/q && /tmp/syncprobe /var/tmp/p syncfs 2000 1
 *
 * Leaves its N files in DIR/q (remove them, then wait a minute before measuring anything
 * else: see docs/BENCHMARKS.md on deletions). Bounded: N <= 1,000,000, B <= 256.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum mode { M_SYNCFS, M_FDATASYNC, M_FSYNC };

static double
now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static long
num(const char *s, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *s == '\0' || *end != '\0' || v < lo || v > hi) {
		fprintf(stderr, "syncprobe: %s: not a number in %ld..%ld\n", s, lo, hi);
		exit(64);
	}
	return v;
}

int
main(int argc, char **argv)
{
	static char buf[4500];
	char path[4096], name[32];
	int td, qd, fds[256];
	long n, batch, i, j, nb;
	enum mode mode;
	double *lat, t0, t, a;

	if (argc != 5) {
		fprintf(stderr, "usage: syncprobe DIR syncfs|fdatasync|fsync N BATCH\n");
		return 64;
	}
	if (strcmp(argv[2], "syncfs") == 0)
		mode = M_SYNCFS;
	else if (strcmp(argv[2], "fdatasync") == 0)
		mode = M_FDATASYNC;
	else if (strcmp(argv[2], "fsync") == 0)
		mode = M_FSYNC;
	else {
		fprintf(stderr, "syncprobe: %s: syncfs, fdatasync or fsync\n", argv[2]);
		return 64;
	}
	n = num(argv[3], 1, 1000000);
	batch = num(argv[4], 1, 256);
	memset(buf, 'x', sizeof(buf));
	snprintf(path, sizeof(path), "%s/tmp", argv[1]);
	td = open(path, O_RDONLY | O_DIRECTORY);
	snprintf(path, sizeof(path), "%s/q", argv[1]);
	qd = open(path, O_RDONLY | O_DIRECTORY);
	if (td == -1 || qd == -1) {
		perror("syncprobe: DIR/tmp and DIR/q");
		return 66;
	}
	nb = (n + batch - 1) / batch;
	lat = calloc((size_t)nb, sizeof(*lat));
	if (lat == NULL)
		return 71;
	t0 = now();
	for (i = 0; i < nb; i++) {
		long k = i * batch, m = batch < n - k ? batch : n - k;

		a = now();
		for (j = 0; j < m; j++) {
			snprintf(name, sizeof(name), "%ld", k + j);
			fds[j] = openat(td, name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fds[j] == -1 ||
			    write(fds[j], buf, sizeof(buf)) != (ssize_t)sizeof(buf) ||
			    renameat(td, name, qd, name) == -1) {
				perror("syncprobe: create, write, rename");
				return 74;
			}
		}
		if (mode == M_SYNCFS) {
			if (syncfs(qd) == -1)
				perror("syncfs");
		} else {
			for (j = 0; j < m; j++)
				if ((mode == M_FDATASYNC ? fdatasync(fds[j]) : fsync(fds[j])) == -1)
					perror("fsync");
			if (fsync(qd) == -1)
				perror("fsync q/");
		}
		for (j = 0; j < m; j++)
			close(fds[j]);
		lat[i] = now() - a;
	}
	t = now() - t0;
	qsort(lat, (size_t)nb, sizeof(*lat), cmp);
	printf("mode=%s batch=%ld n=%ld rate=%.0f/s batch_med_us=%.0f batch_p90_us=%.0f\n", argv[2],
	    batch, n, (double)n / t, lat[nb / 2] * 1e6, lat[nb * 9 / 10] * 1e6);
	free(lat);
	return 0;
}

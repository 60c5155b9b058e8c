/*
 * replay — runs a libFuzzer target over saved inputs without libFuzzer, so the corpus is a
 * regression test in every build (sanitized or not).
 *
 * Usage: fuzz_X-replay FILE|DIR...   Each file named, and each regular file directly in a
 * named directory (sorted by name, dot files skipped), is read whole and passed to
 * LLVMFuzzerTestOneInput. Output is TAP: "ok N - path" per input; an unreadable input is
 * "not ok". A target that finds a bug aborts (or a sanitizer stops the process), which the
 * harness reports as a failure. Inputs are capped at REPLAY_MAX bytes.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPLAY_MAX (4u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int n_tests, n_failed;

static uint8_t *
slurp(const char *path, size_t *lenp)
{
	FILE *f;
	uint8_t *p;
	size_t len = 0, r;

	f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	p = malloc(REPLAY_MAX);
	if (p == NULL) {
		fclose(f);
		return NULL;
	}
	while (len < REPLAY_MAX) {
		r = fread(p + len, 1, REPLAY_MAX - len, f);
		if (r == 0)
			break;
		len += r;
	}
	if (ferror(f) || (len == REPLAY_MAX && fgetc(f) != EOF)) {
		fclose(f);
		free(p);
		return NULL;
	}
	fclose(f);
	*lenp = len;
	return p;
}

static void
run_file(const char *path)
{
	uint8_t *p, *copy;
	size_t len = 0;

	p = slurp(path, &len);
	n_tests++;
	if (p == NULL) {
		n_failed++;
		printf("not ok %d - %s: %s\n", n_tests, path, strerror(errno));
		fflush(stdout);
		return;
	}
	/* An exact-size copy lets ASan catch a read one past the input. */
	copy = malloc(len > 0 ? len : 1);
	if (copy == NULL) {
		free(p);
		n_failed++;
		printf("not ok %d - %s: out of memory\n", n_tests, path);
		return;
	}
	memcpy(copy, p, len);
	free(p);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	printf("ok %d - %s\n", n_tests, path);
	fflush(stdout);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
run_dir(const char *dir)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char **names = NULL, **nn, path[4096];
	size_t n = 0, cap = 0, i;

	d = opendir(dir);
	if (d == NULL) {
		n_tests++;
		n_failed++;
		printf("not ok %d - %s: %s\n", n_tests, dir, strerror(errno));
		return;
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			nn = realloc(names, cap * sizeof(*names));
			if (nn == NULL)
				break;
			names = nn;
		}
		names[n] = strdup(de->d_name);
		if (names[n] != NULL)
			n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, names[i]) < sizeof(path) &&
		    stat(path, &st) == 0 && S_ISREG(st.st_mode))
			run_file(path);
		free(names[i]);
	}
	free(names);
}

int
main(int argc, char **argv)
{
	struct stat st;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode))
			run_dir(argv[i]);
		else
			run_file(argv[i]);
	}
	if (n_tests == 0)
		printf("1..0 # SKIP no inputs\n");
	else
		printf("1..%d\n", n_tests);
	return n_failed == 0 ? 0 : 1;
}

/*
 * dropcheck — test tool: reads a queue file (a maildrop file written by sendmail, or a
 * committed queue file) with queue_file_read() and prints what it holds, so shell tests
 * can check what sendmail wrote without mxd running.
 *
 * usage: dropcheck FILE      prints the envelope, an empty line, then the message
 *        dropcheck -e FILE   the envelope only
 * Envelope lines: "id ID", "from <ADDR>", "body NONE|7BIT|8BITMIME|BINARYMIME",
 * "smtputf8 yes|no", "ret NONE|FULL|HDRS", "envid X" (when set), "client X", one
 * "rcpt <ADDR> notify=N" (plus " orcpt=X" when set) per recipient, "size N".
 * Exit 0 when the file reads back OK; 1 with "TORN", "BAD" or "IOERR" on stderr; 2 usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"

static int
out(void *arg, const void *p, size_t n)
{
	(void)arg;
	return fwrite(p, 1, n, stdout) == n ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const char *body[] = {"NONE", "7BIT", "8BITMIME", "BINARYMIME"};
	static const char *ret[] = {"NONE", "FULL", "HDRS"};
	static const char *res[] = {"OK", "TORN", "BAD", "IOERR"};
	struct queue_env env;
	enum queue_read_res r;
	bool envonly = false;
	size_t i;
	int fd;

	if (argc == 3 && strcmp(argv[1], "-e") == 0) {
		envonly = true;
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: dropcheck [-e] file\n");
		return 2;
	}
	fd = open(argv[1], O_RDONLY);
	if (fd == -1) {
		perror(argv[1]);
		return 1;
	}
	memset(&env, 0, sizeof(env));
	r = queue_file_read(fd, &env, NULL, NULL);
	if (r != QUEUE_READ_OK) {
		fprintf(stderr, "%s: %s\n", argv[1], res[r]);
		return 1;
	}
	printf("id %s\nfrom <%s>\nbody %s\nsmtputf8 %s\nret %s\n", env.id, env.from, body[env.body],
	    env.smtputf8 ? "yes" : "no", ret[env.ret]);
	if (env.envid[0] != '\0')
		printf("envid %s\n", env.envid);
	printf("client %s\n", env.client);
	for (i = 0; i < env.nrcpt; i++) {
		printf("rcpt <%s> notify=%u", env.rcpt[i].addr, env.rcpt[i].notify);
		if (env.rcpt[i].orcpt[0] != '\0')
			printf(" orcpt=%s", env.rcpt[i].orcpt);
		printf("\n");
	}
	printf("size %llu\n", (unsigned long long)env.size);
	if (!envonly) {
		printf("\n");
		fflush(stdout);
		queue_env_clear(&env);
		memset(&env, 0, sizeof(env));
		if (queue_file_read(fd, &env, out, NULL) != QUEUE_READ_OK) {
			fprintf(stderr, "%s: second read failed\n", argv[1]);
			return 1;
		}
		fflush(stdout);
	}
	queue_env_clear(&env);
	close(fd);
	return 0;
}

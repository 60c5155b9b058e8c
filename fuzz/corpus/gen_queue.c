/*
 * gen_queue.c — writes the seed queue files of fuzz/corpus/queue_file/ with the real
 * writer (struct queue_w). Build and run from the repository root after `make`:
 *   cc -std=c17 -D_GNU_SOURCE -Isrc fuzz/corpus/gen_queue.c build/libmx.a \
 *       -lbsd -lssl -lcrypto -lcrypt -o /tmp/gen_queue && /tmp/gen_queue
 */
#include <bsd/string.h>

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "queue/queue.h"

static void
seed(const char *path, int nrcpt, const char *body, size_t blen, int chunks, int utf8)
{
	struct queue_env e;
	struct queue_w w;
	size_t step = blen / (size_t)chunks + 1;
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	if (fd == -1)
		return;
	memset(&e, 0, sizeof(e));
	strlcpy(e.id, "0123456789abcdef", sizeof(e.id));
	e.arrival = 1700000000;
	strlcpy(e.client, "127.0.0.1 client.test", sizeof(e.client));
	strlcpy(e.from, "sender@example.org", sizeof(e.from));
	if (utf8) {
		e.smtputf8 = 1;
		e.body = SMTP_BODY_8BITMIME;
		e.ret = SMTP_RET_HDRS;
		strlcpy(e.envid, "abc", sizeof(e.envid));
	}
	for (int i = 0; i < nrcpt; i++) {
		char a[64];

		snprintf(a, sizeof(a), "r%d@example.test", i);
		queue_env_add_rcpt(&e, a, i % 2 ? 6 : 0, i % 3 ? NULL : "rfc822;orig@example.test");
	}
	queue_w_init(&w, fd);
	queue_w_env(&w, &e);
	for (size_t o = 0; o < blen; o += step)
		queue_w_data(&w, body + o, o + step > blen ? blen - o : step);
	queue_w_end(&w);
	queue_env_clear(&e);
	close(fd);
}

int
main(void)
{
	static char big[5000];

	memset(big, 'x', sizeof(big));
	seed("fuzz/corpus/queue_file/seed-one", 1, "Subject: x\r\n\r\nbody\r\n", 21, 1, 0);
	seed("fuzz/corpus/queue_file/seed-many", 12, big, sizeof(big), 3, 0);
	seed("fuzz/corpus/queue_file/seed-utf8", 2, "\xc3\xa9\r\n", 4, 1, 1);
	seed("fuzz/corpus/queue_file/seed-empty", 1, "", 0, 1, 0);
	return 0;
}

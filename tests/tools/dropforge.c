/*
 * dropforge — test tool: writes a hostile maildrop file, a well-formed queue file whose
 * envelope carries what smtpd would never accept, as a local user could write one by hand.
 *
 * usage: dropforge FILE orcpt|from|rcpt
 *   orcpt  an ORCPT whose address type carries "\r\nRSET\r\nMAIL FROM:<ceo@bank.test>"
 *   from   a sender with a CR LF and a forged log line in it
 *   rcpt   a recipient with a space and a second RCPT in it
 * Exit 0 when written, 1 on an I/O error, 2 on usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "queue/queue.h"

int
main(int argc, char **argv)
{
	static struct queue_w w;
	static struct queue_env env;
	static const char body[] = "Subject: forged\r\n\r\nbody\r\n";
	const char *rcpt = "victim@far.test", *orcpt = "";
	int fd;

	if (argc != 3)
		return 2;
	strlcpy(env.id, "0000000000000000", sizeof(env.id));
	strlcpy(env.from, "user@example.test", sizeof(env.from));
	if (strcmp(argv[2], "orcpt") == 0)
		orcpt = "rfc822\r\nRSET\r\nMAIL FROM:<ceo@bank.test>\r\nX;x@y";
	else if (strcmp(argv[2], "from") == 0)
		strlcpy(env.from, "a@b.test\nNov 28 00:00:00 h mxd/smtpd[1]: forged line",
		    sizeof(env.from));
	else if (strcmp(argv[2], "rcpt") == 0)
		rcpt = "victim@far.test> RCPT TO:<second@far.test";
	else
		return 2;
	if (queue_env_add_rcpt(&env, rcpt, 0, orcpt) == -1)
		return 1;
	fd = open(argv[1], O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd == -1)
		return 1;
	queue_w_init(&w, fd);
	queue_w_env(&w, &env);
	queue_w_data(&w, body, sizeof(body) - 1);
	if (queue_w_end(&w) == -1 || fsync(fd) == -1 || close(fd) == -1)
		return 1;
	queue_env_clear(&env);
	return 0;
}

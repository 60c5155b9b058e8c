/*
 * fuzz_queue_file — queue_file_read() on arbitrary bytes. A queue file is written by
 * smtpd, the least trusted of our processes, and read by the queue manager and the
 * delivery agent: the reader must classify anything (OK, TORN, BAD) without reading out
 * of bounds, and a file it calls OK must have a body callback that sees every QR_DATA
 * payload. The input goes through a memfd because the reader takes a descriptor.
 */
#include <sys/mman.h>

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "queue/queue.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int
count_body(void *arg, const void *p, size_t len)
{
	(void)p;
	*(uint64_t *)arg += len;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct queue_env env;
	enum queue_read_res r;
	uint64_t body = 0;
	int fd;

	fd = memfd_create("fuzz", MFD_CLOEXEC);
	if (fd == -1)
		return 0;
	if (size > 0 && write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	r = queue_file_read(fd, &env, count_body, &body);
	/* An OK file's END record states the body size the callback must have seen. */
	if (r == QUEUE_READ_OK && body != env.size)
		abort();
	if (r == QUEUE_READ_OK)
		queue_env_clear(&env);
	close(fd);
	return 0;
}

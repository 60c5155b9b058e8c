/*
 * ipc — see ipc.h. The size table below is the only place a type's payload size is
 * stated; ipc_recv() checks every message against it before anyone reads a field.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "ipc/ipc.h"

static const struct {
	size_t min, max;
} ipc_sizes[IPC_NTYPES] = {
    [IPC_CREATE] = {0, 0},
    [IPC_CREATED] = {sizeof(struct ipc_qid), sizeof(struct ipc_qid)},
    [IPC_COMMIT] = {sizeof(struct ipc_qid), sizeof(struct ipc_qid)},
    [IPC_COMMITTED] = {sizeof(struct ipc_qid), sizeof(struct ipc_qid)},
    [IPC_ABORT] = {sizeof(struct ipc_qid), sizeof(struct ipc_qid)},
    [IPC_DELIVER] = {sizeof(struct ipc_deliver), sizeof(struct ipc_deliver)},
    [IPC_DELIVERED] = {sizeof(struct ipc_delivered), sizeof(struct ipc_delivered)},
};

int
ipc_send(int sock, uint32_t type, uint64_t ref, const void *p, size_t len, int fd)
{
	struct ipc_hdr h = {type, (uint32_t)len, ref};
	struct iovec iov[2];
	struct msghdr mh;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;

	if (len > IPC_MAX) {
		errno = EMSGSIZE;
		return -1;
	}
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)p;
	iov[1].iov_len = len;
	mh.msg_iov = iov;
	mh.msg_iovlen = len > 0 ? 2 : 1;
	if (fd >= 0) {
		struct cmsghdr *c;

		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(int));
	}
	do
		n = sendmsg(sock, &mh, MSG_NOSIGNAL);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != sizeof(h) + len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ipc_recv(int sock, struct ipc_msg *m)
{
	struct iovec iov[2];
	struct msghdr mh;
	struct cmsghdr *c;
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} cm;
	ssize_t n;
	size_t plen;

	m->fd = -1;
	memset(&mh, 0, sizeof(mh));
	iov[0].iov_base = &m->hdr;
	iov[0].iov_len = sizeof(m->hdr);
	iov[1].iov_base = m->data;
	iov[1].iov_len = sizeof(m->data);
	mh.msg_iov = iov;
	mh.msg_iovlen = 2;
	mh.msg_control = cm.buf;
	mh.msg_controllen = sizeof(cm.buf);
	do
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if (n == 0)
		return 0;
	/* Take any passed descriptor first, so it is closed on every error path. */
	for (c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
		    c->cmsg_len == CMSG_LEN(sizeof(int)))
			memcpy(&m->fd, CMSG_DATA(c), sizeof(int));
	plen = (size_t)n < sizeof(m->hdr) ? 0 : (size_t)n - sizeof(m->hdr);
	if ((size_t)n < sizeof(m->hdr) || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) != 0 ||
	    m->hdr.type == IPC_NONE || m->hdr.type >= IPC_NTYPES || m->hdr.len != plen ||
	    plen < ipc_sizes[m->hdr.type].min || plen > ipc_sizes[m->hdr.type].max) {
		if (m->fd != -1)
			close(m->fd);
		m->fd = -1;
		errno = EBADMSG;
		return -1;
	}
	return 1;
}

int
ipc_drain(int sock, struct ipc_msg *m, ipc_handler *fn, void *arg)
{
	int r;

	for (;;) {
		r = ipc_recv(sock, m);
		if (r == -1)
			return errno == EAGAIN ? 0 : -1;
		if (r == 0)
			return 1;
		fn(arg, m);
	}
}

/*
 * event — see event.h. epoll(7) (level-triggered) for descriptors, a binary min-heap of
 * struct ev_timer pointers for timers, one signalfd(2) for every registered signal.
 *
 * One round of ev_run(): wait in epoll_wait() until the earliest timer is due, run the I/O
 * callbacks of the batch, run the timers that are due, then the idle callback.
 *
 * Re-entrancy rule. epoll_wait() hands back a batch of events whose data.ptr points at
 * the caller's struct ev_io. A callback earlier in the batch may stop, and then free, a
 * watcher that still has an event later in the batch; the loop must then not even read
 * that pointer. So ev_io_set(..., 0)/ev_io_stop() scan the rest of the pending batch (at
 * most EV_BATCH entries) and clear every entry that points at the watcher being removed;
 * dispatch skips cleared entries and never dereferences them. A watcher that is still
 * registered is read, and only the events it still asks for are delivered (a callback may
 * have narrowed its interest meanwhile). Nothing is deferred: once ev_io_stop() or
 * ev_timer_stop() returns, the loop holds no reference to the watcher and it may be freed.
 * Timers are taken off the heap before their callback runs, so a timer callback may free
 * its own timer. ev_run() is not re-entrant: a callback must not call ev_run() on the
 * same loop.
 *
 * Fairness and bounds. A round fires at most as many timers as the heap held when the
 * timer phase began, so a callback that re-arms its timer with 0 ms cannot starve I/O.
 * Timers with the same deadline (millisecond resolution) fire in no particular order.
 * A round reads at most EV_SIG_BATCH signals from the signalfd; the rest stay for the next.
 *
 * One watcher per descriptor: epoll refuses a second registration of an fd (EEXIST),
 * and ev_io_set() returns that error.
 *
 * Errors. ev_io_set() and ev_signal() return -1 with errno. ev_timer_start() cannot
 * return an error: the heap array grows with realloc(), and if that fails the process
 * exits through fatal() (70, EX_SOFTWARE) rather than silently dropping a deadline (a lost
 * timeout would leave a session hanging for ever). The heap starts with room for
 * EV_HEAP_INIT timers, so small loops never allocate after ev_loop_new().
 *
 * Signals. ev_signal() blocks the signal with sigprocmask(2) in the calling thread; it
 * stays blocked after ev_loop_free(), and children started with fork()/exec() inherit the
 * mask, so a program that forks should restore the mask in the child.
 */
#include <sys/epoll.h>
#include <sys/signalfd.h>

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/event.h"
#include "util/log.h"

#define EV_BATCH     64 /* epoll events per round */
#define EV_HEAP_INIT 64 /* timer slots allocated by ev_loop_new() */
#define EV_SIG_BATCH 16 /* signals read per round */

struct ev_sig {
	ev_signal_cb *cb;
	void *arg;
};

struct ev_loop {
	int epfd;
	/* The batch being dispatched; entries are cleared when their watcher stops. */
	struct epoll_event pending[EV_BATCH];
	size_t npending, cur;
	/* Timers: heap[0] has the earliest deadline; heap[i]->idx == i. */
	struct ev_timer **heap;
	size_t nheap, capheap;
	/* Signals: one signalfd whose mask is the set of registered signals. */
	int sigfd;
	sigset_t sigmask;
	struct ev_io sigio;
	struct ev_sig sig[NSIG];
	ev_idle_cb *idle;
	void *idle_arg;
	bool brk;
};

struct ev_loop *
ev_loop_new(void)
{
	struct ev_loop *loop;

	loop = calloc(1, sizeof(*loop));
	if (loop == NULL)
		return NULL;
	loop->heap = calloc(EV_HEAP_INIT, sizeof(*loop->heap));
	if (loop->heap == NULL) {
		free(loop);
		return NULL;
	}
	loop->capheap = EV_HEAP_INIT;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd == -1) {
		free(loop->heap);
		free(loop);
		return NULL;
	}
	loop->sigfd = -1;
	sigemptyset(&loop->sigmask);
	return loop;
}

void
ev_loop_free(struct ev_loop *loop)
{
	size_t i;

	if (loop == NULL)
		return;
	/* Timers still armed are left inactive so their owners can tell. */
	for (i = 0; i < loop->nheap; i++)
		loop->heap[i]->active = false;
	free(loop->heap);
	if (loop->sigfd != -1)
		close(loop->sigfd);
	close(loop->epfd);
	free(loop);
}

/* --- I/O ------------------------------------------------------------------------- */

void
ev_io_init(struct ev_io *w, int fd, ev_io_cb *cb, void *arg)
{
	w->fd = fd;
	w->events = 0;
	w->cb = cb;
	w->arg = arg;
	w->active = false;
}

/* Forgets the events of w still waiting in the batch being dispatched. */
static void
ev_forget_pending(struct ev_loop *loop, const struct ev_io *w)
{
	size_t i;

	for (i = loop->cur; i < loop->npending; i++)
		if (loop->pending[i].data.ptr == w)
			loop->pending[i].data.ptr = NULL;
}

int
ev_io_set(struct ev_loop *loop, struct ev_io *w, int events)
{
	struct epoll_event ee;
	int op;

	if ((events & ~(EV_READ | EV_WRITE)) != 0 || w->fd < 0) {
		errno = EINVAL;
		return -1;
	}
	if (events == 0) {
		ev_io_stop(loop, w);
		return 0;
	}
	if (w->active && w->events == events)
		return 0; /* no system call when nothing changes */
	memset(&ee, 0, sizeof(ee));
	ee.events = ((events & EV_READ) ? EPOLLIN : 0) | ((events & EV_WRITE) ? EPOLLOUT : 0);
	ee.data.ptr = w;
	op = w->active ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	if (epoll_ctl(loop->epfd, op, w->fd, &ee) == -1)
		return -1;
	w->events = events;
	w->active = true;
	return 0;
}

void
ev_io_stop(struct ev_loop *loop, struct ev_io *w)
{
	if (!w->active)
		return;
	/*
	 * A descriptor already closed has left the epoll set by itself (if no duplicate
	 * keeps it open), so EBADF/ENOENT here are not worth reporting.
	 */
	(void)epoll_ctl(loop->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	w->active = false;
	w->events = 0;
	ev_forget_pending(loop, w);
}

/* Maps epoll's report to the watcher's interest; errors and hang-ups wake both sides. */
static int
ev_revents(uint32_t e, int interest)
{
	int r = 0;

	if (e & (EPOLLIN | EPOLLERR | EPOLLHUP | EPOLLRDHUP))
		r |= EV_READ;
	if (e & (EPOLLOUT | EPOLLERR | EPOLLHUP))
		r |= EV_WRITE;
	return r & interest;
}

/* --- timers ---------------------------------------------------------------------- */

static void
ev_heap_place(struct ev_loop *loop, struct ev_timer *t, size_t i)
{
	loop->heap[i] = t;
	t->idx = i;
}

static void
ev_heap_up(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t parent;

	while (i > 0) {
		parent = (i - 1) / 2;
		if (loop->heap[parent]->when <= t->when)
			break;
		ev_heap_place(loop, loop->heap[parent], i);
		i = parent;
	}
	ev_heap_place(loop, t, i);
}

static void
ev_heap_down(struct ev_loop *loop, size_t i)
{
	struct ev_timer *t = loop->heap[i];
	size_t c;

	for (;;) {
		c = 2 * i + 1;
		if (c >= loop->nheap)
			break;
		if (c + 1 < loop->nheap && loop->heap[c + 1]->when < loop->heap[c]->when)
			c++;
		if (t->when <= loop->heap[c]->when)
			break;
		ev_heap_place(loop, loop->heap[c], i);
		i = c;
	}
	ev_heap_place(loop, t, i);
}

/* Takes slot i out of the heap; the last timer fills the hole and moves to its place. */
static void
ev_heap_remove(struct ev_loop *loop, size_t i)
{
	struct ev_timer *last;

	loop->heap[i]->active = false;
	loop->nheap--;
	if (i == loop->nheap)
		return;
	last = loop->heap[loop->nheap];
	ev_heap_place(loop, last, i);
	if (i > 0 && loop->heap[(i - 1) / 2]->when > last->when)
		ev_heap_up(loop, i);
	else
		ev_heap_down(loop, i);
}

void
ev_timer_init(struct ev_timer *t, ev_timer_cb *cb, void *arg)
{
	t->when = 0;
	t->idx = 0;
	t->cb = cb;
	t->arg = arg;
	t->active = false;
}

void
ev_timer_start(struct ev_loop *loop, struct ev_timer *t, uint64_t after_ms)
{
	struct ev_timer **h;
	size_t cap;
	uint64_t now = clock_ms();

	t->when = after_ms > UINT64_MAX - now ? UINT64_MAX : now + after_ms;
	if (t->active) {
		/* Re-arm in place: the new deadline may be earlier or later. */
		ev_heap_up(loop, t->idx);
		ev_heap_down(loop, t->idx);
		return;
	}
	if (loop->nheap == loop->capheap) {
		cap = loop->capheap * 2;
		h = reallocarray(loop->heap, cap, sizeof(*h));
		if (h == NULL)
			fatal("ev_timer_start: %zu timers", cap);
		loop->heap = h;
		loop->capheap = cap;
	}
	t->active = true;
	ev_heap_place(loop, t, loop->nheap++);
	ev_heap_up(loop, t->idx);
}

void
ev_timer_stop(struct ev_loop *loop, struct ev_timer *t)
{
	if (!t->active)
		return;
	ev_heap_remove(loop, t->idx);
}

/* Runs the timers due now; at most as many as were armed when the phase began. */
static void
ev_run_timers(struct ev_loop *loop)
{
	struct ev_timer *t;
	uint64_t now = clock_ms();
	size_t budget = loop->nheap;

	while (budget-- > 0 && loop->nheap > 0 && !loop->brk) {
		t = loop->heap[0];
		if (t->when > now)
			break;
		ev_heap_remove(loop, 0);
		t->cb(t, t->arg);
	}
}

/* epoll_wait's timeout: until the earliest deadline, or for ever when there is none. */
static int
ev_timeout(const struct ev_loop *loop)
{
	uint64_t now, when;

	if (loop->nheap == 0)
		return -1;
	when = loop->heap[0]->when;
	now = clock_ms();
	if (when <= now)
		return 0;
	return when - now > INT_MAX ? INT_MAX : (int)(when - now);
}

/* --- signals --------------------------------------------------------------------- */

static void
ev_sig_read(struct ev_io *w, int events, void *arg)
{
	struct ev_loop *loop = arg;
	struct signalfd_siginfo si;
	ssize_t n;
	int i;
	unsigned s;

	(void)w;
	(void)events;
	for (i = 0; i < EV_SIG_BATCH && !loop->brk; i++) {
		n = read(loop->sigfd, &si, sizeof(si));
		if (n != (ssize_t)sizeof(si))
			break; /* EAGAIN: drained */
		s = si.ssi_signo;
		if (s > 0 && s < NSIG && loop->sig[s].cb != NULL)
			loop->sig[s].cb((int)s, loop->sig[s].arg);
	}
}

int
ev_signal(struct ev_loop *loop, int signo, ev_signal_cb *cb, void *arg)
{
	sigset_t one, mask;
	int fd;

	if (signo <= 0 || signo >= NSIG || signo == SIGKILL || signo == SIGSTOP) {
		errno = EINVAL;
		return -1;
	}
	mask = loop->sigmask;
	if (sigaddset(&mask, signo) == -1)
		return -1;
	/*
	 * Block first: a signal arriving between the two calls then waits in the signalfd
	 * instead of taking its default action.
	 */
	sigemptyset(&one);
	sigaddset(&one, signo);
	if (sigprocmask(SIG_BLOCK, &one, NULL) == -1)
		return -1;
	/* Passing the existing descriptor replaces its mask (signalfd(2)). */
	fd = signalfd(loop->sigfd, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (fd == -1)
		return -1;
	if (loop->sigfd == -1) {
		ev_io_init(&loop->sigio, fd, ev_sig_read, loop);
		if (ev_io_set(loop, &loop->sigio, EV_READ) == -1) {
			close(fd);
			return -1;
		}
		loop->sigfd = fd;
	}
	loop->sigmask = mask;
	loop->sig[signo].cb = cb;
	loop->sig[signo].arg = arg;
	return 0;
}

void
ev_set_idle(struct ev_loop *loop, ev_idle_cb *cb, void *arg)
{
	loop->idle = cb;
	loop->idle_arg = arg;
}

/* --- the loop -------------------------------------------------------------------- */

static void
ev_run_io(struct ev_loop *loop)
{
	struct ev_io *w;
	int r;

	for (loop->cur = 0; loop->cur < loop->npending && !loop->brk;) {
		w = loop->pending[loop->cur].data.ptr;
		r = 0;
		/* A cleared entry's watcher was stopped, maybe freed: do not read it. */
		if (w != NULL && w->active)
			r = ev_revents(loop->pending[loop->cur].events, w->events);
		/* Advance first, so a stop from inside the callback only scans what is left. */
		loop->cur++;
		if (r != 0)
			w->cb(w, r, w->arg);
	}
	loop->npending = 0;
	loop->cur = 0;
}

int
ev_run(struct ev_loop *loop)
{
	int n;

	loop->brk = false;
	while (!loop->brk) {
		n = epoll_wait(loop->epfd, loop->pending, EV_BATCH, ev_timeout(loop));
		if (n == -1) {
			if (errno != EINTR)
				return -1;
			n = 0;
		}
		loop->npending = (size_t)n;
		ev_run_io(loop);
		if (!loop->brk)
			ev_run_timers(loop);
		if (!loop->brk && loop->idle != NULL)
			loop->idle(loop->idle_arg);
	}
	return 0;
}

void
ev_break(struct ev_loop *loop)
{
	loop->brk = true;
}

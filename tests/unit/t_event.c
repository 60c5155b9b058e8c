/*
 * t_event — the event loop: timer order and re-arming, stops from inside callbacks, I/O on
 * pipes and socketpairs, a callback that frees another watcher pending in the same batch
 * (meant to run under ASan), signals through signalfd, ev_break, 1000 random timers.
 * alarm(20) bounds the whole run: a hang fails the test instead of blocking the suite.
 */
#include <sys/socket.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/event.h"
#include "tap.h"

static struct ev_loop *L;

/* --- timers fire in deadline order ---------------------------------------------- */

struct order {
	int seen[16];
	int n;
	int last; /* ev_break after this id */
};

struct otimer {
	struct ev_timer t;
	int id;
	struct order *o;
};

static void
order_cb(struct ev_timer *t, void *arg)
{
	struct otimer *ot = arg;

	(void)t;
	if (ot->o->n < 16)
		ot->o->seen[ot->o->n++] = ot->id;
	if (ot->id == ot->o->last)
		ev_break(L);
}

static void
test_order(void)
{
	struct order o = {.last = 3};
	struct otimer t[3];
	static const unsigned after[3] = {30, 10, 20};
	int i;

	for (i = 0; i < 3; i++) {
		t[i].id = i + 1;
		t[i].o = &o;
		ev_timer_init(&t[i].t, order_cb, &t[i]);
		ev_timer_start(L, &t[i].t, after[i]);
		ok(t[i].t.active, "timer %d active after start", i + 1);
	}
	o.last = 1; /* the 30 ms one is last */
	is_int(ev_run(L), 0, "ev_run returns 0 after ev_break");
	is_int(o.n, 3, "three timers fired");
	is_int(o.seen[0], 2, "10 ms first");
	is_int(o.seen[1], 3, "20 ms second");
	is_int(o.seen[2], 1, "30 ms third");
	for (i = 0; i < 3; i++)
		ok(!t[i].t.active, "timer %d inactive after firing", i + 1);
}

/* --- re-arming --------------------------------------------------------------- */

static void
test_rearm(void)
{
	struct order o = {.last = 2};
	struct otimer a, b, c;
	uint64_t t0 = clock_ms();

	a.id = 1, b.id = 2, c.id = 3;
	a.o = b.o = c.o = &o;
	ev_timer_init(&a.t, order_cb, &a);
	ev_timer_init(&b.t, order_cb, &b);
	ev_timer_init(&c.t, order_cb, &c);
	ev_timer_start(L, &a.t, 5);
	ev_timer_start(L, &b.t, 40);
	ev_timer_start(L, &c.t, 500);
	/* Later, earlier: a from 5 to 60 (after b), c from 500 to 20 (before b). */
	ev_timer_start(L, &a.t, 60);
	ev_timer_start(L, &c.t, 20);
	ev_run(L);
	is_int(o.n, 2, "re-armed timers fire once each");
	is_int(o.seen[0], 3, "timer moved earlier fires first");
	is_int(o.seen[1], 2, "then the untouched one");
	ok(a.t.active, "timer moved later still armed");
	ok(clock_ms() - t0 >= 40, "the loop waited for the 40 ms deadline");
	ev_timer_stop(L, &a.t);
	ok(!a.t.active, "stopped");
	ev_timer_stop(L, &a.t);
	ok(!a.t.active, "stopping twice is harmless");
}

/* --- stops and frees from inside callbacks ---------------------------------------- */

struct victim {
	struct ev_timer t;
	int fired;
};

static struct victim *victim;
static int stopper_fired, self_fired;

static void
victim_cb(struct ev_timer *t, void *arg)
{
	struct victim *v = arg;

	(void)t;
	v->fired++;
}

static void
stopper_cb(struct ev_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	stopper_fired++;
	/* The victim is due in the same round: stop it and free it. */
	ev_timer_stop(L, &victim->t);
	free(victim);
	victim = NULL;
}

static void
self_free_cb(struct ev_timer *t, void *arg)
{
	(void)arg;
	self_fired++;
	free(t); /* the embedding object is the timer itself here */
}

static void
break_cb(struct ev_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ev_break(L);
}

static void
test_stop_inside(void)
{
	struct ev_timer stopper, brk, *self;

	victim = calloc(1, sizeof(*victim));
	self = malloc(sizeof(*self));
	if (victim == NULL || self == NULL)
		abort();
	ev_timer_init(&stopper, stopper_cb, NULL);
	ev_timer_init(&victim->t, victim_cb, victim);
	ev_timer_init(self, self_free_cb, NULL);
	ev_timer_init(&brk, break_cb, NULL);
	ev_timer_start(L, &stopper, 5);
	ev_timer_start(L, &victim->t, 10);
	ev_timer_start(L, self, 10);
	ev_timer_start(L, &brk, 30);
	usleep(15000); /* all three due in one round */
	ev_run(L);
	is_int(stopper_fired, 1, "stopper fired");
	ok(victim == NULL, "victim freed without firing (ASan checks the rest)");
	is_int(self_fired, 1, "a timer callback may free its own timer");
}

/* --- I/O --------------------------------------------------------------------- */

struct pio {
	struct ev_io w;
	int calls, last;
	char buf[16];
	ssize_t got;
};

static void
pio_read_cb(struct ev_io *w, int events, void *arg)
{
	struct pio *p = arg;

	p->calls++;
	p->last = events;
	p->got = read(w->fd, p->buf, sizeof(p->buf));
	ev_break(L);
}

static void
pio_write_cb(struct ev_io *w, int events, void *arg)
{
	struct pio *p = arg;

	p->calls++;
	p->last = events;
	/* Writable for good: drop the interest or the loop would spin. */
	ev_io_set(L, w, 0);
	ev_break(L);
}

static void
test_io(void)
{
	struct pio r, wr;
	int pfd[2], sv[2];
	struct ev_timer guard;

	if (pipe(pfd) == -1 || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		abort();
	memset(&r, 0, sizeof(r));
	ev_io_init(&r.w, pfd[0], pio_read_cb, &r);
	is_int(ev_io_set(L, &r.w, EV_READ), 0, "pipe read end registered");
	ok(r.w.active && r.w.events == EV_READ, "active with EV_READ");
	is_int(write(pfd[1], "hello", 5), 5, "wrote 5 bytes");
	ev_run(L);
	is_int(r.calls, 1, "read callback ran once");
	is_int(r.last, EV_READ, "with EV_READ");
	is_int(r.got, 5, "and read the 5 bytes");
	ok(memcmp(r.buf, "hello", 5) == 0, "the right bytes");

	/* EOF wakes the reader too (EPOLLHUP is mapped to EV_READ). */
	close(pfd[1]);
	r.calls = 0;
	ev_run(L);
	is_int(r.calls, 1, "hang-up reported");
	is_int(r.last, EV_READ, "as EV_READ");
	is_int(r.got, 0, "read returns 0 (EOF)");
	ev_io_stop(L, &r.w);
	ok(!r.w.active, "stopped");
	close(pfd[0]);

	/* A socket is writable at once; the callback removes its interest. */
	memset(&wr, 0, sizeof(wr));
	ev_io_init(&wr.w, sv[0], pio_write_cb, &wr);
	is_int(ev_io_set(L, &wr.w, EV_WRITE), 0, "socket write interest");
	ev_run(L);
	is_int(wr.calls, 1, "write callback ran");
	is_int(wr.last, EV_WRITE, "with EV_WRITE only");
	ok(!wr.w.active, "events 0 removed it from epoll");

	/* Both directions in one registration; MOD after ADD. */
	wr.calls = 0;
	is_int(ev_io_set(L, &wr.w, EV_READ), 0, "re-added for read");
	is_int(ev_io_set(L, &wr.w, EV_READ | EV_WRITE), 0, "modified to read|write");
	ev_run(L);
	is_int(wr.last, EV_WRITE, "not readable yet: EV_WRITE only");
	is_int(write(sv[1], "x", 1), 1, "peer wrote");
	wr.calls = 0;
	is_int(ev_io_set(L, &wr.w, EV_READ | EV_WRITE), 0, "read|write again");
	ev_run(L);
	is_int(wr.last, EV_READ | EV_WRITE, "readable and writable in one call");

	/* Removed interest means no callback: a 20 ms timer ends the round instead. */
	wr.calls = 0;
	ev_io_stop(L, &wr.w);
	ev_timer_init(&guard, break_cb, NULL);
	ev_timer_start(L, &guard, 20);
	ev_run(L);
	is_int(wr.calls, 0, "a stopped watcher gets nothing although the fd is ready");

	errno = 0;
	is_int(ev_io_set(L, &wr.w, 0x10), -1, "unknown event bit refused");
	is_int(errno, EINVAL, "EINVAL");
	ev_io_init(&wr.w, 999, pio_write_cb, &wr);
	is_int(ev_io_set(L, &wr.w, EV_READ), -1, "bad fd refused");
	is_int(errno, EBADF, "EBADF from epoll_ctl");
	ok(!wr.w.active, "and left inactive");
	ev_io_init(&wr.w, sv[0], pio_write_cb, &wr);
	struct ev_io dup;
	ev_io_init(&dup, sv[0], pio_write_cb, &wr);
	is_int(ev_io_set(L, &wr.w, EV_READ), 0, "first watcher on fd");
	is_int(ev_io_set(L, &dup, EV_READ), -1, "second watcher on the same fd refused");
	is_int(errno, EEXIST, "EEXIST");
	ev_io_stop(L, &wr.w);
	close(sv[0]);
	close(sv[1]);
}

/* --- a callback frees another watcher pending in the same batch -------------------- */

struct pair {
	struct ev_io w;
	int sv[2];
	int calls;
	struct pair **other; /* the other watcher's slot */
	struct pair **self;
};

static int pair_rounds;

static void
pair_cb(struct ev_io *w, int events, void *arg)
{
	struct pair *p = arg, *o = *p->other;

	(void)events;
	(void)w;
	p->calls++;
	if (o != NULL) {
		/* Stop, close, free: its event in this batch must not be delivered. */
		ev_io_stop(L, &o->w);
		close(o->sv[0]);
		close(o->sv[1]);
		free(o);
		*p->other = NULL;
	}
}

static void
rounds_idle(void *arg)
{
	(void)arg;
	if (++pair_rounds == 1)
		ev_break(L);
}

static void
test_free_pending(void)
{
	struct pair *a, *b;
	int ca, cb;

	a = calloc(1, sizeof(*a));
	b = calloc(1, sizeof(*b));
	if (a == NULL || b == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, a->sv) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, b->sv) == -1)
		abort();
	a->other = &b, a->self = &a;
	b->other = &a, b->self = &b;
	ev_io_init(&a->w, a->sv[0], pair_cb, a);
	ev_io_init(&b->w, b->sv[0], pair_cb, b);
	ev_io_set(L, &a->w, EV_READ);
	ev_io_set(L, &b->w, EV_READ);
	/* Both readable before the loop waits: one epoll_wait batch holds both. */
	if (write(a->sv[1], "a", 1) != 1 || write(b->sv[1], "b", 1) != 1)
		abort();
	pair_rounds = 0;
	ev_set_idle(L, rounds_idle, NULL);
	ev_run(L);
	ev_set_idle(L, NULL, NULL);
	ok((a == NULL) != (b == NULL), "exactly one watcher freed the other");
	ca = a != NULL ? a->calls : 0;
	cb = b != NULL ? b->calls : 0;
	is_int(ca + cb, 1, "only the survivor's callback ran in that round");
	if (a != NULL) {
		ev_io_stop(L, &a->w);
		close(a->sv[0]), close(a->sv[1]);
		free(a);
	}
	if (b != NULL) {
		ev_io_stop(L, &b->w);
		close(b->sv[0]), close(b->sv[1]);
		free(b);
	}
}

/* --- ev_break inside a batch stops the rest of it ---------------------------------- */

static int brk_calls;

static void
brk_io_cb(struct ev_io *w, int events, void *arg)
{
	(void)w;
	(void)events;
	(void)arg;
	brk_calls++;
	ev_break(L);
}

static void
test_break(void)
{
	struct ev_io w1, w2;
	struct ev_timer t;
	int s1[2], s2[2];
	static int timer_fired;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s1) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, s2) == -1)
		abort();
	ev_io_init(&w1, s1[0], brk_io_cb, NULL);
	ev_io_init(&w2, s2[0], brk_io_cb, NULL);
	ev_io_set(L, &w1, EV_WRITE);
	ev_io_set(L, &w2, EV_WRITE);
	ev_timer_init(&t, break_cb, &timer_fired);
	ev_timer_start(L, &t, 0);
	brk_calls = 0;
	ev_run(L);
	is_int(brk_calls, 1, "ev_break in the first callback skips the rest of the batch");
	ok(t.active, "and the due timer did not run");
	ev_run(L);
	is_int(brk_calls, 2, "a second ev_run resumes (level-triggered)");
	ev_io_stop(L, &w1);
	ev_io_stop(L, &w2);
	ev_timer_stop(L, &t);
	close(s1[0]), close(s1[1]), close(s2[0]), close(s2[1]);
}

/* --- a timer re-armed with 0 ms does not starve I/O -------------------------------- */

static int spin_fired, io_calls, rounds;

static void
spin_cb(struct ev_timer *t, void *arg)
{
	(void)arg;
	spin_fired++;
	ev_timer_start(L, t, 0);
}

static void
count_io_cb(struct ev_io *w, int events, void *arg)
{
	(void)w;
	(void)events;
	(void)arg;
	io_calls++;
}

static void
count_idle(void *arg)
{
	(void)arg;
	if (++rounds == 3)
		ev_break(L);
}

static void
test_no_starve(void)
{
	struct ev_timer spin;
	struct ev_io w;
	int s[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) == -1)
		abort();
	ev_timer_init(&spin, spin_cb, NULL);
	ev_timer_start(L, &spin, 0);
	ev_io_init(&w, s[0], count_io_cb, NULL);
	ev_io_set(L, &w, EV_WRITE);
	ev_set_idle(L, count_idle, NULL);
	ev_run(L);
	ev_set_idle(L, NULL, NULL);
	is_int(rounds, 3, "the idle callback ran once per round");
	is_int(io_calls, 3, "I/O ran every round although a timer re-arms itself at 0 ms");
	ok(spin_fired >= 1 && spin_fired <= 3,
	    "the spinning timer fired at most once per round (%d)", spin_fired);
	ev_timer_stop(L, &spin);
	ev_io_stop(L, &w);
	close(s[0]), close(s[1]);
}

/* --- signals ------------------------------------------------------------------ */

static int usr1, usr2, break_on;

static void
sig_cb(int signo, void *arg)
{
	int *count = arg;

	(*count)++;
	if (signo == break_on)
		ev_break(L);
}

static void
test_signals(void)
{
	sigset_t cur;

	is_int(ev_signal(L, SIGUSR1, sig_cb, &usr1), 0, "SIGUSR1 registered");
	sigprocmask(SIG_BLOCK, NULL, &cur);
	ok(sigismember(&cur, SIGUSR1), "and blocked");
	break_on = SIGUSR1;
	raise(SIGUSR1);
	ev_run(L);
	is_int(usr1, 1, "raise(SIGUSR1) reached the callback");
	/* A second signal rebuilds the mask of the same signalfd. */
	is_int(ev_signal(L, SIGUSR2, sig_cb, &usr2), 0, "SIGUSR2 registered");
	break_on = SIGUSR2;
	raise(SIGUSR1);
	raise(SIGUSR2);
	ev_run(L);
	is_int(usr1, 2, "SIGUSR1 still delivered");
	is_int(usr2, 1, "SIGUSR2 delivered");
	is_int(ev_signal(L, SIGKILL, sig_cb, NULL), -1, "SIGKILL refused");
	is_int(ev_signal(L, 0, sig_cb, NULL), -1, "signal 0 refused");
}

/* --- 1000 timers in random order, with random stops and re-arms -------------------- */

#define NT 1000

struct rt {
	struct ev_timer t;
	bool stopped;
	int fired;
};

static struct rt rts[NT];
static uint64_t last_when;
static int nfired, out_of_order;

static void
rt_cb(struct ev_timer *t, void *arg)
{
	struct rt *r = arg;

	if (t->when < last_when)
		out_of_order++;
	last_when = t->when;
	r->fired++;
	if (++nfired == NT - 200)
		ev_break(L);
}

static void
test_random(void)
{
	int i, j, stopped = 0, twice = 0;

	srandom(12345);
	for (i = 0; i < NT; i++) {
		ev_timer_init(&rts[i].t, rt_cb, &rts[i]);
		ev_timer_start(L, &rts[i].t, (uint64_t)(random() % 100));
	}
	/* Re-arm 300 at random (some twice), stop 200 distinct ones. */
	for (i = 0; i < 300; i++)
		ev_timer_start(L, &rts[random() % NT].t, (uint64_t)(random() % 100));
	while (stopped < 200) {
		j = (int)(random() % NT);
		if (rts[j].stopped)
			continue;
		rts[j].stopped = true;
		ev_timer_stop(L, &rts[j].t);
		stopped++;
	}
	ev_run(L);
	is_int(nfired, NT - 200, "800 timers fired");
	is_int(out_of_order, 0, "in deadline order");
	for (i = 0; i < NT; i++) {
		if (rts[i].stopped ? rts[i].fired != 0 : rts[i].fired != 1)
			twice++;
		if (rts[i].t.active)
			twice++;
	}
	is_int(twice, 0, "each live timer once, no stopped timer, none left armed");
}

int
main(void)
{
	alarm(20);
	L = ev_loop_new();
	if (!ok(L != NULL, "ev_loop_new"))
		return done_testing();
	test_order();
	test_rearm();
	test_stop_inside();
	test_io();
	test_free_pending();
	test_break();
	test_no_starve();
	test_signals();
	test_random();
	ev_loop_free(L);
	ev_loop_free(NULL);
	ok(true, "ev_loop_free");
	return done_testing();
}

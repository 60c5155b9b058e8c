/*
 * event — mxd's event loop: epoll for file descriptors, a binary heap for timers,
 * signalfd for signals. Single-threaded; callbacks run on the loop's thread.
 *
 * Ownership: struct ev_io and struct ev_timer are embedded in the caller's objects (no
 * allocation per event); the loop only points at them. A callback may add, modify or
 * delete any watcher, including its own, and may free the object that embeds it after
 * deleting it: the loop never touches a watcher after its callback returns unless it is
 * still registered.
 */
#ifndef UTIL_EVENT_H
#define UTIL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EV_READ  0x01
#define EV_WRITE 0x02

struct ev_loop;
struct ev_io;
struct ev_timer;

typedef void ev_io_cb(struct ev_io *, int events, void *arg);
typedef void ev_timer_cb(struct ev_timer *, void *arg);
typedef void ev_signal_cb(int signo, void *arg);
typedef void ev_idle_cb(void *arg);

struct ev_io {
	int fd;
	int events; /* registered interest */
	ev_io_cb *cb;
	void *arg;
	bool active;
};

struct ev_timer {
	uint64_t when; /* clock_ms() deadline */
	size_t idx;    /* heap slot, when active */
	ev_timer_cb *cb;
	void *arg;
	bool active;
};

struct ev_loop *ev_loop_new(void);
void ev_loop_free(struct ev_loop *);

void ev_io_init(struct ev_io *, int fd, ev_io_cb *, void *);
/* Sets the interest (EV_READ|EV_WRITE, 0 removes). Returns 0 or -1 (epoll_ctl errno). */
int ev_io_set(struct ev_loop *, struct ev_io *, int events);
void ev_io_stop(struct ev_loop *, struct ev_io *); /* before close(fd) */

void ev_timer_init(struct ev_timer *, ev_timer_cb *, void *);
void ev_timer_start(struct ev_loop *, struct ev_timer *, uint64_t after_ms); /* re-arms */
void ev_timer_stop(struct ev_loop *, struct ev_timer *);

/* Blocks the signal and delivers it through the loop. Returns 0 or -1. */
int ev_signal(struct ev_loop *, int signo, ev_signal_cb *, void *);
/* Called once after each round of events (e.g. dns_resolver_reap). One per loop. */
void ev_set_idle(struct ev_loop *, ev_idle_cb *, void *);

/* Runs until ev_break(); returns 0, or -1 if epoll_wait fails. */
int ev_run(struct ev_loop *);
void ev_break(struct ev_loop *);

#endif

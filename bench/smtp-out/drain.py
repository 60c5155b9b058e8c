#!/usr/bin/env python3
"""bench/smtp-out/drain.py — times the drain of an MTA's queue into smtp-sink.

usage: drain.py SINK_OUT N T0_FILE CAP QUEUE_DIR...
       drain.py SINK_OUT          prints the sink's last counters: "sess=S mesg=M"

SINK_OUT is the standard output of `smtp-sink -c`: a stream of "sess=S quit=Q mesg=M"
counters, each ended by a carriage return, written whenever a session ends, a QUIT is
executed or a "." is received. Started before the release, drain.py creates
T0_FILE.ready once it is running, then waits (at most CAP seconds) for T0_FILE to hold the
release time, seconds since the epoch (as bash's $EPOCHREALTIME or `date +%s.%N` print
it): the caller writes it just before it releases the queue, so Python's start-up is never
inside the measurement. Then waits until the sink has counted N messages and until every
QUEUE_DIR is empty of files (searched recursively; dot files ignored), polling every 5 ms,
for at most CAP seconds after T0. Prints one line of key=value facts, seconds after T0:

  first_s    the sink counted its first message
  sink_s     the sink counted N messages
  empty_s    the queue directories were empty as well (the drain time)
  sink       messages the sink counted by then; sess: its sessions (connections) ended
             by then (connections an MTA keeps open for reuse end later: ask again with
             the one-argument form after stopping the MTA)
  queued     files left in the queue directories (0 unless the cap was hit)
  capped     1 when CAP ran out first

Exits 0 when both conditions were met, 1 when CAP ran out, 2 on usage errors. Reads
files only; never signals or writes anything.
"""
import os
import re
import sys
import time

COUNTER = re.compile(rb"sess=(\d+) quit=\d+ mesg=(\d+)\r")
POLL = 0.005


def sink_counts(path):
    """(sessions, messages) from the last complete counter line of the sink's output."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 512))
            tail = f.read()
    except OSError:
        return 0, 0
    last = None
    for last in COUNTER.finditer(tail):
        pass
    if last is None:
        return 0, 0
    return int(last.group(1)), int(last.group(2))


def queued(dirs, limit=100000):
    """Files under dirs (recursive, dot files ignored), up to limit."""
    n = 0
    for top in dirs:
        for root, _, files in os.walk(top):
            n += sum(1 for f in files if not f.startswith("."))
            if n >= limit:
                return n
    return n


def wait_t0(path, cap):
    """Announces readiness, then polls PATH for the release time; None after CAP s."""
    with open(path + ".ready", "w") as f:
        f.write("%d\n" % os.getpid())
    end = time.monotonic() + cap
    while time.monotonic() < end:
        try:
            with open(path) as f:
                s = f.read()
            if s.endswith("\n"):
                return float(s)
        except (OSError, ValueError):
            pass
        time.sleep(POLL / 5)
    return None


def main():
    if len(sys.argv) == 2:
        print("sess=%d mesg=%d" % sink_counts(sys.argv[1]))
        return 0
    if len(sys.argv) < 6:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    out, want, t0file, cap = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
    dirs = sys.argv[5:]
    t0 = wait_t0(t0file, cap)
    if t0 is None:
        print("no release time in %s after %g s" % (t0file, cap), file=sys.stderr)
        return 1
    first = sink_t = empty_t = None
    sess = msgs = 0
    left = -1
    capped = 0
    while True:
        now = time.time()
        sess, msgs = sink_counts(out)
        if first is None and msgs > 0:
            first = now - t0
        if sink_t is None and msgs >= want:
            sink_t = now - t0
        if sink_t is not None:
            left = queued(dirs)
            if left == 0:
                empty_t = now - t0
                break
        if now - t0 > cap:
            capped = 1
            left = queued(dirs)
            break
        time.sleep(POLL)

    def fmt(x):
        return "-" if x is None else "%.3f" % x

    print("first_s=%s sink_s=%s empty_s=%s sink=%d sess=%d queued=%d capped=%d"
          % (fmt(first), fmt(sink_t), fmt(empty_t), msgs, sess, left, capped))
    return 1 if capped else 0


if __name__ == "__main__":
    sys.exit(main())

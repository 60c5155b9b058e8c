#!/usr/bin/env python3
"""bench/smtp-in/proc.py — facts about a daemon's process tree, from /proc.

usage: proc.py pids ROOT     every PID in the tree under ROOT (ROOT included), one a line
       proc.py cpu ROOT      CPU seconds of the tree: utime+stime of each live process plus
                             cutime+cstime (children that exited and were reaped, which is
                             how Postfix's short-lived smtpd/cleanup processes are counted)
       proc.py mem ROOT      "procs=N pss_kb=N rss_kb=N": the sums over the tree; PSS from
                             /proc/PID/smaps_rollup (shared pages divided among sharers),
                             RSS from /proc/PID/status (VmRSS: shared pages counted in full)

A daemon that forks per session (Postfix) has hundreds of processes here; one with an
event loop (mxd, OpenSMTPD) a handful. A process that exits between the scan and the read
is skipped. Reads only /proc; needs root to read other users' smaps_rollup.
"""
import os
import sys


def stat_fields(pid):
    """The fields after the command name of /proc/PID/stat (the name may hold spaces)."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return s[s.rindex(")") + 2:].split()


def tree(root):
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            ppid = int(stat_fields(int(d))[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root]
    while todo and len(out) < 100000:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def cpu(pids):
    hz = os.sysconf("SC_CLK_TCK")
    t = 0
    for p in pids:
        try:
            f = stat_fields(p)
        except (OSError, ValueError):
            continue
        # utime stime cutime cstime are fields 14-17 of stat(5); f[0] is field 3.
        t += sum(int(x) for x in f[11:15])
    return t / hz


def kb(path, key):
    try:
        with open(path) as f:
            for line in f:
                if line.startswith(key):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def mem(pids):
    n = pss = rss = 0
    for p in pids:
        a = kb("/proc/%d/smaps_rollup" % p, "Pss:")
        b = kb("/proc/%d/status" % p, "VmRSS:")
        if a is None and b is None:
            continue
        n += 1
        pss += a or 0
        rss += b or 0
    return "procs=%d pss_kb=%d rss_kb=%d" % (n, pss, rss)


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("pids", "cpu", "mem"):
        print("usage: proc.py pids|cpu|mem ROOT", file=sys.stderr)
        return 2
    root = int(sys.argv[2])
    pids = tree(root)
    if sys.argv[1] == "pids":
        print("\n".join(str(p) for p in pids))
    elif sys.argv[1] == "cpu":
        print("%.2f" % cpu(pids))
    else:
        print(mem(pids))
    return 0


if __name__ == "__main__":
    sys.exit(main())

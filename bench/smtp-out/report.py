#!/usr/bin/env python3
"""bench/smtp-out/report.py — the tables of bench/smtp-out/run, from its result lines.

usage: report.py RAW REPS

RAW holds one "key=value ..." line per run (see run and drain.py for the keys). Prints
Markdown tables: per MTA the median drain rate (messages / seconds from the release until
the sink counted them all and the queue was empty) with its min-max, the time to the first
message at the sink, the MTA's connections to the sink (the sink's sessions less the
script's readiness probe), the MTA's CPU per message; then the
ratio of each mxd configuration to Postfix, against the issue's goal (at least twice
Postfix). A run that failed its checks is left out of the medians and counted in "ok".
"""
import sys

LABEL = {
    "postfix": "Postfix (relayhost; hold, then postsuper -H ALL + postqueue -f)",
    "mxd": "mxd (relayhost; restarted after one deferral)",
    "mxd-mx": "mxd via MX (NSD zone, delivery_port; restarted after one deferral)",
}
ORDER = ["postfix", "mxd", "mxd-mx"]
GOAL = 2.0


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def med(xs):
    s = sorted(xs)
    return s[(len(s) - 1) // 2] if s else None


def num(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def main():
    if len(sys.argv) != 3:
        print("usage: report.py RAW REPS", file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        runs = [fields(l) for l in f if l.strip()]
    reps = int(sys.argv[2])
    by = {}
    for r in runs:
        by.setdefault(r.get("mta"), []).append(r)
    mtas = [m for m in ORDER if m in by] + [m for m in by if m not in ORDER]
    rate = {}
    print("#### Messages per second, queue -> sink (median of %d; min-max; MTA CPU per message)"
          % reps)
    print()
    print("| MTA | msg/s | (min-max) | drain s | first message s | sink connections"
          " | MTA CPU us/msg | ok runs |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in mtas:
        good = [r for r in by[m] if r.get("ok") == "1" and num(r.get("empty_s"))]
        n = int(good[0]["msgs"]) if good else 0
        rates = [n / num(r["empty_s"]) for r in good]
        rate[m] = med(rates)
        if not good:
            print("| %s | VOID | | | | | | 0/%d |" % (LABEL.get(m, m), len(by[m])))
            continue
        drain = med([num(r["empty_s"]) for r in good])
        first = med([num(r.get("first_s")) or 0 for r in good])
        conns = med([int(r.get("final_sess", 0)) - int(r.get("sink_probes", 0)) for r in good])
        cpu = med([num(r.get("cpu_s")) or 0 for r in good])
        print("| %s | %.0f | %.0f-%.0f | %.2f | %.3f | %d | %.0f | %d/%d |"
              % (LABEL.get(m, m), rate[m], min(rates), max(rates), drain, first, conns,
                 cpu * 1e6 / n, len(good), len(by[m])))
    loads = sorted(num(r.get("load")) for r in runs if num(r.get("load")) is not None)
    if loads:
        print()
        print("1-minute load average at the start of the runs: %.2f-%.2f (median %.2f)"
              % (loads[0], loads[-1], med(loads)))
    if rate.get("postfix"):
        print()
        print("#### Ratios: mxd / Postfix, medians")
        print()
        print("| mxd configuration | mxd / Postfix | goal |")
        print("|---|---:|---|")
        for m in mtas:
            if m == "postfix":
                continue
            if rate.get(m):
                x = rate[m] / rate["postfix"]
                print("| %s | %.2f | %s |" % (LABEL.get(m, m), x,
                                              "met" if x >= GOAL else "**not met**"))
            else:
                print("| %s | VOID | **not met** |" % LABEL.get(m, m))
        print()
        print("goal (issue 4): mxd >= %gx Postfix, queue -> sink, with connection reuse." % GOAL)
    return 0


if __name__ == "__main__":
    sys.exit(main())

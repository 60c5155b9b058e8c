#!/usr/bin/env python3
"""bench/smtp-in/report.py — the tables of bench/smtp-in/run, from its result lines.

usage: report.py RAW MEM REPS

RAW holds one "key=value ..." line per throughput run, MEM one per memory measurement.
Prints Markdown tables: the median msg/s of every (shape, server) with its min-max and the
server's CPU per message; the ratios mxd / each peer per shape, with the issue's goal
(at least 2x Postfix, faster than OpenSMTPD); memory per idle session. A run that failed
is left out of the medians and counted in the "ok" column.
"""
import sys

LABEL = {
    "mxd": "mxd (receive only)",
    "mxd-local": "mxd + local Maildir delivery",
    "postfix": "Postfix (hold queue: receive only)",
    "postfix-defer": "Postfix (defer_transports: qmgr at work)",
    "opensmtpd": "OpenSMTPD (mta paused: receive only; no fsync)",
    "opensmtpd-relay": "OpenSMTPD (relay attempts to 127.0.0.1:1; no fsync)",
}


def fields(line):
    return dict(kv.split("=", 1) for kv in line.split() if "=" in kv)


def med(xs):
    s = sorted(xs)
    return s[(len(s) - 1) // 2] if s else None


def shape_name(sess, mode):
    per = "1 message per connection" if mode == "new" else "reused connections"
    return "%s session%s, %s" % (sess, "" if sess == "1" else "s", per)


def main():
    raw, memf, reps = sys.argv[1], sys.argv[2], sys.argv[3]
    runs = [fields(l) for l in open(raw) if l.strip()]
    shapes, servers, v = [], [], {}
    for r in runs:
        sh = (r["sessions"], r["mode"])
        if sh not in shapes:
            shapes.append(sh)
        if r["server"] not in servers:
            servers.append(r["server"])
        e = v.setdefault((sh, r["server"]), {"rate": [], "cpu": [], "n": 0, "ok": 0,
                                              "capped": 0, "drain": []})
        e["n"] += 1
        ok = float(r["msg_s"]) > 0
        if not ok:
            continue
        e["ok"] += 1
        e["capped"] += r["capped"] == "1"
        e["rate"].append(float(r["msg_s"]))
        got = max(int(r["counted"]), 1)
        e["cpu"].append(float(r["cpu_s"]) * 1e6 / got)
        if r.get("delivered", "-") != "-" and float(r["drain_s"]) > 0:
            e["drain"].append(int(r["delivered"]) / float(r["drain_s"]))

    print("### Messages per second (median of %s; min-max; server CPU per message)" % reps)
    print()
    print("| load shape | server | msg/s | (min-max) | server CPU us/msg | ok runs |")
    print("|---|---|---:|---:|---:|---:|")
    med_rate = {}
    for sh in shapes:
        for s in servers:
            e = v.get((sh, s))
            if e is None:
                continue
            name = LABEL.get(s, s)
            if not e["rate"]:
                print("| %s | %s | **VOID** | | | 0/%d |" % (shape_name(*sh), name, e["n"]))
                continue
            m = med(e["rate"])
            med_rate[(sh, s)] = m
            note = ""
            if e["capped"]:
                note = " (cap hit in %d)" % e["capped"]
            if e["drain"]:
                note += "; delivered %.0f/s" % med(e["drain"])
            print("| %s | %s | %.0f | %.0f-%.0f | %.0f | %d/%d%s |" % (
                shape_name(*sh), name, m, min(e["rate"]), max(e["rate"]), med(e["cpu"]),
                e["ok"], e["n"], note))
    loads = [float(r["load"]) for r in runs if "load" in r]
    if loads:
        print()
        print("1-minute load average at the start of the runs: %.2f-%.2f (median %.2f)" % (
            min(loads), max(loads), med(loads)))
    peers = [s for s in servers if not s.startswith("mxd")]
    if "mxd" in servers and peers:
        print()
        print("### Ratios: mxd (receive only) / peer, medians")
        print()
        print("| load shape | " + " | ".join("mxd / " + p for p in peers) + " | goal |")
        print("|---|" + "---:|" * len(peers) + "---|")
        for sh in shapes:
            a = med_rate.get((sh, "mxd"))
            cells, goal = [], []
            for p in peers:
                b = med_rate.get((sh, p))
                if a is None or not b:
                    cells.append("")
                    continue
                r = a / b
                cells.append("%.2f" % r)
                if p.startswith("postfix"):
                    goal.append(r >= 2.0)
                else:
                    goal.append(r > 1.0)
            g = "met" if goal and all(goal) else ("**not met**" if goal else "")
            print("| %s | %s | %s |" % (shape_name(*sh), " | ".join(cells), g))
        print()
        print("goal (issue 3): mxd >= 2x Postfix and > OpenSMTPD at every load shape.")

    mem = [fields(l) for l in open(memf) if l.strip()]
    if mem:
        print()
        print("### Memory per idle session (PSS: shared pages divided among processes)")
        print()
        print("| server | idle sessions | processes before -> after | PSS before | PSS after "
              "| PSS per session | RSS per session |")
        print("|---|---:|---:|---:|---:|---:|---:|")
        for m in mem:
            n = max(int(m["idle"]), 1)
            dp = int(m["pss1_kb"]) - int(m["pss0_kb"])
            dr = int(m["rss1_kb"]) - int(m["rss0_kb"])
            print("| %s | %s | %s -> %s | %.1f MiB | %.1f MiB | %.1f KiB | %.1f KiB |" % (
                m["server"], m["idle"], m["procs0"], m["procs1"], int(m["pss0_kb"]) / 1024,
                int(m["pss1_kb"]) / 1024, dp / n, dr / n))
    return 0


if __name__ == "__main__":
    sys.exit(main())

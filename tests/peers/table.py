#!/usr/bin/env python3
"""table.py — the side-by-side table of docs/AUDIT.md, from mxaudit's JSON reports.

    python3 tests/peers/table.py build/audit-peers/{postfix,opensmtpd,exim,mxd}.json

Prints one Markdown table row per report, in the order given, under a header: the peer
and its version (the report's "target", which tests/peers/audit-peer sets with -N), the
queries recorded, distinct IDs and the IDs' effective bits, the ports' range and effective
bits, 0x20 (share of names sent in mixed case, and the bits it adds), EDNS / DO / cookie
queries, the forgeries the target believed (acceptance matrix), the blind race, the
effective bits an off-path attacker faces and the rating. Reads only the files named;
python3 stdlib only.
"""

import json
import sys

HEADER = ("| peer | version | queries | IDs: distinct / bits | ports: range / bits | 0x20 "
          "| EDNS / DO / cookie | forgeries believed (matrix) | blind race | effective bits "
          "| rating |")


def pct(x):
    return f"{100.0 * x:.0f}%"


def row(path):
    with open(path, encoding="utf-8") as f:
        r = json.load(f)
    target = r.get("target", "")
    peer, _, version = target.partition(" ")
    nq = r.get("nq", 0)
    ids = r.get("ids", {})
    ports = r.get("ports", {})
    idf = f" ({ids['flags_str']})" if ids.get("flags_str") else ""
    pf = f" ({ports['flags_str']})" if ports.get("flags_str") else ""
    id_cell = f"{ids.get('distinct', 0)}/{ids.get('n', 0)} · {ids.get('effective_bits', 0):.1f}{idf}"
    port_cell = (f"{ports.get('min', 0)}–{ports.get('max', 0)} · "
                 f"{ports.get('effective_bits', 0):.1f}{pf}")
    x20 = (f"{pct(r.get('x20_mixed_frac', 0))} mixed · "
           f"+{r.get('x20_bits', 0):.1f}")
    edns = f"{r.get('edns_queries', 0)} / {r.get('do_queries', 0)} / {r.get('cookie_queries', 0)}"
    if r.get("matrix_run"):
        acc = [a["kind"] for a in r.get("acc", []) if a.get("verdict") == "accepted"]
        inc = [a["kind"] for a in r.get("acc", []) if a.get("verdict") == "inconclusive"]
        matrix = ", ".join(acc) if acc else "none"
        if inc:
            matrix += f" (inconclusive: {', '.join(inc)})"
    else:
        matrix = "not run"
    race = r.get("race", {})
    if race.get("run"):
        race_cell = (f"{race.get('successes', 0)}/{race.get('rounds', 0)} won, "
                     f"{race.get('forged_sent', 0)} packets")
    else:
        race_cell = "not run"
    cells = [peer, version, str(nq), id_cell, port_cell, x20, edns, matrix, race_cell,
             f"{r.get('effective_bits', 0):.1f}", f"**{r.get('rating', '?')}**"]
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def main(argv):
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 64
    print(HEADER)
    print("|" + "---|" * 11)
    for p in argv[1:]:
        print(row(p))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

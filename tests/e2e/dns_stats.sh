#!/usr/bin/env bash
# dns_stats.sh — are the resolver's DNS IDs, source ports and 0x20 case unpredictable?
# (CVE-2010-1689: guessable IDs.) Runs N lookups of fresh names through the library
# (tests/tools/dnsdrive) against tests/fakes/dnsforge.py in --honest mode, which logs
# every UDP query as "id sport qname-as-received qtype"; then tests/fakes/idstats.py
# checks the logged values against uniform randomness, one TAP line per check. The
# thresholds (5 sigma for uniform random values) and their derivation are in idstats.py.
#
# Runs in a private network namespace when it can (lib.sh e2e_netns) so no other program
# takes ports from the ephemeral range. TAP; bounded; the fake stopped by PID.
# Run: BUILD=build/san bash tests/e2e/dns_stats.sh
set -u

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_netns "$0" "$@"
e2e_init

N=10000			# lookups: the thresholds in idstats.py are quoted for 10,000
CHECKS=15		# lines idstats.py prints when the log is long enough
PAR=50			# lookups in flight
RUN_MAX=50		# seconds: bound on the dnsdrive run
ADDR=127.0.55.1
ZONE=stats.test
DRIVE=$BUILD/tests/dnsdrive
FAKE=$ROOT/tests/fakes/dnsforge.py

plan $((CHECKS + 2))
[ -x "$DRIVE" ] || bail "$DRIVE not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
command -v python3 >/dev/null || bail "python3 not found"

PORT=$(free_port) || bail "no free port"
spawn python3 "$FAKE" --honest --addr "$ADDR" --alt-addr 127.0.55.2 --port "$PORT" \
    --zone "$ZONE" --log "$TMP/queries.log" --stats "$TMP/fake.stats" \
    --max-seconds $((RUN_MAX + 20)) 2>"$TMP/fake.err"
FAKE_PID=$SPAWNED_PID
wait_port "$ADDR" "$PORT" 5 || bail "dnsforge did not start: $(head -c 300 "$TMP/fake.err")"

timeout -k 5 $((RUN_MAX + 5)) "$DRIVE" -s "$ADDR:$PORT" -z "$ZONE" -n "$N" -p "$PAR" \
    -W "$RUN_MAX" -q >"$TMP/drive.out" 2>"$TMP/drive.err"
ok $? "dnsdrive ran $N lookups"
stop_pid "$FAKE_PID" 5

nok=$(python3 -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    if "summary" in d:
        print(d["summary"]["status"]["OK"])
' "$TMP/drive.out" 2>/dev/null)
is "${nok:-none}" "$N" "all $N lookups OK"

while IFS=$'\t' read -r verdict desc detail; do
	case $verdict in
	PASS) pass "$desc" ;;
	FAIL)
		fail "$desc"
		[ -n "$detail" ] && diag "  $detail"
		;;
	*) diag "idstats: $verdict $desc" ;;
	esac
done < <(python3 "$ROOT/tests/fakes/idstats.py" --inflight "$PAR" "$TMP/queries.log")

done_testing

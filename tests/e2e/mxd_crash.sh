#!/usr/bin/env bash
# mxd_crash.sh — nothing acknowledged is ever lost, nothing is delivered twice, nothing torn
# is ever delivered (issue 3, DESIGN §3).
#
# A client sends N numbered messages from several threads while the whole daemon (every
# process, kill -9 of its process group) is killed and restarted K times. Afterwards, once
# the queue has drained: every message that got a 250 after DATA is in the mailbox exactly
# once; a message that did not get one is there at most once; every delivered file is
# whole (it ends with its END-N line); the daemon's logs show no sanitizer report.
set -u
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_init

N=${CRASH_N:-2000}	# messages
THREADS=10
KILLS=${CRASH_KILLS:-5}
MXD=$BUILD/mxd
[ -x "$MXD" ] || bail "$MXD not built"

chmod 711 "$TMP"	# the mail user (nobody, when we are root) must reach its dirs
PORT=$(free_port) || bail "no free port"
user=$(id -un)
[ "$(id -u)" -eq 0 ] && user=nobody
cat >"$TMP/mxd.conf" <<CONF
hostname = crash.test
listen = 127.0.0.1:$PORT
spool = $TMP/spool
mailbox_root = $TMP/mail
local_domains = example.test
relay_networks = 127.0.0.1/32
user = $user
resolver = 127.0.0.1:1
log = stderr
CONF

MXD_PGID=
start_mxd() {
	setsid "$MXD" -c "$TMP/mxd.conf" 2>>"$TMP/mxd.log" &
	MXD_PGID=$!
	wait_port 127.0.0.1 "$PORT" 10 || bail "mxd did not start: $(tail -5 "$TMP/mxd.log")"
}
crash_mxd() {	# every process at once: no process gets to clean up
	local i
	kill -9 -- "-$MXD_PGID" 2>/dev/null
	wait "$MXD_PGID" 2>/dev/null
	# The whole group is gone before the next start (as an init system waits for it): a
	# worker still exiting may hold the listening socket for a moment.
	# Zombies do not count (no init may reap them in a container): only live members.
	for ((i = 0; i < 100; i++)); do
		ps -e -o pgid=,stat= | awk -v g="$MXD_PGID" '$1 == g && $2 !~ /^Z/' | grep -q . ||
			break
		sleep 0.05
	done
}
trap 'crash_mxd; e2e_cleanup' EXIT

start_mxd
python3 "$ROOT/tests/fakes/loadclient.py" --port "$PORT" -n "$N" --threads "$THREADS" \
    --out "$TMP/results" --max-seconds 240 &
LOAD=$!
for ((k = 1; k <= KILLS; k++)); do
	sleep "0.$((RANDOM % 3 + 1))"
	kill -0 "$LOAD" 2>/dev/null || break
	crash_mxd
	start_mxd
done
kills=$((k - 1))
for ((i = 0; i < 2400; i++)); do kill -0 "$LOAD" 2>/dev/null || break; sleep 0.1; done
wait "$LOAD"
ok $? "the client ran to its end ($N messages, $kills crashes of the whole daemon)"

# Let the last daemon deliver what is queued (bounded).
backlog=$(ls -A "$TMP/spool/queue" | wc -l)
for ((i = 0; i < 1800; i++)); do
	[ -z "$(ls -A "$TMP/spool/queue" 2>/dev/null)" ] && break
	sleep 0.1
done
diag "$backlog queued messages drained in $((i / 10)).$((i % 10)) s"
is "$(ls -A "$TMP/spool/queue" | wc -l)" 0 "the queue drained after the last restart"
if [ -n "$(ls -A "$TMP/spool/queue")" ]; then
	diag "$(grep -c 'status=deferred' "$TMP/mxd.log") deferrals; last log lines:"
	grep -vE 'connect from|queue active|status=sent|removed' "$TMP/mxd.log" | tail -15 |
	    while read -r l; do diag "$l"; done
fi
kill -TERM "$MXD_PGID" 2>/dev/null
for ((i = 0; i < 100; i++)); do kill -0 "$MXD_PGID" 2>/dev/null || break; sleep 0.1; done
crash_mxd

acked=$(grep -c ' acked$' "$TMP/results")
cmp_ok "$acked" -gt $((N / 4)) "a good part of the messages were acknowledged ($acked of $N)"
out=$(python3 - "$TMP/results" "$TMP/mail/example.test/crash" <<'PY'
import os, re, sys
results, box = sys.argv[1:3]
acked = set()
for line in open(results):
    n, st = line.split()[:2]
    if st == "acked":
        acked.add(int(n))
seen, torn = {}, 0
for sub in ("new", "cur"):
    d = os.path.join(box, sub)
    if not os.path.isdir(d):
        continue
    for f in os.listdir(d):
        data = open(os.path.join(d, f), "rb").read()
        m = re.search(rb"^X-Token: (\d+)$", data, re.M)
        if not m:
            torn += 1
            continue
        n = int(m.group(1))
        if not data.rstrip(b"\n").endswith(b"END-%d" % n):
            torn += 1
        seen[n] = seen.get(n, 0) + 1
lost = sorted(n for n in acked if seen.get(n, 0) == 0)
dup = sorted(n for n, c in seen.items() if c > 1)
print("lost", len(lost), lost[:10])
print("dup", len(dup), dup[:10])
print("torn", torn)
print("delivered", sum(seen.values()))
PY
)
diag "$(echo "$out" | tr '\n' ' ')"
is "$(echo "$out" | awk '/^lost/ {print $2}')" 0 "no acknowledged message was lost"
is "$(echo "$out" | awk '/^dup/ {print $2}')" 0 "no message was delivered twice"
is "$(echo "$out" | awk '/^torn/ {print $2}')" 0 "no torn message was delivered"
if grep -qE 'ERROR: AddressSanitizer|runtime error:' "$TMP/mxd.log"; then
	fail "no sanitizer report in mxd's log"
	grep -m5 -E 'ERROR: AddressSanitizer|runtime error:' "$TMP/mxd.log" >&2
else
	pass "no sanitizer report in mxd's log"
fi
diag "$(grep -c 'torn queue file' "$TMP/mxd.log") torn (unacknowledged) queue files set aside at restarts"
done_testing

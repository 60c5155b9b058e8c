#!/usr/bin/env bash
# tests/e2e/mxaudit.sh — mxaudit end to end, against the weak fixture and against mxd.
#
# mxaudit plays the target's DNS server ($DNS, UDP and TCP, a random port) for audit.test,
# the true MX ($LEGIT) and the attacker ($ATT) on one random port, and triggers lookups by
# relaying through the target. Three runs:
#   (a) tests/fakes/weakmta.py (sequential IDs, one source port, believes any reply with the
#       right ID): rated poor, the matrix shows the forgeries it believed (at least
#       wrong-src-addr, wrong-src-port, other-qname and qcase accepted; wrong-id rejected),
#       the blind race wins, exit 1 with --fail-on-accept;
#   (b) weakmta.py --pid-ids (one constant ID): ID flags constant/pid, poor, the race wins,
#       exit 1 with --min-bits;
#   (c) mxd (resolver = mxaudit's DNS, delivery_port = the receivers' port, loopback MX
#       allowed, relaying for mxaudit's address): rated excellent or good, no forgery
#       accepted, the race never wins, exit 0 with --fail-on-accept and --min-bits.
# Each writes JSON (parsed here) and HTML. Plus the usage (64), cannot-bind (69) and
# inconclusive (2) exits.
#
# Runs in a private network namespace when it can (the 127.0.90.x addresses are then ours
# alone); works without one too. TAP; every wait bounded; every process stopped by PID.
# Run: BUILD=build/san bash tests/e2e/mxaudit.sh
set -u

# shellcheck source=tests/e2e/smtp_lib.sh
. "$(dirname "$0")/smtp_lib.sh"
e2e_netns "$0" "$@"
smtp_init

MXAUDIT=$BUILD/mxaudit
WEAK=$ROOT/tests/fakes/weakmta.py
[ -x "$MXAUDIT" ] || bail "$MXAUDIT is not built (make BUILD=build/san SAN=1 tests)"

DNS=127.0.90.53		# mxaudit's DNS server, and the trigger's source address
LEGIT=127.0.90.54	# the true MX
ATT=127.0.90.66		# the attacker
WADDR=127.0.90.25	# weakmta's SMTP address
N=${N:-40}		# lookups in phase 1
DPORT=$(free_port) || bail "no free port"
RPORT=$(free_port) || bail "no free port"
while [ "$RPORT" = "$DPORT" ]; do RPORT=$(free_port); done
SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer'

# audit NAME ARGS...: runs mxaudit (bounded) with the common addresses; the report on
# $TMP/NAME.out, stderr on $TMP/NAME.err, JSON $TMP/NAME.json, HTML $TMP/NAME.html; the exit
# status in RC.
audit() {
	local name=$1
	shift
	timeout 90 "$MXAUDIT" -d "$DNS:$DPORT" -l "$LEGIT:$RPORT" -a "$ATT:$RPORT" \
	    -j "$TMP/$name.json" -H "$TMP/$name.html" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
	RC=$?
	sed -n '/^verdict:/,$p' "$TMP/$name.out" | head -n 4 | sed "s/^/# $name: /"
}

# jq_py NAME EXPR: evaluates a Python expression over the run's JSON (d); prints the value.
jq_py() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
acc = {a["kind"]: a["verdict"] for a in d["acc"]}
print(eval(sys.argv[2]))' "$TMP/$1.json" "$2" 2>&1
}

clean_stderr() {	# clean_stderr NAME: no sanitizer report from mxaudit
	if grep -Eq "$SAN_RE" "$TMP/$1.err"; then
		fail "$1: no sanitizer report from mxaudit"
		grep -E -A12 "$SAN_RE" "$TMP/$1.err" | head -40 | sed 's/^/#   /'
	else
		pass "$1: no sanitizer report from mxaudit"
	fi
}

report_files() {	# report_files NAME: JSON parses, HTML written with its plots
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$TMP/$1.json" 2>/dev/null
	ok $? "$1: the JSON report parses"
	grep -q '<svg' "$TMP/$1.html" 2>/dev/null && grep -q '</html>' "$TMP/$1.html"
	ok $? "$1: the HTML report is written, with SVG"
}

start_weak() {	# start_weak NAME [ARGS...]: weakmta on $WADDR:WPORT, log $TMP/NAME.log
	local name=$1
	shift
	WPORT=$(free_port) || bail "no free port"
	spawn python3 "$WEAK" --addr "$WADDR" --port "$WPORT" --dns "$DNS:$DPORT" \
	    --delivery-port "$RPORT" --log "$TMP/$name.log" --max-seconds 120 "$@" \
	    2>"$TMP/$name.py.err"
	WEAK_PID=$SPAWNED_PID
	wait_port "$WADDR" "$WPORT" 10 || { cat "$TMP/$name.py.err" >&2; bail "weakmta did not start"; }
}

# --- usage and bind failures ---------------------------------------------------------------
"$MXAUDIT" -m nonsense >/dev/null 2>&1
is $? 64 "a bad mode is a usage error (64)"
"$MXAUDIT" -d "$DNS:$DPORT" -l "$LEGIT:$RPORT" -a "$ATT:$RPORT" >/dev/null 2>&1
is $? 64 "relay mode without -s is a usage error (64)"
python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], int(sys.argv[2])))
time.sleep(20)' "$DNS" "$DPORT" &
HOLDER=$!
E2E_PIDS="$E2E_PIDS $HOLDER"
sleep 0.3
"$MXAUDIT" -q -s 127.0.0.1:1 -d "$DNS:$DPORT" -l "$LEGIT:$RPORT" -a "$ATT:$RPORT" >/dev/null 2>&1
is $? 69 "a DNS address in use gives 69"
stop_pid "$HOLDER" 2
"$MXAUDIT" -q -m passive -T 1 -d "$DNS:$DPORT" -l "$LEGIT:$RPORT" -a "$ATT:$RPORT" \
    -j "$TMP/none.json" >/dev/null 2>&1
is $? 2 "passive, with no query at all: inconclusive (2)"

# --- (a) the weak fixture ------------------------------------------------------------------
start_weak weak
audit weak -s "$WADDR:$WPORT" -N weakmta -n "$N" -T 40 --race-packets 300 --fail-on-accept
diag "weakmta: ${SECONDS}s after start, exit $RC"
is "$RC" 1 "weakmta: exit 1 with --fail-on-accept"
clean_stderr weak
report_files weak
is "$(jq_py weak 'd["rating"]')" poor "weakmta: rated poor"
is "$(jq_py weak '"sequential" in d["ids"]["flags_str"]')" True "weakmta: IDs flagged sequential"
is "$(jq_py weak 'd["ports"]["distinct"]')" 1 "weakmta: one source port"
for k in wrong-src-addr wrong-src-port other-qname qcase; do
	is "$(jq_py weak "acc['$k']")" accepted "weakmta: $k forgery accepted"
done
is "$(jq_py weak "acc['wrong-id']")" rejected "weakmta: wrong-id forgery rejected"
diag "weakmta matrix: $(jq_py weak '" ".join("%s=%s" % kv for kv in acc.items())')"
cmp_ok "$(jq_py weak 'd["race"]["successes"]')" -ge 1 "weakmta: the blind race succeeds"
cmp_ok "$(jq_py weak 'd["nq"]')" -ge "$N" "weakmta: at least $N queries recorded"
grep -q '^verdict: .*poor' "$TMP/weak.out"
ok $? "weakmta: the text report gives the verdict"
stop_pid "$WEAK_PID" 5

# --- (b) the weak fixture with process-constant IDs ------------------------------------------
start_weak pid --pid-ids
audit pid -s "$WADDR:$WPORT" -N "weakmta --pid-ids" -n 30 -T 30 --no-matrix \
    --race-packets 100 --min-bits 20
is "$RC" 1 "pid-ids: exit 1 with --min-bits 20"
clean_stderr pid
report_files pid
is "$(jq_py pid 'd["rating"]')" poor "pid-ids: rated poor"
jq_py pid 'd["ids"]["flags_str"]' | grep -Eq 'constant|pid'
ok $? "pid-ids: IDs flagged constant or pid ($(jq_py pid 'd["ids"]["flags_str"]'))"
is "$(jq_py pid 'd["matrix_run"]')" False "pid-ids: --no-matrix skips the matrix"
cmp_ok "$(jq_py pid 'd["race"]["successes"]')" -ge 1 "pid-ids: the blind race succeeds"
stop_pid "$WEAK_PID" 5

# --- (c) mxd -------------------------------------------------------------------------------------
mxd_conf audit "resolver = $DNS:$DPORT" "delivery_port = $RPORT" "allow_loopback_mx = yes" \
    "relay_networks = 127.0.0.1/32, $DNS/32" "retry_min = 1s" "retry_max = 2s" \
    "smtp_timeout = 5" "queue_lifetime = 10m"
mxd_start
audit mxd -s "127.0.0.1:$M_PORT" -N mxd -n 60 -T 60 --race-packets 2000 --fail-on-accept \
    --min-bits 20
diag "mxd: ${SECONDS}s after start, exit $RC"
is "$RC" 0 "mxd: exit 0 with --fail-on-accept and --min-bits 20" ||
    sed 's/^/#   /' "$TMP/mxd.err" | tail -n 20
clean_stderr mxd
report_files mxd
jq_py mxd 'd["rating"]' | grep -Eqx 'excellent|good'
ok $? "mxd: rated excellent or good ($(jq_py mxd 'd["rating"]'), $(jq_py mxd '"%.1f" % d["effective_bits"]') bits)"
is "$(jq_py mxd '[k for k, v in acc.items() if v == "accepted"]')" "[]" "mxd: no forgery accepted"
is "$(jq_py mxd 'sorted(set(v for k, v in acc.items() if k != "wrong-src-addr"))')" \
    "['rejected']" "mxd: every forgery tested and rejected"
diag "mxd matrix: $(jq_py mxd '" ".join("%s=%s" % kv for kv in acc.items())')"
cmp_ok "$(jq_py mxd 'd["race"]["rounds"]')" -ge 1 "mxd: the blind race ran"
is "$(jq_py mxd 'd["race"]["successes"]')" 0 "mxd: the blind race never wins"
cmp_ok "$(jq_py mxd 'd["nq"]')" -ge 60 "mxd: at least 60 queries recorded"

# --- (d) bounce mode: the lookups come from mxd's DSNs to a sender at the audit zone ----------
# mxd accepts "../x"@example.test and the Maildir refuses it at delivery (5.1.1): the bounce
# goes to b@R.ZONE, whose MX mxd must resolve.
audit bounce -m bounce -s "127.0.0.1:$M_PORT" -r '"../x"@example.test' -N mxd-bounce -n 20 \
    -T 60 --no-race
is "$RC" 0 "bounce mode against mxd: exit 0" || sed 's/^/#   /' "$TMP/bounce.err" | tail -n 20
cmp_ok "$(jq_py bounce 'd["ids"]["n"]')" -ge 20 "bounce mode: 20 lookups triggered by bounces"
is "$(jq_py bounce '[k for k, v in acc.items() if v == "accepted"]')" "[]" \
    "bounce mode: no forgery accepted"
grep -q 'sender non-delivery notification' "$M_LOG"
ok $? "bounce mode: the lookups came from mxd's non-delivery notifications"
mxd_stop
diag "total ${SECONDS}s"
done_testing

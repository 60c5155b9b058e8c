#!/usr/bin/env bash
# dns_nsd.sh — end-to-end test of src/dns and mxlookup against a real authoritative server,
# NSD, serving tests/data/zones/ on its own loopback address and a random high port.
# Every answer is checked from `mxlookup -j` JSON (parsed with python3) and its exit code.
# Covers: MX order, equal-preference shuffling, implicit MX, null MX (RFC 7505), CNAME chain,
# TC=1 -> TCP, NXDOMAIN vs NODATA, REFUSED, SERVFAIL, server gone, silent server (timeout),
# refused MX hosts (IP literal, loopback without -L), 0x20. TAP output; every wait bounded; NSD stopped by PID.
#
# Run from anywhere: BUILD=build/san bash tests/e2e/dns_nsd.sh   (BUILD defaults to build/san)
set -u

# shellcheck source=/dev/null
. "$(dirname "$0")/lib.sh"
e2e_init			# ROOT, BUILD (default build/san), TMP, cleanup trap

MXL=$BUILD/mxlookup
ZONES=$ROOT/tests/data/zones
NSD=${NSD:-/usr/sbin/nsd}
ADDR=127.0.53.1
RUN_MAX=30		# seconds: guard on any one mxlookup run (its own timeouts are ~4 s)
NSD_PID=

stop_nsd() {
	[ -n "$NSD_PID" ] || return 0
	stop_pid "$NSD_PID" 5
	NSD_PID=
}

[ -x "$MXL" ] || bail "$MXL not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
[ -x "$NSD" ] || bail "$NSD not installed (Debian package nsd)"
command -v python3 >/dev/null || bail "python3 not found"
command -v dig >/dev/null || bail "dig not found (Debian package dnsutils)"

# Starts NSD in the foreground (-d) and waits, bounded, until it answers www.mx.test.
start_nsd() {
	local i
	sed -e "s|@ADDR@|$ADDR|" -e "s|@PORT@|$PORT|" -e "s|@TMP@|$TMP|g" \
	    -e "s|@ZONES@|$ZONES|" "$ZONES/nsd.conf.in" >"$TMP/nsd.conf" || return 1
	spawn "$NSD" -d -c "$TMP/nsd.conf" >"$TMP/nsd.out" 2>&1
	NSD_PID=$SPAWNED_PID
	for i in $(seq 1 50); do		# 50 x (<= 1 s dig + 0.1 s)
		kill -0 "$NSD_PID" 2>/dev/null || break
		if dig +short +time=1 +tries=1 @"$ADDR" -p "$PORT" www.mx.test A 2>/dev/null |
		    grep -qx 192.0.2.1; then
			return 0
		fi
		sleep 0.1
	done
	stop_nsd
	return 1
}

started=no
for try in 1 2 3; do
	PORT=$(free_port) || continue
	if start_nsd; then
		started=yes
		break
	fi
	diag "NSD did not start on $ADDR:$PORT (try $try):"
	sed 's/^/#   /' "$TMP/nsd.out" "$TMP/nsd.log" 2>/dev/null
done
[ $started = yes ] || bail "could not start NSD"
SRV=$ADDR:$PORT
diag "NSD pid $NSD_PID on $SRV"

# --- mxlookup runs -----------------------------------------------------------------------
OUT=
RC=
ELAPSED_MS=
LAST_ARGS=
# mx ARGS... : runs mxlookup -j -s SRV ARGS, sets OUT (stdout), RC, ELAPSED_MS.
mx() {
	local t0 t1
	t0=$(date +%s%N)
	OUT=$(timeout -k 2 "$RUN_MAX" "$MXL" -j -s "$SRV" "$@" 2>"$TMP/stderr")
	RC=$?
	t1=$(date +%s%N)
	ELAPSED_MS=$(((t1 - t0) / 1000000))
	LAST_ARGS="$*"
	if [ -s "$TMP/stderr" ]; then
		diag "mxlookup $* (exit $RC) stderr:" >&2
		sed 's/^/#   /' "$TMP/stderr" | head -20 >&2
	fi
}
# j EXPR : evaluates a python expression over the JSON in OUT (bound to j); prints the
# result (strings as is, everything else as compact JSON), or "ERROR: ..." if it fails.
j() {
	printf '%s' "$OUT" | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    v = eval(sys.argv[1], {"j": j, "json": json, "sorted": sorted, "len": len})
except Exception as e:
    print("ERROR: %s: %s" % (type(e).__name__, e))
    sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))
' "$1"
}
# show: after a failed check, to stderr so that prove displays it too.
show() { diag "mxlookup -j -s $SRV $LAST_ARGS: exit $RC, ${ELAPSED_MS} ms, output: $OUT" >&2; }
isj() { is "$@" || show; }	# is, and on failure show the mxlookup run checked

# 1. MX ordering: the zone lists 30, 10, 20; delivery order is by preference.
mx -x mx.test
isj "$RC" 0 "mx.test -x: exit 0"
isj "$(j 'j["status"]')" OK "mx.test -x: status OK"
isj "$(j 'j["domain"]')" mx.test. "mx.test -x: domain"
isj "$(j 'j["implicit"]')" false "mx.test -x: not implicit"
isj "$(j '[[h["host"].lower(), h["pref"]] for h in j["hosts"]]')" \
    '[["mx1.mx.test.",10],["mx2.mx.test.",20],["mx3.mx.test.",30]]' \
    "mx.test -x: hosts in preference order"
isj "$(j '[sorted(h["addrs"]) for h in j["hosts"]]')" \
    '[["192.0.2.10","2001:db8::10"],["192.0.2.20","2001:db8::20"],["192.0.2.30","2001:db8::30"]]' \
    "mx.test -x: each host has its A and AAAA"
isj "$(j '[h["refused"] for h in j["hosts"]]')" '[null,null,null]' "mx.test -x: no host refused"

# 2. Equal preferences are shuffled (RFC 5321 §5.1); the preference-5 host always leads.
# The four preference-10 hosts have 4! = 24 orders; if shuffling were uniform, the chance
# that 40 runs all show the same order is 24 * (1/24)^40, about 1e-54: negligible.
first_bad=0
runs_bad=0
set_bad=0
: >"$TMP/orders"
for i in $(seq 1 40); do
	mx -x shuffle.mx.test
	if [ "$RC" -ne 0 ] || [ "$(j 'j["status"]')" != OK ]; then
		runs_bad=$((runs_bad + 1))
		show			# each failed run, to stderr
		continue
	fi
	order=$(j '" ".join(h["host"].lower() for h in j["hosts"])')
	case $order in
	"s0.mx.test. "*) ;;
	*) first_bad=$((first_bad + 1)); diag "run $i: $order" >&2 ;;
	esac
	[ "$(j 'sorted(h["host"].lower() for h in j["hosts"][1:])')" = \
	    '["s1.mx.test.","s2.mx.test.","s3.mx.test.","s4.mx.test."]' ] ||
	    { set_bad=$((set_bad + 1)); diag "run $i: $order" >&2; }
	printf '%s\n' "${order#s0.mx.test. }" >>"$TMP/orders"
done
is "$runs_bad" 0 "shuffle.mx.test -x: 40 runs, all exit 0 and status OK"
is "$first_bad" 0 "shuffle.mx.test -x: the preference-5 host is first in every run"
is "$set_bad" 0 "shuffle.mx.test -x: every run lists exactly the 4 preference-10 hosts after it"
norders=$(sort -u "$TMP/orders" | wc -l)
cmp_ok "$norders" -ge 2 \
    "shuffle.mx.test -x: preference-10 hosts seen in $norders distinct orders (>= 2)"

# 3. Implicit MX (RFC 5321 §5.1): an address and no MX.
mx -x implicit.test
isj "$RC" 0 "implicit.test -x: exit 0"
isj "$(j 'j["status"]')" OK "implicit.test -x: status OK"
isj "$(j 'j["implicit"]')" true "implicit.test -x: implicit true"
isj "$(j '[[h["host"].lower(), h["pref"], sorted(h["addrs"])] for h in j["hosts"]]')" \
    '[["implicit.test.",0,["192.0.2.3","2001:db8::3"]]]' \
    "implicit.test -x: one host, the domain itself, preference 0, its addresses"

# 4. Null MX (RFC 7505 §3): "MX 0 ." is a permanent failure.
mx -x nomail.test
isj "$RC" 69 "nomail.test -x: exit 69"
isj "$(j 'j["status"]')" NULLMX "nomail.test -x: status NULLMX"
isj "$(j 'len(j["hosts"] or [])')" 0 "nomail.test -x: no hosts"

# 5. CNAME: the chain record comes first, then the data.
mx -t A alias.mx.test
isj "$RC" 0 "alias.mx.test A: exit 0"
isj "$(j 'j["status"]')" OK "alias.mx.test A: status OK"
isj "$(j '[[a["name"].lower(), a["type"], a["data"].lower()] for a in j["answers"]]')" \
    '[["alias.mx.test.","CNAME","www.mx.test."],["www.mx.test.","A","192.0.2.1"]]' \
    "alias.mx.test A: answers are the CNAME, then the A"

# 6. TC=1 over UDP moves the query to TCP; all 120 records arrive.
mx -t A big.mx.test
isj "$RC" 0 "big.mx.test A: exit 0"
isj "$(j 'j["status"]')" OK "big.mx.test A: status OK"
isj "$(j 'len(j["answers"])')" 120 "big.mx.test A: 120 answers"
isj "$(j 'sorted(int(a["data"].split(".")[3]) for a in j["answers"] if a["type"] == "A") == list(range(1, 121))')" \
    true "big.mx.test A: exactly 192.0.2.1 .. 192.0.2.120"
isj "$(j 'j["security"]["transport"]')" tcp "big.mx.test A: transport tcp"

# -T: TCP only, even for a small answer.
mx -T -t A www.mx.test
isj "$RC/$(j 'j["status"]')/$(j 'j["security"]["transport"]')" 0/OK/tcp \
    "www.mx.test A -T: exit 0, OK, transport tcp"

# 7. NXDOMAIN (permanent) versus NODATA (the name exists, not the type).
mx -t A nope.mx.test
isj "$RC" 68 "nope.mx.test A: exit 68"
isj "$(j 'j["status"]')" NXDOMAIN "nope.mx.test A: status NXDOMAIN"
isj "$(j 'j["rcode"]')" NXDOMAIN "nope.mx.test A: rcode NXDOMAIN"
mx -t MX www.mx.test
isj "$RC" 69 "www.mx.test MX: exit 69"
isj "$(j 'j["status"]')" NODATA "www.mx.test MX: status NODATA"
isj "$(j 'j["rcode"]')" NOERROR "www.mx.test MX: rcode NOERROR"
mx -t TXT www.mx.test
isj "$RC/$(j 'j["status"]')" 69/NODATA "www.mx.test TXT: exit 69, NODATA"
mx -x nope.mx.test
isj "$RC/$(j 'j["status"]')" 68/NXDOMAIN "nope.mx.test -x: exit 68, NXDOMAIN"

# 8. Outside NSD's zones: REFUSED, which is temporary.
mx -t A www.example.org
isj "$RC" 75 "www.example.org A (REFUSED): exit 75"
isj "$(j 'j["status"]')" RETRY "www.example.org A (REFUSED): status RETRY"
isj "$(j 'j["rcode"]')" REFUSED "www.example.org A (REFUSED): rcode REFUSED"

# 9a. SERVFAIL (servfail.test is configured but its zone file is missing): temporary.
mx -t A www.servfail.test
isj "$RC" 75 "www.servfail.test A (SERVFAIL): exit 75"
isj "$(j 'j["status"]')" RETRY "www.servfail.test A (SERVFAIL): status RETRY"
isj "$(j 'j["rcode"]')" SERVFAIL "www.servfail.test A (SERVFAIL): rcode SERVFAIL"
mx -x servfail.test
isj "$RC/$(j 'j["status"]')" 75/RETRY "servfail.test -x (SERVFAIL): exit 75, RETRY"

# 10. MX hosts that are an IP literal or on loopback are refused; -L allows loopback.
mx -x literal.mx.test
isj "$RC" 0 "literal.mx.test -x: exit 0 (mx1 is usable)"
isj "$(j 'j["status"]')" OK "literal.mx.test -x: status OK"
isj "$(j '[h["pref"] for h in j["hosts"]]')" '[10,20,30]' "literal.mx.test -x: three hosts in order"
isj "$(j '[h["refused"] is not None for h in j["hosts"]]')" '[true,true,false]' \
    "literal.mx.test -x: IP literal and loopback host refused, mx1 not"
mx -x -L literal.mx.test
isj "$RC" 0 "literal.mx.test -x -L: exit 0"
isj "$(j '[h["refused"] is not None for h in j["hosts"]]')" '[true,false,false]' \
    "literal.mx.test -x -L: IP literal still refused, loopback host usable"
isj "$(j '[h["addrs"] for h in j["hosts"] if h["pref"] == 20]')" '[["127.0.0.1"]]' \
    "literal.mx.test -x -L: loopback host has 127.0.0.1"

# 10b. IPv4-mapped AAAA records are judged as the IPv4 address they reach.
mx -x mapped.mx.test
isj "$(j '[h["refused"] is not None for h in j["hosts"]]')" '[true,true,false]' \
    "mapped.mx.test -x: ::ffff:0.0.0.0 and ::ffff:127.0.0.1 refused, mx1 not"

# 11. 0x20: NSD echoes the question byte for byte, so the check is on; id and sport shown.
mx -t A www.mx.test
isj "$RC" 0 "www.mx.test A: exit 0"
isj "$(j '[[a["type"], a["data"]] for a in j["answers"]]')" '[["A","192.0.2.1"]]' \
    "www.mx.test A: 192.0.2.1"
isj "$(j 'j["security"]["x20"]')" true "www.mx.test A: security.x20 true"
isj "$(j 'j["security"]["transport"]')" udp "www.mx.test A: transport udp"
isj "$(j 'j["security"]["server"]')" "$SRV" "www.mx.test A: security.server is NSD"
isj "$(j 'isinstance(j["security"]["id"], int) and 0 <= j["security"]["id"] <= 65535')" true \
    "www.mx.test A: security.id present"
isj "$(j 'isinstance(j["security"]["sport"], int) and 0 < j["security"]["sport"] <= 65535')" true \
    "www.mx.test A: security.sport present"
mx -x mx.test
isj "$(j 'j["security"]["x20"]')" true "mx.test -x: security.x20 true for the MX answer"

# 9b. The server goes away (ICMP port unreachable): RETRY, in bounded time.
stop_nsd
mx -t A www.mx.test
isj "$RC" 75 "NSD stopped, www.mx.test A: exit 75"
isj "$(j 'j["status"]')" RETRY "NSD stopped, www.mx.test A: status RETRY"
cmp_ok "$ELAPSED_MS" -lt 30000 \
    "NSD stopped, www.mx.test A: returned in ${ELAPSED_MS} ms (< 30 s guard)" || show
mx -x mx.test
isj "$RC/$(j 'j["status"]')" 75/RETRY "NSD stopped, mx.test -x: exit 75, RETRY"

# 9c. A server that reads and never answers: a real timeout (~2 attempts x 2 s by default).
# The 30 s bound is a guard against hanging, not a performance assertion.
SPORT=$(free_port) || bail "no free port"
spawn python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
open(sys.argv[3], "w").write("ready\n")
time.sleep(60)
' "$ADDR" "$SPORT" "$TMP/silent.ready"
SILENT_PID=$SPAWNED_PID
wait_file "$TMP/silent.ready" 5 || bail "silent UDP server did not start"
SRV=$ADDR:$SPORT
mx -t A www.mx.test
isj "$RC" 75 "silent server, www.mx.test A: exit 75"
isj "$(j 'j["status"]')" RETRY "silent server, www.mx.test A: status RETRY"
cmp_ok "$ELAPSED_MS" -lt 30000 \
    "silent server, www.mx.test A: returned in ${ELAPSED_MS} ms (< 30 s guard)" || show
diag "silent server: why=$(j 'j["why"]') attempts=$(j 'j["security"]["attempts"]')"
stop_pid "$SILENT_PID" 2

done_testing

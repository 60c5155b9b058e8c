#!/usr/bin/env bash
# dns_forge.sh — proves the resolver (src/dns) cannot be spoofed by an off-path attacker.
#
# tests/fakes/dnsforge.py answers every UDP query with seven forgeries, each perfect but for
# one defect (a wrong source address, b wrong source port, c wrong ID, d another question,
# e another letter case, f QR=0, g a cookie defect), then the true answer; every answer
# also carries poisoned additional records. tests/tools/dnsdrive runs thousands of lookups
# through the library and reports each result and the resolver's counters.
#
#   (i)   default defences, forgeries in random order (so each kind is, some of the time,
#         the first mismatch the filter sees before it moves the query to TCP): every answer
#         true, none the attacker's; mismatched replies moved queries to TCP.
#   (ii)  without TCP-on-suspicion, so every forgery reaches the filter: every answer true,
#         and each drop counter equals exactly what the fake sent (ID=c, QR=f, QNAME=d,
#         QCASE=e, COOKIE=g); a and b never reach userland: the kernel's Udp NoPorts count
#         rises by exactly a+b (in a private network namespace, where only we send).
#   (iii) cache on: the poisoned additional records were never cached (poison.ZONE comes
#         from the network with the true address, then from the cache, still true).
#   (iv)  TC=1 for tc* names: answered over TCP, true.
#   (v)   a server that lower-cases the question: the first UDP reply is dropped (qcase),
#         TCP shows the server does not preserve case, later queries go without 0x20.
#   (vi)  identical lookups in flight are coalesced into one query (RFC 5452 §5).
#
# Runs in a private network namespace when it can (see lib.sh e2e_netns). TAP output;
# every wait bounded; the fake stopped by PID. Run: BUILD=build/san bash tests/e2e/dns_forge.sh
set -u

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
e2e_netns "$0" "$@"
e2e_init

N_DEFAULT=2000		# (i) lookups with every defence on
N_COUNT=2000		# (ii) lookups whose forgeries are counted one by one
N_CACHE=200		# (iii) lookups before the poison checks
N_TC=200		# (iv) lookups of tc* names
PAR=50			# lookups in flight
RUN_MAX=40		# seconds: bound on one dnsdrive run
ADDR=127.0.54.1		# the server
ALT=127.0.54.2		# forgery a comes from here
ZONE=forge.test
TRUE=192.0.2.1
EVIL=198.51.100.66
DRIVE=$BUILD/tests/dnsdrive
FAKE=$ROOT/tests/fakes/dnsforge.py

[ -x "$DRIVE" ] || bail "$DRIVE not built (make BUILD=${BUILD#"$ROOT"/} SAN=1 tests)"
command -v python3 >/dev/null || bail "python3 not found"
if [ "$E2E_NETNS" = 1 ]; then
	diag "running in a private network namespace"
else
	diag "no private network namespace: the NoPorts check will be skipped"
fi

FAKE_PID=
FAKE_PORT=
start_fake() {	# start_fake NAME [dnsforge options]
	local name=$1 _try
	shift
	for _try in 1 2 3; do
		FAKE_PORT=$(free_port) || bail "no free port"
		spawn python3 "$FAKE" --addr "$ADDR" --alt-addr "$ALT" --port "$FAKE_PORT" \
		    --zone "$ZONE" --true-addr "$TRUE" --evil-addr "$EVIL" \
		    --stats "$TMP/$name.stats" --max-seconds $((RUN_MAX + 20)) "$@" \
		    2>"$TMP/$name.fake.err"
		FAKE_PID=$SPAWNED_PID
		wait_port "$ADDR" "$FAKE_PORT" 5 && return 0
		stop_pid "$FAKE_PID"
	done
	cat "$TMP/$name.fake.err" >&2
	bail "dnsforge did not start"
}
stop_fake() {	# SIGTERM makes the fake write its final counters
	stop_pid "$FAKE_PID" 5
	FAKE_PID=
}
drive() {	# drive NAME [dnsdrive options]: output in $TMP/NAME.out
	local name=$1
	shift
	timeout -k 5 $((RUN_MAX + 5)) "$DRIVE" -s "$ADDR:$FAKE_PORT" -z "$ZONE" -p "$PAR" \
	    -W "$RUN_MAX" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
}

# Flattens dnsdrive's output and the fake's counters into "key value" lines in R[]:
# n, ok_true, evil, tcp, not_ok (main lookups); xI.status, xI.addrs, xI.cached (the
# -A lookups, in order); s.FIELD and s.dropped.REASON (resolver stats); f.PATH (fake).
declare -A R
load() {	# load NAME
	local k v
	R=()
	while read -r k v; do
		R[$k]=$v
	done < <(python3 - "$TMP/$1.out" "$TMP/$1.stats" "$TRUE" "$EVIL" <<'EOF'
import json, sys
out, stats, true, evil = sys.argv[1:5]
n = ok_true = bad = tcp = not_ok = x = x20 = 0
def flat(prefix, obj):
    for k, v in obj.items():
        if isinstance(v, dict):
            flat(prefix + k + ".", v)
        else:
            print(prefix + k, json.dumps(v))
for line in open(out):
    d = json.loads(line)
    if "stats" in d:
        flat("s.", d["stats"])
    elif "summary" in d:
        flat("sum.", d["summary"])
    elif d.get("extra"):
        print("x%d.status" % x, d["status"])
        print("x%d.addrs" % x, ",".join(d["addrs"]) or "-")
        print("x%d.cached" % x, json.dumps(d.get("cached")))
        x += 1
    else:
        n += 1
        ok_true += d["status"] == "OK" and d["addrs"] == [true]
        bad += evil in d["addrs"]
        tcp += d.get("tcp") is True
        x20 += d.get("x20") is True
        not_ok += d["status"] != "OK"
print("n", n)
print("ok_true", ok_true)
print("evil", bad)
print("tcp", tcp)
print("not_ok", not_ok)
print("x20", x20)
try:
    flat("f.", json.load(open(stats)))
except (OSError, ValueError):
    pass
EOF
)
	[ -n "${R[s.queries]:-}" ] || diag "no stats from dnsdrive ($1): $(head -c 500 "$TMP/$1.err")"
}
v() { echo "${R[$1]:-missing}"; }

# --- (i) every defence on ------------------------------------------------------------------
start_fake def --cookies --shuffle
drive def -n "$N_DEFAULT"
ok $? "(i) dnsdrive ran $N_DEFAULT lookups"
stop_fake
load def
is "$(v ok_true)" "$N_DEFAULT" "(i) all $N_DEFAULT lookups OK with the true address"
is "$(v evil)" 0 "(i) no result carries the attacker's address"
cmp_ok "$(v f.forged.c)" -ge "$N_DEFAULT" "(i) the fake forged every UDP answer ($(v f.forged_total) forgeries)"
cmp_ok "$(v s.suspect_tcp)" -gt 0 "(i) mismatched replies moved queries to TCP (suspect_tcp $(v s.suspect_tcp))"
diag "(i) tcp answers $(v tcp), dropped $(v s.dropped_total), timeouts $(v s.timeouts)"

# --- (ii) every forgery counted --------------------------------------------------------------
start_fake count --cookies --shuffle
noports0=$(snmp_counter Udp NoPorts)
drive count -n "$N_COUNT" --no-suspicion-tcp
ok $? "(ii) dnsdrive ran $N_COUNT lookups without TCP on suspicion"
stop_fake
noports1=$(snmp_counter Udp NoPorts)
load count
is "$(v ok_true)" "$N_COUNT" "(ii) all $N_COUNT lookups OK with the true address"
is "$(v evil)" 0 "(ii) no result carries the attacker's address"
is "$(v s.timeouts)" 0 "(ii) no attempt timed out (so every count below is exact)"
cmp_ok "$(v f.forged.c)" -ge "$N_COUNT" "(ii) the fake sent each forgery at least $N_COUNT times"
is "$(v s.dropped.id)" "$(v f.forged.c)" "(ii) wrong-ID forgeries (c) dropped as id: $(v f.forged.c)"
is "$(v s.dropped.qr)" "$(v f.forged.f)" "(ii) QR=0 forgeries (f) dropped as qr: $(v f.forged.f)"
is "$(v s.dropped.qname)" "$(v f.forged.d)" "(ii) other-question forgeries (d) dropped as qname: $(v f.forged.d)"
is "$(v s.dropped.qcase)" "$(v f.forged.e)" "(ii) other-case forgeries (e) dropped as qcase: $(v f.forged.e)"
is "$(v s.dropped.cookie)" "$(v f.forged.g)" "(ii) cookie forgeries (g) dropped as cookie: $(v f.forged.g)"
is "$(v s.dropped.source)" 0 "(ii) no wrong-source reply (a, b) reached the resolver"
want=$(($(v f.forged.a) + $(v f.forged.b)))
if [ "$E2E_NETNS" = 1 ]; then
	is "$((noports1 - noports0))" "$want" "(ii) the kernel dropped exactly a+b = $want forgeries (Udp NoPorts)"
else
	skip "(ii) the kernel dropped exactly a+b forgeries (Udp NoPorts)" "no private network namespace"
fi
diag "(ii) fake: $(v f.forged_detail.g_missing_server_cookie) g without server cookie, $(v f.forged_detail.g_wrong_client_cookie) g with a wrong client cookie; resolver: received $(v s.received), accepted $(v s.accepted)"

# --- (iii) the poison is never cached --------------------------------------------------------
start_fake cache --cookies
drive cache -C -n "$N_CACHE" --no-suspicion-tcp \
    -A "poison.$ZONE" -A "poison.$ZONE" -A www.victim.test
ok $? "(iii) dnsdrive ran $N_CACHE lookups with the cache on, then the poisoned names"
stop_fake
load cache
is "$(v ok_true)" "$N_CACHE" "(iii) all $N_CACHE lookups OK with the true address"
is "$(v x0.status) $(v x0.addrs) $(v x0.cached)" "OK $TRUE false" \
    "(iii) poison.$ZONE came from the network, true: the additional records were not cached"
is "$(v x1.status) $(v x1.addrs) $(v x1.cached)" "OK $TRUE true" \
    "(iii) poison.$ZONE again: from the cache, still true"
ok "$([ "$(v x2.status)" != OK ] && [ "$(v x2.addrs)" = - ]; echo $?)" \
    "(iii) www.victim.test (refused by the server) has no address: $(v x2.status) $(v x2.addrs)"
cmp_ok "$(v s.ignored_rr)" -ge $((2 * N_CACHE)) "(iii) additional records ignored: $(v s.ignored_rr)"

# --- (iv) TC=1 moves to TCP ----------------------------------------------------------------
start_fake tc --cookies --tc-names
drive tc -P tc -n "$N_TC" --no-suspicion-tcp
ok $? "(iv) dnsdrive ran $N_TC lookups of tc* names"
stop_fake
load tc
is "$(v ok_true)" "$N_TC" "(iv) all $N_TC lookups OK with the true address"
is "$(v tcp)" "$N_TC" "(iv) every answer came over TCP"
is "$(v evil)" 0 "(iv) no result carries the attacker's address"
cmp_ok "$(v s.tc_tcp)" -ge "$N_TC" "(iv) TC=1 moved $(v s.tc_tcp) queries to TCP"
cmp_ok "$(v f.answers.tcp)" -ge "$N_TC" "(iv) the fake answered $(v f.answers.tcp) over TCP"

# --- (v) a server without 0x20 is found over TCP, then used without it -------------------
N_LOWER=100
start_fake lower --honest --lowercase
drive lower -n "$N_LOWER" -p 1
ok $? "(v) dnsdrive ran $N_LOWER lookups, one at a time"
stop_fake
load lower
is "$(v ok_true)" "$N_LOWER" "(v) all $N_LOWER lookups OK with the true address"
is "$(v s.no0x20)" 1 "(v) the server was found not to preserve case, once"
is "$(v s.dropped.qcase)" 1 "(v) only the first reply was dropped for its case"
is "$(v s.suspect_tcp)" 1 "(v) only the first query needed TCP"
is "$(v x20)" 0 "(v) no answer claims a verified 0x20 echo"

# --- (v') a server that upper-cases: after detection, queries stay on UDP ----------------
start_fake upper --honest --upcase
drive upper -n "$N_LOWER" -p 1
ok $? "(v') dnsdrive ran $N_LOWER lookups against an upper-casing server"
stop_fake
load upper
is "$(v ok_true)" "$N_LOWER" "(v') all $N_LOWER lookups OK with the true address"
is "$(v s.no0x20)" 1 "(v') the server was found not to preserve case, once"
is "$(v s.suspect_tcp)" 1 "(v') only the first query needed TCP: without 0x20 the case is not checked"

# --- (vi) coalescing -----------------------------------------------------------------------
N_SAME=50
start_fake same --honest
drive same -N "same.$ZONE" -n "$N_SAME" -p "$N_SAME"
ok $? "(vi) dnsdrive ran $N_SAME lookups of one name at once"
stop_fake
load same
is "$(v ok_true)" "$N_SAME" "(vi) all $N_SAME lookups OK with the true address"
is "$(v s.queries)" 1 "(vi) one query went to the network"
is "$(v s.coalesced)" $((N_SAME - 1)) "(vi) the other $((N_SAME - 1)) waited on it"

# --- (vii) BADCOOKIE: retry with the server's cookie, then over TCP (RFC 7873 §5.3) -------
N_BC=20
start_fake bcreq --honest --cookies --badcookie require
drive bcreq -n "$N_BC" -p 1
ok $? "(vii) dnsdrive ran $N_BC lookups against a server that requires cookies"
stop_fake
load bcreq
is "$(v ok_true)" "$N_BC" "(vii) all $N_BC lookups OK with the true address"
is "$(v s.badcookie)" 1 "(vii) one BADCOOKIE, retried with the server cookie it carried"
is "$(v tcp)" 0 "(vii) no answer needed TCP"
is "$(v f.badcookie)" 1 "(vii) the server sent BADCOOKIE once"

start_fake bcall --honest --cookies --badcookie always
drive bcall -P bc -n "$N_BC" -p 1
ok $? "(vii) dnsdrive ran $N_BC lookups of names that always get BADCOOKIE over UDP"
stop_fake
load bcall
is "$(v ok_true)" "$N_BC" "(vii) all $N_BC lookups OK with the true address"
is "$(v tcp)" "$N_BC" "(vii) a second BADCOOKIE moved every query to TCP"
is "$(v s.badcookie)" "$N_BC" "(vii) one cookie retry per query, no more"
is "$(v f.badcookie)" $((2 * N_BC)) "(vii) the server sent BADCOOKIE twice per query"
is "$(v s.badcookie_tcp)" "$N_BC" "(vii) each move to TCP counted as badcookie_tcp"

# A BADCOOKIE that carries no COOKIE option does not echo our client cookie, so it is no
# cookie signal (RFC 7873 §5.3): a server error like SERVFAIL, never a reason for TCP.
N_BARE=5
start_fake bcbare --honest --cookies --badcookie bare
drive bcbare -P bc -n "$N_BARE" -p 1 --attempts 1
ok $? "(vii) dnsdrive ran $N_BARE lookups that get BADCOOKIE without a cookie"
stop_fake
load bcbare
is "$(v not_ok)" "$N_BARE" "(vii) none of them succeeded (the server never answered them)"
is "$(v s.tcp_sent) $(v s.badcookie) $(v s.badcookie_tcp)" "0 0 0" \
    "(vii) no cookie retry and no TCP for a BADCOOKIE without our cookie"

done_testing

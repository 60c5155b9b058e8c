#!/usr/bin/env bash
# tests/e2e/deliver_spoof.sh — the 2010 attack, end to end: mxd's resolver is pointed at
# tests/fakes/dnsforge.py --mx, which answers every UDP query first with forgeries of every
# kind (wrong source address, wrong source port, wrong ID, another question, another letter
# case, QR=0, a cookie defect) that route the domain to an attacker, then with the truth; every
# answer also carries an additional-section A record pointing the true MX host at the attacker.
#
#   N MX:          true "MX 10 mx.N"           forged "MX 10 attacker.N"
#   mx.N A:        true 127.0.71.1 (true sink)  forged 127.0.66.6 (attacker's sink)
#   mx.N AAAA:     true none                    forged ::1 (attacker's second sink, if IPv6)
#   attacker.N:    127.0.66.6 / ::1 in every answer (the attacker's own host)
#
# After a bounded run of N_MSG messages, each to a fresh random domain under forge.test: the
# attacker's sinks saw no session at all, the true sink received every message (recipients
# counted and compared), mxd's log has N_MSG "status=sent" lines via mx.N[127.0.71.1] and no
# relay= naming the attacker, and the fake really forged every UDP answer it sent.
#
# Runs in a private network namespace when it can. TAP; every wait bounded; every server
# stopped by PID. Run: BUILD=build/san bash tests/e2e/deliver_spoof.sh
set -u

# shellcheck source=tests/e2e/deliver_lib.sh
. "$(dirname "$0")/deliver_lib.sh"
e2e_netns "$0" "$@"
deliver_init

N_MSG=${N_MSG:-300}	# messages, one fresh domain each
RUN_MAX=90		# seconds: bound on the whole delivery run
ZONE=forge.test
DNS=127.0.70.1		# the forging server
ALT=127.0.70.2		# forgery a comes from here
TRUE=127.0.71.1		# the true MX hosts (mx.N)
EVIL=127.0.66.6		# the attacker (attacker.N, and every forged A)
FAKE=$ROOT/tests/fakes/dnsforge.py
SENDER=sender@example.test

# IPv6 loopback: the forged AAAA (::1) leads to a second attacker sink. Without it the
# forged AAAA is a forged NXDOMAIN instead.
EVIL6=none
if [ -r /proc/net/if_inet6 ] && grep -q ' lo$' /proc/net/if_inet6 &&
    python3 -c 'import socket; socket.socket(socket.AF_INET6).bind(("::1", 0))' 2>/dev/null; then
	EVIL6=::1
fi

FAKE_PORT=
for _try in 1 2 3; do
	FAKE_PORT=$(free_port) || bail "no free port"
	spawn python3 "$FAKE" --mx --cookies --shuffle --addr "$DNS" --alt-addr "$ALT" \
	    --port "$FAKE_PORT" --zone "$ZONE" --true-addr "$TRUE" --evil-addr "$EVIL" \
	    --true-addr6 none --evil-addr6 "$EVIL6" --stats "$TMP/forge.stats" \
	    --log "$TMP/forge.log" --max-seconds $((RUN_MAX + 60)) 2>"$TMP/forge.err"
	FAKE_PID=$SPAWNED_PID
	wait_port "$DNS" "$FAKE_PORT" 5 && break
	stop_pid "$FAKE_PID"
	FAKE_PID=
done
[ -n "${FAKE_PID:-}" ] || { cat "$TMP/forge.err" >&2; bail "dnsforge did not start"; }
DL_RESOLVER=$DNS:$FAKE_PORT
diag "dnsforge --mx on $DL_RESOLVER; true MX $TRUE, attacker $EVIL and $EVIL6, port $SINKPORT"

sink_start true "$TRUE"
sink_start evil "$EVIL"
[ "$EVIL6" = ::1 ] && sink_start evil6 ::1

deliver_conf spoof
mxd_start

# --- the run ----------------------------------------------------------------------------------
python3 - "$N_MSG" "$ZONE" >"$TMP/rcpts" <<'EOF'
import secrets, sys
n, zone = int(sys.argv[1]), sys.argv[2]
for i in range(n):
    print("u%d@d%s.%s" % (i, secrets.token_hex(6), zone))
EOF
mapfile -t RCPTS <"$TMP/rcpts"
is "$(sort -u "$TMP/rcpts" | wc -l)" "$N_MSG" "$N_MSG fresh random domains under $ZONE"
t0=$SECONDS
out=$(send_mail "$SENDER" spoof "${RCPTS[@]}" 2>"$TMP/send.err")
ok $? "mxd queued $N_MSG messages" || sed 's/^/#   /' "$TMP/send.err"
is "$(echo "$out" | grep -cE '^[0-9a-f]{16}$')" "$N_MSG" "$N_MSG queue IDs"

done_re="to=<u[0-9]+@d[0-9a-f]+\\.forge\\.test>, relay=.*status=(sent|bounced)"
for ((i = 0; i < RUN_MAX * 10; i++)); do
	[ "$(sink_count true)" -ge "$N_MSG" ] && break
	[ "$(log_count "$done_re")" -ge "$N_MSG" ] && break	# every one final, some elsewhere
	mxd_alive || break
	sleep 0.1
done
diag "delivery run: $((SECONDS - t0)) s"
queue_settle 10
ok $? "the queue is empty"

# --- what the attacker got: nothing ----------------------------------------------------------------
# Sessions end with mxd's connections; stop mxd first so every counter is final.
mxd_stop
sleep 0.5
is "$(sink_any evil)/$(sink_sessions evil)" 0/0 "attacker $EVIL: no message, not even a session"
if [ "$EVIL6" = ::1 ]; then
	is "$(sink_any evil6)/$(sink_sessions evil6)" 0/0 "attacker ::1: no message, not even a session"
else
	skip "attacker ::1: no message, not even a session" "no IPv6 loopback"
fi
grep -E "relay=[^,]*(attacker|${EVIL//./\\.}|::1)" "$M_LOG" >"$TMP/evil.log"
is "$(wc -l <"$TMP/evil.log")" 0 "mxd's log has no relay= naming the attacker" ||
    sed 's/^/#   /' "$TMP/evil.log" | head -5
grep -E "attacker|${EVIL//./\\.}|\\[::1\\]" "$M_LOG" >"$TMP/evil.log"
is "$(wc -l <"$TMP/evil.log")" 0 "mxd's log never names the attacker's host or addresses (no host tried)" ||
    sed 's/^/#   /' "$TMP/evil.log" | head -5

# --- what the true MX got: everything ----------------------------------------------------------------
is "$(sink_count true)" "$N_MSG" "true MX: $N_MSG complete messages"
sink_rcpts true | sort >"$TMP/got"
sort "$TMP/rcpts" >"$TMP/want"
is "$(wc -l <"$TMP/got")" "$N_MSG" "true MX: $N_MSG recipients"
cmp -s "$TMP/got" "$TMP/want"
ok $? "true MX: exactly the recipients sent, each once" ||
    diff "$TMP/want" "$TMP/got" | head -10 | sed 's/^/#   /'
sent_re="to=<u[0-9]+@(d[0-9a-f]+)\\.forge\\.test>, relay=mx\\.d[0-9a-f]+\\.forge\\.test\\.?\\[${TRUE//./\\.}\\]:$SINKPORT,.*status=sent"
is "$(log_count "$sent_re")" "$N_MSG" "log: $N_MSG lines 'status=sent' via mx.DOMAIN[$TRUE]:$SINKPORT"
is "$(log_count 'status=bounced')" 0 "log: nothing bounced"
diag "log: $(log_count 'status=deferred') deferred attempts"

# --- the forgeries really were sent ----------------------------------------------------------------
stop_pid "$FAKE_PID" 5			# SIGTERM: final counters
declare -A F
while read -r k v; do F[$k]=$v; done < <(python3 - "$TMP/forge.stats" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print("udp", s["queries"]["udp"])
print("tcp", s["queries"]["tcp"])
print("mx", s["qtypes"].get("MX", 0))
print("a", s["qtypes"].get("A", 0))
print("aaaa", s["qtypes"].get("AAAA", 0))
print("total", s["forged_total"])
print("refused", s["refused"])
for k, v in s["forged"].items():
    print("k" + k, v)
EOF
)
diag "forge: ${F[udp]:-?} UDP + ${F[tcp]:-?} TCP queries (MX ${F[mx]:-?}, A ${F[a]:-?}, AAAA ${F[aaaa]:-?}), ${F[total]:-?} forgeries (a ${F[ka]:-?} b ${F[kb]:-?} c ${F[kc]:-?} d ${F[kd]:-?} e ${F[ke]:-?} f ${F[kf]:-?} g ${F[kg]:-?}), ${F[refused]:-?} refused"
cmp_ok "${F[mx]:-0}" -ge "$N_MSG" "forge: at least one MX query per domain (${F[mx]:-0})"
cmp_ok "${F[kc]:-0}" -ge $((${F[udp]:-1} - ${F[refused]:-0})) "forge: every UDP query in the zone got forgeries first (wrong-ID ones: ${F[kc]:-0})"
cmp_ok "${F[ka]:-0}" -ge "$N_MSG" "forge: wrong-source-address forgeries sent (${F[ka]:-0})"
ports=$(awk '{print $2}' "$TMP/forge.log" | sort -u | wc -l)
cmp_ok "$ports" -ge $((N_MSG / 3)) "forge: queries came from $ports distinct source ports"

done_testing

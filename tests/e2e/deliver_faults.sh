#!/usr/bin/env bash
# tests/e2e/deliver_faults.sh — regression tests from the review of mxd's outbound delivery
# (issue 4, commit "Fixes from the review of outbound delivery"). Each scenario failed on the
# code before that commit; smtp-sink MX hosts on 127.0.N.1 and one port, routed by NSD:
#
#   (a) refused MX hosts are never routed to: MX 10 resolving to 0.0.0.0 (reaches 127.0.0.1,
#       where a "victim" sink listens) or an IP-literal exchange, MX 20 fine: MX 20 gets the
#       message, the victim no session at all;
#   (b) MX 10 in a zone that SERVFAILs, MX 20 ourselves (our hostname): a DNS error defers
#       (4.4.3), never bounces as a loop;
#   (c) listen = 0.0.0.0:P and an MX at another 127.x address on port P: a loop that ends
#       (bounced 5.4.6, a bounded number of hops), not an endless one;
#   (d) delivery workers SIGKILLed under a load of 50 messages: mxd keeps running, smtpd
#       answers, every message is delivered, no zombie is left under the queue manager;
#   (e) SIGTERM while one recipient is delivered and another is in progress (a sink that
#       waits 4 s at DATA), then a restart: each sink has exactly one copy;
#   (f) relayhost = 127.0.21.1:PORT (an address without brackets) is used as it is.
#   (g) NOTIFY=SUCCESS (RFC 3461): a relay to a server without DSN gets a "relayed" DSN back
#       to the sender; a server that offers DSN is left to report itself (no DSN from us).
#
# Runs in a private network namespace when it can ((c) listens on 0.0.0.0: skipped outside
# one). TAP; every wait bounded; every server stopped by PID. Under 60 s.
# Run: BUILD=build/san bash tests/e2e/deliver_faults.sh
set -u

# shellcheck source=tests/e2e/deliver_lib.sh
. "$(dirname "$0")/deliver_lib.sh"
e2e_netns "$0" "$@"
deliver_init

D=fl.test
WAIT=15			# seconds: bound on any one expected delivery or log line
SENDER=sender@example.test

zone_file "$TMP/nsd/$D.zone" "$D" <<'EOF'
zero	IN A 0.0.0.0
good	IN A 127.0.21.1
self	IN A 127.0.10.1
lo30	IN A 127.0.30.1
mxf	IN A 127.0.41.1
mxs	IN A 127.0.42.1
mxl	IN A 127.0.44.1
zeroa	IN MX 10 zero
zeroa	IN MX 20 good
lit	IN MX 10 127.0.0.1.
lit	IN MX 20 good
bk	IN MX 10 mx.sf.test.
bk	IN MX 20 self
loopy	IN MX 10 lo30
fast	IN MX 10 mxf
slow	IN MX 10 mxs
l1	IN MX 10 mxl
l2	IN MX 10 mxl
l3	IN MX 10 mxl
EOF
nsd_start 127.0.55.1 "$D=$TMP/nsd/$D.zone" sf.test=missing || bail "could not start NSD"
diag "NSD on $DL_RESOLVER, MX hosts on port $SINKPORT"

sink_start victim 127.0.0.1		# what a connection to 0.0.0.0 (or 127.0.0.1.) reaches
sink_start good 127.0.21.1
sink_start fast 127.0.41.1
sink_start slow 127.0.42.1 -w 4		# 4 s before answering DATA
sink_start load 127.0.44.1

send() {	# send VAR FROM TAG RCPTS...: send_mail, queue IDs into VAR (space-separated)
	local var=$1 out
	shift
	out=$(send_mail "$@" 2>"$TMP/send.err")
	ok $? "mxd queues $2 (from <${1}>)" || sed 's/^/#   /' "$TMP/send.err"
	printf -v "$var" "%s" "${out//$'\n'/ }"
}
qmgr_pid() {	# qmgr_pid: the queue manager's PID, from mxd's "started (... queue N ...)"
	sed -n 's/.*started (smtpd [0-9]*, queue \([0-9]*\), local [0-9]*).*/\1/p' "$M_LOG" |
	    tail -n 1
}
procs() {	# procs PPID Z|live: children of PPID that are zombies (Z) or not, one a line
	local f st pp rest
	for f in /proc/[0-9]*/stat; do
		read -r rest 2>/dev/null <"$f" || continue
		rest=${rest##*) }		# past "PID (COMM) ", COMM may hold anything
		read -r st pp _ <<<"$rest"
		[ "$pp" = "$1" ] || continue
		if [ "$2" = Z ]; then [ "$st" = Z ]; else [ "$st" != Z ]; fi &&
		    { f=${f#/proc/}; echo "${f%/stat}"; }
	done
	return 0
}

# === (a) and (b): routing around refused hosts; a DNS error ahead of ourselves ===============
deliver_conf route "hostname = self.$D"
mxd_start
BOUNCES=$(md_dir example.test sender)
send Q_ZERO "$SENDER" zeroa u@zeroa.$D
send Q_LIT "$SENDER" lit u@lit.$D
send Q_BK "$SENDER" bk u@bk.$D

sink_wait good 1 $WAIT zeroa
ok $? "(a) MX 10 resolves to 0.0.0.0 (refused): MX 20 (good) received the message" ||
    log_show "u@zeroa"
log_wait "$Q_ZERO: to=<u@zeroa\\.$D>, $(relay_re good.$D 127.0.21.1),.*status=sent" 5
ok $? "(a) logged as sent via good.${D}[127.0.21.1]" || log_show "u@zeroa"
sink_wait good 1 $WAIT lit
ok $? "(a) MX 10 is the IP literal 127.0.0.1. (refused): MX 20 (good) received the message" ||
    log_show "u@lit"
is "$(log_count "to=<u@(zeroa|lit)\\.$D>, relay=(zero|127)")" 0 \
    "(a) no log line names the refused host as the relay" || log_show "u@(zeroa|lit)"
is "$(sink_any victim)/$(sink_sessions victim)" 0/0 \
    "(a) nothing reached 127.0.0.1:$SINKPORT (no message, no session)"

log_wait "$Q_BK: to=<u@bk\\.$D>, relay=none, .*dsn=4\\.4\\.3, status=deferred" $WAIT 2
ok $? "(b) MX 10 SERVFAILs, MX 20 is ourselves: deferred 4.4.3 (2 attempts seen)" ||
    log_show "u@bk"
is "$(log_count "to=<u@bk\\.$D>, .*status=(bounced|sent)")" 0 "(b) never bounced as a loop, never sent" ||
    log_show "u@bk"
is "$(log_count "$Q_BK: sender non-delivery notification")/$(md_count "$BOUNCES")" 0/0 \
    "(b) no bounce generated, none in the sender's mailbox"
queue_ids | grep -qx "$Q_BK"
ok $? "(b) the message is still in the queue"
mxd_stop

# === (c) a wildcard listener and an MX at another loopback address ==========================
if [ "$E2E_NETNS" = 1 ]; then
	LPORT=$(free_port) || bail "no free port"
	while [ "$LPORT" = "$SINKPORT" ]; do LPORT=$(free_port); done
	deliver_conf loop "delivery_port = $LPORT" "relay_networks = 127.0.0.0/8"
	echo "listen = 0.0.0.0:$LPORT" >>"$M_CONF"
	mxd_start
	BOUNCES=$(md_dir example.test sender)
	send Q_LOOPY "$SENDER" loopy u@loopy.$D
	log_wait "to=<u@loopy\\.$D>, .*dsn=5\\.4\\.6, status=bounced \\(.*(loops back to myself|[Hh]ops)" $WAIT
	ok $? "(c) listen 0.0.0.0:$LPORT, MX lo30 (127.0.30.1): bounced 5.4.6 (loop detected)" ||
	    { log_show "to=<u@loopy"; diag "sent lines: $(log_count "to=<u@loopy\\.$D>.*status=sent")"; }
	F=$(dsn_wait "$BOUNCES" "u@loopy.$D" 5)
	out=$(dsn_check "${F:-/nonexistent}" "u@loopy.$D" '5\.4\.6' '' loopy)
	ok $? "(c) the sender got a DSN: Status 5.4.6, the original returned" ||
	    printf '%s\n' "$out" | sed 's/^/#   /'
	queue_settle 5
	ok $? "(c) the queue is empty: the loop ended" || queue_ids | sed 's/^/#   left: /'
	hops=$(log_count "to=<u@loopy\\.$D>, .*status=sent")
	sleep 1
	cmp_ok "$hops" -le 51 "(c) at most 51 hops ($hops seen)"
	is "$(log_count "to=<u@loopy\\.$D>, .*status=sent")" "$hops" "(c) no more hops after the bounce"
	mxd_stop
else
	for d in "(c) loop detected" "(c) bounce" "(c) queue empty" "(c) hops" "(c) no more hops"; do
		skip "$d" "listens on 0.0.0.0: needs a private network namespace"
	done
fi

# === (d) delivery workers killed under load ===================================================
deliver_conf kill "max_deliveries = 4"
mxd_start
QMGR=$(qmgr_pid)
[[ $QMGR =~ ^[0-9]+$ ]] || bail "no queue manager PID in the log"
N_LOAD=50
rcpts=()
for i in $(seq 1 $N_LOAD); do rcpts+=("u$i@l1.$D,u$i@l2.$D,u$i@l3.$D"); done	# 3 jobs each
send_mail "$SENDER" load "${rcpts[@]}" >"$TMP/load.ids" 2>"$TMP/load.err" &
SEND_PID=$!
kills=0
end=$((SECONDS + 5))
while [ $SECONDS -lt $end ] && kill -0 "$QMGR" 2>/dev/null; do
	w=$(procs "$QMGR" live | shuf -n 1)
	[ -n "$w" ] && kill -KILL "$w" 2>/dev/null && kills=$((kills + 1))
	sleep 0.0$((RANDOM % 9 + 1))
done
wait "$SEND_PID"
ok $? "(d) all $N_LOAD messages queued while workers were being killed" ||
    sed 's/^/#   /' "$TMP/load.err"
cmp_ok "$kills" -ge 10 "(d) $kills delivery workers killed (SIGKILL) in 5 s"
kill -0 "$QMGR" 2>/dev/null
ok $? "(d) the queue manager ($QMGR) is still running" || log_show 'fatal|exited'
mxd_alive
ok $? "(d) mxd is still running"
session "(d) smtpd still answers" greet=220 send='QUIT\r\n' reply=221
got() { sink_rcpts load | sort -u | wc -l; }	# distinct recipients delivered
for ((i = 0; i < 200; i++)); do [ "$(got)" -ge $((3 * N_LOAD)) ] && break; sleep 0.1; done
is "$(got)" $((3 * N_LOAD)) "(d) every message delivered to each of its 3 recipients (within 20 s)"
cmp_ok "$(log_count 'delivery worker [0-9]+ went away')" -ge 1 "(d) the deaths were noticed (logged)"
sleep 0.5
is "$(procs "$QMGR" Z | wc -l)" 0 "(d) no zombie children under the queue manager"
for ((i = 0; i < 50; i++)); do [ "$(procs "$QMGR" live | wc -l)" = 4 ] && break; sleep 0.1; done
is "$(procs "$QMGR" live | wc -l)" 4 "(d) the worker pool is back to max_deliveries (4)"
mxd_stop

# === (e) SIGTERM while a delivery is in progress, then a restart ===============================
deliver_conf term
mxd_start
send Q_TERM "$SENDER" term u@fast.$D,u@slow.$D
sink_wait fast 1 $WAIT term
ok $? "(e) the fast MX received its copy"
sleep 0.5				# the slow MX is now in its 4 s wait at DATA
is "$(sink_count slow term)" 0 "(e) the slow MX has not got it yet when SIGTERM comes"
mxd_stop
cp "$M_LOG" "$M_LOG.1"
is "$(sink_count slow term)" 1 "(e) SIGTERM waited for the delivery in progress"
is "$(queue_ids | tr '\n' ' ')" "" "(e) after the stop, nothing is left in the queue (every result saved)"
mxd_start
queue_settle $WAIT
ok $? "(e) after the restart the queue is empty" || queue_ids | sed 's/^/#   left: /'
sleep 1
is "$(sink_count fast term)/$(sink_count slow term)" 1/1 "(e) exactly one copy at each MX after the restart"
mxd_stop

# === (f) an IP relayhost without brackets =====================================================
deliver_conf relay "relayhost = 127.0.21.1:$SINKPORT"
"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1
ok $? "(f) mxd -t accepts relayhost = 127.0.21.1:$SINKPORT" || sed 's/^/#   /' "$TMP/t.out"
mxd_start
send Q_RELAY "$SENDER" relay u@anywhere.example.org
sink_wait good 1 $WAIT relay
ok $? "(f) delivered to the relayhost 127.0.21.1:$SINKPORT" || log_show "u@anywhere"
log_wait "$Q_RELAY: to=<u@anywhere\\.example\\.org>, relay=127\\.0\\.21\\.1\\[127\\.0\\.21\\.1\\]:$SINKPORT,.*status=sent" 5
ok $? "(f) logged as sent, relay=127.0.21.1[127.0.21.1]:$SINKPORT" || log_show "u@anywhere"
mxd_stop

# === (g) NOTIFY=SUCCESS: "relayed" when the next hop has no DSN (RFC 3461 §5.2.2) =============
sink_start nodsn 127.0.22.1 -N
notify_send() {	# notify_send RCPT TAG: one message with NOTIFY=SUCCESS,FAILURE
	timeout 60 python3 - "$M_PORT" "$SENDER" "$1" "$2" <<'PY'
import smtplib, sys
port, sender, rcpt, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.deliver.test", timeout=30)
s.ehlo()
s.mail(sender)
code, resp = s.rcpt(rcpt, ["NOTIFY=SUCCESS,FAILURE"])
assert code == 250, (code, resp)
code, resp = s.data(("Subject: notify %s\r\nX-Test-Tag: %s\r\n\r\nbody\r\n"
                      "end-of-test-message %s\r\n" % (tag, tag, tag)).encode())
assert code == 250, (code, resp)
s.quit()
PY
}
for hop in nodsn good; do
	deliver_conf "notify-$hop" "relayhost = [${SINK_ADDR[$hop]}]:$SINKPORT"
	mxd_start
	BOUNCES=$(md_dir example.test sender)
	notify_send "u@far.example.org" "notify-$hop" || fail "(g) $hop: message accepted"
	sink_wait "$hop" 1 $WAIT "notify-$hop"
	ok $? "(g) $hop: delivered to the relayhost"
	if [ "$hop" = nodsn ]; then
		md_wait "$BOUNCES" 1 $WAIT
		f=$(md_grep "$BOUNCES" "Action: relayed" | head -1)
		[ -n "$f" ] && grep -q "Final-Recipient: rfc822; *u@far.example.org" "$f"
		ok $? "(g) no DSN at the next hop: the sender gets Action: relayed" ||
			log_show "notification|u@far"
	else
		sleep 2
		is "$(md_count "$BOUNCES")" 0 "(g) the next hop took NOTIFY: no DSN from us"
	fi
	mxd_stop
done

nsd_stop
done_testing

#!/usr/bin/env bash
# tests/e2e/deliver_basic.sh — mxd delivers remote mail (issue 4) to real MX hosts: smtp-sink
# on distinct 127.0.N.1 addresses and one port, routed by a zone NSD serves. Checks, from
# what the sinks received, the Maildir bounces (RFC 3464) and mxd's log lines:
#
#   preference order (MX 10 gets it, MX 20 nothing); fallback to the next MX when the first
#   is down and when it greets with 4xx; retry after a 4xx at RCPT; bounce after a 5xx at
#   RCPT (a multipart/report DSN with the remote reply, delivered to the local sender; none
#   for the null sender); null MX (5.1.10 at once, no host tried); implicit MX (the A);
#   NXDOMAIN bounces at once; SERVFAIL defers, never bounces; an MX that is mxd itself
#   bounces ("loops back to myself"); connection reuse (fewer sessions than messages);
#   restart mid-queue (deferred messages, DNS down, stop, start: each delivered once);
#   expiry (queue_lifetime 3 s, MX down: deferred, then bounced with a DSN).
#
# Runs in a private network namespace when it can. TAP; every wait bounded; every server
# stopped by PID. Run: BUILD=build/san bash tests/e2e/deliver_basic.sh
set -u

# shellcheck source=tests/e2e/deliver_lib.sh
. "$(dirname "$0")/deliver_lib.sh"
e2e_netns "$0" "$@"
deliver_init

D=dl.test
WAIT=20			# seconds: bound on any one expected delivery or log line
SENDER=sender@example.test

zone_file "$TMP/nsd/$D.zone" "$D" <<'EOF'
mx1	IN A 127.0.1.1
mx2	IN A 127.0.2.1
mx3	IN A 127.0.3.1
mx4	IN A 127.0.4.1
mx5	IN A 127.0.5.1
mx6	IN A 127.0.6.1
mx8	IN A 127.0.8.1
mx9	IN A 127.0.9.1
self	IN A 127.0.10.1
fb	IN A 127.0.11.1
pref	IN MX 10 mx1
pref	IN MX 20 mx2
down	IN MX 10 mx3
down	IN MX 20 fb
greet4	IN MX 10 mx4
greet4	IN MX 20 fb
temp	IN MX 10 mx6
perm	IN MX 10 mx5
expire	IN MX 10 mx3
nullmx	IN MX 0 .
implicit IN A 127.0.7.1
reuse	IN MX 10 mx8
loop	IN MX 10 self
restart	IN MX 10 mx9
dnsdown	IN MX 10 mx1
EOF
nsd_start 127.0.55.1 "$D=$TMP/nsd/$D.zone" sf.test=missing || bail "could not start NSD"
diag "NSD on $DL_RESOLVER, MX hosts on port $SINKPORT"

sink_start one 127.0.1.1				# pref: MX 10
sink_start two 127.0.2.1				# pref: MX 20, must get nothing
sink_start four 127.0.4.1 -r CONNECT			# 450 greeting
sink_start five 127.0.5.1 -f RCPT -B '550 5.1.1 Recipient unknown at five.sink.test'
sink_start six 127.0.6.1 -r RCPT -b '451 4.3.2 Try again later at six.sink.test'
sink_start seven 127.0.7.1				# implicit MX (the domain's A)
sink_start eight 127.0.8.1				# connection reuse
sink_start fb 127.0.11.1				# fallback for down and greet4
# 127.0.3.1 (mx3) and 127.0.9.1 (mx9, until the restart) have nothing listening.

# mxd also listens on 127.0.10.1:SINKPORT, where loop.dl.test's MX points: itself.
deliver_conf a
echo "listen = 127.0.10.1:$SINKPORT" >>"$M_CONF"
"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1 || { sed 's/^/#   /' "$TMP/t.out"; bail "mxd -t rejects the config"; }
mxd_start
BOUNCES=$(md_dir example.test sender)

# --- send everything first; the scenarios run side by side ------------------------------------
send() {	# send VAR FROM TAG RCPTS...: send_mail, queue IDs into VAR (space-separated)
	local var=$1 out
	shift
	out=$(send_mail "$@" 2>"$TMP/send.err")
	ok $? "mxd queues $2 (from <$1>)" || sed 's/^/#   /' "$TMP/send.err"
	printf -v "$var" "%s" "${out//$'\n'/ }"
}
send Q_PREF "$SENDER" pref u@pref.$D u@pref.$D u@pref.$D
send Q_DOWN "$SENDER" down u@down.$D
send Q_GREET "$SENDER" greet4 u@greet4.$D
send Q_TEMP "$SENDER" temp u@temp.$D
send Q_PERM "$SENDER" perm bad@perm.$D
send Q_PERMNULL "" permnull bad2@perm.$D
send Q_NULLMX "$SENDER" nullmx u@nullmx.$D
send Q_IMPL "$SENDER" implicit u@implicit.$D
send Q_NX "$SENDER" nx u@nx.$D
send Q_SF "$SENDER" servfail u@x.sf.test
send Q_LOOP "$SENDER" loop u@loop.$D
N_REUSE=30
rcpts=()
for i in $(seq 1 $N_REUSE); do rcpts+=("r$i@reuse.$D"); done
send Q_REUSE "$SENDER" reuse "${rcpts[@]}"
T_SENT=$SECONDS

# --- preference order ------------------------------------------------------------------------
sink_wait one 1 $WAIT pref-1 && sink_wait one 1 $WAIT pref-2 && sink_wait one 1 $WAIT pref-3
ok $? "preference: MX 10 (mx1, 127.0.1.1) received all 3 messages"
log_wait "$(rcpt_re u@pref.$D sent)" $WAIT 3
re="^.*(${Q_PREF// /|}): to=<u@pref\\.$D>, $(relay_re mx1.$D 127.0.1.1), delay=[0-9.]+s?, dsn=2\\.[0-9]{1,3}\\.[0-9]{1,3}, status=sent \\(.+\\), tls=none\$"
is "$(log_count "$re")" 3 "preference: log lines have id, to, relay=mx1.${D}[127.0.1.1]:$SINKPORT, delay, tls=none, dsn=2.x.x, status=sent (reply)" ||
    log_show "u@pref"
is "$(sink_any two)/$(sink_sessions two)" 0/0 "preference: MX 20 (mx2, 127.0.2.1) got no message and no session"
is "$(sink_rcpts one | grep -c "^u@pref\\.$D\$")" 3 "preference: the sink saw RCPT TO:<u@pref.$D> once per message"

# --- fallback ---------------------------------------------------------------------------------
sink_wait fb 1 $WAIT down
ok $? "fallback: MX 10 down (nothing on 127.0.3.1): MX 20 (fb) received it"
log_wait "to=<u@down\\.$D>, $(relay_re fb.$D 127.0.11.1),.*status=sent" 5
ok $? "fallback: logged as sent via fb.${D}[127.0.11.1]" || log_show "u@down"
sink_wait fb 1 $WAIT greet4
ok $? "fallback: MX 10 greets 450 (127.0.4.1): MX 20 (fb) received it"
log_wait "to=<u@greet4\\.$D>, $(relay_re fb.$D 127.0.11.1),.*status=sent" 5
ok $? "fallback: logged as sent via fb.${D}[127.0.11.1]" || log_show "u@greet4"
is "$(sink_any four)" 0 "fallback: the 450-greeting host took no message"
cmp_ok "$(sink_sessions four)" -ge 1 "fallback: mx4 was tried first ($(sink_sessions four) session(s) there)"

# --- implicit MX -----------------------------------------------------------------------------
sink_wait seven 1 $WAIT implicit
ok $? "implicit MX: no MX, the domain's A (127.0.7.1) received it"
log_wait "to=<u@implicit\\.$D>, $(relay_re implicit.$D 127.0.7.1),.*status=sent" 5
ok $? "implicit MX: logged as sent via implicit.${D}[127.0.7.1]" || log_show "u@implicit"

# --- retry after a temporary failure -----------------------------------------------------------
log_wait "to=<u@temp\\.$D>, $(relay_re mx6.$D 127.0.6.1),.*dsn=4\\.3\\.2, status=deferred \\(.*Try again later" $WAIT
ok $? "temporary: 451 4.3.2 at RCPT is logged as deferred, dsn=4.3.2, with the reply" || log_show "u@temp"
is "$(log_count "$(rcpt_re u@temp.$D bounced)")" 0 "temporary: not bounced"
sink_stop six || bail "smtp-sink six did not stop"
sink_start six 127.0.6.1				# now accepting
sink_wait six 1 $WAIT temp
ok $? "temporary: retried and delivered once mx6 accepts"
log_wait "to=<u@temp\\.$D>, $(relay_re mx6.$D 127.0.6.1),.*status=sent" 5
ok $? "temporary: logged as sent via mx6.${D}[127.0.6.1]" || log_show "u@temp"

# --- bounce after a permanent failure ----------------------------------------------------------
log_wait "^.*$Q_PERM: to=<bad@perm\\.$D>, $(relay_re mx5.$D 127.0.5.1),.*dsn=5\\.1\\.1, status=bounced \\(.*Recipient unknown at five" $WAIT
ok $? "permanent: 550 5.1.1 at RCPT logged as bounced, dsn=5.1.1, with the reply" || log_show "bad@perm"
is "$(log_count "$(rcpt_re bad@perm.$D deferred)")" 0 "permanent: never deferred"
log_wait "$Q_PERM: sender non-delivery notification: [0-9a-f]{16}" 5
ok $? "permanent: logged 'sender non-delivery notification: NEWID'"
F=$(dsn_wait "$BOUNCES" "bad@perm.$D" $WAIT)
ok $? "permanent: a bounce reached the sender's mailbox ($SENDER)"
out=$(dsn_check "${F:-/nonexistent}" "bad@perm.$D" '5\.1\.1' 'Recipient unknown at five.sink.test' perm)
ok $? "permanent: multipart/report DSN, Action failed, Status 5.1.1, the remote reply, the original returned" ||
    printf '%s\n' "$out" | sed 's/^/#   /'
log_wait "^.*$Q_PERMNULL: to=<bad2@perm\\.$D>, .*status=bounced" $WAIT
ok $? "permanent, null sender: bounced" || log_show "bad2@perm"
is "$(log_count "$Q_PERMNULL: sender non-delivery notification")" 0 "permanent, null sender: no bounce of a bounce"

# --- null MX, NXDOMAIN, SERVFAIL ----------------------------------------------------------------
log_wait "^.*$Q_NULLMX: to=<u@nullmx\\.$D>, relay=none, .*dsn=5\\.1\\.10, status=bounced" $WAIT
ok $? "null MX: bounced with relay=none, dsn=5.1.10" || log_show "u@nullmx"
is "$(log_count "$(rcpt_re u@nullmx.$D '(deferred|sent)')")" 0 "null MX: at once (never deferred, no host tried)"
F=$(dsn_wait "$BOUNCES" "u@nullmx.$D" $WAIT)
out=$(dsn_check "${F:-/nonexistent}" "u@nullmx.$D" '5\.1\.10' '' nullmx)
ok $? "null MX: the sender gets a DSN with Status 5.1.10" || printf '%s\n' "$out" | sed 's/^/#   /'
log_wait "^.*$Q_NX: to=<u@nx\\.$D>, relay=none, .*dsn=5\\.[0-9]{1,3}\\.[0-9]{1,3}, status=bounced" $WAIT
ok $? "NXDOMAIN: bounced with relay=none, dsn=5.x.x" || log_show "u@nx"
is "$(log_count "$(rcpt_re u@nx.$D deferred)")" 0 "NXDOMAIN: at once (never deferred)"
F=$(dsn_wait "$BOUNCES" "u@nx.$D" $WAIT)
out=$(dsn_check "${F:-/nonexistent}" "u@nx.$D" '5\.[0-9]{1,3}\.[0-9]{1,3}' '' nx)
ok $? "NXDOMAIN: the sender gets a DSN with Status 5.x.x" || printf '%s\n' "$out" | sed 's/^/#   /'
log_wait "^.*$Q_SF: to=<u@x\\.sf\\.test>, relay=none, .*dsn=4\\.[0-9]{1,3}\\.[0-9]{1,3}, status=deferred" $WAIT 3
ok $? "SERVFAIL: deferred (relay=none, dsn=4.x.x), 3 attempts seen" || log_show "u@x.sf"
is "$(log_count "$(rcpt_re u@x.sf.test '(bounced|sent)')")" 0 "SERVFAIL: never bounced"

# --- MX pointing at mxd itself -------------------------------------------------------------------
log_wait "^.*$Q_LOOP: to=<u@loop\\.$D>, .*status=bounced \\(.*loops back to myself" $WAIT
ok $? "loop: MX self.$D (mxd itself) bounces with 'loops back to myself'" || log_show "u@loop"
F=$(dsn_wait "$BOUNCES" "u@loop.$D" $WAIT)
out=$(dsn_check "${F:-/nonexistent}" "u@loop.$D" '5\.[0-9]{1,3}\.[0-9]{1,3}' 'loops back to myself' loop)
ok $? "loop: the sender gets a DSN saying so" || printf '%s\n' "$out" | sed 's/^/#   /'
is "$(md_count "$(md_dir loop.$D u)")" 0 "loop: mxd did not deliver the message to itself"

# --- connection reuse ----------------------------------------------------------------------------
sink_wait eight $N_REUSE $WAIT
ok $? "reuse: all $N_REUSE messages to reuse.$D delivered"
is "$(sink_rcpts eight | sort -u | wc -l)" $N_REUSE "reuse: $N_REUSE distinct recipients, one message each"
is "$(sink_count eight)" $N_REUSE "reuse: no message received twice"
is "$(md_count "$BOUNCES")" 4 "the sender has exactly 4 bounces (perm, null MX, NXDOMAIN, loop)"
diag "phase 1 took $((SECONDS - T_SENT)) s after the last message was queued"

# --- restart mid-queue, DNS down ------------------------------------------------------------------
send Q_RESTART "$SENDER" restart rs@restart.$D rs@restart.$D rs@restart.$D rs@restart.$D rs@restart.$D
log_wait "$(rcpt_re rs@restart.$D deferred)" $WAIT 5
ok $? "restart: 5 messages deferred (mx9 down)" || log_show "rs@restart"
nsd_stop
send Q_DNSDOWN "$SENDER" dnsdown u@dnsdown.$D
log_wait "^.*$Q_DNSDOWN: to=<u@dnsdown\\.$D>, relay=none, .*status=deferred" $WAIT 2
ok $? "DNS down: deferred (relay=none), 2 attempts seen" || log_show "u@dnsdown"
is "$(log_count "$(rcpt_re u@dnsdown.$D '(bounced|sent)')")" 0 "DNS down: never bounced"
cp "$M_LOG" "$M_LOG.1"
mxd_stop
# Every cached connection closed with mxd: the session count is now final.
prev=-1
for _ in $(seq 30); do
	n=$(sink_sessions eight)
	[ "$n" = "$prev" ] && break
	prev=$n
	sleep 0.2
done
cmp_ok "$(sink_sessions eight)" -lt $N_REUSE "reuse: $N_REUSE messages took $(sink_sessions eight) sessions (fewer than messages)"
queue_ids >"$TMP/left"
cmp_ok "$(wc -l <"$TMP/left")" -ge 6 "restart: the 6 deferred messages are in the queue while mxd is down"
sink_start nine 127.0.9.1
nsd_start || bail "could not restart NSD"
mxd_start
sink_wait nine 5 $WAIT
ok $? "restart: all 5 deferred messages delivered after the restart"
sink_wait one 1 $WAIT dnsdown
ok $? "restart: the message deferred while DNS was down delivered (mx1)"
queue_settle $WAIT "$Q_SF"
ok $? "restart: the queue is empty (but for the SERVFAIL message)"
sleep 2.5			# longer than retry_max: a second copy would have been tried by now
for i in 1 2 3 4 5; do
	[ "$(sink_count nine "restart-$i")" = 1 ] || break
done
ok $? "restart: each message received exactly once ($(sink_count nine) at mx9)"
is "$(sink_count one dnsdown)" 1 "restart: the DNS-down message received exactly once"
grep -E 'queue: [0-9]+ messages recovered' "$M_LOG" | sed 's/^/# /'
mxd_stop

# --- expiry ------------------------------------------------------------------------------------
deliver_conf exp 'queue_lifetime = 3s'
mxd_start
t0=$(date +%s%N)
send Q_EXP "$SENDER" expire u@expire.$D
# Expiry is not a delivery attempt: the queue manager logs "ID: expired after N s in the
# queue (REASON)" (or, as Postfix does, a per-recipient status=bounced line), then the DSN.
log_wait "^.*$Q_EXP: (expired after [0-9]+ s|to=<u@expire\\.$D>, .*status=bounced)" $WAIT
ok $? "expiry: MX down, queue_lifetime 3s: expired" || log_show "$Q_EXP"
ms=$((($(date +%s%N) - t0) / 1000000))
log_wait "$Q_EXP: sender non-delivery notification: [0-9a-f]{16}" 5
ok $? "expiry: logged 'sender non-delivery notification: NEWID'"
cmp_ok "$ms" -ge 2500 "expiry: not before the lifetime (bounced after $ms ms)"
cmp_ok "$(log_count "$(rcpt_re u@expire.$D deferred)")" -ge 1 "expiry: deferred before"
F=$(dsn_wait "$(md_dir example.test sender)" "u@expire.$D" $WAIT)
out=$(dsn_check "${F:-/nonexistent}" "u@expire.$D" '[45]\.[0-9]{1,3}\.[0-9]{1,3}' '' expire)
ok $? "expiry: the sender gets a DSN (Action failed, Status 4.x.x or 5.x.x)" ||
    printf '%s\n' "$out" | sed 's/^/#   /'
queue_settle 5
ok $? "expiry: the message left the queue"
mxd_stop

done_testing

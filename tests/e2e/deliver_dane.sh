#!/usr/bin/env bash
# tests/e2e/deliver_dane.sh — DANE (RFC 7672) end to end: mxd delivers through its own
# resolver, pointed at a local validating Unbound, to MX hosts whose zone is signed at test
# time and served by NSD (fixture: tests/e2e/dane_lib.sh, tests/data/dane/). One sender,
# `dane = auto`; one receiving mxd with a certificate signed by a test CA; one receiving mxd
# without STARTTLS. Expected, per destination (the sender's log line and the Maildirs):
#
#   dane.test        TLSA 3 1 1 of the receiver's key            sent, tls=dane
#   ta.dane.test     TLSA 2 0 1 of the CA that signed it         sent, tls=dane
#   plain.dane.test  signed, no TLSA (secure denial)             sent, tls=opportunistic
#   insecure.test    unsigned zone, TLSA that matches nothing    sent, tls=opportunistic
#   wrong.dane.test  TLSA 3 1 1 that matches nothing             deferred 4.7.5, kept, no bounce
#   sf.dane.test     TLSA RRSIG expired: Unbound SERVFAILs       deferred, kept, no bounce
#   notls.dane.test  TLSA, receiver offers no STARTTLS           deferred, never sent in clear
#   wrong6.dane.test like wrong, but the host's AAAA lookup         deferred 4.7.5: a failed
#                    SERVFAILs (RRSIG expired)                    lookup must not turn DANE off
#   notls6.dane.test like notls, AAAA lookup SERVFAILs            deferred 4.7.5, never in clear
#
# A deferred message must be retried (two attempts within the bounded wait) and must never
# reach a Maildir. Runs in a private network namespace when it can. Every wait is bounded;
# every server is stopped by PID. BUILD defaults to build/san.
# shellcheck source=tests/e2e/dane_lib.sh
. "$(dirname "$0")/dane_lib.sh"
e2e_netns "$0" "$@"
dane_init

# The downgrade hosts (review of outbound delivery): mx-wrong6 and mx-notls6 are secure, with
# A and TLSA records that validate, but the RRSIG of their AAAA RRset is spliced in from the
# signing that expired in 2020, so that one lookup SERVFAILs. A host is secure when every
# address lookup that answered was secure: a lookup made to fail must not disable DANE (RFC
# 7672 §2.2). The fixture's zone template is copied and extended; dane_zones is wrapped.
DANE_DATA_LIB=$DANE_DATA
DANE_DATA=$TMP/dane-data
if ! mkdir -p "$DANE_DATA" || ! cp -r "$DANE_DATA_LIB"/. "$DANE_DATA"/; then
	bail "cannot copy $DANE_DATA_LIB"
fi
cat >>"$DANE_DATA/dane.test.zone.in" <<'EOF'

wrong6		MX	10 mx-wrong6.dane.test.
mx-wrong6	A	127.0.74.2
mx-wrong6	AAAA	::1
_25._tcp.mx-wrong6 TLSA	3 1 1 8810ad581e59f2bc3928b261707a71308f7e139eb04820366dc4d5c18d980225

notls6		MX	10 mx-notls6.dane.test.
mx-notls6	A	127.0.74.7
mx-notls6	AAAA	::1
_25._tcp.mx-notls6 TLSA	3 1 1 @EE@
EOF
eval "dane_zones_lib() $(declare -f dane_zones | tail -n +2)"
dane_zones() {
	local d=$DANE_DIR
	dane_zones_lib || return 1
	awk 'FNR == NR { if ($1 ~ /^mx-(wrong6|notls6)\.dane\.test\.$/ && $4 == "RRSIG" && $5 == "AAAA")
		old[$1] = $0; next }
	    ($1 in old) && $4 == "RRSIG" && $5 == "AAAA" { print old[$1]; n++; next }
	    { print }
	    END { if (n != 2) exit 1 }' "$d/dane.test.zone.expired" "$d/dane.test.zone.signed" \
	    >"$d/dane.test.zone.aaaa" && mv "$d/dane.test.zone.aaaa" "$d/dane.test.zone.signed"
}

dane_dns
dane_fixture_checks
for h in mx-wrong6 mx-notls6; do
	dane_dig "$h.dane.test" A
	is "$(dane_flags)" "NOERROR ad" "fixture: $h.dane.test A: secure"
	dane_dig "$h.dane.test" AAAA
	is "$(dane_flags)" "SERVFAIL noad" "fixture: $h.dane.test AAAA (expired RRSIG): SERVFAIL"
	dane_dig "_25._tcp.$h.dane.test" TLSA
	is "$(dane_flags)" "NOERROR ad" "fixture: _25._tcp.$h.dane.test TLSA: secure"
done
dane_receiver "local_domains = $DANE_DOMAINS, wrong6.dane.test"
dane_receiver_notls
dane_sender

# shellcheck disable=SC2016	# the sed expression is meant literally
re() { printf '%s' "$1" | sed 's/[].[\\*^$()+?{|]/\\&/g'; }	# regex-quote a literal

# --- submit one message per destination -------------------------------------------------------
declare -A QID
GOOD="dane.test ta.dane.test plain.dane.test insecure.test"
BAD="wrong.dane.test sf.dane.test notls.dane.test"
for d in $GOOD $BAD; do
	QID[$d]=$(dane_send "u@$d" "to $d" 2>"$TMP/send.err")
	[[ ${QID[$d]} =~ ^[0-9a-f]{16}$ ]]
	ok $? "sender accepted the message to u@$d (queue ID ${QID[$d]:-none})" ||
	    sed 's/^/#   /' "$TMP/send.err"
done

# logline DOMAIN: the sender's log lines for u@DOMAIN's message (one per attempt)
logline() { grep -E -- "$(re "${QID[$1]}"): to=<$(re "u@$1")>, " "$S_LOG"; }
# wait_status DOMAIN STATUS N: until N such lines, or DEADLINE (in $SECONDS) has passed
wait_status() {
	local left=$((DEADLINE - SECONDS))
	[ "$left" -ge 1 ] || left=1
	dane_log_wait "$S_LOG" "$(re "${QID[$1]}"): to=<$(re "u@$1")>, .*status=$2 " "$3" "$left"
}
show_log() { logline "$1" | sed 's/^/#   sender: /'; [ -n "$(logline "$1")" ] || mxd_log_tail 15; }

# --- delivered ----------------------------------------------------------------------------------
declare -A ADDR=([dane.test]=1 [ta.dane.test]=3 [plain.dane.test]=5 [insecure.test]=6)
declare -A HOST=([dane.test]=mx.dane.test [ta.dane.test]=mx-ta.dane.test
    [plain.dane.test]=mx-plain.dane.test [insecure.test]=mx.insecure.test)
declare -A TLS=([dane.test]=dane [ta.dane.test]=dane [plain.dane.test]=opportunistic
    [insecure.test]=opportunistic)
dane_use S
DEADLINE=$((SECONDS + 20))
for d in $GOOD; do
	wait_status "$d" sent 1
	ok $? "u@$d: status=sent (all within 20 s)" || show_log "$d"
	line=$(logline "$d" | grep 'status=sent ' | head -n 1)
	want="relay=$(re "${HOST[$d]}[$DANE_NET.${ADDR[$d]}]:$DPORT"), delay=[0-9.]+, dsn=2\\.0\\.0, status=sent \\(.*\\), tls=${TLS[$d]}\$"
	[[ $line =~ $want ]]
	ok $? "u@$d: log says relay=${HOST[$d]}[$DANE_NET.${ADDR[$d]}]:$DPORT, tls=${TLS[$d]}, dsn=2.0.0" ||
	    echo "#   got: $line"
	is "$(logline "$d" | grep -vc 'status=sent ')" 0 "u@$d: delivered at the first attempt"
done

# In the receiver's Maildirs, each delivered message once, received over TLS (ESMTPS).
dane_use R
for d in $GOOD; do
	md_wait "$(md_dir "$d" u)" 1 5
	n=$(md_count "$(md_dir "$d" u)")
	f=$(md_grep "$(md_dir "$d" u)" "Message-Id: <u.$d@client.test>")
	[ "$n" = 1 ] && [ -n "$f" ]
	ok $? "u@$d: in the receiver's Maildir, once ($n file(s))"
	# The first Received: field, unfolded (RFC 5322 §2.2.3).
	rcvd=$(awk '/^$/ { exit } /^[ \t]/ && r { sub(/^[ \t]+/, " "); printf "%s", $0; next }
	    r { exit } /^Received:/ { r = 1; printf "%s", $0 }' "${f:-/dev/null}")
	[[ $rcvd =~ ^Received:\ from\ send\.mx\.test\ \(.*\)\ by\ recv\.mx\.test\ \(mxd\)\ with\ ESMTPS\  ]]
	ok $? "u@$d: the receiver's Received: line says ESMTPS (STARTTLS was used)" ||
	    echo "#   got: $rcvd"
done

# --- deferred -----------------------------------------------------------------------------------
# retry_min 1s, retry_max 2s: a second attempt comes within about 3 s of the first.
dane_use S
DEADLINE=$((SECONDS + 20))
for d in $BAD; do
	wait_status "$d" deferred 2
	ok $? "u@$d: deferred, and deferred again at the retry (2 attempts, all within 20 s)" ||
	    show_log "$d"
	is "$(logline "$d" | grep -Evc 'status=deferred ')" 0 "u@$d: never sent nor bounced" ||
	    show_log "$d"
done
# every DOMAIN PATTERN DESC: at least one log line for DOMAIN, and all of them match PATTERN
every() {
	local n bad
	n=$(logline "$1" | wc -l)
	bad=$(logline "$1" | grep -Evc -- "$2")
	[ "$n" -ge 1 ] && [ "$bad" -eq 0 ]
	ok $? "$3 ($n attempt(s), $bad not matching)" || show_log "$1"
}
# The host was reached (TCP and the TLS handshake): the line names it, in relay= or the text.
every wrong.dane.test "dsn=4\\.7\\.5, status=deferred .*$(re "mx-wrong.dane.test[$DANE_NET.2]:$DPORT")" \
    "u@wrong.dane.test: every attempt names mx-wrong and says dsn=4.7.5 (TLSA did not match)"
every sf.dane.test "relay=none, .*dsn=4\\.[0-9]+\\.[0-9]+, status=deferred " \
    "u@sf.dane.test: every attempt is relay=none, 4.x.x (TLSA SERVFAIL: host unusable, not \"no TLSA\")"
every notls.dane.test "dsn=4\\.[0-9]+\\.[0-9]+, status=deferred " \
    "u@notls.dane.test: every attempt is a 4.x.x (TLS required, not offered)"

ids=$(queue_ids | sort | tr '\n' ' ')
want=$(for d in $BAD; do echo "${QID[$d]}"; done | sort | tr '\n' ' ')
is "$ids" "$want" "sender's queue: exactly the three deferred messages are kept"
grep -q 'non-delivery notification' "$S_LOG"
ok $((!$?)) "sender: no bounce was generated" ||
    grep 'non-delivery notification' "$S_LOG" | sed 's/^/#   /'
is "$(md_count "$S_MAIL/example.test/alice/new")" 0 "sender: nothing in alice's Maildir (no DSN)"

dane_use R
for d in wrong.dane.test sf.dane.test; do
	is "$(md_count "$(md_dir "$d" u)")" 0 "u@$d: nothing in the receiver's Maildir"
done
grep -aqF 'u@wrong.dane.test' "$R_SPOOL"/queue/* 2>/dev/null
ok $((!$?)) "u@wrong.dane.test: nothing in the receiver's queue either"
dane_use N
is "$(md_count "$(md_dir notls.dane.test u)")" 0 \
    "u@notls.dane.test: nothing in the TLS-less receiver's Maildir (no clear-text fallback)"
grep -aqF 'u@notls.dane.test' "$N_SPOOL"/queue/* 2>/dev/null
ok $((!$?)) "u@notls.dane.test: nothing in the TLS-less receiver's queue either"

# --- downgrade: an address lookup that fails does not turn DANE off ---------------------------
# Submitted last, so the queue checks above still see exactly the three of them.
dane_use S
DOWN="wrong6.dane.test notls6.dane.test"
for d in $DOWN; do
	QID[$d]=$(dane_send "u@$d" "to $d" 2>"$TMP/send.err")
	[[ ${QID[$d]} =~ ^[0-9a-f]{16}$ ]]
	ok $? "sender accepted the message to u@$d (queue ID ${QID[$d]:-none})" ||
	    sed 's/^/#   /' "$TMP/send.err"
done
DEADLINE=$((SECONDS + 20))
for d in $DOWN; do
	wait_status "$d" deferred 2
	ok $? "u@$d: deferred, and deferred again at the retry (AAAA SERVFAIL, within 20 s)" ||
	    show_log "$d"
	is "$(logline "$d" | grep -Evc 'status=deferred ')" 0 "u@$d: never sent nor bounced" ||
	    show_log "$d"
	is "$(logline "$d" | grep -c 'tls=opportunistic')" 0 "u@$d: never tls=opportunistic" ||
	    show_log "$d"
done
# A deferred line says tls=none (no TLS session was kept): the reason text says why.
every wrong6.dane.test "$(re "relay=mx-wrong6.dane.test[$DANE_NET.2]:$DPORT"), .*dsn=4\\.7\\.5, status=deferred \\(DANE authentication " \
    "u@wrong6.dane.test: every attempt is 4.7.5, its TLSA was used and matched nothing"
every notls6.dane.test "$(re "relay=mx-notls6.dane.test[$DANE_NET.7]:$DPORT"), .*dsn=4\\.7\\.5, status=deferred \\(STARTTLS not offered .*required by its DANE TLSA" \
    "u@notls6.dane.test: every attempt is 4.7.5, TLS required by its TLSA and not offered"
grep -q 'non-delivery notification' "$S_LOG"
ok $((!$?)) "sender: still no bounce" ||
    grep 'non-delivery notification' "$S_LOG" | sed 's/^/#   /'
dane_use R
is "$(md_count "$(md_dir wrong6.dane.test u)")" 0 "u@wrong6.dane.test: nothing in the receiver's Maildir"
grep -aqF 'u@wrong6.dane.test' "$R_SPOOL"/queue/* 2>/dev/null
ok $((!$?)) "u@wrong6.dane.test: nothing in the receiver's queue either"
grep -aqF 'u@notls6.dane.test' "$N_SPOOL"/queue/* 2>/dev/null
ok $((!$?)) "u@notls6.dane.test: nothing in the TLS-less receiver's queue"
grep -q 'u@notls6\.dane\.test' "$N_LOG"
ok $((!$?)) "u@notls6.dane.test: the TLS-less receiver never saw the recipient (nothing in clear)"

# --- stop ---------------------------------------------------------------------------------------
for i in S R N; do
	dane_use "$i"
	mxd_stop
done
done_testing

# shellcheck shell=bash
# tests/e2e/deliver_lib.sh — helpers for mxd's outbound delivery tests (tests/e2e/deliver_*.sh),
# on top of smtp_lib.sh (mxd_conf, mxd_start, mxd_stop, md_*, queue_*). Source it, then:
#
#   . "$(dirname "$0")/deliver_lib.sh"
#   e2e_netns "$0" "$@"            # optional, before anything else: a private loopback
#   deliver_init                   # smtp_init + smtp-sink, nsd, dig; SINKPORT for every MX
#   zone_file "$TMP/dl.test.zone" dl.test <<'EOF' ... EOF   # SOA and NS added for you
#   nsd_start 127.0.55.1 dl.test="$TMP/dl.test.zone" sf.test=missing   # SERVFAIL zone
#   sink_start one 127.0.1.1                    # smtp-sink on 127.0.1.1:$SINKPORT
#   sink_start five 127.0.5.1 -f RCPT -B '550 5.1.1 no such user'   # with fault flags
#   deliver_conf main 'queue_lifetime = 3s'     # mxd_conf with the delivery keys set
#   mxd_start
#   QID=$(send_mail sender@example.test pref u@pref.dl.test)     # one message, its queue ID
#   sink_wait one 1 15 || ...        # complete messages received (bounded)
#   log_wait "to=<u@pref\.dl\.test>, relay=.*status=sent" 15
#   dsn_check FILE RCPT 'STATUS-REGEX' 'remote reply text' TAG
#
# Every MX host is an smtp-sink on its own 127.0.N.x address and the same port (SINKPORT:
# mxd's delivery_port is one port for all hosts). Each sink dumps every message to its own
# file under $TMP/sink/NAME/ (-d), and counts sessions (-c) on $TMP/sink/NAME.out; we wait
# for its listening socket in /proc/net/tcp rather than connecting, so the session count is
# the clients' alone. Messages sent with send_mail carry "X-Test-Tag: TAG" and end with
# "end-of-test-message TAG": a dump file with that line is a complete message.
#
# Running as root, smtp-sink must drop privileges (-u): it runs as MXD_USER. NSD runs in
# the foreground (-d) from a generated nsd.conf, as in dns_nsd.sh. Everything started here
# is stopped by PID (lib.sh's cleanup). Run directly, this file tests its own helpers.

# shellcheck source=tests/e2e/smtp_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/smtp_lib.sh"

SINK=${SINK:-/usr/sbin/smtp-sink}
NSD=${NSD:-/usr/sbin/nsd}
declare -A SINK_PID SINK_ADDR
NSD_PID=
NSD_ADDR=
NSD_PORT=
NSD_ZONES=()
DL_RESOLVER=
SINKPORT=

deliver_init() {	# deliver_init: smtp_init, check the tools, pick SINKPORT
	smtp_init
	[ -x "$SINK" ] || bail "$SINK is missing (Debian package postfix)"
	[ -x "$NSD" ] || bail "$NSD is missing (Debian package nsd)"
	command -v dig >/dev/null || bail "dig is missing (Debian package dnsutils)"
	SINKPORT=$(free_port) || bail "no free port"
	mkdir -p "$TMP/sink" "$TMP/nsd"
	chmod 711 "$TMP/sink"
	export SINKPORT
}

# --- NSD ---------------------------------------------------------------------------------

# zone_file PATH ORIGIN: writes a zone for ORIGIN from stdin (owner names relative to it),
# with an SOA and an NS record (ns.ORIGIN at 127.0.0.1) put first.
zone_file() {
	local path=$1 origin=$2
	{
		echo "\$ORIGIN $origin."
		echo "\$TTL 300"
		echo "@	IN SOA ns.$origin. hostmaster.$origin. 1 3600 600 86400 60"
		echo "@	IN NS ns.$origin."
		echo "ns	IN A 127.0.0.1"
		cat
	} >"$path"
}

# nsd_start ADDR ZONE=FILE...: NSD on ADDR and a random port (kept across nsd_stop /
# nsd_start with no arguments) serving each ZONE from FILE ("missing" or a file that does
# not exist: NSD answers SERVFAIL for that zone). Waits, bounded, until the first zone's SOA
# answers. Sets NSD_PID, NSD_ADDR, NSD_PORT, DL_RESOLVER (ADDR:PORT).
nsd_start() {
	local try z first
	if [ $# -gt 0 ]; then
		NSD_ADDR=$1
		shift
		NSD_ZONES=("$@")
		NSD_PORT=
	fi
	first=${NSD_ZONES[0]%%=*}
	for try in 1 2 3; do
		[ -n "$NSD_PORT" ] && [ "$try" = 1 ] || NSD_PORT=$(free_port) || return 1
		{
			echo "server:"
			echo "	ip-address: $NSD_ADDR"
			echo "	port: $NSD_PORT"
			echo "	do-ip6: no"
			echo '	username: ""'
			echo '	chroot: ""'
			echo '	database: ""'
			echo "	zonesdir: \"$TMP/nsd\""
			echo "	pidfile: \"$TMP/nsd/nsd.pid\""
			echo "	xfrdfile: \"$TMP/nsd/xfrd.state\""
			echo "	zonelistfile: \"$TMP/nsd/zone.list\""
			echo "	xfrdir: \"$TMP/nsd\""
			echo "	logfile: \"$TMP/nsd/nsd.log\""
			echo "	verbosity: 0"
			echo "	server-count: 1"
			echo "	hide-version: yes"
			echo "	minimal-responses: yes"
			echo "	round-robin: no"
			echo "remote-control:"
			echo "	control-enable: no"
			for z in "${NSD_ZONES[@]}"; do
				echo "zone:"
				echo "	name: \"${z%%=*}\""
				if [ "${z#*=}" = missing ]; then
					echo "	zonefile: \"$TMP/nsd/${z%%=*}.missing\""
				else
					echo "	zonefile: \"${z#*=}\""
				fi
			done
		} >"$TMP/nsd/nsd.conf"
		spawn "$NSD" -d -c "$TMP/nsd/nsd.conf" >>"$TMP/nsd/nsd.out" 2>&1
		NSD_PID=$SPAWNED_PID
		for _ in $(seq 1 50); do		# 50 x (<= 1 s dig + 0.1 s)
			kill -0 "$NSD_PID" 2>/dev/null || break
			if dig +short +time=1 +tries=1 @"$NSD_ADDR" -p "$NSD_PORT" "$first" SOA \
			    2>/dev/null | grep -q .; then
				DL_RESOLVER=$NSD_ADDR:$NSD_PORT
				return 0
			fi
			sleep 0.1
		done
		diag "NSD did not start on $NSD_ADDR:$NSD_PORT (try $try):"
		sed 's/^/#   /' "$TMP/nsd/nsd.out" "$TMP/nsd/nsd.log" 2>/dev/null | tail -n 20
		stop_pid "$NSD_PID" 5
		NSD_PID=
	done
	return 1
}

nsd_stop() {	# nsd_stop: stop NSD by PID (nsd_start with no arguments starts it again)
	[ -n "$NSD_PID" ] || return 0
	stop_pid "$NSD_PID" 5
	NSD_PID=
}

# --- smtp-sink MX hosts -----------------------------------------------------------------------

sink_proc_addr() {	# sink_proc_addr ADDR PORT: ADDR:PORT as /proc/net/tcp{,6} shows it
	local a=$1 p=$2 o
	if [ "$a" = ::1 ]; then
		printf '00000000000000000000000001000000:%04X' "$p"
		return
	fi
	IFS=. read -r -a o <<<"$a"
	printf '%02X%02X%02X%02X:%04X' "${o[3]}" "${o[2]}" "${o[1]}" "${o[0]}" "$p"
}

listening() {	# listening ADDR PORT: a TCP socket listens on exactly ADDR:PORT
	local want
	want=$(sink_proc_addr "$1" "$2")
	awk -v w="$want" '$2 == w && $4 == "0A" { f = 1 } END { exit !f }' \
	    /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# sink_start NAME ADDR [smtp-sink flags...]: an MX host on ADDR:SINKPORT ("::1" for IPv6)
# dumping each message under $TMP/sink/NAME/, session counters on $TMP/sink/NAME.out.
# Starting a NAME again (after sink_stop) keeps its earlier dumps and counters file.
sink_start() {
	local name=$1 addr=$2 listen i
	shift 2
	local dir=$TMP/sink/$name user=()
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$MXD_USER" "$dir"
		user=(-u "$MXD_USER")
	fi
	listen=$addr:$SINKPORT
	[ "$addr" = ::1 ] && listen="[::1]:$SINKPORT"
	spawn "$SINK" "${user[@]}" -c -h "$name.sink.test" -d "$dir/m." "$@" "$listen" 64 \
	    >>"$TMP/sink/$name.out" 2>&1
	SINK_PID[$name]=$SPAWNED_PID
	SINK_ADDR[$name]=$addr
	for ((i = 0; i < 50; i++)); do
		listening "$addr" "$SINKPORT" && return 0
		kill -0 "${SINK_PID[$name]}" 2>/dev/null || break
		sleep 0.1
	done
	sed 's/^/#   /' "$TMP/sink/$name.out"
	bail "smtp-sink $name did not listen on $listen within 5 s"
}

sink_stop() {	# sink_stop NAME: stop that sink by PID; waits until its port is closed
	local name=$1 i
	stop_pid "${SINK_PID[$name]:-}" 5
	SINK_PID[$name]=
	for ((i = 0; i < 50; i++)); do
		listening "${SINK_ADDR[$name]}" "$SINKPORT" || return 0
		sleep 0.1
	done
	return 1
}

sink_files() {	# sink_files NAME: every dump file (complete or not), one a line
	local f
	for f in "$TMP/sink/$1"/m.*; do [ -f "$f" ] && echo "$f"; done
	return 0
}
sink_done() {	# sink_done NAME [TAG]: the complete messages (with TAG: only those)
	local tag=${2:-}
	if [ -n "$tag" ]; then
		grep -lx -- "end-of-test-message $tag" "$TMP/sink/$1"/m.* 2>/dev/null
	else
		grep -l -- '^end-of-test-message ' "$TMP/sink/$1"/m.* 2>/dev/null
	fi
	return 0
}
sink_count() {	# sink_count NAME [TAG]: number of complete messages
	sink_done "$@" | grep -c .
}
sink_any() {	# sink_any NAME: number of dump files, complete or not
	sink_files "$1" | grep -c .
}
sink_rcpts() {	# sink_rcpts NAME: the RCPT TO arguments of complete messages, one a line
	local f
	for f in $(sink_done "$1"); do
		sed -n 's/^X-Rcpt-Args: <\([^>]*\)>.*/\1/p' "$f"
	done
}
sink_sessions() {	# sink_sessions NAME: SMTP sessions the sink saw end (its -c counter)
	local n
	n=$(tr '\r' '\n' <"$TMP/sink/$1.out" 2>/dev/null | grep -o 'sess=[0-9]*' | tail -n 1)
	n=${n#sess=}
	echo "${n:-0}"
}
sink_wait() {	# sink_wait NAME N [SECONDS [TAG]]: until N complete messages (default 15 s)
	local name=$1 n=$2 max=${3:-15} tag=${4:-} i
	for ((i = 0; i < max * 10; i++)); do
		[ "$(sink_count "$name" "$tag")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- mxd ---------------------------------------------------------------------------------------

# deliver_conf NAME ["key = value"]...: mxd_conf NAME with the delivery keys of the tests
# (resolver = DL_RESOLVER, delivery_port = SINKPORT, loopback MX hosts allowed, retries
# every 1-2 s, 5 s SMTP timeouts, a 10-minute queue lifetime), then the arguments.
deliver_conf() {
	local name=$1
	shift
	mxd_conf "$name" "resolver = $DL_RESOLVER" "delivery_port = $SINKPORT" \
	    "allow_loopback_mx = yes" "retry_min = 1s" "retry_max = 2s" "smtp_timeout = 5" \
	    "queue_lifetime = 10m" "$@"
}

# send_mail FROM TAG RCPTS...: one SMTP session to mxd's listen port; one message per RCPTS
# argument (recipients separated by commas). With one message its tag is TAG, else TAG-1,
# TAG-2, ...; each has "Message-Id: <TAG@deliver.test>" and "X-Test-Tag: TAG" and ends with
# "end-of-test-message TAG". FROM "" is the null sender. Prints each queue ID, one a line;
# returns non-zero (with the reason on stderr) if any command is refused.
send_mail() {
	timeout 120 python3 - "$M_PORT" "$@" <<'EOF'
import smtplib, sys
port, sender, tag = int(sys.argv[1]), sys.argv[2], sys.argv[3]
msgs = sys.argv[4:]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.deliver.test", timeout=30)
code, resp = s.ehlo()
assert code == 250, (code, resp)
for i, rcpts in enumerate(msgs, 1):
    t = tag if len(msgs) == 1 else "%s-%d" % (tag, i)
    code, resp = s.mail(sender)
    if code != 250:
        sys.exit("MAIL FROM:<%s>: %d %s" % (sender, code, resp))
    for r in rcpts.split(","):
        code, resp = s.rcpt(r)
        if code != 250:
            sys.exit("RCPT TO:<%s>: %d %s" % (r, code, resp))
    body = ("From: <%s>\r\nTo: <%s>\r\nSubject: delivery test %s\r\n"
            "Message-Id: <%s@deliver.test>\r\nX-Test-Tag: %s\r\n\r\n"
            "This is test message %s.\r\nend-of-test-message %s\r\n"
            % (sender or "mailer-daemon@deliver.test", rcpts.split(",")[0], t, t, t, t, t))
    code, resp = s.data(body.encode())
    if code != 250 or b"queued as " not in resp:
        sys.exit("DATA: %d %s" % (code, resp))
    print(resp.decode().split("queued as ")[1].split()[0], flush=True)
s.quit()
EOF
}

re_esc() {	# re_esc TEXT: TEXT with the ERE metacharacters escaped
	printf '%s' "$1" | sed 's/[][\.*^$+?(){}|/]/\\&/g'
}
relay_re() {	# relay_re HOST ADDR: ERE for "relay=HOST[ADDR]:SINKPORT" (HOST may end in .)
	echo "relay=$(re_esc "$1")\\.?\\[$(re_esc "$2")\\]:$SINKPORT"
}
rcpt_re() {	# rcpt_re RCPT [STATUS]: ERE for a delivery log line of RCPT (with that status)
	echo "to=<$(re_esc "$1")>, relay=.*status=${2:-[a-z]+}"
}
log_show() {	# log_show ERE: the matching lines of mxd's log as TAP comments
	grep -E -- "$1" "$M_LOG" 2>/dev/null | head -n 20 | sed 's/^/#   log: /'
}

# dsn_check FILE RCPT STATUS-ERE [TEXT [TAG]]: FILE (a Maildir file) is an RFC 3464 bounce
# to our sender: Return-Path <>, multipart/report; report-type=delivery-status, with a
# message/delivery-status part whose block for RCPT says Action: failed, a Status matching
# STATUS-ERE (anchored) and, when TEXT is given, a Diagnostic-Code containing TEXT; and, with
# TAG, the original message or its header (its Message-Id) returned in the third part.
# Prints every problem; exit 0 when none.
dsn_check() {
	python3 - "$@" <<'EOF'
import email, re, sys
from email import policy
path, rcpt, status_re = sys.argv[1:4]
text = sys.argv[4] if len(sys.argv) > 4 else ""
tag = sys.argv[5] if len(sys.argv) > 5 else ""
raw = open(path, "rb").read()
bad = []
if not raw.startswith(b"Return-Path: <>"):
    bad.append("does not start with Return-Path: <> (%r)" % raw[:60])
m = email.message_from_bytes(raw, policy=policy.compat32)
if m.get_content_type() != "multipart/report":
    bad.append("Content-Type is %s, not multipart/report" % m.get_content_type())
elif (m.get_param("report-type") or "").lower() != "delivery-status":
    bad.append("report-type is %r" % m.get_param("report-type"))
parts = m.get_payload() if m.is_multipart() else []
types = [p.get_content_type() for p in parts]
ds = [p for p in parts if p.get_content_type() == "message/delivery-status"]
if not ds:
    bad.append("no message/delivery-status part (parts: %s)" % types)
else:
    blocks = ds[0].get_payload()
    found = None
    for b in blocks[1:] if isinstance(blocks, list) else []:
        fr = " ".join((b.get("Final-Recipient") or "").split())
        if rcpt.lower() in fr.lower():
            found = b
    if found is None:
        bad.append("no per-recipient block for %s in %s" % (rcpt, ds[0].as_string()[:600]))
    else:
        action = (found.get("Action") or "").strip().lower()
        st = (found.get("Status") or "").strip()
        diag = " ".join((found.get("Diagnostic-Code") or "").split())
        if action != "failed":
            bad.append("Action: %r, not failed" % action)
        if not re.fullmatch(status_re, st):
            bad.append("Status: %r does not match %r" % (st, status_re))
        if text and text.lower() not in diag.lower():
            bad.append("Diagnostic-Code %r does not contain %r" % (diag, text))
if tag:
    rest = b"".join(p.as_bytes() for p in parts[2:]) if len(parts) > 2 else b""
    if b"<%s@deliver.test>" % tag.encode() not in rest:
        bad.append("the original's Message-Id <%s@deliver.test> is not returned (parts: %s)"
                   % (tag, types))
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
EOF
}

# dsn_wait DIR RCPT [SECONDS]: until a file in DIR (a Maildir new/) names RCPT; prints it.
dsn_wait() {
	local dir=$1 rcpt=$2 max=${3:-15} i f
	for ((i = 0; i < max * 10; i++)); do
		f=$(md_grep "$dir" "$rcpt" | head -n 1)
		[ -n "$f" ] && { echo "$f"; return 0; }
		sleep 0.1
	done
	return 1
}

# --- self-test -------------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	e2e_netns "$0" "$@"
	deliver_init
	zone_file "$TMP/self.test.zone" self.test <<'EOF'
mx1	IN A 127.0.31.1
dom	IN MX 10 mx1
EOF
	nsd_start 127.0.31.53 self.test="$TMP/self.test.zone" sf.test=missing ||
	    bail "could not start NSD"
	is "$(dig +short +time=1 +tries=1 @"$NSD_ADDR" -p "$NSD_PORT" dom.self.test MX)" \
	    "10 mx1.self.test." "nsd_start serves the generated zone"
	dig +time=1 +tries=1 @"$NSD_ADDR" -p "$NSD_PORT" x.sf.test A | grep -q 'status: SERVFAIL'
	ok $? "a missing zone file gives SERVFAIL"
	sink_start one 127.0.31.1
	listening 127.0.31.1 "$SINKPORT"
	ok $? "sink listens on 127.0.31.1:$SINKPORT"
	is "$(sink_sessions one)" 0 "waiting for the sink made no session"
	python3 - "$SINKPORT" <<'EOF'
import smtplib, sys
s = smtplib.SMTP("127.0.31.1", int(sys.argv[1]), timeout=10)
for i in (1, 2):
    s.sendmail("a@self.test", ["x@dom.self.test", "y@dom.self.test"],
               "Subject: t\r\n\r\nbody\r\nend-of-test-message self-%d\r\n" % i)
s.quit()
EOF
	sink_wait one 2 5
	ok $? "sink_wait sees 2 complete messages"
	is "$(sink_count one self-2)" 1 "sink_count by tag"
	is "$(sink_rcpts one | sort | tr '\n' ' ')" "x@dom.self.test x@dom.self.test y@dom.self.test y@dom.self.test " \
	    "sink_rcpts lists every recipient"
	for _ in $(seq 20); do [ "$(sink_sessions one)" = 1 ] && break; sleep 0.1; done
	is "$(sink_sessions one)" 1 "sink_sessions counts the one session"
	sink_stop one
	ok $? "sink_stop closes the port"
	deliver_conf libself
	"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1
	ok $? "mxd -t accepts deliver_conf's config" || sed 's/^/#   /' "$TMP/t.out"
	mxd_start
	qid=$(send_mail sender@example.test selftest user@example.test)
	[[ $qid =~ ^[0-9a-f]{16}$ ]]
	ok $? "send_mail prints the queue ID ($qid)"
	md_wait "$(md_dir example.test user)" 1 10
	ok $? "the message reached the local mailbox"
	f=$(md_grep "$(md_dir example.test user)" 'end-of-test-message selftest')
	grep -q '^X-Test-Tag: selftest' "${f:-/nonexistent}"
	ok $? "it carries its tag and trailer"
	mxd_stop
	nsd_stop
	done_testing
fi

# shellcheck shell=bash
# tests/e2e/dane_lib.sh — the DANE (RFC 7672) fixture for mxd's outbound delivery tests, on
# top of smtp_lib.sh. Everything is on loopback and made at test time:
#
#   - a test CA and a receiver certificate it signs (P-256; SAN every MX host name below);
#   - dane.test (tests/data/dane/dane.test.zone.in) with TLSA records for that certificate,
#     signed with a fresh ldns-keygen key by ldns-signzone; the TLSA RRSIG of mx-sf is
#     replaced by one from a second signing that expired in 2020, so Unbound finds it bogus;
#   - insecure.test, unsigned (its TLSA matches nothing);
#   - NSD serving both on 127.0.74.53:random;
#   - Unbound on 127.0.0.1:random validating dane.test from its DS (no root anchor), with
#     insecure.test declared domain-insecure, and every other name refused locally;
#   - the receiver: an mxd listening on 127.0.74.1..6 at one port, DPORT, for all the test
#     domains, with the certificate chain (leaf + CA) as tls_cert, delivering to Maildirs;
#     and one without TLS on 127.0.74.7:DPORT for notls.dane.test;
#   - the sender: an mxd with resolver = Unbound, dane = auto, delivery_port = DPORT.
#
#   . "$(dirname "$0")/dane_lib.sh"
#   e2e_netns "$0" "$@"     # optional: private network namespace (nothing can leave it)
#   dane_init               # smtp_init + tool checks
#   dane_dns                # certs, zones, keys, signatures, NSD, Unbound (bounded waits)
#   dane_receiver           # R_* (and M_*) for the receiving mxd, started
#   dane_receiver_notls     # N_*: an mxd without STARTTLS on 127.0.74.7 (mx-notls)
#   dane_sender [KEY=V]...  # S_* (and M_*) for the sending mxd, started
#   qid=$(dane_send u@dane.test "subject")
#   dane_use R; mxd_stop    # mxd_stop acts on M_*: dane_use R|N|S selects one
#
# Variables: DANE_DIR (work dir), DANE_NET (127.0.74), NSD_ADDR NSD_PORT UB_PORT DPORT,
# DANE_EE (3 1 1 data), DANE_TA (2 0 1 data), DANE_CHAIN/DANE_KEY/DANE_CA (PEM files),
# R_*, N_* and S_* (copies of smtp_lib's M_* for each mxd). NSD and Unbound are stopped by
# PID (lib.sh's cleanup). Run directly (as tests/run does), this file checks the fixture itself
# without any outbound delivery: signatures, AD bits, mxlookup, SERVFAIL on the expired
# RRSIG, and openssl s_client's own DANE verification against the receiver.

# shellcheck source=tests/e2e/smtp_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/smtp_lib.sh"

DANE_NET=127.0.74
NSD_ADDR=$DANE_NET.53
DANE_DOMAINS="dane.test, wrong.dane.test, ta.dane.test, sf.dane.test, plain.dane.test, insecure.test"

dane_init() {	# dane_init: smtp_init, tools, DANE_DIR
	local t
	smtp_init
	MXL=$BUILD/mxlookup
	[ -x "$MXL" ] || bail "$MXL is not built (make BUILD=build/san SAN=1 tests)"
	for t in nsd unbound ldns-keygen ldns-signzone dig; do
		command -v "$t" >/dev/null || [ -x "/usr/sbin/$t" ] ||
		    bail "$t is missing (scripts/deps installs nsd, unbound, ldnsutils, dnsutils)"
	done
	DANE_DATA=$ROOT/tests/data/dane
	DANE_DIR=$TMP/dane
	mkdir -p "$DANE_DIR" && chmod 755 "$DANE_DIR"
}

dane_sbin() {	# dane_sbin NAME: path of nsd/unbound (in /usr/sbin, maybe not in PATH)
	command -v "$1" 2>/dev/null || echo "/usr/sbin/$1"
}

# --- certificates ----------------------------------------------------------------------------

dane_certs() {	# dane_certs: CA, receiver key/cert signed by it, chain; DANE_EE, DANE_TA
	local d=$DANE_DIR san h
	san=DNS:mx.dane.test
	for h in mx-wrong mx-ta mx-sf mx-plain; do san="$san,DNS:$h.dane.test"; done
	san="$san,DNS:mx.insecure.test"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	    -subj '/CN=mxd DANE test CA' -addext 'basicConstraints=critical,CA:TRUE' \
	    -addext 'keyUsage=critical,keyCertSign,cRLSign' \
	    -keyout "$d/ca.key" -out "$d/ca.pem" >/dev/null 2>&1 || return 1
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
	    -subj /CN=mx.dane.test -keyout "$d/recv.key" -out "$d/recv.csr" >/dev/null 2>&1 ||
	    return 1
	printf 'subjectAltName=%s\nbasicConstraints=critical,CA:FALSE\nextendedKeyUsage=serverAuth\nkeyUsage=critical,digitalSignature\n' \
	    "$san" >"$d/recv.ext"
	openssl x509 -req -in "$d/recv.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/recv.ext" -out "$d/recv.pem" >/dev/null 2>&1 ||
	    return 1
	cat "$d/recv.pem" "$d/ca.pem" >"$d/chain.pem"
	chmod 644 "$d"/*.pem "$d/recv.key"	# read by the receiving mxd
	DANE_CHAIN=$d/chain.pem
	DANE_KEY=$d/recv.key
	# shellcheck disable=SC2034	# for the scripts that source this file
	DANE_CA=$d/ca.pem
	# 3 1 1: SHA-256 of the DER SubjectPublicKeyInfo; 2 0 1: SHA-256 of the DER CA cert.
	DANE_EE=$(openssl x509 -in "$d/recv.pem" -noout -pubkey |
	    openssl pkey -pubin -outform DER | openssl dgst -sha256 -r | awk '{print $1}')
	DANE_TA=$(openssl x509 -in "$d/ca.pem" -outform DER | openssl dgst -sha256 -r |
	    awk '{print $1}')
	[[ $DANE_EE =~ ^[0-9a-f]{64}$ ]] && [[ $DANE_TA =~ ^[0-9a-f]{64}$ ]]
}

# --- zones -----------------------------------------------------------------------------------

dane_zones() {	# dane_zones: dane.test from its template, a key, signed; the expired RRSIG
	local d=$DANE_DIR key
	sed -e "s/@EE@/$DANE_EE/g" -e "s/@TA@/$DANE_TA/g" "$DANE_DATA/dane.test.zone.in" \
	    >"$d/dane.test.zone" || return 1
	cp "$DANE_DATA/insecure.test.zone" "$d/" || return 1
	# One key (KSK flag, used as a combined signing key); its DS is Unbound's trust anchor.
	key=$(cd "$d" && ldns-keygen -a ECDSAP256SHA256 -k dane.test 2>"$d/keygen.err") ||
	    return 1
	[ -s "$d/$key.ds" ] || return 1
	DANE_ANCHOR=$d/$key.ds
	(cd "$d" && ldns-signzone -o dane.test. -f dane.test.zone.signed dane.test.zone "$key" &&
	    ldns-signzone -o dane.test. -i 20200101000000 -e 20200201000000 \
	    -f dane.test.zone.expired dane.test.zone "$key") >"$d/sign.err" 2>&1 || return 1
	# Splice: the TLSA RRSIG of _25._tcp.mx-sf from the expired signing, the rest current.
	awk -v sf=_25._tcp.mx-sf.dane.test. '
	    FNR == NR { if ($1 == sf && $4 == "RRSIG" && $5 == "TLSA") old = $0; next }
	    $1 == sf && $4 == "RRSIG" && $5 == "TLSA" { if (old == "") exit 1; print old; n++; next }
	    { print }
	    END { if (n != 1) exit 1 }' "$d/dane.test.zone.expired" "$d/dane.test.zone.signed" \
	    >"$d/dane.test.zone.spliced" || return 1
	mv "$d/dane.test.zone.spliced" "$d/dane.test.zone.signed"
	grep -q 'RRSIG	TLSA .* 20200201000000 ' "$d/dane.test.zone.signed"
}

# --- servers ---------------------------------------------------------------------------------

dane_nsd() {	# dane_nsd: NSD on NSD_ADDR:NSD_PORT, up to 3 ports tried; NSD_PID
	local try i
	for try in 1 2 3; do
		NSD_PORT=$(free_port) || continue
		sed -e "s|@ADDR@|$NSD_ADDR|" -e "s|@PORT@|$NSD_PORT|" -e "s|@DIR@|$DANE_DIR|g" \
		    "$DANE_DATA/nsd.conf.in" >"$DANE_DIR/nsd.conf" || return 1
		spawn "$(dane_sbin nsd)" -d -c "$DANE_DIR/nsd.conf" >"$DANE_DIR/nsd.out" 2>&1
		NSD_PID=$SPAWNED_PID
		for ((i = 0; i < 50; i++)); do	# 50 x (<= 1 s dig + 0.1 s)
			kill -0 "$NSD_PID" 2>/dev/null || break
			dig +short +time=1 +tries=1 @"$NSD_ADDR" -p "$NSD_PORT" mx.dane.test A \
			    2>/dev/null | grep -qx "$DANE_NET.1" && return 0
			sleep 0.1
		done
		diag "NSD did not start on $NSD_ADDR:$NSD_PORT (try $try)"
		sed 's/^/#   nsd: /' "$DANE_DIR/nsd.out" "$DANE_DIR/nsd.log" 2>/dev/null | tail -5
		stop_pid "$NSD_PID" 3
	done
	return 1
}

dane_unbound() {	# dane_unbound: Unbound on 127.0.0.1:UB_PORT; UB_PID
	local try i
	for try in 1 2 3; do
		UB_PORT=$(free_port) || continue
		sed -e "s|@PORT@|$UB_PORT|" -e "s|@DIR@|$DANE_DIR|g" \
		    -e "s|@NSD@|$NSD_ADDR@$NSD_PORT|" -e "s|@ANCHOR@|$DANE_ANCHOR|" \
		    "$DANE_DATA/unbound.conf.in" >"$DANE_DIR/unbound.conf" || return 1
		cp "$DANE_DATA/root.hints" "$DANE_DIR/root.hints"
		if ! unbound-checkconf "$DANE_DIR/unbound.conf" >"$DANE_DIR/unbound.check" 2>&1; then
			sed 's/^/#   unbound-checkconf: /' "$DANE_DIR/unbound.check"
			return 1
		fi
		spawn "$(dane_sbin unbound)" -d -c "$DANE_DIR/unbound.conf" \
		    >"$DANE_DIR/unbound.out" 2>&1
		UB_PID=$SPAWNED_PID
		for ((i = 0; i < 50; i++)); do
			kill -0 "$UB_PID" 2>/dev/null || break
			dig +time=1 +tries=1 @127.0.0.1 -p "$UB_PORT" mx.dane.test A \
			    2>/dev/null | grep -q "^mx.dane.test.*$DANE_NET.1\$" && return 0
			sleep 0.1
		done
		diag "Unbound did not start on 127.0.0.1:$UB_PORT (try $try)"
		sed 's/^/#   unbound: /' "$DANE_DIR/unbound.out" "$DANE_DIR/unbound.log" \
		    2>/dev/null | tail -5
		stop_pid "$UB_PID" 3
	done
	return 1
}

dane_dns() {	# dane_dns: certificates, zones, NSD, Unbound; bails on any failure
	dane_certs || bail "openssl could not make the DANE test certificates"
	dane_zones || { sed 's/^/#   /' "$DANE_DIR"/*.err; bail "could not sign the test zone"; }
	dane_nsd || bail "could not start NSD"
	dane_unbound || bail "could not start Unbound"
	DPORT=$(free_port) || bail "no free port"
	diag "NSD $NSD_ADDR:$NSD_PORT (pid $NSD_PID), Unbound 127.0.0.1:$UB_PORT (pid $UB_PID)," \
	    "MX port $DPORT"
}

# --- the two mxd instances ---------------------------------------------------------------------

dane_save() {	# dane_save R|N|S: copy M_* (the mxd configured or started last) to R_* or S_*
	local v
	for v in NAME DIR CONF PORT SUB HOST SPOOL MAIL LOG PID; do
		eval "$1_$v=\${M_$v:-}"
	done
}
dane_use() {	# dane_use R|N|S: make that instance the current one (M_*) for smtp_lib
	local v
	for v in NAME DIR CONF PORT SUB HOST SPOOL MAIL LOG PID; do
		eval "M_$v=\${$1_$v:-}"
	done
	export M_NAME M_DIR M_CONF M_PORT M_SUB M_HOST M_SPOOL M_MAIL M_LOG
}

# shellcheck disable=SC2120	# arguments are optional
dane_receiver() {	# dane_receiver [KEY=V]...: the TLS receiver on 127.0.74.1..6:DPORT
	local listen i
	mxd_conf recv "tls_cert = $DANE_CHAIN" "tls_key = $DANE_KEY" \
	    "local_domains = $DANE_DOMAINS" "$@"
	listen="127.0.0.1:$M_PORT"
	for i in 1 2 3 4 5 6; do listen="$listen, $DANE_NET.$i:$DPORT"; done
	sed -i "s|^listen = .*|listen = $listen|" "$M_CONF"
	mxd_start
	for i in 1 2 3 4 5 6; do
		wait_port "$DANE_NET.$i" "$DPORT" 5 || bail "receiver not listening on $DANE_NET.$i"
	done
	dane_save R
}

dane_receiver_notls() {	# dane_receiver_notls: mxd without TLS on 127.0.74.7:DPORT; N_*
	mxd_conf notls 'tls_cert =' 'tls_key =' 'submission =' 'local_domains = notls.dane.test'
	sed -i "s|^listen = .*|listen = 127.0.0.1:$M_PORT, $DANE_NET.7:$DPORT|" "$M_CONF"
	mxd_start
	wait_port "$DANE_NET.7" "$DPORT" 5 || bail "receiver without TLS not listening"
	dane_save N
}

dane_sender() {	# dane_sender [KEY=V]...: the sending mxd, validating through Unbound
	mxd_conf send "resolver = 127.0.0.1:$UB_PORT" 'dane = auto' "delivery_port = $DPORT" \
	    'allow_loopback_mx = yes' 'retry_min = 1s' 'retry_max = 2s' 'smtp_timeout = 5' \
	    'local_domains = example.test' "$@"
	mxd_start
	dane_save S
}

# dane_send RCPT [SUBJECT]: submits one message from alice@example.test to RCPT through the
# sender's MX port (127.0.0.1 is in its relay_networks); prints the queue ID.
dane_send() {
	timeout 20 python3 - "$S_PORT" "$1" "${2:-dane test to $1}" <<'EOF'
import smtplib, sys
port, rcpt, subj = int(sys.argv[1]), sys.argv[2], sys.argv[3]
s = smtplib.SMTP("127.0.0.1", port, local_hostname="client.example.test", timeout=10)
s.ehlo()
code, resp = s.mail("alice@example.test")
assert code == 250, (code, resp)
code, resp = s.rcpt(rcpt)
assert code == 250, (code, resp)
code, resp = s.data(("Subject: %s\r\nMessage-Id: <%s@client.test>\r\n\r\nDANE body for %s\r\n"
    % (subj, rcpt.replace("@", "."), rcpt)).encode())
assert code == 250, (code, resp)
print(resp.decode().split()[-1])
s.quit()
EOF
}

# dane_log_wait FILE PATTERN N SECONDS: until FILE holds at least N lines matching the
# extended regex PATTERN; 0 when it does.
dane_log_wait() {
	local f=$1 pat=$2 n=$3 max=$4 i
	for ((i = 0; i < max * 10; i++)); do
		[ "$(grep -Ec -- "$pat" "$f" 2>/dev/null)" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- fixture checks (run by this file directly and at the start of deliver_dane.sh) ----------

DIG_OUT=
dane_dig() {	# dane_dig NAME TYPE: dig +dnssec through Unbound; DIG_OUT
	DIG_OUT=$(dig +dnssec +time=2 +tries=2 @127.0.0.1 -p "$UB_PORT" "$1" "$2" 2>&1)
}
dane_flags() {	# dane_flags: "STATUS ad|noad" of DIG_OUT
	local st ad=noad
	st=$(printf '%s\n' "$DIG_OUT" | sed -n 's/.*status: \([A-Z]*\),.*/\1/p' | head -n 1)
	printf '%s\n' "$DIG_OUT" | grep -q '^;; flags:[^;]* ad[ ;]' && ad=ad
	echo "$st $ad"
}

MXL_OUT=
dane_mxl() {	# dane_mxl ARG...: mxlookup -j -s Unbound ARG...; MXL_OUT and its exit code
	MXL_OUT=$(timeout 20 "$MXL" -j -s "127.0.0.1:$UB_PORT" "$@" 2>&1)
}
dane_json() {	# dane_json EXPR: a Python expression over MXL_OUT's JSON (bound to j)
	printf '%s' "$MXL_OUT" | python3 -c '
import json, sys
try:
    j = json.load(sys.stdin)
    v = eval(sys.argv[1], {"j": j})
except Exception as e:
    print("ERROR: %s: %s" % (type(e).__name__, e)); sys.exit(0)
print(v if isinstance(v, str) else json.dumps(v, separators=(",", ":")))' "$1"
}

dane_fixture_checks() {	# the DNS half of the fixture: signatures validate, AD where due
	dane_dig mx.dane.test A
	is "$(dane_flags)" "NOERROR ad" "fixture: dig +dnssec mx.dane.test A through Unbound: NOERROR, ad" ||
	    printf '%s\n' "$DIG_OUT" | sed 's/^/#   /'
	dane_dig _25._tcp.mx.dane.test TLSA
	is "$(dane_flags)" "NOERROR ad" "fixture: _25._tcp.mx.dane.test TLSA: NOERROR, ad"
	dane_mxl -t TLSA _25._tcp.mx.dane.test
	is "$?/$(dane_json 'j["security"]["ad"]')" 0/true \
	    "fixture: mxlookup -t TLSA _25._tcp.mx.dane.test: exit 0, AD trusted (loopback resolver)" ||
	    printf '%s\n' "$MXL_OUT" | sed 's/^/#   /'
	is "$(dane_json '[a["data"].lower().replace(" ", "") for a in j["answers"] if a["type"] == "TLSA"]')" \
	    "[\"311$DANE_EE\"]" "fixture: mxlookup sees TLSA 3 1 1 of the receiver's SPKI"
	dane_mxl -x -L dane.test
	is "$(dane_json '[j["secure"], [[h["host"].lower(), h["addrs"], h["secure"]] for h in j["hosts"]]]')" \
	    "[true,[[\"mx.dane.test.\",[\"$DANE_NET.1\"],true]]]" \
	    "fixture: mxlookup -x -L dane.test: MX RRset and host addresses DNSSEC-secure" ||
	    printf '%s\n' "$MXL_OUT" | sed 's/^/#   /'
	dane_dig _25._tcp.mx-sf.dane.test TLSA
	is "$(dane_flags)" "SERVFAIL noad" "fixture: _25._tcp.mx-sf.dane.test TLSA (expired RRSIG): SERVFAIL"
	dane_dig mx-sf.dane.test A
	is "$(dane_flags)" "NOERROR ad" "fixture: mx-sf.dane.test A itself is secure"
	dane_dig _25._tcp.mx-plain.dane.test TLSA
	is "$(dane_flags)" "NXDOMAIN ad" "fixture: _25._tcp.mx-plain.dane.test TLSA: secure denial (no TLSA)"
	dane_dig mx.insecure.test A
	is "$(dane_flags)" "NOERROR noad" "fixture: mx.insecure.test A: NOERROR without ad (unsigned)"
	dane_dig _25._tcp.mx.insecure.test TLSA
	is "$(dane_flags)" "NOERROR noad" "fixture: _25._tcp.mx.insecure.test TLSA: answered, no ad"
	dane_dig mx-notls.dane.test A
	is "$(dane_flags)" "NOERROR ad" "fixture: mx-notls.dane.test A: secure"
	dane_dig www.example.com A
	is "$(dane_flags)" "REFUSED noad" "fixture: Unbound refuses names outside the test zones"
}

# dane_sclient ADDR DOMAIN "TLSA-RRDATA": openssl s_client -starttls smtp to ADDR:DPORT with
# its own DANE verification; output in $DANE_DIR/sclient.{out,err}; 0 when verified.
dane_sclient() {
	{ printf 'EHLO sclient.test\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 0.5; } |
	    timeout 15 openssl s_client -starttls smtp -connect "$1:$DPORT" -name sclient.test \
	    -servername "$2" -dane_tlsa_domain "$2" -dane_tlsa_rrdata "$3" \
	    -verify_return_error -brief -quiet >"$DANE_DIR/sclient.out" 2>"$DANE_DIR/sclient.err"
	grep -q 'Verification: OK' "$DANE_DIR/sclient.err" && grep -q '^221 ' "$DANE_DIR/sclient.out"
}

dane_receiver_checks() {	# the TLS half: the receiver verifies under DANE, per openssl
	local rr
	rr=$(dig +short @127.0.0.1 -p "$UB_PORT" _25._tcp.mx.dane.test TLSA | tr -d ' ' | tr '[:upper:]' '[:lower:]')
	is "$rr" "311$DANE_EE" "fixture: the TLSA served through Unbound is the receiver's 3 1 1"
	dane_sclient "$DANE_NET.1" mx.dane.test "3 1 1 $DANE_EE"
	ok $? "fixture: s_client -starttls smtp to mx.dane.test verifies with DANE-EE 3 1 1" ||
	    sed 's/^/#   /' "$DANE_DIR/sclient.err" | tail -8
	grep -q 'DANE TLSA 3 1 1 .* matched EE certificate' "$DANE_DIR/sclient.err"
	ok $? "fixture: s_client: the 3 1 1 record matched the EE certificate"
	dane_sclient "$DANE_NET.3" mx-ta.dane.test "2 0 1 $DANE_TA"
	ok $? "fixture: s_client to mx-ta.dane.test verifies with DANE-TA 2 0 1 (chain holds the CA)" ||
	    sed 's/^/#   /' "$DANE_DIR/sclient.err" | tail -8
	grep -q 'DANE TLSA 2 0 1 .* matched TA certificate' "$DANE_DIR/sclient.err"
	ok $? "fixture: s_client: the 2 0 1 record matched the TA certificate"
	dane_sclient "$DANE_NET.2" mx-wrong.dane.test \
	    "3 1 1 8810ad581e59f2bc3928b261707a71308f7e139eb04820366dc4d5c18d980225"
	! grep -q 'Verification: OK' "$DANE_DIR/sclient.err" &&
	    grep -qi 'verify error' "$DANE_DIR/sclient.err"
	ok $? "fixture: s_client to mx-wrong.dane.test fails DANE verification (wrong TLSA)" ||
	    sed 's/^/#   /' "$DANE_DIR/sclient.err" | tail -8
	dane_sclient "$DANE_NET.3" other.dane.test "2 0 1 $DANE_TA"
	! grep -q 'Verification: OK' "$DANE_DIR/sclient.err" &&
	    grep -qi 'verify error' "$DANE_DIR/sclient.err"
	ok $? "fixture: s_client: DANE-TA with a name not in the certificate fails" ||
	    sed 's/^/#   /' "$DANE_DIR/sclient.err" | tail -8
}

# --- self-test: the fixture alone (no outbound delivery needed) -------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	e2e_netns "$0" "$@"
	dane_init
	dane_dns
	dane_fixture_checks
	dane_receiver
	dane_receiver_checks
	dane_use R
	mxd_stop
	done_testing
fi

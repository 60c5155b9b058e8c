#!/usr/bin/env bash
# tests/e2e/smtp_tls_auth.sh — STARTTLS (RFC 3207) and AUTH on the submission port (RFC 4954,
# RFC 6409) with real clients: openssl s_client, Python's smtplib and ssl, a raw client.
# A P-256 certificate for mx.test is made by openssl at test time; the users file holds
# crypt(3) hashes made by openssl passwd and libcrypt (SHA-512 crypt and yescrypt).
. "$(dirname "$0")/smtp_lib.sh"
smtp_init

mxd_conf tls
mxd_start
B64_PLAIN=$(printf '\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64 -w0)
B64_WRONG=$(printf '\0%s\0%s' "$AUTH_USER" 'wrong password' | base64 -w0)
B64_AUTHZ=$(printf 'bob\0%s\0%s' "$AUTH_USER" "$AUTH_PASS" | base64 -w0)
B64_USER=$(printf '%s' "$AUTH_USER" | base64 -w0)
B64_PASS=$(printf '%s' "$AUTH_PASS" | base64 -w0)
export B64_PLAIN

# --- openssl s_client ----------------------------------------------------------------------------
# One command per write: EHLO and QUIT in one packet would be improper pipelining (RFC 2920).
{ printf 'EHLO sclient.test\r\n'; sleep 0.5; printf 'QUIT\r\n'; sleep 1; } | timeout 15 openssl s_client -starttls smtp \
    -connect "127.0.0.1:$M_PORT" -name sclient.test -servername mx.test -verify_hostname mx.test -CAfile "$TLS_CERT" \
    -verify_return_error -brief -quiet >"$TMP/sclient.out" 2>"$TMP/sclient.err"
rc=$?
grep -q '^221 ' "$TMP/sclient.out"
ok $? "openssl s_client -starttls smtp: verified handshake, EHLO and QUIT over TLS (rc $rc)" ||
    sed 's/^/#   /' "$TMP/sclient.out" "$TMP/sclient.err"
grep -q 'Verification: OK' "$TMP/sclient.err"
ok $? "s_client: the test certificate verifies for mx.test" || sed 's/^/#   /' "$TMP/sclient.err"
grep -q "^250-$M_HOST" "$TMP/sclient.out" && ! grep -q 'STARTTLS' "$TMP/sclient.out"
ok $? "s_client: EHLO over TLS answers and no longer offers STARTTLS" ||
    sed 's/^/#   /' "$TMP/sclient.out"
! grep -q 'AUTH' "$TMP/sclient.out"
ok $? "s_client: no AUTH on the MX port even under TLS"

# --- smtplib STARTTLS on the MX port ------------------------------------------------------------------
for ver in TLSv1_3 TLSv1_2; do
	pyok "smtplib: STARTTLS ($ver) on the MX port, mail accepted" "$ver" <<'EOF'
import os, smtplib, ssl, sys
ver = getattr(ssl.TLSVersion, sys.argv[1])
ctx = ssl.create_default_context(cafile=os.environ["TLS_CERT"])
ctx.check_hostname = False          # smtplib passes 127.0.0.1 as the name; the chain is verified
ctx.minimum_version = ctx.maximum_version = ver
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_PORT"]), local_hostname="tls.client.test", timeout=10)
s.ehlo()
assert s.has_extn("starttls")
code, resp = s.starttls(context=ctx)
assert code == 220 and resp.startswith(b"2.0.0"), (code, resp)
assert s.sock.version() == sys.argv[1].replace("_", "."), s.sock.version()
s.ehlo()
assert not s.has_extn("starttls"), "STARTTLS still offered under TLS"
code, resp = s.docmd("STARTTLS")
assert code == 503 and resp.startswith(b"5.5.1"), ("second STARTTLS", code, resp)
assert s.mail("tls@example.org")[0] == 250
assert s.rcpt("tls-%s@example.test" % sys.argv[1].lower().replace("_", ""))[0] == 250
code, resp = s.data(b"Subject: over tls\r\nMessage-Id: <tls@client.test>\r\n\r\nencrypted\r\n")
assert code == 250, (code, resp)
print(resp.decode().split()[-1])
s.quit()
EOF
	qid=$(printf '%s\n' "$PYOUT" | tail -n 1)
	v=${ver/_/.}
	d=$(md_dir example.test "tls-$(echo "$ver" | tr '[:upper:]' '[:lower:]' | tr -d _)")
	md_wait "$d" 1 10
	F=$(ls "$d"/* 2>/dev/null | head -n 1)
	python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path tls@example.org \
	    --delivered-to "$(basename "$(dirname "$d")")@example.test" \
	    --received "^Received: from tls\\.client\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by tls\\.mx\\.test \\(mxd\\) with ESMTPS id $qid \\($v with cipher [A-Z0-9_-]+ \\([0-9]+/[0-9]+ bits\\)\\) for <$(basename "$(dirname "$d")")@example\\.test>; " \
	    >"$TMP/md.out" 2>&1
	ok $? "STARTTLS ($v): Received: says ESMTPS and names $v and the cipher" ||
	    sed 's/^/#   /' "$TMP/md.out"
done

# --- submission: what must be refused before STARTTLS and AUTH ------------------------------------
session "submission: EHLO offers STARTTLS, not AUTH, before TLS" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 send='QUIT\r\n' reply=221
grep -q '^S: 250-STARTTLS' "$LAST" && ! grep -q '^S: 250.AUTH' "$LAST"
ok $? "submission: STARTTLS offered, AUTH not" || sed 's/^/#   /' "$LAST"
session "submission: AUTH before STARTTLS -> 530 5.7.0; MAIL before AUTH -> 530 5.7.0" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 \
    send="AUTH PLAIN $B64_PLAIN\\r\\n" reply='530 5.7.0' \
    send='AUTH LOGIN\r\n' reply='530 5.7.0' \
    send='MAIL FROM:<alice@example.test>\r\n' reply='530 5.7.0' send='QUIT\r\n' reply=221
session "submission after STARTTLS: AUTH offered; MAIL before AUTH -> 530 5.7.0" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 send='STARTTLS\r\n' reply='220 2.0.0' tls \
    send='EHLO sub.client.test\r\n' reply=250 \
    send='MAIL FROM:<alice@example.test>\r\n' reply='530 5.7.0' send='QUIT\r\n' reply=221
grep -q '^S: 250.AUTH PLAIN LOGIN' "$LAST" && ! sed -n '/^T: /,$p' "$LAST" | grep -q '^S: 250.STARTTLS'
ok $? "submission under TLS: EHLO offers AUTH PLAIN LOGIN" || sed 's/^/#   /' "$LAST"
session "MX port: AUTH is not available, even under TLS (503 5.5.1)" \
    greet send='EHLO mx.client.test\r\n' reply=250 send='STARTTLS\r\n' reply=220 tls \
    send='EHLO mx.client.test\r\n' reply=250 send="AUTH PLAIN $B64_PLAIN\\r\\n" reply='503 5.5.1' \
    send='QUIT\r\n' reply=221

# --- AUTH PLAIN and LOGIN ---------------------------------------------------------------------------
session "AUTH PLAIN: wrong password 535 5.7.8, authzid of another user 535, right one 235 2.7.0" \
    -p "$M_SUB" greet send='EHLO sub.client.test\r\n' reply=250 send='STARTTLS\r\n' reply=220 tls \
    send='EHLO sub.client.test\r\n' reply=250 \
    send="AUTH PLAIN $B64_WRONG\\r\\n" reply='535 5.7.8' \
    send="AUTH PLAIN $B64_AUTHZ\\r\\n" reply='535 5.7.8' \
    send='AUTH PLAIN\r\n' reply='334' send="$B64_PLAIN\\r\\n" reply='235 2.7.0' \
    send="AUTH PLAIN $B64_PLAIN\\r\\n" reply='503 5.5.1' send='QUIT\r\n' reply=221
session "AUTH LOGIN step by step: 334 Username, 334 Password, 235" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 send='STARTTLS\r\n' reply=220 tls \
    send='EHLO sub.client.test\r\n' reply=250 \
    send='AUTH LOGIN\r\n' reply='334 VXNlcm5hbWU6' send="$B64_USER\\r\\n" reply='334 UGFzc3dvcmQ6' \
    send="$B64_PASS\\r\\n" reply='235 2.7.0' send='QUIT\r\n' reply=221
session "AUTH: '*' cancels (501), undecodable base64 is 501, unknown mechanism 504" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 send='STARTTLS\r\n' reply=220 tls \
    send='EHLO sub.client.test\r\n' reply=250 \
    send='AUTH LOGIN\r\n' reply=334 send='*\r\n' reply='501' \
    send='AUTH PLAIN\r\n' reply=334 send='!!!not base64!!!\r\n' reply='501' \
    send='AUTH CRAM-MD5\r\n' reply='504' send='QUIT\r\n' reply=221
session "AUTH: three failures -> 421 4.7.0 and the connection is closed" -p "$M_SUB" \
    greet send='EHLO sub.client.test\r\n' reply=250 send='STARTTLS\r\n' reply=220 tls \
    send='EHLO sub.client.test\r\n' reply=250 \
    send="AUTH PLAIN $B64_WRONG\\r\\n" reply='535 5.7.8' \
    send="AUTH PLAIN $B64_WRONG\\r\\n" reply='535 5.7.8' \
    send="AUTH PLAIN $B64_WRONG\\r\\n" reply='535 5.7.8' reply='421 4.7.0' eof

pyok "smtplib: STARTTLS + AUTH LOGIN (bob, yescrypt) + AUTH PLAIN (alice); wrong password 535" <<'EOF'
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["TLS_CERT"])
ctx.check_hostname = False
def conn():
    s = smtplib.SMTP("127.0.0.1", int(os.environ["M_SUB"]), local_hostname="sub.client.test", timeout=10)
    s.starttls(context=ctx)
    s.ehlo()
    return s
s = conn()
try:
    s.login("alice", "not the password")
    raise SystemExit("wrong password accepted")
except smtplib.SMTPAuthenticationError as e:
    assert e.smtp_code == 535 and e.smtp_error.startswith(b"5.7.8"), (e.smtp_code, e.smtp_error)
s.close()
s = conn()
s.user, s.password = "bob", "bobs secret"
code, resp = s.auth("LOGIN", s.auth_login)
assert code == 235 and resp.startswith(b"2.7.0"), (code, resp)
s.quit()
s = conn()
s.user, s.password = os.environ["AUTH_USER"], os.environ["AUTH_PASS"]
code, resp = s.auth("PLAIN", s.auth_plain)
assert code == 235, (code, resp)
s.quit()
EOF

# --- after AUTH: local delivery and relaying ----------------------------------------------------------
pyok "after AUTH: local mail and relaying to a non-local domain accepted" <<'EOF'
import os, smtplib, ssl
ctx = ssl.create_default_context(cafile=os.environ["TLS_CERT"])
ctx.check_hostname = False
s = smtplib.SMTP("127.0.0.1", int(os.environ["M_SUB"]), local_hostname="sub.client.test", timeout=10)
s.starttls(context=ctx)
s.login(os.environ["AUTH_USER"], os.environ["AUTH_PASS"])
assert s.mail("alice@example.test")[0] == 250
assert s.rcpt("friend@remote.example")[0] == 250, "relay after AUTH refused"
assert s.rcpt("colleague@example.test")[0] == 250
code, resp = s.data(b"Subject: submitted\r\nMessage-Id: <sub@client.test>\r\n\r\nvia submission\r\n")
assert code == 250, (code, resp)
print(resp.decode().split()[-1])
s.quit()
EOF
QID=$(printf '%s\n' "$PYOUT" | tail -n 1)
d=$(md_dir example.test colleague)
md_wait "$d" 1 10
F=$(ls "$d"/* 2>/dev/null | head -n 1)
python3 "$SMTPCLIENT" maildir "${F:-/nonexistent}" --return-path alice@example.test \
    --delivered-to colleague@example.test \
    --received "^Received: from sub\\.client\\.test \\(\\[127\\.0\\.0\\.1\\]\\) by tls\\.mx\\.test \\(mxd\\) with ESMTPSA id $QID \\(TLSv1\\.3 " \
    >"$TMP/md.out" 2>&1
ok $? "submitted mail: local copy delivered, Received: says ESMTPSA" || sed 's/^/#   /' "$TMP/md.out"
sleep 1
[ -n "$QID" ] && [ -f "$M_SPOOL/queue/$QID" ]
ok $? "the relayed recipient keeps the message queued (outbound delivery is issue 4)" ||
    { ls -la "$M_SPOOL/queue" | sed 's/^/#   /'; mxd_log_tail 10; }
grep -aq 'friend@remote.example' "$M_SPOOL/queue/$QID" 2>/dev/null &&
    grep -aq "$AUTH_USER" "$M_SPOOL/queue/$QID" 2>/dev/null
ok $? "the queue file holds the remote recipient and the authenticated user"

mxd_stop
done_testing

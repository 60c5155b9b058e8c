#!/usr/bin/env bash
# logs_fail2ban.sh — mxd's log lines work with fail2ban's stock postfix filters (Debian's
# fail2ban package) with only the program name changed (_daemon="mxd/\w+"): a relay attempt
# from outside relay_networks and a failed AUTH on the submission port, written with
# `log = FILE` (syslog-shaped lines), are each found by fail2ban-regex with the client's
# address as the host to ban.
. "$(dirname "$0")/smtp_lib.sh"
smtp_init
command -v fail2ban-regex >/dev/null || bail "fail2ban-regex missing (Debian package fail2ban)"

F2B_LOG=$TMP/f2b/mail.log
mkdir -p "$TMP/f2b"
chmod 777 "$TMP/f2b"
mxd_conf f2b "log = $F2B_LOG"
mxd_start
B64_WRONG=$(printf '\0%s\0%s' "$AUTH_USER" 'wrong password' | base64 -w0)

session "relay from 127.0.0.2 to a remote domain -> 554 5.7.1" \
    -b 127.0.0.2 greet send='EHLO outside.test\r\n' reply=250 \
    send='MAIL FROM:<spam@outside.test>\r\n' reply=250 \
    send='RCPT TO:<victim@remote.example>\r\n' reply='554 5.7.1' send='QUIT\r\n' reply=221
session "AUTH PLAIN with a wrong password on submission -> 535 5.7.8" \
    -p "$M_SUB" -b 127.0.0.3 greet send='EHLO sub.client.test\r\n' reply=250 \
    send='STARTTLS\r\n' reply=220 tls send='EHLO sub.client.test\r\n' reply=250 \
    send="AUTH PLAIN $B64_WRONG\\r\\n" reply='535 5.7.8' send='QUIT\r\n' reply=221
sleep 0.5
mxd_stop

# f2b_hosts FILTER: the addresses fail2ban-regex would ban, one per line.
f2b_hosts() {
	fail2ban-regex --print-all-matched "$F2B_LOG" "$1" 2>&1 |
	    sed -n '/Matched line(s):/,/^`-/s/.*unknown\[\([0-9.]*\)\].*/\1/p' | sort -u
}
grep -q 'mxd/smtpd\[[0-9]*\]: NOQUEUE: reject: RCPT from unknown\[127.0.0.2\]' "$F2B_LOG"
ok $? "the log file is syslog-shaped (mxd/smtpd[PID]: ...)" || sed 's/^/#   /' "$F2B_LOG"
is "$(f2b_hosts 'postfix[_daemon="mxd/\w+"]')" 127.0.0.2 \
    "fail2ban postfix filter (normal mode) finds the relay attempt from 127.0.0.2"
is "$(f2b_hosts 'postfix[mode=auth, _daemon="mxd/\w+"]')" 127.0.0.3 \
    "fail2ban postfix filter (auth mode, as postfix-sasl) finds the failed AUTH from 127.0.0.3"
done_testing

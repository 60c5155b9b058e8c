# shellcheck shell=bash
# tests/e2e/smtp_lib.sh — helpers for mxd's SMTP end-to-end tests (tests/e2e/smtp_*.sh), on
# top of lib.sh. Source it, then:
#
#   . "$(dirname "$0")/smtp_lib.sh"
#   smtp_init                      # e2e_init + tools + MXD, MXD_USER, a TLS cert, a users file
#   mxd_conf main 'max_message_size = 10000'    # write $TMP/main/mxd.conf (overrides/extra keys)
#   mxd_start                      # start it, wait for its ports (bounded)
#   session "greeting" greet=220 send='QUIT\r\n' reply=221
#   md_wait "$(md_dir example.test user)" 1 || ...
#   mxd_stop                       # SIGTERM by PID; asserts exit 0, no sanitizer report
#   done_testing
#
# mxd_conf writes a config with: its own hostname (NAME.mx.test), listen = 127.0.0.1:random,
# submission = 127.0.0.1:random (with the test certificate and users file), spool and
# mailbox_root under $TMP/NAME, local_domains = example.test, relay_networks = 127.0.0.1/32
# (so 127.0.0.2 is outside), resolver = 127.0.0.1:1 (receiving never resolves), log = stderr,
# user = MXD_USER. Each argument "key = value" replaces that key's default or adds a line;
# "key =" removes the default. It sets and exports M_NAME M_DIR M_CONF M_PORT M_SUB M_HOST
# M_SPOOL M_MAIL M_LOG for the scripts and the Python snippets they run.
#
# Running as root, mxd drops to MXD_USER: the system user mxd-test (created when missing),
# or nobody when it cannot be created; TMP is made traversable for it (mode 711). Run
# directly (as tests/run does with every tests/e2e/*.sh), this file tests its own helpers.

# shellcheck source=tests/e2e/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SMTP_SAN_RE='ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|SUMMARY: (Address|Undefined|Leak)Sanitizer'

smtp_init() {	# smtp_init: e2e_init, check tools, set MXD, SMTPCLIENT, MXD_USER, TLS_*, USERS
	local t
	e2e_init
	MXD=$BUILD/mxd
	SMTPCLIENT=$ROOT/tests/fakes/smtpclient.py
	[ -x "$MXD" ] || bail "$MXD is not built (make BUILD=build/san SAN=1 tests)"
	for t in python3 openssl swaks; do
		command -v "$t" >/dev/null || bail "$t is missing (scripts/deps installs it)"
	done
	chmod 711 "$TMP"
	if [ "$(id -u)" -eq 0 ]; then
		if ! getent passwd mxd-test >/dev/null; then
			useradd --system --no-create-home --home-dir /nonexistent \
			    --shell /usr/sbin/nologin mxd-test 2>/dev/null ||
			    getent passwd mxd-test >/dev/null	# a parallel test made it
		fi
		if getent passwd mxd-test >/dev/null; then MXD_USER=mxd-test; else MXD_USER=nobody; fi
	else
		MXD_USER=$(id -un)
	fi
	smtp_cert || bail "openssl could not make a test certificate"
	smtp_users || bail "could not make the users file"
	export PYTHONPATH="$ROOT/tests/fakes${PYTHONPATH:+:$PYTHONPATH}"
	export SMTPCLIENT TLS_CERT TLS_KEY USERS AUTH_USER AUTH_PASS
	export PYTHONDONTWRITEBYTECODE=1
}

smtp_cert() {	# smtp_cert: a P-256 self-signed certificate for mx.test in $TMP/tls
	mkdir -p "$TMP/tls"
	TLS_CERT=$TMP/tls/cert.pem
	TLS_KEY=$TMP/tls/key.pem
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
	    -subj /CN=mx.test -addext subjectAltName=DNS:mx.test \
	    -keyout "$TLS_KEY" -out "$TLS_CERT" >/dev/null 2>&1 && [ -s "$TLS_CERT" ]
}

smtp_users() {	# smtp_users: $TMP/users with alice (SHA-512 crypt) and bob (yescrypt)
	USERS=$TMP/users
	AUTH_USER=alice
	AUTH_PASS='correct horse battery'
	{
		echo "alice:$(openssl passwd -6 "$AUTH_PASS")"
		# yescrypt (Debian's default for /etc/shadow) through libcrypt itself.
		echo "bob:$(python3 -c 'import ctypes, sys
l = ctypes.CDLL("libcrypt.so.1")
l.crypt_gensalt.restype = l.crypt.restype = ctypes.c_char_p
l.crypt_gensalt.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
l.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
print(l.crypt(sys.argv[1].encode(), l.crypt_gensalt(b"$y$", 0, None, 0)).decode())' 'bobs secret')"
	} >"$USERS" && chmod 600 "$USERS" && grep -q '^alice:\$6\$' "$USERS" &&
	    grep -q '^bob:\$y\$' "$USERS"
}

mxd_conf() {	# mxd_conf NAME ["key = value"|"key ="]...: write $TMP/NAME/mxd.conf
	local name=$1 a k v i found
	shift
	M_NAME=$name
	M_DIR=$TMP/$name
	mkdir -p "$M_DIR" && chmod 711 "$M_DIR"
	M_CONF=$M_DIR/mxd.conf
	M_LOG=$M_DIR/mxd.log
	M_SPOOL=$M_DIR/spool
	M_MAIL=$M_DIR/mail
	M_HOST=$name.mx.test
	M_PORT=$(free_port) || bail "no free port"
	M_SUB=$(free_port) || bail "no free port"
	while [ "$M_SUB" = "$M_PORT" ]; do M_SUB=$(free_port); done
	local keys=(hostname listen submission tls_cert tls_key users user spool mailbox_root
	    local_domains relay_networks resolver log max_per_client)
	local vals=("$M_HOST" "127.0.0.1:$M_PORT" "127.0.0.1:$M_SUB" "$TLS_CERT" "$TLS_KEY"
	    "$USERS" "$MXD_USER" "$M_SPOOL" "$M_MAIL" "example.test" "127.0.0.1/32"
	    "127.0.0.1:1" "stderr" "200")
	for a in "$@"; do
		k=${a%%=*}
		k=${k//[[:space:]]/}
		v=${a#*=}
		v=${v#"${v%%[![:space:]]*}"}
		found=0
		for i in "${!keys[@]}"; do
			if [ "${keys[$i]}" = "$k" ]; then
				vals[$i]=$v
				found=1
			fi
		done
		if [ "$found" = 0 ]; then
			keys+=("$k")
			vals+=("$v")
		fi
	done
	{
		echo "# mxd e2e test configuration: $name"
		for i in "${!keys[@]}"; do
			[ -n "${vals[$i]}" ] && echo "${keys[$i]} = ${vals[$i]}"
		done
	} >"$M_CONF"
	grep -q '^submission = ' "$M_CONF" || M_SUB=
	export M_NAME M_DIR M_CONF M_PORT M_SUB M_HOST M_SPOOL M_MAIL M_LOG
}

mxd_start() {	# mxd_start: start mxd -c $M_CONF (log in $M_LOG), wait for its ports
	"$MXD" -c "$M_CONF" >"$M_LOG" 2>&1 &
	M_PID=$!
	E2E_PIDS="$E2E_PIDS $M_PID"
	if ! wait_port 127.0.0.1 "$M_PORT" 10 ||
	    { [ -n "$M_SUB" ] && ! wait_port 127.0.0.1 "$M_SUB" 10; }; then
		sed 's/^/# mxd: /' "$M_LOG"
		bail "mxd ($M_NAME) did not start listening within 10 s"
	fi
	# The queue manager and delivery agent log "started" through the parent once forked.
	for _ in $(seq 50); do
		grep -q 'started' "$M_LOG" && break
		sleep 0.1
	done
}

mxd_alive() {	# mxd_alive: true while the mxd started last is running
	[ -n "${M_PID:-}" ] && kill -0 "$M_PID" 2>/dev/null &&
	    [ "$(awk '{print $3}' "/proc/$M_PID/stat" 2>/dev/null)" != Z ]
}

mxd_stop() {	# mxd_stop: SIGTERM by PID, bounded wait; asserts exit 0 and a clean log
	local rc i
	if ! mxd_alive; then
		wait "$M_PID" 2>/dev/null
		rc=$?
		fail "mxd ($M_NAME) was still running at the end (it exited $rc earlier)"
	else
		kill -TERM "$M_PID"
		for ((i = 0; i < 100; i++)); do
			mxd_alive || break
			sleep 0.1
		done
		if mxd_alive; then
			kill -KILL "$M_PID" 2>/dev/null
			wait "$M_PID" 2>/dev/null
			fail "mxd ($M_NAME) stopped within 10 s of SIGTERM"
		else
			wait "$M_PID" 2>/dev/null
			rc=$?
			is "$rc" 0 "mxd ($M_NAME) exits 0 on SIGTERM"
		fi
	fi
	E2E_PIDS=$(echo "$E2E_PIDS" | tr ' ' '\n' | grep -vx "$M_PID" | tr '\n' ' ')
	if grep -Eq "$SMTP_SAN_RE" "$M_LOG"; then
		fail "mxd ($M_NAME): no sanitizer report in its log"
		grep -E -A12 "$SMTP_SAN_RE" "$M_LOG" | head -60 | sed 's/^/#   /'
	else
		pass "mxd ($M_NAME): no sanitizer report in its log"
	fi
	# Before "signal 15: stopping": a worker that died while serving; after it: a stop
	# that was not clean (a worker exiting through fatal() instead of its SIGTERM path).
	local died
	died=$(sed '/: signal [0-9]*: stopping/q' "$M_LOG" | grep -E 'process [0-9]+ exited|fatal: ')
	is "$died" "" "mxd ($M_NAME): no worker died while serving"
	died=$(sed -n '/: signal [0-9]*: stopping/,$p' "$M_LOG" | grep -E 'process [0-9]+ exited|fatal: ')
	is "$died" "" "mxd ($M_NAME): clean stop, no worker exited through fatal()"
}

mxd_log_tail() {	# mxd_log_tail [N]: the last N lines of mxd's log as TAP comments
	tail -n "${1:-20}" "$M_LOG" | sed 's/^/#   mxd: /'
}

# --- sessions --------------------------------------------------------------------------------

# session DESC [-p PORT] [-b ADDR] [-t SEC] STEP...: runs smtpclient.py session against
# 127.0.0.1:PORT (default M_PORT) and asserts it met every expectation. The transcript is
# in $LAST (a file), shown on failure.
SESSION_N=0
session() {
	local desc=$1 port=$M_PORT opts=() rc
	shift
	while [ $# -gt 0 ]; do
		case $1 in
		-p) port=$2; shift 2 ;;
		-b|-t) opts+=("$1" "$2"); shift 2 ;;
		*) break ;;
		esac
	done
	SESSION_N=$((SESSION_N + 1))
	LAST=$TMP/session.$SESSION_N
	timeout 60 python3 "$SMTPCLIENT" session "${opts[@]}" 127.0.0.1 "$port" "$@" >"$LAST" 2>&1
	rc=$?
	ok "$rc" "$desc" || { sed 's/^/#   /' "$LAST"; mxd_log_tail 10; }
	return "$rc"
}

# pyok DESC [ARG...] <<'EOF' ... EOF: runs the Python on stdin (with the environment above
# and ARGs in sys.argv[1:]); passes when it exits 0; its output is in PYOUT, and shown on
# failure.
pyok() {
	local desc=$1 rc out
	shift
	out=$(timeout 60 python3 - "$@" 2>&1)
	rc=$?
	PYOUT=$out
	ok "$rc" "$desc" || { printf '%s\n' "$out" | sed 's/^/#   /'; mxd_log_tail 10; }
	return "$rc"
}

qid_of() {	# qid_of FILE: the queue ID of the last "queued as ID" in a transcript
	grep -o 'queued as [0-9a-f]*' "$1" | tail -n 1 | awk '{print $3}'
}

# --- mailboxes and the queue -----------------------------------------------------------------

md_dir() {	# md_dir DOMAIN LOCAL: the new/ directory of that Maildir
	echo "$M_MAIL/$1/$2/new"
}
md_count() {	# md_count DIR: files in DIR (0 when missing)
	local n=0 f
	for f in "$1"/*; do [ -f "$f" ] && n=$((n + 1)); done
	echo "$n"
}
md_wait() {	# md_wait DIR N [SECONDS]: until DIR holds at least N files (default 10 s)
	local dir=$1 n=$2 max=${3:-10} i
	for ((i = 0; i < max * 10; i++)); do
		[ "$(md_count "$dir")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
md_grep() {	# md_grep DIR TEXT: the files in DIR that contain TEXT
	grep -lF -- "$2" "$1"/* 2>/dev/null
}
queue_ids() {	# queue_ids: the message files in spool/queue (not the .st state files)
	local f
	for f in "$M_SPOOL"/queue/*; do
		f=${f##*/}
		[[ $f =~ ^[0-9a-f]{16}$ ]] && echo "$f"
	done
	return 0
}
log_count() {	# log_count ERE: lines of mxd's log that match
	grep -Ec -- "$1" "$M_LOG" 2>/dev/null
}
log_wait() {	# log_wait ERE [SECONDS [N]]: until N lines (default 1) match (default 15 s)
	local re=$1 max=${2:-15} n=${3:-1} i
	for ((i = 0; i < max * 10; i++)); do
		[ "$(log_count "$re")" -ge "$n" ] && return 0
		sleep 0.1
	done
	return 1
}
queue_settle() {	# queue_settle SECONDS [ID...]: until spool/queue holds no message but the IDs
	local max=$1 i id left
	shift
	for ((i = 0; i < max * 10; i++)); do
		left=
		for id in $(queue_ids); do
			case " $* " in *" $id "*) ;; *) left="$left $id" ;; esac
		done
		[ -z "$left" ] && return 0
		sleep 0.1
	done
	return 1
}

# --- self-test -------------------------------------------------------------------------------
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	smtp_init
	ok_run "test certificate made" openssl x509 -in "$TLS_CERT" -noout
	grep -q "^alice:\\\$6\\$" "$USERS"
	ok $? "users file has a SHA-512 crypt hash"
	mxd_conf selftest 'max_message_size = 12345' 'resolver =' 'resolver = 127.0.0.1:9'
	grep -q '^max_message_size = 12345$' "$M_CONF"
	ok $? "mxd_conf adds a key"
	is "$(grep -c '^resolver' "$M_CONF")" 1 "mxd_conf replaces a default"
	"$MXD" -t -c "$M_CONF" >"$TMP/t.out" 2>&1
	ok $? "mxd -t accepts the generated config" || sed 's/^/#   /' "$TMP/t.out"
	mxd_start
	mxd_alive
	ok $? "mxd runs"
	session "smtpclient: greeting, EHLO, QUIT" greet=220 send='EHLO selftest.test\r\n' \
	    reply=250 send='QUIT\r\n' reply=221 eof
	grep -q "^S: 220 $M_HOST" "$LAST"
	ok $? "greeting names the configured hostname"
	mxd_stop
	done_testing
fi

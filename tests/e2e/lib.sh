# shellcheck shell=bash
# tests/e2e/lib.sh — small shared helpers for end-to-end tests (bash). Source it, then:
#
#   . "$(dirname "$0")/lib.sh"
#   e2e_netns "$0" "$@"        # optional: re-run inside a private network namespace
#   e2e_init                   # cd to the repo, set ROOT/BUILD/TMP, install the cleanup trap
#   plan 3                     # or call done_testing at the end instead
#   spawn python3 tests/fakes/x.py --port "$PORT"; SRV=$SPAWNED_PID
#   wait_port 127.0.0.1 "$PORT" 5 || bail "server did not start"
#   ok $? "server answers"     # ok STATUS DESC: STATUS 0 passes
#   is "$got" "$want" "counts match"
#   done_testing               # prints the plan if none was given, exits 1 on any failure
#
# Sourcing has no side effects: nothing runs until a function is called. Run directly (as
# tests/run does with every tests/e2e/*.sh), the file tests its own helpers. Every wait here is
# bounded; every process started with spawn is stopped by PID (TERM, then KILL) on exit;
# TMP is removed on exit. Ports are picked at random below the kernel's ephemeral range so
# they never collide with a client's source port.
#
# Variables set: ROOT (repo root), BUILD (absolute; default build/san), TMP (private temp
# dir), E2E_NETNS (1 inside a private network namespace, 0 otherwise), SPAWNED_PID.

# --- TAP -----------------------------------------------------------------------------------
T_N=0
T_FAIL=0
T_PLANNED=

plan() {	# plan N: print the TAP plan up front
	T_PLANNED=$1
	echo "1..$1"
}
ok() {		# ok STATUS DESCRIPTION: passes when STATUS is 0
	T_N=$((T_N + 1))
	if [ "$1" -eq 0 ] 2>/dev/null; then
		echo "ok $T_N - $2"
		return 0
	fi
	echo "not ok $T_N - $2"
	T_FAIL=$((T_FAIL + 1))
	return 1
}
pass() { ok 0 "$1"; }
fail() { ok 1 "$1"; }
ok_run() {	# ok_run DESCRIPTION CMD [ARG...]: passes when the command succeeds
	local d=$1
	shift
	"$@"
	ok $? "$d"
}
is() {		# is GOT EXPECTED DESCRIPTION: string equality
	if [ "$1" = "$2" ]; then
		ok 0 "$3"
		return 0
	fi
	ok 1 "$3"
	echo "#   got:      '$1'"
	echo "#   expected: '$2'"
	return 1
}
cmp_ok() {	# cmp_ok GOT OP EXPECTED DESCRIPTION: integers, OP one of -eq -ne -lt -le -gt -ge
	if test "$1" "$2" "$3" 2>/dev/null; then
		ok 0 "$4"
		return 0
	fi
	ok 1 "$4"
	echo "#   '$1' $2 '$3' is false"
	return 1
}
skip() {	# skip DESCRIPTION REASON
	T_N=$((T_N + 1))
	echo "ok $T_N - $1 # SKIP $2"
}
diag() { printf '# %s\n' "$@"; }
bail() {	# stops the whole test file; the EXIT trap still cleans up
	echo "Bail out! $*"
	exit 1
}
done_testing() {
	[ -n "$T_PLANNED" ] || echo "1..$T_N"
	[ "$T_FAIL" -eq 0 ] || exit 1
	[ -z "$T_PLANNED" ] || [ "$T_PLANNED" = "$T_N" ]
	exit $?
}

# --- setup and cleanup ---------------------------------------------------------------------
E2E_PIDS=
SPAWNED_PID=
E2E_NETNS=${E2E_NETNS:-0}

e2e_init() {	# e2e_init: cd to the repo root, make TMP, install the cleanup trap
	cd "$(dirname "${BASH_SOURCE[0]}")/../.." || exit 1
	ROOT=$PWD
	BUILD=${BUILD:-build/san}
	case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
	TMP=$(mktemp -d "${TMPDIR:-/tmp}/e2e.XXXXXX") || bail "mktemp failed"
	trap e2e_cleanup EXIT
	trap 'exit 1' INT TERM HUP
}

spawn() {	# spawn CMD [ARG...]: start in the background; PID in SPAWNED_PID
	"$@" &
	SPAWNED_PID=$!
	E2E_PIDS="$E2E_PIDS $SPAWNED_PID"
}

stop_pid() {	# stop_pid PID [SECONDS]: SIGTERM, wait up to SECONDS (default 5), SIGKILL
	local pid=$1 max=${2:-5} i
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for ((i = 0; i < max * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	E2E_PIDS=$(echo "$E2E_PIDS" | tr ' ' '\n' | grep -vx "$pid" | tr '\n' ' ')
	return 0
}

e2e_cleanup() {
	local pid
	for pid in $E2E_PIDS; do
		stop_pid "$pid" 3
	done
	[ -n "${TMP:-}" ] && [ -z "${E2E_KEEP:-}" ] && rm -rf "$TMP"
}

# --- network ---------------------------------------------------------------------------------

# e2e_netns SCRIPT [ARG...]: re-executes SCRIPT in a private network namespace (unshare -n
# as root, unshare -rn otherwise) with loopback up, so counters in /proc/net/snmp count only
# this test's packets. Returns normally (E2E_NETNS=0) when namespaces are not available or
# E2E_NO_NETNS=1 is set; inside the namespace it brings lo up and sets E2E_NETNS=1. Call it
# before printing anything or starting anything: it exec()s.
e2e_netns() {
	local script=$1
	shift
	if [ "${E2E_IN_NETNS:-}" = 1 ]; then
		ip link set lo up 2>/dev/null || bail "ip link set lo up failed in the namespace"
		E2E_NETNS=1
		return 0
	fi
	[ "${E2E_NO_NETNS:-}" = 1 ] && return 0
	command -v unshare >/dev/null && command -v ip >/dev/null || return 0
	if [ "$(id -u)" -eq 0 ] && unshare -n true 2>/dev/null; then
		exec unshare -n env E2E_IN_NETNS=1 bash "$script" "$@"
	elif unshare -rn true 2>/dev/null; then
		exec unshare -rn env E2E_IN_NETNS=1 bash "$script" "$@"
	fi
	return 0
}

port_in_use() {	# port_in_use PORT: true when any TCP or UDP socket uses it, any address
	local hex
	hex=$(printf ':%04X ' "$1")
	cat /proc/net/tcp /proc/net/tcp6 /proc/net/udp /proc/net/udp6 2>/dev/null |
	    awk '{print $2 " "}' | grep -qF "$hex"
}

free_port() {	# free_port: prints a random port free for both TCP and UDP (small race)
	local lo=20000 hi=32000 eph i p
	eph=$(awk '{print $1}' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
	if [ -n "$eph" ] && [ "$eph" -gt 2000 ] && [ "$eph" -le "$hi" ]; then
		hi=$((eph - 1))
		[ "$lo" -lt "$hi" ] || lo=1024
	fi
	for ((i = 0; i < 200; i++)); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		port_in_use "$p" || { echo "$p"; return 0; }
	done
	return 1
}

wait_port() {	# wait_port ADDR PORT [SECONDS]: until a TCP connect succeeds (default 5 s)
	local addr=$1 port=$2 max=${3:-5} i
	for ((i = 0; i < max * 10; i++)); do
		if timeout 1 bash -c "exec 3<>/dev/tcp/$addr/$port" 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

wait_file() {	# wait_file FILE [SECONDS]: until FILE exists and is not empty (default 5 s)
	local f=$1 max=${2:-5} i
	for ((i = 0; i < max * 10; i++)); do
		[ -s "$f" ] && return 0
		sleep 0.1
	done
	return 1
}

snmp_counter() {	# snmp_counter PROTO FIELD: e.g. snmp_counter Udp NoPorts
	awk -v p="$1:" -v f="$2" '$1 == p {
		if (!n) { for (i = 2; i <= NF; i++) if ($i == f) col = i; n = 1; next }
		if (col) print $col; exit }' /proc/net/snmp
}

# --- self-test -------------------------------------------------------------------------------
# tests/run runs every tests/e2e/*.sh, this file included: run directly, it tests itself.
if [ "${BASH_SOURCE[0]}" = "$0" ]; then
	e2e_init
	p=$(free_port)
	cmp_ok "${p:-0}" -ge 1024 "free_port gives a port ($p)"
	port_in_use "$p"
	ok $((!$?)) "port_in_use: $p is free"
	[[ $(snmp_counter Udp NoPorts) =~ ^[0-9]+$ ]]
	ok $? "snmp_counter Udp NoPorts is a number"
	if command -v python3 >/dev/null; then
		spawn python3 -c 'import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); time.sleep(30)' "$p"
		pid=$SPAWNED_PID
		wait_port 127.0.0.1 "$p" 5
		ok $? "wait_port sees a listener"
		port_in_use "$p"
		ok $? "port_in_use: $p is taken"
		stop_pid "$pid" 2
		kill -0 "$pid" 2>/dev/null
		ok $((!$?)) "stop_pid stopped it"
	else
		skip "wait_port sees a listener" "no python3"
		skip "port_in_use: taken" "no python3"
		skip "stop_pid stopped it" "no python3"
	fi
	wait_file "$TMP/none" 1
	ok $((!$?)) "wait_file gives up on a missing file"
	is "$(printf x)" x "is compares strings"
	done_testing
fi

# shellcheck shell=bash
# bench/lib.sh — helpers shared by the benchmark scripts under bench/ (bash). Source it:
#
#   . bench/lib.sh
#   bench_netns "$0" "$@"          # re-run the script in private network + mount namespaces
#   bench_release_check "$MXD"     # refuse a missing or sanitized mxd binary
#   bench_stop_tree PID            # SIGTERM a daemon, wait, then SIGKILL what is left of its tree
#   bench_cpu PID                  # CPU seconds of a process tree (reaped children included)
#
# Sourcing has no side effects. The process-tree facts come from bench/smtp-in/proc.py,
# which reads /proc only. Every wait here is bounded; processes are stopped by PID only.

BENCH_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_PROC=$BENCH_LIB_DIR/smtp-in/proc.py

bench_die() {	# bench_die MESSAGE [EXIT]: message to stderr, prefixed by $BENCH_NAME
	echo "${BENCH_NAME:-bench}: $1" >&2
	exit "${2:-1}"
}

# bench_netns SCRIPT [ARG...]: as root, re-executes SCRIPT in a private network namespace
# (only its own loopback: nothing the benchmark starts can reach another address) and a
# private mount namespace whose /etc/resolv.conf names 127.0.0.1, where no name server
# listens, so no daemon can reach the machine's resolver. Inside, brings lo up and
# returns with BENCH_NETNS=1. It exec()s: call it before starting or printing anything.
bench_netns() {
	local script=$1 rc
	shift
	if [ "${BENCH_IN_NETNS:-}" = 1 ]; then
		ip link set lo up || bench_die "ip link set lo up failed in the namespace" 70
		rc=$(mktemp /tmp/bench-resolv.XXXXXX) || bench_die "mktemp failed" 70
		printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"$rc"
		chmod 644 "$rc"
		mount --bind "$rc" /etc/resolv.conf || bench_die "cannot bind-mount resolv.conf" 70
		rm -f "$rc"	# the mount keeps the file alive; nothing is left behind
		# shellcheck disable=SC2034 # for the caller
		BENCH_NETNS=1
		return 0
	fi
	command -v unshare >/dev/null && command -v ip >/dev/null ||
	    bench_die "unshare and ip are needed (util-linux, iproute2)" 69
	exec unshare -n -m --propagation private env BENCH_IN_NETNS=1 bash "$script" "$@"
}

# bench_release_check BIN: BIN exists and is not an ASan/UBSan build.
bench_release_check() {
	local bin=$1
	[ -x "$bin" ] || bench_die "$bin missing: run 'make' first" 66
	case "$bin" in *san*) bench_die "$bin looks like a sanitized build; benchmark the release build" 65 ;; esac
	if nm "$bin" 2>/dev/null | grep -q '__asan_\|__ubsan_' ||
	    grep -q -a '__asan_init\|__ubsan_handle' "$bin"; then
		bench_die "$bin is a sanitized build; benchmark the release build (make)" 65
	fi
	return 0
}

bench_cpu() { python3 "$BENCH_PROC" cpu "$1" 2>/dev/null || echo 0; }

# bench_stop_tree PID [SECONDS]: SIGTERM to PID, wait up to SECONDS (default 10) for it to
# exit, SIGKILL it; then SIGKILL, each by its PID, any process of its tree still alive.
bench_stop_tree() {
	local pid=$1 max=${2:-10} pids p q
	[ -n "$pid" ] || return 0
	pids=$(python3 "$BENCH_PROC" pids "$pid" 2>/dev/null || true)
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq $((max * 10))); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	for _ in $(seq 30); do
		p=
		for q in $pids; do kill -0 "$q" 2>/dev/null && p="$p $q"; done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for q in $p; do kill -KILL "$q" 2>/dev/null || true; done
	return 0
}

# bench_machine: the machine lines every benchmark prints first.
bench_machine() {
	echo "date:      $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "nproc:     $(nproc)"
	echo "kernel:    $(uname -srm)"
	lscpu | grep -E '^(Model name|Hypervisor)' | sed 's/^/lscpu:     /'
}

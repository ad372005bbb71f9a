# tests/env/lib.sh — helpers shared by mailenv.sh and nginx.sh (sourced, not run).
# Process bookkeeping by /proc (no pgrep/ss needed), port checks, env.sh writing.

# Programs whose processes may belong to one of our state directories.
OUR_EXES='/usr/sbin/dovecot /usr/lib/dovecot/ /usr/lib/postfix/sbin/ /usr/sbin/nginx'

log() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { log "error: $*"; exit 1; }

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
T0=$(now_ms)

# trace WHAT: with POSTERN_ENV_TRACE=1, log how long since the script began.
trace() { [[ -z ${POSTERN_ENV_TRACE:-} ]] || log "+$(($(now_ms) - T0)) ms: $*"; }

# canon PATH: absolute, normalised path (symlinks kept).
canon() { realpath -m -s -- "$1"; }

# our_pids DIR: pids of dovecot/postfix/nginx processes that work in DIR: their
# executable is one of OUR_EXES and their cwd or root (chroot) is DIR or under it.
# One find(1) reads every /proc/PID/{exe,cwd,root} link; awk decides.
our_pids() {
	local dir=$1
	{ find /proc/[0-9]*/exe /proc/[0-9]*/cwd /proc/[0-9]*/root -maxdepth 0 \
		-printf '%p\t%l\n' 2>/dev/null || true; } |
		awk -F'\t' -v dir="$dir" -v exes="$OUR_EXES" '
		{ n = split($1, a, "/"); v[a[3], a[4]] = $2; pids[a[3]] = 1 }
		function under(p) { return p == dir || index(p, dir "/") == 1 }
		END {
			ne = split(exes, ex, " ")
			for (p in pids) {
				e = v[p, "exe"]; ok = 0
				for (i = 1; i <= ne; i++) if (index(e, ex[i]) == 1) ok = 1
				if (ok && (under(v[p, "cwd"]) || under(v[p, "root"]))) print p
			}
		}'
}

# is_ours DIR PID
is_ours() { our_pids "$1" | grep -qx -- "$2"; }

# alive PID: the process exists and is not a zombie (a daemon's parent is init,
# which may take its time to reap it; kill -0 succeeds on zombies).
alive() {
	local key val
	[[ -r /proc/$1/status ]] || return 1
	while read -r key val _; do
		if [[ $key == State: ]]; then
			[[ $val != Z ]]
			return
		fi
	done <"/proc/$1/status" 2>/dev/null
	return 1
}

# wait_gone TIMEOUT_MS PID...: wait until none of the pids exists; 1 on timeout.
wait_gone() {
	local limit=$1 waited=0 p left
	shift
	while :; do
		left=
		for p in "$@"; do alive "$p" && left=1; done
		[[ -z $left ]] && return 0
		((waited >= limit)) && return 1
		sleep 0.05
		waited=$((waited + 50))
	done
}

# pidfile_pid FILE: the pid a pid file names (first number in it), or nothing.
pidfile_pid() { [[ -r $1 ]] && awk 'NR == 1 { print $1 + 0; exit }' "$1" || true; }

# stop_pidfiles DIR FILE...: SIGTERM every master named by a pid file, if it
# is ours, all at once; wait (bounded) for them to exit, SIGKILL the stubborn;
# remove the files. A pid that is not ours (stale file, pid reused by someone
# else) is left alone.
stop_pidfiles() {
	local dir=$1 file pid pids= ours
	shift
	ours=$(our_pids "$dir")
	for file in "$@"; do
		pid=$(pidfile_pid "$file")
		if [[ -n $pid ]] && ((pid > 1)) && alive "$pid"; then
			if grep -qx -- "$pid" <<<"$ours"; then
				kill -TERM "$pid" 2>/dev/null || true
				pids+=" $pid"
			else
				log "$file names pid $pid, which is not ours: left alone"
			fi
		fi
	done
	if [[ -n $pids ]]; then
		trace "sent SIGTERM to$pids"
		# shellcheck disable=SC2086
		if ! wait_gone 8000 $pids; then
			log "killing masters that ignored SIGTERM:$pids"
			# shellcheck disable=SC2086
			kill -KILL $pids 2>/dev/null || true
			# shellcheck disable=SC2086
			wait_gone 2000 $pids || true
		fi
	fi
	rm -f -- "$@"
	trace "masters gone"
}

# sweep DIR: terminate every remaining process of ours in DIR (children left
# by a killed master, a crashed run...). Bounded: TERM, 3 s, KILL, 2 s.
sweep() {
	local dir=$1 pids
	pids=$(our_pids "$dir" | tr '\n' ' ')
	[[ -z ${pids// /} ]] && return 0
	trace "sweeping $pids"
	# shellcheck disable=SC2086
	kill -TERM $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	kill -CONT $pids 2>/dev/null || true # a stopped process cannot act on TERM
	# shellcheck disable=SC2086
	wait_gone 3000 $pids && return 0
	pids=$(our_pids "$dir" | tr '\n' ' ')
	[[ -z ${pids// /} ]] && return 0
	log "killing leftover processes: $pids"
	# shellcheck disable=SC2086
	kill -KILL $pids 2>/dev/null || true
	# shellcheck disable=SC2086
	wait_gone 2000 $pids || die "processes $pids in $dir would not die"
}

# port_listeners PORT: "pid command" of every process with a TCP socket
# listening on PORT at an address that a bind to 127.0.0.1:PORT would collide
# with (127.0.0.1, 0.0.0.0, ::, ::ffff:127.0.0.1). Prints "? unknown" for a
# listening socket whose owner is not visible.
port_listeners() {
	local port=$1 hex inodes ino found pid
	hex=$(printf '%04X' "$port")
	inodes=$(awk -v h="$hex" '
		$4 == "0A" {
			split($2, la, ":")
			if (la[2] == h && (la[1] == "0100007F" || la[1] == "00000000" ||
			    la[1] == "00000000000000000000000000000000" ||
			    la[1] == "0000000000000000FFFF00000100007F")) print $10
		}' /proc/net/tcp /proc/net/tcp6 2>/dev/null | sort -u)
	for ino in $inodes; do
		found=
		while read -r pid; do
			[[ -n $pid ]] || continue
			found=1
			printf '%s %s\n' "$pid" "$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
		done < <(find /proc/[0-9]*/fd -maxdepth 1 -lname "socket:\\[$ino\\]" -printf '%h\n' 2>/dev/null |
			cut -d/ -f3 | sort -u)
		[[ -n $found ]] || echo "? unknown process"
	done
}

# check_ports_free NAME=PORT...: die naming the first port that is taken.
check_ports_free() {
	local spec name port holders
	for spec in "$@"; do
		name=${spec%%=*} port=${spec#*=}
		holders=$(port_listeners "$port")
		if [[ -n $holders ]]; then
			die "port $port ($name) on 127.0.0.1 is already in use by: $(echo "$holders" | head -3 | tr '\n' ';' | sed 's/;$//')"
		fi
	done
}

# wait_port PORT TIMEOUT_MS [BANNER_PREFIX]: wait until 127.0.0.1:PORT accepts
# a connection (and, with BANNER_PREFIX, greets with a line starting so).
wait_port() {
	local port=$1 limit=$2 want=${3:-} waited=0 fd line
	while :; do
		# (the braces keep 2>/dev/null from sticking to the shell: a bare
		# "exec ... 2>/dev/null" would redirect our stderr for good)
		if { exec {fd}<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null; then
			if [[ -z $want ]]; then
				exec {fd}>&-
				return 0
			fi
			line=
			read -r -t 3 -u "$fd" line || true
			exec {fd}>&-
			[[ $line == "$want"* ]] && return 0
		fi
		((waited >= limit)) && return 1
		sleep 0.05
		waited=$((waited + 50))
	done
}

# shq VALUE: VALUE quoted for sh when it needs quoting (same rule as Python's
# shlex.quote, so shlex.split reads it back).
shq() {
	if [[ $1 =~ ^[A-Za-z0-9_@%+=:,./-]+$ ]]; then
		printf '%s' "$1"
	else
		printf "'%s'" "${1//\'/\'\"\'\"\'}"
	fi
}

# env_line KEY VALUE
env_line() { printf '%s=%s\n' "$1" "$(shq "$2")"; }

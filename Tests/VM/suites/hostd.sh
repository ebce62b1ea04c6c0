# Helpers for the hostd suites (40-49): `. /suites/hostd.sh` after lib.sh.
# hostd runs with its files under /tmp/hostd; its log is /tmp/hostd/log.

H=/tmp/hostd
PLUGINS=$H/plugins
SOCK=$H/control.sock
LOG=$H/log

export DRVHOST_SOCKET=$SOCK   # hostctl's socket

releases() { cat $(sysdev $1)/drvproxy/releases 2>/dev/null || echo none; }
owner_pid() { cat $(sysdev $1)/drvproxy/owner_pid 2>/dev/null || echo none; }
driver_of() { [ -e $(sysdev $1)/driver ] && basename $(readlink $(sysdev $1)/driver) || echo none; }

# Starts hostd with the shared configuration plus the lines given (see
# config); returns once it told NOTIFY_SOCKET it is ready (sd_ready plays
# systemd, and stays hostd's parent: `wait $SD_PID` is hostd's exit status).
# Sets HOSTD_PID and SD_PID, so it must not run in a pipeline's subshell.
start_hostd() {
	mkdir -p $PLUGINS
	config "$@" >$H/hostd.toml
	rm -f $H/ready && mkfifo $H/ready
	sd_ready 120 $LOG -- hostd --config $H/hostd.toml --log-level debug >$H/ready &
	SD_PID=$!
	read -r word HOSTD_PID <$H/ready
	if [ "$word" != ready ]; then
		echo "hostd did not get ready ($word $HOSTD_PID): $(tail -n 5 $LOG | tr '\n' ' ')"
		HOSTD_PID=
		return 1
	fi
}

# The configuration every suite shares: sockets and directories under $H,
# pci.ids from the payload; the arguments are appended (tables last).
config() {
	cat <<-EOT
	plugin_dir = "$PLUGINS"
	socket = "$SOCK"
	state_dir = "$H/state"
	intent_dir = "$H/intent"
	pci_ids = "/usr/share/misc/pci.ids"
	EOT
	for line in "$@"; do echo "$line"; done
}

# Waits (at most $2 seconds, default 60) for a line of hostd's log that
# matches the extended regular expression $1, counting from line $3 (default
# 1) on; event-driven through tail -f, not a polling loop. tail runs apart
# from grep so that it can be ended as soon as grep has its line.
wait_log() {
	rm -f $H/wait.fifo && mkfifo $H/wait.fifo
	tail -n +${3:-1} -f $LOG >$H/wait.fifo &
	tail_pid=$!
	timeout ${2:-60} grep -q -E -m1 -e "$1" <$H/wait.fifo
	rc=$?
	kill $tail_pid 2>/dev/null
	wait $tail_pid 2>/dev/null
	return $rc
}

# The number the next line of hostd's log will have: a wait or a tail from
# it sees only what comes after, never the last line already there.
log_mark() { echo $(($(wc -l <$LOG) + 1)); }

# For conditions nothing announces (a process reparented away from us
# ending): checks $2... every 50 ms for at most $1 seconds.
wait_until() {
	t=$(($1 * 20)); shift
	while ! "$@"; do
		t=$((t - 1)); [ $t -gt 0 ] || return 1
		sleep 0.05
	done
}

# A list of BDFs as a TOML array.
toml_list() {
	printf '['; sep=
	for b in "$@"; do printf '%s"%s"' "$sep" $b; sep=', '; done
	printf ']'
}

# SIGTERM, then waits for hostd to exit; its status is left in HOSTD_STATUS.
# Not in $(...): only this shell can wait for sd_ready.
stop_hostd() {
	HOSTD_STATUS=none
	[ -n "$HOSTD_PID" ] || return 0
	kill -TERM $HOSTD_PID 2>/dev/null
	wait $SD_PID
	HOSTD_STATUS=$?
	HOSTD_PID=
}

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1: $2"; }

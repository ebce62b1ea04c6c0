#!/bin/sh
# hostctl trace and callback durations on a real edu device with real
# interrupts: the trace shows the plugin's register writes with the values
# it wrote, the interrupt's event with what the ACK program snapshotted, and
# the callbacks; the trace stops when its client goes; a client that does not
# keep up gets drop counts (the instance is neither held up nor killed for
# its trace); the metrics carry
# a histogram of the plugin's callback durations.
. /suites/lib.sh
. /suites/hostd.sh

set -- $EDU_BDFS
A=$1
shift
OTHERS="$*"
bind_uio $A >/dev/null || { fail hostd_trace_setup "cannot bind $A to uio_pci_generic"; exit 0; }
mkdir -p $PLUGINS && cp /plugins/edu.so $PLUGINS/edu.so
start_hostd "autoload = true" "[restart]" "warm_standby = false" \
	"[devices]" "claim = $(toml_list $A)" "ignore = $(toml_list $OTHERS)" ||
	{ fail hostd_trace_ready "see above"; exit 0; }
I=edu@$A
wait_log "instance=$I .*instance attached" 60 || { fail hostd_trace_ready "not attached: $(tail -n 5 $LOG | tr '\n' ' ')"; exit 0; }

trace_out=/tmp/trace.out
has() { grep -q -E "$1" $trace_out; }

# factorial 5 through a real interrupt, traced.
mark=$(log_mark)
hostctl trace $I >$trace_out 2>/tmp/trace.err &
trace_pid=$!
if wait_log "instance=$I .*tracing on" 30 $mark; then
	irq_before=$(cat $(sysdev $A)/drvproxy/interrupts)
	got=$(hostctl call $I factorial 5 2>&1)
	irq_after=$(cat $(sysdev $A)/drvproxy/interrupts)
	# The trace reaches hostctl within a flush interval; bounded wait for its last record.
	wait_until 10 has '^\+[0-9.]+ read  BAR0\+0x8 4 0x00000078$'
	if [ "$got" = 120 ] && [ $irq_after -gt $irq_before ] &&
		has '^\+[0-9.]+ write BAR0\+0x8 4 0x00000005$' && has '^\+[0-9.]+ write BAR0\+0x20 4 0x00000080$'; then
		pass hostd_trace_shows_register_writes_with_their_values
	else
		fail hostd_trace_shows_register_writes_with_their_values "factorial '$got', interrupts $irq_before -> $irq_after: $(tail -n 8 $trace_out | tr '\n' '|')"
	fi
	# The event the interrupt gave (snap: edu's interrupt status, 0x1 for a
	# factorial), then interrupt() handling it: it reads the result, returns.
	order=$(awk '/ event seq [0-9]+ vector 0 flags 0x[0-9a-f]+ snap 0x1( |$)/ { printf "event " }
		/ interrupt\(\) returned after [0-9.]+ us$/ { printf "interrupt " }
		/ read  BAR0\+0x8 4 0x00000078$/ { printf "read " }' $trace_out)
	case "$order" in
	"event read interrupt "*) pass hostd_trace_shows_the_interrupt_and_its_callback ;;
	*) fail hostd_trace_shows_the_interrupt_and_its_callback "order '$order': $(tail -n 8 $trace_out | tr '\n' '|')" ;;
	esac
	has ' command\(\) returned after [0-9.]+ us$' && pass hostd_trace_shows_the_command_callback ||
		fail hostd_trace_shows_the_command_callback "$(tail -n 4 $trace_out | tr '\n' '|')"
	grep -v '^dropped' $trace_out | head -n 12 | sed 's/^/NOTE: trace: /'
else
	fail hostd_trace_shows_register_writes_with_their_values "tracing never started: $(cat /tmp/trace.err)"
fi

# The client goes: the driverhost stops tracing.
mark=$(log_mark)
kill $trace_pid 2>/dev/null
wait $trace_pid 2>/dev/null
if wait_log "instance=$I .*tracing off" 30 $mark; then pass hostd_trace_ends_with_its_client
else fail hostd_trace_ends_with_its_client "no 'tracing off': $(tail -n 5 $LOG | tr '\n' ' ')"; fi

# A client that does not keep up (its output is a FIFO nobody reads yet)
# during a flood of records: the call is not held up, the instance is not
# killed for its trace, and once the client reads it is told what it lost.
rm -f /tmp/trace.fifo && mkfifo /tmp/trace.fifo
exec 5<>/tmp/trace.fifo
mark=$(log_mark)
hostctl trace $I >/tmp/trace.fifo 2>/tmp/trace.err &
trace_pid=$!
wait_log "instance=$I .*tracing on" 30 $mark
got=$(hostctl call $I pingpong 20000 2>&1)
cat <&5 >$trace_out &
cat_pid=$!
wait_until 20 has '^dropped: [0-9]+ in driverhost, [0-9]+ in hostd$'
dropped=$(grep '^dropped' $trace_out | tail -n 1)
restarts=$(hostctl status $I | sed -n 's/^  restarts: *\([0-9]*\)$/\1/p')
case "$got:$restarts:$dropped" in
20000:0:"dropped: 0 in driverhost, 0 in hostd" | 20000:0:) fail hostd_trace_slow_client_gets_drop_counts "nothing dropped: '$dropped'" ;;
20000:0:dropped:*) pass hostd_trace_slow_client_gets_drop_counts ;;
*) fail hostd_trace_slow_client_gets_drop_counts "pingpong '$got', restarts '$restarts', '$dropped': $(tail -n 3 $LOG | tr '\n' ' ')" ;;
esac
kill $trace_pid $cat_pid 2>/dev/null
wait $trace_pid $cat_pid 2>/dev/null
exec 5<&-
echo "NOTE: trace flood: $dropped"

# Callback durations: sampled, reported after a heartbeat, in the metrics.
durations() {
	hostctl metrics | grep '^drvhost_instance_callback_duration_seconds_count{' | grep -F "callback=\"$1\"" |
		grep -F "instance=\"$I\"" | sed 's/.* //'
}
interrupt_durations() { [ -n "$(durations interrupt)" ]; }
if wait_until 20 interrupt_durations; then
	n=$(durations interrupt); c=$(durations command)
	if [ "${n%.*}" -gt 0 ] && [ -n "$c" ] && hostctl metrics | grep -q -E "^drvhost_instance_callback_duration_seconds_bucket\{.*le=\"\+Inf\".*\} "; then
		pass hostd_metrics_have_callback_durations
	else
		fail hostd_metrics_have_callback_durations "interrupt '$n', command '$c'"
	fi
else
	fail hostd_metrics_have_callback_durations "none within 20 s: $(hostctl metrics | grep callback | head -n 3 | tr '\n' ' ')"
fi

hostctl unload $I >/dev/null 2>&1
stop_hostd
unbind $A
cp $LOG /tmp/hostd-43.log
rm -rf $H

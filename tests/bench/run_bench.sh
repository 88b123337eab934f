#!/bin/bash
# run_bench.sh: start parleyd (and a Python peer), run tests/bench/wsbench
# against them interleaved (A, B, A, B ...), and print medians with min/max.
#
#   tests/bench/run_bench.sh [all|echo|fanout|memory|search]
#
# "search" runs only tests/bench/search_bench (store_search and the unread
# counts on a 1M-message database; no daemon); SEARCH_ARGS are passed to it.
#
# Everything runs on 127.0.0.1 in a temp dir that is removed at exit.  Only
# processes this script started are stopped, by pid.  Knobs (environment):
#   REPS=5                 runs per arm (interleaved)
#   ECHO_CONNS=50 ECHO_INFLIGHT=8 ECHO_SIZES="64 4096" ECHO_SECS=3 ECHO_WARMUP=0.5
#   FAN_RECEIVERS=200 FAN_RATE=100 FAN_SECS=5 (one sender, open loop, msgs/s)
#   MEM_CONNS=2000
#   PARLEYD PARLEYCTL WSBENCH  binaries (default: the ones in the build tree;
#                              wsbench is compiled into the temp dir if missing)
#   PEER_PYTHON=/usr/bin/python3 (needs Debian's python3-websockets)
#   BENCH_KEEP_TMP=1       keep the temp dir (logs, raw results)
set -u

what=${1:-all}
case $what in all|echo|fanout|memory|search) ;; *)
	echo "usage: $0 [all|echo|fanout|memory|search]" >&2; exit 2 ;;
esac

if [ "$what" = search ]; then
	here=$(cd "$(dirname "$0")" && pwd)
	SEARCH_BENCH=${SEARCH_BENCH:-$here/search_bench}
	[ -x "$SEARCH_BENCH" ] || { echo "run_bench: $SEARCH_BENCH not built (make bench BENCH_ARGS=search)" >&2; exit 2; }
	echo "run_bench: $(nproc) CPUs, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" >&2
	echo "+ search_bench ${SEARCH_ARGS:-}" >&2
	# shellcheck disable=SC2086
	exec "$SEARCH_BENCH" ${SEARCH_ARGS:-}
fi

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
PARLEYD=${PARLEYD:-$top/parleyd}
PARLEYCTL=${PARLEYCTL:-$top/parleyctl}
WSBENCH=${WSBENCH:-$top/tests/bench/wsbench}
PEER_PYTHON=${PEER_PYTHON:-/usr/bin/python3}
REPS=${REPS:-5}
ECHO_CONNS=${ECHO_CONNS:-50}
ECHO_INFLIGHT=${ECHO_INFLIGHT:-8}
ECHO_SIZES=${ECHO_SIZES:-"64 4096"}
ECHO_SECS=${ECHO_SECS:-3}
ECHO_WARMUP=${ECHO_WARMUP:-0.5}
FAN_RECEIVERS=${FAN_RECEIVERS:-200}
FAN_RATE=${FAN_RATE:-100}
FAN_SECS=${FAN_SECS:-5}
MEM_CONNS=${MEM_CONNS:-2000}

for b in "$PARLEYD" "$PARLEYCTL"; do
	[ -x "$b" ] || { echo "run_bench: $b not built (make parleyd parleyctl)" >&2; exit 2; }
done

tmp=$(mktemp -d /tmp/parley-bench.XXXXXX)
pids=()			# every process we started, stopped at exit
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "${pids[@]}"; do
		wait "$p" 2>/dev/null
	done
	if [ -n "${BENCH_KEEP_TMP:-}" ]; then
		echo "run_bench: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ ! -x "$WSBENCH" ]; then
	WSBENCH=$tmp/wsbench
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -o "$WSBENCH" "$here/wsbench.c" "$here/wsbench_net.c" "$here/wsbench_jobs.c" "$here/wsbench_sha1.c" ||
	    { echo "run_bench: cannot build wsbench" >&2; exit 2; }
fi

# Connections need fds on both sides: raise the soft limit towards the hard one.
need=$((MEM_CONNS * 2 + 256))
soft=$(ulimit -n)
if [ "$soft" != unlimited ] && [ "$soft" -lt "$need" ]; then
	hard=$(ulimit -Hn)
	if [ "$hard" = unlimited ] || [ "$hard" -ge "$need" ]; then
		ulimit -n "$need"
	else
		ulimit -n "$hard"
	fi
fi
echo "run_bench: ulimit -n $(ulimit -n)" >&2

results=$tmp/results.txt
: > "$results"

# --- parleyd ---------------------------------------------------------------

# wait_file PATH SECS PID: poll until PATH exists (PID must stay alive)
wait_file() {
	local path=$1 deadline=$((SECONDS + $2)) pid=$3
	while [ ! -s "$path" ]; do
		kill -0 "$pid" 2>/dev/null || return 1
		[ $SECONDS -ge $deadline ] && return 1
		sleep 0.05
	done
}

# start_daemon NAME WORKERS SYNCHRONOUS: sets ${NAME}_port, ${NAME}_conf
start_daemon() {
	local name=$1 workers=$2 sync=$3 d=$tmp/$1 pid port
	mkdir -p "$d/lib" "$d/run"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/jwt.secret"
	head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' > "$d/api.key"
	chmod 600 "$d/jwt.secret" "$d/api.key"
	cat > "$d/parley.conf" <<EOF
; written by tests/bench/run_bench.sh
[server]
listen = 127.0.0.1:0
workers = $workers
data_dir = $d/lib
run_dir = $d/run
[websocket]
path = /ws
echo_path = /echo
[auth]
secret_file = $d/jwt.secret
algorithm = HS256
[limits]
max_conns_per_ip = 100000
conn_rate_per_ip = 100000
conn_burst_per_ip = 100000
max_conns_per_user = 1000000
send_rate = 1000000
send_burst = 1000000
join_rate = 1000000
[store]
synchronous = $sync
[api]
listen = 127.0.0.1:0
key_file = $d/api.key
EOF
	(cd "$d" && exec "$PARLEYD" -f -c "$d/parley.conf") > "$d/parleyd.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	if ! wait_file "$d/run/ports.json" 10 "$pid"; then
		echo "run_bench: parleyd $name did not start; log:" >&2
		tail -20 "$d/parleyd.log" >&2
		exit 1
	fi
	port=$("$PEER_PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ws"])' \
	    "$d/run/ports.json")
	printf -v "${name}_port" %s "$port"
	printf -v "${name}_conf" %s "$d/parley.conf"
	printf -v "${name}_pid" %s "$pid"
	printf -v "${name}_broker" %s "$("$PARLEYCTL" -c "$d/parley.conf" status |
	    sed -n 's/^broker pid=\([0-9]*\).*/\1/p')"
	echo "run_bench: $name: parleyd pid $pid workers=$workers synchronous=$sync ws port $port" >&2
}

stop_daemon() {
	local pid=$1
	kill -TERM "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

start_peer() {
	local pid
	"$PEER_PYTHON" "$here/peer_echo.py" "$tmp/peer.port" > "$tmp/peer.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	if ! wait_file "$tmp/peer.port" 10 "$pid"; then
		echo "run_bench: peer_echo.py did not start:" >&2
		cat "$tmp/peer.log" >&2
		exit 1
	fi
	peer_port=$(cat "$tmp/peer.port")
	peer_pid=$pid
	echo "run_bench: peer: python3-websockets $("$PEER_PYTHON" -c 'import websockets; print(websockets.__version__)') pid $pid port $peer_port" >&2
}

# ticks PID: utime + stime of one process, in clock ticks
ticks() {
	awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# cpu_sample SERVER: "broker_ticks workers_ticks" of a parleyd (SERVER is
# "SUPERVISOR_PID:BROKER_PID"), or "0 ticks" of a single process (a PID)
cpu_sample() {
	local sup=${1%%:*} broker=${1#*:} b=0 w=0 p t
	if [ "$sup" = "$1" ]; then
		echo "0 $(ticks "$1")"
		return
	fi
	for p in $(ps -o pid= --ppid "$sup"); do
		t=$(ticks "$p")
		if [ "$p" = "$broker" ]; then b=$((b + t)); else w=$((w + t)); fi
	done
	echo "$b $w"
}

hz=$(getconf CLK_TCK)

# run ARM TEST SERVER -- wsbench args...: one run, its RESULT line tagged
# with the CPU seconds the server's processes used during the run
run() {
	local arm=$1 test=$2 server=$3 out before after
	shift 4
	echo "+ wsbench $*" >> "$tmp/commands.txt"
	before=$(cpu_sample "$server")
	if ! out=$("$WSBENCH" "$@" 2>&1); then
		echo "run_bench: $arm/$test failed:" >&2
		echo "$out" >&2
		echo "FAILED"
		exit 1
	fi
	after=$(cpu_sample "$server")
	out=$(echo "$out" | grep '^RESULT ')
	out="$out $(echo "$before $after" | awk -v hz="$hz" '{
	    printf "broker_cpu_s=%.2f workers_cpu_s=%.2f", ($3 - $1) / hz, ($4 - $2) / hz }')"
	echo "test=$test arm=$arm $out" >> "$results"
	echo "  $test $arm: ${out#RESULT }" >&2
}

# rss PID: VmRSS in kB
rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null
}

# rss_table CONF LABEL: one line per parley process
rss_table() {
	local conf=$1 label=$2 line pid total=0 kb
	while read -r line; do
		case $line in
		supervisor*|broker*|worker*)
			pid=$(echo "$line" | sed -n 's/.*pid=\([0-9]*\).*/\1/p')
			kb=$(rss "$pid")
			total=$((total + kb))
			echo "mem label=$label proc=$(echo "$line" | awk '{ if ($1 == "worker") print "worker" $2; else print $1 }') pid=$pid rss_kb=$kb" ;;
		esac
	done < <("$PARLEYCTL" -c "$conf" status)
	echo "mem label=$label proc=total rss_kb=$total"
}

# --- benchmarks ------------------------------------------------------------

bench_echo() {
	local rep size
	start_daemon echo2 2 full
	start_daemon echo1 1 full
	start_peer
	for size in $ECHO_SIZES; do
		for rep in $(seq "$REPS"); do
			local args=(-c "$ECHO_CONNS" -k "$ECHO_INFLIGHT" -s "$size"
			    -d "$ECHO_SECS" -W "$ECHO_WARMUP")
			run parley-w2 "echo-$size" "$echo2_pid:$echo2_broker" -- echo -p "$echo2_port" "${args[@]}"
			run parley-w1 "echo-$size" "$echo1_pid:$echo1_broker" -- echo -p "$echo1_port" "${args[@]}"
			run python-websockets "echo-$size" "$peer_pid" -- echo -p "$peer_port" "${args[@]}"
		done
	done
}

bench_fanout() {
	local rep
	start_daemon w1full 1 full
	start_daemon w2full 2 full
	start_daemon w2normal 2 normal
	for rep in $(seq "$REPS"); do
		for arm in w1full w2full w2normal; do
			local port_var=${arm}_port conf_var=${arm}_conf
			local pid_var=${arm}_pid broker_var=${arm}_broker
			run "$arm" fanout "${!pid_var}:${!broker_var}" -- broadcast -q -p "${!port_var}" \
			    -c "$FAN_RECEIVERS" -K 1 -L "$FAN_RATE" -d "$FAN_SECS" \
			    -C "$PARLEYCTL -c ${!conf_var} token" \
			    -o "bench-$rep-$arm"
		done
	done
}

bench_memory() {
	local hold_pid deadline
	start_daemon mem 2 full
	sleep 1		# let the children settle before the idle reading
	rss_table "$mem_conf" idle | tee -a "$results" >&2
	"$WSBENCH" idle -q -P /echo -p "$mem_port" -c "$MEM_CONNS" -d 60 > "$tmp/hold.out" 2>&1 &
	hold_pid=$!
	pids+=("$hold_pid")
	deadline=$((SECONDS + 30))
	until grep -q '^READY' "$tmp/hold.out"; do
		if ! kill -0 "$hold_pid" 2>/dev/null || [ $SECONDS -ge $deadline ]; then
			echo "run_bench: hold did not get $MEM_CONNS connections:" >&2
			cat "$tmp/hold.out" >&2
			exit 1
		fi
		sleep 0.1
	done
	sleep 1
	"$PARLEYCTL" -c "$mem_conf" status | grep -E '^(worker|total)' >&2
	rss_table "$mem_conf" "conns$MEM_CONNS" | tee -a "$results" >&2
	kill -TERM "$hold_pid"
	wait "$hold_pid" 2>/dev/null
	stop_daemon "$mem_pid"
}

summarize() {
	"$PEER_PYTHON" - "$results" "$MEM_CONNS" <<'EOF'
import collections, statistics, sys

rows = collections.OrderedDict()
mem = collections.OrderedDict()
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split()[1:] if "=" in f) \
        if line.startswith("mem ") else \
        dict(f.split("=", 1) for f in line.split() if "=" in f)
    if line.startswith("mem "):
        mem.setdefault(kv["label"], []).append((kv["proc"], int(kv["rss_kb"])))
        continue
    rows.setdefault((kv["test"], kv["arm"]), []).append(kv)

def cell(vals):
    vals = [float(v) for v in vals]
    m = statistics.median(vals)
    fmt = "%.0f" if m >= 100 else "%.2f"
    return (fmt + " (" + fmt + "-" + fmt + ")") % (m, min(vals), max(vals))

metrics = {
    "echo": ["msg_per_s", "MB_per_s", "p50_us", "p99_us",
             "srv_cpu_us_per_msg", "client_cpu_us_per_msg"],
    "fanout": ["deliveries_per_s", "p50_us", "p99_us",
               "broker_cpu_us_per_send", "workers_cpu_us_per_delivery",
               "client_cpu_us_per_delivery"],
}
# CPU per unit of work: server CPU over the whole run (warm-up included)
# divided by every round trip / delivery / send of the run
for (test, arm), runs in rows.items():
    for r in runs:
        b, w, c = (float(r["broker_cpu_s"]), float(r["workers_cpu_s"]),
                   float(r["client_cpu_s"]))
        if "msgs_all" in r:
            n = float(r["msgs_all"])
            r["MB_per_s"] = float(r["msg_per_s"]) * float(r["size"]) / 1e6
            r["srv_cpu_us_per_msg"] = (b + w) * 1e6 / n
            r["client_cpu_us_per_msg"] = c * 1e6 / n
        else:
            d, m = float(r["delivered"]), float(r["sent"])
            r["broker_cpu_us_per_send"] = b * 1e6 / m
            r["workers_cpu_us_per_delivery"] = w * 1e6 / d
            r["client_cpu_us_per_delivery"] = c * 1e6 / d
last = None
for (test, arm), runs in rows.items():
    kind = "fanout" if test.startswith("fanout") else "echo"
    if kind != last:
        print()
        print("| test | server | runs | " + " | ".join(metrics[kind]) + " |")
        print("|---|---|---|" + "---|" * len(metrics[kind]))
        last = kind
    print("| %s | %s | %d | %s |" % (test, arm, len(runs),
          " | ".join(cell([r[m] for r in runs]) for m in metrics[kind])))
if mem:
    print()
    labels = list(mem)
    print("| process | " + " | ".join("RSS kB, " + l for l in labels) + " |")
    print("|---|" + "---|" * len(labels))
    procs = [p for p, _ in mem[labels[0]]]
    for p in procs:
        print("| %s | %s |" % (p, " | ".join(
            str(dict(mem[l]).get(p, "")) for l in labels)))
    if len(labels) == 2:
        n = int(sys.argv[2])
        a, b = dict(mem[labels[0]]), dict(mem[labels[1]])
        w = sum(b[p] - a[p] for p in b if p.startswith("worker"))
        t = b["total"] - a["total"]
        print()
        print("per connection: workers %.0f bytes, all parley processes"
              " %.0f bytes (%d connections)" % (w * 1024.0 / n, t * 1024.0 / n, n))
EOF
}

echo "run_bench: $(nproc) CPUs, $(uname -sr), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)" >&2
case $what in
all)	bench_memory; bench_echo; bench_fanout ;;
echo)	bench_echo ;;
fanout)	bench_fanout ;;
memory)	bench_memory ;;
esac
echo "run_bench: commands:" >&2
awk '!seen[$0]++' "$tmp/commands.txt" >&2 2>/dev/null
summarize

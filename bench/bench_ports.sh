#!/usr/bin/env bash
# bench_ports.sh - upstream source-port spread under load (the DNSpooq mitigation) and the CPU a
# forwarded query costs: 20,000 distinct names through dnsroute (cache off) as fast as dnsperf
# sends them (-q 200); the fake upstream logs each query's source port. Prints the distinct ports
# overall, the minimum and mean over every window of 1,000 consecutive upstream queries
# (requirement: >= 900), the daemon's CPU time (utime + stime from /proc) per answered query and,
# where perf can count the raw_syscalls tracepoint (root; E2E_NETNS_MODE=root when run as root),
# the daemon's system calls per answered query.
#
#   bench/bench_ports.sh
#   BENCH_QUERIES=100000 bench/bench_ports.sh   # more names (default 20,000): finer CPU figure
#   BENCH_BINS="/path/old/dnsroute build/release/dnsroute" bench/bench_ports.sh   # compare, one run
#   BENCH_ARGS=--query-port=5353 bench/bench_ports.sh   # extra daemon options (the fixed-port floor)
set -euo pipefail
. "$(dirname "$0")/bench_lib.sh"
bench_enter "$@"
printf '%s\n' '* A a 10.0.0.1' '* AAAA aaaa fd00::1' >"$E2E_TMP/s"
e2e_start_fake up "$E2E_TMP/s" 127.0.0.2#53
printf '%s\n' no-resolv no-hosts cache-size=0 server=127.0.0.2 >"$E2E_TMP/c"
tck=$(getconf CLK_TCK)

# cpu_ticks PID: utime + stime of the process so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
# user_ticks PID: utime alone (the daemon's own code; system time is mostly the kernel's network
# path, the same for every build, and carries most of the noise of a shared machine).
user_ticks() { awk '{ print $14 }' "/proc/$1/stat"; }

# Counting system calls needs perf and the raw_syscalls tracepoint (not inside a user namespace).
perf_ok=0
if command -v perf >/dev/null && perf stat -x, -e raw_syscalls:sys_enter -- true >/dev/null 2>&1 &&
    [[ $(perf stat -x, -e raw_syscalls:sys_enter -- true 2>&1 | cut -d, -f1) =~ ^[0-9]+$ ]]; then
    perf_ok=1
fi
# The total, then the calls that matter here (those the kernel has tracepoints for).
perf_events=raw_syscalls:sys_enter
for c in sendto recvfrom recvmmsg sendmmsg epoll_wait epoll_pwait epoll_ctl socket connect close \
    ioctl bind setsockopt getsockopt futex read write; do
    [[ -d /sys/kernel/tracing/events/syscalls/sys_enter_$c ]] &&
        perf_events+=,syscalls:sys_enter_$c
done

i=0
for bin in ${BENCH_BINS:-$DNSROUTE_BIN}; do
    i=$((i + 1))
    echo "--- $bin"
    DNSROUTE_BIN=$bin e2e_start_dnsroute "d$i" $((5300 + i)) "$E2E_TMP/c" --pid-file= --user=root \
        --workers=1 ${BENCH_ARGS:-}
    awk -v p="b${i}p" -v n="${BENCH_QUERIES:-20000}" \
        'BEGIN { for (i = 0; i < n; i++) printf "%s%d.example A\n", p, i }' \
        >"$E2E_TMP/q$i"
    pid=$(e2e_pid "d$i")
    before=$(cpu_ticks "$pid")
    ubefore=$(user_ticks "$pid")
    if ((perf_ok)); then
        perf stat -x, -e "$perf_events" -p "$pid" -o "$E2E_TMP/sys$i" &
        perf_pid=$!
    fi
    dnsperf -s 127.0.0.1 -p $((5300 + i)) -d "$E2E_TMP/q$i" -n 1 -c 4 -q 200 -t 2 \
        >"$E2E_TMP/perf$i"
    after=$(cpu_ticks "$pid")
    uafter=$(user_ticks "$pid")
    if ((perf_ok)); then
        kill -INT "$perf_pid"
        wait "$perf_pid" || true
    fi
    grep -E "Queries (sent|completed)|per second" "$E2E_TMP/perf$i"
    answered=$(sed -n 's/.*Queries completed: *\([0-9]*\).*/\1/p' "$E2E_TMP/perf$i")
    awk -v t=$((after - before)) -v u=$((uafter - ubefore)) -v hz="$tck" -v n="$answered" \
        'BEGIN { printf "daemon CPU %.2f s for %d answers: %.2f us per answered query (user %.2f)\n", t / hz, n, t / hz * 1e6 / n, u / hz * 1e6 / n }'
    if ((perf_ok)); then
        awk -F, -v n="$answered" '
            $3 ~ /raw_syscalls/ { printf "daemon system calls %d: %.2f per answered query:", $1, $1 / n }
            $3 ~ /sys_enter_/ && $1 + 0 > n / 100 { sub(/.*sys_enter_/, "", $3); printf " %s %.2f", $3, $1 / n }
            END { print "" }' "$E2E_TMP/sys$i"
    else
        echo "daemon system calls: not counted (perf cannot count raw_syscalls here; as root: E2E_NETNS_MODE=root)"
    fi
    e2e_stop "d$i"
    sleep 0.5
    n=$(e2e_qlog_count up "qname=b${i}p")
    d=$(e2e_qlog_field up sport "qname=b${i}p" | sort -u | wc -l)
    echo "upstream queries $n, distinct source ports $d: $((d * 1000 / n)) per 1000"
    e2e_qlog_field up sport "qname=b${i}p" | awk '{ p[NR] = $1 } END {
        min = 1e9; sum = 0; n = 0
        for (s = 1; s + 999 <= NR; s += 100) {
            delete seen; d = 0
            for (i = s; i < s + 1000; i++) if (!(p[i] in seen)) { seen[p[i]] = 1; d++ }
            if (d < min) min = d; sum += d; n++
        }
        printf "windows of 1000 consecutive upstream queries: min %d, mean %.1f distinct ports (%d windows)\n", min, sum / n, n
        print min > "/dev/stderr" }' 2>"$E2E_TMP/min$i"
done
i=0
for bin in ${BENCH_BINS:-$DNSROUTE_BIN}; do
    i=$((i + 1))
    e2e_assert_ge 900 "$(cat "$E2E_TMP/min$i")" "$bin: every 1,000 upstream queries use at least 900 source ports"
done

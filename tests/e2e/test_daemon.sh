#!/usr/bin/env bash
# test_daemon.sh - dnsroute as a real daemon, as dnsmasq: without -k/-d it detaches (the command
# returns 0 once serving; the daemon is not its child, has stdio on /dev/null and writes its pid
# file); SIGTERM logs "exiting on receipt of SIGTERM", removes the pid file and exits 0; -k stays
# in the foreground (pid file written); -d writes no pid file and does not change user;
# log-facility=/path logs to a file and SIGUSR2 reopens it after it was moved; syslog by default
# (facility daemon, or log-facility=local3); SIGUSR1 logs
# dnsmasq's statistics lines plus per-server and per-set lines; start-up errors give dnsmasq's
# message and exit code, also those that happen after the fork (bad config 1, port in use 2,
# pid file / log file 3, unknown user 1), and leave nothing running.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

cat >"$E2E_TMP/up.scenario" <<'SCN'
nx.test      A  nxdomain
*.set.test   A  a 192.0.2.5
default         a 192.0.2.1
SCN
e2e_start_fake up "$E2E_TMP/up.scenario" 127.0.0.2#53
have_ipset=0
if command -v ipset >/dev/null && ipset create s4 hash:ip 2>/dev/null; then
    have_ipset=1
else
    e2e_skip_part "ipset(8) missing or unusable: the SIGUSR1 per-set line"
fi
conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts server=127.0.0.2 address=/local.test/198.51.100.1 >"$conf"
((have_ipset)) && echo "ipset=/set.test/s4" >>"$conf"
DR=127.0.0.1#5353
# In a user namespace only uid 0 is mapped: user=root (dnsmasq's "already that user" case).
U=--user=root

# A subreaper runs the daemonizing command: the daemon is re-parented to it, so its real exit
# status can be collected. Writes NAME.parent (the command's status) and NAME.exit ("pid status"
# per reaped process).
cat >"$E2E_TMP/reaper.py" <<'PY'
import ctypes, os, subprocess, sys
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
out, cmd = sys.argv[1], sys.argv[2:]
rc = subprocess.run(cmd).returncode
open(out + ".parent", "w").write("%d\n" % rc)
while True:
    try:
        pid, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    with open(out + ".exit", "a") as f:
        f.write("%d %d\n" % (pid, os.waitstatus_to_exitcode(st)))
PY
wait_file() # FILE: bounded wait for a non-empty file
{
    local i
    for ((i = 0; i < 100; i++)); do [[ -s "$1" ]] && return 0; sleep 0.05; done
    e2e_fail "$1 not written within 5 s"
}
wait_gone() # PID: bounded wait until the process is gone
{
    local i
    for ((i = 0; i < 200; i++)); do kill -0 "$1" 2>/dev/null || return 0; sleep 0.05; done
    e2e_fail "process $1 still running after 10 s"
}
wait_log() # FILE ERE: bounded wait for a line
{
    local i
    for ((i = 0; i < 100; i++)); do grep -Eq -- "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
    e2e_fail "/$2/ not logged in $1 within 5 s"
}

# ---- daemonizing (no -k, no -d)
log=$E2E_TMP/d.log
e2e_spawn reaper python3 "$E2E_TMP/reaper.py" "$E2E_TMP/dz" "$DNSROUTE_BIN" -C "$conf" \
    --port=5353 --listen-address=127.0.0.1 --pid-file="$E2E_TMP/d.pid" --log-facility="$log" \
    --workers=2 $U
wait_file "$E2E_TMP/dz.parent"
e2e_assert_eq 0 "$(cat "$E2E_TMP/dz.parent")" "the starting command returns 0 once the daemon runs"
wait_file "$E2E_TMP/d.pid"
dpid=$(cat "$E2E_TMP/d.pid")
# shellcheck disable=SC2034 # E2E_PIDS is lib.sh's table of processes to stop
E2E_PIDS['daemon']=$dpid # killed by the cleanup if the test fails
E2E_ORDER+=(daemon)
e2e_assert_match '^[0-9]+$' "$dpid" "pid file holds a pid"
e2e_assert_match 'dnsroute' "$(tr '\0' ' ' </proc/"$dpid"/cmdline)" "the pid file names the daemon"
ppid=$(awk '/^PPid:/ {print $2}' /proc/"$dpid"/status)
e2e_assert_eq "$(e2e_pid reaper)" "$ppid" "the daemon was re-parented (its starter exited)"
sid=$(awk '{print $6}' /proc/"$dpid"/stat)
e2e_assert_ne "$(awk '{print $6}' /proc/$$/stat)" "$sid" "the daemon runs in its own session"
e2e_assert_eq /dev/null "$(readlink /proc/"$dpid"/fd/1)" "stdout on /dev/null"
e2e_assert_eq 2 "$(ls /proc/"$dpid"/task | wc -l)" "--workers=2: two threads after the fork"
e2e_wait_listen udp 127.0.0.1 5353
e2e_assert_eq 192.0.2.1 "$(e2e_short $DR www.example.test)" "the daemon answers"
e2e_assert_match "dnsroute\\[$dpid\\]: started, version" "$(cat "$log")" \
    "log-facility=/path: start-up lines in the file, with the daemon's pid"

# ---- SIGUSR1: 2 forwarded (one NXDOMAIN), 1 cached, 1 local
e2e_short $DR nx.test >/dev/null
e2e_short $DR www.example.test >/dev/null
e2e_short $DR local.test >/dev/null
# Six names for the set, from six client sockets: both workers add to s4 (counters per worker).
((have_ipset)) && for i in 1 2 3 4 5 6; do e2e_short $DR "n$i.set.test" >/dev/null; done
fwd=$((2 + 6 * have_ipset))
kill -USR1 "$dpid"
wait_log "$log" 'queries forwarded'
stats=$(cat "$log")
e2e_assert_match "dnsroute\\[$dpid\\]: time [0-9]+$" "$stats" "SIGUSR1: time line"
e2e_assert_match ': cache size 150, 1 cache hits$' "$stats" "SIGUSR1: cache line"
e2e_assert_match ": queries forwarded $fwd, queries answered locally 1$" "$stats" \
    "SIGUSR1: dnsmasq's 'queries forwarded N, queries answered locally N'"
e2e_assert_match ": server 127\\.0\\.0\\.2#53: queries sent $fwd, retried 0, failed 0, nxdomain replies 1, avg\\. latency [0-9]+ms$" \
    "$stats" "SIGUSR1: per-server line (dnsmasq's format)"
if ((have_ipset)); then
    e2e_ipset_has s4 192.0.2.5 || e2e_fail "192.0.2.5 not in s4"
    e2e_assert_match ': ipset s4: ready; added 6, merged 0, wrong family 0, missing 0, family 0, full 0, timeout 0, permission 0, other 0; last error: none$' \
        "$stats" "SIGUSR1: per-set line, summed over the workers"
    e2e_assert_eq 1 "$(grep -Ec ': ipset s4: (ready|missing|unusable);' <<<"$stats")" "one line per set"
fi

# ---- SIGUSR2: the log file was moved away (logrotate); a new one is opened
mv "$log" "$log.1"
kill -USR2 "$dpid"
for _ in $(seq 1 100); do [[ -e "$log" ]] && break; sleep 0.05; done
kill -USR1 "$dpid"
wait_log "$log" 'queries forwarded'
e2e_ok "SIGUSR2: a new log file at the configured path gets the next lines"
e2e_assert_eq 1 "$(grep -c 'queries forwarded' "$log.1")" "the moved file gets nothing more"

# ---- SIGTERM
kill -TERM "$dpid"
wait_gone "$dpid"
wait_log "$E2E_TMP/dz.exit" "^$dpid "
e2e_assert_eq "$dpid 0" "$(grep "^$dpid " "$E2E_TMP/dz.exit")" "SIGTERM: the daemon exits with status 0"
e2e_assert_match 'exiting on receipt of SIGTERM' "$(cat "$log")" "SIGTERM logged"
[[ ! -e "$E2E_TMP/d.pid" ]] || e2e_fail "pid file left after SIGTERM"
e2e_ok "SIGTERM: pid file removed"
unset "E2E_PIDS[daemon]"
e2e_check_sanitizer reaper

# ---- syslog (no log-facility: facility daemon; log-facility=local3), detached. /dev/log is a
# socket of this test, bind-mounted in a private mount namespace over a tmpfs /dev.
cat >"$E2E_TMP/syslog.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
s.settimeout(20)
while True:
    print(s.recv(4096).decode(errors="replace"), flush=True)
PY
e2e_spawn syslog python3 "$E2E_TMP/syslog.py" "$E2E_TMP/log.sock"
for _ in $(seq 1 100); do [[ -S "$E2E_TMP/log.sock" ]] && break; sleep 0.05; done
with_devlog() # CMD...: runs CMD with $E2E_TMP/log.sock as /dev/log
{
    local T=$E2E_TMP
    unshare -m --propagation private bash -c "set -e; mkdir -p $T/realdev
        mount --rbind /dev $T/realdev; mount -t tmpfs tmpfs /dev; touch /dev/null /dev/log
        mount --bind $T/realdev/null /dev/null; mount --bind $T/log.sock /dev/log; exec \"\$@\"" \
        with_devlog "$@"
}
if with_devlog true 2>/dev/null; then
    for fac in default local3; do
        args=()
        [[ $fac == local3 ]] && args=(--log-facility=local3)
        rm -f "$E2E_TMP/s.pid"
        with_devlog "$DNSROUTE_BIN" -C "$conf" --port=5360 --listen-address=127.0.0.1 \
            --pid-file="$E2E_TMP/s.pid" $U "${args[@]}" 2>"$E2E_TMP/s_$fac.out" ||
            e2e_fail "start with syslog ($fac) failed: $(cat "$E2E_TMP/s_$fac.out")"
        wait_file "$E2E_TMP/s.pid"
        spid=$(cat "$E2E_TMP/s.pid")
        kill -TERM "$spid"
        wait_gone "$spid"
        # LOG_DAEMON|LOG_INFO = 30, LOG_LOCAL3|LOG_INFO = 158 (RFC 3164 priority).
        pri=30
        [[ $fac == local3 ]] && pri=158
        wait_log "$E2E_TMP/syslog.err" "^<$pri>.* dnsroute\\[$spid\\]: exiting on receipt of SIGTERM$"
        e2e_assert_match "^<$pri>.* dnsroute\\[$spid\\]: started, version" "$(cat "$E2E_TMP/syslog.err")" \
            "syslog ($fac): start-up lines with priority <$pri> and the daemon's pid"
    done
else
    e2e_skip_part "no private mount namespace here: the syslog checks"
fi

# ---- -k: foreground, pid file written with its own pid, removed at exit
e2e_start_dnsroute fg 5354 "$conf" $U --pid-file="$E2E_TMP/k.pid"
wait_file "$E2E_TMP/k.pid"
e2e_assert_eq "$(e2e_pid fg)" "$(cat "$E2E_TMP/k.pid")" "-k: stays in the foreground (the pid is ours)"
e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#5354 www.example.test)" "-k: answers"
e2e_stop fg
[[ ! -e "$E2E_TMP/k.pid" ]] || e2e_fail "-k: pid file left"
e2e_ok "-k: pid file removed at exit"

# ---- SIGHUP re-reads every option, but sockets, threads, cache size and the process stay as
# they are: such changes are logged as needing a restart (and nothing else is).
cp "$conf" "$E2E_TMP/r.conf"
e2e_start_dnsroute rl 5361 "$E2E_TMP/r.conf" $U --pid-file=
e2e_signal rl HUP
for _ in $(seq 1 100); do grep -q 'configuration reloaded' "$E2E_TMP/rl.err" && break; sleep 0.05; done
e2e_assert_no_match 'reload: ' "$(cat "$E2E_TMP/rl.err")" "an unchanged reload warns about nothing"
printf '%s\n' port=5999 cache-size=500 >>"$E2E_TMP/r.conf"
e2e_signal rl HUP
wait_log "$E2E_TMP/rl.err" 'reload: cache-size changed'
e2e_assert_match 'reload: port changed; it takes effect only after a restart' \
    "$(cat "$E2E_TMP/rl.err")" "a changed port is reported as needing a restart"
e2e_assert_match 'reload: cache-size changed; it takes effect only after a restart' \
    "$(cat "$E2E_TMP/rl.err")" "a changed cache-size too"
e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#5361 www.example.test)" "still serving on its port"
e2e_stop rl

# ---- -d: foreground, no pid file, no user change, logs to stderr as well
# user=nobody with -d stays root (in a user namespace a change would fail: uid 65534 is unmapped).
e2e_spawn dbg "$DNSROUTE_BIN" -d -C "$conf" --port=5355 --listen-address=127.0.0.1 \
    --user=nobody --pid-file="$E2E_TMP/dd.pid" --log-facility="$E2E_TMP/dd.log"
e2e_wait_listen udp 127.0.0.1 5355 dbg
e2e_assert_eq 192.0.2.1 "$(e2e_short 127.0.0.1#5355 www.example.test)" "-d: answers"
[[ ! -e "$E2E_TMP/dd.pid" ]] || e2e_fail "-d wrote a pid file"
e2e_ok "-d: no pid file"
e2e_assert_eq 0 "$(awk '/^Uid:/ {print $2}' /proc/"$(e2e_pid dbg)"/status)" "-d: no user change"
e2e_assert_match 'started, version' "$(cat "$E2E_TMP/dbg.err")" "-d: log lines on stderr too"
e2e_assert_match 'started, version' "$(cat "$E2E_TMP/dd.log")" "-d: and in the log file"
e2e_stop dbg

# ---- start-up errors: dnsmasq's message and exit code, and nothing left running

expect_fail() # NAME CODE MESSAGE_ERE ARGS...: the command (detaching unless -k) must fail
{
    local name=$1 code=$2 re=$3 rc=0
    shift 3
    "$DNSROUTE_BIN" "$@" >"$E2E_TMP/$name.out" 2>&1 || rc=$?
    e2e_assert_eq "$code" "$rc" "$name: exit code $code"
    e2e_assert_match "$re" "$(cat "$E2E_TMP/$name.out")" "$name: message"
}
printf '%s\n' no-resolv server=127.0.0.2 no-such-option >"$E2E_TMP/bad.conf"
expect_fail badconf 1 "^dnsroute: bad option at line 3 of $E2E_TMP/bad.conf\$" -C "$E2E_TMP/bad.conf" \
    --port=5356 --listen-address=127.0.0.1 $U
if [[ -x "$DNSMASQ" ]]; then
    rc=0
    "$DNSMASQ" -C "$E2E_TMP/bad.conf" --port=5356 >"$E2E_TMP/dm_bad.out" 2>&1 || rc=$?
    e2e_assert_eq "$(sed 's/dnsmasq/dnsroute/' "$E2E_TMP/dm_bad.out")" \
        "$(cat "$E2E_TMP/badconf.out")" "bad config: the same text as dnsmasq 2.90 (exit $rc)"
else
    e2e_skip_part "dnsmasq not found at $DNSMASQ: the comparisons with dnsmasq 2.90"
fi
enoent=$(e2e_strerror ENOENT)
eaddrinuse=$(e2e_strerror EADDRINUSE)
expect_fail noconf 3 "^dnsroute: cannot read $E2E_TMP/none.conf: $enoent\$" \
    -C "$E2E_TMP/none.conf" --port=5356
base=(-C "$conf" --listen-address=127.0.0.1 "$U")
# Port in use: dnsmasq (bind-interfaces: it binds exactly 127.0.0.1) holds 5357.
printf '%s\n' no-resolv no-hosts server=127.0.0.2 >"$E2E_TMP/dm.conf"
if [[ -x "$DNSMASQ" ]]; then
    e2e_start_dnsmasq dm 5357 "$E2E_TMP/dm.conf"
    expect_fail inuse 2 "^dnsroute: failed to create listening socket for 127\\.0\\.0\\.1: $eaddrinuse\$" \
        "${base[@]}" --port=5357 --pid-file=
    rc=0
    "$DNSMASQ" -C "$E2E_TMP/dm.conf" --port=5357 --listen-address=127.0.0.1 --bind-interfaces \
        --pid-file= >"$E2E_TMP/dm_inuse.out" 2>&1 || rc=$?
    e2e_assert_eq 2 "$rc" "(dnsmasq 2.90 exits 2 as well)"
    e2e_assert_eq "$(sed 's/dnsmasq/dnsroute/' "$E2E_TMP/dm_inuse.out")" \
        "$(cat "$E2E_TMP/inuse.out")" "port in use: the same text as dnsmasq 2.90"
fi
e2e_start_dnsroute first 5358 "$E2E_TMP/dm.conf" $U --pid-file=
expect_fail inuse2 2 "^dnsroute: failed to create listening socket for 127\\.0\\.0\\.1: $eaddrinuse\$" \
    "${base[@]}" --port=5358 --pid-file= --workers=2
e2e_stop first
# Errors after the fork reach the starting command (dnsmasq's error pipe) and stop the daemon.
expect_fail pidfile 3 "^dnsroute: failed to open pidfile $E2E_TMP/nodir/x.pid: $enoent\$" \
    "${base[@]}" --port=5359 --pid-file="$E2E_TMP/nodir/x.pid"
expect_fail logfile 3 "^dnsroute: cannot open log $E2E_TMP/nodir/x.log: $enoent\$" \
    "${base[@]}" --port=5359 --pid-file= --log-facility="$E2E_TMP/nodir/x.log"
expect_fail pidfile_k 3 "^dnsroute: failed to open pidfile" "${base[@]}" -k --port=5359 \
    --pid-file="$E2E_TMP/nodir/x.pid"
expect_fail user 1 '^dnsroute: unknown user or group: no-such-user$' -C "$conf" --port=5359 \
    --user=no-such-user --pid-file=
expect_fail user_d 1 '^dnsroute: unknown user or group: no-such-user$' -C "$conf" --port=5359 \
    --user=no-such-user -d --pid-file=
expect_fail group 1 '^dnsroute: unknown user or group: no-such-group$' "${base[@]}" --port=5359 \
    --group=no-such-group --pid-file=
if [[ $E2E_NETNS_MODE == user ]]; then
    # uid 65534 is not mapped in this user namespace: setuid fails after the fork.
    expect_fail setuid 5 '^dnsroute: failed to change user-id to nobody: ' -C "$conf" --port=5359 \
        --listen-address=127.0.0.1 --user=nobody --pid-file= --log-facility="$E2E_TMP/su.log"
    e2e_assert_match 'failed to change user-id to nobody' "$(cat "$E2E_TMP/su.log")" \
        "the failure is in the daemon's log too"
fi
# The failed daemons' detached children end on their own: wait (bounded) for the last one.
for ((i = 0; i < 100; i++)); do pgrep -f -- "--port=5359" >/dev/null || break; sleep 0.05; done
e2e_assert_eq "" "$(ss -Hlnu 'sport = :5359'; ss -Hlnt 'sport = :5359')" \
    "after the failed starts nothing listens on their port"
e2e_assert_eq "" "$(pgrep -f -- "--port=5359" || true)" "and no daemon is left running"

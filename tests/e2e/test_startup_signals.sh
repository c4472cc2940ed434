#!/usr/bin/env bash
# test_startup_signals.sh - SIGTERM at the earliest moment a supervisor can send it: as soon as the
# pid file exists (and, detached, as soon as the starting command returned). The handled signals
# are blocked from the top of start-up until their handlers exist, so every run must log "exiting
# on receipt of SIGTERM", remove the pid file and exit 0 (before the fix a TERM in the window
# between the pid file and the handlers killed the daemon with status 143 and left the pid file:
# tests/e2e/test_daemon.sh failed intermittently; here 27 of 40 runs). A tight loop of
# E2E_STARTUP_RUNS (default 20) foreground (-k) starts and 6 detached ones, with 1 and 2 workers;
# SIGHUP/SIGUSR1 sent as early never kill it either. And a running daemon with 2, 4 and 8 workers
# stops cleanly on SIGTERM every time (before 34192c7 the main thread woke each worker a second
# time before joining it, after that worker might have closed its loop: libuv aborted on the
# closed eventfd, exit 134, in about half the stops with 3 or more workers).
# e2e-timeout: 300
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_enter_netns "$@"
e2e_require_dnsroute

conf=$E2E_TMP/d.conf
printf '%s\n' no-resolv no-hosts server=127.0.0.2 >"$conf"
runs=${E2E_STARTUP_RUNS:-20}
# In a user namespace only uid 0 is mapped: user=root (dnsmasq's "already that user" case).
base=(-C "$conf" --listen-address=127.0.0.1 --user=root)

# The racer: starts the daemon, busy-polls (no sleep: the window is a few microseconds wide)
# until the pid file exists, sends the signal, and reports the daemon's exit status. With
# --detach it runs the detaching starter as a subreaper and signals the daemon it re-parented.
cat >"$E2E_TMP/racer.py" <<'PY'
import ctypes, os, signal, subprocess, sys, time
detach = sys.argv[1] == "--detach"
sig, pidfile, cmd = getattr(signal, "SIG" + sys.argv[2]), sys.argv[3], sys.argv[4:]
if detach:
    ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
    starter = subprocess.Popen(cmd, stderr=open(pidfile + ".err", "w"))
else:
    proc = subprocess.Popen(cmd, stderr=open(pidfile + ".err", "w"))
deadline = time.monotonic() + 10
pid = None
while pid is None:
    try:
        with open(pidfile) as f:
            text = f.read()
        if text.endswith("\n"):
            pid = int(text)
    except (FileNotFoundError, ValueError):
        pass
    if time.monotonic() > deadline:
        sys.exit("pid file not written within 10 s")
os.kill(pid, sig)
if sig != signal.SIGTERM:
    print("sent")
    sys.exit(0)
if not detach:
    rc = proc.wait()
    print(rc if rc >= 0 else 128 - rc)
    sys.exit(0)
status = None
while True:
    try:
        p, st = os.waitpid(-1, 0)
    except ChildProcessError:
        break
    if p == pid:
        status = os.waitstatus_to_exitcode(st)
        status = status if status >= 0 else 128 - status
print(status)
PY

# race MODE RUNS PORT0: RUNS starts, each TERMed the instant its pid file exists; fails on any
# run that did not exit 0, left its pid file or did not log the signal.
race()
{
    local mode=$1 runs=$2 port0=$3 r bad=0 out why
    for ((r = 1; r <= runs; r++)); do
        local pidf=$E2E_TMP/$mode$r.pid log=$E2E_TMP/$mode$r.log
        local -a cmd=("$DNSROUTE_BIN" "${base[@]}" --port=$((port0 + r)) --pid-file="$pidf" \
            --log-facility="$log" --workers=$((1 + r % 2)))
        [[ $mode == fg ]] && cmd+=(-k)
        out=$(python3 "$E2E_TMP/racer.py" "--$mode" TERM "$pidf" "${cmd[@]}" 2>&1) || true
        why=""
        [[ "$out" == 0 ]] || why="exit status [$out]"
        [[ ! -e "$pidf" ]] || why="$why; pid file left"
        grep -q 'exiting on receipt of SIGTERM' "$log" 2>/dev/null || why="$why; not logged"
        if [[ -n "$why" ]]; then
            bad=$((bad + 1))
            e2e_log "$mode run $r: $why"
        fi
    done
    e2e_assert_eq 0 "$bad" "$mode: $runs TERMs sent the instant the pid file exists: all exit 0, logged, pid file removed"
}

race fg "$runs" 6000
race detach 6 6100

# ---- SIGHUP and SIGUSR1 as early: handled (a reload, statistics), never the default action.
for sig in HUP USR1; do
    pidf=$E2E_TMP/$sig.pid
    e2e_spawn "$sig" python3 "$E2E_TMP/racer.py" --fg "$sig" "$pidf" "$DNSROUTE_BIN" -k \
        "${base[@]}" --port=6900 --pid-file="$pidf" --log-facility="$E2E_TMP/$sig.log"
    e2e_wait_listen udp 127.0.0.1 6900
    e2e_assert_eq sent "$(cat "$E2E_TMP/$sig.err")" "SIG$sig sent the instant the pid file exists"
    dpid=$(cat "$pidf")
    kill -0 "$dpid" 2>/dev/null || e2e_fail "SIG$sig during start-up killed the daemon"
    kill -TERM "$dpid"
    for ((i = 0; i < 200; i++)); do kill -0 "$dpid" 2>/dev/null || break; sleep 0.05; done
    e2e_assert_match 'exiting on receipt of SIGTERM' "$(cat "$E2E_TMP/$sig.log")" \
        "SIG$sig was handled: the daemon lived on until TERM"
    e2e_kill "$sig" || true
done
# ---- a running daemon with several workers: every SIGTERM ends it with status 0.
for w in 2 4 8; do
    for ((r = 1; r <= 8; r++)); do
        e2e_spawn "w$w" "$DNSROUTE_BIN" -k "${base[@]}" --port=6950 --pid-file= --log-facility=- \
            --workers="$w"
        e2e_wait_listen udp 127.0.0.1 6950 "w$w"
        rc=0
        e2e_kill "w$w" || rc=$?
        [[ $rc == 0 ]] || e2e_fail "--workers=$w, stop $r: exit status $rc after SIGTERM"
    done
    e2e_ok "--workers=$w: 8 SIGTERMs to a running daemon, all exit 0"
done
e2e_assert_eq "" "$(pgrep -f -- "$E2E_TMP/" || true)" "no daemon left running"

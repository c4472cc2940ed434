# shellcheck shell=bash
# lib.sh - helpers for dnsroute's end-to-end tests (bash, safe under `set -euo pipefail`).
#
# A test script does:
#     set -euo pipefail
#     . "$(dirname "$0")/lib.sh"
#     e2e_enter_netns "$@"        # re-execs the script in a private network namespace
#     e2e_start_fake up 127.0.0.2#53 "$E2E_CONF/harness.scenario"
#     ...
# Every process started here is killed by the EXIT trap; the temp dir is removed unless the test
# failed or E2E_KEEP=1. See README.md in this directory for the full list and an example.
#
# Environment (set by tests/e2e/CMakeLists.txt; defaults let a script run by hand from a build):
#   DNSROUTE_BIN  FAKE_UPSTREAM  DNSROUTE_SOURCE_DIR  DNSMASQ
#   DNSROUTE_CHINA_LIST: a dnsmasq-china-list checkout (accelerated-domains.china.conf,
#     bogus-nxdomain.china.conf, ...); default ../shared/china-list beside the source dir when it
#     exists, else empty: the tests that use the list then generate china-like data instead
#   E2E_TIMEOUT (seconds for the whole script, default 240)  E2E_KEEP=1  E2E_VERBOSE=1
#   E2E_NETNS_MODE=root forces `unshare -n` as real root instead of a user namespace.

E2E_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
E2E_CONF="$E2E_LIB_DIR/conf"
: "${DNSROUTE_SOURCE_DIR:=$(cd "$E2E_LIB_DIR/../.." && pwd)}"
if [[ -z ${DNSROUTE_CHINA_LIST:-} && -d $DNSROUTE_SOURCE_DIR/../shared/china-list ]]; then
    DNSROUTE_CHINA_LIST=$(cd "$DNSROUTE_SOURCE_DIR/../shared/china-list" && pwd)
fi
: "${DNSROUTE_CHINA_LIST:=}"
: "${DNSROUTE_BIN:=$DNSROUTE_SOURCE_DIR/build/dnsroute}"
: "${FAKE_UPSTREAM:=$DNSROUTE_SOURCE_DIR/build/tests/e2e/fake_upstream}"
: "${DNSMASQ:=/usr/sbin/dnsmasq}"
E2E_TMP=${E2E_TMP:-}
declare -gA E2E_PIDS=()     # name -> pid of every process started by e2e_start_*
declare -ga E2E_ORDER=()    # start order, for stopping in reverse
E2E_CHECKS=0

# ---- messages and assertions -------------------------------------------------------------

e2e_log() { echo "# $*" >&2; }

# e2e_strerror NAME: the C library's text for errno NAME (e.g. ENOENT), so that expected messages
# hold with glibc and musl alike (python3's os.strerror() asks the same C library).
e2e_strerror()
{
    python3 -c 'import errno, os, sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$1"
}

# Fails the test now: prints the reason (and the tail of each process's stderr) and exits 1. A
# test that defines a function e2e_on_fail gets it called first, to print the state that explains
# the failure (e.g. firewall counters), so an intermittent failure explains itself.
e2e_fail()
{
    echo "FAIL: $*" >&2
    if declare -F e2e_on_fail >/dev/null && [[ -z "${E2E_IN_ON_FAIL:-}" ]]; then
        E2E_IN_ON_FAIL=1
        echo "---- state at the failure (e2e_on_fail)" >&2
        e2e_on_fail >&2 || true
    fi
    local n
    for n in "${E2E_ORDER[@]}"; do
        if [[ -s "$E2E_TMP/$n.err" ]]; then
            echo "---- last lines of $n stderr ($E2E_TMP/$n.err)" >&2
            tail -n 15 "$E2E_TMP/$n.err" >&2
        fi
    done
    E2E_FAILED=1
    exit 1
}

e2e_skip() { echo "SKIP: $*" >&2; exit 77; }

# e2e_skip_part WHY: a part of the test cannot run here (a tool or kernel feature is missing).
# The rest runs, but the test then ends with ctest's skip code instead of passing: a test is
# reported passed only when every check it has ran.
declare -ga E2E_SKIPPED_PARTS=()
e2e_skip_part() { E2E_SKIPPED_PARTS+=("$*"); e2e_log "part skipped: $*"; }

e2e_ok() { E2E_CHECKS=$((E2E_CHECKS + 1)); echo "ok $E2E_CHECKS - $*" >&2; }

# e2e_assert_eq EXPECTED ACTUAL WHAT
e2e_assert_eq()
{
    if [[ "$1" != "$2" ]]; then
        e2e_fail "$3: expected [$1], got [$2]"
    fi
    e2e_ok "$3"
}

# e2e_assert_ne NOT_EXPECTED ACTUAL WHAT
e2e_assert_ne()
{
    if [[ "$1" == "$2" ]]; then
        e2e_fail "$3: did not expect [$1]"
    fi
    e2e_ok "$3"
}

# e2e_assert_match EXTENDED_REGEX TEXT WHAT  (grep -E over the whole, possibly multi-line, text)
e2e_assert_match()
{
    if ! grep -Eq -- "$1" <<<"$2"; then
        e2e_fail "$3: /$1/ not found in:"$'\n'"$2"
    fi
    e2e_ok "$3"
}

e2e_assert_no_match()
{
    if grep -Eq -- "$1" <<<"$2"; then
        e2e_fail "$3: /$1/ unexpectedly found in:"$'\n'"$2"
    fi
    e2e_ok "$3"
}

# e2e_assert_ge MIN ACTUAL WHAT  (integers)
e2e_assert_ge()
{
    if ! (( $2 >= $1 )); then
        e2e_fail "$3: expected at least $1, got $2"
    fi
    e2e_ok "$3"
}

# ---- namespace and temp dir ----------------------------------------------------------------

# e2e_enter_netns "$@": first call re-execs the calling script inside a new network namespace
# (user namespace `unshare -rn`; as real root `unshare -n` when that fails or E2E_NETNS_MODE=root),
# under `timeout`. Exits 77 when no namespace can be made. Inside: lo up, 114.114.114.114/32 and
# fd00::53/128, fd00::54/128 (nodad) on lo, E2E_TMP created, cleanup trap set.
e2e_enter_netns()
{
    if [[ "${E2E_IN_NETNS:-}" != 1 ]]; then
        local script mode="${E2E_NETNS_MODE:-}"
        script=$(readlink -f "$0")
        command -v unshare >/dev/null || e2e_skip "unshare(1) not found"
        command -v ip >/dev/null || e2e_skip "ip(8) not found"
        if [[ -z "$mode" ]] && unshare -rn true 2>/dev/null; then
            mode=user
        elif [[ $(id -u) == 0 ]] && unshare -n true 2>/dev/null; then
            mode=root
        fi
        [[ -n "$mode" ]] || e2e_skip "cannot create a network namespace (unshare -rn / -n failed)"
        local -a flags=(-n)
        [[ "$mode" == user ]] && flags=(-r -n)
        export E2E_IN_NETNS=1 E2E_NETNS_MODE=$mode
        export DNSROUTE_BIN FAKE_UPSTREAM DNSROUTE_SOURCE_DIR DNSROUTE_CHINA_LIST DNSMASQ
        exec timeout -k 5 "${E2E_TIMEOUT:-240}" unshare "${flags[@]}" -- bash "$script" "$@"
    fi
    ip link set lo up || e2e_skip "cannot bring lo up in the namespace"
    e2e_add_addr 114.114.114.114/32
    export E2E_HAVE_IPV6=1
    if ! ip -6 addr add fd00::53/128 dev lo nodad 2>/dev/null ||
       ! ip -6 addr add fd00::54/128 dev lo nodad 2>/dev/null; then
        E2E_HAVE_IPV6=0
        e2e_log "IPv6 unavailable in the namespace; IPv6 checks will be skipped"
    fi
    E2E_TMP=$(mktemp -d "${TMPDIR:-/tmp}/dnsroute-e2e.$(basename "$0" .sh).XXXXXX")
    E2E_FAILED=0
    trap e2e_cleanup EXIT
    trap 'e2e_log "interrupted"; E2E_FAILED=1; exit 143' TERM INT
    e2e_log "netns mode=$E2E_NETNS_MODE tmp=$E2E_TMP"
}

# e2e_add_addr ADDR/PLEN: one more address on lo (IPv6 without duplicate address detection).
e2e_add_addr()
{
    if [[ "$1" == *:* ]]; then
        ip -6 addr add "$1" dev lo nodad
    else
        ip addr add "$1" dev lo
    fi
}

# Stops every started process (reverse order), then removes E2E_TMP unless the test failed or
# E2E_KEEP=1. Runs from the EXIT trap; keeps the script's exit status.
e2e_cleanup()
{
    local rc=$?
    local i
    for ((i = ${#E2E_ORDER[@]} - 1; i >= 0; i--)); do
        e2e_kill "${E2E_ORDER[i]}" || true
    done
    if [[ $rc != 0 && $rc != 77 ]]; then
        E2E_FAILED=1
    fi
    if [[ -n "$E2E_TMP" && -d "$E2E_TMP" ]]; then
        if [[ "${E2E_KEEP:-0}" == 1 || "${E2E_FAILED:-0}" == 1 ]]; then
            e2e_log "kept $E2E_TMP"
        else
            rm -rf "$E2E_TMP"
        fi
    fi
    if [[ $rc == 0 && ${#E2E_SKIPPED_PARTS[@]} -gt 0 ]]; then
        echo "SKIP: $(basename "$0"): $E2E_CHECKS checks passed, but these parts could not run:" >&2
        printf '  - %s\n' "${E2E_SKIPPED_PARTS[@]}" >&2
        rc=77
    elif [[ $rc == 0 ]]; then
        echo "PASS: $(basename "$0") ($E2E_CHECKS checks)" >&2
    fi
    exit "$rc"
}

# ---- processes ----------------------------------------------------------------------------

# e2e_deadline SECONDS: prints the moment (microseconds) SECONDS (an integer) from now;
# e2e_before DEADLINE: true until then. Waits are bounded by wall-clock time, not by a number of
# tries: on a loaded machine each try takes longer, and what is waited for is slower too.
e2e_deadline() { local now=${EPOCHREALTIME//[.,]/}; echo $((now + $1 * 1000000)); }
e2e_before() { local now=${EPOCHREALTIME//[.,]/}; ((now < $1)); }

# e2e_pid NAME: the pid of a started process.
e2e_pid() { echo "${E2E_PIDS[$1]}"; }

# e2e_alive NAME: true while the process runs.
e2e_alive() { [[ -n "${E2E_PIDS[$1]:-}" ]] && kill -0 "${E2E_PIDS[$1]}" 2>/dev/null; }

# e2e_spawn NAME CMD...: runs CMD in the background, stdout+stderr to $E2E_TMP/NAME.err.
e2e_spawn()
{
    local name=$1
    shift
    [[ -z "${E2E_PIDS[$name]:-}" ]] || e2e_fail "process name '$name' already in use"
    [[ "${E2E_VERBOSE:-0}" == 1 ]] && e2e_log "start $name: $*"
    "$@" >"$E2E_TMP/$name.err" 2>&1 &
    E2E_PIDS[$name]=$!
    E2E_ORDER+=("$name")
}

# e2e_kill NAME: SIGTERM, wait up to 10 s, then SIGKILL. Returns the process's exit status
# (143 = killed by SIGTERM without handling it). Safe to call twice.
e2e_kill()
{
    local name=$1 pid=${E2E_PIDS[$1]:-} end rc=0
    [[ -n "$pid" ]] || return 0
    unset "E2E_PIDS[$name]"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        end=$(e2e_deadline 10)
        while e2e_before "$end"; do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
    fi
    wait "$pid" 2>/dev/null || rc=$?
    return "$rc"
}

# e2e_stop NAME: like e2e_kill, but fails the test unless the process exited with status 0 after
# SIGTERM, or if its stderr shows a sanitizer report.
e2e_stop()
{
    local rc=0
    e2e_kill "$1" || rc=$?
    e2e_check_sanitizer "$1"
    [[ $rc == 0 ]] || e2e_fail "$1 exited with status $rc after SIGTERM"
    e2e_ok "$1 stopped cleanly"
}

# e2e_check_sanitizer NAME: fails if ASan/UBSan/LSan reported anything on NAME's stderr.
e2e_check_sanitizer()
{
    local f="$E2E_TMP/$1.err"
    if [[ -f "$f" ]] && grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
        e2e_fail "sanitizer report in $1's stderr"
    fi
}

# e2e_wait_listen PROTO ADDR PORT [NAME]: waits (max 10 s) until a socket is bound to ADDR:PORT
# or to the wildcard address on PORT (PROTO udp or tcp); fails early if process NAME died.
e2e_wait_listen()
{
    local proto=$1 addr=$2 port=$3 name=${4:-} end flag=-Hlnu
    [[ "$proto" == tcp ]] && flag=-Hlnt
    [[ "$addr" == *:* ]] && addr="[$addr]"
    local esc re
    esc=$(printf '%s' "$addr" | sed 's/[].*[]/\\&/g')
    re="^($esc|0[.]0[.]0[.]0|[[]::[]]|[*]):$port\$"
    end=$(e2e_deadline 10)
    while e2e_before "$end"; do
        if grep -Eq "$re" <<<"$(ss "$flag" "sport = :$port" 2>/dev/null | awk '{print $4}')"; then
            return 0
        fi
        if [[ -n "$name" ]] && ! e2e_alive "$name"; then
            e2e_fail "$name exited before listening on $proto $addr:$port"
        fi
        sleep 0.05
    done
    e2e_fail "nothing listens on $proto $addr:$port after 10 s${name:+ ($name)}"
}

# e2e_start_fake NAME SCENARIO LISTEN... [-- EXTRA_ARGS]: starts fake_upstream with one -l per
# LISTEN (ADDR[#PORT][@TAG]); its query log is $(e2e_qlog NAME). Waits for the pidfile, which the
# fake writes once every socket is bound.
e2e_start_fake()
{
    local name=$1 scenario=$2 end
    shift 2
    local -a args=(-s "$scenario" -q "$E2E_TMP/$name.qlog" -p "$E2E_TMP/$name.pid")
    while (($#)) && [[ "$1" != -- ]]; do
        args+=(-l "$1")
        shift
    done
    (($#)) && shift
    [[ -x "$FAKE_UPSTREAM" ]] || e2e_fail "fake_upstream not built: $FAKE_UPSTREAM"
    : >"$E2E_TMP/$name.qlog"
    e2e_spawn "$name" "$FAKE_UPSTREAM" "${args[@]}" "$@"
    end=$(e2e_deadline 10)
    while e2e_before "$end"; do
        [[ -s "$E2E_TMP/$name.pid" ]] && return 0
        e2e_alive "$name" || e2e_fail "fake upstream $name failed to start"
        sleep 0.05
    done
    e2e_fail "fake upstream $name not ready after 10 s"
}

# e2e_start_fake_catchall NAME LISTEN...: a fake upstream answering every A query with 9.9.9.9
# and every other type with NODATA (scenario $E2E_TMP/NAME.scenario): for tests of local answers,
# where 9.9.9.9 shows that a name was forwarded.
e2e_start_fake_catchall()
{
    local name=$1
    shift
    printf '%s\n' '* A a 9.9.9.9' '* * nodata' >"$E2E_TMP/$name.scenario"
    e2e_start_fake "$name" "$E2E_TMP/$name.scenario" "$@"
}

# e2e_render TEMPLATE OUT [VAR=VALUE...]: copies TEMPLATE with every @VAR@ replaced; @E2E_TMP@
# and @E2E_CONF@ are always defined. Fails if a placeholder is left.
e2e_render()
{
    local tpl=$1 out=$2 kv
    shift 2
    local -a sed_args=(-e "s|@E2E_TMP@|$E2E_TMP|g" -e "s|@E2E_CONF@|$E2E_CONF|g")
    for kv in "$@"; do
        sed_args+=(-e "s|@${kv%%=*}@|${kv#*=}|g")
    done
    sed "${sed_args[@]}" "$tpl" >"$out"
    if grep -En '@[A-Z0-9_]+@' "$out" >&2; then
        e2e_fail "unreplaced placeholder in $out (from $tpl)"
    fi
}

# e2e_start_dnsmasq NAME PORT CONF [ARGS...]: real dnsmasq in the foreground with -d (no
# privilege drop: setgroups is denied in a user namespace; note -d also keeps TCP in-process),
# listening on 127.0.0.1#PORT, logging to $E2E_TMP/NAME.err. CONF should say no-resolv/no-hosts
# and must not set port, listen-address or log-facility (they come from here).
e2e_start_dnsmasq()
{
    local name=$1 port=$2 conf=$3
    shift 3
    [[ -x "$DNSMASQ" ]] || e2e_skip "dnsmasq not found at $DNSMASQ"
    e2e_spawn "$name" "$DNSMASQ" -d -C "$conf" --port="$port" --listen-address=127.0.0.1 \
        --bind-interfaces --pid-file= --log-facility=- "$@"
    e2e_wait_listen udp 127.0.0.1 "$port" "$name"
    e2e_wait_listen tcp 127.0.0.1 "$port" "$name"
}

# e2e_require_dnsroute: fails (not skips) when the daemon binary is missing: a build problem.
e2e_require_dnsroute()
{
    [[ -x "$DNSROUTE_BIN" ]] || e2e_fail "dnsroute binary not found: $DNSROUTE_BIN"
}

# e2e_require_dnsmasq: the oracle, dnsmasq 2.90, or the test is skipped.
e2e_require_dnsmasq()
{
    [[ -x "$DNSMASQ" ]] || e2e_skip "dnsmasq not found at $DNSMASQ"
}

# e2e_bind_etc SRC:DEST...: from here on DNSROUTE_BIN and DNSMASQ run in a mount namespace of
# their own with each SRC bind-mounted over DEST (the test's hosts file over /etc/hosts, say), so
# the machine's files are never touched. The wrappers exec, so a recorded pid is the program's.
# Skips the test when such bind mounts are not possible here. Paths must not contain quotes.
e2e_bind_etc()
{
    command -v mount >/dev/null || e2e_skip "mount(8) not found"
    local m mounts="" prog
    for m in "$@"; do
        mounts+="mount --bind \"${m%%:*}\" \"${m#*:}\" && "
    done
    unshare -m sh -c "${mounts}true" 2>/dev/null ||
        e2e_skip "cannot bind-mount over ${*##*:} in a private mount namespace"
    for prog in dnsroute:"$DNSROUTE_BIN" dnsmasq:"$DNSMASQ"; do
        printf '#!/bin/sh\nexec unshare -m sh -c '"'"'%s exec "$0" "$@"'"'"' "%s" "$@"\n' \
            "$mounts" "${prog#*:}" >"$E2E_TMP/${prog%%:*}-wrap"
        chmod +x "$E2E_TMP/${prog%%:*}-wrap"
    done
    DNSROUTE_BIN="$E2E_TMP/dnsroute-wrap" DNSMASQ="$E2E_TMP/dnsmasq-wrap"
}

# e2e_start_dnsroute NAME PORT CONF [ARGS...]: the daemon under test with dnsmasq's command
# line (-k: foreground), listening on 127.0.0.1#PORT, logging to $E2E_TMP/NAME.err. The same
# CONF files as for e2e_start_dnsmasq work here (that is the point of the differential test).
e2e_start_dnsroute()
{
    local name=$1 port=$2 conf=$3
    shift 3
    e2e_require_dnsroute
    # One worker unless the test asks for more: dnsmasq's per-group server selection state
    # (last_server, re-probing) is kept per worker, and most tests check it query by query.
    local workers=--workers=${E2E_WORKERS:-1} a
    for a in "$@"; do [[ "$a" == --workers=* ]] && workers=; done
    e2e_spawn "$name" "$DNSROUTE_BIN" -k -C "$conf" --port="$port" \
        --listen-address=127.0.0.1 --log-facility=- $workers "$@"
    e2e_wait_listen udp 127.0.0.1 "$port" "$name"
    e2e_wait_listen tcp 127.0.0.1 "$port" "$name"
}

# e2e_wait_log NAME ERE [SECONDS]: waits (default max 10 s, wall-clock) until a line of NAME's output
# ($E2E_TMP/NAME.err) matches ERE; fails the test otherwise.
e2e_wait_log()
{
    local f="$E2E_TMP/$1.err" end
    end=$(e2e_deadline "${3:-10}")
    while e2e_before "$end"; do
        grep -Eq -- "$2" "$f" 2>/dev/null && return 0
        sleep 0.05
    done
    e2e_fail "/$2/ not in $1's output within ${3:-10} s"
}

# e2e_signal NAME SIG: sends a signal (e.g. HUP) to a started process.
e2e_signal() { kill -"$2" "${E2E_PIDS[$1]}"; }

# ---- queries ------------------------------------------------------------------------------

# Servers are written ADDR#PORT (e.g. 127.0.0.1#5353, ::1#5353); the port defaults to 53.
e2e__server_args()
{
    local addr=${1%%#*} port=53
    [[ "$1" == *#* ]] && port=${1##*#}
    printf '%s\n' "@$addr" -p "$port"
}

# e2e_dig SERVER NAME [TYPE] [DIG_OPTS...]: raw dig output (1 try, 2 s timeout, no cookie,
# so answers do not depend on a random client cookie).
e2e_dig()
{
    local server=$1 name=$2 type=${3:-A}
    shift 2
    (($#)) && shift
    local -a sa
    mapfile -t sa < <(e2e__server_args "$server")
    dig "${sa[@]}" +tries=1 +time=2 +nocookie "$name" "$type" "$@" 2>&1 || true
}

# e2e_short SERVER NAME [TYPE] [DIG_OPTS...]: the +short answer, sorted, one value per line.
e2e_short()
{
    e2e_dig "$@" +short | grep -v '^;;' | LC_ALL=C sort || true
}

# e2e_wait_short SERVER NAME EXPECTED WHAT [SECONDS]: asks SERVER for NAME (A, +short) until the
# answer is EXPECTED ("" for none), then asserts it. The bound is wall-clock time (default 10 s),
# not a number of tries: on a loaded machine each dig takes longer, and a change the daemon reads
# on its own (inotify, a rewritten file) may take a second or more to be served.
e2e_wait_short()
{
    local got end
    end=$(e2e_deadline "${5:-10}")
    while :; do
        got=$(e2e_short "$1" "$2")
        [[ "$got" == "$3" ]] || ! e2e_before "$end" && break
        sleep 0.05
    done
    e2e_assert_eq "$3" "$got" "$4"
}

# e2e_ask NS SERVER PORT [SECONDS]: from namespace NS (e2e_mkns), asks SERVER#PORT for
# test.example A once; prints the short answer, or "none" when nothing came back within SECONDS
# (default 3). Checks that nothing comes pass 1 (a late answer counts as none there); positive
# checks keep the default, so a slow answer on a busy machine is still an answer.
e2e_ask()
{
    local r
    r=$(e2e_on "$1" dig @"$2" -p "$3" +tries=1 +time="${4:-3}" +short test.example A 2>/dev/null |
        grep -v '^;;' || true)
    echo "${r:-none}"
}

# e2e_norm: reads dig output (with comments) on stdin and prints a comparable form:
#   rcode NOERROR / flags qr rd ra / edns udp=1232 do=0 / an|ns|ar <owner> <class> <type> <rdata>
# Owners are lower-cased, TTLs dropped (E2E_KEEP_TTL=1 keeps them), IDs dropped, RRs sorted.
e2e_norm()
{
    awk -v keep_ttl="${E2E_KEEP_TTL:-0}" '
        /^;; (connection timed out|communications error|no servers could be reached)/ {
                    print "0 rcode TIMEOUT"; next }
        /^;; ->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/,.*/, "", s);
                             print "0 rcode " s; next }
        /^;; flags:/ { s = $0; sub(/^;; flags: */, "", s); sub(/;.*/, "", s);
                       n = split(s, f, " ");
                       for (i = 2; i <= n; i++)
                           for (j = i; j > 1 && f[j - 1] > f[j]; j--) {
                               t = f[j]; f[j] = f[j - 1]; f[j - 1] = t }
                       o = "";
                       for (i = 1; i <= n; i++) o = o " " f[i];
                       print "1 flags" o; next }
        /^; EDNS:/ { u = $0; sub(/.*udp: /, "", u); d = ($0 ~ /flags:[^;]*do/) ? 1 : 0;
                     print "2 edns udp=" u " do=" d; next }
        /^;; ANSWER SECTION:/ { sec = "an"; next }
        /^;; AUTHORITY SECTION:/ { sec = "ns"; next }
        /^;; ADDITIONAL SECTION:/ { sec = "ar"; next }
        /^;; [A-Z ]+SECTION:/ { sec = ""; next }
        /^;/ || /^$/ { next }
        sec != "" { o = tolower($1); rest = "";
                    start = keep_ttl ? 2 : 3;
                    for (i = start; i <= NF; i++) rest = rest " " $i;
                    print "3 " sec " " o rest }
    ' | LC_ALL=C sort -u | cut -d' ' -f2-
}

# e2e_answer SERVER NAME [TYPE] [DIG_OPTS...]: normalised answer (see e2e_norm).
e2e_answer()
{
    e2e_dig "$@" +noall +comments +answer +authority +additional | e2e_norm
}

# e2e_rcode SERVER NAME [TYPE] [DIG_OPTS...]: just the status (NOERROR, NXDOMAIN, TIMEOUT...).
e2e_rcode()
{
    local r
    r=$(e2e_answer "$@" | sed -n 's/^rcode //p' | head -n1)
    echo "${r:-NONE}"
}

# e2e_kdig SERVER NAME [TYPE] [KDIG_OPTS...]: raw kdig output (for +tcp, +edns=, +bufsize=,
# +dnssec, +keepopen pipelining...).
e2e_kdig()
{
    local server=$1 name=$2 type=${3:-A}
    shift 2
    (($#)) && shift
    local -a sa
    mapfile -t sa < <(e2e__server_args "$server")
    kdig "${sa[@]}" +retry=0 +timeout=2 +nocookie "$name" "$type" "$@" 2>&1 || true
}

# e2e_diff_servers SERVER_A SERVER_B QUERYFILE: runs every query of QUERYFILE against both
# servers and compares the normalised answers. QUERYFILE lines: `name [type] [dig opts...]`,
# '#' comments. Prints each difference as a unified diff; returns the number of differing
# queries (0 = identical). The caller asserts on the count.
e2e_diff_servers()
{
    local a=$1 b=$2 file=$3 line diffs=0 total=0
    local -a q
    while IFS= read -r line || [[ -n "$line" ]]; do
        line=${line%%#*}
        read -r -a q <<<"$line"
        ((${#q[@]})) || continue
        total=$((total + 1))
        [[ ${#q[@]} -ge 2 ]] || q+=(A)
        local ra rb
        ra=$(e2e_answer "$a" "${q[@]}")
        rb=$(e2e_answer "$b" "${q[@]}")
        if [[ "$ra" != "$rb" ]]; then
            diffs=$((diffs + 1))
            echo "--- differs: ${q[*]}" >&2
            diff -u --label "$a" --label "$b" <(echo "$ra") <(echo "$rb") >&2 || true
        fi
    done <"$file"
    e2e_log "e2e_diff_servers $a vs $b: $diffs of $total queries differ"
    return "$diffs"
}

# e2e_batch SERVER QUERYFILE: every query of QUERYFILE (`name [class] [type] [dig opts]`) in one
# dig run (a dig process per query is too slow for a few hundred queries on a loaded machine),
# normalised as e2e_norm does (TTLs kept: local-ttl is compared too), one line per record
# prefixed with the query's number: "N rcode NOERROR", "N flags aa qr rd ra", "N an ...".
e2e_batch()
{
    local -a sa args=() one
    mapfile -t sa < <(e2e__server_args "$1")
    while read -r -a one; do
        ((${#one[@]})) && args+=("${one[@]}")
    done <"$2"
    dig "${sa[@]}" +tries=1 +time=2 +nocookie +noall +comments +answer +authority +additional \
        "${args[@]}" 2>&1 | awk '
        /^;; (Got answer:|connection timed out|communications error)/ { n++; sec = "" }
        /^;; (connection timed out|communications error)/ { print n, 0, "rcode TIMEOUT"; next }
        /^;; ->>HEADER<<-/ { s = $0; sub(/.*status: /, "", s); sub(/,.*/, "", s);
                             print n, 0, "rcode " s; next }
        /^;; flags:/ { s = $0; sub(/^;; flags: */, "", s); sub(/;.*/, "", s);
                       m = split(s, f, " ");
                       for (i = 2; i <= m; i++)
                           for (j = i; j > 1 && f[j - 1] > f[j]; j--) {
                               t = f[j]; f[j] = f[j - 1]; f[j - 1] = t }
                       o = "";
                       for (i = 1; i <= m; i++) o = o " " f[i];
                       print n, 1, "flags" o; next }
        /^; EDNS:/ { u = $0; sub(/.*udp: /, "", u); d = ($0 ~ /flags:[^;]*do/) ? 1 : 0;
                     print n, 2, "edns udp=" u " do=" d; next }
        /^;; ANSWER SECTION:/ { sec = "an"; next }
        /^;; AUTHORITY SECTION:/ { sec = "ns"; next }
        /^;; ADDITIONAL SECTION:/ { sec = "ar"; next }
        /^;; [A-Z ]+SECTION:/ { sec = ""; next }
        /^;/ || /^$/ { next }
        sec != "" { o = tolower($1); rest = "";
                    for (i = 2; i <= NF; i++) rest = rest " " $i;
                    print n, 3, sec " " o rest }' | LC_ALL=C sort -u -k1,1n -k2,2n -k3 |
        cut -d' ' -f1,3-
}

# e2e_diff_batch A B QUERYFILE [SED]: compares the replies of server A (dnsroute) and B (dnsmasq,
# which must answer every query) to every query of QUERYFILE, each line passed through SED (e.g.
# to mask a text); prints the differing queries and returns their number.
e2e_diff_batch()
{
    local dr=$1 dm=$2 file=$3 mask=${4:-} n i
    e2e_batch "$dr" "$file" | sed -E "$mask" >"$E2E_TMP/a"
    e2e_batch "$dm" "$file" | sed -E "$mask" >"$E2E_TMP/b"
    e2e_assert_eq "$(grep -c . "$file")" "$(cut -d' ' -f1 "$E2E_TMP/b" | sort -u | grep -c .)" \
        "dnsmasq answered every query of $file"
    diff "$E2E_TMP/b" "$E2E_TMP/a" >"$E2E_TMP/d" || true
    n=$(sed -n 's/^[<>] \([0-9]*\) .*/\1/p' "$E2E_TMP/d" | sort -un | grep -c . || true)
    for i in $(sed -n 's/^[<>] \([0-9]*\) .*/\1/p' "$E2E_TMP/d" | sort -un); do
        echo "--- differs: $(grep . "$file" | sed -n "${i}p")" >&2
        grep "^[<>] $i " "$E2E_TMP/d" | sed 's/^</dnsmasq /; s/^>/dnsroute/' >&2
    done
    e2e_log "e2e_diff_batch $file: $n of $(grep -c . "$file") queries differ"
    return "$n"
}

# e2e_gen_queryfile OUT COUNT DOMAIN_OR_FILE...: writes a dnsperf query file (`name type` per
# line) with COUNT lines, deterministic. Each DOMAIN (or each domain read from a FILE: plain
# names, or dnsmasq `server=/domain/...` lines as in the china-list) is used in turn, as
# `q<N>.<domain>`; every fourth query is AAAA.
e2e_gen_queryfile()
{
    local out=$1 count=$2
    shift 2
    local -a doms=()
    local d
    for d in "$@"; do
        if [[ -f "$d" ]]; then
            mapfile -t -O "${#doms[@]}" doms < <(sed -n -e 's|^server=/\([^/]*\)/.*|\1|p' \
                -e '/^[A-Za-z0-9][A-Za-z0-9.-]*$/p' "$d")
        else
            doms+=("$d")
        fi
    done
    ((${#doms[@]})) || e2e_fail "e2e_gen_queryfile: no domains"
    awk -v n="$count" '{ d[NR - 1] = $0 } END {
        for (i = 0; i < n; i++)
            printf "q%d.%s %s\n", i, d[i % NR], (i % 4 == 3) ? "AAAA" : "A" }' \
        < <(printf '%s\n' "${doms[@]}") >"$out"
}

# ---- fake upstream query log ----------------------------------------------------------------

# e2e_qlog NAME: path of fake NAME's query log (one line per received query, key=value fields:
# ts lis proto src sport len id qname qtype qclass rd cd edns do ver act line [hex]).
e2e_qlog() { echo "$E2E_TMP/$1.qlog"; }

# e2e_qlog_count NAME [ERE]: number of logged queries (matching ERE).
e2e_qlog_count()
{
    grep -Ec -- "${2:-.}" "$(e2e_qlog "$1")" || true
}

# e2e_qlog_field NAME FIELD [ERE]: the values of one field (e.g. sport, id, qname), one per line,
# of the queries matching ERE.
e2e_qlog_field()
{
    grep -E -- "${3:-.}" "$(e2e_qlog "$1")" | tr ' ' '\n' | sed -n "s/^$2=//p" || true
}

# e2e_wait_qlog NAME COUNT [ERE]: waits (max 10 s) until at least COUNT matching queries arrived.
e2e_wait_qlog()
{
    local end
    end=$(e2e_deadline 10)
    while e2e_before "$end"; do
        (($(e2e_qlog_count "$1" "${3:-.}") >= $2)) && return 0
        sleep 0.05
    done
    e2e_fail "fake $1 logged fewer than $2 queries matching /${3:-.}/"
}

# ---- kernel sets --------------------------------------------------------------------------

# e2e_require_ipset: skips the test unless ipset(8) can create a set here.
e2e_require_ipset()
{
    command -v ipset >/dev/null || e2e_skip "ipset(8) not found"
    ipset create e2e_probe hash:ip 2>/dev/null || e2e_skip "ipset does not work in this namespace"
    ipset destroy e2e_probe
}

# e2e_ipset_create NAME TYPE [OPTS...]: e.g. e2e_ipset_create t6 hash:ip family inet6
e2e_ipset_create() { ipset create "$@"; }

# e2e_ipset_has SET ADDR: true when ADDR is in the kernel set.
e2e_ipset_has() { ipset test "$1" "$2" 2>/dev/null; }

# e2e_ipset_members SET: the members, sorted, one per line.
e2e_ipset_members()
{
    ipset list "$1" | sed -n '/^Members:/,$p' | tail -n +2 | awk '{print $1}' | LC_ALL=C sort
}

# e2e_require_nft: skips the test unless nft(8) can create a table here.
e2e_require_nft()
{
    command -v nft >/dev/null || e2e_skip "nft(8) not found"
    nft add table inet e2e_probe 2>/dev/null || e2e_skip "nftables does not work in this namespace"
    nft delete table inet e2e_probe
}

# e2e_nftset_create FAMILY TABLE SET ADDR_TYPE: creates the table (if needed) and a set, e.g.
#   e2e_nftset_create inet e2e s4 ipv4_addr
e2e_nftset_create()
{
    nft add table "$1" "$2"
    nft add set "$1" "$2" "$3" "{ type $4; }"
}

# e2e_nftset_has FAMILY TABLE SET ADDR: true when ADDR is an element of the nftables set.
e2e_nftset_has() { nft get element "$1" "$2" "$3" "{ $4 }" >/dev/null 2>&1; }

# e2e_nftset_members FAMILY TABLE SET: the elements, sorted, one per line.
e2e_nftset_members()
{
    nft list set "$1" "$2" "$3" | tr -d '\n' | sed -n 's/.*elements = {\([^}]*\)}.*/\1/p' |
        tr ',' '\n' | tr -d ' \t' | grep . | LC_ALL=C sort || true
}

# e2e_mkns NAME: a new network namespace (lo up) held by a sleeping process that the cleanup
# ends; its holder's pid is E2E_NS[NAME]. e2e_on NAME CMD...: runs CMD in it (nsenter).
declare -gA E2E_NS=()
e2e_mkns()
{
    command -v nsenter >/dev/null || e2e_skip "nsenter not found"
    e2e_spawn "ns_$1" unshare -n sleep infinity
    local end
    end=$(e2e_deadline 10)
    until [[ "$(readlink "/proc/${E2E_PIDS[ns_$1]}/ns/net")" != "$(readlink /proc/self/ns/net)" ]]; do
        e2e_before "$end" || e2e_fail "namespace $1 not created after 10 s"
        sleep 0.02
    done
    E2E_NS[$1]=${E2E_PIDS[ns_$1]}
    e2e_on "$1" ip link set lo up
}
e2e_on() { local n=$1; shift; nsenter -t "${E2E_NS[$n]}" -n "$@"; }

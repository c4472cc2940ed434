# shellcheck shell=bash
# bench_lib.sh - shared parts of the side-by-side benchmarks (bench_forward.sh, bench_ipset.sh,
# bench_cache.sh): dnsroute, dnsmasq 2.90 and smartdns run one after the other in ONE private
# network namespace (tests/e2e/lib.sh), against the same fake upstream, with the same
# configuration (converted to smartdns syntax) and the same dnsperf load.
#
# Upstreams (one fake_upstream process, no query log so it is not the bottleneck):
#   114.114.114.114#53 (tag china): every china-list name; the A/AAAA answer depends on the TLD
#       (10.<t>.0.1,10.<t>.0.2 / fd00:<t>::1 for the t-th most common TLD, 10.250.0.1 otherwise),
#       so the sets receive a predictable, non-trivial set of addresses;
#   127.0.0.2#53 (tag def): everything else: 198.51.100.1 / 2001:db8::1 (never in a set).
#
# The reference: a trivial responder (bench/trivial_responder.c: recvmmsg/sendmmsg, a fixed
# answer, no logic) takes its turn like the servers, and every server's CPU per answered query is
# also printed as a multiple of its CPU per query ("x trivial"). For forwarding, the program
# "trivfwd" (bench/trivial_forwarder.c: the same batches towards the clients, each query sent
# upstream from a random one of 1,024 pool sockets under a random ID, answers read from whichever
# pool socket is ready and matched to the socket they left from, nothing else) is the floor of
# forwarding with random source ports ("x trivfwd"); "trivfwd1" is the same program with one
# fixed source port, upstream traffic batched both ways (sendmmsg/recvmmsg): the floor of a
# forwarder that gives up source port randomness. The forwarding benches run both by default.
#
# Environment: DNSROUTE_BIN, FAKE_UPSTREAM, TRIVIAL_RESPONDER (default: the release build),
# DNSROUTE_CHINA_LIST (the dnsmasq-china-list directory; tests/e2e/lib.sh's default), DNSMASQ,
# SMARTDNS, BENCH_SECONDS (dnsperf -l, default 10), BENCH_RUNS (default 3), BENCH_CLIENTS (-c,
# default 4), BENCH_OUTSTANDING (-q, default 200), BENCH_PROGRAMS (default "trivial dnsroute
# dnsmasq smartdns"), BENCH_RECORDS (A records per china answer, default 2),
# BENCH_PERF=1 (perf record -g the daemon during its first measured run; the report is kept;
# BENCH_PERF_ARGS replaces -g, e.g. "-e cpu-clock:u" for user space alone),
# BENCH_SYSCALLS=1 (perf stat counts every program's system calls during each measured run and
# prints them per answered query, by kind; root only: E2E_NETNS_MODE=root),
# BENCH_WORKERS (dnsroute --workers, default 0: one per CPU), BENCH_BASELINE_BIN (another
# dnsroute binary, run as the program "baseline": before/after figures of a change in one run,
# e.g. BENCH_PROGRAMS="trivial baseline dnsroute").
# Bash, under `set -euo pipefail`; every started process is killed at exit (lib.sh's trap).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_SRC=$(cd "$BENCH_DIR/.." && pwd)
: "${DNSROUTE_SOURCE_DIR:=$BENCH_SRC}"
: "${DNSROUTE_BIN:=$BENCH_SRC/build/release/dnsroute}"
: "${FAKE_UPSTREAM:=$BENCH_SRC/build/release/tests/e2e/fake_upstream}"
: "${TRIVIAL_RESPONDER:=$BENCH_SRC/build/release/bench/trivial_responder}"
: "${TRIVIAL_FORWARDER:=$BENCH_SRC/build/release/bench/trivial_forwarder}"
: "${SMARTDNS:=/usr/sbin/smartdns}"
: "${BENCH_SECONDS:=10}" "${BENCH_RUNS:=3}" "${BENCH_CLIENTS:=4}" "${BENCH_OUTSTANDING:=200}"
: "${BENCH_PROGRAMS:=trivial dnsroute dnsmasq smartdns}" "${BENCH_RECORDS:=2}"
export DNSROUTE_SOURCE_DIR DNSROUTE_BIN FAKE_UPSTREAM TRIVIAL_RESPONDER TRIVIAL_FORWARDER SMARTDNS
export BENCH_SECONDS BENCH_RUNS BENCH_CLIENTS BENCH_OUTSTANDING BENCH_PROGRAMS BENCH_RECORDS
# shellcheck source=../tests/e2e/lib.sh
. "$BENCH_SRC/tests/e2e/lib.sh"

BENCH_PORT=5300           # every program listens here in turn (one at a time)
BENCH_SERVER=127.0.0.1#$BENCH_PORT
BENCH_TLDS=()             # the TLDs with their own answer in the scenario, most common first

# bench_enter ARGS...: the namespace (the whole script is bounded by timeout: the runs, the
# start-ups and the checks, generously).
bench_enter()
{
    local nprog
    nprog=$(wc -w <<<"$BENCH_PROGRAMS")
    : "${E2E_TIMEOUT:=$((BENCH_RUNS * nprog * (BENCH_SECONDS + 40) + 120))}"
    export E2E_TIMEOUT
    e2e_enter_netns "$@"
    e2e_require_dnsroute
    [[ -x "$FAKE_UPSTREAM" ]] || e2e_fail "fake_upstream not built: $FAKE_UPSTREAM"
    if [[ " $BENCH_PROGRAMS " == *" trivial "* && ! -x "$TRIVIAL_RESPONDER" ]]; then
        e2e_fail "trivial_responder not built: $TRIVIAL_RESPONDER"
    fi
    if [[ " $BENCH_PROGRAMS " == *" trivfwd"* && ! -x "$TRIVIAL_FORWARDER" ]]; then
        e2e_fail "trivial_forwarder not built: $TRIVIAL_FORWARDER"
    fi
    command -v dnsperf >/dev/null || e2e_skip "dnsperf not installed"
    e2e_add_addr 127.0.0.2/32 2>/dev/null || true
    BENCH_OUT=$E2E_TMP/results
    : >"$BENCH_OUT"
}

# bench_header TITLE: what runs, where, and the machine's load now.
bench_header()
{
    echo "== $1"
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')   load: $(cut -d' ' -f1-3 /proc/loadavg)  cpus: $(nproc)"
    echo "dnsroute: $DNSROUTE_BIN, built $(date -u -r "$DNSROUTE_BIN" '+%Y-%m-%d %H:%M UTC'), tree $(git -C "$BENCH_SRC" rev-parse --short HEAD 2>/dev/null || echo '?')$(bench_stale_note "$DNSROUTE_BIN")"
    echo "dnsmasq:  $("$DNSMASQ" --version | head -1)"
    echo "smartdns: $(dpkg-query -W -f='${Version}' smartdns 2>/dev/null || echo '?')"
    echo "load:     dnsperf -l $BENCH_SECONDS -c $BENCH_CLIENTS -q $BENCH_OUTSTANDING, $BENCH_RUNS runs each, programs in turn"
}

# bench_stale_note BIN: a warning when a source file of the tree is newer than BIN (the scripts
# build nothing: a forgotten rebuild would measure old code under the tree's name).
bench_stale_note()
{
    [[ -n $(find "$BENCH_SRC/src" "$BENCH_SRC/include" -newer "$1" -print -quit 2>/dev/null) ]] &&
        echo "  STALE: sources newer than this binary, rebuild (cmake --build --preset release)"
    return 0
}

# bench_domains OUT: one china-list domain per line: the real list when present (accelerated,
# apple, google), otherwise an equivalent generated list (110,000 names, the real TLD mix).
bench_domains()
{
    local list=$DNSROUTE_CHINA_LIST
    if [[ -n $list && -f $list/accelerated-domains.china.conf ]]; then
        sed -n 's|^server=/\([^/]*\)/.*|\1|p' "$list/accelerated-domains.china.conf" \
            "$list/apple.china.conf" "$list/google.china.conf" | awk '!seen[$0]++' >"$1"
        BENCH_LIST="china-list $(sed -n 's/^Snapshot commit *: //p' "$list/SOURCE.txt" 2>/dev/null | cut -c1-12)"
    else
        awk 'BEGIN { srand(7); split("com com com com com com com com com com com com net cn org cc", t, " ");
                     for (i = 0; i < 110000; i++) {
                         n = ""; l = 4 + int(rand() * 8);
                         for (j = 0; j < l; j++) n = n substr("abcdefghijklmnopqrstuvwxyz0123456789", 1 + int(rand() * 36), 1);
                         printf "%s%d.%s\n", n, i, t[1 + int(rand() * 16)] } }' >"$1"
        BENCH_LIST="generated (no china list at DNSROUTE_CHINA_LIST=${list:-(unset)})"
    fi
    echo "list:     $BENCH_LIST, $(wc -l <"$1") domains"
}

# bench_a_list T: the BENCH_RECORDS addresses of the t-th TLD's A answer, comma-separated
# (10.<t>.0.1,10.<t>.0.2 for the default 2).
bench_a_list()
{
    awk -v t="$1" -v n="$BENCH_RECORDS" 'BEGIN { for (j = 0; j < n; j++)
        printf "%s10.%d.%d.%d", j ? "," : "", t, int(j / 250), j % 250 + 1; print "" }'
}

# bench_scenario DOMAINS OUT: the fake upstream's rules (see the file comment).
bench_scenario()
{
    mapfile -t BENCH_TLDS < <(awk -F. '{print $NF}' "$1" | sort | uniq -c | sort -k1,1nr -k2 |
        awk 'NR <= 40 {print $2}')
    local i
    {
        for i in "${!BENCH_TLDS[@]}"; do
            echo "@china *.${BENCH_TLDS[i]} A a $(bench_a_list $((i + 1)))"
            echo "@china *.${BENCH_TLDS[i]} AAAA aaaa fd00:$((i + 1))::1"
        done
        echo "@china * A a 10.250.0.1"
        echo "@china * AAAA aaaa fd00:250::1"
        echo "@def * A a 198.51.100.1"
        echo "@def * AAAA aaaa 2001:db8::1"
    } >"$2"
}

# bench_expect NAME TYPE: the answer the fake gives for NAME (sorted, one per line).
bench_expect()
{
    local name=$1 type=$2 tld=${1##*.} i
    if [[ $name == *.nonchina* ]]; then
        [[ $type == A ]] && echo 198.51.100.1 || echo 2001:db8::1
        return
    fi
    for i in "${!BENCH_TLDS[@]}"; do
        if [[ ${BENCH_TLDS[i]} == "$tld" ]]; then
            [[ $type == A ]] && bench_a_list $((i + 1)) | tr , '\n' ||
                echo "fd00:$((i + 1))::1"
            return
        fi
    done
    [[ $type == A ]] && echo 10.250.0.1 || echo fd00:250::1
}

# bench_start_fake SCENARIO: the two upstreams in one process, without a query log.
bench_start_fake()
{
    rm -f "$E2E_TMP/fake.pid"
    e2e_spawn fake "$FAKE_UPSTREAM" -s "$1" -p "$E2E_TMP/fake.pid" \
        -l 114.114.114.114#53@china -l 127.0.0.2#53@def
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s "$E2E_TMP/fake.pid" ]] && return 0
        e2e_alive fake || e2e_fail "fake upstream failed to start"
        sleep 0.05
    done
    e2e_fail "fake upstream not ready after 5 s"
}

# bench_queryfile DOMAINS OUT COUNT: COUNT queries `q<i>.<random china domain>`, every 10th
# name under a non-china domain (nonchina<k>.example), every 8th query AAAA. Deterministic.
bench_queryfile()
{
    awk -v n="$3" 'BEGIN { srand(42) } { d[NR] = $0 } END {
        for (i = 0; i < n; i++) {
            t = (i % 8 == 7) ? "AAAA" : "A";
            if (i % 10 == 9)
                printf "q%d.nonchina%d.example %s\n", i, i % 97, t;
            else
                printf "q%d.%s %s\n", i, d[1 + int(rand() * NR)], t } }' "$1" >"$2"
}

# bench_bogus OUT: the china list's bogus-nxdomain= lines (bogus-nxdomain.china.conf), or as
# many generated ones (addresses no answer of the scenario uses) when the list is absent.
bench_bogus()
{
    local f=$DNSROUTE_CHINA_LIST/bogus-nxdomain.china.conf
    if [[ -n $DNSROUTE_CHINA_LIST && -f $f ]]; then
        grep '^bogus-nxdomain=' "$f" >"$1"
    else
        awk 'BEGIN { srand(11); for (i = 0; i < 163; i++) printf "bogus-nxdomain=%d.%d.%d.%d\n",
                     1 + int(rand() * 9), int(rand() * 256), int(rand() * 256), 1 + int(rand() * 254);
                     print "bogus-nxdomain=2001:240:bb5f:1980:0:1:80b:ad00";
                     print "bogus-nxdomain=2001:240:bb46:8267:0:1:dae1:f840" }' >"$1"
    fi
}

# bench_sets_create MODE: ipset (hash:ip sets set4, set6 family inet6) or nft (table inet bench,
# sets set4, set6) in the namespace; MODE is kept for the other bench_sets_* functions.
bench_sets_create()
{
    BENCH_SET_MODE=$1
    if [[ $BENCH_SET_MODE == ipset ]]; then
        e2e_require_ipset
        ipset create set4 hash:ip maxelem 1000000
        ipset create set6 hash:ip family inet6 maxelem 1000000
    else
        e2e_require_nft
        nft add table inet bench
        nft add set inet bench set4 '{ type ipv4_addr; }'
        nft add set inet bench set6 '{ type ipv6_addr; }'
    fi
}

# bench_sets_flush / bench_sets_members SET: empty both sets / the addresses in one, one per line.
bench_sets_flush()
{
    if [[ $BENCH_SET_MODE == ipset ]]; then
        ipset flush set4
        ipset flush set6
    else
        nft flush set inet bench set4
        nft flush set inet bench set6
    fi
}
bench_sets_members()
{
    if [[ $BENCH_SET_MODE == ipset ]]; then
        e2e_ipset_members "$1"
    else
        e2e_nftset_members inet bench "$1"
    fi
}

# bench_sets_check PROG RUN QUERYFILE: after PROG's dnsperf run RUN over QUERYFILE, the sets must
# hold exactly the addresses of the china names that were asked (each TLD's answer; the whole
# file when the load went round it, else the part sent, plus the dig checks) and no non-china
# answer.
bench_sets_check()
{
    local got4 got6 exp4 exp6 n4 n6 sent asked=$E2E_TMP/asked
    sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$E2E_TMP/dnsperf.$1.$2")
    head -n "$sent" "$3" | cat - <(head -n 8 "$3") >"$asked"
    got4=$(bench_sets_members set4)
    got6=$(bench_sets_members set6)
    n4=$(grep -c . <<<"$got4" || true)
    n6=$(grep -c . <<<"$got6" || true)
    [[ $BENCH_SET_MODE == ipset ]] && echo "  ipset list -t: $(ipset list -t set4 | sed -n 's/^Number of entries: /set4 /p'), $(ipset list -t set6 | sed -n 's/^Number of entries: /set6 /p')"
    exp4=$(for n in $(awk '$2 == "A" && $1 !~ /\.nonchina/ {n = split($1, l, "."); print "x." l[n]}' "$asked" | sort -u); do
        bench_expect "$n" A; done | LC_ALL=C sort -u)
    exp6=$(for n in $(awk '$2 == "AAAA" && $1 !~ /\.nonchina/ {n = split($1, l, "."); print "x." l[n]}' "$asked" | sort -u); do
        bench_expect "$n" AAAA; done | LC_ALL=C sort -u)
    local bad=0
    if [[ "$(LC_ALL=C sort <<<"$got4")" != "$exp4" ]]; then
        echo "  INVALID: set4 has $n4 entries, expected $(grep -c . <<<"$exp4"):" \
            "missing [$(comm -13 <(LC_ALL=C sort <<<"$got4") <(echo "$exp4") | head -5 | tr '\n' ' ')]" \
            "extra [$(comm -23 <(LC_ALL=C sort <<<"$got4") <(echo "$exp4") | head -5 | tr '\n' ' ')]"
        bad=1
    fi
    if [[ "$(LC_ALL=C sort <<<"$got6")" != "$exp6" ]]; then
        echo "  INVALID: set6 has $n6 entries, expected $(grep -c . <<<"$exp6"):" \
            "missing [$(comm -13 <(LC_ALL=C sort <<<"$got6") <(echo "$exp6") | head -5 | tr '\n' ' ')]" \
            "extra [$(comm -23 <(LC_ALL=C sort <<<"$got6") <(echo "$exp6") | head -5 | tr '\n' ' ')]"
        bad=1
    fi
    ((bad == 0)) && echo "  sets: set4 $n4, set6 $n6 entries = every answered china address, no other"
    return "$bad"
}

# bench_dnsmasq_conf DOMAINS OUT MODE [CACHE]: the configuration dnsroute and dnsmasq share.
# MODE: forward | ipset | nft. CACHE: cache-size (default 0).
bench_dnsmasq_conf()
{
    local doms=$1 out=$2 mode=$3 cache=${4:-0}
    {
        printf '%s\n' no-resolv no-hosts "cache-size=$cache" dns-forward-max=5000 \
            server=127.0.0.2
        sed 's|.*|server=/&/114.114.114.114|' "$doms"
        case $mode in
        ipset) sed 's|.*|ipset=/&/set4,set6|' "$doms" ;;
        nft) sed 's|.*|nftset=/&/4#inet#bench#set4,6#inet#bench#set6|' "$doms" ;;
        esac
    } >"$out"
}

# bench_smartdns_conf DOMAINS OUT MODE [CACHE]: the same in smartdns syntax (cache 0 = off).
bench_smartdns_conf()
{
    local doms=$1 out=$2 mode=$3 cache=${4:-0}
    {
        echo "bind 127.0.0.1:$BENCH_PORT"
        echo "server 114.114.114.114 -group china -exclude-default-group"
        echo "server 127.0.0.2"
        echo "cache-size $cache"
        echo "cache-persist no"
        echo "speed-check-mode none"
        echo "response-mode fastest-response"
        echo "dualstack-ip-selection no"
        echo "serve-expired no"
        echo "prefetch-domain no"
        echo "log-level error"
        echo "log-file $E2E_TMP/smartdns.log"
        echo "audit-enable no"
        sed 's|.*|nameserver /&/china|' "$doms"
        case $mode in
        ipset) sed 's|.*|ipset /&/#4:set4,#6:set6|' "$doms" ;;
        nft) sed 's|.*|nftset /&/#4:inet#bench#set4,#6:inet#bench#set6|' "$doms" ;;
        esac
    } >"$out"
}

# bench_start PROG CONF: starts PROG on 127.0.0.1#BENCH_PORT (process name = PROG) and waits
# until it answers (loading 220k lines takes a while).
bench_start()
{
    local prog=$1 conf=$2 i
    case $prog in
    trivial) e2e_spawn trivial "$TRIVIAL_RESPONDER" 127.0.0.1 "$BENCH_PORT" "$BENCH_RECORDS" ;;
    trivfwd) e2e_spawn trivfwd "$TRIVIAL_FORWARDER" 127.0.0.1 "$BENCH_PORT" 127.0.0.2 53 1024 ;;
    trivfwd1) e2e_spawn trivfwd1 "$TRIVIAL_FORWARDER" 127.0.0.1 "$BENCH_PORT" 127.0.0.2 53 1 ;;
    baseline)
        [[ -x ${BENCH_BASELINE_BIN:-} ]] || e2e_fail "baseline: set BENCH_BASELINE_BIN to a dnsroute binary"
        DNSROUTE_BIN=$BENCH_BASELINE_BIN e2e_start_dnsroute baseline "$BENCH_PORT" "$conf" \
            --pid-file= --user=root --workers="${BENCH_WORKERS:-0}"
        ;;
    dnsroute)
        e2e_start_dnsroute dnsroute "$BENCH_PORT" "$conf" --pid-file= --user=root \
            --workers="${BENCH_WORKERS:-0}"
        ;;
    dnsmasq) e2e_start_dnsmasq dnsmasq "$BENCH_PORT" "$conf" ;;
    smartdns)
        [[ -x $SMARTDNS ]] || e2e_skip "smartdns not found at $SMARTDNS"
        e2e_spawn smartdns "$SMARTDNS" -f -c "$conf" -p -
        for ((i = 0; i < 600; i++)); do
            [[ -n $(ss -Hlnu "sport = :$BENCH_PORT") ]] && break
            e2e_alive smartdns || e2e_fail "smartdns exited at start-up"
            sleep 0.05
        done
        ;;
    esac
    for ((i = 0; i < 100; i++)); do
        [[ $(e2e_rcode "$BENCH_SERVER" warmup.nonchina0.example A) == NOERROR ]] && return 0
        e2e_alive "$prog" || e2e_fail "$prog exited at start-up"
        sleep 0.1
    done
    e2e_fail "$prog does not answer on $BENCH_SERVER"
}

# bench_dig_checks PROG QUERYFILE: dig the first 8 queries of QUERYFILE and compare with the
# fake's answers; returns the number of wrong answers (printed). The trivial responder's fixed
# answer is not checked.
bench_dig_checks()
{
    local name type got exp bad=0
    [[ $1 == trivial || $1 == trivfwd* ]] && return 0 # no routing: every name to 127.0.0.2
    shift
    while read -r name type; do
        got=$(e2e_short "$BENCH_SERVER" "$name" "$type")
        exp=$(bench_expect "$name" "$type" | LC_ALL=C sort)
        if [[ "$got" != "$exp" ]]; then
            echo "  WRONG: $name $type: got [${got//$'\n'/ }] expected [${exp//$'\n'/ }]" >&2
            bad=$((bad + 1))
        fi
    done < <(head -n 8 "$1")
    return "$bad"
}

# bench_udp_in: UDP datagrams received so far in this namespace (/proc/net/snmp is per netns).
bench_udp_in()
{
    awk '$1 == "Udp:" && $2 ~ /^[0-9]+$/ {print $2; exit}' /proc/net/snmp
}

# bench_user_ticks PID: user clock ticks alone.
bench_user_ticks()
{
    awk '{print $14}' "/proc/$1/stat"
}

# bench_cpu_ticks PID: user + system clock ticks the process has used.
bench_cpu_ticks()
{
    awk '{print $14 + $15}' "/proc/$1/stat"
}

# bench_syscall_events: perf's event list for BENCH_SYSCALLS=1: every system call, then the
# kinds that matter on the hot path (those this kernel has tracepoints for).
bench_syscall_events()
{
    local ev=context-switches,raw_syscalls:sys_enter c
    for c in recvmmsg sendmmsg recvfrom sendto recvmsg sendmsg epoll_wait epoll_pwait epoll_ctl \
        futex read write clock_gettime socket connect close ioctl; do
        [[ -d /sys/kernel/tracing/events/syscalls/sys_enter_$c ]] && ev+=,syscalls:sys_enter_$c
    done
    echo "$ev"
}

# bench_syscalls_print FILE ANSWERED: perf stat's counts (FILE) per answered query.
bench_syscalls_print()
{
    awk -F, -v n="$2" '
        $3 ~ /context-switches/ { cs = $1 }
        $3 ~ /raw_syscalls/ { printf "    per answered query: context switches %.3f, system calls %.2f:", n ? cs / n : 0, n ? $1 / n : 0 }
        $3 ~ /sys_enter_/ && $1 + 0 > n / 200 { sub(/.*sys_enter_/, "", $3); printf " %s %.3f", $3, $1 / n }
        END { print "" }' "$1" >&2
}

# bench_dnsperf PROG QUERYFILE RUN [EXTRA ARGS]: one bounded dnsperf run against the program
# now listening; appends "PROG RUN qps avg_latency_ms error_pct" to $BENCH_OUT and prints a line.
# Errors = lost queries + answers other than NOERROR. Under BENCH_PERF=1 the daemon is profiled.
bench_dnsperf()
{
    local prog=$1 qf=$2 run=$3 out=$E2E_TMP/dnsperf.$1.$3
    shift 3
    local perfpid=
    if [[ "${BENCH_PERF:-0}" == 1 && $run == 1 ]] && command -v perf >/dev/null; then
        # shellcheck disable=SC2086 # BENCH_PERF_ARGS: several words
        perf record ${BENCH_PERF_ARGS:--g} -o "$E2E_TMP/perf.$prog.data" -p "$(e2e_pid "$prog")" \
            -- sleep "$BENCH_SECONDS" >/dev/null 2>&1 &
        perfpid=$!
    fi
    local statpid=
    if [[ "${BENCH_SYSCALLS:-0}" == 1 ]]; then
        perf stat -x, -e "$(bench_syscall_events)" -p "$(e2e_pid "$prog")" \
            -o "$E2E_TMP/sys.$prog.$run" >/dev/null 2>&1 &
        statpid=$!
    fi
    local udp0 udp1 cpu0 cpu1 usr0 usr1
    udp0=$(bench_udp_in)
    cpu0=$(bench_cpu_ticks "$(e2e_pid "$prog")")
    usr0=$(bench_user_ticks "$(e2e_pid "$prog")")
    dnsperf -s 127.0.0.1 -p "$BENCH_PORT" -d "$qf" -l "$BENCH_SECONDS" -c "$BENCH_CLIENTS" \
        -q "$BENCH_OUTSTANDING" -t 2 "$@" >"$out" 2>&1 || e2e_fail "dnsperf failed: $(tail -3 "$out")"
    cpu1=$(bench_cpu_ticks "$(e2e_pid "$prog")")
    usr1=$(bench_user_ticks "$(e2e_pid "$prog")")
    sleep 0.2
    udp1=$(bench_udp_in)
    if [[ -n $statpid ]]; then
        kill -INT "$statpid" 2>/dev/null || true
        wait "$statpid" || true
    fi
    if [[ -n $perfpid ]]; then
        wait "$perfpid" || true
        perf report -i "$E2E_TMP/perf.$prog.data" --no-children --percent-limit 1.5 --stdio \
            2>/dev/null | grep -v '^$' | head -n 80 >"$E2E_TMP/perf.$prog.txt" || true
        echo "  perf profile of $prog: $E2E_TMP/perf.$prog.txt" >&2
        E2E_KEEP=1 # read by lib.sh's exit trap: keep the temp dir with the profile
        export E2E_KEEP
    fi
    local sent completed lost qps lat noerr
    sent=$(sed -n 's/^ *Queries sent: *\([0-9]*\).*/\1/p' "$out")
    completed=$(sed -n 's/^ *Queries completed: *\([0-9]*\).*/\1/p' "$out")
    lost=$(sed -n 's/^ *Queries lost: *\([0-9]*\).*/\1/p' "$out")
    qps=$(sed -n 's/^ *Queries per second: *\([0-9.]*\).*/\1/p' "$out")
    lat=$(sed -n 's/^ *Average Latency (s): *\([0-9.]*\).*/\1/p' "$out")
    noerr=$(sed -n 's/^ *Response codes: .*NOERROR \([0-9]*\).*/\1/p' "$out")
    [[ -n $sent && -n $qps && -n $lat ]] || e2e_fail "cannot parse dnsperf output: $(cat "$out")"
    local errs=$((lost + completed - ${noerr:-0}))
    local pct
    pct=$(awk -v e="$errs" -v s="$sent" 'BEGIN { printf "%.2f", s ? 100 * e / s : 100 }')
    local ms
    ms=$(awk -v l="$lat" 'BEGIN { printf "%.3f", l * 1000 }')
    # Every datagram in the namespace is received once: client query, upstream query, upstream
    # answer, client answer. So upstream queries per answered query = (in - 2 x answered) / 2 /
    # answered: ~1 when forwarding, ~0 from a cache (a check that the load really went upstream).
    local upq
    upq=$(awk -v d="$((udp1 - udp0))" -v c="$completed" 'BEGIN { printf "%.2f", c ? (d - 2 * c) / 2 / c : 0 }')
    # The server's own CPU time (user + system, incl. the loopback softirq work done in its
    # syscalls) per answered query: its efficiency, less sensitive than qps to the other loads.
    local us
    us=$(awk -v t="$((cpu1 - cpu0))" -v hz="$(getconf CLK_TCK)" -v c="$completed" \
        'BEGIN { printf "%.2f", c ? t / hz * 1e6 / c : 0 }')
    # Of which user time: the server's own code (the system part is mostly the kernel's UDP path).
    local uus
    uus=$(awk -v t="$((usr1 - usr0))" -v hz="$(getconf CLK_TCK)" -v c="$completed" \
        'BEGIN { printf "%.2f", c ? t / hz * 1e6 / c : 0 }')
    echo "$prog $run $qps $ms $pct $us" >>"$BENCH_OUT"
    local flag=""
    awk -v p="$pct" 'BEGIN { exit !(p > 1) }' && flag="  INVALID: error rate above 1%"
    [[ -z $statpid ]] || bench_syscalls_print "$E2E_TMP/sys.$prog.$run" "$completed"
    printf '  run %d %-9s %9.0f qps  avg %7.3f ms  cpu %5.2f us/q (user %5.2f)  sent %8d lost %6d non-NOERROR %6d (%s%%)  upstream/answer %s%s\n' \
        "$run" "$prog" "$qps" "$ms" "$us" "$uus" "$sent" "$lost" "$((completed - ${noerr:-0}))" "$pct" "$upq" "$flag"
}

# bench_summary GOAL...: medians per program, validity, ratios dnsroute/dnsmasq and
# dnsroute/smartdns, and each program's CPU per query as a multiple of the trivial responder's.
# GOAL: PROG:FACTOR (e.g. dnsmasq:2) - states whether dnsroute reaches it; trivial:FACTOR is met
# when dnsroute's CPU per query is at most FACTOR times the trivial responder's.
bench_summary()
{
    local p
    echo "-- medians of $BENCH_RUNS runs"
    declare -gA BENCH_QPS=() BENCH_LAT=() BENCH_CPU=()
    for p in $BENCH_PROGRAMS; do
        local qps lat cpu bad
        qps=$(awk -v p="$p" '$1 == p {print $3}' "$BENCH_OUT" | sort -g |
            awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
        lat=$(awk -v p="$p" '$1 == p {print $4}' "$BENCH_OUT" | sort -g |
            awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
        cpu=$(awk -v p="$p" '$1 == p {print $6}' "$BENCH_OUT" | sort -g |
            awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}')
        bad=$(awk -v p="$p" '$1 == p && $5 > 1' "$BENCH_OUT" | wc -l)
        BENCH_QPS[$p]=$qps
        BENCH_LAT[$p]=$lat
        BENCH_CPU[$p]=$cpu
        printf '%-9s %9.0f qps  avg latency %7.3f ms  cpu %5.2f us/query%s%s\n' "$p" "$qps" "$lat" \
            "$cpu" "$(bench_x_trivial "$p" "$cpu")" \
            "$( ((bad == 0)) || echo "  INVALID: $bad run(s) with error rate above 1%")"
        if ((bad > 0)); then
            BENCH_INVALID=1
        fi
    done
    local goal other factor r
    for p in baseline dnsmasq smartdns; do
        [[ -n "${BENCH_QPS[$p]:-}" && -n "${BENCH_QPS[dnsroute]:-}" ]] || continue
        r=$(awk -v a="${BENCH_QPS[dnsroute]}" -v b="${BENCH_QPS[$p]}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')
        local line
        line="ratio dnsroute/$p: qps $r  latency $(awk -v a="${BENCH_LAT[dnsroute]}" \
            -v b="${BENCH_LAT[$p]}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')  cpu/query $(awk \
            -v a="${BENCH_CPU[dnsroute]}" -v b="${BENCH_CPU[$p]}" 'BEGIN { printf "%.2f", b ? a / b : 0 }')"
        for goal in "$@"; do
            other=${goal%%:*}
            factor=${goal#*:}
            [[ $other == "$p" ]] || continue
            if awk -v r="$r" -v f="$factor" 'BEGIN { exit !(r >= f) }'; then
                line+="  (goal >= ${factor}x: met)"
            else
                line+="  (goal >= ${factor}x: MISSED)"
            fi
        done
        echo "$line"
    done
    bench_trivial_goal "$@"
    if [[ "${BENCH_INVALID:-0}" == 1 ]]; then
        echo "WARNING: some figures are invalid (error rate above 1%), see above"
    fi
}

# bench_x_trivial PROG CPU: "  x<ratio> trivial" (CPU per query over the trivial responder's
# median, already in BENCH_CPU[trivial]) and "  x<ratio> trivfwd" (over the trivial forwarder's),
# each only when that reference was run.
bench_x_trivial()
{
    local t=${BENCH_CPU[trivial]:-} f=${BENCH_CPU[trivfwd]:-}
    [[ -n $t && $1 != trivial ]] && awk -v a="$2" -v b="$t" 'BEGIN { if (b > 0) printf "  x%.2f trivial", a / b }'
    [[ -n $f && $1 != trivial && $1 != trivfwd* ]] && awk -v a="$2" -v b="$f" 'BEGIN { if (b > 0) printf "  x%.2f trivfwd", a / b }'
    return 0
}

# bench_trivial_goal GOAL...: the trivial:FACTOR goal of bench_summary.
bench_trivial_goal()
{
    local goal t=${BENCH_CPU[trivial]:-} d=${BENCH_CPU[dnsroute]:-}
    for goal in "$@"; do
        [[ ${goal%%:*} == trivial && -n $t && -n $d ]] || continue
        if awk -v a="$d" -v b="$t" -v f="${goal#*:}" 'BEGIN { exit !(b > 0 && a / b <= f) }'; then
            echo "dnsroute cpu/query x trivial responder: goal <= ${goal#*:}x: met"
        else
            echo "dnsroute cpu/query x trivial responder: goal <= ${goal#*:}x: MISSED"
        fi
    done
    local f=${BENCH_CPU[trivfwd]:-}
    if [[ -n $t && -n $f && -n $d ]]; then
        awk -v d="$d" -v f="$f" -v t="$t" 'BEGIN { if (f > 0 && t > 0) printf "floor of forwarding with random ports (trivfwd): x%.2f trivial; dnsroute x%.2f trivfwd\n", f / t, d / f }'
    fi
    local f1=${BENCH_CPU[trivfwd1]:-}
    if [[ -n $t && -n $f1 ]]; then
        awk -v f="$f1" -v t="$t" 'BEGIN { if (t > 0) printf "floor of forwarding from one fixed port, batched (trivfwd1): x%.2f trivial\n", f / t }'
    fi
}

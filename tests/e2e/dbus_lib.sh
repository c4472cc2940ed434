# dbus_lib.sh - shared set-up of the D-Bus e2e tests (test_dbus.sh, test_dbus_nm.sh), sourced
# after lib.sh and e2e_enter_netns: checks the tools, starts a private dbus-daemon with
# conf/dbus-bus.conf (never the system bus; DBUS_SYSTEM_BUS_ADDRESS points at it), defines
# bus_call/wait_name/wait_answer, and starts fake upstreams a, b, c (127.0.0.2-4) that answer every
# name with 192.0.2.1-3.
# shellcheck shell=bash
e2e_require_dnsroute
command -v dbus-daemon >/dev/null || e2e_skip "dbus-daemon not found (package dbus-daemon)"
command -v busctl >/dev/null || e2e_skip "busctl not found (package systemd)"
command -v dbus-send >/dev/null || e2e_skip "dbus-send not found (package dbus-bin)"

# ---- the private bus ----
e2e_render "$E2E_CONF/dbus-bus.conf" "$E2E_TMP/bus.conf" DNSROUTE_SOURCE_DIR="$DNSROUTE_SOURCE_DIR"
e2e_spawn bus dbus-daemon --config-file="$E2E_TMP/bus.conf" --nofork --nopidfile
for _ in $(seq 1 100); do
    [[ -S "$E2E_TMP/bus.sock" ]] && break
    e2e_alive bus || e2e_fail "dbus-daemon did not start"
    sleep 0.05
done
[[ -S "$E2E_TMP/bus.sock" ]] || e2e_fail "dbus-daemon socket missing after 5 s"
BUS=unix:path=$E2E_TMP/bus.sock
export DBUS_SYSTEM_BUS_ADDRESS=$BUS
OBJ=/uk/org/thekelleys/dnsmasq

# bus_call NAME METHOD [SIGNATURE ARGS...]: busctl call on NAME's object; prints the reply (or
# "ERR: <message>") and never fails the script.
bus_call()
{
    local name=$1 method=$2
    shift 2
    busctl --address="$BUS" call "$name" "$OBJ" "$name" "$method" "$@" 2>&1 |
        sed 's/^Call failed: /ERR: /' || true
}

# wait_name NAME: waits until NAME has an owner on the bus.
wait_name()
{
    for _ in $(seq 1 100); do
        busctl --address="$BUS" status "$1" >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    e2e_fail "nobody owns $1 on the bus after 5 s"
}

# wait_answer EXPECTED SERVER NAME WHAT: a SetServers* reply may precede the workers' adoption
# of the new generation by a loop turn: wait (max 5 s) for the answer, then assert it.
wait_answer()
{
    local got=
    for _ in $(seq 1 50); do
        got=$(e2e_short "$2" "$3")
        [[ "$got" == "$1" ]] && break
        sleep 0.1
    done
    e2e_assert_eq "$1" "$got" "$4"
}

# ---- upstreams: a, b, c answer every name with their own address ----
cat >"$E2E_TMP/up.scenario" <<'SCN'
@a default a 192.0.2.1
@b default a 192.0.2.2
@c default a 192.0.2.3
SCN
e2e_start_fake a "$E2E_TMP/up.scenario" 127.0.0.2#53@a
e2e_start_fake b "$E2E_TMP/up.scenario" 127.0.0.3#53@b
e2e_start_fake c "$E2E_TMP/up.scenario" 127.0.0.4#53@c

# The version GetVersion must report.
export DR_VERSION; DR_VERSION=$("$DNSROUTE_BIN" --version | head -n1 | grep -Eo '[0-9]+\.[0-9]+(\.[0-9]+)?' | head -n1)
export NAME=uk.org.thekelleys.dnsmasq
# A configuration without enable-dbus (the name comes from the command line).
printf '%s\n' no-resolv no-hosts server=/conf.test/127.0.0.4 >"$E2E_TMP/m.conf"

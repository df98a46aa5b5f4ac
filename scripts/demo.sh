#!/usr/bin/env bash
# synwall demo: builds synwall, starts the dataplane and the control process on the embedded
# quick-start config (two DPDK TAP vdevs, no NIC, no hugepages), puts a client and a web server in
# two network namespaces on either side of the virtual wire, and drives real traffic through it.
# Run as root. Everything it creates is removed when it ends.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/setup.sh
export PATH="$HOME/.cargo/bin:$PATH"

CONFIG=${CONFIG:-configs/quickstart.yaml}
BIN=target/release
TAG=$$
NS_CLIENT=synwall-demo-client-$TAG
NS_SERVER=synwall-demo-server-$TAG
WORK=$(mktemp -d /tmp/synwall-demo.XXXXXX)
SYNWALL_PID= CONTROL_PID= HTTP_PID=

cleanup() {
  set +e
  [ -n "$HTTP_PID" ] && kill "$HTTP_PID" 2>/dev/null
  [ -n "$CONTROL_PID" ] && kill "$CONTROL_PID" 2>/dev/null && wait "$CONTROL_PID" 2>/dev/null
  if [ -n "$SYNWALL_PID" ]; then
    kill -TERM "$SYNWALL_PID" 2>/dev/null && wait "$SYNWALL_PID"
    echo "demo: synwall exited with $?"
  fi
  ip netns del "$NS_CLIENT" 2>/dev/null
  ip netns del "$NS_SERVER" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap "exit 130" INT TERM

echo "==> building synwall (release)"
cargo build --release --workspace --bins --quiet

SOCKET=$(sed -n 's/^ *socket: *//p' "$CONFIG" | head -1)
IFACES=$(grep -o 'iface=[a-z0-9]*' "$CONFIG" | cut -d= -f2)
for i in $IFACES; do
  if ip link show "$i" >/dev/null 2>&1; then
    echo "demo: interface $i exists already (is another synwall running?)" >&2
    exit 1
  fi
done

echo "==> starting synwall --config $CONFIG"
"$BIN/synwall" --config "$CONFIG" > "$WORK/synwall.log" 2>&1 &
SYNWALL_PID=$!
for _ in $(seq 150); do
  "$BIN/synwallctl" --socket "$SOCKET" show system status >/dev/null 2>&1 && break
  kill -0 "$SYNWALL_PID" 2>/dev/null || { cat "$WORK/synwall.log"; exit 1; }
  sleep 0.2
done
grep "synwall:" "$WORK/synwall.log" || true

if "$BIN/synwall-control" --help >/dev/null 2>&1; then
  echo "==> starting synwall-control (Prometheus exporter)"
  "$BIN/synwall-control" --config "$CONFIG" > "$WORK/control.log" 2>&1 &
  CONTROL_PID=$!
fi

set -- $IFACES
echo "==> client namespace $NS_CLIENT on $1 (10.10.0.1), server namespace $NS_SERVER on $2 (10.10.0.2)"
ip netns add "$NS_CLIENT"
ip netns add "$NS_SERVER"
ip link set "$1" netns "$NS_CLIENT"
ip link set "$2" netns "$NS_SERVER"
ip -n "$NS_CLIENT" link set lo up; ip -n "$NS_CLIENT" link set "$1" up
ip -n "$NS_SERVER" link set lo up; ip -n "$NS_SERVER" link set "$2" up
ip -n "$NS_CLIENT" addr add 10.10.0.1/24 dev "$1"
ip -n "$NS_SERVER" addr add 10.10.0.2/24 dev "$2"

mkdir -p "$WORK/www"
echo "hello through synwall" > "$WORK/www/index.html"
head -c 200000 /dev/zero > "$WORK/www/big.bin"
(cd "$WORK/www" && exec ip netns exec "$NS_SERVER" python3 -m http.server 80 --bind 10.10.0.2 >/dev/null 2>&1) &
HTTP_PID=$!
for _ in $(seq 50); do ip netns exec "$NS_SERVER" ss -ltn | grep -q ':80 ' && break; sleep 0.1; done

echo "==> ping and curl from the client, through synwall, to the server"
ip netns exec "$NS_CLIENT" ping -c 3 -i 0.2 10.10.0.2
for i in 1 2 3 4 5; do
  printf 'curl %d: ' "$i"
  ip netns exec "$NS_CLIENT" curl -sS --max-time 5 http://10.10.0.2/index.html
done

echo "==> a connection held open, as synwallctl show session all sees it"
ip netns exec "$NS_CLIENT" curl -sS -o /dev/null --limit-rate 50k --max-time 10 http://10.10.0.2/big.bin &
CURL_PID=$!
sleep 1
"$BIN/synwallctl" --socket "$SOCKET" show session all
wait "$CURL_PID" || true
echo "==> synwallctl show system status"
"$BIN/synwallctl" --socket "$SOCKET" show system status
echo "==> synwallctl show counter global"
"$BIN/synwallctl" --socket "$SOCKET" show counter global
echo "==> synwallctl clear session all, then the traffic log (one JSON line per ended session)"
"$BIN/synwallctl" --socket "$SOCKET" --json clear session all
sleep 1
LOGFILE=$(sed -n 's/^ *traffic: *{ *path: *\([^ }]*\).*/\1/p' "$CONFIG" | head -1)
[ -n "$LOGFILE" ] && tail -n 3 "$LOGFILE" || true
if [ -n "$CONTROL_PID" ]; then
  LISTEN=$(sed -n 's/^ *metrics_listen: *//p' "$CONFIG" | head -1)
  sleep 1
  echo "==> a few metrics from synwall-control at http://$LISTEN/metrics"
  curl -sS --max-time 5 "http://$LISTEN/metrics" | grep -E '^synwall_(port_packets_total|session_end_total\{reason="(tcp-fin|aged-out)"|sessions_|dataplane_up)' | head -20 || true
fi
echo "==> stopping (SIGTERM); the TAP interfaces vanish with the ports"

#!/usr/bin/env python3
"""Macro benchmark: synwall against dpdk-testpmd io forwarding, on the same vdevs and lcores.

Both read a capture through `net_pcap` with `infinite_rx=1` (replayed from memory, endlessly) and
send into `net_null` (no-rx=1, so traffic flows one way). One forwarding lcore each (main lcore 0,
forwarding lcore 1), runs alternated A/B so that machine noise hits both, medians reported with the
ratio. The rate is the null port's transmitted packets per second, sampled once a second after a
warm-up, from testpmd's own stats and from synwall's management socket.

    perf/macro.py --pcap perf/data/udp-3k.pcap --rounds 3 --duration 8 --label pass-through

Several workers: one capture per receive queue (`--pcap a.pcap,b.pcap`), as many synwall workers
and testpmd forwarding cores (`--workers 1,2`). `net_pcap` has no RSS, so synwall hands flows to
their owners in software; captures split by owner (`synwall-gen split`) deliver every packet to
the worker that owns it, as a NIC's symmetric RSS would. `--lcores` maps lcores to cpus for both
(three lcores on a two-cpu machine: `0@0,1@0,2@1`, the main lcore mostly asleep).
"""

import argparse
import json
import shutil
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(os.environ.get("SYNWALL_BIN_DIR", ROOT / "target" / "release"))


def eal_common(prefix):
    return ["--no-huge", "-m", "1536", "--no-shconf", "--no-pci", f"--file-prefix={prefix}"]


def vdevs(pcaps):
    # One receive queue per capture: flows split across queues as RSS would split them.
    rx = ",".join(f"rx_pcap={p}" for p in pcaps)
    return [f"--vdev=net_pcap0,{rx},infinite_rx=1", "--vdev=net_null0,no-rx=1"]


def lcore_args(lcores):
    """`-l 0,1` by default; `--lcores MAP` (DPDK's lcore@cpu map) when the run needs more lcores
    than the machine has cpus (the main lcore mostly sleeps)."""
    return [f"--lcores={lcores}"] if lcores else ["-l", "0,1"]


def run_testpmd(pcaps, duration, warmup, mbufs, cores=1, lcores=None):
    queues = len(pcaps)
    cmd = ["dpdk-testpmd", *lcore_args(lcores), *eal_common(f"tp{os.getpid()}"), *vdevs(pcaps),
           "--", "--forward-mode=io", f"--nb-cores={cores}", f"--rxq={queues}", f"--txq={queues}",
           "--auto-start", "--stats-period", "1",
           f"--total-num-mbufs={mbufs}", "--burst=32", "--txd=1024", "--rxd=1024"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                         stdin=subprocess.DEVNULL)
    samples, port = [], None
    start = time.time()
    try:
        for line in p.stdout:
            m = re.search(r"NIC statistics for port (\d+)", line)
            if m:
                port = int(m.group(1))
            m = re.search(r"Tx-pps:\s+(\d+)", line)
            # (A report's rate is 0 before testpmd has two to take it from: not a sample.)
            if m and port == 1 and int(m.group(1)) > 0:
                if time.time() - start > warmup:
                    samples.append(int(m.group(1)))
                if len(samples) >= duration:
                    break
    finally:
        p.send_signal(signal.SIGINT)
        try:
            p.wait(20)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    if not samples:
        raise RuntimeError("testpmd gave no samples")
    return statistics.median(samples)


def synwall_config(pcaps, tmp, mbufs, workers, mode, burst=32, lcores=None):
    return f"""
dataplane:
  mode: {mode}
  burst: {burst}
  eal: {json.dumps((lcore_args(lcores) if lcores else []) + eal_common(f"swp{os.getpid()}") + vdevs(pcaps))}
  workers: {json.dumps(workers)}
  mbufs: {mbufs}
  ports:
    - {{ name: in, device: net_pcap0, zone: trust }}
    - {{ name: out, device: net_null0, zone: untrust }}
  vwires:
    - [in, out]
session:
  tcp_reject_non_syn: false
  max_sessions: {{max_sessions}}
rules:
  - {{ name: all, from: [any], to: [any], source: [any], destination: [any],
       application: [any], service: [any], action: allow }}
control:
  socket: {tmp}/synwall.sock
  stats: {tmp}/synwall.stats
"""


def status(sock):
    r = subprocess.run([str(BIN / "synwallctl"), "--socket", sock, "--json", "show", "system",
                        "status"], capture_output=True, text=True, timeout=10)
    return json.loads(r.stdout) if r.returncode == 0 else None


# Sessions set up per second, median of each synwall run's samples.
SETUPS = []


def run_synwall(pcaps, duration, warmup, mbufs, workers=(1,), mode="passthrough", max_sessions=1000000, burst=32, lcores=None):
    tmp = tempfile.mkdtemp(prefix="synwall-perf-")
    cfg = Path(tmp) / "perf.yaml"
    cfg.write_text(synwall_config(pcaps, tmp, mbufs, list(workers), mode, burst, lcores).replace("{max_sessions}", str(max_sessions)))
    sock = f"{tmp}/synwall.sock"
    log = open(Path(tmp) / "synwall.log", "w")
    p = subprocess.Popen([str(BIN / "synwall"), "--config", str(cfg)], stdout=log,
                         stderr=subprocess.STDOUT)
    try:
        deadline = time.time() + 60
        while status(sock) is None:
            if p.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"synwall did not start: {open(log.name).read()[-2000:]}")
            time.sleep(0.2)
        time.sleep(warmup)
        samples, setups = [], []
        prev = status(sock)
        prev_t = time.time()
        for _ in range(duration):
            time.sleep(1)
            cur = status(sock)
            now = time.time()
            tx = lambda s: next(q["tx_packets"] for q in s["ports"] if q["name"] == "out")
            created = lambda s: s["sessions"]["created"]
            samples.append((tx(cur) - tx(prev)) / (now - prev_t))
            setups.append((created(cur) - created(prev)) / (now - prev_t))
            prev, prev_t = cur, now
        SETUPS.append(statistics.median(setups))
        return statistics.median(samples)
    finally:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", required=True,
                    help="capture to replay; several, comma-separated, are one receive queue each")
    ap.add_argument("--label", help="a name for the run in the JSON line (default: the mode)")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", type=int, default=8, help="seconds sampled per run")
    ap.add_argument("--warmup", type=float, default=2)
    ap.add_argument("--mbufs", type=int, default=65535)
    ap.add_argument("--workers", default="1",
                    help="synwall worker lcores, e.g. 1 or 1,2 (testpmd gets as many forwarding cores)")
    ap.add_argument("--lcores", help="EAL lcore map for both, e.g. '0@0,1@0,2@1' (default: -l 0,1)")
    ap.add_argument("--skip-testpmd", action="store_true")
    ap.add_argument("--mode", default="passthrough", choices=["passthrough", "firewall"],
                    help="synwall dataplane.mode")
    ap.add_argument("--max-sessions", type=int, default=1000000)
    ap.add_argument("--burst", type=int, default=32, help="synwall dataplane.burst (testpmd: 32)")
    ap.add_argument("--json", help="append the result as a JSON line to this file")
    a = ap.parse_args()
    pcaps = [str(Path(p).resolve()) for p in a.pcap.split(",")]
    workers = [int(w) for w in a.workers.split(",")]
    if len(pcaps) != len(workers):
        sys.exit("macro.py: give one capture (receive queue) per worker")
    tp, sw = [], []
    for r in range(a.rounds):
        if not a.skip_testpmd:
            tp.append(run_testpmd(pcaps, a.duration, a.warmup, a.mbufs, len(workers), a.lcores))
        sw.append(run_synwall(pcaps, a.duration, a.warmup, a.mbufs, workers, a.mode, a.max_sessions, a.burst, a.lcores))
        print(f"round {r + 1}: testpmd {tp[-1] / 1e6 if tp else 0:.2f} Mpps, "
              f"synwall {sw[-1] / 1e6:.2f} Mpps, {SETUPS[-1] / 1e6:.2f} M sessions/s", file=sys.stderr)
    result = {
        "label": a.label or a.mode, "mode": a.mode, "burst": a.burst, "pcap": ",".join(Path(p).name for p in pcaps), "rounds": a.rounds, "workers": workers,
        "testpmd_mpps": round(statistics.median(tp) / 1e6, 2) if tp else None,
        "synwall_mpps": round(statistics.median(sw) / 1e6, 2),
        "synwall_sessions_per_sec": round(statistics.median(SETUPS)),
    }
    if tp:
        result["ratio"] = round(statistics.median(sw) / statistics.median(tp), 3)
        # Each round's two runs are minutes apart at most: the median of the rounds' own ratios
        # is less moved by a machine whose speed drifts over the run (both are reported).
        result["round_ratios"] = [round(s / t, 3) for s, t in zip(sw, tp)]
        result["median_round_ratio"] = round(statistics.median(result["round_ratios"]), 3)
    print(json.dumps(result))
    if a.json:
        with open(a.json, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()

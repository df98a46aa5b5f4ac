#!/usr/bin/env python3
"""Instructions a packet of the whole worker loop, counted by callgrind in a real DPDK run.

synwall runs under `valgrind --tool=callgrind` on the same vdevs as `macro.py` (`net_pcap` with
`infinite_rx=1` into `net_null`) for `--seconds`, then stops on SIGINT; the
instructions inside the worker's loop (`Worker::run`, inclusive) are divided by the packets it
forwarded, and split into the receive PMD, the transmit PMD, the engine (`process_burst`) and the
rest (the worker's own: bursts, counters, timers). `--testpmd` counts `dpdk-testpmd`'s io
forwarding the same way (its forwarding thread; Debian's binary has no symbols, so no split).

Unlike a rate, the count does not move with the machine's load: it compares builds exactly
where `macro.py`'s ratios scatter by +-5 %. It says nothing of cache misses (see `macro.py`).
Several captures run as many workers, one receive queue each (callgrind runs their threads one
at a time; the figures are then over all workers' packets).

    perf/instructions.py --pcap /tmp/udp-100k.pcap --mbufs 262143 --seconds 60 --testpmd
    perf/instructions.py --pcap /tmp/udp-200k.0.pcap,/tmp/udp-200k.1.pcap --lcores '0@0,1@0,2@1' --mbufs 262143
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from macro import BIN, eal_common, synwall_config, vdevs  # noqa: E402


def inclusive(out_file):
    """Function name -> inclusive instructions, from callgrind_annotate."""
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", out_file],
                          capture_output=True, text=True, check=True).stdout
    costs = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+) \([^)]*\)\s+(.*)$", line)
        if m:
            name = re.sub(r"\s*\[.*\]$", "", m.group(2)).strip()
            name = re.sub(r" \(\d[\d,]*x\)$", "", name)
            # "file:function" (the function's own `::` stay)
            name = re.sub(r"^(\S*?\.\w+|\?\?\?):(?!:)", "", name)
            costs.setdefault(name, int(m.group(1).replace(",", "")))
    return costs


def callgrind(cmd, out_file, seconds, log_file):
    with open(log_file, "w") as log:
        p = subprocess.Popen(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out_file}",
                              *cmd], stdout=log, stderr=subprocess.STDOUT,
                             stdin=subprocess.DEVNULL)
        try:
            p.wait(seconds)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGINT)
            p.wait(300)
    return Path(log_file).read_text()


def count_synwall(pcaps, mbufs, seconds, tmp, lcores):
    workers = list(range(1, len(pcaps) + 1))
    cfg = Path(tmp) / "synwall.yaml"
    cfg.write_text(synwall_config(pcaps, tmp, mbufs, workers, "firewall", lcores=lcores)
                   .replace("{max_sessions}", "1000000"))
    out = f"{tmp}/synwall.callgrind"
    log = callgrind([str(BIN / "synwall"), "--config", str(cfg)], out, seconds, f"{tmp}/synwall.log")
    m = re.search(r"stopped: (\d+) packets received, (\d+) transmitted", log)
    if not m or int(m.group(2)) == 0:
        sys.exit(f"instructions.py: synwall forwarded nothing:\n{log[-2000:]}")
    packets = int(m.group(2))
    # Several workers: callgrind_annotate sums a function over the threads, so the figures are
    # all workers' instructions over all their packets.
    c = inclusive(out)
    pick = lambda key: next((v for k, v in c.items() if k.endswith(key)), 0)
    run = pick("Worker::run")
    rx, tx = pick("shim_rte_eth_rx_burst"), pick("shim_rte_eth_tx_burst")
    engine = pick("Engine::process_burst")
    per = lambda v: round(v / packets, 1)
    return {"packets": packets, "worker_loop": per(run), "receive_pmd": per(rx),
            "transmit_pmd": per(tx), "engine": per(engine),
            "worker_own": per(run - rx - tx - engine)}


def count_testpmd(pcap, mbufs, seconds, tmp):
    cmd = ["dpdk-testpmd", "-l", "0,1", *eal_common(f"tpi{os.getpid()}"), *vdevs([pcap]), "--",
           "--forward-mode=io", "--nb-cores=1", "--rxq=1", "--txq=1", "--auto-start",
           f"--total-num-mbufs={mbufs}", "--burst=32", "--txd=1024", "--rxd=1024"]
    out = f"{tmp}/testpmd.callgrind"
    log = callgrind(cmd, out, seconds, f"{tmp}/testpmd.log")
    sent = [int(x) for x in re.findall(r"TX-packets:\s+(\d+)", log)]
    if not sent or max(sent) == 0:
        sys.exit(f"instructions.py: testpmd forwarded nothing:\n{log[-2000:]}")
    packets = max(sent)
    # The forwarding lcore is the one busy thread (the EAL's interrupt thread sleeps).
    thread = inclusive(out).get("start_thread", 0)
    return {"packets": packets, "forwarding_thread": round(thread / packets, 1)}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pcap", required=True,
                    help="capture to replay; several, comma-separated, are one worker each "
                         "(as in macro.py)")
    ap.add_argument("--lcores", help="EAL lcore map with several workers, e.g. '0@0,1@0,2@1'")
    ap.add_argument("--mbufs", type=int, default=65535)
    ap.add_argument("--seconds", type=int, default=60, help="how long each runs under callgrind")
    ap.add_argument("--testpmd", action="store_true", help="count dpdk-testpmd's io forwarding too")
    a = ap.parse_args()
    pcaps = [str(Path(p).resolve()) for p in a.pcap.split(",")]
    if a.testpmd and len(pcaps) > 1:
        sys.exit("instructions.py: --testpmd counts one forwarding core (one capture)")
    with tempfile.TemporaryDirectory(prefix="synwall-instr-") as tmp:
        result = {"pcap": ",".join(Path(p).name for p in pcaps), "workers": len(pcaps),
                  "synwall": count_synwall(pcaps, a.mbufs, a.seconds, tmp, a.lcores)}
        if a.testpmd:
            result["testpmd"] = count_testpmd(pcaps[0], a.mbufs, a.seconds, tmp)
    print(json.dumps(result))


if __name__ == "__main__":
    main()

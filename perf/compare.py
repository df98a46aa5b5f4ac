#!/usr/bin/env python3
"""Alternated `macro.py` runs, for the comparisons whose difference is smaller than an hour's drift.

On a shared machine a rate moves with the neighbours by 10 % and more within minutes, so two
things compared must take turns, many times, and be judged by medians:

- `builds A B`: two builds of synwall (directories holding `synwall` and `synwallctl`, as
  `SYNWALL_BIN_DIR` takes them), one `macro.py` run of each in turn, `--reps` times; each run
  alternates testpmd and synwall itself (`--rounds`).
- `scaling DIR`: one worker, then two, `--reps` times (one round each): two captures split by
  owner (`synwall-gen split --workers 2`), the first one alone for one worker.

Prints every run's JSON line as it comes, then the medians.

    perf/compare.py builds /tmp/bin-old /tmp/bin-new --pcap /tmp/udp-100k.pcap --reps 4
    perf/compare.py scaling target/release --pcap /tmp/udp-200k.0.pcap,/tmp/udp-200k.1.pcap --reps 8
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

MACRO = Path(__file__).resolve().parent / "macro.py"


def macro(bin_dir, args):
    env = dict(os.environ, SYNWALL_BIN_DIR=str(Path(bin_dir).resolve()))
    out = subprocess.run([sys.executable, str(MACRO), *args], env=env, capture_output=True,
                         text=True)
    lines = [l for l in out.stdout.splitlines() if l.startswith("{")]
    if out.returncode != 0 or not lines:
        sys.exit(f"compare.py: macro.py failed:\n{out.stdout[-1500:]}{out.stderr[-1500:]}")
    return json.loads(lines[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("what", choices=["builds", "scaling"])
    ap.add_argument("dirs", nargs="+", help="builds: two directories; scaling: one")
    ap.add_argument("--pcap", required=True)
    ap.add_argument("--reps", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=3, help="builds: macro.py rounds a run")
    ap.add_argument("--duration", type=int, default=4)
    ap.add_argument("--mbufs", type=int, default=262143)
    ap.add_argument("--lcores", default="0@0,1@0,2@1", help="scaling: EAL lcore map")
    a = ap.parse_args()
    if a.reps < 1:
        sys.exit("compare.py: --reps must be 1 or more")
    common = ["--duration", str(a.duration), "--mode", "firewall", "--mbufs", str(a.mbufs)]
    if a.what == "builds":
        if len(a.dirs) != 2:
            sys.exit("compare.py builds: two build directories")
        ratios = {d: [] for d in a.dirs}
        for _ in range(a.reps):
            for d in a.dirs:
                r = macro(d, ["--pcap", a.pcap, "--rounds", str(a.rounds), *common])
                print(json.dumps({"build": d, **r}), flush=True)
                ratios[d].append(r["ratio"])
        for d, rs in ratios.items():
            print(f"{d}: ratio to testpmd, median {statistics.median(rs):.3f} of {rs}")
        return
    if len(a.dirs) != 1 or len(a.pcap.split(",")) != 2:
        sys.exit("compare.py scaling: one build directory and two captures")
    first = a.pcap.split(",")[0]
    pairs = []
    for _ in range(a.reps):
        one = macro(a.dirs[0], ["--pcap", first, "--workers", "1", "--rounds", "1", *common])
        two = macro(a.dirs[0], ["--pcap", a.pcap, "--workers", "1,2", "--lcores", a.lcores,
                                "--rounds", "1", *common])
        pair = {"testpmd_1": one["testpmd_mpps"], "synwall_1": one["synwall_mpps"],
                "testpmd_2": two["testpmd_mpps"], "synwall_2": two["synwall_mpps"]}
        pair["testpmd_scale"] = round(pair["testpmd_2"] / pair["testpmd_1"], 3)
        pair["synwall_scale"] = round(pair["synwall_2"] / pair["synwall_1"], 3)
        pair["ratio_1"] = round(pair["synwall_1"] / pair["testpmd_1"], 3)
        print(json.dumps(pair), flush=True)
        pairs.append(pair)
    med = lambda k: statistics.median(p[k] for p in pairs)
    print(f"synwall 2 / 1 workers: median {med('synwall_scale'):.3f}; testpmd 2 / 1 cores: "
          f"{med('testpmd_scale'):.3f}; one worker's ratio to testpmd: {med('ratio_1'):.3f}")


if __name__ == "__main__":
    main()

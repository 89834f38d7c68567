#!/usr/bin/env python3
"""Print the cost tables of README and docs/concepts/cost.md from `ekas simulate` runs.

For the bundled week and each trace of examples/gen_traces.py, on examples/batch-cluster.json:
ekas's defaults, fixed idle thresholds of 3, 10 and 55 minutes, without consolidation, the
original tool's policy, and kube-scheduler configured to pack (MostAllocated). Each row gives
node-hours against the whole-node lower bound, job wait p95 (all jobs, and CPU jobs, whose
launches take at most four minutes), cost and evictions, and marks with * the configurations
on the Pareto front of (cost, p95 wait).

Usage: python3 scripts/cost-table.py [path/to/ekas]   (default: target/release/ekas)
"""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TRACES = ["batch-week", "sparse", "bursty", "diurnal", "gpu-gangs"]
CONFIGS = [
    ("defaults", []),
    ("--idle-threshold 3m", ["--set", "idle-threshold=3m"]),
    ("--idle-threshold 10m", ["--set", "idle-threshold=10m"]),
    ("--idle-threshold 55m", ["--set", "idle-threshold=55m"]),
    ("--no-consolidation", ["--set", "no-consolidation=true"]),
    ("original tool", ["--policy", "original"]),
    ("kube-scheduler MostAllocated", ["--set", "scheduler-scoring=most-allocated"]),
]


def run(ekas, trace, extra):
    args = [ekas, "simulate", "--trace", os.path.join(ROOT, "examples", f"trace-{trace}.csv"),
            "--cluster", os.path.join(ROOT, "examples", "batch-cluster.json"),
            "--output", "json"] + extra
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return json.loads(out)["configurations"][0]


def human(seconds):
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {(s % 3600) // 60:02d}m"


def main():
    ekas = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "ekas")
    for trace in TRACES:
        rows = [(name, run(ekas, trace, extra)) for name, extra in CONFIGS]
        # The Pareto front of (cost, p95 wait) among ekas's fixed-threshold choices, the
        # defaults and the original tool (not the scheduler variant, a cluster setting).
        front = set()
        for name, o in rows[:-1]:
            dominated = any(
                p["cost"] <= o["cost"] and p["jobWait"]["p95"] <= o["jobWait"]["p95"]
                and (p["cost"] < o["cost"] or p["jobWait"]["p95"] < o["jobWait"]["p95"])
                for _, p in rows[:-1])
            if not dominated:
                front.add(name)
        print(f"\n**{trace}**\n")
        print("| configuration | node-hours | × bound | wait p95 | cpu jobs' p95 | cost | evictions |")
        print("|---|---|---|---|---|---|---|")
        for name, o in rows:
            bound = o["lowerBoundNodeHours"]
            cpu = o["jobWaitByClass"].get("cpu", o["jobWait"])["p95"]
            mark = " *" if name in front else ""
            print(f"| {name}{mark} | {o['nodeHours']:.0f} | {o['nodeHours'] / bound:.2f} | "
                  f"{human(o['jobWait']['p95'])} | {human(cpu)} | ${o['cost']:,.0f} | "
                  f"{o['evictions']} |")


if __name__ == "__main__":
    main()

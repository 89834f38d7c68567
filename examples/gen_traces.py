#!/usr/bin/env python3
"""Generate four three-day batch traces for `ekas simulate` on examples/batch-cluster.json.

Each stresses scale-in differently:

  trace-sparse.csv     a few small jobs an hour, long quiet gaps: what idle nodes cost
  trace-bursty.csv     quiet hours, then dozens of jobs within minutes: launch waits, then
                       a fleet left idle at once
  trace-diurnal.csv    a working day's swell and the night's ebb, CPU and memory-heavy jobs
                       with heavy-tailed lengths: partly used nodes as the day winds down
  trace-gpu-gangs.csv  mostly GPU jobs, a third of them gangs of 2 to 4 pods that start
                       together, on the cluster's slow-launching GPU groups (3-6 min)

Job lengths are log-normal (heavy-tailed: a few run for hours). The classes (`cpu`, `gpu`)
are defined in batch-cluster.json's `simulation` object; the cluster's groups hold at most
32 CPU nodes (16 cpu, 64 GiB) and 10 GPU nodes (one GPU each), and each trace stays within
them at its peak.

Deterministic: each trace draws from its own random.Random(seed), so a run reproduces the
files byte for byte.

Usage: python3 examples/gen_traces.py [DIR]   (default: the directory of this script)
"""

import math
import os
import random
import sys

DAYS = 3
START_HOUR = 12          # the traces start at the cluster's capture time, Friday 12:00 UTC
HEADER = "submit,job,pods,cpu,memory,gpu,class,duration,gang\n"


class Draw:
    def __init__(self, seed):
        self.rng = random.Random(seed)

    def uniform(self, a, b):
        return a + (b - a) * self.rng.random()

    def pick(self, weighted):
        """A value from [(value, weight), ...]."""
        total = sum(w for _, w in weighted)
        x = self.rng.random() * total
        for value, weight in weighted:
            x -= weight
            if x < 0:
                return value
        return weighted[-1][0]

    def lognormal(self, median, sigma):
        u1, u2 = self.rng.random() or 1e-12, self.rng.random()
        z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
        return median * math.exp(sigma * z)

    def exponential(self, mean):
        return -math.log(1.0 - self.rng.random()) * mean

    def chance(self, p):
        return self.rng.random() < p


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def poisson_times(d, rate, peak, end):
    """Arrival seconds of a Poisson process of `rate(t)` jobs per second (at most `peak`)."""
    t = 0.0
    while True:
        t += d.exponential(1.0 / peak)
        if t >= end:
            return
        if d.rng.random() < rate(t) / peak:
            yield t


def cpu_job(d, median_minutes, sigma, memory_heavy=0.0):
    cpu = d.pick([(1, 4), (2, 4), (4, 3), (8, 1)])
    if d.chance(memory_heavy):
        memory = cpu * d.pick([(8, 2), (12, 1)])
    else:
        memory = cpu * d.pick([(2, 2), (4, 2), (6, 1)])
    pods = d.pick([(1, 5), (2, 3), (4, 2), (8, 1)])
    minutes = clamp(d.lognormal(median_minutes, sigma), 1, 720)
    return "cpu", pods, cpu, memory, 0, minutes, False


def gpu_job(d, gang_share):
    gang = d.chance(gang_share)
    pods = d.pick([(2, 2), (3, 1), (4, 2)]) if gang else d.pick([(1, 4), (2, 1)])
    minutes = clamp(d.lognormal(75.0, 0.8), 10, 600)
    return "gpu", pods, 4, d.pick([(16, 1), (24, 1)]), 1, minutes, gang


def sparse(d):
    # About three jobs an hour, evenly through the day.
    end = DAYS * 86400.0
    for t in poisson_times(d, lambda t: 3 / 3600.0, 3 / 3600.0, end):
        job = gpu_job(d, 0.0) if d.chance(0.05) else cpu_job(d, 15.0, 1.1)
        yield t, job


def bursty(d):
    # A burst every 3 to 8 hours: 20 to 60 jobs over about five minutes, and a trickle of one
    # job an hour in between.
    end = DAYS * 86400.0
    t = d.uniform(1800, 3 * 3600)
    while t < end:
        for _ in range(int(d.uniform(20, 60))):
            yield t + d.uniform(0, 300), cpu_job(d, 12.0, 0.8)
        t += d.uniform(3 * 3600, 8 * 3600)
    for t in poisson_times(d, lambda t: 1 / 3600.0, 1 / 3600.0, end):
        yield t, cpu_job(d, 20.0, 1.0)


def diurnal(d):
    # 2 jobs an hour at night, 16 at the 14:00 peak; a quarter of the jobs memory-heavy.
    def rate(t):
        hour = (START_HOUR + t / 3600.0) % 24
        return (2.0 + 14.0 * math.exp(-((hour - 14.0) / 3.5) ** 2)) / 3600.0

    for t in poisson_times(d, rate, 16 / 3600.0, DAYS * 86400.0):
        if d.chance(0.05):
            yield t, gpu_job(d, 0.0)
        else:
            yield t, cpu_job(d, 25.0, 1.2, memory_heavy=0.25)


def gpu_gangs(d):
    # Three GPU jobs every two hours (a third of them gangs) and one CPU job an hour.
    end = DAYS * 86400.0
    for t in poisson_times(d, lambda t: 2.5 / 3600.0, 2.5 / 3600.0, end):
        yield t, gpu_job(d, 0.35) if d.chance(0.6) else cpu_job(d, 20.0, 1.0)


TRACES = [
    ("trace-sparse.csv", sparse, 20261201),
    ("trace-bursty.csv", bursty, 20261202),
    ("trace-diurnal.csv", diurnal, 20261203),
    ("trace-gpu-gangs.csv", gpu_gangs, 20261204),
]


def write(path, jobs):
    rows = sorted(jobs, key=lambda j: j[0])
    with open(path, "w", encoding="utf-8") as f:
        f.write(HEADER)
        for n, (t, (cls, pods, cpu, memory, gpu, minutes, gang)) in enumerate(rows):
            f.write(",".join([
                str(int(t)), f"{cls}-{n:05d}", str(pods), str(cpu), f"{memory}Gi",
                str(gpu) if gpu else "", cls, str(int(round(minutes * 60))),
                "true" if gang else "",
            ]) + "\n")
    pods = sum(j[1][1] for j in rows)
    print(f"wrote {path}: {len(rows)} jobs, {pods} pods", file=sys.stderr)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for name, generate, seed in TRACES:
        write(os.path.join(out, name), list(generate(Draw(seed))))


if __name__ == "__main__":
    main()

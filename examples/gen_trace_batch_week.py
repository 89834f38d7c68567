#!/usr/bin/env python3
"""Generate examples/trace-batch-week.csv, a week of batch jobs for `ekas simulate`.

Jobs arrive by a Poisson process whose rate follows the working day (busiest in the
afternoon, quiet at night, a third as busy at the weekend), starting at the example
cluster's capture time (Friday 2026-11-27 12:00 UTC). Nine in ten jobs are CPU jobs (class
`cpu`), the rest GPU jobs (class `gpu`); a few are gangs whose pods must start together
(distributed training). Durations are log-normal. The classes are defined in
examples/batch-cluster.json's `simulation` object.

Deterministic: only random.Random(SEED).random() is used, so a run reproduces the file byte
for byte.

Usage: python3 examples/gen_trace_batch_week.py [OUTPUT]
(default OUTPUT: trace-batch-week.csv next to this script)
"""

import math
import os
import random
import sys

SEED = 20261127
DAYS = 7
START_HOUR = 12          # the trace starts at 12:00 on a Friday
START_WEEKDAY = 4        # Monday is 0
JOBS_PER_WORKDAY = 300   # expected jobs on a working day

rng = random.Random(SEED)


def uniform(a, b):
    return a + (b - a) * rng.random()


def pick(weighted):
    """A value from [(value, weight), ...]."""
    total = sum(w for _, w in weighted)
    x = rng.random() * total
    for value, weight in weighted:
        x -= weight
        if x < 0:
            return value
    return weighted[-1][0]


def lognormal(median, sigma):
    # Box-Muller from two uniforms.
    u1, u2 = rng.random() or 1e-12, rng.random()
    z = math.sqrt(-2.0 * math.log(u1)) * math.cos(2.0 * math.pi * u2)
    return median * math.exp(sigma * z)


def rate(t):
    """Expected jobs per second at t seconds after the start."""
    hour_of_week = START_HOUR + t / 3600.0
    day = (START_WEEKDAY + int(hour_of_week // 24)) % 7
    hour = hour_of_week % 24
    # Working hours carry most of the load; a smooth bump peaking at 15:00.
    shape = 0.15 + math.exp(-((hour - 15.0) / 4.0) ** 2)
    weekend = 0.33 if day >= 5 else 1.0
    # The shape integrates to about 7.4 hours of peak rate over a day.
    return JOBS_PER_WORKDAY / (7.4 * 3600.0) * shape * weekend


def arrivals():
    # Thinning: propose at the highest rate, keep each with probability rate/peak.
    peak = JOBS_PER_WORKDAY / (7.4 * 3600.0) * 1.15
    t = 0.0
    end = DAYS * 86400.0
    while True:
        t += -math.log(1.0 - rng.random()) / peak
        if t >= end:
            return
        if rng.random() < rate(t) / peak:
            yield int(t)


def clamp(x, lo, hi):
    return max(lo, min(hi, x))


def cpu_job():
    cpu = pick([(1, 4), (2, 4), (4, 3), (8, 1)])
    gang = rng.random() < 0.03
    pods = 8 if gang else pick([(1, 5), (2, 3), (4, 2), (8, 1), (16, 0.4)])
    memory = cpu * pick([(2, 2), (4, 2), (6, 1)])
    minutes = clamp(lognormal(20.0, 0.9), 2, 360)
    return "cpu", pods, str(cpu), f"{memory}Gi", "", minutes, gang


def gpu_job():
    gang = rng.random() < 0.08
    pods = 4 if gang else pick([(1, 4), (2, 1)])
    minutes = clamp(lognormal(60.0, 0.7), 10, 480)
    return "gpu", pods, "4", pick([("16Gi", 1), ("24Gi", 1)]), "1", minutes, gang


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "trace-batch-week.csv")
    rows = []
    for n, submit in enumerate(arrivals()):
        cls, pods, cpu, memory, gpu, minutes, gang = gpu_job() if rng.random() < 0.1 else cpu_job()
        name = f"{cls}-{n:05d}"
        duration = f"{int(round(minutes * 60))}"
        rows.append((submit, name, pods, cpu, memory, gpu, cls, duration, "true" if gang else ""))
    with open(out, "w", encoding="utf-8") as f:
        f.write("submit,job,pods,cpu,memory,gpu,class,duration,gang\n")
        for row in rows:
            f.write(",".join(str(x) for x in row) + "\n")
    pods = sum(r[2] for r in rows)
    print(f"wrote {out}: {len(rows)} jobs, {pods} pods", file=sys.stderr)


if __name__ == "__main__":
    main()

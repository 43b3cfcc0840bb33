"""REINFORCE and A2C on CartPole-v1 over seeds 0-9: the numbers that 2.3 and 2.4 quote.

Run:  nice .venv/bin/python benchmarks/bench_rl_seeds.py   (about 3-5 minutes on one core)

For each seed the script trains REINFORCE (``reinforce.Config()``), A2C
(``a2c.Config()``) and A2C with advantage normalisation switched on, each until
the mean of its last 20 training returns reaches 475 (or 150,000 steps), then
plays 20 greedy episodes of the trained policy with ``sprl.rl.common.evaluate``
on environment seeds 10,000-10,019, which training never used. It prints one
row per run and, per configuration, the median and quartiles of the steps to
the target and of the wall time, the smallest greedy mean, and in how many
seeds A2C needed fewer steps than REINFORCE.

Step counts are reproducible on one machine and library version, but not across
hardware: the text quotes medians and quartiles, never one seed's count.
"""

from __future__ import annotations

import dataclasses
import platform
import sys
import time

import numpy as np
import torch

from sprl.rl import a2c, common, reinforce

SEEDS = range(10)
EVAL_SEED, N_EVAL = 10_000, 20
RUNS = {
    "REINFORCE": lambda seed: reinforce.train(reinforce.Config(), seed=seed, progress=False),
    "A2C": lambda seed: a2c.train(a2c.Config(), seed=seed, progress=False),
    "A2C, normalised advantages": lambda seed: a2c.train(
        dataclasses.replace(a2c.Config(), normalize_advantages=True), seed=seed,
        progress=False),
}


def quartiles(x):
    q1, q2, q3 = np.percentile(np.asarray(x, dtype=float), [25, 50, 75])
    return f"{q2:,.0f} ({q1:,.0f}-{q3:,.0f})"


def main() -> int:
    torch.set_num_threads(1)
    print(f"{time.strftime('%Y-%m-%d')}, {platform.machine()}, Python {sys.version.split()[0]}, "
          f"torch {torch.__version__}, one thread")
    results = {name: [] for name in RUNS}
    print(f"{'configuration':28s} {'seed':>4s} {'steps to 475':>12s} {'seconds':>8s} "
          f"{'greedy mean':>11s} {'greedy min':>10s}")
    for seed in SEEDS:
        for name, run in RUNS.items():
            h = run(seed)
            greedy = common.evaluate(h.policy, n_episodes=N_EVAL, seed=EVAL_SEED)
            steps = h.steps_to_target if h.reached_target else np.nan
            results[name].append((steps, h.wall_time, greedy.mean(), greedy.min()))
            print(f"{name:28s} {seed:4d} {steps:12,.0f} {h.wall_time:8.1f} "
                  f"{greedy.mean():11.1f} {greedy.min():10.0f}", flush=True)
    print()
    print(f"{'configuration':28s} {'reached':>7s} {'steps: median (quartiles)':>28s} "
          f"{'seconds: median (quartiles)':>28s} {'smallest greedy mean':>20s}")
    for name, rows in results.items():
        steps, wall, gmean, _ = map(np.array, zip(*rows))
        ok = ~np.isnan(steps)
        print(f"{name:28s} {ok.sum():4d}/{len(rows)} {quartiles(steps[ok]):>28s} "
              f"{quartiles(wall):>28s} {gmean.min():20.1f}")
    rf = np.array([r[0] for r in results["REINFORCE"]])
    ac = np.array([r[0] for r in results["A2C"]])
    print(f"A2C needed fewer steps than REINFORCE in {(ac < rf).sum()} of {len(rf)} seeds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

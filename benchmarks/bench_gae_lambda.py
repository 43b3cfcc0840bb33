"""Does the GAE parameter lambda matter for A2C on CartPole-v1? (book section 2.5)

Run:  nice .venv/bin/python benchmarks/bench_gae_lambda.py [--seeds 0 1 ... 9]
      [--lams 0 0.5 0.9 0.95 1]

For each lambda and each seed, trains ``sprl.rl.a2c`` with its default ``Config``
except ``lam`` (so lambda = 1 is the A2C of section 2.4) until the mean return of
the last 20 training episodes reaches 475, within a budget of 100,000 environment
steps. It then evaluates the greedy policy on 20 fresh episodes
(``sprl.rl.common.evaluate``, seed 10,000, never trained on). Runs are interleaved
seed by seed so that changes in the machine's load hit every lambda alike. One
thread for torch.

Prints one row per run, then per lambda: the median, the quartiles and the range of
the env steps to reach the target (runs that never reach it count as the budget and
are listed), the median greedy evaluation return, and the median wall time.
The last line is machine-readable:
``RESULT lam=<l>:<median steps> ...``.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch

from sprl.rl import a2c
from sprl.rl.common import evaluate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    parser.add_argument("--lams", type=float, nargs="+", default=[0.0, 0.5, 0.9, 0.95, 1.0])
    parser.add_argument("--budget", type=int, default=100_000)
    args = parser.parse_args()
    torch.set_num_threads(1)

    rows = {lam: [] for lam in args.lams}
    print(f"{'lambda':>6s} {'seed':>4s} {'steps':>8s} {'greedy':>7s} {'wall s':>7s}", flush=True)
    for seed in args.seeds:
        for lam in args.lams:
            config = a2c.Config(lam=lam, max_env_steps=args.budget)
            h = a2c.train(config, seed=seed, progress=False)
            steps = h.steps_to_target if h.reached_target else args.budget
            greedy = float(evaluate(h.policy, n_episodes=20, seed=10_000).mean())
            rows[lam].append((seed, steps, h.reached_target, greedy, h.wall_time))
            mark = "" if h.reached_target else "  (not reached)"
            print(f"{lam:6.2f} {seed:4d} {steps:8d} {greedy:7.1f} {h.wall_time:7.1f}{mark}",
                  flush=True)

    print()
    print("| lambda | median env steps | quartiles | range | reached | "
          "median greedy return | median wall s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    result = []
    for lam, runs in rows.items():
        steps = np.array([r[1] for r in runs])
        reached = sum(r[2] for r in runs)
        greedy = np.array([r[3] for r in runs])
        wall = np.array([r[4] for r in runs])
        q1, med, q3 = np.percentile(steps, [25, 50, 75])
        print(f"| {lam:g} | {med:,.0f} | {q1:,.0f} - {q3:,.0f} | "
              f"{steps.min():,} - {steps.max():,} | {reached}/{len(runs)} | "
              f"{np.median(greedy):.1f} (min {greedy.min():.1f}) | {np.median(wall):.1f} |")
        result.append(f"lam={lam:g}:{med:.0f}")
    print("RESULT " + " ".join(result))


if __name__ == "__main__":
    main()

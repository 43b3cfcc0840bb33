"""TRPO (sprl.rl.trpo) on CartPole-v1 over seeds 0-9: environment steps to the target.

Run from the repository root (needs only the project's own ``.venv``):

    .venv/bin/python benchmarks/trpo_seeds.py [--seeds 0 1 ... 9]

For each seed it trains ``trpo.Config()`` (training target: mean return of the last
20 training episodes >= 490, batches of 512 steps, delta = 0.02) with
``torch.set_num_threads(1)``, then runs 20 greedy evaluation episodes on environment
seeds never used in training (10,000 to 10,019).  It prints one row per seed, then the
median, the quartiles and the range of the environment steps to the target, of the training CPU
time (wall time depends on the machine's load) and of the greedy mean returns, and the largest mean KL of any accepted update.
The table in ``benchmarks/README.md`` is its output; chapter 2.6 quotes it.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))

from sprl.rl import trpo  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(10)))
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = trpo.Config()
    print(f"TRPO, CartPole-v1, training target {config.target_return}, "
          f"delta = {config.max_kl}, batch {config.n_envs * config.n_steps}")
    print(f"{'seed':>4}  {'env steps':>9}  {'wall s':>6}  {'cpu s':>6}  {'greedy mean':>11}  "
          f"{'greedy min':>10}  {'max KL':>7}  {'rejected':>8}")
    steps, walls, cpus, greedy_means, max_kls = [], [], [], [], []
    for seed in args.seeds:
        cpu = time.process_time()
        h = trpo.train(config, seed=seed, progress=False)
        cpu = time.process_time() - cpu
        greedy = trpo.evaluate(h.policy, n_episodes=20, seed=10_000)
        kl = np.asarray(h.kl)
        n_steps = h.steps_to_target if h.reached_target else h.env_steps
        steps.append(n_steps)
        walls.append(h.wall_time)
        cpus.append(cpu)
        greedy_means.append(greedy.mean())
        max_kls.append(kl.max())
        mark = "" if h.reached_target else " (target not reached)"
        print(f"{seed:>4}  {n_steps:>9,}  {h.wall_time:>6.1f}  {cpu:>6.1f}  {greedy.mean():>11.1f}  "
              f"{greedy.min():>10.0f}  {kl.max():>7.4f}  {np.sum(~np.asarray(h.accepted)):>8}"
              f"{mark}", flush=True)
    q_steps, q_cpus = np.percentile(steps, [25, 75]), np.percentile(cpus, [25, 75])
    print(f"median env steps {np.median(steps):,.0f} (quartiles {q_steps[0]:,.0f} and "
          f"{q_steps[1]:,.0f}; range {min(steps):,} to {max(steps):,}); "
          f"median wall {np.median(walls):.1f} s, CPU {np.median(cpus):.1f} s "
          f"(quartiles {q_cpus[0]:.1f} and {q_cpus[1]:.1f}; "
          f"range {min(cpus):.1f} to {max(cpus):.1f}); "
          f"greedy means: median {np.median(greedy_means):.1f}, "
          f"min {min(greedy_means):.1f}, {sum(g >= 475 for g in greedy_means)} of "
          f"{len(greedy_means)} >= 475; largest mean KL {max(max_kls):.4f} "
          f"(delta {config.max_kl})")


if __name__ == "__main__":
    main()

"""sprl.rl.ppo against Stable-Baselines3's PPO on CartPole-v1 (book section 2.7).

Run (stable-baselines3 is a benchmark-only dependency, see README.md):

    .venv/bin/pip install --no-deps -r benchmarks/requirements.txt   # once
    .venv/bin/python benchmarks/bench_ppo.py --seeds 0 1 2 3 4

Side by side, in one process, interleaved seed by seed, ``torch.set_num_threads(1)``
for both.  The same solve test for both: every 2,000 environment steps (at the
first update boundary past each multiple), the mean return of 20 greedy
(deterministic) episodes on seeds never trained on (1,000,000 to 1,000,019, the
same for both, run in one batch by ``sprl.rl.common.evaluate``) must reach 475.
Evaluation steps are not counted and evaluation time is excluded from the
training seconds.  Both stop at 100,000 environment steps.

Stable-Baselines3 runs with rl-zoo's tuned CartPole-v1 hyperparameters (8 envs,
n_steps 32, batch 256, gae_lambda 0.8, gamma 0.98, 20 epochs, ent_coef 0, learning
rate and clip range decayed linearly from 1e-3 and 0.2 over 100,000 steps); ours
runs with ``sprl.rl.ppo.Config()`` as it is.

Prints per seed and the medians: env steps to solve, training seconds, and the
ratios ours / SB3.  The last line is machine-readable:

    RESULT ours_median_steps=<int> sb3_median_steps=<int> wall_ratio=<float>

(wall_ratio = our median training seconds / SB3's).
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time

import numpy as np
import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "lib"))

from stable_baselines3 import PPO as SB3PPO  # noqa: E402
from stable_baselines3.common.callbacks import BaseCallback  # noqa: E402
from stable_baselines3.common.env_util import make_vec_env  # noqa: E402

from sprl.rl import ppo  # noqa: E402
from sprl.rl.common import evaluate  # noqa: E402

ENV_ID = "CartPole-v1"
BUDGET = 100_000
EVAL_EVERY = 2_000
EVAL_EPISODES = 20
EVAL_SEED = 1_000_000
TARGET = 475.0


class GreedySB3:
    """Adapter: ``greedy(obs)`` for ``sprl.rl.common.evaluate`` from an SB3 model."""

    def __init__(self, model):
        self.model = model

    def greedy(self, obs: torch.Tensor) -> torch.Tensor:
        actions, _ = self.model.predict(obs.numpy(), deterministic=True)
        return torch.as_tensor(actions)


class SolveTest(BaseCallback):
    """Evaluate at the first rollout start past each multiple of EVAL_EVERY steps.

    A rollout starts right after an update, so the policy evaluated is the
    updated one, as in ``sprl.rl.ppo``.  Stops training once solved.
    """

    def __init__(self):
        super().__init__()
        self.next_eval, self.eval_time = EVAL_EVERY, 0.0
        self.solved_at = None

    def _on_rollout_start(self) -> None:
        if self.solved_at is None and self.num_timesteps >= self.next_eval:
            t0 = time.perf_counter()
            score = evaluate(GreedySB3(self.model), ENV_ID, EVAL_EPISODES, seed=EVAL_SEED).mean()
            self.eval_time += time.perf_counter() - t0
            while self.next_eval <= self.num_timesteps:
                self.next_eval += EVAL_EVERY
            if score >= TARGET:
                self.solved_at = self.num_timesteps

    def _on_step(self) -> bool:
        return self.solved_at is None


def run_sb3(seed: int):
    env = make_vec_env(ENV_ID, n_envs=8, seed=seed)
    model = SB3PPO(
        "MlpPolicy", env, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98,
        n_epochs=20, ent_coef=0.0,
        learning_rate=lambda progress_remaining: 1e-3 * progress_remaining,
        clip_range=lambda progress_remaining: 0.2 * progress_remaining,
        seed=seed, device="cpu", verbose=0,
    )
    callback = SolveTest()
    start = time.perf_counter()
    model.learn(total_timesteps=BUDGET, callback=callback)
    wall = time.perf_counter() - start - callback.eval_time
    env.close()
    return callback.solved_at, wall


def run_ours(seed: int):
    config = ppo.Config(env_id=ENV_ID, max_env_steps=BUDGET, target_return=TARGET,
                        eval_every=EVAL_EVERY, eval_episodes=EVAL_EPISODES,
                        eval_seed=EVAL_SEED)
    h = ppo.train(config, seed=seed, progress=False)
    return h.steps_to_target, h.wall_time  # wall_time excludes the evaluations


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    import stable_baselines3

    print(f"torch {torch.__version__}, stable-baselines3 {stable_baselines3.__version__}, "
          f"one thread; solve test: mean of {EVAL_EPISODES} greedy episodes >= {TARGET:g} "
          f"every {EVAL_EVERY:,} steps; budget {BUDGET:,} steps")
    rows = []
    print(f"{'seed':>4}  {'ours steps':>10} {'ours s':>7}  {'SB3 steps':>10} {'SB3 s':>7}  "
          f"{'steps ratio':>11} {'wall ratio':>10}")
    for seed in args.seeds:
        o_steps, o_wall = run_ours(seed)
        s_steps, s_wall = run_sb3(seed)
        o_eff = o_steps if o_steps is not None else BUDGET  # unsolved: the whole budget
        s_eff = s_steps if s_steps is not None else BUDGET
        rows.append((o_eff, o_wall, s_eff, s_wall))
        print(f"{seed:4d}  {o_eff:10,d}{'' if o_steps else '*'} {o_wall:7.2f}  "
              f"{s_eff:10,d}{'' if s_steps else '*'} {s_wall:7.2f}  "
              f"{o_eff / s_eff:11.3f} {o_wall / s_wall:10.3f}", flush=True)
    o_steps, o_wall, s_steps, s_wall = (np.median(c) for c in zip(*rows))
    print(f"{'median':>6}{o_steps:10,.0f} {o_wall:7.2f}  {s_steps:10,.0f} {s_wall:7.2f}  "
          f"{o_steps / s_steps:11.3f} {o_wall / s_wall:10.3f}")
    print("(* = not solved within the budget, counted as the whole budget)")
    for name, col in (("ours", 0), ("SB3", 2)):
        q1, q3 = np.percentile([r[col] for r in rows], [25, 75])
        wins = sum(r[0] < r[2] for r in rows) if col == 0 else sum(r[2] < r[0] for r in rows)
        print(f"{name}: env steps quartiles {q1:,.0f} to {q3:,.0f}; "
              f"fewer steps than the other on {wins} of {len(rows)} seeds")
    print(f"RESULT ours_median_steps={int(round(o_steps))} "
          f"sb3_median_steps={int(round(s_steps))} wall_ratio={o_wall / s_wall:.3f}")


if __name__ == "__main__":
    main()

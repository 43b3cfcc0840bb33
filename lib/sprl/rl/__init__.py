"""Reinforcement learning (book part 2).

:mod:`sprl.rl.returns` (returns and advantages), :mod:`sprl.rl.tabular`
(small MDPs solved exactly), :mod:`sprl.rl.policies` (torch networks and the
pseudo-loss), :mod:`sprl.rl.reinforce`, :mod:`sprl.rl.a2c` and :mod:`sprl.rl.trpo`
(one file per algorithm), :mod:`sprl.rl.common` (their training history and batch
evaluation), :mod:`sprl.rl.reward_models` (learned reward models, best-of-n
and reward hacking on a bandit, section 2.10).
:mod:`sprl.rl.ppo`: proximal policy optimisation, PPO-Clip and PPO-Penalty
(section 2.7).
:mod:`sprl.rl.toylm`: a small GRU language model for sections 2.8-2.10;
:mod:`sprl.rl.dpo`: Bradley-Terry, the DPO loss, its exact tabular check and
DPO fine-tuning of the small language model (section 2.8).

Submodules load on first use (``sprl.rl.tabular.gridworld`` works after a bare
``import sprl``).  Only the torch-based ones import torch, so
``sprl.rl.returns`` and ``sprl.rl.tabular`` load without it.
"""

import importlib

_SUBMODULES = {
    "returns", "tabular", "policies", "reinforce", "a2c", "common",
    "trpo", "ppo", "toylm", "dpo", "grpo", "reward_models",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sprl.rl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)

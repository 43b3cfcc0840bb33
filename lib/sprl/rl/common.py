"""What the training loops of :mod:`sprl.rl` share: their history and a batch evaluation."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from .._checks import as_int

__all__ = ["History", "evaluate", "kl_estimates", "deterministic", "env_seeds",
           "TRAIN_SEED_MIN"]

#: Every training environment seed that :func:`env_seeds` derives lies in
#: ``[TRAIN_SEED_MIN, 2 * TRAIN_SEED_MIN)``; evaluation seeds (:func:`evaluate`) must lie
#: below it, so that no agent is ever judged on an episode start it trained on.
TRAIN_SEED_MIN = 2**32


@dataclass
class History:
    """What ``train`` returns.

    ``episode_returns[k]`` is the (undiscounted) return of the ``k``-th
    finished training episode and ``episode_steps[k]`` the number of
    environment steps taken when it ended.  ``steps_to_target`` is the step
    count at which the mean of the last ``config.window`` returns first
    reached ``config.target_return`` (``None`` if it never did); ``wall_time``
    is in seconds.  ``policy`` and ``value`` are the trained networks.
    """

    episode_returns: list = field(default_factory=list)
    episode_steps: list = field(default_factory=list)
    env_steps: int = 0
    wall_time: float = 0.0
    steps_to_target: int | None = None
    policy: Any = None
    value: Any = None
    config: Any = None

    @property
    def reached_target(self) -> bool:
        return self.steps_to_target is not None

    def moving_average(self, window: int | None = None) -> np.ndarray:
        """Mean of the last ``window`` episode returns after each episode (fewer at the start)."""
        window = as_int(window or (self.config.window if self.config else 20), "window", minimum=1)
        r = np.asarray(self.episode_returns, dtype=float)
        c = np.cumsum(np.insert(r, 0, 0.0))
        k = np.arange(1, r.size + 1)
        lo = np.maximum(k - window, 0)
        return (c[k] - c[lo]) / (k - lo)


@contextlib.contextmanager
def deterministic(seed: int):
    """Run the block with one torch thread and torch's RNG seeded with ``seed``.

    Every ``train`` of :mod:`sprl.rl` runs inside it, so that a run is the same
    under its seed (tiny networks are also fastest on one thread).  On exit the
    thread count and torch's global RNG state are what they were before, so a
    notebook's other random draws do not depend on whether it trained.
    """
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            yield
    finally:
        torch.set_num_threads(threads)


def env_seeds(seed: int, n: int) -> list[int]:
    """The seeds of the ``n`` training environments of the run with seed ``seed``.

    Seeding ``n`` environments with ``seed, seed + 1, ..., seed + n - 1`` (what
    ``envs.reset(seed=seed)`` of a gymnasium vector environment does) makes the
    runs with seeds 0 and 1 share ``n - 1`` of their ``n`` environment streams, so
    ten consecutive seeds are not ten independent runs.  Instead, environment
    ``i`` gets a number drawn from child ``i`` of
    ``numpy.random.SeedSequence(seed).spawn(n)``: SeedSequence hashes the pair
    (seed, i) into the draw, so runs with different seeds get unrelated streams
    (the test suite checks that seeds 0 to 99 never share one), and the seed of
    environment ``i`` does not depend on ``n``.  The draws are shifted by
    :data:`TRAIN_SEED_MIN` = :math:`2^{32}`, so that a training seed can never equal
    an evaluation seed of :func:`evaluate` (all below :math:`2^{32}`).

    Parameters
    ----------
    seed : int
        The seed of the run, >= 0 (the one passed to ``train``).
    n : int
        Number of environments, >= 1.

    Returns
    -------
    list of int
        ``n`` Python ints in ``[2**32, 2**33)``, the same for the same ``(seed, n)``;
        pass them to ``envs.reset(seed=...)``.
    """
    seed = as_int(seed, "seed", minimum=0)
    n = as_int(n, "n", minimum=1)
    children = np.random.SeedSequence(seed).spawn(n)  # child i: entropy (seed, spawn key i)
    return [TRAIN_SEED_MIN + int(c.generate_state(1, dtype=np.uint32)[0]) for c in children]


def _clip_grad(parameters, max_norm):
    """Clip the global gradient norm (no-op when ``max_norm`` is None or <= 0)."""
    if max_norm and max_norm > 0:
        torch.nn.utils.clip_grad_norm_(parameters, max_norm)


def evaluate(policy, env_id: str = "CartPole-v1", n_episodes: int = 20, seed: int = 10_000,
             greedy: bool = True, max_steps: int = 100_000) -> np.ndarray:
    """Returns of ``n_episodes`` episodes of ``policy``, all run at once in one batch.

    The episodes run side by side in a vector environment, one forward pass
    per time step for all of them; each counts from its reset to its end.
    ``greedy`` takes the most probable action, otherwise actions are sampled
    (reproducibly, from ``seed``).  Episode ``k`` starts from environment seed
    ``seed + k``; these stay below :data:`TRAIN_SEED_MIN`, where no training
    environment's seed (:func:`env_seeds`) lies, so the episodes are fresh.

    Returns
    -------
    numpy.ndarray, shape (n_episodes,)
    """
    n = as_int(n_episodes, "n_episodes", minimum=1)
    seed = as_int(seed, "seed", minimum=0, maximum=TRAIN_SEED_MIN - n)  # apart from training
    envs = gym.make_vec(env_id, num_envs=n, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    obs, _ = envs.reset(seed=seed)
    generator = torch.Generator().manual_seed(seed)
    returns = np.zeros(n)
    running = np.ones(n, dtype=bool)
    for _ in range(max_steps):
        obs_t = torch.as_tensor(obs)
        actions = policy.greedy(obs_t) if greedy else policy.sample(obs_t, generator)
        obs, reward, terminated, truncated, _ = envs.step(actions.numpy())
        returns += reward * running
        running &= ~(terminated | truncated)
        if not running.any():
            break
    envs.close()
    return returns


def kl_estimates(logp_sample, logp_other):
    r"""Per-sample estimators of :math:`\mathrm{KL}(p \,\|\, q)` from draws :math:`x \sim p`.

    With :math:`\log r = \log q(x) - \log p(x)` (``logp_other - logp_sample``),

    .. math::

       k_1 = -\log r, \qquad k_3 = (r - 1) - \log r .

    Both have mean :math:`\mathrm{KL}(p \,\|\, q)` under :math:`x \sim p`; :math:`k_3` is
    never negative (since :math:`\log r \le r - 1`) and has far less variance when
    :math:`p` and :math:`q` are close.  PPO (section 2.7) monitors
    :math:`\mathrm{KL}(\pi_{\text{old}} \,\|\, \pi_\theta)` with samples of
    :math:`\pi_{\text{old}}`; GRPO (section 2.9) penalises
    :math:`\mathrm{KL}(\pi_\theta \,\|\, \pi_{\text{ref}})` per token with :math:`k_3`.

    Parameters
    ----------
    logp_sample : torch.Tensor
        :math:`\log p(x)` of the drawn samples (the law they were drawn from).
    logp_other : torch.Tensor
        :math:`\log q(x)` of the same samples, same shape.

    Returns
    -------
    (k1, k3) : tuple of torch.Tensor
        Per-sample estimates, the shape of the inputs (no mean taken).
    """
    if logp_sample.shape != logp_other.shape:
        raise ValueError(
            f"logp_other must have the shape of logp_sample {tuple(logp_sample.shape)}, "
            f"got {tuple(logp_other.shape)}"
        )
    log_r = logp_other - logp_sample
    return -log_r, torch.expm1(log_r) - log_r

r"""REINFORCE with reward-to-go and a learned baseline (book section 2.3), in one file.

Each iteration plays a batch of :math:`N` complete episodes with the current
policy :math:`\pi_\theta` and takes one gradient step on

.. math::

   \hat g = \frac{1}{B} \sum_{i=1}^N \sum_{t=1}^{T_i}
     \nabla_\theta \log \pi_\theta(a_{i,t} \mid s_{i,t})\, \hat A_{i,t},
   \qquad \hat A_{i,t} = \hat R_{i,t} - V_\phi(s_{i,t}),
   \qquad \hat R_{i,t} = \sum_{t'=t}^{T_i} \gamma^{t'-t} r_{i,t'},

a mean over the :math:`B = \sum_i T_i` steps of the batch (the pseudo-loss
``-mean(A_hat * log pi)``), i.e. :math:`N/B` times the per-episode average.
With ``normalize_advantages`` (the default) :math:`\hat A` is first rescaled
to mean 0 and standard deviation 1 over the batch, and the gradient norm is
clipped at ``max_grad_norm``; both are departures from the unbiased estimator
(section 2.3).  Meanwhile :math:`V_\phi` is fitted to the Monte Carlo targets
:math:`\hat R_{i,t}`.
REINFORCE needs complete episodes (the return is a sum to the end), so the
:math:`N` episodes run side by side and an episode that has ended simply
stops: no step is wasted and every step is counted.

Read it top to bottom: the hyperparameters (:class:`Config`), the steps of
an iteration as functions of their own (:func:`play_episodes`,
:func:`episodes_to_batch`, :func:`baseline_advantages`, each tested on its
own), then :func:`train`, which runs them.  Key equations sit in comments
next to the line that computes them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import gymnasium as gym
import numpy as np
import torch

from .._checks import as_int
from ..progress import progress_bar
from .common import History, _clip_grad, deterministic, env_seeds, evaluate
from .policies import CategoricalPolicy, ValueNetwork, pseudo_loss
from .returns import reward_to_go

__all__ = [
    "Config", "History", "train", "evaluate",
    "play_episodes", "episodes_to_batch", "baseline_advantages",
]


@dataclass(frozen=True)
class Config:
    """Hyperparameters of REINFORCE (all in one place)."""

    env_id: str = "CartPole-v1"
    episodes_per_batch: int = 4  # N: episodes per gradient step
    gamma: float = 0.99  # discount of the reward-to-go
    policy_lr: float = 3e-3  # Adam step size of the policy
    value_lr: float = 3e-3  # Adam step size of the baseline V_phi
    value_steps: int = 10  # gradient steps on the baseline per batch
    hidden: tuple = (64, 64)  # widths of the hidden layers (policy and value)
    normalize_advantages: bool = True  # rescale R_hat - V to mean 0, std 1 per batch
    max_grad_norm: float = 0.5  # clip the gradient norm of each step
    adam_eps: float = 1e-5
    max_env_steps: int = 150_000  # budget of environment steps
    target_return: float | None = 475.0  # stop once the mean return of the last
    window: int = 20  # `window` finished episodes reaches target_return


def _check_config(config: Config):
    if not isinstance(config, Config):
        raise ValueError(f"config must be a reinforce.Config, got {type(config).__name__}")
    if not 0.0 <= config.gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {config.gamma}")
    as_int(config.episodes_per_batch, "episodes_per_batch", minimum=1)
    as_int(config.max_env_steps, "max_env_steps", minimum=1)
    as_int(config.window, "window", minimum=1)


def train(config: Config = Config(), seed: int = 0, progress: bool = True) -> History:
    """Train REINFORCE on ``config.env_id``; deterministic for a given ``seed``.

    Stops after ``max_env_steps`` environment steps, or as soon as the mean
    return of the last ``window`` episodes reaches ``target_return``.
    """
    _check_config(config)
    seed = as_int(seed, "seed", minimum=0)
    with deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(config, seed, progress)


def play_episodes(envs, policy, generator, history, reset_seeds=None):
    """Step 1: play one complete episode in each environment of the list ``envs``.

    The episodes run side by side (one forward pass per step for all that are
    still running); an episode that has ended simply stops.  ``reset_seeds``
    (one per environment, or ``None``) seeds the resets: pass seeds only on the
    first batch, so that later batches continue each environment's own random
    stream instead of replaying the same starts.  Every finished episode's
    return is appended to ``history``.

    Returns
    -------
    (observations, actions, rewards) : three lists, one list per episode
    """
    n = len(envs)
    seeds = [None] * n if reset_seeds is None else list(reset_seeds)
    obs = np.stack([env.reset(seed=seeds[i])[0] for i, env in enumerate(envs)])
    ep_obs, ep_act, ep_rew = ([[] for _ in range(n)] for _ in range(3))
    running = np.ones(n, dtype=bool)
    while running.any():
        idx = np.flatnonzero(running)
        actions = policy.sample(torch.as_tensor(obs[idx]), generator).numpy()  # a ~ pi(.|s)
        for j, i in enumerate(idx):
            next_obs, reward, terminated, truncated, _ = envs[i].step(int(actions[j]))
            ep_obs[i].append(obs[i].copy())
            ep_act[i].append(actions[j])
            ep_rew[i].append(reward)
            obs[i] = next_obs
            history.env_steps += 1
            if terminated or truncated:  # CartPole-v1 is cut at 500 steps: return capped
                running[i] = False
                history.episode_returns.append(float(np.sum(ep_rew[i])))
                history.episode_steps.append(history.env_steps)
    return ep_obs, ep_act, ep_rew


def episodes_to_batch(ep_obs, ep_act, ep_rew, gamma):
    r"""Step 2: the batch of all steps, with the reward-to-go of each (section 2.3.3).

    .. math::

       \hat R_{i,t} = \sum_{t'=t}^{T_i} \gamma^{t'-t} r_{i,t'} ,

    the return from step :math:`t` on, *including* :math:`r_{i,t}` (the rewards
    before :math:`t` pair with the score of step :math:`t` only in
    mean-zero terms, section 1.2).

    Returns
    -------
    (obs, actions, returns) : torch.Tensor, the steps of all episodes in order
    """
    b_obs = torch.as_tensor(np.concatenate([np.stack(o) for o in ep_obs]), dtype=torch.float32)
    b_act = torch.as_tensor(np.concatenate(ep_act))
    b_ret = torch.as_tensor(
        np.concatenate([reward_to_go(np.asarray(r), gamma) for r in ep_rew]),
        dtype=torch.float32,
    )
    return b_obs, b_act, b_ret


def baseline_advantages(returns, values, normalize=True):
    r"""Step 3: :math:`\hat A_t = \hat R_t - V_\phi(s_t)` (baseline, section 2.3.4).

    With ``normalize`` the advantages are rescaled to mean 0 and standard
    deviation 1 over the batch (a batch of one step is left as it is).
    """
    advantages = returns - values
    if normalize and advantages.numel() > 1:
        advantages = (advantages - advantages.mean()) / (advantages.std() + 1e-8)
    return advantages


def _train(config: Config, seed: int, progress: bool) -> History:
    N = config.episodes_per_batch
    envs = [gym.make(config.env_id) for _ in range(N)]
    obs_dim = envs[0].observation_space.shape[0]
    n_actions = envs[0].action_space.n
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)
    value = ValueNetwork(obs_dim, config.hidden)
    policy_opt = torch.optim.Adam(policy.parameters(), lr=config.policy_lr, eps=config.adam_eps)
    value_opt = torch.optim.Adam(value.parameters(), lr=config.value_lr, eps=config.adam_eps)
    generator = torch.Generator().manual_seed(seed)  # action sampling
    history = History(config=config)
    reset_seeds = env_seeds(seed, N)  # seeds the environments once; no other seed shares one
    start = time.perf_counter()
    bar = progress_bar(total=config.max_env_steps, disable=not progress, desc="REINFORCE",
                       unit="step")

    while history.env_steps < config.max_env_steps:
        # ---- 1. play N complete episodes with pi_theta, side by side ----------------
        ep_obs, ep_act, ep_rew = play_episodes(envs, policy, generator, history, reset_seeds)
        reset_seeds = None  # later batches continue each environment's random stream
        bar.update(sum(len(r) for r in ep_rew))

        # ---- 2. reward-to-go  R_hat_t = sum_{t' >= t} gamma^{t'-t} r_t'  (section 2.3.3) ----
        b_obs, b_act, b_ret = episodes_to_batch(ep_obs, ep_act, ep_rew, config.gamma)

        # ---- 3. advantage  A_hat_t = R_hat_t - V_phi(s_t)  (baseline, section 2.3.4) ----
        with torch.no_grad():
            advantages = baseline_advantages(b_ret, value(b_obs), config.normalize_advantages)

        # ---- 4. one policy step on the pseudo-loss  -mean(A_hat log pi(a|s))  (2.4.3) ----
        loss = pseudo_loss(policy.log_prob(b_obs, b_act), advantages)
        policy_opt.zero_grad()
        loss.backward()
        _clip_grad(policy.parameters(), config.max_grad_norm)
        policy_opt.step()

        # ---- 5. fit the baseline: min_phi mean (V_phi(s_t) - R_hat_t)^2 (Monte Carlo) ----
        for _ in range(config.value_steps):
            value_loss = 0.5 * ((value(b_obs) - b_ret) ** 2).mean()
            value_opt.zero_grad()
            value_loss.backward()
            _clip_grad(value.parameters(), config.max_grad_norm)
            value_opt.step()

        # ---- 6. log; stop at the target -------------------------------------------
        recent = history.episode_returns[-config.window:]
        bar.set_postfix(mean_return=f"{np.mean(recent):.1f}")
        if (config.target_return is not None and len(recent) == config.window
                and np.mean(recent) >= config.target_return):
            history.steps_to_target = history.env_steps
            break

    bar.close()
    for env in envs:
        env.close()
    history.wall_time = time.perf_counter() - start
    history.policy, history.value = policy, value
    return history

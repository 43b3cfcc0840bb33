r"""Batch advantage actor-critic (A2C) on gymnasium vector environments (book section 2.4).

One file, read top to bottom: the hyperparameters (:class:`Config`), the
four steps of an iteration as functions of their own (:func:`collect_rollout`,
:func:`advantages_and_targets`, :func:`actor_loss`, :func:`critic_loss`, each
tested on its own), then :func:`train`, which runs them.  ``n_envs`` copies of the
environment run side by side.  Each iteration collects ``n_steps`` steps from
every copy with the current policy :math:`\pi_\theta`, estimates the advantage
of every step with the critic :math:`V_\phi` by bootstrapping at the end of the
rollout (no bootstrap across the end of an episode),

.. math::

   \hat A_t = \sum_{k=t}^{n-1} \gamma^{k-t} r_k + \gamma^{n-t} V_\phi(s_n) - V_\phi(s_t),
   \qquad \hat R_t = \hat A_t + V_\phi(s_t),

(``gae`` with ``lam = 1``), takes one gradient step on the actor's pseudo-loss
:math:`-\frac1B \sum_b \hat A_b \log \pi_\theta(a_b \mid s_b)` (section 2.4.3),
and fits the critic by a few steps on :math:`\frac1{2B} \sum_b (V_\phi(s_b) -
\hat R_b)^2` with the bootstrapped targets :math:`\hat R_b` held fixed
(semi-gradient).  Unlike REINFORCE it never waits for an episode to end.

Practical details (the book's RL implementation notes): same-step autoreset,
so that ``infos["final_obs"]`` holds the last observation of an episode that
ended; on a *truncation* (time limit, not failure) the target bootstraps from
that observation; separate policy and value networks with orthogonal init;
Adam with ``eps = 1e-5``; gradient norms clipped at 0.5.  Advantage
normalisation is available but off: with batches of 4 x 32 steps it raised the
median number of steps to the target (``benchmarks/bench_rl_seeds.py``, CartPole-v1,
seeds 0 to 9).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from .._checks import as_int
from ..progress import progress_bar
from .common import History, _clip_grad, deterministic, env_seeds, evaluate
from .policies import CategoricalPolicy, ValueNetwork, pseudo_loss
from .returns import gae

__all__ = [
    "Config", "History", "train", "evaluate",
    "Rollout", "collect_rollout", "advantages_and_targets", "actor_loss", "critic_loss",
]


@dataclass(frozen=True)
class Config:
    """Hyperparameters of A2C (all in one place)."""

    env_id: str = "CartPole-v1"
    n_envs: int = 4  # environments run side by side
    n_steps: int = 32  # steps per environment per update: batch B = n_envs * n_steps
    gamma: float = 0.99  # discount
    lam: float = 1.0  # 1: n-step returns; 0: one-step TD error (section 2.5 varies it)
    policy_lr: float = 3e-3  # Adam step size of the actor
    value_lr: float = 3e-3  # Adam step size of the critic
    value_steps: int = 10  # critic gradient steps per batch (fixed targets)
    ent_coef: float = 0.0  # weight c_e of an entropy bonus -c_e H(pi) in the actor loss
    adam_eps: float = 1e-5
    normalize_advantages: bool = False  # measured: rescaling hurts A2C's small batches here
    max_grad_norm: float = 0.5  # clip the gradient norm of each step
    hidden: tuple = (64, 64)  # widths of the hidden layers (actor and critic)
    max_env_steps: int = 100_000  # budget of environment steps
    target_return: float | None = 475.0  # stop once the mean return of the last
    window: int = 20  # `window` finished episodes reaches target_return


def _check_config(config: Config):
    if not isinstance(config, Config):
        raise ValueError(f"config must be an a2c.Config, got {type(config).__name__}")
    if not 0.0 <= config.gamma <= 1.0:
        raise ValueError(f"gamma must lie in [0, 1], got {config.gamma}")
    if not 0.0 <= config.lam <= 1.0:
        raise ValueError(f"lam must lie in [0, 1], got {config.lam}")
    as_int(config.n_envs, "n_envs", minimum=1)
    as_int(config.n_steps, "n_steps", minimum=1)
    as_int(config.max_env_steps, "max_env_steps", minimum=1)
    as_int(config.window, "window", minimum=1)


def train(config: Config = Config(), seed: int = 0, progress: bool = True) -> History:
    """Train A2C on ``config.env_id``; deterministic for a given ``seed``.

    Stops after ``max_env_steps`` environment steps, or as soon as the mean
    return of the last ``window`` finished episodes reaches ``target_return``.
    """
    _check_config(config)
    seed = as_int(seed, "seed", minimum=0)
    with deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(config, seed, progress)


@dataclass
class Rollout:
    """``n_steps`` steps of ``n_envs`` environments: what one A2C update learns from.

    ``obs[t]`` is :math:`s_t` for ``t = 0 .. n_steps`` (``obs[-1]``: where the
    next rollout starts), ``actions``, ``rewards`` and ``dones`` are shaped
    ``(n_steps, n_envs)``; ``dones[t, i]`` marks an episode that ended at step
    ``t`` (terminated or truncated: no bootstrap across the reset).  A
    truncated episode's real last observation is ``final_obs[k]``, taken at
    ``(truncated_t[k], truncated_env[k])``.
    """

    obs: torch.Tensor
    actions: torch.Tensor
    rewards: np.ndarray
    dones: np.ndarray
    truncated_t: list = field(default_factory=list)
    truncated_env: list = field(default_factory=list)
    final_obs: list = field(default_factory=list)


def collect_rollout(envs, policy, obs, n_steps, generator, history, running_return) -> Rollout:
    """Step 1: roll out ``n_steps`` steps of ``policy`` in every environment of ``envs``.

    ``obs`` is the current observation batch :math:`s_0` (shape ``(n_envs,
    obs_dim)``); ``envs`` must use same-step autoreset, so that after an
    episode ends the next observation is the new episode's first one and
    ``infos["final_obs"]`` keeps the old episode's last.  Every finished
    episode's return is appended to ``history`` (``running_return`` carries the
    partial returns from one rollout to the next).
    """
    T, E = n_steps, envs.num_envs
    roll = Rollout(obs=torch.zeros((T + 1, *obs.shape)),
                   actions=torch.zeros((T, E), dtype=torch.long),
                   rewards=np.zeros((T, E)), dones=np.zeros((T, E), dtype=bool))
    roll.obs[0] = torch.as_tensor(obs)
    for t in range(T):
        action = policy.sample(roll.obs[t], generator)  # a_t ~ pi_theta(.|s_t)
        next_obs, reward, terminated, truncated, infos = envs.step(action.numpy())
        roll.actions[t], roll.rewards[t] = action, reward
        roll.dones[t] = terminated | truncated  # no bootstrap across the reset
        roll.obs[t + 1] = torch.as_tensor(next_obs)  # after a reset: the new first state
        for i in np.flatnonzero(truncated & ~terminated):
            # cut by the time limit, not ended: the target must still bootstrap from
            # the real last observation, which same-step autoreset keeps in final_obs
            roll.truncated_t.append(t)
            roll.truncated_env.append(i)
            roll.final_obs.append(infos["final_obs"][i])
        running_return += reward
        history.env_steps += E
        for i in np.flatnonzero(roll.dones[t]):
            history.episode_returns.append(float(running_return[i]))
            history.episode_steps.append(history.env_steps)
            running_return[i] = 0.0
    return roll


def advantages_and_targets(rewards, values, dones, bootstrap, gamma, lam):
    r"""Step 2: advantages :math:`\hat A_t` and critic targets :math:`\hat R_t = \hat A_t + V(s_t)`.

    .. math::

       \hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}, \qquad
       \delta_t = r_t + \gamma V(s_{t+1})(1 - d_t) - V(s_t),

    (``returns.gae``; :math:`\lambda = 1`: the n-step return minus
    :math:`V(s_t)`).  ``values`` holds :math:`V(s_0), \dots, V(s_n)` (shape
    ``(n + 1, n_envs)``; the last row bootstraps the end of the rollout).  At a
    time-limit truncation the episode did not end, so its step keeps the
    bootstrap :math:`\gamma V(s_{\text{final}})` through the reward:
    ``bootstrap[t, i]`` is :math:`V(s_{\text{final}})` there and 0 elsewhere.

    Returns
    -------
    (advantages, targets) : numpy.ndarray, each shaped ``(n, n_envs)``
    """
    rewards = rewards + gamma * bootstrap  # r_t + gamma V(s_final) where truncated
    advantages = gae(rewards, values[:-1], values[-1], gamma, lam, dones=dones)
    return advantages, advantages + values[:-1]


def actor_loss(policy, obs, actions, advantages, ent_coef=0.0):
    r"""Step 3: :math:`-\frac1B \sum_b \hat A_b \log \pi_\theta(a_b \mid s_b)
    - c_e \frac1B \sum_b H(\pi_\theta(\cdot \mid s_b))` (pseudo-loss, section 2.4.3).

    Its gradient is minus the policy-gradient estimate; the entropy bonus
    (``ent_coef`` :math:`= c_e > 0`) is *subtracted*, so that descending the
    loss raises the entropy.
    """
    loss = pseudo_loss(policy.log_prob(obs, actions), advantages)
    if ent_coef:
        loss = loss - ent_coef * policy.entropy(obs).mean()
    return loss


def critic_loss(value, obs, targets):
    r"""Step 4: :math:`\frac1{2B} \sum_b (V_\phi(s_b) - \hat R_b)^2`, targets held fixed
    (semi-gradient: ``targets`` carry no gradient)."""
    return 0.5 * ((value(obs) - targets) ** 2).mean()


def _train(config: Config, seed: int, progress: bool) -> History:
    envs = gym.make_vec(config.env_id, num_envs=config.n_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    obs_dim = envs.single_observation_space.shape[0]
    n_actions = envs.single_action_space.n
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)  # actor pi_theta
    value = ValueNetwork(obs_dim, config.hidden)  # critic V_phi
    policy_opt = torch.optim.Adam(policy.parameters(), lr=config.policy_lr, eps=config.adam_eps)
    value_opt = torch.optim.Adam(value.parameters(), lr=config.value_lr, eps=config.adam_eps)
    generator = torch.Generator().manual_seed(seed)
    history = History(config=config)
    running_return = np.zeros(config.n_envs)
    obs, _ = envs.reset(seed=env_seeds(seed, config.n_envs))  # streams no other seed shares
    start = time.perf_counter()
    bar = progress_bar(total=config.max_env_steps, disable=not progress, desc="A2C", unit="step")

    while history.env_steps < config.max_env_steps:
        # ---- 1. roll out n_steps in each of the n_envs environments ------------------
        roll = collect_rollout(envs, policy, obs, config.n_steps, generator, history,
                               running_return)
        bar.update(config.n_steps * config.n_envs)

        # ---- 2. advantages A_t (GAE) and targets R_t = A_t + V(s_t) --------------------
        with torch.no_grad():
            v = value(roll.obs.reshape(-1, obs_dim)).reshape(roll.rewards.shape[0] + 1, -1)
            bootstrap = torch.zeros(roll.rewards.shape)
            if roll.final_obs:  # V(s_final) where the time limit cut an episode
                bootstrap[roll.truncated_t, roll.truncated_env] = value(
                    torch.as_tensor(np.stack(roll.final_obs)))
        adv, ret = advantages_and_targets(roll.rewards, v.numpy(), roll.dones,
                                          bootstrap.numpy(), config.gamma, config.lam)
        b_obs, b_act = roll.obs[:-1].reshape(-1, obs_dim), roll.actions.reshape(-1)
        b_ret = torch.as_tensor(ret, dtype=torch.float32).reshape(-1)
        b_adv = torch.as_tensor(adv, dtype=torch.float32).reshape(-1)
        if config.normalize_advantages:
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)

        # ---- 3. one actor step on the pseudo-loss ----------------------------------------
        loss = actor_loss(policy, b_obs, b_act, b_adv, config.ent_coef)
        policy_opt.zero_grad()
        loss.backward()
        _clip_grad(policy.parameters(), config.max_grad_norm)
        policy_opt.step()

        # ---- 4. fit the critic to the targets R_hat, held fixed (semi-gradient) -----------
        for _ in range(config.value_steps):
            value_loss = critic_loss(value, b_obs, b_ret)
            value_opt.zero_grad()
            value_loss.backward()
            _clip_grad(value.parameters(), config.max_grad_norm)
            value_opt.step()
        obs = roll.obs[-1]  # the next rollout starts where this one ended

        # ---- 5. log; stop at the target ------------------------------------------------
        recent = history.episode_returns[-config.window:]
        if recent:
            bar.set_postfix(mean_return=f"{np.mean(recent):.1f}")
        if (config.target_return is not None and len(recent) == config.window
                and np.mean(recent) >= config.target_return):
            history.steps_to_target = history.env_steps
            break

    bar.close()
    envs.close()
    history.wall_time = time.perf_counter() - start
    history.policy, history.value = policy, value
    return history

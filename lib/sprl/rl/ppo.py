r"""Proximal policy optimisation (PPO) on gymnasium vector environments (book section 2.7).

One file, read top to bottom: :func:`clipped_objective` (the one new formula),
the hyperparameters (:class:`Config`), then :func:`train`, which is the whole
algorithm.  Each iteration collects ``n_steps`` steps from each of ``n_envs``
environments with the current policy :math:`\pi_{\text{old}}`, estimates
advantages by GAE (section 2.5), and then, unlike A2C, takes *many* gradient
steps on the same batch (``n_epochs`` passes over ``n_minibatches``
minibatches), with the probability ratio

.. math::

   \rho_t(\theta) = \frac{\pi_\theta(a_t \mid s_t)}{\pi_{\text{old}}(a_t \mid s_t)}

kept near 1 in one of two ways (``Config.method``):

* ``"clip"`` (PPO-Clip): maximise

  .. math::

     \frac1B \sum_t \min\bigl(\rho_t \hat A_t,\
     \mathrm{clip}(\rho_t, 1-\epsilon, 1+\epsilon) \hat A_t\bigr);

* ``"penalty"`` (PPO-Penalty): maximise

  .. math::

     \frac1B \sum_t \rho_t \hat A_t
     - \beta\, \mathrm{KL}(\pi_{\text{old}}(\cdot\mid s_t) \,\|\, \pi_\theta(\cdot\mid s_t)),

  with :math:`\beta` doubled after an update whose mean KL exceeded
  ``1.5 * kl_target`` and halved after one below ``kl_target / 1.5``.

The critic minimises :math:`\frac12 (V_\phi(s_t) - \hat R_t)^2` with the GAE
targets :math:`\hat R_t = \hat A_t + V_{\text{old}}(s_t)` held fixed.  Its loss
is *not* clipped by default (``clip_value = False``): clipping the value update
to :math:`V_{\text{old}} \pm \epsilon` was found not to help and often to hurt
(Andrychowicz et al. 2021); it is kept as an option so that the claim can be
checked.

Practical details (see the book's RL implementation notes): same-step
autoreset, and on a *truncation* (time limit, not failure) the target
bootstraps from the real last observation ``infos["final_obs"]``; separate
policy and value networks with orthogonal init; per-minibatch advantage
normalisation; one Adam optimiser (``eps = 1e-5``) on
``policy_loss + vf_coef * value_loss - ent_coef * entropy``; gradient norm
clipped at 0.5; optional early stop of the epochs when the k3 estimate of the
KL exceeds ``1.5 * target_kl``; learning rate and clip range annealed linearly
to 0 over ``max_env_steps``.  Training stops when the mean return of
``eval_episodes`` *greedy* evaluation episodes (run every ``eval_every``
environment steps, on seeds never trained on) reaches ``target_return``.
"""

from __future__ import annotations

import math
import numbers
import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch

from .._checks import as_int
from ..progress import progress_bar
from . import common
from .common import _clip_grad, evaluate, kl_estimates
from .policies import CategoricalPolicy, ValueNetwork
from .returns import gae

__all__ = ["clipped_objective", "Config", "History", "train", "evaluate"]


def clipped_objective(ratio, advantage, eps):
    r"""PPO-Clip's per-sample objective (section 2.7.2).

    .. math::

       L^{\text{CLIP}}(\rho, A)
       = \min\bigl(\rho A,\ \mathrm{clip}(\rho, 1 - \epsilon, 1 + \epsilon) A\bigr),

    never larger than the unclipped :math:`\rho A`.  No mean is taken; PPO
    maximises the mean over a minibatch.

    Parameters
    ----------
    ratio : numpy.ndarray or torch.Tensor
        Probability ratios :math:`\rho = \pi_\theta(a \mid s) / \pi_{\text{old}}(a \mid s) \ge 0`.
    advantage : numpy.ndarray or torch.Tensor
        Advantage estimates :math:`\hat A`, the shape of ``ratio``.
    eps : float
        Clip range :math:`\epsilon > 0`.

    Returns
    -------
    numpy.ndarray or torch.Tensor
        Same shape as ``ratio``; a tensor (differentiable in ``ratio``) when
        ``ratio`` is one, else an array.

    Examples
    --------
    >>> ratio, adv = np.array([0.5, 1.5, 0.5, 1.5]), np.array([1.0, 1.0, -1.0, -1.0])
    >>> clipped_objective(ratio, adv, 0.2)
    array([ 0.5,  1.2, -0.8, -1.5])
    """
    if (isinstance(eps, (bool, np.bool_)) or not isinstance(eps, numbers.Real)
            or not math.isfinite(eps) or eps <= 0):
        raise ValueError(f"eps must be a finite number > 0, got {eps!r}")
    if isinstance(ratio, torch.Tensor):
        advantage = torch.as_tensor(advantage, dtype=ratio.dtype, device=ratio.device)
        xp_finite, xp_clip, xp_min = torch.isfinite, torch.clamp, torch.minimum
    else:
        try:
            ratio = np.asarray(ratio, dtype=float)
            advantage = np.asarray(advantage, dtype=float)
        except (TypeError, ValueError):
            raise ValueError("ratio and advantage must be arrays of numbers") from None
        xp_finite, xp_clip, xp_min = np.isfinite, np.clip, np.minimum
    if ratio.shape != advantage.shape:
        raise ValueError(f"advantage must have the shape of ratio {tuple(ratio.shape)}, "
                         f"got {tuple(advantage.shape)}")
    if not bool(xp_finite(ratio).all()) or bool((ratio < 0).any()):
        raise ValueError("ratio must hold finite numbers >= 0 (a ratio of probabilities)")
    if not bool(xp_finite(advantage).all()):
        raise ValueError("advantage must hold finite numbers (no nan or inf)")
    return xp_min(ratio * advantage, xp_clip(ratio, 1.0 - eps, 1.0 + eps) * advantage)


@dataclass(frozen=True)
class Config:
    """Hyperparameters of PPO (all in one place)."""

    env_id: str = "CartPole-v1"
    method: str = "clip"  # "clip" (PPO-Clip) or "penalty" (PPO-Penalty, adaptive KL)
    n_envs: int = 8  # environments run side by side
    n_steps: int = 32  # steps per environment per update: batch B = n_envs * n_steps
    n_epochs: int = 10  # passes over each batch
    n_minibatches: int = 4  # minibatches per pass; must divide B
    gamma: float = 0.99  # discount
    lam: float = 0.95  # GAE(gamma, lambda) (section 2.5)
    lr: float = 3e-3  # Adam step size, annealed linearly to 0 if anneal_lr
    anneal_lr: bool = True
    clip_eps: float = 0.2  # epsilon of PPO-Clip, annealed linearly to 0 if anneal_clip
    anneal_clip: bool = False
    kl_target: float = 0.01  # d_targ of PPO-Penalty: beta adapts to keep the mean KL near it
    beta_init: float = 1.0  # initial KL coefficient of PPO-Penalty
    target_kl: float | None = None  # stop the epochs once the k3 KL estimate > 1.5 target_kl
    vf_coef: float = 0.5  # weight of the value loss in the joint loss
    clip_value: bool = False  # clip the value update to V_old +- clip_eps (off: see above)
    ent_coef: float = 0.0  # weight c_e of the entropy bonus -c_e H(pi)
    normalize_advantages: bool = True  # per minibatch: (A - mean) / std
    adam_eps: float = 1e-5
    max_grad_norm: float = 0.5  # clip the gradient norm of each step
    hidden: tuple = (64, 64)  # widths of the hidden layers (actor and critic)
    max_env_steps: int = 100_000  # budget of environment steps
    target_return: float | None = 475.0  # stop once a greedy evaluation reaches it
    eval_every: int = 2_000  # environment steps between greedy evaluations (0: never)
    eval_episodes: int = 20  # episodes per evaluation, run in one batch
    eval_seed: int = 1_000_000  # evaluation episodes use seeds never trained on

    def __post_init__(self):
        if self.method not in ("clip", "penalty"):
            raise ValueError(f"method must be 'clip' or 'penalty', got {self.method!r}")
        for name in ("n_envs", "n_steps", "n_epochs", "n_minibatches", "max_env_steps",
                     "eval_episodes"):
            as_int(getattr(self, name), name, minimum=1)
        as_int(self.eval_every, "eval_every", minimum=0)
        as_int(self.eval_seed, "eval_seed", minimum=0)
        batch = self.n_envs * self.n_steps
        if batch % self.n_minibatches:
            raise ValueError(f"n_minibatches must divide the batch n_envs * n_steps = {batch}, "
                             f"got {self.n_minibatches}")
        for name in ("gamma", "lam"):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Real) and 0.0 <= v <= 1.0):
                raise ValueError(f"{name} must lie in [0, 1], got {v!r}")
        for name in ("lr", "clip_eps", "kl_target", "beta_init", "adam_eps"):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Real) and math.isfinite(v) and v > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        for name in ("vf_coef", "ent_coef", "max_grad_norm"):
            v = getattr(self, name)
            if not (isinstance(v, numbers.Real) and math.isfinite(v) and v >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")
        if self.target_kl is not None and not (
                isinstance(self.target_kl, numbers.Real) and self.target_kl > 0):
            raise ValueError(f"target_kl must be None or a number > 0, got {self.target_kl!r}")
        if self.target_return is not None and not isinstance(self.target_return, numbers.Real):
            raise ValueError(f"target_return must be None or a number, got {self.target_return!r}")


@dataclass
class History(common.History):
    """What :func:`train` returns: :class:`sprl.rl.common.History` plus PPO's logs.

    ``updates`` maps a metric name to one value per update: ``env_steps``,
    ``lr``, ``clip_eps``, ``beta`` (PPO-Penalty's coefficient used in that
    update), ``epochs`` (passes actually made, fewer after an early stop),
    ``policy_loss``, ``value_loss``, ``entropy`` (mean policy entropy on the
    batch before the update), ``explained_variance`` of the critic
    (:math:`1 - \\mathrm{Var}(\\hat R - V) / \\mathrm{Var}(\\hat R)`, before the
    update), and, between the policy before and after the update on the
    batch's states, ``clip_frac`` (share of samples with
    :math:`|\\rho - 1| > \\epsilon`), ``kl_k1`` and ``kl_k3`` (the two estimators
    of :func:`sprl.rl.common.kl_estimates`) and ``kl_exact`` (the mean exact
    categorical KL).  ``eval_steps`` and ``eval_returns`` hold each greedy
    evaluation (env steps, mean return); ``steps_to_target`` is the env-step
    count of the first evaluation that reached ``target_return``.
    ``wall_time`` counts training only (evaluation excluded).
    """

    updates: dict = field(default_factory=dict)
    eval_steps: list = field(default_factory=list)
    eval_returns: list = field(default_factory=list)


def train(config: Config = Config(), seed: int = 0, progress: bool = True) -> History:
    """Train PPO on ``config.env_id``; deterministic for a given ``seed``.

    Stops after ``max_env_steps`` environment steps, or at the first greedy
    evaluation whose mean return reaches ``target_return``.
    """
    if not isinstance(config, Config):
        raise ValueError(f"config must be a ppo.Config, got {type(config).__name__}")
    seed = as_int(seed, "seed", minimum=0)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny networks: one thread is fastest, and deterministic
    try:
        with torch.random.fork_rng(devices=[]):  # leave torch's global RNG as we found it
            torch.manual_seed(seed)
            return _train(config, seed, progress)
    finally:
        torch.set_num_threads(threads)


def _train(config: Config, seed: int, progress: bool) -> History:
    envs = gym.make_vec(config.env_id, num_envs=config.n_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    obs_dim = envs.single_observation_space.shape[0]
    n_actions = envs.single_action_space.n
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)  # actor pi_theta
    value = ValueNetwork(obs_dim, config.hidden)  # critic V_phi
    params = [*policy.parameters(), *value.parameters()]
    optimizer = torch.optim.Adam(params, lr=config.lr, eps=config.adam_eps)
    generator = torch.Generator().manual_seed(seed)
    T, E = config.n_steps, config.n_envs
    B = T * E
    mb_size = B // config.n_minibatches
    buf_obs = torch.zeros((T + 1, E, obs_dim))  # s_0 ... s_T (s_T: after the rollout)
    buf_act = torch.zeros((T, E), dtype=torch.long)
    buf_rew = np.zeros((T, E))
    buf_done = np.zeros((T, E), dtype=bool)
    history = History(config=config)
    log = history.updates
    running_return = np.zeros(E)
    beta = config.beta_init
    obs, _ = envs.reset(seed=seed)
    buf_obs[0] = torch.as_tensor(obs)
    eval_time, next_eval = 0.0, config.eval_every
    start = time.perf_counter()
    bar = progress_bar(total=config.max_env_steps, disable=not progress, desc="PPO", unit="step")

    while history.env_steps < config.max_env_steps:
        frac = 1.0 - history.env_steps / config.max_env_steps  # linear annealing, 1 -> 0
        lr = config.lr * (frac if config.anneal_lr else 1.0)
        eps = config.clip_eps * (frac if config.anneal_clip else 1.0)
        optimizer.param_groups[0]["lr"] = lr

        # ---- 1. roll out n_steps in each of the n_envs environments with pi_old -------
        cut_t, cut_env, cut_obs = [], [], []  # time-limit truncations, bootstrapped below
        for t in range(T):
            action = policy.sample(buf_obs[t], generator)  # a_t ~ pi_old(.|s_t)
            next_obs, reward, terminated, truncated, infos = envs.step(action.numpy())
            buf_act[t], buf_rew[t] = action, reward
            buf_done[t] = terminated | truncated  # no bootstrap across the reset
            buf_obs[t + 1] = torch.as_tensor(next_obs)  # after a reset: the new first state
            for i in np.flatnonzero(truncated & ~terminated):
                # cut by the time limit, not ended: bootstrap from the real last observation
                cut_t.append(t), cut_env.append(i), cut_obs.append(infos["final_obs"][i])
            running_return += reward
            history.env_steps += E
            for i in np.flatnonzero(buf_done[t]):
                history.episode_returns.append(float(running_return[i]))
                history.episode_steps.append(history.env_steps)
                running_return[i] = 0.0
        bar.update(B)

        # ---- 2. GAE advantages and critic targets R_hat = A_hat + V_old (section 2.5) ---
        with torch.no_grad():
            v = value(buf_obs.reshape(-1, obs_dim)).reshape(T + 1, E).numpy()  # V_old(s_t)
            rewards = buf_rew.copy()
            if cut_obs:  # truncation: r_t + gamma V(s_final), and no bootstrap after it
                rewards[cut_t, cut_env] += config.gamma * value(
                    torch.as_tensor(np.stack(cut_obs))).numpy()
        adv = gae(rewards, v[:-1], v[-1], config.gamma, config.lam, dones=buf_done)
        b_obs, b_act = buf_obs[:-1].reshape(-1, obs_dim), buf_act.reshape(-1)
        b_adv = torch.as_tensor(adv, dtype=torch.float32).reshape(-1)
        b_val = torch.as_tensor(v[:-1], dtype=torch.float32).reshape(-1)
        b_ret = b_adv + b_val
        with torch.no_grad():
            old_logits = torch.log_softmax(policy(b_obs), dim=-1)  # log pi_old(.|s), all actions
            b_logp = old_logits.gather(-1, b_act[:, None]).squeeze(-1)
            entropy = -(old_logits.exp() * old_logits).sum(-1).mean().item()

        # ---- 3. n_epochs passes over shuffled minibatches of the same batch ------------
        epochs_done, stop = 0, False
        for _ in range(config.n_epochs):
            order = torch.randperm(B, generator=generator)
            for mb in order.split(mb_size):
                logits = torch.log_softmax(policy(b_obs[mb]), dim=-1)
                logp = logits.gather(-1, b_act[mb, None]).squeeze(-1)
                ratio = torch.exp(logp - b_logp[mb])  # rho = pi_theta / pi_old
                a = b_adv[mb]
                if config.normalize_advantages:
                    a = (a - a.mean()) / (a.std() + 1e-8)
                if config.method == "clip":  # maximise mean min(rho A, clip(rho) A)
                    policy_loss = -clipped_objective(ratio, a, eps).mean()
                else:  # maximise mean rho A - beta KL(pi_old || pi_theta), KL exact per state
                    kl = (old_logits[mb].exp() * (old_logits[mb] - logits)).sum(-1)
                    policy_loss = -(ratio * a).mean() + beta * kl.mean()
                v_new = value(b_obs[mb])
                v_loss = (v_new - b_ret[mb]) ** 2
                if config.clip_value:  # max of clipped and unclipped squared errors
                    v_clip = b_val[mb] + (v_new - b_val[mb]).clamp(-eps, eps)
                    v_loss = torch.maximum(v_loss, (v_clip - b_ret[mb]) ** 2)
                value_loss = 0.5 * v_loss.mean()
                loss = policy_loss + config.vf_coef * value_loss
                if config.ent_coef:
                    ent = -(logits.exp() * logits).sum(-1).mean()
                    loss = loss - config.ent_coef * ent
                optimizer.zero_grad()
                loss.backward()
                _clip_grad(params, config.max_grad_norm)
                optimizer.step()
                if config.target_kl is not None:  # early stop on the k3 estimate of the KL
                    with torch.no_grad():
                        k3 = kl_estimates(b_logp[mb], logp.detach())[1].mean().item()
                    if k3 > 1.5 * config.target_kl:
                        stop = True
                        break
            epochs_done += 1
            if stop:
                break

        # ---- 4. log what the update did (old policy vs new, on the batch's states) -----
        with torch.no_grad():
            new_logits = torch.log_softmax(policy(b_obs), dim=-1)
            new_logp = new_logits.gather(-1, b_act[:, None]).squeeze(-1)
            k1, k3 = kl_estimates(b_logp, new_logp)  # samples a ~ pi_old: KL(pi_old||pi_new)
            kl_exact = (old_logits.exp() * (old_logits - new_logits)).sum(-1).mean().item()
            ratio = torch.exp(new_logp - b_logp)
            var_ret = b_ret.var().item()
            row = {
                "env_steps": history.env_steps, "lr": lr, "clip_eps": eps, "beta": beta,
                "epochs": epochs_done, "policy_loss": policy_loss.item(),
                "value_loss": value_loss.item(), "entropy": entropy,
                "explained_variance": (1.0 - (b_ret - b_val).var().item() / var_ret
                                       if var_ret > 0 else float("nan")),
                "clip_frac": ((ratio - 1.0).abs() > eps).float().mean().item(),
                "kl_k1": k1.mean().item(), "kl_k3": k3.mean().item(), "kl_exact": kl_exact,
            }
        for key, val in row.items():
            log.setdefault(key, []).append(val)
        if config.method == "penalty":  # adapt beta to keep the KL near kl_target
            if kl_exact > 1.5 * config.kl_target:
                beta *= 2.0
            elif kl_exact < config.kl_target / 1.5:
                beta /= 2.0
        buf_obs[0] = buf_obs[-1].clone()  # the next rollout starts where this one ended

        # ---- 5. greedy evaluation on fresh seeds every eval_every steps; stop at target --
        if config.eval_every and history.env_steps >= next_eval:
            t0 = time.perf_counter()
            score = float(evaluate(policy, config.env_id, config.eval_episodes,
                                   seed=config.eval_seed).mean())
            eval_time += time.perf_counter() - t0
            while next_eval <= history.env_steps:
                next_eval += config.eval_every
            history.eval_steps.append(history.env_steps)
            history.eval_returns.append(score)
            bar.set_postfix(greedy_return=f"{score:.1f}")
            if config.target_return is not None and score >= config.target_return:
                history.steps_to_target = history.env_steps
                break

    bar.close()
    envs.close()
    history.wall_time = time.perf_counter() - start - eval_time
    history.policy, history.value = policy, value
    return history

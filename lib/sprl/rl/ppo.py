r"""Proximal policy optimisation (PPO) on gymnasium vector environments (book section 2.7).

One file, read top to bottom: :func:`clipped_objective` (the one new formula),
the hyperparameters (:class:`Config`), the steps of an iteration as functions
of their own (:func:`collect_rollout`, :func:`advantages_and_targets`,
:func:`minibatches`, :func:`policy_loss`, :func:`value_loss`,
:func:`kl_early_stop`, :func:`adapt_beta`, each tested on its own), then
:func:`train`, which runs them.  Each iteration collects ``n_steps`` steps from each of ``n_envs``
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
from .a2c import Rollout, collect_rollout
from .common import _clip_grad, deterministic, env_seeds, evaluate, kl_estimates
from .policies import CategoricalPolicy, ValueNetwork
from .returns import gae

__all__ = [
    "clipped_objective", "Config", "History", "train", "evaluate",
    "Rollout", "collect_rollout", "advantages_and_targets", "minibatches", "policy_loss",
    "value_loss", "kl_early_stop", "adapt_beta",
]


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
        # evaluation seeds eval_seed ... eval_seed + eval_episodes - 1 stay below the
        # training seeds (common.env_seeds), so evaluation episodes are never trained on
        as_int(self.eval_seed, "eval_seed", minimum=0,
               maximum=common.TRAIN_SEED_MIN - int(self.eval_episodes))
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
    with deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(config, seed, progress)


# Step 1, the rollout, is A2C's (sprl.rl.a2c.collect_rollout, re-exported here):
# same-step autoreset, dones = terminated | truncated, and the real last
# observation of every *truncated* episode kept in Rollout.final_obs.


def advantages_and_targets(rewards, values, dones, bootstrap, gamma, lam):
    r"""Step 2: GAE advantages :math:`\hat A_t`, targets :math:`\hat R_t = \hat A_t + V(s_t)`.

    .. math::

       \hat A_t = \sum_{l \ge 0} (\gamma\lambda)^l \delta_{t+l}, \qquad
       \delta_t = r_t + \gamma V(s_{t+1})(1 - d_t) - V(s_t)

    (section 2.5, ``returns.gae``).  ``values`` holds :math:`V_{\text{old}}(s_0),
    \dots, V_{\text{old}}(s_n)` (shape ``(n + 1, n_envs)``; the last row
    bootstraps the end of the rollout); ``dones[t, i]`` (terminated *or*
    truncated) stops the sum at the end of an episode.  A time-limit
    truncation did not end the task, so that step keeps the bootstrap
    :math:`\gamma V(s_{\text{final}})` through its reward: ``bootstrap[t, i]``
    is :math:`V(s_{\text{final}})` there and 0 elsewhere (a termination gets 0).

    Returns
    -------
    (advantages, targets) : torch.Tensor, each float32 shaped ``(n, n_envs)``
        ``targets`` is ``advantages + values[:-1]``, summed in float32.
    """
    rewards = rewards + gamma * bootstrap  # r_t + gamma V(s_final) where truncated
    adv = gae(rewards, values[:-1], values[-1], gamma, lam, dones=dones)
    adv = torch.as_tensor(adv, dtype=torch.float32)
    return adv, adv + torch.as_tensor(values[:-1], dtype=torch.float32)  # R = A + V_old


def minibatches(batch_size, n_minibatches, generator):
    """Step 3a: one epoch's minibatches, a random partition of ``range(batch_size)``.

    A fresh permutation (drawn from ``generator``) cut into ``n_minibatches``
    equal parts: every sample is used exactly once per epoch.

    Returns
    -------
    tuple of torch.Tensor
        ``n_minibatches`` index tensors of ``batch_size // n_minibatches`` each.
    """
    order = torch.randperm(batch_size, generator=generator)
    return order.split(batch_size // n_minibatches)


def policy_loss(log_probs, old_log_probs, actions, advantages, method="clip", clip_eps=0.2,
                beta=1.0, ent_coef=0.0, normalize_advantages=True):
    r"""Step 3b: the actor's loss on a minibatch, to be *minimised* (section 2.7).

    With :math:`\rho_b = \pi_\theta(a_b \mid s_b) / \pi_{\text{old}}(a_b \mid s_b)`
    and the advantages :math:`\hat A_b` (standardised over the minibatch if
    ``normalize_advantages``),

    .. math::

       \text{clip:}\quad -\frac1B \sum_b \min\bigl(\rho_b \hat A_b,\
       \mathrm{clip}(\rho_b, 1-\epsilon, 1+\epsilon) \hat A_b\bigr), \qquad
       \text{penalty:}\quad -\frac1B \sum_b \rho_b \hat A_b
       + \beta \frac1B \sum_b \mathrm{KL}\bigl(\pi_{\text{old}}(\cdot\mid s_b)
       \,\|\, \pi_\theta(\cdot\mid s_b)\bigr),

    the KL exact per state (a sum over the actions), minus the entropy bonus
    :math:`c_e \frac1B \sum_b H(\pi_\theta(\cdot\mid s_b))` (``ent_coef``
    :math:`= c_e`: subtracted, so that descending the loss raises the entropy).

    Parameters
    ----------
    log_probs, old_log_probs : torch.Tensor, shape (B, n_actions)
        :math:`\log \pi_\theta(\cdot \mid s_b)` (differentiable) and
        :math:`\log \pi_{\text{old}}(\cdot \mid s_b)` (held fixed), all actions.
    actions : torch.Tensor of int, shape (B,)
    advantages : torch.Tensor, shape (B,)

    Returns
    -------
    (loss, surrogate) : torch.Tensor scalars
        ``surrogate`` is the loss without the entropy term (what ``train`` logs).
    """
    logp = log_probs.gather(-1, actions[:, None]).squeeze(-1)
    old_logp = old_log_probs.gather(-1, actions[:, None]).squeeze(-1)
    ratio = torch.exp(logp - old_logp)  # rho = pi_theta / pi_old
    a = advantages
    if normalize_advantages:
        a = (a - a.mean()) / (a.std() + 1e-8)
    if method == "clip":  # maximise mean min(rho A, clip(rho) A)
        surrogate = -clipped_objective(ratio, a, clip_eps).mean()
    elif method == "penalty":  # maximise mean rho A - beta KL(pi_old || pi_theta)
        kl = (old_log_probs.exp() * (old_log_probs - log_probs)).sum(-1)
        surrogate = -(ratio * a).mean() + beta * kl.mean()
    else:
        raise ValueError(f"method must be 'clip' or 'penalty', got {method!r}")
    loss = surrogate
    if ent_coef:
        entropy = -(log_probs.exp() * log_probs).sum(-1).mean()  # H(pi_theta), mean over b
        loss = loss - ent_coef * entropy
    return loss, surrogate


def value_loss(v_new, v_old, targets, clip_eps=None):
    r"""Step 3c: the critic's loss :math:`\frac1{2B}\sum_b (V_\phi(s_b) - \hat R_b)^2`.

    ``targets`` :math:`\hat R_b` and ``v_old`` :math:`V_{\text{old}}(s_b)` are
    held fixed (semi-gradient).  With ``clip_eps`` :math:`= \epsilon` (PPO2's
    value clipping, off by default) each term is the *larger* of the plain
    error and that of :math:`V_{\text{old}} + \mathrm{clip}(V_\phi - V_{\text{old}},
    -\epsilon, \epsilon)`, a pessimistic bound like the policy's.
    """
    loss = (v_new - targets) ** 2
    if clip_eps is not None:  # max of clipped and unclipped squared errors
        v_clip = v_old + (v_new - v_old).clamp(-clip_eps, clip_eps)
        loss = torch.maximum(loss, (v_clip - targets) ** 2)
    return 0.5 * loss.mean()


def kl_early_stop(old_logp, logp, target_kl):
    r"""Step 3d: stop the epochs? True when the k3 estimate of
    :math:`\mathrm{KL}(\pi_{\text{old}} \,\|\, \pi_\theta)` exceeds ``1.5 * target_kl``.

    ``old_logp`` and ``logp`` are :math:`\log \pi_{\text{old}}(a_b \mid s_b)`
    and :math:`\log \pi_\theta(a_b \mid s_b)` of the minibatch's actions, which
    were drawn from :math:`\pi_{\text{old}}`; the estimate is the mean of
    :math:`k_3 = (r - 1) - \log r` with :math:`r = \pi_\theta / \pi_{\text{old}}`
    (:func:`sprl.rl.common.kl_estimates`).  ``target_kl = None``: never stop.
    """
    if target_kl is None:
        return False
    k3 = kl_estimates(old_logp, logp)[1].mean().item()  # samples a ~ pi_old
    return k3 > 1.5 * target_kl


def adapt_beta(beta, kl, kl_target):
    r"""Step 4 (PPO-Penalty): the next KL coefficient (Schulman et al. 2017, sec. 4).

    :math:`d` = ``kl`` is the mean :math:`\mathrm{KL}(\pi_{\text{old}} \,\|\, \pi_\theta)`
    after the update: :math:`\beta \leftarrow 2\beta` if :math:`d > 1.5\, d_{\text{targ}}`,
    :math:`\beta \leftarrow \beta / 2` if :math:`d < d_{\text{targ}} / 1.5`, else unchanged.
    """
    if kl > 1.5 * kl_target:
        return beta * 2.0
    if kl < kl_target / 1.5:
        return beta / 2.0
    return beta


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
    history = History(config=config)
    log = history.updates
    running_return = np.zeros(E)
    beta = config.beta_init
    obs, _ = envs.reset(seed=env_seeds(seed, E))  # streams no other seed shares
    eval_time, next_eval = 0.0, config.eval_every
    start = time.perf_counter()
    bar = progress_bar(total=config.max_env_steps, disable=not progress, desc="PPO", unit="step")

    while history.env_steps < config.max_env_steps:
        frac = 1.0 - history.env_steps / config.max_env_steps  # linear annealing, 1 -> 0
        lr = config.lr * (frac if config.anneal_lr else 1.0)
        eps = config.clip_eps * (frac if config.anneal_clip else 1.0)
        optimizer.param_groups[0]["lr"] = lr

        # ---- 1. roll out n_steps in each of the n_envs environments with pi_old -------
        roll = collect_rollout(envs, policy, obs, T, generator, history, running_return)
        bar.update(B)

        # ---- 2. GAE advantages and critic targets R_hat = A_hat + V_old (section 2.5) ---
        with torch.no_grad():
            v = value(roll.obs.reshape(-1, obs_dim)).reshape(T + 1, E)  # V_old(s_t)
            bootstrap = torch.zeros((T, E))
            if roll.final_obs:  # V(s_final) where the time limit cut an episode
                bootstrap[roll.truncated_t, roll.truncated_env] = value(
                    torch.as_tensor(np.stack(roll.final_obs)))
        adv, ret = advantages_and_targets(roll.rewards, v.numpy(), roll.dones,
                                          bootstrap.numpy(), config.gamma, config.lam)
        b_obs, b_act = roll.obs[:-1].reshape(-1, obs_dim), roll.actions.reshape(-1)
        b_adv, b_ret, b_val = adv.reshape(-1), ret.reshape(-1), v[:-1].reshape(-1)
        with torch.no_grad():
            old_logits = torch.log_softmax(policy(b_obs), dim=-1)  # log pi_old(.|s), all actions
            b_logp = old_logits.gather(-1, b_act[:, None]).squeeze(-1)
            entropy = -(old_logits.exp() * old_logits).sum(-1).mean().item()

        # ---- 3. n_epochs passes over shuffled minibatches of the same batch ------------
        epochs_done, stop = 0, False
        for _ in range(config.n_epochs):
            for mb in minibatches(B, config.n_minibatches, generator):
                logits = torch.log_softmax(policy(b_obs[mb]), dim=-1)
                loss_pi, surrogate = policy_loss(
                    logits, old_logits[mb], b_act[mb], b_adv[mb], config.method, eps, beta,
                    config.ent_coef, config.normalize_advantages)
                loss_v = value_loss(value(b_obs[mb]), b_val[mb], b_ret[mb],
                                    eps if config.clip_value else None)
                loss = loss_pi + config.vf_coef * loss_v
                optimizer.zero_grad()
                loss.backward()
                _clip_grad(params, config.max_grad_norm)
                optimizer.step()
                logp = logits.detach().gather(-1, b_act[mb, None]).squeeze(-1)
                if kl_early_stop(b_logp[mb], logp, config.target_kl):
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
                "epochs": epochs_done, "policy_loss": surrogate.item(),
                "value_loss": loss_v.item(), "entropy": entropy,
                "explained_variance": (1.0 - (b_ret - b_val).var().item() / var_ret
                                       if var_ret > 0 else float("nan")),
                "clip_frac": ((ratio - 1.0).abs() > eps).float().mean().item(),
                "kl_k1": k1.mean().item(), "kl_k3": k3.mean().item(), "kl_exact": kl_exact,
            }
        for key, val in row.items():
            log.setdefault(key, []).append(val)
        if config.method == "penalty":  # adapt beta to keep the KL near kl_target
            beta = adapt_beta(beta, kl_exact, config.kl_target)
        obs = roll.obs[-1]  # the next rollout starts where this one ended

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

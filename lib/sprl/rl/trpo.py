r"""Trust Region Policy Optimization in one file (book section 2.6).

Read it top to bottom: the numerical pieces first (:func:`conjugate_gradient`,
:func:`mean_kl`, :func:`fisher_vector_product`, :func:`natural_gradient_step`),
then the hyperparameters (:class:`Config`) and :func:`train`, which is the whole
algorithm.  Each update solves, approximately,

.. math::

   \max_\theta \; L(\theta) = \frac1B \sum_b
       \frac{\pi_\theta(a_b \mid s_b)}{\pi_{\theta_k}(a_b \mid s_b)} \hat A_b
   \quad \text{subject to} \quad
   \bar D(\theta) = \frac1B \sum_b
       \mathrm{KL}\bigl(\pi_{\theta_k}(\cdot \mid s_b) \,\|\, \pi_\theta(\cdot \mid s_b)\bigr)
       \le \delta,

by the steps of Schulman et al. (2015): the gradient :math:`g = \nabla L(\theta_k)`;
the natural direction :math:`x \approx F^{-1} g` by conjugate gradient, where the
Fisher matrix :math:`F = \nabla^2 \bar D(\theta_k)` is never formed, only its
products with vectors (double backprop); the largest step along :math:`x`
allowed by the quadratic model of the KL,
:math:`\tfrac12 (\beta x)^\top F (\beta x) = \delta`, i.e.
:math:`\beta = \sqrt{2\delta / x^\top F x}`; and a backtracking line search that
shrinks the step until the *exact* sample KL is at most :math:`\delta` and the
surrogate has improved.  The critic :math:`V_\phi` is fitted by Adam on the
GAE(:math:`\gamma, \lambda`) targets (section 2.5), as in A2C (section 2.4):
same-step autoreset, truncations bootstrapped from ``infos["final_obs"]``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import gymnasium as gym
import numpy as np
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from .._checks import as_int
from ..progress import progress_bar
from . import common
from .common import _clip_grad, evaluate
from .policies import CategoricalPolicy, ValueNetwork
from .returns import gae

__all__ = [
    "conjugate_gradient",
    "mean_kl",
    "fisher_vector_product",
    "natural_gradient_step",
    "Config",
    "History",
    "train",
    "evaluate",
]


# ------------------------------------------------------------------------ numerics
def conjugate_gradient(fvp, b: torch.Tensor, n_iters: int = 10, tol: float = 1e-10):
    r"""Solve :math:`F x = b` for a symmetric positive definite :math:`F` given as ``fvp``.

    Hestenes and Stiefel's conjugate gradient method: only products
    :math:`v \mapsto F v` are needed, never :math:`F` itself.  From
    :math:`x_0 = 0`, :math:`r_0 = p_0 = b`,

    .. math::

       \alpha_k = \frac{r_k^\top r_k}{p_k^\top F p_k}, \quad
       x_{k+1} = x_k + \alpha_k p_k, \quad
       r_{k+1} = r_k - \alpha_k F p_k, \quad
       p_{k+1} = r_{k+1} + \frac{r_{k+1}^\top r_{k+1}}{r_k^\top r_k} p_k .

    In exact arithmetic it is exact after :math:`n` steps for an
    :math:`n \times n` system; TRPO stops after about 10.

    Parameters
    ----------
    fvp : callable
        ``fvp(v)`` returns :math:`F v` (a tensor shaped like ``v``).
    b : torch.Tensor, shape (n,)
    n_iters : int
        Maximum number of iterations (>= 1).
    tol : float
        Stop once :math:`r^\top r <` ``tol`` (>= 0).

    Returns
    -------
    torch.Tensor, shape (n,)
        The approximate solution :math:`x`.
    """
    if not isinstance(b, torch.Tensor) or b.ndim != 1:
        raise ValueError("b must be a 1-D torch tensor")
    if not torch.isfinite(b).all():
        raise ValueError("b must hold finite numbers (no nan or inf)")
    n_iters = as_int(n_iters, "n_iters", minimum=1)
    if not (isinstance(tol, (int, float)) and tol >= 0):
        raise ValueError(f"tol must be a number >= 0, got {tol!r}")
    x = torch.zeros_like(b)
    r = b.clone()  # residual b - F x
    p = b.clone()  # search direction
    rr = r @ r
    for _ in range(n_iters):
        if rr < tol:
            break
        Fp = fvp(p)
        pFp = p @ Fp
        if not pFp > 0:
            raise ValueError(f"fvp must be positive definite, but p^T F p = {float(pFp)} <= 0")
        alpha = rr / pFp
        x = x + alpha * p
        r = r - alpha * Fp
        rr_new = r @ r
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x


def mean_kl(policy: CategoricalPolicy, obs: torch.Tensor, old_logits: torch.Tensor):
    r"""Mean over the batch of :math:`\mathrm{KL}(\pi_{\text{old}}(\cdot \mid s) \,\|\, \pi_\theta(\cdot \mid s))`.

    Exact over the actions (a sum, not a sample):
    :math:`\frac1B \sum_b \sum_a \pi_{\text{old}}(a \mid s_b)
    [\log \pi_{\text{old}}(a \mid s_b) - \log \pi_\theta(a \mid s_b)]`,
    differentiable in the parameters of ``policy``; ``old_logits`` is held fixed.
    """
    old_logp = torch.log_softmax(old_logits.detach(), dim=-1)
    new_logp = torch.log_softmax(policy(obs), dim=-1)
    return (old_logp.exp() * (old_logp - new_logp)).sum(-1).mean()


def fisher_vector_product(kl_fn, params, v: torch.Tensor, damping: float = 0.0):
    r"""The product :math:`(F + c I) v` by double backprop; :math:`F` is never formed.

    At :math:`\theta = \theta_{\text{old}}` the Hessian of
    :math:`\bar D(\theta) = \mathbb E_s \mathrm{KL}(\pi_{\theta_{\text{old}}} \| \pi_\theta)`
    is the Fisher information matrix
    :math:`F = \mathbb E_s \mathbb E_{a \sim \pi} [\nabla \log \pi \, \nabla \log \pi^\top]`,
    and

    .. math::

       F v = \nabla_\theta \bigl( \nabla_\theta \bar D(\theta)^\top v \bigr),

    one backward pass for the gradient (kept in the graph) and a second one
    through the scalar :math:`\nabla \bar D^\top v`: two passes instead of the
    :math:`n^2` numbers of :math:`F`.

    Parameters
    ----------
    kl_fn : callable
        ``kl_fn()`` returns the scalar :math:`\bar D` as a function of ``params``.
    params : list of torch.Tensor
        The parameters :math:`\theta` (``requires_grad``).
    v : torch.Tensor, shape (n,)
        A flat vector, ``n`` = total number of parameters.
    damping : float
        :math:`c \ge 0`, added as :math:`c v` (keeps CG well conditioned).

    Returns
    -------
    torch.Tensor, shape (n,)
    """
    params = list(params)
    n = sum(p.numel() for p in params)
    if not isinstance(v, torch.Tensor) or v.shape != (n,):
        raise ValueError(f"v must be a flat tensor of shape ({n},), got "
                         f"{tuple(v.shape) if isinstance(v, torch.Tensor) else type(v).__name__}")
    if not damping >= 0:
        raise ValueError(f"damping must be >= 0, got {damping!r}")
    grads = torch.autograd.grad(kl_fn(), params, create_graph=True)
    flat_grad = torch.cat([g.reshape(-1) for g in grads])  # grad D, still in the graph
    hvp = torch.autograd.grad(flat_grad @ v, params)  # grad (grad D . v) = F v
    return torch.cat([h.reshape(-1) for h in hvp]).detach() + damping * v


def natural_gradient_step(policy, surrogate_fn, kl_fn, max_kl: float, cg_iters: int = 10,
                          damping: float = 0.1, backtrack_coef: float = 0.8,
                          backtrack_iters: int = 10):
    r"""One TRPO update of ``policy`` in place; returns what happened.

    1. :math:`g = \nabla L(\theta_k)` (autograd on ``surrogate_fn``);
    2. :math:`x \approx (F + cI)^{-1} g` by :func:`conjugate_gradient` with
       :func:`fisher_vector_product`;
    3. full step :math:`\Delta = \beta x`, :math:`\beta = \sqrt{2\delta / x^\top F x}`,
       the step at which the quadratic model :math:`\tfrac12 \Delta^\top F \Delta`
       of the KL equals :math:`\delta`;
    4. line search: try :math:`\theta_k + \rho^j \Delta`, :math:`j = 0, 1, \dots`,
       and accept the first with :math:`\bar D \le \delta` *and*
       :math:`L(\theta) > L(\theta_k)`; if none passes, keep :math:`\theta_k`.

    Parameters
    ----------
    policy : torch.nn.Module
    surrogate_fn, kl_fn : callable
        Zero-argument functions returning the scalars :math:`L(\theta)` and
        :math:`\bar D(\theta)` for the current parameters of ``policy``.
    max_kl : float
        :math:`\delta > 0`.
    cg_iters, damping, backtrack_coef, backtrack_iters
        As in :class:`Config`.

    Returns
    -------
    dict
        ``kl`` (mean KL of the accepted step, 0 if none), ``improvement``
        (:math:`L(\theta_{k+1}) - L(\theta_k)`), ``accepted`` (bool),
        ``backtracks`` (``j`` of the accepted step, or ``backtrack_iters``),
        ``predicted_kl`` (:math:`\tfrac12 \Delta^\top F \Delta`, with damping).
    """
    if not max_kl > 0:
        raise ValueError(f"max_kl must be > 0, got {max_kl!r}")
    params = list(policy.parameters())
    old = parameters_to_vector(params).detach().clone()
    surr_old = surrogate_fn()
    g = torch.cat([t.reshape(-1) for t in torch.autograd.grad(surr_old, params)])
    surr_old = float(surr_old.detach())
    none = {"kl": 0.0, "improvement": 0.0, "accepted": False,
            "backtracks": backtrack_iters, "predicted_kl": 0.0}
    if not torch.isfinite(g).all() or not g.abs().max() > 0:
        return none

    def fvp(v):
        return fisher_vector_product(kl_fn, params, v, damping)

    x = conjugate_gradient(fvp, g, cg_iters)  # natural direction F^{-1} g
    xFx = x @ fvp(x)
    beta = torch.sqrt(2 * max_kl / xFx)  # 1/2 (beta x)^T F (beta x) = delta
    full_step = beta * x
    for j in range(backtrack_iters):
        vector_to_parameters(old + backtrack_coef ** j * full_step, params)
        with torch.no_grad():
            kl, surr = float(kl_fn()), float(surrogate_fn())
        if kl <= max_kl and surr > surr_old:  # inside the trust region, and better
            return {"kl": kl, "improvement": surr - surr_old, "accepted": True,
                    "backtracks": j, "predicted_kl": float(0.5 * beta ** 2 * xFx)}
    vector_to_parameters(old, params)  # no acceptable step: stay put
    return none


# ------------------------------------------------------------------------ the algorithm
@dataclass(frozen=True)
class Config:
    """Hyperparameters of TRPO (all in one place); checked when created."""

    env_id: str = "CartPole-v1"
    n_envs: int = 4  # environments run side by side
    n_steps: int = 128  # steps per environment per update: batch B = n_envs * n_steps
    gamma: float = 0.99  # discount
    lam: float = 0.95  # GAE lambda (section 2.5)
    max_kl: float = 0.02  # trust-region radius delta on the mean KL
    cg_iters: int = 10  # conjugate-gradient iterations
    damping: float = 0.1  # c in (F + c I) x = g
    backtrack_coef: float = 0.8  # line search shrinks the step by this factor
    backtrack_iters: int = 10  # ... at most this many times
    normalize_advantages: bool = True
    value_lr: float = 1e-3  # Adam step size of the critic
    value_epochs: int = 10  # passes over the batch for the critic
    value_minibatches: int = 8  # minibatches per pass (must divide B)
    adam_eps: float = 1e-5
    max_grad_norm: float = 0.5  # clip the critic's gradient norm
    hidden: tuple = (64, 64)  # widths of the hidden layers (actor and critic)
    max_env_steps: int = 100_000  # budget of environment steps
    target_return: float | None = 490.0  # stop once the mean return of the last
    window: int = 20  # `window` finished episodes reaches target_return

    def __post_init__(self):
        for name in ("n_envs", "n_steps", "cg_iters", "backtrack_iters", "value_epochs",
                     "value_minibatches", "max_env_steps", "window"):
            as_int(getattr(self, name), name, minimum=1)
        for name in ("gamma", "lam"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and 0.0 <= value <= 1.0):
                raise ValueError(f"{name} must lie in [0, 1], got {value!r}")
        for name in ("max_kl", "value_lr", "adam_eps"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
        if not (isinstance(self.backtrack_coef, (int, float)) and 0 < self.backtrack_coef < 1):
            raise ValueError(f"backtrack_coef must lie in (0, 1), got {self.backtrack_coef!r}")
        for name in ("damping", "max_grad_norm"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and np.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
        batch = self.n_envs * self.n_steps
        if batch % self.value_minibatches:
            raise ValueError(f"value_minibatches must divide the batch n_envs * n_steps = "
                             f"{batch}, got {self.value_minibatches}")
        if not (isinstance(self.hidden, tuple) and self.hidden
                and all(isinstance(w, int) and w >= 1 for w in self.hidden)):
            raise ValueError(f"hidden must be a non-empty tuple of positive ints, "
                             f"got {self.hidden!r}")
        if self.target_return is not None and not np.isfinite(self.target_return):
            raise ValueError(f"target_return must be a finite number or None, "
                             f"got {self.target_return!r}")


@dataclass
class History(common.History):
    """:class:`sprl.rl.common.History` plus one entry per TRPO update.

    ``kl[k]`` is the mean KL between the policies before and after update
    ``k`` on that update's batch (0 when the line search rejected every
    step), ``accepted[k]`` whether a step was taken, ``improvement[k]`` the
    gain of the surrogate, ``backtracks[k]`` how many times the line
    search shrank the step (by ``backtrack_coef`` each time), and ``update_steps[k]`` the
    environment steps taken when update ``k`` was made.
    """

    kl: list = field(default_factory=list)
    accepted: list = field(default_factory=list)
    improvement: list = field(default_factory=list)
    backtracks: list = field(default_factory=list)
    update_steps: list = field(default_factory=list)


def train(config: Config = Config(), seed: int = 0, progress: bool = True) -> History:
    """Train TRPO on ``config.env_id``; deterministic for a given ``seed``.

    Stops after ``max_env_steps`` environment steps, or as soon as the mean
    return of the last ``window`` finished episodes reaches ``target_return``.
    """
    if not isinstance(config, Config):
        raise ValueError(f"config must be a trpo.Config, got {type(config).__name__}")
    seed = as_int(seed, "seed", minimum=0)
    with common.deterministic(seed):  # one thread, torch seeded; global state restored after
        return _train(config, seed, progress)


def _train(config: Config, seed: int, progress: bool) -> History:
    envs = gym.make_vec(config.env_id, num_envs=config.n_envs, vectorization_mode="sync",
                        vector_kwargs={"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP})
    obs_dim = envs.single_observation_space.shape[0]
    n_actions = envs.single_action_space.n
    policy = CategoricalPolicy(obs_dim, n_actions, config.hidden)  # pi_theta
    value = ValueNetwork(obs_dim, config.hidden)  # V_phi
    value_opt = torch.optim.Adam(value.parameters(), lr=config.value_lr, eps=config.adam_eps)
    generator = torch.Generator().manual_seed(seed)
    T, E = config.n_steps, config.n_envs
    B = T * E
    buf_obs = torch.zeros((T + 1, E, obs_dim))  # s_0 ... s_T (s_T: after the rollout)
    buf_act = torch.zeros((T, E), dtype=torch.long)
    buf_rew = np.zeros((T, E))
    buf_done = np.zeros((T, E), dtype=bool)
    history = History(config=config)
    running_return = np.zeros(E)
    obs, _ = envs.reset(seed=common.env_seeds(seed, E))  # streams no other seed shares
    buf_obs[0] = torch.as_tensor(obs)
    start = time.perf_counter()
    bar = progress_bar(total=config.max_env_steps, disable=not progress, desc="TRPO",
                       unit="step")

    while history.env_steps < config.max_env_steps:
        # ---- 1. roll out n_steps in each of the n_envs environments ------------------
        cut_t, cut_env, cut_obs = [], [], []  # time-limit truncations, bootstrapped below
        for t in range(T):
            action = policy.sample(buf_obs[t], generator)  # a_t ~ pi_theta(.|s_t)
            next_obs, reward, terminated, truncated, infos = envs.step(action.numpy())
            buf_act[t], buf_rew[t] = action, reward
            buf_done[t] = terminated | truncated  # no bootstrap across the reset
            buf_obs[t + 1] = torch.as_tensor(next_obs)
            for i in np.flatnonzero(truncated & ~terminated):
                # cut by the time limit, not ended: bootstrap from the real last state
                cut_t.append(t), cut_env.append(i), cut_obs.append(infos["final_obs"][i])
            running_return += reward
            history.env_steps += E
            for i in np.flatnonzero(buf_done[t]):
                history.episode_returns.append(float(running_return[i]))
                history.episode_steps.append(history.env_steps)
                running_return[i] = 0.0
        bar.update(B)

        # ---- 2. advantages GAE(gamma, lambda) and critic targets R_hat = A_hat + V ------
        with torch.no_grad():
            v = value(buf_obs.reshape(-1, obs_dim)).reshape(T + 1, E).numpy()
            rewards = buf_rew.copy()
            if cut_obs:  # truncation: r_t + gamma V(s_final), and no bootstrap after it
                rewards[cut_t, cut_env] += config.gamma * value(
                    torch.as_tensor(np.stack(cut_obs))).numpy()
        adv = gae(rewards, v[:-1], v[-1], config.gamma, config.lam, dones=buf_done)
        b_obs, b_act = buf_obs[:-1].reshape(-1, obs_dim), buf_act.reshape(-1)
        b_ret = torch.as_tensor(adv + v[:-1], dtype=torch.float32).reshape(-1)
        b_adv = torch.as_tensor(adv, dtype=torch.float32).reshape(-1)
        if config.normalize_advantages:
            b_adv = (b_adv - b_adv.mean()) / (b_adv.std() + 1e-8)

        # ---- 3. the trust-region step on the policy ------------------------------------
        with torch.no_grad():
            old_logits = policy(b_obs)
            old_logp = torch.log_softmax(old_logits, -1).gather(-1, b_act[:, None])[:, 0]

        def surrogate_fn():  # L(theta) = mean(pi_theta / pi_old * A_hat)
            ratio = torch.exp(policy.log_prob(b_obs, b_act) - old_logp)
            return (ratio * b_adv).mean()

        def kl_fn():  # D(theta) = mean_s KL(pi_old(.|s) || pi_theta(.|s)), exact in a
            return mean_kl(policy, b_obs, old_logits)

        step = natural_gradient_step(policy, surrogate_fn, kl_fn, config.max_kl,
                                     config.cg_iters, config.damping,
                                     config.backtrack_coef, config.backtrack_iters)
        history.kl.append(step["kl"])
        history.accepted.append(step["accepted"])
        history.improvement.append(step["improvement"])
        history.backtracks.append(step["backtracks"])
        history.update_steps.append(history.env_steps)

        # ---- 4. fit the critic to R_hat: value_epochs passes of minibatch Adam ----------
        size = B // config.value_minibatches
        for _ in range(config.value_epochs):
            order = torch.randperm(B, generator=generator)
            for k in range(config.value_minibatches):
                idx = order[k * size:(k + 1) * size]
                value_loss = 0.5 * ((value(b_obs[idx]) - b_ret[idx]) ** 2).mean()
                value_opt.zero_grad()
                value_loss.backward()
                _clip_grad(value.parameters(), config.max_grad_norm)
                value_opt.step()
        buf_obs[0] = buf_obs[-1].clone()  # the next rollout starts where this one ended

        # ---- 5. log; stop at the target ------------------------------------------------
        recent = history.episode_returns[-config.window:]
        if recent:
            bar.set_postfix(mean_return=f"{np.mean(recent):.1f}", kl=f"{step['kl']:.4f}")
        if (config.target_return is not None and len(recent) == config.window
                and np.mean(recent) >= config.target_return):
            history.steps_to_target = history.env_steps
            break

    bar.close()
    envs.close()
    history.wall_time = time.perf_counter() - start
    history.policy, history.value = policy, value
    return history


r"""Score-function (REINFORCE) estimates on a two-state chain: the bridge from
martingales (book section 1.2, *a look ahead*) to policy gradients (section 2.3).

A tabular softmax policy :math:`\pi_\theta(a \mid s) \propto e^{\theta_{sa}}` acts on
the two-state "move" chain for ``horizon`` steps.  The gradient of the expected
return is :math:`\mathbb E[\sum_t \nabla_\theta \log \pi_\theta(a_t \mid s_t)\, G]`;
the terms that pair a score with rewards *before* it form a
martingale-difference sum with mean zero, which is why reward-to-go and
baselines leave the estimate unbiased and only change its variance.
Numpy only (no torch): chapters 1.2 and 2.3 both use it.
"""

from __future__ import annotations

import numpy as np
from scipy.special import softmax

from ._checks import as_finite_array as _finite_array
from ._checks import as_int, as_rng

__all__ = ["simulate_chain_episodes", "policy_gradient_estimates", "exact_policy_gradient"]

#: Longest horizon for which :func:`exact_policy_gradient` enumerates all 2**T episodes.
MAX_EXACT_HORIZON = 16


def _check_chain(theta, reward, horizon):
    theta = _finite_array(theta, "theta")
    if theta.shape != (2, 2):
        raise ValueError(f"theta must have shape (2, 2) (states x actions), got {theta.shape}")
    reward = _finite_array(reward, "reward")
    if reward.shape != (2, 2):
        raise ValueError(f"reward must have shape (2, 2) (states x actions), got {reward.shape}")
    horizon = as_int(horizon, "horizon", minimum=1)
    return theta, reward, horizon


def _chain_scores(theta, states, actions):
    """Scores grad_theta log pi(a_t | s_t), shape (..., T, 2, 2)."""
    pi = softmax(theta, axis=-1)
    row = np.eye(2)[actions] - pi[states]  # e_a - pi(.|s), shape (..., T, 2)
    return np.eye(2)[states][..., :, None] * row[..., None, :]


def simulate_chain_episodes(theta, reward, horizon, n_episodes, rng=None):
    r"""Episodes of a tabular softmax policy on the two-state "move" chain.

    States and actions are :math:`\{0, 1\}`; the episode starts in
    :math:`s_1 = 0`, the action chooses the next state, :math:`s_{t+1} = a_t`,
    and the reward is :math:`r_t = R[s_t, a_t]`.  The policy is
    :math:`\pi_\theta(a \mid s) \propto e^{\theta[s, a]}`, whose score is

    .. math::

       \nabla_\theta \log \pi_\theta(a \mid s) = e_s \otimes (e_a - \pi_\theta(\cdot \mid s)),

    with conditional mean zero given the past and :math:`s_t` (the EGLP lemma
    of section 2.3.3).  Section 1.2, *a look ahead: policy gradients*.

    Parameters
    ----------
    theta : array_like, shape (2, 2)
        Logits :math:`\theta[s, a]`.
    reward : array_like, shape (2, 2)
        :math:`R[s, a]`.
    horizon : int
        Steps per episode :math:`T \ge 1`.
    n_episodes : int
        ``>= 1``.
    rng : None, int or numpy.random.Generator

    Returns
    -------
    rewards : numpy.ndarray, shape (n_episodes, T)
        :math:`r_1, \dots, r_T`.
    scores : numpy.ndarray, shape (n_episodes, T, 2, 2)
        :math:`\nabla_\theta \log \pi_\theta(a_t \mid s_t)`.
    """
    theta, reward, horizon = _check_chain(theta, reward, horizon)
    n_episodes = as_int(n_episodes, "n_episodes", minimum=1)
    rng = as_rng(rng)
    pi = softmax(theta, axis=-1)
    states = np.zeros((n_episodes, horizon), dtype=np.int64)
    actions = np.zeros((n_episodes, horizon), dtype=np.int64)
    s = np.zeros(n_episodes, dtype=np.int64)
    for t in range(horizon):
        a = (rng.random(n_episodes) >= pi[s, 0]).astype(np.int64)
        states[:, t], actions[:, t] = s, a
        s = a
    return reward[states, actions], _chain_scores(theta, states, actions)


def policy_gradient_estimates(rewards, scores, baseline=0.0):
    r"""Per-episode score-function estimates of :math:`\nabla_\theta J`.

    With :math:`g_t = \nabla_\theta\log\pi_\theta(a_t\mid s_t)` and
    :math:`G_t = \sum_{u \ge t} r_u` (reward-to-go):

    * ``"full"``: :math:`\bigl(\sum_t g_t\bigr)\bigl(\sum_u r_u\bigr)` (REINFORCE, 2.3.1);
    * ``"reward_to_go"``: :math:`\sum_t g_t\, G_t` (2.3.3);
    * ``"past"``: :math:`\sum_t g_t \sum_{u < t} r_u` = full minus reward-to-go:
      a martingale transform of the martingale differences :math:`g_t` by the
      predictable stakes :math:`\sum_{u<t} r_u`, so its mean is zero;
    * ``"baseline"``: :math:`\sum_t g_t\,(G_t - b_t)` (2.3.4), unbiased because
      :math:`\sum_t g_t b_t` is again a martingale transform.

    Section 1.2, *a look ahead: policy gradients*.

    Parameters
    ----------
    rewards : array_like, shape (n_episodes, T)
    scores : array_like, shape ``(n_episodes, T, *param_shape)``
    baseline : float or array_like of shape (T,)
        Constants :math:`b_t` (a scalar for all ``t``).

    Returns
    -------
    dict of str to numpy.ndarray
        Each entry shaped ``(n_episodes, *param_shape)``.
    """
    r = _finite_array(rewards, "rewards")
    g = _finite_array(scores, "scores")
    if r.ndim != 2:
        raise ValueError(f"rewards must be 2-D (n_episodes, T), got shape {r.shape}")
    if g.ndim < 2 or g.shape[:2] != r.shape:
        raise ValueError(
            f"scores must be shaped (n_episodes, T, ...) with (n_episodes, T) = {r.shape}, "
            f"got {g.shape}"
        )
    b = _finite_array(baseline, "baseline")
    if b.ndim > 1 or (b.ndim == 1 and b.shape[0] != r.shape[1]):
        raise ValueError(f"baseline must be a number or have shape (T,) = ({r.shape[1]},)")
    extra = (1,) * (g.ndim - 2)
    to_go = np.cumsum(r[:, ::-1], axis=1)[:, ::-1]
    past = to_go[:, :1] - to_go  # sum_{u < t} r_u
    total = to_go[:, 0]
    return {
        "full": g.sum(axis=1) * total.reshape((-1,) + extra),
        "reward_to_go": (g * to_go.reshape(to_go.shape + extra)).sum(axis=1),
        "past": (g * past.reshape(past.shape + extra)).sum(axis=1),
        "baseline": (g * (to_go - b).reshape(to_go.shape + extra)).sum(axis=1),
    }


def exact_policy_gradient(theta, reward, horizon, baseline=0.0):
    r"""Exact gradient and exact moments of the estimators, by enumerating all episodes.

    The chain of :func:`simulate_chain_episodes` has :math:`2^T` equally
    structured episodes (one per action sequence); summing over them gives
    :math:`J(\theta) = \mathbb E \sum_t r_t`, its gradient, and the exact mean
    and variance (per coordinate of :math:`\theta`) of every estimator of
    :func:`policy_gradient_estimates`.  Section 1.2.

    Parameters
    ----------
    theta, reward : array_like, shape (2, 2)
    horizon : int
        ``1 <= T <= 16``.
    baseline : float or array_like of shape (T,)

    Returns
    -------
    J : float
    grad : numpy.ndarray, shape (2, 2)
        :math:`\nabla_\theta J = \sum_\tau r(\tau)\,\nabla_\theta P_\theta(\tau)`
        with :math:`\nabla_\theta P_\theta(\tau) = P_\theta(\tau)\sum_t g_t(\tau)`,
        an exact derivative of a finite sum.
    moments : dict of str to (mean, variance)
        For each estimator: its exact mean and variance, arrays of shape (2, 2).
    """
    theta, reward, horizon = _check_chain(theta, reward, horizon)
    if horizon > MAX_EXACT_HORIZON:
        raise ValueError(f"horizon must be <= {MAX_EXACT_HORIZON} for exact enumeration")
    actions = (np.arange(2**horizon)[:, None] >> np.arange(horizon)[::-1]) & 1
    states = np.zeros_like(actions)
    states[:, 1:] = actions[:, :-1]
    pi = softmax(theta, axis=-1)
    log_prob = np.log(pi[states, actions]).sum(axis=1)
    prob = np.exp(log_prob)
    rewards = reward[states, actions]
    total = rewards.sum(axis=1)
    J = float(prob @ total)
    # d prob(tau) / d theta = prob(tau) * sum_t score_t(tau): the likelihood-ratio
    # identity, an exact derivative of a finite sum (checked in the tests against
    # finite differences).
    scores = _chain_scores(theta, states, actions)
    grad = np.einsum("e,e,eij->ij", prob, total, scores.sum(axis=1))
    estimates = policy_gradient_estimates(rewards, scores, baseline)
    moments = {}
    for name, x in estimates.items():
        mean = np.einsum("e,eij->ij", prob, x)
        var = np.einsum("e,eij->ij", prob, (x - mean) ** 2)
        moments[name] = (mean, var)
    return J, grad, moments

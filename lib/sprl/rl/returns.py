r"""Returns and advantages (book sections 2.3.3, 2.4.1 and 2.5).

Time runs along axis 0 in every function here, as in a rollout buffer shaped
``(T, n_envs)``: ``x[t]`` is the quantity at step ``t`` and any further axes
are independent sequences (environments, episodes) handled at once.

.. math::

   \text{discounted\_cumsum}(x, \gamma)_t = \sum_{k \ge t} \gamma^{k-t} x_k,
   \qquad
   \hat A_t^{\mathrm{GAE}(\gamma, \lambda)} = \sum_{k \ge t} (\gamma\lambda)^{k-t} \delta_k,
   \quad \delta_k = r_k + \gamma V(s_{k+1}) - V(s_k).

The reward-to-go of section 2.3.3 is ``discounted_cumsum(rewards, gamma)``.
Section 2.5 adds the :math:`k`-step estimators :func:`n_step_advantages`, of which
GAE is the exponential average, and :func:`exact_gae_moments`, the exact mean and
variance of GAE on a finite MDP (:mod:`sprl.rl.tabular`) by linear algebra.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.signal import lfilter

from .._checks import as_discount, as_finite_array

__all__ = [
    "discounted_cumsum",
    "reward_to_go",
    "gae",
    "n_step_advantages",
    "GAEMoments",
    "exact_gae_moments",
]


def _as_finite(x, name: str) -> np.ndarray:
    """:func:`as_finite_array` with a time axis."""
    arr = as_finite_array(x, name)
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a time axis (at least 1-D), got a scalar")
    return arr


def discounted_cumsum(x, gamma):
    r"""Discounted sums from each step to the end: :math:`y_t = \sum_{k=t}^{T-1} \gamma^{k-t} x_k`.

    Computed by the backward recursion :math:`y_t = x_t + \gamma\, y_{t+1}`,
    :math:`y_{T} = 0`, run as a linear filter (:func:`scipy.signal.lfilter`) over
    the reversed sequence, so there is no Python loop over time.

    Parameters
    ----------
    x : array_like, shape (T, ...)
        The sequence; time along axis 0.
    gamma : float
        Discount factor in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``x``.

    Examples
    --------
    >>> discounted_cumsum([1.0, 1.0, 1.0], 0.5)
    array([1.75, 1.5 , 1.  ])
    """
    x = _as_finite(x, "x")
    gamma = as_discount(gamma, "gamma")
    if x.shape[0] == 0:
        return x.copy()
    return lfilter([1.0], [1.0, -gamma], x[::-1], axis=0)[::-1].copy()


def reward_to_go(rewards, gamma=1.0):
    r"""Reward-to-go :math:`\hat R_t = \sum_{t'=t}^{T} \gamma^{t'-t} r_{t'}` (section 2.3.3).

    With ``gamma = 1`` (the default) this is the undiscounted sum of the rewards
    from step ``t`` to the end of the episode, the :math:`\Psi_t` of the
    "don't let the past distract you" estimator.

    Parameters
    ----------
    rewards : array_like, shape (T, ...)
        Rewards of one episode (or of several equally long ones side by side).
    gamma : float
        Discount factor in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``rewards``.

    Examples
    --------
    >>> reward_to_go([1.0, 2.0, 3.0])
    array([6., 5., 3.])
    """
    return discounted_cumsum(_as_finite(rewards, "rewards"), gamma)


def _td_setup(rewards, values, last_value, gamma, dones):
    """Check the rollout arrays; return ``(deltas, not_done, gamma)``."""
    rewards = _as_finite(rewards, "rewards")
    values = _as_finite(values, "values")
    gamma = as_discount(gamma, "gamma")
    if values.shape != rewards.shape:
        raise ValueError(
            f"values must have the shape of rewards {rewards.shape}, got {values.shape}"
        )
    try:
        last_value = np.asarray(last_value, dtype=float)
    except (TypeError, ValueError):
        raise ValueError("last_value must be a number or an array of numbers") from None
    if last_value.shape != rewards.shape[1:]:
        raise ValueError(
            f"last_value must have shape rewards.shape[1:] = {rewards.shape[1:]}, "
            f"got {last_value.shape}"
        )
    if not np.isfinite(last_value).all():
        raise ValueError("last_value must hold finite numbers (no nan or inf)")
    if dones is None:
        not_done = np.ones_like(rewards)
    else:
        dones = np.asarray(dones)
        if dones.shape != rewards.shape:
            raise ValueError(
                f"dones must have the shape of rewards {rewards.shape}, got {dones.shape}"
            )
        if not (dones.dtype == bool or np.isin(dones, (0, 1)).all()):
            raise ValueError("dones must hold booleans (or 0/1)")
        not_done = 1.0 - dones.astype(float)

    next_values = np.concatenate([values[1:], last_value[None]], axis=0)
    deltas = rewards + gamma * not_done * next_values - values  # delta_t = r + gamma V' - V
    return deltas, not_done, gamma


def gae(rewards, values, last_value, gamma, lam, dones=None):
    r"""Generalized advantage estimates :math:`\hat A_t^{\mathrm{GAE}(\gamma,\lambda)}`.

    .. math::

       \delta_t = r_t + \gamma (1 - d_t) V(s_{t+1}) - V(s_t), \qquad
       \hat A_t = \delta_t + \gamma \lambda (1 - d_t) \hat A_{t+1}, \qquad
       \hat A_{T} = 0,

    with :math:`V(s_T)` = ``last_value`` (the value of the state after the
    rollout) and :math:`d_t = 1` when the episode ended at step ``t`` (so
    nothing is bootstrapped across the reset).  ``lam = 0`` gives the one-step
    TD error :math:`\delta_t` of section 2.4.1; ``lam = 1`` gives the
    bootstrapped :math:`n`-step return minus :math:`V(s_t)` used by A2C
    (section 2.4); section 2.5 studies the values in between.  The targets of
    the critic are ``gae(...) + values``.

    For a time-limit truncation (the episode was cut, not ended) the caller
    folds the bootstrap into the reward, :math:`r_t \leftarrow r_t + \gamma
    V(s^{\mathrm{final}}_{t+1})`, and marks ``dones[t] = True``.

    Parameters
    ----------
    rewards : array_like, shape (T, ...)
        Rewards :math:`r_t`; time along axis 0, further axes are environments.
    values : array_like, shape (T, ...)
        :math:`V(s_t)` for the same steps.
    last_value : array_like, shape rewards.shape[1:]
        :math:`V(s_T)`, the value of the observation that follows the rollout.
    gamma, lam : float
        Discount factor and GAE parameter, both in ``[0, 1]``.
    dones : array_like of bool, shape (T, ...), optional
        ``dones[t]`` is true when the episode ended at step ``t``.

    Returns
    -------
    numpy.ndarray
        Advantages, same shape as ``rewards``.

    Examples
    --------
    >>> gae([1.0, 1.0], [0.0, 0.0], 0.0, gamma=1.0, lam=1.0)
    array([2., 1.])
    """
    gamma = as_discount(gamma, "gamma")
    lam = as_discount(lam, "lam")
    deltas, not_done, gamma = _td_setup(rewards, values, last_value, gamma, dones)
    if dones is None:  # no resets: A_t = sum_k (gamma lam)^k delta_{t+k}, one linear filter
        return discounted_cumsum(deltas, gamma * lam)
    advantages = np.empty_like(deltas)
    running = np.zeros(deltas.shape[1:])
    for t in range(deltas.shape[0] - 1, -1, -1):  # one vectorised step per time index
        running = deltas[t] + gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages


def n_step_advantages(rewards, values, last_value, gamma, k, dones=None):
    r"""The :math:`k`-step advantage estimators :math:`\hat A_t^{(k)}` (section 2.5).

    .. math::

       \hat A_t^{(k)} = \sum_{l=0}^{k-1} \gamma^l r_{t+l} + \gamma^k V(s_{t+k}) - V(s_t)
       = \sum_{l=0}^{k-1} \gamma^l \delta_{t+l},

    the second form by telescoping the TD residuals
    :math:`\delta_t = r_t + \gamma V(s_{t+1}) - V(s_t)`.  The sum stops early where
    the data stop: at the end of an episode (``dones[t]``; nothing is bootstrapped
    there, as in :func:`gae`) and at the end of the rollout, where it bootstraps
    from ``last_value``.  ``k = 1`` is the TD residual; ``k >= T`` is ``gae`` with
    ``lam = 1``; and ``gae`` is their exponential average
    :math:`(1 - \lambda) \sum_{k \ge 1} \lambda^{k-1} \hat A_t^{(k)}`.

    Parameters
    ----------
    rewards, values, last_value, gamma, dones
        As in :func:`gae`.
    k : int
        Number of rewards summed before bootstrapping, ``k >= 1``.

    Returns
    -------
    numpy.ndarray
        Same shape as ``rewards``.

    Examples
    --------
    >>> n_step_advantages([1.0, 1.0, 1.0], [0.0, 0.0, 0.0], 5.0, gamma=1.0, k=2)
    array([2., 7., 6.])
    """
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    deltas, not_done, gamma = _td_setup(rewards, values, last_value, gamma, dones)
    T = deltas.shape[0]
    advantages = np.zeros_like(deltas)
    weight = np.ones_like(deltas)  # gamma^l * (no episode ended in t .. t+l-1), for step t
    for l in range(min(int(k), T)):
        n = T - l  # steps t = 0 .. n-1 still have a residual delta_{t+l}
        advantages[:n] += weight[:n] * deltas[l:]  # + gamma^l delta_{t+l}
        weight[: n - 1] *= gamma * not_done[l : T - 1]  # stop at the end of an episode
    return advantages


@dataclass(frozen=True)
class GAEMoments:
    r"""Exact conditional moments of GAE on a finite MDP (see :func:`exact_gae_moments`).

    Every array has shape (S, A) and is indexed by the state and action of the
    step being estimated; rows of terminal states are 0.

    Attributes
    ----------
    mean : numpy.ndarray
        :math:`\mathbb{E}[\hat A_t \mid s_t = s, a_t = a]`.
    variance : numpy.ndarray
        :math:`\operatorname{Var}[\hat A_t \mid s_t = s, a_t = a]`.
    advantage : numpy.ndarray
        The true advantage :math:`A^{\pi,\gamma}(s, a)`.
    bias : numpy.ndarray
        ``mean - advantage``.
    """

    mean: np.ndarray
    variance: np.ndarray
    advantage: np.ndarray
    bias: np.ndarray


def exact_gae_moments(mdp, pi, gamma, lam, values=None) -> GAEMoments:
    r"""Exact mean and variance of :math:`\hat A^{\mathrm{GAE}(\gamma,\lambda)}_t` given :math:`(s_t, a_t)`.

    On a finite MDP (a :class:`sprl.rl.tabular.TabularMDP`) with whole episodes
    (no rollout cut), :math:`\hat A_t = \sum_{l \ge 0} c^l \delta_{t+l}` with
    :math:`c = \gamma\lambda`, summed until the episode ends, and
    :math:`\delta_t = R(s_t, a_t, s_{t+1}) + \gamma V(s_{t+1}) - V(s_t)` for the
    given ``values`` :math:`V` (0 on terminal states).  Since
    :math:`\hat A_t = \delta_t + c \hat A_{t+1}` and, by the Markov property, the
    law of :math:`\hat A_{t+1}` depends on :math:`s_{t+1}` only, the moments
    solve two linear systems (first-step analysis, section 1.1.3).  With
    :math:`M(s) = \mathbb{E}[\hat A_t \mid s_t = s]` and
    :math:`W(s) = \mathbb{E}[\hat A_t^2 \mid s_t = s]`,

    .. math::

       m(s, a) &= \sum_{s'} P(s' \mid s, a) \bigl[\delta(s, a, s') + c M(s')\bigr],
       \qquad M = (I - c P_\pi)^{-1} \bar\delta_\pi, \\
       w(s, a) &= \sum_{s'} P(s' \mid s, a) \bigl[\delta^2 + 2 c\, \delta M(s')
                  + c^2 W(s')\bigr],
       \qquad W = (I - c^2 P_\pi)^{-1} \bar b_\pi,

    where :math:`\bar\delta_\pi(s) = \sum_a \pi(a \mid s) \sum_{s'} P(s' \mid s, a)
    \delta(s, a, s')` and :math:`\bar b_\pi` averages the first two terms of
    :math:`w` the same way, all on the non-terminal states (:math:`M = W = 0` on
    terminal ones).  Then ``mean = m`` and ``variance = w - m**2``.

    Parameters
    ----------
    mdp : sprl.rl.tabular.TabularMDP
    pi : array_like, shape (S, A)
        The policy that generates the data.
    gamma, lam : float
        Discount factor and GAE parameter in ``[0, 1]``.  ``gamma = lam = 1``
        needs every episode to end (as :meth:`TabularMDP.evaluate` checks).
    values : array_like, shape (S,), optional
        The critic :math:`V`; default the exact :math:`V^{\pi,\gamma}`.  Its
        entries on terminal states are ignored (nothing is bootstrapped after
        the end).

    Returns
    -------
    GAEMoments
        With ``values = V^pi`` the bias is 0 for every ``lam`` (the estimator
        is gamma-just); with ``lam = 1`` the bias is ``-(values - V^pi)(s)``,
        the same for every action.
    """
    gamma = as_discount(gamma, "gamma")
    lam = as_discount(lam, "lam")
    pi = mdp.check_policy(pi)
    advantage = mdp.advantages(pi, gamma)  # also checks that gamma = 1 episodes end
    S = mdp.n_states
    nt = ~mdp.terminal
    if values is None:
        V = mdp.evaluate(pi, gamma)
    else:
        V = _as_finite(values, "values")
        if V.shape != (S,):
            raise ValueError(f"values must have shape (S,) = ({S},), got {V.shape}")
    V = np.where(nt, V, 0.0)  # V = 0 after the end: no bootstrap from a terminal state
    c = gamma * lam
    P_pi, _ = mdp.markov_chain(pi)
    # delta(s, a, s') = R(s, a, s') + gamma V(s') - V(s), for every transition
    delta = mdp.R_full + gamma * V[None, None, :] - V[:, None, None]
    P = mdp.P
    block = np.ix_(nt, nt)
    eye = np.eye(int(nt.sum()))

    def solve(discount, rhs_sa):  # X = (I - discount P_pi)^{-1} sum_a pi rhs, on nt states
        X = np.zeros(S)
        if eye.size:
            X[nt] = linalg.solve(eye - discount * P_pi[block], (pi * rhs_sa).sum(axis=1)[nt])
        return X

    first = (P * delta).sum(axis=2)  # E[delta_t | s, a]
    M = solve(c, first)  # M = (I - c P_pi)^{-1} delta_bar
    mean = first + c * P @ M  # m(s, a) = E[delta + c M(s')]
    cross = (P * (delta**2 + 2 * c * delta * M[None, None, :])).sum(axis=2)
    W = solve(c * c, cross)  # W = (I - c^2 P_pi)^{-1} b_bar
    second = cross + c * c * P @ W  # w(s, a) = E[delta^2 + 2 c delta M(s') + c^2 W(s')]
    variance = np.maximum(second - mean**2, 0.0)  # round-off can leave -1e-17
    zero = mdp.terminal[:, None]
    mean, variance = np.where(zero, 0.0, mean), np.where(zero, 0.0, variance)
    return GAEMoments(mean=mean, variance=variance, advantage=advantage,
                      bias=np.where(zero, 0.0, mean - advantage))

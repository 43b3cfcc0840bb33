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
"""

from __future__ import annotations

import numpy as np
from scipy.signal import lfilter

from .._checks import as_probability

__all__ = ["discounted_cumsum", "reward_to_go", "gae"]


def _as_finite(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an array of numbers") from None
    if arr.ndim == 0:
        raise ValueError(f"{name} must have a time axis (at least 1-D), got a scalar")
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} must hold finite numbers (no nan or inf)")
    return arr


def _as_discount(value, name: str) -> float:
    arr = as_probability(value, name)
    if arr.ndim != 0:
        raise ValueError(f"{name} must be a single number in [0, 1], got shape {arr.shape}")
    return float(arr)


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
    gamma = _as_discount(gamma, "gamma")
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
    rewards = _as_finite(rewards, "rewards")
    values = _as_finite(values, "values")
    gamma = _as_discount(gamma, "gamma")
    lam = _as_discount(lam, "lam")
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
    if dones is None:  # no resets: A_t = sum_k (gamma lam)^k delta_{t+k}, one linear filter
        return discounted_cumsum(deltas, gamma * lam)
    advantages = np.empty_like(deltas)
    running = np.zeros(rewards.shape[1:])
    for t in range(rewards.shape[0] - 1, -1, -1):  # one vectorised step per time index
        running = deltas[t] + gamma * lam * not_done[t] * running
        advantages[t] = running
    return advantages

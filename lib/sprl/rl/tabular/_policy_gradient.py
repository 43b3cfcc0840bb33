r"""Tabular softmax policies: the exact policy gradient and score-function
estimates of it (book sections 2.3 and 2.4)."""

from __future__ import annotations

import numpy as np

from ._mdp import Episodes, TabularMDP


# ---------------------------------------------------------------------- softmax policies
def softmax_policy(theta) -> np.ndarray:
    r"""Tabular softmax :math:`\pi_\theta(a \mid s) = e^{\theta_{sa}} / \sum_b e^{\theta_{sb}}`.

    ``theta`` has shape (S, A); returns the (S, A) array of probabilities
    (computed after subtracting each row's maximum, so large logits do not
    overflow).
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2 or not np.isfinite(theta).all():
        raise ValueError("theta must be a finite (S, A) array of logits")
    z = np.exp(theta - theta.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


def _check_theta(mdp, theta):
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (mdp.n_states, mdp.n_actions):
        raise ValueError(
            f"theta must have shape (S, A) = {(mdp.n_states, mdp.n_actions)}, got {theta.shape}"
        )
    return theta


def policy_gradient(mdp: TabularMDP, theta, gamma) -> np.ndarray:
    r"""Exact :math:`\nabla_\theta J(\theta)` of a tabular softmax policy (policy gradient theorem).

    .. math::

       \frac{\partial J}{\partial \theta_{sa}}
       = \sum_{t \ge 1} \gamma^{t-1} \Pr(s_t = s)\, \pi_\theta(a \mid s)
         \bigl(Q^\pi(s, a) - V^\pi(s)\bigr)
       = d^\pi_\gamma(s)\, \pi_\theta(a \mid s)\, A^\pi(s, a),

    because :math:`\partial \log \pi_\theta(b \mid s) / \partial \theta_{sa}
    = \mathbb{1}[a = b] - \pi_\theta(a \mid s)`.  Zero on terminal states.

    Returns
    -------
    numpy.ndarray, shape (S, A)
    """
    theta = _check_theta(mdp, theta)
    pi = softmax_policy(theta)
    d = mdp.visitation(pi, gamma)
    return d[:, None] * pi * mdp.advantages(pi, gamma)


def score_function_gradients(theta, episodes: Episodes, psi) -> np.ndarray:
    r"""One score-function gradient estimate per episode, tabular softmax policy.

    .. math::

       \hat g_i = \sum_t \Psi_{i,t}\, \nabla_\theta \log \pi_\theta(a_{i,t} \mid s_{i,t}),
       \qquad
       \nabla_{\theta_{s\cdot}} \log \pi_\theta(a \mid s) = e_a - \pi_\theta(\cdot \mid s),

    for the weights ``psi`` (:math:`\Psi_{i,t}`, the discount
    :math:`\gamma^{t-1}` included when wanted).  Padded steps
    (``episodes.mask`` false) count for nothing.

    Parameters
    ----------
    theta : array_like, shape (S, A)
    episodes : Episodes
        Time along axis 0, shape (T, N).
    psi : array_like, shape (T, N)

    Returns
    -------
    numpy.ndarray, shape (N, S, A)
        The estimates; their mean estimates :math:`\nabla_\theta J`.
    """
    theta = np.asarray(theta, dtype=float)
    if theta.ndim != 2:
        raise ValueError(f"theta must be an (S, A) array, got shape {theta.shape}")
    S, A = theta.shape
    psi = np.asarray(psi, dtype=float)
    T, N = episodes.states.shape
    if psi.shape != (T, N):
        raise ValueError(f"psi must have the shape of the episodes (T, N) = {(T, N)}, "
                         f"got {psi.shape}")
    if not np.isfinite(psi).all():
        raise ValueError("psi must hold finite numbers")
    if episodes.states.max(initial=0) >= S or episodes.actions.max(initial=0) >= A:
        raise ValueError("theta has fewer states or actions than the episodes use")
    pi = softmax_policy(theta)
    m = episodes.mask
    w = psi[m]  # only the steps that were taken
    episode = np.broadcast_to(np.arange(N), (T, N))[m]
    s, a = episodes.states[m], episodes.actions[m]
    # sum_t psi_t e_{s_t, a_t}
    g = np.bincount((episode * S + s) * A + a, weights=w, minlength=N * S * A).reshape(N, S, A)
    # - sum_t psi_t e_{s_t} (x) pi(.|s_t)
    per_state = np.bincount(episode * S + s, weights=w, minlength=N * S).reshape(N, S)
    return g - per_state[:, :, None] * pi[None]

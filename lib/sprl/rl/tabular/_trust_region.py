r"""Trust regions for tabular policies: divergences, the performance-difference
identity, TRPO's surrogate and its lower bound (book section 2.6)."""

from __future__ import annotations

import numpy as np

from ..._checks import as_discount
from ._mdp import TabularMDP


# ---------------------------------------------------------------------- trust regions (2.6)
def _two_policies(pi, pi_new):
    pi = np.asarray(pi, dtype=float)
    pi_new = np.asarray(pi_new, dtype=float)
    for name, p in (("pi", pi), ("pi_new", pi_new)):
        if p.ndim != 2:
            raise ValueError(f"{name} must be an (S, A) array of probabilities, got shape {p.shape}")
        if not np.isfinite(p).all() or (p < 0).any():
            raise ValueError(f"{name} must hold non-negative finite probabilities")
        if not np.allclose(p.sum(axis=1), 1.0, rtol=0, atol=1e-10):
            raise ValueError(f"{name} must have rows summing to 1 (one pmf per state)")
    if pi.shape != pi_new.shape:
        raise ValueError(f"pi_new must have the shape of pi {pi.shape}, got {pi_new.shape}")
    return pi, pi_new


def policy_kl(pi, pi_new) -> np.ndarray:
    r"""Per-state :math:`\mathrm{KL}(\pi(\cdot \mid s) \,\|\, \pi'(\cdot \mid s))` (section 2.6).

    .. math::

       D_{\mathrm{KL}}(s) = \sum_a \pi(a \mid s) \log \frac{\pi(a \mid s)}{\pi'(a \mid s)},

    with :math:`0 \log 0 = 0`; ``inf`` where :math:`\pi'` gives probability 0
    to an action that :math:`\pi` takes (the divergence is infinite there).

    Parameters
    ----------
    pi, pi_new : array_like, shape (S, A)
        :math:`\pi` and :math:`\pi'`, one pmf per row.

    Returns
    -------
    numpy.ndarray, shape (S,)
    """
    pi, pi_new = _two_policies(pi, pi_new)
    pos = pi > 0
    safe_new = np.where(pos & (pi_new > 0), pi_new, 1.0)  # log q only where it is used
    terms = np.where(pos, pi * (np.log(np.where(pos, pi, 1.0)) - np.log(safe_new)), 0.0)
    kl = terms.sum(axis=1)
    kl[(pos & (pi_new == 0)).any(axis=1)] = np.inf
    return np.maximum(kl, 0.0)  # >= 0 exactly (Gibbs); clears -1e-17 rounding


def policy_tv(pi, pi_new) -> np.ndarray:
    r"""Per-state total variation :math:`\tfrac12 \sum_a |\pi(a \mid s) - \pi'(a \mid s)|`, shape (S,)."""
    pi, pi_new = _two_policies(pi, pi_new)
    return 0.5 * np.abs(pi - pi_new).sum(axis=1)


def _advantage_gain(mdp: TabularMDP, pi, pi_new, gamma):
    r""":math:`\bar A(s) = \sum_a \pi'(a \mid s) A^\pi(s, a)`, shape (S,)."""
    pi = mdp.check_policy(pi, "pi")
    pi_new = mdp.check_policy(pi_new, "pi_new")
    return (pi_new * mdp.advantages(pi, gamma)).sum(axis=1)


def performance_difference(mdp: TabularMDP, pi, pi_new, gamma) -> float:
    r"""Right side of the performance-difference identity (section 2.6).

    .. math::

       J(\pi') - J(\pi)
       = \mathbb{E}_{\pi'}\Bigl[\sum_{t \ge 1} \gamma^{t-1} A^\pi(s_t, a_t)\Bigr]
       = \sum_s d^{\pi'}_\gamma(s) \sum_a \pi'(a \mid s) A^\pi(s, a),

    the advantages of the *old* policy :math:`\pi` summed along the
    trajectories of the *new* one :math:`\pi'` (:math:`d_\gamma` as in
    :meth:`TabularMDP.visitation`).  Computed from :math:`d^{\pi'}_\gamma` and
    :math:`A^\pi` only, so that comparing it with
    ``mdp.objective(pi_new, gamma) - mdp.objective(pi, gamma)`` checks the identity.

    Returns
    -------
    float
    """
    gain = _advantage_gain(mdp, pi, pi_new, gamma)
    return float(mdp.visitation(pi_new, gamma) @ gain)


def surrogate(mdp: TabularMDP, pi, pi_new, gamma) -> float:
    r"""The surrogate :math:`L_\pi(\pi')` of TRPO (section 2.6).

    .. math::

       L_\pi(\pi') = J(\pi) + \sum_s d^{\pi}_\gamma(s) \sum_a \pi'(a \mid s) A^\pi(s, a):

    the identity of :func:`performance_difference` with the states visited
    by the *old* policy in place of the new one's.  It agrees with
    :math:`J(\pi')` to first order at :math:`\pi' = \pi`:
    :math:`L_\pi(\pi) = J(\pi)` and the gradients in :math:`\pi'` are equal there.

    Returns
    -------
    float
    """
    gain = _advantage_gain(mdp, pi, pi_new, gamma)
    return mdp.objective(pi, gamma) + float(mdp.visitation(pi, gamma) @ gain)


def trpo_lower_bound(mdp: TabularMDP, pi, pi_new, gamma, divergence: str = "kl") -> float:
    r"""The lower bound of Schulman et al. (2015, Theorem 1) on :math:`J(\pi')` (section 2.6).

    .. math::

       J(\pi') \ge L_\pi(\pi') - C D, \qquad
       C = \frac{4 \varepsilon \gamma}{(1 - \gamma)^2}, \quad
       \varepsilon = \max_{s, a} |A^\pi(s, a)|,

    with :math:`D = \alpha^2 = \max_s D_{\mathrm{TV}}(s)^2` (``divergence="tv"``,
    the theorem as proved in the book) or :math:`D = \max_s
    D_{\mathrm{KL}}(\pi(\cdot \mid s) \,\|\, \pi'(\cdot \mid s))`
    (``divergence="kl"``, weaker, from :math:`D_{\mathrm{TV}}^2 \le D_{\mathrm{KL}}`).
    The maxima run over the non-terminal states.  Needs ``gamma < 1``.

    Returns
    -------
    float
        :math:`L_\pi(\pi') - C D` (``-inf`` if the KL is infinite).
    """
    gamma = as_discount(gamma)
    if gamma >= 1.0:
        raise ValueError(f"gamma must be < 1 for the bound (C grows like 1/(1-gamma)^2), got {gamma}")
    if divergence not in ("kl", "tv"):
        raise ValueError(f"divergence must be 'kl' or 'tv', got {divergence!r}")
    pi = mdp.check_policy(pi, "pi")
    pi_new = mdp.check_policy(pi_new, "pi_new")
    nt = ~mdp.terminal
    eps = float(np.abs(mdp.advantages(pi, gamma)[nt]).max(initial=0.0))
    C = 4.0 * eps * gamma / (1.0 - gamma) ** 2
    if divergence == "tv":
        alpha = float((policy_tv(pi, pi_new)[nt] ** 2).max(initial=0.0))
    else:
        alpha = float(policy_kl(pi, pi_new)[nt].max(initial=0.0))
    if np.isinf(alpha):
        return -np.inf
    return surrogate(mdp, pi, pi_new, gamma) - C * alpha

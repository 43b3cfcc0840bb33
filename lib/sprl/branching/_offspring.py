r"""The offspring law :math:`Y` of a branching process (book section 1.1.4).

Its check (a pmf over ``0, 1, 2, ...``), its tails :math:`\mathbb P(Y > j)` and
exactly rounded mean, and the Poisson, geometric and binomial laws of the chapter.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

from .._checks import MAX_ARRAY_SIZE, as_float, as_int, as_pmf, as_probability, check_size

#: Mass left beyond the truncation point of the Poisson and geometric builders.
_TAIL = 1e-18


# ---------------------------------------------- the law: check, tails, exact mean


def _pmf(pmf) -> np.ndarray:
    """Validated pmf, rescaled so that its masses sum to 1 up to roundoff.

    Trailing zeros are dropped (but one entry is always kept).
    """
    p = as_pmf(pmf, "pmf")
    p = p / math.fsum(p)
    nz = np.flatnonzero(p)
    return p[: nz[-1] + 1]


def _tails(p: np.ndarray) -> np.ndarray:
    """``t[j] = P(Y > j)`` for ``j = 0 .. K-2``, as sums of masses (no subtraction)."""
    return np.cumsum(p[:0:-1])[::-1]


def _exact_terms(p: np.ndarray, weights: np.ndarray) -> list[float]:
    """Floats whose exact sum is ``sum_k weights[k] * p[k]`` (integer weights below 2**26).

    Each mass is split (Veltkamp) into a 26-bit head and a tail, so that both
    products with an integer weight below ``2**26`` are exact; ``math.fsum`` of
    the list is then the correctly rounded value of the sum.
    """
    if p.size < 2**26:
        c = p * 134217729.0  # 2**27 + 1
        head = c - (c - p)
        return list(np.concatenate((weights * head, weights * (p - head))))
    return list(weights * p)  # not a realistic offspring law; products rounded once each


def _excess(p: np.ndarray) -> float:
    r""":math:`\sum_k (k - 1)\,p_k`, correctly rounded for the float64 masses.

    Its sign is exactly the sign of :math:`\mu - 1` for the law :math:`p / \sum_k p_k`
    (it equals :math:`(\mu - 1)\sum_k p_k`), whatever the rounding of the masses'
    sum: it decides criticality.
    """
    return math.fsum(_exact_terms(p, np.arange(-1, p.size - 1, dtype=float)))


def _mean(p: np.ndarray) -> tuple[float, float, float]:
    r"""Mean ``mu``, ``mu - 1`` and ``log mu`` of the law ``p / sum(p)``.

    ``mu - 1`` is computed as :math:`\sum_k (k-1)p_k / \sum_k p_k` from exact
    products (:func:`_excess`), not as ``mu - 1``: near a critical law ``mu``
    itself is only known to 1e-16 *absolute*, while ``mu - 1`` keeps full relative
    accuracy (and its exact sign, even when the masses do not sum to exactly 1).
    """
    total = math.fsum(p)
    mu = math.fsum(_exact_terms(p, np.arange(p.size, dtype=float))) / total
    dmu = _excess(p) / total
    if mu == 0.0:
        log_mu = -math.inf
    elif dmu > -0.5:
        log_mu = math.log1p(dmu)
    else:
        log_mu = math.log(mu)
    return mu, dmu, log_mu



# -------------------------------------------------------------------------- offspring laws


def _truncate(pmf_head: np.ndarray, tail_mass: float) -> np.ndarray:
    out = pmf_head.astype(float).copy()
    out[-1] += tail_mass
    return out


def poisson_pmf(lam, kmax=None):
    r"""Poisson(:math:`\lambda`) offspring law on ``0 .. kmax``.

    :math:`p_k = e^{-\lambda}\lambda^k/k!`; the mass
    :math:`\mathbb{P}(Y > k_{\max})` is added to the last entry so that the
    result is a law.  With ``kmax=None`` the support is cut where that tail
    falls below :math:`10^{-18}` (so the change is below float64 resolution).
    Generating function :math:`G(s) = e^{\lambda(s - 1)}`; the extinction
    probability is :math:`\alpha = -W_0(-\lambda e^{-\lambda})/\lambda` for
    :math:`\lambda > 1` (Lambert :math:`W`) and 1 otherwise.

    Parameters
    ----------
    lam : float
        Mean, ``lam >= 0``.
    kmax : int, optional
        Largest number of children kept.

    Returns
    -------
    numpy.ndarray, shape (kmax + 1,)
    """
    lam = as_float(lam, "lam", "a number >= 0")
    if not np.isfinite(lam) or lam < 0:
        raise ValueError(f"lam must be a finite number >= 0, got {lam!r}")
    if kmax is None:
        # sf(k) < 1e-18 well before lam + 12 sqrt(lam) + 60 (Chernoff bound).
        check_size(lam + 12.0 * math.sqrt(lam) + 60.0, "lam", what="support points")
        ks = np.arange(int(lam + 12.0 * math.sqrt(lam) + 60.0))
        kmax = int(np.argmax(stats.poisson.sf(ks, lam) < _TAIL)) if lam > 0 else 0
    kmax = as_int(kmax, "kmax", minimum=0)
    check_size(kmax + 1, "kmax", what="support points")
    k = np.arange(kmax + 1)
    if lam == 0:
        return (k == 0).astype(float)
    tail = float(stats.poisson.sf(kmax, lam))
    head = stats.poisson.pmf(k, lam)
    # For large lam each mass carries a relative error ~ k log(lam) eps: rescale
    # the head to its exact total 1 - tail.
    head = head * ((1.0 - tail) / math.fsum(head))
    return _truncate(head, tail)


def geometric_pmf(p, kmax=None):
    r"""Geometric offspring law :math:`p_k = p\,(1 - p)^k` on ``0 .. kmax``.

    Mean :math:`(1-p)/p`, generating function :math:`G(s) = p/(1 - (1-p)s)`;
    :math:`G(s) = s` has the roots 1 and :math:`p/(1-p)`, so the extinction
    probability is :math:`\min(1, p/(1-p))`.  The tail
    :math:`(1-p)^{k_{\max}+1}` is added to the last entry; with ``kmax=None``
    the support is cut where it falls below :math:`10^{-18}`.

    Parameters
    ----------
    p : float
        Probability of no child, ``0 < p <= 1``.
    kmax : int, optional
        Largest number of children kept.

    Returns
    -------
    numpy.ndarray, shape (kmax + 1,)
    """
    p = as_float(p, "p", "a number in (0, 1]")
    if not (0.0 < p <= 1.0):
        raise ValueError(f"p must lie in (0, 1], got {p!r}")
    log_q = math.log1p(-p) if p < 1.0 else -math.inf
    if kmax is None:
        # (1 - p)**(kmax + 1) < 1e-18; a float, which is inf for a subnormal p
        support = 1.0 if p == 1.0 else math.log(_TAIL) / log_q
        if support > MAX_ARRAY_SIZE:  # a small p: the law's support is long
            raise ValueError(
                f"p is too small: cutting the geometric law where its tail falls below "
                f"{_TAIL:g} would need {support:.3g} support points, more than the limit "
                f"of {MAX_ARRAY_SIZE:.3g}; pass a smaller kmax")
        kmax = max(0, math.ceil(support) - 1)
    kmax = as_int(kmax, "kmax", minimum=0)
    check_size(kmax + 1, "kmax", what="support points")
    k = np.arange(kmax + 1)
    head = p * np.exp(k * log_q) if p < 1.0 else (k == 0).astype(float)
    tail = math.exp((kmax + 1) * log_q) if p < 1.0 else 0.0
    return _truncate(head, tail)


def binomial_pmf(m, p):
    r"""Binomial(:math:`m, p`) offspring law on ``0 .. m`` (:math:`\mu = mp`).

    Parameters
    ----------
    m : int
        Most children, ``m >= 0``.
    p : float
        Probability of each potential child, in ``[0, 1]``.

    Returns
    -------
    numpy.ndarray, shape (m + 1,)
    """
    m = as_int(m, "m", minimum=0)
    p = float(as_probability(p, "p"))
    check_size(m + 1, "m", what="support points")
    return stats.binom.pmf(np.arange(m + 1), m, p)

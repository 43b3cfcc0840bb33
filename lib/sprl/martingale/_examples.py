r"""More martingales of part 1: the branching population :math:`Z_n/\mu^n`, a
likelihood ratio and Pólya's urn (book section 1.2)."""

from __future__ import annotations

import numpy as np

from .._checks import (
    as_float,
    as_int,
    as_int_array,
    as_open_probability,
    as_probability,
    as_rng,
    check_size,
)


# ------------------------------------------------------ branching and likelihood


def normalised_population(Z, mean):
    r"""The branching-process martingale :math:`W_n = Z_n / \mu^n`.

    Given :math:`Z_n = z`, the next generation is a sum of :math:`z`
    independent offspring counts of mean :math:`\mu`, so
    :math:`\mathbb E[Z_{n+1} \mid \mathcal F_n] = \mu Z_n` and
    :math:`\mathbb E[W_{n+1} \mid \mathcal F_n] = W_n`.  :math:`W_n \ge 0`
    converges almost surely (section 1.2, *martingale convergence*).

    Parameters
    ----------
    Z : array_like of int
        Generation sizes :math:`Z_0, Z_1, \dots` along the last axis
        (e.g. shaped ``(n_runs, n_generations + 1)``), all ``>= 0``.
    mean : float
        Mean offspring number :math:`\mu > 0`.

    Returns
    -------
    numpy.ndarray of float
        :math:`Z_n \mu^{-n}`, shaped like ``Z``.
    """
    Z = as_int_array(Z, "Z", minimum=0)
    mu = as_float(mean, "mean", "a positive number")
    if not (np.isfinite(mu) and mu > 0):
        raise ValueError(f"mean must be a positive finite number, got {mean!r}")
    if Z.ndim == 0:
        raise ValueError("Z must have a (generation) axis")
    n = np.arange(Z.shape[-1], dtype=float)
    with np.errstate(over="ignore", under="ignore"):
        return Z / np.power(mu, n)


def likelihood_ratio(flips, p, p_alt):
    r"""Likelihood-ratio martingale of coin flips under the true bias ``p``.

    .. math::

       L_n = \prod_{i=1}^{n} \frac{p_{\rm alt}^{x_i}(1 - p_{\rm alt})^{1 - x_i}}
                                  {p^{x_i}(1 - p)^{1 - x_i}}, \qquad L_0 = 1 .

    Under :math:`\mathbb P_p` each factor has mean
    :math:`p\,\tfrac{p_{\rm alt}}{p} + q\,\tfrac{1 - p_{\rm alt}}{q} = 1`, so
    :math:`L_n` is a martingale with :math:`\mathbb E L_n = 1`; yet
    :math:`L_n \to 0` almost surely when :math:`p_{\rm alt} \ne p`.  The
    product of importance ratios :math:`\prod_t \pi_\theta/\bar\pi` of
    section 2.3.5 is the same kind of martingale.  Section 1.2.

    Parameters
    ----------
    flips : array_like of {0, 1} or bool
        Outcomes along the last axis.
    p : float
        True probability of a 1, ``0 < p < 1``.
    p_alt : float
        Alternative probability, ``0 <= p_alt <= 1``.

    Returns
    -------
    numpy.ndarray of float
        :math:`L_0, \dots, L_n` along the last axis (one more entry than
        ``flips``), computed as the exponential of a cumulative sum of logs.
    """
    x = np.asarray(flips)
    if x.ndim == 0:
        raise ValueError("flips must have a (time) axis")
    if not np.isin(x, (0, 1)).all():
        raise ValueError("flips must hold only 0 and 1 (or booleans)")
    p = as_open_probability(p, "p")
    p_alt = as_probability(p_alt, "p_alt")
    for name, value in (("p", p), ("p_alt", p_alt)):
        if value.ndim:
            raise ValueError(f"{name} must be a single number, got shape {value.shape}")
    p, p_alt = float(p), float(p_alt)
    x = x.astype(bool)
    with np.errstate(divide="ignore"):
        up = np.log(p_alt) - np.log(p)
        down = np.log1p(-p_alt) - np.log1p(-p)
    logs = np.where(x, up, down)
    log_l = np.cumsum(logs, axis=-1)
    pad = [(0, 0)] * x.ndim
    pad[-1] = (1, 0)
    return np.exp(np.pad(log_l, pad))


# ---------------------------------------------------------------- Pólya's urn


def polya_urn(red, black, n_draws, n_runs, rng=None, path=True):
    r"""Pólya's urn: draw a ball, put it back with one more of its colour.

    Starting from ``red`` red and ``black`` black balls, the fraction of red
    after :math:`n` draws, :math:`M_n = R_n/(\text{red} + \text{black} + n)`, is
    a martingale:

    .. math::

       \mathbb E[M_{n+1} \mid \mathcal F_n]
       = M_n\,\frac{R_n + 1}{N_n + 1} + (1 - M_n)\frac{R_n}{N_n + 1} = M_n,
       \qquad N_n = \text{red} + \text{black} + n,

    bounded in :math:`[0, 1]`, so it converges almost surely; the limit has the
    :math:`\mathrm{Beta}(\text{red}, \text{black})` law.  Section 1.2,
    Example *Pólya's urn*.

    Vectorised over runs: the only loop is over draws.

    Parameters
    ----------
    red, black : int
        Initial numbers of balls, each ``>= 1``.
    n_draws : int
        Number of draws, ``>= 1``.
    n_runs : int
        Number of independent urns, ``>= 1``.
    rng : None, int or numpy.random.Generator
    path : bool
        Return the whole path (default) or only the final fraction.

    Returns
    -------
    numpy.ndarray of float
        :math:`M_0, \dots, M_n` shaped ``(n_runs, n_draws + 1)``, or
        :math:`M_n` shaped ``(n_runs,)`` when ``path=False``.
    """
    red = as_int(red, "red", minimum=1)
    black = as_int(black, "black", minimum=1)
    n_draws = as_int(n_draws, "n_draws", minimum=1)
    n_runs = as_int(n_runs, "n_runs", minimum=1)
    rng = as_rng(rng)

    n_red = np.full(n_runs, red, dtype=np.int64)
    total = red + black
    out = np.empty((n_runs, n_draws + 1)) if path else None
    if path:
        out[:, 0] = red / total
    for t in range(n_draws):
        n_red += rng.random(n_runs) * (total + t) < n_red
        if path:
            out[:, t + 1] = n_red / (total + t + 1)
    return out if path else n_red / (total + n_draws)


def polya_pmf(red, black, n_draws):
    r"""Exact law of the number :math:`K` of red draws among the first ``n_draws``.

    Beta-binomial:

    .. math::

       \mathbb P(K = j) = \binom{n}{j}
       \frac{B(\text{red} + j,\ \text{black} + n - j)}{B(\text{red}, \text{black})},
       \qquad j = 0, \dots, n,

    and :math:`M_n = (\text{red} + K)/(\text{red} + \text{black} + n)`.
    Section 1.2, Example *Pólya's urn*.  A thin wrapper of
    ``scipy.stats.betabinom(n_draws, red, black).pmf`` that checks its input.

    Returns
    -------
    numpy.ndarray, shape (n_draws + 1,)
        :math:`\mathbb P(K = j)` for ``j = 0, ..., n_draws``.
    """
    from scipy.stats import betabinom

    red = as_int(red, "red", minimum=1)
    black = as_int(black, "black", minimum=1)
    n = as_int(n_draws, "n_draws", minimum=0)
    check_size(n + 1, "n_draws")
    return betabinom.pmf(np.arange(n + 1), n, red, black)

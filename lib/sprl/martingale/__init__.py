r"""Martingales (book section 1.2, *Martingales*).

A process :math:`(M_n)_{n \ge 0}` adapted to a filtration :math:`(\mathcal F_n)`
is a *martingale* when every :math:`M_n` is integrable and

.. math::

   \mathbb E[M_{n+1} \mid \mathcal F_n] = M_n \qquad (n \ge 0).

This module collects the martingales of part 1 and the experiments of the
chapter:

* the walk :math:`X_n = k + \xi_1 + \dots + \xi_n` with
  :math:`\mathbb P(\xi = 1) = p`, :math:`\mathbb P(\xi = -1) = q`, and its
  martingales :func:`de_moivre` :math:`(q/p)^{X_n}`, :func:`drift_martingale`
  :math:`X_n - n(p - q)` and :func:`square_martingale`
  :math:`(X_n - n(p - q))^2 - n(1 - (p - q)^2)`;
* martingale transforms ("betting systems", :func:`martingale_transform`),
  stopped walks (:func:`simulate_stopped_walk`) and the doubling strategy
  (:func:`doubling_strategy`), the counterexample to optional stopping
  without conditions;
* gambler's ruin re-derived from optional stopping in exact rational
  arithmetic (:func:`ruin_by_optional_stopping`);
* the branching martingale :math:`Z_n/\mu^n` (:func:`normalised_population`),
  a likelihood ratio (:func:`likelihood_ratio`) and Pólya's urn
  (:func:`polya_urn`, :func:`polya_pmf`);
* Doob's maximal inequalities (:func:`doob_bound`, :func:`doob_lp_bound`),
  whose exact walk references :func:`~sprl.random_walk.walk_maximum_tail` and
  :func:`~sprl.random_walk.walk_abs_moment` live beside the walk in
  :mod:`sprl.random_walk`.

The bridge to part 2 (score-function estimates on a two-state chain, whose
terms pairing a score with *past* rewards form a martingale-difference sum)
is :mod:`sprl.score_function`; its functions are importable from here too.

The code is split by topic: the walk's martingales and betting systems
(``_walk.py``), optional stopping (``_stopping.py``), the other examples
(``_examples.py``) and Doob's inequalities (``_doob.py``); every name is
imported from here.
"""

from __future__ import annotations

from ..random_walk import walk_abs_moment, walk_maximum_tail  # noqa: F401  (section 1.2 uses them)
from ..score_function import (  # noqa: F401  (section 1.2's look ahead uses them)
    exact_policy_gradient,
    policy_gradient_estimates,
    simulate_chain_episodes,
)
from ._doob import doob_bound, doob_lp_bound
from ._examples import likelihood_ratio, normalised_population, polya_pmf, polya_urn
from ._stopping import (  # noqa: F401  (the documented limits)
    MAX_DOUBLING_ROUNDS,
    MAX_RATIONAL_BITS,
    doubling_expected_fortune,
    doubling_strategy,
    ruin_by_optional_stopping,
)
from ._walk import (
    de_moivre,
    drift_martingale,
    martingale_transform,
    simulate_stopped_walk,
    square_martingale,
)

__all__ = [
    "de_moivre",
    "drift_martingale",
    "square_martingale",
    "martingale_transform",
    "simulate_stopped_walk",
    "doubling_strategy",
    "doubling_expected_fortune",
    "ruin_by_optional_stopping",
    "normalised_population",
    "likelihood_ratio",
    "polya_urn",
    "polya_pmf",
    "doob_bound",
    "doob_lp_bound",
]

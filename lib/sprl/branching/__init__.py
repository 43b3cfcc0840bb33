r"""Galton-Watson branching processes (book section 1.1.4, *Branching Processes*).

One individual (:math:`Z_0 = 1`) is replaced by a random number :math:`Y` of
children, each of whom does the same independently:

.. math::

   Z_{n+1} = \sum_{l=1}^{Z_n} Y^{(n)}_l, \qquad Y^{(n)}_l \text{ i.i.d.} \sim Y.

An offspring law is given as a *pmf*: a 1-D array ``pmf[k] = P(Y = k)`` over
``k = 0, 1, 2, ...``.  With :math:`G(s) = \mathbb{E}[s^Y]`,
:math:`\mu = G'(1)` and :math:`\sigma^2 = \operatorname{Var} Y`,

.. math::

   G_n = G_{n-1} \circ G = G \circ G_{n-1}, \qquad
   \mathbb{E} Z_n = \mu^n, \qquad
   \operatorname{Var} Z_n = \sigma^2 \mu^{n-1} \frac{1 - \mu^n}{1 - \mu}
   \;(n\sigma^2 \text{ if } \mu = 1),

and the extinction probability is the smallest root of :math:`G(s) = s` in
:math:`[0, 1]`.

Numerics.  Near :math:`s = 1` the function :math:`G(s) - s` is the difference
of two nearly equal numbers.  This module works instead with the *tail
generating function*

.. math::

   T(s) = \sum_{j \ge 0} \mathbb{P}(Y > j)\, s^j = \frac{1 - G(s)}{1 - s},
   \qquad T(1) = \mu,

whose coefficients are sums of non-negative masses: :math:`G(s) = s` with
:math:`s < 1` becomes :math:`T(s) = 1`, with no cancellation, and
:math:`1 - G(s) = (1 - s)\,T(s)` keeps survival probabilities accurate when
they are tiny.

The code is split by topic: the offspring law and its builders
(``_offspring.py``), the generations (``_generations.py``), extinction
(``_extinction.py``) and simulation (``_simulation.py``); every name is
imported from here.
"""

from __future__ import annotations

from ._extinction import extinction_probability, extinction_time_pmf
from ._generations import (  # noqa: F401  (MAX_GENERATIONS: the documented limit)
    MAX_GENERATIONS,
    generation_pgf,
    mean_variance,
    pgf,
    survival_probability,
)
from ._offspring import binomial_pmf, geometric_pmf, poisson_pmf
from ._simulation import simulate_branching

__all__ = [
    "pgf",
    "generation_pgf",
    "mean_variance",
    "extinction_probability",
    "extinction_time_pmf",
    "survival_probability",
    "simulate_branching",
    "poisson_pmf",
    "geometric_pmf",
    "binomial_pmf",
]

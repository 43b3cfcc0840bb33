r"""Discrete-time Markov chains (book section 1.1.3, *Discrete-Time Markov Chains*).

A chain on the states :math:`0, \dots, n-1` is given by its transition matrix
:math:`P` (rows sum to 1); distributions are row vectors,
:math:`\pi_{n+1} = \pi_n P`.  Every function accepts a dense array or a
``scipy.sparse`` matrix and checks it with :func:`validate_transition_matrix`.

The quantities of the chapter, for a set :math:`A` of absorbing states, its
hitting time :math:`T_A = \inf\{n \ge 0 : Z_n \in A\}` and the return time
:math:`T_j^r = \inf\{n \ge 1 : Z_n = j\}`:

* :func:`absorption_probabilities` :math:`g_l(k) = \mathbb{P}(Z_{T_A} = l \mid Z_0 = k)`;
* :func:`expected_absorption_time`
  :math:`h_A(k) = \mathbb{E}[\sum_{n=0}^{T_A - 1} r(Z_n) \mid Z_0 = k]`
  (:math:`r \equiv 1`: :math:`\mathbb{E}[T_A]`);
* :func:`fundamental_matrix` :math:`N = (I - Q)^{-1}`;
* :func:`expected_return_time` :math:`\mu_j(i) = \mathbb{E}[T_j^r \mid Z_0 = i]`;
* :func:`hitting_probability` :math:`p_{ij} = \mathbb{P}(T_j^r < \infty \mid Z_0 = i)`;
* :func:`expected_visits` :math:`\mathbb{E}[R_j \mid Z_0 = i]`,
  :math:`R_j = \sum_{n \ge 1}\mathbb 1\{Z_n = j\}`;
* :func:`stationary_distribution` :math:`\pi = \pi P`;
* :func:`simulate_chain`.

Accuracy.  All linear systems here have the form :math:`M x = b` with
:math:`M = I - Q` for a sub-stochastic :math:`Q`: an M-matrix.  They are
solved by GTH-style elimination (Grassmann, Taksar and Heyman): the diagonal
:math:`1 - Q_{ii}` is never formed by a subtraction but recomputed as the sum
of the other transition probabilities out of state :math:`i` (off-diagonal
entries plus the probability of leaving the set); every other operation
adds or multiplies non-negative numbers.  So each entry of the result carries
a small *relative* error, even for probabilities of :math:`10^{-35}` next to
probabilities near 1, where a normal LU solve only promises a small error
relative to the largest entry.  The elimination is blocked: a block of
states is removed at once through the censored chain (Schur complement)
:math:`W_{22} + W_{21}(I - W_{11})^{-1}W_{12}`, a sum of non-negative terms,
so the work is done by matrix products (BLAS), close to the speed of a LAPACK
solve.

Sparse input.  The elimination is dense.  A ``scipy.sparse`` ``P`` is
densified, so it gets exactly the accuracy above, for every stationary
distribution (class by class) and for every linear system of at most
``SPARSE_DENSE_MAX`` = 4096 states.  A larger sparse system is solved by a
sparse LU (``scipy.sparse.linalg.splu``) of the same matrix :math:`I - Q` with
the GTH diagonal: no densification, but only backward stability, i.e. an
error up to :math:`\varepsilon` times the condition number of :math:`I - Q`
relative to the largest entry of the result, which is large exactly for the
chains with rare transitions (forced through the sparse LU, the 28-state KMR
chain of the tests gets its mean return times with relative errors of
:math:`10^{-4}` to 0.04, or a numerically singular factor); a
``ValueError`` is raised, never a
``RuntimeError``, when that LU finds the system numerically singular.  Pass a
dense ``P`` for entrywise accuracy at any size.
"""

from __future__ import annotations

#: Sparse input: linear systems of up to this many states are densified and
#: solved by GTH elimination (entrywise accurate, O(m**3) time, 8 m**2 bytes);
#: larger ones go to a sparse LU, which is only backward stable.
SPARSE_DENSE_MAX = 4096

from ._checks import (  # noqa: F401
    ROW_SUM_ATOL,
    validate_transition_matrix,
)
from ._classes import (  # noqa: F401
    communicating_classes,
    recurrent_classes,
    transient_states,
)
from ._absorption import (  # noqa: F401
    evolve_distribution,
    absorption_probabilities,
    expected_absorption_time,
    fundamental_matrix,
    expected_return_time,
    hitting_probability,
    expected_visits,
)
from ._stationary import (  # noqa: F401
    stationary_distribution,
    stationary_distributions,
)
from ._simulation import (  # noqa: F401
    simulate_chain,
)

__all__ = [
    "validate_transition_matrix",
    "communicating_classes",
    "recurrent_classes",
    "transient_states",
    "evolve_distribution",
    "absorption_probabilities",
    "expected_absorption_time",
    "fundamental_matrix",
    "expected_return_time",
    "hitting_probability",
    "expected_visits",
    "stationary_distribution",
    "stationary_distributions",
    "simulate_chain",
]

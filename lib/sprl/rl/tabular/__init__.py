r"""Small finite MDPs solved exactly (book sections 2.1 to 2.4 and 2.6).

A finite MDP has states :math:`s \in \{0, \dots, S-1\}`, actions
:math:`a \in \{0, \dots, A-1\}`, transition probabilities
:math:`P(s' \mid s, a)` = ``P[s, a, s']``, rewards ``R[s, a, s']`` (their mean
:math:`r(s, a) = \sum_{s'} P(s' \mid s, a) R(s, a, s')`), an initial law
:math:`\mu_0` and a set of terminal states, where an episode ends.

A policy :math:`\pi(a \mid s)` = ``pi[s, a]`` turns the MDP into a Markov chain
on states (section 2.1):

.. math::

   P_\pi(s, s') = \sum_a \pi(a \mid s) P(s' \mid s, a), \qquad
   r_\pi(s) = \sum_a \pi(a \mid s)\, r(s, a),

and its value is the solution of the linear system
:math:`(I - \gamma P_\pi) V^\pi = r_\pi` on the non-terminal states
(:math:`V^\pi = 0` on terminal ones).  Everything here is exact linear algebra
or a vectorised simulation; there is no torch in this package.

The code is split by topic: the MDP and its exact solutions (``_mdp.py``),
the grid world (``_gridworld.py``), softmax policies and their gradients
(``_policy_gradient.py``) and trust regions (``_trust_region.py``); every
name is imported from here.
"""

from __future__ import annotations

from ._gridworld import ACTION_NAMES, gridworld, plot_gridworld  # noqa: F401
from ._mdp import Episodes, TabularMDP
from ._policy_gradient import policy_gradient, score_function_gradients, softmax_policy
from ._trust_region import (
    performance_difference,
    policy_kl,
    policy_tv,
    surrogate,
    trpo_lower_bound,
)

__all__ = [
    "TabularMDP",
    "Episodes",
    "gridworld",
    "softmax_policy",
    "policy_gradient",
    "score_function_gradients",
    "plot_gridworld",
    "policy_kl",
    "policy_tv",
    "performance_difference",
    "surrogate",
    "trpo_lower_bound",
]


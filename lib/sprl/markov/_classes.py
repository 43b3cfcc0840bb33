"""Communicating classes, recurrent classes and transient states (section 1.1.3)."""

from __future__ import annotations

import numpy as np

from .._graph import classes as _classes
from ._checks import validate_transition_matrix


def communicating_classes(P):
    """The communicating classes of the chain, and which of them are closed.

    Section 1.1.3.  States ``i`` and ``j`` communicate when each can be
    reached from the other; a class is *closed* (recurrent, for a finite
    chain) when no transition leaves it, otherwise its states are transient.
    Found as the strongly connected components of the transition graph
    (``scipy.sparse.csgraph.connected_components``).

    Returns
    -------
    classes : list of numpy.ndarray
        The states of each class, sorted; classes ordered by their smallest state.
    closed : numpy.ndarray of bool, shape (len(classes),)
    """
    P = validate_transition_matrix(P)
    labels, closed = _classes(P)
    classes = [np.flatnonzero(labels == c) for c in range(closed.size)]
    order = np.argsort([c[0] for c in classes])
    return [classes[o] for o in order], closed[order]


def recurrent_classes(P):
    """The closed (recurrent) classes, each a sorted array of states, ordered by smallest state."""
    classes, closed = communicating_classes(P)
    return [c for c, k in zip(classes, closed) if k]


def transient_states(P):
    """Sorted array of the transient states (those outside every closed class)."""
    P = validate_transition_matrix(P)
    labels, closed = _classes(P)
    return np.flatnonzero(~closed[labels])

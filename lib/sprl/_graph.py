"""Communicating classes of a chain from its graph, shared by :mod:`sprl.markov`
and :mod:`sprl.ctmc` (an edge ``i -> j`` wherever ``W[i, j] > 0``: transition
probabilities or rates alike)."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse import csgraph


def graph(P):
    """The transition graph (an edge i -> j where P[i, j] > 0) as a CSR matrix."""
    G = sp.csr_array(P) if not sp.issparse(P) else P.copy()
    G.data = (G.data > 0).astype(np.int8)
    G.eliminate_zeros()
    return G


def classes(P):
    """Labels of the communicating classes and which classes are closed."""
    G = graph(P)
    n_classes, labels = csgraph.connected_components(G, directed=True, connection="strong")
    i, j = G.nonzero()
    leaves = labels[i] != labels[j]
    closed = np.ones(n_classes, dtype=bool)
    closed[labels[i[leaves]]] = False
    return labels, closed


def reaching(G, targets: np.ndarray, blocked: np.ndarray | None = None) -> np.ndarray:
    """Boolean mask of the states that can reach ``targets`` (in >= 0 steps).

    Edges out of the ``blocked`` states are removed first (a path may end at a
    blocked state but not pass through it).
    """
    n = G.shape[0]
    R = G.T.tocsr() if blocked is None else _drop_rows(G, blocked).T.tocsr()
    # A virtual node n with an edge to every target, in the reversed graph.
    extra = sp.csr_array(
        (np.ones(targets.size, dtype=np.int8), (np.full(targets.size, n), targets)),
        shape=(n + 1, n + 1),
    )
    R = sp.block_diag([R, sp.csr_array((1, 1), dtype=np.int8)], format="csr") + extra
    order = csgraph.breadth_first_order(R, n, directed=True, return_predecessors=False)
    mask = np.zeros(n + 1, dtype=bool)
    mask[order] = True
    return mask[:n]


def _drop_rows(G, rows):
    """``G`` without the edges out of ``rows``."""
    keep = np.ones(G.shape[0], dtype=bool)
    keep[rows] = False
    G = sp.csr_array(G, copy=True)
    G.data[~np.repeat(keep, np.diff(G.indptr))] = 0
    G.eliminate_zeros()
    return G


def closed_classes(W) -> list[np.ndarray]:
    """The closed communicating classes, each a sorted index array, ordered by
    their smallest state."""
    labels, closed = classes(W)
    found = [np.flatnonzero(labels == c) for c in np.flatnonzero(closed)]
    return sorted(found, key=lambda members: members[0])

"""The 4 x 3 grid world of Russell and Norvig, and its picture (book section 2.1)."""

from __future__ import annotations

import numpy as np

from ..._checks import as_int, as_probability
from ._mdp import TabularMDP


# ---------------------------------------------------------------------- grid world
_MOVES = {0: (1, 0), 1: (0, 1), 2: (-1, 0), 3: (0, -1)}  # N, E, S, W as (d_row, d_col)
ACTION_NAMES = ("N", "E", "S", "W")


def gridworld(slip=0.2, step_reward=-0.04, rows=3, cols=4, walls=((2, 2),),
              exits=(((3, 4), 1.0), ((2, 4), -1.0)), start=(1, 1)) -> TabularMDP:
    r"""The 4 x 3 grid world of Russell and Norvig (AIMA, chapter 17) as a :class:`TabularMDP`.

    Cells are ``(row, col)`` with row 1 at the bottom and column 1 at the left;
    ``(2, 2)`` is a wall.  Actions N, E, S, W move as intended with
    probability ``1 - slip`` and at right angles with probability ``slip / 2``
    each; a move into the wall or off the grid leaves the agent in place.
    Each move earns ``step_reward``; entering an exit cell ends the episode and
    earns its payoff (+1 at ``(3, 4)``, -1 at ``(2, 4)``).  Episodes start at
    ``start``.  With :math:`\gamma = 1` the optimal values are AIMA's Figure
    17.3 (:math:`V^*(1, 1) = 0.705`).

    States are numbered row by row from the bottom left, skipping walls; exit
    cells are terminal states (their payoff is paid on the move into them).

    Returns
    -------
    TabularMDP
        With ``layout = {"rows", "cols", "cells", "walls"}`` for plotting.
    """
    slip = float(as_probability(slip, "slip"))
    rows = as_int(rows, "rows", minimum=1)
    cols = as_int(cols, "cols", minimum=1)
    walls = {tuple(w) for w in walls}
    cells = [(r, c) for r in range(1, rows + 1) for c in range(1, cols + 1) if (r, c) not in walls]
    index = {cell: i for i, cell in enumerate(cells)}
    payoff = {tuple(cell): float(v) for cell, v in exits}
    for cell in [*payoff, tuple(start)]:
        if cell not in index:
            raise ValueError(f"cell {cell} must be a cell of the grid that is not a wall")
    S, A = len(cells), 4
    P = np.zeros((S, A, S))
    R = np.zeros((S, A, S))
    for (r, c), s in index.items():
        if (r, c) in payoff:
            P[s, :, s] = 1.0
            continue
        for a in range(A):
            left, right = (a - 1) % 4, (a + 1) % 4
            for move, prob in ((a, 1.0 - slip), (left, slip / 2), (right, slip / 2)):
                dr, dc = _MOVES[move]
                target = (r + dr, c + dc)
                s2 = index.get(target, s)  # wall or edge: stay
                P[s, a, s2] += prob
            R[s, a, :] = step_reward + np.array([payoff.get(cell, 0.0) for cell in cells])
    mu0 = np.zeros(S)
    mu0[index[tuple(start)]] = 1.0
    terminal = [index[cell] for cell in payoff]
    labels = [f"({r},{c})" for r, c in cells]
    layout = {"rows": rows, "cols": cols, "cells": cells, "walls": sorted(walls),
              "payoff": payoff}
    return TabularMDP(P, R, mu0, terminal=terminal, labels=labels, layout=layout)


def plot_gridworld(mdp: TabularMDP, values=None, policy=None, ax=None, fmt="{:.3f}",
                   title=None):
    """Draw a grid world: the value of each cell and an arrow per greedy action.

    ``policy`` is an (S,) array of actions or an (S, A) array of probabilities
    (arrows scaled by probability).  Returns the matplotlib axes.
    """
    import matplotlib.pyplot as plt

    if mdp.layout is None:
        raise ValueError("mdp must come from gridworld() (it needs a layout to be drawn)")
    lay = mdp.layout
    if ax is None:
        _, ax = plt.subplots(figsize=(4, 3))
    ax.set_xlim(0.5, lay["cols"] + 0.5)
    ax.set_ylim(0.5, lay["rows"] + 0.5)
    ax.set_aspect("equal")
    ax.grid(False)
    ax.set_xticks(range(1, lay["cols"] + 1))
    ax.set_yticks(range(1, lay["rows"] + 1))
    for r, c in lay["walls"]:
        ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1, color="0.3"))
    for k in range(lay["cols"] + 1):
        ax.axvline(k + 0.5, color="0.8", lw=0.8)
    for k in range(lay["rows"] + 1):
        ax.axhline(k + 0.5, color="0.8", lw=0.8)
    probs = None
    if policy is not None:
        policy = np.asarray(policy)
        probs = policy if policy.ndim == 2 else np.eye(mdp.n_actions)[policy]
    for s, (r, c) in enumerate(lay["cells"]):
        if mdp.terminal[s]:
            pay = lay["payoff"][(r, c)]
            ax.add_patch(plt.Rectangle((c - 0.5, r - 0.5), 1, 1,
                                       color="tab:green" if pay > 0 else "tab:red", alpha=0.35))
            ax.text(c, r, f"{pay:+g}", ha="center", va="center", fontsize=11)
            continue
        if values is not None:
            ax.text(c, r - 0.36, fmt.format(values[s]), ha="center", va="center", fontsize=8)
        if probs is not None:
            for a, (dr, dc) in _MOVES.items():
                if probs[s, a] > 1e-3:  # arrow length grows like sqrt(probability)
                    size = 0.4 * probs[s, a] ** 0.5
                    ax.arrow(c, r + 0.08, size * dc, size * dr, width=0.012,
                             head_width=0.1, head_length=0.08, length_includes_head=True,
                             color="tab:blue", alpha=0.35 + 0.65 * probs[s, a])
    if title:
        ax.set_title(title)
    return ax

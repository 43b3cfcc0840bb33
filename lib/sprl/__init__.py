"""sprl: the helper library of *Stochastic Processes and Reinforcement Learning*.

Part 1 (no torch): :mod:`sprl.gambling`, :mod:`sprl.random_walk`,
:mod:`sprl.markov`, :mod:`sprl.branching`, :mod:`sprl.ctmc`,
:mod:`sprl.martingale`.  Part 2 (torch): :mod:`sprl.rl`.  Interactive
figures for every chapter: :mod:`sprl.widgets`.
"""

__version__ = "0.1.0"

from ._display import show_source  # noqa: E402

__all__ = ["show_source"]

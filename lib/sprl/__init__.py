"""sprl: the helper library of *Stochastic Processes and Reinforcement Learning*.

Part 1 (no torch): :mod:`sprl.gambling`, :mod:`sprl.random_walk`,
:mod:`sprl.markov`, :mod:`sprl.branching`, :mod:`sprl.ctmc`,
:mod:`sprl.martingale`, :mod:`sprl.score_function` (the bridge to
policy gradients).  Part 2 (torch): :mod:`sprl.rl`.  Interactive
figures for every chapter: :mod:`sprl.widgets`; progress bars of long
cells: :mod:`sprl.progress`.

Submodules load on first use (``sprl.gambling.win_probability`` works after a
bare ``import sprl``), so importing the package never pulls in torch.
"""

import importlib

from ._display import show_source

__version__ = "0.2.0"
__all__ = ["show_source"]

_SUBMODULES = {
    "gambling", "random_walk", "markov", "branching", "ctmc", "martingale",
    "score_function", "widgets", "progress", "rl",
}


def __getattr__(name):
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'sprl' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | _SUBMODULES)

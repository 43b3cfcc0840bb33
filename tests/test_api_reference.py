"""The library reference (book/api.rst) covers the library, and chapters link to it."""

from __future__ import annotations

import importlib
import pkgutil
import re
import sys
from pathlib import Path

import sprl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "book" / "_ext"))
import sprl_api  # noqa: E402

API = (ROOT / "book" / "api.rst").read_text()


def _public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(sprl.__path__, "sprl."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return names


def test_every_public_module_is_in_the_reference():
    documented = set(re.findall(r"^\.\. automodule:: (\S+)", API, flags=re.M))
    missing = [m for m in _public_modules() if m not in documented
               and importlib.import_module(m).__dict__.get("__path__") is None]
    assert not missing, f"public modules missing from book/api.rst: {missing}"


def test_chapter_code_is_read_for_the_entries_it_uses():
    cells = [
        "import sprl\nfrom sprl.widgets import Slider as S\nfrom sprl.rl import a2c",
        "mg = sprl.martingale\nmg.de_moivre\nS(0, 1, 0.1, 0.5)\n"
        "h = a2c.train(a2c.Config(), seed=0)\nsprl.gambling.win_probability(1, 2, 0.5)\n"
        "sprl.show_source(sprl.gambling)\nsprl.gambling._log_odds\nsprl.nothing.here",
        "from sprl import _gth\n_gth.stationary",
    ]
    bound, used = {}, set()
    for cell in cells:
        used |= sprl_api.names_used(cell, bound)
    assert used == {
        "sprl.martingale.de_moivre", "sprl.widgets.Slider", "sprl.rl.a2c.train",
        "sprl.rl.a2c.Config", "sprl.gambling.win_probability", "sprl.show_source",
    }

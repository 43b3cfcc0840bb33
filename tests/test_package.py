"""Package-level rules: lazy submodules, no torch in part 1, the shared input checks."""

import subprocess
import sys

import numpy as np
import pytest

import sprl
from sprl import _checks

PART1 = ["gambling", "random_walk", "markov", "branching", "ctmc", "martingale", "score_function",
         "widgets",
         "progress"]


def test_submodules_load_on_first_use():
    assert sprl.gambling.win_probability(1, 2, 0.5) == 0.5
    with pytest.raises(AttributeError):
        sprl.no_such_module  # noqa: B018
    assert set(PART1) <= set(dir(sprl))


def test_part_one_never_imports_torch():
    code = (
        "import importlib, sys\n"
        f"for name in {PART1!r}:\n"
        "    try:\n"
        "        importlib.import_module('sprl.' + name)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != 'sprl.' + name: raise\n"
        "assert 'torch' not in sys.modules, 'part 1 imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_show_source_is_the_library_source():
    import inspect

    block = sprl.show_source(sprl.gambling.win_probability)
    assert block.data == inspect.getsource(sprl.gambling.win_probability)
    with pytest.raises(ValueError, match="obj must be"):
        sprl.show_source(42)


@pytest.mark.parametrize("bad", [-0.1, 1.1, float("nan"), "x", [0.2, 2.0]])
def test_as_probability_rejects(bad):
    with pytest.raises(ValueError, match="^q "):
        _checks.as_probability(bad, "q")


def test_as_int_and_arrays():
    assert _checks.as_int(20.0, "S") == 20
    for bad in (20.5, True, "3", float("inf"), None):
        with pytest.raises(ValueError, match="^S must be an integer"):
            _checks.as_int(bad, "S")
    with pytest.raises(ValueError, match="^S must be >= 1"):
        _checks.as_int(0, "S", minimum=1)
    assert _checks.as_int_array([1.0, 2.0], "k").dtype == np.int64
    with pytest.raises(ValueError, match="^k must hold integers"):
        _checks.as_int_array([1.5], "k")
    with pytest.raises(ValueError, match="^k must be <= 3"):
        _checks.as_int_array([1, 4], "k", maximum=3)


def test_as_pmf_and_rng():
    np.testing.assert_array_equal(_checks.as_pmf([0.25, 0.75]), [0.25, 0.75])
    for bad, rule in [([0.5, -0.1, 0.6], "negative"), ([0.5, 0.4], "sum to 1"),
                      ([np.nan, 1.0], "finite"), ([[1.0]], "1-D")]:
        with pytest.raises(ValueError, match=rule):
            _checks.as_pmf(bad)
    g = np.random.default_rng(1)
    assert _checks.as_rng(g) is g
    assert _checks.as_rng(3).random() == np.random.default_rng(3).random()
    with pytest.raises(ValueError, match="^rng "):
        _checks.as_rng(1.5)


def test_training_code_never_loads_the_widgets_module():
    """Algorithms report progress through sprl.progress, not the figure/slider module."""
    code = (
        "import importlib, pkgutil, sys\n"
        "import sprl.rl\n"
        "for m in pkgutil.iter_modules(sprl.rl.__path__):\n"
        "    importlib.import_module('sprl.rl.' + m.name)\n"
        "assert 'sprl.widgets' not in sys.modules, 'sprl.rl imported sprl.widgets'\n"
        "assert 'matplotlib' not in sys.modules, 'sprl.rl imported matplotlib'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)

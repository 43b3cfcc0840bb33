"""The hidden setup cell, run as Colab runs it: in a Python that lacks sprl.

Colab opens one notebook, without the repository, and has its own numpy, torch and
matplotlib.  The setup cell then pip-installs sprl from the repository at this
edition's release (``_config.yml``).  Here the network is off, so the test swaps that
source for this checkout and installs with ``--no-index``: if pip wanted to replace
torch (or anything else the environment already has), the install would fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
import tomllib
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import sync_setup_cells  # noqa: E402

CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())


def test_every_setup_cell_is_written_from_the_config():
    stale = [str(p) for p in sorted((ROOT / "book").rglob("*.ipynb"))
             if ".ipynb_checkpoints" not in p.parts and sync_setup_cells.sync(p, check=True)]
    assert not stale, f"run `python tools/sync_setup_cells.py`: stale setup cells in {stale}"


def test_the_release_is_the_package_version():
    import sprl

    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert CONFIG["sprl_release"] == f"v{version}" == f"v{sprl.__version__}"
    url = CONFIG["repository"]["url"]
    req = sync_setup_cells.requirement(ROOT / "book" / "rl" / "04-actor-critic.ipynb")
    assert req == f"sprl[rl] @ git+{url}@v{version}"


@pytest.mark.parametrize(("notebook", "first_computation"), [
    ("book/stochastic/01-gamblers-ruin.ipynb",
     "assert abs(sprl.gambling.win_probability(10, 20, 0.5) - 0.5) < 1e-15"),
    ("book/rl/04-actor-critic.ipynb",
     "import torch; v = torch.__version__\n"
     "from sprl.rl.returns import reward_to_go\n"
     "assert list(reward_to_go([1.0, 1.0, 1.0])) == [3.0, 2.0, 1.0]\n"
     "import sprl.rl.a2c"),
])
def test_setup_cell_installs_sprl_as_in_colab(tmp_path, notebook, first_computation):
    nb = json.loads((ROOT / notebook).read_text())
    cell = next(c for c in nb["cells"] if "remove-cell" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    remote = sync_setup_cells.requirement(ROOT / notebook)
    assert remote in source
    extra = "[rl]" if "[rl]" in remote else ""
    source = source.replace(remote, f"sprl{extra} @ {ROOT.as_uri()}")

    # A Python that lacks sprl but has what Colab ships (this venv's packages, seen
    # through PYTHONPATH, so that sprl's editable install, a .pth file, is not).
    venv = tmp_path / "colab"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    here = sysconfig.get_paths()["purelib"]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env |= {"PYTHONPATH": here, "PIP_NO_INDEX": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            # "0" is how pip spells --no-build-isolation in the environment (no network
            # for a build environment: setuptools comes from the environment itself)
            "PIP_NO_BUILD_ISOLATION": "0", "MPLBACKEND": "agg",
            "PIP_CACHE_DIR": str(tmp_path / "cache")}
    lacks = subprocess.run([python, "-c", "import sprl"], env=env, cwd=tmp_path,
                           capture_output=True, text=True)
    assert lacks.returncode != 0 and "No module named 'sprl'" in lacks.stderr
    torch_before = subprocess.run([python, "-c", "import torch; print(torch.__version__)"],
                                  env=env, capture_output=True, text=True, check=True).stdout

    script = (
        "import sys, types\n"
        "sys.modules['google.colab'] = types.ModuleType('google.colab')  # as in Colab\n"
        f"{source}\n"
        "assert sprl.__file__.startswith(sys.prefix), sprl.__file__  # the installed copy\n"
        f"{first_computation}\n"
        "import torch; print(torch.__version__)\n"
    )
    run = subprocess.run([python, "-c", script], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().splitlines()[-1] == torch_before.strip()  # torch kept

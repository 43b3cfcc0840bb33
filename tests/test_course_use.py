"""What Binder, Colab and a course need from the repository itself.

* Binder installs ``requirements.txt`` (or ``binder/requirements.txt``, which it reads
  first): every package a notebook imports, directly or through ``sprl``, must be pinned
  there, or a student meets an ImportError.
* ``binder/requirements.txt`` is the same list but for torch's CPU build.
* The README names only files that the repository has.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from importlib.metadata import packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").rglob("*.ipynb"))
NOTEBOOKS = [p for p in NOTEBOOKS if ".ipynb_checkpoints" not in p.parts]


def _pins(path: Path) -> dict[str, str]:
    """{normalised distribution name: version} of the ``name==version`` lines of a file."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", "-")):
            continue
        req = Requirement(line)
        spec = list(req.specifier)
        assert len(spec) == 1 and spec[0].operator == "==", f"{path.name}: not pinned: {line}"
        pins[_norm(req.name)] = spec[0].version
    return pins


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _notebook_imports() -> dict[str, set[str]]:
    """Top-level modules imported by the code cells of the notebooks: {module: notebooks}."""
    found: dict[str, set[str]] = {}
    for path in NOTEBOOKS:
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] != "code":
                continue
            source = "".join(cell["source"])
            source = "\n".join(l for l in source.splitlines() if not l.lstrip().startswith(("%", "!")))
            for node in ast.walk(ast.parse(source)):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    found.setdefault(name.split(".")[0], set()).add(path.name)
    return found


def test_every_package_a_notebook_imports_is_pinned():
    pins = _pins(ROOT / "requirements.txt")
    module_to_dists = packages_distributions()
    missing = []
    for module, where in sorted(_notebook_imports().items()):
        if module in sys.stdlib_module_names or module in ("sprl", "google"):
            continue  # the standard library; our own package; Colab's own module
        dists = module_to_dists.get(module)
        assert dists, f"{module} (imported in {sorted(where)}) is not installed at all"
        if not any(_norm(d) in pins for d in dists):
            missing.append((module, sorted(where)))
    assert not missing, f"imported by notebooks but not pinned in requirements.txt: {missing}"


def test_what_sprl_itself_needs_is_pinned():
    """sprl's dependencies and its [rl] extra (torch, gymnasium) are all pinned."""
    pins = _pins(ROOT / "requirements.txt")
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    needed = project["dependencies"] + project["optional-dependencies"]["rl"]
    for line in needed:
        req = Requirement(line)
        assert _norm(req.name) in pins, f"{req.name} is a dependency of sprl but not pinned"
        assert pins[_norm(req.name)] in req.specifier, (
            f"the pin {req.name}=={pins[_norm(req.name)]} is outside sprl's range {req.specifier}")


def test_binder_requirements_are_the_same_but_for_cpu_torch():
    top = (ROOT / "requirements.txt").read_text().splitlines()
    binder = [l for l in (ROOT / "binder" / "requirements.txt").read_text().splitlines()
              if not l.startswith("#")]
    index = [l for l in binder if l.startswith("--")]
    assert index == ["--extra-index-url https://download.pytorch.org/whl/cpu"]
    binder = [l for l in binder if not l.startswith("--")]
    assert len(binder) == len(top)
    differ = [(a, b) for a, b in zip(top, binder) if a != b]
    assert differ == [("torch==2.13.0", "torch==2.13.0+cpu")], differ


def test_torch_is_pinned_exactly():
    assert _pins(ROOT / "requirements.txt")["torch"] == "2.13.0"


def test_readme_names_only_files_in_the_repository():
    text = (ROOT / "README.md").read_text()
    named = set(re.findall(r"`([\w./-]+\.(?:md|txt|toml|yml|py|ipynb|cfg|json))`", text))
    named |= set(re.findall(r"`((?:book|lib|tests|benchmarks|tools|binder|assignments)/[\w./-]*)`",
                            text))
    missing = sorted(n for n in named if not (ROOT / n).exists()
                     and not list(ROOT.glob(n.rstrip("/"))))
    assert not missing, f"the README names files that are not in the repository: {missing}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_fits_80_columns(path):
    """Longer lines run off the code block in the HTML book (hidden setup cells excepted)."""
    long = []
    for i, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or "remove-cell" in cell["metadata"].get("tags", []):
            continue
        long += [(i, l) for l in "".join(cell["source"]).splitlines() if len(l) > 80]
    assert not long, f"{len(long)} code lines over 80 columns, e.g. {long[:3]}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_code_shows_no_test_markers(path):
    """Which outputs nbval compares is a cell tag (``nbval-check-output``), not a
    comment in the code readers see."""
    shown = [i for i, cell in enumerate(json.loads(path.read_text())["cells"])
             if cell["cell_type"] == "code"
             and re.search(r"^\s*#\s*NBVAL_", "".join(cell["source"]), re.M)]
    assert not shown, f"cells {shown} show an NBVAL comment; use the cell tag instead"

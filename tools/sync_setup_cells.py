"""Write the install source of every notebook's setup cell from ``_config.yml``.

Usage: python tools/sync_setup_cells.py [--check] [NOTEBOOK ...]  (default: every notebook)

In Colab a notebook is opened alone, without the repository, so its hidden setup
cell must name where to install ``sprl`` from.  That source is set once, in
``_config.yml`` (``repository.url`` and ``sprl_release``, the tag of this edition),
and this script writes it into the common first part of every setup cell: the lines
up to the ``import sprl`` that closes its ``try`` block.  What follows (the chapter's
imports and seeds) is left alone.  ``--check`` changes nothing and exits 1 if a
notebook is out of date (the test suite runs it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat
import yaml

ROOT = Path(__file__).resolve().parents[1]
END = "    import sprl\n"  # the last line of the common part

TEMPLATE = '''\
# Setup (hidden in the book): make `sprl` importable in a clone, Binder or Colab.
# The install source is written from _config.yml by tools/sync_setup_cells.py.
import pathlib
import sys

try:
    import sprl
except ImportError:
    if "google.colab" in sys.modules:  # Colab: the library of this edition
        import subprocess
        subprocess.run([sys.executable, "-m", "pip", "install", "-q",
                        "{requirement}"], check=True)
    else:  # a clone or Binder: use lib/ next to the book
        here = pathlib.Path.cwd().resolve()
        root = next(p for p in (here, *here.parents) if (p / "lib" / "sprl").is_dir())
        sys.path.insert(0, str(root / "lib"))
    import sprl
'''


def requirement(notebook: Path, config: dict | None = None) -> str:
    """The pip requirement a notebook installs in Colab: this repository at this release."""
    config = config or yaml.safe_load((ROOT / "_config.yml").read_text())
    url = config["repository"]["url"].rstrip("/")
    extra = "[rl]" if "rl" in notebook.relative_to(ROOT / "book").parts[:1] else ""
    return f"sprl{extra} @ git+{url}@{config['sprl_release']}"


def common_part(notebook: Path, config: dict | None = None) -> str:
    return TEMPLATE.format(requirement=requirement(notebook, config))


def setup_cell(nb) -> nbformat.NotebookNode:
    for cell in nb.cells:
        if cell.cell_type == "code" and "remove-cell" in cell.metadata.get("tags", []):
            return cell
    raise ValueError("no setup cell (a code cell tagged remove-cell)")


def sync(notebook: Path, check: bool) -> bool:
    """Bring one notebook up to date; return True if it was (or, with check, is) stale."""
    nb = nbformat.read(notebook, as_version=4)
    cell = setup_cell(nb)
    source = cell.source if cell.source.endswith("\n") else cell.source + "\n"
    cut = source.index(END, source.index("except ImportError:")) + len(END)
    new = common_part(notebook) + source[cut:]
    stale = new.rstrip("\n") != cell.source.rstrip("\n")
    if stale and not check:
        cell.source = new.rstrip("\n")
        nbformat.write(nb, notebook)
    return stale


def main(argv: list[str]) -> int:
    check = "--check" in argv
    named = [Path(a).resolve() for a in argv if a != "--check"]
    notebooks = named or sorted(p for p in (ROOT / "book").rglob("*.ipynb")
                                if ".ipynb_checkpoints" not in p.parts)
    stale = [p.relative_to(ROOT) for p in notebooks if sync(p, check)]
    for p in stale:
        print(f"{'stale' if check else 'updated'}: {p}")
    return 1 if (check and stale) else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

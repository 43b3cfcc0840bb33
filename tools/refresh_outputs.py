"""Execute notebooks and keep only the outputs that nbval checks.

Usage: python tools/refresh_outputs.py book/stochastic/01-gamblers-ruin.ipynb [...]

Every code cell is run in a fresh kernel (as nbval and the book build do);
afterwards only the cells tagged ``nbval-check-output`` keep their outputs,
so the committed notebook carries the numbers that CI compares and no bulky
figures.  The wall time of each notebook is printed: it must stay under 60 s.

The tag lives in the cell's metadata, not in its code, so readers of the book
never see it.  A first line ``# NBVAL_CHECK_OUTPUT`` (nbval's comment form) is
turned into the tag.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

TAG = "nbval-check-output"
MARK = "# NBVAL_CHECK_OUTPUT"


def move_marker_to_tag(cell) -> None:
    """Replace a leading ``# NBVAL_CHECK_OUTPUT`` line by the equivalent cell tag."""
    lines = cell.source.lstrip().splitlines()
    if lines and lines[0].strip() == MARK:
        cell.source = "\n".join(lines[1:])
        tags = cell.metadata.setdefault("tags", [])
        if TAG not in tags:
            tags.append(TAG)


def is_checked(cell) -> bool:
    return TAG in cell.metadata.get("tags", [])


def refresh(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            move_marker_to_tag(cell)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps: noise in every diff
        if cell.cell_type != "code":
            continue
        if not is_checked(cell):
            cell.outputs = []
            cell.execution_count = None
        else:
            for out in cell.outputs:
                if out.get("output_type") != "execute_result":
                    out.pop("execution_count", None)
    nb.metadata.pop("widgets", None)
    nbformat.write(nb, path)
    return elapsed


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    for name in argv:
        print(f"{name}: {refresh(Path(name)):.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

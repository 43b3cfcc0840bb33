"""Execute notebooks and keep only the outputs that nbval checks.

Usage: python tools/refresh_outputs.py book/stochastic/01-gamblers-ruin.ipynb [...]

Every code cell is run in a fresh kernel (as nbval and the book build do);
afterwards only the cells marked ``# NBVAL_CHECK_OUTPUT`` keep their outputs,
so the committed notebook carries the numbers that CI compares and no bulky
figures.  The wall time of each notebook is printed: it must stay under 60 s.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

MARK = "# NBVAL_CHECK_OUTPUT"


def refresh(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    elapsed = time.perf_counter() - start
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps: noise in every diff
        if cell.cell_type != "code":
            continue
        keep = cell.source.lstrip().startswith(MARK)
        if not keep:
            cell.outputs = []
            cell.execution_count = None
        else:
            for out in cell.outputs:
                out.pop("execution_count", None) if out.get("output_type") != "execute_result" else None
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

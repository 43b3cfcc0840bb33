"""Build the autograded assignments: ``python tools/make_assignments.py OUT [NAME ...]``.

For each master notebook ``assignments/NAME.ipynb`` (otter-grader's assignment format),
``otter assign`` writes ``OUT/NAME/student/NAME.ipynb`` (solutions and hidden tests
removed: what students get) and ``OUT/NAME/autograder/`` (the solution notebook and the
autograder zip, for ``otter run`` or Gradescope).  The masters name
``requirements.txt`` as the grading environment: it is written here, next to a copy of
each master, from the book's own pins plus ``sprl`` at this edition's release, so that
the autograder installs exactly the book's environment.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
MASTERS = ROOT / "assignments"


def requirements() -> str:
    """The book's pins and the library of this edition (what a grading machine installs)."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    sprl = f"sprl[rl] @ git+{config['repository']['url']}@{config['sprl_release']}"
    return (ROOT / "requirements.txt").read_text().rstrip("\n") + f"\n{sprl}\n"


def masters(names: list[str] | None = None) -> list[Path]:
    found = sorted(MASTERS.glob("[0-9]*.ipynb"))
    return [p for p in found if not names or p.stem in names]


def assign(master: Path, out: Path) -> Path:
    """Run ``otter assign`` on a copy of ``master``; return the output folder."""
    src = out / "src"
    src.mkdir(parents=True, exist_ok=True)
    (src / "requirements.txt").write_text(requirements())
    copy = src / master.name
    shutil.copy(master, copy)
    target = out / master.stem
    shutil.rmtree(target, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "otter", "assign", "--no-run-tests", str(copy),
                    str(target)], check=True, cwd=src)
    return target


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__)
        return 2
    out = Path(argv[0]).resolve()
    for master in masters(argv[1:]):
        target = assign(master, out)
        print(f"{master.name}: {target.relative_to(out.parent)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""The student edition (make student) removes plain and gated solutions, keeps exercises."""

import subprocess
import sys
from pathlib import Path


EXT = Path(__file__).resolve().parents[1] / "book" / "_ext"

DOC = """\
# Page

```{exercise} Plain
:label: ex-plain

EXERCISE-TEXT-ONE
```

```{solution} ex-plain
:class: dropdown

SOLUTION-TEXT-ONE
```

```{exercise} Gated
:label: ex-gated

EXERCISE-TEXT-TWO
```

````{solution-start} ex-gated
:class: dropdown
````

SOLUTION-TEXT-TWO

```{solution-end}
```

AFTER-TEXT
"""


def build(tmp_path, student):
    """Build DOC with Sphinx in a fresh process (-W: any warning fails)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "index.md").write_text(DOC)
    extensions = ["myst_parser", "sphinx_exercise"] + (["student_edition"] if student else [])
    (src / "conf.py").write_text(
        f"import sys\nsys.path.insert(0, {str(EXT)!r})\nextensions = {extensions!r}\n"
    )
    subprocess.run([sys.executable, "-m", "sphinx", "-W", "-q", "-b", "html", str(src),
                    str(tmp_path / "out")], check=True)
    return (tmp_path / "out" / "index.html").read_text()


def test_teacher_edition_has_solutions(tmp_path):
    html = build(tmp_path, student=False)
    assert "SOLUTION-TEXT-ONE" in html and "SOLUTION-TEXT-TWO" in html


def test_student_edition_drops_every_solution(tmp_path):
    html = build(tmp_path, student=True)
    for kept in ("EXERCISE-TEXT-ONE", "EXERCISE-TEXT-TWO", "AFTER-TEXT"):
        assert kept in html
    assert "SOLUTION-TEXT-ONE" not in html and "SOLUTION-TEXT-TWO" not in html

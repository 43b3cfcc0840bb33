"""Sphinx extension: link the library reference and the chapters both ways.

* Each chapter (a notebook) ends with "Library entries used in this chapter": links
  to the reference entries of every ``sprl`` function and class its code cells use.
* Each reference entry (``book/api.md``, autodoc) says which chapters use it.

What a chapter uses is read off its code cells with :mod:`ast`: the names bound by
``import sprl...`` / ``from sprl... import ...`` and the attribute chains read through
them (``sprl.gambling.win_probability``, ``a2c.train``), kept when they resolve to a
public function or class defined in ``sprl``.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms import SphinxTransform

TITLE = "Library entries used in this chapter"


def _resolve(dotted: str):
    """The public sprl function or class named ``dotted`` (fully qualified), or None."""
    parts = dotted.split(".")
    if any(part.startswith("_") for part in parts):
        return None  # reached through a private module or name: no reference entry
    for cut in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if name.startswith("_") or not hasattr(obj, name):
                return None
            obj = getattr(obj, name)
        module = getattr(obj, "__module__", "") or ""
        if (inspect.isfunction(obj) or inspect.isclass(obj)) and module.startswith("sprl"):
            if any(part.startswith("_") for part in module.split(".")):
                return dotted  # defined in a private module: its public name
            # name it where it is defined (a re-export links to the one entry)
            return f"{module}.{obj.__qualname__}"
        return None
    return None


def _dotted(node, bound: dict[str, str]) -> str | None:
    """``a.b.c`` as a dotted path under sprl, when ``a`` is a bound sprl name."""
    chain = []
    while isinstance(node, ast.Attribute):
        chain.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name) and node.id in bound:
        return ".".join([bound[node.id], *reversed(chain)])
    return None


def names_used(source: str, bound: dict[str, str] | None = None) -> set[str]:
    """Fully qualified sprl functions and classes that ``source`` uses.

    ``bound`` maps the names already imported (by earlier cells) to their dotted
    paths under sprl; it is updated with this source's imports.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return set()
    bound = {} if bound is None else bound  # local name -> dotted path under sprl
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                if a.name.split(".")[0] == "sprl":
                    bound[a.asname or a.name.split(".")[0]] = a.name if a.asname else "sprl"
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0 \
                and node.module.split(".")[0] == "sprl":
            for a in node.names:
                bound[a.asname or a.name] = f"{node.module}.{a.name}"
    for node in ast.walk(tree):  # aliases: mg = sprl.martingale
        if isinstance(node, ast.Assign) and len(node.targets) == 1 \
                and isinstance(node.targets[0], ast.Name):
            dotted = _dotted(node.value, bound)
            if dotted:
                bound[node.targets[0].id] = dotted
    used = set()
    for node in ast.walk(tree):
        chain = []
        while isinstance(node, ast.Attribute):
            chain.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name) and node.id in bound:
            dotted = ".".join([bound[node.id], *reversed(chain)])
            # the longest prefix that is an entry (x.method -> x)
            parts = dotted.split(".")
            for cut in range(len(parts), 1, -1):
                target = _resolve(".".join(parts[:cut]))
                if target:
                    used.add(target)
                    break
    return used


def notebook_names(path: Path) -> set[str]:
    cells = json.loads(path.read_text())["cells"]
    used, bound = set(), {}
    for cell in cells:  # in order: a name imported in one cell is used in later ones
        if cell["cell_type"] == "code":
            source = "".join(cell["source"])
            source = "\n".join(line for line in source.splitlines()
                               if not line.lstrip().startswith(("%", "!")))
            used |= names_used(source, bound)
    return used


def _scan(app, env, docnames):
    """{docname: names} for every notebook of the book, and the reverse map."""
    uses, used_by = {}, {}
    for docname in sorted(env.found_docs):
        path = Path(env.doc2path(docname))
        if path.suffix == ".ipynb":
            uses[docname] = sorted(notebook_names(path))
            for name in uses[docname]:
                used_by.setdefault(name, []).append(docname)
    env.sprl_uses, env.sprl_used_by = uses, used_by


class ChapterEntries(SphinxTransform):
    """Append the list of library entries a chapter uses, as cross-references."""

    default_priority = 500

    def apply(self):
        names = getattr(self.env, "sprl_uses", {}).get(self.env.docname)
        if not names:
            return
        section = next(iter(self.document.findall(nodes.section)), None)
        if section is None:
            return
        rubric = nodes.rubric(TITLE, TITLE)
        items = nodes.bullet_list()
        for name in names:
            ref = addnodes.pending_xref("", refdomain="py", reftype="obj", reftarget=name,
                                        refexplicit=False, refwarn=True)
            ref += nodes.literal(name, name)
            items += nodes.list_item("", nodes.paragraph("", "", ref))
        container = nodes.container(classes=["sprl-entries-used"])
        container += [rubric, items]
        section += container


def add_chapters_to_docstring(app, what, name, obj, options, lines):
    """Below each function or class entry: the chapters that use it."""
    if what not in ("function", "class"):
        return
    chapters = getattr(app.env, "sprl_used_by", {}).get(name)
    if chapters:
        links = ", ".join(f":doc:`/{doc}`" for doc in chapters)
        lines += ["", f"**Used in:** {links}"]


def setup(app):
    app.connect("env-before-read-docs", _scan)
    app.connect("autodoc-process-docstring", add_chapters_to_docstring)
    app.add_transform(ChapterEntries)
    return {"parallel_read_safe": False, "parallel_write_safe": True}

"""Show the library's own source in a chapter, so text and code cannot drift."""

from __future__ import annotations

import inspect


def show_source(obj):
    """Return the source of ``obj`` (function, class or module) as a highlighted block.

    Used by the chapters instead of a second copy of the code: what the reader
    sees is exactly what the tests and the numerical checks run.
    """
    from IPython.display import Code

    if not (inspect.isfunction(obj) or inspect.isclass(obj) or inspect.ismodule(obj)):
        raise ValueError(f"obj must be a function, class or module, got {type(obj).__name__}")
    return Code(inspect.getsource(obj), language="python")

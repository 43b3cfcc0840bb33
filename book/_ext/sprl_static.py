"""Sphinx extension: the HTML book gets static figures, however it is built.

``sprl.widgets`` and ``sprl.progress`` produce static HTML (pre-rendered slider
frames, plain-text progress lines) when ``SPRL_WIDGETS=html``.  The notebook
kernels that the book build starts inherit this process's environment, so
setting the variable here, when Sphinx loads the extension and before any
notebook runs, makes ``jupyter-book build .`` and ``make book`` give the same
pages.  A value that is already set wins (``SPRL_WIDGETS=live`` keeps the live
widgets, for debugging).
"""

import os


def setup(app):
    os.environ.setdefault("SPRL_WIDGETS", "html")
    return {"parallel_read_safe": True, "parallel_write_safe": True}

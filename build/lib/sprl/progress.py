"""The progress bar of long cells: what training code imports (no figures, no sliders).

Training loops (:mod:`sprl.rl`) report progress through :func:`progress_bar`
and nothing else, so they never load the figure and slider machinery of
:mod:`sprl.widgets`.  Both modules agree on where the output goes through
:func:`static_mode`: a live kernel gets widgets, the HTML book plain text.
"""

from __future__ import annotations

import io
import os

from tqdm.std import tqdm as _std_tqdm

__all__ = ["progress_bar", "static_mode"]


def static_mode() -> bool:
    """True when output must be static HTML only (``SPRL_WIDGETS=html``).

    The HTML book has no kernel and no CDN widget manager, so a widget there
    would render as nothing.
    """
    return os.environ.get("SPRL_WIDGETS", "").lower() == "html"


def progress_bar(*args, **kwargs):
    """A tqdm progress bar for long cells (training loops).

    In a live kernel this is ``tqdm.auto.tqdm`` (a notebook widget).  In the
    HTML book (:func:`static_mode`) a widget would need a widget manager from
    a CDN, so the bar draws nothing while it runs and prints its final line
    (iterations, elapsed time, rate) as plain text when it closes.
    Arguments are those of ``tqdm``.
    """
    if static_mode():
        return _FinalLineBar(*args, **kwargs)
    from tqdm.auto import tqdm

    return tqdm(*args, **kwargs)


class _FinalLineBar(_std_tqdm):
    """tqdm that draws into a sink while running and prints its last state once."""

    def __init__(self, *args, **kwargs):
        kwargs["file"] = io.StringIO()
        super().__init__(*args, **kwargs)

    def close(self):
        if not self.disable:
            print(str(self), flush=True)  # the finished bar, once, as plain text
        super().close()

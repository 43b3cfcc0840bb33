"""The one slider helper behind every interactive figure of the book.

``interactive_figure(draw, p=Slider(...), k=Slider(...))`` turns a drawing
function ``draw(**params) -> matplotlib.figure.Figure`` into

* in a live kernel (Jupyter, Colab, Binder): ipywidgets sliders that redraw
  the figure as they move;
* in the HTML book, where no kernel runs: the figure at the default values
  and range inputs that still move it, backed by frames rendered when the
  book is built (PNG data URIs, switched by a short inline ``oninput``;
  nothing is loaded from a CDN).

The returned object carries both: a live widget whose MIME bundle also holds
the static HTML.  In the HTML book only the static HTML is produced, so the
built book holds no widget state at all: the book's own configuration switches
that on (the Sphinx extension ``book/_ext/sprl_static.py`` sets
``SPRL_WIDGETS=html`` for the kernels it starts, unless the variable is already
set), so every way of building the book gives the same pages.  In a live kernel the static HTML holds the default
frame only, so that a saved notebook still shows the figure on GitHub or
nbviewer without paying for every frame.
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import itertools
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .progress import progress_bar, static_mode  # re-exported: notebooks use both

__all__ = ["Slider", "interactive_figure", "progress_bar", "static_mode"]

#: Most frames one static figure may carry (a few hundred KB of PNG at most).
MAX_FRAMES = 64


@dataclass(frozen=True)
class Slider:
    """One slider: its range, step, default value and the static frames.

    Parameters
    ----------
    min, max, step : float
        Range and resolution of the live slider.  Integer values everywhere
        give an integer slider.
    value : float
        Default value: the figure shown first, live and in the HTML book.
    label : str, optional
        Text beside the slider (defaults to the parameter's name).
    frames : int or sequence of float
        Values pre-rendered for the HTML book: a count of evenly spaced
        values over ``[min, max]`` (snapped to ``step``), or the values
        themselves.  ``value`` is always among them.
    """

    min: float
    max: float
    step: float
    value: float
    label: str | None = None
    frames: int | Sequence[float] = 7

    def __post_init__(self):
        who = f"Slider {self.label!r}" if self.label else "Slider"
        numbers = (self.min, self.max, self.step, self.value)
        if not all(isinstance(x, (int, float, np.integer, np.floating))
                   and not isinstance(x, bool) for x in numbers):
            raise ValueError(f"{who}: min, max, step and value must be numbers, got {numbers}")
        if not np.isfinite(numbers).all():
            raise ValueError(f"{who}: min, max, step and value must be finite, got {numbers}")
        if not self.min < self.max:
            raise ValueError(f"{who}: min must be < max, got min={self.min}, max={self.max}")
        if not self.step > 0:
            raise ValueError(f"{who}: step must be > 0, got {self.step}")
        if not self.min <= self.value <= self.max:
            raise ValueError(
                f"{who}: value must lie in [min, max] = [{self.min}, {self.max}], got {self.value}"
            )
        if isinstance(self.frames, (int, np.integer)):
            if not 1 <= self.frames <= MAX_FRAMES:
                raise ValueError(f"{who}: frames must be a count in [1, {MAX_FRAMES}], "
                                 f"got {self.frames}")
        else:
            raw = np.asarray(self.frames, dtype=float)
            if raw.ndim != 1 or raw.size == 0 or not np.isfinite(raw).all():
                raise ValueError(f"{who}: frames must be a count or a non-empty list of "
                                 f"finite values, got {self.frames!r}")
            outside = raw[(raw < self.min) | (raw > self.max)]
            if outside.size:
                raise ValueError(f"{who}: frames must lie in [min, max] = "
                                 f"[{self.min}, {self.max}], got {outside.tolist()}")
        if len(self.static_values()) > MAX_FRAMES:
            raise ValueError(f"{who}: more than {MAX_FRAMES} distinct frames")

    @property
    def is_int(self) -> bool:
        return all(float(x).is_integer() for x in (self.min, self.max, self.step, self.value))

    def _cast(self, x):
        return int(round(x)) if self.is_int else float(x)

    def static_values(self) -> list:
        """Sorted values pre-rendered for the HTML book (``value`` included).

        A count of frames is spread evenly over ``[min, max]`` and snapped to the
        step grid ``min + k * step``; a snap that would pass ``max`` (when
        ``max - min`` is not a multiple of ``step``) falls back one step, so every
        frame is a value the live slider can take too.
        """
        if isinstance(self.frames, (int, np.integer)):
            raw = np.linspace(self.min, self.max, int(self.frames))
            k = np.round((raw - self.min) / self.step)
            k_max = np.floor((self.max - self.min) / self.step + 1e-9)
            raw = self.min + np.minimum(k, k_max) * self.step
        else:
            raw = np.asarray(self.frames, dtype=float)
        values = np.unique(np.append(np.round(raw, 12), self.value))
        return [self._cast(v) for v in values]


def _png(fig, dpi: int) -> bytes:
    """One frame as a palette PNG (about 3x smaller than RGBA, same look)."""
    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    buf.seek(0)
    image = Image.open(buf).convert("RGB").quantize(colors=128, method=Image.Quantize.MEDIANCUT)
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _render_png(draw: Callable, params: dict, dpi: int) -> bytes:
    """Draw one frame, encode it, close the figure."""
    import matplotlib.pyplot as plt

    fig = draw(**params)
    try:
        return _png(fig, dpi)
    finally:
        plt.close(fig)


def _format(x) -> str:
    return str(x) if isinstance(x, int) else f"{x:.4g}"


# Inline handler: the index of the frame is the mixed-radix number read off the
# range inputs, in the order they appear; show that frame, hide the others.
_ONINPUT = (
    "var r=this.closest('.sprl-figure'),i=0;"
    "r.querySelectorAll('input[type=range]').forEach(function(s){"
    "i=i*(+s.max+1)+(+s.value);"
    "s.nextElementSibling.textContent=JSON.parse(s.dataset.values)[+s.value];});"
    "r.querySelectorAll('img.sprl-frame').forEach(function(m,j){m.hidden=(j!==i);});"
)


# Serial number of the figures made in this process: two identical figures on one
# page still get distinct element ids, and a re-run numbers them the same way.
_figure_serial = itertools.count(1)


def _static_html(draw: Callable, sliders: dict, *, all_frames: bool, dpi: int,
                 default_png: bytes | None = None) -> str:
    """Frames behind range inputs; ``default_png``, if given, is the default frame already drawn."""
    names = list(sliders)
    if all_frames:
        grids = [sliders[n].static_values() for n in names]
    else:
        grids = [[sliders[n]._cast(sliders[n].value)] for n in names]
    n_frames = int(np.prod([len(g) for g in grids]))
    if n_frames > MAX_FRAMES:
        raise ValueError(
            f"interactive_figure would render {n_frames} frames (more than {MAX_FRAMES}); "
            "give the sliders fewer frames"
        )
    default = tuple(sliders[n]._cast(sliders[n].value) for n in names)
    frames, combos, shown = [], [], 0
    for index, combo in enumerate(itertools.product(*grids)):
        if combo == default:
            shown = index
        if combo == default and default_png is not None:
            frames.append(default_png)
        else:
            frames.append(_render_png(draw, dict(zip(names, combo)), dpi))
        combos.append(combo)
    digest = hashlib.sha1(b"".join(frames)).hexdigest()[:12]
    uid = f"sprl-{digest}-{next(_figure_serial)}"

    controls = []
    position = np.unravel_index(shown, [len(g) for g in grids])
    for name, grid, pos in zip(names, grids, position):
        label = html.escape(sliders[name].label or name)
        shown_values = html.escape(json.dumps([_format(v) for v in grid]))
        disabled = " disabled" if len(grid) == 1 else ""
        controls.append(
            f'<label class="sprl-slider">{label} '
            f'<input type="range" min="0" max="{len(grid) - 1}" step="1" value="{pos}" '
            f'aria-label="{label}" data-name="{html.escape(name)}" '
            f'data-values="{shown_values}" '
            f'oninput="{html.escape(_ONINPUT)}"{disabled}>'
            f"<output>{html.escape(_format(grid[pos]))}</output></label>"
        )
    images = []
    for index, (png, combo) in enumerate(zip(frames, combos)):
        src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        hidden = "" if index == shown else " hidden"
        # The values this frame was drawn at: what the slider labels must show with it.
        params = html.escape(json.dumps({n: _format(v) for n, v in zip(names, combo)}))
        images.append(
            f'<img class="sprl-frame" src="{src}" alt="figure frame {index}" '
            f'data-params="{params}" style="max-width:100%"{hidden}>'
        )
    return (
        f'<div class="sprl-figure" id="{uid}">'
        f'<div class="sprl-controls" style="display:flex;gap:1.5em;flex-wrap:wrap">'
        f'{"".join(controls)}</div>{"".join(images)}</div>'
    )


class _StaticFigure:
    """Static output: the HTML (with all frames) and a plain-text fallback."""

    def __init__(self, markup: str, text: str):
        self._markup, self._text = markup, text

    def _repr_html_(self):
        return self._markup

    def __repr__(self):
        return self._text


def _live_widget(draw: Callable, sliders: dict, dpi: int):
    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    controls = {}
    for name, s in sliders.items():
        kind = widgets.IntSlider if s.is_int else widgets.FloatSlider
        controls[name] = kind(
            value=s._cast(s.value),
            min=s._cast(s.min),
            max=s._cast(s.max),
            step=s._cast(s.step),
            description=s.label or name,
            continuous_update=False,
        )

    # The default figure is drawn once: its PNG goes into the static HTML and the
    # figure itself is the widget's first view.
    defaults = {name: s._cast(s.value) for name, s in sliders.items()}
    first = {"fig": draw(**defaults)}
    static_markup = _static_html(draw, sliders, all_frames=False, dpi=dpi,
                                 default_png=_png(first["fig"], dpi))

    def show(**params):
        fig = first.pop("fig", None) if params == defaults else None
        fig = fig if fig is not None else draw(**params)
        display(fig)
        plt.close(fig)

    out = widgets.interactive_output(show, controls)
    leftover = first.pop("fig", None)
    if leftover is not None:  # no first view was drawn: do not leak the figure
        plt.close(leftover)

    class LiveFigure(widgets.VBox):
        def _repr_mimebundle_(self, **kwargs):
            bundle = super()._repr_mimebundle_(**kwargs)
            data = bundle[0] if isinstance(bundle, tuple) else bundle
            data["text/html"] = static_markup
            return bundle

    return LiveFigure([widgets.HBox(list(controls.values())), out])


def interactive_figure(draw: Callable, /, *, dpi: int = 72, **sliders: Slider):
    """Interactive figure of ``draw(**params)`` with one slider per keyword.

    Parameters
    ----------
    draw : callable
        ``draw(**params)`` returns a :class:`matplotlib.figure.Figure`.  It
        must be cheap (it runs once per frame when the book is built).
    dpi : int
        Resolution of the pre-rendered frames.
    **sliders : Slider
        One :class:`Slider` per keyword argument of ``draw``.

    Returns
    -------
    object
        The last expression of a cell: a live ipywidgets ``VBox`` in a kernel,
        static HTML with pre-rendered frames when ``SPRL_WIDGETS=html``.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> def draw(p):
    ...     fig, ax = plt.subplots(figsize=(3, 2))
    ...     ax.bar([0, 1], [1 - p, p])
    ...     return fig
    >>> figure = interactive_figure(draw, p=Slider(0.1, 0.9, 0.1, 0.5, frames=3))  # doctest: +SKIP
    """
    if not sliders:
        raise ValueError("interactive_figure needs at least one Slider keyword argument")
    for name, s in sliders.items():
        if not isinstance(s, Slider):
            raise ValueError(f"slider {name!r} must be a sprl.widgets.Slider, got {s!r}")
    if static_mode():
        markup = _static_html(draw, sliders, all_frames=True, dpi=dpi)
        return _StaticFigure(markup, f"<interactive figure: {', '.join(sliders)}>")
    return _live_widget(draw, sliders, dpi)

"""Tests of sprl.widgets: live sliders in a kernel, pre-rendered frames for the HTML book."""

import re

import matplotlib

matplotlib.use("agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402

from sprl.widgets import MAX_FRAMES, Slider, interactive_figure  # noqa: E402


def draw(p, n=3):
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.bar(range(n), [p**i for i in range(n)])
    ax.set_title(f"p={p} n={n}")
    return fig


def test_slider_static_values_include_default_and_snap_to_step():
    s = Slider(0.0, 1.0, 0.1, 0.45, frames=3)
    assert s.static_values() == [0.0, 0.45, 0.5, 1.0]
    assert Slider(1, 9, 1, 4, frames=[2, 8]).static_values() == [2, 4, 8]
    assert Slider(1, 9, 1, 4).is_int and not s.is_int


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"min": 1.0, "max": 0.0}, "min must be < max"),
        ({"step": 0.0}, "step must be > 0"),
        ({"value": 2.0}, "value must lie in"),
        ({"frames": 0}, r"frames must be a count in \[1, 64\]"),
        ({"frames": MAX_FRAMES + 1}, "frames must be a count"),
        ({"frames": [0.2, 1.5]}, r"frames must lie in \[min, max\].*1\.5"),
        ({"frames": []}, "non-empty list"),
        ({"min": float("nan")}, "finite"),
        ({"value": "0.5"}, "must be numbers"),
    ],
)
def test_slider_rejects_bad_ranges(kwargs, match):
    args = {"min": 0.0, "max": 1.0, "step": 0.1, "value": 0.5} | kwargs
    with pytest.raises(ValueError, match=match):
        Slider(**args)


def test_static_mode_renders_every_frame(monkeypatch):
    monkeypatch.setenv("SPRL_WIDGETS", "html")
    fig = interactive_figure(
        draw, p=Slider(0.1, 0.9, 0.1, 0.5, frames=3), n=Slider(2, 4, 1, 3, frames=[2, 4])
    )
    markup = fig._repr_html_()
    frames = re.findall(r'<img class="sprl-frame" src="data:image/png;base64,', markup)
    assert len(frames) == 3 * 3  # p in {0.1, 0.5, 0.9} x n in {2, 3, 4}
    assert markup.count("hidden>") == len(frames) - 1  # only the default frame shows
    assert markup.count('type="range"') == 2
    assert "http" not in markup  # nothing loaded from anywhere
    # The same figure again: the same frames, but its own element id (two identical
    # figures on one page must not share an id); the ids count up, so a re-run of the
    # notebook gives byte-identical HTML.
    again = interactive_figure(
        draw, p=Slider(0.1, 0.9, 0.1, 0.5, frames=3), n=Slider(2, 4, 1, 3, frames=[2, 4])
    )._repr_html_()
    ids = [re.search(r'id="(sprl-[0-9a-f]{12})-(\d+)"', m).groups() for m in (markup, again)]
    assert ids[0][0] == ids[1][0] and int(ids[1][1]) == int(ids[0][1]) + 1
    assert re.sub(r'id="[^"]+"', "", again) == re.sub(r'id="[^"]+"', "", markup)
    # The default frame is the one with p=0.5, n=3: index 1 * 3 + 1 in row-major order.
    imgs = re.findall(r"<img [^>]*>", markup)
    assert "hidden" not in imgs[4] and all("hidden" in m for i, m in enumerate(imgs) if i != 4)


def test_static_mode_refuses_too_many_frames(monkeypatch):
    monkeypatch.setenv("SPRL_WIDGETS", "html")
    with pytest.raises(ValueError, match="frames"):
        interactive_figure(draw, p=Slider(0, 1, 0.01, 0.5, frames=40),
                           n=Slider(1, 9, 1, 3, frames=5))


@pytest.mark.parametrize("step", [0.3, 0.07, 0.25, 1 / 3])
def test_snapped_frames_stay_on_the_live_grid_inside_the_range(step):
    """A frame count snapped to the step never passes max (max - min need not be a multiple)."""
    s = Slider(0.0, 1.0, step, step, frames=9)
    values = s.static_values()
    assert min(values) >= 0.0 and max(values) <= 1.0
    k = [v / step for v in values]
    assert all(abs(x - round(x)) < 1e-9 for x in k)  # every frame is a live slider value


def test_every_frame_carries_the_values_it_was_drawn_at(monkeypatch):
    """What the browser test checks against: frame j holds its parameter values."""
    import json
    from html import unescape

    monkeypatch.setenv("SPRL_WIDGETS", "html")
    markup = interactive_figure(
        draw, p=Slider(0.1, 0.9, 0.1, 0.5, frames=3), n=Slider(2, 4, 1, 3, frames=[2, 4])
    )._repr_html_()
    params = [json.loads(unescape(m)) for m in re.findall(r'data-params="([^"]+)"', markup)]
    assert params == [{"p": p, "n": str(n)} for p in ("0.1", "0.5", "0.9") for n in (2, 3, 4)]
    assert re.findall(r'data-name="(\w+)"', markup) == ["p", "n"]


def test_live_mode_draws_the_default_figure_once(monkeypatch):
    monkeypatch.delenv("SPRL_WIDGETS", raising=False)
    calls = []

    def counting_draw(p, n=3):
        calls.append((p, n))
        return draw(p, n)

    interactive_figure(counting_draw, p=Slider(0.1, 0.9, 0.1, 0.5), n=Slider(2, 4, 1, 3))
    assert calls == [(0.5, 3)]
    assert plt.get_fignums() == []  # nothing left open


def test_the_book_configuration_switches_static_mode_on(monkeypatch):
    """book/_ext/sprl_static.py: on when unset, an explicit value wins."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "book" / "_ext" / "sprl_static.py"
    spec = importlib.util.spec_from_file_location("sprl_static", path)
    ext = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ext)
    monkeypatch.delenv("SPRL_WIDGETS", raising=False)
    ext.setup(None)
    from sprl.progress import static_mode

    assert static_mode()
    monkeypatch.setenv("SPRL_WIDGETS", "live")
    ext.setup(None)
    assert not static_mode()


def test_live_mode_gives_sliders_and_a_static_fallback(monkeypatch):
    monkeypatch.delenv("SPRL_WIDGETS", raising=False)
    import ipywidgets

    fig = interactive_figure(draw, p=Slider(0.1, 0.9, 0.1, 0.5), n=Slider(2, 4, 1, 3))
    assert isinstance(fig, ipywidgets.VBox)
    controls = fig.children[0].children
    assert isinstance(controls[0], ipywidgets.FloatSlider) and controls[0].value == 0.5
    assert isinstance(controls[1], ipywidgets.IntSlider) and controls[1].value == 3
    bundle = fig._repr_mimebundle_()
    data = bundle[0] if isinstance(bundle, tuple) else bundle
    assert "application/vnd.jupyter.widget-view+json" in data
    assert data["text/html"].count('class="sprl-frame"') == 1  # default frame only


def test_bad_arguments():
    with pytest.raises(ValueError, match="at least one Slider"):
        interactive_figure(draw)
    with pytest.raises(ValueError, match="slider 'p'"):
        interactive_figure(draw, p=(0, 1, 0.1, 0.5))


def test_progress_bar_is_plain_text_in_the_html_book(monkeypatch, capsys):
    monkeypatch.setenv("SPRL_WIDGETS", "html")
    from sprl.progress import progress_bar

    with progress_bar(total=50, desc="train") as bar:
        for _ in range(50):
            bar.update(1)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "train" in out and "50/50" in out and "100%" in out


def test_progress_bar_is_tqdm_auto_in_a_kernel(monkeypatch):
    monkeypatch.delenv("SPRL_WIDGETS", raising=False)
    from tqdm.auto import tqdm

    from sprl.progress import progress_bar

    bar = progress_bar(total=3, disable=True)
    assert isinstance(bar, tqdm)
    bar.close()


def test_widgets_re_exports_the_progress_module():
    import sprl.progress
    import sprl.widgets

    assert sprl.widgets.progress_bar is sprl.progress.progress_bar
    assert sprl.widgets.static_mode is sprl.progress.static_mode

"""Browser tests of the built HTML book: headless Debian Chromium driven by Playwright.

The book is served from 127.0.0.1 and every request that leaves the machine is
blocked, so these tests also prove that no page depends on a CDN.  Outside CI
they skip when Chromium or the built book is missing; in CI they never skip.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import urlparse

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
# sphinx-thebe's script is included twice by Jupyter Book; the second copy logs this.
HARMLESS_CONSOLE = re.compile(r"THEBE_JS_URL.*already been declared|Identifier 'THEBE")


def _toc_pages() -> list[str]:
    """Every page named in _toc.yml, as a path relative to the HTML root."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [f + ".html" for f in files]


PAGES = _toc_pages()
CHAPTERS = [p for p in PAGES if Path(ROOT / p.replace(".html", ".ipynb")).exists()]


def _missing_tool_reason() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if not (HTML / "index.html").exists():
        return "the book is not built (make book)"
    return None


@pytest.fixture(scope="module")
def server():
    reason = _missing_tool_reason()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run in CI: {reason}")
        pytest.skip(reason)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))

    class Quiet(handler.func):
        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(Quiet, directory=str(HTML))
    )
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def open_page(browser, server):
    """Open a page of the book offline; return (page, console errors, failed requests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(120_000)  # generous: CI shares 2 cores with the kernel
    blocked: list[str] = []

    def route(r):
        host = urlparse(r.request.url).hostname
        if host in ("127.0.0.1", None) or r.request.url.startswith("data:"):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context.route("**/*", route)

    def _open(path: str):
        page = context.new_page()
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        failed: list[str] = []
        page.on("requestfailed", lambda r: failed.append(r.url))
        # 'load' waits for every image (the slider frames are data URIs). 'networkidle'
        # is not used: it can wait forever on a busy machine (seen in CI-like runs).
        page.goto(f"{server}/{path}", wait_until="load")
        return page, errors, failed, blocked

    yield _open
    context.close()


def _wait_for_math(page):
    """Wait until MathJax has typeset the whole page (long pages take a while on 2 cores)."""
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=120_000)
    page.evaluate("() => MathJax.startup.promise.then(() => true)")


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_errors(open_page, path):
    page, errors, failed, blocked = open_page(path)
    real_errors = [e for e in errors if not HARMLESS_CONSOLE.search(e)]
    local_failures = [u for u in failed if urlparse(u).hostname == "127.0.0.1"]
    assert not real_errors, f"console errors on {path}: {real_errors}"
    assert not local_failures, f"requests that failed on {path}: {local_failures}"
    assert not blocked, f"{path} tried to load from outside the book (a CDN?): {blocked}"
    assert page.locator("h1").count() >= 1
    # Every image that is displayed has loaded (naturalWidth > 0).
    broken = page.evaluate(
        "() => [...document.images].filter(i => !i.hidden && i.offsetParent !== null"
        " && !(i.complete && i.naturalWidth > 0)).map(i => i.src.slice(0, 80))"
    )
    assert not broken, f"images that did not load on {path}: {broken}"


@pytest.mark.parametrize("path", CHAPTERS)
def test_math_renders(open_page, path):
    page, *_ = open_page(path)
    _wait_for_math(page)
    assert page.locator("mjx-container").count() > 5
    # MathJax is served with the book, not from a CDN.
    sources = page.evaluate("() => [...document.scripts].map(s => s.src).filter(Boolean)")
    mathjax = [s for s in sources if "mathjax" in s.lower() or "tex-chtml" in s]
    assert mathjax and all(urlparse(s).hostname == "127.0.0.1" for s in mathjax), mathjax
    # Raw TeX left in the prose (code blocks, which show the lib's docstrings, excluded).
    text = page.evaluate(
        "() => { const a = document.querySelector('article').cloneNode(true);"
        " a.querySelectorAll('pre, .highlight, script').forEach(e => e.remove());"
        " return a.innerText; }"
    )
    assert "$$" not in text and "\\frac" not in text and "\\begin{" not in text


@pytest.mark.parametrize("path", CHAPTERS)
def test_theorems_exercises_and_solutions_present(open_page, path):
    page, *_ = open_page(path)
    assert page.locator("div.proof, div.theorem, div.lemma, div.definition").count() >= 1
    assert page.locator("div.exercise").count() >= 1
    assert page.locator("div.solution, details.solution, .dropdown").count() >= 1
    # Solutions start folded.
    opened = page.evaluate(
        "() => [...document.querySelectorAll('details.solution, details.dropdown')]"
        ".filter(d => d.open).length"
    )
    assert opened == 0


def test_navigation_reaches_every_chapter(open_page):
    page, *_ = open_page("book/intro.html")
    hrefs = page.evaluate(
        "() => [...document.querySelectorAll('nav.bd-docs-nav a.reference.internal')]"
        ".map(a => new URL(a.href).pathname)"
    )
    for path in PAGES[1:]:
        assert any(h.endswith(path) for h in hrefs), f"{path} missing from the navigation"
    # Numbering follows the notes: chapter 1.1.1 is 'Gambling Problems'.
    nav_text = page.locator("nav.bd-docs-nav").text_content()
    assert re.search(r"1\.1\.1\.?\s+Gambling Problems", nav_text), nav_text[:500]


def test_launch_and_download_buttons(open_page):
    page, *_ = open_page("book/stochastic/01-gamblers-ruin.html")
    html = page.content()
    assert "colab.research.google.com" in html and "mybinder.org" in html
    assert page.locator("a[href$='01-gamblers-ruin.ipynb']").count() >= 1


# The frame the page shows, and what its sliders say: both as {name: formatted value}.
_SHOWN = """f => {
  const shown = [...f.querySelectorAll('img.sprl-frame')].filter(i => !i.hidden);
  const said = {};
  f.querySelectorAll('input[type=range]').forEach(s => {
    said[s.dataset.name] = JSON.parse(s.dataset.values)[+s.value];
    if (s.nextElementSibling.textContent !== said[s.dataset.name]) said.__label = false;
  });
  return {n: shown.length, frame: shown.length ? JSON.parse(shown[0].dataset.params) : null,
          said: said, loaded: shown.length === 1 && shown[0].complete
                              && shown[0].naturalWidth > 0};
}"""


@pytest.mark.parametrize("path", CHAPTERS)
def test_every_slider_shows_the_frame_drawn_for_its_values(open_page, path):
    """Move each slider of each figure to both ends and the middle; after every move
    exactly one frame shows, and it is the one rendered for the values the sliders
    display (each frame carries its parameter values in data-params)."""
    page, *_ = open_page(path)
    figures = page.locator(".sprl-figure")
    assert figures.count() >= 1, "every chapter has an interactive figure"
    # Our figures' ids are unique on the page (sphinx-proof and sphinx-exercise repeat
    # ids such as 'proof-content' themselves; those are not ours to fix).
    ids = page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)")
    ours = page.evaluate("() => [...document.querySelectorAll('.sprl-figure')].map(e => e.id)")
    assert all(ours) and all(ids.count(i) == 1 for i in ours), f"duplicate figure ids: {ours}"
    for i in range(figures.count()):
        figure = figures.nth(i)
        figure.scroll_into_view_if_needed()
        sliders = figure.locator("input[type=range]:not([disabled])")
        assert sliders.count() >= 1, f"figure {i} on {path} has no slider that moves"
        first_src = figure.locator("img.sprl-frame:not([hidden])").get_attribute("src")
        moved_src = set()
        for j in range(sliders.count()):
            slider = sliders.nth(j)
            top = int(slider.get_attribute("max"))
            for position in (0, top, top // 2):
                slider.fill(str(position))  # sets the value and fires 'input'
                state = figure.evaluate(_SHOWN)
                assert state["n"] == 1 and state["loaded"], (path, i, j, position, state)
                assert "__label" not in state["said"], f"a slider label is stale: {state}"
                assert state["frame"] == state["said"], (path, i, j, position, state)
                moved_src.add(figure.locator("img.sprl-frame:not([hidden])")
                              .get_attribute("src"))
        assert moved_src - {first_src}, f"figure {i} on {path} never redrew"


def test_library_reference_renders_and_links_to_chapters(open_page, server):
    """A formula of a docstring renders; an entry's "Used in" link reaches its chapter,
    and a chapter's list of entries reaches the reference."""
    page, *_ = open_page("book/api.html")
    _wait_for_math(page)
    entry = page.locator("dl.py.function").filter(has=page.locator("#sprl\\.gambling\\.win_probability"))
    assert entry.locator("mjx-container").count() >= 1, "the docstring's formula did not render"
    link = entry.locator("p:has-text('Used in') a").first
    link.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("book/stochastic/01-gamblers-ruin.html")
    back = page.locator(".sprl-entries-used a[href*='api.html#sprl.gambling.win_probability']")
    assert back.count() == 1
    back.click()
    page.wait_for_load_state("load")
    assert page.url.endswith("api.html#sprl.gambling.win_probability")
    assert page.locator("[id='sprl.gambling.win_probability']").is_visible()


@pytest.mark.parametrize("path", CHAPTERS)
def test_chapter_lists_the_library_entries_it_uses(open_page, path):
    page, *_ = open_page(path)
    links = page.locator(".sprl-entries-used a.reference.internal")
    assert links.count() >= 2
    assert all("api.html#sprl." in links.nth(i).get_attribute("href")
               for i in range(links.count()))

"""Headless chromium (Debian's, through Playwright's sync API) drawing the cluster page at an
exact moment.

    with Renderer() as r:
        png = r.png(server_url, "shot", View(width=1366, height=768, panel="etcd", theme="dark"))

The page is opened through a kiosk link (static/js/kiosk.js) with freeze=1 and reduced
motion, and the picture is taken once `<html data-kiosk-ready>` says the page has settled on
the cluster's current event seq. With a panel, component or node, only that element's box is
taken (Playwright's element screenshot).
"""

import io
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--no-first-run", "--disable-quic", "--font-render-hinting=none", "--hide-scrollbars"]
PANELS = ("etcd", "scheduler", "controllers", "traffic", "nodes", "requests", "controlplane")
LANGS = ("en", "zh-Hans")
THEMES = ("light", "dark")
SETTLE_TIMEOUT_MS = 20_000
MAX_FIT_HEIGHT = 4000  # the tallest window a framed panel may ask for


class RenderError(Exception):
    """A picture that could not be made, with the option at fault (or None)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message, self.field = message, field


@dataclass(frozen=True)
class View:
    width: int = 1920
    height: int = 1080
    device_scale: float = 1.0
    lang: str | None = None
    theme: str = "light"
    panel: str | None = None
    component: str | None = None
    node: str | None = None
    controls: bool = True
    zoom: float = 1.0  # the kiosk link's scale (CSS zoom)
    present: bool = False  # presentation mode (static/js/present.js): large type, high contrast, no chrome

    def check(self) -> "View":
        def need(ok: bool, message: str, field: str) -> None:
            if not ok:
                raise RenderError(message, field)
        need(320 <= self.width <= 3840, "width must be from 320 to 3840 pixels", "width")
        need(240 <= self.height <= 2160, "height must be from 240 to 2160 pixels", "height")
        need(0.5 <= self.device_scale <= 3, "scale must be from 0.5 to 3", "scale")
        need(0.5 <= self.zoom <= 3, "zoom must be from 0.5 to 3", "zoom")
        need(self.lang is None or self.lang in LANGS, f"lang must be one of: {', '.join(LANGS)}", "lang")
        need(self.theme in THEMES, f"theme must be one of: {', '.join(THEMES)}", "theme")
        need(self.panel is None or self.panel in PANELS, f"panel must be one of: {', '.join(PANELS)}", "panel")
        need(sum(x is not None for x in (self.panel, self.component, self.node)) <= 1, "frame one thing: panel, component or node", "panel")
        return self

    def query(self) -> str:
        q = {"freeze": "1", "theme": self.theme}
        for key in ("lang", "panel", "component", "node"):
            if getattr(self, key) is not None:
                q[key] = getattr(self, key)
        if not self.controls:
            q["controls"] = "0"
        if self.zoom != 1:
            q["scale"] = f"{self.zoom:g}"
        if self.present:
            q["present"] = "1"
        return urllib.parse.urlencode(q)

    @property
    def framed(self) -> bool:
        return any(x is not None for x in (self.panel, self.component, self.node))


def call(base: str, method: str, path: str, body: dict | None = None, *, raw: bytes | None = None, timeout: float = 120) -> dict:
    """A REST call to the server; RenderError with the server's {"error", "field"} on 4xx/5xx."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base + path, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            text = response.read()
            return json.loads(text) if text else {}
    except urllib.error.HTTPError as err:
        try:
            problem = json.loads(err.read())
        except ValueError:
            problem = {"error": f"HTTP {err.code}"}
        raise RenderError(f"{method} {path}: {problem.get('error')}", problem.get("field")) from None
    except OSError as exc:
        raise RenderError(f"cannot reach the server at {base}: {exc}", "url") from None


class Renderer:
    """One chromium for many pictures (a context per picture: nothing carries over)."""

    def __init__(self, chromium: str = CHROMIUM):
        self.chromium = chromium

    def __enter__(self) -> "Renderer":
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            raise RenderError("Playwright is not installed (pip install -r requirements-dev.txt)") from None
        if not Path(self.chromium).exists():
            raise RenderError(f"{self.chromium} is not installed (apt-get install chromium)")
        self._pw = sync_playwright().start()
        self.browser = self._pw.chromium.launch(executable_path=self.chromium, args=CHROMIUM_ARGS)
        return self

    def __exit__(self, *exc) -> None:
        self.browser.close()
        self._pw.stop()

    # --- a page at the cluster's moment ------------------------------------------------------
    def open(self, base: str, cluster: str, view: View):
        view.check()
        context = self.browser.new_context(viewport={"width": view.width, "height": view.height}, device_scale_factor=view.device_scale,
                                           color_scheme=view.theme, reduced_motion="reduce", locale=view.lang or "en")
        page = context.new_page()
        page.set_default_timeout(SETTLE_TIMEOUT_MS)
        page.goto(f"{base}/clusters/{urllib.parse.quote(cluster)}/?{view.query()}")
        return page

    @staticmethod
    def settle(page, seq: int | None) -> None:
        """Wait until the page has drawn a settled picture at event seq `seq` (None: any, for a running cluster)."""
        # a selector, not wait_for_function: the page's Content-Security-Policy forbids eval
        page.wait_for_selector("html[data-kiosk-ready='true']" + ("" if seq is None else f"[data-kiosk-seq='{int(seq)}']"), state="attached")
        # two more frames: the last renderer's DOM writes are painted
        page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")

    @staticmethod
    def target(page, view: View):
        if not view.framed:
            return None
        locator = page.locator("[data-kiosk-framed='true']")
        if locator.count() == 0:
            what = view.panel or view.component or view.node
            field = "panel" if view.panel else ("component" if view.component else "node")
            raise RenderError(f"nothing to frame: {what} is not on this cluster's page", field)
        return locator.first

    def shoot(self, page, view: View) -> bytes:
        element = self.target(page, view)
        if element is not None:
            self.fit(page, element, view)
            return element.screenshot(animations="disabled", caret="hide")
        return page.screenshot(animations="disabled", caret="hide")

    @staticmethod
    def moment(base: str, cluster: str) -> int | None:
        """The seq to wait for: a paused cluster's last one; a running cluster's moves on."""
        summary = call(base, "GET", f"/api/clusters/{urllib.parse.quote(cluster)}")
        return summary["last_seq"] if summary["paused"] else None

    @staticmethod
    def fit(page, element, view: View) -> None:
        """A framed element taller than the stage shows (the stage scrolls and clips it) gets a
        taller window, so the picture holds all of it rather than what lies below the stage."""
        for _ in range(3):
            shown = page.evaluate("""(el) => {
                const stage = document.getElementById('stage');
                const box = el.getBoundingClientRect();
                const room = stage && stage.contains(el) ? stage.clientHeight : window.innerHeight;
                return { need: Math.ceil(box.height), room };
            }""", element.element_handle())
            missing = shown["need"] - shown["room"]
            if missing <= 0:
                return
            height = min(MAX_FIT_HEIGHT, page.viewport_size["height"] + missing + 8)
            if height == page.viewport_size["height"]:
                return
            page.set_viewport_size({"width": view.width, "height": height})
            page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")
            element.scroll_into_view_if_needed()

    def png(self, base: str, cluster: str, view: View) -> bytes:
        seq = self.moment(base, cluster)
        page = self.open(base, cluster, view)
        try:
            self.settle(page, seq)
            return self.shoot(page, view)
        finally:
            page.context.close()

    def svg(self, base: str, cluster: str, view: View) -> str:
        """The page's own vector export (static/js/export-svg.js) of the view."""
        seq = self.moment(base, cluster)
        page = self.open(base, cluster, view)
        try:
            self.settle(page, seq)
            self.target(page, view)
            return page.evaluate("() => window.clusterscopeExport.svg()")
        finally:
            page.context.close()

    def clip(self, base: str, cluster: str, view: View, *, frames: int, interval: float) -> list[bytes]:
        """`frames` pictures, the clock advanced `interval` virtual seconds between two (the
        cluster must be paused; it is left at the last frame's moment)."""
        name = urllib.parse.quote(cluster)
        summary = call(base, "GET", f"/api/clusters/{name}")
        if not summary["paused"]:
            raise RenderError("the cluster must be paused to film it at fixed virtual-time intervals", "cluster")
        page = self.open(base, cluster, view)
        shots = []
        try:
            seq = summary["last_seq"]
            for i in range(frames):
                if i:
                    seq = call(base, "POST", f"/api/clusters/{name}/advance", {"seconds": interval})["last_seq"]
                self.settle(page, seq)
                shots.append(self.shoot(page, view))
        finally:
            page.context.close()
        return shots


def animate(pngs: list[bytes], fps: float, fmt: str = "webp") -> bytes:
    """An animated WebP or PNG (Pillow) from same-sized frames, looping, at `fps` frames a second."""
    from PIL import Image

    images = [Image.open(io.BytesIO(p)).convert("RGB") for p in pngs]
    size = images[0].size
    images = [im if im.size == size else im.resize(size) for im in images]
    out = io.BytesIO()
    duration = int(round(1000 / fps))
    if fmt == "webp":
        images[0].save(out, format="WEBP", save_all=True, append_images=images[1:], duration=duration, loop=0, lossless=False, quality=80, method=4)
    elif fmt == "png":
        images[0].save(out, format="PNG", save_all=True, append_images=images[1:], duration=duration, loop=0, optimize=True)
    else:
        raise RenderError("the clip format must be webp or png", "format")
    return out.getvalue()


__all__ = ["LANGS", "PANELS", "THEMES", "RenderError", "Renderer", "View", "animate", "call"]

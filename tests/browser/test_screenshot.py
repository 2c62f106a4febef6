"""Pictures for documentation (issue 10): `manage.py screenshot`, the REST pictures, the SVG
export and kiosk links, against the real daphne server of conftest.py.

The command runs as a child process (it drives its own Playwright; this module's browser is
open meanwhile). Pictures are compared with Pillow: the same options must give the same
state hash and images that differ by no more than anti-aliasing.
"""

import io
import json
import subprocess
import sys
import urllib.request
import xml.etree.ElementTree as ET

import pytest
from django.core.management import call_command

from .conftest import ROOT

Image = pytest.importorskip("PIL.Image")
ImageChops = pytest.importorskip("PIL.ImageChops")
ImageStat = pytest.importorskip("PIL.ImageStat")

SVG = "{http://www.w3.org/2000/svg}"


def screenshot(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", "screenshot", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def state_hash(output: str) -> str:
    line = next(x for x in output.splitlines() if x.startswith("state "))
    return line.split()[1]


def not_blank(image) -> None:
    """A real picture: many colours and contrast, not one flat fill."""
    rgb = image.convert("RGB")
    assert len(rgb.getcolors(maxcolors=1_000_000) or []) > 50
    assert max(ImageStat.Stat(rgb).stddev) > 20


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.headers["Content-Type"], r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


@pytest.fixture(scope="module")
def shots(server, tmp_path_factory):
    """The same options twice (the second replaces the first run's cluster): both pictures."""
    out = tmp_path_factory.mktemp("shots")
    runs = []
    for i in (1, 2):
        path = out / f"run{i}.png"
        done = screenshot("--url", server.url, "--cluster", "shot", "--replace", "--scenario", "etcd-leader-partition", "--step", "2",
                          "--width", "1024", "--height", "700", "--no-controls", "-o", str(path))
        assert done.returncode == 0, done.stderr
        runs.append((state_hash(done.stdout), Image.open(path)))
    return runs


def test_the_command_writes_the_size_asked_and_a_real_picture(shots, artifacts):
    _, image = shots[0]
    image.save(artifacts / "screenshot-command.png")
    assert image.size == (1024, 700)
    not_blank(image)


def test_one_seed_gives_one_state_and_one_picture(shots):
    (hash1, image1), (hash2, image2) = shots
    assert hash1 == hash2 and len(hash1) == 64
    diff = ImageStat.Stat(ImageChops.difference(image1.convert("RGB"), image2.convert("RGB"))).mean
    assert max(diff) < 1.0, f"mean absolute difference per channel {diff}: more than anti-aliasing"


def test_a_framed_panel_is_its_bounding_box(server, shots, open_page, artifacts):
    status, kind, body = fetch(f"{server.url}/api/clusters/shot/screenshot.png?width=1366&height=768&panel=etcd&theme=dark")
    assert status == 200 and kind == "image/png", body[:200]
    image = Image.open(io.BytesIO(body))
    image.save(artifacts / "screenshot-etcd-dark.png")
    not_blank(image)
    page = open_page("/clusters/shot/?freeze=1&panel=etcd&theme=dark", width=1366, height=768, color_scheme="dark", reduced_motion="reduce")
    page.wait_for_selector("html[data-kiosk-ready='true']", state="attached")
    box = page.locator("#zone-etcd").bounding_box()
    assert page.locator("#zone-etcd").get_attribute("data-kiosk-framed") == "true"
    assert abs(image.size[0] - round(box["width"])) <= 1 and abs(image.size[1] - round(box["height"])) <= 1, (image.size, box)
    # the picture is the dark theme's: its background is dark
    assert sum(image.convert("RGB").resize((1, 1)).getpixel((0, 0))) < 3 * 110
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"


def test_the_svg_parses_and_holds_the_components_shown(server, shots, open_page):
    status, kind, body = fetch(f"{server.url}/api/clusters/shot/export.svg?width=1366&height=768")
    assert status == 200 and kind.startswith("image/svg+xml"), body[:200]
    root = ET.fromstring(body)
    assert root.tag == f"{SVG}svg" and float(root.get("width")) > 300
    text = body.decode()
    for bad in ("<image", "<link", "@import", "url(http", 'href="http', "<script"):
        assert bad not in text, f"an external reference: {bad}"
    in_svg = {g.get("data-component") for g in root.iter(f"{SVG}g") if g.get("data-component")}
    page = open_page("/clusters/shot/?freeze=1", width=1366, height=768, reduced_motion="reduce")
    page.wait_for_selector("html[data-kiosk-ready='true']", state="attached")
    shown = set(page.evaluate("""() => {
        const stage = document.getElementById('stage').getBoundingClientRect();
        return [...document.querySelectorAll('#stage [data-component]')].filter((el) => {
            const r = el.getBoundingClientRect();
            return r.width > 1 && r.height > 1 && r.bottom > stage.top && r.top < stage.bottom && getComputedStyle(el).visibility !== 'hidden';
        }).map((el) => el.dataset.component);
    }"""))
    assert {"etcd-0", "etcd-1", "etcd-2", "kube-apiserver", "kube-scheduler"} <= shown
    assert shown <= in_svg, f"shown but not in the SVG: {shown - in_svg}"
    # each component's group carries its name as text (a long name may wrap after a hyphen)
    for g in root.iter(f"{SVG}g"):
        name = g.get("data-component")
        if name in shown:
            assert name in "".join(t.text or "" for t in g.iter(f"{SVG}text")).replace(" ", ""), name


def test_kiosk_link_options(server, shots, open_page):
    page = open_page("/clusters/shot/?freeze=1&controls=0&lang=zh-Hans&scale=1.25&theme=dark", width=1366, height=768)
    page.wait_for_selector("html[data-kiosk-ready='true']", state="attached")
    root = page.locator("html")
    assert root.get_attribute("lang") == "zh-Hans" and root.get_attribute("data-theme") == "dark"
    assert page.evaluate("document.documentElement.style.zoom") == "1.25"
    assert not page.locator("#btn-play").is_visible() and not page.locator("#btn-export-svg").is_visible()
    assert page.locator("#clock-time").is_visible()  # the moment stays on the picture
    # frozen: the drawn time is exactly the server's
    status, summary = server.api("GET", "/api/clusters/shot")
    assert page.evaluate("window.clusterscope.model.shownTime") == summary["time"]
    assert page.problems == []


@pytest.mark.parametrize(("query", "status", "field"), [
    ("width=10", 400, "width"),
    ("panel=bogus", 400, "panel"),
    ("theme=sepia", 400, "theme"),
    ("colour=red", 400, "colour"),
    ("panel=etcd&node=node-1", 400, "panel"),
    ("node=node-9", 400, "node"),
])
def test_bad_rest_options_get_clear_errors(server, shots, query, status, field):
    code, kind, body = fetch(f"{server.url}/api/clusters/shot/screenshot.png?{query}")
    assert (code, kind) == (status, "application/json")
    problem = json.loads(body)
    assert problem["field"] == field and problem["error"]


def test_unknown_cluster_is_404(server):
    code, kind, body = fetch(f"{server.url}/api/clusters/no-such/export.svg")
    assert code == 404 and kind == "application/json" and b"no-such" in body


@pytest.mark.parametrize(("args", "message"), [
    (["--step", "2"], "step needs a scenario"),
    (["--scenario", "etcd-leader-partition", "--step", "99"], "step must be from 1 to"),
    (["--clip", "x.gif"], "--clip must end in .webp or .png"),
])
def test_bad_command_options_exit_2_with_the_reason(args, message):
    # in this process: these are refused before any browser or server starts
    err = io.StringIO()
    with pytest.raises(SystemExit) as stop:
        call_command("screenshot", *args, stdout=io.StringIO(), stderr=err)
    assert stop.value.code == 2 and message in err.getvalue(), err.getvalue()

"""`manage.py docs` (make docs) in CI: one concept's page with its pictures, in a temporary
folder (the whole docs/ takes minutes; every page is made by the same code)."""

import subprocess
import sys

import pytest

from dashboard.capture.build import Setup, build
from dashboard.capture.docs import HEIGHT, WIDTH

from .conftest import CHROMIUM, ROOT

Image = pytest.importorskip("PIL.Image")


@pytest.mark.skipif(not __import__("pathlib").Path(CHROMIUM).exists(), reason=f"{CHROMIUM} is not installed")
def test_docs_command_makes_a_page_with_its_pictures_at_the_lessons_state(tmp_path):
    done = subprocess.run([sys.executable, "manage.py", "docs", "--out", str(tmp_path), "--only", "etcd-odd-members", "--no-clips"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "etcd-odd-members.md").read_text()
    assert page.startswith("# Why etcd runs an odd number of members")
    assert "![The dashboard after step 3" in page and "(img/etcd-odd-members-etcd.png)" in page
    full = Image.open(tmp_path / "img" / "etcd-odd-members.png")
    panel = Image.open(tmp_path / "img" / "etcd-odd-members-etcd.png")
    assert full.size == (WIDTH, HEIGHT)
    assert panel.size[0] < WIDTH and panel.size[1] > 100
    # the page names the state its pictures show: the lesson's, built again here
    expected = build(Setup(name="etcd-odd-members", scenario="etcd-odd-members")).state_hash()
    assert f"`{expected[:16]}`" in page

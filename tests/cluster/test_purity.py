"""cluster/ is a pure, deterministic simulation: it must not reach for a web framework,
an event loop, threads, the wall clock or an unseeded random source."""

import ast
from pathlib import Path

import pytest

CLUSTER = Path(__file__).resolve().parents[2] / "cluster"
FORBIDDEN_MODULES = {"django", "channels", "daphne", "asyncio", "time", "random", "threading", "multiprocessing", "concurrent", "socket", "secrets", "uuid", "twisted"}
FORBIDDEN_CALLS = {("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("date", "today"), ("os", "urandom"), ("os", "getrandom")}


def modules():
    return sorted(CLUSTER.rglob("*.py"))


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if name.split(".")[0] in FORBIDDEN_MODULES:
                found.append(f"{path.relative_to(CLUSTER.parent)}:{node.lineno} imports {name}")
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and isinstance(node.func.value, ast.Name):
            if (node.func.value.id, node.func.attr) in FORBIDDEN_CALLS:
                found.append(f"{path.relative_to(CLUSTER.parent)}:{node.lineno} calls {node.func.value.id}.{node.func.attr}()")
        if isinstance(node, ast.Name) and node.id == "__import__":
            found.append(f"{path.relative_to(CLUSTER.parent)}:{node.lineno} uses __import__")
    return found


def test_there_is_something_to_check():
    assert len(modules()) >= 5


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(CLUSTER.parent)))
def test_module_is_pure(path):
    assert violations(path) == []


def test_the_checker_catches_violations(tmp_path):
    bad = tmp_path / "cluster" / "bad.py"
    bad.parent.mkdir()
    bad.write_text("import time\nfrom random import choice\nfrom django.conf import settings\nimport datetime\ndatetime.now()\n")
    global CLUSTER
    saved, CLUSTER = CLUSTER, bad.parent
    try:
        found = violations(bad)
    finally:
        CLUSTER = saved
    assert len(found) == 4

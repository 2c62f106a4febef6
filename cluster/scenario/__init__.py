"""Scripted scenarios (lessons): YAML files in scenarios/, validated (schema.py, loader.py),
played against simulated clusters (run.py). No Django: a lesson runs headless from a
test, a script or the dashboard alike. The file format: scenarios/README.md."""

from pathlib import Path

from .loader import MAX_BYTES, ScenarioError, load_text
from .run import ScenarioRun, advance_all, cluster_configs, run_fast
from .schema import LANGUAGES, Scenario

BUILTIN_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def load_file(path: str | Path) -> Scenario:
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ScenarioError(f"cannot read the file: {exc.strerror}", source=str(path)) from None
    return load_text(data, source=str(path))


def builtin() -> dict[str, Scenario]:
    """The built-in lessons by id, in file-name order (ids are checked to match file names)."""
    out = {}
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        scenario = load_file(path)
        if scenario.id != path.stem:
            raise ScenarioError(f"the id {scenario.id!r} differs from the file name", source=str(path))
        out[scenario.id] = scenario
    return out


__all__ = ["BUILTIN_DIR", "LANGUAGES", "MAX_BYTES", "Scenario", "ScenarioError", "ScenarioRun", "advance_all", "builtin", "cluster_configs", "load_file",
           "load_text", "run_fast"]

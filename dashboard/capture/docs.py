"""The docs/ folder: a page per concept (one per built-in lesson) with its pictures and a
clip, and the README's picture, all made by `manage.py docs` (`make docs`).

Every picture is `manage.py screenshot`'s: a cluster built headless from the lesson stopped
after a step (the same state on any machine: each page prints its state hash), drawn frozen
by chromium. What each page shows is chosen here, next to the lesson's id.
"""

from dataclasses import dataclass
from pathlib import Path

from cluster.scenario import builtin

from .browser import Renderer, View, animate, call
from .build import Setup, build

WIDTH, HEIGHT = 1366, 768  # a laptop's screen: the pictures stay small enough for a repository
CLIP_FRAMES, CLIP_INTERVAL, CLIP_FPS = 8, 0.5, 4  # 8 frames 0.5 virtual s apart, played at 4 frames a second


@dataclass(frozen=True)
class Page:
    lesson: str
    panel: str  # the panel framed in the second picture and the clip
    step: int | None = None  # the picture after this step (default: the last)


PAGES = [
    Page("etcd-odd-members", "etcd"),
    Page("etcd-leader-partition", "etcd", step=3),
    Page("watch-relist", "requests"),
    Page("apiserver-pipeline", "controlplane"),
    Page("controllers-reconcile", "controllers"),
    Page("lifecycle-deletion", "controllers"),
    Page("scheduling-pending", "scheduler"),
    Page("kubelet-crashloop", "nodes"),
    Page("kube-proxy-endpoints", "traffic"),
    Page("kube-proxy-modes", "traffic"),
    Page("node-failure", "nodes"),
]
README_PICTURE = Setup(name="demo", demo=True, time=45.0)  # the README's dashboard: the demo application 45 virtual seconds in


def _text(t) -> str:
    return t.en if t is not None else ""


def make_page(base: str, renderer: Renderer, page: Page, out: Path, *, clip: bool, log) -> str:
    """Build the lesson's state, draw its pictures into out/img/, write out/<lesson>.md; its state hash."""
    scenario = builtin()[page.lesson]
    built = build(Setup(name=page.lesson, scenario=page.lesson, step=page.step))
    try:
        call(base, "DELETE", f"/api/clusters/{page.lesson}")
    except Exception:  # noqa: BLE001 - there was none
        pass
    call(base, "POST", "/api/clusters/import", raw=built.export_text().encode())
    img = out / "img"
    img.mkdir(parents=True, exist_ok=True)
    (img / f"{page.lesson}.png").write_bytes(renderer.png(base, page.lesson, View(width=WIDTH, height=HEIGHT, controls=False)))
    (img / f"{page.lesson}-{page.panel}.png").write_bytes(renderer.png(base, page.lesson, View(width=WIDTH, height=HEIGHT, panel=page.panel, controls=False)))
    if clip:
        frames = renderer.clip(base, page.lesson, View(width=WIDTH, height=HEIGHT, panel=page.panel, controls=False), frames=CLIP_FRAMES,
                               interval=CLIP_INTERVAL)
        (img / f"{page.lesson}.webp").write_bytes(animate(frames, CLIP_FPS))
    step_no = built.steps_played
    lines = [
        f"# {_text(scenario.title)}",
        "",
        _text(scenario.summary).strip(),
        "",
        f"![The dashboard after step {step_no} of the {page.lesson} lesson](img/{page.lesson}.png)",
        "",
        f"The {page.panel} panel at the same moment:",
        "",
        f"![The {page.panel} panel after step {step_no}](img/{page.lesson}-{page.panel}.png)",
        "",
    ]
    if clip:
        lines += [f"The next {CLIP_FRAMES * CLIP_INTERVAL:g} virtual seconds, a frame every {CLIP_INTERVAL:g} s, played at {CLIP_FPS} frames a second:", "",
                  f"![The {page.panel} panel moving on from step {step_no}](img/{page.lesson}.webp)", ""]
    lines += ["## The steps", ""]
    for i, step in enumerate(scenario.steps, 1):
        mark = " (the pictures above)" if i == step_no else ""
        lines.append(f"{i}. **{_text(step.title)}**{mark}")
        if step.narrate is not None:
            lines += ["", "   " + " ".join(_text(step.narrate).split()), ""]
    lines += ["", "## Try it", "", "```sh", f".venv/bin/python manage.py run_scenario {page.lesson}",
              f".venv/bin/python manage.py screenshot --scenario {page.lesson} --step {step_no} --panel {page.panel} -o {page.lesson}.png", "```", "",
              f"Made by `make docs` from the built-in lesson; the pictures show the state `{built.state_hash()[:16]}` "
              f"(virtual time {built.cluster.time:g} s, the state hash's first 16 digits), the same on every machine.", ""]
    (out / f"{page.lesson}.md").write_text("\n".join(lines), encoding="utf-8")
    log(f"{page.lesson}: step {step_no}, {built.cluster.time:g} s, state {built.state_hash()[:16]}")
    return built.state_hash()


def make_index(out: Path, pages: list[Page]) -> None:
    lessons = builtin()
    lines = ["# Clusterscope, concept by concept", "", "One page per built-in lesson, each with pictures of the dashboard at an exact moment and a short clip.",
             "Every picture is made by one command, `make docs` (`manage.py docs`), from the lessons in `scenarios/`:",
             "the same states, hence the same pictures, on any machine.", "", "| concept | lesson |", "|---|---|"]
    for page in pages:
        lines.append(f"| [{_text(lessons[page.lesson].title)}]({page.lesson}.md) | `{page.lesson}` |")
    (out / "README.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


def make_readme_picture(base: str, renderer: Renderer, out: Path, log) -> str:
    built = build(README_PICTURE)
    try:
        call(base, "DELETE", "/api/clusters/demo")
    except Exception:  # noqa: BLE001 - there was none
        pass
    call(base, "POST", "/api/clusters/import", raw=built.export_text().encode())
    (out / "screenshot.png").write_bytes(renderer.png(base, "demo", View(width=1920, height=1080)))
    log(f"screenshot.png: the demo cluster at {built.cluster.time:g} s, state {built.state_hash()[:16]}")
    return built.state_hash()

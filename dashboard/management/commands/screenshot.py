"""manage.py screenshot: the exact picture (PNG, SVG or an animated clip) of a cluster's dashboard.

    manage.py screenshot --scenario etcd-leader-partition --step 3 --panel etcd --theme dark -o leader.png
    manage.py screenshot --time 20 --seed 7 --width 1366 --height 768 --lang zh-Hans --no-controls -o demo.png
    manage.py screenshot --scenario controllers-reconcile --step 2 --present --theme dark -o slide.png
    manage.py screenshot --scenario node-failure --step 2 --clip failover.webp --frames 12 --interval 0.5
    manage.py screenshot --url http://127.0.0.1:8000 --cluster demo --svg demo.svg

The cluster is built headless from the options (a scenario stopped after a step, or at a
virtual time; a seed; the fixed default epoch), so the same options always give the same
state: its hash is printed, and checked again on the server after import. Without --url the
command starts its own server (daphne on a free loopback port, a temporary database); with
--url and --cluster of an existing cluster, that cluster is drawn as it stands (paused for
the picture if it was running, then resumed). The page is drawn frozen at the server's
paused time with reduced motion (static/js/kiosk.js), so two runs give the same picture up
to anti-aliasing. Exit status: 0 written, 2 bad options or a picture that could not be made.
"""

import sys
import time
import urllib.parse
from pathlib import Path

from django.core.management.base import BaseCommand

from cluster.commands import CommandError

from ...capture.browser import LANGS, PANELS, THEMES, Renderer, RenderError, View, animate, call
from ...capture.build import Setup, build
from ...capture.server import OwnServer


class Command(BaseCommand):
    help = "Render a cluster's dashboard at an exact moment to PNG (or SVG, or an animated clip), reproducibly."

    def add_arguments(self, parser):
        state = parser.add_argument_group("the cluster's state")
        state.add_argument("--scenario", help="a built-in lesson's id (scenarios/); its main cluster is drawn")
        state.add_argument("--step", type=int, help="stop after this step of the scenario (1 = the first; default: all)")
        state.add_argument("--time", type=float, help="virtual seconds to stop at (alone, or after --step)")
        state.add_argument("--seed", type=int, help="the cluster's seed (default: the scenario's, else 1)")
        state.add_argument("--nodes", type=int, help="worker nodes (default: the scenario's, else 3)")
        state.add_argument("--members", type=int, help="etcd members (default: the scenario's, else 3)")
        state.add_argument("--profile", choices=("teaching", "realistic"), help="the timing profile")
        state.add_argument("--cluster", default=None, help="the cluster's name (default shot); with --url and no state options: draw this existing cluster")
        state.add_argument("--url", help="use this running server (e.g. http://127.0.0.1:8000) instead of starting one")
        state.add_argument("--replace", action="store_true", help="with --url: delete a cluster of the same name first")
        view = parser.add_argument_group("the picture")
        view.add_argument("-o", "--out", help="the PNG to write (default: <cluster>.png unless --svg or --clip)")
        view.add_argument("--width", type=int, default=1920, help="viewport width in CSS pixels (default 1920)")
        view.add_argument("--height", type=int, default=1080, help="viewport height in CSS pixels (default 1080)")
        view.add_argument("--scale", type=float, default=1.0, help="device scale factor: 2 doubles the pixels (default 1)")
        view.add_argument("--zoom", type=float, default=1.0, help="the page's own zoom, as a kiosk link's ?scale= (default 1)")
        view.add_argument("--lang", choices=LANGS, help="the page's language")
        view.add_argument("--theme", choices=THEMES, default="light")
        view.add_argument("--panel", choices=PANELS, help="frame this panel: the picture is its bounding box")
        view.add_argument("--component", help="frame this component's box (e.g. kube-scheduler, etcd-2)")
        view.add_argument("--node", help="frame this node's card (e.g. node-2)")
        view.add_argument("--no-controls", action="store_true", help="hide the buttons and forms")
        view.add_argument("--present", action="store_true", help="presentation mode: large type, high contrast, no tool bars, event log or legend")
        view.add_argument("--svg", help="also (or only) write the view as a standalone SVG here")
        clip = parser.add_argument_group("an animated clip")
        clip.add_argument("--clip", help="write an animated WebP (.webp) or PNG (.png) here")
        clip.add_argument("--frames", type=int, default=10, help="frames in the clip (default 10)")
        clip.add_argument("--interval", type=float, default=0.5, help="virtual seconds between two frames (default 0.5)")
        clip.add_argument("--fps", type=float, default=4, help="frames a second when played (default 4)")

    def handle(self, *args, **o):
        try:
            self._handle(o)
        except (RenderError, CommandError) as exc:
            field = f" [{exc.field}]" if getattr(exc, "field", None) else ""
            self.stderr.write(f"screenshot: {exc.message}{field}")
            sys.exit(2)

    def _handle(self, o: dict) -> None:
        view = View(width=o["width"], height=o["height"], device_scale=o["scale"], lang=o["lang"], theme=o["theme"], panel=o["panel"],
                    component=o["component"], node=o["node"], controls=not o["no_controls"], zoom=o["zoom"], present=o["present"]).check()
        if o["clip"] and not (1 <= o["frames"] <= 200 and 0 < o["interval"] <= 600 and 0.1 <= o["fps"] <= 60):
            raise RenderError("a clip has 1 to 200 frames, an interval over 0 and at most 600 s, and 0.1 to 60 fps", "frames")
        if o["clip"] and Path(o["clip"]).suffix.lower() not in (".webp", ".png"):
            raise RenderError("--clip must end in .webp or .png", "clip")
        stateful = any(o[k] is not None for k in ("scenario", "step", "time", "seed", "nodes", "members", "profile"))
        existing = bool(o["url"] and o["cluster"] and not stateful)
        name = o["cluster"] or "shot"
        out = o["out"] or (None if (o["svg"] or o["clip"]) else f"{name}.png")
        started = time.perf_counter()
        server = None if o["url"] else OwnServer().prepare()  # its database is made while the cluster is built
        built = None
        if not existing:
            try:
                built = build(Setup(name=name, scenario=o["scenario"], step=o["step"], time=o["time"], seed=o["seed"], nodes=o["nodes"],
                                    etcd_members=o["members"], profile=o["profile"]))
            except Exception:
                if server is not None:
                    server.discard()
                raise
            self.stdout.write(f"state {built.state_hash()} at {built.cluster.time:g} s (seq {built.cluster.last_seq}, "
                              f"{built.steps_played} step(s) played, {time.perf_counter() - started:.1f} wall s)")
        if o["url"]:
            self._draw(o["url"].rstrip("/"), name, built, view, o, out, replace=o["replace"])
        else:
            with server:
                self._draw(server.url, name, built, view, o, out, replace=False)

    def _draw(self, base: str, name: str, built, view: View, o: dict, out: str | None, *, replace: bool) -> None:
        quoted = urllib.parse.quote(name)
        resume = False
        if built is not None:
            if replace:
                try:
                    call(base, "DELETE", f"/api/clusters/{quoted}")
                except RenderError:
                    pass  # there was none
            summary = call(base, "POST", "/api/clusters/import", raw=built.export_text().encode())["cluster"]
            if summary["state_hash"] != built.state_hash():
                raise RenderError(f"the server rebuilt another state ({summary['state_hash']}): another version of Clusterscope?", "url")
        else:
            summary = call(base, "GET", f"/api/clusters/{quoted}")
            if not summary["paused"]:
                summary = call(base, "PATCH", f"/api/clusters/{quoted}/clock", {"paused": True})
                resume = True
            self.stdout.write(f"state {summary['state_hash']} at {summary['time']:g} s (seq {summary['last_seq']}, existing cluster {name})")
        try:
            with Renderer() as renderer:
                if out:
                    png = renderer.png(base, name, view)
                    Path(out).write_bytes(png)
                    self.stdout.write(f"wrote {out} ({_size(png)})")
                if o["svg"]:
                    Path(o["svg"]).write_text(renderer.svg(base, name, view), encoding="utf-8")
                    self.stdout.write(f"wrote {o['svg']}")
                if o["clip"]:
                    frames = renderer.clip(base, name, view, frames=o["frames"], interval=o["interval"])
                    data = animate(frames, o["fps"], Path(o["clip"]).suffix.lower().lstrip("."))
                    Path(o["clip"]).write_bytes(data)
                    self.stdout.write(f"wrote {o['clip']} ({len(frames)} frames of {_size(frames[0])}, {o['interval']:g} virtual s apart, "
                                      f"{o['fps']:g} fps, {len(data) // 1024} KiB)")
        finally:
            if resume:
                call(base, "PATCH", f"/api/clusters/{quoted}/clock", {"paused": False})


def _size(png: bytes) -> str:
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    return f"{width}x{height} px"

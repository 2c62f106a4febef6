"""manage.py run_scenario <id or file> [--lang zh-Hans] [--profile teaching] [--json]: play a scenario headless.

For course authors and CI: the scenario runs on fresh simulated clusters as fast as the CPU
allows (no server, no database), every step and assertion is printed with what was found,
and the exit status says whether it passed: 0 passed, 1 an assertion failed (or an action
was refused), 2 the file is not a valid scenario.
"""

import json
import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from cluster.scenario import LANGUAGES, ScenarioError, builtin, load_file, run_fast


class Command(BaseCommand):
    help = "Run a scenario (a built-in lesson's id, or a YAML file) headless; exit 1 when an assertion fails."

    def add_arguments(self, parser):
        parser.add_argument("scenario", help="a built-in lesson's id (see GET /api/scenarios) or the path of a scenario file")
        parser.add_argument("--lang", choices=LANGUAGES, default="en", help="the language of titles and assertion texts")
        parser.add_argument("--json", action="store_true", help="print the run's report as JSON (the REST answer's shape)")
        parser.add_argument("--profile", choices=("teaching", "realistic"), help="the timing profile, instead of the file's")

    def handle(self, *args, scenario, lang, json: bool, profile, **options):
        try:
            loaded = self._load(scenario)
        except ScenarioError as exc:
            self.stderr.write(str(exc))
            sys.exit(2)
        started = time.perf_counter()
        run = run_fast(loaded, lang=lang, profile=profile)
        report = run.report(lang)
        if json:
            self.stdout.write(_json(report))
        else:
            self._print(report, time.perf_counter() - started)
        if not report["passed"]:
            sys.exit(1)

    def _load(self, scenario: str):
        path = Path(scenario)
        if path.suffix in (".yaml", ".yml", ".json") or path.exists():
            if not path.is_file():
                raise CommandError(f"no such file: {scenario}")
            return load_file(path)
        lessons = builtin()
        if scenario not in lessons:
            raise CommandError(f"no built-in lesson {scenario!r}: one of {', '.join(lessons)}, or a file path")
        return lessons[scenario]

    def _print(self, report: dict, wall: float) -> None:
        write = self.stdout.write
        failed = 0
        for step in report["steps"]:
            mark = "PASS" if step["passed"] else "FAIL"
            write(f"{mark}  step {step['index'] + 1}: {step['title']}  (t={step['time']['start']:g}-{step['time']['end']:g} s, "
                  f"events {step['events']['first_seq']}-{step['events']['last_seq']})")
            for error in step["errors"]:
                write(f"   ✗ error: {error}")
            for assertion in step["assertions"]:
                failed += not assertion["passed"]
                write(f"   {'✓' if assertion['passed'] else '✗'} {assertion['text']}  [{assertion['detail']}]")
        total = sum(len(s["assertions"]) for s in report["steps"])
        verdict = "passed" if report["passed"] else "FAILED"
        write(f"{report['scenario']}: {verdict}: {total - failed} of {total} assertions held, {len(report['steps'])} steps, "
              f"{report['time']:g} virtual s in {wall:.1f} wall s")


def _json(report: dict) -> str:
    return json.dumps(report, ensure_ascii=False, indent=2, allow_nan=False)

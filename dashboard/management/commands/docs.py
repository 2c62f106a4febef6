"""manage.py docs [--out docs] [--only <lesson> ...] [--no-clips]: the docs/ folder, remade.

A page per built-in lesson (docs/<lesson>.md) with the dashboard after one of its steps, its
main panel at that moment and a short clip (animated WebP), docs/README.md (the index) and
docs/screenshot.png (the picture the project's README opens with). Everything is drawn by
the screenshot machinery (dashboard/capture/) on its own server; each page says the state
hash its pictures show. `make docs` runs it.
"""

import sys
import time
from pathlib import Path

from django.core.management.base import BaseCommand

from cluster.commands import CommandError

from ...capture.browser import Renderer, RenderError
from ...capture.docs import PAGES, make_index, make_page, make_readme_picture
from ...capture.server import OwnServer


class Command(BaseCommand):
    help = "Remake docs/: a page per concept with its pictures and clip, and the README's picture."

    def add_arguments(self, parser):
        parser.add_argument("--out", default="docs", help="the folder to write (default docs)")
        parser.add_argument("--only", nargs="+", metavar="LESSON", help="only these lessons' pages (no index, no README picture)")
        parser.add_argument("--no-clips", action="store_true", help="pictures only (faster)")
        parser.add_argument("--readme-only", action="store_true", help="only the README's picture (docs/screenshot.png)")

    def handle(self, *args, out, only, no_clips, readme_only, **options):
        pages = [] if readme_only else PAGES if not only else [p for p in PAGES if p.lesson in only]
        unknown = sorted(set(only or ()) - {p.lesson for p in PAGES})
        if unknown:
            self.stderr.write(f"docs: no page for {', '.join(unknown)}: one of {', '.join(p.lesson for p in PAGES)}")
            sys.exit(2)
        folder = Path(out)
        folder.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        try:
            with OwnServer() as server, Renderer() as renderer:
                for page in pages:
                    make_page(server.url, renderer, page, folder, clip=not no_clips, log=self.stdout.write)
                if not only:
                    if not readme_only:
                        make_index(folder, pages)
                    make_readme_picture(server.url, renderer, folder, self.stdout.write)
        except (RenderError, CommandError) as exc:
            self.stderr.write(f"docs: {exc.message}")
            sys.exit(2)
        self.stdout.write(f"docs: {len(pages)} page(s) in {folder}/ in {time.perf_counter() - started:.0f} wall s")

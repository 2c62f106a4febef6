"""One picture in a child process, for the REST endpoints (a crashed or stuck chromium never
takes the server with it, and the server's event loop never waits on Playwright).

    python -m dashboard.capture.worker <base url> <cluster> png|svg '<View as JSON>'

Writes the PNG or SVG bytes to stdout and exits 0; exits 2 with {"error", "field"} on stderr.
"""

import json
import sys

from .browser import Renderer, RenderError, View


def main(argv: list[str]) -> int:
    base, cluster, kind, view_json = argv
    try:
        view = View(**json.loads(view_json)).check()
        with Renderer() as renderer:
            data = renderer.png(base, cluster, view) if kind == "png" else renderer.svg(base, cluster, view).encode()
    except RenderError as exc:
        sys.stderr.write(json.dumps({"error": exc.message, "field": exc.field}))
        return 2
    sys.stdout.buffer.write(data)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

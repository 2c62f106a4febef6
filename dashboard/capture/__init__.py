"""Pictures of exact cluster states for documentation (issue 10).

    build.py    a cluster built headless from options (a scenario stopped after a step, or
                a virtual time; seed, size), as the history export file a server imports
    server.py   a private daphne server on a free port (the screenshot command's own)
    browser.py  Playwright driving Debian's chromium: the cluster page opened through a kiosk
                link (static/js/kiosk.js: frozen clock, theme, language, panel), as PNG,
                as standalone SVG (static/js/export-svg.js) or as an animated clip
    worker.py   one render in a child process (the REST endpoints' worker)

The same options give the same cluster state (its state hash is printed and checked on the
server after import) and the same picture up to anti-aliasing: the page draws exactly the
server's paused time (freeze), with reduced motion and no animations.
"""

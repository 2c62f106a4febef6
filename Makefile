# Clusterscope: the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
TLS_PORT ?= 8443

.PHONY: run test lint bench docs deps dev-deps browser postgres scaleout-servers etcd-server messages gettext clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

deps: $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements.txt

dev-deps: $(VENV)/bin/python
	$(PY) -m pip install --quiet -r requirements-dev.txt

# Debian's chromium for the browser tests (Playwright's own browser download does not work here).
# fonts-wqy-microhei: a CJK font, so pages in Chinese draw characters, not boxes.
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh | grep -q .; } || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# The UI's translations (locale/README.md): each locale/<lang>/LC_MESSAGES/*.po compiled to its
# .mo by gettext's msgfmt (Debian's gettext package); the .mo files are build products, not in git.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard locale/*/LC_MESSAGES/*.po))
gettext:
	@command -v msgfmt >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq gettext >/dev/null; }

messages: $(MO_FILES)

%.mo: %.po | gettext
	msgfmt --check-format -o $@ $<

# Debian's PostgreSQL for the history tests (tests/history starts a private instance of it;
# without it those tests run on SQLite only and say why PostgreSQL was skipped).
postgres:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql >/dev/null; } \
	  || echo "postgresql not installed: the history tests run on SQLite only"

# Debian's redis-server and nginx for the scale-out tests (tests/scaleout starts private
# instances of both on loopback ports; without them those tests are skipped and say why).
scaleout-servers:
	@{ command -v redis-server && { command -v nginx || test -x /usr/sbin/nginx; }; } >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq redis-server nginx >/dev/null; } \
	  || echo "redis-server or nginx not installed: the scale-out tests are skipped"

# Start the server at http://127.0.0.1:$(PORT)/ with a live cluster named "demo", and https on
# $(TLS_PORT) for kubectl with a classroom key (a private CA made once into var/tls/).
run: deps messages
	$(PY) manage.py migrate --verbosity 0
	$(PY) manage.py serve 127.0.0.1:$(PORT) --tls-port $(TLS_PORT)

lint: dev-deps
	$(VENV)/bin/ruff check .

# Every test, lint included: first all but the serial ones, then those alone (tests/conftest.py
# SERIAL: fixed ports, wall-clock bounds). TEST_WORKERS=2 runs the first part on two pytest-xdist
# workers (a module stays on one, with its server and browser): about 13 minutes instead of 20,
# but on 2 cores some browser tests' waits then run short, so CI keeps one.
TEST_WORKERS ?= 0
test: dev-deps browser postgres scaleout-servers messages lint
	$(PY) manage.py check
	$(PY) -m pytest -q -p no:cacheprovider -n $(TEST_WORKERS) --dist loadfile -m "not serial"
	$(PY) -m pytest -q -p no:cacheprovider -m serial

# Debian's etcd, the reference that `python -m bench etcd` starts on loopback ports. Only
# the benchmark wants it (tests never do); where it cannot be installed the benchmark
# runs anyway and says so in its reference column.
etcd-server:
	@command -v etcd >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq etcd-server >/dev/null; } \
	  || echo "etcd-server not installed: the etcd benchmark runs without its reference"

# Every benchmark's table (bench/RESULTS.md): playwright and websockets (dev-deps), chromium,
# redis-server and the real etcd are what its rows run against.
bench: dev-deps browser scaleout-servers etcd-server messages
	$(PY) -m bench

# docs/: a page per concept with pictures and a clip, and the README's picture (manage.py docs).
docs: dev-deps browser messages
	$(PY) manage.py docs

clean:
	rm -rf $(VENV) var test-artifacts

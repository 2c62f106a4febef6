"""The UI in English and Simplified Chinese (issue 9, item 5; locale/README.md): the catalogues
are complete and up to date with the sources, and the server picks the language from the
switch's cookie, the browser's Accept-Language or a `?lang=` in the address, while /api and /k8s
always answer in English."""

import os
import re
import shutil
import subprocess
import sys

import pytest

from tests.support.catalogues import DOMAINS, LANGUAGES, LOCALE, ROOT, compile_catalogues, messages, read_po

PLACEHOLDER = re.compile(r"%\((\w+)\)s")
# What `makemessages` reads (locale/README.md gives the same command): the sources, no tests.
SKIP = {".git", ".venv", "node_modules", "var", "test-artifacts", "docs", "tests", "locale", "__pycache__", ".pytest_cache", ".ruff_cache"}


def catalogue(lang: str, domain: str) -> list[dict]:
    return read_po(LOCALE / lang / "LC_MESSAGES" / f"{domain}.po")


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("domain", DOMAINS)
def test_every_message_has_a_translation_with_the_same_placeholders(lang, domain):
    entries = catalogue(lang, domain)
    header = next(e for e in entries if e["msgid"] == "")
    assert "fuzzy" not in header["flags"] and "Plural-Forms: nplurals=1; plural=0;" in header["msgstr"][0]
    found = messages(entries)
    assert len(found) > (100 if domain == "django" else 500)
    problems = []
    for e in found:
        if "fuzzy" in e["flags"]:
            problems.append(f"fuzzy: {e['msgid']!r}")
        forms = list(e["msgstr"].values())
        if not forms or not all(f.strip() for f in forms):
            problems.append(f"untranslated: {e['msgid']!r}")
            continue
        wanted = set(PLACEHOLDER.findall(e["msgid"])) | set(PLACEHOLDER.findall(e["msgid_plural"] or ""))
        for form in forms:
            if set(PLACEHOLDER.findall(form)) - wanted or (not e["msgid_plural"] and set(PLACEHOLDER.findall(form)) != wanted):
                problems.append(f"placeholders differ: {e['msgid']!r} -> {form!r}")
    assert problems == []


def test_the_catalogues_are_up_to_date_with_the_sources(tmp_path):
    """makemessages over a copy of the sources, into a copy of the catalogues: the same msgids."""
    if not shutil.which("xgettext"):
        pytest.skip("gettext is not installed (make messages installs it)")
    work = tmp_path / "src"
    work.mkdir()
    for item in ROOT.iterdir():
        if item.name in SKIP or item.name.startswith("."):
            continue
        if item.is_dir():
            shutil.copytree(item, work / item.name, ignore=shutil.ignore_patterns(*SKIP, "*.pyc", "*.sqlite3"))
        elif item.suffix in (".py", ".html", ".txt", ".js"):
            shutil.copy2(item, work / item.name)
    shutil.copytree(LOCALE, work / "locale", ignore=shutil.ignore_patterns("*.mo"))
    script = (
        "import django, sys; from django.conf import settings; django.setup(); "
        f"settings.LOCALE_PATHS = [{str(work / 'locale')!r}]; "
        "from django.core.management import call_command; "
        f"[call_command('makemessages', locale=[l], domain=d, verbosity=0) for l in {list(LANGUAGES)!r} for d in {list(DOMAINS)!r}]"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "dashboard.settings", "PYTHONPATH": str(ROOT), "CLUSTERSCOPE_VAR": str(tmp_path / "var")}
    subprocess.run([sys.executable, "-c", script], cwd=work, env=env, check=True, timeout=120)
    for lang in LANGUAGES:
        for domain in DOMAINS:
            fresh = {(e["msgid"], e["msgid_plural"]) for e in messages(read_po(work / "locale" / lang / "LC_MESSAGES" / f"{domain}.po"))}
            committed = {(e["msgid"], e["msgid_plural"]) for e in messages(catalogue(lang, domain))}
            assert sorted(fresh - committed) == [], f"{lang}/{domain}.po lacks these (run makemessages, then translate)"
            assert sorted(committed - fresh) == [], f"{lang}/{domain}.po has messages no source uses any more"


def test_the_catalogues_compile():
    if not compile_catalogues():
        pytest.skip("msgfmt is not installed (make messages installs it)")
    for lang in LANGUAGES:
        for domain in DOMAINS:
            assert (LOCALE / lang / "LC_MESSAGES" / f"{domain}.mo").stat().st_size > 1000


@pytest.fixture
def compiled():
    if not compile_catalogues() and not all((LOCALE / lang / "LC_MESSAGES" / "django.mo").exists() for lang in LANGUAGES):
        pytest.skip("no compiled catalogue and no msgfmt to make one")


def html_lang(response) -> str:
    return re.search(rb'<html lang="([^"]+)"', response.content).group(1).decode()


async def test_the_page_language_follows_accept_language_the_cookie_and_the_address(async_client, compiled):
    english = await async_client.get("/")
    assert html_lang(english) == "en" and "Start a lesson" in english.text and english.headers["Content-Language"] == "en"

    browser_chinese = await async_client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert html_lang(browser_chinese) == "zh-Hans" and "开始一节课" in browser_chinese.text and "Start a lesson" not in browser_chinese.text

    linked = await async_client.get("/?lang=zh-Hans")
    assert html_lang(linked) == "zh-Hans" and "创建集群" in linked.text
    assert "django_language" not in linked.cookies  # a link's language is not remembered
    assert await async_client.get("/?lang=klingon") is not None  # an unknown value is ignored
    assert html_lang(await async_client.get("/?lang=klingon")) == "en"

    # the switch: Django's set_language writes the cookie and goes back to the page, without ?lang
    switched = await async_client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/?x=1"})
    assert switched.status_code == 302 and switched.headers["Location"] == "/?x=1"
    assert async_client.cookies["django_language"].value == "zh-hans"
    remembered = await async_client.get("/")
    assert html_lang(remembered) == "zh-Hans" and remembered.headers["Content-Language"] == "zh-hans"
    assert html_lang(await async_client.get("/?lang=en")) == "en"  # a kiosk link still wins

    # the switch's form goes back to this page without the ?lang that would overrule the choice
    page = (await async_client.get("/?lang=en&a=b")).text
    assert 'name="next" value="/?a=b"' in page and 'action="/i18n/setlang/"' in page


async def test_machines_get_english_whatever_the_browser_chose(async_client, compiled):
    async_client.cookies["django_language"] = "zh-hans"
    for path in ("/api/clusters", "/api/clusters/nope", "/k8s/nope/api/v1/pods"):
        response = await async_client.get(path, headers={"Accept-Language": "zh-CN"})
        assert response.headers["Content-Language"] == "en", path
    assert (await async_client.get("/api/clusters/nope")).json()["error"].isascii()


async def test_the_browser_catalogue(async_client, compiled):
    chinese = (await async_client.get("/jsi18n/?lang=zh-Hans")).json()
    assert chinese["catalog"]["Control loops"] == "控制循环" and chinese["plural"] == "0"
    assert chinese["catalog"]["%(n)s step"] == ["%(n)s 步"]  # one form: Chinese has no plural
    english = (await async_client.get("/jsi18n/?lang=en")).json()
    assert english["catalog"] == {}  # the msgids are the English text

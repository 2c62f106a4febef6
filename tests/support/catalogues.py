"""The UI's translation catalogues (locale/README.md) for the tests: a small .po reader, and the
compiled .mo files the servers under test need (what `make messages` does)."""

import ast
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCALE = ROOT / "locale"
DOMAINS = ("django", "djangojs")
LANGUAGES = ("zh_Hans",)


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file: {msgid, msgid_plural, msgstr: [forms], flags, obsolete}."""
    entries, entry, key = [], None, None

    def start():
        return {"msgid": None, "msgid_plural": None, "msgstr": {}, "flags": set(), "obsolete": False}

    for raw in path.read_text(encoding="utf-8").splitlines() + [""]:
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
        if not line:
            if entry and entry["msgid"] is not None:
                entries.append(entry)
            entry, key = None, None
            continue
        entry = entry or start()
        entry["obsolete"] |= obsolete
        if line.startswith("#,"):
            entry["flags"] |= {f.strip() for f in line[2:].split(",")}
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            value = ast.literal_eval(line)
            if key[0] == "msgstr":
                entry["msgstr"][key[1]] += value
            else:
                entry[key[0]] += value
        else:
            word, _, rest = line.partition(" ")
            value = ast.literal_eval(rest)
            if word.startswith("msgstr"):
                index = int(word[7:-1]) if "[" in word else 0
                key = ("msgstr", index)
                entry["msgstr"][index] = value
            else:
                key = (word, None)
                entry[word] = value
    return entries


def messages(entries: list[dict]) -> list[dict]:
    """The real messages: not the header (msgid ""), not obsolete ones."""
    return [e for e in entries if e["msgid"] and not e["obsolete"]]


def compile_catalogues() -> bool:
    """Compile every .po whose .mo is missing or older (gettext's msgfmt); False without msgfmt."""
    if not shutil.which("msgfmt"):
        return False
    for po in LOCALE.glob("*/LC_MESSAGES/*.po"):
        mo = po.with_suffix(".mo")
        if not mo.exists() or mo.stat().st_mtime < po.stat().st_mtime:
            subprocess.run(["msgfmt", "--check-format", "-o", str(mo), str(po)], check=True)
    return True

"""manage.py run_scenario: exit 0 when every assertion holds, 1 when one fails, 2 for a bad file."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

LESSON = """\
id: one-member
title: {{en: One member, zh-Hans: 一个成员}}
summary: {{en: A leader of one, zh-Hans: 只有一个成员的领导者}}
level: beginner
duration: 1
cluster: {{members: 1, nodes: 0, profile: realistic, seed: 1}}
steps:
  - title: {{en: Elected, zh-Hans: 当选}}
    wait: {{leader elected: true, timeout: 10}}
    expect:
      - {{path: etcd.size, equals: {size}}}
"""


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        call_command("run_scenario", *args)
        code = 0
    except SystemExit as exit_:
        code = exit_.code
    out, err = capsys.readouterr()
    return code, out, err


def test_a_passing_file_exits_zero(tmp_path, capsys):
    path = tmp_path / "one.yaml"
    path.write_text(LESSON.format(size=1))
    code, out, _ = run(capsys, str(path))
    assert code == 0
    assert "PASS  step 1: Elected" in out and "✓ etcd.size equals 1  [1]" in out and "one-member: passed: 2 of 2 assertions held" in out


def test_a_failing_assertion_exits_one_and_says_which(tmp_path, capsys):
    path = tmp_path / "one.yaml"
    path.write_text(LESSON.format(size=3))
    code, out, _ = run(capsys, str(path), "--lang", "zh-Hans")
    assert code == 1
    assert "FAIL  step 1: 当选" in out and "✗ etcd.size 等于 3  [1]" in out and "FAILED: 1 of 2 assertions held" in out


def test_a_malformed_file_exits_two_naming_the_line(tmp_path, capsys):
    path = tmp_path / "bad.yaml"
    path.write_text(LESSON.format(size=1).replace("level: beginner", "level: hard"))
    code, out, err = run(capsys, str(path))
    assert code == 2 and out == "" and f"{path}:4: level: Input should be 'beginner', 'intermediate' or 'advanced'" in err


def test_a_built_in_lesson_by_id_as_json(capsys):
    import json

    code, out, _ = run(capsys, "apiserver-pipeline", "--json")
    report = json.loads(out)
    assert code == 0 and report["passed"] is True and report["scenario"] == "apiserver-pipeline" and len(report["steps"]) == 4


def test_an_unknown_lesson_is_a_clear_error():
    with pytest.raises(CommandError, match="no built-in lesson 'nope'"):
        call_command("run_scenario", "nope")

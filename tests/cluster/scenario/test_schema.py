"""Malformed scenario files are refused with the line and the problem named."""

import textwrap

import pytest

from cluster.scenario import MAX_BYTES, ScenarioError, load_text

GOOD = """\
id: tiny
title: {en: Tiny, zh-Hans: 小}
summary: {en: A tiny lesson, zh-Hans: 一个小课}
level: beginner
duration: 1
cluster: {members: 1, nodes: 0, profile: realistic}
steps:
  - title: {en: Leader, zh-Hans: 领导者}
    narrate:
      en: One member elects itself.
      zh-Hans: 一个成员选自己。
    wait: {leader elected: true, timeout: 10}
    expect:
      - {path: etcd.size, equals: 1}
"""


def error_of(text: str) -> ScenarioError:
    with pytest.raises(ScenarioError) as caught:
        load_text(text, source="lesson.yaml")
    return caught.value


def test_the_good_file_loads():
    scenario = load_text(GOOD)
    assert scenario.id == "tiny" and scenario.title.pick("zh-Hans") == "小" and scenario.steps[0].wait[0].timeout == 10


@pytest.mark.parametrize("bad, line, words", [
    # a typo in a key
    (GOOD.replace("    narrate:", "    narate:"), 9, "unknown key 'narate'"),
    # a comma in a flow mapping's text
    (GOOD.replace("title: {en: Leader, zh-Hans: 领导者}", "title: {en: Leader, at last, zh-Hans: 领导者}"), 8,
     "unknown key 'at last' (in {en: ..., zh-Hans: ...} a comma ends the text: put text with a comma in quotes)"),
    # a language missing
    (GOOD.replace("title: {en: Leader, zh-Hans: 领导者}", "title: {en: Leader}"), 8, "'zh-Hans' is required"),
    # a value out of range
    (GOOD.replace("timeout: 10", "timeout: -5"), 12, "greater than 0"),
    (GOOD.replace("members: 1,", "members: 9,"), 6, "less than or equal to 7"),
    # a wrong type
    (GOOD.replace("duration: 1", "duration: soon"), 5, "valid integer"),
    # a condition with two kinds, and a path with no comparison
    (GOOD.replace("{leader elected: true, timeout: 10}", "{leader elected: true, no leader: true}"), 12, "exactly one of"),
    (GOOD.replace("{path: etcd.size, equals: 1}", "{path: etcd.size}"), 14, "exactly one comparison"),
    # a comparison that belongs to a path only
    (GOOD.replace("{leader elected: true, timeout: 10}", "{leader elected: true, equals: 3}"), 12, "goes with path only"),
    # a level that is not one of the three
    (GOOD.replace("level: beginner", "level: expert"), 4, "'beginner', 'intermediate' or 'advanced'"),
    # an id that is not a DNS label
    (GOOD.replace("id: tiny", "id: Tiny Lesson"), 1, "should match pattern"),
    # the same key twice
    (GOOD.replace("duration: 1\n", "duration: 1\nduration: 2\n"), 6, "duplicate key 'duration'"),
    # YAML that does not parse
    (GOOD.replace("    expect:\n", "    expect:\n   - oops: [\n"), 14, "not valid YAML"),
    # an action with two kinds at once
    (GOOD.replace("    wait:", "    actions:\n      - {advance: 1, fault: {action: heal}}\n    wait:"), 13, "exactly one of: fault"),
    # a fault that is not one
    (GOOD.replace("    wait:", "    actions:\n      - fault: {action: explode}\n    wait:"), 13, "'crash'"),
    # a cluster that does not exist
    (GOOD.replace("{path: etcd.size, equals: 1}", "{path: etcd.size, equals: 1, on: other}"), 14, "no cluster named 'other'"),
    # a question whose answer is not a choice
    (GOOD.replace("    wait:", "    ask:\n      question: {en: 'Q?', zh-Hans: 问？}\n      choices: [{en: a, zh-Hans: 甲}, {en: b, zh-Hans: 乙}]\n      answer: 2\n    wait:"),
     12, "answer 2 is not a choice"),
    # a run that could last for days
    (GOOD.replace("timeout: 10", "timeout: 3600").replace("  - title: {en: Leader", "  - {title: {en: a, zh-Hans: 甲}, wait: {no leader: true, timeout: 3600}}\n" * 4 + "  - title: {en: Leader"),
     7, "add up to 18000 virtual seconds; at most 14400"),
    # no steps at all
    (GOOD.split("steps:")[0] + "steps: []\n", 7, "at least 1 item"),
])
def test_a_malformed_file_names_the_line_and_the_problem(bad, line, words):
    error = error_of(bad)
    assert words in str(error), str(error)
    assert error.line == line, str(error)
    assert str(error).startswith(f"lesson.yaml:{line}: ")


def test_anchors_and_aliases_are_refused():
    bomb = GOOD + textwrap.dedent("""\
        extra: &a [1, 2, 3]
        more: [*a, *a]
    """)
    error = error_of(bomb)
    assert "anchors and aliases" in str(error) and error.line == 15  # where the anchored value is


def test_size_and_shape_limits():
    assert "larger than 256 KiB" in str(error_of(GOOD + "#" * MAX_BYTES))
    assert "one YAML document" in str(error_of(GOOD + "---\n" + GOOD))
    assert "is a mapping" in str(error_of("- just\n- a list\n"))
    with pytest.raises(ScenarioError, match="not UTF-8"):
        load_text(b"id: \xff\xfe", source="x.yaml")


def test_the_error_as_json_names_the_field():
    error = error_of(GOOD.replace("timeout: 10", "timeout: -5"))
    assert error.as_dict() == {"error": str(error), "field": "steps[0].wait.timeout", "line": 12}

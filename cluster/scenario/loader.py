"""Reading a scenario file: YAML in, a validated `Scenario` out, or a `ScenarioError` that
names the line and the problem.

    scenario = load_text(text, source="scenarios/odd-members.yaml")
    # ScenarioError: scenarios/odd-members.yaml:12: steps[0].wait.timeout: Input should be greater than 0

PyYAML's composer keeps each node's position, so the loader walks the node tree itself:
it builds the plain data and, beside it, a map from each value's path (("steps", 0,
"wait")) to its line. A pydantic error's location is such a path; the deepest one the
map knows gives the line. The walk also refuses what PyYAML would silently accept:
duplicate keys (the last one would win) and anchors/aliases (a few lines can expand into
gigabytes: the "billion laughs").
"""

import yaml
from pydantic import ValidationError

from .schema import Scenario

MAX_BYTES = 256 * 1024
MAX_NODES = 20_000


class ScenarioError(ValueError):
    def __init__(self, message: str, *, source: str = "<scenario>", line: int | None = None, field: str | None = None):
        self.message, self.source, self.line, self.field = message, source, line, field
        where = f"{source}:{line}" if line else source
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")

    def as_dict(self) -> dict:
        return {"error": str(self), "field": self.field, "line": self.line}


def load_text(text: str | bytes, source: str = "<scenario>") -> Scenario:
    if isinstance(text, bytes):
        if len(text) > MAX_BYTES:
            raise ScenarioError(f"the file is larger than {MAX_BYTES // 1024} KiB", source=source)
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ScenarioError(f"the file is not UTF-8 (byte {exc.start})", source=source) from None
    if len(text.encode("utf-8")) > MAX_BYTES:
        raise ScenarioError(f"the file is larger than {MAX_BYTES // 1024} KiB", source=source)
    data, lines = parse(text, source)
    return validate(data, lines, source)


def parse(text: str, source: str) -> tuple[dict, dict]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ScenarioError(f"not valid YAML: {exc.problem or exc.context}", source=source, line=mark.line + 1 if mark else None) from None
    except yaml.YAMLError as exc:
        raise ScenarioError(f"not valid YAML: {exc}", source=source) from None
    if len(nodes) != 1:
        raise ScenarioError(f"a scenario file holds one YAML document, found {len(nodes)}", source=source)
    root = nodes[0]
    if not isinstance(root, yaml.MappingNode):
        raise ScenarioError("a scenario file is a mapping (id:, title:, steps: ...)", source=source, line=root.start_mark.line + 1 if root else None)
    lines: dict[tuple, int] = {}
    data = _Walker(source, lines).value(root, ())
    return data, lines


class _Walker:
    def __init__(self, source: str, lines: dict):
        self.source, self.lines, self.seen, self.count = source, lines, set(), 0
        self.constructor = yaml.SafeLoader("")  # only its scalar resolution is used

    def value(self, node, path: tuple, line: int | None = None):
        """`line`: where the key of this value was written (a block mapping starts below it)."""
        self.count += 1
        if self.count > MAX_NODES:
            raise ScenarioError(f"the file has more than {MAX_NODES} values", source=self.source, line=node.start_mark.line + 1)
        self.lines[path] = line or node.start_mark.line + 1
        if isinstance(node, yaml.ScalarNode):
            return self.constructor.construct_object(node, deep=True)
        if id(node) in self.seen:
            raise ScenarioError("anchors and aliases (&name, *name) are not allowed in scenario files", source=self.source, line=node.start_mark.line + 1)
        self.seen.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
        if node.tag == "tag:yaml.org,2002:merge" or any(k.tag == "tag:yaml.org,2002:merge" for k, _ in node.value):
            raise ScenarioError("merge keys (<<) are not allowed in scenario files", source=self.source, line=node.start_mark.line + 1)
        out = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ScenarioError("mapping keys must be plain words", source=self.source, line=key_node.start_mark.line + 1)
            key = key_node.value
            if key in out:
                raise ScenarioError(f"duplicate key {key!r} (an earlier line already sets it)", source=self.source, line=key_node.start_mark.line + 1,
                                    field=_dotted((*path, key)))
            out[key] = self.value(value_node, (*path, key), key_node.start_mark.line + 1)
        return out


def validate(data: dict, lines: dict, source: str = "<scenario>") -> Scenario:
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = tuple(first["loc"])
        # Unions add their member names to the location ("function-after[...]", "Fault"): keep real keys.
        path = _data_path(data, loc)
        line = _line_of(path, lines)
        message = first["msg"].removeprefix("Value error, ")
        if first["type"] == "extra_forbidden":
            message = f"unknown key {path[-1]!r}" if path else "unknown key"
            parent = _value_at(data, path[:-1])
            if isinstance(parent, dict) and ("en" in parent or "zh-Hans" in parent):
                message += " (in {en: ..., zh-Hans: ...} a comma ends the text: put text with a comma in quotes)"
        elif first["type"] == "missing":
            message = f"{path[-1]!r} is required" if path else "a required key is missing"
        raise ScenarioError(message, source=source, line=line, field=_dotted(path) or None) from None
    _check_cluster_names(data, lines, source)
    return scenario


def _check_cluster_names(data: dict, lines: dict, source: str) -> None:
    """Every `on:` names main, all, or a cluster under compare (checked here, where lines are known)."""
    names = {"main", "all", *(data.get("compare") or {})}
    for i, step in enumerate(data["steps"]):
        places = [(("apply on",), step.get("apply on"))]
        for part in ("actions", "expect", "wait"):
            items = step.get(part) or []
            for j, item in enumerate([items] if isinstance(items, dict) else items):
                places.append(((part, j, "on") if not isinstance(items, dict) else (part, "on"), item.get("on")))
        for where, on in places:
            for name in [on] if isinstance(on, str) else on or []:
                if name not in names:
                    path = ("steps", i, *where)
                    raise ScenarioError(f"no cluster named {name!r} (main, all, or one under compare)", source=source, line=_line_of(path, lines),
                                        field=_dotted(path))


def _data_path(data, loc: tuple) -> tuple:
    """loc without the labels pydantic adds for union members ("LeaderQuery", "str"): only
    the keys and indexes that walk through data, plus a last key that is missing."""
    path, node = [], data
    for i, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path.append(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path.append(part)
            node = node[part]
        elif i == len(loc) - 1 and isinstance(part, str) and isinstance(node, dict):
            path.append(part)
    return tuple(path)


def _value_at(data, path: tuple):
    for part in path:
        data = data[part]
    return data


def _line_of(path: tuple, lines: dict) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _dotted(path: tuple) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out

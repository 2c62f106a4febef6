"""A plain-text table for benchmark rows."""

from dataclasses import dataclass


@dataclass
class Row:
    benchmark: str
    figure: str
    reference: str = ""
    ratio: str = ""
    note: str = ""


def render(rows: list[Row]) -> str:
    headers = ("benchmark", "figure", "reference (same run)", "ratio", "note")
    # one line per row: a cell's newlines (an error message's) and pipes would break the table
    cells = [headers] + [tuple(" ".join(str(c).split()).replace("|", "\\|") for c in (r.benchmark, r.figure, r.reference, r.ratio, r.note)) for r in rows]
    widths = [max(len(str(row[i])) for row in cells) for i in range(len(headers))]
    line = lambda row: "| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |"  # noqa: E731
    out = [line(headers), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(row) for row in cells[1:]]
    return "\n".join(out)

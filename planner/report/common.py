"""What every renderer shares: deterministic JSON, Markdown tables, terminal tables, number formats.

A renderer is ``render(result, fmt, width=None) -> str``: ``fmt`` is ``table``, ``markdown`` or ``json``;
``width`` is the terminal width for tables (None: the table's natural width, as in a pipe). No computation
and no file access here; the CLI writes the string.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Sequence
from typing import Any

SCHEMA_VERSION = 1


def round_floats(value: Any, digits: int = 6) -> Any:
    """Round floats to ``digits`` significant digits so output is stable across platforms (non-finite → None)."""
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return value if math.isfinite(value) else None
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: round_floats(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [round_floats(v, digits) for v in value]
    return value


def to_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, rounded floats, trailing newline."""
    return json.dumps(round_floats(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def envelope(data: dict) -> dict:
    """A top-level JSON object with its schema version."""
    return {"schema_version": SCHEMA_VERSION, **data}


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:,.1f} GB"


def usd(value: float | None) -> str:
    return "n/a (no price)" if value is None else f"${value:,.3f}"


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown_table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned (``---:``)."""
    lines = ["| " + " | ".join(md_escape(h) for h in header) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def markdown_notes(title: str, lines: Sequence[str]) -> str:
    """A bold title and a bullet list (empty string when there is nothing to say)."""
    return f"\n**{title}**\n\n" + "".join(f"- {line}\n" for line in lines) if lines else ""


def rich_table(title: str, header: list[str], rows: list[list[str]], numeric: set[int] = frozenset(), *, show_header: bool = True):
    """A terminal table. Cells are plain text (never Rich markup: ``[model]`` stays as written); numeric
    columns never wrap, so a number is never split across lines."""
    from rich.table import Table
    from rich.text import Text

    table = Table(title=Text(title), title_justify="left", show_header=show_header)
    for i, h in enumerate(header):
        if i in numeric:
            widest = max([len(str(r[i])) for r in rows] + [len(h)])
            table.add_column(Text(h), justify="right", no_wrap=True, min_width=widest)
        else:
            table.add_column(Text(h), justify="left", overflow="fold")
    for row in rows:
        table.add_row(*[Text(str(c)) for c in row])
    return table


def rich_notes(lines: Sequence[str]):
    """Dim bullet lines under a table (plain text, no markup)."""
    from rich.text import Text

    return Text("\n".join(f"• {line}" for line in lines), style="dim")


def to_text(renderables: Sequence[Any], width: int | None = None, color: bool = False) -> str:
    """Rich renderables as a string: at ``width`` columns, or at their natural width when None (pipes)."""
    from rich.console import Console

    buffer = io.StringIO()
    console = Console(file=buffer, width=width or 100_000, force_terminal=color, color_system="auto" if color else None,
                      soft_wrap=width is None, highlight=False, emoji=False, markup=False)
    for renderable in renderables:
        console.print(renderable)
    text = buffer.getvalue()
    return "\n".join(line.rstrip() for line in text.split("\n"))


"""Domain errors. The library raises these; only the CLI turns them into messages and exit codes."""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from pathlib import Path

# No line of an error message is longer than this: a hostile value quoted anywhere is cut in the middle.
MAX_MESSAGE_LINE = 600


class PlannerError(Exception):
    """Base class: something the user can fix. The CLI prints it as one ``Error: ...`` line, exit 2."""

    def __init__(self, *args: object):
        if args and isinstance(args[0], str):
            args = (capped(args[0]), *args[1:])
        super().__init__(*args)


class ProfileError(PlannerError):
    """A file is malformed: names the file, its line (when known), the field and what was expected."""

    def __init__(self, path: Path | str | None, field: str | None, message: str, *, line: int | None = None):
        self.path = Path(path) if path is not None else None
        self.field = field
        self.message = capped(message)
        self.line = line
        where = short_path(self.path) if self.path else "profile"
        if line is not None:
            where += f":{line}"
        if field:
            where += f": field '{field}'"
        super().__init__(f"{where}: {message}")


class UnknownNameError(PlannerError):
    """A name (model, hardware, law, method, ...) that is not in the catalog, with suggestions."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        self.kind = kind
        self.name = name
        known = sorted(known)
        self.suggestions = suggest(name, known)
        hint = f"; did you mean {', '.join(repr(s) for s in self.suggestions)}?" if self.suggestions else ""
        listing = "" if self.suggestions else f"; known: {', '.join(known[:12])}{' ...' if len(known) > 12 else ''}"
        super().__init__(f"unknown {kind} '{name}'{hint}{listing}")


class InputError(PlannerError):
    """An argument or input value is invalid (zero tokens, bad CSV cell, ...)."""


class FitError(PlannerError):
    """A fit could not be made (too few points, no convergence)."""


def suggest(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """Closest known names to ``name`` (case-insensitive; substring matches first)."""
    known = list(known)
    lowered = {k.lower(): k for k in known}
    key = name.lower()
    close = difflib.get_close_matches(key, list(lowered), n=n, cutoff=0.6)
    contains = [k for k in sorted(lowered) if key and (key in k) and k not in close]
    return [lowered[k] for k in (close + contains)[:n]]


def short(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to about ``limit`` characters, for messages: a hostile value is never echoed whole.

    Containers are summarised without walking them (a value expanded by YAML aliases may be huge).
    """
    containers = (list, tuple, set, frozenset, dict)
    if isinstance(value, containers):
        items = (list(value.items()) if isinstance(value, dict) else list(value)) if len(value) <= 8 else []
        flat = [x for pair in items for x in (pair if isinstance(value, dict) else (pair,))]
        if 0 < len(value) <= 8 and not any(isinstance(x, containers) for x in flat):
            return short_text(repr(value), limit)
        kind = type(value).__name__
        return f"a {kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 200:
        return f"an integer of about {int(value.bit_length() * 0.30103)} digits"
    return short_text(repr(value), limit)


def short_text(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (an ellipsis marks the cut)."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_path(path: Path | str) -> str:
    """A path as messages show it: at most ~120 characters (a 5,000-character name is cut in the middle)."""
    text = str(path)
    return text if len(text) <= 120 else f"{text[:60]}…{text[-59:]}"


def capped(message: str, limit: int = MAX_MESSAGE_LINE) -> str:
    """``message`` with every line longer than ``limit`` cut in the middle (the cut is said)."""
    def cap(line: str) -> str:
        if len(line) <= limit:
            return line
        half = limit // 2
        return f"{line[:half]} …[{len(line) - 2 * half:,} characters cut]… {line[-half:]}"

    return "\n".join(cap(line) for line in message.split("\n"))

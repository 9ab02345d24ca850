"""The one collecting checker: every problem of a file at once, each with file, field path and YAML line.

Every file format (hardware, models, laws, quantization, engines, plans) is checked through
:class:`Checker`. A check that fails records a :class:`ProfileError` and returns a default, so the
parser goes on and finds the next problem; :meth:`Checker.collecting` turns a crash caused by an
already-reported bad value into the collected report. Lines come from the mapping read by
``files.disk.read_yaml`` (a ``YamlMapping`` knows the line of every field path).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Mapping

from planner import units
from planner.errors import PlannerError, ProfileError, short, suggest

# Integers read from files stay exact in float arithmetic (2**53); physical bounds are each parser's.
MAX_INTEGER = 2**53
_WHOLE = re.compile(r"^\s*-?[0-9]{1,16}\s*$")


class ProfileErrors(PlannerError):
    """Several problems found in profile files (``profiles validate`` reports them all)."""

    def __init__(self, problems: list[ProfileError]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class Checker:
    """Collects problems of one file. ``data``: the mapping read from it (its ``lines`` give line numbers)."""

    def __init__(self, path: Path | str | None, data: Mapping | None = None):
        self.path = Path(path) if path is not None else None
        self.lines: Mapping[str, int] = getattr(data, "lines", None) or {}
        self.problems: list[ProfileError] = []

    def line_of(self, field: str | None) -> int | None:
        """Line of ``field`` or of its nearest enclosing field that has one."""
        key = field or ""
        while key:
            if key in self.lines:
                return self.lines[key]
            cut = max(key.rfind("."), key.rfind("["))
            key = key[:cut] if cut > 0 else ""
        return None

    def fail(self, field: str | None, message: str) -> None:
        if field is not None and any(p.field == field for p in self.problems):
            return  # one message per field: the first says what is wrong
        self.problems.append(ProfileError(self.path, field, message, line=self.line_of(field)))

    @contextlib.contextmanager
    def collecting(self) -> Iterator[None]:
        """Raise the collected problems instead of a crash that an already-reported bad value caused."""
        try:
            yield
        except (KeyError, TypeError, ValueError, AttributeError, IndexError, ZeroDivisionError, PlannerError):
            if self.problems:
                self.raise_if_any()
            raise
        self.raise_if_any()

    def number(self, data: Mapping, key: str, prefix: str = "", *, lo: float = -math.inf, hi: float = math.inf,
               required: bool = True, default: Any = None) -> float | None:
        """A finite plain number in [lo, hi] (``1e-3`` written without a dot, which PyYAML reads as text, is accepted)."""
        name = f"{prefix}{key}"
        if key not in data or data[key] is None:
            if required:
                self.fail(name, "required number is missing")
            return default
        v = data[key]
        if isinstance(v, str):
            try:
                v = float(v)
            except ValueError:
                self.fail(name, f"expected a number, got {short(data[key])}")
                return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(name, f"expected a finite number, got {short(data[key])}")
            return default
        if not lo <= v <= hi:
            self.fail(name, f"expected a number in [{lo:g}, {hi:g}], got {short(v)}")
            return default
        return float(v)

    def pair(self, data: Mapping, key: str, prefix: str = "", *, integer: bool = False, required: bool = True):
        """A ``[low, high]`` pair of numbers with low ≤ high."""
        name = f"{prefix}{key}"
        if key not in data:
            if required:
                self.fail(name, "required [low, high] pair is missing")
            return None
        raw = data[key]
        v = [_plain_number(x) for x in raw] if isinstance(raw, list) else None
        if v is None or len(v) != 2 or any(x is None for x in v):
            self.fail(name, f"expected a [low, high] pair of numbers, got {short(raw)}")
            return None
        if v[0] > v[1]:
            self.fail(name, f"expected low ≤ high, got {short(v)}")
            return None
        return (int(v[0]), int(v[1])) if integer else (float(v[0]), float(v[1]))

    def choice(self, value: Any, field: str, choices: tuple[str, ...] | list[str], what: str) -> Any:
        """``value`` must be one of ``choices`` (did-you-mean on a miss)."""
        if value not in choices:
            hint = suggest(str(value), choices)
            self.fail(field, f"unknown {what} {short(value)}" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(choices)}"))
        return value

    def keys(self, data: Mapping, allowed: set[str], required: set[str], prefix: str = "") -> None:
        if not isinstance(data, Mapping):
            self.fail(prefix.rstrip(".") or None, f"expected a mapping, got {type(data).__name__}")
            return
        for key in data:
            if key not in allowed:
                hint = suggest(str(key), allowed)
                extra = f"; did you mean '{hint[0]}'?" if hint else f"; expected one of: {', '.join(sorted(allowed))}"
                self.fail(f"{prefix}{key}", f"unknown key{extra}")
        for key in sorted(required - set(data)):
            self.fail(f"{prefix}{key}", "required field is missing")

    def mapping(self, data: Mapping, key: str, prefix: str = "") -> dict:
        value = data.get(key, {})
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.fail(f"{prefix}{key}", f"expected a mapping, got {type(value).__name__}")
            return {}
        return value

    def quantity(self, data: Mapping, key: str, dimension: str, prefix: str = "", *, required: bool = True,
                 default: float = 0.0, minimum: float = 0.0, maximum: float = math.inf, allow_zero: bool = False) -> float:
        name = f"{prefix}{key}"
        if key not in data or data[key] is None:
            if required and key in data:
                self.fail(name, f"expected a value ({units._example(dimension)}), got nothing")
            return default
        try:
            value = units.parse_quantity(data[key], dimension)
        except units.QuantityError as exc:
            self.fail(name, str(exc))
            return default
        if value < minimum or (value == 0 and not allow_zero and minimum >= 0) or value > maximum:
            bound = f"between {minimum:g} and {maximum:g}" if math.isfinite(maximum) else ("≥ 0" if allow_zero else "> 0")
            self.fail(name, f"expected a value {bound}, got {short(data[key])}")
            return default
        return value

    def integer(self, data: Mapping, key: str, prefix: str = "", *, default: Any = 0, minimum: int = 1,
                required: bool = False, maximum: int = MAX_INTEGER) -> int:
        name = f"{prefix}{key}"
        if key not in data or (required and data[key] is None):
            if required:
                self.fail(name, "required integer is missing")
            return default
        value = data[key]
        if isinstance(value, float) and value.is_integer() and abs(value) <= maximum:
            value = int(value)
        if isinstance(value, str) and _WHOLE.match(value):
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected an integer, got {short(value)}")
            return default
        if value < minimum or value > maximum:
            self.fail(name, f"expected an integer ≥ {minimum}, got {short(value)}" if value < minimum
                      else f"expected an integer between {minimum} and {maximum:,}, got {short(value)}")
            return default
        return value

    def text(self, data: Mapping, key: str, prefix: str = "", *, default: Any = "", choices: tuple[str, ...] = (),
             required: bool = False) -> str:
        name = f"{prefix}{key}"
        if key not in data or data[key] is None:
            if required:
                self.fail(name, "required text is missing")
            return default
        value = data[key]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(name, f"expected text, got {type(value).__name__}")
            return default
        value = str(value)
        if choices and value not in choices:
            hint = suggest(value, choices)
            self.fail(name, f"expected one of {', '.join(choices)}, got {short(value)}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        return value

    def boolean(self, data: Mapping, key: str, prefix: str = "", *, default: bool = False) -> bool:
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.fail(f"{prefix}{key}", f"expected true or false, got {short(data[key])}")
            return default
        return data[key]

    def sources(self, data: Mapping, required: tuple[str, ...]) -> dict[str, str]:
        src = self.mapping(data, "sources")
        out = {}
        for key, value in src.items():
            if not isinstance(value, str) or not value.strip():
                self.fail(f"sources.{key}", "expected a citation (text or URL)")
            else:
                out[str(key)] = value
        for key in required:
            if key not in out and not any(k == key for k in src):
                self.fail(f"sources.{key}", "required citation is missing")
        return out

    def raise_if_any(self) -> None:
        if self.problems:
            problems = sorted(self.problems, key=lambda p: (p.line is None, p.line or 0))
            raise ProfileErrors(problems) if len(problems) > 1 else problems[0]


# ---------------------------------------------------------------------------------------------


def check_id(c: Checker, data: Mapping, path: Path) -> None:
    if "id" in data and str(data["id"]) != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {short(data['id'])}")


def _plain_number(value: Any) -> float | int | None:
    """A finite int/float, or a numeric string such as '1.5e+09' (PyYAML 1.1 reads those as text); else None."""
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return value

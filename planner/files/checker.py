"""The one collecting checker: every problem of a file at once, each with file and field path."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Mapping

from planner import units
from planner.errors import PlannerError, ProfileError, suggest


class ProfileErrors(PlannerError):
    """Several problems found in profile files (``profiles validate`` reports them all)."""

    def __init__(self, problems: list[ProfileError]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))




class Checker:
    def __init__(self, path: Path):
        self.path = path
        self.problems: list[ProfileError] = []

    def fail(self, field: str | None, message: str) -> None:
        self.problems.append(ProfileError(self.path, field, message))

    def keys(self, data: Mapping, allowed: set[str], required: set[str], prefix: str = "") -> None:
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
            self.fail(name, f"expected a value {bound}, got {data[key]!r}")
            return default
        return value

    def integer(self, data: Mapping, key: str, prefix: str = "", *, default: int = 0, minimum: int = 1) -> int:
        name = f"{prefix}{key}"
        if key not in data:
            return default
        value = data[key]
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(name, f"expected an integer, got {value!r}")
            return default
        if value < minimum:
            self.fail(name, f"expected an integer ≥ {minimum}, got {value}")
            return default
        return value

    def text(self, data: Mapping, key: str, prefix: str = "", *, default: str = "", choices: tuple[str, ...] = ()) -> str:
        name = f"{prefix}{key}"
        if key not in data or data[key] is None:
            return default
        value = data[key]
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            self.fail(name, f"expected text, got {type(value).__name__}")
            return default
        value = str(value)
        if choices and value not in choices:
            hint = suggest(value, choices)
            self.fail(name, f"expected one of {', '.join(choices)}, got {value!r}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        return value

    def boolean(self, data: Mapping, key: str, prefix: str = "", *, default: bool = False) -> bool:
        if key not in data:
            return default
        if not isinstance(data[key], bool):
            self.fail(f"{prefix}{key}", f"expected true or false, got {data[key]!r}")
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
            raise ProfileErrors(self.problems) if len(self.problems) > 1 else self.problems[0]


# ---------------------------------------------------------------------------------------------


def check_id(c: Checker, data: Mapping, path: Path) -> None:
    if "id" in data and str(data["id"]) != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {data['id']!r}")


"""The disk: reading YAML, JSON and CSV files and writing files atomically. Only files/ touches the disk."""

from __future__ import annotations

import csv
import json
import os
import tempfile
from pathlib import Path
from typing import Mapping

import yaml

from planner.errors import ProfileError


class YamlMapping(dict):
    """A YAML mapping as read from a file, with the line of every field: ``lines["a.b[2].c"] = 12`` (1-based)."""

    lines: dict[str, int]


def read_yaml(path: Path) -> YamlMapping:
    """Read a YAML mapping with ``yaml.safe_load`` semantics; any problem becomes a ProfileError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: Path) -> YamlMapping:
    """Parse YAML text (safe loader) into a mapping that knows each field's line; problems name ``path``."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(path, None, f"malformed YAML{where}: {problem}", line=mark.line + 1 if mark else None) from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ProfileError(path, None, f"expected a mapping of fields at the top level, got {type(data).__name__}")
    marked = YamlMapping(data)
    marked.lines = {}
    _collect_lines(node, "", marked.lines)
    return marked


def _collect_lines(node, prefix: str, out: dict[str, int]) -> None:
    """Record the 1-based line of every mapping key and sequence item below ``node`` (iteratively: deep files are fine)."""
    stack = [(node, prefix)]
    while stack:
        current, where = stack.pop()
        if isinstance(current, yaml.MappingNode):
            for key_node, value_node in current.value:
                key = f"{where}.{key_node.value}" if where else str(key_node.value)
                out.setdefault(key, key_node.start_mark.line + 1)
                stack.append((value_node, key))
        elif isinstance(current, yaml.SequenceNode):
            for i, item in enumerate(current.value):
                key = f"{where}[{i}]"
                out.setdefault(key, item.start_mark.line + 1)
                stack.append((item, key))


def read_json(path: Path) -> dict:
    """Read a JSON object (e.g. a Hugging Face config.json)."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ProfileError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ProfileError(path, None, f"malformed JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, dict):
        raise ProfileError(path, None, "expected a JSON object at the top level")
    return data


def atomic_write(path: Path, text: str, *, force: bool = False) -> None:
    """Write ``text`` to ``path`` atomically; refuse to replace an existing file unless ``force``."""
    path = Path(path)
    if path.exists() and not force:
        raise ProfileError(path, None, "file exists; pass --force to overwrite it")
    if not path.parent.is_dir():
        raise ProfileError(path, None, "folder does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_yaml(data: Mapping) -> str:
    """Deterministic YAML text (keys in the given order, block style)."""
    return yaml.safe_dump(dict(data), sort_keys=False, default_flow_style=False, allow_unicode=True, width=100)


# ---------------------------------------------------------------------------------------------
# Schema checking: every problem is collected, then raised together.


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV file with a header row: (column names, rows as dicts of stripped strings)."""
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            columns = [c.strip() for c in (reader.fieldnames or [])]
            rows = []
            for raw in reader:
                if None in raw:
                    raise ProfileError(path, None, f"line {reader.line_num}: more cells than columns in the header")
                rows.append({(k or "").strip(): (v or "").strip() for k, v in raw.items()})
    except OSError as exc:
        raise ProfileError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    except (csv.Error, UnicodeDecodeError) as exc:
        raise ProfileError(path, None, f"malformed CSV: {exc}") from None
    if not columns:
        raise ProfileError(path, None, "empty CSV: expected a header row")
    return columns, rows

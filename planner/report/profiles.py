"""Profiles (`planner profiles list|show`): listings with provenance, one profile's fields and derived values."""

from __future__ import annotations

from typing import Any

from planner.report.common import envelope, markdown_table, rich_table, to_json, to_text
from planner.units import format_si

TITLES = {"hardware": "Hardware", "model": "Models", "law": "Scaling laws", "quantization": "Quantization penalties"}


def render_listing(listing, fmt: str, width: int | None = None, color: bool = False) -> str:
    """``listing``: an ``inventory.Listing`` (profile summaries per kind)."""
    if fmt == "json":
        return to_json(envelope(dict(listing.kinds)))
    if fmt == "markdown":
        return "\n".join(f"## {TITLES[k]}\n\n" + markdown_table(*profile_list_rows(k, items)) for k, items in listing.kinds.items())
    return to_text([rich_table(TITLES[k], *profile_list_rows(k, items)) for k, items in listing.kinds.items()], width, color)


def render_profile(view, fmt: str, width: int | None = None, color: bool = False) -> str:
    """``view``: an ``inventory.ProfileView``."""
    data = view.as_dict()
    if fmt == "json":
        return to_json(envelope(data))
    rows = [list(r) for r in profile_rows(data)]
    if fmt == "markdown":
        return f"## {data['kind']} profile `{data['id']}`\n\n" + markdown_table(["field", "value"], rows)
    return to_text([rich_table(f"{data['kind']} profile {data['id']}", ["field", "value"], rows)], width, color)


def profile_list_rows(kind: str, items: list[dict]) -> tuple[list[str], list[list[str]], set[int]]:
    if kind == "hardware":
        header = ["id", "name", "class", "bf16 peak", "memory", "bandwidth", "$/h", "source"]
        rows = [[d["id"], d["name"], d["class"], format_si(d["bf16_flops_per_s"] or 0, "FLOP/s"), format_si(d["memory_capacity_bytes"], "B"),
                 format_si(d["memory_bandwidth_bytes_per_s"], "B/s"), "" if d["price_usd_per_hour"] is None else f"{d['price_usd_per_hour']:.2f}",
                 d["source"]] for d in items]
        return header, rows, {3, 4, 5, 6}
    if kind == "model":
        header = ["id", "name", "params", "active", "attention", "context", "source"]
        rows = [[d["id"], d["name"], f"{d['params'] / 1e9:.2f} B", f"{d['active_params'] / 1e9:.2f} B", d["attention"] + (" + MoE" if d["moe"] else ""),
                 f"{d['max_context']:,}", d["source"]] for d in items]
        return header, rows, {2, 3, 5}
    header = ["id", "source"]
    return header, [[d["id"], d["source"]] for d in items], set()


def _flatten(prefix: str, value: Any, out: list[tuple[str, str]]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}.{k}" if prefix else str(k), v, out)
    elif isinstance(value, list):
        out.append((prefix, ", ".join(str(v) for v in value)))
    else:
        out.append((prefix, "" if value is None else str(value)))


def profile_rows(data: dict) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = [("kind", data["kind"]), ("id", data["id"]), ("file", data["file"]), ("source", data["source"])]
    _flatten("", data["fields"], rows)
    derived = []
    _flatten("derived", {k: (f"{v:,.6g}" if isinstance(v, float) else v) for k, v in data.get("derived", {}).items()}, derived)
    return rows + derived



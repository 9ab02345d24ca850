"""What `planner profiles list|show|validate` present: summaries of profiles with their provenance."""

from __future__ import annotations

from typing import Any, Callable

from planner.errors import UnknownNameError
from planner.files.catalog import Catalog
from planner.files.hardware import parse_hardware
from planner.files.models import parse_model


def all_parsers() -> dict[str, Callable]:
    """Parsers of every profile kind that exists (laws and quantization when their modules are present)."""
    parsers: dict[str, Callable] = {"hardware": parse_hardware, "model": parse_model}
    try:
        from planner.files.laws import parse_law

        parsers["law"] = parse_law
    except ImportError:  # pragma: no cover - while the module is being built
        pass
    try:
        from planner.files.quantization import parse_penalty

        parsers["quantization"] = parse_penalty
    except ImportError:  # pragma: no cover
        pass
    return parsers


def list_profiles(catalog: Catalog, kind: str) -> list[dict[str, Any]]:
    """One summary dict per profile of ``kind``, with its source ('built-in' or the user file)."""
    from planner import report

    items = []
    for name in catalog.names(kind):
        if kind == "hardware":
            item = report.hardware_summary(catalog.hardware(name))
        elif kind == "model":
            item = report.model_summary(catalog.model(name))
        else:
            item = {"id": name}
        item["source"] = catalog.describe_source(kind, name)
        items.append(item)
    return items


def show_profile(catalog: Catalog, name: str, kind: str | None) -> dict[str, Any]:
    """The profile's fields as written, derived values, and the file it came from."""
    kinds = [kind] if kind else ["model", "hardware", "law"]
    for k in kinds:
        try:
            entry = catalog.file(k, name)
            break
        except UnknownNameError:
            continue
    else:
        raise UnknownNameError(kind or "profile", name, [n for k in kinds for n in catalog.names(k)])
    data: dict[str, Any] = {"kind": k, "id": entry.id, "file": str(entry.path), "source": catalog.describe_source(k, entry.id),
                            "fields": catalog.raw(k, entry.id)}
    if k == "model":
        m = catalog.model(entry.id)
        data["derived"] = {
            "params": m.total_params,
            "active_params": m.active_params,
            "attention": m.attention_type,
            "kv_cache_bytes_per_token_bf16": m.kv_cache_bytes(1, 2.0),
            "flops_per_token": m.flops_per_token(0),
        }
    elif k == "hardware":
        hw = catalog.hardware(entry.id)
        bf16 = hw.peak_flops.get("bf16") or hw.peak_flops.get("fp16") or 0.0
        data["derived"] = {
            "ridge_point_flop_per_byte_bf16": bf16 / hw.memory_bandwidth_bytes_per_s if bf16 else None,
            "usable_memory_bytes": hw.memory_capacity_bytes * hw.usable_memory_fraction - hw.memory_reserve_bytes,
        }
    return data

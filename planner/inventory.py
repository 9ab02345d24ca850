"""What `planner profiles list|show|validate` present: summaries of profiles with their provenance."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.errors import UnknownNameError
from planner.files.catalog import Catalog


@dataclass(frozen=True, slots=True, kw_only=True)
class Listing:
    """Profile summaries per kind, in catalog order."""

    kinds: Mapping[str, list[dict[str, Any]]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileView:
    """One profile: its fields as written, derived values, and the file it came from."""

    kind: str
    id: str
    file: str
    source: str
    fields: Mapping[str, Any]
    derived: Mapping[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {"kind": self.kind, "id": self.id, "file": self.file, "source": self.source, "fields": dict(self.fields)}
        if self.derived is not None:
            data["derived"] = dict(self.derived)
        return data


def hardware_summary(hw) -> dict:
    return {
        "id": hw.id,
        "name": hw.name,
        "class": hw.device_class,
        "bf16_flops_per_s": hw.peak_flops.get("bf16") or hw.peak_flops.get("fp16"),
        "memory_capacity_bytes": hw.memory_capacity_bytes,
        "memory_bandwidth_bytes_per_s": hw.memory_bandwidth_bytes_per_s,
        "price_usd_per_hour": hw.price_usd_per_hour,
    }


def model_summary(m) -> dict:
    return {
        "id": m.id,
        "name": m.name,
        "family": m.family,
        "params": m.total_params,
        "active_params": m.active_params,
        "attention": m.attention_type,
        "moe": m.moe is not None,
        "max_context": m.max_context,
    }


def listing(catalog: Catalog, kinds: Sequence[str]) -> Listing:
    return Listing(kinds={k: list_profiles(catalog, k) for k in kinds})


def list_profiles(catalog: Catalog, kind: str) -> list[dict[str, Any]]:
    """One summary dict per profile of ``kind``, with its source ('built-in' or the user file)."""
    items = []
    for name in catalog.names(kind):
        if kind == "hardware":
            item = hardware_summary(catalog.hardware(name))
        elif kind == "model":
            item = model_summary(catalog.model(name))
        else:
            item = {"id": name}
        item["source"] = catalog.describe_source(kind, name)
        items.append(item)
    return items


def show_profile(catalog: Catalog, name: str, kind: str | None) -> ProfileView:
    """The profile's fields as written, derived values, and the file it came from."""
    kinds = [kind] if kind else ["model", "hardware", "engine", "law"]
    for k in kinds:
        try:
            entry = catalog.file(k, name)
            break
        except UnknownNameError:
            continue
    else:
        raise UnknownNameError(kind or "profile", name, [n for k in kinds for n in catalog.names(k)])
    derived = None
    if k == "model":
        m = catalog.model(entry.id)
        derived = {
            "params": m.total_params,
            "active_params": m.active_params,
            "attention": m.attention_type,
            "kv_cache_bytes_per_token_bf16": m.kv_cache_bytes_per_token(2.0),
            "flops_per_token": m.flops_per_token(0),
        }
        if m.recurrent_state_values:  # Mamba / linear-attention state, per sequence whatever its length
            derived["recurrent_state_bytes_per_sequence_bf16"] = m.recurrent_state_bytes(2.0)
    elif k == "hardware":
        hw = catalog.hardware(entry.id)
        bf16 = hw.peak_flops.get("bf16") or hw.peak_flops.get("fp16") or 0.0
        derived = {
            "ridge_point_flop_per_byte_bf16": bf16 / hw.memory_bandwidth_bytes_per_s if bf16 else None,
            "usable_memory_bytes": hw.memory_capacity_bytes * hw.usable_memory_fraction - hw.memory_reserve_bytes,
        }
    return ProfileView(kind=k, id=entry.id, file=str(entry.path), source=catalog.describe_source(k, entry.id),
                       fields=catalog.raw(k, entry.id), derived=derived)

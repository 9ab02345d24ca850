"""Profile files: discovery, YAML reading, schema and range checks, lookup with suggestions, atomic writes.

Only this module (and the law-file reader it exports helpers to) touches the file system.
Layout of a profile folder (built-in, ``PLANNER_PROFILES`` or ``--profiles DIR``)::

    DIR/hardware/<id>.yaml   DIR/models/<id>.yaml   DIR/laws/<id>.yaml

The file name is the profile id. Search order: ``--profiles DIR``, then each folder in
``PLANNER_PROFILES`` (``os.pathsep``-separated), then the bundled set; the first file found for an
id wins, so a user file overrides a built-in one of the same name.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import yaml

from planner import units
from planner.domain import (
    COMPUTE_PRECISIONS,
    HARDWARE_CLASSES,
    MLA,
    Efficiency,
    HardwareProfile,
    MoE,
    ModelProfile,
)
from planner.errors import PlannerError, ProfileError, UnknownNameError, suggest

KINDS = {"hardware": "hardware", "model": "models", "law": "laws", "quantization": "quantization"}
ENV_VAR = "PLANNER_PROFILES"


class ProfileErrors(PlannerError):
    """Several problems found in profile files (``profiles validate`` reports them all)."""

    def __init__(self, problems: list[ProfileError]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


# ---------------------------------------------------------------------------------------------
# Locations


def bundled_dir() -> Path:
    """The built-in profiles: ``planner/_profiles`` in a wheel, ``<repo>/profiles`` in a checkout."""
    here = Path(__file__).resolve().parent
    packaged = here / "_profiles"
    return packaged if packaged.is_dir() else here.parent / "profiles"


def search_dirs(user_dir: str | Path | None = None) -> list[Path]:
    """Profile folders in lookup order (highest priority first)."""
    dirs: list[Path] = []
    if user_dir:
        path = Path(user_dir).expanduser()
        if not path.is_dir():
            raise ProfileError(path, None, "profile folder does not exist (from --profiles)")
        dirs.append(path)
    for part in os.environ.get(ENV_VAR, "").split(os.pathsep):
        if part.strip():
            path = Path(part.strip()).expanduser()
            if not path.is_dir():
                raise ProfileError(path, None, f"profile folder does not exist (from {ENV_VAR})")
            dirs.append(path)
    dirs.append(bundled_dir())
    return dirs


@dataclass(frozen=True, slots=True)
class ProfileFile:
    kind: str
    id: str
    path: Path
    builtin: bool
    overrides: Path | None  # the built-in (or lower-priority) file this one hides


class Catalog:
    """Lazy index of profile files; profiles are parsed on first use."""

    def __init__(self, user_dir: str | Path | None = None):
        self.dirs = search_dirs(user_dir)
        self._bundled = bundled_dir().resolve()
        self._files: dict[str, dict[str, ProfileFile]] = {}
        self._cache: dict[tuple[str, str], Any] = {}

    def files(self, kind: str) -> dict[str, ProfileFile]:
        if kind not in self._files:
            found: dict[str, ProfileFile] = {}
            for directory in self.dirs:
                sub = directory / KINDS[kind]
                if not sub.is_dir():
                    continue
                for path in sorted(sub.glob("*.y*ml")):
                    stem = path.stem
                    builtin = directory.resolve() == self._bundled
                    if stem in found:
                        prev = found[stem]
                        if prev.overrides is None and prev.path != path:
                            found[stem] = ProfileFile(kind, stem, prev.path, prev.builtin, path)
                        continue
                    found[stem] = ProfileFile(kind, stem, path, builtin, None)
            self._files[kind] = dict(sorted(found.items()))
        return self._files[kind]

    def names(self, kind: str) -> list[str]:
        return list(self.files(kind))

    def file(self, kind: str, name: str) -> ProfileFile:
        files = self.files(kind)
        key = name.strip()
        if key not in files:
            lowered = {k.lower(): k for k in files}
            if key.lower() in lowered:
                key = lowered[key.lower()]
            else:
                raise UnknownNameError(kind, name, files)
        return files[key]

    def get(self, kind: str, name: str, parse: Callable[[dict, Path], Any]) -> Any:
        """Parse (once) and return profile ``name`` of ``kind`` with ``parse(data, path)``."""
        entry = self.file(kind, name)
        cache_key = (kind, entry.id)
        if cache_key not in self._cache:
            data = read_yaml(entry.path)
            self._cache[cache_key] = parse(data, entry.path)
        return self._cache[cache_key]

    def hardware(self, name: str) -> HardwareProfile:
        return self.get("hardware", name, parse_hardware)

    def model(self, name: str) -> ModelProfile:
        return self.get("model", name, parse_model)

    def raw(self, kind: str, name: str) -> dict:
        return read_yaml(self.file(kind, name).path)

    def describe_source(self, kind: str, name: str) -> str:
        """'built-in' or the user file, and what it overrides: for reports."""
        entry = self.file(kind, name)
        if entry.builtin:
            return "built-in"
        text = str(entry.path)
        if entry.overrides is not None:
            text += " (overrides built-in)" if _is_under(entry.overrides, self._bundled) else f" (overrides {entry.overrides})"
        return text


def _is_under(path: Path, root: Path) -> bool:
    try:
        path.resolve().relative_to(root)
        return True
    except ValueError:
        return False


# ---------------------------------------------------------------------------------------------
# Reading and writing files


def read_yaml(path: Path) -> dict:
    """Read a YAML mapping with ``yaml.safe_load``; any problem becomes a ProfileError naming the file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ProfileError(path, None, f"cannot read file: {exc.strerror or exc}") from None
    return parse_yaml_text(text, path)


def parse_yaml_text(text: str, path: Path) -> dict:
    """Parse YAML text (``yaml.safe_load``) into a mapping; problems name ``path``."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ProfileError(path, None, f"malformed YAML{where}: {problem}") from None
    if not isinstance(data, dict):
        raise ProfileError(path, None, f"expected a mapping of fields at the top level, got {type(data).__name__}")
    return data


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


class _Checker:
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
# Hardware

_HW_TOP = {"kind", "id", "name", "class", "vendor", "peak_flops", "memory", "interconnect", "power", "price",
           "efficiency", "sources", "notes"}
_HW_REQUIRED = {"id", "name", "class", "peak_flops", "memory", "power", "efficiency", "sources"}
_HW_MEMORY = {"capacity", "bandwidth", "reserve", "usable_fraction"}
_HW_INTERCONNECT = {"name", "intra_node_bandwidth", "inter_node_bandwidth", "devices_per_node"}
_HW_PRICE = {"usd_per_hour", "source"}
_HW_EFFICIENCY = {"compute", "memory_bandwidth", "compute_half_tokens", "dequant_bandwidth", "interconnect",
                  "step_overhead", "layer_overhead", "collective_latency", "calibrated", "note"}


def parse_hardware(data: dict, path: Path) -> HardwareProfile:
    """Build a HardwareProfile from a YAML mapping, collecting every problem."""
    c = _Checker(path)
    c.keys(data, _HW_TOP, _HW_REQUIRED)
    _check_id(c, data, path)
    peaks_raw = c.mapping(data, "peak_flops")
    peaks = {}
    for key, value in peaks_raw.items():
        if key not in COMPUTE_PRECISIONS:
            hint = suggest(str(key), COMPUTE_PRECISIONS)
            c.fail(f"peak_flops.{key}", "unknown precision" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected one of {', '.join(COMPUTE_PRECISIONS)}"))
            continue
        peaks[key] = c.quantity(peaks_raw, key, "flop_per_s", "peak_flops.")
    if "peak_flops" in data and not any(v > 0 for v in peaks.values()) and not any(p.field and p.field.startswith("peak_flops") for p in c.problems):
        c.fail("peak_flops", "expected at least one precision with a peak, e.g. 'bf16: 989 TFLOP/s'")
    mem = c.mapping(data, "memory")
    c.keys(mem, _HW_MEMORY, {"capacity", "bandwidth"}, "memory.")
    ic = c.mapping(data, "interconnect")
    c.keys(ic, _HW_INTERCONNECT, set(), "interconnect.")
    price = c.mapping(data, "price")
    c.keys(price, _HW_PRICE, {"usd_per_hour", "source"} if price else set(), "price.")
    eff = c.mapping(data, "efficiency")
    c.keys(eff, _HW_EFFICIENCY, _HW_EFFICIENCY - {"calibrated", "note"}, "efficiency.")
    efficiency = Efficiency(
        compute=c.quantity(eff, "compute", "number", "efficiency.", maximum=1.0, default=0.5),
        memory_bandwidth=c.quantity(eff, "memory_bandwidth", "number", "efficiency.", maximum=1.0, default=0.8),
        compute_half_tokens=c.quantity(eff, "compute_half_tokens", "number", "efficiency.", allow_zero=True),
        dequant_bandwidth=c.quantity(eff, "dequant_bandwidth", "number", "efficiency.", maximum=1.0, default=1.0),
        interconnect=c.quantity(eff, "interconnect", "number", "efficiency.", maximum=1.0, default=0.7),
        step_overhead_s=c.quantity(eff, "step_overhead", "seconds", "efficiency.", allow_zero=True),
        layer_overhead_s=c.quantity(eff, "layer_overhead", "seconds", "efficiency.", allow_zero=True),
        collective_latency_s=c.quantity(eff, "collective_latency", "seconds", "efficiency.", allow_zero=True),
        calibrated=c.boolean(eff, "calibrated", "efficiency."),
        note=c.text(eff, "note", "efficiency."),
    )
    profile = HardwareProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        device_class=c.text(data, "class", choices=HARDWARE_CLASSES),
        vendor=c.text(data, "vendor"),
        peak_flops=peaks,
        memory_capacity_bytes=c.quantity(mem, "capacity", "bytes", "memory.", default=1.0),
        memory_bandwidth_bytes_per_s=c.quantity(mem, "bandwidth", "bytes_per_s", "memory.", default=1.0),
        memory_reserve_bytes=c.quantity(mem, "reserve", "bytes", "memory.", required=False, allow_zero=True),
        usable_memory_fraction=c.quantity(mem, "usable_fraction", "number", "memory.", required=False, default=0.9, maximum=1.0),
        interconnect_name=c.text(ic, "name", "interconnect."),
        intra_node_bandwidth_bytes_per_s=c.quantity(ic, "intra_node_bandwidth", "bytes_per_s", "interconnect.", required=False, allow_zero=True),
        inter_node_bandwidth_bytes_per_s=c.quantity(ic, "inter_node_bandwidth", "bytes_per_s", "interconnect.", required=False, allow_zero=True),
        devices_per_node=c.integer(ic, "devices_per_node", "interconnect.", default=1),
        power_w=c.quantity(data, "power", "watts", default=1.0),
        price_usd_per_hour=(c.quantity(price, "usd_per_hour", "number", "price.", allow_zero=True) if price else None),
        efficiency=efficiency,
        sources=c.sources(data, ("spec",)),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if price and "source" in price:
        c.text(price, "source", "price.")
    c.raise_if_any()
    return profile


def _check_id(c: _Checker, data: Mapping, path: Path) -> None:
    if "id" in data and str(data["id"]) != path.stem:
        c.fail("id", f"expected '{path.stem}' (the file name without .yaml), got {data['id']!r}")


# ---------------------------------------------------------------------------------------------
# Models

_MODEL_TOP = {"kind", "id", "name", "family", "hf_repo", "architecture", "published_params", "license", "sources", "notes"}
_MODEL_REQUIRED = {"id", "name", "architecture", "sources"}
_ARCH = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "n_kv_heads", "head_dim", "vocab_size",
         "max_context", "tied_embeddings", "gated_mlp", "sliding_window", "n_sliding_layers", "moe", "mla"}
_ARCH_REQUIRED = {"n_layers", "hidden_size", "intermediate_size", "n_heads", "vocab_size", "max_context"}
_MOE = {"n_experts", "n_active", "expert_intermediate_size", "n_shared_experts", "shared_intermediate_size", "n_dense_layers"}
_MLA = {"kv_lora_rank", "qk_rope_head_dim", "qk_nope_head_dim", "v_head_dim", "q_lora_rank"}


def parse_model(data: dict, path: Path) -> ModelProfile:
    """Build a ModelProfile from a YAML mapping, collecting every problem."""
    c = _Checker(path)
    c.keys(data, _MODEL_TOP, _MODEL_REQUIRED)
    _check_id(c, data, path)
    arch = c.mapping(data, "architecture")
    c.keys(arch, _ARCH, _ARCH_REQUIRED, "architecture.")
    p = "architecture."
    n_heads = c.integer(arch, "n_heads", p, default=1)
    hidden = c.integer(arch, "hidden_size", p, default=1)
    moe = None
    if arch.get("moe"):
        m = c.mapping(arch, "moe", p)
        c.keys(m, _MOE, {"n_experts", "n_active", "expert_intermediate_size"}, p + "moe.")
        moe = MoE(
            n_experts=c.integer(m, "n_experts", p + "moe.", default=1),
            n_active=c.integer(m, "n_active", p + "moe.", default=1),
            expert_intermediate_size=c.integer(m, "expert_intermediate_size", p + "moe.", default=1),
            n_shared_experts=c.integer(m, "n_shared_experts", p + "moe.", minimum=0),
            shared_intermediate_size=c.integer(m, "shared_intermediate_size", p + "moe.", minimum=0),
            n_dense_layers=c.integer(m, "n_dense_layers", p + "moe.", minimum=0),
        )
        if moe.n_active > moe.n_experts:
            c.fail(p + "moe.n_active", f"expected at most n_experts ({moe.n_experts}), got {moe.n_active}")
    mla = None
    if arch.get("mla"):
        m = c.mapping(arch, "mla", p)
        c.keys(m, _MLA, _MLA - {"q_lora_rank"}, p + "mla.")
        mla = MLA(
            kv_lora_rank=c.integer(m, "kv_lora_rank", p + "mla.", default=1),
            qk_rope_head_dim=c.integer(m, "qk_rope_head_dim", p + "mla.", default=1),
            qk_nope_head_dim=c.integer(m, "qk_nope_head_dim", p + "mla.", default=1),
            v_head_dim=c.integer(m, "v_head_dim", p + "mla.", default=1),
            q_lora_rank=c.integer(m, "q_lora_rank", p + "mla.", minimum=0),
        )
    n_layers = c.integer(arch, "n_layers", p, default=1)
    n_kv = c.integer(arch, "n_kv_heads", p, default=n_heads)
    if n_kv > n_heads or (n_heads % max(n_kv, 1)):
        c.fail(p + "n_kv_heads", f"expected a divisor of n_heads ({n_heads}), got {n_kv}")
    n_sliding = c.integer(arch, "n_sliding_layers", p, minimum=0)
    if n_sliding > n_layers:
        c.fail(p + "n_sliding_layers", f"expected at most n_layers ({n_layers}), got {n_sliding}")
    published = c.quantity(data, "published_params", "number", required=False, allow_zero=True)
    profile = ModelProfile(
        id=str(data.get("id", path.stem)),
        name=c.text(data, "name"),
        family=c.text(data, "family"),
        n_layers=n_layers,
        hidden_size=hidden,
        intermediate_size=c.integer(arch, "intermediate_size", p, default=1),
        n_heads=n_heads,
        n_kv_heads=n_kv,
        head_dim=c.integer(arch, "head_dim", p, default=max(hidden // max(n_heads, 1), 1)),
        vocab_size=c.integer(arch, "vocab_size", p, default=1),
        max_context=c.integer(arch, "max_context", p, default=1),
        tied_embeddings=c.boolean(arch, "tied_embeddings", p),
        gated_mlp=c.boolean(arch, "gated_mlp", p, default=True),
        sliding_window=c.integer(arch, "sliding_window", p, minimum=0),
        n_sliding_layers=n_sliding,
        moe=moe,
        mla=mla,
        published_params=published,
        sources=c.sources(data, ("config",)),
        license=c.text(data, "license"),
        notes=c.text(data, "notes"),
        path=str(path),
    )
    if profile.sliding_window and not profile.n_sliding_layers:
        c.fail(p + "n_sliding_layers", "sliding_window is set: say how many layers use it (all: n_layers)")
    c.raise_if_any()
    return profile


# ---------------------------------------------------------------------------------------------
# Validation of a whole folder


def validate_dir(directory: Path, parsers: Mapping[str, Callable[[dict, Path], Any]] | None = None) -> tuple[int, list[ProfileError]]:
    """Parse every profile under ``directory``; return (files checked, every problem found)."""
    parsers = dict(parsers or {"hardware": parse_hardware, "model": parse_model})
    checked, problems = 0, []
    directory = Path(directory)
    if not directory.is_dir():
        raise ProfileError(directory, None, "profile folder does not exist")
    for kind, parse in parsers.items():
        sub = directory / KINDS[kind]
        for path in sorted(sub.glob("*.y*ml")) if sub.is_dir() else []:
            checked += 1
            try:
                parse(read_yaml(path), path)
            except ProfileErrors as exc:
                problems.extend(exc.problems)
            except ProfileError as exc:
                problems.append(exc)
    known = {KINDS[k] for k in parsers}
    for child in sorted(directory.iterdir()):
        if child.is_dir() and child.name not in set(KINDS.values()) and not child.name.startswith((".", "_")):
            hint = suggest(child.name, known)
            problems.append(ProfileError(child, None, "unknown profile folder" + (f"; did you mean '{hint[0]}'?" if hint else f"; expected {', '.join(sorted(known))}")))
    return checked, problems


def read_csv_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Read a CSV file with a header row: (column names, rows as dicts of stripped strings)."""
    import csv

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

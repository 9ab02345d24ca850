"""Plan files: the capacity-plan YAML format, parsed and checked field by field with YAML line numbers.

A plan file has four sections, each a mapping: ``workload``, ``slo``, ``deployment``, ``budget``
(documented field by field in ``docs/plans.md``). ``FIELDS`` is the one table of fields: the parser,
``planner schema`` (a JSON Schema) and the docs tests all read it. Every problem of a file is
collected (unknown keys with did-you-mean, wrong types, impossible values, inconsistent parallelism,
YAML syntax errors) and raised together, each with file, field path and line.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner import units
from planner.domain import (
    PRECISIONS,
    SEARCH_METHODS,
    Budget,
    Deployment,
    Plan,
    Slo,
    TokenLengths,
    Workload,
)
from planner.domain import method as lookup_method
from planner.errors import InputError, short, suggest
from planner.files.checker import Checker
from planner.files.disk import read_yaml

SECTIONS: tuple[str, ...] = ("workload", "slo", "deployment", "budget")
REQUIRED_SECTIONS: tuple[str, ...] = ("workload", "deployment")
LENGTH_KEYS: tuple[str, ...] = ("mean", "p50", "p90", "p99")
HOURS_PER_MONTH = 730.0  # 8760 h / 12
_PERCENT = re.compile(r"^\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*%\s*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanField:
    """One field of the plan format: what it holds, its unit and bounds. The parser, the JSON Schema and the docs test read this."""

    section: str
    name: str
    kind: str  # number | seconds | fraction | integer | lengths | name | choice
    description: str
    unit: str = ""
    required: bool = False
    minimum: float = 0.0
    exclusive_minimum: bool = True
    maximum: float = math.inf
    exclusive_maximum: bool = False
    choices: tuple[str, ...] = ()
    default: Any = None

    @property
    def path(self) -> str:
        return f"{self.section}.{self.name}"


def _f(section: str, name: str, kind: str, description: str, **kw: Any) -> PlanField:
    return PlanField(section=section, name=name, kind=kind, description=description, **kw)


_AT_LEAST_ONE = {"minimum": 1, "exclusive_minimum": False}
# Bounds that keep every value physical (and the models' arithmetic finite); beyond them a plan is invalid.
MAX_REQUESTS_PER_SECOND = 1e6
MAX_TOKENS = 10_000_000  # as the roofline's limit on a sequence
MAX_PARALLEL = 4096
MAX_REPLICAS = 100_000
MAX_SAMPLES = 65_536
MAX_BATCH = 1_000_000

FIELDS: tuple[PlanField, ...] = (
    _f("workload", "requests_per_second", "number", "mean arrival rate of user requests over the whole deployment",
       unit="requests/s", required=True, maximum=MAX_REQUESTS_PER_SECOND),
    _f("workload", "peak_factor", "number", "peak rate ÷ mean rate; latency SLOs and headroom are checked at the peak",
       minimum=1.0, exclusive_minimum=False, default=1.0, maximum=1000.0),
    _f("workload", "prompt_tokens", "lengths", "prompt tokens per request: a mean, or a mapping of mean/p50/p90/p99",
       unit="tokens", required=True),
    _f("workload", "output_tokens", "lengths", "generated tokens per request and sample: a mean, or a mapping of mean/p50/p90/p99",
       unit="tokens", required=True),
    _f("workload", "task", "name", "scaling-law id that predicts accuracy (built-in: math500, gsm8k); needed by slo.accuracy"),
    _f("workload", "law", "name", "a law file written by `planner fit`, relative to the plan file; instead of task"),
    _f("slo", "accuracy", "fraction", "lowest acceptable predicted accuracy: a fraction or a percentage such as '45%'",
       maximum=1.0),
    _f("slo", "ttft_p50_s", "seconds", "median time to first token at peak traffic", unit="s"),
    _f("slo", "ttft_p99_s", "seconds", "99th-percentile time to first token at peak traffic", unit="s"),
    _f("slo", "tpot_p99_s", "seconds", "99th-percentile time per output token at peak traffic", unit="s"),
    _f("slo", "e2e_p99_s", "seconds", "99th-percentile end-to-end latency of a request at peak traffic", unit="s"),
    _f("slo", "min_headroom", "fraction", "spare capacity required at peak: 1 − peak load ÷ saturation rate",
       exclusive_minimum=False, maximum=1.0, exclusive_maximum=True),
    _f("deployment", "hardware", "name", "hardware profile id (see `planner profiles list`)", required=True),
    _f("deployment", "model", "name", "model profile id of the generator", required=True),
    _f("deployment", "tp", "integer", "tensor-parallel degree", default=1, maximum=MAX_PARALLEL, **_AT_LEAST_ONE),
    _f("deployment", "pp", "integer", "pipeline-parallel degree", default=1, maximum=MAX_PARALLEL, **_AT_LEAST_ONE),
    _f("deployment", "ep", "integer", "expert-parallel degree (MoE models); divides tp × attention_dp", default=1,
       maximum=MAX_PARALLEL, **_AT_LEAST_ONE),
    _f("deployment", "attention_dp", "integer", "attention data-parallel degree inside one replica", default=1,
       maximum=MAX_PARALLEL, **_AT_LEAST_ONE),
    _f("deployment", "replicas", "integer", "identical copies of the deployment that share the traffic", default=1,
       maximum=MAX_REPLICAS, **_AT_LEAST_ONE),
    _f("deployment", "precision", "choice", "weight and activation precision", choices=tuple(PRECISIONS), default="bf16"),
    _f("deployment", "kv_precision", "choice", "KV-cache precision [default: fp8 with fp8/fp4 weights, else 16 bit]",
       choices=tuple(PRECISIONS)),
    _f("deployment", "method", "choice", "inference-time search method", choices=SEARCH_METHODS, default="greedy"),
    _f("deployment", "samples", "integer", "samples (k) per request; every sample is generated, so k multiplies the load",
       default=1, maximum=MAX_SAMPLES, **_AT_LEAST_ONE),
    _f("deployment", "reward_model", "name", "model profile id of the reward model (best-of-n, weighted-majority, mcts, rebase)"),
    _f("deployment", "engine", "name", "serving-engine profile id: generic, trtllm, vllm, sglang or a user profile [default: generic]"),
    _f("deployment", "max_batch", "integer", "most requests the engine runs at once per replica [default: the engine's]",
       maximum=MAX_BATCH, **_AT_LEAST_ONE),
    _f("budget", "usd_per_month", "number", f"most the devices may cost per month ({HOURS_PER_MONTH:g} h at the hardware's price)",
       unit="USD/month", exclusive_minimum=False),
    _f("budget", "joules_per_query", "number", "most energy per query at the planned mean traffic (every device powered)",
       unit="J"),
)
FIELDS_BY_PATH: Mapping[str, PlanField] = {f.path: f for f in FIELDS}


def section_fields(section: str) -> tuple[PlanField, ...]:
    return tuple(f for f in FIELDS if f.section == section)


# ---------------------------------------------------------------------------------------------
# Reading values


class _Bad(ValueError):
    """A value does not fit its field; the message says what was expected."""


def _number(value: Any, dimension: str = "number") -> float:
    if isinstance(value, bool):
        raise _Bad(f"expected a number, got {short(value)}")
    try:
        return units.parse_quantity(value, dimension)
    except units.QuantityError as exc:
        raise _Bad(str(exc)) from None


def _fraction(value: Any) -> float:
    if isinstance(value, str):
        match = _PERCENT.match(value)
        if match:
            return float(match.group(1)) / 100.0
    return _number(value)


def _integer(value: Any) -> int:
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]{1,15}\s*", value):
        return int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _Bad(f"expected a whole number, got {short(value)}")
    if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
        raise _Bad(f"expected a whole number, got {short(value)}")
    return int(value)


def bounds_text(f: PlanField) -> str:
    """A field's bounds in words: 'a value > 0', 'a value ≥ 0 and < 1'."""
    low = f"{'>' if f.exclusive_minimum else '≥'} {f.minimum:g}"
    if math.isfinite(f.maximum):
        return f"a value {low} and {'<' if f.exclusive_maximum else '≤'} {f.maximum:g}"
    return f"a value {low}"


def _bounds(f: PlanField, value: float) -> None:
    low_bad = value <= f.minimum if f.exclusive_minimum else value < f.minimum
    high_bad = value >= f.maximum if f.exclusive_maximum else value > f.maximum
    if low_bad or high_bad:
        raise _Bad(f"expected {bounds_text(f)}, got {value:g}")


def _read(f: PlanField, value: Any) -> Any:
    """Convert one YAML value for field ``f``; raises _Bad with what was expected."""
    if f.kind in ("name", "choice"):
        if not isinstance(value, str) or not value.strip():
            raise _Bad(f"expected a name (text), got {short(value)}")
        out = value.strip()
        if f.kind == "choice" and out.lower() not in f.choices:
            hint = suggest(out, f.choices)
            raise _Bad(f"expected one of {', '.join(f.choices)}, got {short(out)}" + (f"; did you mean '{hint[0]}'?" if hint else ""))
        return out.lower() if f.kind == "choice" else out
    if f.kind == "lengths":
        return _lengths(f, value)
    reader = {"number": _number, "fraction": _fraction, "integer": _integer,
              "seconds": lambda v: _number(v, "seconds")}[f.kind]
    out = reader(value)
    _bounds(f, out)
    return out


def _lengths(f: PlanField, value: Any) -> TokenLengths:
    one = PlanField(section=f.section, name=f.name, kind="number", description="", minimum=1.0, exclusive_minimum=False,
                    maximum=MAX_TOKENS)
    if not isinstance(value, Mapping):
        mean = _number(value)
        _bounds(one, mean)
        return TokenLengths(mean=mean)
    unknown = [str(k) for k in value if k not in LENGTH_KEYS]
    if unknown:
        hint = suggest(unknown[0], LENGTH_KEYS)
        raise _Bad(f"unknown key {short(unknown[0])}" + (f"; did you mean '{hint[0]}'?" if hint else "") + f"; expected some of {', '.join(LENGTH_KEYS)}")
    got: dict[str, float] = {}
    for key in LENGTH_KEYS:
        if key in value:
            try:
                got[key] = _number(value[key])
                _bounds(one, got[key])
            except _Bad as exc:
                raise _Bad(f"{key}: {exc}") from None
    if "mean" not in got and "p50" not in got:
        raise _Bad("expected at least 'mean' or 'p50' (tokens), e.g. {mean: 800, p99: 3000}")
    try:
        return TokenLengths(mean=got.get("mean"), p50=got.get("p50"), p90=got.get("p90"), p99=got.get("p99"))
    except InputError as exc:
        raise _Bad(str(exc)) from None


# ---------------------------------------------------------------------------------------------
# Parsing a plan


def read_plan(path: Path | str, *, draft: bool = False) -> Plan:
    """Read and check one plan file; every problem is raised together (ProfileErrors), each with its line.

    ``draft``: a plan for `planner plan`, whose deployment may leave out what the search chooses
    (hardware, model); ``plan.given(field)`` says which fields the file fixes.
    """
    path = Path(path)
    return parse_plan(read_yaml(path), path, draft=draft)


DRAFT_OPTIONAL = frozenset({"deployment.hardware", "deployment.model"})


def parse_plan(data: Mapping, path: Path | str, *, draft: bool = False) -> Plan:
    """Build a Plan from a YAML mapping (with ``lines``), collecting every problem with file, field and line."""
    path = Path(path)
    c = Checker(path, data)
    c.keys(data, set(SECTIONS), set(REQUIRED_SECTIONS) - ({"deployment"} if draft else set()))
    raw: dict[str, Mapping] = {}
    for section in SECTIONS:
        value = data.get(section, {}) if isinstance(data, Mapping) else {}
        if value is None:
            value = {}
        if not isinstance(value, Mapping):
            c.fail(section, f"expected a mapping of fields, got {short(value)}")
            value = {}
        raw[section] = value
        fields = section_fields(section)
        required = {f.name for f in fields if f.required and not (draft and f.path in DRAFT_OPTIONAL)}
        if not (isinstance(data, Mapping) and section in data):
            required = set()
        c.keys(value, {f.name for f in fields}, required, f"{section}.")
    values: dict[str, Any] = {}
    for f in FIELDS:
        section = raw[f.section]
        if f.name not in section:
            values[f.path] = f.default
            continue
        if section[f.name] is None:
            c.fail(f.path, f"expected {_expected(f)}, got nothing")
            values[f.path] = f.default
            continue
        try:
            values[f.path] = _read(f, section[f.name])
        except _Bad as exc:
            c.fail(f.path, str(exc))
            values[f.path] = f.default
    _consistency(c, values, draft=draft)
    c.raise_if_any()
    v = values
    return Plan(
        workload=Workload(
            requests_per_second=v["workload.requests_per_second"],
            peak_factor=v["workload.peak_factor"],
            prompt_tokens=v["workload.prompt_tokens"],
            output_tokens=v["workload.output_tokens"],
            task=v["workload.task"],
            law=v["workload.law"],
        ),
        slo=Slo(**{f.name: v[f.path] for f in section_fields("slo")}),
        deployment=Deployment(**{f.name: v[f.path] if v[f.path] is not None or f.path not in DRAFT_OPTIONAL else ""
                                 for f in section_fields("deployment")}),
        budget=Budget(**{f.name: v[f.path] for f in section_fields("budget")}),
        path=str(path),
        lines=dict(getattr(data, "lines", {}) or {}),
    )


def _expected(f: PlanField) -> str:
    if f.kind == "lengths":
        return "a number of tokens or a mapping of mean/p50/p90/p99"
    if f.kind in ("name", "choice"):
        return "a name" + (f" ({', '.join(f.choices)})" if f.choices else "")
    if f.kind == "integer":
        return "a whole number"
    return bounds_text(f)


def _consistency(c: Checker, v: Mapping[str, Any], *, draft: bool = False) -> None:
    """Problems between fields: contradictory choices, inconsistent parallelism, a method without what it needs.

    A draft may leave the task to `planner plan --task`."""
    if v["workload.task"] and v["workload.law"]:
        c.fail("workload.law", "give workload.task or workload.law, not both")
    if v["slo.accuracy"] is not None and not (v["workload.task"] or v["workload.law"]) and not draft:
        c.fail("slo.accuracy", "an accuracy objective needs workload.task (a law id such as math500) or workload.law")
    method_id = v["deployment.method"]
    if method_id:
        spec = lookup_method(method_id)
        k = v["deployment.samples"]
        if spec.forced_samples is not None and k is not None and k != spec.forced_samples:
            c.fail("deployment.samples", f"method '{spec.id}' takes exactly {spec.forced_samples} sample, got {k}")
        if spec.verifier == "reward-model" and not v["deployment.reward_model"]:
            c.fail("deployment.method", f"method '{spec.id}' scores samples with a reward model: set deployment.reward_model (e.g. llemma-34b)")
        if spec.verifier != "reward-model" and v["deployment.reward_model"]:
            c.fail("deployment.reward_model", f"method '{spec.id}' uses no reward model; remove reward_model or pick best-of-n, weighted-majority, mcts or rebase")
        if spec.id == "ensemble":
            c.fail("deployment.method", "'ensemble' runs several different models; a plan deploys one deployment.model")
    tp, dp, ep = v["deployment.tp"], v["deployment.attention_dp"], v["deployment.ep"]
    if all(isinstance(x, int) for x in (tp, dp, ep)) and (tp * dp) % ep:
        c.fail("deployment.ep", f"expected a divisor of tp × attention_dp = {tp * dp} (experts are sharded over those ranks), got {ep}")
    for name in ("prompt_tokens", "output_tokens"):
        lengths = v[f"workload.{name}"]
        if isinstance(lengths, TokenLengths) and None not in (lengths.p99, lengths.mean) and lengths.p99 < lengths.mean:
            c.fail(f"workload.{name}", f"p99 ({lengths.p99:g}) is below the mean ({lengths.mean:g})")


# ---------------------------------------------------------------------------------------------
# JSON Schema (draft 2020-12), generated from FIELDS

_SECONDS_TEXT = r"^\s*[0-9.eE+-]+\s*(s|ms|us)?\s*$"
_PERCENT_TEXT = r"^\s*[0-9.eE+-]+\s*%\s*$"


def _number_schema(f: PlanField) -> dict:
    out: dict[str, Any] = {"type": "number"}
    out["exclusiveMinimum" if f.exclusive_minimum else "minimum"] = f.minimum
    if math.isfinite(f.maximum):
        out["exclusiveMaximum" if f.exclusive_maximum else "maximum"] = f.maximum
    return out


def field_schema(f: PlanField) -> dict:
    """The JSON Schema of one field."""
    description = f.description + (f" [{f.unit}]" if f.unit else "")
    if f.kind == "integer":
        body: dict[str, Any] = {"type": "integer", "minimum": int(f.minimum)}
        if math.isfinite(f.maximum):
            body["maximum"] = int(f.maximum)
    elif f.kind == "number":
        body = _number_schema(f)
    elif f.kind == "seconds":
        body = {"anyOf": [_number_schema(f), {"type": "string", "pattern": _SECONDS_TEXT}]}
    elif f.kind == "fraction":
        body = {"anyOf": [_number_schema(f), {"type": "string", "pattern": _PERCENT_TEXT}]}
    elif f.kind == "choice":
        body = {"type": "string", "enum": list(f.choices)}
    elif f.kind == "lengths":
        tokens = {"type": "number", "minimum": 1, "maximum": MAX_TOKENS}
        body = {"anyOf": [tokens, {"type": "object", "properties": {k: tokens for k in LENGTH_KEYS},
                                   "additionalProperties": False, "anyOf": [{"required": ["mean"]}, {"required": ["p50"]}]}]}
    else:
        body = {"type": "string", "minLength": 1}
    out = {"description": description, **body}
    if f.default is not None:
        out["default"] = f.default
    return out


def json_schema() -> dict:
    """A JSON Schema of the plan format, from the same field table the parser uses (editors validate plans with it)."""
    sections = {}
    for section in SECTIONS:
        fields = section_fields(section)
        sections[section] = {
            "type": "object",
            "properties": {f.name: field_schema(f) for f in fields},
            "required": [f.name for f in fields if f.required],
            "additionalProperties": False,
        }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "planner capacity plan",
        "description": "A capacity plan checked by `planner check` (see docs/plans.md). Units: seconds, tokens, requests/s, USD/month, joules.",
        "type": "object",
        "properties": sections,
        "required": list(REQUIRED_SECTIONS),
        "additionalProperties": False,
    }


# ---------------------------------------------------------------------------------------------
# Writing a plan (``planner plan``): YAML text with predictions as comments


def _scalar(value: Any) -> str:
    """One YAML scalar as text (numbers plain, names quoted only where YAML needs it)."""
    import yaml

    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        value = int(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return yaml.safe_dump(value, default_flow_style=True, allow_unicode=True).strip().removesuffix("...").strip()


def _value_text(f: PlanField, value: Any) -> str:
    if isinstance(value, TokenLengths):
        parts = [(k, getattr(value, k)) for k in LENGTH_KEYS if getattr(value, k) is not None]
        if len(parts) == 1:
            return _scalar(parts[0][1])
        return "{" + ", ".join(f"{k}: {_scalar(v)}" for k, v in parts) + "}"
    return _scalar(value)


def plan_to_yaml(plan: Plan, *, fields: set[str] | frozenset[str], comments: Mapping[str, str] | None = None,
                 header: tuple[str, ...] = ()) -> str:
    """The plan as YAML text: the ``fields`` (paths) in the table's order, ``comments`` after their lines, a header.

    Values are written in SI (seconds, fractions, tokens); the text parses back to the same plan.
    """
    comments = comments or {}
    sections = {"workload": plan.workload, "slo": plan.slo, "deployment": plan.deployment, "budget": plan.budget}
    lines = [f"# {h}".rstrip() for h in header]
    for section in SECTIONS:
        rows = []
        for f in section_fields(section):
            if f.path not in fields:
                continue
            value = getattr(sections[section], f.name)
            if value is None or value == "":
                continue
            rows.append((f"  {f.name}: {_value_text(f, value)}", comments.get(f.path, "")))
        if not rows and section not in REQUIRED_SECTIONS:
            continue
        head = f"{section}:"
        lines.append(head + (f"  # {comments[section]}" if comments.get(section) else ""))
        width = max(len(text) for text, _ in rows) if rows else 0
        for text, note in rows:
            lines.append(f"{text:<{width}}  # {note}" if note else text)
    return "\n".join(lines) + "\n"

"""Rendering: JSON-safe dicts, Markdown strings and rich tables. No computation, no file access."""

from __future__ import annotations

import json
import math
from typing import Any, Iterable

from planner.units import format_si

SCHEMA_VERSION = 1


def _round(value: Any, digits: int = 6) -> Any:
    """Round floats to ``digits`` significant digits so output is stable across platforms."""
    if isinstance(value, float):
        if value == 0 or not math.isfinite(value):
            return value if math.isfinite(value) else None
        return float(f"{value:.{digits}g}")
    if isinstance(value, dict):
        return {k: _round(v, digits) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v, digits) for v in value]
    return value


def to_json(data: Any) -> str:
    """Deterministic JSON: sorted keys, rounded floats, trailing newline."""
    return json.dumps(_round(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------------------------------
# Estimates


def _phase(p) -> dict:
    return {
        "compute_s": p.compute_s,
        "memory_s": p.memory_s,
        "communication_s": p.communication_s,
        "overhead_s": p.overhead_s,
        "time_s": p.time_s,
        "flops": p.flops,
        "bytes": p.bytes,
        "bound": p.bound,
    }


def estimate_to_dict(outcome) -> dict:
    """One scenario outcome as a JSON-safe dict (``error`` set instead of results when it failed)."""
    req = outcome.request
    base: dict[str, Any] = {"schema_version": SCHEMA_VERSION, "row": outcome.row}
    if outcome.error is not None:
        base["error"] = outcome.error
        if req is not None:
            base["input"] = {k: getattr(req, k) for k in req.__dataclass_fields__}
        return base
    e = outcome.estimate
    s = e.scenario
    m = e.memory
    base.update(
        {
            "model": s.model.id,
            "hardware": s.hardware.id,
            "tp": s.tp,
            "pp": s.pp,
            "replicas": s.replicas,
            "devices": s.devices,
            "precision": s.weight_precision.name,
            "kv_precision": s.kv_precision.name,
            "compute_precision": e.compute_precision,
            "prompt_tokens": s.prompt_tokens,
            "output_tokens": s.output_tokens,
            "mode": e.mode,
            "batch": e.batch,
            "max_batch": e.max_batch,
            "ttft_s": e.ttft_s,
            "tpot_s": e.tpot_s,
            "e2e_latency_s": e.e2e_latency_s,
            "output_tokens_per_s": e.output_tokens_per_s,
            "total_tokens_per_s": e.total_tokens_per_s,
            "fits": m.fits,
            "shortfall_bytes": m.shortfall,
            "memory_bytes": {
                "weights": m.weights,
                "kv_cache": m.kv_cache,
                "activations": m.activations,
                "reserve": m.reserve,
                "total": m.total,
                "capacity": m.capacity,
            },
            "bound": {"prefill": e.prefill.bound, "decode": e.decode_step.bound},
            "prefill": _phase(e.prefill),
            "decode_step": _phase(e.decode_step),
            "energy_j_per_output_token": e.energy_j_per_output_token,
            "cost_usd_per_million_output_tokens": e.cost_usd_per_million_output_tokens,
            "efficiency_calibrated": s.hardware.efficiency.calibrated,
            "profiles": {"model": outcome.model_source, "hardware": outcome.hardware_source},
        }
    )
    return base


def estimate_assumptions(outcomes: Iterable) -> list[str]:
    """What every estimate assumes, plus where its profiles and efficiency factors came from."""
    lines = [
        "Roofline: time = max(compute, memory) + tensor-parallel communication + fixed overheads, per forward pass (docs/method.md).",
        "Peaks are dense (no sparsity); achievable fractions of peak come from the hardware profile's efficiency block.",
        "Static batch: every sequence has the same prompt and output length; the prompt is prefilled once, then one decode step per output token.",
        "batch 'max': the largest batch whose KV cache fits memory, run as an offline max-throughput job (prefill chunks share the device with decodes).",
        "Quantized weights keep the embedding and LM head in 16 bit; int4 is W4A16 (group 128), fp4 is NVFP4.",
        "Energy assumes every device draws its rated power for the whole run; cost uses the profile's hourly price.",
    ]
    seen: set[str] = set()
    for o in outcomes:
        if o.estimate is None:
            continue
        s = o.estimate.scenario
        for kind, ident, src in (("model", s.model.id, o.model_source), ("hardware", s.hardware.id, o.hardware_source)):
            line = f"{kind} {ident}: {src}"
            if line not in seen:
                seen.add(line)
                lines.append(line)
        hw = s.hardware
        eff_line = f"{hw.id} efficiency: {'calibrated' if hw.efficiency.calibrated else 'not calibrated on this device'}" + (
            f" ({hw.efficiency.note})" if hw.efficiency.note else ""
        )
        if eff_line not in seen:
            seen.add(eff_line)
            lines.append(eff_line)
    return lines


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms" if seconds < 10 else f"{seconds:,.1f} s"


def _gb(nbytes: float) -> str:
    return f"{nbytes / 1e9:,.1f} GB"


def _usd(value: float | None) -> str:
    return "n/a (no price)" if value is None else f"${value:,.3f}"


def estimate_rows(outcomes) -> tuple[list[str], list[list[str]]]:
    """Header and text cells of the scenario table (shared by Markdown and rich)."""
    header = ["#", "model", "hardware", "tp×pp×rep", "precision", "batch", "TTFT", "TPOT", "e2e", "out tok/s",
              "memory/device", "fits", "bound (prefill/decode)", "$ / M out tok"]
    rows = []
    for o in outcomes:
        if o.estimate is None:
            req = o.request
            rows.append([str(o.row), getattr(req, "model", ""), getattr(req, "hardware", ""), "", "", "", "", "", "", "", "", "",
                         f"error: {o.error}", ""])
            continue
        e = o.estimate
        s = e.scenario
        rows.append(
            [
                str(o.row),
                s.model.id,
                s.hardware.id,
                f"{s.tp}×{s.pp}×{s.replicas}",
                f"{s.weight_precision.name}/kv {s.kv_precision.name}",
                f"{e.batch}" + (" (max)" if e.mode == "max-throughput" else ""),
                _ms(e.ttft_s),
                _ms(e.tpot_s),
                _ms(e.e2e_latency_s),
                f"{e.output_tokens_per_s:,.0f}",
                f"{_gb(e.memory.total)} / {_gb(e.memory.capacity)}",
                "yes" if e.fits else f"no (short {_gb(e.memory.shortfall)})",
                f"{e.prefill.bound}/{e.decode_step.bound}",
                _usd(e.cost_usd_per_million_output_tokens),
            ]
        )
    return header, rows


def detail_rows(outcome) -> list[tuple[str, str]]:
    """Metric/value pairs of one estimate (the single-scenario view)."""
    e = outcome.estimate
    s = e.scenario
    m = e.memory
    return [
        ("model", f"{s.model.name} ({s.model.id}, {s.model.total_params / 1e9:.2f} B params, {s.model.active_params / 1e9:.2f} B active)"),
        ("hardware", f"{s.hardware.name} ({s.hardware.id}) × {s.devices} (tp {s.tp}, pp {s.pp}, replicas {s.replicas})"),
        ("precision", f"weights {s.weight_precision.name}, KV cache {s.kv_precision.name}, matmuls at {e.compute_precision}"),
        ("workload", f"batch {e.batch}" + (" (largest that fits)" if e.mode == "max-throughput" else "") +
         f", {s.prompt_tokens:,} prompt + {s.output_tokens:,} output tokens; max batch that fits: {e.max_batch:,}"),
        ("TTFT", f"{_ms(e.ttft_s)} ({e.prefill.bound}-bound)"),
        ("TPOT", f"{_ms(e.tpot_s)} ({e.decode_step.bound}-bound)"),
        ("end-to-end latency", _ms(e.e2e_latency_s)),
        ("output throughput", f"{e.output_tokens_per_s:,.0f} tokens/s (deployment)"),
        ("total throughput", f"{e.total_tokens_per_s:,.0f} tokens/s (prompt + output)"),
        ("memory per device", f"weights {_gb(m.weights)} + KV cache {_gb(m.kv_cache)} + activations {_gb(m.activations)} + reserve {_gb(m.reserve)} = {_gb(m.total)} of {_gb(m.capacity)}"),
        ("fits", "yes" if m.fits else f"no: short by {_gb(m.shortfall)} per device"),
        (f"prefill of the batch ({e.batch})", f"compute {_ms(e.prefill.compute_s)}, memory {_ms(e.prefill.memory_s)}, communication {_ms(e.prefill.communication_s)}, overhead {_ms(e.prefill.overhead_s)}"),
        ("decode step parts", f"compute {_ms(e.decode_step.compute_s)}, memory {_ms(e.decode_step.memory_s)}, communication {_ms(e.decode_step.communication_s)}, overhead {_ms(e.decode_step.overhead_s)}"),
        ("energy", f"{e.energy_j_per_output_token:,.3g} J per output token"),
        ("cost", f"{_usd(e.cost_usd_per_million_output_tokens)} per million output tokens"),
    ]


def _md_escape(text: str) -> str:
    return str(text).replace("|", "\\|")


def markdown_table(header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()) -> str:
    """A GitHub-flavoured Markdown table; numeric columns right-aligned (``---:``)."""
    lines = ["| " + " | ".join(_md_escape(h) for h in header) + " |",
             "|" + "|".join("---:" if i in numeric else "---" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(_md_escape(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def estimates_to_markdown(outcomes: list) -> str:
    """Markdown for one or many scenarios, with an assumptions list."""
    parts = ["## Inference cost estimate\n"]
    if len(outcomes) == 1 and outcomes[0].estimate is not None:
        parts.append(markdown_table(["metric", "value"], [list(r) for r in detail_rows(outcomes[0])]))
    else:
        header, rows = estimate_rows(outcomes)
        parts.append(markdown_table(header, rows, numeric={0, 5, 6, 7, 8, 9, 13}))
    parts.append("\n**Assumptions**\n\n" + "".join(f"- {line}\n" for line in estimate_assumptions(outcomes)))
    return "".join(parts)


def estimates_to_rich(outcomes: list):
    """Rich renderables for the terminal."""
    from rich.table import Table
    from rich.text import Text

    if len(outcomes) == 1 and outcomes[0].estimate is not None:
        table = Table(title="Inference cost estimate", show_header=False, title_justify="left")
        table.add_column("metric", style="bold")
        table.add_column("value", overflow="fold")
        for key, value in detail_rows(outcomes[0]):
            table.add_row(key, value)
    else:
        header, rows = estimate_rows(outcomes)
        table = Table(title="Inference cost estimates", title_justify="left")
        for i, h in enumerate(header):
            table.add_column(h, justify="right" if i in {0, 5, 6, 7, 8, 9, 13} else "left", overflow="fold")
        for row in rows:
            table.add_row(*row)
    notes = Text("\n".join(f"• {line}" for line in estimate_assumptions(outcomes)), style="dim")
    return [table, notes]


# ---------------------------------------------------------------------------------------------
# Profiles


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


def rich_table(title: str, header: list[str], rows: list[list[str]], numeric: set[int] = frozenset()):
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for i, h in enumerate(header):
        table.add_column(h, justify="right" if i in numeric else "left", overflow="fold")
    for row in rows:
        table.add_row(*[str(c) for c in row])
    return table


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


def profile_to_markdown(data: dict) -> str:
    return f"## {data['kind']} profile `{data['id']}`\n\n" + markdown_table(["field", "value"], [list(r) for r in profile_rows(data)])


def profile_to_rich(data: dict) -> list:
    return [rich_table(f"{data['kind']} profile {data['id']}", ["field", "value"], [list(r) for r in profile_rows(data)])]


# ---------------------------------------------------------------------------------------------
# Scaling laws and predictions


def law_summary(law) -> dict:
    """A law's provenance and fit quality, JSON-safe."""
    fits = {}
    for fid, f in sorted(law.fits.items()):
        r = f.result
        fits[fid] = {
            "form": r.form,
            "n_points": r.n_points,
            "rmse": r.rmse,
            "success": r.success,
            "published": f.published,
            "params": dict(sorted(r.params.items())),
            "intervals": {k: list(v) for k, v in sorted(r.intervals.items())},
            "k_range": list(r.k_range),
            "models": list(r.models),
            "warnings": list(r.warnings),
            "heldout_error_points": dict(sorted(f.heldout_error_pts.items())),
        }
    return {
        "id": law.id,
        "task": law.task,
        "description": law.description,
        "models": sorted(law.models),
        "default_model": law.default_model,
        "methods": {m: (e.fit or f"as {e.derived_from}") for m, e in sorted(law.methods.items())},
        "fits": fits,
        "k_range": list(law.k_range),
        "params_range_b": list(law.params_range_b) if law.params_range_b else None,
        "extrapolated": law.extrapolated,
        "accuracy_scale": law.accuracy_scale,
        "n_data_points": len(law.points),
        "sources": dict(sorted(law.sources.items())),
        "model_details": {mid: {"name": m.name, "profile": m.profile, "params_b": m.params_b, "anchor_accuracy": m.anchor_accuracy}
                          for mid, m in sorted(law.models.items())},
        "workload": None if law.workload is None else {
            "prompt_tokens": law.workload.prompt_tokens, "output_tokens": law.workload.output_tokens, "source": law.workload.source},
    }


def law_rows(summary: dict) -> list[tuple[str, str]]:
    rows = [("id", summary["id"]), ("task", summary["task"]), ("description", summary["description"]),
            ("models", ", ".join(summary["models"])), ("default model", summary["default_model"]),
            ("k covered", f"{summary['k_range'][0]}–{summary['k_range'][1]}"),
            ("data points", str(summary["n_data_points"])), ("extrapolated", "yes" if summary["extrapolated"] else "no")]
    for mid, d in summary.get("model_details", {}).items():
        size = f"{d['params_b']:.4g} B" if d["params_b"] is not None else "size unknown"
        runs = f"runs as {d['profile']}" if d["profile"] else "no catalog profile"
        anchor = f", single-sample {d['anchor_accuracy'] * 100:.1f} %" if d["anchor_accuracy"] is not None else ""
        rows.append((f"model {mid}", f"{d['name']}: {size}, {runs}{anchor}"))
    if summary.get("workload"):
        w = summary["workload"]
        rows.append(("workload", f"{w['prompt_tokens']:g} prompt + {w['output_tokens']:g} output tokens per sample ({w['source']})"))
    for m, fit in summary["methods"].items():
        rows.append((f"method {m}", fit))
    for fid, f in summary["fits"].items():
        params = ", ".join(f"{k} {v:.4g} [{f['intervals'][k][0]:.4g}, {f['intervals'][k][1]:.4g}]" if k in f["intervals"] else f"{k} {v:.4g}"
                           for k, v in f["params"].items())
        quality = f"{f['form']}: n={f['n_points']}, RMSE {f['rmse'] * 100:.2f} pts" + (" (published parameters)" if f["published"] else "")
        if f["heldout_error_points"]:
            quality += "; held-out mean |error| " + ", ".join(f"{k} {v:.2f} pts" for k, v in f["heldout_error_points"].items())
        rows.append((f"fit {fid}", quality))
        rows.append((f"fit {fid} parameters", params))
        for w in f["warnings"]:
            rows.append((f"fit {fid} warning", w))
    for key, src in summary["sources"].items():
        rows.append((f"source {key}", src))
    return rows


def law_to_markdown(summary: dict) -> str:
    return f"## Scaling law `{summary['id']}`\n\n" + markdown_table(["field", "value"], [list(r) for r in law_rows(summary)])


def law_to_rich(summary: dict) -> list:
    return [rich_table(f"Scaling law {summary['id']}", ["field", "value"], [list(r) for r in law_rows(summary)])]


def laws_list_rows(items: list[dict]) -> tuple[list[str], list[list[str]], set[int]]:
    header = ["id", "task", "models", "methods", "k range", "extrapolated", "source"]
    rows = [[d["id"], d["task"], ", ".join(d["models"]), ", ".join(d["methods"]), f"{d['k_range'][0]}–{d['k_range'][1]}",
             "yes" if d["extrapolated"] else "no", d["source"]] for d in items]
    return header, rows, set()


def prediction_to_dict(p) -> dict:
    return {"samples": p.samples, "accuracy": p.accuracy, "lower": p.lower, "upper": p.upper, "extrapolated": p.extrapolated,
            "method": p.method, "model": p.model, "form": p.form, "warnings": list(p.warnings)}


def prediction_rows(predictions) -> tuple[list[str], list[list[str]], set[int]]:
    header = ["samples", "accuracy", "95% interval", "extrapolated"]
    rows = [[str(p.samples), f"{p.accuracy * 100:.1f} %", f"{p.lower * 100:.1f}–{p.upper * 100:.1f} %", "yes" if p.extrapolated else "no"]
            for p in predictions]
    return header, rows, {0, 1}


def prediction_notes(law_id: str, law_source: str, predictions, precision: str | None) -> list[str]:
    first = predictions[0]
    notes = [f"law {law_id} ({law_source}); method {first.method}; model {first.model}; form {first.form}",
             "accuracy is a fraction of problems solved; the interval is a 95 % bootstrap band"]
    if precision:
        notes.append(f"precision {precision}: the quantization penalty acts on per-sample success before aggregating over samples")
    seen = set()
    for p in predictions:
        for w in p.warnings:
            if w not in seen:
                seen.add(w)
                notes.append(w)
    return notes


def predictions_to_markdown(title: str, predictions, notes: list[str]) -> str:
    header, rows, numeric = prediction_rows(predictions)
    return f"## {title}\n\n" + markdown_table(header, rows, numeric) + "\n**Assumptions**\n\n" + "".join(f"- {n}\n" for n in notes)


def predictions_to_rich(title: str, predictions, notes: list[str]) -> list:
    from rich.text import Text

    header, rows, numeric = prediction_rows(predictions)
    return [rich_table(title, header, rows, numeric), Text("\n".join(f"• {n}" for n in notes), style="dim")]
